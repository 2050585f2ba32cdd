package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// Keys the context handler adds to records logged with a request's context.
const (
	logKeyRequestID = "request_id"
	logKeyTraceID   = "trace_id"
	logKeySpanID    = "span_id"
)

// NewLogger returns crmbot's JSON logger at the given level (debug, info, warn, error).
// Records logged with a request's context (logger.InfoContext(ctx, ...)) carry
// its request_id, and trace_id and span_id while a span is recording.
func NewLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(strings.TrimSpace(level)))); err != nil && level != "" {
		return nil, fmt.Errorf("CRMBOT_LOG_LEVEL: %q is not one of debug, info, warn, error", level)
	}
	return slog.New(ContextHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))), nil
}

// ContextHandler wraps h so that records logged with a context carry the
// request id (request_id) the server gave that context and, while a span is
// recording, its trace_id and span_id. Wrapping twice is harmless. Put it
// outermost when stacking handlers so every layer sees the ids.
func ContextHandler(h slog.Handler) slog.Handler {
	if c, ok := h.(*contextHandler); ok {
		return c
	}
	return &contextHandler{next: h}
}

type contextHandler struct{ next slog.Handler }

func (h *contextHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *contextHandler) Handle(ctx context.Context, rec slog.Record) error {
	if ctx == nil {
		return h.next.Handle(ctx, rec)
	}
	// A caller that logs its own request_id (a Dataverse service request id,
	// say) keeps it, and a second wrapper further down adds nothing again: a
	// JSON object with a key twice reads badly everywhere.
	hasID, hasTrace := false, false
	rec.Attrs(func(a slog.Attr) bool {
		hasID = hasID || a.Key == logKeyRequestID
		hasTrace = hasTrace || a.Key == logKeyTraceID
		return !hasID || !hasTrace
	})
	if id := RequestID(ctx); id != "" && !hasID {
		rec.AddAttrs(slog.String(logKeyRequestID, id))
	}
	if span := trace.SpanFromContext(ctx); span.IsRecording() && !hasTrace {
		if sc := span.SpanContext(); sc.IsValid() {
			rec.AddAttrs(slog.String(logKeyTraceID, sc.TraceID().String()), slog.String(logKeySpanID, sc.SpanID().String()))
		}
	}
	return h.next.Handle(ctx, rec)
}

// WithAttrs and WithGroup keep the wrapper on top. Under a group the ids are
// logged inside that group, as every attribute of the record is.
func (h *contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &contextHandler{next: h.next.WithAttrs(attrs)}
}

func (h *contextHandler) WithGroup(name string) slog.Handler {
	return &contextHandler{next: h.next.WithGroup(name)}
}
