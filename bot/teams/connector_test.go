package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot/teams/teamsfake"
)

// fakeClock is a clock whose Sleep advances it at once, so rate limits and
// back-offs cost no wall time.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}

// harness is a Connector wired to a fake connector that requires auth, both
// on one fake clock; logs go to logs.
type harness struct {
	c    *Connector
	fake *teamsfake.Server
	clk  *fakeClock
	logs *lockedWriter
}

func newHarness(t *testing.T, opts teamsfake.Options) *harness {
	t.Helper()
	clk := &fakeClock{now: t0}
	opts.Now = clk.Now
	opts.RequireAuth = true
	fake := teamsfake.New(opts)
	t.Cleanup(fake.Close)
	logs := &lockedWriter{w: &bytes.Buffer{}}
	c := &Connector{
		AppID: fake.ClientID(), AppPassword: fake.ClientSecret(), TenantID: fake.TenantID(),
		TokenURL: fake.TokenURL(),
		Now:      clk.Now, Sleep: clk.Sleep,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	t.Cleanup(func() {
		// Whatever the test did, no log line may carry a secret or a token.
		out := logs.String()
		if strings.Contains(out, fake.ClientSecret()) {
			t.Errorf("logs contain the app password:\n%s", out)
		}
		for _, call := range fake.Calls() {
			if tok, ok := strings.CutPrefix(call.Authorization, "Bearer "); ok && strings.Contains(out, tok) {
				t.Errorf("logs contain a token:\n%s", out)
			}
		}
	})
	return &harness{c: c, fake: fake, clk: clk, logs: logs}
}

// mustSend sends a card to convID and returns its id.
func (h *harness) mustSend(t *testing.T) string {
	t.Helper()
	id, err := h.c.Send(t.Context(), h.fake.URL(), convID, card("x"))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

func card(title string) *Activity {
	return &Activity{Type: TypeMessage, Attachments: []Attachment{{
		ContentType: AttachmentCardType,
		Content:     map[string]any{"type": "AdaptiveCard", "version": "1.5", "body": []any{map[string]any{"type": "TextBlock", "text": title}}},
	}}}
}

const convID = "a:1Qx9;messageid=1732450000000"

func TestConnectorSend(t *testing.T) {
	t.Run("returns the id, escapes the conversation id", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{})
		id, err := h.c.Send(t.Context(), h.fake.URL(), convID, card("Lead"))
		if err != nil {
			t.Fatal(err)
		}
		got := h.fake.Activities(convID)
		if len(got) != 1 || got[0].ID != id || id == "" {
			t.Fatalf("id %q, fake has %+v", id, got)
		}
		if c := got[0].Card(); c == nil || c["type"] != "AdaptiveCard" {
			t.Errorf("card not delivered: %s", got[0].Raw)
		}
		if p := h.fake.Calls(teamsfake.OpSend)[0].Path; p != "/v3/conversations/a%3A1Qx9%3Bmessageid%3D1732450000000/activities" {
			t.Errorf("path %s", p)
		}
		if v := h.fake.Violations(); len(v) != 0 {
			t.Errorf("violations: %+v", v)
		}
	})

	t.Run("empty type is sent as message, caller's activity untouched", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{})
		a := card("x")
		a.Type = ""
		if _, err := h.c.Send(t.Context(), h.fake.URL(), convID, a); err != nil {
			t.Fatal(err)
		}
		if a.Type != "" {
			t.Error("Send modified its argument")
		}
	})

	t.Run("serviceUrl with a path prefix", func(t *testing.T) {
		// The Agents Playground's serviceUrl is http://localhost:56150/_connector.
		var path string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			path = r.URL.EscapedPath()
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"id":"1"}`))
		}))
		defer srv.Close()
		c := &Connector{}
		if _, err := c.Send(t.Context(), srv.URL+"/_connector/", "a:1", card("x")); err != nil {
			t.Fatal(err)
		}
		if path != "/_connector/v3/conversations/a%3A1/activities" {
			t.Errorf("path %s", path)
		}
	})

	t.Run("invalid serviceUrl", func(t *testing.T) {
		for _, u := range []string{"", "smba.trafficmanager.net/teams", "http://smba.trafficmanager.net/teams", "ftp://127.0.0.1/", "https://user:pw@host/", "https://host/?q=1"} {
			c := &Connector{}
			if _, err := c.Send(t.Context(), u, "a:1", card("x")); err == nil {
				t.Errorf("%q accepted", u)
			}
		}
	})
}

func TestConnectorToken(t *testing.T) {
	t.Run("cached across sends", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{})
		for range 3 {
			h.mustSend(t)
		}
		if n := len(h.fake.Calls(teamsfake.OpToken)); n != 1 {
			t.Errorf("%d token fetches, want 1", n)
		}
		if a := h.fake.Calls(teamsfake.OpSend)[2].Authorization; !strings.HasPrefix(a, "Bearer fake.") {
			t.Errorf("Authorization %q", a)
		}
	})

	t.Run("refetched shortly before expiry", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{TokenTTL: time.Hour})
		h.mustSend(t)
		h.clk.Advance(50 * time.Minute)
		h.mustSend(t)
		if n := len(h.fake.Calls(teamsfake.OpToken)); n != 1 {
			t.Errorf("%d token fetches after 50 min, want 1", n)
		}
		h.clk.Advance(6 * time.Minute) // 4 min before expiry: inside the margin
		h.mustSend(t)
		if n := len(h.fake.Calls(teamsfake.OpToken)); n != 2 {
			t.Errorf("%d token fetches after 56 min, want 2", n)
		}
	})

	t.Run("one fetch shared by concurrent callers", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{})
		h.c.Limits = Limits{Off: true}
		h.fake.Delay(30 * time.Millisecond)
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if _, err := h.c.Send(t.Context(), h.fake.URL(), convID, card("x")); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := len(h.fake.Calls(teamsfake.OpToken)); n != 1 {
			t.Errorf("%d token fetches, want 1", n)
		}
	})

	t.Run("dev mode sends no Authorization", func(t *testing.T) {
		fake := teamsfake.New(teamsfake.Options{})
		defer fake.Close()
		c := &Connector{}
		if _, err := c.Send(t.Context(), fake.URL(), convID, card("x")); err != nil {
			t.Fatal(err)
		}
		if a := fake.Calls(teamsfake.OpSend)[0].Authorization; a != "" {
			t.Errorf("Authorization %q in dev mode", a)
		}
		if n := len(fake.Calls(teamsfake.OpToken)); n != 0 {
			t.Errorf("%d token fetches in dev mode", n)
		}
	})

	t.Run("token endpoint down", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{})
		down := httptest.NewServer(http.NotFoundHandler())
		down.Close()
		h.c.TokenURL = down.URL + "/tenant/oauth2/v2.0/token"
		_, err := h.c.Send(t.Context(), h.fake.URL(), convID, card("x"))
		if err == nil {
			t.Fatal("no error")
		}
		if strings.Contains(err.Error(), h.fake.ClientSecret()) {
			t.Errorf("error carries the secret: %v", err)
		}
		if n := len(h.fake.Calls(teamsfake.OpSend)); n != 0 {
			t.Errorf("%d sends without a token", n)
		}
	})

	t.Run("token endpoint 503 is retried", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{})
		h.fake.Fail(teamsfake.OpToken, 1, teamsfake.Fault{Status: http.StatusServiceUnavailable})
		h.mustSend(t)
		if n := len(h.fake.Calls(teamsfake.OpToken)); n != 2 {
			t.Errorf("%d token fetches, want 2", n)
		}
	})

	t.Run("wrong secret is not retried and not echoed", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{})
		h.c.AppPassword = "wrong-but-secret"
		_, err := h.c.Send(t.Context(), h.fake.URL(), convID, card("x"))
		if err == nil || !strings.Contains(err.Error(), "invalid_client") {
			t.Fatalf("err = %v, want invalid_client", err)
		}
		if strings.Contains(err.Error(), "wrong-but-secret") || strings.Contains(h.logs.String(), "wrong-but-secret") {
			t.Error("secret in error or logs")
		}
		if n := len(h.fake.Calls(teamsfake.OpToken)); n != 1 {
			t.Errorf("%d token fetches, want 1", n)
		}
	})

	t.Run("failed refresh inside the margin keeps the old token", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{TokenTTL: time.Hour})
		h.mustSend(t)
		h.clk.Advance(57 * time.Minute)
		h.fake.Fail(teamsfake.OpToken, 1, teamsfake.Fault{Status: http.StatusServiceUnavailable})
		h.mustSend(t)
		sends := h.fake.Calls(teamsfake.OpSend)
		if sends[1].Authorization != sends[0].Authorization {
			t.Error("the old, still valid token was not used")
		}
	})

	t.Run("401 refetches the token once", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{})
		h.fake.Fail(teamsfake.OpSend, 1, teamsfake.Fault{Status: http.StatusUnauthorized})
		h.mustSend(t)
		if n := len(h.fake.Calls(teamsfake.OpToken)); n != 2 {
			t.Errorf("%d token fetches, want 2", n)
		}
	})
}

func TestConnectorUpdate(t *testing.T) {
	h := newHarness(t, teamsfake.Options{})
	id, err := h.c.Send(t.Context(), h.fake.URL(), convID, card("Open"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("replaces the activity", func(t *testing.T) {
		if err := h.c.Update(t.Context(), h.fake.URL(), convID, id, card("Won")); err != nil {
			t.Fatal(err)
		}
		got := h.fake.Activities(convID)
		if len(got) != 1 || got[0].Updates != 1 || !strings.Contains(string(got[0].Raw), "Won") {
			t.Fatalf("fake has %+v", got)
		}
		var body struct{ ID string }
		_ = json.Unmarshal(h.fake.Calls(teamsfake.OpUpdate)[0].Body, &body)
		if body.ID != id {
			t.Errorf("body id %q, want %q", body.ID, id)
		}
	})
	t.Run("unknown activity is an APIError", func(t *testing.T) {
		err := h.c.Update(t.Context(), h.fake.URL(), convID, "999", card("x"))
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
			t.Fatalf("err = %v, want 404 APIError", err)
		}
	})
}

func TestConnectorCreateConversation(t *testing.T) {
	h := newHarness(t, teamsfake.Options{})
	p := NewConversation{BotID: "28:bot", UserID: "29:1user"}
	id, err := h.c.CreateConversation(t.Context(), h.fake.URL(), p)
	if err != nil {
		t.Fatal(err)
	}
	if id == "" || h.fake.Conversation("29:1user") != id {
		t.Fatalf("id %q, fake has %q", id, h.fake.Conversation("29:1user"))
	}
	var got, want any
	_ = json.Unmarshal(h.fake.Calls(teamsfake.OpCreateConversation)[0].Body, &got)
	_ = json.Unmarshal([]byte(`{"bot":{"id":"28:bot"},"members":[{"id":"29:1user"}],"isGroup":false,
		"tenantId":"`+h.fake.TenantID()+`","channelData":{"tenant":{"id":"`+h.fake.TenantID()+`"}}}`), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body %v\nwant %v", got, want)
	}
	again, err := h.c.CreateConversation(t.Context(), h.fake.URL(), NewConversation{UserID: "29:1user"})
	if err != nil || again != id {
		t.Errorf("second create: %q, %v; want %q", again, err, id)
	}
	var second map[string]any
	_ = json.Unmarshal(h.fake.Calls(teamsfake.OpCreateConversation)[1].Body, &second)
	if bot := second["bot"].(map[string]any)["id"]; bot != "28:"+h.fake.ClientID() {
		t.Errorf("default bot id %v", bot)
	}
}

func TestConnectorRetries(t *testing.T) {
	send := func(h *harness) error {
		_, err := h.c.Send(t.Context(), h.fake.URL(), convID, card("x"))
		return err
	}

	t.Run("429 Retry-After seconds honoured", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{})
		h.fake.Fail(teamsfake.OpSend, 1, teamsfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: "3"})
		if err := send(h); err != nil {
			t.Fatal(err)
		}
		if s := h.clk.Slept(); len(s) != 1 || s[0] != 3*time.Second {
			t.Errorf("slept %v, want [3s]", s)
		}
		if n := len(h.fake.Calls(teamsfake.OpSend)); n != 2 {
			t.Errorf("%d sends, want 2", n)
		}
	})

	t.Run("429 Retry-After date honoured", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{})
		at := t0.Add(7 * time.Second).Format(http.TimeFormat)
		h.fake.Fail(teamsfake.OpSend, 1, teamsfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: at})
		if err := send(h); err != nil {
			t.Fatal(err)
		}
		if s := h.clk.Slept(); len(s) != 1 || s[0] != 7*time.Second {
			t.Errorf("slept %v, want [7s]", s)
		}
	})

	for _, status := range []int{http.StatusPreconditionFailed, http.StatusBadGateway, http.StatusGatewayTimeout} {
		t.Run(http.StatusText(status)+" retried with back-off", func(t *testing.T) {
			h := newHarness(t, teamsfake.Options{})
			h.fake.Fail(teamsfake.OpSend, 2, teamsfake.Fault{Status: status})
			if err := send(h); err != nil {
				t.Fatal(err)
			}
			if n := len(h.fake.Calls(teamsfake.OpSend)); n != 3 {
				t.Errorf("%d sends, want 3", n)
			}
			s := h.clk.Slept()
			if len(s) != 2 || s[0] < retryBase/2 || s[0] > retryBase || s[1] < retryBase || s[1] > 2*retryBase {
				t.Errorf("back-off %v, want one in [%v,%v] then one in [%v,%v]", s, retryBase/2, retryBase, retryBase, 2*retryBase)
			}
		})
	}

	t.Run("bounded by MaxAttempts", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{})
		h.c.MaxAttempts = 3
		h.fake.Fail(teamsfake.OpSend, -1, teamsfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: "10"})
		err := send(h)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusTooManyRequests || apiErr.RetryAfter != 10*time.Second {
			t.Fatalf("err = %#v, want 429 APIError with RetryAfter 10s", err)
		}
		if n := len(h.fake.Calls(teamsfake.OpSend)); n != 3 {
			t.Errorf("%d sends, want 3", n)
		}
	})

	t.Run("no wait past the deadline", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{})
		h.fake.Fail(teamsfake.OpSend, 1, teamsfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: "3600"})
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		_, err := h.c.Send(ctx, h.fake.URL(), convID, card("x"))
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusTooManyRequests {
			t.Fatalf("err = %v, want the 429", err)
		}
		if s := h.clk.Slept(); len(s) != 0 {
			t.Errorf("slept %v", s)
		}
	})

	t.Run("400 not retried", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{})
		h.fake.Fail(teamsfake.OpSend, 1, teamsfake.Fault{Status: http.StatusBadRequest, Code: "BadArgument"})
		err := send(h)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Code != "BadArgument" {
			t.Fatalf("err = %v, want 400 BadArgument", err)
		}
		if errors.Is(err, ErrUnreachable) {
			t.Error("400 is not unreachable")
		}
		if n := len(h.fake.Calls(teamsfake.OpSend)); n != 1 {
			t.Errorf("%d sends, want 1", n)
		}
	})

	t.Run("ambiguous transport error on POST is retried: at-least-once", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{})
		// Teams posts the card, then the connection drops before the answer.
		h.fake.Fail(teamsfake.OpSend, 1, teamsfake.Fault{Drop: true, Delivered: true})
		if err := send(h); err != nil {
			t.Fatal(err)
		}
		if n := len(h.fake.Activities(convID)); n != 2 {
			t.Errorf("%d activities, want 2 (the documented duplicate)", n)
		}
	})

	t.Run("transport error on PUT is retried", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{})
		id, err := h.c.Send(t.Context(), h.fake.URL(), convID, card("x"))
		if err != nil {
			t.Fatal(err)
		}
		h.fake.Fail(teamsfake.OpUpdate, 1, teamsfake.Fault{Drop: true})
		if err := h.c.Update(t.Context(), h.fake.URL(), convID, id, card("y")); err != nil {
			t.Fatal(err)
		}
		if a := h.fake.Activities(convID); len(a) != 1 || a[0].Updates != 1 {
			t.Errorf("fake has %+v", a)
		}
	})
}

func TestConnectorUnreachable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault teamsfake.Fault
		want  bool
	}{
		{"subCode MessageWritesBlocked", teamsfake.Fault{Status: 403, Code: "Forbidden", SubCode: "MessageWritesBlocked"}, true},
		{"code MessageWritesBlocked", teamsfake.Fault{Status: 403, Code: "MessageWritesBlocked"}, true},
		{"ConversationBlockedByUser", teamsfake.Fault{Status: 403, Code: "ConversationBlockedByUser"}, true},
		{"BotNotInConversationRoster", teamsfake.Fault{Status: 403, Code: "BotNotInConversationRoster"}, true},
		{"other 403", teamsfake.Fault{Status: 403, Code: "BotDisabledByAdmin"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, teamsfake.Options{})
			h.fake.Fail(teamsfake.OpSend, 1, tc.fault)
			_, err := h.c.Send(t.Context(), h.fake.URL(), convID, card("x"))
			if got := errors.Is(err, ErrUnreachable); got != tc.want {
				t.Errorf("errors.Is(%v, ErrUnreachable) = %v", err, got)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status != 403 {
				t.Errorf("err = %v, want a 403 APIError", err)
			}
			if n := len(h.fake.Calls(teamsfake.OpSend)); n != 1 {
				t.Errorf("%d sends, want 1", n)
			}
		})
	}
}

func TestConnectorRateLimit(t *testing.T) {
	t.Run("20 sends to one conversation keep Teams' windows", func(t *testing.T) {
		h := newHarness(t, teamsfake.Options{})
		for range 20 {
			h.mustSend(t)
		}
		var times []time.Time
		for _, c := range h.fake.Calls(teamsfake.OpSend) {
			times = append(times, c.Time)
		}
		checkWindows(t, times, DefaultLimits().PerConversation)
		// 7 at once, one at 1 s, then 8 per 2 s: the 20th goes at 4 s.
		if got := times[19].Sub(times[0]); got < 4*time.Second {
			t.Errorf("20 sends took %v, want ≥ 4s", got)
		}
	})

	t.Run("two conversations do not block each other (real clock)", func(t *testing.T) {
		fake := teamsfake.New(teamsfake.Options{})
		defer fake.Close()
		c := &Connector{Limits: Limits{PerConversation: []Window{{N: 1, Per: 400 * time.Millisecond}}}}
		if _, err := c.Send(t.Context(), fake.URL(), "a:busy", card("x")); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		busy := make(chan time.Duration)
		go func() {
			_, err := c.Send(t.Context(), fake.URL(), "a:busy", card("x"))
			if err != nil {
				t.Error(err)
			}
			busy <- time.Since(start)
		}()
		if _, err := c.Send(t.Context(), fake.URL(), "a:quiet", card("x")); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 200*time.Millisecond {
			t.Errorf("quiet conversation took %v", d)
		}
		if d := <-busy; d < 300*time.Millisecond {
			t.Errorf("busy conversation took only %v", d)
		}
	})

	t.Run("cancelled wait gives up quickly", func(t *testing.T) {
		fake := teamsfake.New(teamsfake.Options{})
		defer fake.Close()
		c := &Connector{Limits: Limits{PerConversation: []Window{{N: 1, Per: time.Hour}}}}
		if _, err := c.Send(t.Context(), fake.URL(), "a:1", card("x")); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := c.Send(ctx, fake.URL(), "a:1", card("x")); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v", d)
		}
	})
}

func TestEscapeSegment(t *testing.T) {
	for in, want := range map[string]string{
		"a:1abc": "a%3A1abc",
		"19:x@thread.tacv2;messageid=1732450000000": "19%3Ax%40thread.tacv2%3Bmessageid%3D1732450000000",
		"a/b c?d#e%f": "a%2Fb%20c%3Fd%23e%25f",
		"AZaz09-._~":  "AZaz09-._~",
		"é":           "%C3%A9",
	} {
		if got := escapeSegment(in); got != want {
			t.Errorf("escapeSegment(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"5", 5 * time.Second},
		{"1.5", 1500 * time.Millisecond},
		{"-3", 0},
		{t0.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{t0.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"soon", 0},
	} {
		if got := parseRetryAfter(tc.in, t0); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestValidateServiceURL(t *testing.T) {
	for u, ok := range map[string]bool{
		"https://smba.trafficmanager.net/teams/": true,
		"http://localhost:56150/_connector":      true,
		"http://127.0.0.1:8080":                  true,
		"http://[::1]:8080":                      true,
		"http://smba.trafficmanager.net/teams/":  false,
		"https://":                               false,
		"/v3/conversations":                      false,
		"javascript:alert(1)":                    false,
	} {
		if err := validateServiceURL(u); (err == nil) != ok {
			t.Errorf("validateServiceURL(%q) = %v", u, err)
		}
	}
}
