package sandbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Form fields the user picker adds to the original authorize parameters.
const (
	authFieldFormToken = "sandbox_form_token"
	authFieldUser      = "sandbox_user"
	authFieldCancel    = "sandbox_cancel"
)

// authorizeRequest is a validated authorize request.
type authorizeRequest struct {
	redirectURI, state, nonce, challenge, loginHint, prompt string
	scopes                                                  authScopes
}

// validateAuthorize checks an authorize request in Entra's order. Until the
// client and redirect URI are known good, errors are shown on a page (pageErr):
// the sandbox never redirects to a URI that is not registered. After that they
// go back to the redirect URI (redirectErr).
func (a *authServer) validateAuthorize(q url.Values) (req authorizeRequest, pageErr, redirectErr *oauthError) {
	if e := authDuplicateParams(q); e != nil {
		return req, e, nil
	}
	switch clientID := q.Get("client_id"); {
	case clientID == "":
		return req, authMissingParam("client_id"), nil
	case clientID != a.opts.ClientID:
		return req, newOAuthError("unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.", clientID, a.opts.TenantID), nil
	}
	// Entra falls back to a registered URI when redirect_uri is absent; the
	// sandbox requires it, and compares it byte for byte (no case folding, no
	// trailing-slash or prefix matching), as RFC 9700 asks.
	req.redirectURI = q.Get("redirect_uri")
	switch {
	case req.redirectURI == "":
		return req, authMissingParam("redirect_uri"), nil
	case !slices.Contains(a.opts.RedirectURIs, req.redirectURI):
		return req, newOAuthError("invalid_request", 50011, "The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application.", req.redirectURI, a.opts.ClientID), nil
	}
	if _, err := url.Parse(req.redirectURI); err != nil {
		return req, newOAuthError("invalid_request", 50011, "The registered redirect URI '%s' is not a valid URL.", req.redirectURI), nil
	}

	req.state = q.Get("state")
	switch rt := q.Get("response_type"); {
	case rt == "":
		return req, nil, authMissingParam("response_type")
	case rt != "code":
		return req, nil, newOAuthError("unsupported_response_type", 700054, "response_type '%s' is not enabled for the application (sandbox: only the authorization code flow, response_type=code).", rt)
	}
	if m := q.Get("response_mode"); m != "" && m != "query" {
		return req, nil, newOAuthError("invalid_request", 90023, "Unsupported response_mode '%s' (sandbox: response_mode=query only).", m)
	}
	scopes, err := authParseDelegatedScopes(q.Get("scope"))
	if err != nil {
		return req, nil, err
	}
	req.scopes = scopes

	// Entra lets a confidential client omit PKCE, accepts method "plain" and
	// defaults a missing method to plain. The sandbox is stricter, as RFC 9700
	// and our design ask: S256 on every request, so crmbot can never regress to
	// a flow without PKCE unnoticed.
	req.challenge = q.Get("code_challenge")
	method := q.Get("code_challenge_method")
	switch {
	case req.challenge == "":
		return req, nil, newOAuthError("invalid_request", 9002325, "Proof Key for Code Exchange is required (sandbox: code_challenge with code_challenge_method=S256 on every authorization request).")
	case method != "S256":
		return req, nil, newOAuthError("invalid_request", 9002325, "Proof Key for Code Exchange with code_challenge_method=S256 is required; '%s' is not accepted by the sandbox.", method)
	case !authValidChallenge(req.challenge):
		return req, nil, newOAuthError("invalid_request", 501491, "Invalid size of Code_Challenge parameter.")
	}
	switch req.prompt = q.Get("prompt"); req.prompt {
	case "", "login", "none", "consent", "select_account", "create":
	default:
		return req, nil, newOAuthError("invalid_request", 90023, "Invalid prompt value '%s'.", req.prompt)
	}
	req.nonce = q.Get("nonce")
	req.loginHint = strings.TrimSpace(q.Get("login_hint"))
	return req, nil, nil
}

// authValidChallenge reports whether s has the shape of an S256 challenge:
// 43 characters of base64url (a SHA-256 digest without padding).
func authValidChallenge(s string) bool {
	if len(s) != 43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil
}

// serveAuthorize serves GET /{tenant}/oauth2/v2.0/authorize: with a known
// login_hint it signs that user in at once; otherwise it shows the user picker.
func (a *authServer) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	t := a.newTrace(r)
	q := r.URL.Query()
	req, ok := a.acceptAuthorize(w, r, t, q)
	if !ok {
		return
	}
	// A known login_hint signs in even with prompt=login or select_account:
	// the sandbox has no credentials to ask for.
	notice := ""
	if req.loginHint != "" {
		if u, ok := a.userByEmail(req.loginHint); ok {
			a.signIn(w, r, req, u)
			return
		}
		notice = fmt.Sprintf("There is no sandbox user %s. Choose one of these instead.", req.loginHint)
	}
	if req.prompt == "none" {
		authErrorAfterRedirect(w, r, req.redirectURI, req.state, newOAuthError("login_required", 50058, "A silent sign-in request was sent but no user is signed in."))
		return
	}
	// The form posts back here: under BaseURL's path when the sandbox is
	// mounted below a prefix (crmbot serve: /sandbox, stripped before us).
	action := r.URL.Path
	if b, err := url.Parse(a.baseURL(r)); err == nil {
		action = strings.TrimRight(b.Path, "/") + r.URL.Path
	}
	a.renderPicker(w, t, action, q, req, notice)
}

// serveAuthorizePick serves POST /{tenant}/oauth2/v2.0/authorize: the user
// picker's answer. The form must carry the original parameters unchanged and
// the token rendered with them, which is all the CSRF defence a sandbox
// without passwords needs: a cross-site form cannot forge the token.
func (a *authServer) serveAuthorizePick(w http.ResponseWriter, r *http.Request) {
	t := a.newTrace(r)
	r.Body = http.MaxBytesReader(w, r.Body, authMaxFormBytes)
	if err := r.ParseForm(); err != nil {
		a.writeErrorPage(w, t, newOAuthError("invalid_request", 90014, "The sign-in form could not be read."))
		return
	}
	params := url.Values{}
	for k, v := range r.PostForm {
		if k != authFieldFormToken && k != authFieldUser && k != authFieldCancel {
			params[k] = v
		}
	}
	if !a.checkFormToken(r.PostForm.Get(authFieldFormToken), params) {
		a.writeErrorPage(w, t, newOAuthError("invalid_request", 50089, "Flow token expired: authentication failed (sandbox: the sign-in form expired or was altered). Start signing in again from the application."))
		return
	}
	req, ok := a.acceptAuthorize(w, r, t, params)
	if !ok {
		return
	}
	if r.PostForm.Get(authFieldCancel) != "" {
		authErrorAfterRedirect(w, r, req.redirectURI, req.state, newOAuthError("access_denied", 65004, "User declined to consent to access the app."))
		return
	}
	email := r.PostForm.Get(authFieldUser)
	u, ok := a.userByEmail(email)
	if !ok {
		a.writeErrorPage(w, t, newOAuthError("invalid_request", 50034, "The user account %s does not exist in the %s directory. To sign into this application, the account must be added to the directory.", email, a.opts.TenantID))
		return
	}
	a.signIn(w, r, req, u)
}

// acceptAuthorize checks the tenant and the authorize parameters; on failure
// it has answered (error page or error redirect) and returns false.
func (a *authServer) acceptAuthorize(w http.ResponseWriter, r *http.Request, t authTrace, params url.Values) (authorizeRequest, bool) {
	if tenant := r.PathValue("tenant"); !a.knownTenant(tenant) {
		a.writeErrorPage(w, t, authUnknownTenant(tenant))
		return authorizeRequest{}, false
	}
	req, pageErr, redirectErr := a.validateAuthorize(params)
	switch {
	case pageErr != nil:
		a.writeErrorPage(w, t, pageErr)
		return req, false
	case redirectErr != nil:
		authErrorAfterRedirect(w, r, req.redirectURI, req.state, redirectErr)
		return req, false
	}
	return req, true
}

// signIn issues a code for u and sends it to the redirect URI.
func (a *authServer) signIn(w http.ResponseWriter, r *http.Request, req authorizeRequest, u User) {
	code, err := a.issueCode(authCode{
		grant:       authGrant{user: u, clientID: a.opts.ClientID, scopes: req.scopes},
		redirectURI: req.redirectURI,
		challenge:   req.challenge,
		nonce:       req.nonce,
	})
	if err != nil {
		authErrorAfterRedirect(w, r, req.redirectURI, req.state, err)
		return
	}
	v := url.Values{"code": {code}}
	if req.state != "" {
		v.Set("state", req.state)
	}
	authRedirect(w, r, req.redirectURI, v)
}

// The picker's per-render token: 16 random bytes and an expiry, then an
// HMAC-SHA256 over them and the exact parameters rendered into the form.
// Stateless, so rendering pages costs no memory.
const authFormMsgLen = 16 + 8

// newFormToken returns the token to render with params.
func (a *authServer) newFormToken(params url.Values) string {
	msg := make([]byte, authFormMsgLen)
	copy(msg, authRandomBytes(16))
	binary.BigEndian.PutUint64(msg[16:], uint64(a.now().Add(authFormTTL).Unix()))
	return base64.RawURLEncoding.EncodeToString(append(msg, a.formMAC(msg, params)...))
}

// checkFormToken reports whether token was rendered with exactly params and is unexpired.
func (a *authServer) checkFormToken(token string, params url.Values) bool {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != authFormMsgLen+sha256.Size {
		return false
	}
	msg, mac := raw[:authFormMsgLen], raw[authFormMsgLen:]
	if !hmac.Equal(mac, a.formMAC(msg, params)) {
		return false
	}
	return a.now().Unix() < int64(binary.BigEndian.Uint64(msg[16:]))
}

// formMAC authenticates a token's message together with the form's parameters.
func (a *authServer) formMAC(msg []byte, params url.Values) []byte {
	m := hmac.New(sha256.New, a.formKey)
	m.Write(msg)
	m.Write([]byte(params.Encode())) // sorted by key: independent of field order
	return m.Sum(nil)
}
