package sandbox

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

func (o *org) renderer(ar *apiRequest) *renderer {
	if ar.prefer.ann.any() {
		ar.prefer.markApplied("odata.include-annotations")
	}
	return &renderer{o: o, ann: ar.prefer.ann, base: ar.base}
}

// getRecord serves GET entityset(id) with $select and $expand.
func (o *org) getRecord(ar *apiRequest, e *entityInfo, id string) error {
	q, err := o.parseQuery(e, ar.r.URL.Query())
	if err != nil {
		return err
	}
	if q.Filter != nil || len(q.OrderBy) > 0 || q.Top > 0 {
		return badRequest("The query options $filter, $orderby and $top are not supported when retrieving a single record.")
	}
	var body []byte
	var ferr error
	o.read(ar.ctx(), func() {
		r, ok := o.tables[e.Name].rows[id]
		if !ok {
			ferr = recordNotFound(e.Name, id)
			return
		}
		if inm := ar.r.Header.Get("If-None-Match"); inm != "" && inm == etagOf(r) {
			ferr = errNotModified
			return
		}
		body = o.entityBody(ar, e, r, q.Select, q.Expand)
	})
	if ferr == errNotModified {
		ar.w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if ferr != nil {
		return ferr
	}
	ar.writeJSON(http.StatusOK, body)
	return nil
}

var errNotModified = &apiError{Status: http.StatusNotModified}

// entityBody renders one record with its "$entity" context.
func (o *org) entityBody(ar *apiRequest, e *entityInfo, r *record, sel []string, exp []expandOpts) []byte {
	rd := o.renderer(ar)
	var ob object
	ob.field("@odata.context", rd.contextURL(selectContext(e, sel, exp)+"/$entity"))
	rd.row(&ob, e, r, sel, exp)
	return ob.bytes()
}

// listRecords serves GET entityset: queries, paging, and change tracking.
func (o *org) listRecords(ar *apiRequest, e *entityInfo) error {
	qv := ar.r.URL.Query()
	q, err := o.parseQuery(e, qv)
	if err != nil {
		return err
	}
	if ar.prefer.trackChanges || q.DeltaToken != "" || isTrackToken(q.SkipToken) {
		return o.trackChanges(ar, e, q)
	}
	pageSize, top := maxPageSize, 0
	if ar.prefer.maxPageSize > 0 {
		pageSize = min(ar.prefer.maxPageSize, maxPageSize)
		ar.prefer.appliedPageSize = pageSize
		ar.prefer.markApplied("odata.maxpagesize")
	} else if q.Top > 0 {
		top = min(q.Top, maxPageSize)
		pageSize = top
	}
	var body []byte
	var lerr error
	o.read(ar.ctx(), func() {
		res, err := o.list(e, q, pageSize, q.Count)
		if err != nil {
			lerr = err
			return
		}
		if top > 0 {
			res.Next = "" // $top ends the result set
		}
		rd := o.renderer(ar)
		var ob object
		ob.field("@odata.context", rd.contextURL(selectContext(e, q.Select, q.Expand)))
		if q.Count {
			ob.field("@odata.count", res.Count)
		}
		ob.raw("value", o.rowsJSON(rd, e, res.Rows, q.Select, q.Expand))
		if res.Next != "" {
			ob.field("@odata.nextLink", collectionLink(ar, e, "$skiptoken", res.Next))
		}
		body = ob.bytes()
	})
	if lerr != nil {
		return lerr
	}
	ar.writeJSON(http.StatusOK, body)
	return nil
}

func (o *org) rowsJSON(rd *renderer, e *entityInfo, rows []*record, sel []string, exp []expandOpts) []byte {
	var buf bytes.Buffer
	buf.Grow(len(rows) * 256)
	buf.WriteByte('[')
	for i, r := range rows {
		if i > 0 {
			buf.WriteByte(',')
		}
		var ob object
		rd.row(&ob, e, r, sel, exp)
		buf.Write(ob.bytes())
	}
	buf.WriteByte(']')
	return buf.Bytes()
}

// collectionLink builds an @odata.nextLink or @odata.deltaLink as Dataverse
// writes them (the page-results and change-tracking docs:
// "accounts?$select=name&$skiptoken=%3Ccookie…",
// "accounts?$select=name,accountnumber&$deltatoken=919042%2108%2f22%2f2017…"):
// the request's query options in the order they were sent, less any earlier
// $skiptoken or $deltatoken, then the new token; option names keep their "$",
// values are percent-encoded. A client follows it verbatim, without adding
// options (it sends the same Prefer header again).
func collectionLink(ar *apiRequest, e *entityInfo, param, token string) string {
	var b strings.Builder
	b.WriteString(ar.base + e.Set + "?")
	for _, kv := range orderedQuery(ar.r.URL.RawQuery) {
		if kv[0] == "$skiptoken" || kv[0] == "$deltatoken" {
			continue
		}
		b.WriteString(escapeQueryPart(kv[0]) + "=" + escapeQueryPart(kv[1]) + "&")
	}
	b.WriteString(escapeQueryPart(param) + "=" + escapeQueryPart(token))
	return b.String()
}

// orderedQuery decodes a raw query string into its name/value pairs in order
// (url.Values loses the order). Pairs that don't decode are dropped, as
// url.ParseQuery drops them.
func orderedQuery(raw string) [][2]string {
	var out [][2]string
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" || strings.Contains(part, ";") {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil || k == "" {
			continue
		}
		out = append(out, [2]string{k, v})
	}
	return out
}

// countRecords serves GET entityset/$count (text/plain, capped at 5000).
func (o *org) countRecords(ar *apiRequest, e *entityInfo) error {
	q, err := o.parseQuery(e, ar.r.URL.Query())
	if err != nil {
		return err
	}
	n := 0
	o.read(ar.ctx(), func() {
		tb := o.tables[e.Name]
		for _, id := range tb.order {
			if matches(q.Filter, tb.rows[id]) {
				n++
			}
		}
	})
	ar.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	ar.w.WriteHeader(http.StatusOK)
	_, _ = ar.w.Write([]byte(strconv.Itoa(min(n, maxPageSize))))
	return nil
}

// getProperty serves GET entityset(id)/property (and /$value), and
// entityset(id)/collectionnav.
func (o *org) getProperty(ar *apiRequest, e *entityInfo, id, prop string, raw bool) error {
	kind, isProp := e.Props[prop]
	nav, isNav := e.Navs[prop]
	if !isProp && !(isNav && nav.Collection && !raw) {
		return notFoundSegment(prop)
	}
	var body []byte
	var ferr error
	o.read(ar.ctx(), func() {
		r, ok := o.tables[e.Name].rows[id]
		if !ok {
			ferr = recordNotFound(e.Name, id)
			return
		}
		rd := o.renderer(ar)
		if isNav {
			te := o.schema.byName[nav.Target]
			q, err := o.parseQuery(te, ar.r.URL.Query())
			if err != nil {
				ferr = err
				return
			}
			rows := o.related(te, te.Navs[nav.Partner], id, expandOpts{Nav: nav, Select: q.Select, Filter: q.Filter, OrderBy: q.OrderBy, Top: q.Top})
			var ob object
			ob.field("@odata.context", rd.contextURL(selectContext(te, q.Select, nil)))
			ob.raw("value", o.rowsJSON(rd, te, rows, q.Select, nil))
			body = ob.bytes()
			return
		}
		v, has := r.attrs[prop]
		if raw {
			if !has {
				ferr = errNoContent
				return
			}
			var b bytes.Buffer
			if s, ok := v.(string); ok && kind != kindGuid {
				b.WriteString(s)
			} else {
				writeJSONValue(&b, v)
				body = bytes.Trim(b.Bytes(), `"`)
				return
			}
			body = b.Bytes()
			return
		}
		var ob object
		ob.field("@odata.context", rd.contextURL(e.Set+"("+id+")/"+prop))
		ob.field("value", v)
		body = ob.bytes()
	})
	switch {
	case ferr == errNoContent:
		ar.w.WriteHeader(http.StatusNoContent)
		return nil
	case ferr != nil:
		return ferr
	case raw:
		ar.w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		ar.w.WriteHeader(http.StatusOK)
		_, _ = ar.w.Write(body)
		return nil
	}
	ar.writeJSON(http.StatusOK, body)
	return nil
}

var errNoContent = &apiError{Status: http.StatusNoContent}

// linkEscaper undoes the escapes Dataverse doesn't write in its links: "$"
// (system query option names: "$select", never "%24select") and ",".
var linkEscaper = strings.NewReplacer("%24", "$", "%2C", ",")

// escapeQueryPart percent-encodes one query name or value the way Dataverse's
// links do: %20 for a space (never "+"), "$" and "," literal.
func escapeQueryPart(s string) string {
	return linkEscaper.Replace(strings.ReplaceAll(url.QueryEscape(s), "+", "%20"))
}
