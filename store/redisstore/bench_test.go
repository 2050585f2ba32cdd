package redisstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
)

// roundTrips counts what the client sends to Redis: one per command outside
// a pipeline, one per pipeline.
type roundTrips struct{ n atomic.Int64 }

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// BenchmarkCommitPage5000 commits 5000-change pages (cursor + 5000 snapshot
// sets + N outbox events with dedupe) through the fenced Lua commit, and, in
// the same loop, writes the same 5000 snapshot entries with a plain
// pipelined HSET: the floor. It reports round trips per page and changes/s
// for both, and commit/floor (1 = as fast as the floor).
//
//	go test -run '^$' -bench CommitPage5000 -benchtime 50x ./store/redisstore
func BenchmarkCommitPage5000(b *testing.B) {
	for _, events := range []int{0, 1000, 5000} {
		b.Run(fmt.Sprintf("events=%d", events), func(b *testing.B) { benchCommitPage(b, events) })
	}
}

func benchCommitPage(b *testing.B, events int) {
	const changes = 5000
	keys, err := store.RandomKeyring()
	if err != nil {
		b.Fatal(err)
	}
	s, rdb := testStore(b, keys)
	hook := &roundTrips{}
	rdb.AddHook(hook)
	ctx := context.Background()
	key := store.SyncKey{Org: "bench", RecordType: "lead"}
	fence, ok, err := s.AcquireLease(ctx, key, "bench", time.Hour)
	if err != nil || !ok {
		b.Fatalf("lease: %v %v", ok, err)
	}
	ids := make([]string, changes)
	fields := make([]string, changes)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, 1)
		fields[i], _ = store.RecordField(ids[i])
	}
	page := func(n int) store.Commit {
		c := store.Commit{Cursor: &store.Cursor{Token: fmt.Sprintf("delta-%d", n)}, Sets: make(map[string]store.Owner, changes)}
		for i, id := range ids {
			c.Sets[id] = store.Owner{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", i%500, 2), Type: store.OwnerUser, Version: int64(n*changes + i)}
		}
		for i := range events {
			c.Events = append(c.Events, store.OutboxEvent{
				DedupeKey: store.EventDedupeKey(ids[i], int64(n*changes+i), "assigned", c.Sets[ids[i]].ID),
				Payload:   []byte(`{"kind":"assigned","record":"` + ids[i] + `","owner":"` + c.Sets[ids[i]].ID + `"}`),
			})
		}
		return c
	}
	floorKey := s.ks.syncTag(key) + ":floor"
	// Warm up: load the script, grow the hashes.
	if _, err := s.CommitSync(ctx, key, fence, page(1_000_000)); err != nil {
		b.Fatal(err)
	}

	var commitTime, floorTime time.Duration
	var commitTrips, floorTrips int64
	b.ResetTimer()
	for n := range b.N {
		b.StopTimer()
		c := page(n)
		values := make([]any, 0, 2*changes)
		for i, id := range ids {
			v, _ := store.EncodeOwner(c.Sets[id])
			values = append(values, fields[i], v)
		}
		b.StartTimer()

		before, start := hook.n.Load(), time.Now()
		added, err := s.CommitSync(ctx, key, fence, c)
		commitTime += time.Since(start)
		commitTrips += hook.n.Load() - before
		if err != nil || added != events {
			b.Fatalf("commit: added %d of %d: %v", added, events, err)
		}

		before, start = hook.n.Load(), time.Now()
		pipe := rdb.Pipeline()
		for i := 0; i < len(values); i += 2 {
			pipe.HSet(ctx, floorKey, values[i], values[i+1])
		}
		_, err = pipe.Exec(ctx)
		floorTime += time.Since(start)
		floorTrips += hook.n.Load() - before
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	pages := float64(b.N)
	b.ReportMetric(float64(commitTrips)/pages, "roundtrips/page")
	b.ReportMetric(float64(floorTrips)/pages, "floor-roundtrips/page")
	b.ReportMetric(pages*changes/commitTime.Seconds(), "changes/s")
	b.ReportMetric(pages*changes/floorTime.Seconds(), "floor-changes/s")
	b.ReportMetric(floorTime.Seconds()/commitTime.Seconds(), "ratio-to-floor")
}
