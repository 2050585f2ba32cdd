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
	calls      int // state lookups since the last sweep
}

type principalState struct {
	pausedUntil time.Time
	slots       chan struct{}
	users       int // acquires holding this state (in flight or waiting)
}

// sweepEvery is how many lookups pass between sweeps of idle principals, so
// the registry stays proportional to active users, not to every user seen.
const sweepEvery = 1024

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

// state returns principal's state, creating it; with hold, the caller counts
// as a user of it until it calls t.leave. Called with t.mu held.
func (t *Throttle) state(principal string, hold bool) *principalState {
	if t.calls++; t.calls >= sweepEvery {
		t.calls = 0
		now := t.now()
		for k, st := range t.principals {
			if st.users == 0 && !st.pausedUntil.After(now) {
				delete(t.principals, k)
			}
		}
	}
	s, ok := t.principals[principal]
	if !ok {
		s = &principalState{slots: make(chan struct{}, t.limit)}
		t.principals[principal] = s
	}
	if hold {
		s.users++
	}
	return s
}

func (t *Throttle) leave(s *principalState) {
	t.mu.Lock()
	s.users--
	t.mu.Unlock()
}

// size is the number of principals tracked (for tests).
func (t *Throttle) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.principals)
}

// Pause records that principal may not call before wait has passed. A shorter
// pause never shortens a longer one already recorded.
func (t *Throttle) Pause(principal string, wait time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.state(principal, false)
	if until := t.now().Add(wait); until.After(s.pausedUntil) {
		s.pausedUntil = until
	}
}

// PausedFor returns how long principal remains paused (0 when it may call).
func (t *Throttle) PausedFor(principal string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.principals[principal]
	if !ok {
		return 0
	}
	return max(s.pausedUntil.Sub(t.now()), 0)
}

// acquire waits until principal is not paused and a concurrency slot is
// free, and returns the function that releases the slot. When the pause
// outlasts ctx's deadline it fails at once with a *ThrottledError carrying
// the remaining wait, so a chat interaction answers instead of hanging.
func (t *Throttle) acquire(ctx context.Context, principal string) (release func(), waited time.Duration, err error) {
	t.mu.Lock()
	s := t.state(principal, true)
	t.mu.Unlock()
	held := false
	defer func() {
		if !held {
			t.leave(s)
		}
	}()
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
	held = true
	return func() { <-s.slots; t.leave(s) }, waited, nil
}

func throttledLocally(wait time.Duration) *ThrottledError {
	return &ThrottledError{
		APIError:   APIError{StatusCode: http.StatusTooManyRequests, Message: "principal paused after a Dataverse 429; the wait exceeds the request deadline"},
		RetryAfter: wait,
	}
}
