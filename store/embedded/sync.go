package embedded

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crmbot/crmbot/store"
)

// syncState is one (org, record type): what Redis keeps under one hash tag.
type syncState struct {
	cursor *store.Cursor
	owners map[string]string // store.RecordField → store.EncodeOwner, as in Redis

	leaseHolder string
	leaseExp    time.Time
	fence       int64 // last fencing token handed out

	ob outbox
}

// syncOf returns key's state, creating it; call with d.mu held.
func (s *Store) syncOf(key store.SyncKey) *syncState {
	st, ok := s.d.sync[key]
	if !ok {
		st = &syncState{owners: map[string]string{}, ob: newOutbox()}
		s.d.sync[key] = st
	}
	return st
}

// GetCursor implements store.SnapshotStore.
func (s *Store) GetCursor(ctx context.Context, key store.SyncKey) (store.Cursor, error) {
	if err := key.Validate(); err != nil {
		return store.Cursor{}, err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	st := s.syncOf(key)
	if st.cursor == nil {
		return store.Cursor{}, fmt.Errorf("cursor of %s: %w", key, store.ErrNotFound)
	}
	return *st.cursor, nil
}

// GetOwners implements store.SnapshotStore.
func (s *Store) GetOwners(ctx context.Context, key store.SyncKey, ids []string) (map[string]store.Owner, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	fields, err := store.RecordFields(ids)
	if err != nil {
		return nil, fmt.Errorf("owners of %s: %w", key, err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	st := s.syncOf(key)
	out := make(map[string]store.Owner, len(ids))
	for i, f := range fields {
		if enc, ok := st.owners[f]; ok {
			o, err := store.DecodeOwner(enc)
			if err != nil {
				return nil, fmt.Errorf("owners of %s: record %s: %w", key, ids[i], err)
			}
			out[ids[i]] = o
		}
	}
	return out, nil
}

// SnapshotSize implements store.SnapshotStore.
func (s *Store) SnapshotSize(ctx context.Context, key store.SyncKey) (int64, error) {
	if err := key.Validate(); err != nil {
		return 0, err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	return int64(len(s.syncOf(key).owners)), nil
}

// ResetSync implements store.SnapshotStore.
func (s *Store) ResetSync(ctx context.Context, key store.SyncKey, fence int64) error {
	if err := key.Validate(); err != nil {
		return err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	st := s.syncOf(key)
	if fence != st.fence || fence == 0 {
		return fmt.Errorf("reset sync of %s with fence %d: %w", key, fence, store.ErrStaleFence)
	}
	st.cursor, st.owners = nil, map[string]string{}
	return nil
}

// CommitSync implements store.Committer: validated first, then applied
// under the lock, so it is all or nothing.
func (s *Store) CommitSync(ctx context.Context, key store.SyncKey, fence int64, c store.Commit) (int, error) {
	if err := key.Validate(); err != nil {
		return 0, err
	}
	sets := make(map[string]string, len(c.Sets))
	for id, o := range c.Sets {
		f, err := store.RecordField(id)
		if err != nil {
			return 0, fmt.Errorf("commit sync of %s: %w", key, err)
		}
		v, err := store.EncodeOwner(o)
		if err != nil {
			return 0, fmt.Errorf("commit sync of %s: record %s: %w", key, id, err)
		}
		sets[f] = v
	}
	dels := make([]string, len(c.Deletes))
	for i, id := range c.Deletes {
		f, err := store.RecordField(id)
		if err != nil {
			return 0, fmt.Errorf("commit sync of %s: %w", key, err)
		}
		dels[i] = f
	}
	if err := store.CheckCommitSize(c); err != nil {
		return 0, fmt.Errorf("commit sync of %s: %w", key, err)
	}
	for _, e := range c.Events {
		if e.DedupeKey == "" {
			return 0, fmt.Errorf("commit sync of %s: %w: event without a dedupe key", key, store.ErrInvalid)
		}
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	st := s.syncOf(key)
	if fence != st.fence || fence == 0 {
		return 0, fmt.Errorf("commit sync of %s with fence %d: %w", key, fence, store.ErrStaleFence)
	}
	now := s.now()
	for f, v := range sets {
		st.owners[f] = v
	}
	for _, f := range dels {
		delete(st.owners, f)
	}
	added := st.ob.enqueue(now, s.window, c.Events)
	if c.Cursor != nil {
		st.cursor = &store.Cursor{Token: c.Cursor.Token, UpdatedAt: now}
	}
	return added, nil
}

// AcquireLease implements store.LeaseStore.
func (s *Store) AcquireLease(ctx context.Context, key store.SyncKey, holder string, ttl time.Duration) (int64, bool, error) {
	if err := errors.Join(key.Validate(), store.CheckHolder(holder), store.CheckTTL(ttl)); err != nil {
		return 0, false, fmt.Errorf("acquire lease: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	st, now := s.syncOf(key), s.now()
	if st.leaseHolder != "" && now.Before(st.leaseExp) {
		return 0, false, nil
	}
	// As Redis: max(counter+1, clock in µs), so fences outrun any counter
	// a restart (or a future persistence) could lose.
	st.fence = max(st.fence+1, now.UnixMicro())
	st.leaseHolder, st.leaseExp = holder, now.Add(ttl)
	return st.fence, true, nil
}

// RenewLease implements store.LeaseStore.
func (s *Store) RenewLease(ctx context.Context, key store.SyncKey, holder string, ttl time.Duration) error {
	if err := errors.Join(key.Validate(), store.CheckHolder(holder), store.CheckTTL(ttl)); err != nil {
		return fmt.Errorf("renew lease: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	st, now := s.syncOf(key), s.now()
	if !st.heldBy(holder, now) {
		return fmt.Errorf("renew lease of %s: %w", key, store.ErrLeaseLost)
	}
	st.leaseExp = now.Add(ttl)
	return nil
}

// ReleaseLease implements store.LeaseStore.
func (s *Store) ReleaseLease(ctx context.Context, key store.SyncKey, holder string) error {
	if err := errors.Join(key.Validate(), store.CheckHolder(holder)); err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	st := s.syncOf(key)
	if !st.heldBy(holder, s.now()) {
		return fmt.Errorf("release lease of %s: %w", key, store.ErrLeaseLost)
	}
	st.leaseHolder = ""
	return nil
}

func (st *syncState) heldBy(holder string, now time.Time) bool {
	return st.leaseHolder == holder && now.Before(st.leaseExp)
}
