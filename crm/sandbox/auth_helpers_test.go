package sandbox

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
)

// authDataverse is the resource crmbot would be configured with.
const authDataverse = "https://org.crm.dynamics.com"

// authAllScopes are the scopes crmbot asks for when linking a user.
var authAllScopes = []string{authDataverse + "/.default", "openid", "profile", "email", "offline_access"}

// authTestClock is a settable clock for Options.Now.
type authTestClock struct {
	mu  sync.Mutex
	now time.Time
}

func newAuthTestClock() *authTestClock {
	return &authTestClock{now: time.Now()}
}

func (c *authTestClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *authTestClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// authTestEnv is a sandbox behind a real HTTP server.
type authTestEnv struct {
	t        *testing.T
	sb       *Sandbox
	srv      *httptest.Server
	clock    *authTestClock
	browser  *http.Client // does not follow redirects
	ctx      context.Context
	tenantID string
}

// newAuthTestEnv starts a sandbox (no demo records: these tests need none).
func newAuthTestEnv(t *testing.T, opts Options) *authTestEnv {
	t.Helper()
	clock := newAuthTestClock()
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	opts.RecordsPerType = -1
	sb := New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	browser := *srv.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &authTestEnv{
		t: t, sb: sb, srv: srv, clock: clock, browser: &browser,
		ctx:      context.WithValue(t.Context(), oauth2.HTTPClient, srv.Client()),
		tenantID: sb.Options().TenantID,
	}
}

// config is crmbot's oauth2.Config for this sandbox.
func (e *authTestEnv) config(scopes ...string) *oauth2.Config {
	o := e.sb.Options()
	root := e.srv.URL + "/" + o.TenantID + "/oauth2/v2.0"
	return &oauth2.Config{
		ClientID:     o.ClientID,
		ClientSecret: o.ClientSecret,
		RedirectURL:  o.RedirectURIs[0],
		Scopes:       scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL:   root + "/authorize",
			TokenURL:  root + "/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
}

// get requests u in the browser (no redirects followed).
func (e *authTestEnv) get(u string) *http.Response {
	e.t.Helper()
	resp, err := e.browser.Get(u)
	if err != nil {
		e.t.Fatalf("GET authorize: %v", err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// redirected asserts resp is a redirect to the registered URI and returns its query.
func (e *authTestEnv) redirected(resp *http.Response) url.Values {
	e.t.Helper()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("status = %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatalf("Location: %v", err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; !slices.Contains(e.sb.Options().RedirectURIs, got) {
		e.t.Fatalf("redirected to unregistered %q", got)
	}
	return loc.Query()
}

// authorizeCode runs the login_hint flow and returns the code.
func (e *authTestEnv) authorizeCode(cfg *oauth2.Config, email, verifier string, extra ...oauth2.AuthCodeOption) string {
	e.t.Helper()
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("login_hint", email)}, extra...)
	q := e.redirected(e.get(cfg.AuthCodeURL("state-1", opts...)))
	if q.Get("error") != "" {
		e.t.Fatalf("authorize error %s: %s", q.Get("error"), q.Get("error_description"))
	}
	if q.Get("state") != "state-1" {
		e.t.Fatalf("state = %q, want echoed", q.Get("state"))
	}
	return q.Get("code")
}

// login signs email in with cfg's scopes and returns the token.
func (e *authTestEnv) login(cfg *oauth2.Config, email string, extra ...oauth2.AuthCodeOption) *oauth2.Token {
	e.t.Helper()
	verifier := oauth2.GenerateVerifier()
	code := e.authorizeCode(cfg, email, verifier, extra...)
	tok, err := cfg.Exchange(e.ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		e.t.Fatalf("Exchange: %v", err)
	}
	return tok
}

// principal runs the sandbox's bearer check on accessToken.
func (e *authTestEnv) principal(accessToken string) (Principal, error) {
	// Addressed to the org the tokens are minted for, as a real client would.
	r := httptest.NewRequest(http.MethodGet, authDataverse+APIPath+"WhoAmI", nil)
	r.Header.Set("Authorization", "Bearer "+accessToken)
	return e.sb.auth.authenticate(r)
}

// jwks fetches the sandbox's keys the way a relying party would: from the
// discovery document's jwks_uri.
func (e *authTestEnv) jwks() map[string]*rsa.PublicKey {
	e.t.Helper()
	var conf struct {
		JWKSURI string `json:"jwks_uri"`
	}
	e.getJSON(e.srv.URL+"/"+e.tenantID+"/v2.0/.well-known/openid-configuration", &conf)
	var set struct {
		Keys []authJWK `json:"keys"`
	}
	e.getJSON(conf.JWKSURI, &set)
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		ex, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || k.Kty != "RSA" {
			e.t.Fatalf("bad JWK %+v", k)
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(ex).Int64())}
	}
	return keys
}

func (e *authTestEnv) getJSON(u string, v any) {
	e.t.Helper()
	resp, err := e.srv.Client().Get(u)
	if err != nil {
		e.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: status %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		e.t.Fatalf("GET %s: %v", u, err)
	}
}

// verifyIDToken checks the id token's signature against the published JWKS
// and returns its claims.
func (e *authTestEnv) verifyIDToken(raw string) jwt.MapClaims {
	e.t.Helper()
	keys := e.jwks()
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		k, ok := keys[t.Header["kid"].(string)]
		if !ok {
			return nil, errors.New("kid not in JWKS")
		}
		return k, nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(e.srv.URL+"/"+e.tenantID+"/v2.0"),
		jwt.WithAudience(e.sb.Options().ClientID), jwt.WithTimeFunc(e.clock.Now))
	if err != nil {
		e.t.Fatalf("id token does not verify: %v", err)
	}
	return claims
}

// authUnverifiedClaims decodes a JWT's claims without checking it.
func authUnverifiedClaims(t *testing.T, raw string) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, claims); err != nil {
		t.Fatalf("parse JWT: %v", err)
	}
	return claims
}

// authRetrieveError asserts err is an OAuth error response with this code and AADSTS prefix.
func authRetrieveError(t *testing.T, err error, status int, code, aadsts string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want *oauth2.RetrieveError", err)
	}
	if re.Response.StatusCode != status || re.ErrorCode != code || !strings.HasPrefix(re.ErrorDescription, aadsts+":") {
		t.Fatalf("got %d %s %q, want %d %s %s", re.Response.StatusCode, re.ErrorCode, re.ErrorDescription, status, code, aadsts)
	}
}
