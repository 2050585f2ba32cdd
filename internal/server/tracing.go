package server

import (
	"context"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names the instrumentation scope of server spans.
const tracerName = "github.com/crmbot/crmbot/internal/server"

// attrRequestID carries the X-Request-Id on server spans, so a log line's
// request_id finds its trace and back.
const attrRequestID = "crmbot.request_id"

// startSpan starts the server span of one request, continuing the trace of an
// incoming traceparent. Without an installed tracer provider (telemetry off)
// the global one is a no-op and this costs next to nothing.
func (s *Server) startSpan(ctx context.Context, r *http.Request, route, id string) (context.Context, trace.Span) {
	prop := s.Propagator
	if prop == nil {
		prop = otel.GetTextMapPropagator()
	}
	tp := s.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	ctx = prop.Extract(ctx, propagation.HeaderCarrier(r.Header))
	path := routePath(route)
	return tp.Tracer(tracerName).Start(ctx, r.Method+" "+path,
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			semconv.HTTPRequestMethodKey.String(r.Method),
			semconv.HTTPRoute(path),
			semconv.URLPath(r.URL.Path), // never the query: it can carry OAuth codes
			attribute.String(attrRequestID, id),
		))
}

// endSpan records the outcome; 5xx answers (and panics) are errors, 4xx are
// the client's business, as OpenTelemetry's HTTP conventions say for servers.
func endSpan(span trace.Span, status int, panicked bool) {
	span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	switch {
	case panicked:
		span.SetStatus(codes.Error, "handler panic")
	case status >= 500:
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}

// routePath is the path part of a ServeMux pattern: "POST /slack/commands"
// → "/slack/commands", "example.com/x" → "/x".
func routePath(pattern string) string {
	if _, after, ok := strings.Cut(pattern, " "); ok {
		pattern = strings.TrimSpace(after)
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:]
	}
	return pattern
}
