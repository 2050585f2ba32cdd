package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/crmbot/crmbot/bot"
	slackbot "github.com/crmbot/crmbot/bot/slack"
	"github.com/crmbot/crmbot/internal/config"
	"github.com/crmbot/crmbot/internal/server"
	"github.com/crmbot/crmbot/internal/telemetry"
	"github.com/crmbot/crmbot/store"
)

// startSlack builds the Slack adapter when Slack is configured: HTTP mode
// (signed requests on /slack/*) or Socket Mode (SLACK_APP_TOKEN), one
// workspace (SLACK_BOT_TOKEN) or many (SLACK_CLIENT_ID: /slack/install). It
// registers the adapter as the core's Slack sender and returns the function
// that runs Socket Mode (nil in HTTP mode) and the adapter (nil when Slack
// is off).
func startSlack(cfg *config.Config, st store.Store, core *bot.Core, srv *server.Server, logger *slog.Logger) (*slackbot.Adapter, func(context.Context) error, error) {
	sc := cfg.Slack
	if !sc.Enabled() {
		logger.Info("Slack is off (set SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET for HTTP mode, or with SLACK_APP_TOKEN for Socket Mode)")
		return nil, nil, nil
	}
	httpClient := &http.Client{Timeout: 15 * time.Second, Transport: telemetry.Transport(nil)}
	var tokens slackbot.TokenSource = slackbot.StaticToken(sc.BotToken)
	var uninstall slackbot.Uninstaller
	if sc.ClientID != "" {
		inst := &slackbot.Installer{ClientID: sc.ClientID, ClientSecret: sc.ClientSecret, PublicURL: cfg.PublicURL,
			APIURL: sc.APIURL, Store: st, Nonces: st, Locker: st, HTTPClient: httpClient, Logger: logger}
		if err := inst.Check(); err != nil {
			return nil, nil, err
		}
		srv.Handle("GET "+slackbot.InstallStartPath, http.HandlerFunc(inst.Start))
		srv.Handle("GET "+slackbot.InstallCallbackPath, http.HandlerFunc(inst.Callback))
		uninstall = inst
		tokens = fallbackTokens{inst, slackbot.StaticToken(sc.BotToken)}
		logger.Info("Slack multi-workspace install", "install_url", cfg.PublicURL+slackbot.InstallStartPath)
	}
	a := &slackbot.Adapter{Core: core, Tokens: tokens, SigningSecret: sc.SigningSecret, APIURL: sc.APIURL,
		HTTPClient: httpClient, Dedupe: st, Uninstall: uninstall, Logger: logger}
	if err := a.Init(!sc.SocketMode()); err != nil {
		return nil, nil, err
	}
	core.Senders[store.PlatformSlack] = a
	if sc.SocketMode() {
		logger.Info("Slack in Socket Mode")
		return a, func(ctx context.Context) error { return a.RunSocketMode(ctx, sc.AppToken) }, nil
	}
	a.Routes(srv)
	logger.Info("Slack in HTTP mode", "commands", cfg.PublicURL+"/slack/commands")
	return a, nil, nil
}

// fallbackTokens tries the installations first, then the single
// workspace's SLACK_BOT_TOKEN when one is set.
type fallbackTokens struct {
	installs *slackbot.Installer
	single   slackbot.StaticToken
}

func (f fallbackTokens) BotToken(ctx context.Context, teamID, enterpriseID string) (string, error) {
	tok, err := f.installs.BotToken(ctx, teamID, enterpriseID)
	if errors.Is(err, store.ErrNotFound) && f.single != "" {
		return string(f.single), nil
	}
	return tok, err
}
