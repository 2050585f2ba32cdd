package store

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Outbox defaults.
const (
	// DefaultMaxAttempts is how many deliveries an outbox entry gets before
	// it is dead-lettered.
	DefaultMaxAttempts = 5
	// DefaultDedupeWindow is how long an enqueued event's dedupe key is
	// remembered: a commit retried within it enqueues nothing twice.
	DefaultDedupeWindow = 24 * time.Hour
	// MaxDeadLetters caps the dead letters kept per SyncKey (Redis: MAXLEN ~,
	// so approximately): an outage that kills every delivery cannot grow
	// them without bound. The oldest go first.
	MaxDeadLetters = 10_000
	// MaxBackoffDoublings caps the claim backoff (see ClaimBackoff): an entry
	// waits at most minIdle × 2^MaxBackoffDoublings (8×) before a claim takes
	// it again. With DefaultMaxAttempts the cap is reached by the last
	// delivery: one a worker abandoned is dead-lettered after 8 × minIdle.
	MaxBackoffDoublings = 3
)

// ClaimBackoff is how long an outbox entry delivered deliveries times must
// have been idle before ClaimOutbox takes it:
// minIdle × 2^(deliveries−1), capped at minIdle × 2^MaxBackoffDoublings.
// So the first retry of a failed delivery waits minIdle, the next ones
// twice as long each time, and an entry a dead worker abandoned after its
// first delivery is taken over after minIdle (fast failover). Deliveries
// below 1 count as 1, a negative minIdle as 0; the result saturates
// instead of overflowing.
func ClaimBackoff(minIdle time.Duration, deliveries int64) time.Duration {
	if minIdle <= 0 {
		return 0
	}
	doublings := min(max(deliveries-1, 0), MaxBackoffDoublings)
	if minIdle > math.MaxInt64>>doublings {
		return math.MaxInt64
	}
	return minIdle << doublings
}

// OutboxEvent is a notification to deliver, produced by a sync commit.
type OutboxEvent struct {
	// DedupeKey identifies the event; the same key is enqueued once per
	// dedupe window. Build it with EventDedupeKey.
	DedupeKey string
	// Payload is the event, encoded by its producer (opaque to the store).
	Payload []byte
}

// EventDedupeKey is the dedupe key of the event kind for recipient about
// version of a record: a retried or replayed page yields the same key.
func EventDedupeKey(recordID string, version int64, kind, recipient string) string {
	return recordID + "|" + strconv.FormatInt(version, 10) + "|" + kind + "|" + recipient
}

// OutboxEntry is an event handed to a delivery worker.
type OutboxEntry struct {
	ID        string // stream entry id; Ack and FailOutbox take it
	DedupeKey string
	Payload   []byte
	// Attempts counts deliveries of this entry, this one included: 1 when
	// first read, +1 on each claim by (or from) a worker that did not ack.
	Attempts int64
}

// DeadLetter is an entry that failed MaxAttempts times.
type DeadLetter struct {
	ID        string // dead-letter id; RetryDead takes it
	EntryID   string // its outbox entry id when it died
	DedupeKey string
	Payload   []byte
	Attempts  int64
	Reason    string // the last failure reported, or why it was abandoned
	DiedAt    time.Time
}

// Outbox is the queue of events to deliver, one per SyncKey, with a
// consumer group: an entry read but never acked (the worker died) stays
// pending and another worker claims it. Consumer: the delivery workers and
// the status page. Events enter it through Committer.CommitSync.
type Outbox interface {
	// ReadOutbox hands consumer up to count new entries, waiting up to block
	// for some (0: do not wait). They stay pending until acked.
	ReadOutbox(ctx context.Context, key SyncKey, consumer string, count int, block time.Duration) ([]OutboxEntry, error)
	// AckOutbox marks entries delivered and deletes them; unknown ids, and
	// ids of entries not read (pending) yet, are ignored: an unread entry is
	// never deleted by an ack.
	AckOutbox(ctx context.Context, key SyncKey, ids ...string) error
	// ClaimOutbox hands consumer up to count pending entries that are due
	// (a failed delivery's retry, or a dead or paused worker's entry),
	// oldest first, counting one more attempt for each. An entry delivered
	// n times is due once idle (since its last delivery or TouchOutbox) for
	// ClaimBackoff(minIdle, n) = minIdle × 2^(n−1), capped at minIdle ×
	// 2^MaxBackoffDoublings: retries back off exponentially (with 30 s: 30 s,
	// 60 s, 120 s, 240 s), while an entry abandoned after its first delivery
	// is taken over after minIdle. Entries not due yet are left untouched
	// (their attempts unchanged). A due entry that has had MaxAttempts
	// deliveries is moved to the dead letters instead of being returned.
	ClaimOutbox(ctx context.Context, key SyncKey, consumer string, minIdle time.Duration, count int) ([]OutboxEntry, error)
	// TouchOutbox says consumer is still working on the given pending
	// entries (a heartbeat): their idle time restarts, so no claim takes
	// them before they are due again (at least minIdle, see ClaimOutbox),
	// and their attempt counts do not change.
	// Unknown, unread and acked ids are ignored.
	TouchOutbox(ctx context.Context, key SyncKey, consumer string, ids ...string) error
	// FailOutbox records a failed delivery of a pending entry. When the entry
	// has had MaxAttempts attempts it is dead-lettered now (dead is true);
	// otherwise it stays pending and is retried by a claim once due (see
	// ClaimOutbox: the backoff). ErrNotFound when the entry is not pending.
	FailOutbox(ctx context.Context, key SyncKey, id, reason string) (dead bool, err error)
	// ListDead returns up to count dead letters, oldest first.
	ListDead(ctx context.Context, key SyncKey, count int) ([]DeadLetter, error)
	// RetryDead moves a dead letter back into the outbox as a new entry with
	// fresh attempts, and returns its entry id. ErrNotFound when unknown.
	RetryDead(ctx context.Context, key SyncKey, deadID string) (entryID string, err error)
}

// CheckConsumer reports ErrInvalid for an empty consumer name or count.
func CheckConsumer(consumer string, count int) error {
	if consumer == "" {
		return fmt.Errorf("%w: empty outbox consumer", ErrInvalid)
	}
	if count <= 0 {
		return fmt.Errorf("%w: outbox count %d must be positive", ErrInvalid, count)
	}
	return nil
}
