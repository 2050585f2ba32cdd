package bgwork

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

func TestGoDetachesCountsAndRecovers(t *testing.T) {
	var g Group
	quiet := slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	var ran, sawCancel atomic.Bool
	release := make(chan struct{})
	g.Go(ctx, time.Minute, quiet, "test", func(ctx context.Context) {
		<-release
		ran.Store(true)
		sawCancel.Store(ctx.Err() != nil)
	})
	g.Go(ctx, time.Minute, quiet, "test", func(context.Context) { panic("boom") })
	cancel() // the request ends: the work goes on
	short, stop := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer stop()
	if err := g.Wait(short); err == nil {
		t.Fatal("Wait returned while work was still running")
	}
	close(release)
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !ran.Load() || sawCancel.Load() {
		t.Fatalf("ran %v, saw the request's cancellation %v", ran.Load(), sawCancel.Load())
	}
}

func TestGoIsBoundedByTimeout(t *testing.T) {
	var g Group
	done := make(chan error, 1)
	g.Go(context.Background(), 20*time.Millisecond, slog.New(slog.DiscardHandler), "test", func(ctx context.Context) {
		<-ctx.Done()
		done <- ctx.Err()
	})
	if err := <-done; err != context.DeadlineExceeded {
		t.Fatalf("err = %v", err)
	}
}
