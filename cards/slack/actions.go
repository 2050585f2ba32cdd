package slack

import (
	"fmt"
	"strconv"
	"strings"

	goslack "github.com/slack-go/slack"

	"github.com/crmbot/crmbot/cards"
)

// urlActionID names a URL button that has no Action.ID: Slack still sends a
// block_actions payload for it, which the adapter can ignore.
const urlActionID = "url"

// dialogMark starts the action_id of an Action with Dialog set: the adapter
// must open its "Loading…" modal with the trigger_id before it knows what
// the core answers (trigger_ids live 3 seconds), so the click says so.
const dialogMark = "+"

// ActionID recovers the core's Action.ID from a Slack action_id: the
// renderer suffixes "#2", "#3"… to repeated ids within one block and marks
// dialog actions (see ParseActionID).
func ActionID(actionID string) string {
	id, _ := ParseActionID(actionID)
	return id
}

// ParseActionID recovers the core's Action.ID from a Slack action_id and
// whether the action opens a dialog (Action.Dialog).
func ParseActionID(actionID string) (id string, dialog bool) {
	id, dialog = strings.CutPrefix(actionID, dialogMark)
	i := strings.LastIndexByte(id, '#')
	if i < 0 {
		return id, dialog
	}
	if _, err := strconv.Atoi(id[i+1:]); err != nil {
		return id, dialog
	}
	return id[:i], dialog
}

// idSet hands out action_ids unique within one block.
type idSet map[string]int

func (s idSet) unique(id string) string {
	s[id]++
	if n := s[id]; n > 1 {
		return id + "#" + strconv.Itoa(n)
	}
	return id
}

// button renders one action. ids keeps action_ids unique within the block.
func button(a cards.Action, ids idSet) (*goslack.ButtonBlockElement, error) {
	if a.ID == "" && a.URL == "" {
		return nil, fmt.Errorf("action %q: neither id nor URL: %w", a.Label, ErrInvalid)
	}
	if a.Label == "" {
		return nil, fmt.Errorf("action %q: no label: %w", a.ID, ErrInvalid)
	}
	id := a.ID
	switch {
	case id == "":
		id = urlActionID
	case a.Dialog:
		id = dialogMark + id
	}
	// Room for a "#NN" suffix keeps the id recoverable.
	if err := checkLen("action "+strconv.Quote(truncate(a.ID, 40))+" id", id, MaxID-4); err != nil {
		return nil, err
	}
	if err := checkLen("action "+strconv.Quote(a.ID)+" value", a.Value, MaxButtonValue); err != nil {
		return nil, err
	}
	if err := checkLen("action "+strconv.Quote(a.ID)+" URL", a.URL, MaxURL); err != nil {
		return nil, err
	}
	b := goslack.NewButtonBlockElement(ids.unique(id), a.Value, plain(a.Label, MaxButtonText))
	b.URL = a.URL
	switch a.Style {
	case cards.StylePrimary:
		b.Style = goslack.StylePrimary
	case cards.StyleDanger:
		b.Style = goslack.StyleDanger
	}
	return b, nil
}

// actionBlocks renders actions as as many actions blocks as the 25-element
// limit needs. Each block has its own action_id namespace.
func actionBlocks(actions []cards.Action) ([]goslack.Block, error) {
	var blocks []goslack.Block
	for start := 0; start < len(actions); start += MaxActionsElements {
		end := min(start+MaxActionsElements, len(actions))
		ids := idSet{}
		elems := make([]goslack.BlockElement, 0, end-start)
		for _, a := range actions[start:end] {
			b, err := button(a, ids)
			if err != nil {
				return nil, err
			}
			elems = append(elems, b)
		}
		blocks = append(blocks, goslack.NewActionBlock("", elems...))
	}
	return blocks, nil
}
