package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/store"
)

// TokenStore is what per-user tokens need from the store: the links and
// their tokens, the cross-replica lock, and a tell-once record.
type TokenStore interface {
	store.LinkStore
	store.Locker
	store.Dedupe
}

// Defaults of UserTokens' tuning fields.
const (
	DefaultTokenMargin    = 2 * time.Minute
	DefaultRefreshLockTTL = 30 * time.Second
	// maxTokenResponse bounds the token endpoint's answer.
	maxTokenResponse = 1 << 20
	// brokenNoticeTTL outlives any race between replicas that read the same
	// undecryptable tokens at once (see readFailed).
	brokenNoticeTTL = time.Hour
	// refreshRetries bounds restarts after a concurrent relink moved the link.
	refreshRetries = 3
)

// UserTokens hands out each linked chat user's delegated Dynamics access
// token. It serves the token cached in the store while it is valid; otherwise
// it refreshes it once — single-flight in this process and under the store's
// lock across replicas — and persists the new refresh and access tokens
// (compare-and-swap) before anyone uses the access token. A refused refresh
// token (invalid_grant) or undecryptable stored tokens break the link and
// return a *LinkBrokenError whose First is set for exactly one caller.
//
// Set the fields, then use it from any goroutine; do not copy it after first
// use. It never logs a token, code or secret.
type UserTokens struct {
	// Store holds the links and their encrypted tokens.
	Store TokenStore
	// App is the Entra app registration (authority, tenant, client id and
	// secret) and the Dataverse org whose scopes are requested — the same
	// registration the link sign-in used.
	App crm.AppCredentials
	// HTTPClient calls the token endpoint; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Transport carries the Dynamics requests of clients made by Client;
	// nil means http.DefaultTransport.
	Transport http.RoundTripper
	// Logger receives refreshes (debug) and broken links (warn); nil means
	// slog.Default().
	Logger *slog.Logger
	// Now is the clock tokens' validity is judged by; nil means time.Now.
	Now func() time.Time
	// Margin: a cached access token is used only while it stays valid this
	// much longer; 0 means DefaultTokenMargin.
	Margin time.Duration
	// LockTTL bounds one replica's hold on a user's refresh; 0 means
	// DefaultRefreshLockTTL. Replicas waiting for it give up after it.
	LockTTL time.Duration

	group singleflight.Group
}

// Token returns u's access token: the stored one while valid, else a
// refreshed one, already persisted. Errors: ErrNotLinked, *LinkBrokenError,
// or a transient failure (store or authority unavailable) worth retrying.
func (ut *UserTokens) Token(ctx context.Context, u store.ChatUser) (*oauth2.Token, error) {
	t, err := ut.Store.Tokens(ctx, u)
	if err != nil {
		return nil, ut.readFailed(ctx, u, err)
	}
	if tok, ok := ut.usable(t); ok {
		return tok, nil
	}
	// The refresh outlives a caller that gives up: others may share it, and
	// a refresh abandoned half way would waste the rotated refresh token.
	ch := ut.group.DoChan(flightKey(u), func() (any, error) {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*ut.lockTTL())
		defer cancel()
		tok, err := ut.refresh(rctx, u)
		return tok, share(err)
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("dynamics token of %s: %w", u, ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return nil, forCaller(r.Err)
		}
		tok := *r.Val.(*oauth2.Token) // a copy per caller
		return &tok, nil
	}
}

// Source returns u's tokens as an oauth2.TokenSource whose calls use ctx.
func (ut *UserTokens) Source(ctx context.Context, u store.ChatUser) oauth2.TokenSource {
	return tokenSource{ctx: ctx, ut: ut, u: u}
}

// Client returns an HTTP client that sends u's access token with every
// request (taken per request, with the request's context): the client
// crm.NewClient needs to act as u.
func (ut *UserTokens) Client(u store.ChatUser) *http.Client {
	base := ut.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{Transport: &bearerTransport{ut: ut, u: u, base: base}}
}

type tokenSource struct {
	ctx context.Context
	ut  *UserTokens
	u   store.ChatUser
}

func (s tokenSource) Token() (*oauth2.Token, error) { return s.ut.Token(s.ctx, s.u) }

type bearerTransport struct {
	ut   *UserTokens
	u    store.ChatUser
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (b *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	tok, err := b.ut.Token(req.Context(), b.u)
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	return b.base.RoundTrip(r)
}

// refresh runs once per user at a time in this process: take the user's
// lock, re-read (another replica may have refreshed meanwhile), refresh,
// persist, release.
func (ut *UserTokens) refresh(ctx context.Context, u store.ChatUser) (*oauth2.Token, error) {
	wait := 25 * time.Millisecond
	giveUp := time.Now().Add(ut.lockTTL())
	for restarts := 0; ; {
		release, held, err := ut.Store.TryLock(ctx, lockName(u), ut.lockTTL())
		if err != nil {
			return nil, fmt.Errorf("refresh dynamics token of %s: %w", u, err)
		}
		t, err := ut.Store.Tokens(ctx, u)
		if err == nil {
			if tok, ok := ut.usable(t); ok {
				ut.unlock(u, release)
				return tok, nil
			}
		}
		if !held {
			// Another replica is refreshing: wait for its result to land.
			if err != nil {
				return nil, ut.readFailed(ctx, u, err)
			}
			if time.Now().After(giveUp) {
				return nil, fmt.Errorf("refresh dynamics token of %s: another replica held the refresh lock for %s", u, ut.lockTTL())
			}
			if err := sleep(ctx, wait); err != nil {
				return nil, fmt.Errorf("refresh dynamics token of %s: %w", u, err)
			}
			wait = min(2*wait, 400*time.Millisecond)
			continue
		}
		if err != nil {
			ut.unlock(u, release)
			return nil, ut.readFailed(ctx, u, err)
		}
		tok, err := ut.refreshLocked(ctx, u, t)
		ut.unlock(u, release)
		if errors.Is(err, errRelinked) && restarts < refreshRetries {
			restarts++
			continue
		}
		return tok, err
	}
}

// errRelinked: the link moved under a refresh (relinked or written); start
// over with what is stored now.
var errRelinked = errors.New("link changed during refresh")

// refreshLocked redeems t's refresh token and stores the result, holding
// the user's lock.
func (ut *UserTokens) refreshLocked(ctx context.Context, u store.ChatUser, t store.Tokens) (*oauth2.Token, error) {
	issued := ut.now()
	resp, err := ut.redeem(ctx, t.RefreshToken)
	if err != nil {
		var te *TokenEndpointError
		if errors.As(err, &te) && te.InvalidGrant() {
			return nil, ut.breakLink(ctx, u, t.Version, "Dynamics sign-in refused the refresh token ("+te.AADSTS+")", te)
		}
		return nil, fmt.Errorf("refresh dynamics token of %s: %w", u, err)
	}
	next := store.Tokens{
		RefreshToken: resp.RefreshToken, AccessToken: resp.AccessToken,
		AccessExpiry: issued.Add(time.Duration(resp.ExpiresIn) * time.Second), Version: t.Version,
	}
	if next.RefreshToken == "" { // no rotation this time: keep the one we have
		next.RefreshToken = t.RefreshToken
	}
	// Persist before use: the rotated refresh token must never exist only in
	// memory, or a crash here would strand the link on an older one.
	v, err := ut.Store.SwapTokens(ctx, u, next)
	switch {
	case err == nil:
	case errors.Is(err, store.ErrConflict):
		return nil, errRelinked
	case errors.Is(err, store.ErrNotFound):
		return nil, fmt.Errorf("refresh dynamics token of %s: %w", u, ErrNotLinked)
	case errors.Is(err, store.ErrBrokenLink):
		return nil, &LinkBrokenError{User: u, Reason: "broken during a refresh", cause: err}
	default:
		return nil, fmt.Errorf("refresh dynamics token of %s: store the new tokens: %w", u, err)
	}
	ut.logger().Debug("dynamics token refreshed", "user", u.String(), "version", v,
		"access_expiry", next.AccessExpiry, "rotated", resp.RefreshToken != "")
	return &oauth2.Token{AccessToken: next.AccessToken, TokenType: "Bearer", Expiry: next.AccessExpiry}, nil
}

// breakLink marks u's link broken after the authority refused its refresh
// token read at version — unless the link was relinked meanwhile, which the
// refusal says nothing about.
func (ut *UserTokens) breakLink(ctx context.Context, u store.ChatUser, version int64, reason string, cause error) error {
	l, err := ut.Store.GetLink(ctx, u)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("refresh dynamics token of %s: %w", u, ErrNotLinked)
	case err != nil:
		return fmt.Errorf("refresh dynamics token of %s: %w", u, err)
	case l.Version != version:
		return errRelinked
	}
	first, err := ut.Store.MarkBroken(ctx, u, reason)
	if err != nil {
		return fmt.Errorf("mark link of %s broken: %w", u, err)
	}
	ut.logger().Warn("dynamics link broken", "user", u.String(), "reason", reason, "first", first)
	return &LinkBrokenError{User: u, First: first, Reason: reason, cause: cause}
}

// readFailed turns a failed token read into the caller's error. A read that
// found undecryptable tokens has already broken the link (the store does
// that); of the readers who raced to that discovery, the tell-once record
// picks the one to tell the user.
func (ut *UserTokens) readFailed(ctx context.Context, u store.ChatUser, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("dynamics token of %s: %w", u, ErrNotLinked)
	case !errors.Is(err, store.ErrBrokenLink):
		return fmt.Errorf("dynamics token of %s: %w", u, err)
	}
	l, lerr := ut.Store.GetLink(ctx, u)
	reason := l.BrokenReason
	if lerr != nil || reason == "" {
		reason = "link broken"
	}
	e := &LinkBrokenError{User: u, Reason: reason, cause: err}
	if errors.Is(err, store.ErrUnknownKeyID) || errors.Is(err, store.ErrUndecryptable) {
		if lerr != nil {
			return fmt.Errorf("%w (and reading the link failed: %v)", e, lerr)
		}
		first, serr := ut.Store.SeenOnce(ctx, fmt.Sprintf("link-broken:%s:%d", flightKey(u), l.Version), brokenNoticeTTL)
		if serr != nil {
			return fmt.Errorf("%w (and recording it failed: %v)", e, serr)
		}
		e.First = first
		if first {
			ut.logger().Warn("dynamics link broken", "user", u.String(), "reason", reason, "first", true)
		}
	}
	return e
}

// tokenResponse is the token endpoint's success answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
	TokenType    string `json:"token_type"`
}

// redeem posts grant_type=refresh_token. It is done by hand rather than with
// oauth2.Config's refresher, which sends no scope (Entra v2 wants it) and
// keeps the rotated refresh token in memory only.
func (ut *UserTokens) redeem(ctx context.Context, refreshToken string) (*tokenResponse, error) {
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
		"client_id":     {ut.App.ClientID},
		"client_secret": {ut.App.ClientSecret},
		"scope":         {strings.Join(crm.DelegatedScopes(ut.App.OrgURL), " ")},
	}
	tokenURL := crm.Endpoint(ut.App.AuthorityURL, ut.App.TenantID).TokenURL
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	hc := ut.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return nil, fmt.Errorf("token response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.Unmarshal(body, &e)
		if e.Error == "" {
			e.Error = "no OAuth error code"
		}
		return nil, &TokenEndpointError{Status: resp.StatusCode, Code: e.Error, AADSTS: aadstsCode.FindString(e.Description)}
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("token response: not JSON") // the body holds tokens: never quote it
	}
	if tr.AccessToken == "" || !strings.EqualFold(tr.TokenType, "Bearer") {
		return nil, fmt.Errorf("token response: no bearer access token")
	}
	if tr.ExpiresIn <= 0 {
		tr.ExpiresIn = 60 // Entra always says; without it, trust the token briefly
	}
	return &tr, nil
}

// usable returns t's access token if it stays valid beyond the margin.
func (ut *UserTokens) usable(t store.Tokens) (*oauth2.Token, bool) {
	if t.AccessToken == "" || !ut.now().Add(ut.margin()).Before(t.AccessExpiry) {
		return nil, false
	}
	return &oauth2.Token{AccessToken: t.AccessToken, TokenType: "Bearer", Expiry: t.AccessExpiry}, true
}

// unlock releases the refresh lock. Losing it means the refresh outlasted
// LockTTL; the compare-and-swap kept the tokens safe, but say so.
func (ut *UserTokens) unlock(u store.ChatUser, release func(context.Context) error) {
	if release == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := release(ctx); err != nil {
		ut.logger().Warn("refresh lock not released", "user", u.String(), "err", err)
	}
}

func (ut *UserTokens) now() time.Time {
	if ut.Now != nil {
		return ut.Now()
	}
	return time.Now()
}

func (ut *UserTokens) margin() time.Duration {
	if ut.Margin > 0 {
		return ut.Margin
	}
	return DefaultTokenMargin
}

func (ut *UserTokens) lockTTL() time.Duration {
	if ut.LockTTL > 0 {
		return ut.LockTTL
	}
	return DefaultRefreshLockTTL
}

func (ut *UserTokens) logger() *slog.Logger {
	if ut.Logger != nil {
		return ut.Logger
	}
	return slog.Default()
}

// flightKey identifies u unambiguously (ids may contain '/').
func flightKey(u store.ChatUser) string { return u.Platform + "\x00" + u.Tenant + "\x00" + u.UserID }

// lockName is the store lock serializing u's refreshes across replicas.
func lockName(u store.ChatUser) string { return "refresh:" + u.String() }

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
