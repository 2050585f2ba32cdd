package soak

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"
)

// TestSoak is the crash soak: one crmbot process, assignments at a steady
// pace, and SIGKILL at random moments (restarted after a short random
// pause) while they flow. Every (record, chat user) notification must
// arrive; Slack must show none twice (a retried post looks for its earlier
// copy by its metadata key); Teams duplicates are counted and reported.
func TestSoak(t *testing.T) {
	n, kills, pace := *flagAssignments, *flagKills, *flagPace
	seed := *flagSeed
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x50a4))
	t.Logf("soak: %d assignments every %s, %d kills, seed %d", n, pace, kills, seed)

	h := newHarness(t, harnessOptions{})
	p := h.procs[0]
	start := time.Now()
	p.start()
	p.waitReady(30 * time.Second)
	h.waitBaseline(60 * time.Second)
	t.Logf("soak: binary built in %s; ready and baseline read in %s", buildTook.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	// The kill schedule: K moments spread at random over the assignment
	// phase (each in its own slice of it, so they neither bunch up nor all
	// miss the flow), each followed by a pause of 0.1–1.5 s before the
	// restart.
	phase := time.Duration(n) * pace
	flowStart := time.Now()
	var wg sync.WaitGroup
	killed := make([]time.Duration, 0, kills)
	wg.Go(func() {
		slice := phase / time.Duration(max(kills, 1))
		for i := range kills {
			at := time.Duration(i)*slice + time.Duration(rng.Int64N(int64(max(slice, time.Millisecond))))
			if d := time.Until(flowStart.Add(at)); d > 0 {
				time.Sleep(d)
			}
			p.kill()
			killed = append(killed, time.Since(flowStart).Round(10*time.Millisecond))
			time.Sleep(100*time.Millisecond + time.Duration(rng.Int64N(int64(1400*time.Millisecond))))
			p.start()
		}
	})
	h.assignSteadily(n, pace)
	assignedIn := time.Since(flowStart)
	wg.Wait()
	t.Logf("soak: %d assignments made in %s; killed at %v", n, assignedIn.Round(time.Millisecond), killed)

	tl := h.waitDelivered(h.deliveryDeadline())
	total := time.Since(flowStart)
	summary := fmt.Sprintf("soak: %d assignments, %d kills (seed %d): %s; done %s after the first assignment",
		n, kills, seed, tl, total.Round(100*time.Millisecond))
	t.Log(summary)
	if *flagSummary != "" {
		if err := os.WriteFile(*flagSummary, []byte(summary+"\n"), 0o644); err != nil {
			t.Errorf("write the summary: %v", err)
		}
	}
	h.check(tl)
	if len(killed) != kills {
		t.Errorf("killed %d times, want %d", len(killed), kills)
	}
}
