// Package server is the one HTTP server every crmbot endpoint plugs into: it
// owns the listener, graceful shutdown, /livez, /readyz (/healthz), /metrics,
// request ids, access logs, per-route metrics and server spans.
package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// Check is a readiness check: a dependency (Redis, ...) that must answer for
// this replica to take traffic. /livez never runs checks.
type Check func(ctx context.Context) error

// Server is crmbot's HTTP server. Register handlers with Handle before Run.
type Server struct {
	// Addr is the listen address (CRMBOT_ADDR).
	Addr string
	// Logger receives access logs and errors; never request bodies or tokens.
	Logger *slog.Logger
	// Registry holds the process's Prometheus metrics, served on /metrics.
	Registry *prometheus.Registry
	// ShutdownGrace bounds how long in-flight requests may take after SIGTERM.
	ShutdownGrace time.Duration
	// DrainDelay is how long the server keeps serving after SIGTERM with
	// /readyz answering 503, before it stops accepting: a load balancer
	// (or a Kubernetes endpoint controller) sees the replica leave before
	// its listener closes, so no request is refused at the door.
	DrainDelay time.Duration
	// CheckTimeout bounds each readiness check.
	CheckTimeout time.Duration
	// TracerProvider makes the server spans; nil: OpenTelemetry's global one
	// (a no-op unless telemetry.Setup installed an exporter).
	TracerProvider trace.TracerProvider
	// Propagator reads an incoming traceparent; nil: the global one.
	Propagator propagation.TextMapPropagator

	mux       *http.ServeMux
	mu        sync.Mutex
	checks    map[string]Check
	draining  atomic.Bool
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	inflight  prometheus.Gauge
	listener  net.Listener
	ready     chan struct{}
	dvMetrics *DataverseMetrics
}

// New returns a server with the operational endpoints registered.
func New(addr string, logger *slog.Logger) *Server {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s := &Server{
		Addr: addr, Logger: logger, Registry: reg,
		ShutdownGrace: 25 * time.Second, CheckTimeout: 2 * time.Second,
		mux: http.NewServeMux(), checks: map[string]Check{}, ready: make(chan struct{}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmbot_http_requests_total", Help: "HTTP requests served, by route and status class.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "crmbot_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 3, 5, 10},
		}, []string{"route"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "crmbot_http_requests_in_flight", Help: "HTTP requests being served.",
		}),
	}
	reg.MustRegister(s.requests, s.latency, s.inflight)
	s.mux.HandleFunc("GET /livez", func(w http.ResponseWriter, r *http.Request) { writeText(w, http.StatusOK, "ok\n") })
	s.mux.HandleFunc("GET /readyz", s.serveReady)
	s.mux.HandleFunc("GET /healthz", s.serveReady)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	return s
}

// Handle registers h for pattern (http.ServeMux syntax) with logging, request
// ids, panic recovery, metrics labelled by pattern and a server span named
// "METHOD path-pattern".
func (s *Server) Handle(pattern string, h http.Handler) {
	s.mux.Handle(pattern, s.instrument(pattern, h))
}

// AddCheck registers a named readiness check.
func (s *Server) AddCheck(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = c
}

// Handler returns the root handler (for tests that use httptest).
func (s *Server) Handler() http.Handler { return s.mux }

// Ready is closed once Run is listening.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// ListenAddr is the bound address once Ready is closed (useful with port 0).
func (s *Server) ListenAddr() string {
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// Run listens and serves until ctx is cancelled, then drains: readiness turns
// 503 at once, requests are still served for DrainDelay, then the listener
// closes and in-flight requests get ShutdownGrace to finish.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (CRMBOT_ADDR): %w", s.Addr, err)
	}
	s.listener = ln
	srv := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	close(s.ready)
	s.Logger.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.draining.Store(true)
	if s.DrainDelay > 0 {
		s.Logger.Info("draining: /readyz answers 503, still serving", "delay", s.DrainDelay.String())
		time.Sleep(s.DrainDelay)
	}
	s.Logger.Info("shutting down", "grace", s.ShutdownGrace.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeText(w, http.StatusServiceUnavailable, "draining\n")
		return
	}
	s.mu.Lock()
	checks := make(map[string]Check, len(s.checks))
	for k, v := range s.checks {
		checks[k] = v
	}
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(r.Context(), s.CheckTimeout)
	defer cancel()
	var failed []string
	for name, c := range checks {
		if err := c(ctx); err != nil {
			s.Logger.Warn("readiness check failed", "check", name, "err", err)
			failed = append(failed, name)
		}
	}
	if len(failed) > 0 {
		writeText(w, http.StatusServiceUnavailable, fmt.Sprintf("not ready: %v\n", failed))
		return
	}
	writeText(w, http.StatusOK, "ok\n")
}

type ctxKey int

const requestIDKey ctxKey = 0

// RequestID returns the id the server gave the request ("" outside a request).
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// maxRequestIDLen bounds an accepted incoming X-Request-Id.
const maxRequestIDLen = 64

// requestID keeps the caller's X-Request-Id when it is a short safe token, so
// one id follows a request through a proxy; anything else (absent, long, or
// with characters that could forge log lines or headers) gets a fresh id.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); validRequestID(id) {
		return id
	}
	return newRequestID()
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (flush, deadlines).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r)
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), requestIDKey, id)
		ctx, span := s.startSpan(ctx, r, route, id)
		// The ids come from ctx even when s.Logger was not made by NewLogger.
		log := slog.New(ContextHandler(s.Logger.Handler()))
		rec := &statusRecorder{ResponseWriter: w}
		s.inflight.Inc()
		defer func() {
			s.inflight.Dec()
			p := recover()
			if p != nil {
				if p == http.ErrAbortHandler {
					endSpan(span, http.StatusInternalServerError, true)
					panic(p)
				}
				log.ErrorContext(ctx, "handler panic", "route", route, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if rec.status == 0 {
					writeText(rec, http.StatusInternalServerError, "internal error\n")
				}
			}
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			d := time.Since(start)
			s.requests.WithLabelValues(route, fmt.Sprintf("%dxx", rec.status/100)).Inc()
			s.latency.WithLabelValues(route).Observe(d.Seconds())
			// Path only: query strings can carry codes and states (OAuth callbacks).
			log.InfoContext(ctx, "http", "route", route, "method", r.Method, "path", r.URL.Path,
				"status", rec.status, "duration_ms", d.Milliseconds())
			endSpan(span, rec.status, p != nil) // after the access log, which carries the trace id
		}()
		h.ServeHTTP(rec, r.WithContext(ctx))
	})
}

func writeText(w http.ResponseWriter, status int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(s))
}
