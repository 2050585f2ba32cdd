package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// logLines decodes JSON log output, failing on a line that is not JSON or
// that repeats a key.
func logLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("non-JSON log line %q: %v", line, err)
		}
		for _, key := range []string{logKeyRequestID, logKeyTraceID, logKeySpanID} {
			if n := strings.Count(line, `"`+key+`":`); n > 1 {
				t.Fatalf("%s logged %d times: %s", key, n, line)
			}
		}
		lines = append(lines, m)
	}
	return lines
}

func findLog(t *testing.T, lines []map[string]any, msg string) map[string]any {
	t.Helper()
	for _, l := range lines {
		if l["msg"] == msg {
			return l
		}
	}
	t.Fatalf("no %q log line in %v", msg, lines)
	return nil
}

func TestRequestIDs(t *testing.T) {
	tests := []struct {
		name, incoming string
		kept           bool
	}{
		{"none: generated", "", false},
		{"safe token from a proxy: kept", "edge-7f3a.b_C9", true},
		{"64 characters: kept", strings.Repeat("a", 64), true},
		{"65 characters: replaced", strings.Repeat("a", 65), false},
		{"space: replaced", "two words", false},
		{"markup: replaced", "<script>", false},
		{"quote: replaced", `id"}`, false},
		{"non-ASCII: replaced", "idé", false},
	}
	var logs bytes.Buffer
	logger, _ := NewLogger(&logs, "info")
	s := New("127.0.0.1:0", logger)
	var seen string
	s.Handle("GET /id", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = RequestID(r.Context()) }))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/id", nil)
			if tt.incoming != "" {
				req.Header.Set("X-Request-Id", tt.incoming)
			}
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			got := rec.Header().Get("X-Request-Id")
			if got != seen {
				t.Fatalf("header %q, context %q", got, seen)
			}
			if tt.kept && got != tt.incoming {
				t.Fatalf("id = %q, want the incoming %q", got, tt.incoming)
			}
			if !tt.kept && (got == tt.incoming || len(got) != 16 || !validRequestID(got)) {
				t.Fatalf("id = %q, want a fresh 16-hex id", got)
			}
		})
	}
}

func TestLogLinesCarryTheRequestID(t *testing.T) {
	var logs bytes.Buffer
	logger, _ := NewLogger(&logs, "info")
	s := New("127.0.0.1:0", logger)
	s.Handle("POST /work", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "inside the handler", "step", 1)
		logger.With("component", "crm").WarnContext(r.Context(), "from a derived logger")
		logger.InfoContext(r.Context(), "dataverse request", "request_id", "dataverse-own-id")
		logger.Info("no context given")
	}))
	req := httptest.NewRequest("POST", "/work", nil)
	req.Header.Set("X-Request-Id", "proxy-id-1")
	s.Handler().ServeHTTP(httptest.NewRecorder(), req)

	lines := logLines(t, logs.String())
	for _, msg := range []string{"inside the handler", "from a derived logger", "http"} {
		if got := findLog(t, lines, msg)["request_id"]; got != "proxy-id-1" {
			t.Errorf("%q: request_id = %v", msg, got)
		}
	}
	if got := findLog(t, lines, "dataverse request")["request_id"]; got != "dataverse-own-id" {
		t.Errorf("a request_id the caller logged was replaced: %v", got)
	}
	if got, ok := findLog(t, lines, "no context given")["request_id"]; ok {
		t.Errorf("request_id without a context: %v", got)
	}
	if _, ok := findLog(t, lines, "http")["trace_id"]; ok {
		t.Error("trace_id logged with no tracing installed")
	}
}

// passThrough stands for another handler stacked with ContextHandler (the
// status page's recorder).
type passThrough struct{ slog.Handler }

func (p passThrough) WithAttrs(a []slog.Attr) slog.Handler {
	return passThrough{p.Handler.WithAttrs(a)}
}

func TestContextHandlerStacksWithoutRepeatingKeys(t *testing.T) {
	var out bytes.Buffer
	inner := ContextHandler(slog.NewJSONHandler(&out, nil))
	if ContextHandler(inner) != inner {
		t.Fatal("wrapping twice made a second layer")
	}
	logger := slog.New(ContextHandler(passThrough{inner})).With("k", "v")
	ctx := context.WithValue(context.Background(), requestIDKey, "rid")
	logger.InfoContext(ctx, "stacked")
	if got := findLog(t, logLines(t, out.String()), "stacked")["request_id"]; got != "rid" {
		t.Fatalf("request_id = %v", got)
	}
}

func TestServerLogsThroughAnyLogger(t *testing.T) {
	// A Server given a plain slog logger still puts the request id on its
	// access log.
	var out bytes.Buffer
	s := New("127.0.0.1:0", slog.New(slog.NewJSONHandler(&out, nil)))
	s.Handle("GET /x", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "x") }))
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if got := findLog(t, logLines(t, out.String()), "http")["request_id"]; got != rec.Header().Get("X-Request-Id") || got == "" {
		t.Fatalf("request_id = %v, header %q", got, rec.Header().Get("X-Request-Id"))
	}
}
