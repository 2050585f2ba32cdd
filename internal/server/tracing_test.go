package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func tracedServer(t *testing.T) (*Server, *tracetest.SpanRecorder, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	logger, _ := NewLogger(&logs, "info")
	s := New("127.0.0.1:0", logger)
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() { _ = tp.Shutdown(t.Context()) })
	s.TracerProvider, s.Propagator = tp, propagation.TraceContext{}
	s.Handle("GET /accounts/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "looked up")
	}))
	s.Handle("/any-method", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	s.Handle("POST /down", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "dataverse down", http.StatusBadGateway)
	}))
	s.Handle("GET /nope", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }))
	s.Handle("GET /boom", http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("kaboom") }))
	return s, spans, &logs
}

func attrOf(span sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, kv := range span.Attributes() {
		if string(kv.Key) == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

func TestServerSpans(t *testing.T) {
	t.Run("named by method and route, with route, status and request id", func(t *testing.T) {
		s, spans, logs := tracedServer(t)
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/accounts/42?code=SECRET", nil))
		ended := spans.Ended()
		if len(ended) != 1 {
			t.Fatalf("%d spans", len(ended))
		}
		span := ended[0]
		if span.Name() != "GET /accounts/{id}" || span.SpanKind() != trace.SpanKindServer {
			t.Fatalf("span %q kind %v", span.Name(), span.SpanKind())
		}
		want := map[string]any{
			"http.request.method": "GET", "http.route": "/accounts/{id}", "url.path": "/accounts/42",
			"http.response.status_code": int64(200), "crmbot.request_id": rec.Header().Get("X-Request-Id"),
		}
		for k, v := range want {
			if got := attrOf(span, k).AsInterface(); got != v {
				t.Errorf("%s = %v, want %v", k, got, v)
			}
		}
		if span.Status().Code == codes.Error {
			t.Error("200 marked as an error")
		}
		sc := span.SpanContext()
		for _, msg := range []string{"looked up", "http"} {
			line := findLog(t, logLines(t, logs.String()), msg)
			if line["trace_id"] != sc.TraceID().String() || line["span_id"] != sc.SpanID().String() {
				t.Errorf("%q log line: trace_id %v span_id %v, want %s %s", msg, line["trace_id"], line["span_id"], sc.TraceID(), sc.SpanID())
			}
		}
	})
	t.Run("incoming traceparent is continued", func(t *testing.T) {
		s, spans, _ := tracedServer(t)
		req := httptest.NewRequest("GET", "/accounts/1", nil)
		req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		s.Handler().ServeHTTP(httptest.NewRecorder(), req)
		span := spans.Ended()[0]
		if got := span.SpanContext().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
			t.Fatalf("trace id %s", got)
		}
		if got := span.Parent().SpanID().String(); got != "00f067aa0ba902b7" || !span.Parent().IsRemote() {
			t.Fatalf("parent %s remote=%v", got, span.Parent().IsRemote())
		}
	})
	t.Run("pattern without a method takes the request's", func(t *testing.T) {
		s, spans, _ := tracedServer(t)
		s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("DELETE", "/any-method", nil))
		if got := spans.Ended()[0].Name(); got != "DELETE /any-method" {
			t.Fatalf("name %q", got)
		}
	})
	for _, tt := range []struct {
		name, method, path string
		status             int64
		isError            bool
	}{
		{"5xx is an error", "POST", "/down", 502, true},
		{"4xx is not a server error", "GET", "/nope", 404, false},
		{"panic is an error", "GET", "/boom", 500, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s, spans, _ := tracedServer(t)
			s.Handler().ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(tt.method, tt.path, nil))
			span := spans.Ended()[0]
			if got := attrOf(span, "http.response.status_code").AsInt64(); got != tt.status {
				t.Errorf("status attribute %d", got)
			}
			if got := span.Status().Code == codes.Error; got != tt.isError {
				t.Errorf("error status = %v (%v)", got, span.Status())
			}
		})
	}
}

func TestRoutePath(t *testing.T) {
	for pattern, want := range map[string]string{
		"POST /slack/commands":   "/slack/commands",
		"/api/messages":          "/api/messages",
		"GET example.com/x/{id}": "/x/{id}",
		"example.com/":           "/",
	} {
		if got := routePath(pattern); got != want {
			t.Errorf("routePath(%q) = %q, want %q", pattern, got, want)
		}
	}
}
