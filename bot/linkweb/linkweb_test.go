package linkweb_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/bot/linkweb"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/internal/testkit"
	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/embedded"
	"github.com/crmbot/crmbot/store/redisstore"
	"github.com/crmbot/crmbot/store/redisstore/redistest"
)

// The whole link flow over real HTTP: the bot's pages on http://localhost,
// the sandbox authority on http://127.0.0.1 (two sites, as in production),
// a cookie-keeping browser that follows redirects, and a real store.

const canarySecret = "canary-client-secret-7f3a9c"

var (
	demo   = sandbox.DemoUsers()
	chloeU = demo[0]
	otherU = demo[1]
)

// env is one bot + one authority + one store.
type env struct {
	t          *testing.T
	sb         *sandbox.Sandbox
	authority  *httptest.Server
	tokenCalls atomic.Int64
	botURL     string
	svc        *bot.LinkService
	st         store.Store
	clock      *testkit.Clock
	logs       *testkit.SyncBuffer
	metrics    *prometheus.Registry
}

type storeKind int

const (
	embeddedStore storeKind = iota
	redisStore
)

func newEnv(t *testing.T, kind storeKind) *env {
	t.Helper()
	e := &env{t: t, clock: testkit.NewClock(time.Now()), logs: &testkit.SyncBuffer{}, metrics: prometheus.NewRegistry()}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	botLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.botURL = "http://localhost:" + portOf(botLn.Addr())
	e.sb = sandbox.New(sandbox.Options{RecordsPerType: -1, ClientSecret: canarySecret,
		RedirectURIs: []string{e.botURL + bot.LinkCallbackPath}, Logger: logger})
	e.authority = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
			e.tokenCalls.Add(1)
		}
		e.sb.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { e.authority.Close(); e.sb.Close() })
	switch kind {
	case embeddedStore:
		s, err := embedded.New(embedded.Options{Now: e.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		e.st = s
	case redisStore:
		rdb := redistest.Client(t)
		keys, err := store.RandomKeyring()
		if err != nil {
			t.Fatal(err)
		}
		s, err := redisstore.New(rdb, redisstore.Options{Prefix: redistest.Prefix(t, rdb), Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		e.st = s
	}
	o := e.sb.Options()
	outcomes := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmbot_link_outcomes_total", Help: "h"}, []string{"outcome"})
	e.metrics.MustRegister(outcomes)
	e.svc = &bot.LinkService{
		Store: e.st, PublicURL: e.botURL, Logger: logger, Now: e.clock.Now,
		App: crm.AppCredentials{AuthorityURL: e.authority.URL, TenantID: o.TenantID, ClientID: o.ClientID,
			ClientSecret: o.ClientSecret, OrgURL: e.authority.URL},
		Observe: func(k bot.OutcomeKind) { outcomes.WithLabelValues(k.String()).Inc() },
	}
	if err := e.svc.Init(); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&linkweb.Handler{Links: e.svc, Logger: logger}).Register(mux)
	mux.Handle("GET /metrics", promhttp.HandlerFor(e.metrics, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(botLn) }()
	t.Cleanup(func() { _ = srv.Close() })
	return e
}

func portOf(a net.Addr) string {
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// browser keeps cookies per site and follows redirects; at the authority it
// "chooses" an account by login_hint, as a person would on the picker.
type browser struct {
	t      *testing.T
	c      *http.Client
	choose string   // the email of the account to sign in with
	seen   []string // every URL visited, for the canary check
	// beforeCallback, when set, may rewrite the callback URL (tampering).
	beforeCallback func(u *url.URL)
}

func newBrowser(t *testing.T, choose string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, choose: choose, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	url    string
	body   string
}

func (b *browser) open(raw string) page {
	b.t.Helper()
	for range 10 {
		u, err := url.Parse(raw)
		if err != nil {
			b.t.Fatal(err)
		}
		if strings.HasSuffix(u.Path, "/oauth2/v2.0/authorize") && b.choose != "" {
			q := u.Query()
			q.Set("login_hint", b.choose)
			u.RawQuery = q.Encode()
		}
		if u.Path == bot.LinkCallbackPath && b.beforeCallback != nil {
			b.beforeCallback(u)
		}
		b.seen = append(b.seen, u.String())
		resp, err := b.c.Get(u.String())
		if err != nil {
			b.t.Fatalf("GET %s: %v", u.Redacted(), err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			next, err := u.Parse(resp.Header.Get("Location"))
			if err != nil {
				b.t.Fatal(err)
			}
			raw = next.String()
			continue
		}
		return page{status: resp.StatusCode, url: u.String(), body: string(body)}
	}
	b.t.Fatal("too many redirects")
	return page{}
}

func (e *env) start(req bot.LinkRequest) string {
	e.t.Helper()
	p, err := e.svc.Start(context.Background(), req)
	if err != nil {
		e.t.Fatalf("Start: %v", err)
	}
	if !strings.HasPrefix(p.URL, e.botURL+bot.LinkStartPath+"?n=") {
		e.t.Fatalf("link URL %q", p.URL)
	}
	return p.URL
}

func teamsUser(u sandbox.User) bot.LinkRequest {
	return bot.LinkRequest{User: store.ChatUser{Platform: store.PlatformTeams, Tenant: sandbox.DefaultTenantID, UserID: "29:" + u.ObjectID},
		AADObjectID: u.ObjectID, Locale: "en-US"}
}

func slackUser(id, email string) bot.LinkRequest {
	return bot.LinkRequest{User: store.ChatUser{Platform: store.PlatformSlack, Tenant: "T0DEMO", UserID: id}, Email: email, Locale: "en"}
}

func (e *env) linked(u store.ChatUser) (store.Link, bool) {
	e.t.Helper()
	l, err := e.st.GetLink(context.Background(), u)
	if errors.Is(err, store.ErrNotFound) {
		return store.Link{}, false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return l, true
}

func (e *env) notLinked(u store.ChatUser) {
	e.t.Helper()
	if l, ok := e.linked(u); ok {
		e.t.Fatalf("%s is linked to %s; want nothing linked", u, l.SystemUserID)
	}
}

func wantPage(t *testing.T, p page, status int, texts ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d, want %d; page:\n%s", p.status, status, p.body)
	}
	for _, s := range texts {
		if !strings.Contains(p.body, s) {
			t.Fatalf("page lacks %q:\n%s", s, p.body)
		}
	}
}

// canaries checks that no secret the flow handled reached the logs or the
// metrics.
func (e *env) canaries(b *browser, extra ...string) {
	e.t.Helper()
	secrets := append([]string{canarySecret}, extra...)
	for _, v := range b.seen {
		if u, err := url.Parse(v); err == nil {
			if c := u.Query().Get("code"); c != "" {
				secrets = append(secrets, c)
			}
		}
	}
	resp, err := http.Get(e.botURL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), "crmbot_link_outcomes_total") {
		e.t.Fatalf("metrics lack the link outcomes:\n%s", m)
	}
	logs := e.logs.String()
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(logs, s) {
			e.t.Fatalf("a secret (%d chars) appears in the logs", len(s))
		}
		if strings.Contains(string(m), s) {
			e.t.Fatalf("a secret (%d chars) appears in the metrics", len(s))
		}
	}
}

func (e *env) tokens(u store.ChatUser) store.Tokens {
	e.t.Helper()
	tk, err := e.st.Tokens(context.Background(), u)
	if err != nil {
		e.t.Fatal(err)
	}
	return tk
}

func TestTeamsLinkWhoAmIUnlinkRelink(t *testing.T) {
	for name, kind := range map[string]storeKind{"embedded": embeddedStore, "redis": redisStore} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, kind)
			req := teamsUser(chloeU)
			b := newBrowser(t, chloeU.Email)
			p := b.open(e.start(req))
			wantPage(t, p, http.StatusOK, "Linked to Dynamics 365", "Chloé Dubois", chloeU.Email, "Microsoft Teams", `lang="en"`)
			l, ok := e.linked(req.User)
			if !ok || l.SystemUserID != chloeU.ID || l.EntraObjectID != chloeU.ObjectID || l.EntraTenantID != sandbox.DefaultTenantID ||
				l.Email != chloeU.Email || l.DisplayName != "Chloé Dubois" || l.Broken {
				t.Fatalf("link = %+v", l)
			}
			tk := e.tokens(req.User)
			if tk.RefreshToken == "" || tk.AccessToken == "" {
				t.Fatal("tokens were not stored")
			}
			if e.tokenCalls.Load() != 1 {
				t.Fatalf("%d token calls, want 1", e.tokenCalls.Load())
			}
			users, err := e.st.LinkedUsers(context.Background(), chloeU.ID)
			if err != nil || len(users) != 1 || users[0] != req.User {
				t.Fatalf("LinkedUsers = %v, %v", users, err)
			}
			who, err := e.svc.WhoAmI(context.Background(), req.User)
			if err != nil || who.SystemUserID != chloeU.ID {
				t.Fatalf("WhoAmI = %+v, %v", who, err)
			}
			e.canaries(b, tk.RefreshToken, tk.AccessToken)

			// Unlink: link, tokens and notifications gone.
			had, err := e.svc.Unlink(context.Background(), req.User)
			if err != nil || !had {
				t.Fatalf("Unlink = %v, %v", had, err)
			}
			e.notLinked(req.User)
			if users, _ := e.st.LinkedUsers(context.Background(), chloeU.ID); len(users) != 0 {
				t.Fatalf("after unlink LinkedUsers = %v (notifications would still flow)", users)
			}
			if _, err := e.svc.WhoAmI(context.Background(), req.User); !errors.Is(err, bot.ErrNotLinked) {
				t.Fatalf("WhoAmI after unlink: %v", err)
			}
			if had, err := e.svc.Unlink(context.Background(), req.User); err != nil || had {
				t.Fatalf("second Unlink = %v, %v", had, err)
			}

			// Relink: a new sign-in makes a new link with new tokens.
			p = newBrowser(t, chloeU.Email).open(e.start(req))
			wantPage(t, p, http.StatusOK, "Chloé Dubois")
			if tk2 := e.tokens(req.User); tk2.RefreshToken == tk.RefreshToken || tk2.Version <= tk.Version {
				t.Fatal("relink did not replace the tokens")
			}
		})
	}
}

func TestTeamsWrongAccountLinksNothing(t *testing.T) {
	e := newEnv(t, embeddedStore)
	req := teamsUser(chloeU)
	p := newBrowser(t, otherU.Email).open(e.start(req))
	wantPage(t, p, http.StatusForbidden, "Nothing was linked", otherU.Email, "not the Microsoft account you use in Teams")
	e.notLinked(req.User)

	// The same account, but the Teams tenant is another one.
	req = teamsUser(chloeU)
	req.User.Tenant = "00000000-0000-0000-0000-0000000000aa"
	p = newBrowser(t, chloeU.Email).open(e.start(req))
	wantPage(t, p, http.StatusForbidden, "Nothing was linked")
	e.notLinked(req.User)
}

func TestSlackEmailMatchLinksAtOnce(t *testing.T) {
	e := newEnv(t, embeddedStore)
	req := slackUser("U0CHLOE", strings.ToUpper(chloeU.Email)) // emails compare case-insensitively
	b := newBrowser(t, "")                                     // login_hint from the Slack email signs in
	p := b.open(e.start(req))
	wantPage(t, p, http.StatusOK, "Chloé Dubois", "go back to Slack")
	if l, ok := e.linked(req.User); !ok || l.SystemUserID != chloeU.ID {
		t.Fatalf("link = %+v", l)
	}
	tk := e.tokens(req.User)
	e.canaries(b, tk.RefreshToken, tk.AccessToken)
}

var codeRe = regexp.MustCompile(`<code[^>]*>([A-Z0-9]{4}-[A-Z0-9]{4})</code>`)

func TestSlackEmailMismatchNeedsTheCodeFromTheSameUser(t *testing.T) {
	e := newEnv(t, embeddedStore)
	ctx := context.Background()
	req := slackUser("U0CHLOE", "chloe@personal.example")
	b := newBrowser(t, chloeU.Email)
	p := b.open(e.start(req))
	wantPage(t, p, http.StatusOK, "One more step", "/crm link ", chloeU.Email)
	m := codeRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no code on the page:\n%s", p.body)
	}
	code := m[1]
	e.notLinked(req.User) // not before the code

	mallory := store.ChatUser{Platform: store.PlatformSlack, Tenant: "T0DEMO", UserID: "U0MALLORY"}
	if _, err := e.svc.ConfirmCode(ctx, mallory, code); !errors.Is(err, bot.ErrCodeInvalid) {
		t.Fatalf("another user's code: %v", err)
	}
	e.notLinked(mallory)
	if _, err := e.svc.ConfirmCode(ctx, req.User, "ZZZZ-ZZZZ"); !errors.Is(err, bot.ErrCodeInvalid) {
		t.Fatalf("wrong code: %v", err)
	}
	e.notLinked(req.User)
	l, err := e.svc.ConfirmCode(ctx, req.User, strings.ToLower(strings.ReplaceAll(code, "-", " ")))
	if err != nil || l.SystemUserID != chloeU.ID {
		t.Fatalf("right code: %+v, %v", l, err)
	}
	if got, ok := e.linked(req.User); !ok || got.SystemUserID != chloeU.ID {
		t.Fatalf("link = %+v", got)
	}
	if _, err := e.svc.ConfirmCode(ctx, req.User, code); !errors.Is(err, bot.ErrCodeInvalid) {
		t.Fatalf("a used code: %v", err)
	}
	tk := e.tokens(req.User)
	e.canaries(b, tk.RefreshToken, tk.AccessToken, code, strings.ReplaceAll(code, "-", ""))

	// Relink as someone else (through the code) replaces the link.
	b2 := newBrowser(t, otherU.Email)
	p = b2.open(e.start(req))
	code2 := codeRe.FindStringSubmatch(p.body)
	if code2 == nil {
		t.Fatalf("no code:\n%s", p.body)
	}
	if _, err := e.svc.ConfirmCode(ctx, req.User, code2[1]); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.linked(req.User); got.SystemUserID != otherU.ID {
		t.Fatalf("relink kept %s", got.SystemUserID)
	}
	if users, _ := e.st.LinkedUsers(ctx, chloeU.ID); len(users) != 0 {
		t.Fatalf("the old Dynamics user still maps to %v", users)
	}
}

func TestCodeAttemptsAndExpiry(t *testing.T) {
	e := newEnv(t, embeddedStore)
	ctx := context.Background()
	req := slackUser("U0CHLOE", "")
	code := func() string {
		p := newBrowser(t, chloeU.Email).open(e.start(req))
		m := codeRe.FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("no code:\n%s", p.body)
		}
		return m[1]
	}
	c := code()
	for range bot.MaxCodeAttempts {
		if _, err := e.svc.ConfirmCode(ctx, req.User, "AAAA-AAAA"); !errors.Is(err, bot.ErrCodeInvalid) {
			t.Fatalf("wrong code: %v", err)
		}
	}
	if _, err := e.svc.ConfirmCode(ctx, req.User, c); !errors.Is(err, bot.ErrCodeInvalid) {
		t.Fatalf("the right code after %d wrong ones: %v, want refused", bot.MaxCodeAttempts, err)
	}
	e.notLinked(req.User)

	c = code()
	e.clock.Advance(bot.CodeTTL + time.Second)
	if _, err := e.svc.ConfirmCode(ctx, req.User, c); !errors.Is(err, bot.ErrCodeInvalid) {
		t.Fatalf("an expired code: %v", err)
	}
	e.notLinked(req.User)
}

func TestLinkNegativeCases(t *testing.T) {
	req := teamsUser(chloeU)
	cases := []struct {
		name   string
		run    func(t *testing.T, e *env) page
		status int
		text   string
		tokens int64 // token endpoint calls allowed
	}{
		{"unknown nonce", func(t *testing.T, e *env) page {
			n, _ := store.NewNonce()
			return newBrowser(t, chloeU.Email).open(e.botURL + bot.LinkStartPath + "?n=" + n)
		}, http.StatusGone, "expired or was already used", 0},
		{"junk nonce", func(t *testing.T, e *env) page {
			return newBrowser(t, chloeU.Email).open(e.botURL + bot.LinkStartPath + "?n=%3Cscript%3E")
		}, http.StatusGone, "expired or was already used", 0},
		{"expired nonce", func(t *testing.T, e *env) page {
			u := e.start(req)
			e.clock.Advance(store.NonceTTL + time.Second)
			return newBrowser(t, chloeU.Email).open(u)
		}, http.StatusGone, "expired or was already used", 0},
		{"reused link", func(t *testing.T, e *env) page {
			u := e.start(req)
			wantPage(t, newBrowser(t, chloeU.Email).open(u), http.StatusOK, "Chloé Dubois")
			if _, err := e.svc.Unlink(context.Background(), req.User); err != nil {
				t.Fatal(err)
			}
			return newBrowser(t, chloeU.Email).open(u)
		}, http.StatusGone, "expired or was already used", 1},
		{"replayed callback", func(t *testing.T, e *env) page {
			b := newBrowser(t, chloeU.Email)
			var cb string
			b.beforeCallback = func(u *url.URL) { cb = u.String() }
			wantPage(t, b.open(e.start(req)), http.StatusOK, "Chloé Dubois")
			if _, err := e.svc.Unlink(context.Background(), req.User); err != nil {
				t.Fatal(err)
			}
			b.beforeCallback = nil
			return b.open(cb)
		}, http.StatusGone, "expired or was already used", 1},
		{"missing cookie (callback in another browser)", func(t *testing.T, e *env) page {
			a := newBrowser(t, chloeU.Email)
			var cb string
			a.beforeCallback = func(u *url.URL) { cb = u.String(); u.Path = "/nowhere" }
			a.open(e.start(req))
			return newBrowser(t, "").open(cb)
		}, http.StatusForbidden, "Nothing was linked", 0},
		{"mismatched cookie", func(t *testing.T, e *env) page {
			b := newBrowser(t, chloeU.Email)
			b.beforeCallback = func(u *url.URL) {
				name := e.svc.CookieName(u.Query().Get("state"))
				bu, _ := url.Parse(e.botURL)
				b.c.Jar.SetCookies(bu, []*http.Cookie{{Name: name, Value: "forged", Path: "/"}})
			}
			return b.open(e.start(req))
		}, http.StatusForbidden, "Nothing was linked", 0},
		{"tampered state", func(t *testing.T, e *env) page {
			b := newBrowser(t, chloeU.Email)
			b.beforeCallback = func(u *url.URL) {
				q := u.Query()
				n, _ := store.NewNonce()
				q.Set("state", n)
				u.RawQuery = q.Encode()
			}
			return b.open(e.start(req))
		}, http.StatusGone, "expired or was already used", 0},
		{"authorize error response", func(t *testing.T, e *env) page {
			b := newBrowser(t, chloeU.Email)
			b.beforeCallback = func(u *url.URL) {
				u.RawQuery = url.Values{"state": {u.Query().Get("state")}, "error": {"access_denied"},
					"error_description": {"<b>AADSTS65004</b> declined"}}.Encode()
			}
			return b.open(e.start(req))
		}, http.StatusForbidden, "The sign-in service answered: access_denied", 0},
		{"invalid_grant on exchange", func(t *testing.T, e *env) page {
			b := newBrowser(t, chloeU.Email)
			b.beforeCallback = func(u *url.URL) {
				q := u.Query()
				q.Set("code", "not-a-code-the-authority-issued")
				u.RawQuery = q.Encode()
			}
			return b.open(e.start(req))
		}, http.StatusForbidden, "invalid_grant", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, embeddedStore)
			p := c.run(t, e)
			wantPage(t, p, c.status, c.text)
			if strings.Contains(p.body, "<b>") {
				t.Fatal("the authority's text reached the page unescaped")
			}
			e.notLinked(req.User)
			if n := e.tokenCalls.Load(); n != c.tokens {
				t.Fatalf("%d token endpoint calls, want %d", n, c.tokens)
			}
		})
	}
}

func TestPagesAreSafeAndLocalized(t *testing.T) {
	e := newEnv(t, embeddedStore)
	req := teamsUser(chloeU)
	req.Locale = "fr-FR"
	b := newBrowser(t, chloeU.Email)
	var start *http.Response
	u := e.start(req)
	resp, err := b.c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	start = resp
	resp.Body.Close()
	if start.StatusCode != http.StatusFound {
		t.Fatalf("start: %d", start.StatusCode)
	}
	loc, _ := url.Parse(start.Header.Get("Location"))
	q := loc.Query()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("state") == "" ||
		q.Get("nonce") == "" || q.Get("redirect_uri") != e.botURL+bot.LinkCallbackPath || q.Get("response_type") != "code" ||
		!strings.Contains(q.Get("scope"), "offline_access") || !strings.Contains(q.Get("scope"), "openid") {
		t.Fatalf("authorize URL %s", loc.Redacted())
	}
	cookies := start.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode || cookies[0].Path != "/" {
		t.Fatalf("binding cookie %+v", cookies)
	}
	p := b.open(loc.String())
	wantPage(t, p, http.StatusOK, `lang="fr"`, "Lié à Dynamics 365", "Vous pouvez fermer cet onglet")
	// French also from Accept-Language when the link is unknown.
	r, _ := http.NewRequest(http.MethodGet, e.botURL+bot.LinkStartPath+"?n=x", nil)
	r.Header.Set("Accept-Language", "fr-CA,fr;q=0.9,en;q=0.5")
	resp, err = http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "Ce lien a expiré") {
		t.Fatalf("not French:\n%s", body)
	}
	for h, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
		"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
		t.Errorf("CSP %q", csp)
	}
}

func TestSecureCookieOverHTTPS(t *testing.T) {
	st, err := embedded.New(embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	svc := &bot.LinkService{Store: st, PublicURL: "https://crmbot.example.com/",
		App: crm.AppCredentials{AuthorityURL: "https://login.microsoftonline.com", TenantID: "organizations", ClientID: "c", OrgURL: "https://org.crm.dynamics.com"}}
	if err := svc.Init(); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&linkweb.Handler{Links: svc}).Register(mux)
	p, err := svc.Start(context.Background(), slackUser("U1", "a@b.example"))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, strings.TrimPrefix(p.URL, "https://crmbot.example.com"), nil))
	c := rec.Result().Cookies()
	if rec.Code != http.StatusFound || len(c) != 1 || !strings.HasPrefix(c[0].Name, "__Host-") || !c[0].Secure ||
		c[0].Domain != "" || c[0].Path != "/" {
		t.Fatalf("status %d cookies %+v", rec.Code, c)
	}
	loc, _ := url.Parse(rec.Header().Get("Location"))
	if loc.Host != "login.microsoftonline.com" || loc.Path != "/organizations/oauth2/v2.0/authorize" ||
		loc.Query().Get("redirect_uri") != "https://crmbot.example.com/link/callback" || loc.Query().Get("login_hint") != "a@b.example" ||
		loc.Query().Get("scope") != "https://org.crm.dynamics.com/.default openid profile email offline_access" {
		t.Fatalf("authorize URL %s", loc)
	}
}

func TestLinkCommands(t *testing.T) {
	e := newEnv(t, embeddedStore)
	ctx := context.Background()
	req := teamsUser(chloeU)
	run := func(name, args string) bot.Reply {
		t.Helper()
		r, ok, err := e.svc.LinkCommand(ctx, req, name, args, nil)
		if err != nil || !ok {
			t.Fatalf("%s %s: ok %v, %v", name, args, ok, err)
		}
		return r
	}
	if r := run("whoami", ""); !strings.Contains(r.Text(), "not linked") {
		t.Fatalf("whoami unlinked: %q", r.Text())
	}
	r := run("link", "")
	if !strings.HasPrefix(r.ButtonURL, e.botURL+bot.LinkStartPath) || r.ButtonLabel == "" || !strings.Contains(r.Text(), "10 minutes") {
		t.Fatalf("link: %+v", r)
	}
	wantPage(t, newBrowser(t, chloeU.Email).open(r.ButtonURL), http.StatusOK, "Chloé Dubois")
	r = run("WhoAmI", "")
	for _, want := range []string{"Chloé Dubois", chloeU.Email, "Microsoft Teams user: 29:", "Organization: " + e.authority.URL, "Linked since"} {
		if !strings.Contains(r.Text(), want) {
			t.Fatalf("whoami lacks %q:\n%s", want, r.Text())
		}
	}
	if r := run("link", "ABCD-EFGH"); !strings.Contains(r.Text(), "That code is wrong") {
		t.Fatalf("link with a code and nothing pending: %q", r.Text())
	}
	if r := run("relink", ""); r.ButtonURL == "" {
		t.Fatalf("relink: %+v", r)
	}
	req.Locale = "fr"
	if r := run("unlink", ""); !strings.Contains(r.Text(), "Votre compte est délié") {
		t.Fatalf("unlink: %q", r.Text())
	}
	e.notLinked(req.User)
	if r := run("unlink", ""); !strings.Contains(r.Text(), "pas encore lié") {
		t.Fatalf("unlink again: %q", r.Text())
	}
	if _, ok, _ := e.svc.LinkCommand(ctx, req, "leads", "", nil); ok {
		t.Fatal("leads is not a link command")
	}
}

func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	st, err := embedded.New(embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for u, ok := range map[string]bool{"http://localhost:3978": true, "http://127.0.0.1:8080": true, "http://[::1]:3978": true,
		"https://bot.example.com": true, "http://bot.example.com": false, "http://10.0.0.5:3978": false, "ftp://x": false} {
		svc := &bot.LinkService{Store: st, PublicURL: u,
			App: crm.AppCredentials{TenantID: "organizations", ClientID: "c", OrgURL: "https://org.crm.dynamics.com"}}
		if err := svc.Init(); (err == nil) != ok {
			t.Errorf("public URL %s: Init error %v, want ok=%v", u, err, ok)
		}
	}
}
