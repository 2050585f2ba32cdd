package bot_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/cards/adaptive"
	slackcards "github.com/crmbot/crmbot/cards/slack"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/embedded"
)

// The conversation core with no chat platform: a world is the sandbox
// over real HTTP, the embedded store and a Core; a user types commands,
// clicks the buttons of the views they get back and submits forms, and the
// tests check the views and the records in the sandbox.

type world struct {
	t     *testing.T
	sb    *sandbox.Sandbox
	srv   *httptest.Server
	st    *embedded.Store
	core  *bot.Core
	links *bot.LinkService
	sent  *recorder
}

// recorder is a Sender that keeps what it was given, and a bot.Deleter:
// a deleted post is no longer among what it keeps.
type recorder struct {
	mu    sync.Mutex
	views map[store.ChatUser][]cards.View
	opts  map[store.ChatUser][]bot.SendOptions
	refs  map[store.ChatUser][]bot.MessageRef
	seq   int
	// deleted counts the posts Delete removed.
	deleted int
	// fail, when set, may refuse a send (nothing is recorded then).
	fail func(to store.ChatUser, v cards.View) error
}

func (r *recorder) Send(_ context.Context, to store.ChatUser, v cards.View, o bot.SendOptions) (bot.MessageRef, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		if err := r.fail(to, v); err != nil {
			return bot.MessageRef{}, err
		}
	}
	if r.views == nil {
		r.views = map[store.ChatUser][]cards.View{}
		r.opts = map[store.ChatUser][]bot.SendOptions{}
		r.refs = map[store.ChatUser][]bot.MessageRef{}
	}
	r.seq++
	ref := bot.MessageRef{Platform: to.Platform, Conversation: "D-" + to.UserID, ID: fmt.Sprintf("%d.%06d", time.Now().Unix(), r.seq)}
	r.views[to] = append(r.views[to], v)
	r.opts[to] = append(r.opts[to], o)
	r.refs[to] = append(r.refs[to], ref)
	return ref, nil
}

// Delete implements bot.Deleter: the post goes from what was recorded.
func (r *recorder) Delete(_ context.Context, to store.ChatUser, ref bot.MessageRef) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, x := range r.refs[to] {
		if x == ref {
			r.views[to] = slices.Delete(r.views[to], i, i+1)
			r.opts[to] = slices.Delete(r.opts[to], i, i+1)
			r.refs[to] = slices.Delete(r.refs[to], i, i+1)
			r.deleted++
			return nil
		}
	}
	return nil // already gone
}

func (r *recorder) deletes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.deleted
}

func (r *recorder) optsOf(u store.ChatUser) []bot.SendOptions {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.SendOptions(nil), r.opts[u]...)
}

func (r *recorder) setFail(f func(to store.ChatUser, v cards.View) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = f
}

func (r *recorder) of(u store.ChatUser) []cards.View {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]cards.View(nil), r.views[u]...)
}

func newWorld(t *testing.T, opts ...func(*sandbox.Options)) *world {
	t.Helper()
	o := sandbox.Options{Logger: quiet(), RecordsPerType: -1}
	for _, f := range opts {
		f(&o)
	}
	w := &world{t: t, sb: sandbox.New(o), sent: &recorder{}}
	w.srv = httptest.NewServer(w.sb)
	t.Cleanup(func() { w.srv.Close(); w.sb.Close() })
	st, err := embedded.New(embedded.Options{Keys: keys(t)})
	if err != nil {
		t.Fatal(err)
	}
	w.st = st
	so := w.sb.Options()
	app := crm.AppCredentials{AuthorityURL: w.srv.URL, TenantID: so.TenantID, ClientID: so.ClientID, ClientSecret: so.ClientSecret, OrgURL: w.srv.URL}
	w.links = &bot.LinkService{Store: st, App: app, PublicURL: "http://localhost:3978", HTTPClient: w.srv.Client(), Logger: quiet()}
	if err := w.links.Init(); err != nil {
		t.Fatal(err)
	}
	w.core = &bot.Core{Store: st, Links: w.links, Tokens: &bot.UserTokens{Store: st, App: app, HTTPClient: w.srv.Client(), Logger: quiet()},
		OrgURL: w.srv.URL, Logger: quiet(), PageSize: 5, Senders: map[string]bot.Sender{store.PlatformSlack: w.sent, store.PlatformTeams: w.sent}}
	if err := w.core.Init(); err != nil {
		t.Fatal(err)
	}
	return w
}

// person is a chat user of the world.
type person struct {
	w      *world
	u      store.ChatUser
	demo   sandbox.User
	locale string
}

// linked signs a demo user in through the sandbox and links them to a
// Slack user of their own.
func (w *world) linked(email, locale string) *person {
	w.t.Helper()
	du := demoUser(w.t, email)
	return w.linkedUser(store.ChatUser{Platform: store.PlatformSlack, Tenant: "T0DEMO", UserID: "U" + strings.ToUpper(du.FirstName[:2]) + "X"}, email, locale)
}

func (w *world) as(p *person) sandbox.Principal { return sandbox.Principal{UserID: p.demo.ID} }

// create makes a record owned by p directly in the sandbox.
func (w *world) create(p *person, set string, payload map[string]any) string {
	w.t.Helper()
	id, err := w.sb.Create(set, payload, w.as(p))
	if err != nil {
		w.t.Fatalf("create %s: %v", set, err)
	}
	return id
}

func (p *person) do(req bot.Request) bot.Response {
	p.w.t.Helper()
	req.User, req.Locale = p.u, p.locale
	resp, err := p.w.core.Handle(ctxT(p.w.t), req)
	if err != nil {
		p.w.t.Fatalf("Handle(%+v): %v", req, err)
	}
	if resp.View == nil {
		p.w.t.Fatalf("Handle(%+v): no view", req)
	}
	renderBoth(p.w.t, resp.View)
	if resp.Refresh != nil {
		renderBoth(p.w.t, resp.Refresh)
	}
	return resp
}

// renderBoth renders a view as Block Kit (a modal for a form) and as an
// Adaptive Card: every view of every conversation must fit both platforms.
func renderBoth(t *testing.T, v cards.View) {
	t.Helper()
	if _, err := adaptive.Render(v, adaptive.Options{}); err != nil {
		t.Fatalf("Adaptive Card of %T: %v", v, err)
	}
	var err error
	if f, ok := v.(*cards.Form); ok {
		_, err = slackcards.Modal(f, slackcards.Options{})
	} else {
		_, err = slackcards.Blocks(v, slackcards.Options{})
	}
	if err != nil {
		t.Fatalf("Block Kit of %T: %v", v, err)
	}
}

func (p *person) command(text string) bot.Response {
	p.w.t.Helper()
	return p.do(bot.Request{Kind: bot.KindCommand, Text: text})
}

func (p *person) click(a cards.Action) bot.Response {
	p.w.t.Helper()
	if a.ID == "" {
		p.w.t.Fatalf("click %q: not a core action", a.Label)
	}
	return p.do(bot.Request{Kind: bot.KindAction, ActionID: a.ID, Value: a.Value})
}

func (p *person) searchIn(l *cards.List, text string) bot.Response {
	p.w.t.Helper()
	return p.do(bot.Request{Kind: bot.KindAction, ActionID: l.Search.ActionID, Value: l.Search.State, Text: text})
}

// submit sends a form with its pre-filled values changed by set.
func (p *person) submit(f *cards.Form, set map[string]string) bot.Response {
	p.w.t.Helper()
	vals := map[string]string{}
	for _, in := range f.Inputs {
		vals[in.Name] = in.Value
	}
	for k, v := range set {
		if _, ok := vals[k]; !ok {
			p.w.t.Fatalf("form %s has no input %q", f.ID, k)
		}
		vals[k] = v
	}
	return p.do(bot.Request{Kind: bot.KindSubmit, FormID: f.ID, State: f.State, Values: vals})
}

// Views of a response, failing the test when it is another kind.

func asList(t *testing.T, r bot.Response) *cards.List {
	t.Helper()
	l, ok := r.View.(*cards.List)
	if !ok {
		t.Fatalf("want a list, got %T %+v", r.View, r.View)
	}
	return l
}

func asDetail(t *testing.T, r bot.Response) *cards.Detail {
	t.Helper()
	d, ok := r.View.(*cards.Detail)
	if !ok {
		t.Fatalf("want a detail, got %T %+v", r.View, r.View)
	}
	return d
}

func asForm(t *testing.T, r bot.Response) *cards.Form {
	t.Helper()
	f, ok := r.View.(*cards.Form)
	if !ok {
		t.Fatalf("want a form, got %T %+v", r.View, r.View)
	}
	return f
}

func asMessage(t *testing.T, r bot.Response) *cards.Message {
	t.Helper()
	m, ok := r.View.(*cards.Message)
	if !ok {
		t.Fatalf("want a message, got %T %+v", r.View, r.View)
	}
	return m
}

// item finds a list row by title.
func item(t *testing.T, l *cards.List, title string) cards.ListItem {
	t.Helper()
	for _, it := range l.Items {
		if it.Title == title {
			return it
		}
	}
	t.Fatalf("no row %q in %q: %v", title, l.Title, titles(l))
	return cards.ListItem{}
}

func titles(l *cards.List) []string {
	var out []string
	for _, it := range l.Items {
		out = append(out, it.Title)
	}
	return out
}

// action finds a button by label.
func action(t *testing.T, acts []cards.Action, label string) cards.Action {
	t.Helper()
	for _, a := range acts {
		if a.Label == label || strings.HasSuffix(a.Label, " "+label) {
			return a
		}
	}
	var ls []string
	for _, a := range acts {
		ls = append(ls, a.Label)
	}
	t.Fatalf("no button %q in %v", label, ls)
	return cards.Action{}
}

func hasAction(acts []cards.Action, label string) bool {
	for _, a := range acts {
		if a.Label == label {
			return true
		}
	}
	return false
}

// field finds a detail field by label.
func field(t *testing.T, d *cards.Detail, label string) cards.Field {
	t.Helper()
	for _, g := range d.Groups {
		for _, f := range g.Fields {
			if f.Label == label {
				return f
			}
		}
	}
	t.Fatalf("no field %q on %q", label, d.Title)
	return cards.Field{}
}

func input(t *testing.T, f *cards.Form, name string) cards.Input {
	t.Helper()
	for _, in := range f.Inputs {
		if in.Name == name {
			return in
		}
	}
	t.Fatalf("form %q has no input %q", f.Title, name)
	return cards.Input{}
}

func (w *world) record(set, id string) map[string]any {
	w.t.Helper()
	r, ok := w.sb.Record(set, id)
	if !ok {
		w.t.Fatalf("no %s %s in the sandbox", set, id)
	}
	return r
}

const (
	seanEmail     = "sean.obrien@demo.crmbot.dev"
	mathildeEmail = "mathilde.lefevre@demo.crmbot.dev"
)
