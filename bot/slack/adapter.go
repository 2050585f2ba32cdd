// Package slack is crmbot's Slack adapter: it turns slash commands, button
// clicks, modal submissions, type-ahead queries and events into the
// conversation core's requests (package bot), and renders the core's views
// with cards/slack into modals, messages and the App Home tab.
//
// The same handlers serve HTTP mode (signed requests on /slack/commands,
// /slack/interactivity, /slack/options, /slack/events) and Socket Mode
// (SLACK_APP_TOKEN): each handler returns what Slack must get back at once
// (the HTTP body, or the Socket Mode ack payload) and starts the slow part
// in the background.
//
// Slack gives three seconds to answer and to use a trigger_id. So a command
// or a click that opens a dialog opens a "Loading…" modal at once and
// updates it with the core's answer (views.update with the view's hash); a
// submission waits for the core only up to AckBudget, then answers "Saving…"
// and updates the modal when the core is done. Nothing on those paths
// retries: a retry would miss the deadline it is meant to save.
package slack

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	goslack "github.com/slack-go/slack"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/internal/bgwork"
	"github.com/crmbot/crmbot/internal/i18n"
	"github.com/crmbot/crmbot/store"
)

// Core is what the adapter needs of the conversation core (*bot.Core).
type Core interface {
	Handle(ctx context.Context, req bot.Request) (bot.Response, error)
	Lookup(ctx context.Context, req bot.LookupRequest) ([]cards.Option, error)
	Home(ctx context.Context, req bot.HomeRequest) (cards.View, error)
	Unfurl(ctx context.Context, req bot.UnfurlRequest) (cards.View, bool)
}

// TokenSource finds the bot token of a workspace: a fixed SLACK_BOT_TOKEN
// (StaticToken) or the installations of a multi-workspace app (Installer).
type TokenSource interface {
	BotToken(ctx context.Context, teamID, enterpriseID string) (string, error)
}

// StaticToken is the single-workspace token source.
type StaticToken string

// BotToken returns the token whatever the team.
func (t StaticToken) BotToken(context.Context, string, string) (string, error) {
	if t == "" {
		return "", errors.New("slack: no bot token")
	}
	return string(t), nil
}

// Uninstaller forgets a workspace's installation (app_uninstalled,
// tokens_revoked).
type Uninstaller interface {
	Uninstalled(ctx context.Context, teamID, enterpriseID string) error
}

// Adapter is the Slack adapter. Set the fields, call Init, mount Routes (HTTP
// mode) or run RunSocketMode, and register the adapter as the core's Sender
// for store.PlatformSlack.
type Adapter struct {
	Core   Core
	Tokens TokenSource
	// SigningSecret verifies HTTP requests (required in HTTP mode).
	SigningSecret string
	// APIURL is the Slack Web API base (SLACK_API_URL); empty: Slack's.
	APIURL     string
	HTTPClient *http.Client
	// Dedupe drops Events API retries (by event_id).
	Dedupe store.Dedupe
	// Uninstall, when set, is told about app_uninstalled / tokens_revoked.
	Uninstall Uninstaller
	Messages  *i18n.Catalog
	Logger    *slog.Logger
	Now       func() time.Time
	// AckBudget is how long a submission or an options request waits for
	// the core before Slack must be answered (0: 2 s of Slack's 3).
	AckBudget time.Duration
	// MaxBody caps request bodies (0: MaxBody).
	MaxBody int64
	// Pace is the minimum gap between two posts to one channel (0: 1 s).
	Pace time.Duration

	verifier *Verifier
	users    *userCache
	dms      dmCache
	pacer    *pacer
	bg       bgwork.Group
}

// Init checks the configuration and fills defaults. secretRequired is
// false in Socket Mode, where requests arrive on the app's own websocket.
func (a *Adapter) Init(secretRequired bool) error {
	if a.Core == nil || a.Tokens == nil {
		return errors.New("slack: Adapter needs Core and Tokens")
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	if secretRequired || a.SigningSecret != "" {
		v, err := NewVerifier(a.SigningSecret, a.Now, a.MaxBody)
		if err != nil {
			return err
		}
		a.verifier = v
	}
	if a.Messages == nil {
		a.Messages = i18n.Default()
	}
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	if a.HTTPClient == nil {
		a.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	if a.AckBudget <= 0 {
		a.AckBudget = 2 * time.Second
	}
	if a.Pace <= 0 {
		a.Pace = time.Second
	}
	a.users = newUserCache(a.Now, 15*time.Minute, 10000)
	a.pacer = newPacer(a.Now, a.Pace)
	return nil
}

// Wait blocks until the background work started by requests (views
// updated after the ack, events handled) is done, or ctx ends. Call it on
// shutdown after the HTTP server stopped taking requests.
func (a *Adapter) Wait(ctx context.Context) error { return a.bg.Wait(ctx) }

// background runs f after the ack, detached from the request's context
// but bounded by timeout, and counted for Wait.
func (a *Adapter) background(ctx context.Context, timeout time.Duration, f func(ctx context.Context)) {
	a.bg.Go(ctx, timeout, a.Logger, "slack", f)
}

// api returns a Web API client for a workspace. Every Slack call of the
// adapter gets its token here: inbound requests pass their team and
// enterprise ids (an Installer remembers which Grid org a team belongs
// to, once per process), proactive sends only the team (the Installer
// then finds the org-wide install through that memory).
func (a *Adapter) api(ctx context.Context, teamID, enterpriseID string) (*client, error) {
	tok, err := a.Tokens.BotToken(ctx, teamID, enterpriseID)
	if err != nil {
		return nil, err
	}
	base := a.APIURL
	if base == "" {
		base = goslack.APIURL
	}
	opts := []goslack.Option{goslack.OptionHTTPClient(a.HTTPClient), goslack.OptionAPIURL(base)}
	return &client{Client: goslack.New(tok, opts...), token: tok, base: base, http: a.HTTPClient}, nil
}

// chatUser is the store identity of a Slack user: their workspace and id.
func chatUser(teamID, userID string) store.ChatUser {
	return store.ChatUser{Platform: store.PlatformSlack, Tenant: teamID, UserID: userID}
}
