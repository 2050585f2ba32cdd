package store

import (
	"context"
	"time"
)

// MaxRecent is how many recent assignments are kept per chat user.
const MaxRecent = 10

// Recent is one assignment notification a chat user received: the Slack
// Home tab lists them ("recently assigned to you").
type Recent struct {
	RecordType string    `json:"t"`
	RecordID   string    `json:"id"`
	Title      string    `json:"n"`
	Kind       int       `json:"k"` // cards.NotificationKind
	By         string    `json:"by,omitempty"`
	At         time.Time `json:"at"`
}

// RecentStore keeps each chat user's latest assignment notifications.
// Consumer: the conversation core (Notify records, Home lists).
type RecentStore interface {
	// AddRecent records r as u's newest, keeping the MaxRecent newest; an
	// entry for the same record replaces the older one.
	AddRecent(ctx context.Context, u ChatUser, r Recent) error
	// RecentFor returns u's recent assignments, newest first.
	RecentFor(ctx context.Context, u ChatUser) ([]Recent, error)
}

// PushRecent puts r first in list, drops an older entry for the same
// record, and keeps MaxRecent. Stores share it so they agree.
func PushRecent(list []Recent, r Recent) []Recent {
	out := make([]Recent, 0, min(len(list)+1, MaxRecent))
	out = append(out, r)
	for _, o := range list {
		if len(out) == MaxRecent {
			break
		}
		if o.RecordType == r.RecordType && o.RecordID == r.RecordID {
			continue
		}
		out = append(out, o)
	}
	return out
}
