package store

import (
	"context"
	"fmt"
	"time"
)

// Preferences are a chat user's notification settings. The zero value is not
// the default: start from DefaultPreferences.
type Preferences struct {
	// RecordTypes turns record types (logical names, e.g. "incident") off
	// with false; a type not listed is on.
	RecordTypes map[string]bool `json:"record_types,omitempty"`
	// ChannelID, when set, sends notifications to that channel instead of a
	// direct message.
	ChannelID string `json:"channel_id,omitempty"`
	// Digest collects notifications into one message a day at DigestHour
	// (0–23) in TimeZone (IANA), instead of sending each at once.
	Digest     bool   `json:"digest,omitempty"`
	DigestHour int    `json:"digest_hour"`
	TimeZone   string `json:"time_zone"`
	// SnoozeUntil holds notifications back until then.
	SnoozeUntil time.Time `json:"snooze_until,omitzero"`
	// NotifyPreviousOwner tells the previous owner when a record is reassigned
	// away from them.
	NotifyPreviousOwner bool `json:"notify_previous_owner"`
}

// DefaultPreferences is what a user who never set anything gets: every type
// on, direct messages, immediately, previous owners told.
func DefaultPreferences() Preferences {
	return Preferences{DigestHour: 9, TimeZone: "UTC", NotifyPreviousOwner: true}
}

// Wants reports whether notifications for recordType are on.
func (p Preferences) Wants(recordType string) bool {
	on, listed := p.RecordTypes[recordType]
	return !listed || on
}

// Validate reports an ErrInvalid error for an out-of-range hour or an unknown
// time zone.
func (p Preferences) Validate() error {
	if p.DigestHour < 0 || p.DigestHour > 23 {
		return fmt.Errorf("%w: digest hour %d is not 0–23", ErrInvalid, p.DigestHour)
	}
	if _, err := time.LoadLocation(p.TimeZone); err != nil || p.TimeZone == "" {
		return fmt.Errorf("%w: time zone %q", ErrInvalid, p.TimeZone)
	}
	return nil
}

// PreferenceStore keeps Preferences per chat user. Consumers: the settings
// flow, the delivery workers.
type PreferenceStore interface {
	// GetPreferences returns the user's preferences, DefaultPreferences when
	// none were saved.
	GetPreferences(ctx context.Context, u ChatUser) (Preferences, error)
	// PutPreferences saves p (after Validate).
	PutPreferences(ctx context.Context, u ChatUser, p Preferences) error
}
