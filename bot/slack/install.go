package slack

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	gosync "sync"
	"time"

	goslack "github.com/slack-go/slack"
	"golang.org/x/sync/singleflight"

	"github.com/crmbot/crmbot/store"
)

// Defaults of the Installer's Slack endpoints.
const (
	DefaultSlackAPIURL       = "https://slack.com/api/"
	DefaultSlackAuthorizeURL = "https://slack.com/oauth/v2/authorize"
)

// InstallScopes are the bot scopes the app asks for (deploy/slack/manifest.yaml
// lists the same). The *:history scopes let a notification retried after a
// crash find the post an earlier attempt made (conversations.history of
// the DM, or of the channel the user chose) instead of posting it twice.
var InstallScopes = []string{"chat:write", "commands", "users:read", "users:read.email", "im:write", "im:history",
	"channels:history", "groups:history", "links:read", "links:write"}

// Installer runs the multi-workspace install (OAuth v2): GET /slack/install
// (Start) sends the admin to Slack, GET /slack/oauth/callback (Callback)
// exchanges the code and stores the workspace's bot token, encrypted, in
// Store. BotToken serves the adapter (it is a TokenSource), refreshing
// rotating tokens; Uninstalled forgets a workspace (an Uninstaller).
type Installer struct {
	ClientID     string // SLACK_CLIENT_ID
	ClientSecret string // SLACK_CLIENT_SECRET
	// PublicURL is CRMBOT_PUBLIC_URL; the redirect URI is
	// PublicURL + "/slack/oauth/callback", which must be listed in the app's
	// redirect_urls.
	PublicURL string
	// APIURL is the Slack Web API base (SLACK_API_URL); empty means
	// DefaultSlackAPIURL.
	APIURL string
	// AuthorizeURL is Slack's authorize page; empty means
	// DefaultSlackAuthorizeURL.
	AuthorizeURL string
	// Scopes are the bot scopes requested; nil means InstallScopes.
	Scopes []string
	Store  store.InstallStore
	// Nonces hold the one-time OAuth states (10 minutes).
	Nonces store.NonceStore
	// Locker, when set, keeps replicas from refreshing one workspace's token
	// at the same time (within a replica, calls are merged anyway).
	Locker     store.Locker
	HTTPClient *http.Client // nil: a client with a 10 s timeout
	Logger     *slog.Logger // nil: slog.Default()
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	refreshes singleflight.Group
	teams     teamEnterprises // team → enterprise already remembered by this process
}

// InstallStartPath and InstallCallbackPath are the Installer's routes.
const (
	InstallStartPath    = "/slack/install"
	InstallCallbackPath = "/slack/oauth/callback"
)

// installStateCookie binds the browser that started an install to its state.
const installStateCookie = "crmbot_slack_install"

// installNoncePayload marks a nonce as an install state, so a nonce made for
// anything else (account linking shares the NonceStore) is refused.
const installNoncePayload = "slack-install/v1"

// refreshWindow: a rotating bot token is refreshed when it expires within it.
const refreshWindow = 5 * time.Minute

// Check reports what is missing for the install flow (call at startup when
// SLACK_CLIENT_ID is set).
func (i *Installer) Check() error {
	var missing []string
	for _, v := range [][2]string{{"SLACK_CLIENT_ID", i.ClientID}, {"SLACK_CLIENT_SECRET", i.ClientSecret}, {"CRMBOT_PUBLIC_URL", i.PublicURL}} {
		if v[1] == "" {
			missing = append(missing, v[0])
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("slack install: %s not set", strings.Join(missing, ", "))
	}
	if i.Store == nil || i.Nonces == nil {
		return errors.New("slack install: no store")
	}
	u, err := url.Parse(i.PublicURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("slack install: CRMBOT_PUBLIC_URL %q is not an http(s) URL", i.PublicURL)
	}
	return nil
}

// RedirectURI is where Slack sends the admin back.
func (i *Installer) RedirectURI() string {
	return strings.TrimRight(i.PublicURL, "/") + InstallCallbackPath
}

func (i *Installer) apiURL() string {
	u := i.APIURL
	if u == "" {
		u = DefaultSlackAPIURL
	}
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

func (i *Installer) client() *http.Client {
	if i.HTTPClient != nil {
		return i.HTTPClient
	}
	return &http.Client{Timeout: 10 * time.Second}
}

func (i *Installer) log() *slog.Logger {
	if i.Logger != nil {
		return i.Logger
	}
	return slog.Default()
}

func (i *Installer) now() time.Time {
	if i.Now != nil {
		return i.Now()
	}
	return time.Now()
}

func (i *Installer) secureCookies() bool { return strings.HasPrefix(i.PublicURL, "https://") }

// Start handles GET /slack/install: a fresh one-time state, a cookie binding
// this browser to it, and a redirect to Slack's authorize page.
func (i *Installer) Start(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		installPage(w, http.StatusMethodNotAllowed, "Method not allowed", "Open this address in a browser.")
		return
	}
	if err := i.Check(); err != nil {
		i.log().Error("slack install is not configured", "err", err)
		installPage(w, http.StatusServiceUnavailable, "Installing is not set up",
			"This crmbot is not configured for installing into other workspaces. Ask its administrator.")
		return
	}
	state, err := i.Nonces.CreateNonce(r.Context(), []byte(installNoncePayload))
	if err != nil {
		i.log().Error("slack install: create state", "err", err)
		installPage(w, http.StatusServiceUnavailable, "Try again", "crmbot could not start the installation. Try again in a moment.")
		return
	}
	scopes := i.Scopes
	if scopes == nil {
		scopes = InstallScopes
	}
	authorize := i.AuthorizeURL
	if authorize == "" {
		authorize = DefaultSlackAuthorizeURL
	}
	q := url.Values{
		"client_id":    {i.ClientID},
		"scope":        {strings.Join(scopes, ",")},
		"redirect_uri": {i.RedirectURI()},
		"state":        {state},
	}
	sep := "?"
	if strings.Contains(authorize, "?") {
		sep = "&"
	}
	// SameSite=Lax, not Strict: the callback is a top-level navigation from
	// slack.com, which Strict would strip the cookie from.
	http.SetCookie(w, &http.Cookie{
		Name: installStateCookie, Value: state, Path: "/slack/", MaxAge: int(store.NonceTTL.Seconds()),
		HttpOnly: true, Secure: i.secureCookies(), SameSite: http.SameSiteLaxMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, authorize+sep+q.Encode(), http.StatusFound)
}

// Callback handles GET /slack/oauth/callback: it checks the state against
// the browser's cookie, uses the state up, exchanges the code at
// oauth.v2.access and stores the installation.
func (i *Installer) Callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		installPage(w, http.StatusMethodNotAllowed, "Method not allowed", "Open this address in a browser.")
		return
	}
	if err := i.Check(); err != nil {
		i.log().Error("slack install is not configured", "err", err)
		installPage(w, http.StatusServiceUnavailable, "Installing is not set up",
			"This crmbot is not configured for installing into other workspaces. Ask its administrator.")
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	// The cookie has done its job whatever happens next.
	http.SetCookie(w, &http.Cookie{Name: installStateCookie, Value: "", Path: "/slack/", MaxAge: -1,
		HttpOnly: true, Secure: i.secureCookies(), SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")

	c, err := r.Cookie(installStateCookie)
	bound := state != "" && err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(state)) == 1
	if e := q.Get("error"); e != "" {
		// Cancelled or refused at Slack: use the state up and say so.
		if bound {
			_, _ = i.Nonces.TakeNonce(ctx, state)
		}
		if !slackErrorCode(e) {
			e = "unknown error"
		}
		i.log().Info("slack install: Slack reported an error", "error", e)
		title, text := "Installation failed", "Slack did not install crmbot ("+e+"). Start again from the install page."
		if e == "access_denied" {
			title, text = "Installation cancelled", "crmbot was not installed: the request was cancelled or denied."
		}
		installPage(w, http.StatusBadRequest, title, text)
		return
	}
	if !bound {
		i.log().Warn("slack install: state missing or not this browser's", "has_cookie", err == nil, "has_state", state != "")
		installPage(w, http.StatusBadRequest, "Installation link expired",
			"This installation was not started in this browser, or it was already finished. Start again from the install page.")
		return
	}
	payload, err := i.Nonces.TakeNonce(ctx, state)
	switch {
	case errors.Is(err, store.ErrNotFound), err == nil && string(payload) != installNoncePayload:
		i.log().Warn("slack install: unknown, expired or used state")
		installPage(w, http.StatusBadRequest, "Installation link expired",
			"This installation link was already used or has expired. Start again from the install page.")
		return
	case err != nil:
		i.log().Error("slack install: take state", "err", err)
		installPage(w, http.StatusServiceUnavailable, "Try again", "crmbot could not finish the installation. Try again in a moment.")
		return
	}
	code := q.Get("code")
	if code == "" {
		installPage(w, http.StatusBadRequest, "Installation failed", "Slack sent no authorization code. Start again from the install page.")
		return
	}
	resp, err := goslack.GetOAuthV2ResponseContext(ctx, i.client(), i.ClientID, i.ClientSecret, code, i.RedirectURI(),
		goslack.OAuthOptionAPIURL(i.apiURL()))
	if err != nil {
		i.log().Error("slack install: oauth.v2.access failed", "err", err)
		installPage(w, http.StatusBadGateway, "Installation failed",
			"Slack did not accept the installation. Start again from the install page.")
		return
	}
	in, err := i.installation(resp)
	if err != nil {
		i.log().Error("slack install: unusable oauth.v2.access answer", "err", err)
		installPage(w, http.StatusBadGateway, "Installation failed", "Slack's answer was not usable. Start again from the install page.")
		return
	}
	in.BotID = i.botID(ctx, in)
	if err := i.Store.PutInstallation(ctx, in); err != nil {
		i.log().Error("slack install: store installation", "err", err, "installation", in)
		installPage(w, http.StatusServiceUnavailable, "Try again", "crmbot could not save the installation. Start again in a moment.")
		return
	}
	i.log().Info("slack app installed", "installation", in)
	if !in.IsEnterpriseInstall && in.EnterpriseID != "" {
		// A workspace of a Grid org: remember its org now. An org-wide
		// install names no team; its workspaces are learnt from their
		// requests (BotToken).
		i.rememberTeam(ctx, in.TeamID, in.EnterpriseID)
	}
	where := in.TeamName
	if in.IsEnterpriseInstall {
		where = in.EnterpriseName
	}
	if where == "" {
		where = "your workspace"
	}
	installPage(w, http.StatusOK, "crmbot is installed",
		"crmbot is now installed in "+where+". Go back to Slack and type /crm help.")
}

// installation maps an oauth.v2.access answer onto an Installation: for an
// org-wide install Slack sends no team, and the enterprise is the key.
func (i *Installer) installation(resp *goslack.OAuthV2Response) (store.Installation, error) {
	if resp.TokenType != "" && resp.TokenType != "bot" {
		return store.Installation{}, fmt.Errorf("token type %q, want bot", resp.TokenType)
	}
	if resp.AccessToken == "" {
		return store.Installation{}, errors.New("no bot token")
	}
	in := store.Installation{
		TeamID: resp.Team.ID, TeamName: resp.Team.Name,
		EnterpriseID: resp.Enterprise.ID, EnterpriseName: resp.Enterprise.Name,
		IsEnterpriseInstall: resp.IsEnterpriseInstall,
		BotUserID:           resp.BotUserID, AppID: resp.AppID, Scope: resp.Scope,
		InstalledBy: resp.AuthedUser.ID, InstalledAt: i.now(),
		BotToken: resp.AccessToken, BotRefreshToken: resp.RefreshToken,
	}
	if resp.ExpiresIn > 0 {
		in.BotTokenExpiresAt = i.now().Add(time.Duration(resp.ExpiresIn) * time.Second)
	}
	if in.IsEnterpriseInstall {
		in.TeamID, in.TeamName = "", ""
	}
	if err := in.Validate(); err != nil {
		return store.Installation{}, err
	}
	return in, nil
}

// botID asks auth.test for the bot id, which oauth.v2.access does not
// return; empty when Slack does not answer (it is informational only).
func (i *Installer) botID(ctx context.Context, in store.Installation) string {
	api := goslack.New(in.BotToken, goslack.OptionAPIURL(i.apiURL()), goslack.OptionHTTPClient(i.client()))
	resp, err := api.AuthTestContext(ctx)
	if err != nil {
		i.log().Warn("slack install: auth.test failed; bot id unknown", "err", err, "installation", in)
		return ""
	}
	return resp.BotID
}

// BotToken returns the bot token serving a team (its own install, else its
// enterprise's org-wide install). A rotating token that expires within 5
// minutes is refreshed first (oauth.v2.access, grant_type=refresh_token) and
// the new one stored. store.ErrNotFound when the team has not installed the
// app.
//
// Enterprise Grid: inbound requests carry both ids, and BotToken remembers
// the pair in the store (RememberTeamEnterprise) the first time this
// process sees it, so the hot path costs no write. A proactive send knows
// only the team (store.ChatUser.Tenant) and passes no enterprise: when the
// team has no install of its own, BotToken looks up the org it was seen in
// (in memory, else TeamEnterprise) and uses that org's org-wide install. A
// team never seen in an org, or whose org uninstalled the app, gets
// store.ErrNotFound.
func (i *Installer) BotToken(ctx context.Context, teamID, enterpriseID string) (string, error) {
	if teamID != "" && enterpriseID != "" {
		i.rememberTeam(ctx, teamID, enterpriseID)
	}
	in, err := i.Store.Installation(ctx, teamID, enterpriseID)
	if errors.Is(err, store.ErrNotFound) && teamID != "" && enterpriseID == "" {
		in, enterpriseID, err = i.orgInstallation(ctx, teamID)
	}
	if err != nil {
		return "", fmt.Errorf("slack bot token: %w", err)
	}
	if !i.needsRefresh(in) {
		return in.BotToken, nil
	}
	// One refresh per installation in this process; callers share it.
	v, err, _ := i.refreshes.Do(in.Key(), func() (any, error) {
		// Detach from the first caller's cancellation: the others wait too.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
		defer cancel()
		return i.refresh(rctx, teamID, enterpriseID)
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// rememberTeam stores that teamID belongs to enterpriseID unless this
// process already did: one store write per team per process, not one per
// request. A failed write is logged and retried on the team's next request.
func (i *Installer) rememberTeam(ctx context.Context, teamID, enterpriseID string) {
	if i.teams.get(teamID) == enterpriseID {
		return
	}
	if err := i.Store.RememberTeamEnterprise(ctx, teamID, enterpriseID); err != nil {
		i.log().Warn("slack install: could not remember the team's Enterprise Grid org", "err", err,
			"team_id", teamID, "enterprise_id", enterpriseID)
		return
	}
	i.teams.put(teamID, enterpriseID)
}

// orgInstallation finds the org-wide install serving a team that has none
// of its own, through the org the team was seen in: from memory first; when
// that org has no install (the team moved to another org, remembered by
// another replica), once more from the store. store.ErrNotFound only when
// the answer is known; a store error stays an error (retryable), never
// "unreachable".
func (i *Installer) orgInstallation(ctx context.Context, teamID string) (store.Installation, string, error) {
	cached := i.teams.get(teamID)
	if cached != "" {
		in, err := i.Store.Installation(ctx, teamID, cached)
		if !errors.Is(err, store.ErrNotFound) {
			return in, cached, err
		}
	}
	ent, err := i.Store.TeamEnterprise(ctx, teamID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Installation{}, "", fmt.Errorf("%w: no install for the team and no Enterprise Grid org known for it", store.ErrNotFound)
	case err != nil:
		return store.Installation{}, "", fmt.Errorf("the team's Enterprise Grid org: %w", err)
	}
	i.teams.put(teamID, ent)
	if ent == cached {
		return store.Installation{}, ent, fmt.Errorf("%w: the team's Enterprise Grid org has no install", store.ErrNotFound)
	}
	in, err := i.Store.Installation(ctx, teamID, ent)
	return in, ent, err
}

// maxTeamCache bounds teamEnterprises; when full it is emptied (each team
// then costs one more store write or read).
const maxTeamCache = 100000

// teamEnterprises maps team ids to the Enterprise Grid org they belong to,
// as this process stored or read it. The zero value is ready to use.
type teamEnterprises struct {
	mu  gosync.Mutex
	ent map[string]string
}

func (c *teamEnterprises) get(teamID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ent[teamID]
}

func (c *teamEnterprises) put(teamID, enterpriseID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ent == nil || len(c.ent) >= maxTeamCache {
		c.ent = map[string]string{}
	}
	c.ent[teamID] = enterpriseID
}

func (i *Installer) needsRefresh(in store.Installation) bool {
	return in.BotRefreshToken != "" && !in.BotTokenExpiresAt.IsZero() && in.BotTokenExpiresAt.Sub(i.now()) < refreshWindow
}

// refresh renews a rotating token, under the cross-replica lock when there
// is one.
func (i *Installer) refresh(ctx context.Context, teamID, enterpriseID string) (string, error) {
	in, err := i.Store.Installation(ctx, teamID, enterpriseID) // another caller may have refreshed
	if err != nil {
		return "", fmt.Errorf("slack bot token: %w", err)
	}
	if !i.needsRefresh(in) {
		return in.BotToken, nil
	}
	if i.Locker != nil {
		release, ok, err := i.Locker.TryLock(ctx, "slack-refresh:"+in.Key(), 30*time.Second)
		switch {
		case err != nil:
			i.log().Warn("slack bot token: refresh lock unavailable; refreshing anyway", "err", err, "installation", in)
		case !ok:
			return i.awaitRefresh(ctx, in, teamID, enterpriseID)
		default:
			defer func() { _ = release(context.WithoutCancel(ctx)) }()
			// Re-read under the lock: the holder before us may have finished.
			if in, err = i.Store.Installation(ctx, teamID, enterpriseID); err != nil {
				return "", fmt.Errorf("slack bot token: %w", err)
			}
			if !i.needsRefresh(in) {
				return in.BotToken, nil
			}
		}
	}
	resp, err := goslack.RefreshOAuthV2TokenContext(ctx, i.client(), i.ClientID, i.ClientSecret, in.BotRefreshToken,
		goslack.OAuthOptionAPIURL(i.apiURL()))
	if err != nil {
		i.log().Error("slack bot token: refresh failed", "err", err, "installation", in)
		if in.BotTokenExpiresAt.After(i.now()) {
			return in.BotToken, nil // still valid for a few minutes; the next call retries
		}
		return "", fmt.Errorf("slack bot token of %s: refresh: %w", in.Key(), err)
	}
	if resp.AccessToken == "" {
		return "", fmt.Errorf("slack bot token of %s: refresh returned no token", in.Key())
	}
	in.BotToken = resp.AccessToken
	if resp.RefreshToken != "" {
		in.BotRefreshToken = resp.RefreshToken
	}
	in.BotTokenExpiresAt = time.Time{}
	if resp.ExpiresIn > 0 {
		in.BotTokenExpiresAt = i.now().Add(time.Duration(resp.ExpiresIn) * time.Second)
	}
	if err := i.Store.PutInstallation(ctx, in); err != nil {
		// The new token works; storing it failed. Use it now, and the
		// stored refresh token (if Slack still honours it) next time.
		i.log().Error("slack bot token: store refreshed token", "err", err, "installation", in)
	}
	i.log().Info("slack bot token refreshed", "installation", in)
	return in.BotToken, nil
}

// awaitRefresh waits for the replica holding the refresh lock: the current
// token while it is still valid, else the refreshed one once stored.
func (i *Installer) awaitRefresh(ctx context.Context, in store.Installation, teamID, enterpriseID string) (string, error) {
	if in.BotTokenExpiresAt.After(i.now()) {
		return in.BotToken, nil
	}
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("slack bot token of %s: waiting for another replica's refresh: %w", in.Key(), ctx.Err())
		case <-t.C:
		}
		cur, err := i.Store.Installation(ctx, teamID, enterpriseID)
		if err != nil {
			return "", fmt.Errorf("slack bot token: %w", err)
		}
		if cur.BotTokenExpiresAt.After(i.now()) {
			return cur.BotToken, nil
		}
	}
}

// Uninstalled forgets an installation (app_uninstalled, tokens_revoked). For
// an org-wide install (the event's authorizations[0].is_enterprise_install)
// pass an empty teamID.
func (i *Installer) Uninstalled(ctx context.Context, teamID, enterpriseID string) error {
	if err := i.Store.DeleteInstallation(ctx, teamID, enterpriseID); err != nil {
		return fmt.Errorf("slack uninstall: %w", err)
	}
	i.log().Info("slack app uninstalled", "team_id", teamID, "enterprise_id", enterpriseID)
	return nil
}

var installPageTmpl = template.Must(template.New("install").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{{.Title}} · crmbot</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1d1c1d}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Text}}</p></body></html>
`))

// slackErrorCode reports whether e looks like one of Slack's error codes
// (access_denied, invalid_scope, ...), so a crafted query cannot put
// arbitrary text on the page.
func slackErrorCode(e string) bool {
	if len(e) > 64 {
		return false
	}
	for _, r := range e {
		if (r < 'a' || r > 'z') && r != '_' && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}

// installPage answers a small, escaped HTML page.
func installPage(w http.ResponseWriter, status int, title, text string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_ = installPageTmpl.Execute(w, struct{ Title, Text string }{title, text})
}
