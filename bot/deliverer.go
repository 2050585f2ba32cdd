package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	gosync "sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/crmbot/crmbot/store"
)

// DelivererStore is what the delivery workers need from the store.
type DelivererStore interface {
	store.Outbox
	store.SentStore
	store.HeldStore
	store.Locker
	store.Dedupe
	LinkedUsers(ctx context.Context, systemUserID string) ([]store.ChatUser, error)
	GetLink(ctx context.Context, u store.ChatUser) (store.Link, error)
}

// Deliverer defaults.
const (
	// DefaultRetryAfter is how long an entry a worker failed (or left when
	// it died) after its first delivery waits before another attempt claims
	// it; each later retry waits twice as long as the one before, up to
	// 2^store.MaxBackoffDoublings × RetryAfter (store.ClaimBackoff).
	DefaultRetryAfter = 30 * time.Second
	// DefaultFlushEvery is how often held notifications that are due
	// (digest hour, end of snooze, relink) are looked for.
	DefaultFlushEvery = 15 * time.Second
	// sentTTL is how long "posted to this user" is remembered per event:
	// as long as the outbox dedupe window.
	sentTTL = store.DefaultDedupeWindow
	// pausedToldTTL bounds the "told about the broken link" marker.
	pausedToldTTL = 365 * 24 * time.Hour
	// entryTimeout bounds the delivery of one outbox entry (or one digest).
	entryTimeout = 2 * time.Minute
)

// errAlreadySent: another replica delivered this (event, user) meanwhile.
var errAlreadySent = errors.New("delivered meanwhile by another replica")

// Deliverer is the delivery workers: on every replica it reads the outbox
// of each SyncKey through the consumer group, and delivers each event to
// every chat user linked to its Dynamics user by their preferences (skip,
// hold for the digest or a snooze, post now), remembering each post so a
// retry posts nothing twice, then acks. The record is first writer wins
// (store.SentStore.ClaimSent): a worker that posted while another replica
// delivered the same (event, user) deletes its own post. A failed delivery
// is retried (by a claim once due: after RetryAfter, then backing off
// exponentially, see store.Outbox.ClaimOutbox) until the outbox
// dead-letters it; an entry a dead worker left is claimed the same way.
// Held notifications go out as one digest when due. Create it, call Init,
// then Run.
type Deliverer struct {
	Core  *Core
	Store DelivererStore
	// Keys are the outboxes to read: one per synced (org, record type).
	Keys []store.SyncKey
	// Consumer names this replica in the consumer group.
	Consumer string
	// Batch is how many entries one read takes (0: 16); Parallel how many
	// are delivered at once per outbox (0: 8).
	Batch, Parallel int
	// Block is how long a read waits for new entries (0: 2 s).
	Block time.Duration
	// RetryAfter: see DefaultRetryAfter.
	RetryAfter time.Duration
	// FlushEvery: see DefaultFlushEvery.
	FlushEvery time.Duration
	Logger     *slog.Logger
	Metrics    *DeliveryMetrics
	Now        func() time.Time
}

// Init checks the configuration and fills defaults.
func (d *Deliverer) Init() error {
	if d.Core == nil || d.Store == nil || d.Consumer == "" {
		return errors.New("deliverer: Core, Store and Consumer are required")
	}
	if d.Batch <= 0 {
		d.Batch = 16
	}
	if d.Parallel <= 0 {
		d.Parallel = 8
	}
	if d.Block <= 0 {
		d.Block = 2 * time.Second
	}
	if d.RetryAfter <= 0 {
		d.RetryAfter = DefaultRetryAfter
	}
	if d.FlushEvery <= 0 {
		d.FlushEvery = DefaultFlushEvery
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return nil
}

// Run delivers until ctx ends. Entries being delivered when it ends are
// finished (bounded by their own timeouts) or left pending for a claim.
func (d *Deliverer) Run(ctx context.Context) {
	var wg gosync.WaitGroup
	for _, k := range d.Keys {
		wg.Go(func() { d.outboxLoop(ctx, k) })
	}
	wg.Go(func() { d.flushLoop(ctx) })
	wg.Wait()
}

// outboxLoop serves one outbox: first what is due for a retry (or was left
// by a dead worker), then new entries, up to Parallel at once. A slot is
// refilled as soon as it frees up, so one slow delivery (a paced channel,
// a slow Dynamics) holds back no other.
func (d *Deliverer) outboxLoop(ctx context.Context, key store.SyncKey) {
	log := d.Logger.With("outbox", key.String())
	slots := make(chan struct{}, d.Parallel)
	var wg gosync.WaitGroup
	defer wg.Wait()
	failures := 0
	for ctx.Err() == nil {
		// Wait for a free slot, then take as many entries as slots are free.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		free := 1
		for free < d.Parallel && free < d.Batch {
			select {
			case slots <- struct{}{}:
				free++
				continue
			default:
			}
			break
		}
		entries, err := d.Store.ClaimOutbox(ctx, key, d.Consumer, d.RetryAfter, free)
		if err == nil && len(entries) == 0 {
			entries, err = d.Store.ReadOutbox(ctx, key, d.Consumer, free, d.Block)
		}
		for range free - len(entries) {
			<-slots // give back what this read did not fill
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			failures++
			wait := backoffDelay(failures)
			log.Warn("delivery: cannot read the outbox", "error", err, "retry_in", wait)
			if !sleepCtx(ctx, wait) {
				return
			}
			continue
		}
		failures = 0
		for _, e := range entries {
			wg.Go(func() {
				defer func() { <-slots }()
				d.deliverEntry(ctx, key, e)
			})
		}
	}
}

// deliverEntry delivers one event to each linked chat user and acks it, or
// records the failure for a retry.
func (d *Deliverer) deliverEntry(ctx context.Context, key store.SyncKey, e store.OutboxEntry) {
	// The work of one entry is not abandoned half way at shutdown: a post
	// Slack accepted is recorded before the process stops.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), entryTimeout)
	defer cancel()
	log := d.Logger.With("outbox", key.String(), "entry", e.ID, "attempt", e.Attempts)
	// A heartbeat while we work: a live worker's entry is never claimed by
	// another replica (only a dead or paused one's is), and a slow delivery
	// costs no attempt.
	beat := make(chan struct{})
	defer close(beat)
	go func() {
		t := time.NewTicker(max(d.RetryAfter/3, 10*time.Millisecond))
		defer t.Stop()
		for {
			select {
			case <-beat:
				return
			case <-t.C:
				if err := d.Store.TouchOutbox(ctx, key, d.Consumer, e.ID); err != nil && ctx.Err() == nil {
					log.Debug("delivery: heartbeat failed", "error", err)
				}
			}
		}
	}()
	a, err := DecodeAssignment(e.Payload)
	if err != nil {
		d.fail(ctx, key, e, err, log)
		return
	}
	users, err := d.Store.LinkedUsers(ctx, a.SystemUserID)
	if err != nil {
		d.fail(ctx, key, e, err, log)
		return
	}
	var errs []error
	for _, u := range users {
		if err := d.deliverTo(ctx, e, a, u); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", u, err))
		}
	}
	if len(errs) > 0 {
		d.fail(ctx, key, e, errors.Join(errs...), log)
		return
	}
	if err := d.Store.AckOutbox(ctx, key, e.ID); err != nil {
		// Delivered and remembered: a claim will find every post marked sent.
		log.Warn("delivery: ack failed; the entry will be claimed again and find its posts", "error", err)
	}
}

// deliverTo delivers a to one chat user, once.
func (d *Deliverer) deliverTo(ctx context.Context, e store.OutboxEntry, a Assignment, u store.ChatUser) error {
	if _, err := d.Store.SentRef(ctx, e.DedupeKey, u); err == nil {
		return nil // an earlier attempt posted it (or decided)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// Right before posting, look again: a replica that was paused (GC,
	// SIGSTOP) may find its entry delivered meanwhile by the one that
	// claimed it.
	again := func(ctx context.Context) error {
		if _, err := d.Store.SentRef(ctx, e.DedupeKey, u); err == nil {
			return errAlreadySent
		}
		return nil
	}
	r := d.Core.Deliver(ctx, a, u, SendOptions{Key: e.DedupeKey, Recover: e.Attempts > 1, BeforeSend: again})
	var mark string
	switch {
	case errors.Is(r.Err, errAlreadySent):
		return nil
	case r.Err != nil:
		d.Metrics.outcome(a.RecordType, "failed")
		return r.Err
	case r.Skipped:
		mark = "skipped"
	case r.Hold:
		// Hold first, record after: a crash or a failed Hold leaves nothing
		// recorded, so the retry holds again (claiming first could record
		// "held" for an item never held: a loss). The price, when another
		// replica posts meanwhile and a digest goes out before undo drops
		// this hold, is a card twice, never zero times.
		if err := d.Store.Hold(ctx, u, e.DedupeKey, e.Payload, r.HoldUntil); err != nil {
			return err
		}
		mark = "held"
	default:
		mark = refString(r.Ref)
	}
	// First writer wins: a replica paused after its last look (above) and
	// before its post may have posted what the replica that claimed its
	// entry posted and recorded meanwhile. Whoever records second undoes
	// what it did.
	recorded, err := d.Store.ClaimSent(ctx, e.DedupeKey, u, mark, sentTTL)
	if err != nil {
		return fmt.Errorf("remember the post: %w", err)
	}
	if recorded != mark {
		d.undo(ctx, e, a, u, r, mark, recorded)
		return nil
	}
	if r.Hold && r.Broken {
		d.tellPaused(ctx, u)
	}
	if mark != "skipped" && mark != "held" && !a.Detected.IsZero() {
		d.Metrics.latency(d.Now().Sub(a.Detected))
	}
	d.Metrics.outcome(a.RecordType, strings.SplitN(mark, ":", 2)[0])
	return nil
}

// undo settles what deliverTo did for (e, u) when its record came second
// (mark lost to recorded, what another replica recorded first). A card must
// never be lost to settle a duplicate:
//
//   - a post that finds another post recorded is a duplicate: it is
//     deleted (the Sender implements Deleter). A Sender that cannot delete
//     leaves it, as does a failed delete: logged and counted, not retried.
//   - a post that finds "skipped" (another replica could not reach the
//     user, or found them not wanting it) or "held" (another replica held
//     it for a digest) is the only card the user has now: it stays, the
//     record becomes this post, and the other replica's hold is dropped (if
//     a digest took it meanwhile, the user sees it twice, never zero times).
//   - a hold that finds a post or a skip recorded is dropped: the digest
//     would repeat the post (or go where the skip said not to).
//   - a skip changes nothing.
func (d *Deliverer) undo(ctx context.Context, e store.OutboxEntry, a Assignment, u store.ChatUser, r Delivery, mark, recorded string) {
	log := d.Logger.With("entry", e.ID, "key", e.DedupeKey, "chat_user", u.String(), "recorded", recorded)
	switch {
	case mark == "skipped":
		return
	case mark == "held":
		if err := d.Store.DropHeld(ctx, u, e.DedupeKey); err != nil {
			log.WarnContext(ctx, "delivery: another replica recorded this notification first; could not drop it from the held ones: the digest may repeat it", "error", err)
			return
		}
		log.InfoContext(ctx, "delivery: another replica recorded this notification first; dropped it from the held ones")
		return
	case !strings.HasPrefix(recorded, "posted:"):
		// Ours is the only card: keep it, and make the record say so.
		if err := d.Store.MarkSent(ctx, e.DedupeKey, u, mark, sentTTL); err != nil {
			log.WarnContext(ctx, "delivery: could not record this post over another replica's decision", "error", err)
		}
		if recorded == "held" {
			if err := d.Store.DropHeld(ctx, u, e.DedupeKey); err != nil {
				log.WarnContext(ctx, "delivery: could not drop the hold another replica made: the digest may repeat this card", "error", err)
			}
		}
		d.Metrics.outcome(a.RecordType, "posted")
		log.InfoContext(ctx, "delivery: posted after another replica decided otherwise; kept the post (the user's only card)")
		return
	}
	log = log.With("posted", mark)
	del, ok := d.Core.Senders[u.Platform].(Deleter)
	if !ok {
		d.Metrics.outcome(a.RecordType, "duplicate")
		log.WarnContext(ctx, "delivery: another replica recorded this notification first (this one was paused before its post); the platform cannot delete this copy: it shows twice")
		return
	}
	if err := del.Delete(ctx, u, r.Ref); err != nil {
		d.Metrics.outcome(a.RecordType, "duplicate")
		log.WarnContext(ctx, "delivery: another replica recorded this notification first (this one was paused before its post); could not delete this copy: it shows twice", "error", err)
		return
	}
	d.Metrics.outcome(a.RecordType, "duplicate_removed")
	log.InfoContext(ctx, "delivery: another replica recorded this notification first (this one was paused before its post); deleted this copy")
}

// tellPaused tells a user whose link broke, once per link, that their
// notifications wait for a relink.
func (d *Deliverer) tellPaused(ctx context.Context, u store.ChatUser) {
	link, err := d.Store.GetLink(ctx, u)
	if err != nil {
		return
	}
	first, err := d.Store.SeenOnce(ctx, "paused:"+u.String()+":"+strconv.FormatInt(link.LinkedAt.UnixMilli(), 10), pausedToldTTL)
	if err != nil || !first {
		return
	}
	if err := d.Core.TellPaused(ctx, u); err != nil {
		d.Logger.Warn("delivery: could not tell a user their notifications are paused", "chat_user", u.String(), "error", err)
	}
}

func (d *Deliverer) fail(ctx context.Context, key store.SyncKey, e store.OutboxEntry, cause error, log *slog.Logger) {
	reason := cause.Error()
	if len(reason) > 500 {
		reason = reason[:500]
	}
	dead, err := d.Store.FailOutbox(ctx, key, e.ID, reason)
	if err != nil {
		log.Warn("delivery: could not record a failure; the entry will be claimed again", "error", err, "cause", reason)
		return
	}
	if dead {
		d.Metrics.outcome(key.RecordType, "dead")
		log.Error("delivery: gave up; the notification is dead-lettered (retry it from the status page)", "cause", reason)
		return
	}
	log.Warn("delivery failed; will retry", "cause", reason, "retry_in", store.ClaimBackoff(d.RetryAfter, e.Attempts))
}

// refString is how a post is remembered: "posted:platform|conversation|id".
func refString(r MessageRef) string {
	return "posted:" + r.Platform + "|" + r.Conversation + "|" + r.ID
}

// flushLoop sends held notifications that are due.
func (d *Deliverer) flushLoop(ctx context.Context) {
	t := time.NewTicker(d.FlushEvery)
	defer t.Stop()
	for {
		d.FlushDue(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// FlushDue sends the held notifications of every user who is due, as one
// digest each (one replica per user at a time). It returns how many users
// got a digest.
func (d *Deliverer) FlushDue(ctx context.Context) int {
	users, err := d.Store.DueHeld(ctx, d.Now(), 100)
	if err != nil {
		if ctx.Err() == nil {
			d.Logger.Warn("delivery: cannot list held notifications", "error", err)
		}
		return 0
	}
	sent := 0
	for _, u := range users {
		ok, err := d.flushUser(ctx, u)
		if err != nil {
			d.Logger.Warn("delivery: held notifications not sent yet", "chat_user", u.String(), "error", err)
		}
		if ok {
			sent++
		}
	}
	return sent
}

func (d *Deliverer) flushUser(ctx context.Context, u store.ChatUser) (bool, error) {
	release, ok, err := d.Store.TryLock(ctx, "held:"+u.String(), entryTimeout+time.Minute)
	if err != nil || !ok {
		return false, err
	}
	defer release(context.WithoutCancel(ctx))
	ctx, cancel := context.WithTimeout(ctx, entryTimeout)
	defer cancel()
	blocked, until, err := d.Core.HoldState(ctx, u)
	if err != nil {
		return false, err
	}
	if blocked {
		return false, d.Store.DeferHeld(ctx, u, until)
	}
	held, err := d.Store.HeldFor(ctx, u)
	if err != nil || len(held) == 0 {
		return false, err
	}
	items := make([]Assignment, 0, len(held))
	ids := make([]string, 0, len(held))
	h := sha256.New()
	for _, it := range held {
		ids = append(ids, it.ID)
		h.Write([]byte(it.ID + "\n"))
		a, err := DecodeAssignment(it.Item)
		if err != nil {
			d.Logger.Warn("delivery: dropping an unreadable held notification", "chat_user", u.String(), "error", err)
			continue
		}
		items = append(items, a)
	}
	// The digest's key names exactly what it holds: a retry after a crash
	// finds the digest it already posted (on Slack).
	key := "digest|" + hex.EncodeToString(h.Sum(nil))[:32]
	ref, err := d.Core.SendDigest(ctx, u, items, SendOptions{Key: key, Recover: true})
	switch {
	case errors.Is(err, ErrUnreachable), errors.Is(err, ErrNoSender):
		// Nobody to post to: drop them rather than retry forever.
		d.Logger.Info("delivery: held notifications dropped: the chat user cannot be reached", "chat_user", u.String(), "error", err)
		d.Metrics.outcome("digest", "skipped")
		return false, d.Store.DropHeld(ctx, u, ids...)
	case err != nil:
		// Try again later, behind the users who are due now.
		if derr := d.Store.DeferHeld(ctx, u, d.Now().Add(time.Minute+d.FlushEvery)); derr != nil {
			d.Logger.Warn("delivery: could not defer held notifications", "chat_user", u.String(), "error", derr)
		}
		return false, err
	}
	if err := d.Store.DropHeld(ctx, u, ids...); err != nil {
		return false, err
	}
	if ref.ID == "" {
		return false, nil
	}
	d.Metrics.outcome("digest", "posted")
	return true, nil
}

func backoffDelay(n int) time.Duration {
	return min(time.Second<<min(n-1, 6), 30*time.Second)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// DeliveryMetrics are the delivery workers' Prometheus series. A nil
// *DeliveryMetrics records nothing.
type DeliveryMetrics struct {
	outcomes *prometheus.CounterVec
	lat      prometheus.Histogram
}

// NewDeliveryMetrics registers the series on reg.
func NewDeliveryMetrics(reg prometheus.Registerer) *DeliveryMetrics {
	m := &DeliveryMetrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "crmbot_notifications_total",
			Help: "Notification deliveries per chat user by record type and outcome (posted, skipped, held, failed, dead; " +
				"duplicate_removed: a post another replica had made meanwhile, deleted again; duplicate: one that could not be)."},
			[]string{"record_type", "outcome"}),
		lat: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "crmbot_notification_latency_seconds",
			Help:    "From the sync seeing an assignment to its card being posted.",
			Buckets: []float64{.1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}}),
	}
	reg.MustRegister(m.outcomes, m.lat)
	return m
}

func (m *DeliveryMetrics) outcome(rt, outcome string) {
	if m != nil {
		m.outcomes.WithLabelValues(rt, outcome).Inc()
	}
}

func (m *DeliveryMetrics) latency(d time.Duration) {
	if m != nil {
		m.lat.Observe(d.Seconds())
	}
}
