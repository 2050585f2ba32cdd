package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/store"
)

// The delivery workers against the outbox of the embedded store, the
// conversation core over the sandbox, and the recording Sender.

var outboxKey = store.SyncKey{Org: "sandbox", RecordType: "lead"}

// enqueue commits events as the sync does (fenced).
func (w *world) enqueue(as ...bot.Assignment) []string {
	w.t.Helper()
	fence, _, err := w.st.AcquireLease(ctxT(w.t), outboxKey, "test-sync", time.Minute)
	if err != nil {
		w.t.Fatal(err)
	}
	defer w.st.ReleaseLease(context.Background(), outboxKey, "test-sync")
	var c store.Commit
	var keys []string
	for _, a := range as {
		p, err := a.Encode()
		if err != nil {
			w.t.Fatal(err)
		}
		k := store.EventDedupeKey(a.RecordID, a.Version, fmt.Sprint(a.Kind), a.SystemUserID)
		keys = append(keys, k)
		c.Events = append(c.Events, store.OutboxEvent{DedupeKey: k, Payload: p})
	}
	if _, err := w.st.CommitSync(ctxT(w.t), outboxKey, fence, c); err != nil {
		w.t.Fatal(err)
	}
	return keys
}

// deliverer runs the workers until the test ends.
func (w *world) deliverer(now func() time.Time) *bot.Deliverer {
	w.t.Helper()
	d := &bot.Deliverer{Core: w.core, Store: w.st, Keys: []store.SyncKey{outboxKey}, Consumer: "test",
		Block: 50 * time.Millisecond, RetryAfter: 100 * time.Millisecond, FlushEvery: time.Hour, Logger: quiet(), Now: now}
	if err := d.Init(); err != nil {
		w.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	w.t.Cleanup(func() { cancel(); <-done })
	return d
}

func (w *world) lead(owner *person, title string) bot.Assignment {
	w.t.Helper()
	id := w.create(owner, "leads", map[string]any{"subject": title, "lastname": title})
	return bot.Assignment{RecordType: "lead", RecordID: id, Kind: cards.AssignedNew, SystemUserID: owner.demo.ID,
		By: "Mathilde Lefèvre", Version: 1, Detected: time.Now()}
}

// eventually waits for cond (generous: CI machines are slow).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func notifications(vs []cards.View) []*cards.Notification {
	var out []*cards.Notification
	for _, v := range vs {
		if n, ok := v.(*cards.Notification); ok {
			out = append(out, n)
		}
	}
	return out
}

func (w *world) outboxEmpty() bool {
	es, err := w.st.ClaimOutbox(ctxT(w.t), outboxKey, "probe", 0, 10)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, e := range es { // put them back for the workers: fail them (not dead at attempt < max)
		_, _ = w.st.FailOutbox(ctxT(w.t), outboxKey, e.ID, "probe")
	}
	return len(es) == 0
}

func TestDelivererPostsOnceAndAcks(t *testing.T) {
	w := newWorld(t)
	chloe := w.linked("chloe.dubois@demo.crmbot.dev", "en")
	// Chloé has Teams too: one event, one card on each platform.
	chloeTeams := w.linkedUser(store.ChatUser{Platform: store.PlatformTeams, Tenant: "tid", UserID: "29:chloe"}, "chloe.dubois@demo.crmbot.dev", "fr")
	a := w.lead(chloe, "Acme")
	keys := w.enqueue(a)
	w.deliverer(time.Now)
	eventually(t, "both cards", func() bool {
		return len(notifications(w.sent.of(chloe.u))) == 1 && len(notifications(w.sent.of(chloeTeams.u))) == 1
	})
	n := notifications(w.sent.of(chloe.u))[0]
	if n.Title != "Acme" || !strings.Contains(n.Headline, "Mathilde") {
		t.Fatalf("card: %+v", n)
	}
	if o := w.sent.optsOf(chloe.u)[0]; o.Key != keys[0] || o.Recover {
		t.Fatalf("send options of a first attempt: %+v (key %q)", o, keys[0])
	}
	if ref, err := w.st.SentRef(ctxT(t), keys[0], chloe.u); err != nil || !strings.HasPrefix(ref, "posted:slack|D-") {
		t.Fatalf("post not remembered: %q %v", ref, err)
	}
	eventually(t, "the ack", w.outboxEmpty)
	time.Sleep(300 * time.Millisecond) // past RetryAfter: nothing is delivered again
	if len(w.sent.of(chloe.u)) != 1 || len(w.sent.of(chloeTeams.u)) != 1 {
		t.Fatalf("delivered again: %d / %d", len(w.sent.of(chloe.u)), len(w.sent.of(chloeTeams.u)))
	}
}

// A failure for one recipient retries that recipient only, with Recover.
func TestDelivererRetriesOnlyWhatFailed(t *testing.T) {
	w := newWorld(t)
	chloe := w.linked("chloe.dubois@demo.crmbot.dev", "en")
	chloeTeams := w.linkedUser(store.ChatUser{Platform: store.PlatformTeams, Tenant: "tid", UserID: "29:chloe"}, "chloe.dubois@demo.crmbot.dev", "en")
	var mu sync.Mutex
	failures := 2
	w.sent.setFail(func(to store.ChatUser, _ cards.View) error {
		mu.Lock()
		defer mu.Unlock()
		if to.Platform == store.PlatformTeams && failures > 0 {
			failures--
			return errors.New("connector 502 (injected)")
		}
		return nil
	})
	keys := w.enqueue(w.lead(chloe, "Retry me"))
	w.deliverer(time.Now)
	eventually(t, "the Teams card after two failures", func() bool { return len(w.sent.of(chloeTeams.u)) == 1 })
	eventually(t, "the ack", w.outboxEmpty)
	if n := len(w.sent.of(chloe.u)); n != 1 {
		t.Fatalf("Slack got %d posts while Teams was retried", n)
	}
	if o := w.sent.optsOf(chloeTeams.u)[0]; !o.Recover || o.Key != keys[0] {
		t.Fatalf("a retry must ask the sender to recover: %+v", o)
	}
}

// A delivery that always fails is dead-lettered after MaxAttempts, its
// retries backing off: each waits twice as long as the one before.
func TestDelivererDeadLetters(t *testing.T) {
	w := newWorld(t)
	chloe := w.linked("chloe.dubois@demo.crmbot.dev", "en")
	var mu sync.Mutex
	var tries []time.Time
	w.sent.setFail(func(store.ChatUser, cards.View) error {
		mu.Lock()
		defer mu.Unlock()
		tries = append(tries, time.Now())
		return errors.New("slack down (injected)")
	})
	w.enqueue(w.lead(chloe, "Doomed"))
	d := w.deliverer(time.Now)
	eventually(t, "the dead letter", func() bool {
		dead, err := w.st.ListDead(ctxT(t), outboxKey, 10)
		return err == nil && len(dead) == 1 && strings.Contains(dead[0].Reason, "slack down")
	})
	mu.Lock()
	if len(tries) != store.DefaultMaxAttempts {
		t.Fatalf("%d attempts, want %d", len(tries), store.DefaultMaxAttempts)
	}
	for i := 1; i < len(tries); i++ {
		// Retry i comes once the entry has been idle for the backoff of
		// delivery i (counted from its claim, just before the post).
		want := store.ClaimBackoff(d.RetryAfter, int64(i))
		if gap := tries[i].Sub(tries[i-1]); gap < want*9/10 {
			t.Errorf("retry %d came %s after attempt %d, want at least %s (backoff)", i, gap, i, want)
		}
	}
	mu.Unlock()
	// Retried from the status page once Slack is back: delivered.
	w.sent.setFail(nil)
	dead, _ := w.st.ListDead(ctxT(t), outboxKey, 10)
	if _, err := w.st.RetryDead(ctxT(t), outboxKey, dead[0].ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the card after the retry", func() bool { return len(w.sent.of(chloe.u)) == 1 })
}

func TestDelivererPreferences(t *testing.T) {
	w := newWorld(t)
	chloe := w.linked("chloe.dubois@demo.crmbot.dev", "en")
	p := store.DefaultPreferences()
	p.RecordTypes = map[string]bool{"lead": false}
	if err := w.st.PutPreferences(ctxT(t), chloe.u, p); err != nil {
		t.Fatal(err)
	}
	keys := w.enqueue(w.lead(chloe, "Muted"))
	w.deliverer(time.Now)
	eventually(t, "the skip", func() bool {
		ref, err := w.st.SentRef(ctxT(t), keys[0], chloe.u)
		return err == nil && ref == "skipped"
	})
	// A channel of their choice: the sender is told.
	p = store.DefaultPreferences()
	p.ChannelID = "C0SALES"
	if err := w.st.PutPreferences(ctxT(t), chloe.u, p); err != nil {
		t.Fatal(err)
	}
	w.enqueue(w.lead(chloe, "To the channel"))
	eventually(t, "the channel post", func() bool { return len(w.sent.of(chloe.u)) == 1 })
	if o := w.sent.optsOf(chloe.u)[0]; o.Channel != "C0SALES" {
		t.Fatalf("channel preference not passed: %+v", o)
	}
}

// Snoozed: held, then one digest when the snooze ends.
func TestDelivererSnoozeThenDigest(t *testing.T) {
	w := newWorld(t)
	chloe := w.linked("chloe.dubois@demo.crmbot.dev", "en")
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w.core.Now = clock
	p := store.DefaultPreferences()
	p.SnoozeUntil = now.Add(2 * time.Hour)
	if err := w.st.PutPreferences(ctxT(t), chloe.u, p); err != nil {
		t.Fatal(err)
	}
	keys := w.enqueue(w.lead(chloe, "First"), w.lead(chloe, "Second"), w.lead(chloe, "Third"))
	d := w.deliverer(clock)
	eventually(t, "all three held", func() bool {
		items, _ := w.st.HeldFor(ctxT(t), chloe.u)
		return len(items) == 3
	})
	if len(w.sent.of(chloe.u)) != 0 {
		t.Fatal("a snoozed user was notified")
	}
	if n := d.FlushDue(ctxT(t)); n != 0 {
		t.Fatalf("flushed %d digests before the snooze ended", n)
	}
	mu.Lock()
	now = now.Add(3 * time.Hour)
	mu.Unlock()
	if n := d.FlushDue(ctxT(t)); n != 1 {
		t.Fatalf("flushed %d digests after the snooze", n)
	}
	vs := w.sent.of(chloe.u)
	l, ok := vs[len(vs)-1].(*cards.List)
	if len(vs) != 1 || !ok || len(l.Items) != 3 {
		t.Fatalf("digest: %d views, %#v", len(vs), vs)
	}
	var titles []string
	for _, it := range l.Items {
		titles = append(titles, it.Title)
		if !strings.Contains(it.Subtitle, "Mathilde") || it.Open.ID == "" {
			t.Errorf("digest item %+v: no \"by\" or no View button", it)
		}
	}
	mustHave := strings.Join(titles, "|")
	for _, want := range []string{"First", "Second", "Third"} {
		if !strings.Contains(mustHave, want) {
			t.Fatalf("digest lists %v, missing %s", titles, want)
		}
	}
	if items, _ := w.st.HeldFor(ctxT(t), chloe.u); len(items) != 0 {
		t.Fatalf("%d items still held after the digest", len(items))
	}
	if n := d.FlushDue(ctxT(t)); n != 0 || len(w.sent.of(chloe.u)) != 1 {
		t.Fatal("the digest went twice")
	}
	_ = keys
}

// Daily digest: held until the user's hour, then one list.
func TestDelivererDailyDigest(t *testing.T) {
	w := newWorld(t)
	chloe := w.linked("chloe.dubois@demo.crmbot.dev", "fr")
	var mu sync.Mutex
	now := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w.core.Now = clock
	p := store.DefaultPreferences()
	p.Digest, p.DigestHour, p.TimeZone = true, 9, "Europe/Paris"
	if err := w.st.PutPreferences(ctxT(t), chloe.u, p); err != nil {
		t.Fatal(err)
	}
	if got, want := bot.NextDigest(p, now), time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Fatalf("next digest %v, want %v (9:00 in Paris)", got, want)
	}
	w.enqueue(w.lead(chloe, "Tomorrow"))
	d := w.deliverer(clock)
	eventually(t, "held", func() bool { items, _ := w.st.HeldFor(ctxT(t), chloe.u); return len(items) == 1 })
	mu.Lock()
	now = time.Date(2026, 11, 25, 7, 59, 0, 0, time.UTC)
	mu.Unlock()
	if d.FlushDue(ctxT(t)) != 0 {
		t.Fatal("digest before its hour")
	}
	mu.Lock()
	now = time.Date(2026, 11, 25, 8, 0, 1, 0, time.UTC)
	mu.Unlock()
	if d.FlushDue(ctxT(t)) != 1 {
		t.Fatal("no digest at its hour")
	}
	l, ok := w.sent.of(chloe.u)[0].(*cards.List)
	if !ok || l.Title != "Votre récapitulatif du jour" || len(l.Items) != 1 {
		t.Fatalf("digest: %#v", w.sent.of(chloe.u))
	}
}

// A broken link holds notifications and says so once; a relink releases
// them as one digest.
func TestDelivererBrokenLinkPausesAndTellsOnce(t *testing.T) {
	w := newWorld(t)
	chloe := w.linked("chloe.dubois@demo.crmbot.dev", "en")
	a1, a2 := w.lead(chloe, "While broken 1"), w.lead(chloe, "While broken 2")
	if _, err := w.st.MarkBroken(ctxT(t), chloe.u, "invalid_grant"); err != nil {
		t.Fatal(err)
	}
	w.enqueue(a1, a2)
	d := w.deliverer(time.Now)
	eventually(t, "both held", func() bool { items, _ := w.st.HeldFor(ctxT(t), chloe.u); return len(items) == 2 })
	eventually(t, "the ack", w.outboxEmpty)
	vs := w.sent.of(chloe.u)
	if len(vs) != 1 {
		t.Fatalf("%d messages to a user whose link broke, want one notice", len(vs))
	}
	if m, ok := vs[0].(*cards.Message); !ok || !strings.Contains(strings.Join(m.Text, " "), "paused") {
		t.Fatalf("notice: %#v", vs[0])
	}
	if d.FlushDue(ctxT(t)) != 0 {
		t.Fatal("held notifications went out while the link is broken")
	}
	// Relink (as the link service does), then wake the held ones.
	chloe = w.linked("chloe.dubois@demo.crmbot.dev", "en")
	if err := w.st.WakeHeld(ctxT(t), chloe.u, time.Now()); err != nil {
		t.Fatal(err)
	}
	if d.FlushDue(ctxT(t)) != 1 {
		t.Fatal("no digest after the relink")
	}
	vs = w.sent.of(chloe.u)
	if l, ok := vs[len(vs)-1].(*cards.List); !ok || len(l.Items) != 2 {
		t.Fatalf("digest after relink: %#v", vs[len(vs)-1])
	}
}

// A post slower than RetryAfter is claimed by another replica meanwhile:
// that replica must not post it a second time.
func TestDelivererSlowPostIsNotDoubledByAnotherReplica(t *testing.T) {
	w := newWorld(t)
	chloe := w.linked("chloe.dubois@demo.crmbot.dev", "en")
	var mu sync.Mutex
	slow := true
	w.sent.setFail(func(store.ChatUser, cards.View) error {
		mu.Lock()
		s := slow
		slow = false
		mu.Unlock()
		if s {
			time.Sleep(3 * time.Second) // Slack answering 429s, say (the recorder's lock is held: the other replica waits too)
		}
		return nil
	})
	w.enqueue(w.lead(chloe, "Slow"))
	// Two replicas; the post takes three times RetryAfter (the heartbeat,
	// every RetryAfter/3, must keep the entry from the other replica).
	for _, name := range []string{"replica-1", "replica-2"} {
		d := &bot.Deliverer{Core: w.core, Store: w.st, Keys: []store.SyncKey{outboxKey}, Consumer: name,
			Block: 50 * time.Millisecond, RetryAfter: time.Second, FlushEvery: time.Hour, Logger: quiet()}
		if err := d.Init(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); d.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
	}
	eventually(t, "the card", func() bool { return len(w.sent.of(chloe.u)) >= 1 })
	eventually(t, "the ack", w.outboxEmpty)
	time.Sleep(1500 * time.Millisecond) // past RetryAfter: nothing is claimed and posted again
	if n := len(w.sent.of(chloe.u)); n != 1 {
		t.Fatalf("posted %d times", n)
	}
}

// pausedSender holds the first post it is given until released: the worker
// making it is frozen after its last "posted meanwhile?" look (Core.Deliver
// calls BeforeSend right before Send) and before its request leaves, as a
// replica stopped by SIGSTOP or a long GC pause would be.
type pausedSender struct {
	*recorder
	first   atomic.Bool
	arrived chan struct{} // closed when the first post is held
	release chan struct{} // close to let it go
}

func (p *pausedSender) Send(ctx context.Context, to store.ChatUser, v cards.View, o bot.SendOptions) (bot.MessageRef, error) {
	if p.first.CompareAndSwap(false, true) {
		close(p.arrived)
		<-p.release
	}
	return p.recorder.Send(ctx, to, v, o)
}

// counterValue reads crmbot_notifications_total{record_type, outcome}.
func counterValue(t *testing.T, reg *prometheus.Registry, recordType, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "crmbot_notifications_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["record_type"] == recordType && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// The race TestTwoReplicasSIGSTOP (e2e/soak) met about once in six runs,
// without signals: replica A is frozen between its last check and its
// post; replica B claims the entry, posts and records; A wakes and posts
// too. A's record comes second (ClaimSent: first writer wins), so A deletes
// its own post: one card remains, B's, and the removal is counted.
func TestDelivererPausedReplicaDeletesItsDuplicate(t *testing.T) {
	w := newWorld(t)
	chloe := w.linked("chloe.dubois@demo.crmbot.dev", "en")
	paused := &pausedSender{recorder: w.sent, arrived: make(chan struct{}), release: make(chan struct{})}
	w.core.Senders[store.PlatformSlack] = paused
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(paused.release) }) }
	reg := prometheus.NewRegistry()
	metrics := bot.NewDeliveryMetrics(reg)
	run := func(name string, retryAfter time.Duration) {
		d := &bot.Deliverer{Core: w.core, Store: w.st, Keys: []store.SyncKey{outboxKey}, Consumer: name,
			Block: 50 * time.Millisecond, RetryAfter: retryAfter, FlushEvery: time.Hour, Logger: quiet(), Metrics: metrics}
		if err := d.Init(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); d.Run(ctx) }()
		// A failing test must not hang on replica A frozen in its post.
		t.Cleanup(func() { release(); cancel(); <-done })
	}
	keys := w.enqueue(w.lead(chloe, "Paused"))

	// Replica A reads the entry and freezes right before its post. Its
	// heartbeat is frozen too (a beat every RetryAfter/3: 20 minutes), so
	// the entry goes idle, as under SIGSTOP.
	run("replica-a", time.Hour)
	select {
	case <-paused.arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("replica A never got to its post")
	}
	// Replica B claims the idle entry, finds nothing recorded, posts and
	// records its post.
	run("replica-b", 100*time.Millisecond)
	var bRef string
	eventually(t, "replica B's post recorded", func() bool {
		ref, err := w.st.SentRef(ctxT(t), keys[0], chloe.u)
		bRef = ref
		return err == nil && strings.HasPrefix(ref, "posted:")
	})
	if n := len(w.sent.of(chloe.u)); n != 1 {
		t.Fatalf("%d posts before replica A wakes, want B's one", n)
	}
	// A wakes and posts: a duplicate, until A finds B's record and deletes
	// its own.
	release()
	eventually(t, "replica A's copy deleted", func() bool { return w.sent.deletes() == 1 })
	eventually(t, "the ack", w.outboxEmpty)
	time.Sleep(300 * time.Millisecond) // past B's RetryAfter: nothing else comes
	if n := len(w.sent.of(chloe.u)); n != 1 {
		t.Fatalf("%d cards remain, want 1", n)
	}
	if n := w.sent.deletes(); n != 1 {
		t.Fatalf("%d deletes, want 1", n)
	}
	if ref, err := w.st.SentRef(ctxT(t), keys[0], chloe.u); err != nil || ref != bRef {
		t.Fatalf("the record changed: %q, %v (B recorded %q)", ref, err, bRef)
	}
	w.sent.mu.Lock()
	kept := w.sent.refs[chloe.u][0]
	w.sent.mu.Unlock()
	if "posted:"+kept.Platform+"|"+kept.Conversation+"|"+kept.ID != bRef {
		t.Fatalf("the card left is %+v, not B's (%q)", kept, bRef)
	}
	if got := counterValue(t, reg, "lead", "duplicate_removed"); got != 1 {
		t.Fatalf(`crmbot_notifications_total{outcome="duplicate_removed"} = %v, want 1`, got)
	}
	if got := counterValue(t, reg, "lead", "posted"); got != 1 {
		t.Fatalf(`crmbot_notifications_total{outcome="posted"} = %v, want 1 (B's)`, got)
	}
}

// A worker whose hold comes second (another replica posted first) drops
// what it held; one whose post comes after a recorded "held" or "skipped"
// keeps its post — the user's only card — records it, and drops the other
// replica's hold. Driven directly through the store: the decision another
// replica made is written while this worker is inside its post.
func TestDelivererPostAfterAnotherDecisionIsKept(t *testing.T) {
	for _, recorded := range []string{"held", "skipped"} {
		t.Run(recorded, func(t *testing.T) {
			w := newWorld(t)
			chloe := w.linked("chloe.dubois@demo.crmbot.dev", "en")
			a := w.lead(chloe, "Decided elsewhere")
			key := store.EventDedupeKey(a.RecordID, a.Version, fmt.Sprint(a.Kind), a.SystemUserID)
			payload, err := a.Encode()
			if err != nil {
				t.Fatal(err)
			}
			// Another replica decides while this one is past its last look
			// (inside Send): as it really does, a hold first, then the record.
			w.sent.setFail(func(store.ChatUser, cards.View) error {
				if recorded == "held" {
					if err := w.st.Hold(context.Background(), chloe.u, key, payload, time.Now().Add(time.Hour)); err != nil {
						return err
					}
				}
				return w.st.MarkSent(context.Background(), key, chloe.u, recorded, time.Hour)
			})
			w.enqueue(a)
			w.deliverer(time.Now)
			eventually(t, "the post and its record", func() bool {
				ref, _ := w.st.SentRef(ctxT(t), key, chloe.u)
				return len(w.sent.of(chloe.u)) > 0 && strings.HasPrefix(ref, "posted:")
			})
			eventually(t, "the ack", w.outboxEmpty)
			time.Sleep(200 * time.Millisecond) // a late delete would show now
			if n := len(w.sent.of(chloe.u)); n != 1 {
				t.Fatalf("%d cards after another replica recorded %q, want this worker's 1 (the user's only card)", n, recorded)
			}
			if n := w.sent.deletes(); n != 0 {
				t.Fatalf("%d deletes: the only card was taken back", n)
			}
			if ref, _ := w.st.SentRef(ctxT(t), key, chloe.u); !strings.HasPrefix(ref, "posted:") {
				t.Fatalf("record %q, want this worker's post", ref)
			}
			if items, err := w.st.HeldFor(ctxT(t), chloe.u); err != nil || len(items) != 0 {
				t.Fatalf("still held: %d items, %v (the digest would repeat the card)", len(items), err)
			}
		})
	}
	t.Run("hold after a post", func(t *testing.T) {
		w := newWorld(t)
		chloe := w.linked("chloe.dubois@demo.crmbot.dev", "en")
		p := store.DefaultPreferences()
		p.SnoozeUntil = time.Now().Add(time.Hour)
		if err := w.st.PutPreferences(ctxT(t), chloe.u, p); err != nil {
			t.Fatal(err)
		}
		a := w.lead(chloe, "Posted elsewhere")
		key := store.EventDedupeKey(a.RecordID, a.Version, fmt.Sprint(a.Kind), a.SystemUserID)
		// The other replica's post is recorded after this one's last look but
		// before its own record: the store's Hold is where this worker is.
		st := &recordOnHold{DelivererStore: w.st, key: key, u: chloe.u}
		d := &bot.Deliverer{Core: w.core, Store: st, Keys: []store.SyncKey{outboxKey}, Consumer: "test",
			Block: 50 * time.Millisecond, RetryAfter: 100 * time.Millisecond, FlushEvery: time.Hour, Logger: quiet()}
		if err := d.Init(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); d.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		w.enqueue(a)
		eventually(t, "the other replica's record", func() bool {
			_, err := w.st.SentRef(ctxT(t), key, chloe.u)
			return err == nil
		})
		eventually(t, "the ack", w.outboxEmpty) // the entry is pending now: empty means acked
		if items, err := w.st.HeldFor(ctxT(t), chloe.u); err != nil || len(items) != 0 {
			t.Fatalf("held after another replica posted: %d items, %v", len(items), err)
		}
		if ref, _ := w.st.SentRef(ctxT(t), key, chloe.u); ref != "posted:slack|D-elsewhere|1" {
			t.Fatalf("record %q, want the other replica's post", ref)
		}
	})
}

// recordOnHold records another replica's post when the worker holds.
type recordOnHold struct {
	bot.DelivererStore
	key string
	u   store.ChatUser
}

func (s *recordOnHold) Hold(ctx context.Context, u store.ChatUser, id string, item []byte, due time.Time) error {
	if err := s.DelivererStore.Hold(ctx, u, id, item, due); err != nil {
		return err
	}
	if id == s.key && u == s.u {
		return s.DelivererStore.MarkSent(ctx, s.key, s.u, "posted:slack|D-elsewhere|1", time.Hour)
	}
	return nil
}
