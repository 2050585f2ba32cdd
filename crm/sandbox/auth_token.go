package sandbox

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"time"
)

// oauthTokenResponse is Entra's token endpoint answer.
type oauthTokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"` // absent for client credentials, as Entra
	ExpiresIn    int    `json:"expires_in"`
	ExtExpiresIn int    `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"` // only with offline_access
	IDToken      string `json:"id_token,omitempty"`      // only with openid
}

// authValidVerifier reports whether v is an RFC 7636 code_verifier: 43 to 128
// unreserved characters.
func authValidVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for _, c := range []byte(v) {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// serveToken serves POST /{tenant}/oauth2/v2.0/token.
func (a *authServer) serveToken(w http.ResponseWriter, r *http.Request) {
	t := a.newTrace(r)
	resp, err := a.token(w, r)
	if err != nil {
		a.writeOAuthError(w, t, err)
		return
	}
	t.setHeaders(w)
	authWriteJSON(w, http.StatusOK, resp)
}

// token validates the request, authenticates the client and runs the grant.
func (a *authServer) token(w http.ResponseWriter, r *http.Request) (*oauthTokenResponse, *oauthError) {
	if tenant := r.PathValue("tenant"); !a.knownTenant(tenant) {
		return nil, authUnknownTenant(tenant)
	}
	if r.Method != http.MethodPost {
		return nil, newOAuthError("invalid_request", 900561, "The endpoint only accepts POST requests. Received a %s request.", r.Method)
	}
	r.Body = http.MaxBytesReader(w, r.Body, authMaxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, newOAuthError("invalid_request", 90014, "The request body could not be read as application/x-www-form-urlencoded.")
	}
	form := r.PostForm // parameters in the URL query are ignored, as Entra does
	if err := authDuplicateParams(form); err != nil {
		return nil, err
	}
	grantType := form.Get("grant_type")
	switch grantType {
	case "":
		return nil, authMissingParam("grant_type")
	case "authorization_code", "refresh_token", "client_credentials":
	default:
		return nil, newOAuthError("unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s'.", grantType)
	}
	if err := a.authenticateClient(r, form); err != nil {
		return nil, err
	}
	switch grantType {
	case "authorization_code":
		return a.redeemAuthorizationCode(r, form)
	case "refresh_token":
		return a.redeemRefreshToken(r, form)
	default:
		return a.clientCredentials(r, form)
	}
}

// authenticateClient checks client_id and client_secret, sent either in the
// form (client_secret_post) or as HTTP Basic (client_secret_basic, whose parts
// are form-encoded first, RFC 6749 §2.3.1) — not both.
func (a *authServer) authenticateClient(r *http.Request, form url.Values) *oauthError {
	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if basicID, basicSecret, ok := r.BasicAuth(); ok {
		id, err1 := url.QueryUnescape(basicID)
		s, err2 := url.QueryUnescape(basicSecret)
		switch {
		case err1 != nil || err2 != nil:
			return newOAuthError("invalid_request", 90014, "The Authorization header's client credentials are malformed.")
		case secret != "":
			return newOAuthError("invalid_request", 90014, "The client sent credentials both in the Authorization header and in the body; use one.")
		case clientID != "" && clientID != id:
			return newOAuthError("invalid_request", 90014, "client_id in the body differs from the one in the Authorization header.")
		}
		clientID, secret = id, s
	}
	switch {
	case clientID == "":
		return authMissingParam("client_id")
	case clientID != a.opts.ClientID:
		return newOAuthError("unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", clientID, a.opts.TenantID)
	case secret == "":
		e := newOAuthError("invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		e.status = http.StatusUnauthorized
		return e
	}
	// Compare digests so the comparison takes the same time whatever the lengths.
	got, want := sha256.Sum256([]byte(secret)), sha256.Sum256([]byte(a.opts.ClientSecret))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		e := newOAuthError("invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", a.opts.ClientID)
		e.status = http.StatusUnauthorized
		return e
	}
	return nil
}

// redeemAuthorizationCode runs grant_type=authorization_code.
func (a *authServer) redeemAuthorizationCode(r *http.Request, form url.Values) (*oauthTokenResponse, *oauthError) {
	code := form.Get("code")
	if code == "" {
		return nil, authMissingParam("code")
	}
	c, found := a.redeemCode(code)
	switch found {
	case authUnknown:
		return nil, newOAuthError("invalid_grant", 70000, "The provided value for the 'code' parameter is not valid.")
	case authRedeemed:
		return nil, newOAuthError("invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	case authExpired:
		return nil, newOAuthError("invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	}
	if c.grant.clientID != a.opts.ClientID {
		return nil, newOAuthError("invalid_grant", 70000, "The provided authorization code was issued to another client.")
	}
	if redirectURI := form.Get("redirect_uri"); redirectURI != c.redirectURI {
		return nil, newOAuthError("invalid_grant", 500112, "The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code.", redirectURI, c.redirectURI)
	}
	verifier := form.Get("code_verifier")
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	if !authValidVerifier(verifier) || subtle.ConstantTimeCompare([]byte(challenge), []byte(c.challenge)) != 1 {
		return nil, newOAuthError("invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
	}
	return a.issueTokens(r, c.grant, c.nonce)
}

// redeemRefreshToken runs grant_type=refresh_token. Each use returns a new
// refresh token; the one used stays valid until its own expiry, as with Entra.
func (a *authServer) redeemRefreshToken(r *http.Request, form url.Values) (*oauthTokenResponse, *oauthError) {
	token := form.Get("refresh_token")
	if token == "" {
		return nil, authMissingParam("refresh_token")
	}
	rg, found := a.lookupRefresh(token)
	switch found {
	case authUnknown:
		return nil, newOAuthError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid (sandbox: unknown refresh token).")
	case authRevoked:
		return nil, newOAuthError("invalid_grant", 50173, "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '%s'.", authTimeFormat(rg.issued))
	case authExpired:
		return nil, newOAuthError("invalid_grant", 700082, "The refresh token has expired due to inactivity. The token was issued on %s and was inactive for %s.", authTimeFormat(rg.issued), a.opts.RefreshTokenTTL.Round(time.Second))
	}
	g := rg.grant
	if g.clientID != a.opts.ClientID {
		return nil, newOAuthError("invalid_grant", 70000, "The provided refresh token was issued to another client.")
	}
	if _, ok := a.userByObjectID(g.user.ObjectID); !ok {
		return nil, newOAuthError("invalid_grant", 50034, "The user account does not exist in the %s directory.", a.opts.TenantID)
	}
	// A refresh may ask for other scopes (Entra's refresh tokens are
	// multi-resource); every sandbox user has consented to everything.
	if raw := form.Get("scope"); raw != "" {
		s, err := authParseDelegatedScopes(raw)
		if err != nil {
			return nil, err
		}
		s.offline = true
		g.scopes = s
	}
	return a.issueTokens(r, g, "")
}

// clientCredentials runs grant_type=client_credentials: an app-only access
// token acting as the application user, no refresh token, no id token.
func (a *authServer) clientCredentials(r *http.Request, form url.Values) (*oauthTokenResponse, *oauthError) {
	resource, err := authParseAppScope(form.Get("scope"))
	if err != nil {
		return nil, err
	}
	return a.issueTokens(r, authGrant{app: true, clientID: a.opts.ClientID, scopes: authScopes{resource: resource}}, "")
}

// issueTokens answers a grant: an access token; for delegated grants also the
// granted scope, a refresh token with offline_access and an id token with openid.
func (a *authServer) issueTokens(r *http.Request, g authGrant, nonce string) (*oauthTokenResponse, *oauthError) {
	now := a.now()
	access, err := a.sign(a.accessTokenClaims(g, now))
	if err != nil {
		return nil, authServerError()
	}
	resp := &oauthTokenResponse{
		TokenType:    "Bearer",
		ExpiresIn:    a.expiresIn(),
		ExtExpiresIn: a.expiresIn(),
		AccessToken:  access,
	}
	if g.app {
		return resp, nil // Entra's client-credentials answer has no scope
	}
	resp.Scope = g.scopes.granted()
	if g.scopes.openid {
		if resp.IDToken, err = a.sign(a.idTokenClaims(g, a.baseURL(r), nonce, now)); err != nil {
			return nil, authServerError()
		}
	}
	if g.scopes.offline {
		rt, rtErr := a.issueRefresh(g)
		if rtErr != nil {
			return nil, rtErr
		}
		resp.RefreshToken = rt
	}
	return resp, nil
}

// expiresIn is the token response's expires_in: Entra reports its one-hour
// tokens as 3599 seconds. Never 0, which clients read as "does not expire".
func (a *authServer) expiresIn() int {
	return max(int(a.opts.AccessTokenTTL/time.Second)-1, 1)
}

// authServerError is the answer when signing fails (it cannot, with a valid key).
func authServerError() *oauthError {
	e := newOAuthError("server_error", 90033, "A transient error has occurred. Please try again.")
	e.status = http.StatusInternalServerError
	return e
}
