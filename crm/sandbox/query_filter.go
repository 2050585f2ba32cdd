package sandbox

import (
	"strconv"
	"strings"
	"time"
	"unicode"
)

// compileFilter turns a $filter into a predicate over records of e.
//
// Interim evaluator until crm/internal/odata lands (then this file becomes an
// adapter over odata.ParseFilter): comparisons (eq ne gt ge lt le), and/or/not,
// parentheses, contains/startswith/endswith (case-insensitive, like
// Dataverse's collation), literals 'text' (” escapes a quote), numbers,
// true/false/null, GUIDs and ISO dates. Property names are checked against
// the schema; literals are typed by the property they compare with.
func (o *org) compileFilter(e *entityInfo, s string) (filterFunc, error) {
	p := &filterParser{e: e, src: s, toks: tokenizeFilter(s)}
	if p.toks == nil {
		return nil, badRequest("Syntax error in $filter '%s'.", s)
	}
	f, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, badRequest("Syntax error at position %d in '%s'.", p.pos, s)
	}
	return f, nil
}

type filterToken struct {
	text   string
	quoted bool // a string literal
}

func tokenizeFilter(s string) []filterToken {
	toks := []filterToken{}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')' || c == ',':
			toks = append(toks, filterToken{text: string(c)})
			i++
		case c == '\'':
			var b strings.Builder
			i++
			closed := false
			for i < len(s) {
				if s[i] == '\'' {
					if i+1 < len(s) && s[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteByte(s[i])
				i++
			}
			if !closed {
				return nil
			}
			toks = append(toks, filterToken{text: b.String(), quoted: true})
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '(' && s[j] != ')' && s[j] != ',' && s[j] != '\'' {
				j++
			}
			toks = append(toks, filterToken{text: s[i:j]})
			i = j
		}
	}
	return toks
}

type filterParser struct {
	e    *entityInfo
	src  string
	toks []filterToken
	pos  int
}

func (p *filterParser) peek() (filterToken, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return filterToken{}, false
}

func (p *filterParser) keyword(k string) bool {
	t, ok := p.peek()
	if ok && !t.quoted && strings.EqualFold(t.text, k) {
		p.pos++
		return true
	}
	return false
}

func (p *filterParser) syntax() error {
	return badRequest("Syntax error at position %d in '%s'.", p.pos, p.src)
}

func (p *filterParser) or() (filterFunc, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(r *record) bool { return l(r) || right(r) }
	}
	return left, nil
}

func (p *filterParser) and() (filterFunc, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(r *record) bool { return l(r) && right(r) }
	}
	return left, nil
}

func (p *filterParser) unary() (filterFunc, error) {
	if p.keyword("not") {
		f, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(r *record) bool { return !f(r) }, nil
	}
	if p.keyword("(") {
		f, err := p.or()
		if err != nil {
			return nil, err
		}
		if !p.keyword(")") {
			return nil, p.syntax()
		}
		return f, nil
	}
	t, ok := p.peek()
	if !ok || t.quoted {
		return nil, p.syntax()
	}
	switch fn := strings.ToLower(t.text); fn {
	case "contains", "startswith", "endswith":
		p.pos++
		if !p.keyword("(") {
			return nil, p.syntax()
		}
		field, err := p.field()
		if err != nil {
			return nil, err
		}
		if !p.keyword(",") {
			return nil, p.syntax()
		}
		lit, ok := p.peek()
		if !ok || !lit.quoted {
			return nil, p.syntax()
		}
		p.pos++
		if !p.keyword(")") {
			return nil, p.syntax()
		}
		needle := strings.ToLower(lit.text)
		match := map[string]func(string, string) bool{"contains": strings.Contains, "startswith": strings.HasPrefix, "endswith": strings.HasSuffix}[fn]
		return func(r *record) bool {
			s, ok := r.attrs[field].(string)
			return ok && match(strings.ToLower(s), needle)
		}, nil
	}
	field, err := p.field()
	if err != nil {
		return nil, err
	}
	opTok, ok := p.peek()
	if !ok {
		return nil, p.syntax()
	}
	op := strings.ToLower(opTok.text)
	switch op {
	case "eq", "ne", "gt", "ge", "lt", "le":
	default:
		return nil, p.syntax()
	}
	p.pos++
	litTok, ok := p.peek()
	if !ok {
		return nil, p.syntax()
	}
	p.pos++
	lit, err := p.literal(field, litTok)
	if err != nil {
		return nil, err
	}
	return func(r *record) bool {
		v := r.attrs[field]
		if lit == nil || v == nil {
			switch op {
			case "eq":
				return v == nil && lit == nil
			case "ne":
				return (v == nil) != (lit == nil)
			}
			return false
		}
		c := compareValues(v, lit)
		switch op {
		case "eq":
			return c == 0
		case "ne":
			return c != 0
		case "gt":
			return c > 0
		case "ge":
			return c >= 0
		case "lt":
			return c < 0
		}
		return c <= 0
	}, nil
}

func (p *filterParser) field() (string, error) {
	t, ok := p.peek()
	if !ok || t.quoted || t.text == "" || !unicode.IsLetter(rune(t.text[0])) && t.text[0] != '_' {
		return "", p.syntax()
	}
	p.pos++
	if _, ok := p.e.Props[t.text]; !ok {
		return "", unknownProperty(t.text, p.e.Name)
	}
	return t.text, nil
}

// literal types a literal by the property it is compared with.
func (p *filterParser) literal(field string, t filterToken) (any, error) {
	if !t.quoted && t.text == "null" {
		return nil, nil
	}
	kind := p.e.Props[field]
	bad := func() (any, error) {
		return nil, badRequest("A binary operator with incompatible types was detected. Found operand types for property '%s' and literal '%s'.", field, t.text)
	}
	switch kind {
	case kindString, kindDate:
		if !t.quoted {
			if kind == kindDate {
				if _, err := time.Parse("2006-01-02", t.text); err == nil {
					return t.text, nil
				}
			}
			return bad()
		}
		return t.text, nil
	case kindInt32, kindInt64:
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil || t.quoted {
			return bad()
		}
		return n, nil
	case kindDecimal, kindDouble:
		f, err := strconv.ParseFloat(strings.TrimRight(t.text, "mMdDfF"), 64)
		if err != nil || t.quoted {
			return bad()
		}
		return f, nil
	case kindBool:
		if t.quoted || (t.text != "true" && t.text != "false") {
			return bad()
		}
		return t.text == "true", nil
	case kindGuid:
		v, err := convertValue(kindGuid, t.text)
		if err != nil {
			return bad()
		}
		return v, nil
	case kindDateTime:
		v, err := convertValue(kindDateTime, t.text)
		if err != nil {
			return bad()
		}
		return v, nil
	}
	return bad()
}
