package bot

import (
	"errors"
	"fmt"
	"regexp"
	"sync/atomic"

	"github.com/crmbot/crmbot/store"
)

// ErrNotLinked: the chat user has no Dynamics link (never linked, or
// unlinked). The caller offers the link prompt.
var ErrNotLinked = errors.New("bot: chat user is not linked to Dynamics")

// LinkBrokenError says the chat user's link is broken (the authority refused
// the refresh token, or the stored tokens cannot be decrypted) and the user
// must link again. It matches store.ErrBrokenLink with errors.Is.
type LinkBrokenError struct {
	User store.ChatUser
	// First is true for exactly one caller: the one whose call found the link
	// broken. That caller sends the single "your link expired — link again"
	// message; every other caller stays quiet.
	First bool
	// Reason says why, for logs and whoami (never a token).
	Reason string
	cause  error
}

// Error describes the broken link without any token.
func (e *LinkBrokenError) Error() string {
	return fmt.Sprintf("dynamics link of %s is broken: %s", e.User, e.Reason)
}

// Unwrap exposes store.ErrBrokenLink and the cause (e.g.
// store.ErrUnknownKeyID, or the token endpoint's *TokenEndpointError).
func (e *LinkBrokenError) Unwrap() []error {
	if e.cause == nil {
		return []error{store.ErrBrokenLink}
	}
	return []error{store.ErrBrokenLink, e.cause}
}

// sharedBroken carries a LinkBrokenError through the single-flight group, so
// that of the callers sharing one refresh only one sees First.
type sharedBroken struct {
	*LinkBrokenError
	claimed atomic.Bool
}

func (s *sharedBroken) Unwrap() error { return s.LinkBrokenError }

// share prepares a refresh's error for the callers sharing it.
func share(err error) error {
	var e *LinkBrokenError
	if errors.As(err, &e) {
		return &sharedBroken{LinkBrokenError: e}
	}
	return err
}

// forCaller is the error one caller of a shared refresh returns.
func forCaller(err error) error {
	var sb *sharedBroken
	if !errors.As(err, &sb) {
		return err
	}
	e := *sb.LinkBrokenError
	e.First = e.First && sb.claimed.CompareAndSwap(false, true)
	return &e
}

// TokenEndpointError is an error answer of the authority's token endpoint.
// It keeps the OAuth error code and Entra's AADSTS number only: the
// description is free text and stays out of errors and logs.
type TokenEndpointError struct {
	Status int    // HTTP status
	Code   string // OAuth "error", e.g. invalid_grant
	AADSTS string // e.g. AADSTS50173, when the description names one
}

// Error implements error.
func (e *TokenEndpointError) Error() string {
	s := fmt.Sprintf("token endpoint answered %d %s", e.Status, e.Code)
	if e.AADSTS != "" {
		s += " (" + e.AADSTS + ")"
	}
	return s
}

// InvalidGrant reports whether the authority refused the grant itself
// (revoked, expired, password changed): only a new sign-in helps.
func (e *TokenEndpointError) InvalidGrant() bool { return e.Code == "invalid_grant" }

var aadstsCode = regexp.MustCompile(`AADSTS\d+`)
