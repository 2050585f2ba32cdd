package embedded

import (
	"context"
	"fmt"
	"time"

	"github.com/crmbot/crmbot/store"
)

// TryLock implements store.Locker: a token-stamped entry that expires on the
// store's clock; release deletes it only while it still carries the token.
func (s *Store) TryLock(ctx context.Context, name string, ttl time.Duration) (func(context.Context) error, bool, error) {
	if err := store.CheckLock(name, ttl); err != nil {
		return nil, false, fmt.Errorf("lock: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	token, err := store.NewLockToken()
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	key := name
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if e, held := s.d.locks[key]; held && s.now().Before(e.expires) {
		return nil, false, nil
	}
	s.d.locks[key] = expiring{value: []byte(token), expires: s.now().Add(ttl)}
	s.wrote()
	release := func(context.Context) error {
		s.d.mu.Lock()
		defer s.d.mu.Unlock()
		e, held := s.d.locks[key]
		if !held || string(e.value) != token || !s.now().Before(e.expires) {
			return fmt.Errorf("unlock %s: %w", name, store.ErrLockLost)
		}
		delete(s.d.locks, key)
		return nil
	}
	return release, true, nil
}
