package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"
)

// DefaultPrefix is the key prefix when none is configured.
const DefaultPrefix = "crmbot:"

// NonceTTL is how long a link nonce lives.
const NonceTTL = 10 * time.Minute

// FlowSessionStore keeps modal state that does not fit Slack's
// private_metadata, under short random ids. Consumer: the flow engine.
type FlowSessionStore interface {
	// CreateFlow stores data for ttl under a new random id (128 bits,
	// base64url).
	CreateFlow(ctx context.Context, data []byte, ttl time.Duration) (id string, err error)
	// GetFlow returns the data; ErrNotFound when unknown or expired.
	GetFlow(ctx context.Context, id string) ([]byte, error)
	// UpdateFlow replaces the data of a live session. ttl > 0 restarts the
	// expiry at ttl from now; ttl == 0 keeps the remaining time. ErrNotFound
	// when the session is unknown or expired (it is never recreated).
	UpdateFlow(ctx context.Context, id string, data []byte, ttl time.Duration) error
	// DeleteFlow removes the session; a missing one is not an error.
	DeleteFlow(ctx context.Context, id string) error
}

// NonceStore keeps pending link requests under one-time nonces. Consumer: the
// link service (/crm link → /link/start → /link/callback).
type NonceStore interface {
	// CreateNonce stores payload (encrypted: it holds the PKCE verifier) for
	// NonceTTL and returns a fresh 256-bit base64url nonce.
	CreateNonce(ctx context.Context, payload []byte) (nonce string, err error)
	// TakeNonce returns the payload and deletes it atomically: of concurrent
	// callers exactly one gets it, the rest ErrNotFound (as after expiry).
	TakeNonce(ctx context.Context, nonce string) ([]byte, error)
	// PeekNonce returns the payload of a live nonce without using it up
	// (/link/start reads it; only /link/callback takes it). ErrNotFound when
	// unknown, expired or taken.
	PeekNonce(ctx context.Context, nonce string) ([]byte, error)
}

// PendingLinkStore keeps, per chat user, a sign-in that waits for its
// one-time code (the Slack identity check). Consumer: the link service.
type PendingLinkStore interface {
	// PutPendingLink stores payload (encrypted, bound to u: it holds tokens)
	// for ttl, replacing any earlier pending link of u.
	PutPendingLink(ctx context.Context, u ChatUser, payload []byte, ttl time.Duration) error
	// TakePendingLink returns u's pending payload and deletes it atomically
	// (GETDEL): of concurrent callers exactly one gets it. ErrNotFound when
	// none or expired.
	TakePendingLink(ctx context.Context, u ChatUser) ([]byte, error)
}

// PendingLinkAAD binds a sealed pending link to its chat user.
func PendingLinkAAD(u ChatUser) []byte {
	return AAD("pending_link", u.Platform, u.Tenant, u.UserID)
}

// Dedupe remembers inbound event ids (Slack event_id, Teams activity id) so
// platform retries are handled once. Consumer: the adapters.
type Dedupe interface {
	// SeenOnce records key for ttl; first is true only for the first caller
	// while the record lives.
	SeenOnce(ctx context.Context, key string, ttl time.Duration) (first bool, err error)
}

// Pinger answers readiness: server.AddCheck("store", s.Ping).
type Pinger interface {
	Ping(ctx context.Context) error
}

// KeyRotator re-encrypts stored secrets with the current key.
type KeyRotator interface {
	// RotateKeys re-encrypts every link's tokens with the current key. Links
	// whose tokens no configured key opens are marked broken and counted.
	// Nonces are not rewritten: they live 10 minutes, so keep the old key
	// listed at least that long after rotating.
	RotateKeys(ctx context.Context) (RotateReport, error)
}

// RotateReport counts what RotateKeys did.
type RotateReport struct {
	Links     int // links examined
	Rewritten int // links re-encrypted with the current key
	Broken    int // links whose tokens could not be decrypted (now broken)
}

// Store is everything the store offers (user state and sync state); each
// consumer should ask for the narrow interface it uses, not for this.
type Store interface {
	LinkStore
	FlowSessionStore
	NonceStore
	PendingLinkStore
	Dedupe
	PreferenceStore
	Pinger
	KeyRotator
	SyncStore
	Locker
	InstallStore
	ConversationStore
	LinkIndex
	SentStore
	HeldStore
	PokeBus
	Stats
}

// NewFlowID returns a fresh 128-bit base64url flow session id.
func NewFlowID() (string, error) { return randomID(16) }

// NewNonce returns a fresh 256-bit base64url link nonce.
func NewNonce() (string, error) { return randomID(32) }

func randomID(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// ValidID reports whether id looks like one NewFlowID or NewNonce made, so
// junk from a request never reaches a key name.
func ValidID(id string, bytes int) bool {
	if len(id) != base64.RawURLEncoding.EncodedLen(bytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil
}

// Sizes of ids in bytes, for ValidID.
const (
	FlowIDBytes = 16
	NonceBytes  = 32
)

// LookupKey is the name a bearer id (flow id, nonce) is stored under: its
// SHA-256, so whoever reads the store's key names cannot replay them.
func LookupKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// NonceAAD binds a sealed nonce payload to its lookup key.
func NonceAAD(lookup string) []byte { return AAD("link_nonce", lookup) }

// CheckTTL reports an ErrInvalid error for a TTL under a millisecond (Redis
// expiries have millisecond precision; a lease with PX 0 would fail only
// after its fence was spent).
func CheckTTL(ttl time.Duration) error {
	if ttl < time.Millisecond {
		return fmt.Errorf("%w: ttl %s must be at least 1ms", ErrInvalid, ttl)
	}
	return nil
}

// NewSealedNonce makes a fresh link nonce and seals payload for it; store the
// sealed value under lookup (never under the nonce itself).
func (k *Keyring) NewSealedNonce(payload []byte) (nonce, lookup, sealed string, err error) {
	if nonce, err = NewNonce(); err != nil {
		return "", "", "", fmt.Errorf("create link nonce: %w", err)
	}
	lookup = LookupKey(nonce)
	if sealed, err = k.Seal(payload, NonceAAD(lookup)); err != nil {
		return "", "", "", fmt.Errorf("create link nonce: %w", err)
	}
	return nonce, lookup, sealed, nil
}

// OpenNonce opens the payload NewSealedNonce sealed for nonce.
func (k *Keyring) OpenNonce(nonce, sealed string) ([]byte, error) {
	payload, err := k.Open(sealed, NonceAAD(LookupKey(nonce)))
	if err != nil {
		return nil, fmt.Errorf("take link nonce: %w", err)
	}
	return payload, nil
}
