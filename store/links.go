package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Chat platforms a link belongs to.
const (
	PlatformSlack = "slack"
	PlatformTeams = "teams"
)

// ChatUser identifies a person on a chat platform: the Slack team or Teams
// (Entra) tenant, and the platform's user id there.
type ChatUser struct {
	Platform string // PlatformSlack or PlatformTeams
	Tenant   string // Slack team id, or the Teams tenant id
	UserID   string // Slack user id, or the Teams user id (29:...)
}

// Validate reports an ErrInvalid error for an incomplete or unknown identity.
func (u ChatUser) Validate() error {
	if u.Platform != PlatformSlack && u.Platform != PlatformTeams {
		return fmt.Errorf("%w: platform %q", ErrInvalid, u.Platform)
	}
	if u.Tenant == "" || u.UserID == "" {
		return fmt.Errorf("%w: chat user needs tenant and user id", ErrInvalid)
	}
	return nil
}

// String is for error messages and logs; ids are not secrets.
func (u ChatUser) String() string { return u.Platform + "/" + u.Tenant + "/" + u.UserID }

// Link ties a chat user to a Dynamics user. It carries no tokens; those are
// read separately (LinkStore.Tokens) only where Dynamics is called.
type Link struct {
	ChatUser      ChatUser
	SystemUserID  string    // Dynamics systemuserid (a GUID)
	EntraTenantID string    // Entra tid
	EntraObjectID string    // Entra oid
	UPN           string    // preferred_username
	Email         string    // Dynamics internalemailaddress
	DisplayName   string    // for "linked as ..." messages
	Locale        string    // the chat locale at linking: the language of notifications
	LinkedAt      time.Time // when the link was made (or last remade)
	Broken        bool      // the tokens are unusable; the user must relink
	BrokenReason  string    // why, for the user and the logs (never a token)
	// Version counts token writes; Tokens.Version is the same number.
	Version int64
}

// Tokens are a link's OAuth tokens, plaintext in memory only. String and
// LogValue redact them so they never reach a log line by accident.
type Tokens struct {
	RefreshToken string
	AccessToken  string    // cached; may be empty
	AccessExpiry time.Time // when AccessToken expires; zero when none
	// Version is what SwapTokens compares against: pass back the Version you
	// read.
	Version int64
}

// String redacts the tokens.
func (t Tokens) String() string {
	return fmt.Sprintf("Tokens{version %d, access expires %s, redacted}", t.Version, t.AccessExpiry.Format(time.RFC3339))
}

// GoString redacts the tokens under %#v too.
func (t Tokens) GoString() string { return t.String() }

// LogValue redacts the tokens in slog.
func (t Tokens) LogValue() slog.Value {
	return slog.GroupValue(slog.Int64("version", t.Version), slog.Time("access_expiry", t.AccessExpiry))
}

// LinkStore keeps account links and their encrypted tokens. Consumers: the
// link service (link, unlink, refresh), the delivery workers (who to notify).
type LinkStore interface {
	// GetLink returns the chat user's link (no tokens), ErrNotFound if none.
	// A broken link is returned with Broken set and a nil error.
	GetLink(ctx context.Context, u ChatUser) (Link, error)
	// LinkedUsers lists the chat users linked to a Dynamics systemuserid, in
	// no particular order; empty when none.
	LinkedUsers(ctx context.Context, systemUserID string) ([]ChatUser, error)
	// PutLink links (or relinks) l.ChatUser: it replaces any previous link of
	// that chat user, fixes the reverse index, clears Broken, and returns the
	// new token version (always above any earlier one, so a stale
	// SwapTokens fails). l.Broken, l.BrokenReason and l.Version are ignored; a
	// zero LinkedAt means now.
	PutLink(ctx context.Context, l Link, t Tokens) (version int64, err error)
	// DeleteLink unlinks: the link, its tokens and its reverse-index entry go.
	// Deleting a missing link is not an error.
	DeleteLink(ctx context.Context, u ChatUser) error
	// Tokens decrypts the link's tokens. A broken link gives ErrBrokenLink; a
	// token that cannot be decrypted (unknown key id, tampered, moved from
	// another user) marks the link broken and gives an error matching both
	// ErrBrokenLink and ErrUnknownKeyID or ErrUndecryptable.
	Tokens(ctx context.Context, u ChatUser) (Tokens, error)
	// SwapTokens writes new tokens if the stored version still equals
	// t.Version, and returns the new version; ErrConflict if another writer
	// came first, ErrBrokenLink if the link broke meanwhile, ErrNotFound if it
	// was unlinked.
	SwapTokens(ctx context.Context, u ChatUser, t Tokens) (version int64, err error)
	// MarkBroken flags the link broken with a reason and drops its tokens;
	// first is true only for the call that flipped it (tell the user once).
	// ErrNotFound if there is no link.
	MarkBroken(ctx context.Context, u ChatUser, reason string) (first bool, err error)
}

// Token field names: part of the associated data, so never rename them.
const (
	FieldRefreshToken = "refresh_token"
	FieldAccessToken  = "access_token"
)

// TokenAAD is the associated data binding a token ciphertext to its owner and
// field, so it cannot be copied onto another user or field.
func TokenAAD(u ChatUser, field string) []byte {
	return AAD("token", u.Platform, u.Tenant, u.UserID, field)
}

// SealedTokens is Tokens as implementations store them: ciphertexts only.
type SealedTokens struct {
	Refresh      string // sealed refresh token
	Access       string // sealed access token, "" when none
	AccessExpiry time.Time
}

// SealTokens encrypts t for u with the current key.
func (k *Keyring) SealTokens(u ChatUser, t Tokens) (SealedTokens, error) {
	var s SealedTokens
	var err error
	if s.Refresh, err = k.Seal([]byte(t.RefreshToken), TokenAAD(u, FieldRefreshToken)); err != nil {
		return s, fmt.Errorf("seal refresh token of %s: %w", u, err)
	}
	if t.AccessToken != "" {
		if s.Access, err = k.Seal([]byte(t.AccessToken), TokenAAD(u, FieldAccessToken)); err != nil {
			return s, fmt.Errorf("seal access token of %s: %w", u, err)
		}
		s.AccessExpiry = t.AccessExpiry
	}
	return s, nil
}

// OpenTokens decrypts s for u; errors match ErrUnknownKeyID or
// ErrUndecryptable.
func (k *Keyring) OpenTokens(u ChatUser, s SealedTokens, version int64) (Tokens, error) {
	t := Tokens{Version: version}
	rt, err := k.Open(s.Refresh, TokenAAD(u, FieldRefreshToken))
	if err != nil {
		return Tokens{}, fmt.Errorf("open refresh token of %s: %w", u, err)
	}
	t.RefreshToken = string(rt)
	if s.Access != "" {
		at, err := k.Open(s.Access, TokenAAD(u, FieldAccessToken))
		if err != nil {
			return Tokens{}, fmt.Errorf("open access token of %s: %w", u, err)
		}
		t.AccessToken, t.AccessExpiry = string(at), s.AccessExpiry
	}
	return t, nil
}

// ResealTokens re-encrypts s with the current key; changed is false when it
// already was.
func (k *Keyring) ResealTokens(u ChatUser, s SealedTokens) (out SealedTokens, changed bool, err error) {
	out = s
	var c1, c2 bool
	if out.Refresh, c1, err = k.Reseal(s.Refresh, TokenAAD(u, FieldRefreshToken)); err != nil {
		return s, false, fmt.Errorf("reseal refresh token of %s: %w", u, err)
	}
	if s.Access != "" {
		if out.Access, c2, err = k.Reseal(s.Access, TokenAAD(u, FieldAccessToken)); err != nil {
			return s, false, fmt.Errorf("reseal access token of %s: %w", u, err)
		}
	}
	return out, c1 || c2, nil
}

// BrokenReasonFor is the reason recorded when tokens cannot be decrypted.
func BrokenReasonFor(err error) string {
	switch {
	case errors.Is(err, ErrUnknownKeyID):
		return "tokens were encrypted with a key no longer configured"
	default:
		return "tokens could not be decrypted"
	}
}

// BrokenError wraps the cause of a link found broken while reading tokens so
// that it matches both ErrBrokenLink and the cause.
func BrokenError(u ChatUser, reason string, cause error) error {
	if cause == nil {
		return fmt.Errorf("link of %s: %w: %s", u, ErrBrokenLink, reason)
	}
	return fmt.Errorf("link of %s: %w: %w", u, ErrBrokenLink, cause)
}

// PrepareLink validates l for PutLink, fills a zero LinkedAt with now, clears
// the broken flag, and seals t: the part of PutLink every implementation
// shares.
func (k *Keyring) PrepareLink(l Link, t Tokens, now time.Time) (Link, SealedTokens, error) {
	if err := l.ChatUser.Validate(); err != nil {
		return l, SealedTokens{}, fmt.Errorf("put link: %w", err)
	}
	if l.SystemUserID == "" {
		return l, SealedTokens{}, fmt.Errorf("put link of %s: %w: no systemuserid", l.ChatUser, ErrInvalid)
	}
	sealed, err := k.SealTokens(l.ChatUser, t)
	if err != nil {
		return l, SealedTokens{}, fmt.Errorf("put link: %w", err)
	}
	if l.LinkedAt.IsZero() {
		l.LinkedAt = now
	}
	l.Broken, l.BrokenReason = false, ""
	return l, sealed, nil
}
