package crm

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestThrottleForgetsIdlePrincipals(t *testing.T) {
	th := NewThrottle()
	now := time.Unix(1_800_000_000, 0)
	th.now = func() time.Time { return now }
	ctx := context.Background()
	th.Pause("org|paused", time.Minute)
	held, _, err := th.acquire(ctx, "org|busy")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 * sweepEvery {
		release, _, err := th.acquire(ctx, fmt.Sprintf("org|user-%d", i))
		if err != nil {
			t.Fatal(err)
		}
		release()
	}
	if n := th.size(); n > sweepEvery+2 {
		t.Fatalf("registry holds %d principals after %d one-off users; idle ones are not swept", n, 3*sweepEvery)
	}
	if th.PausedFor("org|paused") != time.Minute {
		t.Fatal("a paused principal was forgotten before its pause ended")
	}
	th.mu.Lock()
	_, busy := th.principals["org|busy"]
	th.mu.Unlock()
	if !busy {
		t.Fatal("a principal with a request in flight was forgotten")
	}
	held()
	now = now.Add(2 * time.Minute)
	for i := range sweepEvery {
		release, _, _ := th.acquire(ctx, fmt.Sprintf("org|later-%d", i))
		release()
	}
	if th.PausedFor("org|paused") != 0 {
		t.Fatal("pause outlived its end")
	}
}
