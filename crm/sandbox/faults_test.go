package sandbox

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestFaultsEndpoint: GET/PUT /_sandbox/faults drive the same faults as
// SetFaults, for clients outside the process (the e2e suite, curl, demos).
func TestFaultsEndpoint(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: -1})
	call := func(method, body string, headers ...string) (int, faultsJSON, string) {
		t.Helper()
		r := env.do(t, "", method, FaultsPath, body, headers...)
		var j faultsJSON
		if r.Status == http.StatusOK {
			if err := json.Unmarshal(r.Body, &j); err != nil {
				t.Fatalf("%s: %s: %v", method, r.Body, err)
			}
			if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || r.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("headers = %v", r.Header)
			}
		}
		return r.Status, j, string(r.Body)
	}
	env.token(t, asApp) // before any throttling

	t.Run("GET: nothing injected", func(t *testing.T) {
		if s, j, b := call(http.MethodGet, ""); s != http.StatusOK || j != (faultsJSON{}) {
			t.Fatalf("%d %s", s, b)
		}
	})
	t.Run("PUT a 429: the next Web API request is throttled, then it is consumed", func(t *testing.T) {
		s, j, b := call(http.MethodPut, `{"throttle429":1,"retryAfterSeconds":1}`)
		if s != http.StatusOK || j != (faultsJSON{Throttle429: 1, RetryAfterSeconds: 1}) {
			t.Fatalf("%d %s", s, b)
		}
		if f := env.sb.CurrentFaults(); f != (Faults{Throttle429: 1, RetryAfter: time.Second}) {
			t.Fatalf("CurrentFaults = %+v", f)
		}
		r := env.do(t, asApp, http.MethodGet, "WhoAmI", nil)
		wantError(t, r, http.StatusTooManyRequests, codeThrottled, "Number of requests exceeded the limit of 6000")
		if r.Header.Get("Retry-After") != "1" {
			t.Fatalf("Retry-After = %q", r.Header.Get("Retry-After"))
		}
		if _, j, _ := call(http.MethodGet, ""); j.Throttle429 != 0 {
			t.Fatalf("after one request: %+v", j)
		}
		must(t, env.do(t, asApp, http.MethodGet, "WhoAmI", nil), http.StatusOK)
	})
	t.Run("PUT replaces the whole state and fills the defaults apply uses", func(t *testing.T) {
		s, j, b := call(http.MethodPut, `{"throttle429":2,"failNext":1,"latencyMs":5}`)
		if s != http.StatusOK || j != (faultsJSON{Throttle429: 2, RetryAfterSeconds: 5, LatencyMs: 5, FailNext: 1, FailNextStatus: 503}) {
			t.Fatalf("%d %s", s, b)
		}
		if s, j, b := call(http.MethodPut, `{"failNext":1,"failNextStatus":500}`); s != http.StatusOK || j != (faultsJSON{FailNext: 1, FailNextStatus: 500}) {
			t.Fatalf("%d %s", s, b)
		}
		must(t, env.do(t, asApp, http.MethodGet, "WhoAmI", nil), http.StatusInternalServerError)
		if s, j, b := call(http.MethodPut, `{}`); s != http.StatusOK || j != (faultsJSON{}) {
			t.Fatalf("%d %s", s, b)
		}
	})
	t.Run("GET shows faults set from Go, rounded as the headers are", func(t *testing.T) {
		env.sb.SetFaults(Faults{Throttle429: 3, RetryAfter: 1500 * time.Millisecond, Latency: 2 * time.Millisecond})
		if _, j, b := call(http.MethodGet, ""); j != (faultsJSON{Throttle429: 3, RetryAfterSeconds: 2, LatencyMs: 2}) {
			t.Fatalf("%s", b)
		}
		env.sb.SetFaults(Faults{})
	})
	t.Run("bad bodies: 400, state unchanged", func(t *testing.T) {
		for _, body := range []string{``, `[]`, `{"throttle429":"1"}`, `{"throttle":1}`, `{"throttle429":-1}`, `{"failNextStatus":200}`,
			`{"failNextStatus":600}`, `{"latencyMs":600001}`, `{} {}`, `{"retryAfterSeconds":1.5}`} {
			if s, _, b := call(http.MethodPut, body); s != http.StatusBadRequest || !strings.Contains(b, `"error"`) {
				t.Fatalf("PUT %s: %d %s", body, s, b)
			}
		}
		if f := env.sb.CurrentFaults(); f != (Faults{}) {
			t.Fatalf("faults = %+v", f)
		}
	})
	t.Run("other methods: 405 with Allow", func(t *testing.T) {
		r := env.do(t, "", http.MethodPost, FaultsPath, `{}`)
		if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, PUT" {
			t.Fatalf("%d %v", r.Status, r.Header)
		}
	})
	t.Run("proxied from a non-loopback client: 403", func(t *testing.T) {
		for _, h := range [][]string{
			{"X-Forwarded-For", "203.0.113.7"},
			{"X-Forwarded-For", "127.0.0.1, 203.0.113.7"},
			{"Forwarded", `for="[2001:db8::1]:4711";proto=https`},
			{"Forwarded", "for=unknown"},
			{"X-Real-Ip", "198.51.100.2"},
			{"Cf-Connecting-Ip", "198.51.100.2"},
		} {
			if s, _, b := call(http.MethodPut, `{"throttle429":5}`, h...); s != http.StatusForbidden {
				t.Fatalf("%v: %d %s", h, s, b)
			}
		}
		if f := env.sb.CurrentFaults(); f != (Faults{}) {
			t.Fatalf("faults = %+v", f)
		}
		// A local proxy forwarding a local client is fine.
		if s, _, b := call(http.MethodGet, "", "X-Forwarded-For", "127.0.0.1, ::1", "Forwarded", "for=127.0.0.1"); s != http.StatusOK {
			t.Fatalf("%d %s", s, b)
		}
	})
}

func TestFaultsEndpointLoopbackOnly(t *testing.T) {
	sb := New(Options{RecordsPerType: -1})
	t.Cleanup(func() { _ = sb.Close() })
	for _, tc := range []struct {
		remote string
		want   int
	}{
		{"127.0.0.1:5555", http.StatusOK},
		{"127.8.9.10:5555", http.StatusOK},
		{"[::1]:5555", http.StatusOK},
		{"[::ffff:127.0.0.1]:5555", http.StatusOK},
		{"192.0.2.1:1234", http.StatusForbidden},
		{"[2001:db8::1]:1234", http.StatusForbidden},
		{"10.0.0.1:80", http.StatusForbidden},
		{"garbage", http.StatusForbidden},
	} {
		for _, method := range []string{http.MethodGet, http.MethodPut} {
			req := httptest.NewRequest(method, FaultsPath, strings.NewReader(`{"failNext":1}`))
			req.RemoteAddr = tc.remote
			w := httptest.NewRecorder()
			sb.ServeHTTP(w, req)
			if w.Code != tc.want {
				t.Fatalf("%s from %s: %d %s", method, tc.remote, w.Code, w.Body)
			}
		}
	}
	if f := sb.CurrentFaults(); f.FailNext != 1 {
		t.Fatalf("faults = %+v", f) // only the loopback PUTs applied
	}
}
