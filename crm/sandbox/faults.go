package sandbox

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// faultState holds the injected faults; safe for concurrent use and change.
type faultState struct {
	mu sync.Mutex
	f  Faults
}

// SetFaults replaces the injected faults (tests flip them on and off at run time).
func (s *Sandbox) SetFaults(f Faults) {
	s.org.faults.mu.Lock()
	defer s.org.faults.mu.Unlock()
	s.org.faults.f = f
}

// apply delays and answers an injected failure; it reports whether it answered.
func (fs *faultState) apply(w http.ResponseWriter, r *http.Request) bool {
	fs.mu.Lock()
	latency := fs.f.Latency
	throttle := fs.f.Throttle429 > 0
	retryAfter := fs.f.RetryAfter
	if throttle {
		fs.f.Throttle429--
	}
	fail := !throttle && fs.f.FailNext > 0
	failStatus := fs.f.FailNextStatus
	if fail {
		fs.f.FailNext--
	}
	fs.mu.Unlock()

	if latency > 0 {
		t := time.NewTimer(latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	switch {
	case throttle:
		if retryAfter <= 0 {
			retryAfter = 5 * time.Second
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
		writeError(w, errf(http.StatusTooManyRequests, codeThrottled,
			"Number of requests exceeded the limit of 6000 over time window of 300 seconds."))
		return true
	case fail:
		if failStatus == 0 {
			failStatus = http.StatusServiceUnavailable
		}
		writeError(w, errf(failStatus, codeUnexpected, "Injected failure: %s.", http.StatusText(failStatus)))
		return true
	}
	return false
}
