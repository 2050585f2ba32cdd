package store

import "errors"

// Sentinel errors every implementation returns (wrapped with context); test
// them with errors.Is.
var (
	// ErrNotFound: no such link, flow session, nonce (or it expired, or a
	// nonce was already taken).
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a compare-and-swap lost — someone else wrote first. Re-read
	// and decide again.
	ErrConflict = errors.New("store: conflict")
	// ErrBrokenLink: the link exists but its tokens are unusable (refresh
	// refused, or they cannot be decrypted); the user must relink.
	ErrBrokenLink = errors.New("store: link broken")
	// ErrUnavailable: the backing store did not answer (network, timeout,
	// server loading); callers fail fast and /readyz reports it.
	ErrUnavailable = errors.New("store: unavailable")
	// ErrInvalid: the caller passed something unusable (empty id, bad
	// preferences).
	ErrInvalid = errors.New("store: invalid argument")

	// ErrUnknownKeyID: a ciphertext names a key that CRMBOT_ENCRYPTION_KEY no
	// longer lists. Wrapped together with ErrBrokenLink when it breaks a link.
	ErrUnknownKeyID = errors.New("store: ciphertext key id not in CRMBOT_ENCRYPTION_KEY")
	// ErrUndecryptable: a ciphertext is malformed or fails authentication
	// (tampered, or moved to another owner or field).
	ErrUndecryptable = errors.New("store: ciphertext does not authenticate")
)
