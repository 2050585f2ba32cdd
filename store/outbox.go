package store

import (
	"context"
	"fmt"
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
)

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
	// ClaimOutbox hands consumer up to count entries pending for at least
	// minIdle (a dead or slow worker's), counting one more attempt for each.
	// Entries that would exceed MaxAttempts are moved to the dead letters
	// instead of being returned.
	ClaimOutbox(ctx context.Context, key SyncKey, consumer string, minIdle time.Duration, count int) ([]OutboxEntry, error)
	// TouchOutbox says consumer is still working on the given pending
	// entries (a heartbeat): their idle time restarts, so no claim takes
	// them for another minIdle, and their attempt counts do not change.
	// Unknown, unread and acked ids are ignored.
	TouchOutbox(ctx context.Context, key SyncKey, consumer string, ids ...string) error
	// FailOutbox records a failed delivery of a pending entry. When the entry
	// has had MaxAttempts attempts it is dead-lettered now (dead is true);
	// otherwise it stays pending and is retried by a claim after minIdle (the
	// backoff). ErrNotFound when the entry is not pending.
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
