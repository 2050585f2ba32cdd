package sandbox

import (
	"maps"
	"net/http"
	"net/url"
	"strings"

	"github.com/crmbot/crmbot/crm/internal/odata"
)

// queryOpts are the OData system query options of one request: parsed by
// crm/internal/odata, then bound to the entity's schema.
type queryOpts struct {
	Select     []string   // validated property names; empty = all
	Filter     odata.Expr // nil = every record
	OrderBy    []odata.OrderItem
	Top        int // 0 = none
	Expand     []expandOpts
	Count      bool
	SkipToken  string
	DeltaToken string
}

// expandOpts is one $expand item with its nested options, bound to the
// navigation property's target.
type expandOpts struct {
	Nav     *navInfo
	Select  []string
	Filter  odata.Expr
	OrderBy []odata.OrderItem
	Top     int
}

// parseQuery reads the system query options for entity e: odata.ParseQuery
// accepts and rejects the syntax as Dataverse does, then every property name
// and literal is checked against e's schema, as Dataverse does when it binds
// the query (so evaluation never meets a type it cannot compare).
func (o *org) parseQuery(e *entityInfo, q url.Values) (*queryOpts, error) {
	for k := range q {
		switch {
		case strings.EqualFold(k, "$apply"):
			// Dataverse aggregates; the sandbox does not.
			return nil, errf(http.StatusNotImplemented, codeNotImplemented, "The query option $apply is not supported by the sandbox.")
		case strings.EqualFold(k, "$format"):
			// Accepted and ignored: the sandbox answers JSON only.
			q = maps.Clone(q)
			delete(q, k)
		}
	}
	p, err := odata.ParseQuery(q)
	if err != nil {
		return nil, queryError(err)
	}
	qo := &queryOpts{Filter: p.Filter, OrderBy: p.OrderBy, Top: p.Top, Count: p.Count, SkipToken: p.SkipToken, DeltaToken: p.DeltaToken}
	if qo.Select, err = selectProps(e, p.Select); err != nil {
		return nil, err
	}
	if err := checkFilter(e, p.Filter); err != nil {
		return nil, err
	}
	if err := checkOrderBy(e, p.OrderBy); err != nil {
		return nil, err
	}
	if qo.Expand, err = o.bindExpand(e, p.Expand); err != nil {
		return nil, err
	}
	return qo, nil
}

// selectProps checks $select names against e, dropping repeats. A
// single-valued navigation property stands for its lookup (_x_value), as
// Dataverse accepts it in $select.
func selectProps(e *entityInfo, names []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range names {
		if !e.has(f) {
			n, isNav := e.Navs[f]
			if !isNav || n.Collection {
				return nil, unknownProperty(f, e.Name)
			}
			f = n.ValueProp
		}
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out, nil
}

func checkOrderBy(e *entityInfo, ob []odata.OrderItem) error {
	for _, it := range ob {
		if !e.has(it.Field) {
			return unknownProperty(it.Field, e.Name)
		}
	}
	return nil
}

// checkFilter binds a parsed $filter to e: every property must exist, every
// literal must fit its property's Edm type, and the string functions apply to
// string properties only. Errors come in the order of the filter text.
func checkFilter(e *entityInfo, f odata.Expr) error {
	var err error
	odata.Walk(f, func(x odata.Expr) bool {
		switch c := x.(type) {
		case *odata.Comparison:
			kind, ok := e.Props[c.Field]
			switch {
			case !ok:
				err = unknownProperty(c.Field, e.Name)
			case !literalFits(kind, c.Value.Kind):
				err = queryError(odata.IncompatibleTypes(kind.edmName(), c))
			}
		case *odata.Call:
			kind, ok := e.Props[c.Field]
			switch {
			case !ok:
				err = unknownProperty(c.Field, e.Name)
			case kind != kindString:
				err = queryError(odata.NoFunctionSignature(c.Func))
			}
		}
		return err == nil
	})
	return err
}

// literalFits reports whether a literal of kind lit may be compared with a
// property of kind prop. null fits every property; a number fits every
// numeric property except that integer properties take integers only; a
// DateTimeOffset property also takes a date (midnight UTC).
func literalFits(prop edmKind, lit odata.Kind) bool {
	switch {
	case lit == odata.KindNull:
		return true
	case prop == kindString:
		return lit == odata.KindString
	case prop == kindInt32, prop == kindInt64:
		return lit == odata.KindInt
	case prop == kindDecimal, prop == kindDouble:
		return lit == odata.KindInt || lit == odata.KindDecimal
	case prop == kindBool:
		return lit == odata.KindBool
	case prop == kindGuid:
		return lit == odata.KindGUID
	case prop == kindDateTime:
		return lit == odata.KindDateTime || lit == odata.KindDate
	case prop == kindDate:
		return lit == odata.KindDate
	}
	return false
}

// bindExpand resolves each $expand item's navigation property and checks its
// nested options against the target type.
func (o *org) bindExpand(e *entityInfo, items []odata.ExpandItem) ([]expandOpts, error) {
	var out []expandOpts
	for _, it := range items {
		n, ok := e.Navs[it.Nav]
		if !ok {
			return nil, unknownProperty(it.Nav, e.Name)
		}
		if it.Filter != nil && !n.Collection {
			return nil, badRequest("Only $select is supported for single-valued navigation property '%s' in $expand.", n.Name)
		}
		target := o.schema.byName[n.Target]
		if target == nil {
			target = o.abstractTarget(n.Target)
		}
		x := expandOpts{Nav: n, Filter: it.Filter, OrderBy: it.OrderBy, Top: it.Top}
		var err error
		if x.Select, err = selectProps(target, it.Select); err != nil {
			return nil, err
		}
		if err := checkFilter(target, it.Filter); err != nil {
			return nil, err
		}
		if err := checkOrderBy(target, it.OrderBy); err != nil {
			return nil, err
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
