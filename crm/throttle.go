package crm

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// DefaultConcurrency is how many requests one principal has in flight at once
// through a Throttle. Dataverse allows 52 per user per web server; staying far
// below leaves room for the user's other apps and avoids 0x80072326.
const DefaultConcurrency = 8

// Throttle is a concurrency-safe registry of Dataverse service-protection
// state per principal (org + user, or org + application user). A 429 pauses
// the principal for Retry-After for every Client that shares the Throttle and
// acts as it, and each principal's concurrent requests are bounded.
// Share one Throttle per process; create Clients freely around it.
type Throttle struct {
	limit int
	now   func() time.Time

	mu         sync.Mutex
	principals map[string]*principalState
}

type principalState struct {
	pausedUntil time.Time
	slots       chan struct{}
}

// NewThrottle returns an empty registry with DefaultConcurrency per principal.
func NewThrottle() *Throttle { return NewThrottleLimit(DefaultConcurrency) }

// NewThrottleLimit returns an empty registry allowing limit concurrent
// requests per principal (limit < 1: DefaultConcurrency).
func NewThrottleLimit(limit int) *Throttle {
	if limit < 1 {
		limit = DefaultConcurrency
	}
	return &Throttle{limit: limit, now: time.Now, principals: map[string]*principalState{}}
}

func (t *Throttle) state(principal string) *principalState {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.principals[principal]
	if !ok {
		s = &principalState{slots: make(chan struct{}, t.limit)}
		t.principals[principal] = s
	}
	return s
}

// Pause records that principal may not call before wait has passed. A shorter
// pause never shortens a longer one already recorded.
func (t *Throttle) Pause(principal string, wait time.Duration) {
	s := t.state(principal)
	until := t.now().Add(wait)
	t.mu.Lock()
	if until.After(s.pausedUntil) {
		s.pausedUntil = until
	}
	t.mu.Unlock()
}

// PausedFor returns how long principal remains paused (0 when it may call).
func (t *Throttle) PausedFor(principal string) time.Duration {
	s := t.state(principal)
	t.mu.Lock()
	defer t.mu.Unlock()
	return max(s.pausedUntil.Sub(t.now()), 0)
}

// acquire waits until principal is not paused and a concurrency slot is
// free, and returns the function that releases the slot. When the pause
// outlasts ctx's deadline it fails at once with a *ThrottledError carrying
// the remaining wait, so a chat interaction answers instead of hanging.
func (t *Throttle) acquire(ctx context.Context, principal string) (release func(), waited time.Duration, err error) {
	s := t.state(principal)
	for {
		wait := t.PausedFor(principal)
		if wait <= 0 {
			break
		}
		if dl, ok := ctx.Deadline(); ok && t.now().Add(wait).After(dl) {
			return nil, waited, throttledLocally(wait)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, waited, ctx.Err()
		case <-timer.C:
			waited += wait
		}
	}
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, waited, ctx.Err()
	}
	return func() { <-s.slots }, waited, nil
}

func throttledLocally(wait time.Duration) *ThrottledError {
	return &ThrottledError{
		APIError:   APIError{StatusCode: http.StatusTooManyRequests, Message: "principal paused after a Dataverse 429; the wait exceeds the request deadline"},
		RetryAfter: wait,
	}
}
