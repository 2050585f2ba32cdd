package storetest

import (
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/crmbot/crmbot/store"
)

// RunStats checks the operator's view (store.Stats): link counts per
// platform through every link transition, outbox depth, pending entries,
// dead letters and age, and who holds a lease.
func RunStats(t *testing.T, newFixture NewFunc) {
	t.Run("LinkCounts", func(t *testing.T) { runLinkCounts(t, newFixture) })
	t.Run("OutboxStats", func(t *testing.T) { runOutboxStats(t, newFixture) })
	t.Run("Lease", func(t *testing.T) { runLeaseInfo(t, newFixture) })
}

// counts is a LinkCounts answer in short: platform → {linked, broken}.
type counts map[string]store.LinkCount

func wantCounts(t *testing.T, s store.Store, what string, want counts) {
	t.Helper()
	got, err := s.LinkCounts(ctx(t))
	noErr(t, "LinkCounts "+what, err)
	if got == nil {
		t.Fatalf("LinkCounts %s: nil map, want an empty one", what)
	}
	if !maps.Equal(got, map[string]store.LinkCount(want)) {
		t.Fatalf("LinkCounts %s: got %v, want %v", what, got, want)
	}
}

func runLinkCounts(t *testing.T, newFixture NewFunc) {
	keys := newRawKeys(t)

	t.Run("put, relink, delete, break and relink", func(t *testing.T) {
		f, c := newFixture(t, keyring(t, keys.a)), ctx(t)
		s := f.Store
		wantCounts(t, s, "with no links", counts{})
		for _, l := range []store.Link{linkOf(Alice, SysAlice), linkOf(Bob, SysBob), linkOf(Carol, SysAlice)} {
			_, err := s.PutLink(c, l, tokensOf(l.ChatUser.UserID))
			noErr(t, "PutLink", err)
		}
		wantCounts(t, s, "after three links", counts{store.PlatformSlack: {Linked: 2}, store.PlatformTeams: {Linked: 1}})

		// A relink, to the same or another Dynamics user, is still one link.
		_, err := s.PutLink(c, linkOf(Alice, SysBob), tokensOf("alice-2"))
		noErr(t, "relink to another Dynamics user", err)
		_, err = s.PutLink(c, linkOf(Alice, SysBob), tokensOf("alice-3"))
		noErr(t, "relink to the same Dynamics user", err)
		v, err := s.GetLink(c, Alice)
		noErr(t, "GetLink", err)
		_, err = s.SwapTokens(c, Alice, store.Tokens{RefreshToken: "rt-alice-4", Version: v.Version})
		noErr(t, "SwapTokens", err)
		wantCounts(t, s, "after relinks and a token swap", counts{store.PlatformSlack: {Linked: 2}, store.PlatformTeams: {Linked: 1}})

		noErr(t, "DeleteLink Bob", s.DeleteLink(c, Bob))
		noErr(t, "DeleteLink Bob again", s.DeleteLink(c, Bob))
		noErr(t, "DeleteLink of a user never linked", s.DeleteLink(c, store.ChatUser{Platform: store.PlatformTeams, Tenant: "t", UserID: "nobody"}))
		wantCounts(t, s, "after unlinking Bob (twice) and nobody", counts{store.PlatformSlack: {Linked: 1}, store.PlatformTeams: {Linked: 1}})

		// Broken by MarkBroken (twice: counted once).
		first, err := s.MarkBroken(c, Alice, "invalid_grant")
		noErr(t, "MarkBroken", err)
		if !first {
			t.Fatal("MarkBroken of an intact link: first = false")
		}
		_, err = s.MarkBroken(c, Alice, "again")
		noErr(t, "MarkBroken again", err)
		wantCounts(t, s, "after MarkBroken", counts{store.PlatformSlack: {Linked: 1, Broken: 1}, store.PlatformTeams: {Linked: 1}})

		// Broken by a token no configured key opens (read twice).
		other := f.Reopen(keyring(t, keys.b))
		for range 2 {
			_, err = other.Tokens(c, Carol)
			wantErr(t, "Tokens under another key", err, store.ErrBrokenLink)
		}
		wantCounts(t, s, "after an undecryptable token", counts{store.PlatformSlack: {Linked: 1, Broken: 1}, store.PlatformTeams: {Linked: 1, Broken: 1}})

		// Relinking clears broken; the count of links stays.
		_, err = s.PutLink(c, linkOf(Alice, SysAlice), tokensOf("alice-5"))
		noErr(t, "relink Alice", err)
		wantCounts(t, s, "after Alice relinked", counts{store.PlatformSlack: {Linked: 1}, store.PlatformTeams: {Linked: 1, Broken: 1}})
		_, err = s.PutLink(c, linkOf(Carol, SysBob), tokensOf("carol-2"))
		noErr(t, "relink Carol", err)
		wantCounts(t, s, "after Carol relinked", counts{store.PlatformSlack: {Linked: 1}, store.PlatformTeams: {Linked: 1}})

		// Broken by key rotation; then a broken link is unlinked.
		_, err = f.Reopen(keyring(t, keys.c)).RotateKeys(c)
		noErr(t, "RotateKeys without the old key", err)
		wantCounts(t, s, "after a rotation that could not open anything", counts{store.PlatformSlack: {Linked: 1, Broken: 1}, store.PlatformTeams: {Linked: 1, Broken: 1}})
		noErr(t, "DeleteLink broken Alice", s.DeleteLink(c, Alice))
		wantCounts(t, s, "after unlinking broken Alice", counts{store.PlatformTeams: {Linked: 1, Broken: 1}})
		noErr(t, "DeleteLink broken Carol", s.DeleteLink(c, Carol))
		wantCounts(t, s, "after unlinking everyone", counts{})

		// Relinked from scratch.
		_, err = s.PutLink(c, linkOf(Carol, SysAlice), tokensOf("carol-3"))
		noErr(t, "link Carol again", err)
		wantCounts(t, s, "after Carol linked again", counts{store.PlatformTeams: {Linked: 1}})
	})

	t.Run("concurrent relinks, breaks and unlinks of one user count once", func(t *testing.T) {
		s, c := newFixture(t, keyring(t, keys.a)).Store, ctx(t)
		_, err := s.PutLink(c, linkOf(Bob, SysBob), tokensOf("bob"))
		noErr(t, "PutLink Bob", err)
		for round := range 3 {
			var wg sync.WaitGroup
			errs := make(chan error, 3*Racers)
			for i := range Racers {
				wg.Add(3)
				go func() {
					defer wg.Done()
					sys := SysAlice
					if i%2 == 1 {
						sys = SysBob
					}
					_, err := s.PutLink(ctx(t), linkOf(Alice, sys), tokensOf(fmt.Sprintf("alice-%d-%d", round, i)))
					errs <- err
				}()
				go func() {
					defer wg.Done()
					_, err := s.MarkBroken(ctx(t), Alice, "refused")
					if err != nil && !errorsIsNotFound(err) {
						errs <- err
						return
					}
					errs <- nil
				}()
				go func() {
					defer wg.Done()
					errs <- s.DeleteLink(ctx(t), Carol) // never linked
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				noErr(t, "concurrent link step", err)
			}
			l, err := s.GetLink(c, Alice)
			noErr(t, "GetLink Alice", err)
			want := counts{store.PlatformSlack: {Linked: 2}}
			if l.Broken {
				want = counts{store.PlatformSlack: {Linked: 2, Broken: 1}}
			}
			wantCounts(t, s, fmt.Sprintf("after round %d of races (Alice broken: %v)", round, l.Broken), want)
			_, err = s.PutLink(c, linkOf(Alice, SysAlice), tokensOf("alice"))
			noErr(t, "relink Alice", err)
			wantCounts(t, s, fmt.Sprintf("after round %d's relink", round), counts{store.PlatformSlack: {Linked: 2}})
		}
	})

	t.Run("2500 links over both platforms, every 7th broken", func(t *testing.T) {
		s, c := newFixture(t, keyring(t, keys.a)).Store, ctx(t)
		const n = 2500
		want := counts{}
		var wg sync.WaitGroup
		errs := make(chan error, n)
		sem := make(chan struct{}, Racers)
		for i := range n {
			platform := store.PlatformSlack
			if i%3 == 0 {
				platform = store.PlatformTeams
			}
			u := store.ChatUser{Platform: platform, Tenant: fmt.Sprintf("T%d", i%4), UserID: fmt.Sprintf("U:%d{x}", i)}
			wc := want[platform]
			wc.Linked++
			if i%7 == 0 {
				wc.Broken++
			}
			want[platform] = wc
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				_, err := s.PutLink(c, linkOf(u, SysAlice), tokensOf("x"))
				if err == nil && i%7 == 0 {
					_, err = s.MarkBroken(c, u, "refused")
				}
				if err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			noErr(t, "PutLink", err)
		}
		wantCounts(t, s, "after 2500 links", want)
	})
}

func errorsIsNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }

func runOutboxStats(t *testing.T, newFixture NewFunc) {
	stats := func(t *testing.T, s store.Store, key store.SyncKey, what string) store.OutboxStats {
		t.Helper()
		st, err := s.OutboxStats(ctx(t), key)
		noErr(t, "OutboxStats "+what, err)
		return st
	}
	want := func(t *testing.T, got store.OutboxStats, what string, depth, pending, dead int64) {
		t.Helper()
		if got.Depth != depth || got.Pending != pending || got.Dead != dead {
			t.Fatalf("OutboxStats %s: depth %d, pending %d, dead %d; want %d, %d, %d",
				what, got.Depth, got.Pending, got.Dead, depth, pending, dead)
		}
		if got.Oldest.IsZero() != (depth == 0) {
			t.Fatalf("OutboxStats %s: oldest %v with depth %d", what, got.Oldest, depth)
		}
	}

	t.Run("zero before any commit, and for a key only read or leased", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		if st := stats(t, s, leads, "before any commit"); st != (store.OutboxStats{}) {
			t.Fatalf("OutboxStats before any commit = %+v, want zero", st)
		}
		contacts := store.SyncKey{Org: leads.Org, RecordType: "contact"}
		got, err := s.ReadOutbox(c, contacts, "worker-a", 10, 0)
		noErr(t, "ReadOutbox of a key never committed", err)
		if len(got) != 0 {
			t.Fatalf("read %d entries", len(got))
		}
		fence := lease(t, s, contacts, "r1", longTTL)
		_, err = s.CommitSync(c, contacts, fence, store.Commit{Cursor: &store.Cursor{Token: "t"}})
		noErr(t, "CommitSync without events", err)
		if st := stats(t, s, contacts, "after a read and a commit without events"); st != (store.OutboxStats{}) {
			t.Fatalf("OutboxStats after a read and a commit without events = %+v, want zero", st)
		}
		_, err = s.OutboxStats(c, store.SyncKey{Org: leads.Org})
		wantErr(t, "OutboxStats without a record type", err, store.ErrInvalid)
	})

	t.Run("depth, pending, dead and oldest through read, ack, failures and retry", func(t *testing.T) {
		f, c := newFixture(t, mustKeyring(t)), ctx(t)
		s := f.Store
		fence := lease(t, s, leads, "r1", longTTL)
		_, err := s.CommitSync(c, leads, fence, store.Commit{Events: []store.OutboxEvent{event(1, "assigned")}})
		noErr(t, "CommitSync A", err)
		st := stats(t, s, leads, "after one event")
		want(t, st, "after one event", 1, 0, 0)
		t0 := st.Oldest

		f.Advance(50 * time.Millisecond)
		n, err := s.CommitSync(c, leads, fence, store.Commit{Events: []store.OutboxEvent{
			event(2, "assigned"), event(3, "assigned"), event(1, "assigned"), // the last a duplicate
		}})
		noErr(t, "CommitSync B", err)
		if n != 2 {
			t.Fatalf("CommitSync B enqueued %d, want 2", n)
		}
		st = stats(t, s, leads, "after three events")
		want(t, st, "after three events", 3, 0, 0)
		if !st.Oldest.Equal(t0) {
			t.Fatalf("oldest moved from %v to %v with a later commit", t0, st.Oldest)
		}
		other := store.SyncKey{Org: leads.Org, RecordType: "contact"}
		if st := stats(t, s, other, "of another key"); st != (store.OutboxStats{}) {
			t.Fatalf("OutboxStats of another key = %+v, want zero", st)
		}

		got, err := s.ReadOutbox(c, leads, "worker-a", 2, 0)
		noErr(t, "ReadOutbox", err)
		if len(got) != 2 || got[0].DedupeKey != event(1, "assigned").DedupeKey {
			t.Fatalf("read %+v", got)
		}
		want(t, stats(t, s, leads, "after reading two"), "after reading two", 3, 2, 0)

		noErr(t, "AckOutbox A", s.AckOutbox(c, leads, got[0].ID))
		st = stats(t, s, leads, "after acking the oldest")
		want(t, st, "after acking the oldest", 2, 1, 0)
		if !st.Oldest.After(t0) {
			t.Fatalf("oldest after acking the oldest entry = %v, want after %v", st.Oldest, t0)
		}
		t1 := st.Oldest
		if d := t1.Sub(t0); d < 40*time.Millisecond || d > 10*time.Second {
			t.Fatalf("oldest moved by %s, want about the 50ms between the commits", d)
		}
		noErr(t, "AckOutbox A again", s.AckOutbox(c, leads, got[0].ID))
		want(t, stats(t, s, leads, "after a repeated ack"), "after a repeated ack", 2, 1, 0)

		// B2 fails until it is dead; B3 stays unread.
		id := got[1].ID
		for attempt := 1; ; attempt++ {
			dead, err := s.FailOutbox(c, leads, id, "slack said 500")
			noErr(t, "FailOutbox", err)
			if dead {
				break
			}
			want(t, stats(t, s, leads, "while failing"), fmt.Sprintf("after failure %d", attempt), 2, 1, 0)
			claimed, err := s.ClaimOutbox(c, leads, "worker-b", 0, 1)
			noErr(t, "ClaimOutbox", err)
			if len(claimed) != 1 || claimed[0].ID != id {
				t.Fatalf("claimed %+v", claimed)
			}
		}
		st = stats(t, s, leads, "after dead-lettering")
		want(t, st, "after dead-lettering", 1, 0, 1)
		if !st.Oldest.Equal(t1) {
			t.Fatalf("oldest after dead-lettering = %v, want %v (the unread entry of the same commit)", st.Oldest, t1)
		}

		dl, err := s.ListDead(c, leads, 10)
		noErr(t, "ListDead", err)
		if len(dl) != 1 {
			t.Fatalf("dead letters %+v", dl)
		}
		f.Advance(50 * time.Millisecond)
		_, err = s.RetryDead(c, leads, dl[0].ID)
		noErr(t, "RetryDead", err)
		st = stats(t, s, leads, "after retrying the dead letter")
		want(t, st, "after retrying the dead letter", 2, 0, 0)
		if !st.Oldest.Equal(t1) {
			t.Fatalf("oldest after a retry = %v, want %v (a retried letter is a new entry)", st.Oldest, t1)
		}

		got, err = s.ReadOutbox(c, leads, "worker-a", 10, 0)
		noErr(t, "ReadOutbox the rest", err)
		if len(got) != 2 {
			t.Fatalf("read %d", len(got))
		}
		want(t, stats(t, s, leads, "after reading the rest"), "after reading the rest", 2, 2, 0)
		noErr(t, "AckOutbox B3", s.AckOutbox(c, leads, got[0].ID))
		st = stats(t, s, leads, "with only the retried entry")
		want(t, st, "with only the retried entry", 1, 1, 0)
		if !st.Oldest.After(t1) {
			t.Fatalf("oldest with only the retried entry = %v, want after %v", st.Oldest, t1)
		}
		ackAll(t, s, got)
		if st := stats(t, s, leads, "after acking everything"); st != (store.OutboxStats{}) {
			t.Fatalf("OutboxStats after acking everything = %+v, want zero", st)
		}
	})

	t.Run("an entry abandoned by its workers counts as dead", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		fence := lease(t, s, leads, "r1", longTTL)
		_, err := s.CommitSync(c, leads, fence, store.Commit{Events: []store.OutboxEvent{event(1, "assigned")}})
		noErr(t, "CommitSync", err)
		_, err = s.ReadOutbox(c, leads, "worker-0", 10, 0)
		noErr(t, "ReadOutbox", err)
		for i := range store.DefaultMaxAttempts {
			_, err = s.ClaimOutbox(c, leads, fmt.Sprintf("worker-%d", i+1), 0, 10)
			noErr(t, "ClaimOutbox", err)
		}
		st := stats(t, s, leads, "after abandoning")
		if st != (store.OutboxStats{Dead: 1}) {
			t.Fatalf("OutboxStats after the entry was abandoned = %+v, want only one dead letter", st)
		}
	})
}

func runLeaseInfo(t *testing.T, newFixture NewFunc) {
	info := func(t *testing.T, s store.Store, key store.SyncKey, what string) store.LeaseInfo {
		t.Helper()
		li, err := s.Lease(ctx(t), key)
		noErr(t, "Lease "+what, err)
		return li
	}
	near := func(t *testing.T, what string, got, want, slack time.Duration) {
		t.Helper()
		if got < want-slack || got > want+slack {
			t.Fatalf("%s: %s, want %s ± %s", what, got, want, slack)
		}
	}

	t.Run("free, held, renewed, released, expired", func(t *testing.T) {
		f, c := newFixture(t, mustKeyring(t)), ctx(t)
		s := f.Store
		if li := info(t, s, leads, "before any lease"); li != (store.LeaseInfo{}) {
			t.Fatalf("Lease before any lease = %+v, want zero", li)
		}
		fence := lease(t, s, leads, "replica:a/1", longTTL) // a colon in the holder
		li := info(t, s, leads, "after AcquireLease")
		if li.Holder != "replica:a/1" || li.Fence != fence || li.Expires.IsZero() {
			t.Fatalf("Lease after AcquireLease = %+v, want holder replica:a/1, fence %d", li, fence)
		}
		contacts := store.SyncKey{Org: leads.Org, RecordType: "contact"}
		cfence := lease(t, s, contacts, "replica-b", shortTTL)
		cli := info(t, s, contacts, "of another key")
		if cli.Holder != "replica-b" || cli.Fence != cfence {
			t.Fatalf("Lease of another key = %+v", cli)
		}
		// Expiries are as far apart as the TTLs.
		near(t, "long lease's expiry minus short lease's", li.Expires.Sub(cli.Expires), longTTL-shortTTL, 150*time.Millisecond)

		f.Advance(200 * time.Millisecond)
		if again := info(t, s, leads, "later"); again.Holder != li.Holder || again.Fence != li.Fence {
			t.Fatalf("Lease later = %+v, want %+v", again, li)
		} else {
			near(t, "expiry read again later", again.Expires.Sub(li.Expires), 0, 100*time.Millisecond)
		}
		noErr(t, "RenewLease", s.RenewLease(c, leads, "replica:a/1", longTTL))
		renewed := info(t, s, leads, "after RenewLease")
		if renewed.Holder != li.Holder || renewed.Fence != fence {
			t.Fatalf("Lease after RenewLease = %+v", renewed)
		}
		near(t, "expiry moved by the renewal", renewed.Expires.Sub(li.Expires), 200*time.Millisecond, 150*time.Millisecond)

		noErr(t, "ReleaseLease", s.ReleaseLease(c, leads, "replica:a/1"))
		if li := info(t, s, leads, "after ReleaseLease"); li != (store.LeaseInfo{}) {
			t.Fatalf("Lease after ReleaseLease = %+v, want zero", li)
		}
		f2 := lease(t, s, leads, "replica-c", longTTL)
		if li := info(t, s, leads, "after another acquisition"); li.Holder != "replica-c" || li.Fence != f2 || f2 <= fence {
			t.Fatalf("Lease after another acquisition = %+v (fence %d, first %d)", li, f2, fence)
		}

		f.Advance(shortTTL + 200*time.Millisecond)
		if li := info(t, s, contacts, "after expiry"); li != (store.LeaseInfo{}) {
			t.Fatalf("Lease after expiry = %+v, want zero", li)
		}
		_, err := s.Lease(c, store.SyncKey{RecordType: "lead"})
		wantErr(t, "Lease without an org", err, store.ErrInvalid)
	})
}
