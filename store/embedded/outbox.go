package embedded

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/crmbot/crmbot/store"
)

// outbox mirrors a Redis stream with one consumer group: entries not yet
// read, the pending entries list (read, not acked), dead letters, and the
// enqueued dedupe keys.
type outbox struct {
	seq     int64
	unread  []*obEntry
	pending map[string]*obEntry
	reasons map[string]string // entry id → last failure reported
	enq     map[string]time.Time
	dead    []store.DeadLetter
	// notify is closed (and replaced) when entries arrive, waking blocked
	// readers.
	notify chan struct{}
}

type obEntry struct {
	seq       int64
	enqueued  time.Time         // as a Redis stream id's timestamp
	entry     store.OutboxEntry // Attempts = deliveries so far
	consumer  string
	delivered time.Time
}

func newOutbox() outbox {
	return outbox{
		pending: map[string]*obEntry{}, reasons: map[string]string{},
		enq: map[string]time.Time{}, notify: make(chan struct{}),
	}
}

func (ob *outbox) nextID() (int64, string) {
	ob.seq++
	return ob.seq, strconv.FormatInt(ob.seq, 10) + "-0"
}

// enqueue adds the events whose dedupe key is not in the window, and
// returns how many it added.
func (ob *outbox) enqueue(now time.Time, window time.Duration, events []store.OutboxEvent) int {
	if len(events) == 0 {
		return 0
	}
	for k, at := range ob.enq {
		if !at.After(now.Add(-window)) {
			delete(ob.enq, k)
		}
	}
	added := 0
	for _, e := range events {
		if _, dup := ob.enq[e.DedupeKey]; dup {
			continue
		}
		ob.enq[e.DedupeKey] = now
		ob.add(e.DedupeKey, e.Payload, now)
		added++
	}
	return added
}

func (ob *outbox) add(dedupe string, payload []byte, now time.Time) string {
	seq, id := ob.nextID()
	ob.unread = append(ob.unread, &obEntry{seq: seq, enqueued: now, entry: store.OutboxEntry{ID: id, DedupeKey: dedupe, Payload: clone(payload)}})
	close(ob.notify)
	ob.notify = make(chan struct{})
	return id
}

// bury moves a pending entry to the dead letters.
func (ob *outbox) bury(e *obEntry, attempts int64, reason string, now time.Time) {
	_, id := ob.nextID()
	ob.dead = append(ob.dead, store.DeadLetter{
		ID: id, EntryID: e.entry.ID, DedupeKey: e.entry.DedupeKey, Payload: e.entry.Payload,
		Attempts: attempts, Reason: reason, DiedAt: now,
	})
	if over := len(ob.dead) - store.MaxDeadLetters; over > 0 {
		ob.dead = append(ob.dead[:0:0], ob.dead[over:]...) // oldest first out, as MAXLEN
	}
	delete(ob.pending, e.entry.ID)
	delete(ob.reasons, e.entry.ID)
}

func (e *obEntry) handOut(consumer string, now time.Time) store.OutboxEntry {
	e.consumer, e.delivered = consumer, now
	e.entry.Attempts++
	out := e.entry
	out.Payload = clone(out.Payload)
	return out
}

// ReadOutbox implements store.Outbox.
func (s *Store) ReadOutbox(ctx context.Context, key store.SyncKey, consumer string, count int, block time.Duration) ([]store.OutboxEntry, error) {
	if err := errors.Join(key.Validate(), store.CheckConsumer(consumer, count)); err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	var timeout <-chan time.Time
	if block > 0 {
		t := time.NewTimer(block) // real time, as Redis's BLOCK
		defer t.Stop()
		timeout = t.C
	}
	for {
		s.d.mu.Lock()
		ob, now := &s.syncOf(key).ob, s.now()
		n := min(count, len(ob.unread))
		out := make([]store.OutboxEntry, 0, n)
		for _, e := range ob.unread[:n] {
			ob.pending[e.entry.ID] = e
			out = append(out, e.handOut(consumer, now))
		}
		ob.unread = ob.unread[n:]
		wake := ob.notify
		s.d.mu.Unlock()
		if len(out) > 0 || timeout == nil {
			return out, nil
		}
		select {
		case <-wake:
		case <-timeout:
			return nil, nil
		case <-ctx.Done():
			return nil, fmt.Errorf("read outbox of %s: %w", key, ctx.Err())
		}
	}
}

// AckOutbox implements store.Outbox.
func (s *Store) AckOutbox(ctx context.Context, key store.SyncKey, ids ...string) error {
	if err := key.Validate(); err != nil {
		return fmt.Errorf("ack outbox: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	ob := &s.syncOf(key).ob
	for _, id := range ids {
		delete(ob.pending, id)
		delete(ob.reasons, id)
	}
	return nil
}

// ClaimOutbox implements store.Outbox.
func (s *Store) ClaimOutbox(ctx context.Context, key store.SyncKey, consumer string, minIdle time.Duration, count int) ([]store.OutboxEntry, error) {
	if err := errors.Join(key.Validate(), store.CheckConsumer(consumer, count)); err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	ob, now := &s.syncOf(key).ob, s.now()
	due := make([]*obEntry, 0, len(ob.pending))
	for _, e := range ob.pending {
		if now.Sub(e.delivered) >= store.ClaimBackoff(minIdle, e.entry.Attempts) {
			due = append(due, e)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].seq < due[j].seq })
	var out []store.OutboxEntry
	for _, e := range due {
		if len(out) >= count {
			break
		}
		if e.entry.Attempts >= int64(s.maxAttempts) {
			reason, ok := ob.reasons[e.entry.ID]
			if !ok {
				reason = fmt.Sprintf("abandoned: no ack after %d deliveries", s.maxAttempts)
			}
			ob.bury(e, e.entry.Attempts, reason, now)
			continue
		}
		out = append(out, e.handOut(consumer, now))
	}
	return out, nil
}

// FailOutbox implements store.Outbox.
func (s *Store) FailOutbox(ctx context.Context, key store.SyncKey, id, reason string) (bool, error) {
	if err := key.Validate(); err != nil {
		return false, fmt.Errorf("fail outbox entry: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	ob := &s.syncOf(key).ob
	e, ok := ob.pending[id]
	if !ok {
		return false, fmt.Errorf("fail outbox entry %s: %w", id, store.ErrNotFound)
	}
	if e.entry.Attempts < int64(s.maxAttempts) {
		ob.reasons[id] = reason
		return false, nil
	}
	ob.bury(e, e.entry.Attempts, reason, s.now())
	return true, nil
}

// ListDead implements store.Outbox.
func (s *Store) ListDead(ctx context.Context, key store.SyncKey, count int) ([]store.DeadLetter, error) {
	if err := errors.Join(key.Validate(), store.CheckConsumer("list", count)); err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	dead := s.syncOf(key).ob.dead
	out := make([]store.DeadLetter, 0, min(count, len(dead)))
	for _, d := range dead[:min(count, len(dead))] {
		d.Payload = clone(d.Payload)
		out = append(out, d)
	}
	return out, nil
}

// RetryDead implements store.Outbox.
func (s *Store) RetryDead(ctx context.Context, key store.SyncKey, deadID string) (string, error) {
	if err := key.Validate(); err != nil {
		return "", fmt.Errorf("retry dead letter: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	ob := &s.syncOf(key).ob
	for i, d := range ob.dead {
		if d.ID == deadID {
			ob.dead = append(ob.dead[:i:i], ob.dead[i+1:]...)
			return ob.add(d.DedupeKey, d.Payload, s.now()), nil
		}
	}
	return "", fmt.Errorf("retry dead letter %s: %w", deadID, store.ErrNotFound)
}

// TouchOutbox implements store.Outbox.
func (s *Store) TouchOutbox(ctx context.Context, key store.SyncKey, consumer string, ids ...string) error {
	if err := errors.Join(key.Validate(), store.CheckConsumer(consumer, 1)); err != nil {
		return fmt.Errorf("touch outbox: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	ob, now := &s.syncOf(key).ob, s.now()
	for _, id := range ids {
		if e, ok := ob.pending[id]; ok {
			e.consumer, e.delivered = consumer, now
		}
	}
	return nil
}
