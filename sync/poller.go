package sync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	gosync "sync"
	"time"

	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/store"
)

// Source is what the sync reads from Dynamics, with the application user's
// token; *crm.Client implements it.
type Source interface {
	TrackChanges(ctx context.Context, entitySet string, selectCols []string, pageSize int) (*crm.DeltaPage, error)
	NextDelta(ctx context.Context, p *crm.DeltaPage) (*crm.DeltaPage, error)
	ReadDelta(ctx context.Context, link string, pageSize int) (*crm.DeltaPage, error)
	TeamMembers(ctx context.Context, teamID string) ([]string, error)
}

// Store is what the sync needs from the store.
type Store interface {
	store.SnapshotStore
	store.LeaseStore
	store.Committer
	store.LinkIndex
}

// Defaults.
const (
	DefaultInterval = 30 * time.Second
	DefaultPageSize = 5000
	// DefaultLeaseTTL: a replica that dies holding a record type's lease
	// gives it up after this long; its holder renews it before every page.
	DefaultLeaseTTL = time.Minute
)

// baselinePrefix marks a stored cursor that is the next page of an
// unfinished baseline (a large org's first read survives a restart or a
// lease takeover), not a delta position.
const baselinePrefix = "baseline:"

// Poller syncs the record types of one Dynamics org. Every replica runs
// one; leases decide which replica syncs which type, so several replicas
// split the work and one that dies is replaced within LeaseTTL. Create it,
// call Init, then Run.
type Poller struct {
	// Org names the org in store keys (SyncKey.Org): its host, say.
	Org string
	// OrgID is the organization id webhooks carry; empty accepts any.
	OrgID string
	// Types are the record types to sync (the catalogue's Notify types).
	Types  []*crm.RecordType
	Source Source
	Store  Store
	// Bus, when set, carries pokes to every replica: a webhook reaches any
	// replica, the lease of its record type may be another's.
	Bus store.PokeBus
	// Holder names this replica in leases (host name + a random suffix).
	Holder string
	// Interval between delta reads (CRMBOT_SYNC_INTERVAL; 0: 30 s).
	Interval time.Duration
	// LeaseTTL of a record type's lease (0: DefaultLeaseTTL).
	LeaseTTL time.Duration
	// PageSize of change-tracking reads (0: 5000, Dataverse's maximum).
	PageSize int
	// MaxCommit caps the changes of one commit (0: store.MaxCommitChanges).
	MaxCommit int
	Logger    *slog.Logger
	Metrics   *Metrics
	Now       func() time.Time

	mu     gosync.Mutex
	states map[string]*typeState
	pokes  map[string]chan struct{} // per type: read now (this replica)
	relays map[string]chan struct{} // per type: tell every replica (Bus)
}

// typeState is what the status page shows of one record type.
type typeState struct {
	TypeStatus
}

// TypeStatus is the sync state of one record type on this replica.
type TypeStatus struct {
	RecordType string
	// Phase: "starting", "standby" (another replica holds the lease),
	// "baseline", "delta", "paused" (Dataverse throttled us), "error".
	Phase string
	// Held says this replica holds the lease.
	Held bool
	// Baseline counts the rows read by the current (or last) baseline.
	Baseline int64
	// LastSync is when the last cycle finished without error.
	LastSync time.Time
	// Enqueued counts the events this replica put in the outbox.
	Enqueued int64
	// PausedUntil is set while a Dataverse 429 pauses the type.
	PausedUntil time.Time
	LastError   string
}

// Init checks the configuration and fills defaults.
func (p *Poller) Init() error {
	if p.Org == "" || p.Source == nil || p.Store == nil || p.Holder == "" {
		return errors.New("sync: Org, Source, Store and Holder are required")
	}
	if len(p.Types) == 0 {
		return errors.New("sync: no record type to sync")
	}
	if p.Interval <= 0 {
		p.Interval = DefaultInterval
	}
	if p.LeaseTTL <= 0 {
		p.LeaseTTL = DefaultLeaseTTL
	}
	if p.PageSize <= 0 {
		p.PageSize = DefaultPageSize
	}
	if p.MaxCommit <= 0 {
		p.MaxCommit = store.MaxCommitChanges
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	p.states = map[string]*typeState{}
	p.pokes = map[string]chan struct{}{}
	p.relays = map[string]chan struct{}{}
	for _, rt := range p.Types {
		p.relays[rt.Name] = make(chan struct{}, 1)
		p.states[rt.Name] = &typeState{TypeStatus{RecordType: rt.Name, Phase: "starting"}}
		p.pokes[rt.Name] = make(chan struct{}, 1)
	}
	return nil
}

// Run syncs until ctx ends, then releases the leases it holds.
func (p *Poller) Run(ctx context.Context) {
	var wg gosync.WaitGroup
	for _, rt := range p.Types {
		wg.Go(func() { p.loop(ctx, rt) })
	}
	if p.Bus != nil {
		wg.Go(func() { p.listen(ctx) })
		for _, rt := range p.Types {
			wg.Go(func() { p.relay(ctx, rt.Name) })
		}
	}
	wg.Wait()
}

// Poke asks the poller of recordType to read its delta now (a webhook
// said something changed), on whichever replica holds its lease. It never
// blocks; false when the org or the type is not one this poller syncs.
func (p *Poller) Poke(orgID, recordType string) bool {
	if p.OrgID != "" && orgID != "" && !strings.EqualFold(orgID, p.OrgID) {
		return false
	}
	rt := strings.ToLower(recordType)
	if _, ok := p.pokes[rt]; !ok {
		return false
	}
	if p.Bus == nil {
		p.pokeLocal(rt)
		return true
	}
	select {
	case p.relays[rt] <- struct{}{}:
	default: // a relay of this type is pending: one publish covers both
	}
	return true
}

// relay publishes this replica's pokes of rt to every replica, one at a
// time (a burst of webhooks costs one PUBLISH in flight per type).
func (p *Poller) relay(ctx context.Context, rt string) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.relays[rt]:
		}
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := p.Bus.Poke(pctx, store.SyncKey{Org: p.Org, RecordType: rt})
		cancel()
		if err != nil && ctx.Err() == nil {
			// The bus is down: at least this replica reads now, if it holds the lease.
			p.Logger.Warn("sync: could not relay a webhook poke to the other replicas", "record_type", rt, "error", err)
			p.pokeLocal(rt)
		}
	}
}

func (p *Poller) pokeLocal(rt string) {
	select {
	case p.pokes[rt] <- struct{}{}:
	default: // a poke is already pending: one delta read covers both
	}
}

// listen relays the pokes of every replica to this one's loops, and
// resubscribes when the subscription ends before ctx does.
func (p *Poller) listen(ctx context.Context) {
	failures := 0
	for ctx.Err() == nil {
		ch, err := p.Bus.Pokes(ctx)
		if err != nil {
			failures++
			wait := backoff(failures, 30*time.Second)
			p.Logger.Warn("sync: cannot listen for webhook pokes; polling only meanwhile", "error", err, "retry_in", wait)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		failures = 0
		for k := range ch {
			if k.Org == p.Org {
				if _, ok := p.pokes[k.RecordType]; ok {
					p.pokeLocal(k.RecordType)
				}
			}
		}
	}
}

// Status returns the state of every record type, in Types order.
func (p *Poller) Status() []TypeStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]TypeStatus, 0, len(p.Types))
	for _, rt := range p.Types {
		out = append(out, p.states[rt.Name].TypeStatus)
	}
	return out
}

func (p *Poller) update(rt string, f func(*TypeStatus)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.states[rt].TypeStatus)
}

// loop is one record type's life on this replica: take the lease when it
// is free, run a cycle every Interval (or at once when poked), give the
// lease up when ctx ends.
func (p *Poller) loop(ctx context.Context, rt *crm.RecordType) {
	key := store.SyncKey{Org: p.Org, RecordType: rt.Name}
	log := p.Logger.With("record_type", rt.Name)
	var fence int64
	held := false
	defer func() {
		if !held {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := p.Store.ReleaseLease(rctx, key, p.Holder); err != nil && !errors.Is(err, store.ErrLeaseLost) {
			log.Warn("sync: could not release the lease", "error", err)
		}
		p.update(rt.Name, func(s *TypeStatus) { s.Held, s.Phase = false, "stopped" })
	}()
	var wait time.Duration
	var pausedUntil time.Time // a Dataverse 429: not even a poke reads before it
	failures := 0
	for {
		if !p.sleep(ctx, rt.Name, wait, pausedUntil) {
			return
		}
		wait = p.Interval
		if !held {
			f, ok, err := p.Store.AcquireLease(ctx, key, p.Holder, p.LeaseTTL)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				log.Warn("sync: could not take the lease", "error", err)
				p.update(rt.Name, func(s *TypeStatus) { s.Phase, s.LastError = "error", err.Error() })
				continue
			}
			if !ok {
				p.update(rt.Name, func(s *TypeStatus) { s.Phase, s.Held = "standby", false })
				continue
			}
			fence, held = f, true
			log.Info("sync: took the lease", "fence", fence)
			p.update(rt.Name, func(s *TypeStatus) { s.Held = true })
		} else if err := p.Store.RenewLease(ctx, key, p.Holder, p.LeaseTTL); err != nil {
			if ctx.Err() != nil {
				return
			}
			if !errors.Is(err, store.ErrLeaseLost) {
				// Redis unreachable: keep the lease (the fence guards every
				// commit) and try again soon.
				log.Warn("sync: could not renew the lease", "error", err)
				p.update(rt.Name, func(s *TypeStatus) { s.Phase, s.LastError = "error", err.Error() })
				failures++
				wait = backoff(failures, p.Interval)
				continue
			}
			log.Warn("sync: lost the lease", "error", err)
			held, wait = false, 0
			p.update(rt.Name, func(s *TypeStatus) { s.Held, s.Phase = false, "standby" })
			continue
		}
		start := p.Now()
		err := p.cycle(ctx, key, rt, fence)
		p.Metrics.cycle(rt.Name, err, p.Now().Sub(start))
		var throttled *crm.ThrottledError
		switch {
		case err == nil:
			failures = 0
			p.update(rt.Name, func(s *TypeStatus) {
				s.Phase, s.LastSync, s.LastError, s.PausedUntil = "delta", p.Now(), "", time.Time{}
			})
		case ctx.Err() != nil:
			return
		case errors.Is(err, store.ErrStaleFence), errors.Is(err, store.ErrLeaseLost):
			log.Warn("sync: another replica took over this record type", "error", err)
			held, wait = false, 0
			p.update(rt.Name, func(s *TypeStatus) { s.Held, s.Phase, s.LastError = false, "standby", err.Error() })
		case errors.As(err, &throttled):
			// Dataverse's limits are per principal: wait exactly as asked.
			wait = max(throttled.RetryAfter, time.Second)
			log.Warn("sync: Dynamics throttled the sync; pausing", "retry_after", wait)
			until := p.Now().Add(wait)
			pausedUntil = time.Now().Add(wait)
			p.update(rt.Name, func(s *TypeStatus) { s.Phase, s.PausedUntil, s.LastError = "paused", until, err.Error() })
		default:
			failures++
			wait = backoff(failures, p.Interval)
			log.Error("sync: cycle failed", "error", err, "retry_in", wait)
			p.update(rt.Name, func(s *TypeStatus) { s.Phase, s.LastError = "error", err.Error() })
		}
	}
}

// backoff after n consecutive failures: 1 s, 2 s, 4 s… capped at the
// interval, with jitter.
func backoff(n int, ceiling time.Duration) time.Duration {
	d := time.Second << min(n-1, 10)
	d = min(d, max(ceiling, time.Second))
	return d/2 + rand.N(d/2+1)
}

// sleep waits d, or until the type is poked (but never before
// pausedUntil); false when ctx ended.
func (p *Poller) sleep(ctx context.Context, rt string, d time.Duration, pausedUntil time.Time) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		case <-p.pokes[rt]:
			if time.Now().Before(pausedUntil) {
				continue // throttled: the pause ends on its own timer
			}
			p.Metrics.poked(rt)
			return true
		}
	}
}

// cycle reads what changed since the stored cursor and commits it page by
// page: a first run (or an unfinished one) reads the baseline; an expired
// delta token re-baselines without announcing the past.
func (p *Poller) cycle(ctx context.Context, key store.SyncKey, rt *crm.RecordType, fence int64) error {
	cur, err := p.Store.GetCursor(ctx, key)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return p.baseline(ctx, key, rt, fence, "")
	case err != nil:
		return fmt.Errorf("read the cursor: %w", err)
	case strings.HasPrefix(cur.Token, baselinePrefix):
		return p.baseline(ctx, key, rt, fence, strings.TrimPrefix(cur.Token, baselinePrefix))
	}
	p.Metrics.cursorAge(rt.Name, p.Now().Sub(cur.UpdatedAt))
	page, err := p.Source.ReadDelta(ctx, cur.Token, p.PageSize)
	if errors.Is(err, crm.ErrExpiredDelta) {
		p.Logger.Warn("sync: the change-tracking token expired (older than the org's retention); reading a new baseline, changes made meanwhile are not announced",
			"record_type", rt.Name, "cursor_age", p.Now().Sub(cur.UpdatedAt).Round(time.Second))
		p.Metrics.rebaseline(rt.Name)
		return p.baseline(ctx, key, rt, fence, "")
	}
	if err != nil {
		return err
	}
	p.update(rt.Name, func(s *TypeStatus) { s.Phase = "delta" })
	d := &detector{key: key, rt: rt, source: p.Source, store: p.Store, now: p.Now}
	for {
		changes, err := d.detect(ctx, page, false)
		if err != nil {
			return err
		}
		link := page.NextLink
		if link == "" {
			link = page.DeltaLink
		}
		if link == "" {
			return fmt.Errorf("read changes of %s: the page has neither a next link nor a delta link", rt.EntitySet)
		}
		if err := p.commit(ctx, key, rt.Name, fence, changes, link, len(page.Records)+len(page.Deleted)); err != nil {
			return err
		}
		if page.NextLink == "" {
			return nil
		}
		if err := p.Store.RenewLease(ctx, key, p.Holder, p.LeaseTTL); err != nil {
			return err
		}
		if page, err = p.Source.NextDelta(ctx, page); err != nil {
			return err
		}
	}
}

// baseline reads every row with change tracking, filling the snapshot
// without announcing anything, page by page. Each page's commit stores the
// next page's link as the cursor (marked baselinePrefix), so a restart or
// another replica goes on from there; the last page's delta link ends it.
// resume is that stored link, or empty to start afresh (the snapshot and
// cursor are reset first: records deleted meanwhile must not linger).
func (p *Poller) baseline(ctx context.Context, key store.SyncKey, rt *crm.RecordType, fence int64, resume string) error {
	log := p.Logger.With("record_type", rt.Name)
	var page *crm.DeltaPage
	var err error
	if resume != "" {
		page, err = p.Source.ReadDelta(ctx, resume, p.PageSize)
		var api *crm.APIError
		if err != nil && (errors.Is(err, crm.ErrExpiredDelta) || errors.As(err, &api) && api.StatusCode >= 400 && api.StatusCode < 500 && api.StatusCode != 429) {
			log.Warn("sync: the unfinished baseline cannot be resumed; starting it again", "error", err)
			resume = ""
		} else if err != nil {
			return err
		} else {
			log.Info("sync: resuming the baseline")
		}
	}
	if resume == "" {
		if err := p.Store.ResetSync(ctx, key, fence); err != nil {
			return err
		}
		log.Info("sync: reading the baseline (no notifications for what exists already)")
		p.update(rt.Name, func(s *TypeStatus) { s.Baseline = 0 })
		if page, err = p.Source.TrackChanges(ctx, rt.EntitySet, trackColumns, p.PageSize); err != nil {
			return err
		}
	}
	p.update(rt.Name, func(s *TypeStatus) { s.Phase = "baseline" })
	d := &detector{key: key, rt: rt, source: p.Source, store: p.Store, now: p.Now}
	pages := 0
	for {
		changes, err := d.detect(ctx, page, true)
		if err != nil {
			return err
		}
		link := page.DeltaLink
		if page.NextLink != "" {
			link = baselinePrefix + page.NextLink
		}
		if link == "" {
			return fmt.Errorf("track changes of %s: the page has neither a next link nor a delta link", rt.EntitySet)
		}
		if err := p.commit(ctx, key, rt.Name, fence, changes, link, len(page.Records)+len(page.Deleted)); err != nil {
			return err
		}
		pages++
		var total int64
		p.update(rt.Name, func(s *TypeStatus) { s.Baseline += int64(len(page.Records)); total = s.Baseline })
		p.Metrics.baselineRows(rt.Name, len(page.Records))
		if page.NextLink == "" {
			log.Info("sync: baseline done", "records", total)
			return nil
		}
		if pages%10 == 0 {
			log.Info("sync: baseline progress", "records", total)
		}
		if err := p.Store.RenewLease(ctx, key, p.Holder, p.LeaseTTL); err != nil {
			return err
		}
		if page, err = p.Source.NextDelta(ctx, page); err != nil {
			return err
		}
	}
}

// commit applies one page's changes and cursor, in as few fenced commits as
// the size cap allows (the cursor goes with the last).
func (p *Poller) commit(ctx context.Context, key store.SyncKey, rt string, fence int64, changes []change, link string, rows int) error {
	enqueued := 0
	for _, c := range pack(changes, &store.Cursor{Token: link}, p.MaxCommit) {
		n, err := p.Store.CommitSync(ctx, key, fence, c)
		if err != nil {
			return fmt.Errorf("commit %d changes: %w", c.Size(), err)
		}
		enqueued += n
	}
	p.Metrics.page(rt, rows, enqueued)
	if enqueued > 0 {
		p.update(rt, func(s *TypeStatus) { s.Enqueued += int64(enqueued) })
		p.Logger.Debug("sync: events enqueued", "record_type", rt, "events", enqueued)
	}
	return nil
}
