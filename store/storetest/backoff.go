package storetest

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/crmbot/crmbot/store"
)

// backoffIdle is the minIdle of the backoff scenarios: small, for Redis
// runs them on real time (Fixture.Advance sleeps); every check stays at
// least 0.3 × backoffIdle away from the instant an entry becomes due.
const backoffIdle = 100 * time.Millisecond

// idle is backoffIdle × x.
func idle(x float64) time.Duration { return time.Duration(x * float64(backoffIdle)) }

// commitRead commits event i on leads and reads it as consumer: its first
// delivery.
func commitRead(t *testing.T, s store.Store, fence int64, i int, consumer string) store.OutboxEntry {
	t.Helper()
	_, err := s.CommitSync(ctx(t), leads, fence, store.Commit{Events: []store.OutboxEvent{event(i, "assigned")}})
	noErr(t, "CommitSync", err)
	got, err := s.ReadOutbox(ctx(t), leads, consumer, 10, 0)
	noErr(t, "ReadOutbox", err)
	if len(got) != 1 || got[0].Attempts != 1 {
		t.Fatalf("read %+v, want event %d at attempt 1", got, i)
	}
	return got[0]
}

// claimBackoff claims with minIdle backoffIdle and checks what comes: the
// entry want at attempts (want "" for nothing).
func claimBackoff(t *testing.T, s store.Store, when, want string, attempts int64) {
	t.Helper()
	got, err := s.ClaimOutbox(ctx(t), leads, "claimer", backoffIdle, 10)
	noErr(t, "ClaimOutbox "+when, err)
	switch {
	case want == "" && len(got) != 0:
		t.Fatalf("%s: claimed %s, want nothing (not due yet)", when, brief(got))
	case want != "" && (len(got) != 1 || got[0].ID != want || got[0].Attempts != attempts):
		t.Fatalf("%s: claimed %s, want only %s at attempt %d", when, brief(got), want, attempts)
	}
}

// brief lists entries as id@attempts.
func brief(es []store.OutboxEntry) string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = fmt.Sprintf("%s@%d", e.ID, e.Attempts)
	}
	return "[" + strings.Join(out, " ") + "]"
}

// runOutboxBackoff checks the claim backoff: an entry delivered n times is
// claimed once idle for minIdle × 2^(n−1), capped at minIdle ×
// 2^store.MaxBackoffDoublings.
func runOutboxBackoff(t *testing.T, newFixture NewFunc) {
	t.Run("ClaimBackoff doubles from minIdle up to its cap", func(t *testing.T) {
		// Deliveries 0 (none counted) and 1: minIdle; then doubling, up to
		// the cap (8×, reached at delivery 4), and no further.
		for n, want := range map[int64]time.Duration{
			0: 30 * time.Second, 1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 4: 4 * time.Minute,
			5: 4 * time.Minute, 6: 4 * time.Minute, math.MaxInt64: 4 * time.Minute,
		} {
			if got := store.ClaimBackoff(30*time.Second, n); got != want {
				t.Fatalf("ClaimBackoff(30s, %d) = %s, want %s", n, got, want)
			}
		}
		if store.MaxBackoffDoublings != 3 {
			t.Fatal("the table assumes a cap of 8×")
		}
		if got := store.ClaimBackoff(-time.Second, 3); got != 0 {
			t.Fatalf("ClaimBackoff of a negative minIdle = %s, want 0", got)
		}
		if got := store.ClaimBackoff(math.MaxInt64/2, 3); got != math.MaxInt64 {
			t.Fatalf("ClaimBackoff does not saturate: %s", got)
		}
	})

	t.Run("failed retries back off exponentially, then dead letter", func(t *testing.T) {
		f := newFixture(t, mustKeyring(t))
		s, c := f.Store, ctx(t)
		e := commitRead(t, s, lease(t, s, leads, "r1", longTTL), 1, "worker-1")
		// Delivery n failed: not due at due−, due at due+ (times backoffIdle,
		// counted from delivery n).
		steps := []struct {
			n         int64
			due, wait float64 // the due time; the first check's time
		}{{1, 1, 0.6}, {2, 2, 1.5}, {3, 4, 3.2}, {4, 8, 6.5}}
		if len(steps) != store.DefaultMaxAttempts-1 || 1<<store.MaxBackoffDoublings != 8 {
			t.Fatal("the scenario assumes 5 attempts and a cap of 8×")
		}
		for _, st := range steps {
			dead, err := s.FailOutbox(c, leads, e.ID, fmt.Sprintf("slack said 500 (attempt %d)", st.n))
			noErr(t, "FailOutbox", err)
			if dead {
				t.Fatalf("dead after attempt %d", st.n)
			}
			f.Advance(idle(st.wait))
			claimBackoff(t, s, fmt.Sprintf("%.1f × minIdle after failed attempt %d", st.wait, st.n), "", 0)
			f.Advance(idle(st.due + 0.3 - st.wait))
			claimBackoff(t, s, fmt.Sprintf("%.1f × minIdle after failed attempt %d", st.due+0.3, st.n), e.ID, st.n+1)
		}
		dead, err := s.FailOutbox(c, leads, e.ID, "slack said 500 (attempt 5)")
		noErr(t, "FailOutbox", err)
		if !dead {
			t.Fatalf("attempt %d failed and the entry is not dead", store.DefaultMaxAttempts)
		}
		dl, err := s.ListDead(c, leads, 10)
		noErr(t, "ListDead", err)
		if len(dl) != 1 || dl[0].EntryID != e.ID || dl[0].Attempts != store.DefaultMaxAttempts || dl[0].Reason != "slack said 500 (attempt 5)" {
			t.Fatalf("dead letters = %+v", dl)
		}
	})

	t.Run("a claim takes the due entries only and leaves the others' attempts alone", func(t *testing.T) {
		f := newFixture(t, mustKeyring(t))
		s, c := f.Store, ctx(t)
		fence := lease(t, s, leads, "r1", longTTL)
		// y: delivered twice (claimed without waiting, then failed); x,
		// after it in the stream: delivered once, its worker died.
		y := commitRead(t, s, fence, 1, "worker-1")
		_, err := s.FailOutbox(c, leads, y.ID, "down")
		noErr(t, "FailOutbox", err)
		got, err := s.ClaimOutbox(c, leads, "worker-2", 0, 10)
		noErr(t, "ClaimOutbox", err)
		if len(got) != 1 || got[0].ID != y.ID || got[0].Attempts != 2 {
			t.Fatalf("claimed %s, want %s at attempt 2", brief(got), y.ID)
		}
		_, err = s.FailOutbox(c, leads, y.ID, "down again")
		noErr(t, "FailOutbox", err)
		x := commitRead(t, s, fence, 2, "worker-3")

		f.Advance(idle(0.6))
		claimBackoff(t, s, "0.6 × minIdle", "", 0)
		// The abandoned first delivery is taken over after minIdle (fast
		// failover); y, before it in the stream, is passed over.
		f.Advance(idle(0.7))
		claimBackoff(t, s, "1.3 × minIdle", x.ID, 2)
		// y is due at 2 × minIdle, still at its second attempt: the claim
		// that passed it over did not count a delivery. x (delivered twice
		// now, 1 × minIdle ago) is not due.
		f.Advance(idle(1))
		claimBackoff(t, s, "2.3 × minIdle", y.ID, 3)
	})

	t.Run("a claim finds due entries behind many backing-off ones", func(t *testing.T) {
		f := newFixture(t, mustKeyring(t))
		s, c := f.Store, ctx(t)
		var evs []store.OutboxEvent
		for i := range 300 {
			evs = append(evs, event(i, "assigned"))
		}
		_, err := s.CommitSync(c, leads, lease(t, s, leads, "r1", longTTL), store.Commit{Events: evs})
		noErr(t, "CommitSync", err)
		all := drain(t, s, leads, "worker-a")
		if len(all) != 300 {
			t.Fatalf("read %d, want 300", len(all))
		}
		// The first 250 are retried at once (minIdle 0) and their workers
		// die: at their second delivery, due after 2 × minIdle. The last 50
		// are at their first, due after minIdle.
		got, err := s.ClaimOutbox(c, leads, "worker-b", 0, 250)
		noErr(t, "ClaimOutbox", err)
		if len(got) != 250 || got[249].ID != all[249].ID || got[0].Attempts != 2 {
			t.Fatalf("claimed %d, want the first 250 at attempt 2", len(got))
		}
		f.Advance(idle(1.3))
		got, err = s.ClaimOutbox(c, leads, "worker-c", backoffIdle, 10)
		noErr(t, "ClaimOutbox behind 250 backing-off entries", err)
		if len(got) != 10 || got[0].ID != all[250].ID || got[9].ID != all[259].ID || got[0].Attempts != 2 {
			t.Fatalf("claimed %s behind the backing-off entries, want the 10 from %s at attempt 2", brief(got), all[250].ID)
		}
		f.Advance(idle(1))
		got, err = s.ClaimOutbox(c, leads, "worker-d", backoffIdle, 300)
		noErr(t, "ClaimOutbox", err)
		if len(got) != 290 || got[0].ID != all[0].ID || got[0].Attempts != 3 || got[249].ID != all[249].ID || got[250].ID != all[260].ID {
			t.Fatalf("claimed %d at 2.3 × minIdle, want the first 250 (attempt 3) and the 40 never claimed", len(got))
		}
	})

	t.Run("the backoff is capped; an abandoned last attempt dies at the cap", func(t *testing.T) {
		f := newFixture(t, mustKeyring(t))
		s, c := f.Store, ctx(t)
		e := commitRead(t, s, lease(t, s, leads, "r1", longTTL), 1, "worker-1")
		for n := int64(1); n < store.DefaultMaxAttempts; n++ { // fail, retry at once (minIdle 0)
			_, err := s.FailOutbox(c, leads, e.ID, fmt.Sprintf("down (attempt %d)", n))
			noErr(t, "FailOutbox", err)
			got, err := s.ClaimOutbox(c, leads, fmt.Sprintf("worker-%d", n+1), 0, 10)
			noErr(t, "ClaimOutbox", err)
			if len(got) != 1 || got[0].Attempts != n+1 {
				t.Fatalf("claim after attempt %d = %s", n, brief(got))
			}
		}
		// The worker of the last attempt dies. Uncapped, the entry would be
		// due after 16 × minIdle; the cap (8×) buries it sooner.
		if store.DefaultMaxAttempts-1 <= store.MaxBackoffDoublings {
			t.Fatal("the scenario assumes the last attempt's backoff is capped")
		}
		f.Advance(idle(6))
		claimBackoff(t, s, "6 × minIdle after the last attempt", "", 0)
		if dl, err := s.ListDead(c, leads, 10); err != nil || len(dl) != 0 {
			t.Fatalf("dead letters before the backoff ran out: %+v, %v", dl, err)
		}
		f.Advance(idle(2.5))
		claimBackoff(t, s, "8.5 × minIdle after the last attempt", "", 0)
		dl, err := s.ListDead(c, leads, 10)
		noErr(t, "ListDead", err)
		if len(dl) != 1 || dl[0].EntryID != e.ID || dl[0].Attempts != store.DefaultMaxAttempts ||
			dl[0].Reason != fmt.Sprintf("down (attempt %d)", store.DefaultMaxAttempts-1) {
			t.Fatalf("dead letters at the capped backoff = %+v", dl)
		}
	})
}
