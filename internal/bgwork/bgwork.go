// Package bgwork runs the work a chat adapter does after it has answered
// the platform (views updated after an ack, messages posted after an
// invoke): detached from the request's context, bounded, counted for a
// graceful shutdown, and never able to take the process down.
package bgwork

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Group counts detached work. The zero value is ready to use.
type Group struct {
	wg sync.WaitGroup
}

// Go runs f in a goroutine with a context that keeps ctx's values but not
// its cancellation, ending after timeout. A panic in f is logged (as
// "<name>: background work panicked") and recovered.
func (g *Group) Go(ctx context.Context, timeout time.Duration, logger *slog.Logger, name string, f func(ctx context.Context)) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				logger.Error(name+": background work panicked", "panic", p)
			}
		}()
		f(ctx)
	}()
}

// Wait blocks until every piece of work started by Go is done, or ctx
// ends (then it returns ctx's error).
func (g *Group) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { g.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
