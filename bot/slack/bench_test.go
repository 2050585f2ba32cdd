package slack_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmbot/crmbot/bot/slack/slackfake"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/store"
)

// Signed `/crm leads` → ack + views.open + views.update, on loopback
// against the Dataverse sandbox and the fake Slack, 50 users at once:
// our whole stack (the rig's server, the adapter, the core, the embedded
// store) side by side with a floor — a minimal net/http handler that
// verifies the signature, acks, then makes the same Dataverse query (raw
// GET, bearer token taken once up front) and the same two Slack calls with
// pre-rendered views. One operation is a signed slash command posted by
// the fake's driver until that user's views.update has landed at the
// fake. The target is crmbot ≥ 0.8 × the floor's req/s; the
// benchmarks only measure:
//
//	go test ./bot/slack/ -run '^$' -bench SlashLeads -benchtime 500x

const (
	benchUsers       = 50 // concurrent workers, one linked user each
	benchLeadsPerOwn = 6  // leads per sandbox owner (page size 5: "1–5 of 6")
	benchWait        = 10 * time.Second
)

// BenchmarkSlashLeads reports req/s, p50-ms and p99-ms of each arm.
func BenchmarkSlashLeads(b *testing.B) {
	w := newBenchWorld(b)
	b.Run("crmbot", func(b *testing.B) { w.bench(b, w.crmbot) })
	b.Run("floor", func(b *testing.B) { w.bench(b, w.floorDrv) })
}

// BenchmarkSlashLeadsRatio runs both arms for b.N operations each, in
// alternating halves (crmbot, floor, crmbot, floor) so that drift hits
// both, and reports ratio = crmbot req/s ÷ floor req/s with both arms'
// figures.
func BenchmarkSlashLeadsRatio(b *testing.B) {
	w := newBenchWorld(b)
	b.ResetTimer()
	var ours, floor armResult
	for _, n := range []int{b.N / 2, b.N - b.N/2} {
		if n == 0 {
			continue
		}
		ours.add(w.run(b, w.crmbot, n))
		floor.add(w.run(b, w.floorDrv, n))
	}
	b.StopTimer()
	b.ReportMetric(ours.rate()/floor.rate(), "ratio")
	b.ReportMetric(ours.rate(), "crmbot-req/s")
	b.ReportMetric(floor.rate(), "floor-req/s")
	b.ReportMetric(ours.pct(0.50), "crmbot-p50-ms")
	b.ReportMetric(ours.pct(0.99), "crmbot-p99-ms")
	b.ReportMetric(floor.pct(0.50), "floor-p50-ms")
	b.ReportMetric(floor.pct(0.99), "floor-p99-ms")
	b.Logf("N=%d each: crmbot %.0f req/s p50 %.2f ms p99 %.2f ms | floor %.0f req/s p50 %.2f ms p99 %.2f ms | ratio %.3f (target ≥ 0.8)",
		b.N, ours.rate(), ours.pct(.5), ours.pct(.99), floor.rate(), floor.pct(.5), floor.pct(.99), ours.rate()/floor.rate())
}

// benchWorld is the rig with benchUsers linked users, their leads, the
// floor server, and a completion signal per user.
type benchWorld struct {
	r        *rig
	users    []slackfake.UserRef
	signals  atomic.Pointer[map[string]chan string] // user id → views.update outcome ("" ok)
	rec      *dvRecorder
	crmbot   *slackfake.Driver // posts to our server
	floorDrv *slackfake.Driver // posts to the floor
	floor    *floorHandler
}

func newBenchWorld(b *testing.B) *benchWorld {
	b.Helper()
	w := &benchWorld{}
	w.r = newRig(b, func(o *rigOptions) { o.onCall = w.onCall })
	r := w.r
	w.rec = &dvRecorder{base: http.DefaultTransport} // what Tokens uses when Transport is nil
	r.core.Tokens.Transport = w.rec

	// The driver plays Slack for both arms: one pooled client, so that
	// neither arm pays for new loopback connections on Slack's side.
	slackSide := &http.Client{Transport: &http.Transport{MaxIdleConns: 4 * benchUsers, MaxIdleConnsPerHost: 2 * benchUsers}}
	r.drv.HTTP = slackSide
	w.crmbot = r.drv

	ctx := ctxT(b)
	demos := sandbox.DemoUsers()
	for _, du := range demos {
		for i := range benchLeadsPerOwn {
			if _, err := r.sb.Create("leads", map[string]any{"subject": fmt.Sprintf("Interest %02d", i),
				"lastname": fmt.Sprintf("Lead%02d", i), "companyname": "Fabrikam"}, sandbox.Principal{UserID: du.ID}); err != nil {
				b.Fatal(err)
			}
		}
	}
	signals := map[string]chan string{}
	for i := range benchUsers {
		du := demos[i%len(demos)]
		ref := slackfake.UserRef{TeamID: teamID, UserID: fmt.Sprintf("UBENCH%03d", i)}
		r.fake.AddUser(slackfake.User{ID: ref.UserID, TeamID: teamID, Name: fmt.Sprintf("bench%03d", i), RealName: du.FullName(),
			Email: du.Email, Locale: "en-US", TZ: "Europe/Dublin"})
		tok := benchSignIn(b, r, du.Email)
		if _, err := r.st.PutLink(ctx, store.Link{ChatUser: store.ChatUser{Platform: store.PlatformSlack, Tenant: teamID, UserID: ref.UserID},
			SystemUserID: du.ID, EntraTenantID: r.sb.Options().TenantID, EntraObjectID: du.ObjectID, UPN: du.Email, Email: du.Email,
			DisplayName: du.FullName(), Locale: "en-US"},
			store.Tokens{RefreshToken: tok.RefreshToken, AccessToken: tok.AccessToken, AccessExpiry: tok.Expiry}); err != nil {
			b.Fatal(err)
		}
		w.users = append(w.users, ref)
		signals[ref.UserID] = make(chan string, 1)
	}
	w.signals.Store(&signals)

	// Warm up our stack once per user (users.info cache, tokens, catalog)
	// and learn from it what the floor replays: each user's Dataverse
	// request and the two views.
	f := &floorHandler{secret: []byte(signSecret), slackAPI: r.fake.URL(), botToken: botToken,
		work: map[string]floorWork{}, client: &http.Client{Transport: http.DefaultTransport}}
	for _, u := range w.users {
		w.rec.start()
		if err := w.once(ctx, w.crmbot, u); err != nil {
			b.Fatalf("warm-up of %s: %v", u.UserID, err)
		}
		reqs := w.rec.stop()
		var fw floorWork
		for _, q := range reqs {
			if q.Method != http.MethodGet {
				b.Fatalf("/crm leads by %s made a %s %s", u.UserID, q.Method, q.URL)
			}
			fw.dv = append(fw.dv, dvRequest{url: q.URL.String(), header: q.Header})
		}
		if len(fw.dv) == 0 {
			b.Fatalf("/crm leads by %s made no Dataverse request", u.UserID)
		}
		f.work[u.UserID] = fw
	}
	for _, c := range r.fake.Calls("views.open", "views.update") {
		fw := f.work[c.UserID]
		view, err := json.Marshal(c.Params["view"])
		if err != nil {
			b.Fatal(err)
		}
		if c.Method == "views.open" {
			fw.openView = "&view=" + url.QueryEscape(string(view))
		} else {
			fw.updateView = "&view=" + url.QueryEscape(string(view))
		}
		f.work[c.UserID] = fw
	}
	if v, ok := r.fake.TopView(w.users[0].UserID); !ok || !strings.Contains(text(v.Blocks), fmt.Sprintf("1–5 of %d", benchLeadsPerOwn)) {
		b.Fatalf("the warm-up did not show the leads: %+v", v)
	}
	for _, q := range f.work[w.users[0].UserID].dv {
		b.Logf("the floor replays, concurrently: GET %s", q.url)
	}

	w.floor = f
	fs := httptest.NewServer(f)
	w.floorDrv = &slackfake.Driver{Fake: r.fake, BaseURL: fs.URL, SigningSecret: signSecret, HTTP: slackSide}
	b.Cleanup(func() {
		f.wg.Wait()
		fs.Close()
		if err := f.err(); err != nil {
			b.Errorf("floor: %v", err)
		}
	})
	return w
}

// onCall is the fake's hook: a views.update landing ends its user's
// operation.
func (w *benchWorld) onCall(c slackfake.Call) {
	if c.Method != "views.update" {
		return
	}
	m := w.signals.Load()
	if m == nil {
		return
	}
	if ch, ok := (*m)[c.UserID]; ok {
		select {
		case ch <- c.Error:
		default:
		}
	}
}

// once runs one operation: the signed command, its ack, and the wait for
// the user's views.update.
func (w *benchWorld) once(ctx context.Context, d *slackfake.Driver, u slackfake.UserRef) error {
	resp, err := d.Slash(ctx, u, "leads")
	if err != nil {
		return err
	}
	if resp.Status != http.StatusOK || len(resp.Body) != 0 {
		return fmt.Errorf("ack %d %q, want an empty 200", resp.Status, resp.Body)
	}
	select {
	case e := <-(*w.signals.Load())[u.UserID]:
		if e != "" {
			return fmt.Errorf("views.update refused: %s", e)
		}
		return nil
	case <-time.After(benchWait):
		return errors.New("no views.update within " + benchWait.String())
	case <-ctx.Done():
		return ctx.Err()
	}
}

// armResult is what one or more runs of an arm measured.
type armResult struct {
	n       int
	elapsed time.Duration
	lat     []time.Duration
}

func (a *armResult) add(o armResult) {
	a.n += o.n
	a.elapsed += o.elapsed
	a.lat = append(a.lat, o.lat...)
}

func (a *armResult) rate() float64 { return float64(a.n) / a.elapsed.Seconds() }

// pct is the q-quantile latency in milliseconds.
func (a *armResult) pct(q float64) float64 {
	if len(a.lat) == 0 {
		return 0
	}
	s := slices.Clone(a.lat)
	slices.Sort(s)
	i := max(int(math.Ceil(q*float64(len(s))))-1, 0)
	return float64(s[i]) / float64(time.Millisecond)
}

// run makes n operations with benchUsers workers, worker k acting as
// user k (so a user never has two commands in flight).
func (w *benchWorld) run(b *testing.B, d *slackfake.Driver, n int) armResult {
	b.Helper()
	ctx := ctxT(b)
	var (
		next   atomic.Int64
		wg     sync.WaitGroup
		mu     sync.Mutex
		lat    = make([]time.Duration, 0, n)
		failed atomic.Pointer[error]
	)
	start := time.Now()
	for k := range benchUsers {
		wg.Go(func() {
			var mine []time.Duration
			for next.Add(1) <= int64(n) && failed.Load() == nil {
				t0 := time.Now()
				if err := w.once(ctx, d, w.users[k]); err != nil {
					err = fmt.Errorf("%s: %w", w.users[k].UserID, err)
					failed.CompareAndSwap(nil, &err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if e := failed.Load(); e != nil {
		b.Fatal(*e)
	}
	return armResult{n: n, elapsed: elapsed, lat: lat}
}

// bench is one arm as a sub-benchmark.
func (w *benchWorld) bench(b *testing.B, d *slackfake.Driver) {
	b.ResetTimer()
	res := w.run(b, d, b.N)
	b.StopTimer()
	b.ReportMetric(res.rate(), "req/s")
	b.ReportMetric(res.pct(0.50), "p50-ms")
	b.ReportMetric(res.pct(0.99), "p99-ms")
}

// benchSignIn signs a demo user in at the sandbox's authority (login_hint
// stands for the browser) and returns the tokens.
func benchSignIn(b *testing.B, r *rig, email string) *oauth2.Token {
	b.Helper()
	o := r.sb.Options()
	cfg := &oauth2.Config{
		ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: o.RedirectURIs[0],
		Scopes: crm.DelegatedScopes(r.sbSrv.URL), Endpoint: crm.Endpoint(r.sbSrv.URL, o.TenantID),
	}
	verifier := oauth2.GenerateVerifier()
	browser := *r.sbSrv.Client()
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
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, r.sbSrv.Client())
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		b.Fatalf("exchange: %v", err)
	}
	return tok
}

// dvRecorder passes the core's Dataverse requests through and, while
// started, keeps a copy of each (URL and headers, bearer included).
type dvRecorder struct {
	base http.RoundTripper
	on   atomic.Bool
	mu   sync.Mutex
	reqs []*http.Request
}

func (d *dvRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if d.on.Load() {
		c := req.Clone(context.Background())
		d.mu.Lock()
		d.reqs = append(d.reqs, c)
		d.mu.Unlock()
	}
	return d.base.RoundTrip(req)
}

func (d *dvRecorder) start() {
	d.mu.Lock()
	d.reqs = nil
	d.mu.Unlock()
	d.on.Store(true)
}

func (d *dvRecorder) stop() []*http.Request {
	d.on.Store(false)
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reqs
}

// floorWork is what the floor does for one user: the Dataverse GETs the
// core made for the command (the page and its $count, which the core
// sends concurrently), with their headers (bearer token included), and
// the two views, form-encoded once.
type floorWork struct {
	dv         []dvRequest
	openView   string // "&view=…"
	updateView string
}

type dvRequest struct {
	url    string
	header http.Header
}

// floorHandler is the floor: verify, ack, then GET + views.open +
// views.update with nothing but net/http. Its work map is filled before
// its server starts and only read after.
type floorHandler struct {
	secret   []byte
	slackAPI string
	botToken string
	client   *http.Client
	work     map[string]floorWork
	wg       sync.WaitGroup
	firstErr atomic.Pointer[error]
}

func (f *floorHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	ts := r.Header.Get("X-Slack-Request-Timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		http.Error(w, "stale", http.StatusUnauthorized)
		return
	}
	mac := hmac.New(sha256.New, f.secret)
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	want := make([]byte, 3, 3+2*sha256.Size)
	copy(want, "v0=")
	want = hex.AppendEncode(want, mac.Sum(nil))
	if !hmac.Equal(want, []byte(r.Header.Get("X-Slack-Signature"))) {
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	job, ok := f.work[form.Get("user_id")]
	trigger := form.Get("trigger_id")
	w.WriteHeader(http.StatusOK)
	if !ok {
		return
	}
	f.wg.Go(func() {
		if err := f.do(job, trigger); err != nil {
			f.firstErr.CompareAndSwap(nil, &err)
		}
	})
}

func (f *floorHandler) do(job floorWork, trigger string) error {
	ctx, cancel := context.WithTimeout(context.Background(), benchWait)
	defer cancel()
	errs := make([]error, len(job.dv))
	var wg sync.WaitGroup
	for i, q := range job.dv[1:] {
		wg.Go(func() { errs[i+1] = f.get(ctx, q) })
	}
	errs[0] = f.get(ctx, job.dv[0])
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var opened slackAnswer
	if err := f.slack(ctx, "views.open", "trigger_id="+url.QueryEscape(trigger)+job.openView, &opened); err != nil {
		return err
	}
	var updated slackAnswer
	return f.slack(ctx, "views.update", "view_id="+opened.View.ID+"&hash="+url.QueryEscape(opened.View.Hash)+job.updateView, &updated)
}

// get makes one Dataverse request and reads its answer.
func (f *floorHandler) get(ctx context.Context, q dvRequest) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, q.url, nil)
	if err != nil {
		return err
	}
	req.Header = q.header.Clone()
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("dataverse: %s", resp.Status)
	}
	return nil
}

// slackAnswer is the part of a views.* answer the floor reads.
type slackAnswer struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	View  struct {
		ID   string `json:"id"`
		Hash string `json:"hash"`
	} `json:"view"`
}

// slack posts a form to a Web API method and decodes its answer.
func (f *floorHandler) slack(ctx context.Context, method, form string, out *slackAnswer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.slackAPI+method, strings.NewReader(form))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+f.botToken)
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", method, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return err
	}
	if !out.OK {
		return fmt.Errorf("%s: %s", method, out.Error)
	}
	return nil
}

func (f *floorHandler) err() error {
	if e := f.firstErr.Load(); e != nil {
		return *e
	}
	return nil
}
