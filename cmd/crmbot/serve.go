package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/bot/linkweb"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/internal/config"
	"github.com/crmbot/crmbot/internal/server"
	"github.com/crmbot/crmbot/internal/status"
	"github.com/crmbot/crmbot/internal/telemetry"
	"github.com/crmbot/crmbot/store"
)

// sandboxPrefix is where the embedded sandbox is mounted when no Dynamics is configured.
const sandboxPrefix = "/sandbox"

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	demoEvery := fs.Duration("demo-activity", 0, "with the embedded sandbox: reassign a record to a linked demo user this often (e.g. 30s; 0: off)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage, "\nserve flags (configuration is the environment: see README.md):\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	if *demoEvery != 0 && (!cfg.Dataverse.Sandbox() || *demoEvery < time.Second) {
		return fmt.Errorf("--demo-activity: needs the embedded sandbox (DATAVERSE_URL unset) and an interval of at least 1s, got %s", *demoEvery)
	}
	logger, err := server.NewLogger(stderr, cfg.LogLevel)
	if err != nil {
		return err
	}
	// The status page shows the last warnings and errors: a recorder sits
	// under the request-id layer, so what it keeps carries the ids too.
	recent := status.NewRecorder(logger.Handler(), 50)
	logger = slog.New(server.ContextHandler(recent))
	// Tracing is off unless the standard OTEL_* variables point at a
	// collector; spans of the drain are flushed on the way out.
	shutdownTracing, tracing, err := telemetry.Setup(ctx, getenv, version, logger)
	if err != nil {
		return err
	}
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdownTracing(c)
	}()
	if tracing {
		logger.Info("OpenTelemetry tracing on (OTLP/HTTP)")
	}
	catalog, err := crm.LoadCatalog(cfg.Catalog)
	if err != nil {
		return err
	}
	srv := server.New(cfg.Addr, logger)
	srv.DrainDelay = cfg.DrainDelay
	st, closeStore, err := openStore(cfg, logger)
	if err != nil {
		return err
	}
	defer closeStore()
	srv.AddCheck("store", st.Ping)

	dv := cfg.Dataverse
	webhookSecret := cfg.WebhookSecret
	var sb *sandbox.Sandbox
	if dv.Sandbox() {
		// One command runs the whole product: the sandbox stands in for Dynamics
		// and Entra on the same listener, under /sandbox, reached over real HTTP.
		base := cfg.PublicURL + sandboxPrefix
		// The sandbox plays a Dataverse webhook too: every assignment pokes
		// our receiver, over HTTP, as a real org's service endpoint would.
		if webhookSecret == "" {
			webhookSecret = demoWebhookSecret()
		}
		sb = sandbox.New(sandbox.Options{BaseURL: base, RedirectURIs: []string{cfg.PublicURL + "/link/callback"}, Logger: logger,
			Webhook: &sandbox.WebhookOptions{URL: cfg.PublicURL + "/dataverse/webhook", HeaderName: cfg.WebhookHeader, Secret: webhookSecret}})
		defer sb.Close()
		var h http.Handler = http.StripPrefix(sandboxPrefix, sb)
		if !cfg.SandboxPublic {
			h = sandbox.LoopbackOnly(h)
		} else {
			logger.Warn("the embedded sandbox is open to the network (CRMBOT_SANDBOX_PUBLIC): anyone who reaches it can sign in as any demo user")
		}
		srv.Handle(sandboxPrefix+"/", h)
		dv = config.Dataverse{
			URL: base, AuthorityURL: base, TenantID: sandbox.DefaultTenantID,
			ClientID: sandbox.DefaultClientID, ClientSecret: sandbox.DefaultClientSecret,
		}
		logger.Info("embedded Dataverse sandbox", "url", base, "users", len(sb.Users()))
	}
	logger.Info("starting crmbot", "version", version, "addr", cfg.Addr, "public_url", cfg.PublicURL,
		"dataverse", dv.URL, "record_types", len(catalog.ChatTypes()))

	links := &bot.LinkService{
		Store: st, PublicURL: cfg.PublicURL, Logger: logger,
		App: crm.AppCredentials{AuthorityURL: dv.AuthorityURL, TenantID: dv.TenantID, ClientID: dv.ClientID,
			ClientSecret: dv.ClientSecret, OrgURL: dv.URL},
		HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: telemetry.Transport(nil)},
		Observe:    linkMetrics(srv.Registry),
	}
	if err := links.Init(); err != nil {
		return err
	}
	(&linkweb.Handler{Links: links, Logger: logger}).Register(srv)
	logger.Info("account linking", "redirect_uri", links.RedirectURI(), "authority", dv.AuthorityURL)

	// One throttle registry for the process: a 429 pauses that principal for
	// every caller acting as it (Dataverse limits are per user).
	throttle := crm.NewThrottle()

	// The conversation core. The chat adapters hand it their requests and
	// register their Senders; a user who links gets the command they typed
	// carried out (OnLinked).
	core := &bot.Core{
		Store: st, Links: links, OrgURL: dv.URL, Catalog: catalog, Throttle: throttle, Logger: logger,
		Tokens:        &bot.UserTokens{Store: st, App: links.App, HTTPClient: links.HTTPClient, Logger: logger},
		ClientOptions: []crm.Option{crm.WithLogger(logger), crm.WithObserver(srv.DataverseMetrics())},
		Senders:       map[string]bot.Sender{},
	}
	if err := core.Init(); err != nil {
		return err
	}
	links.OnLinked = func(ctx context.Context, l store.Link, resume string) {
		if err := core.Resume(ctx, l, resume); err != nil {
			logger.Warn("could not greet a newly linked user", "chat_user", l.ChatUser.String(), "error", err)
		}
		// What was held while the link was broken goes out now.
		if err := st.WakeHeld(ctx, l.ChatUser, time.Now()); err != nil {
			logger.Warn("could not release held notifications", "chat_user", l.ChatUser.String(), "error", err)
		}
	}
	slackAdapter, socketMode, err := startSlack(cfg, st, core, srv, logger)
	if err != nil {
		return err
	}
	teamsAdapter, err := startTeams(cfg, st, core, srv, logger)
	if err != nil {
		return err
	}
	notif, err := startNotifications(cfg, dv, webhookSecret, st, core, catalog, throttle, srv, logger)
	if err != nil {
		return err
	}
	// The status page: behind CRMBOT_ADMIN_TOKEN; without one, only in the
	// demo (embedded sandbox) and only from loopback. With a real org a
	// same-host forwarder (a TLS terminator, a tunnel) would make every
	// visitor look local, so there it needs the token (as Teams' dev mode
	// needs the sandbox).
	if cfg.AdminToken != "" || sb != nil {
		statusPage := &status.Handler{Store: st, Syncer: notif.poller, Keys: notif.keys, Recorder: recent, Token: cfg.AdminToken,
			Logger: logger, Version: version, Replica: notif.poller.Holder}
		if err := statusPage.Init(); err != nil {
			return fmt.Errorf("status page: %w", err)
		}
		statusPage.Register(srv)
		if cfg.AdminToken == "" {
			logger.Info("status page: from this machine only (set CRMBOT_ADMIN_TOKEN to open it to operators)", "url", cfg.PublicURL+status.Path)
		} else {
			logger.Info("status page", "url", cfg.PublicURL+status.Path)
		}
	} else {
		logger.Info("status page off: set CRMBOT_ADMIN_TOKEN (at least 16 characters) to serve it", "path", status.Path)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { checkDataverse(ctx, srv, dv, catalog, throttle, logger) })
	if sb != nil {
		wg.Go(func() {
			select {
			case <-srv.Ready():
				printDemoBanner(stdout, demoBanner{cfg: cfg, addr: srv.ListenAddr(), users: len(sb.Users()), demoEvery: *demoEvery,
					webhook: webhookSecret != "", socketMode: socketMode != nil})
			case <-ctx.Done():
			}
		})
	}
	if sb != nil && *demoEvery > 0 {
		gen := &demoActivity{sb: sb, links: st, types: notif.poller.Types, every: *demoEvery, logger: logger,
			rnd: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))}
		wg.Go(func() {
			select {
			case <-srv.Ready():
				gen.run(ctx)
			case <-ctx.Done():
			}
		})
	}
	wg.Go(func() {
		// Sync and delivery start once the server listens (the sandbox and
		// the webhook receiver are on it).
		select {
		case <-srv.Ready():
			notif.run(ctx)
		case <-ctx.Done():
		}
	})
	if socketMode != nil {
		wg.Go(func() {
			if err := socketMode(ctx); err != nil && ctx.Err() == nil {
				logger.Error("Slack Socket Mode stopped", "error", err)
			}
		})
	}
	err = srv.Run(ctx)
	cancel()
	// Answers already acknowledged to Slack and Teams are finished, within
	// bounds.
	waitCtx, stop := context.WithTimeout(context.Background(), 20*time.Second)
	if slackAdapter != nil {
		if werr := slackAdapter.Wait(waitCtx); werr != nil {
			logger.Warn("Slack work still running at shutdown", "error", werr)
		}
	}
	if teamsAdapter != nil {
		if werr := teamsAdapter.Wait(waitCtx); werr != nil {
			logger.Warn("Teams work still running at shutdown", "error", werr)
		}
	}
	stop()
	// Sync (which releases its leases) and delivery stopped at the signal;
	// a loop stuck in a slow call is not worth a SIGKILL.
	loops := make(chan struct{})
	go func() { wg.Wait(); close(loops) }()
	select {
	case <-loops:
	case <-time.After(10 * time.Second):
		logger.Warn("background loops still running at exit; leaving them (their work is claimed by other replicas)")
	}
	return err
}

// linkMetrics counts account-link outcomes: crmbot_link_outcomes_total{outcome}.
func linkMetrics(reg prometheus.Registerer) func(bot.OutcomeKind) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "crmbot_link_outcomes_total",
		Help: "Account-link sign-ins and codes by outcome (linked, code_required, mismatch, expired, refused, unavailable).",
	}, []string{"outcome"})
	reg.MustRegister(c)
	return func(k bot.OutcomeKind) { c.WithLabelValues(k.String()).Inc() }
}
