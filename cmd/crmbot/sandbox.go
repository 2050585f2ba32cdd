package main

import (
	"context"
	"flag"
	"io"
	"strings"
	"time"

	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/internal/server"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// runSandbox serves the Dataverse sandbox alone, for curl, the dynamics-web-api
// e2e suite, or a crmbot pointed at it with DATAVERSE_URL.
func runSandbox(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8089", "listen address")
	baseURL := fs.String("base-url", "", "externally visible base URL (default http://ADDR)")
	tenant := fs.String("tenant", sandbox.DefaultTenantID, "tenant id of the sandbox directory")
	clientID := fs.String("client-id", sandbox.DefaultClientID, "client id of the demo app registration")
	clientSecret := fs.String("client-secret", sandbox.DefaultClientSecret, "client secret of the demo app registration")
	var redirects stringList
	fs.Var(&redirects, "redirect-uri", "registered redirect URI, matched exactly (repeatable; default "+sandbox.DefaultRedirectURI+")")
	records := fs.Int("records-per-type", 50, "seeded records per record type (-1: none)")
	seed := fs.Int64("seed", 0, "seed of the demo data generator (0: the default)")
	deltaTTL := fs.Duration("delta-token-ttl", 7*24*time.Hour, "age after which a change-tracking token expires")
	tokenTTL := fs.Duration("access-token-ttl", time.Hour, "lifetime of issued access tokens")
	latency := fs.Duration("latency", 0, "delay added to every Web API response")
	webhookURL := fs.String("webhook-url", "", "POST RemoteExecutionContext webhooks here on create, update and assign")
	webhookHeader := fs.String("webhook-header", "", "webhook auth header name (empty: ?code= WebhookKey)")
	webhookSecret := fs.String("webhook-secret", "", "webhook secret")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger, err := server.NewLogger(stderr, *logLevel)
	if err != nil {
		return err
	}
	opts := sandbox.Options{
		BaseURL: *baseURL, TenantID: *tenant, ClientID: *clientID, ClientSecret: *clientSecret,
		RedirectURIs: redirects, RecordsPerType: *records, Seed: *seed,
		DeltaTokenTTL: *deltaTTL, AccessTokenTTL: *tokenTTL, Logger: logger,
	}
	if *webhookURL != "" {
		opts.Webhook = &sandbox.WebhookOptions{URL: *webhookURL, HeaderName: *webhookHeader, Secret: *webhookSecret}
	}
	sb := sandbox.New(opts)
	defer sb.Close()
	if *latency > 0 {
		sb.SetFaults(sandbox.Faults{Latency: *latency})
	}
	// The same server as crmbot's own: access logs, /livez, /metrics, graceful drain.
	srv := server.New(*addr, logger)
	srv.ShutdownGrace = 5 * time.Second
	srv.Handle("/", sb)
	go func() {
		select {
		case <-srv.Ready():
		case <-ctx.Done():
			return
		}
		base := *baseURL
		if base == "" {
			base = "http://" + srv.ListenAddr()
		}
		logger.Info("Dataverse sandbox listening", "url", base, "web_api", base+sandbox.APIPath,
			"authority", base+"/"+*tenant, "client_id", *clientID, "faults", base+sandbox.FaultsPath)
	}()
	return srv.Run(ctx)
}
