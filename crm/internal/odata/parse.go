package odata

import (
	"strings"
)

// ParseFilter parses a $filter as Dataverse accepts it: comparisons (eq ne gt
// ge lt le) of a property with a literal, and/or/not, parentheses, and the
// functions contains, startswith and endswith. Literals: 'strings' (a quote
// doubled inside), integers, decimals, true, false, null, bare GUIDs, dates
// (2026-11-24) and datetimes (2026-11-24T15:04:05Z, with offset or fraction).
// Precedence, tightest first: not, comparison, and, or.
//
// Errors are *Error values with Dataverse's code and OData's
// "... at position N in '...'" messages; other functions (tolower, the
// Microsoft.Dynamics.CRM query functions, lambdas) are rejected as not
// supported by the sandbox.
func ParseFilter(s string) (Expr, error) {
	p := &parser{src: s}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.fail(t, syntaxError(s, t.pos))
	}
	return e, nil
}

// maxDepth bounds nesting (parentheses and not), as ODL's filter limit does:
// a URL of a million '(' must not exhaust the stack.
const maxDepth = 800

type parser struct {
	src   string
	tok   [2]token // lookahead: the next token and the one after
	n     int      // how many of tok are lexed
	off   int      // where lexing resumes
	depth int
}

// nest records one more level of nesting, failing past maxDepth; the caller
// defers the returned func to leave it.
func (p *parser) nest() (leave func(), err *Error) {
	if p.depth++; p.depth > maxDepth {
		return func() {}, queryErrorf("The recursion limit has been exceeded.")
	}
	return func() { p.depth-- }, nil
}

// fill lexes until n tokens of lookahead are buffered. After the final tEOF
// or tError there is nothing more to lex: that token repeats.
func (p *parser) fill(n int) {
	for p.n < n {
		if p.n > 0 && (p.tok[p.n-1].kind == tEOF || p.tok[p.n-1].kind == tError) {
			p.tok[p.n] = p.tok[p.n-1]
		} else {
			p.tok[p.n], p.off = nextToken(p.src, p.off)
		}
		p.n++
	}
}

func (p *parser) peek() token {
	p.fill(1)
	return p.tok[0]
}

// peek2 is the token after the next one.
func (p *parser) peek2() token {
	p.fill(2)
	return p.tok[1]
}

// next consumes a token; the final tEOF or tError is never passed.
func (p *parser) next() token {
	t := p.peek()
	if t.kind != tEOF && t.kind != tError {
		p.tok[0] = p.tok[1]
		p.n--
	}
	return t
}

// fail returns err for the unexpected token t, unless t is where lexing
// failed: then the lexer's more precise error wins.
func (p *parser) fail(t token, err *Error) *Error {
	if t.kind == tError {
		return t.err
	}
	return err
}

// failAt is fail with ODL's "<what> at position N in '...'" message.
func (p *parser) failAt(t token, what string) *Error {
	return p.fail(t, errorAt(p.src, t.pos, what))
}

// keyword reports whether the next token is the keyword kw, consuming it.
func (p *parser) keyword(kw string) bool {
	if t := p.peek(); t.kind == tIdent && t.text == kw {
		p.next()
		return true
	}
	return false
}

func (p *parser) parseOr() (Expr, *Error) {
	left, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		right, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		left = &Logical{Op: OpOr, Left: left, Right: right}
	}
	return left, nil
}

func (p *parser) parseAnd() (Expr, *Error) {
	left, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		right, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		left = &Logical{Op: OpAnd, Left: left, Right: right}
	}
	return left, nil
}

// parseUnary handles not, which binds tighter than a comparison: its operand
// must be a parenthesized condition, a function call or another not.
func (p *parser) parseUnary() (Expr, *Error) {
	if !p.keyword("not") {
		return p.parsePrimary()
	}
	leave, err := p.nest()
	defer leave()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	isCall := t.kind == tIdent && p.peek2().kind == tLParen
	if t.kind != tLParen && !isCall && !(t.kind == tIdent && t.text == "not") {
		return nil, p.failAt(t, "'not' must be followed by '(' or a function call")
	}
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	return &Negation{X: x}, nil
}

func (p *parser) parsePrimary() (Expr, *Error) {
	t := p.next()
	switch t.kind {
	case tLParen:
		leave, err := p.nest()
		defer leave()
		if err != nil {
			return nil, err
		}
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, p.failAt(c, "')' or operator expected")
		}
		return e, nil
	case tIdent:
		if p.peek().kind == tLParen {
			return p.parseCall(t)
		}
		if isKeyword(t.text) {
			if isLiteralKeyword(t.text) {
				return nil, p.failAt(t, "Property name expected on the left of a comparison")
			}
			return nil, p.failAt(t, "Expression expected")
		}
		return p.parseComparison(t)
	case tEOF, tRParen, tComma, tError:
		return nil, p.failAt(t, "Expression expected")
	}
	return nil, p.failAt(t, "Property name expected on the left of a comparison")
}

func (p *parser) parseComparison(field token) (Expr, *Error) {
	if !isPath(field.text) {
		return nil, syntaxError(p.src, field.pos) // a lexed name: never tError
	}
	opTok := p.next()
	op, ok := comparisonOp(opTok)
	if !ok {
		if opTok.kind == tEOF || opTok.kind == tRParen || opTok.text == "and" || opTok.text == "or" {
			return nil, p.failAt(opTok, "Comparison operator (eq, ne, gt, ge, lt, le) expected after '"+field.text+"'")
		}
		return nil, p.fail(opTok, syntaxError(p.src, opTok.pos))
	}
	valTok := p.next()
	if valTok.kind == tIdent && !isLiteralKeyword(valTok.text) && isPath(valTok.text) && p.peek().kind != tLParen {
		return nil, p.failAt(valTok, "comparing two properties ('"+field.text+"' and '"+valTok.text+"') is not supported by the sandbox")
	}
	c, err := p.constant(valTok)
	if err != nil {
		return nil, err
	}
	return &Comparison{Field: field.text, Op: op, Value: c}, nil
}

func comparisonOp(t token) (Op, bool) {
	if t.kind != tIdent {
		return "", false
	}
	switch op := Op(t.text); op {
	case OpEq, OpNe, OpGt, OpGe, OpLt, OpLe:
		return op, true
	}
	return "", false
}

// constant converts a literal token.
func (p *parser) constant(t token) (Constant, *Error) {
	switch t.kind {
	case tString:
		return stringConstant(t.text), nil
	case tNumber:
		c, _ := numberConstant(t.text) // validated by the lexer
		return c, nil
	case tGUID:
		g, _ := parseGUIDBytes(t.text)
		lower := strings.ToLower(t.text)
		return Constant{Kind: KindGUID, Text: lower, str: lower, guid: g}, nil
	case tDate:
		d, _ := parseDate(t.text)
		return Constant{Kind: KindDate, Text: t.text, t: d}, nil
	case tDateTime:
		d, _ := parseDateTime(t.text)
		return Constant{Kind: KindDateTime, Text: t.text, t: d}, nil
	case tIdent:
		switch t.text {
		case "true", "false":
			return Constant{Kind: KindBool, Text: t.text, b: t.text == "true"}, nil
		case "null":
			return Constant{Kind: KindNull, Text: "null"}, nil
		}
	}
	return Constant{}, p.failAt(t, "Expression expected")
}

// parseCall parses contains/startswith/endswith(property,'text') and rejects
// every other function clearly.
func (p *parser) parseCall(name token) (Expr, *Error) {
	var leading, trailing bool
	switch name.text {
	case "contains":
		leading, trailing = true, true
	case "startswith":
		trailing = true
	case "endswith":
		leading = true
	default:
		fn := name.text
		if k := strings.LastIndexByte(fn, '/'); k >= 0 && (fn[k+1:] == "any" || fn[k+1:] == "all") {
			return nil, p.failAt(name, "The lambda operator '"+fn[k+1:]+"' is not supported by the sandbox")
		}
		return nil, p.failAt(name, "function "+fn+" is not supported by the sandbox")
	}
	p.next() // (
	field := p.next()
	if field.kind != tIdent || isKeyword(field.text) || !isPath(field.text) {
		return nil, p.fail(field, NoFunctionSignature(name.text))
	}
	if t := p.next(); t.kind != tComma {
		return nil, p.failAt(t, "')' or ',' expected")
	}
	arg := p.next()
	if arg.kind != tString {
		return nil, p.fail(arg, NoFunctionSignature(name.text))
	}
	if t := p.next(); t.kind != tRParen {
		return nil, p.failAt(t, "')' or ',' expected")
	}
	return &Call{
		Func: name.text, Field: field.text, Arg: stringConstant(arg.text),
		pattern: compileLike(arg.text, leading, trailing),
	}, nil
}

func isKeyword(s string) bool {
	switch s {
	case "and", "or", "not", "eq", "ne", "gt", "ge", "lt", "le":
		return true
	}
	return isLiteralKeyword(s)
}

func isLiteralKeyword(s string) bool { return s == "true" || s == "false" || s == "null" }
