package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Demo identities used across the Web API tests.
var (
	chloe   = DemoUsers()[0] // sales
	sean    = DemoUsers()[1] // support
	manager = DemoUsers()[2] // manager
	jonas   = DemoUsers()[3] // sales
)

// asApp is the pseudo-email of the application user in orgEnv.do.
const asApp = "app"

// orgEnv is a sandbox behind a real HTTP server with real tokens.
type orgEnv struct {
	t     *testing.T
	sb    *Sandbox
	srv   *httptest.Server
	clock *authTestClock

	mu     sync.Mutex
	tokens map[string]string
}

// testNow is the fixed start of the test clock (dates in goldens derive from it).
var testNow = time.Date(2026, 11, 24, 15, 4, 5, 0, time.UTC)

func newOrgEnv(t testing.TB, opts Options) *orgEnv {
	if tt, ok := t.(*testing.T); ok {
		tt.Helper()
	}
	clock := &authTestClock{now: testNow}
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	sb := New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(func() {
		srv.Close()
		_ = sb.Close()
	})
	tt, _ := t.(*testing.T)
	return &orgEnv{t: tt, sb: sb, srv: srv, clock: clock, tokens: map[string]string{}}
}

// token mints (once) an access token for email, or for the app user with asApp,
// through the sandbox's real token endpoint.
func (e *orgEnv) token(tb testing.TB, who string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if tok, ok := e.tokens[who]; ok {
		return tok
	}
	o := e.sb.Options()
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.srv.Client())
	tokenURL := e.srv.URL + "/" + o.TenantID + "/oauth2/v2.0/token"
	// Tokens are minted for the org the requests address, as a real client's are.
	resource := strings.TrimRight(o.BaseURL, "/")
	if resource == "" {
		resource = e.srv.URL
	}
	var access string
	if who == asApp {
		cc := &clientcredentials.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, TokenURL: tokenURL,
			Scopes: []string{resource + "/.default"}}
		tok, err := cc.Token(ctx)
		if err != nil {
			tb.Fatalf("client credentials: %v", err)
		}
		access = tok.AccessToken
	} else {
		cfg := &oauth2.Config{
			ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: o.RedirectURIs[0],
			Scopes: []string{resource + "/.default", "openid", "profile", "email", "offline_access"},
			Endpoint: oauth2.Endpoint{AuthURL: e.srv.URL + "/" + o.TenantID + "/oauth2/v2.0/authorize", TokenURL: tokenURL,
				AuthStyle: oauth2.AuthStyleInParams},
		}
		verifier := oauth2.GenerateVerifier()
		browser := *e.srv.Client()
		browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := browser.Get(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("login_hint", who)))
		if err != nil {
			tb.Fatalf("authorize: %v", err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		code := loc.Query().Get("code")
		if code == "" {
			tb.Fatalf("authorize for %s: no code (status %d, %s)", who, resp.StatusCode, loc)
		}
		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			tb.Fatalf("exchange: %v", err)
		}
		access = tok.AccessToken
	}
	e.tokens[who] = access
	return access
}

// apiResponse is a captured Web API answer.
type apiResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r apiResponse) JSON(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		tb.Fatalf("decode %d body %q: %v", r.Status, truncate(string(r.Body), 300), err)
	}
	return m
}

// errorCode returns error.code and error.message of an error body.
func (r apiResponse) errorCode(tb testing.TB) (string, string) {
	tb.Helper()
	m := r.JSON(tb)
	e, _ := m["error"].(map[string]any)
	code, _ := e["code"].(string)
	msg, _ := e["message"].(string)
	return code, msg
}

// do sends a Web API request as who (an email, asApp, or "" for no token).
// path is relative to /api/data/v9.2/ unless it starts with "/" or "http".
func (e *orgEnv) do(tb testing.TB, who, method, path string, body any, headers ...string) apiResponse {
	tb.Helper()
	u := path
	switch {
	case strings.HasPrefix(path, "http"):
	case strings.HasPrefix(path, "/"):
		u = e.srv.URL + path
	default:
		u = e.srv.URL + APIPath + path
	}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("OData-MaxVersion", "4.0")
	req.Header.Set("OData-Version", "4.0")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i] == "Content-Type" {
			req.Header.Set(headers[i], headers[i+1])
			continue
		}
		req.Header.Add(headers[i], headers[i+1])
	}
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+e.token(tb, who))
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResponse{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// must asserts a status and returns the response.
func must(tb testing.TB, r apiResponse, status int) apiResponse {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("status = %d, want %d; body: %s", r.Status, status, truncate(string(r.Body), 600))
	}
	return r
}

// wantError asserts a Dataverse error answer.
func wantError(tb testing.TB, r apiResponse, status int, code, msgPart string) {
	tb.Helper()
	must(tb, r, status)
	gotCode, msg := r.errorCode(tb)
	if code != "" && gotCode != code {
		tb.Fatalf("error code = %q, want %q (message %q)", gotCode, code, msg)
	}
	if !strings.Contains(msg, msgPart) {
		tb.Fatalf("error message = %q, want it to contain %q", msg, msgPart)
	}
}

// idFromEntityID extracts the guid of an OData-EntityId header.
func idFromEntityID(tb testing.TB, h http.Header) string {
	tb.Helper()
	loc := h.Get("OData-EntityId")
	i, j := strings.LastIndexByte(loc, '('), strings.LastIndexByte(loc, ')')
	if i < 0 || j < i {
		tb.Fatalf("OData-EntityId = %q", loc)
	}
	return loc[i+1 : j]
}

// firstOwned returns an id of entitySet owned by owner (a systemuserid) in state 0.
func (e *orgEnv) firstOwned(tb testing.TB, entitySet, owner string, state int) string {
	tb.Helper()
	for _, id := range e.sb.RecordIDs(entitySet) {
		r, _ := e.sb.Record(entitySet, id)
		if r["_ownerid_value"] == owner && r["statecode"] == int64(state) {
			return id
		}
	}
	tb.Fatalf("no %s owned by %s in state %d", entitySet, owner, state)
	return ""
}
