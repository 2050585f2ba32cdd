package telemetry_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/crmbot/crmbot/internal/telemetry"
)

// recordGlobally installs an in-memory tracer provider as the global one for
// the test, as Setup would install the exporting one.
func recordGlobally(t *testing.T) *tracetest.SpanRecorder {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		_ = tp.Shutdown(t.Context())
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
	})
	return spans
}

func TestTransport(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Traceparent-Seen", r.Header.Get("traceparent"))
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, "body")
	}))
	defer up.Close()
	client := &http.Client{Transport: telemetry.Transport(nil)}

	t.Run("span lasts until the body is closed", func(t *testing.T) {
		spans := recordGlobally(t)
		resp, err := client.Get(up.URL + "/ok")
		if err != nil {
			t.Fatal(err)
		}
		if n := len(spans.Ended()); n != 0 {
			t.Fatalf("%d spans ended before the body was read", n)
		}
		resp.Body.Close()
		ended := spans.Ended()
		if len(ended) != 1 || ended[0].Status().Code == codes.Error {
			t.Fatalf("spans %v", ended)
		}
		if resp.Header.Get("X-Traceparent-Seen") == "" {
			t.Fatal("no traceparent sent")
		}
	})
	t.Run("4xx is a failed call", func(t *testing.T) {
		spans := recordGlobally(t)
		resp, err := client.Get(up.URL + "/missing")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.ReadAll(resp.Body) // EOF alone ends the span
		if ended := spans.Ended(); len(ended) != 1 || ended[0].Status().Code != codes.Error {
			t.Fatalf("spans %v", ended)
		}
		resp.Body.Close()
	})
	t.Run("unreachable host is a failed call", func(t *testing.T) {
		spans := recordGlobally(t)
		if _, err := client.Get("http://127.0.0.1:1/"); err == nil {
			t.Fatal("no error")
		}
		if ended := spans.Ended(); len(ended) != 1 || ended[0].Status().Code != codes.Error {
			t.Fatalf("spans %v", ended)
		}
	})
	t.Run("the caller's request is left alone", func(t *testing.T) {
		recordGlobally(t)
		req, _ := http.NewRequestWithContext(t.Context(), "GET", up.URL+"/ok", nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := req.Header.Get("traceparent"); got != "" {
			t.Fatalf("traceparent %q written into the caller's request", got)
		}
	})
	t.Run("wrapping twice keeps one layer", func(t *testing.T) {
		tr := telemetry.Transport(http.DefaultTransport)
		if telemetry.Transport(tr) != tr {
			t.Fatal("second layer added")
		}
	})
}
