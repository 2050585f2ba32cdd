package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmbot/crmbot/internal/testkit"
)

// runHealthcheck runs `crmbot healthcheck args...` with env as the environment.
func runHealthcheck(t *testing.T, env map[string]string, args ...string) (stdout string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = run(ctx, append([]string{"healthcheck"}, args...), func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), err
}

// livez answers like the real server: 200 on /livez, 404 elsewhere.
func livez(status int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/livez" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	})
}

func TestHealthcheckOK(t *testing.T) {
	srv := httptest.NewServer(livez(http.StatusOK, "ok\n"))
	defer srv.Close()
	out, err := runHealthcheck(t, nil, "--url", srv.URL+"/livez")
	if err != nil {
		t.Fatalf("healthcheck against a healthy server: %v", err)
	}
	if !strings.Contains(out, "ok") || !strings.Contains(out, "200") {
		t.Errorf("stdout = %q, want an ok line with the status", out)
	}
}

func TestHealthcheckUnhealthyStatus(t *testing.T) {
	srv := httptest.NewServer(livez(http.StatusServiceUnavailable, "draining\n"))
	defer srv.Close()
	_, err := runHealthcheck(t, nil, "--url", srv.URL+"/livez")
	if err == nil {
		t.Fatal("healthcheck succeeded against a 503")
	}
	for _, want := range []string{"503", "draining", srv.URL + "/livez"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestHealthcheckWrongPath(t *testing.T) {
	srv := httptest.NewServer(livez(http.StatusOK, "ok\n"))
	defer srv.Close()
	if _, err := runHealthcheck(t, nil, "--url", srv.URL+"/nope"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("healthcheck of a 404: err = %v, want a 404 failure", err)
	}
}

func TestHealthcheckRedirectIsNotHealthy(t *testing.T) {
	target := httptest.NewServer(livez(http.StatusOK, "ok\n"))
	defer target.Close()
	srv := httptest.NewServer(http.RedirectHandler(target.URL+"/livez", http.StatusFound))
	defer srv.Close()
	if _, err := runHealthcheck(t, nil, "--url", srv.URL+"/livez"); err == nil || !strings.Contains(err.Error(), "302") {
		t.Fatalf("healthcheck followed a redirect: err = %v, want a 302 failure", err)
	}
}

func TestHealthcheckNothingListening(t *testing.T) {
	addr := testkit.FreeAddr(t) // closed again: nothing listens there
	_, err := runHealthcheck(t, nil, "--url", "http://"+addr+"/livez")
	if err == nil {
		t.Fatal("healthcheck succeeded with nothing listening")
	}
	if !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q should say the connection to %s was refused", err, addr)
	}
	// The same through CRMBOT_ADDR, the way the image's HEALTHCHECK runs it.
	_, port, _ := net.SplitHostPort(addr)
	if _, err := runHealthcheck(t, map[string]string{"CRMBOT_ADDR": ":" + port}); err == nil {
		t.Fatal("healthcheck via CRMBOT_ADDR succeeded with nothing listening")
	}
}

func TestHealthcheckTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	_, err := runHealthcheck(t, nil, "--url", srv.URL+"/livez", "--timeout", "200ms")
	if err == nil || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Fatalf("err = %v, want a timeout failure", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the probe took %s despite a 200ms timeout", d)
	}
}

func TestHealthcheckDefaultURLFromAddr(t *testing.T) {
	srv := httptest.NewServer(livez(http.StatusOK, "ok\n"))
	defer srv.Close()
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range []string{":" + port, "0.0.0.0:" + port, "127.0.0.1:" + port} {
		out, err := runHealthcheck(t, map[string]string{"CRMBOT_ADDR": addr})
		if err != nil {
			t.Errorf("CRMBOT_ADDR=%s: %v", addr, err)
			continue
		}
		if want := "http://127.0.0.1:" + port + "/livez"; !strings.Contains(out, want) {
			t.Errorf("CRMBOT_ADDR=%s: stdout %q does not name %s", addr, out, want)
		}
	}
}

func TestHealthcheckBadInput(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--url", "127.0.0.1:3978/livez"}, "not an absolute http(s) URL"},
		{nil, []string{"--url", "ftp://127.0.0.1/livez"}, "not an absolute http(s) URL"},
		{nil, []string{"extra"}, "unexpected argument"},
		{nil, []string{"--timeout", "0s"}, "must be positive"},
		{map[string]string{"CRMBOT_ADDR": "3978"}, nil, "CRMBOT_ADDR"},
		{map[string]string{"CRMBOT_ADDR": ":0"}, nil, "CRMBOT_ADDR"},
	} {
		if _, err := runHealthcheck(t, tc.env, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v args %q: err = %v, want one mentioning %q", tc.env, tc.args, err, tc.want)
		}
	}
}

func TestHealthURL(t *testing.T) {
	for addr, want := range map[string]string{
		"":               "http://127.0.0.1:3978/livez",
		":3978":          "http://127.0.0.1:3978/livez",
		" :8080 ":        "http://127.0.0.1:8080/livez",
		"0.0.0.0:3978":   "http://127.0.0.1:3978/livez",
		"[::]:3978":      "http://127.0.0.1:3978/livez",
		"127.0.0.1:9000": "http://127.0.0.1:9000/livez",
		"localhost:3978": "http://localhost:3978/livez",
		"[::1]:3978":     "http://[::1]:3978/livez",
		"10.1.2.3:3978":  "http://10.1.2.3:3978/livez",
	} {
		got, err := healthURL(addr)
		if err != nil || got != want {
			t.Errorf("healthURL(%q) = %q, %v; want %q", addr, got, err, want)
		}
	}
	for _, addr := range []string{"3978", ":0", "host"} {
		if got, err := healthURL(addr); err == nil {
			t.Errorf("healthURL(%q) = %q, want an error", addr, got)
		}
	}
}
