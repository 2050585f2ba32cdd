package server

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DataverseMetrics records Dataverse calls on the server's registry. It
// satisfies crm.Observer (declared by its consumer, the crm client).
type DataverseMetrics struct {
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	throttled prometheus.Counter
	waited    prometheus.Histogram
}

// DataverseMetrics returns the server's Dataverse metrics, registering them once.
func (s *Server) DataverseMetrics() *DataverseMetrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dvMetrics != nil {
		return s.dvMetrics
	}
	m := &DataverseMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "crmbot_dataverse_requests_total", Help: "Dataverse Web API requests by client operation and HTTP status (0: no response).",
		}, []string{"op", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "crmbot_dataverse_request_duration_seconds", Help: "Dataverse Web API latency by client operation.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"op"}),
		throttled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "crmbot_dataverse_throttled_total", Help: "Dataverse 429 answers (service protection limits).",
		}),
		waited: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "crmbot_dataverse_throttle_wait_seconds", Help: "Pauses imposed by Dataverse Retry-After.",
			Buckets: []float64{.5, 1, 2, 5, 10, 30, 60, 300},
		}),
	}
	s.Registry.MustRegister(m.requests, m.latency, m.throttled, m.waited)
	s.dvMetrics = m
	return m
}

// ObserveRequest counts one Dataverse request.
func (m *DataverseMetrics) ObserveRequest(op string, status int, d time.Duration) {
	m.requests.WithLabelValues(op, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(op).Observe(d.Seconds())
}

// ObserveThrottled counts one 429 and the pause it imposed. The principal is
// not a label: one series per user would grow without bound.
func (m *DataverseMetrics) ObserveThrottled(_ string, wait time.Duration) {
	m.throttled.Inc()
	m.waited.Observe(wait.Seconds())
}
