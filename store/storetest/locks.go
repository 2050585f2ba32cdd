package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmbot/crmbot/store"
)

// lockTTL is long enough that no step of a scenario outlives it by accident.
const lockTTL = 30 * time.Second

// RunLocks checks the cross-replica lock: exclusive while held, free again
// after release or expiry, and released only by its holder.
func RunLocks(t *testing.T, newFixture NewFunc) {
	fresh := func(t *testing.T) Fixture { return newFixture(t, mustKeyring(t)) }
	take := func(t *testing.T, s store.Locker, c context.Context, name string, ttl time.Duration) func(context.Context) error {
		t.Helper()
		release, ok, err := s.TryLock(c, name, ttl)
		noErr(t, "TryLock "+name, err)
		if !ok || release == nil {
			t.Fatalf("TryLock %s: not taken, want taken", name)
		}
		return release
	}
	busy := func(t *testing.T, s store.Locker, c context.Context, name string) {
		t.Helper()
		release, ok, err := s.TryLock(c, name, lockTTL)
		noErr(t, "TryLock "+name, err)
		if ok || release != nil {
			t.Fatalf("TryLock %s: taken while another holds it", name)
		}
	}

	t.Run("exclusive until released", func(t *testing.T) {
		s, c := fresh(t).Store, ctx(t)
		release := take(t, s, c, "refresh:slack/T1/U1", lockTTL)
		busy(t, s, c, "refresh:slack/T1/U1")
		take(t, s, c, "refresh:slack/T1/U2", lockTTL) // another name is another lock
		noErr(t, "release", release(c))
		take(t, s, c, "refresh:slack/T1/U1", lockTTL)
	})

	t.Run("exactly one of racers takes it", func(t *testing.T) {
		s, c := fresh(t).Store, ctx(t)
		var won atomic.Int32
		var wg sync.WaitGroup
		for range Racers {
			wg.Go(func() {
				_, ok, err := s.TryLock(c, "race", lockTTL)
				if err != nil {
					t.Errorf("TryLock: %v", err)
				}
				if ok {
					won.Add(1)
				}
			})
		}
		wg.Wait()
		if n := won.Load(); n != 1 {
			t.Fatalf("%d racers took the lock, want 1", n)
		}
	})

	t.Run("expires after its ttl", func(t *testing.T) {
		f := fresh(t)
		s, c := f.Store, ctx(t)
		take(t, s, c, "expiring", shortTTL)
		busy(t, s, c, "expiring")
		f.Advance(shortTTL + 300*time.Millisecond)
		take(t, s, c, "expiring", lockTTL)
	})

	t.Run("released by its holder only", func(t *testing.T) {
		f := fresh(t)
		s, c := f.Store, ctx(t)
		late := take(t, s, c, "owned", shortTTL)
		f.Advance(shortTTL + 300*time.Millisecond)
		current := take(t, s, c, "owned", lockTTL)
		wantErr(t, "release by a holder whose lock expired", late(c), store.ErrLockLost)
		busy(t, s, c, "owned") // the late release freed nothing
		noErr(t, "release by the current holder", current(c))
		wantErr(t, "second release", current(c), store.ErrLockLost)
		take(t, s, c, "owned", lockTTL)
	})

	t.Run("names with separators and braces", func(t *testing.T) {
		s, c := fresh(t).Store, ctx(t)
		name := "refresh:" + Carol.String()
		release := take(t, s, c, name, lockTTL)
		busy(t, s, c, name)
		noErr(t, "release", release(c))
	})

	t.Run("invalid arguments", func(t *testing.T) {
		s, c := fresh(t).Store, ctx(t)
		for _, tc := range []struct {
			name string
			ttl  time.Duration
		}{{"", lockTTL}, {"x", 0}, {"x", -time.Second}, {string(make([]byte, store.MaxLockName+1)), lockTTL}} {
			_, ok, err := s.TryLock(c, tc.name, tc.ttl)
			if ok {
				t.Fatalf("TryLock(%q, %s) took a lock", tc.name, tc.ttl)
			}
			wantErr(t, "TryLock with bad arguments", err, store.ErrInvalid)
		}
	})
}
