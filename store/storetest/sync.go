package storetest

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/crmbot/crmbot/store"
)

// RunSync runs the sync half of the suite: snapshots, leases, the fenced
// commit and the outbox. Fixtures must use store.DefaultMaxAttempts.
func RunSync(t *testing.T, newFixture NewFunc) {
	t.Run("Snapshots", func(t *testing.T) { RunSnapshots(t, newFixture) })
	t.Run("Leases", func(t *testing.T) { RunLeases(t, newFixture) })
	t.Run("Commit", func(t *testing.T) { RunCommit(t, newFixture) })
	t.Run("Outbox", func(t *testing.T) { RunOutbox(t, newFixture) })
}

var leads = store.SyncKey{Org: "org1.crm.dynamics.com", RecordType: "lead"}

// guid is a deterministic record or owner id.
func guid(kind, i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, kind) }

func owner(i int) store.Owner {
	typ := store.OwnerUser
	if i%7 == 0 {
		typ = store.OwnerTeam
	}
	return store.Owner{ID: guid(0xbeef, i%50), Type: typ, Version: int64(1_000_000 + i)}
}

func event(i int, kind string) store.OutboxEvent {
	rec := guid(1, i)
	return store.OutboxEvent{
		DedupeKey: store.EventDedupeKey(rec, int64(i), kind, guid(0xbeef, i%50)),
		Payload:   []byte(fmt.Sprintf(`{"record":%q,"kind":%q}`, rec, kind)),
	}
}

// lease takes the lease on key for holder or fails the test.
func lease(t *testing.T, s store.Store, key store.SyncKey, holder string, ttl time.Duration) int64 {
	t.Helper()
	fence, ok, err := s.AcquireLease(ctx(t), key, holder, ttl)
	noErr(t, "AcquireLease "+holder, err)
	if !ok {
		t.Fatalf("AcquireLease %s: lease is held", holder)
	}
	return fence
}

// RunSnapshots checks cursors and owner snapshots.
func RunSnapshots(t *testing.T, newFixture NewFunc) {
	t.Run("cursor and 10k-record snapshot round trip", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		_, err := s.GetCursor(c, leads)
		wantErr(t, "GetCursor before any commit", err, store.ErrNotFound)
		fence := lease(t, s, leads, "r1", longTTL)

		const n = 10_000
		sets := make(map[string]store.Owner, n)
		ids := make([]string, 0, n+3)
		for i := range n {
			sets[guid(1, i)] = owner(i)
			ids = append(ids, guid(1, i))
		}
		_, err = s.CommitSync(c, leads, fence, store.Commit{Cursor: &store.Cursor{Token: "delta-1"}, Sets: sets})
		noErr(t, "CommitSync of 10k sets", err)
		cur, err := s.GetCursor(c, leads)
		noErr(t, "GetCursor", err)
		if cur.Token != "delta-1" || cur.UpdatedAt.IsZero() {
			t.Fatalf("cursor = %+v", cur)
		}
		unknown := []string{guid(2, 1), guid(2, 2), guid(2, 3)}
		got, err := s.GetOwners(c, leads, append(ids, unknown...))
		noErr(t, "GetOwners", err)
		if len(got) != n {
			t.Fatalf("GetOwners returned %d owners, want %d (unknown ids absent)", len(got), n)
		}
		for i := range n {
			if got[guid(1, i)] != owner(i) {
				t.Fatalf("owner of record %d = %+v, want %+v", i, got[guid(1, i)], owner(i))
			}
		}
		size, err := s.SnapshotSize(c, leads)
		noErr(t, "SnapshotSize", err)
		if size != n {
			t.Fatalf("SnapshotSize = %d", size)
		}

		// A delta page: two reassigned, two deleted, cursor moves.
		changed := map[string]store.Owner{guid(1, 0): owner(3), guid(1, 1): owner(4)}
		_, err = s.CommitSync(c, leads, fence, store.Commit{
			Cursor: &store.Cursor{Token: "delta-2"}, Sets: changed, Deletes: []string{guid(1, 2), guid(1, 3)},
		})
		noErr(t, "CommitSync of a delta page", err)
		got, err = s.GetOwners(c, leads, ids[:5])
		noErr(t, "GetOwners", err)
		want := map[string]store.Owner{guid(1, 0): owner(3), guid(1, 1): owner(4), guid(1, 4): owner(4)}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("after delta page: owners = %v, want %v", got, want)
		}
		// A baseline page leaves the cursor alone.
		_, err = s.CommitSync(c, leads, fence, store.Commit{Sets: map[string]store.Owner{guid(1, 2): owner(2)}})
		noErr(t, "CommitSync without cursor", err)
		if cur, _ = s.GetCursor(c, leads); cur.Token != "delta-2" {
			t.Fatalf("a commit without cursor changed it to %q", cur.Token)
		}
		// Upper-case GUIDs name the same record.
		got, err = s.GetOwners(c, leads, []string{upper(guid(1, 4))})
		noErr(t, "GetOwners upper case", err)
		if len(got) != 1 {
			t.Fatalf("upper-case id not found: %v", got)
		}
	})

	t.Run("reset deletes cursor and snapshot, fenced", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		fence := lease(t, s, leads, "r1", longTTL)
		_, err := s.CommitSync(c, leads, fence, store.Commit{
			Cursor: &store.Cursor{Token: "delta-1"}, Sets: map[string]store.Owner{guid(1, 1): owner(1)},
		})
		noErr(t, "CommitSync", err)
		wantErr(t, "ResetSync with a stale fence", s.ResetSync(c, leads, fence-1), store.ErrStaleFence)
		if cur, err := s.GetCursor(c, leads); err != nil || cur.Token != "delta-1" {
			t.Fatalf("a rejected reset changed the cursor: %+v, %v", cur, err)
		}
		noErr(t, "ResetSync", s.ResetSync(c, leads, fence))
		_, err = s.GetCursor(c, leads)
		wantErr(t, "GetCursor after reset", err, store.ErrNotFound)
		if size, err := s.SnapshotSize(c, leads); err != nil || size != 0 {
			t.Fatalf("SnapshotSize after reset = %d, %v", size, err)
		}
		// Other record types are untouched.
		other := store.SyncKey{Org: leads.Org, RecordType: "opportunity"}
		_, err = s.GetCursor(c, other)
		wantErr(t, "GetCursor of another type", err, store.ErrNotFound)
	})

	t.Run("junk is refused", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		fence := lease(t, s, leads, "r1", longTTL)
		_, err := s.GetOwners(c, leads, []string{"not-a-guid"})
		wantErr(t, "GetOwners of a non-GUID", err, store.ErrInvalid)
		_, err = s.CommitSync(c, leads, fence, store.Commit{Sets: map[string]store.Owner{"x": owner(1)}})
		wantErr(t, "commit of a non-GUID record", err, store.ErrInvalid)
		_, err = s.CommitSync(c, leads, fence, store.Commit{Sets: map[string]store.Owner{guid(1, 1): {ID: "bob", Type: store.OwnerUser}}})
		wantErr(t, "commit of a non-GUID owner", err, store.ErrInvalid)
		_, err = s.CommitSync(c, leads, fence, store.Commit{Events: []store.OutboxEvent{{Payload: []byte("x")}}})
		wantErr(t, "commit of an event without dedupe key", err, store.ErrInvalid)
		_, err = s.GetCursor(c, store.SyncKey{Org: "o"})
		wantErr(t, "GetCursor without record type", err, store.ErrInvalid)
	})
}

func upper(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if ch >= 'a' && ch <= 'f' {
			b[i] = ch - 'a' + 'A'
		}
	}
	return string(b)
}

// RunLeases checks leases and fencing tokens.
func RunLeases(t *testing.T, newFixture NewFunc) {
	t.Run("exclusive, renewed and released by the holder only, expiry hands a higher fence", func(t *testing.T) {
		f, c := newFixture(t, mustKeyring(t)), ctx(t)
		s := f.Store
		f1 := lease(t, s, leads, "replica-a", shortTTL)
		if f1 <= 0 {
			t.Fatalf("fence = %d, want positive", f1)
		}
		if _, ok, err := s.AcquireLease(c, leads, "replica-b", shortTTL); err != nil || ok {
			t.Fatalf("second AcquireLease = ok %v, err %v; want refused", ok, err)
		}
		other := store.SyncKey{Org: leads.Org, RecordType: "contact"}
		lease(t, s, other, "replica-b", longTTL) // leases are per (org, type)

		wantErr(t, "RenewLease by a non-holder", s.RenewLease(c, leads, "replica-b", longTTL), store.ErrLeaseLost)
		wantErr(t, "ReleaseLease by a non-holder", s.ReleaseLease(c, leads, "replica-b"), store.ErrLeaseLost)
		if _, ok, _ := s.AcquireLease(c, leads, "replica-b", shortTTL); ok {
			t.Fatal("a non-holder's release freed the lease")
		}

		// Renewing keeps it past its first TTL.
		f.Advance(shortTTL / 2)
		noErr(t, "RenewLease by the holder", s.RenewLease(c, leads, "replica-a", shortTTL))
		f.Advance(shortTTL/2 + 200*time.Millisecond)
		if _, ok, _ := s.AcquireLease(c, leads, "replica-b", shortTTL); ok {
			t.Fatal("a renewed lease was taken")
		}

		// Expiry lets another replica take it, with a higher fence.
		f.Advance(shortTTL + 200*time.Millisecond)
		wantErr(t, "RenewLease after expiry", s.RenewLease(c, leads, "replica-a", shortTTL), store.ErrLeaseLost)
		f2 := lease(t, s, leads, "replica-b", longTTL)
		if f2 <= f1 {
			t.Fatalf("fence after takeover = %d, want > %d", f2, f1)
		}
		wantErr(t, "ReleaseLease by the old holder", s.ReleaseLease(c, leads, "replica-a"), store.ErrLeaseLost)
		noErr(t, "ReleaseLease by the holder", s.ReleaseLease(c, leads, "replica-b"))
		f3 := lease(t, s, leads, "replica-a", longTTL)
		if f3 <= f2 {
			t.Fatalf("fence after release = %d, want > %d", f3, f2)
		}
		_, _, err := s.AcquireLease(c, leads, "", longTTL)
		wantErr(t, "AcquireLease without holder", err, store.ErrInvalid)
	})

	t.Run("a lease TTL under 1ms is invalid and takes nothing", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		for _, ttl := range []time.Duration{0, -time.Second, 500 * time.Microsecond} {
			_, ok, err := s.AcquireLease(c, leads, "r1", ttl)
			wantErr(t, fmt.Sprintf("AcquireLease with ttl %s", ttl), err, store.ErrInvalid)
			if ok {
				t.Fatalf("AcquireLease with ttl %s succeeded", ttl)
			}
		}
		f := lease(t, s, leads, "r2", longTTL) // nothing was taken
		wantErr(t, "RenewLease with ttl 500µs", s.RenewLease(c, leads, "r2", 500*time.Microsecond), store.ErrInvalid)
		_, err := s.CommitSync(c, leads, f, store.Commit{Cursor: &store.Cursor{Token: "t"}})
		noErr(t, "CommitSync under the lease", err)
	})

	t.Run("concurrent acquirers: exactly one wins, fences distinct and increasing", func(t *testing.T) {
		s := newFixture(t, mustKeyring(t)).Store
		var last int64
		for round := range 5 {
			type res struct {
				holder string
				fence  int64
				ok     bool
				err    error
			}
			out := make(chan res, Racers)
			start := make(chan struct{})
			for i := range Racers {
				go func() {
					<-start
					h := fmt.Sprintf("racer-%d-%d", round, i)
					fe, ok, err := s.AcquireLease(ctx(t), leads, h, longTTL)
					out <- res{h, fe, ok, err}
				}()
			}
			close(start)
			var winners []res
			for range Racers {
				r := <-out
				noErr(t, "AcquireLease racer", r.err)
				if r.ok {
					winners = append(winners, r)
				}
			}
			if len(winners) != 1 {
				t.Fatalf("round %d: %d racers won, want exactly 1", round, len(winners))
			}
			if winners[0].fence <= last {
				t.Fatalf("round %d: fence %d, want > %d", round, winners[0].fence, last)
			}
			last = winners[0].fence
			noErr(t, "ReleaseLease", s.ReleaseLease(ctx(t), leads, winners[0].holder))
		}
	})
}

// RunCommit checks the fenced commit and enqueue dedupe.
func RunCommit(t *testing.T, newFixture NewFunc) {
	t.Run("a commit over MaxCommitChanges is refused whole", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		fence := lease(t, s, leads, "r1", longTTL)
		page := store.Commit{Cursor: &store.Cursor{Token: "big"}, Sets: map[string]store.Owner{}}
		for i := range store.MaxCommitChanges - 1 {
			page.Sets[guid(1, i)] = owner(i)
		}
		page.Events = []store.OutboxEvent{event(1, "assigned")}
		over := page
		over.Deletes = []string{guid(3, 1)}
		_, err := s.CommitSync(c, leads, fence, over)
		wantErr(t, "CommitSync of MaxCommitChanges+1 changes", err, store.ErrInvalid)
		if _, err := s.GetCursor(c, leads); err == nil {
			t.Fatal("a refused commit set the cursor")
		}
		if n, _ := s.SnapshotSize(c, leads); n != 0 {
			t.Fatalf("a refused commit wrote %d snapshot entries", n)
		}
		n, err := s.CommitSync(c, leads, fence, page)
		noErr(t, "CommitSync of exactly MaxCommitChanges changes", err)
		if n != 1 {
			t.Fatalf("enqueued %d, want 1", n)
		}
	})

	t.Run("an event is enqueued again only after the dedupe window", func(t *testing.T) {
		f, c := newFixture(t, mustKeyring(t)), ctx(t)
		if f.WithDedupeWindow == nil {
			t.Skip("fixture cannot set the dedupe window")
		}
		const window = 1500 * time.Millisecond
		s := f.WithDedupeWindow(window)
		fence := lease(t, s, leads, "r1", longTTL)
		commit := func(what string, want int) {
			t.Helper()
			n, err := s.CommitSync(c, leads, fence, store.Commit{Events: []store.OutboxEvent{event(1, "assigned")}})
			noErr(t, "CommitSync "+what, err)
			if n != want {
				t.Fatalf("%s: enqueued %d, want %d", what, n, want)
			}
		}
		commit("first", 1)
		f.Advance(window / 2)
		commit("within the window", 0)
		f.Advance(window/2 + 300*time.Millisecond)
		commit("after the window", 1)
		commit("right after re-enqueue", 0)
		if got := drain(t, s, leads, "worker"); len(got) != 2 {
			t.Fatalf("outbox holds %d entries, want 2", len(got))
		}
	})

	t.Run("a stale fence's commit is rejected and changes nothing", func(t *testing.T) {
		f, c := newFixture(t, mustKeyring(t)), ctx(t)
		s := f.Store
		stale := lease(t, s, leads, "replica-a", shortTTL)
		n, err := s.CommitSync(c, leads, stale, store.Commit{
			Cursor: &store.Cursor{Token: "page-1"},
			Sets:   map[string]store.Owner{guid(1, 1): owner(1), guid(1, 2): owner(2)},
			Events: []store.OutboxEvent{event(1, "assigned")},
		})
		noErr(t, "CommitSync under the lease", err)
		if n != 1 {
			t.Fatalf("enqueued %d, want 1", n)
		}
		// replica-a stalls past its lease; replica-b takes over.
		f.Advance(shortTTL + 200*time.Millisecond)
		fresh := lease(t, s, leads, "replica-b", longTTL)

		n, err = s.CommitSync(c, leads, stale, store.Commit{
			Cursor:  &store.Cursor{Token: "page-2-stale"},
			Sets:    map[string]store.Owner{guid(1, 1): owner(9), guid(1, 3): owner(3)},
			Deletes: []string{guid(1, 2)},
			Events:  []store.OutboxEvent{event(2, "assigned"), event(3, "assigned")},
		})
		wantErr(t, "CommitSync with the stale fence", err, store.ErrStaleFence)
		if n != 0 {
			t.Fatalf("a rejected commit reports %d enqueued", n)
		}
		wantErr(t, "ResetSync with the stale fence", s.ResetSync(c, leads, stale), store.ErrStaleFence)
		_, err = s.CommitSync(c, leads, 0, store.Commit{Cursor: &store.Cursor{Token: "no-fence"}})
		wantErr(t, "CommitSync with fence 0", err, store.ErrStaleFence)

		cur, err := s.GetCursor(c, leads)
		noErr(t, "GetCursor", err)
		if cur.Token != "page-1" {
			t.Fatalf("cursor = %q after a rejected commit, want page-1", cur.Token)
		}
		got, err := s.GetOwners(c, leads, []string{guid(1, 1), guid(1, 2), guid(1, 3)})
		noErr(t, "GetOwners", err)
		want := map[string]store.Owner{guid(1, 1): owner(1), guid(1, 2): owner(2)}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("owners after a rejected commit = %v, want %v", got, want)
		}
		entries := drain(t, s, leads, "worker")
		if len(entries) != 1 || entries[0].DedupeKey != event(1, "assigned").DedupeKey {
			t.Fatalf("outbox after a rejected commit = %v, want page 1's event only", dedupeKeys(entries))
		}

		// The new holder commits fine, and its events are new ones.
		n, err = s.CommitSync(c, leads, fresh, store.Commit{Cursor: &store.Cursor{Token: "page-2"},
			Events: []store.OutboxEvent{event(2, "assigned")}})
		noErr(t, "CommitSync by the new holder", err)
		if n != 1 {
			t.Fatalf("new holder enqueued %d, want 1", n)
		}
	})

	t.Run("a retried commit enqueues nothing twice", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		fence := lease(t, s, leads, "r1", longTTL)
		page := store.Commit{Cursor: &store.Cursor{Token: "page-1"}, Sets: map[string]store.Owner{}}
		for i := range 20 {
			page.Sets[guid(1, i)] = owner(i)
			page.Events = append(page.Events, event(i, "assigned"))
		}
		page.Events = append(page.Events, event(0, "assigned")) // a duplicate within the page too
		n, err := s.CommitSync(c, leads, fence, page)
		noErr(t, "CommitSync", err)
		if n != 20 {
			t.Fatalf("first commit enqueued %d, want 20", n)
		}
		n, err = s.CommitSync(c, leads, fence, page)
		noErr(t, "CommitSync retried", err)
		if n != 0 {
			t.Fatalf("retried commit enqueued %d, want 0", n)
		}
		// Delivered events are still remembered (a replayed page after ack).
		entries := drain(t, s, leads, "worker")
		ackAll(t, s, entries)
		n, err = s.CommitSync(c, leads, fence, store.Commit{Events: []store.OutboxEvent{event(5, "assigned"), event(5, "unassigned")}})
		noErr(t, "CommitSync replay", err)
		if n != 1 {
			t.Fatalf("replay enqueued %d, want only the new kind", n)
		}
		entries = append(entries, drain(t, s, leads, "worker")...)
		seen := map[string]int{}
		for _, e := range entries {
			seen[e.DedupeKey]++
		}
		if len(entries) != 21 || len(seen) != 21 {
			t.Fatalf("outbox got %d entries, %d distinct, want 21 each", len(entries), len(seen))
		}
	})
}

// drain reads every new entry for consumer (without acking).
func drain(t *testing.T, s store.Store, key store.SyncKey, consumer string) []store.OutboxEntry {
	t.Helper()
	var all []store.OutboxEntry
	for {
		got, err := s.ReadOutbox(ctx(t), key, consumer, 100, 0)
		noErr(t, "ReadOutbox", err)
		if len(got) == 0 {
			return all
		}
		all = append(all, got...)
	}
}

func ackAll(t *testing.T, s store.Store, entries []store.OutboxEntry) {
	t.Helper()
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	noErr(t, "AckOutbox", s.AckOutbox(ctx(t), leads, ids...))
}

func dedupeKeys(entries []store.OutboxEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.DedupeKey
	}
	sort.Strings(out)
	return out
}

// RunOutbox checks reading, acking, claiming and dead letters.
func RunOutbox(t *testing.T, newFixture NewFunc) {
	t.Run("a touched entry is not claimed and keeps its attempts", func(t *testing.T) {
		f, c := newFixture(t, mustKeyring(t)), ctx(t)
		s := f.Store
		fence := lease(t, s, leads, "r1", longTTL)
		_, err := s.CommitSync(c, leads, fence, store.Commit{Events: []store.OutboxEvent{event(1, "assigned"), event(2, "assigned")}})
		noErr(t, "CommitSync", err)
		a, err := s.ReadOutbox(c, leads, "worker-a", 10, 0)
		noErr(t, "ReadOutbox", err)
		if len(a) != 2 {
			t.Fatalf("read %d entries", len(a))
		}
		f.Advance(shortTTL/2 + 100*time.Millisecond)
		noErr(t, "TouchOutbox", s.TouchOutbox(c, leads, "worker-a", a[0].ID, "99999-0"))
		f.Advance(shortTTL/2 + 200*time.Millisecond)
		b, err := s.ClaimOutbox(c, leads, "worker-b", shortTTL, 10)
		noErr(t, "ClaimOutbox", err)
		if len(b) != 1 || b[0].ID != a[1].ID || b[0].Attempts != 2 {
			t.Fatalf("claimed %+v: want only the untouched entry, at attempt 2", b)
		}
		f.Advance(shortTTL + 200*time.Millisecond)
		b, err = s.ClaimOutbox(c, leads, "worker-b", shortTTL, 10)
		noErr(t, "ClaimOutbox", err)
		var touched *store.OutboxEntry
		for i := range b {
			if b[i].ID == a[0].ID {
				touched = &b[i]
			}
		}
		if touched == nil || touched.Attempts != 2 {
			t.Fatalf("the touched entry, once idle, claimed as %+v: want attempt 2 (touches are not deliveries)", b)
		}
		noErr(t, "AckOutbox", s.AckOutbox(c, leads, a[0].ID, a[1].ID))
		noErr(t, "TouchOutbox of acked entries", s.TouchOutbox(c, leads, "worker-a", a[0].ID))
	})
	t.Run("a crash between read and ack leaves the entry claimable", func(t *testing.T) {
		f, c := newFixture(t, mustKeyring(t)), ctx(t)
		s := f.Store
		got, err := s.ReadOutbox(c, leads, "worker-a", 10, 0)
		noErr(t, "ReadOutbox of an empty outbox", err)
		if len(got) != 0 {
			t.Fatalf("empty outbox gave %d entries", len(got))
		}
		fence := lease(t, s, leads, "r1", longTTL)
		_, err = s.CommitSync(c, leads, fence, store.Commit{Events: []store.OutboxEvent{event(1, "assigned"), event(2, "assigned")}})
		noErr(t, "CommitSync", err)

		a, err := s.ReadOutbox(c, leads, "worker-a", 10, 0)
		noErr(t, "ReadOutbox worker-a", err)
		if len(a) != 2 || a[0].Attempts != 1 || string(a[0].Payload) != string(event(1, "assigned").Payload) {
			t.Fatalf("worker-a read %+v", a)
		}
		// worker-a dies here: no ack.
		b, err := s.ReadOutbox(c, leads, "worker-b", 10, 0)
		noErr(t, "ReadOutbox worker-b", err)
		if len(b) != 0 {
			t.Fatalf("worker-b read %d entries another worker holds", len(b))
		}
		b, err = s.ClaimOutbox(c, leads, "worker-b", shortTTL, 10)
		noErr(t, "ClaimOutbox before min-idle", err)
		if len(b) != 0 {
			t.Fatalf("claimed %d entries before min-idle", len(b))
		}
		f.Advance(shortTTL + 200*time.Millisecond)
		b, err = s.ClaimOutbox(c, leads, "worker-b", shortTTL, 10)
		noErr(t, "ClaimOutbox after min-idle", err)
		if len(b) != 2 || b[0].ID != a[0].ID || b[1].ID != a[1].ID || b[0].Attempts != 2 {
			t.Fatalf("worker-b claimed %+v, want worker-a's two entries at attempt 2", b)
		}
		if string(b[1].Payload) != string(event(2, "assigned").Payload) || b[1].DedupeKey != event(2, "assigned").DedupeKey {
			t.Fatalf("claimed entry lost its content: %+v", b[1])
		}
		ackAll(t, s, b)
		f.Advance(shortTTL + 200*time.Millisecond)
		b, err = s.ClaimOutbox(c, leads, "worker-c", 0, 10)
		noErr(t, "ClaimOutbox after ack", err)
		if len(b) != 0 {
			t.Fatalf("acked entries claimed again: %+v", b)
		}
		ackAll(t, s, a) // worker-a's late ack is harmless
		noErr(t, "AckOutbox of junk ids", s.AckOutbox(c, leads, "nope", "1-1"))
	})

	t.Run("dead letter after N failed attempts across claims, listed, retried", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		fence := lease(t, s, leads, "r1", longTTL)
		_, err := s.CommitSync(c, leads, fence, store.Commit{Events: []store.OutboxEvent{event(1, "assigned")}})
		noErr(t, "CommitSync", err)
		got, err := s.ReadOutbox(c, leads, "worker-a", 10, 0)
		noErr(t, "ReadOutbox", err)
		if len(got) != 1 {
			t.Fatalf("read %d entries", len(got))
		}
		id := got[0].ID
		for attempt := int64(1); ; attempt++ {
			if got[0].Attempts != attempt {
				t.Fatalf("attempt %d reported as %d", attempt, got[0].Attempts)
			}
			dead, err := s.FailOutbox(c, leads, id, fmt.Sprintf("slack said 500 (attempt %d)", attempt))
			noErr(t, "FailOutbox", err)
			if dead != (attempt == store.DefaultMaxAttempts) {
				t.Fatalf("attempt %d: dead = %v", attempt, dead)
			}
			if dead {
				break
			}
			// A different worker each time: attempts count across claims.
			got, err = s.ClaimOutbox(c, leads, fmt.Sprintf("worker-%d", attempt), 0, 10)
			noErr(t, "ClaimOutbox", err)
			if len(got) != 1 || got[0].ID != id {
				t.Fatalf("claim after attempt %d = %+v", attempt, got)
			}
		}
		_, err = s.FailOutbox(c, leads, id, "again")
		wantErr(t, "FailOutbox of a dead entry", err, store.ErrNotFound)
		if got, _ := s.ClaimOutbox(c, leads, "worker-z", 0, 10); len(got) != 0 {
			t.Fatalf("a dead entry was claimed: %+v", got)
		}
		dl, err := s.ListDead(c, leads, 10)
		noErr(t, "ListDead", err)
		want := fmt.Sprintf("slack said 500 (attempt %d)", store.DefaultMaxAttempts)
		if len(dl) != 1 || dl[0].EntryID != id || dl[0].Attempts != store.DefaultMaxAttempts || dl[0].Reason != want ||
			dl[0].DedupeKey != event(1, "assigned").DedupeKey || string(dl[0].Payload) != string(event(1, "assigned").Payload) ||
			dl[0].DiedAt.IsZero() {
			t.Fatalf("dead letters = %+v", dl)
		}

		newID, err := s.RetryDead(c, leads, dl[0].ID)
		noErr(t, "RetryDead", err)
		_, err = s.RetryDead(c, leads, dl[0].ID)
		wantErr(t, "RetryDead twice", err, store.ErrNotFound)
		if dl, _ := s.ListDead(c, leads, 10); len(dl) != 0 {
			t.Fatalf("retried dead letter still listed: %+v", dl)
		}
		got, err = s.ReadOutbox(c, leads, "worker-a", 10, 0)
		noErr(t, "ReadOutbox after retry", err)
		if len(got) != 1 || got[0].ID != newID || got[0].Attempts != 1 || got[0].DedupeKey != event(1, "assigned").DedupeKey {
			t.Fatalf("retried entry read as %+v", got)
		}
		ackAll(t, s, got)
	})

	t.Run("an entry no worker ever acks dies after N deliveries", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		fence := lease(t, s, leads, "r1", longTTL)
		_, err := s.CommitSync(c, leads, fence, store.Commit{Events: []store.OutboxEvent{event(1, "assigned")}})
		noErr(t, "CommitSync", err)
		got, err := s.ReadOutbox(c, leads, "worker-0", 10, 0)
		noErr(t, "ReadOutbox", err)
		if len(got) != 1 {
			t.Fatalf("read %d", len(got))
		}
		for i := 2; i <= store.DefaultMaxAttempts; i++ { // each worker crashes
			got, err = s.ClaimOutbox(c, leads, fmt.Sprintf("worker-%d", i), 0, 10)
			noErr(t, "ClaimOutbox", err)
			if len(got) != 1 || got[0].Attempts != int64(i) {
				t.Fatalf("claim %d = %+v", i, got)
			}
		}
		got, err = s.ClaimOutbox(c, leads, "worker-last", 0, 10)
		noErr(t, "ClaimOutbox", err)
		if len(got) != 0 {
			t.Fatalf("entry handed out beyond %d attempts: %+v", store.DefaultMaxAttempts, got)
		}
		dl, err := s.ListDead(c, leads, 10)
		noErr(t, "ListDead", err)
		if len(dl) != 1 || dl[0].Attempts != store.DefaultMaxAttempts || dl[0].Reason == "" {
			t.Fatalf("dead letters = %+v", dl)
		}
		_, err = s.RetryDead(c, leads, "123-0")
		wantErr(t, "RetryDead of an unknown id", err, store.ErrNotFound)
	})

	t.Run("an ack of an id not read yet, on its key or another, deletes nothing", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		fence := lease(t, s, leads, "r1", longTTL)
		_, err := s.CommitSync(c, leads, fence, store.Commit{Events: []store.OutboxEvent{event(1, "assigned")}})
		noErr(t, "CommitSync", err)
		// RetryDead is the one call that names an entry before anyone reads
		// it: kill the entry, retry it, and ack the new, unread id.
		got, err := s.ReadOutbox(c, leads, "worker-a", 10, 0)
		noErr(t, "ReadOutbox", err)
		for i := 0; len(got) == 1; i++ {
			dead, err := s.FailOutbox(c, leads, got[0].ID, "down")
			noErr(t, "FailOutbox", err)
			if dead {
				break
			}
			got, err = s.ClaimOutbox(c, leads, fmt.Sprintf("worker-%d", i), 0, 10)
			noErr(t, "ClaimOutbox", err)
		}
		dl, err := s.ListDead(c, leads, 10)
		noErr(t, "ListDead", err)
		if len(dl) != 1 {
			t.Fatalf("dead letters = %+v", dl)
		}
		newID, err := s.RetryDead(c, leads, dl[0].ID)
		noErr(t, "RetryDead", err)
		other := store.SyncKey{Org: leads.Org, RecordType: "contact"}
		noErr(t, "AckOutbox of the id on another key", s.AckOutbox(c, other, newID))
		noErr(t, "AckOutbox of the unread id", s.AckOutbox(c, leads, newID))
		got, err = s.ReadOutbox(c, leads, "worker-b", 10, 0)
		noErr(t, "ReadOutbox after the early ack", err)
		if len(got) != 1 || got[0].ID != newID || got[0].DedupeKey != event(1, "assigned").DedupeKey {
			t.Fatalf("an ack before the read deleted the entry: read %+v, want %s", got, newID)
		}
		ackAll(t, s, got)
		if got, _ := s.ClaimOutbox(c, leads, "worker-c", 0, 10); len(got) != 0 {
			t.Fatalf("acked entry still claimable: %+v", got)
		}
	})

	t.Run("a claim finds idle entries behind many live pending ones", func(t *testing.T) {
		f, c := newFixture(t, mustKeyring(t)), ctx(t)
		s := f.Store
		fence := lease(t, s, leads, "r1", longTTL)
		var evs []store.OutboxEvent
		for i := range 200 {
			evs = append(evs, event(i, "assigned"))
		}
		_, err := s.CommitSync(c, leads, fence, store.Commit{Events: evs})
		noErr(t, "CommitSync", err)
		all := drain(t, s, leads, "worker-a") // worker-a reads all 200, then dies
		if len(all) != 200 {
			t.Fatalf("read %d, want 200", len(all))
		}
		f.Advance(shortTTL + 200*time.Millisecond)
		// worker-b takes over the first 100 and is alive: they stay busy.
		live, err := s.ClaimOutbox(c, leads, "worker-b", 0, 100)
		noErr(t, "ClaimOutbox of the first 100", err)
		if len(live) != 100 || live[0].ID != all[0].ID || live[99].ID != all[99].ID {
			t.Fatalf("claimed %d, want the first 100", len(live))
		}
		got, err := s.ClaimOutbox(c, leads, "worker-c", shortTTL, 10)
		noErr(t, "ClaimOutbox behind 100 live entries", err)
		if len(got) != 10 || got[0].ID != all[100].ID || got[9].ID != all[109].ID {
			t.Fatalf("claimed %d entries behind the live ones, want the 10 after them (%s…): %v", len(got), all[100].ID, got)
		}
	})

	runOutboxBackoff(t, newFixture)

	t.Run("a blocked read wakes on commit", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		fence := lease(t, s, leads, "r1", longTTL)
		type result struct {
			entries []store.OutboxEntry
			err     error
		}
		done := make(chan result, 1)
		go func() {
			e, err := s.ReadOutbox(c, leads, "worker-a", 10, 10*time.Second)
			done <- result{e, err}
		}()
		time.Sleep(100 * time.Millisecond) // let it block (if it has not, the read still finds the entry)
		_, err := s.CommitSync(c, leads, fence, store.Commit{Events: []store.OutboxEvent{event(1, "assigned")}})
		noErr(t, "CommitSync", err)
		select {
		case r := <-done:
			noErr(t, "blocked ReadOutbox", r.err)
			if len(r.entries) != 1 {
				t.Fatalf("blocked read woke with %d entries", len(r.entries))
			}
		case <-time.After(5 * time.Second):
			t.Fatal("blocked read did not wake on commit")
		}
		start := time.Now()
		e, err := s.ReadOutbox(c, leads, "worker-a", 10, 200*time.Millisecond)
		noErr(t, "ReadOutbox timing out", err)
		if len(e) != 0 || time.Since(start) > 3*time.Second {
			t.Fatalf("empty blocked read: %d entries after %s", len(e), time.Since(start))
		}
	})
}
