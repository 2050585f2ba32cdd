package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// input is a decoded create/update payload: typed attribute values (nil clears)
// and lookups bound with nav@odata.bind.
type input struct {
	attrs   map[string]any
	lookups map[string]lookupRef // by lookup property (_x_value)
	order   []string             // attribute names in payload order (webhook Target)
}

// lookupRef is a resolved nav@odata.bind: target logical name and id.
type lookupRef struct {
	Nav    string
	Entity string // logical name of the target ("" with a nil id: clear)
	ID     string
}

// systemColumns are maintained by the org; values sent for them are ignored,
// as Dataverse ignores read-only attributes on write.
var systemColumns = map[string]bool{
	"createdon": true, "modifiedon": true, "versionnumber": true, "activitytypecode": true,
	"_createdby_value": true, "_modifiedby_value": true, "_ownerid_value": true,
	"_owninguser_value": true, "_owningteam_value": true, "_owningbusinessunit_value": true,
}

// decodeInput parses and type-checks a JSON payload against e's schema.
func (o *org) decodeInput(e *entityInfo, body []byte) (*input, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw map[string]any
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, errf(http.StatusBadRequest, codeInvalidJSON, "The request body is not a valid JSON object: %s", jsonErr(err))
	}
	if dec.More() {
		return nil, errf(http.StatusBadRequest, codeInvalidJSON, "The request body is not a valid JSON object: unexpected data after the object.")
	}
	return o.inputFrom(e, raw)
}

func jsonErr(err error) string {
	if err == nil {
		return "null"
	}
	return err.Error()
}

// inputFrom type-checks an already decoded object (json.Number for numbers).
func (o *org) inputFrom(e *entityInfo, raw map[string]any) (*input, error) {
	in := &input{attrs: map[string]any{}, lookups: map[string]lookupRef{}}
	for _, k := range sortedKeys(raw) {
		v := raw[k]
		switch {
		case k == "@odata.type":
			t, _ := v.(string)
			if want := "Microsoft.Dynamics.CRM." + e.Name; strings.TrimPrefix(t, "#") != want {
				return nil, badRequest("A type named '%s' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.", t)
			}
		case strings.HasSuffix(k, "@odata.bind"):
			nav := strings.TrimSuffix(k, "@odata.bind")
			ref, err := o.resolveBind(e, nav, v)
			if err != nil {
				return nil, err
			}
			n := e.Navs[nav]
			in.lookups[n.ValueProp] = ref
			in.order = append(in.order, n.ValueProp)
		case strings.Contains(k, "@"):
			// instance annotations in a payload are ignored, as OData allows
		default:
			kind, ok := e.Props[k]
			if !ok {
				if n, isNav := e.Navs[k]; isNav {
					return nil, errf(http.StatusNotImplemented, codeNotImplemented,
						"Deep insert through the navigation property '%s' is not supported by the sandbox.", n.Name)
				}
				return nil, unknownProperty(k, e.Name)
			}
			if e.isLookup(k) && !systemColumns[k] {
				return nil, errf(http.StatusBadRequest, codePropertyNotFound,
					"Invalid property '%s' was found in entity 'Microsoft.Dynamics.CRM.%s'.", k, e.Name)
			}
			if systemColumns[k] || k == e.Key && v == nil {
				continue
			}
			tv, err := convertValue(kind, v)
			if err != nil {
				return nil, err
			}
			in.attrs[k] = tv
			in.order = append(in.order, k)
		}
	}
	return in, nil
}

// resolveBind validates a nav@odata.bind: the nav exists and is single-valued,
// the URI names an entity set of the nav's type, and the target record exists.
func (o *org) resolveBind(e *entityInfo, navName string, v any) (lookupRef, error) {
	n, ok := e.Navs[navName]
	if !ok {
		return lookupRef{}, errf(http.StatusBadRequest, codePropertyNotFound,
			"An undeclared property '%s' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.", navName)
	}
	if n.Collection {
		return lookupRef{}, errf(http.StatusNotImplemented, codeNotImplemented,
			"Binding the collection-valued navigation property '%s' is not supported by the sandbox.", navName)
	}
	if v == nil {
		return lookupRef{Nav: navName}, nil
	}
	s, ok := v.(string)
	if !ok {
		return lookupRef{}, badRequest("The value of the '%s@odata.bind' annotation must be a URI string.", navName)
	}
	set, id, err := parseEntityRef(s)
	if err != nil {
		return lookupRef{}, err
	}
	target, ok := o.schema.bySet[set]
	if !ok {
		return lookupRef{}, notFoundSegment(set)
	}
	if !o.schema.isA(target.Name, n.Target) {
		return lookupRef{}, badRequest("A navigation property '%s' of type 'Microsoft.Dynamics.CRM.%s' cannot be bound to an entity of type 'Microsoft.Dynamics.CRM.%s'.", navName, n.Target, target.Name)
	}
	if _, exists := o.tables[target.Name].rows[id]; !exists {
		return lookupRef{}, recordNotFound(target.Name, id)
	}
	return lookupRef{Nav: navName, Entity: target.Name, ID: id}, nil
}

// parseEntityRef parses "/accounts(<id>)", "accounts(<id>)" or an absolute URL
// ending in /api/data/v9.2/accounts(<id>).
func parseEntityRef(s string) (set, id string, err error) {
	if u, perr := url.Parse(s); perr == nil && u.IsAbs() {
		s = u.Path
	}
	if i := strings.Index(s, APIPath); i >= 0 {
		s = s[i+len(APIPath):]
	}
	s = strings.TrimPrefix(s, "/")
	set, id, ok := parseKeySegment(s)
	if !ok || set == "" || id == "" {
		return "", "", badRequest("The URI '%s' is not a valid entity reference: expected /<entityset>(<id>).", s)
	}
	return set, id, nil
}

// parseKeySegment splits "accounts(<guid>)" or "accounts(accountid=<guid>)".
func parseKeySegment(seg string) (set, id string, ok bool) {
	open := strings.IndexByte(seg, '(')
	if open < 0 || !strings.HasSuffix(seg, ")") {
		return seg, "", false
	}
	set, key := seg[:open], seg[open+1:len(seg)-1]
	if eq := strings.IndexByte(key, '='); eq >= 0 {
		key = key[eq+1:]
	}
	u, err := uuid.Parse(key)
	if err != nil || len(key) != 36 {
		return set, "", false
	}
	return set, u.String(), true
}

// convertValue type-checks a JSON value (json.Number for numbers) against an Edm kind.
func convertValue(kind edmKind, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	mismatch := func(edm string) error {
		lit := fmt.Sprint(v)
		if s, ok := v.(string); ok {
			lit = s
		}
		return badRequest("Cannot convert the literal '%s' to the expected type 'Edm.%s'.", lit, edm)
	}
	switch kind {
	case kindString:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, mismatch("String")
	case kindInt32, kindInt64:
		name := map[edmKind]string{kindInt32: "Int32", kindInt64: "Int64"}[kind]
		n, ok := v.(json.Number)
		if !ok {
			return nil, mismatch(name)
		}
		i, err := n.Int64()
		if err != nil || kind == kindInt32 && (i > math.MaxInt32 || i < math.MinInt32) {
			return nil, mismatch(name)
		}
		return i, nil
	case kindDecimal, kindDouble:
		n, ok := v.(json.Number)
		if !ok {
			return nil, mismatch(map[edmKind]string{kindDecimal: "Decimal", kindDouble: "Double"}[kind])
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, mismatch("Decimal")
		}
		return f, nil
	case kindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
		return nil, mismatch("Boolean")
	case kindGuid:
		s, ok := v.(string)
		if !ok {
			return nil, mismatch("Guid")
		}
		u, err := uuid.Parse(s)
		if err != nil || len(s) != 36 {
			return nil, mismatch("Guid")
		}
		return u.String(), nil
	case kindDateTime:
		s, ok := v.(string)
		if !ok {
			return nil, mismatch("DateTimeOffset")
		}
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC().Truncate(time.Second), nil
		}
		if t, err := time.Parse("2006-01-02", s); err == nil {
			return t.UTC(), nil
		}
		return nil, mismatch("DateTimeOffset")
	case kindDate:
		s, ok := v.(string)
		if !ok {
			return nil, mismatch("Date")
		}
		if _, err := time.Parse("2006-01-02", s); err != nil {
			return nil, mismatch("Date")
		}
		return s, nil
	case kindBinary:
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, mismatch("Binary")
	}
	return nil, badRequest("The property type is not supported by the sandbox.")
}
