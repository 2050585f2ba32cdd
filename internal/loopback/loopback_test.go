package loopback

import (
	"net/http/httptest"
	"testing"
)

func TestRequest(t *testing.T) {
	for _, tc := range []struct {
		name, remote, host string
		headers            map[string]string
		also               []string
		want               bool
	}{
		{"loopback v4", "127.0.0.1:5000", "localhost:3978", nil, nil, true},
		{"loopback v6", "[::1]:5000", "[::1]:3978", nil, nil, true},
		{"remote peer", "203.0.113.7:5000", "localhost:3978", nil, nil, false},
		{"through a proxy", "127.0.0.1:5000", "localhost:3978", map[string]string{"X-Forwarded-For": "203.0.113.7"}, nil, false},
		{"Forwarded", "127.0.0.1:5000", "localhost:3978", map[string]string{"Forwarded": "for=203.0.113.7"}, nil, false},
		{"DNS rebinding", "127.0.0.1:5000", "evil.example:3978", nil, nil, false},
		{"a browser turned away", "127.0.0.1:5000", "localhost:3978", map[string]string{"Origin": "http://localhost:3978"}, []string{"Origin"}, false},
		{"a browser welcome", "127.0.0.1:5000", "localhost:3978", map[string]string{"Origin": "http://localhost:3978"}, nil, true},
		{"bad remote", "nonsense", "localhost", nil, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr, r.Host = tc.remote, tc.host
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			if got := Request(r, tc.also...); got != tc.want {
				t.Fatalf("Request = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHost(t *testing.T) {
	for h, want := range map[string]bool{"localhost": true, "LOCALHOST:80": true, "127.0.0.2": true, "[::1]:3978": true,
		"example.com": false, "10.0.0.1:3978": false, "": false} {
		if got := Host(h); got != want {
			t.Errorf("Host(%q) = %v, want %v", h, got, want)
		}
	}
}
