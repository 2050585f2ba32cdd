package teams

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// checkWindows fails when any span of w.Per holds more than w.N of times.
func checkWindows(t *testing.T, times []time.Time, ws []Window) {
	t.Helper()
	for _, w := range ws {
		for i := range times {
			n := 0
			for j := i; j < len(times) && times[j].Sub(times[i]) < w.Per; j++ {
				n++
			}
			if n > w.N {
				t.Fatalf("%d requests within %v from %v (limit %d)", n, w.Per, times[i].Sub(t0), w.N)
			}
		}
	}
}

func TestRateLimiter(t *testing.T) {
	t.Run("one conversation follows every Teams window", func(t *testing.T) {
		rl := newRateLimiter(Limits{})
		now := t0
		var times []time.Time
		for range 200 {
			at, _ := rl.reserve(now, "a:1")
			if at.Before(now) {
				t.Fatalf("slot %v before now %v", at, now)
			}
			now = at // the caller sleeps until its slot
			times = append(times, at)
		}
		checkWindows(t, times, DefaultLimits().PerConversation)
		// 7 at once, then 8 per 2 s: the 9th waits 2 s.
		if got := times[6].Sub(t0); got != 0 {
			t.Errorf("7th request waited %v", got)
		}
		if got := times[7].Sub(t0); got != time.Second {
			t.Errorf("8th request at %v, want 1s", got)
		}
		if got := times[8].Sub(t0); got != 2*time.Second {
			t.Errorf("9th request at %v, want 2s", got)
		}
		// 60 per 30 s: the 61st cannot be before 30 s.
		if got := times[60].Sub(t0); got < 30*time.Second {
			t.Errorf("61st request at %v, want ≥ 30s", got)
		}
	})

	t.Run("hourly window", func(t *testing.T) {
		rl := newRateLimiter(Limits{PerConversation: []Window{{N: 60, Per: 30 * time.Second}, {N: 1800, Per: time.Hour}}})
		now := t0
		var last time.Time
		for range 1801 {
			last, _ = rl.reserve(now, "a:1")
			now = last
		}
		if got := last.Sub(t0); got < time.Hour {
			t.Errorf("1801st request at %v, want ≥ 1h", got)
		}
	})

	t.Run("reservations queue up without sleeping callers", func(t *testing.T) {
		rl := newRateLimiter(Limits{PerConversation: []Window{{N: 1, Per: time.Second}}})
		var got []time.Duration
		for range 3 {
			at, _ := rl.reserve(t0, "c")
			got = append(got, at.Sub(t0))
		}
		if fmt.Sprint(got) != "[0s 1s 2s]" {
			t.Errorf("slots %v, want [0s 1s 2s]", got)
		}
	})

	t.Run("released slot is given back", func(t *testing.T) {
		rl := newRateLimiter(Limits{PerConversation: []Window{{N: 1, Per: time.Second}}})
		rl.reserve(t0, "c")
		at, release := rl.reserve(t0, "c")
		if at.Sub(t0) != time.Second {
			t.Fatalf("second slot at %v", at.Sub(t0))
		}
		release()
		release() // idempotent
		if at, _ := rl.reserve(t0, "c"); at.Sub(t0) != time.Second {
			t.Errorf("after release, next slot at %v, want 1s", at.Sub(t0))
		}
	})

	t.Run("conversations do not block each other", func(t *testing.T) {
		rl := newRateLimiter(Limits{})
		for range 20 {
			rl.reserve(t0, "busy")
		}
		if at, _ := rl.reserve(t0, "quiet"); !at.Equal(t0) {
			t.Errorf("quiet conversation waits %v behind a busy one", at.Sub(t0))
		}
	})

	t.Run("global limit across conversations", func(t *testing.T) {
		rl := newRateLimiter(Limits{})
		var times []time.Time
		for i := range 120 {
			at, _ := rl.reserve(t0, fmt.Sprint("conv-", i))
			times = append(times, at)
		}
		slices.SortFunc(times, time.Time.Compare)
		checkWindows(t, times, DefaultLimits().Global)
		if got := times[50].Sub(t0); got != time.Second {
			t.Errorf("51st request at %v, want 1s", got)
		}
	})

	t.Run("global slot between future reservations", func(t *testing.T) {
		rl := newRateLimiter(Limits{PerConversation: []Window{{N: 1, Per: 10 * time.Second}}, Global: []Window{{N: 2, Per: time.Second}}})
		rl.reserve(t0, "a")                            // 0s
		rl.reserve(t0, "a")                            // 10s
		at, _ := rl.reserve(t0, "b")                   // 0s: global 2/s still has room
		at2, _ := rl.reserve(t0.Add(time.Second), "c") // 1s
		if !at.Equal(t0) || !at2.Equal(t0.Add(time.Second)) {
			t.Errorf("slots %v and %v, want 0s and 1s", at.Sub(t0), at2.Sub(t0))
		}
		// "a" holds 10s in the future; 9.5s still fits 2 per second.
		if at, _ := rl.reserve(t0.Add(9500*time.Millisecond), "d"); !at.Equal(t0.Add(9500 * time.Millisecond)) {
			t.Errorf("slot %v, want 9.5s", at.Sub(t0))
		}
		// 9.5s and 10s are taken: 9.8s would make 3 in (9s, 10s]; the next
		// slot opens when 9.5s leaves the window.
		if at, _ := rl.reserve(t0.Add(9800*time.Millisecond), "e"); at.Before(t0.Add(10500 * time.Millisecond)) {
			t.Errorf("slot %v, want ≥ 10.5s", at.Sub(t0))
		}
	})

	t.Run("idle conversations are forgotten", func(t *testing.T) {
		rl := newRateLimiter(Limits{})
		for i := range 1000 {
			rl.reserve(t0, fmt.Sprint("conv-", i))
		}
		if n := rl.conversations(); n != 1000 {
			t.Fatalf("%d conversations held, want 1000", n)
		}
		rl.reserve(t0.Add(time.Hour+2*time.Minute), "new")
		if n := rl.conversations(); n != 1 {
			t.Errorf("%d conversations held after an idle hour, want 1", n)
		}
	})

	t.Run("off", func(t *testing.T) {
		if rl := newRateLimiter(Limits{Off: true}); rl != nil {
			t.Error("Off should disable the limiter")
		}
	})
}

// TestRateLimiterRandom reserves and releases at random and checks that the
// kept slots never break a window, per conversation or globally.
func TestRateLimiterRandom(t *testing.T) {
	lim := Limits{
		PerConversation: []Window{{N: 3, Per: 100 * time.Millisecond}, {N: 4, Per: 300 * time.Millisecond}},
		Global:          []Window{{N: 5, Per: 100 * time.Millisecond}},
	}
	rl := newRateLimiter(lim)
	rng := rand.New(rand.NewPCG(1, 2))
	now := t0
	type slot struct {
		conv    string
		at      time.Time
		release func()
		dropped bool
	}
	var slots []*slot
	for range 2000 {
		now = now.Add(time.Duration(rng.IntN(20)) * time.Millisecond)
		if len(slots) > 0 && rng.IntN(10) == 0 {
			s := slots[rng.IntN(len(slots))]
			s.release()
			s.dropped = true
			continue
		}
		conv := fmt.Sprint("c", rng.IntN(4))
		at, release := rl.reserve(now, conv)
		if at.Before(now) {
			t.Fatalf("slot %v before now", at.Sub(now))
		}
		slots = append(slots, &slot{conv: conv, at: at, release: release})
	}
	all := map[string][]time.Time{}
	var global []time.Time
	for _, s := range slots {
		if !s.dropped {
			all[s.conv] = append(all[s.conv], s.at)
			global = append(global, s.at)
		}
	}
	for _, ts := range all {
		slices.SortFunc(ts, time.Time.Compare)
		checkWindows(t, ts, lim.PerConversation)
	}
	slices.SortFunc(global, time.Time.Compare)
	checkWindows(t, global, lim.Global)
}
