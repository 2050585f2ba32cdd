package sync

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/store"
)

// Metrics are the sync's Prometheus series. A nil *Metrics records nothing.
type Metrics struct {
	cycles      *prometheus.CounterVec
	cycleTime   *prometheus.HistogramVec
	changes     *prometheus.CounterVec
	events      *prometheus.CounterVec
	baseline    *prometheus.CounterVec
	rebaselines *prometheus.CounterVec
	pokes       *prometheus.CounterVec
	age         *prometheus.GaugeVec
}

// NewMetrics registers the sync's series on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		cycles: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmbot_sync_cycles_total",
			Help: "Sync cycles (delta or baseline reads) by record type and outcome (ok, throttled, lease_lost, error)."}, []string{"record_type", "outcome"}),
		cycleTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "crmbot_sync_cycle_duration_seconds",
			Help: "Duration of sync cycles by record type.", Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}}, []string{"record_type"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmbot_sync_changes_total",
			Help: "Changed rows read from change tracking, by record type."}, []string{"record_type"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmbot_sync_events_total",
			Help: "Notification events put in the outbox, by record type."}, []string{"record_type"}),
		baseline: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmbot_sync_baseline_rows_total",
			Help: "Rows read by baselines (no notifications), by record type."}, []string{"record_type"}),
		rebaselines: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmbot_sync_rebaselines_total",
			Help: "Re-baselines after an expired change-tracking token, by record type."}, []string{"record_type"}),
		pokes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmbot_sync_pokes_total",
			Help: "Delta reads started early by a Dataverse webhook, by record type."}, []string{"record_type"}),
		age: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "crmbot_sync_lag_seconds",
			Help: "Age of the stored change-tracking cursor when the last delta read started (how far behind the sync was), by record type."}, []string{"record_type"}),
	}
	reg.MustRegister(m.cycles, m.cycleTime, m.changes, m.events, m.baseline, m.rebaselines, m.pokes, m.age)
	return m
}

func (m *Metrics) cycle(rt string, err error, d time.Duration) {
	if m == nil {
		return
	}
	outcome := "ok"
	switch {
	case err == nil:
	case errors.Is(err, crm.ErrThrottled):
		outcome = "throttled"
	case errors.Is(err, store.ErrStaleFence), errors.Is(err, store.ErrLeaseLost):
		outcome = "lease_lost"
	default:
		outcome = "error"
	}
	m.cycles.WithLabelValues(rt, outcome).Inc()
	m.cycleTime.WithLabelValues(rt).Observe(d.Seconds())
}

func (m *Metrics) page(rt string, rows, events int) {
	if m == nil {
		return
	}
	m.changes.WithLabelValues(rt).Add(float64(rows))
	m.events.WithLabelValues(rt).Add(float64(events))
}

func (m *Metrics) baselineRows(rt string, n int) {
	if m != nil {
		m.baseline.WithLabelValues(rt).Add(float64(n))
	}
}

func (m *Metrics) rebaseline(rt string) {
	if m != nil {
		m.rebaselines.WithLabelValues(rt).Inc()
	}
}

func (m *Metrics) poked(rt string) {
	if m != nil {
		m.pokes.WithLabelValues(rt).Inc()
	}
}

func (m *Metrics) cursorAge(rt string, d time.Duration) {
	if m != nil {
		m.age.WithLabelValues(rt).Set(d.Seconds())
	}
}
