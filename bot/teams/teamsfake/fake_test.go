package teamsfake

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// do sends a request and returns the status, the decoded JSON body and
// the Retry-After header.
func do(t *testing.T, method, u, auth, ctype, body string) (int, map[string]any, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, m, resp.Header.Get("Retry-After")
}

func token(t *testing.T, s *Server) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID()},
		"client_secret": {s.ClientSecret()}, "scope": {botFrameworkScope}}
	st, m, _ := do(t, "POST", s.TokenURL(), "", "application/x-www-form-urlencoded", form.Encode())
	if st != 200 {
		t.Fatalf("token: %d %v", st, m)
	}
	return "Bearer " + m["access_token"].(string)
}

const cardMsg = `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{"type":"AdaptiveCard","version":"1.5","body":[]}}]}`

func post(t *testing.T, s *Server, conv, body string) (int, map[string]any) {
	t.Helper()
	st, m, _ := do(t, "POST", s.URL()+"/v3/conversations/"+url.PathEscape(conv)+"/activities", "", "application/json", body)
	return st, m
}

func TestToken(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	good := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.ClientID()},
		"client_secret": {s.ClientSecret()}, "scope": {botFrameworkScope}}
	with := func(k, v string) string {
		f := url.Values{}
		for key, vs := range good {
			f[key] = vs
		}
		f.Set(k, v)
		return f.Encode()
	}
	for _, tc := range []struct {
		name, url, body string
		status          int
		code            string
	}{
		{"OK", s.TokenURL(), good.Encode(), 200, ""},
		{"wrong secret", s.TokenURL(), with("client_secret", "nope"), 401, "invalid_client"},
		{"unknown client", s.TokenURL(), with("client_id", "someone"), 400, "unauthorized_client"},
		{"wrong tenant", s.URL() + "/other-tenant/oauth2/v2.0/token", good.Encode(), 400, "unauthorized_client"},
		{"wrong scope", s.TokenURL(), with("scope", "https://graph.microsoft.com/.default"), 400, "invalid_scope"},
		{"wrong grant", s.TokenURL(), with("grant_type", "password"), 400, "unsupported_grant_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, m, _ := do(t, "POST", tc.url, "", "application/x-www-form-urlencoded", tc.body)
			if st != tc.status {
				t.Fatalf("status %d, want %d (%v)", st, tc.status, m)
			}
			if tc.code != "" && m["error"] != tc.code {
				t.Errorf("error %v, want %s", m["error"], tc.code)
			}
			if tc.code == "" && (m["access_token"] == "" || m["expires_in"] != float64(3600) || m["token_type"] != "Bearer") {
				t.Errorf("answer %v", m)
			}
		})
	}
}

func TestRequireAuth(t *testing.T) {
	clk := &clock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)}
	s := New(Options{RequireAuth: true, Now: clk.Now, TokenTTL: time.Hour})
	defer s.Close()
	u := s.URL() + "/v3/conversations/a%3A1/activities"
	if st, _, _ := do(t, "POST", u, "", "application/json", cardMsg); st != 401 {
		t.Errorf("no token: %d", st)
	}
	if st, _, _ := do(t, "POST", u, "Bearer made-up", "application/json", cardMsg); st != 401 {
		t.Errorf("unknown token: %d", st)
	}
	auth := token(t, s)
	if st, _, _ := do(t, "POST", u, auth, "application/json", cardMsg); st != 201 {
		t.Errorf("valid token: %d", st)
	}
	clk.Add(time.Hour)
	if st, _, _ := do(t, "POST", u, auth, "application/json", cardMsg); st != 401 {
		t.Errorf("expired token: %d", st)
	}
	if v := s.Violations(); len(v) != 3 || v[0].Kind != "unauthorized" {
		t.Errorf("violations %+v", v)
	}
	if n := len(s.Activities("a:1")); n != 1 {
		t.Errorf("%d activities recorded, want 1", n)
	}
}

func TestCreateConversation(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	body := func(user, tenant string) string {
		return `{"bot":{"id":"28:bot"},"members":[{"id":"` + user + `"}],"isGroup":false,"tenantId":"` + tenant + `","channelData":{"tenant":{"id":"` + tenant + `"}}}`
	}
	st, m, _ := do(t, "POST", s.URL()+"/v3/conversations", "", "application/json", body("29:u1", "t"))
	if st != 201 || m["id"] == "" {
		t.Fatalf("%d %v", st, m)
	}
	id := m["id"].(string)
	if !strings.HasPrefix(id, "a:1") || s.Conversation("29:u1") != id {
		t.Errorf("id %q, Conversation %q", id, s.Conversation("29:u1"))
	}
	if _, m2, _ := do(t, "POST", s.URL()+"/v3/conversations", "", "application/json", body("29:u1", "t")); m2["id"] != id {
		t.Errorf("same user got %v, want %s", m2["id"], id)
	}
	if _, m3, _ := do(t, "POST", s.URL()+"/v3/conversations", "", "application/json", body("29:u2", "t")); m3["id"] == id {
		t.Error("another user got the same conversation")
	}
	for name, b := range map[string]string{
		"no bot":           `{"members":[{"id":"29:u"}],"tenantId":"t"}`,
		"no members":       `{"bot":{"id":"28:b"},"members":[],"tenantId":"t"}`,
		"two members":      `{"bot":{"id":"28:b"},"members":[{"id":"29:a"},{"id":"29:b"}],"tenantId":"t"}`,
		"group":            `{"bot":{"id":"28:b"},"members":[{"id":"29:u"}],"isGroup":true,"tenantId":"t"}`,
		"no tenant":        `{"bot":{"id":"28:b"},"members":[{"id":"29:u"}]}`,
		"tenants disagree": `{"bot":{"id":"28:b"},"members":[{"id":"29:u"}],"tenantId":"t","channelData":{"tenant":{"id":"u"}}}`,
		"not json":         `bot`,
	} {
		t.Run(name, func(t *testing.T) {
			n := len(s.Violations())
			st, m, _ := do(t, "POST", s.URL()+"/v3/conversations", "", "application/json", b)
			if st != 400 || m["error"].(map[string]any)["code"] != "BadArgument" {
				t.Errorf("%d %v", st, m)
			}
			if len(s.Violations()) != n+1 {
				t.Error("no violation recorded")
			}
		})
	}
}

func TestActivities(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	const conv = "19:x@thread.tacv2;messageid=17"

	st, m := post(t, s, conv, cardMsg)
	if st != 201 {
		t.Fatalf("%d %v", st, m)
	}
	id1 := m["id"].(string)
	_, m = post(t, s, conv, cardMsg) // a duplicate is kept
	id2 := m["id"].(string)
	if id2 <= id1 && len(id2) <= len(id1) {
		t.Errorf("ids %s then %s: not increasing", id1, id2)
	}
	st, m, _ = do(t, "POST", s.URL()+"/v3/conversations/"+url.PathEscape(conv)+"/activities/"+id1, "", "application/json", cardMsg)
	if st != 201 {
		t.Fatalf("reply: %d %v", st, m)
	}
	got := s.Activities(conv)
	if len(got) != 3 || got[0].ID != id1 || got[1].ID != id2 || got[2].ReplyToID != id1 {
		t.Fatalf("activities %+v", got)
	}
	if got[0].Card()["type"] != "AdaptiveCard" {
		t.Errorf("card %v", got[0].Card())
	}

	t.Run("update", func(t *testing.T) {
		upd := strings.Replace(cardMsg, `"body":[]`, `"body":[{"type":"TextBlock","text":"won"}]`, 1)
		st, _, _ := do(t, "PUT", s.URL()+"/v3/conversations/"+url.PathEscape(conv)+"/activities/"+id1, "", "application/json", upd)
		if st != 200 {
			t.Fatalf("status %d", st)
		}
		a := s.Activities(conv)[0]
		if a.Updates != 1 || !strings.Contains(string(a.Raw), "won") || a.ID != id1 {
			t.Errorf("after update %+v", a)
		}
		st, m, _ := do(t, "PUT", s.URL()+"/v3/conversations/other/activities/"+id1, "", "application/json", upd)
		if st != 404 || m["error"].(map[string]any)["code"] != "ActivityNotFound" {
			t.Errorf("update in another conversation: %d %v", st, m)
		}
	})

	t.Run("All in arrival order", func(t *testing.T) {
		post(t, s, "a:other", cardMsg)
		all := s.All()
		if len(all) != 4 || all[3].ConversationID != "a:other" {
			t.Errorf("All %+v", all)
		}
	})

	t.Run("calls", func(t *testing.T) {
		sends := s.Calls(OpSend)
		if len(sends) != 3 || sends[0].ConversationID != conv || sends[0].ActivityID != id1 || sends[0].Status != 201 {
			t.Errorf("send calls %+v", sends)
		}
		if r := s.Calls(OpReply); len(r) != 1 {
			t.Errorf("reply calls %+v", r)
		}
	})
}

func TestActivityChecks(t *testing.T) {
	big := `{"type":"message","text":"` + strings.Repeat("x", MaxMessageBytes) + `"}`
	bigCard := strings.Replace(cardMsg, `"body":[]`, `"body":[{"type":"TextBlock","text":"`+strings.Repeat("y", MaxCardBytes)+`"}]`, 1)
	for _, tc := range []struct {
		name, body string
		status     int
		code, kind string
	}{
		{"card", cardMsg, 201, "", ""},
		{"text", `{"type":"message","text":"hi"}`, 201, "", ""},
		{"typing", `{"type":"typing"}`, 201, "", ""},
		{"too big", big, 413, "MessageSizeTooBig", "message_too_big"},
		{"not an object", `[1]`, 400, "BadArgument", "bad_activity"},
		{"no type", `{"text":"hi"}`, 400, "BadArgument", "bad_activity"},
		{"empty message", `{"type":"message"}`, 400, "BadArgument", "bad_activity"},
		{"card content a string", `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":"{}"}]}`, 400, "BadArgument", "bad_attachment"},
		{"card without type", `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive","content":{"body":[]}}]}`, 400, "BadArgument", "bad_attachment"},
		{"attachment without contentType", `{"type":"message","attachments":[{"content":{}}]}`, 400, "BadArgument", "bad_attachment"},
		{"card version 1.6", strings.Replace(cardMsg, "1.5", "1.6", 1), 201, "", "card_version"},
		{"card version 1.10", strings.Replace(cardMsg, "1.5", "1.10", 1), 201, "", "card_version"},
		{"card over 28 KB", bigCard, 201, "", "card_too_large"},
		{"text with card", strings.Replace(cardMsg, `"type":"message"`, `"type":"message","text":"hi"`, 1), 201, "", "text_with_card"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New(Options{})
			defer s.Close()
			st, m := post(t, s, "a:1", tc.body)
			if st != tc.status {
				t.Fatalf("status %d, want %d (%v)", st, tc.status, m)
			}
			if tc.code != "" && m["error"].(map[string]any)["code"] != tc.code {
				t.Errorf("code %v, want %s", m["error"], tc.code)
			}
			v := s.Violations()
			if tc.kind == "" && len(v) != 0 || tc.kind != "" && (len(v) != 1 || v[0].Kind != tc.kind) {
				t.Errorf("violations %+v, want kind %q", v, tc.kind)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	t.Run("n failures then success, with Retry-After and subCode", func(t *testing.T) {
		s := New(Options{})
		defer s.Close()
		s.Fail(OpSend, 2, Fault{Status: 429, RetryAfter: "2"})
		s.Fail(OpSend, 1, Fault{Status: 403, Code: "Forbidden", SubCode: "MessageWritesBlocked"})
		for i := range 2 {
			st, _, ra := do(t, "POST", s.URL()+"/v3/conversations/a/activities", "", "application/json", cardMsg)
			if st != 429 || ra != "2" {
				t.Errorf("call %d: %d Retry-After %q", i, st, ra)
			}
		}
		st, m := post(t, s, "a", cardMsg)
		if e := m["error"].(map[string]any); st != 403 || e["subCode"] != "MessageWritesBlocked" {
			t.Errorf("%d %v", st, m)
		}
		if st, _ := post(t, s, "a", cardMsg); st != 201 {
			t.Errorf("after faults: %d", st)
		}
		if n := len(s.Activities("a")); n != 1 {
			t.Errorf("%d activities, want 1", n)
		}
		if c := s.Calls(OpSend); len(c) != 4 || c[0].Code != "Too Many Requests" || c[2].Code != "Forbidden" {
			t.Errorf("calls %+v", c)
		}
	})

	t.Run("forever until cleared", func(t *testing.T) {
		s := New(Options{})
		defer s.Close()
		s.Fail(OpSend, -1, Fault{Status: 502})
		for range 3 {
			if st, _ := post(t, s, "a", cardMsg); st != 502 {
				t.Errorf("status %d", st)
			}
		}
		s.Fail(OpSend, 0, Fault{})
		if st, _ := post(t, s, "a", cardMsg); st != 201 {
			t.Errorf("after clearing: %d", st)
		}
	})

	t.Run("delivered but answered with an error", func(t *testing.T) {
		s := New(Options{})
		defer s.Close()
		s.Fail(OpSend, 1, Fault{Status: 504, Delivered: true})
		if st, _ := post(t, s, "a", cardMsg); st != 504 {
			t.Errorf("status %d", st)
		}
		if n := len(s.Activities("a")); n != 1 {
			t.Errorf("%d activities, want 1", n)
		}
	})

	t.Run("dropped connection", func(t *testing.T) {
		s := New(Options{})
		defer s.Close()
		s.Fail(OpSend, 1, Fault{Drop: true})
		_, err := http.Post(s.URL()+"/v3/conversations/a/activities", "application/json", strings.NewReader(cardMsg))
		if err == nil {
			t.Fatal("no transport error")
		}
		if n := len(s.Activities("a")); n != 0 {
			t.Errorf("%d activities, want 0", n)
		}
		if c := s.Calls(OpSend); len(c) != 1 || c[0].Code != "dropped" {
			t.Errorf("calls %+v", c)
		}
	})

	t.Run("token fault", func(t *testing.T) {
		s := New(Options{})
		defer s.Close()
		s.Fail(OpToken, 1, Fault{Status: 503})
		st, m, _ := do(t, "POST", s.TokenURL(), "", "application/x-www-form-urlencoded", "")
		if st != 503 || m["error"] != "temporarily_unavailable" {
			t.Errorf("%d %v", st, m)
		}
	})
}

func TestDelayAndWaitFor(t *testing.T) {
	var seen atomic.Int32
	s := New(Options{OnCall: func(c Call) {
		if c.Op == OpSend {
			seen.Add(1)
		}
	}})
	defer s.Close()
	s.Delay(80 * time.Millisecond)
	start := time.Now()
	go post(t, s, "a", cardMsg)
	if s.WaitFor(func() bool { return len(s.Activities("a")) == 1 }, 10*time.Millisecond) {
		t.Error("WaitFor saw the activity before the delay")
	}
	if !s.WaitFor(func() bool { return len(s.Activities("a")) == 1 }, 2*time.Second) {
		t.Fatal("WaitFor timed out")
	}
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Errorf("answered after %v, before the delay", d)
	}
	if !s.WaitFor(func() bool { return seen.Load() == 1 }, time.Second) {
		t.Error("OnCall not called")
	}

	t.Run("Close ends a delay", func(t *testing.T) {
		s := New(Options{})
		s.Delay(time.Hour)
		errc := make(chan error, 1)
		go func() {
			_, err := http.Post(s.URL()+"/v3/conversations/a/activities", "application/json", strings.NewReader(cardMsg))
			errc <- err
		}()
		time.Sleep(20 * time.Millisecond)
		done := make(chan struct{})
		go func() { s.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("Close blocked on a delayed request")
		}
		if err := <-errc; err == nil {
			t.Error("delayed request answered after Close")
		} else if !errors.Is(err, io.EOF) && !strings.Contains(err.Error(), "EOF") && !strings.Contains(err.Error(), "reset") {
			t.Logf("error after Close: %v", err)
		}
	})
}

func TestUnknownRoute(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	if st, _, _ := do(t, "GET", s.URL()+"/v3/conversations/a/members", "", "application/json", ""); st != 404 {
		t.Errorf("status %d", st)
	}
	if v := s.Violations(); len(v) != 1 || v[0].Kind != "unknown_route" {
		t.Errorf("violations %+v", v)
	}
}

// DELETE of an activity: gone from Activities and All, 200 with no body;
// unknown, deleted already or in another conversation: 404
// ActivityNotFound, and not a violation (a retried delete meets it).
func TestDeleteActivity(t *testing.T) {
	s := New(Options{RequireAuth: true})
	defer s.Close()
	auth := token(t, s)
	const conv = "a:1delete"
	send := func() string {
		t.Helper()
		st, m, _ := do(t, "POST", s.URL()+"/v3/conversations/"+url.PathEscape(conv)+"/activities", auth, "application/json", cardMsg)
		if st != 201 {
			t.Fatalf("send: %d %v", st, m)
		}
		return m["id"].(string)
	}
	keep, dup := send(), send()
	del := func(conv, id, auth string) (int, map[string]any) {
		t.Helper()
		st, m, _ := do(t, "DELETE", s.URL()+"/v3/conversations/"+url.PathEscape(conv)+"/activities/"+id, auth, "", "")
		return st, m
	}
	if st, _ := del(conv, dup, ""); st != 401 {
		t.Fatalf("delete without a token: %d", st)
	}
	if got := s.Activities(conv); len(got) != 2 {
		t.Fatalf("an unauthorized delete removed something: %+v", got)
	}
	before := len(s.Violations()) // the 401 is one; count what follows
	if st, m := del(conv, dup, auth); st != 200 || m != nil {
		t.Fatalf("delete: %d %v", st, m)
	}
	if got := s.Activities(conv); len(got) != 1 || got[0].ID != keep {
		t.Fatalf("after the delete: %+v, want only %s", got, keep)
	}
	if all := s.All(); len(all) != 1 {
		t.Fatalf("All after the delete: %+v", all)
	}
	for _, tc := range []struct{ conv, id string }{{conv, dup}, {conv, "999"}, {"a:1other", keep}} {
		st, m := del(tc.conv, tc.id, auth)
		if e, _ := m["error"].(map[string]any); st != 404 || e["code"] != "ActivityNotFound" {
			t.Errorf("delete %s in %s: %d %v, want 404 ActivityNotFound", tc.id, tc.conv, st, m)
		}
	}
	if v := s.Violations(); len(v) != before {
		t.Fatalf("deletes recorded violations: %+v", v[before:])
	}
	calls := s.Calls(OpDelete)
	if len(calls) != 5 || calls[1].Status != 200 || calls[1].ConversationID != conv || calls[1].ActivityID != dup {
		t.Fatalf("delete calls %+v", calls)
	}
	// A delete whose answer is lost: done, and its retry meets a 404.
	dup = send()
	s.Fail(OpDelete, 1, Fault{Status: 502, Delivered: true})
	if st, _ := del(conv, dup, auth); st != 502 {
		t.Fatalf("faulty delete: %d", st)
	}
	if got := s.Activities(conv); len(got) != 1 {
		t.Fatalf("a delivered fault kept the activity: %+v", got)
	}
	if st, _ := del(conv, dup, auth); st != 404 {
		t.Fatalf("retry of a delivered delete: %d", st)
	}
}
