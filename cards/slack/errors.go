package slack

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Errors a renderer returns when a view holds something Slack cannot carry
// and that cannot be cut without losing meaning (an opaque value, a form's
// state, an input). Texts are truncated instead; these never are.
var (
	// ErrTooLarge: a value, id, state or form exceeds a Slack limit.
	ErrTooLarge = errors.New("too large for Slack")
	// ErrInvalid: the view is malformed for Slack (an action with neither
	// id nor URL, a lookup with no source, a bad pre-filled date…).
	ErrInvalid = errors.New("invalid for Slack")
)

// checkLen fails with ErrTooLarge when s is longer than max runes.
func checkLen(what, s string, max int) error {
	if n := utf8.RuneCountInString(s); n > max {
		return fmt.Errorf("%s: %d characters, Slack allows %d: %w", what, n, max, ErrTooLarge)
	}
	return nil
}
