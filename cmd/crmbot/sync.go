package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/internal/config"
	"github.com/crmbot/crmbot/internal/server"
	"github.com/crmbot/crmbot/internal/telemetry"
	"github.com/crmbot/crmbot/store"
	crmsync "github.com/crmbot/crmbot/sync"
)

// notifications is the "assigned to you" pipeline of one replica: the
// change-tracking poller (leases decide which replica syncs which record
// type), the delivery workers on the outbox, and the Dataverse webhook
// receiver that pokes the poller.
type notifications struct {
	poller    *crmsync.Poller
	deliverer *bot.Deliverer
	keys      []store.SyncKey // one per synced record type
}

// replicaName names this process in leases and the outbox consumer group:
// the host name (the pod's, in Kubernetes) and a random suffix, so a
// restarted process never inherits its predecessor's pending entries by
// name (they are claimed by idle time instead).
func replicaName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "crmbot"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return host + "-" + hex.EncodeToString(b)
}

// startNotifications builds the poller and the delivery workers and mounts
// /dataverse/webhook when a webhook secret is set.
func startNotifications(cfg *config.Config, dv config.Dataverse, webhookSecret string, st store.Store, core *bot.Core,
	catalog *crm.Catalog, throttle *crm.Throttle, srv *server.Server, logger *slog.Logger) (*notifications, error) {
	ts, err := crm.AppTokenSource(context.Background(), crm.AppCredentials{
		AuthorityURL: dv.AuthorityURL, TenantID: dv.TenantID, ClientID: dv.ClientID,
		ClientSecret: dv.ClientSecret, OrgURL: dv.URL,
	})
	if err != nil {
		return nil, fmt.Errorf("sync: app credentials: %w", err)
	}
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &oauth2.Transport{Source: ts, Base: telemetry.Transport(http.DefaultTransport)}}
	cl, err := crm.NewClient(dv.URL, hc, crm.WithCatalog(catalog), crm.WithLogger(logger),
		crm.WithObserver(srv.DataverseMetrics()), crm.WithThrottle(throttle, crm.PrincipalKey(dv.URL, "app")))
	if err != nil {
		return nil, err
	}
	var types []*crm.RecordType
	var keys []store.SyncKey
	org := orgKey(dv.URL)
	for _, rt := range catalog.ChatTypes() {
		if rt.Notify {
			types = append(types, rt)
			keys = append(keys, store.SyncKey{Org: org, RecordType: rt.Name})
		}
	}
	name := replicaName()
	p := &crmsync.Poller{
		Org: org, Types: types, Source: cl, Store: st, Bus: st, Holder: name,
		Interval: cfg.SyncInterval, LeaseTTL: cfg.SyncLease, Logger: logger, Metrics: crmsync.NewMetrics(srv.Registry),
	}
	if err := p.Init(); err != nil {
		return nil, err
	}
	d := &bot.Deliverer{
		Core: core, Store: st, Keys: keys, Consumer: name, RetryAfter: cfg.DeliveryRetry, Logger: logger,
		Metrics: bot.NewDeliveryMetrics(srv.Registry),
	}
	if err := d.Init(); err != nil {
		return nil, err
	}
	srv.Registry.MustRegister(newOutboxCollector(st, keys, logger))
	if webhookSecret != "" {
		outcomes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmbot_webhook_requests_total",
			Help: "Dataverse webhook calls by outcome (poked, ignored, unauthorized, bad_request, error)."}, []string{"outcome"})
		srv.Registry.MustRegister(outcomes)
		h := &crmsync.WebhookHandler{Secret: webhookSecret, HeaderName: cfg.WebhookHeader, Poke: p.Poke, Logger: logger,
			Observe: func(o string) { outcomes.WithLabelValues(o).Inc() }}
		if err := h.Init(); err != nil {
			return nil, err
		}
		srv.Handle("/dataverse/webhook", h)
		logger.Info("Dataverse webhook receiver", "endpoint", cfg.PublicURL+"/dataverse/webhook")
	} else {
		logger.Info("no Dataverse webhook (CRMBOT_WEBHOOK_SECRET unset): assignments are found by polling", "interval", p.Interval.String())
	}
	logger.Info("assignment notifications", "replica", name, "record_types", len(types), "interval", p.Interval.String(), "lease", p.LeaseTTL.String())
	return &notifications{poller: p, deliverer: d, keys: keys}, nil
}

// run syncs and delivers until ctx ends; leases are released on the way out.
func (n *notifications) run(ctx context.Context) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.deliverer.Run(ctx)
	}()
	n.poller.Run(ctx)
	<-done
}

// orgKey names the org in store keys: the host of its URL.
func orgKey(orgURL string) string {
	if u, err := url.Parse(orgURL); err == nil && u.Host != "" {
		return u.Host
	}
	return orgURL
}

// demoWebhookSecret is the secret the embedded sandbox's webhook emitter and
// our receiver share when none is configured: random per run.
func demoWebhookSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
