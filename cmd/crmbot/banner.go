package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/crmbot/crmbot/internal/config"
)

// demoBanner is what the demo prints on stdout once it listens: what runs,
// and what to do next. Only in demo mode (the embedded sandbox): a
// production process writes JSON logs only, for its log collector.
type demoBanner struct {
	cfg        *config.Config
	addr       string // the bound listen address
	users      int    // demo users in the sandbox
	demoEvery  time.Duration
	webhook    bool
	socketMode bool
}

func printDemoBanner(w io.Writer, b demoBanner) {
	c := b.cfg
	u := c.PublicURL
	var sb strings.Builder
	line := func(k, format string, a ...any) { fmt.Fprintf(&sb, "  %-10s %s\n", k, fmt.Sprintf(format, a...)) }
	fmt.Fprintf(&sb, "\ncrmbot %s is running: %s (listening on %s)\n\n", version, u, b.addr)
	line("Dynamics", "embedded sandbox, a demo org with %d users, at %s/sandbox (set DATAVERSE_URL for a real org)", b.users, u)
	if c.RedisURL == "" {
		line("Store", "in memory: links are lost when this process stops (set REDIS_URL to keep them)")
	} else {
		line("Store", "Redis")
	}
	switch {
	case c.Teams.DevMode:
		line("Teams", "local dev endpoint %s/api/messages, no sign-in, this machine only", u)
	case c.Teams.Enabled():
		line("Teams", "%s/api/messages (app %s)", u, c.Teams.AppID)
	default:
		line("Teams", "off")
	}
	switch {
	case b.socketMode:
		line("Slack", "Socket Mode: type /crm help in your workspace")
	case c.Slack.Enabled():
		line("Slack", "HTTP mode: %s/slack/commands", u)
	default:
		line("Slack", "off")
	}
	poke := "polling only"
	if b.webhook {
		poke = "and at once on the sandbox's webhook"
	}
	line("Sync", "every %s, %s", c.SyncInterval, poke)
	if b.demoEvery > 0 {
		line("Activity", "a record is reassigned to a linked demo user every %s", b.demoEvery)
	}
	if c.AdminToken == "" {
		line("Status", "%s/status (from this machine)", u)
	} else {
		line("Status", "%s/status (with CRMBOT_ADMIN_TOKEN)", u)
	}

	sb.WriteString("\nNext:\n")
	if c.Teams.Enabled() {
		sb.WriteString("  Teams  make demo   (the Microsoft 365 Agents Playground as Chloé Dubois; or: cd e2e/playground && npm ci && npm start)\n")
		sb.WriteString("         type help, then link, and sign in as Chloé\n")
	}
	if !c.Slack.Enabled() {
		sb.WriteString("  Slack  create an app from deploy/slack/manifest.socket.yaml, then run again with\n")
		sb.WriteString("         SLACK_BOT_TOKEN=xoxb-… SLACK_APP_TOKEN=xapp-… go run ./cmd/crmbot\n")
	}
	if b.demoEvery == 0 {
		sb.WriteString("  Cards  go run ./cmd/crmbot --demo-activity 30s   (records reassigned to linked users: \"assigned to you\" cards)\n")
	}
	sb.WriteString("\n")
	_, _ = io.WriteString(w, sb.String())
}
