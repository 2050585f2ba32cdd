package slack

import (
	"encoding/json"
	"fmt"

	slackcards "github.com/crmbot/crmbot/cards/slack"
)

// meta is what the adapter keeps in a modal's private_metadata, around the
// core's form state: where the modal came from, so that after a submission
// the card it was opened from can show the record's new state, and how
// deep it sits in Slack's three-view stack.
type meta struct {
	// State is the core's Form.State.
	State string `json:"s,omitempty"`
	// Depth of the view in its stack: 1 for the root.
	Depth int `json:"d,omitempty"`
	// Channel and TS name the message the root modal was opened from (a
	// notification, a record card).
	Channel string `json:"c,omitempty"`
	TS      string `json:"t,omitempty"`
	// Parent is the view this one was pushed on (its card is refreshed after
	// a submission instead of the message's).
	Parent string `json:"p,omitempty"`
	// Lang is the language the view was rendered in.
	Lang string `json:"l,omitempty"`
}

func (m meta) encode() (string, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	if len(b) > slackcards.MaxPrivateMetadata {
		return "", fmt.Errorf("private_metadata of %d characters, Slack allows %d: %w", len(b), slackcards.MaxPrivateMetadata, slackcards.ErrTooLarge)
	}
	return string(b), nil
}

// decodeMeta reads a modal's private_metadata. A view the adapter did not
// make (or junk) reads as the root of a stack with no state.
func decodeMeta(s string) meta {
	var m meta
	if s == "" || json.Unmarshal([]byte(s), &m) != nil {
		return meta{Depth: 1}
	}
	if m.Depth < 1 {
		m.Depth = 1
	}
	return m
}

// child is the meta of a view pushed onto this one (viewID).
func (m meta) child(viewID string) meta {
	return meta{Depth: m.Depth + 1, Channel: m.Channel, TS: m.TS, Parent: viewID, Lang: m.Lang}
}
