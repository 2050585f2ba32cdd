//go:build e2e

// Package status drives the operator's status page in headless Chromium, as
// an operator would: sign in with the admin token through the form, read
// the page, retry a dead letter. The handler is the real one over the
// embedded store, seeded with links, outboxes, dead letters and a poller
// in several phases.
//
// Run with `bash e2e/status/run.sh` (go test -tags e2e ./e2e/status/).
// Full-page screenshots land in $E2E_ARTIFACTS/status (default: a temp dir
// the test prints).
package status

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/crmbot/crmbot/internal/status"
	"github.com/crmbot/crmbot/internal/status/statustest"
	"github.com/crmbot/crmbot/internal/testkit/chrome"
	"github.com/crmbot/crmbot/store/embedded"
)

const adminToken = "e2e-admin-token-7c1d0b5a93"

type env struct {
	url   string
	shots string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := embedded.New(embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := statustest.Seed(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	rec := status.NewRecorder(slog.DiscardHandler, 50)
	log := slog.New(rec)
	log.Warn("delivery: Slack asked us to slow down", "platform", "slack", "retry_after", "30s", "token", "xoxb-never-shown")
	log.With("component", "sync").Error("sync: the delta read failed", "type", "opportunity",
		"err", errors.New("dataverse: 429 Too Many Requests (retry after 45s)"))
	log.Warn("teams: proactive message refused", "user", "29:mathilde", "status_code", 403)
	h := &status.Handler{Store: st, Syncer: statustest.Poller(time.Now()), Keys: statustest.Keys, Recorder: rec,
		Token: adminToken, Logger: log, Version: "1.4.2-e2e", Replica: statustest.Replica}
	if err := h.Init(); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	e := &env{url: srv.URL + status.Path}
	if dir := os.Getenv("E2E_ARTIFACTS"); dir != "" {
		e.shots = filepath.Join(dir, "status")
	} else {
		e.shots = t.TempDir()
	}
	if err := os.MkdirAll(e.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("status page screenshots in %s", e.shots)
	return e
}

// browser starts a fresh headless Chromium (its own profile: no cookies)
// that asks for pages in lang.
func browser(t *testing.T, lang string) context.Context {
	t.Helper()
	path := chrome.Path(t)
	ctx := chrome.New(t, chrome.Options(path, 1440, 1000, lang, chromedp.Flag("disable-background-networking", true)),
		chromedp.WithLogf(t.Logf))
	// The first Run starts Chromium and ties it to the tab's context.
	if err := chromedp.Run(ctx, network.Enable(),
		network.SetExtraHTTPHeaders(network.Headers{"Accept-Language": lang})); err != nil {
		t.Fatalf("start Chromium (%s): %v", path, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (e *env) shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	t.Logf("screenshot %s", chrome.Shot(t, ctx, e.shots, name))
}

func run(t *testing.T, e *env, ctx context.Context, what string, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var png []byte
		if chromedp.Run(ctx, chromedp.FullScreenshot(&png, 90)) == nil {
			_ = os.WriteFile(filepath.Join(e.shots, "failed.png"), png, 0o644)
		}
		t.Fatalf("%s: %v", what, err)
	}
}

func text(t *testing.T, e *env, ctx context.Context, sel string) string {
	t.Helper()
	var s string
	run(t, e, ctx, "read "+sel, chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Text(sel, &s, chromedp.ByQuery))
	return strings.Join(strings.Fields(s), " ")
}

// signIn opens the page, meets the sign-in form and types the token.
func signIn(t *testing.T, e *env, ctx context.Context, shot string) {
	t.Helper()
	run(t, e, ctx, "open the status page", chromedp.Navigate(e.url), chromedp.WaitVisible("#token", chromedp.ByID))
	if shot != "" {
		e.shot(t, ctx, shot)
	}
	run(t, e, ctx, "sign in", chromedp.SendKeys("#token", adminToken, chromedp.ByID),
		chromedp.Click(`form.signin button[type="submit"]`, chromedp.ByQuery),
		chromedp.WaitVisible("#links", chromedp.ByID))
}

func TestStatusPageInChromium(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t, "en-US")

	// A wrong token first: the form again, with a message.
	run(t, e, ctx, "open the status page", chromedp.Navigate(e.url), chromedp.WaitVisible("#token", chromedp.ByID))
	run(t, e, ctx, "sign in with a wrong token", chromedp.SendKeys("#token", "not-the-token-at-all", chromedp.ByID),
		chromedp.Click(`form.signin button[type="submit"]`, chromedp.ByQuery), chromedp.WaitVisible(".alert", chromedp.ByQuery))
	if m := text(t, e, ctx, "main"); !strings.Contains(m, "That token is not the right one.") {
		t.Fatalf("wrong-token page: %q", m)
	}
	e.shot(t, ctx, "1-sign-in-wrong-token")

	signIn(t, e, ctx, "")
	var cookies []*network.Cookie
	run(t, e, ctx, "read cookies", chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().Do(ctx)
		return err
	}))
	if len(cookies) != 1 || cookies[0].Name != status.SessionCookie || !cookies[0].HTTPOnly ||
		cookies[0].SameSite != network.CookieSameSiteLax || cookies[0].Path != "/status" ||
		strings.Contains(cookies[0].Value, adminToken) {
		t.Fatalf("cookies after sign-in: %+v", cookies)
	}

	// What the operator reads.
	if h := text(t, e, ctx, "header.top"); !strings.Contains(h, "1.4.2-e2e") || !strings.Contains(h, statustest.Replica) {
		t.Errorf("header: %q", h)
	}
	if l := text(t, e, ctx, "#links"); !strings.Contains(l, "Slack 3 1 (33%)") || !strings.Contains(l, "Microsoft Teams 2 0") {
		t.Errorf("links per platform: %q", l)
	}
	if r := text(t, e, ctx, "#type-lead"); !strings.Contains(r, "delta") || !strings.Contains(r, "this replica") {
		t.Errorf("lead row: %q", r)
	}
	if r := text(t, e, ctx, "#type-incident"); !strings.Contains(r, "baseline in progress") || !strings.Contains(r, "15,000") {
		t.Errorf("incident row: %q", r)
	}
	if r := text(t, e, ctx, "#type-opportunity"); !strings.Contains(r, "paused") || !strings.Contains(r, "429") {
		t.Errorf("opportunity row: %q", r)
	}
	if r := text(t, e, ctx, "#type-task"); !strings.Contains(r, "standby") || !strings.Contains(r, statustest.OtherReplica) {
		t.Errorf("task row: %q", r)
	}
	if d := text(t, e, ctx, "#dead"); !strings.Contains(d, statustest.LeadDeadReason) || !strings.Contains(d, statustest.IncidentDeadReason) ||
		!strings.Contains(d, "lead: reassigned") {
		t.Errorf("dead letters: %q", d)
	}
	if r := text(t, e, ctx, "#errors"); !strings.Contains(r, "sync: the delta read failed") || strings.Contains(r, "xoxb-never-shown") ||
		!strings.Contains(r, "token=[redacted]") {
		t.Errorf("recent errors: %q", r)
	}
	// The stylesheet loaded under the CSP: the paused pill is coloured.
	var bg string
	run(t, e, ctx, "read a pill's colour", chromedp.Evaluate(
		`getComputedStyle(document.querySelector(".pill.phase-paused")).backgroundColor`, &bg))
	if bg == "" || bg == "rgba(0, 0, 0, 0)" {
		t.Errorf("the paused pill has no background (%q): the stylesheet did not load", bg)
	}
	if n := deadRows(t, e, ctx); n != 2 {
		t.Fatalf("%d dead letters listed, want 2", n)
	}
	if v := text(t, e, ctx, ".card:nth-child(3) .value"); v != "2" {
		t.Errorf("dead letters card = %q, want 2", v)
	}
	e.shot(t, ctx, "2-status")

	// Retry the first dead letter.
	run(t, e, ctx, "click Retry", chromedp.Click(`tr.dead-letter button.retry`, chromedp.ByQuery),
		chromedp.WaitVisible("#flash", chromedp.ByID))
	if f := text(t, e, ctx, "#flash"); !strings.Contains(f, "The lead dead letter is back in the outbox") {
		t.Errorf("flash: %q", f)
	}
	if n := deadRows(t, e, ctx); n != 1 {
		t.Errorf("%d dead letters listed after the retry, want 1", n)
	}
	if v := text(t, e, ctx, ".card:nth-child(3) .value"); v != "1" {
		t.Errorf("dead letters card after the retry = %q, want 1", v)
	}
	if r := text(t, e, ctx, "#type-lead"); !strings.Contains(r, " 4 1 ") {
		t.Errorf("lead outbox after the retry (want depth 4, 1 in delivery): %q", r)
	}
	e.shot(t, ctx, "3-retried")

	// Sign out: the form again.
	run(t, e, ctx, "sign out", chromedp.Click(`nav.actions button`, chromedp.ByQuery), chromedp.WaitVisible("#token", chromedp.ByID))
}

func TestStatusPageInFrench(t *testing.T) {
	e := newEnv(t)
	ctx := browser(t, "fr-FR")
	signIn(t, e, ctx, "4-connexion-fr")
	if h := text(t, e, ctx, "#dead-title"); h != "Lettres mortes" {
		t.Errorf("dead letters title: %q", h)
	}
	if r := text(t, e, ctx, "#type-incident"); !strings.Contains(r, "lecture initiale en cours") {
		t.Errorf("incident row: %q", r)
	}
	e.shot(t, ctx, "5-status-fr")
}

func deadRows(t *testing.T, e *env, ctx context.Context) int {
	t.Helper()
	var n int
	run(t, e, ctx, "count dead letters", chromedp.Evaluate(`document.querySelectorAll("tr.dead-letter").length`, &n))
	return n
}
