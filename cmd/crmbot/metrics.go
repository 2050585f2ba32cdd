package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmbot/crmbot/store"
)

// outboxCollector reports the outbox of every synced record type at scrape
// time, read from the store, so every replica reports the same figures
// (the outbox is shared): crmbot_outbox_depth, crmbot_outbox_pending,
// crmbot_outbox_oldest_age_seconds and crmbot_dead_letters, by record type.
type outboxCollector struct {
	stats  store.Stats
	keys   []store.SyncKey
	logger *slog.Logger
	now    func() time.Time

	depth, pending, oldest, dead, up *prometheus.Desc
}

func newOutboxCollector(stats store.Stats, keys []store.SyncKey, logger *slog.Logger) *outboxCollector {
	l := []string{"record_type"}
	return &outboxCollector{
		stats: stats, keys: keys, logger: logger, now: time.Now,
		depth:   prometheus.NewDesc("crmbot_outbox_depth", "Notifications not yet delivered (waiting or being delivered), by record type.", l, nil),
		pending: prometheus.NewDesc("crmbot_outbox_pending", "Notifications a delivery worker holds and has not acknowledged yet, by record type.", l, nil),
		oldest:  prometheus.NewDesc("crmbot_outbox_oldest_age_seconds", "Age of the oldest notification not yet delivered (0 when none), by record type.", l, nil),
		dead:    prometheus.NewDesc("crmbot_dead_letters", "Notifications given up after every attempt (retry them from /status), by record type.", l, nil),
		up:      prometheus.NewDesc("crmbot_outbox_stats_up", "1 when the outbox figures could be read from the store at this scrape.", nil, nil),
	}
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.depth, c.pending, c.oldest, c.dead, c.up} {
		ch <- d
	}
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	up := 1.0
	for _, k := range c.keys {
		s, err := c.stats.OutboxStats(ctx, k)
		if err != nil {
			c.logger.Warn("metrics: could not read the outbox", "record_type", k.RecordType, "error", err)
			up = 0
			continue
		}
		age := 0.0
		if !s.Oldest.IsZero() {
			age = max(c.now().Sub(s.Oldest).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(c.depth, prometheus.GaugeValue, float64(s.Depth), k.RecordType)
		ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(s.Pending), k.RecordType)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age, k.RecordType)
		ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(s.Dead), k.RecordType)
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
}
