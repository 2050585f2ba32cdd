package odata

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Record is a row as filters see it. Values are JSON-ish Go values: string
// (GUIDs and RFC 3339 datetimes included), float64, json.Number or any
// integer type, bool, time.Time, GUID, or nil. A missing name and a nil value
// are both null.
type Record interface {
	Get(name string) (any, bool)
}

// MapRecord is a Record over a map, such as a decoded JSON object.
type MapRecord map[string]any

// Get implements Record.
func (m MapRecord) Get(name string) (any, bool) {
	v, ok := m[name]
	return v, ok
}

// Eval implements Expr. Null handling follows Dataverse: see the package doc.
func (c *Comparison) Eval(r Record) (bool, error) {
	v, _ := r.Get(c.Field)
	switch {
	case v == nil:
		switch c.Op {
		case OpEq:
			return c.Value.Kind == KindNull, nil
		case OpNe: // FetchXML ne: a null column is "not equal" to any value
			return c.Value.Kind != KindNull, nil
		}
		return false, nil
	case c.Value.Kind == KindNull:
		return c.Op == OpNe, nil
	}
	n, ok := c.Value.compare(v)
	if !ok {
		return false, IncompatibleTypes(edmTypeOf(v), c)
	}
	switch c.Op {
	case OpEq:
		return n == 0, nil
	case OpNe:
		return n != 0, nil
	case OpGt:
		return n > 0, nil
	case OpGe:
		return n >= 0, nil
	case OpLt:
		return n < 0, nil
	}
	return n <= 0, nil
}

// Eval implements Expr: the LIKE pattern against a string value; null never
// matches.
func (c *Call) Eval(r Record) (bool, error) {
	v, _ := r.Get(c.Field)
	switch x := v.(type) {
	case nil:
		return false, nil
	case string:
		return c.pattern.match(x), nil
	case GUID:
		return c.pattern.match(string(x)), nil
	}
	return false, NoFunctionSignature(c.Func)
}

// Eval implements Expr, short-circuiting like SQL may.
func (l *Logical) Eval(r Record) (bool, error) {
	ok, err := l.Left.Eval(r)
	if err != nil {
		return false, err
	}
	if ok == (l.Op == OpOr) {
		return ok, nil
	}
	return l.Right.Eval(r)
}

// Eval implements Expr.
func (n *Negation) Eval(r Record) (bool, error) {
	ok, err := n.X.Eval(r)
	return !ok && err == nil, err
}

// compare orders the record value v against the literal (sign of v - c);
// ok is false when the types cannot be compared.
func (c *Constant) compare(v any) (int, bool) {
	switch c.Kind {
	case KindString:
		switch x := v.(type) {
		case string:
			return collate(x, c.fold), true
		case GUID:
			return collate(string(x), c.fold), true
		}
	case KindGUID:
		var s string
		switch x := v.(type) {
		case string:
			s = x
		case GUID:
			s = string(x)
		default:
			return 0, false
		}
		g, ok := parseGUIDBytes(s)
		if !ok {
			return 0, false
		}
		return compareGUID(&g, &c.guid), true
	case KindInt, KindDecimal:
		n, ok := toNumber(v)
		if !ok {
			return 0, false
		}
		return n.compare(number{i: c.i, f: c.f, isInt: c.isInt}), true
	case KindBool:
		if b, ok := v.(bool); ok {
			return cmpBool(b, c.b), true
		}
	case KindDate, KindDateTime:
		if t, ok := toTime(v); ok {
			return t.Compare(c.t), true
		}
	}
	return 0, false
}

// number holds a numeric value exactly when it is an integer.
type number struct {
	i     int64
	f     float64
	isInt bool
}

func (a number) compare(b number) int {
	switch {
	case a.isInt && b.isInt:
		return cmp.Compare(a.i, b.i)
	case a.isInt:
		return -cmpFloatInt(b.f, a.i)
	case b.isInt:
		return cmpFloatInt(a.f, b.i)
	}
	return cmp.Compare(a.f, b.f)
}

// cmpFloatInt compares f with i exactly: converting a large i to float64
// would round it.
func cmpFloatInt(f float64, i int64) int {
	switch {
	case math.IsNaN(f):
		return -1 // where cmp.Compare puts NaN
	case f >= 0x1p63:
		return 1
	case f < -0x1p63:
		return -1
	}
	whole := math.Trunc(f)
	if c := cmp.Compare(int64(whole), i); c != 0 {
		return c
	}
	return cmp.Compare(f-whole, 0)
}

// toNumber accepts every numeric Go type a decoder or store may produce.
func toNumber(v any) (number, bool) {
	switch x := v.(type) {
	case int:
		return intNumber(int64(x)), true
	case int64:
		return intNumber(x), true
	case int32:
		return intNumber(int64(x)), true
	case int16:
		return intNumber(int64(x)), true
	case int8:
		return intNumber(int64(x)), true
	case uint:
		return uintNumber(uint64(x)), true
	case uint64:
		return uintNumber(x), true
	case uint32:
		return intNumber(int64(x)), true
	case uint16:
		return intNumber(int64(x)), true
	case uint8:
		return intNumber(int64(x)), true
	case float64:
		return number{f: x}, true
	case float32:
		return number{f: float64(x)}, true
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") { // ParseInt allocates its error
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return intNumber(i), true
			}
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return number{f: f}, true
		}
	}
	return number{}, false
}

func intNumber(i int64) number { return number{i: i, f: float64(i), isInt: true} }

func uintNumber(u uint64) number {
	if u > math.MaxInt64 {
		return number{f: float64(u)}
	}
	return intNumber(int64(u))
}

// toTime accepts a time.Time or a date/datetime string.
func toTime(v any) (time.Time, bool) {
	switch x := v.(type) {
	case time.Time:
		return x, true
	case string:
		return parseTemporal(x)
	}
	return time.Time{}, false
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// edmTypeOf names a record value's type for mismatch messages.
func edmTypeOf(v any) string {
	switch v.(type) {
	case string:
		return "Edm.String"
	case GUID:
		return "Edm.Guid"
	case bool:
		return "Edm.Boolean"
	case int32, int16, int8, uint16, uint8:
		return "Edm.Int32"
	case int, int64, uint, uint32, uint64:
		return "Edm.Int64"
	case float64, float32:
		return "Edm.Double"
	case json.Number:
		return "Edm.Decimal"
	case time.Time:
		return "Edm.DateTimeOffset"
	}
	return fmt.Sprintf("%T", v)
}

// Compare orders two record values for $orderby as SQL Server does
// ascending: null first, numbers numerically whatever their Go types,
// strings by the collation (case- and accent-insensitive), datetimes
// chronologically (time.Time, or two strings that both parse as dates or
// datetimes), two [GUID] values as SQL Server orders uniqueidentifier (the
// order gt and lt filter a GUID column by), false before true. Values of
// different kinds order by kind so sorting stays total. Negate it for
// descending (nulls last, as in SQL).
func Compare(a, b any) int {
	ka, kb := sortKind(a), sortKind(b)
	if ka != kb {
		return cmp.Compare(ka, kb)
	}
	switch ka {
	case sortBool:
		return cmpBool(a.(bool), b.(bool))
	case sortNumber:
		x, _ := toNumber(a)
		y, _ := toNumber(b)
		return x.compare(y)
	case sortTime:
		return a.(time.Time).Compare(b.(time.Time))
	case sortString:
		if c, ok := compareGUIDValues(a, b); ok {
			return c
		}
		x, y := stringOf(a), stringOf(b)
		if looksTemporal(x) && looksTemporal(y) {
			if tx, ok := parseTemporal(x); ok {
				if ty, ok := parseTemporal(y); ok {
					return tx.Compare(ty)
				}
			}
		}
		return collate(x, y)
	}
	return 0
}

// Less reports whether a sorts before b under [Compare].
func Less(a, b any) bool { return Compare(a, b) < 0 }

type sortRank int

const (
	sortNull sortRank = iota
	sortBool
	sortNumber
	sortTime
	sortString
	sortOther
)

func sortKind(v any) sortRank {
	switch v.(type) {
	case nil:
		return sortNull
	case bool:
		return sortBool
	case time.Time:
		return sortTime
	case string, GUID:
		return sortString
	}
	if _, ok := toNumber(v); ok {
		return sortNumber
	}
	return sortOther
}

// compareGUIDValues orders a and b as uniqueidentifiers when both are GUID
// values in the 8-4-4-4-12 form; ok is false otherwise.
func compareGUIDValues(a, b any) (int, bool) {
	x, ok1 := a.(GUID)
	y, ok2 := b.(GUID)
	if !ok1 || !ok2 {
		return 0, false
	}
	gx, ok1 := parseGUIDBytes(string(x))
	gy, ok2 := parseGUIDBytes(string(y))
	if !ok1 || !ok2 {
		return 0, false
	}
	return compareGUID(&gx, &gy), true
}

func stringOf(v any) string {
	if g, ok := v.(GUID); ok {
		return string(g)
	}
	return v.(string)
}
