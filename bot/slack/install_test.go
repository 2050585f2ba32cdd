package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmbot/crmbot/internal/testkit"
	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/embedded"
)

// installFakeSlack stands in for slack.com: the authorize page (which
// approves at once) and oauth.v2.access / auth.test.
type installFakeSlack struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	grants    map[string]map[string]any // code → oauth.v2.access answer
	refreshes map[string]map[string]any // refresh token → answer
	exchanged int                       // authorization-code exchanges
	refreshed []url.Values              // refresh requests
}

const (
	installClientID     = "123.456"
	installClientSecret = "s3cr3t-client"
	installPublicURL    = "https://crmbot.example.com"
)

func newInstallFakeSlack(t *testing.T) *installFakeSlack {
	f := &installFakeSlack{t: t, grants: map[string]map[string]any{}, refreshes: map[string]map[string]any{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth/v2/authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != installClientID || q.Get("redirect_uri") != installPublicURL+InstallCallbackPath {
			http.Error(w, "bad client or redirect_uri", http.StatusBadRequest)
			return
		}
		cb := q.Get("redirect_uri") + "?" + url.Values{"code": {q.Get("approve_as")}, "state": {q.Get("state")}}.Encode()
		http.Redirect(w, r, cb, http.StatusFound)
	})
	mux.HandleFunc("POST /api/oauth.v2.access", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("oauth.v2.access: %v", err)
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		answer := map[string]any{"ok": false, "error": "invalid_client_id"}
		switch {
		case r.PostForm.Get("client_id") != installClientID || r.PostForm.Get("client_secret") != installClientSecret:
		case r.PostForm.Get("grant_type") == "refresh_token":
			f.refreshed = append(f.refreshed, r.PostForm)
			answer = map[string]any{"ok": false, "error": "invalid_refresh_token"}
			if a, ok := f.refreshes[r.PostForm.Get("refresh_token")]; ok {
				answer = a
			}
		case r.PostForm.Get("redirect_uri") != installPublicURL+InstallCallbackPath:
			answer = map[string]any{"ok": false, "error": "bad_redirect_uri"}
		default:
			answer = map[string]any{"ok": false, "error": "invalid_code"}
			if a, ok := f.grants[r.PostForm.Get("code")]; ok {
				delete(f.grants, r.PostForm.Get("code")) // codes are single-use
				f.exchanged++
				answer = a
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	})
	mux.HandleFunc("POST /api/auth.test", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		// slack-go sends the token in the form; others use the header.
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if r.FormValue("token") != "" {
			tok = r.FormValue("token")
		}
		if !strings.Contains(tok, "xoxb-") {
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "not_authed"})
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "user_id": "UBOT", "bot_id": "BBOT1", "team_id": "T1"})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *installFakeSlack) grant(code string, answer map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.grants[code] = answer
}

func teamGrant(token string) map[string]any {
	return map[string]any{
		"ok": true, "access_token": token, "token_type": "bot", "scope": "chat:write,commands",
		"bot_user_id": "UBOT", "app_id": "A1",
		"team":       map[string]any{"id": "T1", "name": "Acme"},
		"enterprise": nil, "is_enterprise_install": false,
		"authed_user": map[string]any{"id": "UADMIN"},
	}
}

type installClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *installClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *installClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type installEnv struct {
	slack *installFakeSlack
	st    *embedded.Store
	keys  *store.Keyring
	inst  *Installer
	clock *installClock
	logs  *testkit.SyncBuffer
}

func newInstallEnv(t *testing.T) *installEnv {
	t.Helper()
	keys, err := store.RandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	clock := &installClock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
	st, err := embedded.New(embedded.Options{Keys: keys, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	fake := newInstallFakeSlack(t)
	logs := &testkit.SyncBuffer{}
	inst := &Installer{
		ClientID: installClientID, ClientSecret: installClientSecret, PublicURL: installPublicURL,
		APIURL: fake.srv.URL + "/api/", AuthorizeURL: fake.srv.URL + "/oauth/v2/authorize",
		Store: st, Nonces: st, Locker: st, HTTPClient: fake.srv.Client(),
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    clock.Now,
	}
	return &installEnv{slack: fake, st: st, keys: keys, inst: inst, clock: clock, logs: logs}
}

// start runs GET /slack/install and returns the authorize URL and the state
// cookie.
func (e *installEnv) start(t *testing.T) (*url.URL, *http.Cookie) {
	t.Helper()
	rec := httptest.NewRecorder()
	e.inst.Start(rec, httptest.NewRequest(http.MethodGet, installPublicURL+InstallStartPath, nil))
	res := rec.Result()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("start: status %d, want 302: %s", res.StatusCode, rec.Body)
	}
	loc, err := url.Parse(res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	cookies := res.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("start set %d cookies, want 1", len(cookies))
	}
	return loc, cookies[0]
}

// approve plays the admin approving at Slack as the holder of code, and
// returns the callback URL Slack redirects to.
func (e *installEnv) approve(t *testing.T, authorize *url.URL, code string) string {
	t.Helper()
	q := authorize.Query()
	q.Set("approve_as", code)
	authorize.RawQuery = q.Encode()
	c := e.slack.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := c.Get(authorize.String())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d", res.StatusCode)
	}
	return res.Header.Get("Location")
}

// callback runs GET /slack/oauth/callback with the given cookie (nil: none).
func (e *installEnv) callback(t *testing.T, target string, cookie *http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	if cookie != nil {
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	}
	rec := httptest.NewRecorder()
	e.inst.Callback(rec, req)
	return rec
}

func (e *installEnv) noTokensLogged(t *testing.T, tokens ...string) {
	t.Helper()
	logs := e.logs.String()
	for _, tok := range append(tokens, installClientSecret) {
		if strings.Contains(logs, tok) {
			t.Fatalf("a secret reached the logs:\n%s", logs)
		}
	}
}

func TestInstallHappyPath(t *testing.T) {
	e := newInstallEnv(t)
	ctx := t.Context()
	authorize, cookie := e.start(t)

	q := authorize.Query()
	if got := authorize.Scheme + "://" + authorize.Host + authorize.Path; got != e.inst.AuthorizeURL {
		t.Fatalf("redirected to %s, want %s", got, e.inst.AuthorizeURL)
	}
	if q.Get("client_id") != installClientID || q.Get("redirect_uri") != installPublicURL+"/slack/oauth/callback" ||
		q.Get("scope") != "chat:write,commands,users:read,users:read.email,im:write,im:history,channels:history,groups:history,links:read,links:write" {
		t.Fatalf("authorize query = %v", q)
	}
	if !store.ValidID(q.Get("state"), store.NonceBytes) {
		t.Fatalf("state %q is not a fresh nonce", q.Get("state"))
	}
	if cookie.Value != q.Get("state") || !cookie.HttpOnly || !cookie.Secure || cookie.SameSite != http.SameSiteLaxMode ||
		cookie.MaxAge <= 0 || cookie.MaxAge > 600 || !strings.HasPrefix(InstallCallbackPath, cookie.Path) {
		t.Fatalf("state cookie = %+v, want HttpOnly, Secure, SameSite=Lax, short-lived, covering the callback", cookie)
	}

	e.slack.grant("code-1", teamGrant("xoxb-team-token-1"))
	rec := e.callback(t, e.approve(t, authorize, "code-1"), cookie)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "crmbot is installed") ||
		!strings.Contains(rec.Body.String(), "Acme") {
		t.Fatalf("callback: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("content type %q", ct)
	}
	if strings.Contains(rec.Body.String(), "xoxb-") {
		t.Fatal("the page shows the token")
	}

	in, err := e.st.Installation(ctx, "T1", "")
	if err != nil {
		t.Fatal(err)
	}
	if in.TeamID != "T1" || in.TeamName != "Acme" || in.IsEnterpriseInstall || in.BotUserID != "UBOT" || in.BotID != "BBOT1" ||
		in.AppID != "A1" || in.InstalledBy != "UADMIN" || in.Scope != "chat:write,commands" || !in.InstalledAt.Equal(e.clock.Now()) ||
		in.BotToken != "xoxb-team-token-1" || in.BotRefreshToken != "" || !in.BotTokenExpiresAt.IsZero() {
		t.Fatalf("stored %s (%s/%s/%s/%s/%s)", in, in.TeamName, in.BotID, in.AppID, in.InstalledBy, in.Scope)
	}
	// Sealed: another key opens nothing.
	other, err := store.RandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.WithKeyring(other).Installation(ctx, "T1", ""); !errors.Is(err, store.ErrUnknownKeyID) {
		t.Fatalf("reading with another key: %v, want ErrUnknownKeyID (token sealed)", err)
	}

	tok, err := e.inst.BotToken(ctx, "T1", "")
	if err != nil || tok != "xoxb-team-token-1" {
		t.Fatalf("BotToken = %q, %v", tok, err)
	}
	if _, err := e.inst.BotToken(ctx, "T2", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("BotToken of a team that did not install: %v, want ErrNotFound", err)
	}
	// The callback cleared the cookie.
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].Name != installStateCookie || c[0].MaxAge >= 0 {
		t.Fatalf("callback cookies = %v, want the state cookie deleted", c)
	}

	// Replay: the same callback again is refused, and Slack is not asked.
	rec = e.callback(t, installPublicURL+"/slack/oauth/callback?code=code-1&state="+q.Get("state"), cookie)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "expired") {
		t.Fatalf("replayed callback: %d %s", rec.Code, rec.Body)
	}
	if e.slack.exchanged != 1 {
		t.Fatalf("%d code exchanges, want 1", e.slack.exchanged)
	}

	if err := e.inst.Uninstalled(ctx, "T1", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.inst.BotToken(ctx, "T1", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("BotToken after uninstall: %v, want ErrNotFound", err)
	}
	e.noTokensLogged(t, "xoxb-team-token-1")
}

func TestInstallEnterprise(t *testing.T) {
	e := newInstallEnv(t)
	ctx := t.Context()
	authorize, cookie := e.start(t)
	e.slack.grant("code-org", map[string]any{
		"ok": true, "access_token": "xoxb-org-token", "token_type": "bot", "scope": "chat:write",
		"bot_user_id": "UORGBOT", "app_id": "A1", "team": nil,
		"enterprise": map[string]any{"id": "E1", "name": "Acme Grid"}, "is_enterprise_install": true,
		"authed_user": map[string]any{"id": "UADMIN"},
	})
	rec := e.callback(t, e.approve(t, authorize, "code-org"), cookie)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Acme Grid") {
		t.Fatalf("callback: %d %s", rec.Code, rec.Body)
	}
	in, err := e.st.Installation(ctx, "", "E1")
	if err != nil || !in.IsEnterpriseInstall || in.TeamID != "" || in.EnterpriseName != "Acme Grid" {
		t.Fatalf("stored %v, %v", in, err)
	}
	// Any workspace of the org is served by the org install.
	for _, team := range []string{"T7", "T8", ""} {
		if tok, err := e.inst.BotToken(ctx, team, "E1"); err != nil || tok != "xoxb-org-token" {
			t.Fatalf("BotToken(%q, E1) = %q, %v", team, tok, err)
		}
	}
	if _, err := e.inst.BotToken(ctx, "T7", "E2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("BotToken in another org: %v", err)
	}
	if err := e.inst.Uninstalled(ctx, "", "E1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.inst.BotToken(ctx, "T7", "E1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("BotToken after the org uninstalled: %v", err)
	}
	e.noTokensLogged(t, "xoxb-org-token")
}

func TestInstallRefusesForeignOrMissingState(t *testing.T) {
	e := newInstallEnv(t)
	authorize, cookie := e.start(t)
	e.slack.grant("code-1", teamGrant("xoxb-team-token-1"))
	target := e.approve(t, authorize, "code-1")
	state := authorize.Query().Get("state")

	cases := map[string]struct {
		target string
		cookie *http.Cookie
	}{
		"no cookie":             {target, nil},
		"another browser":       {target, &http.Cookie{Name: installStateCookie, Value: strings.Repeat("A", len(state))}},
		"no state":              {installPublicURL + "/slack/oauth/callback?code=code-1", cookie},
		"state of another flow": {installPublicURL + "/slack/oauth/callback?code=code-1&state=" + strings.Repeat("B", len(state)), cookie},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			rec := e.callback(t, c.target, c.cookie)
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", rec.Code, rec.Body)
			}
		})
	}
	// Nothing was exchanged or stored; the right browser still succeeds.
	if e.slack.exchanged != 0 {
		t.Fatalf("%d exchanges after refused callbacks", e.slack.exchanged)
	}
	if _, err := e.st.Installation(t.Context(), "T1", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("installation stored by a refused callback: %v", err)
	}
	if rec := e.callback(t, target, cookie); rec.Code != http.StatusOK {
		t.Fatalf("the right browser: %d %s", rec.Code, rec.Body)
	}
}

// A nonce made for something else (account linking shares the store) is
// no install state, even with a matching cookie.
func TestInstallRefusesOtherNonces(t *testing.T) {
	e := newInstallEnv(t)
	n, err := e.st.CreateNonce(t.Context(), []byte(`{"link":"payload"}`))
	if err != nil {
		t.Fatal(err)
	}
	e.slack.grant("code-1", teamGrant("xoxb-team-token-1"))
	rec := e.callback(t, installPublicURL+"/slack/oauth/callback?code=code-1&state="+n,
		&http.Cookie{Name: installStateCookie, Value: n})
	if rec.Code != http.StatusBadRequest || e.slack.exchanged != 0 {
		t.Fatalf("status %d, %d exchanges; want 400 and none", rec.Code, e.slack.exchanged)
	}
}

func TestInstallSlackErrorParam(t *testing.T) {
	e := newInstallEnv(t)
	authorize, cookie := e.start(t)
	state := authorize.Query().Get("state")
	rec := e.callback(t, installPublicURL+"/slack/oauth/callback?error=access_denied&state="+state, cookie)
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "cancelled") {
		t.Fatalf("access_denied: %d %s", rec.Code, rec.Body)
	}
	// The state is used up.
	if _, err := e.st.PeekNonce(t.Context(), state); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("state after a cancelled install: %v, want used up", err)
	}
	// Crafted text never reaches the page.
	rec = e.callback(t, installPublicURL+"/slack/oauth/callback?error="+url.QueryEscape("<script>alert(1)</script> call 555"), nil)
	if rec.Code != http.StatusBadRequest || strings.Contains(rec.Body.String(), "script") || strings.Contains(rec.Body.String(), "555") ||
		!strings.Contains(rec.Body.String(), "unknown error") {
		t.Fatalf("crafted error: %d %s", rec.Code, rec.Body)
	}
	rec = e.callback(t, installPublicURL+"/slack/oauth/callback?error=invalid_scope", nil)
	if !strings.Contains(rec.Body.String(), "invalid_scope") {
		t.Fatalf("invalid_scope page: %s", rec.Body)
	}
}

func TestInstallExchangeRefused(t *testing.T) {
	e := newInstallEnv(t)
	authorize, cookie := e.start(t)
	// No grant for this code: Slack answers invalid_code.
	rec := e.callback(t, e.approve(t, authorize, "code-unknown"), cookie)
	if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "Installation failed") {
		t.Fatalf("refused exchange: %d %s", rec.Code, rec.Body)
	}
}

func TestInstallRefreshNearExpiry(t *testing.T) {
	e := newInstallEnv(t)
	ctx := t.Context()
	authorize, cookie := e.start(t)
	g := teamGrant("xoxe.xoxb-1-old")
	g["refresh_token"], g["expires_in"] = "xoxe-1-refresh-old", 43200
	e.slack.grant("code-rot", g)
	if rec := e.callback(t, e.approve(t, authorize, "code-rot"), cookie); rec.Code != http.StatusOK {
		t.Fatalf("callback: %d %s", rec.Code, rec.Body)
	}
	in, err := e.st.Installation(ctx, "T1", "")
	if err != nil || in.BotRefreshToken != "xoxe-1-refresh-old" || !in.BotTokenExpiresAt.Equal(e.clock.Now().Add(12*time.Hour)) {
		t.Fatalf("stored %v, %v", in, err)
	}
	e.slack.mu.Lock()
	e.slack.refreshes["xoxe-1-refresh-old"] = map[string]any{
		"ok": true, "access_token": "xoxe.xoxb-1-new", "token_type": "bot", "refresh_token": "xoxe-1-refresh-new",
		"expires_in": 43200, "team": map[string]any{"id": "T1", "name": "Acme"},
	}
	e.slack.mu.Unlock()

	// Far from expiry: the stored token, no refresh.
	e.clock.Advance(11 * time.Hour)
	if tok, err := e.inst.BotToken(ctx, "T1", ""); err != nil || tok != "xoxe.xoxb-1-old" {
		t.Fatalf("BotToken an hour before expiry = %q, %v", tok, err)
	}
	// Within 5 minutes of expiry: refreshed once, however many ask.
	e.clock.Advance(56 * time.Minute)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			tok, err := e.inst.BotToken(ctx, "T1", "")
			if err == nil && tok != "xoxe.xoxb-1-new" {
				err = fmt.Errorf("got %q", tok)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("BotToken near expiry: %v", err)
		}
	}
	e.slack.mu.Lock()
	refreshed := e.slack.refreshed
	e.slack.mu.Unlock()
	if len(refreshed) != 1 {
		t.Fatalf("%d refreshes, want 1", len(refreshed))
	}
	if r := refreshed[0]; r.Get("grant_type") != "refresh_token" || r.Get("refresh_token") != "xoxe-1-refresh-old" {
		t.Fatalf("refresh request %v", r)
	}
	in, err = e.st.Installation(ctx, "T1", "")
	if err != nil || in.BotToken != "xoxe.xoxb-1-new" || in.BotRefreshToken != "xoxe-1-refresh-new" ||
		!in.BotTokenExpiresAt.Equal(e.clock.Now().Add(12*time.Hour)) || in.TeamName != "Acme" || in.BotID != "BBOT1" {
		t.Fatalf("after refresh stored %v, %v", in, err)
	}
	e.noTokensLogged(t, "xoxe.xoxb-1-old", "xoxe.xoxb-1-new", "xoxe-1-refresh-old", "xoxe-1-refresh-new")

	// Expired and Slack refuses the refresh: an error, not a dead token.
	e.clock.Advance(13 * time.Hour)
	e.slack.mu.Lock()
	delete(e.slack.refreshes, "xoxe-1-refresh-new")
	e.slack.mu.Unlock()
	if tok, err := e.inst.BotToken(ctx, "T1", ""); err == nil {
		t.Fatalf("BotToken with an expired token and a refused refresh = %q, want an error", tok)
	}
}

// Another replica holds the refresh lock: a still-valid token is used
// meanwhile, without a second refresh.
func TestInstallRefreshLockedElsewhere(t *testing.T) {
	e := newInstallEnv(t)
	ctx := t.Context()
	exp := e.clock.Now().Add(2 * time.Minute)
	if err := e.st.PutInstallation(ctx, store.Installation{TeamID: "T1", BotToken: "xoxe.xoxb-cur",
		BotRefreshToken: "xoxe-1-r", BotTokenExpiresAt: exp}); err != nil {
		t.Fatal(err)
	}
	release, ok, err := e.st.TryLock(ctx, "slack-refresh:"+store.InstallKeyTeam("T1"), time.Minute)
	if err != nil || !ok {
		t.Fatalf("TryLock: %v %v", ok, err)
	}
	defer func() { _ = release(context.Background()) }()
	if tok, err := e.inst.BotToken(ctx, "T1", ""); err != nil || tok != "xoxe.xoxb-cur" {
		t.Fatalf("BotToken while another replica refreshes = %q, %v", tok, err)
	}
	if len(e.slack.refreshed) != 0 {
		t.Fatal("refreshed despite the lock")
	}
}

func TestInstallNotConfigured(t *testing.T) {
	e := newInstallEnv(t)
	e.inst.ClientSecret = ""
	if err := e.inst.Check(); err == nil || !strings.Contains(err.Error(), "SLACK_CLIENT_SECRET") {
		t.Fatalf("Check = %v, want it to name SLACK_CLIENT_SECRET", err)
	}
	rec := httptest.NewRecorder()
	e.inst.Start(rec, httptest.NewRequest(http.MethodGet, InstallStartPath, nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("start when not configured: %d", rec.Code)
	}
}

// flakyTeams is an install store whose team → org lookup fails as Redis
// does when it blips.
type flakyTeams struct {
	store.InstallStore
	err error
}

func (f flakyTeams) TeamEnterprise(ctx context.Context, teamID string) (string, error) {
	if f.err != nil {
		return "", f.err
	}
	return f.InstallStore.TeamEnterprise(ctx, teamID)
}

func TestBotTokenThroughTheOrg(t *testing.T) {
	e := newInstallEnv(t)
	ctx := t.Context()
	for _, in := range []store.Installation{
		{EnterpriseID: "E1", IsEnterpriseInstall: true, BotToken: "xoxb-e1", AppID: "A1"},
		{EnterpriseID: "E2", IsEnterpriseInstall: true, BotToken: "xoxb-e2", AppID: "A1"},
	} {
		if err := e.st.PutInstallation(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	// T7 is seen in E1 by this process (an inbound request)…
	if tok, err := e.inst.BotToken(ctx, "T7", "E1"); err != nil || tok != "xoxb-e1" {
		t.Fatalf("inbound in E1: %q %v", tok, err)
	}
	if tok, err := e.inst.BotToken(ctx, "T7", ""); err != nil || tok != "xoxb-e1" {
		t.Fatalf("proactive to T7: %q %v", tok, err)
	}

	t.Run("a store error is not 'unreachable'", func(t *testing.T) {
		blip := errors.New("redis: i/o timeout")
		// Another process: nothing in memory, and Redis blips.
		inst := &Installer{ClientID: e.inst.ClientID, ClientSecret: e.inst.ClientSecret, PublicURL: e.inst.PublicURL,
			APIURL: e.inst.APIURL, Store: flakyTeams{InstallStore: e.st, err: blip}, Nonces: e.st, Locker: e.st,
			HTTPClient: e.inst.HTTPClient, Logger: e.inst.Logger, Now: e.inst.Now}
		_, err := inst.BotToken(ctx, "T7", "")
		if err == nil || errors.Is(err, store.ErrNotFound) || !errors.Is(err, blip) {
			t.Fatalf("err = %v: want the store's error, retryable, not ErrNotFound (which drops the notification)", err)
		}
	})

	t.Run("a team that moved to another org, remembered by another replica", func(t *testing.T) {
		if err := e.st.RememberTeamEnterprise(ctx, "T7", "E2"); err != nil {
			t.Fatal(err)
		}
		if err := e.inst.Uninstalled(ctx, "", "E1"); err != nil {
			t.Fatal(err)
		}
		// This process still has T7 → E1 in memory; E1 has no install any more.
		if tok, err := e.inst.BotToken(ctx, "T7", ""); err != nil || tok != "xoxb-e2" {
			t.Fatalf("proactive to T7 after its move: %q %v, want E2's token", tok, err)
		}
	})

	t.Run("a team never seen", func(t *testing.T) {
		if _, err := e.inst.BotToken(ctx, "T9", ""); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
}
