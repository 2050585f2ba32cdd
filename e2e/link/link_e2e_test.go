//go:build e2e

// Package link drives account linking in headless Chromium, as a person
// would: open the one-time link, pick the account on the authority's page,
// land on our page. The authority (the sandbox) listens on 127.0.0.1 and the
// bot on localhost — two sites, as Entra and the bot are in production — so
// a cookie that only works same-site (SameSite=Strict, say) fails here.
//
// Run with `make e2e` (go test -tags e2e ./e2e/link/). Screenshots of every
// page land in $E2E_ARTIFACTS (default: a temp dir printed by the test).
package link

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/bot/linkweb"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/internal/testkit/chrome"
	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/embedded"
)

type env struct {
	svc    *bot.LinkService
	st     store.Store
	botURL string
	shots  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	e := &env{botURL: "http://localhost:" + port}
	sb := sandbox.New(sandbox.Options{RecordsPerType: -1, RedirectURIs: []string{e.botURL + bot.LinkCallbackPath}})
	auth := httptest.NewServer(sb) // http://127.0.0.1:…
	t.Cleanup(func() { auth.Close(); sb.Close() })
	st, err := embedded.New(embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.st = st
	o := sb.Options()
	e.svc = &bot.LinkService{Store: st, PublicURL: e.botURL,
		App: crm.AppCredentials{AuthorityURL: auth.URL, TenantID: o.TenantID, ClientID: o.ClientID, ClientSecret: o.ClientSecret, OrgURL: auth.URL}}
	if err := e.svc.Init(); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&linkweb.Handler{Links: e.svc}).Register(mux)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	e.shots = os.Getenv("E2E_ARTIFACTS")
	if e.shots == "" {
		e.shots = t.TempDir()
	}
	if err := os.MkdirAll(e.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", e.shots)
	return e
}

// browser starts a fresh headless Chromium (its own profile: no cookies).
func browser(t *testing.T) context.Context {
	t.Helper()
	ctx := chrome.New(t, chrome.Options(chrome.Path(t), 900, 900, "en-US"))
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (e *env) shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	chrome.Shot(t, ctx, e.shots, name)
}

// pick chooses an account on the sandbox's sign-in page.
func pick(name string) chromedp.Action {
	return chromedp.Click(`//button[contains(., "`+name+`")]`, chromedp.BySearch)
}

// text reads sel on one of our pages, once the browser is on one (the
// authority's pages have an h1 and a main too; only ours have h1 .mark).
func text(ctx context.Context, t *testing.T, sel string) string {
	t.Helper()
	var s string
	if err := chromedp.Run(ctx, chromedp.WaitVisible("main h1 .mark", chromedp.ByQuery),
		chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Text(sel, &s, chromedp.ByQuery)); err != nil {
		t.Fatalf("read %s: %v", sel, err)
	}
	return s
}

func TestTeamsLinkInChromium(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)
	chloe := sandbox.DemoUsers()[0]
	u := store.ChatUser{Platform: store.PlatformTeams, Tenant: sandbox.DefaultTenantID, UserID: "29:chloe"}
	p, err := e.svc.Start(context.Background(), bot.LinkRequest{User: u, AADObjectID: chloe.ObjectID, Locale: "en-US"})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(p.URL), chromedp.WaitVisible(`//button[contains(., "Chloé Dubois")]`, chromedp.BySearch)); err != nil {
		t.Fatalf("start → the authority's sign-in page: %v", err)
	}
	var loc string
	_ = chromedp.Run(ctx, chromedp.Location(&loc))
	if !strings.HasPrefix(loc, "http://127.0.0.1:") {
		t.Fatalf("sign-in page at %s, want the authority on 127.0.0.1", loc)
	}
	e.shot(t, ctx, "1-authority-sign-in")
	if err := chromedp.Run(ctx, pick("Chloé Dubois")); err != nil {
		t.Fatal(err)
	}
	if h := text(ctx, t, "h1"); !strings.Contains(h, "Linked to Dynamics 365") {
		t.Fatalf("callback page title %q", h)
	}
	if m := text(ctx, t, "main"); !strings.Contains(m, "Chloé Dubois") || !strings.Contains(m, chloe.Email) {
		t.Fatalf("callback page: %q", m)
	}
	_ = chromedp.Run(ctx, chromedp.Location(&loc))
	if !strings.HasPrefix(loc, e.botURL+bot.LinkCallbackPath) {
		t.Fatalf("landed on %s", loc)
	}
	e.shot(t, ctx, "2-linked")
	l, err := e.st.GetLink(context.Background(), u)
	if err != nil || l.SystemUserID != chloe.ID {
		t.Fatalf("link = %+v, %v", l, err)
	}

	// The same link again: used up.
	if err := chromedp.Run(ctx, chromedp.Navigate(p.URL)); err != nil {
		t.Fatal(err)
	}
	if h := text(ctx, t, "h1"); !strings.Contains(h, "can't be used") {
		t.Fatalf("reused link page: %q", h)
	}
	e.shot(t, ctx, "5-expired")
}

func TestTeamsWrongAccountInChromium(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)
	chloe, other := sandbox.DemoUsers()[0], sandbox.DemoUsers()[1]
	u := store.ChatUser{Platform: store.PlatformTeams, Tenant: sandbox.DefaultTenantID, UserID: "29:chloe"}
	p, err := e.svc.Start(context.Background(), bot.LinkRequest{User: u, AADObjectID: chloe.ObjectID, Locale: "fr-FR"})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(p.URL), pick(other.FirstName+" "+other.LastName)); err != nil {
		t.Fatal(err)
	}
	if m := text(ctx, t, "main"); !strings.Contains(m, "Rien n’a été lié") || !strings.Contains(m, other.Email) {
		t.Fatalf("mismatch page: %q", m)
	}
	e.shot(t, ctx, "4-wrong-account-fr")
	if _, err := e.st.GetLink(context.Background(), u); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("linked after a wrong account: %v", err)
	}
}

func TestSlackCodeInChromium(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)
	chloe := sandbox.DemoUsers()[0]
	u := store.ChatUser{Platform: store.PlatformSlack, Tenant: "T0DEMO", UserID: "U0CHLOE"}
	p, err := e.svc.Start(context.Background(), bot.LinkRequest{User: u, Email: "chloe@personal.example", Locale: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(p.URL), pick("Chloé Dubois")); err != nil {
		t.Fatal(err)
	}
	code := strings.TrimSpace(text(ctx, t, ".codebox code"))
	if len(code) != 9 || code[4] != '-' {
		t.Fatalf("code %q", code)
	}
	e.shot(t, ctx, "3-slack-code")
	if _, err := e.st.GetLink(context.Background(), u); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("linked before the code was typed: %v", err)
	}
	l, err := e.svc.ConfirmCode(context.Background(), u, code)
	if err != nil || l.SystemUserID != chloe.ID {
		t.Fatalf("ConfirmCode = %+v, %v", l, err)
	}
}

func TestCancelledSignInInChromium(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t)
	u := store.ChatUser{Platform: store.PlatformSlack, Tenant: "T0DEMO", UserID: "U0X"}
	p, err := e.svc.Start(context.Background(), bot.LinkRequest{User: u, Email: "nobody@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Run(ctx, chromedp.Navigate(p.URL), chromedp.Click(`button.cancel`, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	if m := text(ctx, t, "main"); !strings.Contains(m, "Nothing was linked") || !strings.Contains(m, "access_denied") {
		t.Fatalf("cancelled page: %q", m)
	}
	e.shot(t, ctx, "6-cancelled")
}
