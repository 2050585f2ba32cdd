package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// object is an ordered JSON object (Dataverse's key order: annotations first,
// then properties), built without reflection on the hot path.
type object struct{ buf bytes.Buffer }

func (ob *object) field(key string, v any) {
	if ob.buf.Len() == 0 {
		ob.buf.WriteByte('{')
	} else {
		ob.buf.WriteByte(',')
	}
	writeJSONString(&ob.buf, key)
	ob.buf.WriteByte(':')
	writeJSONValue(&ob.buf, v)
}

func (ob *object) raw(key string, raw []byte) {
	if ob.buf.Len() == 0 {
		ob.buf.WriteByte('{')
	} else {
		ob.buf.WriteByte(',')
	}
	writeJSONString(&ob.buf, key)
	ob.buf.WriteByte(':')
	ob.buf.Write(raw)
}

func (ob *object) bytes() []byte {
	if ob.buf.Len() == 0 {
		return []byte("{}")
	}
	ob.buf.WriteByte('}')
	return ob.buf.Bytes()
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc, _ := json.Marshal(s)
	b.Write(enc)
}

func writeJSONValue(b *bytes.Buffer, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		writeJSONString(b, x)
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case int:
		b.WriteString(strconv.Itoa(x))
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
		} else {
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case time.Time:
		writeJSONString(b, x.UTC().Format("2006-01-02T15:04:05Z"))
	case json.RawMessage:
		b.Write(x)
	case []byte:
		b.Write(x)
	default:
		enc, err := json.Marshal(x)
		if err != nil {
			b.WriteString("null")
			return
		}
		b.Write(enc)
	}
}

// annotations are the instance annotations a request asked for with
// Prefer: odata.include-annotations.
type annotations struct {
	formatted, logicalName, assocNav bool
}

const (
	annFormatted   = "OData.Community.Display.V1.FormattedValue"
	annLogicalName = "Microsoft.Dynamics.CRM.lookuplogicalname"
	annAssocNav    = "Microsoft.Dynamics.CRM.associatednavigationproperty"
)

func parseAnnotations(s string) annotations {
	var a annotations
	for _, p := range strings.Split(strings.Trim(s, `"`), ",") {
		p = strings.TrimSpace(p)
		match := func(name string) bool {
			if p == "*" || p == name {
				return true
			}
			return strings.HasSuffix(p, ".*") && strings.HasPrefix(name, strings.TrimSuffix(p, "*"))
		}
		a.formatted = a.formatted || match(annFormatted)
		a.logicalName = a.logicalName || match(annLogicalName)
		a.assocNav = a.assocNav || match(annAssocNav)
	}
	return a
}

func (a annotations) any() bool { return a.formatted || a.logicalName || a.assocNav }

// renderer writes records as Dataverse JSON for one request.
type renderer struct {
	o    *org
	ann  annotations
	base string // {base}/api/data/v9.2/
}

// fields are the properties a row shows: the $select list (plus the key), or
// every property the record has a value for... as Dataverse returns all
// columns (nulls included) without $select.
func (rd *renderer) fields(e *entityInfo, sel []string) []string {
	if len(sel) == 0 {
		return e.PropNames
	}
	return sel
}

// row renders one record: etag, selected fields with annotations, the key,
// and expanded navs.
func (rd *renderer) row(ob *object, e *entityInfo, r *record, sel []string, exp []expandOpts) {
	ob.field("@odata.etag", etagOf(r))
	keyDone := false
	for _, f := range rd.fields(e, sel) {
		if f == e.Key {
			keyDone = true
		}
		if kind := e.Props[f]; kind == kindBinary && len(sel) == 0 {
			continue // Dataverse omits images unless selected
		}
		rd.value(ob, e, r, f)
	}
	if !keyDone {
		ob.field(e.Key, r.attrs[e.Key])
	}
	for _, x := range exp {
		rd.expand(ob, e, r, x)
	}
}

// value writes one property with its requested annotations.
func (rd *renderer) value(ob *object, e *entityInfo, r *record, f string) {
	v, ok := r.attrs[f]
	if !ok {
		ob.field(f, nil)
		return
	}
	if rd.ann.any() {
		if e.isLookup(f) {
			target := r.ltype[f]
			if rd.ann.formatted {
				if name, ok := rd.o.primaryName(target, v.(string)); ok {
					ob.field(f+"@"+annFormatted, name)
				}
			}
			if rd.ann.assocNav && target != "" {
				ob.field(f+"@"+annAssocNav, e.navForLookup(f, target, rd.o.schema))
			}
			if rd.ann.logicalName && target != "" {
				ob.field(f+"@"+annLogicalName, target)
			}
		} else if rd.ann.formatted {
			if s, ok := formattedValue(e, f, v); ok {
				ob.field(f+"@"+annFormatted, s)
			}
		}
	}
	ob.field(f, v)
}

func (o *org) primaryName(entity, id string) (string, bool) {
	tb := o.tables[entity]
	if tb == nil {
		return "", false
	}
	r, ok := tb.rows[id]
	if !ok {
		return "", false
	}
	return r.str(tb.info.PrimaryName), true
}

// formattedValue is Dataverse's display string for a value (en-US user settings).
func formattedValue(e *entityInfo, f string, v any) (string, bool) {
	switch x := v.(type) {
	case int64:
		if e.Props[f] == kindInt32 {
			if label, isOption := optionLabelFor(e, f, int(x)); isOption {
				return label, label != ""
			}
		}
		if f == "versionnumber" || strings.HasSuffix(f, "timezonecode") || strings.HasSuffix(f, "utcoffset") {
			return "", false
		}
		return groupThousands(strconv.FormatInt(x, 10)), true
	case float64:
		if e.Money[f] {
			return formatMoney(x), true
		}
		return formatDecimal(x), true
	case bool:
		if l, ok := booleanLabels[f]; ok {
			if x {
				return l[1], true
			}
			return l[0], true
		}
		if x {
			return "Yes", true
		}
		return "No", true
	case time.Time:
		return x.Format("1/2/2006 3:04 PM"), true
	case string:
		if e.Props[f] == kindDate {
			if t, err := time.Parse("2006-01-02", x); err == nil {
				return t.Format("1/2/2006"), true
			}
		}
	}
	return "", false
}

func formatMoney(x float64) string {
	neg := x < 0
	s := strconv.FormatFloat(math.Abs(x), 'f', 2, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	out := "$" + groupThousands(intPart) + "." + frac
	if neg {
		return "-" + out
	}
	return out
}

func formatDecimal(x float64) string {
	s := strconv.FormatFloat(math.Abs(x), 'f', 2, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	out := groupThousands(intPart) + "." + frac
	if x < 0 {
		return "-" + out
	}
	return out
}

func groupThousands(digits string) string {
	neg := strings.HasPrefix(digits, "-")
	digits = strings.TrimPrefix(digits, "-")
	var b strings.Builder
	for i, c := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// expand writes an expanded navigation property.
func (rd *renderer) expand(ob *object, e *entityInfo, r *record, x expandOpts) {
	n := x.Nav
	if !n.Collection {
		id, _ := r.attrs[n.ValueProp].(string)
		target := r.ltype[n.ValueProp]
		te := rd.o.schema.byName[target]
		if id == "" || te == nil || !rd.o.schema.isA(target, n.Target) {
			ob.field(n.Name, nil)
			return
		}
		tr, ok := rd.o.tables[target].rows[id]
		if !ok {
			ob.field(n.Name, nil)
			return
		}
		var sub object
		rd.row(&sub, te, tr, rd.selectFor(te, x.Select), nil)
		ob.raw(n.Name, sub.bytes())
		return
	}
	te := rd.o.schema.byName[n.Target]
	var buf bytes.Buffer
	buf.WriteByte('[')
	if te != nil {
		back := te.Navs[n.Partner]
		rows := rd.o.related(te, back, r.str(e.Key), x)
		for i, tr := range rows {
			if i > 0 {
				buf.WriteByte(',')
			}
			var sub object
			rd.row(&sub, te, tr, x.Select, nil)
			buf.Write(sub.bytes())
		}
	}
	buf.WriteByte(']')
	ob.raw(n.Name, buf.Bytes())
}

// selectFor keeps only the fields of sel that exist on te (an abstract nav's
// $select is validated against one concrete type).
func (rd *renderer) selectFor(te *entityInfo, sel []string) []string {
	if len(sel) == 0 {
		return nil
	}
	var out []string
	for _, f := range sel {
		if te.has(f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return []string{te.Key}
	}
	return out
}

// related lists te records whose back-nav lookup points at id, filtered,
// ordered and capped as the expand asks (default cap 5000).
func (o *org) related(te *entityInfo, back *navInfo, id string, x expandOpts) []*record {
	if back == nil || back.Collection {
		if te.Name == "team" || te.Name == "systemuser" {
			return o.membershipRows(te, id)
		}
		return nil
	}
	tb := o.tables[te.Name]
	var rows []*record
	for _, rid := range tb.order {
		r := tb.rows[rid]
		if r.str(back.ValueProp) != id {
			continue
		}
		if !matches(x.Filter, r) {
			continue
		}
		rows = append(rows, r)
	}
	sortRecords(te, rows, x.OrderBy)
	limit := 5000
	if x.Top > 0 && x.Top < limit {
		limit = x.Top
	}
	if len(rows) > limit {
		rows = rows[:limit]
	}
	return rows
}

// membershipRows serves teammembership_association both ways.
func (o *org) membershipRows(te *entityInfo, id string) []*record {
	var out []*record
	if te.Name == "systemuser" {
		for _, u := range o.teams[id] {
			if r, ok := o.tables["systemuser"].rows[u]; ok {
				out = append(out, r)
			}
		}
		return out
	}
	for _, t := range o.teamsOf(id) {
		if r, ok := o.tables["team"].rows[t]; ok {
			out = append(out, r)
		}
	}
	return out
}

// contextURL builds "@odata.context" values.
func (rd *renderer) contextURL(suffix string) string {
	return rd.base + "$metadata#" + suffix
}

// selectContext is "accounts(name,accountid)" style (or "accounts").
func selectContext(e *entityInfo, sel []string, exp []expandOpts) string {
	if len(sel) == 0 && len(exp) == 0 {
		return e.Set
	}
	parts := append([]string(nil), sel...)
	for _, x := range exp {
		inner := strings.Join(x.Select, ",")
		parts = append(parts, fmt.Sprintf("%s(%s)", x.Nav.Name, inner))
	}
	return e.Set + "(" + strings.Join(parts, ",") + ")"
}
