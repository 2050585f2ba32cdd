package slack_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/bot/slack"
	"github.com/crmbot/crmbot/bot/slack/slackfake"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/internal/testkit/world"
	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/embedded"
)

// End to end through the real HTTP endpoints: a fake Slack (its Web API
// checked by slack-go itself, its driver signing and posting what Slack
// would), our server (the Slack routes and the link pages), the core, the
// embedded store and the Dataverse sandbox over HTTP. A user types
// commands, clicks, types into modals and submits; the tests look at what
// the fake Slack shows and at the records in the sandbox.

const (
	teamID     = "T0CONTOSO"
	botToken   = "xoxb-test-contoso"
	signSecret = "8f742231b10e8888abcd99yyyzzz85a5"
)

type rig struct {
	t     testing.TB
	w     *world.World
	sb    *sandbox.Sandbox
	sbSrv *httptest.Server
	srv   *httptest.Server
	fake  *slackfake.Server
	drv   *slackfake.Driver
	core  *bot.Core
	st    *embedded.Store
	ad    *slack.Adapter
	inst  *slack.Installer // with rigOptions.installer
}

type rigOptions struct {
	sandbox   func(*sandbox.Options)
	ackBudget time.Duration
	socket    bool
	onCall    func(slackfake.Call) // slackfake.Options.OnCall
	// installer: tokens come from OAuth installs (/slack/install) kept in
	// the store, not from the fixed botToken.
	installer bool
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func newRig(t testing.TB, opts ...func(*rigOptions)) *rig {
	t.Helper()
	var o rigOptions
	for _, f := range opts {
		f(&o)
	}
	r := &rig{t: t}
	r.fake = slackfake.New(slackfake.Options{OnCall: o.onCall})
	r.fake.AddTeam(slackfake.Team{ID: teamID, Name: "Contoso", BotToken: botToken, BotUserID: "UBOT0001", BotID: "BBOT0001"})
	r.w = world.New(t, world.Options{Sandbox: o.sandbox})
	r.sb, r.sbSrv, r.srv, r.st, r.core = r.w.Sandbox, r.w.SandboxServer, r.w.Server, r.w.Store, r.w.Core
	mux := r.w.Mux
	r.ad = &slack.Adapter{Core: r.core, Tokens: slack.StaticToken(botToken), SigningSecret: signSecret,
		APIURL: r.fake.URL(), Dedupe: r.st, Logger: quiet(), AckBudget: o.ackBudget, Pace: 5 * time.Millisecond}
	if o.installer {
		r.inst = &slack.Installer{ClientID: "fake-client-id", ClientSecret: "fake-client-secret", PublicURL: r.srv.URL,
			APIURL: r.fake.URL(), AuthorizeURL: r.fake.AuthorizeURL(), Store: r.st, Nonces: r.st, Logger: quiet()}
		if err := r.inst.Check(); err != nil {
			t.Fatal(err)
		}
		mux.HandleFunc("GET "+slack.InstallStartPath, r.inst.Start)
		mux.HandleFunc("GET "+slack.InstallCallbackPath, r.inst.Callback)
		r.ad.Tokens, r.ad.Uninstall = r.inst, r.inst
	}
	if err := r.ad.Init(true); err != nil {
		t.Fatal(err)
	}
	r.ad.Routes(mux)
	r.core.Senders[store.PlatformSlack] = r.ad
	r.drv = &slackfake.Driver{Fake: r.fake, BaseURL: r.srv.URL, SigningSecret: signSecret}
	ctx, cancel := context.WithCancel(context.Background())
	if o.socket {
		r.fake.AddAppToken("xapp-test")
		go func() { _ = r.ad.RunSocketMode(ctx, "xapp-test") }()
		wctx, stop := context.WithTimeout(ctx, 10*time.Second)
		if err := r.fake.WaitSocket(wctx); err != nil {
			t.Fatalf("Socket Mode did not connect: %v", err)
		}
		stop()
		r.drv.Socket = true
	}
	t.Cleanup(func() {
		cancel()
		r.w.Drain(r.ad.Wait)
		r.fake.Close()
		if v := r.fake.Violations(); len(v) > 0 {
			t.Errorf("Slack would have refused: %+v", v)
		}
	})
	return r
}

// user is a Slack user of the workspace, bound to a sandbox demo user by
// email (the Slack profile email is the Dynamics user's).
type user struct {
	r      *rig
	ref    slackfake.UserRef
	demo   sandbox.User
	locale string
}

func (r *rig) user(email, locale string) *user {
	r.t.Helper()
	var du sandbox.User
	for _, u := range sandbox.DemoUsers() {
		if u.Email == email {
			du = u
		}
	}
	if du.ID == "" {
		r.t.Fatalf("no demo user %s", email)
	}
	id := "U" + strings.ToUpper(strings.ReplaceAll(du.FirstName, "é", "e"))
	r.fake.AddUser(slackfake.User{ID: id, TeamID: teamID, Name: strings.ToLower(du.FirstName), RealName: du.FullName(),
		Email: du.Email, Locale: locale, TZ: "Europe/Dublin"})
	return &user{r: r, ref: slackfake.UserRef{TeamID: teamID, UserID: id}, demo: du, locale: locale}
}

func demoEmail(i int) string { return sandbox.DemoUsers()[i].Email }

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
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

// command runs /crm text and returns the modal once it shows the core's
// answer. The ack must be quick and empty.
func (u *user) command(text string) slackfake.View {
	u.r.t.Helper()
	before := len(u.r.fake.Calls("views.update"))
	resp, err := u.r.drv.Slash(ctxT(u.r.t), u.ref, text)
	if err != nil {
		u.r.t.Fatalf("/crm %s: %v", text, err)
	}
	if resp.Status != http.StatusOK || len(strings.TrimSpace(string(resp.Body))) != 0 {
		u.r.t.Fatalf("/crm %s: ack %d %q, want an empty 200", text, resp.Status, resp.Body)
	}
	if resp.Elapsed > time.Second {
		u.r.t.Errorf("/crm %s: ack took %s", text, resp.Elapsed)
	}
	waitFor(u.r.t, "the modal of /crm "+text, func() bool { return len(u.r.fake.Calls("views.update")) > before })
	if c := u.r.fake.Calls("views.update"); c[len(c)-1].Error != "" {
		u.r.t.Fatalf("/crm %s: views.update refused: %s %v", text, c[len(c)-1].Error, c[len(c)-1].Params)
	}
	v, ok := u.r.fake.TopView(u.ref.UserID)
	if !ok {
		u.r.t.Fatalf("/crm %s: no modal open", text)
	}
	return v
}

// top is the user's current modal.
func (u *user) top() slackfake.View {
	u.r.t.Helper()
	v, ok := u.r.fake.TopView(u.ref.UserID)
	if !ok {
		u.r.t.Fatal("no modal open")
	}
	return v
}

// click clicks a button of the top modal and waits for the modal stack to
// change (a push, or an update of the clicked view).
func (u *user) click(label string) slackfake.View {
	u.r.t.Helper()
	v := u.top()
	depth := len(u.r.fake.Stack(u.ref.UserID))
	if _, err := u.r.drv.ClickView(ctxT(u.r.t), u.ref, v.ID, label); err != nil {
		u.r.t.Fatalf("click %q in %s: %v\n%s", label, v.Title, err, text(v.Blocks))
	}
	waitFor(u.r.t, "the answer to "+label, func() bool {
		st := u.r.fake.Stack(u.ref.UserID)
		if len(st) != depth {
			top := st[len(st)-1]
			return top.Updates > 0 && !strings.Contains(text(top.Blocks), "⏳")
		}
		now, _ := u.r.fake.View(v.ID)
		return now.Hash != v.Hash && !strings.Contains(text(now.Blocks), "⏳")
	})
	return u.top()
}

// submit submits the top modal with typed values (block id → value) and
// returns our answer's body.
func (u *user) submit(typed map[string]any) map[string]any {
	u.r.t.Helper()
	v := u.top()
	for block, val := range typed {
		if err := u.r.drv.Type(v.ID, block, val); err != nil {
			u.r.t.Fatalf("type %s into %s: %v", block, v.Title, err)
		}
	}
	resp, err := u.r.drv.Submit(ctxT(u.r.t), u.ref, v.ID)
	if err != nil {
		u.r.t.Fatalf("submit %s: %v", v.Title, err)
	}
	if resp.Status != http.StatusOK {
		u.r.t.Fatalf("submit %s: status %d", v.Title, resp.Status)
	}
	var out map[string]any
	if len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, &out); err != nil {
			u.r.t.Fatalf("submit answer %q: %v", resp.Body, err)
		}
	}
	return out
}

// dm is the user's direct conversation with the bot, oldest first.
func (u *user) dm() []slackfake.Message {
	return u.r.fake.Messages(u.r.fake.DMChannel(u.ref.UserID))
}

// link links the user the way a person does: /crm link, the button's
// URL opened in a browser that signs in at the sandbox (login_hint from
// the Slack email) and comes back to our callback.
func (u *user) link() {
	u.r.t.Helper()
	v := u.command("link")
	u.openLink(v)
	waitFor(u.r.t, "the link to be stored", func() bool {
		_, err := u.r.st.GetLink(context.Background(), store.ChatUser{Platform: store.PlatformSlack, Tenant: u.ref.TeamID, UserID: u.ref.UserID})
		return err == nil
	})
}

// openLink follows the link button of a view in a browser.
func (u *user) openLink(v slackfake.View) {
	u.r.t.Helper()
	var start string
	for _, l := range urls(v.Blocks) {
		if strings.HasPrefix(l, u.r.srv.URL+bot.LinkStartPath) {
			start = l
		}
	}
	if start == "" {
		u.r.t.Fatalf("no link button in %s", text(v.Blocks))
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
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

// text is every text of a block list, for assertions.
func text(raw json.RawMessage) string {
	var v any
	_ = json.Unmarshal(raw, &v)
	var b strings.Builder
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && (k == "text" || k == "initial_value") {
					b.WriteString(s)
					b.WriteByte('\n')
				} else {
					walk(e)
				}
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return b.String()
}

// urls are the URLs of a block list's buttons.
func urls(raw json.RawMessage) []string {
	var out []string
	var v any
	_ = json.Unmarshal(raw, &v)
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			if s, ok := x["url"].(string); ok {
				out = append(out, s)
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

var mustContain = world.MustContain

// create makes a record owned by u in the sandbox.
func (u *user) create(set string, payload map[string]any) string {
	u.r.t.Helper()
	return u.r.w.Create(u.demo, set, payload)
}

func (r *rig) record(set, id string) map[string]any {
	r.t.Helper()
	return r.w.Record(set, id)
}

var attr = world.Attr

// lastDM is the newest message of the user's DM.
func (u *user) lastDM() slackfake.Message {
	u.r.t.Helper()
	msgs := u.dm()
	if len(msgs) == 0 {
		u.r.t.Fatal("no direct message")
	}
	return msgs[len(msgs)-1]
}

// clickMessage clicks a button of a message and waits for it to change
// (chat.update) or for a modal to open with the answer.
func (u *user) clickMessage(m slackfake.Message, label string) {
	u.r.t.Helper()
	updates := len(u.r.fake.Calls("views.update", "chat.update"))
	if _, err := u.r.drv.ClickMessage(ctxT(u.r.t), u.ref, m.Channel, m.TS, label); err != nil {
		u.r.t.Fatalf("click %q in a message: %v\n%s", label, err, text(m.Blocks))
	}
	waitFor(u.r.t, "the answer to "+label, func() bool { return len(u.r.fake.Calls("views.update", "chat.update")) > updates })
}

// message returns the message with ts as it is now.
func (u *user) message(ts string) slackfake.Message {
	u.r.t.Helper()
	for _, m := range u.dm() {
		if m.TS == ts {
			return m
		}
	}
	u.r.t.Fatalf("no message %s", ts)
	return slackfake.Message{}
}

func bind(set, id string) string { return "/" + set + "(" + id + ")" }
