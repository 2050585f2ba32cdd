package sync

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/redisstore"
)

// Benchmarks of the sync (issue 8's performance section). They measure;
// nothing here asserts a wall-clock figure.
//
//	go test -run '^$' -bench 'DetectCommit|NotificationLatency' -benchtime 3x ./sync/

// The delta of BenchmarkDetectCommit: 100,000 changes to accounts, in a
// random order, made after the baseline of benchExisting accounts.
const (
	benchExisting = 95_000 // accounts before the baseline (19,000 per owner)
	benchEdits    = 89_000 // edits that keep the owner: skipped
	benchAssigns  = 5_000  // owner changes: 60% to linked users, 30% to an unlinked one, 10% to a team
	benchDeletes  = 1_000
	benchCreates  = 5_000 // new records: 80% for linked users
	benchChanges  = benchEdits + benchAssigns + benchDeletes + benchCreates
)

// BenchmarkDetectCommit: change detection and the fenced commit of a
// 100,000-change delta (20 pages of 5000 rows), side by side with the
// floor: a plain encoding/json decode of the same pages into
// []map[string]any (what crm's BenchmarkDecodePage5000 takes as its floor).
//
// Once, outside the timer: the sandbox gets benchExisting accounts, the
// sync reads its baseline, then the sandbox makes the changes (edits,
// reassignments, deletions, creations interleaved; by the application
// user, so owners are told) and the sync reads the delta. Every Web API
// answer of that run is captured as the sandbox served it; from then on
// the same server replays those bytes, so every iteration decodes the same
// pages.
//
// Each iteration, on a fresh sync key in a real Redis (redisstore, a
// random key prefix deleted at the end): the baseline is replayed into the
// snapshot (untimed), then both arms read the delta through the same HTTP
// client:
//   - sync: crm.Client.ReadDelta / NextDelta (HTTP + the client's decoding),
//     detector.detect (snapshot read, linked check) and Poller.commit
//     (one EVALSHA per page): the body of Poller.cycle's delta loop,
//     without its per-page lease renewal;
//   - floor: GET + json.Unmarshal of each page, following nextLink.
//
// Reported: changes/s of each arm, ratio = sync ÷ floor (the issue's
// target is ≥ 0.5), Redis round trips per page of the sync arm (3
// expected: snapshot, linked check, commit; 2 on a page where no linked
// owner changed), pages and events per run.
func BenchmarkDetectCommit(b *testing.B) {
	e := newDetectBench(b)
	ctx := context.Background()

	var syncTime, floorTime time.Duration
	var syncChanges, floorChanges, trips, pages int64
	run := 0
	arms := func(key store.SyncKey, fence int64, token string) {
		floor := func() {
			start := time.Now()
			n, _ := e.floor(b, ctx, token)
			floorTime += time.Since(start)
			floorChanges += int64(n)
		}
		if run%2 == 1 {
			floor()
		}
		before, start := e.hook.n.Load(), time.Now()
		r := e.detectCommit(b, ctx, key, fence, token)
		syncTime += time.Since(start)
		trips += e.hook.n.Load() - before
		syncChanges += int64(r.rows)
		pages += int64(r.pages)
		if run%2 == 0 {
			floor()
		}
		e.check(b, r)
	}
	// One untimed run first: connections, the script cache, the expected
	// figures.
	key, fence, token := e.prepare(b, ctx, run)
	arms(key, fence, token)
	e.cleanup(b, ctx, key, fence)
	syncTime, floorTime, syncChanges, floorChanges, trips, pages = 0, 0, 0, 0, 0, 0

	for b.Loop() {
		b.StopTimer()
		run++
		key, fence, token := e.prepare(b, ctx, run)
		b.StartTimer()
		arms(key, fence, token)
		b.StopTimer()
		e.cleanup(b, ctx, key, fence)
		b.StartTimer()
	}
	b.StopTimer()
	if e.replay.misses.Load() > 0 {
		b.Fatalf("%d requests were not in the captured run", e.replay.misses.Load())
	}
	runs := float64(run)
	syncRate := float64(syncChanges) / syncTime.Seconds()
	floorRate := float64(floorChanges) / floorTime.Seconds()
	b.ReportMetric(syncRate, "changes/s")
	b.ReportMetric(floorRate, "floor-changes/s")
	b.ReportMetric(syncRate/floorRate, "ratio-to-floor")
	b.ReportMetric(float64(trips)/float64(pages), "roundtrips/page")
	b.ReportMetric(float64(pages)/runs, "pages/run")
	b.ReportMetric(float64(e.want.events), "events/run")
	b.Logf("%d runs of %d changes in %d pages (%d owner changes or new records, %d events): sync %.0f changes/s, floor %.0f changes/s, ratio %.3f (target ≥ 0.5), %.2f Redis round trips per page",
		run, e.want.rows, e.want.pages, e.want.sets, e.want.events, syncRate, floorRate, syncRate/floorRate, float64(trips)/float64(pages))
}

// detectBench is BenchmarkDetectCommit's world after the captured run.
type detectBench struct {
	st     *redisstore.Store
	hook   *tripCounter
	hc     *http.Client // the replay's client, both arms'
	cl     *crm.Client
	p      *Poller
	rt     *crm.RecordType
	replay *replayHandler
	want   detectResult // from the untimed run
}

// detectResult is what one run of the sync arm did.
type detectResult struct {
	pages, rows, sets, events int
	enqueued                  int64
}

func newDetectBench(b *testing.B) *detectBench {
	b.Helper()
	ctx := context.Background()
	setup := time.Now()
	st, _, hook := benchRedis(b)
	e := &detectBench{st: st, hook: hook}

	sb := sandbox.New(sandbox.Options{RecordsPerType: -1, Logger: quiet()})
	swap := &swapHandler{}
	swap.set(sb)
	srv := httptest.NewServer(swap)
	b.Cleanup(func() { srv.Close(); sb.Close() })

	cat := crm.DefaultCatalog()
	e.rt, _ = cat.Type("account")
	users := sandbox.DemoUsers() // Chloé, Seán, Mathilde, Jonas
	chloe, sean, mathilde, jonas := users[0].ID, users[1].ID, users[2].ID, users[3].ID
	linked := []string{chloe, sean, mathilde}
	for i, id := range linked {
		u := store.ChatUser{Platform: store.PlatformSlack, Tenant: "T1", UserID: fmt.Sprintf("UBENCH%d", i)}
		if _, err := st.PutLink(ctx, store.Link{ChatUser: u, SystemUserID: id, DisplayName: users[i].FullName(), Email: users[i].Email},
			store.Tokens{RefreshToken: "rt"}); err != nil {
			b.Fatal(err)
		}
	}
	// The existing accounts: 19,000 each for Chloé, Seán, Mathilde, Jonas
	// and the Sales team.
	for _, owner := range []string{chloe, sean, mathilde, jonas, sandbox.SalesTeamID} {
		if _, err := sb.SeedBulk(e.rt.EntitySet, benchExisting/5, owner); err != nil {
			b.Fatal(err)
		}
	}

	// The captured run: the real client, with app-only credentials, against
	// the sandbox.
	o := sb.Options()
	ts, err := crm.AppTokenSource(ctx, crm.AppCredentials{
		AuthorityURL: srv.URL, TenantID: o.TenantID, ClientID: o.ClientID, ClientSecret: o.ClientSecret, OrgURL: srv.URL,
	})
	if err != nil {
		b.Fatal(err)
	}
	capture := &captureTransport{inner: http.DefaultTransport, got: map[string]capturedAnswer{}}
	capClient, err := crm.NewClient(srv.URL, &http.Client{Transport: &oauth2.Transport{Source: ts, Base: capture}},
		crm.WithCatalog(cat), crm.WithRetry(1, time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	capPoller := e.poller(b, capClient)
	capKey := store.SyncKey{Org: "captured", RecordType: e.rt.Name}
	fence := e.lease(b, ctx, capKey)
	if err := capPoller.cycle(ctx, capKey, e.rt, fence); err != nil { // the baseline
		b.Fatal(err)
	}

	// The changes, interleaved in a random order.
	rng := rand.New(rand.NewPCG(8, 100_000))
	ids := sb.RecordIDs(e.rt.EntitySet)
	rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	ops := make([]byte, 0, benchChanges)
	for _, op := range []struct {
		kind byte
		n    int
	}{{'e', benchEdits}, {'a', benchAssigns}, {'d', benchDeletes}, {'c', benchCreates}} {
		ops = append(ops, strings.Repeat(string(op.kind), op.n)...)
	}
	rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	app := sandbox.Principal{UserID: sandbox.AppUserID, App: true}
	next := 0
	for i, op := range ops {
		switch op {
		case 'e':
			err = sb.Update(e.rt.EntitySet, ids[next], map[string]any{"name": fmt.Sprintf("Edited account %06d", i)}, app)
			next++
		case 'a':
			var owner string
			switch r := rng.IntN(10); {
			case r < 6:
				owner = linked[rng.IntN(len(linked))]
			case r < 9:
				owner = jonas
			default:
				owner = sandbox.SupportTeamID
			}
			err = sb.Assign(e.rt.EntitySet, ids[next], owner, app)
			next++
		case 'd':
			err = sb.Delete(e.rt.EntitySet, ids[next], app)
			next++
		case 'c':
			owner := jonas
			if rng.IntN(10) < 8 {
				owner = linked[rng.IntN(len(linked))]
			}
			_, err = sb.Create(e.rt.EntitySet, map[string]any{"name": fmt.Sprintf("New account %06d", i),
				"ownerid@odata.bind": "/systemusers(" + owner + ")"}, app)
		}
		if err != nil {
			b.Fatalf("change %d (%c): %v", i, op, err)
		}
	}
	if err := capPoller.cycle(ctx, capKey, e.rt, fence); err != nil { // the delta
		b.Fatal(err)
	}
	if got := capPoller.Status()[0].Enqueued; got == 0 {
		b.Fatal("the captured delta enqueued no event")
	}

	// From now on the server replays the captured run.
	e.replay = &replayHandler{answers: capture.answers()}
	swap.set(e.replay)
	e.hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	if e.cl, err = crm.NewClient(srv.URL, e.hc, crm.WithCatalog(cat), crm.WithRetry(1, time.Millisecond)); err != nil {
		b.Fatal(err)
	}
	e.p = e.poller(b, e.cl)
	b.Logf("setup: %d accounts, %d changes, %d Web API answers captured, in %s",
		sb.CountRecords(e.rt.EntitySet), benchChanges, len(e.replay.answers), time.Since(setup).Round(time.Millisecond))
	return e
}

func (e *detectBench) poller(b *testing.B, src Source) *Poller {
	b.Helper()
	p := &Poller{Org: "bench", Types: []*crm.RecordType{e.rt}, Source: src, Store: e.st, Holder: "bench", Logger: quiet()}
	if err := p.Init(); err != nil {
		b.Fatal(err)
	}
	return p
}

func (e *detectBench) lease(b *testing.B, ctx context.Context, key store.SyncKey) int64 {
	b.Helper()
	fence, ok, err := e.st.AcquireLease(ctx, key, "bench", time.Hour)
	if err != nil || !ok {
		b.Fatalf("lease of %s: %v %v", key, ok, err)
	}
	return fence
}

// prepare gives run a fresh sync key whose snapshot and cursor are the
// baseline's (replayed through the poller), and returns the delta link.
func (e *detectBench) prepare(b *testing.B, ctx context.Context, run int) (store.SyncKey, int64, string) {
	b.Helper()
	key := store.SyncKey{Org: fmt.Sprintf("run%04d", run), RecordType: e.rt.Name}
	fence := e.lease(b, ctx, key)
	if err := e.p.cycle(ctx, key, e.rt, fence); err != nil {
		b.Fatalf("replayed baseline: %v", err)
	}
	cur, err := e.st.GetCursor(ctx, key)
	if err != nil || strings.HasPrefix(cur.Token, baselinePrefix) {
		b.Fatalf("cursor after the baseline: %+v %v", cur, err)
	}
	if n, _ := e.st.SnapshotSize(ctx, key); n != benchExisting {
		b.Fatalf("snapshot after the baseline: %d entries, want %d", n, benchExisting)
	}
	return key, fence, cur.Token
}

// cleanup frees the run's snapshot (the rest goes with the key prefix).
func (e *detectBench) cleanup(b *testing.B, ctx context.Context, key store.SyncKey, fence int64) {
	b.Helper()
	if err := e.st.ResetSync(ctx, key, fence); err != nil {
		b.Fatal(err)
	}
	if err := e.st.ReleaseLease(ctx, key, "bench"); err != nil {
		b.Fatal(err)
	}
}

// detectCommit is the sync arm: what Poller.cycle does with each page of
// a delta (minus the lease renewal between pages).
func (e *detectBench) detectCommit(b *testing.B, ctx context.Context, key store.SyncKey, fence int64, token string) detectResult {
	var r detectResult
	before := e.p.Status()[0].Enqueued
	d := &detector{key: key, rt: e.rt, source: e.p.Source, store: e.p.Store, now: e.p.Now}
	page, err := e.cl.ReadDelta(ctx, token, e.p.PageSize)
	for {
		if err != nil {
			b.Fatalf("read the delta: %v", err)
		}
		changes, err := d.detect(ctx, page, false)
		if err != nil {
			b.Fatalf("detect: %v", err)
		}
		link := page.NextLink
		if link == "" {
			link = page.DeltaLink
		}
		rows := len(page.Records) + len(page.Deleted)
		if err := e.p.commit(ctx, key, e.rt.Name, fence, changes, link, rows); err != nil {
			b.Fatalf("commit: %v", err)
		}
		r.pages++
		r.rows += rows
		for _, c := range changes {
			if c.set != nil {
				r.sets++
			}
			r.events += len(c.events)
		}
		if page.NextLink == "" {
			break
		}
		page, err = e.cl.NextDelta(ctx, page)
	}
	r.enqueued = e.p.Status()[0].Enqueued - before
	return r
}

// floor is the floor arm: the same pages through the same HTTP client,
// decoded with encoding/json into []map[string]any.
func (e *detectBench) floor(b *testing.B, ctx context.Context, link string) (rows, pages int) {
	for link != "" {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
		if err != nil {
			b.Fatal(err)
		}
		resp, err := e.hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("floor: GET %s: %s %v", link, resp.Status, err)
		}
		var env struct {
			Value []map[string]any `json:"value"`
			Next  string           `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(data, &env); err != nil {
			b.Fatal(err)
		}
		rows += len(env.Value)
		pages++
		link = env.Next
	}
	return rows, pages
}

// check compares a run of the sync arm with the first (untimed) one: the
// same pages, rows and events, every event enqueued.
func (e *detectBench) check(b *testing.B, r detectResult) {
	b.Helper()
	if r.rows != benchChanges || int64(r.events) != r.enqueued || r.events == 0 || r.sets == 0 {
		b.Fatalf("sync arm: %+v, want %d rows and every event enqueued", r, benchChanges)
	}
	if e.want.rows == 0 {
		e.want = r
		return
	}
	if r != e.want {
		b.Fatalf("sync arm: %+v, the first run did %+v", r, e.want)
	}
}

// The assignment stream of BenchmarkNotificationLatency.
const (
	latAssignments = 50
	// latGap between two assignments: round robin over the four demo
	// users, each user gets one every 2.2 s — more than Slack's 1 s per
	// channel pacing and than the poll interval plus a cycle, so neither
	// mode waits for the pacer.
	latGap      = 550 * time.Millisecond
	latInterval = 2 * time.Second
)

// BenchmarkNotificationLatency: from an assignment in the sandbox to its
// card at the fake Slack, through the whole in-process pipeline (see
// newLatencyWorld), with the poller's Interval at latInterval. Each
// iteration makes latAssignments assignments in each of two modes, side
// by side (alternating which goes first), after an untimed first card to
// each user (the adapter opens each DM once, paced per workspace):
//   - webhook: the sandbox's webhook pokes the poller (target p99 < 1 s);
//   - poll: the webhook is ignored, the poller finds the change on its
//     next interval (target p99 < interval + 1 s).
//
// Reported: p50 and p99 of each mode in milliseconds, and the interval.
// It runs in `make bench`, not in the tests.
func BenchmarkNotificationLatency(b *testing.B) {
	w := newLatencyWorld(b, latInterval)
	// Untimed: a first card to each user, so the Slack adapter has opened
	// their DMs (conversations.open, paced per workspace) and the figures
	// are the steady state's.
	w.stream(b, len(w.users), latGap, true)
	var push, poll []time.Duration
	run := 0
	for b.Loop() {
		if run%2 == 0 {
			push = append(push, w.stream(b, latAssignments, latGap, true)...)
			poll = append(poll, w.stream(b, latAssignments, latGap, false)...)
		} else {
			poll = append(poll, w.stream(b, latAssignments, latGap, false)...)
			push = append(push, w.stream(b, latAssignments, latGap, true)...)
		}
		run++
	}
	b.StopTimer()
	b.ReportMetric(latPercentile(push, .5), "webhook-p50-ms")
	b.ReportMetric(latPercentile(push, .99), "webhook-p99-ms")
	b.ReportMetric(latPercentile(poll, .5), "poll-p50-ms")
	b.ReportMetric(latPercentile(poll, .99), "poll-p99-ms")
	b.ReportMetric(float64(latInterval.Milliseconds()), "interval-ms")
	b.Logf("%d assignments per mode, one every %s over %d users, interval %s: webhook p50 %.0f ms p99 %.0f ms (target < 1000) | poll-only p50 %.0f ms p99 %.0f ms (target < %d)",
		len(push), latGap, len(w.users), latInterval, latPercentile(push, .5), latPercentile(push, .99),
		latPercentile(poll, .5), latPercentile(poll, .99), (latInterval + time.Second).Milliseconds())
}
