package teams_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/bot/teams"
	"github.com/crmbot/crmbot/bot/teams/teamsfake"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/internal/testkit/botframework"
	"github.com/crmbot/crmbot/internal/testkit/world"
	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/embedded"
)

// End to end through the real endpoint: a Teams client of ours posts
// activities to /api/messages as Teams does (signed with a Bot Framework
// style token from a local issuer, whose keys our Authenticator fetches
// over HTTP), the adapter answers invokes in the body and posts messages
// to the fake connector (which requires the app token it issues), the
// core runs against the Dataverse sandbox over HTTP. Tests look at what
// the user would see (the answers and the cards in the conversation) and
// at the records in the sandbox.

const appID = "6c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

type rig struct {
	t     testing.TB
	w     *world.World
	sb    *sandbox.Sandbox
	sbSrv *httptest.Server
	srv   *httptest.Server
	fake  *teamsfake.Server
	iss   *botframework.Issuer
	core  *bot.Core
	st    *embedded.Store
	ad    *teams.Adapter
	seq   atomic.Int64
}

type rigOptions struct {
	sandbox      func(*sandbox.Options)
	invokeBudget time.Duration
}

func newRig(t testing.TB, opts ...func(*rigOptions)) *rig {
	t.Helper()
	var o rigOptions
	for _, f := range opts {
		f(&o)
	}
	r := &rig{t: t, iss: botframework.NewIssuer(t)}
	r.fake = teamsfake.New(teamsfake.Options{RequireAuth: true, ClientID: appID, ClientSecret: "bot-secret", TenantID: sandbox.DefaultTenantID})
	r.w = world.New(t, world.Options{Sandbox: o.sandbox})
	r.sb, r.sbSrv, r.srv, r.st, r.core = r.w.Sandbox, r.w.SandboxServer, r.w.Server, r.w.Store, r.w.Core
	mux := r.w.Mux
	conn := &teams.Connector{AppID: appID, AppPassword: "bot-secret", TenantID: sandbox.DefaultTenantID,
		TokenURL: r.fake.TokenURL(), Logger: quiet()}
	r.ad = &teams.Adapter{Core: r.core, Connector: conn, Conversations: r.st, AppID: appID, Dedupe: r.st,
		Auth: &teams.Authenticator{AppID: appID, OpenIDURL: r.iss.OpenIDURL(), Logger: quiet()}, Logger: quiet(),
		InvokeBudget: o.invokeBudget}
	if err := r.ad.Init(); err != nil {
		t.Fatal(err)
	}
	r.ad.Routes(mux)
	r.core.Senders[store.PlatformTeams] = r.ad
	t.Cleanup(func() {
		r.w.Drain(r.ad.Wait)
		r.fake.Close()
		if v := r.fake.Violations(); len(v) > 0 {
			t.Errorf("Teams would have refused: %+v", v)
		}
	})
	return r
}

// user is a Teams user whose Entra identity is a sandbox demo user's.
type user struct {
	r      *rig
	demo   sandbox.User
	id     string // 29:…
	conv   string // the 1:1 conversation
	locale string
}

func (r *rig) user(email, locale string) *user {
	r.t.Helper()
	for _, du := range sandbox.DemoUsers() {
		if du.Email == email {
			id := "29:1" + strings.ReplaceAll(du.ObjectID, "-", "")
			return &user{r: r, demo: du, id: id, conv: "a:1" + strings.ReplaceAll(du.ObjectID, "-", "") + "@personal", locale: locale}
		}
	}
	r.t.Fatalf("no demo user %s", email)
	return nil
}

func demoEmail(i int) string { return sandbox.DemoUsers()[i].Email }

func (u *user) chatUser() store.ChatUser {
	return store.ChatUser{Platform: store.PlatformTeams, Tenant: sandbox.DefaultTenantID, UserID: u.id}
}

// activity is an activity from the user in their 1:1 chat with the bot.
func (u *user) activity(typ string) map[string]any {
	return map[string]any{
		"type": typ, "id": fmt.Sprintf("f:%d", u.r.seq.Add(1)), "timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		"channelId": "msteams", "serviceUrl": u.r.fake.URL(), "locale": u.locale,
		"from":         map[string]any{"id": u.id, "name": u.demo.FullName(), "aadObjectId": u.demo.ObjectID},
		"recipient":    map[string]any{"id": "28:" + appID, "name": "crmbot"},
		"conversation": map[string]any{"id": u.conv, "conversationType": "personal", "tenantId": sandbox.DefaultTenantID},
		"channelData":  map[string]any{"tenant": map[string]any{"id": sandbox.DefaultTenantID}},
	}
}

// post sends an activity to our endpoint, signed, and returns the status
// and the body.
func (u *user) post(act map[string]any) (int, []byte) {
	u.r.t.Helper()
	b, _ := json.Marshal(act)
	req, _ := http.NewRequest(http.MethodPost, u.r.srv.URL+teams.Path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+u.r.iss.Token(appID, u.r.fake.URL()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		u.r.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// messages is the 1:1 conversation as the fake holds it (the bot's
// messages), oldest first.
func (u *user) messages() []teamsfake.Activity { return u.r.fake.Activities(u.conv) }

// say types text and returns the card the bot answers with.
func (u *user) say(text string) card {
	u.r.t.Helper()
	before := len(u.messages())
	act := u.activity(teams.TypeMessage)
	act["text"] = text
	if status, body := u.post(act); status != http.StatusOK {
		u.r.t.Fatalf("say %q: %d %s", text, status, body)
	}
	return u.nextMessage(before, "the answer to "+text)
}

// nextMessage waits for the bot's message after the first before.
func (u *user) nextMessage(before int, what string) card {
	u.r.t.Helper()
	waitFor(u.r.t, what, func() bool { return len(u.messages()) > before })
	m := u.messages()[before]
	return card{msg: m.ID, body: m.Card()}
}

// waitMessage waits for a message after the first before whose card
// contains want.
func (u *user) waitMessage(before int, want string) card {
	u.r.t.Helper()
	var found card
	waitFor(u.r.t, "a message with "+want, func() bool {
		ms := u.messages()
		for _, m := range ms[min(before, len(ms)):] {
			if c := (card{msg: m.ID, body: m.Card()}); strings.Contains(c.text(), want) {
				found = c
				return true
			}
		}
		return false
	})
	return found
}

// card is an Adaptive Card the user sees: in a message (msg is its id) or
// in a dialog.
type card struct {
	msg  string
	body map[string]any
}

func (c card) text() string { return texts(c.body) }

// action finds a button by title, anywhere in the card.
func (c card) action(t testing.TB, title string) map[string]any {
	t.Helper()
	var found map[string]any
	walk(c.body, func(m map[string]any) {
		if typ, _ := m["type"].(string); strings.HasPrefix(typ, "Action.") && m["title"] == title && found == nil {
			found = m
		}
	})
	if found == nil {
		t.Fatalf("no button %q in the card:\n%s", title, c.text())
	}
	return found
}

// inputs are the card's inputs with their current values, as Teams sends
// them, overridden by typed.
func (c card) inputs(typed map[string]any) map[string]any {
	out := map[string]any{}
	walk(c.body, func(m map[string]any) {
		typ, _ := m["type"].(string)
		id, _ := m["id"].(string)
		if strings.HasPrefix(typ, "Input.") && id != "" {
			v, _ := m["value"].(string)
			out[id] = v
		}
	})
	for k, v := range typed {
		out[k] = v
	}
	return out
}

// click clicks a button of a message card. An Action.Execute is an
// adaptiveCard/action invoke whose answer replaces the card; an
// Action.Submit marked task/fetch opens a dialog; another Action.Submit
// posts a message with the data. It returns the card shown afterwards (the
// replaced card, or the dialog's).
func (u *user) click(c card, title string, typed map[string]any) card {
	u.r.t.Helper()
	a := c.action(u.r.t, title)
	data, _ := a["data"].(map[string]any)
	merged := func() map[string]any {
		m := c.inputs(typed)
		for k, v := range data {
			m[k] = v
		}
		return m
	}
	switch a["type"] {
	case "Action.Execute":
		act := u.activity(teams.TypeInvoke)
		act["name"], act["replyToId"] = teams.InvokeCardAction, c.msg
		act["value"] = map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": a["verb"], "data": merged()}, "trigger": "manual"}
		status, body := u.post(act)
		if status != http.StatusOK {
			u.r.t.Fatalf("click %q: %d %s", title, status, body)
		}
		var resp struct {
			StatusCode int             `json:"statusCode"`
			Type       string          `json:"type"`
			Value      json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(body, &resp); err != nil || resp.StatusCode != 200 {
			u.r.t.Fatalf("click %q: answer %s", title, body)
		}
		if resp.Type != "application/vnd.microsoft.card.adaptive" {
			u.r.t.Fatalf("click %q: answer %s, want a card", title, body)
		}
		var next map[string]any
		_ = json.Unmarshal(resp.Value, &next)
		return card{msg: c.msg, body: next}
	case "Action.Submit":
		if ms, _ := data["msteams"].(map[string]any); ms["type"] == "task/fetch" {
			act := u.activity(teams.TypeInvoke)
			act["name"], act["replyToId"] = teams.InvokeTaskFetch, c.msg
			act["value"] = map[string]any{"data": data, "context": map[string]any{"theme": "default"}}
			return u.dialogAnswer("open "+title, act)
		}
		if c.msg == "" {
			u.r.t.Fatalf("click %q: an Action.Submit in a dialog: use submit", title)
		}
		updates := u.updates(c.msg)
		act := u.activity(teams.TypeMessage)
		act["replyToId"], act["value"] = c.msg, merged()
		if status, body := u.post(act); status != http.StatusOK {
			u.r.t.Fatalf("click %q: %d %s", title, status, body)
		}
		return u.waitUpdated(c.msg, updates, "the card after "+title)
	}
	u.r.t.Fatalf("click %q: a %v", title, a["type"])
	return card{}
}

// updates counts the updates of a message so far.
func (u *user) updates(id string) int {
	for _, m := range u.messages() {
		if m.ID == id {
			return m.Updates
		}
	}
	return 0
}

// waitUpdated waits for a message of the conversation to have more than
// before updates and returns its new card.
func (u *user) waitUpdated(id string, before int, what string) card {
	u.r.t.Helper()
	var now teamsfake.Activity
	waitFor(u.r.t, what, func() bool {
		for _, m := range u.messages() {
			if m.ID == id && m.Updates > before {
				now = m
				return true
			}
		}
		return false
	})
	return card{msg: id, body: now.Card()}
}

// submit clicks a button of a dialog: task/submit with the button's data
// and the inputs (none for a button with associatedInputs none). It returns
// the dialog's next card, or a zero card when the dialog closed (with the
// task message, if any).
func (u *user) submit(d card, title string, typed map[string]any) (card, string) {
	u.r.t.Helper()
	a := d.action(u.r.t, title)
	data, _ := a["data"].(map[string]any)
	value := map[string]any{}
	if a["associatedInputs"] != "none" {
		value = d.inputs(typed)
	}
	for k, v := range data {
		value[k] = v
	}
	act := u.activity(teams.TypeInvoke)
	act["name"] = teams.InvokeTaskSubmit
	act["value"] = map[string]any{"data": value, "context": map[string]any{"theme": "default"}}
	status, body := u.post(act)
	if status != http.StatusOK {
		u.r.t.Fatalf("submit %q: %d %s", title, status, body)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return card{}, ""
	}
	var resp taskResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		u.r.t.Fatalf("submit %q: answer %s", title, body)
	}
	if resp.Task.Type == "message" {
		var s string
		_ = json.Unmarshal(resp.Task.Value, &s)
		return card{}, s
	}
	return u.dialogCard("submit "+title, resp, body), ""
}

type taskResponse struct {
	Task struct {
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
	} `json:"task"`
}

// dialogAnswer posts an invoke whose answer is a dialog and returns its
// card.
func (u *user) dialogAnswer(what string, act map[string]any) card {
	u.r.t.Helper()
	status, body := u.post(act)
	if status != http.StatusOK {
		u.r.t.Fatalf("%s: %d %s", what, status, body)
	}
	var resp taskResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		u.r.t.Fatalf("%s: answer %s", what, body)
	}
	return u.dialogCard(what, resp, body)
}

func (u *user) dialogCard(what string, resp taskResponse, body []byte) card {
	u.r.t.Helper()
	if resp.Task.Type != "continue" {
		u.r.t.Fatalf("%s: answer %s, want a dialog", what, body)
	}
	var v struct {
		Title string `json:"title"`
		Card  struct {
			ContentType string         `json:"contentType"`
			Content     map[string]any `json:"content"`
		} `json:"card"`
	}
	if err := json.Unmarshal(resp.Task.Value, &v); err != nil || v.Title == "" ||
		v.Card.ContentType != "application/vnd.microsoft.card.adaptive" || v.Card.Content["type"] != "AdaptiveCard" {
		u.r.t.Fatalf("%s: dialog %s", what, resp.Task.Value)
	}
	return card{body: v.Card.Content}
}

// search types into a lookup (Data.Query) and returns the results' titles
// and values.
func (u *user) search(dataset, query string) []map[string]string {
	u.r.t.Helper()
	act := u.activity(teams.TypeInvoke)
	act["name"] = teams.InvokeSearch
	act["value"] = map[string]any{"queryText": query, "kind": "search", "dataset": dataset, "queryOptions": map[string]any{"skip": 0, "top": 15}}
	status, body := u.post(act)
	if status != http.StatusOK {
		u.r.t.Fatalf("search %s %q: %d %s", dataset, query, status, body)
	}
	var resp struct {
		StatusCode int    `json:"statusCode"`
		Type       string `json:"type"`
		Value      struct {
			Results []map[string]string `json:"results"`
		} `json:"value"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || resp.Type != "application/vnd.microsoft.search.searchResponse" {
		u.r.t.Fatalf("search %s %q: answer %s", dataset, query, body)
	}
	return resp.Value.Results
}

// link links the user as a person does: "link", the button opened in a
// browser that signs in at the sandbox as the demo user, back to our
// callback; then waits for the link.
func (u *user) link() {
	u.r.t.Helper()
	c := u.say("link")
	before := len(u.messages())
	u.openLink(c)
	waitFor(u.r.t, "the link to be stored", func() bool {
		_, err := u.r.st.GetLink(context.Background(), u.chatUser())
		return err == nil
	})
	greeting := u.nextMessage(before, "the greeting after linking")
	if !strings.Contains(greeting.text(), u.demo.Email) {
		u.r.t.Fatalf("the greeting after linking: %s", greeting.text())
	}
}

// openLink follows the card's sign-in button in a browser; at the
// sandbox's account picker the person picks their account (login_hint).
func (u *user) openLink(c card) {
	u.r.t.Helper()
	var start string
	walk(c.body, func(m map[string]any) {
		if s, _ := m["url"].(string); strings.HasPrefix(s, u.r.srv.URL+bot.LinkStartPath) {
			start = s
		}
	})
	if start == "" {
		u.r.t.Fatalf("no link button in %s", c.text())
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), u.r.sbSrv.URL) && strings.Contains(req.URL.Path, "/authorize") {
			q := req.URL.Query()
			q.Set("login_hint", u.demo.Email)
			req.URL.RawQuery = q.Encode()
		}
		return nil
	}}
	resp, err := browser.Get(start)
	if err != nil {
		u.r.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		u.r.t.Fatalf("link page: %d %s", resp.StatusCode, body)
	}
}

// walk calls f on every object of a decoded JSON tree.
func walk(x any, f func(map[string]any)) {
	switch x := x.(type) {
	case map[string]any:
		f(x)
		for _, e := range x {
			walk(e, f)
		}
	case []any:
		for _, e := range x {
			walk(e, f)
		}
	}
}

// texts is every text of a card, for assertions.
func texts(x any) string {
	var b strings.Builder
	walk(x, func(m map[string]any) {
		for _, k := range []string{"text", "title", "value", "placeholder", "label"} {
			if s, ok := m[k].(string); ok {
				b.WriteString(s)
				b.WriteByte('\n')
			}
		}
	})
	return b.String()
}

// waitFor polls cond until it holds (10 s at most).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var _ = url.Values{}
