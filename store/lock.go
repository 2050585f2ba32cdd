package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Locker hands out short exclusive locks shared by every replica on the same
// store: "only one of us refreshes this user's token right now". A lock is a
// hint for efficiency and politeness, never for correctness: it expires after
// its TTL even if its holder is still working, so what it protects must also
// be safe against a late holder (token writes use SwapTokens' compare-and-swap).
// Consumer: the per-user token source.
type Locker interface {
	// TryLock takes the lock name for ttl if nobody holds it; ok is false
	// (and err nil) when someone does. It does not wait. release gives the
	// lock up if this caller still holds it: after expiry, or once another
	// caller has taken it, release changes nothing and returns ErrLockLost.
	TryLock(ctx context.Context, name string, ttl time.Duration) (release func(context.Context) error, ok bool, err error)
}

// ErrLockLost: a lock's release came after it expired (and perhaps after
// someone else took it); nothing was released.
var ErrLockLost = errors.New("store: lock no longer held")

// MaxLockName bounds a lock name: names become key names.
const MaxLockName = 512

// CheckLock reports an ErrInvalid error for an empty or oversized name or a
// TTL that is not positive.
func CheckLock(name string, ttl time.Duration) error {
	if strings.TrimSpace(name) == "" || len(name) > MaxLockName {
		return fmt.Errorf("%w: lock name must have 1 to %d bytes", ErrInvalid, MaxLockName)
	}
	return CheckTTL(ttl)
}

// NewLockToken returns a fresh 128-bit token naming one holding of a lock, so
// only that holder's release frees it.
func NewLockToken() (string, error) { return randomID(16) }
