package embedded

import (
	"context"
	"fmt"
	"slices"

	"github.com/crmbot/crmbot/store"
)

var _ store.RecentStore = (*Store)(nil)

// AddRecent implements store.RecentStore.
func (s *Store) AddRecent(ctx context.Context, u store.ChatUser, r store.Recent) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("recent: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if s.d.recent == nil {
		s.d.recent = map[store.ChatUser][]store.Recent{}
	}
	s.d.recent[u] = store.PushRecent(s.d.recent[u], r)
	return nil
}

// RecentFor implements store.RecentStore.
func (s *Store) RecentFor(ctx context.Context, u store.ChatUser) ([]store.Recent, error) {
	if err := u.Validate(); err != nil {
		return nil, fmt.Errorf("recent: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	return slices.Clone(s.d.recent[u]), nil
}
