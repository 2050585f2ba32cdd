package embedded

import (
	"context"
	"fmt"
	"time"

	"github.com/crmbot/crmbot/store"
)

// LinkCounts implements store.Stats.
func (s *Store) LinkCounts(ctx context.Context) (map[string]store.LinkCount, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("count links: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	out := map[string]store.LinkCount{}
	for u, r := range s.d.links {
		c := out[u.Platform]
		c.Linked++
		if r.link.Broken {
			c.Broken++
		}
		out[u.Platform] = c
	}
	return out, nil
}

// OutboxStats implements store.Stats. Oldest has a Redis stream id's
// precision (milliseconds).
func (s *Store) OutboxStats(ctx context.Context, key store.SyncKey) (store.OutboxStats, error) {
	if err := key.Validate(); err != nil {
		return store.OutboxStats{}, fmt.Errorf("outbox stats: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	st, ok := s.d.sync[key]
	if !ok {
		return store.OutboxStats{}, nil
	}
	ob := &st.ob
	out := store.OutboxStats{
		Depth:   int64(len(ob.unread) + len(ob.pending)),
		Pending: int64(len(ob.pending)),
		Dead:    int64(len(ob.dead)),
	}
	var oldest *obEntry
	for _, e := range ob.pending {
		if oldest == nil || e.seq < oldest.seq {
			oldest = e
		}
	}
	if len(ob.unread) > 0 && (oldest == nil || ob.unread[0].seq < oldest.seq) {
		oldest = ob.unread[0]
	}
	if oldest != nil {
		out.Oldest = time.UnixMilli(oldest.enqueued.UnixMilli())
	}
	return out, nil
}

// Lease implements store.Stats.
func (s *Store) Lease(ctx context.Context, key store.SyncKey) (store.LeaseInfo, error) {
	if err := key.Validate(); err != nil {
		return store.LeaseInfo{}, fmt.Errorf("lease info: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	st, ok := s.d.sync[key]
	if !ok || st.leaseHolder == "" || !s.now().Before(st.leaseExp) {
		return store.LeaseInfo{}, nil
	}
	return store.LeaseInfo{Holder: st.leaseHolder, Fence: st.fence, Expires: st.leaseExp}, nil
}
