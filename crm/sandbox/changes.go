package sandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Change tracking (Prefer: odata.track-changes and $deltatoken).
//
// Every table keeps a change log ordered by versionnumber (creates, updates
// and delete tombstones). A delta token is "<version>!<MM/dd/yyyy HH:mm:ss>"
// like Dataverse's; a delta read returns each record changed in
// (token version, upto] once, in its current state, then the deletions.
// "upto" is fixed at the first page and carried in the $skiptoken, so paging a
// large delta is stable while writes go on.
//
// Cost: each log entry knows the version of the next change to the same id
// (supersededBy, set on write through a per-id "latest position" map), so
// "is this the id's last change up to upto" is O(1); deletions are also
// indexed. A page is one binary search plus a walk from the cursor that emits
// the page and skips superseded entries (each skipped once over the whole
// read): a delta of N changes costs O(N + pages·log N), not O(N²/page).
//
// Entries older than DeltaTokenTTL are trimmed on write (a token that old is
// expired anyway); a delta that would need trimmed entries answers
// 0x80044352, never a silently incomplete result.

const deltaTimeLayout = "01/02/2006 15:04:05"

// trackToken is the $skiptoken of a change-tracking read (baseline or delta).
type trackToken struct {
	Upto  int64  `json:"u"`
	From  int64  `json:"f,omitempty"` // delta: exclusive lower bound
	Delta bool   `json:"d,omitempty"`
	After string `json:"a,omitempty"` // baseline: last id served
	Phase int    `json:"p,omitempty"` // delta: 0 upserts, 1 deletions, 2 done
	Index int    `json:"i,omitempty"` // delta: next absolute change-log position to scan
	At    int64  `json:"t,omitempty"` // org clock (unix seconds) when Upto was read: the deltaLink's time
}

func encodeTrackToken(t trackToken) string {
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeTrackToken(s string) (trackToken, error) {
	var t trackToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Upto <= 0 {
		return t, badRequest("The $skiptoken '%s' is not valid for this query.", truncate(s, 64))
	}
	return t, nil
}

// isTrackToken reports whether a $skiptoken continues a change-tracking read
// (its nextLink works with or without the Prefer header).
func isTrackToken(s string) bool {
	if s == "" {
		return false
	}
	_, err := decodeTrackToken(s)
	return err == nil
}

func (o *org) trackingEnabled(entity string) bool {
	return !slices.Contains(o.opts.ChangeTrackingDisabled, entity)
}

// trackChanges serves a baseline (Prefer: odata.track-changes) or a delta ($deltatoken) read.
func (o *org) trackChanges(ar *apiRequest, e *entityInfo, q *queryOpts) error {
	// The message is the one use-change-tracking-synchronize-data-external-systems.md
	// documents ("Query options not supported in Change Tracking Web API request").
	for _, opt := range []struct {
		name string
		set  bool
	}{{"$filter", q.Filter != nil}, {"$orderby", len(q.OrderBy) > 0}, {"$expand", len(q.Expand) > 0}, {"$top", q.Top > 0}, {"$count", q.Count}} {
		if opt.set {
			return badRequest("The \"%s\" query parameter isn't supported when Change Tracking is enabled.", opt.name)
		}
	}
	if !o.trackingEnabled(e.Name) {
		return errf(http.StatusBadRequest, codeTrackingDisabled, "The entity '%s' is not enabled for change tracking.", e.Name)
	}
	ar.prefer.markApplied("odata.track-changes")
	pageSize := maxPageSize
	if ar.prefer.maxPageSize > 0 {
		pageSize = min(ar.prefer.maxPageSize, maxPageSize)
		ar.prefer.appliedPageSize = pageSize
		ar.prefer.markApplied("odata.maxpagesize")
	}
	var tok *trackToken
	if q.SkipToken != "" {
		t, err := decodeTrackToken(q.SkipToken)
		if err != nil {
			return err
		}
		tok = &t
	}
	var from int64 = -1
	if q.DeltaToken != "" && tok == nil {
		v, issued, err := parseDeltaToken(q.DeltaToken)
		if err != nil {
			return err
		}
		if o.now().Sub(issued) > o.opts.DeltaTokenTTL {
			return errExpiredVersion()
		}
		from = v
	}
	var body []byte
	var rerr error
	o.read(ar.ctx(), func() {
		if tok == nil {
			tok = &trackToken{Upto: o.version, From: from, Delta: from >= 0, At: o.now().Unix()}
		}
		if tok.Delta {
			body, rerr = o.deltaPage(ar, e, q, *tok, pageSize)
		} else {
			body = o.baselinePage(ar, e, q, *tok, pageSize)
		}
	})
	if rerr != nil {
		return rerr
	}
	ar.writeJSON(http.StatusOK, body)
	return nil
}

// parseDeltaToken reads "<version>!<MM/dd/yyyy HH:mm:ss>".
func parseDeltaToken(s string) (int64, time.Time, error) {
	vs, ds, ok := strings.Cut(s, "!")
	v, err := strconv.ParseInt(vs, 10, 64)
	if !ok || err != nil || v < 0 {
		return 0, time.Time{}, badRequest("The delta token '%s' is not valid.", truncate(s, 64))
	}
	issued, err := time.Parse(deltaTimeLayout, ds)
	if err != nil {
		return 0, time.Time{}, badRequest("The delta token '%s' is not valid.", truncate(s, 64))
	}
	return v, issued, nil
}

// errExpiredVersion is Dataverse's answer to a token older than expirechangetrackingindays.
func errExpiredVersion() error {
	return errf(http.StatusBadRequest, codeExpiredVersion, "Version stamp associated with the client has expired. Please perform a full sync.")
}

// deltaToken is the $deltatoken for changes after upto, stamped with the
// time upto was read (so a token's age bounds the log entries it needs).
func (o *org) deltaToken(tok trackToken) string {
	at := o.now()
	if tok.At > 0 {
		at = time.Unix(tok.At, 0).UTC()
	}
	return strconv.FormatInt(tok.Upto, 10) + "!" + at.Format(deltaTimeLayout)
}

// baselinePage serves one page of the full read that starts change tracking.
func (o *org) baselinePage(ar *apiRequest, e *entityInfo, q *queryOpts, tok trackToken, pageSize int) []byte {
	tb := o.tables[e.Name]
	start := 0
	if tok.After != "" {
		start, _ = slices.BinarySearch(tb.order, tok.After)
		if start < len(tb.order) && tb.order[start] == tok.After {
			start++
		}
	}
	end := min(start+pageSize, len(tb.order))
	rows := make([]*record, 0, end-start)
	for _, id := range tb.order[start:end] {
		rows = append(rows, tb.rows[id])
	}
	rd := o.renderer(ar)
	var ob object
	ob.field("@odata.context", rd.contextURL(selectContext(e, q.Select, nil)))
	ob.raw("value", o.rowsJSON(rd, e, rows, q.Select, nil))
	if end < len(tb.order) {
		tok.After = tb.order[end-1]
		ob.field("@odata.nextLink", collectionLink(ar, e, "$skiptoken", encodeTrackToken(tok)))
	} else {
		ob.field("@odata.deltaLink", collectionLink(ar, e, "$deltatoken", o.deltaToken(tok)))
	}
	return ob.bytes()
}

// deltaPage serves one page of changes in (tok.From, tok.Upto].
func (o *org) deltaPage(ar *apiRequest, e *entityInfo, q *queryOpts, tok trackToken, pageSize int) ([]byte, error) {
	tb := o.tables[e.Name]
	if tok.From < tb.logx.floor {
		return nil, errExpiredVersion() // entries after From were trimmed
	}
	cur := tb.deltaCursor(tok)
	rd := o.renderer(ar)
	deletedCtx := rd.contextURL(e.Set + "/$deletedEntity")
	var buf bytes.Buffer
	buf.WriteByte('[')
	for n := 0; n < pageSize; n++ {
		c, ok := cur.next()
		if !ok {
			break
		}
		if n > 0 {
			buf.WriteByte(',')
		}
		var ob object
		if c.deleted {
			ob.field("@odata.context", deletedCtx)
			ob.field("id", c.id)
			ob.field("reason", "deleted")
		} else {
			rd.row(&ob, e, tb.rows[c.id], q.Select, nil)
		}
		buf.Write(ob.bytes())
	}
	buf.WriteByte(']')
	more := cur.seek() // the last page carries the deltaLink, not an empty extra page
	var ob object
	ob.field("@odata.context", rd.contextURL(selectContext(e, q.Select, nil)+"/$delta"))
	if !more {
		ob.field("@odata.deltaLink", collectionLink(ar, e, "$deltatoken", o.deltaToken(tok)))
	}
	ob.raw("value", buf.Bytes())
	if more {
		ob.field("@odata.nextLink", collectionLink(ar, e, "$skiptoken", encodeTrackToken(cur.tok)))
	}
	return ob.bytes(), nil
}

// change is one change-log entry (create/update or delete) for change tracking.
type change struct {
	version      int64
	id           string
	deleted      bool
	at           int64 // org clock (unix seconds) of the write, for trimming
	supersededBy int64 // version of the id's next change; 0 while this is its latest
}

// changeIndex is the bookkeeping beside a table's change log (table.log).
// Positions are absolute: log[i] is at position base+i, so trimming the front
// of the log leaves tokens and the indexes valid.
type changeIndex struct {
	base    int            // position of log[0] (entries trimmed so far)
	latest  map[string]int // id → position of its latest change still in the log
	deletes []int          // positions of the delete tombstones, ascending
	floor   int64          // highest version trimmed away: deltas from before it are expired
	dead    int            // entries trimmed since the log's array was last compacted
}

// logChange appends a change of id to tb's log and returns its undo (undos run
// in reverse order, so the entry is then the last one). It first trims the
// entries older than DeltaTokenTTL that were committed before this tx.
func (t *tx) logChange(tb *table, id string, version int64, deleted bool) (undo func()) {
	now := t.o.now().Unix()
	tb.trimLog(now-int64(t.o.opts.DeltaTokenTTL/time.Second), t.version)
	x := &tb.logx
	if x.latest == nil {
		x.latest = map[string]int{}
	}
	prev, had := x.latest[id]
	if had {
		tb.log[prev-x.base].supersededBy = version
	}
	pos := x.base + len(tb.log)
	tb.log = append(tb.log, change{version: version, id: id, deleted: deleted, at: now})
	x.latest[id] = pos
	if deleted {
		x.deletes = append(x.deletes, pos)
	}
	return func() {
		tb.log = tb.log[:pos-x.base]
		if deleted {
			x.deletes = x.deletes[:len(x.deletes)-1]
		}
		if had && prev >= x.base {
			tb.log[prev-x.base].supersededBy = 0
			x.latest[id] = prev
		} else {
			delete(x.latest, id) // no earlier change, or it was trimmed meanwhile
		}
	}
}

// trimLog drops the log's leading entries written before cutoff (unix
// seconds) with a version ≤ maxVersion (committed before the running tx, so
// its undo log stays valid). Each entry is trimmed once: O(1) amortised per
// write. A delta token still valid was issued at or after cutoff, when its
// version was already past every trimmed entry's.
func (tb *table) trimLog(cutoff, maxVersion int64) {
	x := &tb.logx
	k := 0
	for k < len(tb.log) && tb.log[k].at < cutoff && tb.log[k].version <= maxVersion {
		if c := tb.log[k]; x.latest[c.id] == x.base+k {
			delete(x.latest, c.id)
		}
		k++
	}
	if k == 0 {
		return
	}
	x.floor = tb.log[k-1].version
	x.base += k
	tb.log = tb.log[k:]
	x.deletes = x.deletes[sort.SearchInts(x.deletes, x.base):]
	// Reslicing keeps the trimmed prefix in the backing array; copy the live
	// part once the dead prefix outgrows it (amortised O(1) per entry).
	if x.dead += k; x.dead > len(tb.log) {
		tb.log = slices.Clone(tb.log)
		x.deletes = slices.Clone(x.deletes)
		x.dead = 0
	}
}

// deltaCursor walks the changes of (tok.From, tok.Upto] to report: phase 0 the
// new and updated rows (each id's last change in range, when not a deletion
// and the row still exists), phase 1 the deletions (each id's last change in
// range, when a deletion).
type deltaCursor struct {
	tb     *table
	tok    trackToken
	lo, hi int // positions of the range: [lo, hi)
	di     int // phase 1: index into tb.logx.deletes
}

func (tb *table) deltaCursor(tok trackToken) *deltaCursor {
	log, base := tb.log, tb.logx.base
	c := &deltaCursor{tb: tb, tok: tok,
		lo: base + sort.Search(len(log), func(i int) bool { return log[i].version > tok.From }),
		hi: base + sort.Search(len(log), func(i int) bool { return log[i].version > tok.Upto }),
	}
	c.tok.Index = min(max(c.tok.Index, c.lo), c.hi)
	if c.tok.Phase == 1 {
		c.di = sort.SearchInts(tb.logx.deletes, c.tok.Index)
	}
	return c
}

// last reports whether ch is its id's last change up to Upto.
func (c *deltaCursor) last(ch *change) bool {
	return ch.supersededBy == 0 || ch.supersededBy > c.tok.Upto
}

// seek moves the cursor to the next change to report (skipping superseded
// entries) without consuming it; false when nothing is left.
func (c *deltaCursor) seek() bool {
	tb, base := c.tb, c.tb.logx.base
	for c.tok.Phase == 0 {
		if c.tok.Index >= c.hi {
			c.tok.Phase, c.tok.Index = 1, c.lo
			c.di = sort.SearchInts(tb.logx.deletes, c.lo)
			break
		}
		ch := &tb.log[c.tok.Index-base]
		if !ch.deleted && c.last(ch) {
			if _, ok := tb.rows[ch.id]; ok {
				return true
			} // else deleted after upto: the next delta reports it
		}
		c.tok.Index++
	}
	if c.tok.Phase == 1 {
		dels := tb.logx.deletes
		for ; c.di < len(dels) && dels[c.di] < c.hi; c.di++ {
			if c.last(&tb.log[dels[c.di]-base]) {
				c.tok.Index = dels[c.di]
				return true
			}
		}
	}
	c.tok.Phase, c.tok.Index = 2, c.hi
	return false
}

// next returns the next change to report and moves past it.
func (c *deltaCursor) next() (change, bool) {
	if !c.seek() {
		return change{}, false
	}
	ch := c.tb.log[c.tok.Index-c.tb.logx.base]
	c.tok.Index++
	if c.tok.Phase == 1 {
		c.di++
	}
	return ch, true
}

// String renders a token for debugging.
func (t trackToken) String() string {
	return fmt.Sprintf("upto=%d from=%d phase=%d idx=%d", t.Upto, t.From, t.Phase, t.Index)
}
