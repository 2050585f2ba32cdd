package store

import (
	"context"
	"time"
)

// LinkCount counts the links of one chat platform.
type LinkCount struct {
	Linked int64 // links, broken ones included
	Broken int64 // links whose tokens Dynamics refused (the user must link again)
}

// OutboxStats is the state of one SyncKey's outbox.
type OutboxStats struct {
	// Depth counts the entries not yet acked: waiting for a worker or being
	// delivered.
	Depth int64
	// Pending counts the entries a worker has read and not yet acked (a
	// subset of Depth).
	Pending int64
	// Dead counts the dead letters kept (at most MaxDeadLetters, roughly).
	Dead int64
	// Oldest is when the oldest entry not yet acked was enqueued; zero when
	// Depth is 0.
	Oldest time.Time
}

// LeaseInfo says which replica holds a SyncKey's lease.
type LeaseInfo struct {
	Holder string // empty when nobody holds it
	Fence  int64
	// Expires is when the lease lapses unless renewed (zero when free).
	Expires time.Time
}

// Stats answers the operator's questions across replicas: how many users are
// linked, how far behind delivery is, who syncs what. Reads only, and cheap
// enough for a status page refreshed by hand or a Prometheus scrape (the
// link count walks the link keys: O(links), batched). Consumers: the status
// page and the outbox-depth metric.
type Stats interface {
	// LinkCounts counts links per platform ("slack", "teams"); platforms
	// without links are absent.
	LinkCounts(ctx context.Context) (map[string]LinkCount, error)
	// OutboxStats describes key's outbox; all zero before the first commit.
	OutboxStats(ctx context.Context, key SyncKey) (OutboxStats, error)
	// Lease says who holds key's lease now.
	Lease(ctx context.Context, key SyncKey) (LeaseInfo, error)
}
