// Package telemetry turns on OpenTelemetry tracing when, and only when, the
// standard OTEL_* environment variables ask for it: spans go to an OTLP/HTTP
// (protobuf) endpoint, W3C traceparent carries the trace across
// services. With nothing set it installs nothing and costs nothing.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace/noop"
)

// DefaultServiceName is service.name when OTEL_SERVICE_NAME is empty.
const DefaultServiceName = "crmbot"

// The standard variables Setup decides on.
const (
	envSDKDisabled    = "OTEL_SDK_DISABLED"
	envTracesExporter = "OTEL_TRACES_EXPORTER"
	envEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	envServiceName    = "OTEL_SERVICE_NAME"
)

// Setup installs a global TracerProvider exporting to OTLP/HTTP when
// OTEL_EXPORTER_OTLP_ENDPOINT (spans go to its /v1/traces) or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is) is set, unless
// OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. getenv decides that
// and the endpoint and service name (OTEL_SERVICE_NAME, default "crmbot");
// the rest of the standard variables (OTEL_EXPORTER_OTLP_HEADERS, _TIMEOUT,
// _COMPRESSION, _CERTIFICATE, OTEL_TRACES_SAMPLER, OTEL_BSP_*,
// OTEL_RESOURCE_ATTRIBUTES) are read from the process environment by the
// OpenTelemetry SDK itself. Export errors are logged to logger at Warn.
//
// When enabled is false nothing was installed and shutdown is a no-op.
// Otherwise call shutdown before exiting: it flushes buffered spans (within
// ctx) and turns tracing off again.
func Setup(ctx context.Context, getenv func(string) string, version string, logger *slog.Logger) (shutdown func(context.Context) error, enabled bool, err error) {
	nothing := func(context.Context) error { return nil }
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if strings.EqualFold(strings.TrimSpace(getenv(envSDKDisabled)), "true") ||
		strings.EqualFold(strings.TrimSpace(getenv(envTracesExporter)), "none") {
		return nothing, false, nil
	}
	endpoint, err := tracesEndpoint(getenv)
	if err != nil || endpoint == "" {
		return nothing, false, err
	}
	if err := checkProtocol(getenv); err != nil {
		return nothing, false, err
	}
	if e := strings.TrimSpace(getenv(envTracesExporter)); e != "" && !strings.EqualFold(e, "otlp") {
		return nothing, false, fmt.Errorf("%s=%q: only otlp (or none) is supported", envTracesExporter, e)
	}

	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nothing, false, fmt.Errorf("opentelemetry: OTLP exporter for %s: %w", redactEndpoint(endpoint), err)
	}
	res, err := newResource(ctx, getenv, version)
	if err != nil {
		// A detector failed (a malformed OTEL_RESOURCE_ATTRIBUTES, say): the
		// partial resource still names the service, so trace anyway.
		logger.Warn("opentelemetry resource incomplete", "error", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))

	otel.SetTracerProvider(tp)
	// W3C trace context only: baggage from an unauthenticated caller (a
	// link callback, say) must not ride along to Entra, Dataverse, Slack
	// or the Bot Framework.
	otel.SetTextMapPropagator(propagation.TraceContext{})
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		logger.Warn("opentelemetry", "error", err)
	}))
	logger.Info("opentelemetry tracing on", "endpoint", redactEndpoint(endpoint), "service", serviceName(getenv))

	shutdown = func(ctx context.Context) error {
		err := tp.Shutdown(ctx) // flushes the batch, then stops the exporter
		// Back to off: OpenTelemetry's globals can be replaced but not unset.
		otel.SetTracerProvider(noop.NewTracerProvider())
		otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator())
		if err != nil {
			return fmt.Errorf("opentelemetry shutdown: %w", err)
		}
		return nil
	}
	return shutdown, true, nil
}

// tracesEndpoint is the URL spans are posted to ("" when none is set).
func tracesEndpoint(getenv func(string) string) (string, error) {
	if u := strings.TrimSpace(getenv(envTracesEndpoint)); u != "" {
		return checkURL(envTracesEndpoint, u)
	}
	u := strings.TrimSpace(getenv(envEndpoint))
	if u == "" {
		return "", nil
	}
	if _, err := checkURL(envEndpoint, u); err != nil {
		return "", err
	}
	// The general endpoint is a base: each signal appends its own path.
	return strings.TrimRight(u, "/") + "/v1/traces", nil
}

func checkURL(name, u string) (string, error) {
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return "", fmt.Errorf("%s=%q: want an http:// or https:// URL (OTLP/HTTP, e.g. http://localhost:4318)", name, redactEndpoint(u))
	}
	return u, nil
}

// checkProtocol refuses grpc and http/json: the exporter here speaks
// http/protobuf only, and a silent mismatch would just lose every span.
func checkProtocol(getenv func(string) string) error {
	for _, name := range []string{envTracesProtocol, envProtocol} {
		p := strings.TrimSpace(getenv(name))
		if p == "" {
			continue
		}
		if p != "http/protobuf" {
			return fmt.Errorf("%s=%q: only http/protobuf is supported (OTLP/HTTP, port 4318)", name, p)
		}
		return nil // the traces-specific variable wins over the general one
	}
	return nil
}

func serviceName(getenv func(string) string) string {
	if n := strings.TrimSpace(getenv(envServiceName)); n != "" {
		return n
	}
	return DefaultServiceName
}

func newResource(ctx context.Context, getenv func(string) string, version string) (*resource.Resource, error) {
	attrs := []resource.Option{
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(), // OTEL_RESOURCE_ATTRIBUTES
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(semconv.ServiceName(serviceName(getenv))),
	}
	if version != "" {
		attrs = append(attrs, resource.WithAttributes(semconv.ServiceVersion(version)))
	}
	res, err := resource.New(ctx, attrs...)
	if errors.Is(err, resource.ErrPartialResource) || errors.Is(err, resource.ErrSchemaURLConflict) {
		return res, err
	}
	if err != nil {
		return resource.Empty(), err
	}
	return res, nil
}

// redactEndpoint drops credentials and the query from an endpoint URL
// before it is logged or put in an error.
func redactEndpoint(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		if at := strings.LastIndex(u[i+3:], "@"); at >= 0 {
			u = u[:i+3] + u[i+3+at+1:]
		}
	}
	u, _, _ = strings.Cut(u, "?")
	return u
}
