package telemetry

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// tracerName names the instrumentation scope of client spans.
const tracerName = "github.com/crmbot/crmbot/internal/telemetry"

// Transport wraps base (nil: http.DefaultTransport) so that every request
// gets a client span, a child of the span in its context, and carries the
// trace onward in a traceparent header. It uses the global provider and
// propagator at each request, so it can be built before Setup runs; while
// tracing is off it adds no header and records nothing.
func Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	if t, ok := base.(*transport); ok {
		return t // wrapping twice would make two spans per call
	}
	return &transport{base: base}
}

type transport struct{ base http.RoundTripper }

// RoundTrip implements http.RoundTripper. The span ends when the response
// body is read to its end or closed, so it covers the whole exchange.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, span := otel.GetTracerProvider().Tracer(tracerName).Start(req.Context(), req.Method,
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(clientAttributes(req)...))
	// A RoundTripper must not change the caller's request: headers go on a copy.
	out := req.Clone(ctx)
	otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(out.Header))

	resp, err := t.base.RoundTrip(out)
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		span.SetAttributes(semconv.ErrorTypeKey.String(errorType(err)))
		span.End()
		return resp, err
	}
	span.SetAttributes(semconv.HTTPResponseStatusCode(resp.StatusCode))
	if resp.StatusCode >= 400 {
		// For a client every 4xx/5xx is a failed call (OpenTelemetry HTTP conventions).
		span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
		span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(resp.StatusCode)))
	}
	if resp.Body == nil || resp.Body == http.NoBody || resp.StatusCode == http.StatusSwitchingProtocols {
		span.End()
		return resp, nil
	}
	resp.Body = &spanBody{ReadCloser: resp.Body, span: span}
	return resp, nil
}

// clientAttributes describes the call without its query or credentials:
// Dataverse filters and Slack parameters can name people.
func clientAttributes(req *http.Request) []attribute.KeyValue {
	u := *req.URL
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(req.Method),
		semconv.URLFull(u.String()),
		semconv.ServerAddress(req.URL.Hostname()),
	}
	port := req.URL.Port()
	switch {
	case port != "":
	case req.URL.Scheme == "https":
		port = "443"
	case req.URL.Scheme == "http":
		port = "80"
	}
	if n, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, semconv.ServerPort(n))
	}
	return attrs
}

// errorType is error.type for a call that got no response.
func errorType(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "_OTHER" // the conventions' value for "none of the known ones"
}

// spanBody ends the span once, on EOF, a read error or Close.
type spanBody struct {
	io.ReadCloser
	span trace.Span
	once sync.Once
}

func (b *spanBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		if err != io.EOF {
			b.span.RecordError(err)
			b.span.SetStatus(codes.Error, "read response body: "+err.Error())
		}
		b.end()
	}
	return n, err
}

func (b *spanBody) Close() error {
	err := b.ReadCloser.Close()
	b.end()
	return err
}

func (b *spanBody) end() { b.once.Do(func() { b.span.End() }) }
