package teams

import (
	"slices"
	"sort"
	"sync"
	"time"
)

// Window is one rate limit: at most N requests in any span of length Per.
type Window struct {
	N   int
	Per time.Duration
}

// Limits are the client-side rate limits of a [Connector]. Teams throttles
// each bot per conversation and per app; staying under its limits on our
// side avoids 429s, whose back-off costs far more than a short wait here.
type Limits struct {
	// PerConversation windows apply to sends and updates to one
	// conversation; every window must hold.
	PerConversation []Window
	// Global windows apply to every request of the app, create-conversation
	// included.
	Global []Window
	// Off disables client-side limiting (tests that flood the fake on
	// purpose). 429s are still retried.
	Off bool
}

// DefaultLimits returns Teams' documented limits (reference/teams.md): per
// bot per conversation 7 per second, 8 per 2 seconds, 60 per 30 seconds and
// 1800 per hour; about 50 requests per second per app.
func DefaultLimits() Limits {
	return Limits{
		PerConversation: []Window{
			{N: 7, Per: time.Second},
			{N: 8, Per: 2 * time.Second},
			{N: 60, Per: 30 * time.Second},
			{N: 1800, Per: time.Hour},
		},
		Global: []Window{{N: 50, Per: time.Second}},
	}
}

// resolve returns the limits to enforce: the zero value means the defaults.
func (l Limits) resolve() Limits {
	if !l.Off && l.PerConversation == nil && l.Global == nil {
		return DefaultLimits()
	}
	return l
}

// rateLimiter enforces sliding-window limits exactly: it keeps the times of
// recent requests (and of reservations not yet due) rather than a token
// bucket, because a bucket cannot express 7/s and 8/2s at once — refilling
// at 7/s allows 14 in two seconds.
//
// A caller reserves a slot at the earliest time every window allows, then
// sleeps until then; a cancelled wait gives its slot back. Reservations to
// one conversation are FIFO. The global log accepts slots between existing
// reservations, so one throttled conversation does not delay the others.
//
// Memory: a conversation's log holds only requests younger than the longest
// window (1 h by default) and is dropped once empty, swept at most once per
// sweepEvery, so idle conversations cost nothing.
type rateLimiter struct {
	perConv []Window
	global  []Window
	maxConv time.Duration // longest per-conversation window
	maxGlob time.Duration // longest global window

	mu        sync.Mutex
	convs     map[string]*eventLog
	glob      eventLog
	lastSweep time.Time
}

// sweepEvery bounds how often the limiter scans for idle conversations.
const sweepEvery = time.Minute

// eventLog is an ascending list of request (or reserved) times.
type eventLog struct{ times []time.Time }

func newRateLimiter(l Limits) *rateLimiter {
	l = l.resolve()
	if l.Off {
		return nil
	}
	rl := &rateLimiter{
		perConv: windowsOf(l.PerConversation),
		global:  windowsOf(l.Global),
		convs:   map[string]*eventLog{},
	}
	for _, w := range rl.perConv {
		rl.maxConv = max(rl.maxConv, w.Per)
	}
	for _, w := range rl.global {
		rl.maxGlob = max(rl.maxGlob, w.Per)
	}
	return rl
}

// windowsOf drops meaningless windows so the arithmetic below can trust N ≥ 1.
func windowsOf(ws []Window) []Window {
	var out []Window
	for _, w := range ws {
		if w.N >= 1 && w.Per > 0 {
			out = append(out, w)
		}
	}
	return out
}

// reserve books the earliest slot at or after now that the windows of
// conversation key ("" = global only) and the global windows allow. The
// caller waits until the returned time and calls release if it gives up.
func (rl *rateLimiter) reserve(now time.Time, key string) (at time.Time, release func()) {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	rl.sweepLocked(now)

	at = now
	var conv *eventLog
	if key != "" && len(rl.perConv) > 0 {
		conv = rl.convs[key]
		if conv == nil {
			conv = &eventLog{}
			rl.convs[key] = conv
		}
		conv.trim(now.Add(-rl.maxConv))
		at = conv.earliestAppend(at, rl.perConv)
	}
	if len(rl.global) > 0 {
		rl.glob.trim(now.Add(-rl.maxGlob))
		at = rl.glob.earliestInsert(at, rl.global)
		rl.glob.insert(at)
	}
	if conv != nil {
		conv.insert(at)
	}
	var once sync.Once
	return at, func() {
		once.Do(func() {
			rl.mu.Lock()
			defer rl.mu.Unlock()
			if len(rl.global) > 0 {
				rl.glob.remove(at)
			}
			if conv != nil {
				conv.remove(at)
			}
		})
	}
}

// sweepLocked forgets conversations with nothing in their longest window.
func (rl *rateLimiter) sweepLocked(now time.Time) {
	if now.Sub(rl.lastSweep) < min(sweepEvery, max(rl.maxConv, time.Second)) {
		return
	}
	rl.lastSweep = now
	cutoff := now.Add(-rl.maxConv)
	for k, l := range rl.convs {
		l.trim(cutoff)
		if len(l.times) == 0 {
			delete(rl.convs, k)
		}
	}
}

// conversations reports how many conversation logs are held (tests).
func (rl *rateLimiter) conversations() int {
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return len(rl.convs)
}

// trim drops the times at or before cutoff: they are outside every window.
func (l *eventLog) trim(cutoff time.Time) {
	k := sort.Search(len(l.times), func(i int) bool { return l.times[i].After(cutoff) })
	if k == 0 {
		return
	}
	// Copy down rather than reslice so the backing array does not pin old times.
	l.times = append(l.times[:0], l.times[k:]...)
	if cap(l.times) > 64 && len(l.times) < cap(l.times)/4 {
		l.times = slices.Clip(l.times)
	}
}

// earliestAppend is the first time ≥ t, and ≥ the last entry (FIFO), at which
// one more request keeps every window: the N-th most recent entry must have
// left the window.
func (l *eventLog) earliestAppend(t time.Time, ws []Window) time.Time {
	n := len(l.times)
	if n > 0 && l.times[n-1].After(t) {
		t = l.times[n-1]
	}
	for _, w := range ws {
		if n >= w.N {
			if free := l.times[n-w.N].Add(w.Per); free.After(t) {
				t = free
			}
		}
	}
	return t
}

// earliestInsert is the first time ≥ t at which one more request fits every
// window, counting entries before and after it (reservations of other
// conversations may lie in the future).
func (l *eventLog) earliestInsert(t time.Time, ws []Window) time.Time {
	for {
		next, ok := l.fits(t, ws)
		if ok {
			return t
		}
		t = next
	}
}

// fits reports whether a request at t keeps every window: each span of
// length Per containing t must hold fewer than N other entries; the fullest
// such span ends at t or at an entry in (t, t+Per). When it does not fit,
// next is the earliest time a slot can open: the first entry of the full
// span plus Per (every time before that lies in a full span, that one or a
// later one holding the same entries), so the search jumps a window at a
// time instead of trying every entry.
func (l *eventLog) fits(t time.Time, ws []Window) (next time.Time, ok bool) {
	for _, w := range ws {
		lo := sort.Search(len(l.times), func(i int) bool { return l.times[i].After(t) })
		hi := sort.Search(len(l.times), func(i int) bool { return !l.times[i].Before(t.Add(w.Per)) })
		for k := lo - 1; k < hi; k++ {
			end := t
			if k >= lo {
				end = l.times[k]
			}
			from := end.Add(-w.Per)
			a := sort.Search(len(l.times), func(i int) bool { return l.times[i].After(from) })
			b := sort.Search(len(l.times), func(i int) bool { return l.times[i].After(end) })
			if b-a >= w.N {
				return l.times[a].Add(w.Per), false
			}
		}
	}
	return t, true
}

func (l *eventLog) insert(t time.Time) {
	i := sort.Search(len(l.times), func(i int) bool { return l.times[i].After(t) })
	l.times = slices.Insert(l.times, i, t)
}

func (l *eventLog) remove(t time.Time) {
	i := sort.Search(len(l.times), func(i int) bool { return !l.times[i].Before(t) })
	if i < len(l.times) && l.times[i].Equal(t) {
		l.times = slices.Delete(l.times, i, i+1)
	}
}
