package sync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/embedded"
)

// A world is the sandbox Dynamics over real HTTP, the app-only client the
// sync reads with, and an embedded store where some demo users are linked.
type world struct {
	t     *testing.T
	sb    *sandbox.Sandbox
	srv   *httptest.Server
	st    *embedded.Store
	cl    *crm.Client
	calls *callCounter
	cat   *crm.Catalog
	users map[string]sandbox.User // by first name, lowercased ascii ("chloe")
}

// callCounter counts Dataverse requests by path (for the idle-cycle check).
type callCounter struct {
	mu    gosync.Mutex
	n     map[string]int
	inner http.RoundTripper
}

func (c *callCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n[r.URL.Path]++
	c.mu.Unlock()
	return c.inner.RoundTrip(r)
}

func (c *callCounter) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.n
	c.n = map[string]int{}
	return out
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newWorld(t *testing.T, opts sandbox.Options) *world {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	w := &world{t: t, sb: sandbox.New(opts), cat: crm.DefaultCatalog(), users: map[string]sandbox.User{}}
	w.srv = httptest.NewServer(w.sb)
	t.Cleanup(func() { w.srv.Close(); w.sb.Close() })
	keys, err := store.RandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	if w.st, err = embedded.New(embedded.Options{Keys: keys}); err != nil {
		t.Fatal(err)
	}
	o := w.sb.Options()
	ts, err := crm.AppTokenSource(context.Background(), crm.AppCredentials{
		AuthorityURL: w.srv.URL, TenantID: o.TenantID, ClientID: o.ClientID, ClientSecret: o.ClientSecret, OrgURL: w.srv.URL,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.calls = &callCounter{n: map[string]int{}, inner: http.DefaultTransport}
	hc := &http.Client{Timeout: 20 * time.Second, Transport: &oauth2.Transport{Source: ts, Base: w.calls}}
	if w.cl, err = crm.NewClient(w.srv.URL, hc, crm.WithCatalog(w.cat), crm.WithRetry(1, time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	for _, u := range sandbox.DemoUsers() {
		name := strings.ToLower(strings.NewReplacer("é", "e", "á", "a").Replace(u.FirstName))
		w.users[name] = u
	}
	return w
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func (w *world) user(name string) sandbox.User {
	u, ok := w.users[name]
	if !ok {
		w.t.Fatalf("no demo user %s", name)
	}
	return u
}

// link links a chat user to the demo user.
func (w *world) link(name string) store.ChatUser {
	w.t.Helper()
	du := w.user(name)
	u := store.ChatUser{Platform: store.PlatformSlack, Tenant: "T1", UserID: "U" + strings.ToUpper(name)}
	if _, err := w.st.PutLink(ctxT(w.t), store.Link{ChatUser: u, SystemUserID: du.ID, DisplayName: du.FullName(), Email: du.Email},
		store.Tokens{RefreshToken: "rt-" + name}); err != nil {
		w.t.Fatal(err)
	}
	return u
}

func (w *world) as(name string) sandbox.Principal { return sandbox.Principal{UserID: w.user(name).ID} }

func (w *world) poller(types ...string) *Poller {
	w.t.Helper()
	p := &Poller{Org: "sandbox", Source: w.cl, Store: w.st, Holder: "test", Interval: time.Hour, Logger: quiet()}
	for _, name := range types {
		rt, ok := w.cat.Type(name)
		if !ok {
			w.t.Fatalf("no record type %s", name)
		}
		p.Types = append(p.Types, rt)
	}
	if err := p.Init(); err != nil {
		w.t.Fatal(err)
	}
	return p
}

// runCycle runs one sync cycle of rt under a fresh lease.
func (w *world) runCycle(p *Poller, rt string) {
	w.t.Helper()
	key := store.SyncKey{Org: p.Org, RecordType: rt}
	fence, ok, err := w.st.AcquireLease(ctxT(w.t), key, p.Holder, time.Minute)
	if err != nil || !ok {
		w.t.Fatalf("lease: %v %v", ok, err)
	}
	defer w.st.ReleaseLease(context.Background(), key, p.Holder)
	rtype, _ := w.cat.Type(rt)
	if err := p.cycle(ctxT(w.t), key, rtype, fence); err != nil {
		w.t.Fatalf("cycle %s: %v", rt, err)
	}
}

// event is an outbox entry, decoded.
type event struct {
	kind   cards.NotificationKind
	to     string // systemuserid
	record string
	by     string
	team   string
}

func (e event) String() string {
	return fmt.Sprintf("%d→%s(%s by %q team %q)", e.kind, e.to[:4], e.record[:4], e.by, e.team)
}

// drain reads and acks every event in rt's outbox.
func (w *world) drain(rt string) []event {
	w.t.Helper()
	key := store.SyncKey{Org: "sandbox", RecordType: rt}
	var out []event
	for {
		es, err := w.st.ReadOutbox(ctxT(w.t), key, "test", 100, 0)
		if err != nil {
			w.t.Fatal(err)
		}
		if len(es) == 0 {
			return out
		}
		for _, e := range es {
			a, err := bot.DecodeAssignment(e.Payload)
			if err != nil {
				w.t.Fatal(err)
			}
			if a.RecordType != rt || a.Detected.IsZero() || a.Version == 0 {
				w.t.Errorf("event %+v: wrong type, no detection time or no version", a)
			}
			out = append(out, event{kind: a.Kind, to: a.SystemUserID, record: a.RecordID, by: a.By, team: a.Team})
			if err := w.st.AckOutbox(ctxT(w.t), key, e.ID); err != nil {
				w.t.Fatal(err)
			}
		}
	}
}

// minimal is the smallest create body of each type (plus an owner).
func (w *world) minimal(rt, title string) map[string]any {
	switch rt {
	case "account", "opportunity":
		return map[string]any{"name": title}
	case "contact":
		return map[string]any{"lastname": title}
	case "lead":
		return map[string]any{"subject": title, "lastname": title}
	case "incident":
		acc, err := w.sb.Create("accounts", map[string]any{"name": "Customer of " + title}, w.as("mathilde"))
		if err != nil {
			w.t.Fatal(err)
		}
		return map[string]any{"title": title, "customerid_account@odata.bind": "/accounts(" + acc + ")"}
	case "appointment":
		return map[string]any{"subject": title, "scheduledstart": "2026-11-24T10:00:00Z", "scheduledend": "2026-11-24T11:00:00Z"}
	default:
		return map[string]any{"subject": title}
	}
}

// create makes a record of rt owned by owner (a user name or a team id),
// acting as by.
func (w *world) create(rt, title, owner, by string) string {
	w.t.Helper()
	t, _ := w.cat.Type(rt)
	body := w.minimal(rt, title)
	if owner == sandbox.SalesTeamID || owner == sandbox.SupportTeamID {
		body["ownerid@odata.bind"] = "/teams(" + owner + ")"
	} else {
		body["ownerid@odata.bind"] = "/systemusers(" + w.user(owner).ID + ")"
	}
	id, err := w.sb.Create(t.EntitySet, body, w.as(by))
	if err != nil {
		w.t.Fatalf("create %s: %v", rt, err)
	}
	return strings.ToLower(id)
}

func (w *world) assign(rt, id, owner, by string) {
	w.t.Helper()
	t, _ := w.cat.Type(rt)
	ownerID := owner
	if owner != sandbox.SalesTeamID && owner != sandbox.SupportTeamID {
		ownerID = w.user(owner).ID
	}
	if err := w.sb.Assign(t.EntitySet, id, ownerID, w.as(by)); err != nil {
		w.t.Fatalf("assign %s: %v", rt, err)
	}
}

var eightTypes = []string{"account", "contact", "lead", "opportunity", "incident", "appointment", "phonecall", "task"}

// TestDetection: new vs reassigned vs self-assigned vs deleted vs
// previous owner, and team owners, for each of the eight types.
func TestDetection(t *testing.T) {
	for _, rt := range eightTypes {
		t.Run(rt, func(t *testing.T) {
			w := newWorld(t, sandbox.Options{RecordsPerType: 3})
			chloe, sean, jonas := w.user("chloe"), w.user("sean"), w.user("jonas")
			mathilde := w.user("mathilde")
			w.link("chloe")
			w.link("sean")
			w.link("mathilde")
			// jonas is not linked.
			p := w.poller(rt)
			existing := w.create(rt, "Before the baseline", "chloe", "mathilde")

			w.runCycle(p, rt) // baseline
			if ev := w.drain(rt); len(ev) != 0 {
				t.Fatalf("the baseline announced %v", ev)
			}
			if n, _ := w.st.SnapshotSize(ctxT(t), store.SyncKey{Org: "sandbox", RecordType: rt}); n < 4 {
				t.Fatalf("snapshot after the baseline holds %d records, want the seeded ones and ours", n)
			}

			// New, created by someone else for a linked user.
			n1 := w.create(rt, "New for Seán", "sean", "mathilde")
			// New, created by the owner: not announced.
			w.create(rt, "Chloé's own", "chloe", "chloe")
			// New for an unlinked user: not announced.
			w.create(rt, "For Jonas", "jonas", "mathilde")
			// Reassigned by a third person: new owner + previous owner.
			w.assign(rt, existing, "sean", "mathilde")
			// An edit that keeps the owner: nothing.
			w.runCycle(p, rt)
			got := w.drain(rt)
			want := []event{
				{kind: cards.AssignedNew, to: sean.ID, record: n1, by: mathilde.FullName()},
				{kind: cards.AssignedExisting, to: sean.ID, record: existing, by: mathilde.FullName()},
				{kind: cards.Unassigned, to: chloe.ID, record: existing, by: mathilde.FullName()},
			}
			sameEvents(t, "first delta", got, want)

			// Self-assignment: Mathilde takes Seán's record herself. She is not
			// told; Seán (who did not do it) is told it is no longer his.
			w.assign(rt, n1, "mathilde", "mathilde")
			w.runCycle(p, rt)
			sameEvents(t, "self-assigned", w.drain(rt), []event{
				{kind: cards.Unassigned, to: sean.ID, record: n1, by: mathilde.FullName()},
			})
			// Mathilde gives her own record away to Chloé: Chloé is told,
			// Mathilde (who did it) is not.
			w.assign(rt, n1, "chloe", "mathilde")
			w.runCycle(p, rt)
			sameEvents(t, "given away", w.drain(rt), []event{
				{kind: cards.AssignedExisting, to: chloe.ID, record: n1, by: mathilde.FullName()},
			})

			// A team owner: its linked members are told, except who did it;
			// the previous owner, a member, is told of the team, not of a loss.
			w.assign(rt, n1, sandbox.SalesTeamID, "mathilde")
			w.runCycle(p, rt)
			sameEvents(t, "team", w.drain(rt), []event{
				// Sales = Chloé, Jonas (unlinked), Mathilde (did it).
				{kind: cards.AssignedExisting, to: chloe.ID, record: n1, by: mathilde.FullName(), team: sandbox.SalesTeamID},
			})
			// From a team to an unlinked user: nobody to tell (a previous
			// team owner is not told).
			w.assign(rt, n1, "jonas", "mathilde")
			w.runCycle(p, rt)
			sameEvents(t, "from a team", w.drain(rt), nil)
			// A previous owner who is not a member of the new team is told.
			w.assign(rt, existing, sandbox.SupportTeamID, "mathilde")
			w.runCycle(p, rt)
			sameEvents(t, "to another team", w.drain(rt), []event{
				// Support = Seán (the previous owner, a member: told of the team), Mathilde (did it).
				{kind: cards.AssignedExisting, to: sean.ID, record: existing, by: mathilde.FullName(), team: sandbox.SupportTeamID},
			})
			w.assign(rt, existing, "chloe", "mathilde")
			w.runCycle(p, rt)
			sameEvents(t, "back to a user", w.drain(rt), []event{
				{kind: cards.AssignedExisting, to: chloe.ID, record: existing, by: mathilde.FullName()},
			})

			// Deleted: the snapshot entry goes, nothing is announced; a
			// record with the same id can no longer be "reassigned".
			key := store.SyncKey{Org: "sandbox", RecordType: rt}
			if got, _ := w.st.GetOwners(ctxT(t), key, []string{existing}); len(got) != 1 {
				t.Fatalf("snapshot lost %s before its deletion", existing)
			}
			t2, _ := w.cat.Type(rt)
			if err := w.sb.Delete(t2.EntitySet, existing, w.as("mathilde")); err != nil {
				t.Fatal(err)
			}
			w.runCycle(p, rt)
			sameEvents(t, "delete", w.drain(rt), nil)
			if got, _ := w.st.GetOwners(ctxT(t), key, []string{existing}); len(got) != 0 {
				t.Fatalf("the deleted record is still in the snapshot: %v", got)
			}
			_ = jonas
		})
	}
}

func sameEvents(t *testing.T, step string, got, want []event) {
	t.Helper()
	key := func(e event) string { return fmt.Sprintf("%d|%s|%s|%s|%s", e.kind, e.to, e.record, e.by, e.team) }
	g := make([]string, len(got))
	for i, e := range got {
		g[i] = key(e)
	}
	wk := make([]string, len(want))
	for i, e := range want {
		wk[i] = key(e)
	}
	slices.Sort(g)
	slices.Sort(wk)
	if !slices.Equal(g, wk) {
		t.Fatalf("%s: events\n got %v\nwant %v", step, got, want)
	}
}

// clock is a settable sandbox clock.
type clock struct {
	mu gosync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestExpiredDeltaRebaselines: a delta token older than the org keeps
// change tracking re-baselines and announces nothing of the past; changes
// after it are announced as usual.
func TestExpiredDeltaRebaselines(t *testing.T) {
	clk := &clock{t: time.Now()}
	w := newWorld(t, sandbox.Options{RecordsPerType: 2, DeltaTokenTTL: time.Hour, AccessTokenTTL: 48 * time.Hour, Now: clk.now})
	w.link("chloe")
	w.link("sean")
	p := w.poller("lead")
	old := w.create("lead", "Old", "sean", "mathilde")
	w.runCycle(p, "lead")
	w.assign("lead", old, "chloe", "mathilde")                // while we were away
	missed := w.create("lead", "Missed", "chloe", "mathilde") // idem
	clk.add(2 * time.Hour)
	w.runCycle(p, "lead")
	if ev := w.drain("lead"); len(ev) != 0 {
		t.Fatalf("the re-baseline announced the past: %v", ev)
	}
	key := store.SyncKey{Org: "sandbox", RecordType: "lead"}
	owners, err := w.st.GetOwners(ctxT(t), key, []string{old, missed})
	if err != nil || owners[old].ID != w.user("chloe").ID || owners[missed].ID != w.user("chloe").ID {
		t.Fatalf("snapshot after the re-baseline: %v %v", owners, err)
	}
	w.assign("lead", missed, "sean", "mathilde")
	w.runCycle(p, "lead")
	sameEvents(t, "after", w.drain("lead"), []event{
		{kind: cards.AssignedExisting, to: w.user("sean").ID, record: missed, by: w.user("mathilde").FullName()},
		{kind: cards.Unassigned, to: w.user("chloe").ID, record: missed, by: w.user("mathilde").FullName()},
	})
}

// TestIdleCycleIsOneRequest: with nothing changed, a cycle costs exactly
// one Dataverse request per record type.
func TestIdleCycleIsOneRequest(t *testing.T) {
	w := newWorld(t, sandbox.Options{RecordsPerType: 20})
	w.link("chloe")
	p := w.poller(eightTypes...)
	for _, rt := range eightTypes {
		w.runCycle(p, rt) // baselines
		w.runCycle(p, rt) // first delta
	}
	w.calls.reset()
	for _, rt := range eightTypes {
		w.runCycle(p, rt)
	}
	calls := w.calls.reset()
	total := 0
	for path, n := range calls {
		total += n
		if n != 1 {
			t.Errorf("%s: %d requests in an idle cycle", path, n)
		}
	}
	if total != len(eightTypes) {
		t.Fatalf("idle cycle of %d types made %d requests: %v", len(eightTypes), total, calls)
	}
}

// TestPagedDeltaAndSmallCommits: a delta of many pages, committed in
// commits far smaller than a page, announces each change once.
func TestPagedDeltaAndSmallCommits(t *testing.T) {
	w := newWorld(t, sandbox.Options{RecordsPerType: 5})
	w.link("chloe")
	p := w.poller("task")
	p.PageSize, p.MaxCommit = 4, 3
	w.runCycle(p, "task")
	var want []event
	for i := range 11 {
		id := w.create("task", fmt.Sprintf("Task %d", i), "chloe", "mathilde")
		want = append(want, event{kind: cards.AssignedNew, to: w.user("chloe").ID, record: id, by: w.user("mathilde").FullName()})
	}
	w.runCycle(p, "task")
	sameEvents(t, "paged", w.drain("task"), want)
	w.runCycle(p, "task")
	sameEvents(t, "again", w.drain("task"), nil)
}

// failingSource fails NextDelta after n pages (a crash mid-read).
type failingSource struct {
	Source
	mu     gosync.Mutex
	pages  int
	failAt int
	tracks int
}

func (f *failingSource) TrackChanges(ctx context.Context, set string, cols []string, n int) (*crm.DeltaPage, error) {
	f.mu.Lock()
	f.tracks++
	f.mu.Unlock()
	return f.Source.TrackChanges(ctx, set, cols, n)
}

func (f *failingSource) NextDelta(ctx context.Context, p *crm.DeltaPage) (*crm.DeltaPage, error) {
	f.mu.Lock()
	f.pages++
	fail := f.pages == f.failAt
	f.mu.Unlock()
	if fail {
		return nil, fmt.Errorf("connection reset (injected)")
	}
	return f.Source.NextDelta(ctx, p)
}

// TestBaselineResumes: a baseline cut off half way goes on from its last
// committed page (a large org does not start over), announcing nothing.
func TestBaselineResumes(t *testing.T) {
	w := newWorld(t, sandbox.Options{RecordsPerType: 30})
	w.link("chloe")
	src := &failingSource{Source: w.cl, failAt: 3}
	p := w.poller("contact")
	p.Source, p.PageSize = src, 5
	key := store.SyncKey{Org: "sandbox", RecordType: "contact"}
	fence, _, err := w.st.AcquireLease(ctxT(t), key, "test", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	rt, _ := w.cat.Type("contact")
	if err := p.cycle(ctxT(t), key, rt, fence); err == nil {
		t.Fatal("the injected failure did not stop the baseline")
	}
	cur, err := w.st.GetCursor(ctxT(t), key)
	if err != nil || !strings.HasPrefix(cur.Token, baselinePrefix) {
		t.Fatalf("cursor after a cut baseline: %+v %v", cur, err)
	}
	half, _ := w.st.SnapshotSize(ctxT(t), key)
	if half == 0 {
		t.Fatal("nothing committed before the failure")
	}
	if err := p.cycle(ctxT(t), key, rt, fence); err != nil {
		t.Fatal(err)
	}
	all, _ := w.st.SnapshotSize(ctxT(t), key)
	if src.tracks != 1 || all <= half {
		t.Fatalf("resume: %d baseline starts, snapshot %d → %d", src.tracks, half, all)
	}
	if ev := w.drain("contact"); len(ev) != 0 {
		t.Fatalf("the baseline announced %v", ev)
	}
	st := p.Status()[0]
	if st.Baseline == 0 {
		t.Fatalf("status shows no baseline progress: %+v", st)
	}
}

// TestStaleHolderIsRejected: a replica whose lease was taken over cannot
// commit: nothing it read is stored or announced twice.
func TestStaleHolderIsRejected(t *testing.T) {
	w := newWorld(t, sandbox.Options{RecordsPerType: 3})
	w.link("chloe")
	p := w.poller("lead")
	w.runCycle(p, "lead")
	key := store.SyncKey{Org: "sandbox", RecordType: "lead"}
	oldFence, ok, err := w.st.AcquireLease(ctxT(t), key, "paused-replica", 50*time.Millisecond)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	time.Sleep(100 * time.Millisecond)
	newFence, ok, err := w.st.AcquireLease(ctxT(t), key, "other-replica", time.Minute)
	if err != nil || !ok || newFence <= oldFence {
		t.Fatalf("takeover: %v %v fences %d → %d", ok, err, oldFence, newFence)
	}
	before, _ := w.st.GetCursor(ctxT(t), key)
	id := w.create("lead", "Raced", "chloe", "mathilde")
	rt, _ := w.cat.Type("lead")
	if err := p.cycle(ctxT(t), key, rt, oldFence); !errors.Is(err, store.ErrStaleFence) {
		t.Fatalf("stale holder's cycle: %v, want ErrStaleFence", err)
	}
	after, _ := w.st.GetCursor(ctxT(t), key)
	if after.Token != before.Token || len(w.drain("lead")) != 0 {
		t.Fatal("the stale holder's commit changed something")
	}
	if err := p.cycle(ctxT(t), key, rt, newFence); err != nil {
		t.Fatal(err)
	}
	sameEvents(t, "new holder", w.drain("lead"), []event{{kind: cards.AssignedNew, to: w.user("chloe").ID, record: id, by: w.user("mathilde").FullName()}})
}

// TestPokeReachesTheLeaseHolder: a webhook that lands on a standby replica
// still makes the replica holding the lease read now (through the store's
// poke bus): the event comes without waiting for the hour-long interval.
func TestPokeReachesTheLeaseHolder(t *testing.T) {
	w := newWorld(t, sandbox.Options{RecordsPerType: 3})
	w.link("chloe")
	holder, standby := w.poller("lead"), w.poller("lead")
	holder.Holder, standby.Holder = "replica-a", "replica-b"
	holder.Bus, standby.Bus = w.st, w.st
	ctx, cancel := context.WithCancel(context.Background())
	var wg gosync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() { holder.Run(ctx) })
	waitUntil(t, "the holder's baseline", func() bool { return !holder.Status()[0].LastSync.IsZero() })
	wg.Go(func() { standby.Run(ctx) })
	waitUntil(t, "the standby", func() bool { return standby.Status()[0].Phase == "standby" })
	id := w.create("lead", "Poked", "chloe", "mathilde")
	if !standby.Poke(sandbox.DefaultOrgID, "lead") {
		t.Fatal("the standby refused a poke for a type it syncs")
	}
	if standby.Poke(sandbox.DefaultOrgID, "competitor") {
		t.Fatal("a poke for a type nobody syncs was accepted")
	}
	var got []event
	waitUntil(t, "the event", func() bool { got = append(got, w.drain("lead")...); return len(got) > 0 })
	sameEvents(t, "poked", got, []event{{kind: cards.AssignedNew, to: w.user("chloe").ID, record: id, by: w.user("mathilde").FullName()}})
	if st := standby.Status()[0]; st.Held || st.Enqueued != 0 {
		t.Fatalf("the standby synced: %+v", st)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestThrottledPausesForRetryAfter: a Dataverse 429 pauses the record
// type for its Retry-After — a webhook poke meanwhile does not read — and
// the change is picked up after the pause.
func TestThrottledPausesForRetryAfter(t *testing.T) {
	w := newWorld(t, sandbox.Options{RecordsPerType: 2})
	w.link("chloe")
	p := w.poller("lead")
	p.Interval = 200 * time.Millisecond
	p.LeaseTTL = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	var wg gosync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() { p.Run(ctx) })
	waitUntil(t, "the baseline", func() bool { return !p.Status()[0].LastSync.IsZero() })
	w.sb.SetFaults(sandbox.Faults{Throttle429: 1, RetryAfter: 2 * time.Second})
	waitUntil(t, "the pause", func() bool { return p.Status()[0].Phase == "paused" })
	paused := time.Now()
	id := w.create("lead", "After the pause", "chloe", "mathilde")
	w.calls.reset()
	p.Poke("", "lead")
	var got []event
	waitUntil(t, "the event after the pause", func() bool { got = append(got, w.drain("lead")...); return len(got) > 0 })
	if waited := time.Since(paused); waited < 1500*time.Millisecond {
		t.Fatalf("read again %v after a 429 asking for 2 s", waited)
	}
	sameEvents(t, "after the pause", got, []event{{kind: cards.AssignedNew, to: w.user("chloe").ID, record: id, by: w.user("mathilde").FullName()}})
	if st := p.Status()[0]; st.Phase != "delta" || st.LastError != "" {
		t.Fatalf("status after the pause: %+v", st)
	}
}
