package testkit_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmbot/crmbot/internal/testkit"
)

func TestRepoRoot(t *testing.T) {
	root := testkit.RepoRoot(t)
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.Contains(string(mod), "module github.com/crmbot/crmbot\n") {
		t.Fatalf("RepoRoot = %s: go.mod %v", root, err)
	}
}

func TestSyncBuffer(t *testing.T) {
	var b testkit.SyncBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { fmt.Fprintf(&b, "line %d\n", i) })
	}
	wg.Wait()
	if n := strings.Count(b.String(), "\n"); n != 8 {
		t.Fatalf("%d lines, want 8:\n%s", n, b.String())
	}
}

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := testkit.NewClock(t0)
	c.Advance(5 * time.Minute)
	if got := c.Now(); !got.Equal(t0.Add(5 * time.Minute)) {
		t.Fatalf("Now = %v", got)
	}
}
