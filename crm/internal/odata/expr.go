package odata

import (
	"strconv"
	"strings"
	"time"
)

// Expr is a parsed $filter. It is immutable, so one parse may be evaluated
// over many records from many goroutines.
type Expr interface {
	// Eval reports whether r satisfies the filter. The error (an *Error) is
	// a type mismatch between the literal and the record's value, which
	// Dataverse would have reported when binding the query.
	Eval(r Record) (bool, error)
	// String renders the expression as canonical OData text that parses
	// back to the same expression.
	String() string
	expr()
}

// Op is an OData comparison or logical operator.
type Op string

// The operators of the filter grammar.
const (
	OpEq  Op = "eq"
	OpNe  Op = "ne"
	OpGt  Op = "gt"
	OpGe  Op = "ge"
	OpLt  Op = "lt"
	OpLe  Op = "le"
	OpAnd Op = "and"
	OpOr  Op = "or"
)

// kindName is ODL's name for the operator in type-mismatch messages.
func (op Op) kindName() string {
	switch op {
	case OpEq:
		return "Equal"
	case OpNe:
		return "NotEqual"
	case OpGt:
		return "GreaterThan"
	case OpGe:
		return "GreaterThanOrEqual"
	case OpLt:
		return "LessThan"
	case OpLe:
		return "LessThanOrEqual"
	}
	return string(op)
}

// Comparison is "Field Op Value".
type Comparison struct {
	Field string
	Op    Op
	Value Constant
}

// Call is one of the string functions Dataverse supports in $filter:
// contains, startswith or endswith, with Arg a string literal that is a T-SQL
// LIKE pattern.
type Call struct {
	Func  string
	Field string
	Arg   Constant

	pattern likePattern
}

// Logical is "Left and Right" or "Left or Right".
type Logical struct {
	Op          Op
	Left, Right Expr
}

// Negation is "not X".
type Negation struct {
	X Expr
}

func (*Comparison) expr() {}
func (*Call) expr()       {}
func (*Logical) expr()    {}
func (*Negation) expr()   {}

// String implements Expr.
func (c *Comparison) String() string { return c.Field + " " + string(c.Op) + " " + c.Value.Text }

// String implements Expr.
func (c *Call) String() string { return c.Func + "(" + c.Field + "," + c.Arg.Text + ")" }

// String implements Expr.
func (l *Logical) String() string {
	return l.operand(l.Left) + " " + string(l.Op) + " " + l.operand(l.Right)
}

// operand parenthesizes a child that is a different logical operator (or a
// right-nested one of the same, to keep the tree shape on a re-parse).
func (l *Logical) operand(e Expr) string {
	if c, ok := e.(*Logical); ok && (c.Op != l.Op || e == l.Right) {
		return "(" + e.String() + ")"
	}
	return e.String()
}

// String implements Expr.
func (n *Negation) String() string {
	switch n.X.(type) {
	case *Call, *Negation:
		return "not " + n.X.String()
	}
	return "not (" + n.X.String() + ")"
}

// Walk calls fn for e and, while fn returns true, for its operands depth
// first, so a caller can check every comparison against its schema.
func Walk(e Expr, fn func(Expr) bool) {
	if e == nil || !fn(e) {
		return
	}
	switch x := e.(type) {
	case *Logical:
		Walk(x.Left, fn)
		Walk(x.Right, fn)
	case *Negation:
		Walk(x.X, fn)
	}
}

// Fields lists the property names e references, each once, in order of first
// appearance, so the sandbox can reject unknown ones as Dataverse does (see
// [UnknownProperty]).
func Fields(e Expr) []string {
	var out []string
	seen := map[string]bool{}
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	Walk(e, func(e Expr) bool {
		switch x := e.(type) {
		case *Comparison:
			add(x.Field)
		case *Call:
			add(x.Field)
		}
		return true
	})
	return out
}

// Kind is the type of a literal.
type Kind int

// Literal kinds.
const (
	KindNull Kind = iota
	KindString
	KindInt
	KindDecimal // any number with a fraction, exponent or type suffix
	KindBool
	KindGUID
	KindDate
	KindDateTime
)

var kindNames = [...]string{"null", "Edm.String", "Edm.Int64", "Edm.Decimal", "Edm.Boolean", "Edm.Guid", "Edm.Date", "Edm.DateTimeOffset"}

// String returns the Edm type name Dataverse uses in messages.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Constant is a literal of a parsed filter, converted once at parse time to
// the forms evaluation compares with.
type Constant struct {
	Kind Kind
	Text string // canonical OData text

	str   string  // KindString: the unescaped value; KindGUID: lowercase canonical
	fold  string  // KindString: str folded for the collation
	i     int64   // KindInt
	f     float64 // KindInt and KindDecimal
	b     bool
	t     time.Time
	guid  [16]byte
	isInt bool
}

// Value returns the literal as a Go value: nil, string, GUID, int64 (KindInt),
// float64 (KindDecimal), bool, or time.Time (UTC; midnight for a Date).
func (c Constant) Value() any {
	switch c.Kind {
	case KindString:
		return c.str
	case KindGUID:
		return GUID(c.str)
	case KindInt:
		return c.i
	case KindDecimal:
		return c.f
	case KindBool:
		return c.b
	case KindDate, KindDateTime:
		return c.t
	}
	return nil
}

// edmType names the literal's type as ODL would (Int32 when it fits).
func (c Constant) edmType() string {
	if c.Kind == KindInt && c.i >= -1<<31 && c.i < 1<<31 {
		return "Edm.Int32"
	}
	return c.Kind.String()
}

func stringConstant(s string) Constant {
	return Constant{Kind: KindString, Text: String(s), str: s, fold: fold(s)}
}

// numberConstant converts number text (digits, optional fraction, exponent
// and type suffix, already validated by the lexer).
func numberConstant(text string) (Constant, bool) {
	body := strings.TrimRight(text, "mMdDfFlL")
	suffix := text[len(body):]
	if suffix == "" || suffix == "l" || suffix == "L" {
		if i, err := strconv.ParseInt(body, 10, 64); err == nil {
			return Constant{Kind: KindInt, Text: text, i: i, f: float64(i), isInt: true}, true
		}
	}
	f, err := strconv.ParseFloat(body, 64)
	if err != nil { // out of range included: no column holds it
		return Constant{}, false
	}
	return Constant{Kind: KindDecimal, Text: text, f: f}, true
}
