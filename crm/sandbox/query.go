package sandbox

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// queryOpts are the OData system query options of one request, validated
// against the entity's schema.
type queryOpts struct {
	Select     []string // validated property names; empty = all
	Filter     filterFunc
	FilterText string
	OrderBy    []orderItem
	Top        int // 0 = none
	Expand     []expandOpts
	Count      bool
	SkipToken  string
	DeltaToken string
}

type orderItem struct {
	Field string
	Desc  bool
}

// expandOpts is one $expand item with its nested options.
type expandOpts struct {
	Nav     *navInfo
	Select  []string
	Filter  filterFunc
	OrderBy []orderItem
	Top     int
}

// filterFunc evaluates a $filter against a record.
type filterFunc func(*record) bool

// parseQuery reads the system query options for entity e.
func (o *org) parseQuery(e *entityInfo, q url.Values) (*queryOpts, error) {
	for k := range q {
		if !strings.HasPrefix(k, "$") {
			continue
		}
		switch k {
		case "$select", "$filter", "$orderby", "$top", "$expand", "$count", "$skiptoken", "$deltatoken", "$format", "$apply":
		case "$skip":
			return nil, badRequest("The query parameter $skip is not supported")
		default:
			return nil, badRequest("The query parameter %s is not supported", k)
		}
	}
	if q.Get("$apply") != "" {
		return nil, errf(http.StatusNotImplemented, codeNotImplemented, "The query option $apply is not supported by the sandbox.")
	}
	qo := &queryOpts{SkipToken: q.Get("$skiptoken"), DeltaToken: q.Get("$deltatoken")}
	var err error
	if qo.Select, err = o.parseSelect(e, q.Get("$select")); err != nil {
		return nil, err
	}
	if s := q.Get("$filter"); s != "" {
		qo.FilterText = s
		if qo.Filter, err = o.compileFilter(e, s); err != nil {
			return nil, err
		}
	}
	if qo.OrderBy, err = parseOrderBy(e, q.Get("$orderby")); err != nil {
		return nil, err
	}
	if qo.Top, err = parseTop(q.Get("$top")); err != nil {
		return nil, err
	}
	switch c := q.Get("$count"); c {
	case "", "false":
	case "true":
		qo.Count = true
	default:
		return nil, badRequest("'%s' is not a valid count option.", c)
	}
	if qo.Expand, err = o.parseExpand(e, q.Get("$expand")); err != nil {
		return nil, err
	}
	return qo, nil
}

func (o *org) parseSelect(e *entityInfo, s string) ([]string, error) {
	if strings.TrimSpace(s) == "" || strings.TrimSpace(s) == "*" {
		return nil, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, badRequest("Syntax error: empty item in $select.")
		}
		if _, ok := e.Props[f]; !ok {
			if n, isNav := e.Navs[f]; isNav && !n.Collection {
				f = n.ValueProp // Dataverse accepts a single-valued nav in $select as its lookup
			} else {
				return nil, unknownProperty(f, e.Name)
			}
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out, nil
}

func parseOrderBy(e *entityInfo, s string) ([]orderItem, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []orderItem
	for _, part := range strings.Split(s, ",") {
		fields := strings.Fields(part)
		if len(fields) == 0 || len(fields) > 2 {
			return nil, badRequest("Syntax error at position %d in '%s'.", len(s), s)
		}
		it := orderItem{Field: fields[0]}
		if len(fields) == 2 {
			switch strings.ToLower(fields[1]) {
			case "asc":
			case "desc":
				it.Desc = true
			default:
				return nil, badRequest("Syntax error: '%s' is not a valid order direction in '%s'.", fields[1], s)
			}
		}
		if _, ok := e.Props[it.Field]; !ok {
			return nil, unknownProperty(it.Field, e.Name)
		}
		out = append(out, it)
	}
	return out, nil
}

func parseTop(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, badRequest("Invalid value '%s' for $top query option found. The $top query option requires a non-negative integer value.", s)
	}
	return n, nil
}

// parseExpand reads "nav($select=a,b;$filter=...;$orderby=...;$top=n),nav2".
func (o *org) parseExpand(e *entityInfo, s string) ([]expandOpts, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	items, err := splitTopLevel(s, ',')
	if err != nil {
		return nil, err
	}
	var out []expandOpts
	for _, item := range items {
		item = strings.TrimSpace(item)
		name, inner := item, ""
		if i := strings.IndexByte(item, '('); i >= 0 {
			if !strings.HasSuffix(item, ")") {
				return nil, badRequest("Syntax error in $expand: '%s'.", item)
			}
			name, inner = item[:i], item[i+1:len(item)-1]
		}
		n, ok := e.Navs[name]
		if !ok {
			return nil, unknownProperty(name, e.Name)
		}
		target := o.schema.byName[n.Target]
		if target == nil {
			target = o.abstractTarget(n.Target)
		}
		x := expandOpts{Nav: n}
		opts, err := splitTopLevel(inner, ';')
		if err != nil {
			return nil, err
		}
		for _, opt := range opts {
			opt = strings.TrimSpace(opt)
			if opt == "" {
				continue
			}
			k, v, ok := strings.Cut(opt, "=")
			if !ok {
				return nil, badRequest("Syntax error in $expand options: '%s'.", opt)
			}
			switch k {
			case "$select":
				if x.Select, err = o.parseSelect(target, v); err != nil {
					return nil, err
				}
			case "$filter":
				if !n.Collection {
					return nil, badRequest("Only $select is supported for single-valued navigation property '%s' in $expand.", n.Name)
				}
				if x.Filter, err = o.compileFilter(target, v); err != nil {
					return nil, err
				}
			case "$orderby":
				if x.OrderBy, err = parseOrderBy(target, v); err != nil {
					return nil, err
				}
			case "$top":
				if x.Top, err = parseTop(v); err != nil {
					return nil, err
				}
			case "$expand":
				return nil, errf(http.StatusNotImplemented, codeNotImplemented, "Nested $expand is not supported by the sandbox.")
			default:
				return nil, badRequest("The query option %s is not supported in $expand.", k)
			}
		}
		out = append(out, x)
	}
	return out, nil
}

// abstractTarget stands for an abstract nav target (principal): the union of
// the concrete types' properties is not needed, the common ones suffice.
func (o *org) abstractTarget(name string) *entityInfo {
	switch name {
	case "principal":
		return o.schema.byName["systemuser"]
	case "activitypointer":
		return o.schema.byName["activitypointer"]
	}
	return o.schema.byName["account"]
}

// splitTopLevel splits s on sep outside parentheses and quotes.
func splitTopLevel(s string, sep byte) ([]string, error) {
	var out []string
	depth, start, inQuote := 0, 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			inQuote = !inQuote
		case inQuote:
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth < 0 {
				return nil, badRequest("Syntax error: unbalanced parentheses in '%s'.", s)
			}
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if depth != 0 || inQuote {
		return nil, badRequest("Syntax error: unbalanced parentheses or quotes in '%s'.", s)
	}
	if strings.TrimSpace(s[start:]) != "" || len(out) > 0 {
		out = append(out, s[start:])
	}
	return out, nil
}
