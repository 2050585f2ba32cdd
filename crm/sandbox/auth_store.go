package sandbox

import (
	"net/http"
	"strings"
	"time"
)

// authGrant is what a code or refresh token stands for: who, for which client,
// with which scopes.
type authGrant struct {
	user     User // the signed-in user; zero for app grants
	app      bool // client credentials: acts as the application user
	clientID string
	scopes   authScopes
}

// authCode is a pending authorization code (stored under its hash).
type authCode struct {
	grant       authGrant
	redirectURI string
	challenge   string // PKCE S256 code_challenge
	nonce       string
	expires     time.Time
	redeemed    bool // kept until expiry so a second use gets Entra's "already redeemed"
}

// refreshGrant is a live refresh token (stored under its hash).
type refreshGrant struct {
	grant   authGrant
	issued  time.Time
	expires time.Time
	revoked bool
}

// authLookup is the outcome of looking up a code or refresh token.
type authLookup int

const (
	authFound authLookup = iota
	authUnknown
	authExpired
	authRedeemed // codes only
	authRevoked  // refresh tokens only
)

// authBusy is the answer when the memory caps are reached.
func authBusy() *oauthError {
	e := newOAuthError("temporarily_unavailable", 90033, "A transient error has occurred (sandbox: too many live codes or refresh tokens). Please try again.")
	e.status = http.StatusServiceUnavailable
	return e
}

// issueCode stores c and returns the new code.
func (a *authServer) issueCode(c authCode) (string, *oauthError) {
	code := authRandomToken()
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	a.sweepLocked(now, len(a.codes) >= authMaxCodes)
	if len(a.codes) >= authMaxCodes {
		return "", authBusy()
	}
	c.expires = now.Add(authCodeTTL)
	a.codes[authTokenHash(code)] = &c
	return code, nil
}

// redeemCode looks a code up and marks it used: whatever the outcome of the
// redemption, a code works at most once (RFC 6749 §4.1.2).
func (a *authServer) redeemCode(code string) (authCode, authLookup) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.codes[authTokenHash(code)]
	switch {
	case !ok:
		return authCode{}, authUnknown
	case c.redeemed:
		return authCode{}, authRedeemed
	case !a.now().Before(c.expires):
		return authCode{}, authExpired
	}
	c.redeemed = true
	return *c, authFound
}

// issueRefresh stores a new refresh token for g and returns it.
func (a *authServer) issueRefresh(g authGrant) (string, *oauthError) {
	token := authRandomToken()
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	a.sweepLocked(now, len(a.refresh) >= authMaxRefreshTokens)
	if len(a.refresh) >= authMaxRefreshTokens {
		return "", authBusy()
	}
	a.refresh[authTokenHash(token)] = &refreshGrant{grant: g, issued: now, expires: now.Add(a.opts.RefreshTokenTTL)}
	return token, nil
}

// lookupRefresh finds a refresh token. Using one does not revoke it: Entra
// leaves the old token valid until its own expiry when it rotates.
func (a *authServer) lookupRefresh(token string) (refreshGrant, authLookup) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g, ok := a.refresh[authTokenHash(token)]
	switch {
	case !ok:
		return refreshGrant{}, authUnknown
	case g.revoked:
		return *g, authRevoked
	case !a.now().Before(g.expires):
		return *g, authExpired
	}
	return *g, authFound
}

// revokeRefreshTokens marks every refresh token of the user with this email revoked.
func (a *authServer) revokeRefreshTokens(email string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, g := range a.refresh {
		if !g.grant.app && strings.EqualFold(g.grant.user.Email, email) {
			g.revoked = true
		}
	}
}

// sweepLocked drops expired codes and refresh tokens, at most once per
// authSweepEvery unless forced (a cap is reached). The caller holds a.mu.
func (a *authServer) sweepLocked(now time.Time, force bool) {
	if !force && now.Before(a.nextSweep) {
		return
	}
	a.nextSweep = now.Add(authSweepEvery)
	for k, c := range a.codes {
		if !now.Before(c.expires) {
			delete(a.codes, k)
		}
	}
	for k, g := range a.refresh {
		if !now.Before(g.expires) {
			delete(a.refresh, k)
		}
	}
}
