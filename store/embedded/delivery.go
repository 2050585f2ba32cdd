package embedded

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/crmbot/crmbot/store"
)

var (
	_ store.LinkIndex = (*Store)(nil)
	_ store.SentStore = (*Store)(nil)
	_ store.HeldStore = (*Store)(nil)
)

// sentKey names a posted notification: its key and its recipient.
type sentKey struct {
	key string
	u   store.ChatUser
}

// heldState is one chat user's held notifications: what Redis keeps in the
// user's held hash plus the user's score in the due index.
type heldState struct {
	items map[string]store.HeldItem // by id
	due   time.Time                 // zero: not due (held until woken)
}

// LinkedSystemUsers implements store.LinkIndex.
func (s *Store) LinkedSystemUsers(ctx context.Context, systemUserIDs []string) (map[string]bool, error) {
	out := make(map[string]bool, len(systemUserIDs))
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	for _, id := range systemUserIDs {
		if id == "" {
			return nil, fmt.Errorf("linked system users: %w: empty systemuserid", store.ErrInvalid)
		}
		if len(s.d.bySys[id]) > 0 {
			out[id] = true
		}
	}
	return out, nil
}

// MarkSent implements store.SentStore.
func (s *Store) MarkSent(ctx context.Context, key string, u store.ChatUser, ref string, ttl time.Duration) error {
	if err := checkSent(key, u); err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	if err := store.CheckTTL(ttl); err != nil {
		return fmt.Errorf("mark sent %q to %s: %w", key, u, err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if s.d.sent == nil {
		s.d.sent = map[sentKey]expiring{}
	}
	s.d.sent[sentKey{key, u}] = expiring{value: []byte(ref), expires: s.now().Add(ttl)}
	s.wrote()
	return nil
}

// ClaimSent implements store.SentStore: under the store's lock, so the
// look and the write are one step.
func (s *Store) ClaimSent(ctx context.Context, key string, u store.ChatUser, ref string, ttl time.Duration) (string, error) {
	if err := checkSent(key, u); err != nil {
		return "", fmt.Errorf("claim sent: %w", err)
	}
	if err := store.CheckTTL(ttl); err != nil {
		return "", fmt.Errorf("claim sent %q to %s: %w", key, u, err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	now := s.now()
	if e, ok := s.d.sent[sentKey{key, u}]; ok && now.Before(e.expires) {
		return string(e.value), nil
	}
	if s.d.sent == nil {
		s.d.sent = map[sentKey]expiring{}
	}
	s.d.sent[sentKey{key, u}] = expiring{value: []byte(ref), expires: now.Add(ttl)}
	s.wrote()
	return ref, nil
}

// SentRef implements store.SentStore.
func (s *Store) SentRef(ctx context.Context, key string, u store.ChatUser) (string, error) {
	if err := checkSent(key, u); err != nil {
		return "", fmt.Errorf("sent ref: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	e, ok := s.d.sent[sentKey{key, u}]
	if !ok || !s.now().Before(e.expires) {
		return "", fmt.Errorf("sent ref of %s to %s: %w", key, u, store.ErrNotFound)
	}
	return string(e.value), nil
}

// checkSent reports ErrInvalid for an empty notification key or an invalid
// chat user.
func checkSent(key string, u store.ChatUser) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if key == "" {
		return fmt.Errorf("%w: empty notification key", store.ErrInvalid)
	}
	return nil
}

// ms truncates t to milliseconds, the precision Redis keeps.
func ms(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()) }

// lowerDue makes st due at due, unless it is due earlier already; call with
// d.mu held.
func (st *heldState) lowerDue(due time.Time) {
	due = ms(due)
	if st.due.IsZero() || due.Before(st.due) {
		st.due = due
	}
}

// Hold implements store.HeldStore.
func (s *Store) Hold(ctx context.Context, u store.ChatUser, id string, item []byte, due time.Time) error {
	if err := store.CheckHold(u, id, item); err != nil {
		return err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if s.d.held == nil {
		s.d.held = map[store.ChatUser]*heldState{}
	}
	st := s.d.held[u]
	if st == nil {
		st = &heldState{items: map[string]store.HeldItem{}}
		s.d.held[u] = st
	}
	if _, ok := st.items[id]; !ok {
		st.items[id] = store.HeldItem{ID: id, Item: clone(item), At: ms(s.now())}
		if len(st.items) > store.MaxHeld {
			all := slices.Collect(maps.Values(st.items))
			store.SortHeld(all)
			for _, old := range all[:len(all)-store.MaxHeld] {
				delete(st.items, old.ID)
			}
		}
	}
	if !due.IsZero() {
		st.lowerDue(due)
	}
	return nil
}

// WakeHeld implements store.HeldStore.
func (s *Store) WakeHeld(ctx context.Context, u store.ChatUser, when time.Time) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("wake held: %w", err)
	}
	if when.IsZero() {
		return fmt.Errorf("wake held of %s: %w: zero time", u, store.ErrInvalid)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if st := s.d.held[u]; st != nil {
		st.lowerDue(when)
	}
	return nil
}

// DeferHeld implements store.HeldStore.
func (s *Store) DeferHeld(ctx context.Context, u store.ChatUser, until time.Time) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("defer held: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if st := s.d.held[u]; st != nil {
		st.due = time.Time{}
		if !until.IsZero() {
			st.due = ms(until)
		}
	}
	return nil
}

// DueHeld implements store.HeldStore: earliest due first, ties in a fixed
// order.
func (s *Store) DueHeld(ctx context.Context, now time.Time, n int) ([]store.ChatUser, error) {
	if n <= 0 {
		return nil, fmt.Errorf("due held: %w: n %d must be positive", store.ErrInvalid, n)
	}
	now = ms(now)
	s.d.mu.Lock()
	type due struct {
		u  store.ChatUser
		at time.Time
	}
	var all []due
	for u, st := range s.d.held {
		if !st.due.IsZero() && !st.due.After(now) {
			all = append(all, due{u, st.due})
		}
	}
	s.d.mu.Unlock()
	slices.SortFunc(all, func(a, b due) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return strings.Compare(a.u.String(), b.u.String())
	})
	out := make([]store.ChatUser, 0, min(n, len(all)))
	for _, d := range all[:min(n, len(all))] {
		out = append(out, d.u)
	}
	return out, nil
}

// HeldFor implements store.HeldStore.
func (s *Store) HeldFor(ctx context.Context, u store.ChatUser) ([]store.HeldItem, error) {
	if err := u.Validate(); err != nil {
		return nil, fmt.Errorf("held for: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	st := s.d.held[u]
	if st == nil {
		return []store.HeldItem{}, nil
	}
	out := make([]store.HeldItem, 0, len(st.items))
	for _, it := range st.items {
		it.Item = clone(it.Item)
		out = append(out, it)
	}
	store.SortHeld(out)
	return out, nil
}

// DropHeld implements store.HeldStore.
func (s *Store) DropHeld(ctx context.Context, u store.ChatUser, ids ...string) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("drop held: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	st := s.d.held[u]
	if st == nil {
		return nil
	}
	for _, id := range ids {
		delete(st.items, id)
	}
	if len(st.items) == 0 {
		delete(s.d.held, u)
	}
	return nil
}
