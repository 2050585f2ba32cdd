package sandbox

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestLoopbackOnly(t *testing.T) {
	h := LoopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for _, tc := range []struct {
		name, remote, forwarded string
		want                    int
	}{
		{"loopback", "127.0.0.1:5555", "", http.StatusTeapot},
		{"IPv6 loopback", "[::1]:5555", "", http.StatusTeapot},
		{"LAN client", "192.0.2.7:5555", "", http.StatusForbidden},
		{"tunnel from loopback naming a remote client", "127.0.0.1:5555", "203.0.113.9", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/data/v9.2/accounts", nil)
			r.RemoteAddr = tc.remote
			if tc.forwarded != "" {
				r.Header.Set("X-Forwarded-For", tc.forwarded)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status = %d, want %d", w.Code, tc.want)
			}
		})
	}
}
