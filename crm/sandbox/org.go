package sandbox

import (
	"context"
	"maps"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// org is the Dataverse organization: schema, records, change logs, faults and
// the webhook emitter. One RWMutex guards all record state; writes go through a
// tx so a $batch change set can roll back as a whole.
type org struct {
	opts   Options
	schema *schema
	users  []User

	mu      sync.RWMutex
	tables  map[string]*table // by logical name
	version int64             // last versionnumber handed out (org-wide, monotonic)
	teams   map[string][]string
	roles   map[string]string // systemuserid → role (sales, support, manager, app)

	clockOffset atomic.Int64 // added to opts.Now (tests move time forward)
	faults      faultState
	hooks       *webhookEmitter
}

// table holds the records of one entity type with their change log.
type table struct {
	info  *entityInfo
	rows  map[string]*record
	order []string    // ids, ascending: the default (and tie-breaking) order
	log   []change    // ordered by version; trimmed to DeltaTokenTTL (changes.go)
	logx  changeIndex // the log's bookkeeping (changes.go)
}

// record is one row. It is replaced, never mutated in place, once committed:
// readers holding the old pointer stay consistent and a rollback restores it.
type record struct {
	attrs map[string]any    // property → value (string, int64, float64, bool, time.Time)
	ltype map[string]string // lookup property → target logical name
}

// Get implements the odata Record interface.
func (r *record) Get(name string) (any, bool) {
	v, ok := r.attrs[name]
	return v, ok
}

func (r *record) clone() *record {
	return &record{attrs: maps.Clone(r.attrs), ltype: maps.Clone(r.ltype)}
}

func (r *record) version() int64 { v, _ := r.attrs["versionnumber"].(int64); return v }

func (r *record) str(name string) string { s, _ := r.attrs[name].(string); return s }

func (r *record) int(name string) (int, bool) {
	v, ok := r.attrs[name].(int64)
	return int(v), ok
}

func newOrg(opts Options, users []User) *org {
	s, err := loadSchema()
	if err != nil {
		panic(err) // the embedded schema is part of the binary: a broken one is a build bug
	}
	o := &org{
		opts: opts, schema: s, users: users, tables: map[string]*table{},
		version: 1_000_000, teams: map[string][]string{}, roles: map[string]string{},
	}
	for name, e := range s.byName {
		o.tables[name] = &table{info: e, rows: map[string]*record{}}
	}
	o.seed()
	if opts.Webhook != nil {
		o.hooks = newWebhookEmitter(o, *opts.Webhook)
	}
	return o
}

// now is the org clock, truncated to seconds as Dataverse stores datetimes.
func (o *org) now() time.Time {
	return o.opts.Now().Add(time.Duration(o.clockOffset.Load())).UTC().Truncate(time.Second)
}

func (o *org) table(entity string) *table { return o.tables[entity] }

// tx is a write transaction: it holds the org's write lock (or runs inside a
// $batch change set that does) and keeps an undo log.
type tx struct {
	o       *org
	as      Principal
	undo    []func()
	events  []webhookEvent
	version int64 // the org version before the tx, restored on rollback
	bulk    bool  // SeedBulk: ids are appended unsorted and sorted once at the end
}

type txKey struct{}

// write runs fn in a transaction: the change set's when ctx carries one,
// else a fresh one committed on success and rolled back on error.
func (o *org) write(ctx context.Context, as Principal, fn func(*tx) error) error {
	if t, ok := ctx.Value(txKey{}).(*tx); ok {
		return fn(t)
	}
	t := o.begin(as)
	if err := fn(t); err != nil {
		t.rollback()
		return err
	}
	t.commit()
	return nil
}

// read runs fn under the read lock (or inside the change set's write lock).
func (o *org) read(ctx context.Context, fn func()) {
	if _, ok := ctx.Value(txKey{}).(*tx); ok {
		fn()
		return
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	fn()
}

func (o *org) begin(as Principal) *tx {
	o.mu.Lock()
	return &tx{o: o, as: as, version: o.version}
}

func (t *tx) commit() {
	events := t.events
	t.o.mu.Unlock()
	if t.o.hooks != nil {
		for _, ev := range events {
			t.o.hooks.enqueue(ev)
		}
	}
}

func (t *tx) rollback() {
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
	}
	t.o.version = t.version
	t.o.mu.Unlock()
}

func (t *tx) nextVersion() int64 {
	t.o.version++
	return t.o.version
}

// put stores r (new or replacing) in tb, logging the change and the undo step.
func (t *tx) put(tb *table, id string, r *record) {
	old, existed := tb.rows[id]
	bulk := t.bulk
	tb.rows[id] = r
	if !existed && !bulk {
		tb.insertOrder(id)
	}
	undoLog := t.logChange(tb, id, r.version(), false)
	t.undo = append(t.undo, func() {
		undoLog()
		if existed {
			tb.rows[id] = old
		} else {
			delete(tb.rows, id)
			if !bulk {
				tb.removeOrder(id)
			}
		}
	})
}

// remove deletes a record, leaving a tombstone in the change log.
func (t *tx) remove(tb *table, id string) {
	old, ok := tb.rows[id]
	if !ok {
		return
	}
	delete(tb.rows, id)
	tb.removeOrder(id)
	undoLog := t.logChange(tb, id, t.nextVersion(), true)
	t.undo = append(t.undo, func() {
		undoLog()
		tb.rows[id] = old
		tb.insertOrder(id)
	})
}

func (tb *table) insertOrder(id string) {
	i, found := slices.BinarySearch(tb.order, id)
	if !found {
		tb.order = slices.Insert(tb.order, i, id)
	}
}

func (tb *table) removeOrder(id string) {
	if i, found := slices.BinarySearch(tb.order, id); found {
		tb.order = slices.Delete(tb.order, i, i+1)
	}
}

// sortOrder re-sorts ids after bulk appends (seeding).
func (tb *table) sortOrder() { sort.Strings(tb.order) }

// teamsOf returns the teams a user is a member of.
func (o *org) teamsOf(userID string) []string {
	var out []string
	for team, members := range o.teams {
		if slices.Contains(members, userID) {
			out = append(out, team)
		}
	}
	sort.Strings(out)
	return out
}
