package sandbox

import (
	"encoding/base64"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/crmbot/crmbot/crm/internal/odata"
)

// maxPageSize is Dataverse's page size cap (and the default page size).
const maxPageSize = 5000

// matches reports whether r satisfies the filter f (nil: every record).
// parseQuery bound f to the schema and the store holds each property in its
// kind's Go type, so Eval's type-mismatch error cannot arise; were it to, the
// record would not match.
func matches(f odata.Expr, r *record) bool {
	if f == nil {
		return true
	}
	ok, err := f.Eval(r)
	return ok && err == nil
}

// sortKey is a row's position under an $orderby: the ordered values, then the id.
type sortKey struct {
	Values []any
	ID     string
}

// keyOf builds r's sort key. A Guid property's value becomes an odata.GUID,
// which odata.Compare orders as uniqueidentifier: the order gt and lt filter
// it by, so an $orderby page boundary and a filter on it agree.
func keyOf(e *entityInfo, r *record, ob []odata.OrderItem) sortKey {
	k := sortKey{ID: r.str(e.Key), Values: make([]any, len(ob))}
	for i, it := range ob {
		v := r.attrs[it.Field]
		if s, ok := v.(string); ok && e.Props[it.Field] == kindGuid {
			v = odata.GUID(s)
		}
		k.Values[i] = v
	}
	return k
}

// compareKeys orders sort keys under ob with odata.Compare (the collation
// filters use), ties broken by id.
func compareKeys(a, b sortKey, ob []odata.OrderItem) int {
	for i, it := range ob {
		c := odata.Compare(a.Values[i], b.Values[i])
		if it.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return strings.Compare(a.ID, b.ID)
}

func sortRecords(e *entityInfo, rows []*record, ob []odata.OrderItem) {
	if len(ob) == 0 {
		return // rows come in id order already
	}
	keys := make(map[*record]sortKey, len(rows))
	for _, r := range rows {
		keys[r] = keyOf(e, r, ob)
	}
	slices.SortStableFunc(rows, func(a, b *record) int { return compareKeys(keys[a], keys[b], ob) })
}

// pageToken is the opaque $skiptoken: the sort key of the last row served
// (key-set paging, stable under concurrent inserts), base64url JSON with typed values.
type pageToken struct {
	Values []tokenValue `json:"v,omitempty"`
	ID     string       `json:"id"`
}

type tokenValue struct {
	T string  `json:"t"` // s, g (GUID), i, f, b, d (time), n (null)
	S string  `json:"s,omitempty"`
	I int64   `json:"i,omitempty"`
	F float64 `json:"f,omitempty"`
	B bool    `json:"b,omitempty"`
}

func encodeSkipToken(k sortKey) string {
	t := pageToken{ID: k.ID}
	for _, v := range k.Values {
		var tv tokenValue
		switch x := v.(type) {
		case string:
			tv = tokenValue{T: "s", S: x}
		case odata.GUID:
			tv = tokenValue{T: "g", S: string(x)}
		case int64:
			tv = tokenValue{T: "i", I: x}
		case float64:
			tv = tokenValue{T: "f", F: x}
		case bool:
			tv = tokenValue{T: "b", B: x}
		case time.Time:
			tv = tokenValue{T: "d", S: x.Format(time.RFC3339Nano)}
		default:
			tv = tokenValue{T: "n"}
		}
		t.Values = append(t.Values, tv)
	}
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeSkipToken(s string, n int) (sortKey, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	var t pageToken
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || len(t.Values) != n || t.ID == "" {
		return sortKey{}, badRequest("The $skiptoken '%s' is not valid for this query.", truncate(s, 64))
	}
	k := sortKey{ID: t.ID}
	for _, tv := range t.Values {
		switch tv.T {
		case "s":
			k.Values = append(k.Values, tv.S)
		case "g":
			k.Values = append(k.Values, odata.GUID(tv.S))
		case "i":
			k.Values = append(k.Values, tv.I)
		case "f":
			k.Values = append(k.Values, tv.F)
		case "b":
			k.Values = append(k.Values, tv.B)
		case "d":
			d, _ := time.Parse(time.RFC3339Nano, tv.S)
			k.Values = append(k.Values, d)
		default:
			k.Values = append(k.Values, nil)
		}
	}
	return k, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// listResult is one page of a collection query.
type listResult struct {
	Rows  []*record
	Count int    // matching rows (capped at 5000), when asked
	Next  string // skiptoken of the next page, "" on the last
}

// list runs a collection query: filter, order, key-set page. pageSize > 0.
func (o *org) list(e *entityInfo, q *queryOpts, pageSize int, wantCount bool) (listResult, error) {
	tb := o.tables[e.Name]
	var res listResult
	var after *sortKey
	if q.SkipToken != "" {
		k, err := decodeSkipToken(q.SkipToken, len(q.OrderBy))
		if err != nil {
			return res, err
		}
		after = &k
	}
	if len(q.OrderBy) == 0 && !wantCount {
		// Fast path: id order is maintained; seek and scan just one page.
		start := 0
		if after != nil {
			start, _ = slices.BinarySearch(tb.order, after.ID)
			if start < len(tb.order) && tb.order[start] == after.ID {
				start++
			}
		}
		for i := start; i < len(tb.order); i++ {
			r := tb.rows[tb.order[i]]
			if !matches(q.Filter, r) {
				continue
			}
			if len(res.Rows) == pageSize {
				res.Next = encodeSkipToken(keyOf(e, res.Rows[len(res.Rows)-1], nil))
				break
			}
			res.Rows = append(res.Rows, r)
		}
		return res, nil
	}
	var rows []*record
	for _, id := range tb.order {
		r := tb.rows[id]
		if matches(q.Filter, r) {
			rows = append(rows, r)
		}
	}
	res.Count = min(len(rows), maxPageSize)
	keys := make([]sortKey, len(rows))
	for i, r := range rows {
		keys[i] = keyOf(e, r, q.OrderBy)
	}
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	if len(q.OrderBy) > 0 {
		sort.SliceStable(idx, func(a, b int) bool { return compareKeys(keys[idx[a]], keys[idx[b]], q.OrderBy) < 0 })
	}
	start := 0
	if after != nil {
		start = sort.Search(len(idx), func(i int) bool { return compareKeys(keys[idx[i]], *after, q.OrderBy) > 0 })
	}
	end := min(start+pageSize, len(idx))
	for _, i := range idx[start:end] {
		res.Rows = append(res.Rows, rows[i])
	}
	if end < len(idx) {
		res.Next = encodeSkipToken(keys[idx[end-1]])
	}
	return res, nil
}
