package sandbox

import (
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
// large delta is stable while writes go on. Finding the start is a binary
// search; each page scans the rest of the range once (no O(n²)).

const deltaTimeLayout = "01/02/2006 15:04:05"

// trackToken is the $skiptoken of a change-tracking read (baseline or delta).
type trackToken struct {
	Upto  int64  `json:"u"`
	From  int64  `json:"f,omitempty"` // delta: exclusive lower bound
	Delta bool   `json:"d,omitempty"`
	After string `json:"a,omitempty"` // baseline: last id served
	Phase int    `json:"p,omitempty"` // delta: 0 upserts, 1 deletions
	Index int    `json:"i,omitempty"` // delta: next change-log index to scan
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
	for opt, set := range map[string]bool{"$filter": q.Filter != nil, "$orderby": len(q.OrderBy) > 0, "$expand": len(q.Expand) > 0, "$top": q.Top > 0, "$count": q.Count} {
		if set {
			return badRequest("The query option %s is not supported with change tracking: only $select is allowed with Prefer: odata.track-changes.", opt)
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
			return errf(http.StatusBadRequest, codeExpiredVersion, "Version stamp associated with the client has expired. Please perform a full sync.")
		}
		from = v
	}
	var body []byte
	var rerr error
	o.read(ar.ctx(), func() {
		if tok == nil {
			tok = &trackToken{Upto: o.version, From: from, Delta: from >= 0}
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

func (o *org) deltaToken(upto int64) string {
	return strconv.FormatInt(upto, 10) + "!" + o.now().Format(deltaTimeLayout)
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
		ob.field("@odata.deltaLink", collectionLink(ar, e, "$deltatoken", o.deltaToken(tok.Upto)))
	}
	return ob.bytes()
}

// deltaPage serves one page of changes in (tok.From, tok.Upto].
func (o *org) deltaPage(ar *apiRequest, e *entityInfo, q *queryOpts, tok trackToken, pageSize int) ([]byte, error) {
	tb := o.tables[e.Name]
	lo := sort.Search(len(tb.log), func(i int) bool { return tb.log[i].version > tok.From })
	hi := sort.Search(len(tb.log), func(i int) bool { return tb.log[i].version > tok.Upto })
	if tok.Index < lo {
		tok.Index = lo
	}
	if tok.Index > hi {
		tok.Index = hi
	}
	// last in-range occurrence of each id, from the cursor on
	last := make(map[string]int, hi-tok.Index)
	for i := tok.Index; i < hi; i++ {
		last[tb.log[i].id] = i
	}
	rd := o.renderer(ar)
	var items [][]byte
	deletedCtx := rd.contextURL(e.Set + "/$deletedEntity")
	for len(items) < pageSize && tok.Phase < 2 {
		if tok.Index >= hi {
			tok.Phase++
			tok.Index = lo
			if tok.Phase == 1 {
				clear(last)
				for i := lo; i < hi; i++ {
					last[tb.log[i].id] = i
				}
			}
			continue
		}
		c := tb.log[tok.Index]
		tok.Index++
		if last[c.id] != tok.Index-1 {
			continue
		}
		switch {
		case tok.Phase == 0 && !c.deleted:
			r, ok := tb.rows[c.id]
			if !ok {
				continue // deleted after upto: the next delta reports it
			}
			var ob object
			rd.row(&ob, e, r, q.Select, nil)
			items = append(items, ob.bytes())
		case tok.Phase == 1 && c.deleted:
			var ob object
			ob.field("@odata.context", deletedCtx)
			ob.field("id", c.id)
			ob.field("reason", "deleted")
			items = append(items, ob.bytes())
		}
	}
	var ob object
	ob.field("@odata.context", rd.contextURL(selectContext(e, q.Select, nil)+"/$delta"))
	more := tok.Phase < 2 && o.moreDeltas(tb, tok, lo, hi)
	if !more {
		ob.field("@odata.deltaLink", collectionLink(ar, e, "$deltatoken", o.deltaToken(tok.Upto)))
	}
	var buf strings.Builder
	buf.WriteByte('[')
	for i, it := range items {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(it)
	}
	buf.WriteByte(']')
	ob.raw("value", []byte(buf.String()))
	if more {
		ob.field("@odata.nextLink", collectionLink(ar, e, "$skiptoken", encodeTrackToken(tok)))
	}
	return ob.bytes(), nil
}

// moreDeltas reports whether anything remains to emit after the cursor, so the
// last page carries the deltaLink rather than an empty extra page.
func (o *org) moreDeltas(tb *table, tok trackToken, lo, hi int) bool {
	last := map[string]int{}
	for i := lo; i < hi; i++ {
		last[tb.log[i].id] = i
	}
	for phase, idx := tok.Phase, tok.Index; phase < 2; phase, idx = phase+1, lo {
		for i := idx; i < hi; i++ {
			c := tb.log[i]
			if last[c.id] != i {
				continue
			}
			if phase == 0 && !c.deleted {
				if _, ok := tb.rows[c.id]; ok {
					return true
				}
			}
			if phase == 1 && c.deleted {
				return true
			}
		}
	}
	return false
}

// String renders a token for debugging.
func (t trackToken) String() string {
	return fmt.Sprintf("upto=%d from=%d phase=%d idx=%d", t.Upto, t.From, t.Phase, t.Index)
}
