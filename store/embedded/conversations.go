package embedded

import (
	"context"
	"fmt"

	"github.com/crmbot/crmbot/store"
)

var _ store.ConversationStore = (*Store)(nil)

// PutConversation implements store.ConversationStore.
func (s *Store) PutConversation(ctx context.Context, u store.ChatUser, r store.ConversationRef) error {
	r, err := store.CheckConversation(u, r, s.now())
	if err != nil {
		return fmt.Errorf("put %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if s.d.conversations == nil {
		s.d.conversations = map[store.ChatUser]store.ConversationRef{}
	}
	s.d.conversations[u] = store.MergeConversation(s.d.conversations[u], r)
	return nil
}

// Conversation implements store.ConversationStore.
func (s *Store) Conversation(ctx context.Context, u store.ChatUser) (store.ConversationRef, error) {
	if err := u.Validate(); err != nil {
		return store.ConversationRef{}, fmt.Errorf("conversation reference: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	r, ok := s.d.conversations[u]
	if !ok {
		return store.ConversationRef{}, fmt.Errorf("conversation reference of %s: %w", u, store.ErrNotFound)
	}
	return r, nil
}

// MarkUnreachable implements store.ConversationStore.
func (s *Store) MarkUnreachable(ctx context.Context, u store.ChatUser) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("mark unreachable: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	if r, ok := s.d.conversations[u]; ok {
		r.Unreachable = true
		s.d.conversations[u] = r
	}
	return nil
}
