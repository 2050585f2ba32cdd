package teams

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/store"
)

// Unit tests of the endpoint's edges with a stub core, connector and
// store; the flows run end to end in e2e_test.go.

type stubCore struct {
	mu   gosync.Mutex
	reqs []bot.Request
	resp bot.Response
}

func (c *stubCore) Handle(_ context.Context, req bot.Request) (bot.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reqs = append(c.reqs, req)
	if c.resp.View == nil {
		return bot.Response{View: &cards.Message{Text: []string{"ok"}}}, nil
	}
	return c.resp, nil
}

func (c *stubCore) Lookup(context.Context, bot.LookupRequest) ([]cards.Option, error) {
	return []cards.Option{{Value: "1", Label: "Contoso"}}, nil
}

func (c *stubCore) requests() []bot.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bot.Request(nil), c.reqs...)
}

type stubConnector struct {
	mu   gosync.Mutex
	sent []*Activity
}

func (c *stubConnector) Send(_ context.Context, _, _ string, a *Activity) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, a)
	return "1", nil
}

func (c *stubConnector) Update(context.Context, string, string, string, *Activity) error { return nil }

func (c *stubConnector) CreateConversation(context.Context, string, NewConversation) (string, error) {
	return "a:1", nil
}

type stubRefs struct {
	mu   gosync.Mutex
	refs map[store.ChatUser]store.ConversationRef
	puts int
}

func (s *stubRefs) PutConversation(_ context.Context, u store.ChatUser, r store.ConversationRef) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refs == nil {
		s.refs = map[store.ChatUser]store.ConversationRef{}
	}
	s.refs[u] = r
	s.puts++
	return nil
}

func (s *stubRefs) Conversation(_ context.Context, u store.ChatUser) (store.ConversationRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.refs[u]
	if !ok {
		return r, store.ErrNotFound
	}
	return r, nil
}

func (s *stubRefs) MarkUnreachable(context.Context, store.ChatUser) error { return nil }

func devAdapter(t testing.TB) (*Adapter, *stubCore, *stubConnector, *stubRefs) {
	t.Helper()
	core, conn, refs := &stubCore{}, &stubConnector{}, &stubRefs{}
	a := &Adapter{Core: core, Connector: conn, Conversations: refs, DevMode: true,
		Logger: slog.New(slog.DiscardHandler), InvokeBudget: time.Second}
	if err := a.Init(); err != nil {
		t.Fatal(err)
	}
	return a, core, conn, refs
}

// post sends body to the adapter as if from remote.
func post(a *Adapter, remote, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, Path, strings.NewReader(body))
	req.RemoteAddr = remote
	req.Host = "127.0.0.1:3978"
	for i := 0; i+1 < len(header); i += 2 {
		if header[i] == "Host" {
			req.Host = header[i+1]
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	a.ServeHTTP(w, req)
	return w
}

const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"

func activityJSON(typ, name, value string) string {
	act := map[string]any{
		"type": typ, "id": "act-1", "channelId": "msteams", "serviceUrl": "http://127.0.0.1:1/", "locale": "fr-FR",
		"from":         map[string]any{"id": "29:user", "aadObjectId": "00000000-0000-0000-0000-0000000000aa"},
		"recipient":    map[string]any{"id": "28:bot"},
		"conversation": map[string]any{"id": "a:conv", "conversationType": "personal", "tenantId": tenant},
		"channelData":  map[string]any{"tenant": map[string]any{"id": tenant}},
	}
	if name != "" {
		act["name"] = name
	}
	if value != "" {
		act["value"] = json.RawMessage(value)
	}
	if typ == TypeMessage && value == "" {
		act["text"] = "<at>crmbot</at> leads acme"
	}
	b, _ := json.Marshal(act)
	return string(b)
}

func TestDevModeOnlyFromLoopbackAndNeverThroughAProxy(t *testing.T) {
	a, _, _, _ := devAdapter(t)
	body := activityJSON(TypeInvoke, "unknown/invoke", "")
	for _, tc := range []struct {
		remote string
		header []string
		want   int
	}{
		{"127.0.0.1:5555", nil, http.StatusOK},
		{"[::1]:5555", nil, http.StatusOK},
		{"10.0.0.8:5555", nil, http.StatusUnauthorized},
		{"192.168.1.2:5555", nil, http.StatusUnauthorized},
		{"127.0.0.1:5555", []string{"X-Forwarded-For", "203.0.113.9"}, http.StatusUnauthorized},
		{"127.0.0.1:5555", []string{"Forwarded", "for=203.0.113.9"}, http.StatusUnauthorized},
		{"garbage", nil, http.StatusUnauthorized},
		// A page in the developer's browser (DNS rebinding, or a plain
		// cross-origin POST) and tunnels that name another host.
		{"127.0.0.1:5555", []string{"Host", "evil.example:3978"}, http.StatusUnauthorized},
		{"127.0.0.1:5555", []string{"Origin", "https://evil.example"}, http.StatusUnauthorized},
		{"127.0.0.1:5555", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusUnauthorized},
		{"127.0.0.1:5555", []string{"Via", "1.1 proxy"}, http.StatusUnauthorized},
		{"127.0.0.1:5555", []string{"Host", "localhost:3978"}, http.StatusOK},
	} {
		if w := post(a, tc.remote, body, tc.header...); w.Code != tc.want {
			t.Errorf("from %s %v: %d, want %d", tc.remote, tc.header, w.Code, tc.want)
		}
	}
}

func TestInitRefusesNoAuthOutsideDevMode(t *testing.T) {
	a := &Adapter{Core: &stubCore{}, Connector: &stubConnector{}, Conversations: &stubRefs{}}
	if err := a.Init(); err == nil {
		t.Fatal("an adapter without an authenticator and not in dev mode started")
	}
	a = &Adapter{Core: &stubCore{}, Connector: &stubConnector{}, Conversations: &stubRefs{}, DevMode: true, Auth: &Authenticator{AppID: "x"}}
	if err := a.Init(); err == nil {
		t.Fatal("dev mode with an authenticator started")
	}
}

func TestMalformedAndUnknownActivities(t *testing.T) {
	a, core, _, _ := devAdapter(t)
	const local = "127.0.0.1:1"
	for name, tc := range map[string]struct {
		body string
		want int
		resp string
	}{
		"not json":       {"{", http.StatusBadRequest, ""},
		"no type":        {`{"id":"1"}`, http.StatusBadRequest, ""},
		"message no one": {`{"type":"message","text":"leads","channelId":"msteams","serviceUrl":"http://127.0.0.1:1"}`, http.StatusBadRequest, ""},
		"unknown type":   {`{"type":"messageReaction","channelId":"msteams","serviceUrl":"http://127.0.0.1:1"}`, http.StatusOK, ""},
		"typing":         {activityJSON("typing", "", ""), http.StatusOK, ""},
		"unknown invoke": {activityJSON(TypeInvoke, "composeExtension/query", `{"x":1}`), http.StatusOK, "{}"},
		"fetch no verb": {activityJSON(TypeInvoke, InvokeTaskFetch, `{"data":{"msteams":{"type":"task/fetch"}}}`), http.StatusOK,
			`{"task":{"type":"message","value":"Une erreur s’est produite de notre côté. Veuillez réessayer."}}`},
		"string value": {activityJSON(TypeInvoke, InvokeCardAction, `"a string"`), http.StatusOK,
			`{"statusCode":400,"type":"application/vnd.microsoft.error","value":{"code":"BadRequest","message":"Action.Execute without a verb"}}`},
		"other channel":  {strings.Replace(activityJSON(TypeMessage, "", ""), `"msteams"`, `"webchat"`, 1), http.StatusForbidden, ""},
		"submit nothing": {activityJSON(TypeInvoke, InvokeTaskSubmit, `{"data":{}}`), http.StatusOK, ""},
		"too large":      {`{"type":"message","text":"` + strings.Repeat("x", DefaultMaxBody) + `"}`, http.StatusRequestEntityTooLarge, ""},
	} {
		t.Run(name, func(t *testing.T) {
			w := post(a, local, tc.body)
			if w.Code != tc.want || strings.TrimSpace(w.Body.String()) != tc.resp && tc.want == http.StatusOK {
				t.Errorf("status %d body %q, want %d %q", w.Code, w.Body.String(), tc.want, tc.resp)
			}
		})
	}
	if err := a.Wait(ctxWithin(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if n := len(core.requests()); n != 0 {
		t.Errorf("the core was asked %d times, want none: %+v", n, core.requests())
	}
}

func TestMessageIsACommandAndTheReferenceIsStoredOnce(t *testing.T) {
	a, core, conn, refs := devAdapter(t)
	for range 3 {
		if w := post(a, "127.0.0.1:1", activityJSON(TypeMessage, "", "")); w.Code != http.StatusOK {
			t.Fatalf("message: %d", w.Code)
		}
	}
	if err := a.Wait(ctxWithin(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	reqs := core.requests()
	if len(reqs) != 3 || reqs[0].Kind != bot.KindCommand || reqs[0].Text != "leads acme" || reqs[0].Locale != "fr-FR" ||
		reqs[0].AADObjectID != "00000000-0000-0000-0000-0000000000aa" ||
		reqs[0].User != (store.ChatUser{Platform: store.PlatformTeams, Tenant: tenant, UserID: "29:user"}) {
		t.Fatalf("requests = %+v", reqs)
	}
	if len(conn.sent) != 3 || len(conn.sent[0].Attachments) != 1 || conn.sent[0].Text != "" {
		t.Fatalf("replies = %+v, want three card-only messages", conn.sent)
	}
	if refs.puts != 1 {
		t.Errorf("the reference was written %d times for three identical activities, want 1", refs.puts)
	}
	ref := refs.refs[reqs[0].User]
	if ref.ConversationID != "a:conv" || ref.BotID != "28:bot" || ref.ServiceURL != "http://127.0.0.1:1/" || ref.TenantID != tenant {
		t.Errorf("stored reference = %+v", ref)
	}
}

func TestStripMentions(t *testing.T) {
	for in, want := range map[string]string{
		"leads":                            "leads",
		"<at>crmbot</at> leads acme":       "leads acme",
		"  <at>CRM Bot</at>&nbsp;new case": "new case",
		"/crm leads":                       "leads",
		"crm":                              "",
		"CRM cases open":                   "cases open",
		"<at>unclosed leads":               "<at>unclosed leads",
		"crmbot leads":                     "crmbot leads",
	} {
		if got := stripMentions(in); got != want {
			t.Errorf("stripMentions(%q) = %q, want %q", in, got, want)
		}
	}
}

func ctxWithin(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// In dev mode the bot posts only back to this machine: an activity naming
// another serviceUrl is refused before anything is sent there.
func TestDevModeRefusesAForeignServiceURL(t *testing.T) {
	a, core, conn, _ := devAdapter(t)
	body := strings.Replace(activityJSON(TypeMessage, "", ""), "http://127.0.0.1:1/", "https://attacker.example/", 1)
	if w := post(a, "127.0.0.1:1", body); w.Code != http.StatusUnauthorized {
		t.Fatalf("foreign serviceUrl: %d, want 401", w.Code)
	}
	if err := a.Wait(ctxWithin(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if len(core.requests()) != 0 || len(conn.sent) != 0 {
		t.Fatalf("a refused activity reached the core (%d) or the connector (%d)", len(core.requests()), len(conn.sent))
	}
}

// A panic in the core answers the invoke with an error, in time, and the
// process goes on.
func TestCorePanicStillAnswers(t *testing.T) {
	a, _, _, _ := devAdapter(t)
	a.Core = &panicCore{}
	w := post(a, "127.0.0.1:1", activityJSON(TypeInvoke, InvokeTaskFetch, `{"data":{"verb":"open","value":"x"}}`))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"type":"continue"`) || !strings.Contains(w.Body.String(), "Veuillez réessayer") {
		t.Fatalf("after a panic: %d %s", w.Code, w.Body.String())
	}
}

type panicCore struct{ stubCore }

func (*panicCore) Handle(context.Context, bot.Request) (bot.Response, error) { panic("boom") }
