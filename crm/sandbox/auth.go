package sandbox

// The sandbox's Entra-ID-v2.0-like OAuth endpoints (authorize with PKCE, token,
// OpenID discovery, JWKS) and the bearer-token check the Web API relies on.
//
// Where the sandbox departs from Entra it is stricter (PKCE S256 required,
// redirect_uri required, response_mode=query only) or simpler (one signing key,
// every user has consented to everything); each place says so in a comment.
// It never logs or stores a raw token, code or secret: codes and refresh tokens
// are kept as SHA-256 hashes and expire.

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"
	"sync"
	"time"
)

const (
	// authCodeTTL is how long an authorization code can be redeemed (Entra: 10 minutes).
	authCodeTTL = 10 * time.Minute
	// authFormTTL is how long a rendered user-picker page can be submitted.
	authFormTTL = 10 * time.Minute
	// authIDTokenTTL is the id token lifetime (Entra: 1 hour, independent of the access token's).
	authIDTokenTTL = time.Hour
	// authClockSkew is the leeway authenticate allows on exp, nbf and iat.
	authClockSkew = time.Minute
	// authSweepEvery bounds how often expired codes and refresh tokens are purged.
	authSweepEvery = time.Minute
	// authMaxCodes and authMaxRefreshTokens cap memory; beyond them issuance fails
	// with temporarily_unavailable instead of evicting grants that are still valid.
	authMaxCodes         = 100_000
	authMaxRefreshTokens = 200_000
	// authMaxFormBytes caps the size of a token or picker POST body.
	authMaxFormBytes = 64 << 10
)

// AppObjectID is the Entra object id of the demo app's service principal: the
// `oid` (and `sub`) of client-credentials access tokens, and the
// azureactivedirectoryobjectid of the Dataverse application user (AppUserID).
const AppObjectID = "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"

// authServer implements the Entra-like endpoints and maps bearer tokens to
// Principals. It is safe for concurrent use; all its state is per instance.
type authServer struct {
	opts  Options
	users []User

	// The RS256 signing key is generated on first use (about 40 ms), so
	// sandboxes that never issue a token don't pay for it.
	keyOnce sync.Once
	key     *rsa.PrivateKey
	kid     string

	formKey   []byte // HMAC key of the user-picker's per-render tokens
	pickPage  *template.Template
	errorPage *template.Template

	mu        sync.Mutex
	codes     map[[sha256.Size]byte]*authCode     // by SHA-256 of the code
	refresh   map[[sha256.Size]byte]*refreshGrant // by SHA-256 of the refresh token
	nextSweep time.Time
}

func newAuthServer(opts Options, users []User) *authServer {
	opts = opts.withDefaults()
	return &authServer{
		opts:      opts,
		users:     append([]User(nil), users...),
		formKey:   authRandomBytes(32),
		pickPage:  template.Must(template.New("pick").Parse(authPickPageHTML)),
		errorPage: template.Must(template.New("error").Parse(authErrorPageHTML)),
		codes:     make(map[[sha256.Size]byte]*authCode),
		refresh:   make(map[[sha256.Size]byte]*refreshGrant),
	}
}

// register adds the OAuth and discovery endpoints to mux.
func (a *authServer) register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", a.serveOpenIDConfiguration)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", a.serveKeys)
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", a.serveAuthorize)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/authorize", a.serveAuthorizePick)
	// No method in the pattern: a GET gets Entra's JSON error, not the mux's 405 text.
	mux.HandleFunc("/{tenant}/oauth2/v2.0/token", a.serveToken)
}

// RevokeRefreshTokens revokes every refresh token issued to the sandbox user
// with this email (case-insensitive), as an admin's "revoke sessions" does in
// Entra: their next use fails with invalid_grant (AADSTS50173). Access tokens
// already issued stay valid until they expire, as Entra's do.
func (s *Sandbox) RevokeRefreshTokens(userEmail string) {
	s.auth.revokeRefreshTokens(userEmail)
}

// now is the sandbox clock.
func (a *authServer) now() time.Time { return a.opts.Now() }

// knownTenant reports whether the {tenant} path segment names this sandbox's
// tenant: "common", "organizations" or its tenant id. Entra also accepts
// verified domain names; the sandbox has none.
func (a *authServer) knownTenant(segment string) bool {
	return strings.EqualFold(segment, "common") || strings.EqualFold(segment, "organizations") ||
		strings.EqualFold(segment, a.opts.TenantID)
}

// baseURL is the externally visible URL of the sandbox for this request.
func (a *authServer) baseURL(r *http.Request) string { return authBaseURL(a.opts, r) }

// authBaseURL is Options.BaseURL, or else the request's scheme (TLS or
// X-Forwarded-Proto) and Host.
func authBaseURL(opts Options, r *http.Request) string {
	if opts.BaseURL != "" {
		return strings.TrimRight(opts.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	} else if p, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ","); strings.EqualFold(strings.TrimSpace(p), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// userByEmail finds a directory user by email, case-insensitively.
func (a *authServer) userByEmail(email string) (User, bool) {
	for _, u := range a.users {
		if strings.EqualFold(u.Email, email) {
			return u, true
		}
	}
	return User{}, false
}

// userByObjectID finds a directory user by Entra object id.
func (a *authServer) userByObjectID(oid string) (User, bool) {
	for _, u := range a.users {
		if strings.EqualFold(u.ObjectID, oid) {
			return u, true
		}
	}
	return User{}, false
}

// authRandomBytes returns n bytes from crypto/rand (which never fails since Go 1.24).
func authRandomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// authRandomToken returns a new opaque 256-bit token, base64url without padding.
func authRandomToken() string {
	return base64.RawURLEncoding.EncodeToString(authRandomBytes(32))
}

// authTokenHash is how codes and refresh tokens are stored: never in the clear.
func authTokenHash(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }
