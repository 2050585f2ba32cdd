package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/crmbot/crmbot/bot"
	teamsbot "github.com/crmbot/crmbot/bot/teams"
	"github.com/crmbot/crmbot/internal/config"
	"github.com/crmbot/crmbot/internal/server"
	"github.com/crmbot/crmbot/internal/telemetry"
	"github.com/crmbot/crmbot/store"
)

// startTeams builds the Teams adapter when Teams is on: with an app id
// (MICROSOFT_APP_*: Bot Framework JWTs checked, app tokens for outbound
// calls), or in local dev mode (no app id and the embedded sandbox: the
// Agents Playground from loopback). It mounts /api/messages and registers
// the adapter as the core's Teams sender; nil when Teams is off.
func startTeams(cfg *config.Config, st store.Store, core *bot.Core, srv *server.Server, logger *slog.Logger) (*teamsbot.Adapter, error) {
	tc := cfg.Teams
	if !tc.Enabled() {
		logger.Info("Teams is off: with a real Dynamics, set MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD and MICROSOFT_APP_TENANT_ID")
		return nil, nil
	}
	conn := &teamsbot.Connector{AppID: tc.AppID, AppPassword: tc.AppPassword, TenantID: tc.TenantID, Logger: logger,
		HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: telemetry.Transport(nil)}}
	a := &teamsbot.Adapter{Core: core, Connector: conn, Conversations: st, AppID: tc.AppID, DevMode: tc.DevMode,
		Dedupe: st, Logger: logger}
	if !tc.DevMode {
		conn.TokenURL = tc.TokenURL()
		a.Auth = &teamsbot.Authenticator{AppID: tc.AppID, OpenIDURL: tc.OpenIDURL, Logger: logger}
	}
	if err := a.Init(); err != nil {
		return nil, err
	}
	a.Routes(srv)
	core.Senders[store.PlatformTeams] = a
	if tc.DevMode {
		logger.Info("Teams in local dev mode (Agents Playground)", "endpoint", cfg.PublicURL+teamsbot.Path)
	} else {
		logger.Info("Teams", "endpoint", cfg.PublicURL+teamsbot.Path, "app_id", tc.AppID)
	}
	return a, nil
}
