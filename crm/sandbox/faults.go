package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
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

// CurrentFaults returns the injected faults still pending (counters go down
// as requests consume them).
func (s *Sandbox) CurrentFaults() Faults {
	s.org.faults.mu.Lock()
	defer s.org.faults.mu.Unlock()
	return s.org.faults.f
}

// FaultsPath is the sandbox's fault-control endpoint: GET answers the current
// faults, PUT replaces them; both answer faultsJSON. Dataverse has no such
// path. Only loopback clients that came through no proxy may use it (403
// otherwise): the sandbox may be mounted on a public listener in demo mode.
const FaultsPath = "/_sandbox/faults"

// faultsJSON is Faults on the wire: whole seconds and milliseconds.
type faultsJSON struct {
	Throttle429       int `json:"throttle429"`
	RetryAfterSeconds int `json:"retryAfterSeconds"`
	LatencyMs         int `json:"latencyMs"`
	FailNext          int `json:"failNext"`
	FailNextStatus    int `json:"failNextStatus"`
}

// maxFaultLatency bounds latencyMs (a typo shouldn't hang every request for hours).
const maxFaultLatency = 10 * time.Minute

func faultsToJSON(f Faults) faultsJSON {
	return faultsJSON{
		Throttle429:       f.Throttle429,
		RetryAfterSeconds: int(math.Ceil(f.RetryAfter.Seconds())), // as the Retry-After header rounds it
		LatencyMs:         int(f.Latency.Milliseconds()),
		FailNext:          f.FailNext,
		FailNextStatus:    f.FailNextStatus,
	}
}

// faults validates a PUT body. A pending 429 without retryAfterSeconds gets
// the 5 s apply uses, a pending failure without failNextStatus 503, so the
// answer shows what the sandbox will send.
func (j faultsJSON) faults() (Faults, error) {
	switch {
	case j.Throttle429 < 0 || j.RetryAfterSeconds < 0 || j.LatencyMs < 0 || j.FailNext < 0:
		return Faults{}, errors.New("throttle429, retryAfterSeconds, latencyMs and failNext must not be negative")
	case time.Duration(j.LatencyMs)*time.Millisecond > maxFaultLatency:
		return Faults{}, fmt.Errorf("latencyMs must be at most %d", maxFaultLatency.Milliseconds())
	case j.RetryAfterSeconds > 86400:
		return Faults{}, errors.New("retryAfterSeconds must be at most 86400")
	case j.FailNextStatus != 0 && (j.FailNextStatus < 400 || j.FailNextStatus > 599):
		return Faults{}, errors.New("failNextStatus must be an error status (400-599)")
	}
	f := Faults{
		Throttle429: j.Throttle429, RetryAfter: time.Duration(j.RetryAfterSeconds) * time.Second,
		Latency:  time.Duration(j.LatencyMs) * time.Millisecond,
		FailNext: j.FailNext, FailNextStatus: j.FailNextStatus,
	}
	if f.Throttle429 > 0 && f.RetryAfter == 0 {
		f.RetryAfter = 5 * time.Second
	}
	if f.FailNext > 0 && f.FailNextStatus == 0 {
		f.FailNextStatus = http.StatusServiceUnavailable
	}
	return f, nil
}

// serveFaults is the fault-control endpoint (FaultsPath).
func (s *Sandbox) serveFaults(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	fail := func(status int, msg string) {
		h.Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": strconv.Itoa(status), "message": msg}})
	}
	if !loopbackClient(r) {
		fail(http.StatusForbidden, "The fault-control endpoint only answers loopback clients that came through no proxy.")
		return
	}
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut:
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
		if err != nil {
			fail(http.StatusRequestEntityTooLarge, "The request body is too large.")
			return
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		var j faultsJSON
		err = dec.Decode(&j)
		if err == nil && dec.More() {
			err = errors.New("unexpected data after the object")
		}
		if err != nil {
			fail(http.StatusBadRequest, "The body must be one JSON object with the fields throttle429, retryAfterSeconds, latencyMs, failNext, failNextStatus: "+err.Error())
			return
		}
		f, err := j.faults()
		if err != nil {
			fail(http.StatusBadRequest, err.Error())
			return
		}
		s.SetFaults(f)
	default:
		h.Set("Allow", "GET, PUT")
		fail(http.StatusMethodNotAllowed, fmt.Sprintf("The fault-control endpoint does not support http method '%s'.", r.Method))
		return
	}
	b, _ := json.Marshal(faultsToJSON(s.CurrentFaults()))
	h.Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, '\n'))
}

// forwardingHeaders name the client of a proxied request. A proxy on the same
// host (ngrok, cloudflared, a local reverse proxy) connects from loopback, so
// such a request is only accepted when every address it names is loopback too.
var forwardingHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip", "Cf-Connecting-Ip", "True-Client-Ip"}

// loopbackClient reports whether r comes from a loopback address and, if it
// went through a proxy that says so, from a loopback client of that proxy.
func loopbackClient(r *http.Request) bool {
	if !isLoopbackAddr(r.RemoteAddr) {
		return false
	}
	for _, name := range forwardingHeaders {
		for _, v := range r.Header.Values(name) {
			for _, item := range strings.Split(v, ",") {
				addr := strings.TrimSpace(item)
				if name == "Forwarded" {
					addr = forwardedFor(addr)
				}
				if addr != "" && !isLoopbackAddr(addr) {
					return false
				}
			}
		}
	}
	return true
}

// forwardedFor extracts the for= node of one RFC 7239 forwarded-element
// ("unknown" or an obfuscated node is returned as is and isn't loopback).
func forwardedFor(elem string) string {
	for pair := range strings.SplitSeq(elem, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(pair), "=")
		if strings.EqualFold(k, "for") {
			return strings.Trim(v, `"`)
		}
	}
	return ""
}

// isLoopbackAddr accepts "127.0.0.1", "127.0.0.1:80", "::1", "[::1]:80".
func isLoopbackAddr(addr string) bool {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
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
