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
		return o.trackChanges(ar, e, q, qv)
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
			ob.field("@odata.nextLink", nextLink(ar, e, qv, "$skiptoken", res.Next))
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

// nextLink rebuilds the request URL with a new token parameter.
func nextLink(ar *apiRequest, e *entityInfo, qv url.Values, param, token string) string {
	next := url.Values{}
	for k, v := range qv {
		if k != "$skiptoken" && k != "$deltatoken" {
			next[k] = v
		}
	}
	next.Set(param, token)
	return ar.base + e.Set + "?" + encodeQuery(next)
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
			if q.Filter == nil || q.Filter(tb.rows[id]) {
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

// encodeQuery encodes a query string the way Dataverse writes its links:
// "$" and "," stay literal, spaces are %20.
func encodeQuery(v url.Values) string {
	q := strings.ReplaceAll(v.Encode(), "+", "%20")
	return strings.NewReplacer("%24", "$", "%2C", ",").Replace(q)
}
