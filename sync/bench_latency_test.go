package sync

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/bot/slack"
	"github.com/crmbot/crmbot/bot/slack/slackfake"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/redisstore"
)

// The in-process pipeline of BenchmarkNotificationLatency: the sandbox
// (its webhook emitter posting to a WebhookHandler on httptest) → Poller
// (Run; the poke relayed through its Bus, Redis Pub/Sub, as serve wires
// it) → outbox in Redis → bot.Deliverer → bot.Core → the Slack adapter →
// slackfake. Every demo user is linked to a Slack user (signed in at the
// sandbox for their delegated tokens, which the core reads the record
// with). The assignments reassign leads from a pool owned by the
// application user (unlinked: nobody is told of a loss), by the
// application user, round robin over the demo users.

const (
	latTeam     = "T0BENCH"
	latBotToken = "xoxb-bench"
	latSecret   = "bench-signing-secret-0123456789ab"
	latHookKey  = "bench-webhook-secret"
	latType     = "lead"
)

type latencyWorld struct {
	sb       *sandbox.Sandbox
	sbURL    string
	st       *redisstore.Store
	p        *Poller
	fake     *slackfake.Server
	pokes    atomic.Bool  // does the webhook poke the poller?
	hooks    atomic.Int64 // webhook requests received
	pool     []string     // leads owned by the app user, not yet assigned
	users    []sandbox.User
	interval time.Duration

	mu      gosync.Mutex
	pending map[string]time.Time // lead id → when it was assigned
	landed  chan time.Duration
}

func newLatencyWorld(b *testing.B, interval time.Duration) *latencyWorld {
	b.Helper()
	w := &latencyWorld{interval: interval, users: sandbox.DemoUsers(), pending: map[string]time.Time{},
		landed: make(chan time.Duration, 1024)}
	ctx := context.Background()
	st, _, _ := benchRedis(b)
	w.st = st

	// The fake Slack, with a Slack user per demo user.
	w.fake = slackfake.New(slackfake.Options{OnCall: w.onCall})
	w.fake.AddTeam(slackfake.Team{ID: latTeam, Name: "Bench", BotToken: latBotToken, BotUserID: "UBOTBENCH", BotID: "BBOTBENCH"})

	// The webhook receiver; the sandbox posts to it.
	var p *Poller
	hook := &WebhookHandler{Secret: latHookKey, Logger: quiet(), Poke: func(org, rt string) bool {
		w.hooks.Add(1)
		if w.pokes.Load() {
			return p.Poke(org, rt)
		}
		return true
	}}
	if err := hook.Init(); err != nil {
		b.Fatal(err)
	}
	hookSrv := httptest.NewServer(hook)
	w.sb = sandbox.New(sandbox.Options{RecordsPerType: -1, Logger: quiet(),
		Webhook: &sandbox.WebhookOptions{URL: hookSrv.URL + "/dataverse/webhook", Secret: latHookKey}})
	sbSrv := httptest.NewServer(w.sb)
	w.sbURL = sbSrv.URL
	b.Cleanup(func() {
		sbSrv.Close()
		w.sb.Close()
		hookSrv.Close()
		w.fake.Close()
		if v := w.fake.Violations(); len(v) > 0 {
			b.Errorf("Slack would have refused: %+v", v)
		}
	})
	o := w.sb.Options()
	app := crm.AppCredentials{AuthorityURL: sbSrv.URL, TenantID: o.TenantID, ClientID: o.ClientID, ClientSecret: o.ClientSecret, OrgURL: sbSrv.URL}

	// The core and the Slack adapter, as serve wires them.
	links := &bot.LinkService{Store: st, App: app, PublicURL: "http://localhost:3978", HTTPClient: sbSrv.Client(), Logger: quiet()}
	if err := links.Init(); err != nil {
		b.Fatal(err)
	}
	core := &bot.Core{Store: st, Links: links, OrgURL: sbSrv.URL, Logger: quiet(),
		Tokens:  &bot.UserTokens{Store: st, App: app, HTTPClient: sbSrv.Client(), Logger: quiet()},
		Senders: map[string]bot.Sender{}}
	if err := core.Init(); err != nil {
		b.Fatal(err)
	}
	ad := &slack.Adapter{Core: core, Tokens: slack.StaticToken(latBotToken), SigningSecret: latSecret,
		APIURL: w.fake.URL(), Dedupe: st, Logger: quiet()} // Pace: Slack's 1 s per channel
	if err := ad.Init(true); err != nil {
		b.Fatal(err)
	}
	core.Senders[store.PlatformSlack] = ad
	for i, du := range w.users {
		id := fmt.Sprintf("ULAT%03d", i)
		w.fake.AddUser(slackfake.User{ID: id, TeamID: latTeam, Name: strings.ToLower(du.LastName), RealName: du.FullName(),
			Email: du.Email, Locale: "en-US", TZ: "Europe/Dublin"})
		tok := latSignIn(b, w.sb, sbSrv, du.Email)
		if _, err := st.PutLink(ctx, store.Link{ChatUser: store.ChatUser{Platform: store.PlatformSlack, Tenant: latTeam, UserID: id},
			SystemUserID: du.ID, EntraTenantID: o.TenantID, EntraObjectID: du.ObjectID, UPN: du.Email, Email: du.Email,
			DisplayName: du.FullName(), Locale: "en-US"},
			store.Tokens{RefreshToken: tok.RefreshToken, AccessToken: tok.AccessToken, AccessExpiry: tok.Expiry}); err != nil {
			b.Fatal(err)
		}
	}

	w.refill(b) // before the poller's baseline

	// The poller (pokes relayed through Redis Pub/Sub) and the delivery
	// workers, as cmd/crmbot wires them.
	ts, err := crm.AppTokenSource(ctx, app)
	if err != nil {
		b.Fatal(err)
	}
	cat := crm.DefaultCatalog()
	cl, err := crm.NewClient(sbSrv.URL, &http.Client{Timeout: 60 * time.Second, Transport: &oauth2.Transport{Source: ts, Base: http.DefaultTransport}},
		crm.WithCatalog(cat))
	if err != nil {
		b.Fatal(err)
	}
	rt, _ := cat.Type(latType)
	p = &Poller{Org: "sandbox", OrgID: sandbox.DefaultOrgID, Types: []*crm.RecordType{rt}, Source: cl, Store: st, Bus: st, Holder: "bench",
		Interval: interval, Logger: quiet()}
	if err := p.Init(); err != nil {
		b.Fatal(err)
	}
	w.p = p
	d := &bot.Deliverer{Core: core, Store: st, Keys: []store.SyncKey{{Org: p.Org, RecordType: rt.Name}}, Consumer: "bench", Logger: quiet()}
	if err := d.Init(); err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	var wg gosync.WaitGroup
	wg.Go(func() { p.Run(runCtx) })
	wg.Go(func() { d.Run(runCtx) })
	b.Cleanup(func() {
		cancel()
		wg.Wait()
		wctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
		defer stop()
		if err := ad.Wait(wctx); err != nil {
			b.Errorf("Slack adapter background work: %v", err)
		}
	})
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		s := p.Status()[0]
		if s.Phase == "delta" && !s.LastSync.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the poller did not finish its baseline: %+v", s)
		}
	}
	return w
}

// latSettle separates two streams: more than the Slack adapter's pace.
const latSettle = 1500 * time.Millisecond

// latPoolChunk is how many leads a refill of the pool makes.
const latPoolChunk = 1000

// refill adds latPoolChunk leads owned by the application user to the
// pool (they are nobody's to be told about), and waits for the webhook
// calls of their creation (the sandbox's queue holds 1024) to be through,
// so that they delay no measured assignment.
func (w *latencyWorld) refill(b *testing.B) {
	b.Helper()
	w.pokes.Store(false)
	before := w.hooks.Load()
	ids, err := w.sb.SeedBulk("leads", latPoolChunk, sandbox.AppUserID)
	if err != nil {
		b.Fatal(err)
	}
	w.pool = append(w.pool, ids...)
	for deadline := time.Now().Add(30 * time.Second); w.hooks.Load()-before < latPoolChunk; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("the sandbox's webhook delivered %d of %d creations", w.hooks.Load()-before, latPoolChunk)
		}
	}
}

// onCall is the fake Slack's hook: a notification posted ends the wait
// for its lead.
func (w *latencyWorld) onCall(c slackfake.Call) {
	if c.Method != "chat.postMessage" || c.Error != "" {
		return
	}
	now := time.Now()
	md, _ := c.Params["metadata"].(map[string]any)
	payload, _ := md["event_payload"].(map[string]any)
	key, _ := payload["key"].(string)
	id, _, _ := strings.Cut(key, "|")
	w.mu.Lock()
	t0, ok := w.pending[id]
	delete(w.pending, id)
	w.mu.Unlock()
	if ok {
		w.landed <- now.Sub(t0)
	}
}

// stream makes n assignments, one every gap, round robin over the demo
// users, and returns each one's latency: from just before the sandbox
// commits the assignment to the card's chat.postMessage landing at the
// fake Slack.
func (w *latencyWorld) stream(b *testing.B, n int, gap time.Duration, pokes bool) []time.Duration {
	b.Helper()
	if len(w.pool) < n {
		w.refill(b)
	}
	w.pokes.Store(pokes)
	// Slack's pacing of the previous stream's last posts must not reach
	// into this one.
	time.Sleep(latSettle)
	app := sandbox.Principal{UserID: sandbox.AppUserID, App: true}
	start := time.Now()
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * gap)))
		id := w.pool[0]
		w.pool = w.pool[1:]
		w.mu.Lock()
		w.pending[strings.ToLower(id)] = time.Now()
		w.mu.Unlock()
		if err := w.sb.Assign("leads", id, w.users[i%len(w.users)].ID, app); err != nil {
			b.Fatal(err)
		}
	}
	lat := make([]time.Duration, 0, n)
	defer func() {
		slow := slices.Clone(lat)
		slices.SortFunc(slow, func(a, b time.Duration) int { return int(b - a) })
		b.Logf("pokes=%v: the slowest of %d: %v", pokes, len(lat), slow[:min(3, len(slow))])
	}()
	// A generous bound: a card a second (a pacer shared by every user) still finishes.
	timeout := time.After(time.Duration(n)*time.Second + w.interval + 30*time.Second)
	for len(lat) < n {
		select {
		case d := <-w.landed:
			lat = append(lat, d)
		case <-timeout:
			w.mu.Lock()
			left := len(w.pending)
			w.mu.Unlock()
			b.Fatalf("%d of %d notifications did not reach Slack (poller: %+v)", left, n, w.p.Status()[0])
		}
	}
	return lat
}

// latPercentile is the q-quantile of lat in milliseconds.
func latPercentile(lat []time.Duration, q float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	i := max(int(math.Ceil(q*float64(len(s))))-1, 0)
	return float64(s[i]) / float64(time.Millisecond)
}

// latSignIn signs a demo user in at the sandbox's authority (login_hint
// stands for the browser) and returns their delegated tokens.
func latSignIn(b *testing.B, sb *sandbox.Sandbox, srv *httptest.Server, email string) *oauth2.Token {
	b.Helper()
	o := sb.Options()
	cfg := &oauth2.Config{
		ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: o.RedirectURIs[0],
		Scopes: crm.DelegatedScopes(srv.URL), Endpoint: crm.Endpoint(srv.URL, o.TenantID),
	}
	verifier := oauth2.GenerateVerifier()
	browser := *srv.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := browser.Get(cfg.AuthCodeURL("bench", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("login_hint", email)))
	if err != nil {
		b.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		b.Fatalf("authorize %s: status %d, no code", email, resp.StatusCode)
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, srv.Client())
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		b.Fatalf("exchange: %v", err)
	}
	return tok
}
