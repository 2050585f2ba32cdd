// Package world assembles the world the bot's end-to-end tests run in: the
// Dataverse sandbox behind an HTTP server of its own, an embedded store
// with a random keyring, the link service with the sandbox's app
// credentials and its pages (linkweb) on a mux behind the bot's HTTP
// server, and the conversation core reading records with the linked
// users' tokens. Tests add their platform's adapter, fakes and options on
// top (Mux, Core.Senders).
//
// Test support only: production code must not import it (the crmbot
// binary never does).
package world

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/bot/linkweb"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/embedded"
)

// Options adjust the world. The zero value is the usual one.
type Options struct {
	// Sandbox, if set, adjusts the sandbox's options before it starts
	// (they come with a discarding logger, RecordsPerType -1 and the link
	// callback as the only redirect URI).
	Sandbox func(*sandbox.Options)
	// PageSize is the core's page size; 0 means 5.
	PageSize int
	// Logger is every piece's logger; nil discards.
	Logger *slog.Logger
	// Mux is the bot server's mux; nil makes one.
	Mux *http.ServeMux
}

// World is the assembled world. Its servers close when the test ends,
// after the cleanups the test registered after New (an adapter's Wait).
type World struct {
	t testing.TB

	Sandbox       *sandbox.Sandbox
	SandboxServer *httptest.Server
	SandboxURL    string
	Store         *embedded.Store
	// App is the sandbox's app registration as crmbot is configured with it.
	App   crm.AppCredentials
	Links *bot.LinkService
	// Core has no senders yet: Core.Senders is an empty map to add to.
	Core *bot.Core
	// Server serves Mux: the link pages, and whatever the test adds.
	Server *httptest.Server
	URL    string
	Mux    *http.ServeMux
}

// New assembles a world for t. Linking resumes what the user asked for
// (Links.OnLinked calls Core.Resume; a failure fails t).
func New(t testing.TB, o Options) *World {
	t.Helper()
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.PageSize == 0 {
		o.PageSize = 5
	}
	w := &World{t: t, Mux: o.Mux}
	if w.Mux == nil {
		w.Mux = http.NewServeMux()
	}
	w.Server = httptest.NewServer(w.Mux)
	w.URL = w.Server.URL
	t.Cleanup(w.Server.Close)

	so := sandbox.Options{Logger: log, RecordsPerType: -1, RedirectURIs: []string{w.URL + bot.LinkCallbackPath}}
	if o.Sandbox != nil {
		o.Sandbox(&so)
	}
	w.Sandbox = sandbox.New(so)
	w.SandboxServer = httptest.NewServer(w.Sandbox)
	w.SandboxURL = w.SandboxServer.URL
	t.Cleanup(func() { w.SandboxServer.Close(); w.Sandbox.Close() })

	keys, err := store.RandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	if w.Store, err = embedded.New(embedded.Options{Keys: keys}); err != nil {
		t.Fatal(err)
	}
	sbo := w.Sandbox.Options()
	w.App = crm.AppCredentials{AuthorityURL: w.SandboxURL, TenantID: sbo.TenantID, ClientID: sbo.ClientID,
		ClientSecret: sbo.ClientSecret, OrgURL: w.SandboxURL}
	hc := w.SandboxServer.Client()
	w.Links = &bot.LinkService{Store: w.Store, App: w.App, PublicURL: w.URL, HTTPClient: hc, Logger: log}
	if err := w.Links.Init(); err != nil {
		t.Fatal(err)
	}
	(&linkweb.Handler{Links: w.Links, Logger: log}).Register(w.Mux)
	w.Core = &bot.Core{Store: w.Store, Links: w.Links, OrgURL: w.SandboxURL, Logger: log, PageSize: o.PageSize,
		Tokens:  &bot.UserTokens{Store: w.Store, App: w.App, HTTPClient: hc, Logger: log},
		Senders: map[string]bot.Sender{}}
	if err := w.Core.Init(); err != nil {
		t.Fatal(err)
	}
	w.Links.OnLinked = func(ctx context.Context, l store.Link, resume string) {
		if err := w.Core.Resume(ctx, l, resume); err != nil {
			t.Errorf("resume after linking: %v", err)
		}
	}
	return w
}

// Create makes a record owned by the demo user directly in the sandbox.
func (w *World) Create(owner sandbox.User, set string, payload map[string]any) string {
	w.t.Helper()
	id, err := w.Sandbox.Create(set, payload, sandbox.Principal{UserID: owner.ID})
	if err != nil {
		w.t.Fatalf("create %s: %v", set, err)
	}
	return id
}

// Record is a record of the sandbox, which must exist.
func (w *World) Record(set, id string) map[string]any {
	w.t.Helper()
	rec, ok := w.Sandbox.Record(set, id)
	if !ok {
		w.t.Fatalf("no %s %s in the sandbox", set, id)
	}
	return rec
}

// Attr is a record's attribute as text ("" when absent or null).
func Attr(rec map[string]any, name string) string {
	if v, ok := rec[name]; ok && v != nil {
		return fmt.Sprint(v)
	}
	return ""
}

// Drain waits (30 s at the most) for the background work wait reports on,
// an adapter's Wait, to end; work still running fails the test. For a
// test's cleanup, before the servers close.
func (w *World) Drain(wait func(context.Context) error) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := wait(ctx); err != nil {
		w.t.Errorf("background work still running: %v", err)
	}
}

// MustContain fails t unless got contains every one of want.
func MustContain(t testing.TB, what, got string, want ...string) {
	t.Helper()
	for _, s := range want {
		if !strings.Contains(got, s) {
			t.Fatalf("%s lacks %q:\n%s", what, s, got)
		}
	}
}
