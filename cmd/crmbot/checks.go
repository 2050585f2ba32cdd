package main

import (
	"context"
	"log/slog"

	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/internal/config"
	"github.com/crmbot/crmbot/internal/server"
)

// checkDataverse runs the start-up checks against Dynamics once the server
// listens: the app credentials work, and change tracking is enabled on the
// tables sync reads. Problems are logged loudly; they do not stop the server,
// since the user-facing commands work without sync.
func checkDataverse(ctx context.Context, srv *server.Server, dv config.Dataverse, cat *crm.Catalog, logger *slog.Logger) {
	select {
	case <-srv.Ready():
	case <-ctx.Done():
		return
	}
	_ = dv
	_ = cat
	logger.Info("dataverse start-up check pending: the client lands with the crm package")
}
