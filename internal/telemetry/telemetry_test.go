package telemetry_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/crmbot/crmbot/internal/server"
	"github.com/crmbot/crmbot/internal/telemetry"
	"github.com/crmbot/crmbot/internal/testkit"
)

// receiver is an OTLP/HTTP collector: it decodes the protobuf requests the
// exporter posts, exactly as a real collector would.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	paths    []string
	requests []*coltracepb.ExportTraceServiceRequest
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		data, err := io.ReadAll(body)
		req := &coltracepb.ExportTraceServiceRequest{}
		if err == nil {
			err = proto.Unmarshal(data, req)
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-protobuf" || err != nil {
			t.Errorf("receiver got %s %s %q: %v", r.Method, r.URL.Path, r.Header.Get("Content-Type"), err)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.paths = append(rc.paths, r.URL.Path)
		rc.requests = append(rc.requests, req)
		rc.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// exported is one span with its resource, as the collector saw it.
type exported struct {
	span     *tracepb.Span
	resource map[string]string
}

func (rc *receiver) spans() []exported {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []exported
	for _, req := range rc.requests {
		for _, rs := range req.ResourceSpans {
			res := attrs(rs.GetResource().GetAttributes())
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					out = append(out, exported{span: s, resource: res})
				}
			}
		}
	}
	return out
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.requests)
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		switch v := kv.Value.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.Key] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.Key] = strconv.FormatInt(v.IntValue, 10)
		}
	}
	return m
}

// downstream stands for Dataverse or Slack: it remembers the traceparent
// of each call.
type downstream struct {
	*httptest.Server
	mu           sync.Mutex
	traceparents []string
}

func newDownstream(t *testing.T) *downstream {
	d := &downstream{}
	d.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.mu.Lock()
		d.traceparents = append(d.traceparents, r.Header.Get("traceparent"))
		d.mu.Unlock()
		io.WriteString(w, `{"value":[]}`)
	}))
	t.Cleanup(d.Close)
	return d
}

func (d *downstream) lastTraceparent() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.traceparents) == 0 {
		return "<no call>"
	}
	return d.traceparents[len(d.traceparents)-1]
}

// app is a crmbot server whose handler calls downstream through
// telemetry.Transport, as the Dataverse and Slack clients do.
func app(t *testing.T, logger *slog.Logger, down *downstream) *httptest.Server {
	s := server.New("127.0.0.1:0", logger)
	client := &http.Client{Transport: telemetry.Transport(nil)}
	s.Handle("GET /accounts/{id}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), "GET", down.URL+"/api/data/v9.2/accounts?$filter=secret", nil)
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		logger.InfoContext(r.Context(), "account shown")
		io.WriteString(w, "ok")
	}))
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return hs
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func get(t *testing.T, url string, header http.Header) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d", url, resp.StatusCode)
	}
	return resp
}

func logLine(t *testing.T, logs, msg, requestID string) map[string]any {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg && m["request_id"] == requestID {
			return m
		}
	}
	t.Fatalf("no %q line with request_id %s in\n%s", msg, requestID, logs)
	return nil
}

func hexID(b []byte) string { return hex.EncodeToString(b) }

// otelGoroutines lists goroutines running OpenTelemetry SDK or exporter
// code (the batch span processor's loop, an export in flight), giving ones
// that are already on their way out a second to finish.
func otelGoroutines() []string {
	var out []string
	for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		out = out[:0]
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "go.opentelemetry.io/otel/sdk") || strings.Contains(g, "otlptracehttp") {
				out = append(out, g)
			}
		}
		if len(out) == 0 || time.Now().After(deadline) {
			return out
		}
	}
}

func TestSetupExportsServerAndClientSpans(t *testing.T) {
	rc := newReceiver(t)
	down := newDownstream(t)
	var logs testkit.SyncBuffer
	logger, _ := server.NewLogger(&logs, "info")

	shutdown, enabled, err := telemetry.Setup(t.Context(), env(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT": rc.URL,
		"OTEL_SERVICE_NAME":           "crmbot-test",
	}), "1.2.3", logger)
	if err != nil || !enabled {
		t.Fatalf("Setup = %v, %v", enabled, err)
	}
	shutdownOnce := sync.OnceValue(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return shutdown(ctx)
	})
	t.Cleanup(func() { _ = shutdownOnce() })
	hs := app(t, logger, down)

	fresh := get(t, hs.URL+"/accounts/42", nil)
	freshID := fresh.Header.Get("X-Request-Id")
	freshTraceparent := down.lastTraceparent()

	const incomingTrace, incomingSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	continued := get(t, hs.URL+"/accounts/7", http.Header{"Traceparent": {"00-" + incomingTrace + "-" + incomingSpan + "-01"}})
	continuedID := continued.Header.Get("X-Request-Id")
	continuedTraceparent := down.lastTraceparent()

	if err := shutdownOnce(); err != nil { // flushes the batch to the receiver
		t.Fatal(err)
	}
	if g := otelGoroutines(); len(g) > 0 {
		t.Errorf("OpenTelemetry goroutines left after shutdown:\n%s", strings.Join(g, "\n\n"))
	}
	if _, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); ok {
		t.Error("the SDK provider is still installed after shutdown")
	}

	byRequest := map[string][]exported{} // server spans by request id
	var clients []exported
	for _, e := range rc.spans() {
		switch e.span.Kind {
		case tracepb.Span_SPAN_KIND_SERVER:
			id := attrs(e.span.Attributes)["crmbot.request_id"]
			byRequest[id] = append(byRequest[id], e)
		case tracepb.Span_SPAN_KIND_CLIENT:
			clients = append(clients, e)
		}
	}
	if len(clients) != 2 {
		t.Fatalf("%d client spans, want 2 (paths %v)", len(clients), rc.paths)
	}
	if rc.paths[0] != "/v1/traces" {
		t.Errorf("exported to %s, want /v1/traces under the endpoint", rc.paths[0])
	}
	clientOf := func(parent *tracepb.Span) *tracepb.Span {
		for _, c := range clients {
			if bytes.Equal(c.span.ParentSpanId, parent.SpanId) {
				return c.span
			}
		}
		t.Fatalf("no client span under server span %s", parent.Name)
		return nil
	}

	t.Run("server span with route and status", func(t *testing.T) {
		if len(byRequest[freshID]) != 1 {
			t.Fatalf("%d server spans for request %s", len(byRequest[freshID]), freshID)
		}
		e := byRequest[freshID][0]
		a := attrs(e.span.Attributes)
		if e.span.Name != "GET /accounts/{id}" || a["http.route"] != "/accounts/{id}" ||
			a["http.response.status_code"] != "200" || a["http.request.method"] != "GET" {
			t.Fatalf("server span %q %v", e.span.Name, a)
		}
		if e.resource["service.name"] != "crmbot-test" || e.resource["service.version"] != "1.2.3" {
			t.Fatalf("resource %v", e.resource)
		}
		if len(e.span.ParentSpanId) != 0 {
			t.Fatal("a request without traceparent got a parent")
		}
	})
	t.Run("client span in the same trace, traceparent sent", func(t *testing.T) {
		srv := byRequest[freshID][0].span
		cl := clientOf(srv)
		traceID := hexID(srv.TraceId)
		if hexID(cl.TraceId) != traceID {
			t.Fatalf("client trace %x, server trace %s", cl.TraceId, traceID)
		}
		a := attrs(cl.Attributes)
		if cl.Name != "GET" || a["http.response.status_code"] != "200" || strings.Contains(a["url.full"], "secret") {
			t.Fatalf("client span %q %v", cl.Name, a)
		}
		if want := "00-" + traceID + "-" + hexID(cl.SpanId) + "-01"; freshTraceparent != want {
			t.Fatalf("downstream got traceparent %q, want %q", freshTraceparent, want)
		}
	})
	t.Run("incoming traceparent is continued", func(t *testing.T) {
		if len(byRequest[continuedID]) != 1 {
			t.Fatalf("%d server spans for request %s", len(byRequest[continuedID]), continuedID)
		}
		srv := byRequest[continuedID][0].span
		if hexID(srv.TraceId) != incomingTrace || hexID(srv.ParentSpanId) != incomingSpan {
			t.Fatalf("server span trace %x parent %x", srv.TraceId, srv.ParentSpanId)
		}
		if hexID(clientOf(srv).TraceId) != incomingTrace || !strings.Contains(continuedTraceparent, incomingTrace) {
			t.Fatalf("trace not carried on: downstream traceparent %q", continuedTraceparent)
		}
	})
	t.Run("log lines of the request carry its trace id", func(t *testing.T) {
		for id, span := range map[string]*tracepb.Span{freshID: byRequest[freshID][0].span, continuedID: byRequest[continuedID][0].span} {
			for _, msg := range []string{"account shown", "http"} {
				line := logLine(t, logs.String(), msg, id)
				if line["trace_id"] != hexID(span.TraceId) || line["span_id"] != hexID(span.SpanId) {
					t.Errorf("%q line of %s: trace_id %v span_id %v, want %x %x", msg, id, line["trace_id"], line["span_id"], span.TraceId, span.SpanId)
				}
			}
		}
	})
}

func TestSetupTracesEndpointIsUsedAsIs(t *testing.T) {
	rc := newReceiver(t)
	shutdown, enabled, err := telemetry.Setup(t.Context(), env(map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://127.0.0.1:1", // the specific one wins
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": rc.URL + "/collector/traces",
	}), "", slog.New(slog.DiscardHandler))
	if err != nil || !enabled {
		t.Fatalf("Setup = %v, %v", enabled, err)
	}
	_, span := otel.Tracer("test").Start(t.Context(), "work")
	span.End()
	if err := shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(rc.paths) != 1 || rc.paths[0] != "/collector/traces" {
		t.Fatalf("exports went to %v", rc.paths)
	}
	if got := rc.spans()[0].resource["service.name"]; got != telemetry.DefaultServiceName {
		t.Fatalf("service.name = %q", got)
	}
}

func TestSetupDisabled(t *testing.T) {
	rc := newReceiver(t)
	for _, tt := range []struct {
		name string
		vars map[string]string
	}{
		{"no OTEL variables", nil},
		{"only a service name", map[string]string{"OTEL_SERVICE_NAME": "crmbot"}},
		{"OTEL_SDK_DISABLED=true", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": rc.URL}},
		{"OTEL_TRACES_EXPORTER=none", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": rc.URL + "/v1/traces"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			down := newDownstream(t)
			var logs testkit.SyncBuffer
			logger, _ := server.NewLogger(&logs, "info")
			before := runtime.NumGoroutine()
			shutdown, enabled, err := telemetry.Setup(t.Context(), env(tt.vars), "1.2.3", logger)
			if err != nil || enabled {
				t.Fatalf("Setup = %v, %v; want disabled", enabled, err)
			}
			if after := runtime.NumGoroutine(); after > before {
				t.Errorf("Setup started %d goroutines while disabled", after-before)
			}
			if _, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); ok {
				t.Fatal("an SDK tracer provider was installed")
			}
			hs := app(t, logger, down)
			id := get(t, hs.URL+"/accounts/1", nil).Header.Get("X-Request-Id")
			if err := shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
			if tp := down.lastTraceparent(); tp != "" {
				t.Errorf("outgoing call carried traceparent %q", tp)
			}
			if line := logLine(t, logs.String(), "http", id); line["trace_id"] != nil {
				t.Errorf("trace_id %v logged while tracing is off", line["trace_id"])
			}
			if len(otelGoroutines()) > 0 {
				t.Error("OpenTelemetry goroutines running while disabled")
			}
		})
	}
	if n := rc.count(); n != 0 {
		t.Fatalf("receiver got %d exports while disabled", n)
	}
}

func TestSetupRejectsWhatItCannotExport(t *testing.T) {
	for name, vars := range map[string]map[string]string{
		"grpc protocol":             {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
		"json traces protocol":      {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"},
		"endpoint without a scheme": {"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"},
		"another exporter":          {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4318", "OTEL_TRACES_EXPORTER": "zipkin"},
	} {
		t.Run(name, func(t *testing.T) {
			_, enabled, err := telemetry.Setup(t.Context(), env(vars), "", slog.New(slog.DiscardHandler))
			if err == nil || enabled {
				t.Fatalf("Setup = %v, %v; want an error", enabled, err)
			}
			if _, ok := otel.GetTracerProvider().(*sdktrace.TracerProvider); ok {
				t.Fatal("an SDK tracer provider was installed")
			}
		})
	}
	t.Run("http/protobuf traces protocol wins over a general grpc", func(t *testing.T) {
		shutdown, enabled, err := telemetry.Setup(t.Context(), env(map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
			"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
		}), "", slog.New(slog.DiscardHandler))
		if err != nil || !enabled {
			t.Fatalf("Setup = %v, %v", enabled, err)
		}
		if err := shutdown(t.Context()); err != nil {
			t.Fatal(err)
		}
	})
}
