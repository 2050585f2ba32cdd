package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

func startServer(t *testing.T, setup func(*Server)) (*Server, string, *bytes.Buffer, context.CancelFunc, chan error) {
	t.Helper()
	var logs bytes.Buffer
	logger, err := NewLogger(&logs, "info")
	if err != nil {
		t.Fatal(err)
	}
	s := New("127.0.0.1:0", logger)
	s.ShutdownGrace = 5 * time.Second
	if setup != nil {
		setup(s)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	return s, "http://" + s.ListenAddr(), &logs, cancel, done
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOperationalEndpoints(t *testing.T) {
	failing := errors.New("redis: connection refused")
	var redisErr error
	_, base, logs, _, _ := startServer(t, func(s *Server) {
		s.AddCheck("redis", func(context.Context) error { return redisErr })
		s.Handle("GET /hello", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if RequestID(r.Context()) == "" {
				t.Error("no request id in context")
			}
			io.WriteString(w, "hi")
		}))
		s.Handle("GET /boom", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("kaboom") }))
	})

	t.Run("livez ignores dependencies", func(t *testing.T) {
		redisErr = failing
		if code, _ := get(t, base+"/livez"); code != 200 {
			t.Fatalf("livez = %d", code)
		}
	})
	t.Run("readyz fails while a check fails", func(t *testing.T) {
		redisErr = failing
		code, body := get(t, base+"/readyz")
		if code != 503 || !strings.Contains(body, "redis") {
			t.Fatalf("readyz = %d %q", code, body)
		}
		redisErr = nil
		if code, _ := get(t, base+"/healthz"); code != 200 {
			t.Fatalf("healthz = %d after recovery", code)
		}
	})
	t.Run("handler panics become 500 and are logged", func(t *testing.T) {
		if code, _ := get(t, base+"/boom"); code != 500 {
			t.Fatalf("boom = %d", code)
		}
		if !strings.Contains(logs.String(), "kaboom") {
			t.Error("panic not logged")
		}
	})
	t.Run("metrics count requests by route", func(t *testing.T) {
		get(t, base+"/hello")
		_, body := get(t, base+"/metrics")
		if !strings.Contains(body, `crmbot_http_requests_total{code="2xx",route="GET /hello"}`) {
			t.Fatalf("metrics lack the hello counter:\n%s", body)
		}
		if !strings.Contains(body, `crmbot_http_requests_total{code="5xx",route="GET /boom"}`) {
			t.Fatal("metrics lack the 5xx counter")
		}
	})
	t.Run("access log is JSON without query strings", func(t *testing.T) {
		get(t, base+"/hello?code=SECRETCODE&state=xyz")
		if strings.Contains(logs.String(), "SECRETCODE") {
			t.Fatal("query string leaked into the log")
		}
		for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			if !strings.HasPrefix(line, "{") {
				t.Fatalf("non-JSON log line: %s", line)
			}
		}
	})
}

func TestShutdownDrainsInFlightRequests(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	_, base, _, cancel, done := startServer(t, func(s *Server) {
		s.Handle("GET /slow", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(started)
			<-release
			io.WriteString(w, "finished")
		}))
	})
	result := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			result <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		result <- string(b)
	}()
	<-started
	cancel()
	time.Sleep(100 * time.Millisecond) // let Shutdown begin
	close(release)
	if got := <-result; got != "finished" {
		t.Fatalf("in-flight request got %q", got)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}

func TestDrainDelayKeepsServingWithReadinessOff(t *testing.T) {
	_, base, _, cancel, done := startServer(t, func(s *Server) {
		s.DrainDelay = 500 * time.Millisecond
		s.Handle("GET /work", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "done") }))
	})
	cancel()
	start := time.Now()
	// During the delay: not ready, yet requests are still served.
	var ready503, served bool
	for time.Since(start) < 400*time.Millisecond && !(ready503 && served) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			ready503 = ready503 || resp.StatusCode == http.StatusServiceUnavailable
			resp.Body.Close()
		}
		if resp, err := http.Get(base + "/work"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			served = served || string(b) == "done"
			resp.Body.Close()
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !ready503 || !served {
		t.Fatalf("during the drain delay: /readyz 503 seen = %v, a request served = %v; want both", ready503, served)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	if d := time.Since(start); d < 450*time.Millisecond {
		t.Fatalf("Run returned %s after the signal, before the 500ms drain delay", d)
	}
}

func TestNewLoggerRejectsUnknownLevel(t *testing.T) {
	if _, err := NewLogger(io.Discard, "chatty"); err == nil || !strings.Contains(err.Error(), "CRMBOT_LOG_LEVEL") {
		t.Fatalf("err = %v", err)
	}
	l, err := NewLogger(io.Discard, "debug")
	if err != nil || !l.Enabled(context.Background(), slog.LevelDebug) {
		t.Fatalf("debug logger: %v", err)
	}
}
