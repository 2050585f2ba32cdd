package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/internal/config"
	"github.com/crmbot/crmbot/internal/server"
	"github.com/crmbot/crmbot/internal/telemetry"
)

// checkDataverse runs the start-up checks against Dynamics once the server
// listens: the app registration can get a token, the application user exists,
// and change tracking is enabled on every table sync reads. Problems are logged
// loudly with what to do; they do not stop the server, since the user-facing
// commands work without sync.
func checkDataverse(ctx context.Context, srv *server.Server, dv config.Dataverse, cat *crm.Catalog, throttle *crm.Throttle, logger *slog.Logger) {
	select {
	case <-srv.Ready():
	case <-ctx.Done():
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	log := logger.With("check", "dataverse", "url", dv.URL)
	ts, err := crm.AppTokenSource(ctx, crm.AppCredentials{
		AuthorityURL: dv.AuthorityURL, TenantID: dv.TenantID, ClientID: dv.ClientID,
		ClientSecret: dv.ClientSecret, OrgURL: dv.URL,
	})
	if err != nil {
		log.Error("app credentials unusable; check DATAVERSE_TENANT_ID, DATAVERSE_CLIENT_ID, DATAVERSE_CLIENT_SECRET", "err", err)
		return
	}
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &oauth2.Transport{Source: ts, Base: telemetry.Transport(http.DefaultTransport)}}
	cl, err := crm.NewClient(dv.URL, hc, crm.WithCatalog(cat), crm.WithLogger(logger),
		crm.WithObserver(srv.DataverseMetrics()), crm.WithThrottle(throttle, crm.PrincipalKey(dv.URL, "app")))
	if err != nil {
		log.Error("DATAVERSE_URL unusable", "err", err)
		return
	}
	who, err := cl.WhoAmI(ctx)
	if err != nil {
		log.Error("the application user cannot reach Dynamics; create an application user for DATAVERSE_CLIENT_ID with a security role that reads the eight tables", "err", err)
		return
	}
	var names []string
	for _, rt := range cat.ChatTypes() {
		if rt.Notify {
			names = append(names, rt.Name)
		}
	}
	missing, err := cl.ChangeTrackingStatus(ctx, names)
	if err != nil {
		log.Error("could not read which tables have change tracking", "err", err)
		return
	}
	days, err := cl.ChangeTrackingExpiryDays(ctx)
	if err != nil {
		log.Warn("could not read the change-tracking retention", "err", err)
	}
	if len(missing) > 0 {
		log.Warn("change tracking is disabled on some tables: their assignments cannot be announced; enable it in Power Apps (Tables, the table, Properties, Advanced options, Track changes)",
			"tables", missing)
	}
	log.Info("dataverse reachable", "application_user", who.UserID, "organization", who.OrganizationID,
		"change_tracking_missing", len(missing), "change_tracking_days", days)
}
