package sync_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/crm/sandbox"
	crmsync "github.com/crmbot/crmbot/sync"
)

const (
	webhookTestSecret = "w3bh00k-s3cret-0123456789"
	webhookTestHeader = "X-Crmbot-Key"
)

// webhookLog is a concurrency-safe buffer behind a JSON slog handler.
type webhookLog struct {
	mu  gosync.Mutex
	buf bytes.Buffer
}

func (l *webhookLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *webhookLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *webhookLog) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type webhookPokeCall struct{ org, recordType string }

// webhookRecorder is a WebhookHandler whose Poke and Observe record their calls.
type webhookRecorder struct {
	mu       gosync.Mutex
	pokes    []webhookPokeCall
	outcomes map[string]int
	log      webhookLog
	h        *crmsync.WebhookHandler
}

// webhookNew builds a handler answering true for the types in synced.
func webhookNew(t *testing.T, headerName string, synced ...string) *webhookRecorder {
	t.Helper()
	rec := &webhookRecorder{outcomes: map[string]int{}}
	rec.h = &crmsync.WebhookHandler{
		Secret: webhookTestSecret, HeaderName: headerName, Logger: rec.log.logger(), MaxBody: 64 << 10,
		Poke: func(org, recordType string) bool {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.pokes = append(rec.pokes, webhookPokeCall{org, recordType})
			for _, s := range synced {
				if s == recordType {
					return true
				}
			}
			return false
		},
		Observe: func(outcome string) {
			rec.mu.Lock()
			defer rec.mu.Unlock()
			rec.outcomes[outcome]++
		},
	}
	if err := rec.h.Init(); err != nil {
		t.Fatal(err)
	}
	return rec
}

func (rec *webhookRecorder) snapshot() ([]webhookPokeCall, map[string]int) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := map[string]int{}
	for k, v := range rec.outcomes {
		out[k] = v
	}
	return append([]webhookPokeCall(nil), rec.pokes...), out
}

// waitPokes waits until n pokes were recorded.
func (rec *webhookRecorder) waitPokes(t *testing.T, n int) []webhookPokeCall {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pokes, _ := rec.snapshot()
		if len(pokes) >= n {
			return pokes
		}
		if time.Now().After(deadline) {
			t.Fatalf("pokes = %v, want %d", pokes, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// webhookUser returns the first demo user with role.
func webhookUser(t *testing.T, role string, skip int) sandbox.User {
	t.Helper()
	for _, u := range sandbox.DemoUsers() {
		if u.Role == role {
			if skip == 0 {
				return u
			}
			skip--
		}
	}
	t.Fatalf("no %s user", role)
	return sandbox.User{}
}

// webhookClient signs a demo user in to the sandbox (authorization code +
// PKCE with login_hint) and returns a crm.Client acting as that user.
func webhookClient(t *testing.T, sb *sandbox.Sandbox, srv *httptest.Server, email string) *crm.Client {
	t.Helper()
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, srv.Client())
	o := sb.Options()
	cfg := &oauth2.Config{
		ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: o.RedirectURIs[0],
		Scopes: crm.DelegatedScopes(srv.URL), Endpoint: crm.Endpoint(srv.URL, o.TenantID),
	}
	verifier := oauth2.GenerateVerifier()
	browser := *srv.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := browser.Get(cfg.AuthCodeURL("state", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("login_hint", email)))
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("authorize %s: status %d", email, resp.StatusCode)
	}
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	c, err := crm.NewClient(srv.URL, oauth2.NewClient(ctx, cfg.TokenSource(ctx, tok)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWebhookFromSandbox: the sandbox's own emitter is the client; a user
// creates records and changes their owner through the Web API, and every
// committed event pokes the poller of that record type in the sandbox's org,
// over both authentication methods.
func TestWebhookFromSandbox(t *testing.T) {
	for _, mode := range []struct{ name, header string }{{"WebhookKey", ""}, {"HttpHeader", webhookTestHeader}} {
		t.Run(mode.name, func(t *testing.T) {
			rec := webhookNew(t, mode.header, "lead", "contact")
			var mu gosync.Mutex
			var messages []string
			var statuses []int
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				sw := &webhookStatus{ResponseWriter: w, status: http.StatusOK}
				rec.h.ServeHTTP(sw, r)
				mu.Lock()
				defer mu.Unlock()
				messages = append(messages, r.Header.Get("x-ms-dynamics-request-name"))
				statuses = append(statuses, sw.status)
			}))
			defer hook.Close()
			var sbLog webhookLog
			sb := sandbox.New(sandbox.Options{RecordsPerType: -1, Logger: sbLog.logger(), Webhook: &sandbox.WebhookOptions{
				URL: hook.URL + "/dataverse/webhook", Secret: webhookTestSecret, HeaderName: mode.header,
			}})
			srv := httptest.NewServer(sb)
			defer func() {
				srv.Close()
				sb.Close()
			}()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			chloe, jonas, manager := webhookUser(t, "sales", 0), webhookUser(t, "sales", 1), webhookUser(t, "manager", 0)
			c := webhookClient(t, sb, srv, chloe.Email)

			leadID, err := c.Create(ctx, "leads", map[string]any{"lastname": "Hook", "subject": "Webhook poke"})
			if err != nil {
				t.Fatal(err)
			}
			contactID, err := c.Create(ctx, "contacts", map[string]any{"firstname": "Ada", "lastname": "Hook"})
			if err != nil {
				t.Fatal(err)
			}
			rec.waitPokes(t, 2)
			// An edit that leaves the owner alone is not announced; an owner change is.
			if err := c.Update(ctx, "leads", leadID, "", map[string]any{"subject": "edited"}); err != nil {
				t.Fatal(err)
			}
			if err := c.Assign(ctx, "leads", leadID, crm.OwnerUser, jonas.ID); err != nil {
				t.Fatal(err)
			}
			rec.waitPokes(t, 3)
			if err := sb.Assign("contacts", contactID, jonas.ID, sandbox.Principal{UserID: manager.ID}); err != nil {
				t.Fatal(err)
			}
			rec.waitPokes(t, 4)
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				mu.Lock()
				n := len(messages)
				mu.Unlock()
				if n >= 4 || time.Now().After(deadline) {
					break
				}
			}
			time.Sleep(50 * time.Millisecond) // nothing more must come

			pokes, outcomes := rec.snapshot()
			want := []webhookPokeCall{{sandbox.DefaultOrgID, "lead"}, {sandbox.DefaultOrgID, "contact"},
				{sandbox.DefaultOrgID, "lead"}, {sandbox.DefaultOrgID, "contact"}}
			if len(pokes) != len(want) {
				t.Fatalf("pokes = %v, want %v", pokes, want)
			}
			for i := range want {
				if pokes[i] != want[i] {
					t.Fatalf("poke %d = %v, want %v (all: %v)", i, pokes[i], want[i], pokes)
				}
			}
			mu.Lock()
			gotMessages, gotStatuses := strings.Join(messages, ","), statuses
			mu.Unlock()
			if gotMessages != "Create,Create,Update,Assign" {
				t.Errorf("messages = %s", gotMessages)
			}
			for i, s := range gotStatuses {
				if s != http.StatusOK {
					t.Errorf("delivery %d answered %d", i, s)
				}
			}
			if outcomes["poked"] != 4 || len(outcomes) != 1 {
				t.Errorf("outcomes = %v", outcomes)
			}
			for name, l := range map[string]string{"handler": rec.log.String(), "sandbox": sbLog.String()} {
				if strings.Contains(l, webhookTestSecret) || strings.Contains(l, "code=") {
					t.Errorf("%s log carries the secret:\n%s", name, l)
				}
			}
		})
	}
}

type webhookStatus struct {
	http.ResponseWriter
	status int
}

func (w *webhookStatus) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

const webhookBody = `{"BusinessUnitId":"b1","CorrelationId":"c1","Depth":1,"InitiatingUserId":"u1",
"InputParameters":[{"key":"Target","value":{"LogicalName":"lead","Id":"6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b","Attributes":[]}}],
"MessageName":"Update","OrganizationId":"0D7A6B5C-4E3F-4A2B-8C1D-9E0F1A2B3C4D","PrimaryEntityId":"6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b",
"PrimaryEntityName":"Lead","PreEntityImages":[],"PostEntityImages":[],"Stage":40,"SomethingNew":{"x":[1,2]}}`

// webhookDo sends one request to the handler in-process.
func webhookDo(h http.Handler, method, target string, header http.Header, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func TestWebhookRequests(t *testing.T) {
	const path = "/dataverse/webhook"
	key := path + "?code=" + url.QueryEscape(webhookTestSecret)
	hdr := http.Header{webhookTestHeader: {webhookTestSecret}}
	orgID := sandbox.DefaultOrgID
	for _, tc := range []struct {
		name       string
		header     string // configured HeaderName
		method     string
		target     string
		reqHeader  http.Header
		body       string
		status     int
		outcome    string
		wantPoke   *webhookPokeCall
		wantPoked  bool
		emptyReply bool
	}{
		{name: "key ok", target: key, body: webhookBody, status: 200, outcome: "poked", wantPoke: &webhookPokeCall{orgID, "lead"}},
		{name: "header ok", header: webhookTestHeader, target: path, reqHeader: hdr, body: webhookBody, status: 200, outcome: "poked", wantPoke: &webhookPokeCall{orgID, "lead"}},
		{name: "header name case-insensitive", header: "x-crmbot-key", target: path, reqHeader: hdr, body: webhookBody, status: 200, outcome: "poked", wantPoke: &webhookPokeCall{orgID, "lead"}},
		{name: "wrong key", target: path + "?code=not-the-secret-at-all", body: webhookBody, status: 401, outcome: "unauthorized"},
		{name: "key prefix", target: path + "?code=" + url.QueryEscape(webhookTestSecret[:10]), body: webhookBody, status: 401, outcome: "unauthorized"},
		{name: "key twice", target: key + "&code=" + url.QueryEscape(webhookTestSecret), body: webhookBody, status: 401, outcome: "unauthorized"},
		{name: "missing key", target: path, body: webhookBody, status: 401, outcome: "unauthorized"},
		{name: "empty key", target: path + "?code=", body: webhookBody, status: 401, outcome: "unauthorized"},
		{name: "wrong header", header: webhookTestHeader, target: path, reqHeader: http.Header{webhookTestHeader: {"nope-nope-nope-nope"}}, body: webhookBody, status: 401, outcome: "unauthorized"},
		{name: "missing header", header: webhookTestHeader, target: path, body: webhookBody, status: 401, outcome: "unauthorized"},
		{name: "key when header configured", header: webhookTestHeader, target: key, body: webhookBody, status: 401, outcome: "unauthorized"},
		{name: "key beside a good header", header: webhookTestHeader, target: key, reqHeader: hdr, body: webhookBody, status: 401, outcome: "unauthorized"},
		{name: "header when key configured", target: path, reqHeader: hdr, body: webhookBody, status: 401, outcome: "unauthorized"},
		{name: "GET", method: http.MethodGet, target: key, status: 405, outcome: "bad_request"},
		{name: "oversize", target: key, body: `{"PrimaryEntityName":"lead","Pad":"` + strings.Repeat("x", 64<<10) + `"}`, status: 413, outcome: "bad_request"},
		{name: "oversize unauthenticated is 401", target: path, body: strings.Repeat("x", 128<<10), status: 401, outcome: "unauthorized"},
		{name: "malformed JSON", target: key, body: `{"PrimaryEntityName":"lead"`, status: 400, outcome: "bad_request"},
		{name: "trailing garbage", target: key, body: `{"PrimaryEntityName":"lead"} x`, status: 400, outcome: "bad_request"},
		{name: "not an object", target: key, body: `["lead"]`, status: 400, outcome: "bad_request"},
		{name: "missing PrimaryEntityName", target: key, body: `{"MessageName":"Update","OrganizationId":"` + orgID + `"}`, status: 400, outcome: "bad_request"},
		{name: "PrimaryEntityName not a string", target: key, body: `{"PrimaryEntityName":5}`, status: 400, outcome: "bad_request"},
		{name: "PrimaryEntityName not a logical name", target: key, body: `{"PrimaryEntityName":"lead\n{\"forged\":1}"}`, status: 400, outcome: "bad_request"},
		{name: "OrganizationId not a GUID", target: key, body: `{"PrimaryEntityName":"lead","OrganizationId":"contoso"}`, status: 400, outcome: "bad_request"},
		{name: "unknown entity", target: key, body: strings.Replace(webhookBody, `"Lead"`, `"new_widget"`, 1), status: 200, outcome: "ignored", wantPoke: &webhookPokeCall{orgID, "new_widget"}},
		{name: "images dropped for size", target: key, reqHeader: http.Header{"X-Ms-Dynamics-Msg-Size-Exceeded": {"true"}},
			body:   `{"MessageName":"Assign","OrganizationId":"` + orgID + `","PrimaryEntityId":"6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b","PrimaryEntityName":"lead"}`,
			status: 200, outcome: "poked", wantPoke: &webhookPokeCall{orgID, "lead"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := webhookNew(t, tc.header, "lead")
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			w := webhookDo(rec.h, method, tc.target, tc.reqHeader, tc.body)
			if w.Code != tc.status {
				t.Fatalf("status = %d, want %d", w.Code, tc.status)
			}
			pokes, outcomes := rec.snapshot()
			if tc.wantPoke == nil && len(pokes) != 0 || tc.wantPoke != nil && (len(pokes) != 1 || pokes[0] != *tc.wantPoke) {
				t.Fatalf("pokes = %v, want %v", pokes, tc.wantPoke)
			}
			if outcomes[tc.outcome] != 1 || len(outcomes) != 1 {
				t.Fatalf("outcomes = %v, want one %s", outcomes, tc.outcome)
			}
			if tc.status == 200 {
				if b := strings.TrimSpace(w.Body.String()); b != "" && b != "{}" {
					t.Errorf("body = %q", b)
				}
			} else if b := w.Body.String(); strings.Contains(b, webhookTestSecret) || len(b) > 0 {
				t.Errorf("failure body %q: want none", b)
			}
			if tc.status == 405 && w.Header().Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q", w.Header().Get("Allow"))
			}
			if l := rec.log.String(); strings.Contains(l, webhookTestSecret) || strings.Contains(l, "code=") ||
				strings.Contains(l, "not-the-secret") || strings.Contains(l, "nope-nope") || strings.Contains(l, "forged") {
				t.Errorf("log carries a secret, the query or the body:\n%s", l)
			}
		})
	}
}

// TestWebhookLogs: a failed and a successful request, each method; the
// handler logs them (so the assertion is not vacuous) without the secret, the
// query string or the body.
func TestWebhookLogs(t *testing.T) {
	const path = "/dataverse/webhook"
	wrong := "wr0ng-c0de-value-xyz"
	for _, tc := range []struct {
		name, header string
		bad, good    func() (string, http.Header)
	}{
		{"WebhookKey", "",
			func() (string, http.Header) { return path + "?code=" + wrong, nil },
			func() (string, http.Header) { return path + "?code=" + url.QueryEscape(webhookTestSecret), nil }},
		{"HttpHeader", webhookTestHeader,
			func() (string, http.Header) { return path + "?code=" + wrong, http.Header{webhookTestHeader: {wrong}} },
			func() (string, http.Header) { return path, http.Header{webhookTestHeader: {webhookTestSecret}} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := webhookNew(t, tc.header, "lead")
			target, h := tc.bad()
			if w := webhookDo(rec.h, http.MethodPost, target, h, webhookBody); w.Code != 401 {
				t.Fatalf("bad request: %d", w.Code)
			}
			failed := rec.log.String()
			target, h = tc.good()
			if w := webhookDo(rec.h, http.MethodPost, target, h, webhookBody); w.Code != 200 {
				t.Fatalf("good request: %d", w.Code)
			}
			all := rec.log.String()
			succeeded := strings.TrimPrefix(all, failed)
			if !strings.Contains(failed, "unauthorized") || !strings.Contains(succeeded, "poked") || !strings.Contains(succeeded, `"entity":"lead"`) {
				t.Fatalf("expected a line per request:\n%s", all)
			}
			for _, s := range []string{webhookTestSecret, wrong, "code=", "Webhook poke", "InputParameters", "SomethingNew"} {
				if strings.Contains(all, s) {
					t.Errorf("log carries %q:\n%s", s, all)
				}
			}
		})
	}
}

func TestWebhookNoSecret(t *testing.T) {
	var pokes int
	h := &crmsync.WebhookHandler{Poke: func(string, string) bool { pokes++; return true }}
	if err := h.Init(); err == nil || !strings.Contains(err.Error(), "secret") {
		t.Fatalf("Init without a secret: %v", err)
	}
	for _, target := range []string{"/dataverse/webhook", "/dataverse/webhook?code="} {
		if w := webhookDo(h, http.MethodPost, target, nil, webhookBody); w.Code != 401 {
			t.Fatalf("%s: status %d, want 401", target, w.Code)
		}
	}
	// An empty configured header value must not match an empty header either.
	h.HeaderName = webhookTestHeader
	if w := webhookDo(h, http.MethodPost, "/dataverse/webhook", http.Header{webhookTestHeader: {""}}, webhookBody); w.Code != 401 {
		t.Fatalf("empty header: status %d, want 401", w.Code)
	}
	if pokes != 0 {
		t.Fatalf("poked %d times without a secret", pokes)
	}
	bad := &crmsync.WebhookHandler{Secret: webhookTestSecret, HeaderName: "X Bad:Header", Poke: func(string, string) bool { return true }}
	if err := bad.Init(); err == nil {
		t.Fatal("Init accepted a header name that is not a token")
	}
	if err := (&crmsync.WebhookHandler{Secret: webhookTestSecret}).Init(); err == nil {
		t.Fatal("Init accepted a handler without Poke")
	}
}

// TestWebhookPokePanics: a bug in Poke is a 500, never a 502/503/504 that
// Dataverse would retry, nor a dropped connection.
func TestWebhookPokePanics(t *testing.T) {
	var outcome string
	h := &crmsync.WebhookHandler{Secret: webhookTestSecret, Logger: slog.New(slog.DiscardHandler),
		Poke:    func(string, string) bool { panic("boom") },
		Observe: func(o string) { outcome = o }}
	if err := h.Init(); err != nil {
		t.Fatal(err)
	}
	w := webhookDo(h, http.MethodPost, "/dataverse/webhook?code="+url.QueryEscape(webhookTestSecret), nil, webhookBody)
	if w.Code != http.StatusInternalServerError || outcome != "error" {
		t.Fatalf("status %d, outcome %q", w.Code, outcome)
	}
}

// TestWebhookOversizeStreamed: without a Content-Length the limit holds
// while reading (http.MaxBytesReader).
func TestWebhookOversizeStreamed(t *testing.T) {
	rec := webhookNew(t, "", "lead")
	body := `{"PrimaryEntityName":"lead","Pad":"` + strings.Repeat("x", 64<<10) + `"}`
	req := httptest.NewRequest(http.MethodPost, "/dataverse/webhook?code="+url.QueryEscape(webhookTestSecret), io.MultiReader(strings.NewReader(body)))
	if req.ContentLength != -1 {
		t.Fatalf("ContentLength = %d, want unknown", req.ContentLength)
	}
	w := httptest.NewRecorder()
	rec.h.ServeHTTP(w, req)
	if pokes, outcomes := rec.snapshot(); w.Code != http.StatusRequestEntityTooLarge || len(pokes) != 0 || outcomes["bad_request"] != 1 {
		t.Fatalf("status %d, pokes %v, outcomes %v", w.Code, pokes, outcomes)
	}
}
