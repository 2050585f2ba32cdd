package embedded

import (
	"context"
	"sync"

	"github.com/crmbot/crmbot/store"
)

// pokeHub fans pokes out to the subscribers of one process (the embedded
// store has one replica by definition).
type pokeHub struct {
	mu   sync.Mutex
	subs map[chan store.SyncKey]struct{}
}

// Poke delivers a poke to every subscriber of this process.
func (s *Store) Poke(_ context.Context, key store.SyncKey) error {
	if err := key.Validate(); err != nil {
		return err
	}
	h := &s.d.pokes
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- key:
		default:
		}
	}
	return nil
}

// Pokes subscribes to the pokes of this process until ctx ends.
func (s *Store) Pokes(ctx context.Context) (<-chan store.SyncKey, error) {
	h := &s.d.pokes
	ch := make(chan store.SyncKey, 64)
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[chan store.SyncKey]struct{}{}
	}
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	go func() {
		<-ctx.Done()
		h.mu.Lock()
		delete(h.subs, ch)
		close(ch)
		h.mu.Unlock()
	}()
	return ch, nil
}
