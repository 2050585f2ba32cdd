package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// LinkIndex answers "is anyone linked to these Dynamics users?" for a whole
// page of changes in one step. Consumer: the sync, which enqueues events for
// linked owners only.
type LinkIndex interface {
	// LinkedSystemUsers reports, for each systemuserid given, whether at
	// least one chat user is linked to it. Ids with no link are absent (or
	// false). One round trip on Redis, whatever len(ids); none for no ids.
	// Repeated ids are fine; an empty one is ErrInvalid.
	LinkedSystemUsers(ctx context.Context, systemUserIDs []string) (map[string]bool, error)
}

// SentStore remembers which notification was posted to which chat user,
// and where: a delivery retried after the post (the worker died before it
// acked, or another recipient failed) posts nothing twice. Consumer: the
// delivery workers.
type SentStore interface {
	// MarkSent records that the notification key was posted to u as ref
	// (opaque to the store: the platform's message reference), for ttl.
	// ErrInvalid for an empty key, an invalid u or a ttl under 1ms.
	MarkSent(ctx context.Context, key string, u ChatUser, ref string, ttl time.Duration) error
	// ClaimSent records ref like MarkSent, but only if no ref is recorded
	// for (key, u) yet — first writer wins — and returns the ref recorded
	// afterwards: ref when this call recorded it (or the very same ref was
	// there already: a retried claim, or two workers that found the same
	// post), another one when an earlier MarkSent or ClaimSent got there
	// first. The check and the write are one atomic step: of concurrent
	// claims with different refs exactly one records its own. An expired
	// ref counts as none. ErrInvalid as for MarkSent.
	//
	// The delivery workers claim after posting: a worker that finds
	// another ref recorded posted a duplicate (it was paused between its
	// last "posted meanwhile?" look and its post) and removes its own post.
	ClaimSent(ctx context.Context, key string, u ChatUser, ref string, ttl time.Duration) (string, error)
	// SentRef returns the ref MarkSent or ClaimSent recorded; ErrNotFound
	// when none (or expired).
	SentRef(ctx context.Context, key string, u ChatUser) (string, error)
}

// MaxHeld caps the notifications held per chat user (snoozed, waiting for
// the digest, or for a broken link to be relinked): past it the oldest are
// dropped, since a digest of hundreds of records helps nobody.
const MaxHeld = 200

// Caps on what Hold accepts, so junk never bloats a key: an outbox dedupe
// key is ~150 bytes, an encoded notification a few hundred.
const (
	MaxHeldIDLen   = 512
	MaxHeldItemLen = 64 << 10
)

// HeldItem is a notification held back for a chat user.
type HeldItem struct {
	ID   string    // the notification's key (its outbox dedupe key): holding it twice keeps one
	Item []byte    // the notification, encoded by its producer (opaque to the store)
	At   time.Time // when it was first held (millisecond precision)
}

// HeldStore keeps notifications held back per chat user — snoozed, waiting
// for the daily digest, or paused while the user's link is broken — and
// when each user's held notifications are due. Consumer: the delivery
// workers (hold, then flush as one digest when due).
type HeldStore interface {
	// Hold keeps item for u under id (a second Hold of the same id keeps
	// the first one's At and replaces nothing else), keeping the MaxHeld
	// newest. due, when not zero, makes u due at due, or earlier if u was
	// already due earlier; a zero due leaves u's due time as it is (a
	// broken link: held until WakeHeld). ErrInvalid for an invalid u, an
	// empty id or one over MaxHeldIDLen, or an item over MaxHeldItemLen.
	Hold(ctx context.Context, u ChatUser, id string, item []byte, due time.Time) error
	// WakeHeld makes u due at when (or earlier if already due earlier), if
	// u holds anything. The link service calls it on relink. A zero when is
	// ErrInvalid.
	WakeHeld(ctx context.Context, u ChatUser, when time.Time) error
	// DeferHeld sets u's due time to until, later or earlier than it was
	// (a flush found u snoozed until then: due times otherwise only come
	// forward); a zero until makes u not due (a broken link: held until
	// WakeHeld). The held items stay. A no-op when u holds nothing.
	DeferHeld(ctx context.Context, u ChatUser, until time.Time) error
	// DueHeld lists up to n chat users whose due time is at or before now,
	// earliest due first (due times and now count in milliseconds). n <= 0
	// is ErrInvalid.
	DueHeld(ctx context.Context, now time.Time, n int) ([]ChatUser, error)
	// HeldFor returns u's held notifications, oldest first.
	HeldFor(ctx context.Context, u ChatUser) ([]HeldItem, error)
	// DropHeld removes the given ids (delivered); unknown ids are ignored.
	// When nothing remains held, u is no longer due; otherwise u's due time
	// is kept (items held meanwhile go out with the next flush). With no
	// ids it only ends u's due time if nothing is held.
	DropHeld(ctx context.Context, u ChatUser, ids ...string) error
}

// CheckHold reports an ErrInvalid error for a Hold of an invalid chat user,
// an empty id or one over MaxHeldIDLen, or an item over MaxHeldItemLen.
func CheckHold(u ChatUser, id string, item []byte) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("hold: %w", err)
	}
	if id == "" || len(id) > MaxHeldIDLen {
		return fmt.Errorf("hold for %s: %w: id of %d bytes (1 to %d)", u, ErrInvalid, len(id), MaxHeldIDLen)
	}
	if len(item) > MaxHeldItemLen {
		return fmt.Errorf("hold for %s: %w: item of %d bytes (max %d)", u, ErrInvalid, len(item), MaxHeldItemLen)
	}
	return nil
}

// SortHeld puts items oldest first: by At, then by ID in byte order. It is
// the order HeldFor returns and the order Hold trims in (the first go);
// stores share it so they agree.
func SortHeld(items []HeldItem) {
	slices.SortFunc(items, func(a, b HeldItem) int {
		return cmp.Or(a.At.Compare(b.At), strings.Compare(a.ID, b.ID))
	})
}
