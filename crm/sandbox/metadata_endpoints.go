package sandbox

import (
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// serveMetadata answers GET $metadata with the CSDL slice.
func (o *org) serveMetadata(ar *apiRequest) error {
	ar.w.Header().Set("Content-Type", "application/xml")
	ar.w.WriteHeader(http.StatusOK)
	_, _ = ar.w.Write(metadataXML)
	return nil
}

// entityDefinitionProps are the EntityMetadata properties the sandbox serves.
var entityDefinitionProps = []string{
	"MetadataId", "LogicalName", "EntitySetName", "SchemaName", "ObjectTypeCode", "PrimaryIdAttribute",
	"PrimaryNameAttribute", "ChangeTrackingEnabled", "IsActivity",
}

func (o *org) entityDefinition(e *entityInfo) map[string]any {
	return map[string]any{
		"MetadataId":            uuid.NewSHA1(uuid.NameSpaceOID, []byte("crmbot.sandbox.entity."+e.Name)).String(),
		"LogicalName":           e.Name,
		"EntitySetName":         e.Set,
		"SchemaName":            schemaName(e.Name),
		"ObjectTypeCode":        e.OTC,
		"PrimaryIdAttribute":    e.Key,
		"PrimaryNameAttribute":  e.PrimaryName,
		"ChangeTrackingEnabled": o.trackingEnabled(e.Name),
		"IsActivity":            e.Activity,
	}
}

func schemaName(logical string) string {
	names := map[string]string{
		"phonecall": "PhoneCall", "systemuser": "SystemUser", "businessunit": "BusinessUnit",
		"incidentresolution": "IncidentResolution", "opportunityclose": "OpportunityClose",
		"transactioncurrency": "TransactionCurrency", "activitypointer": "ActivityPointer",
	}
	if n, ok := names[logical]; ok {
		return n
	}
	return titleCase(logical)
}

// entityDefinitions serves EntityDefinitions (collection with a small $filter
// subset: "Prop eq value" terms joined by "and") and EntityDefinitions(LogicalName='x').
func (o *org) entityDefinitions(ar *apiRequest, head string, rest []string) error {
	if len(rest) > 0 {
		return notFoundSegment(rest[0])
	}
	q := ar.r.URL.Query()
	sel := entityDefinitionProps
	if s := q.Get("$select"); s != "" {
		sel = nil
		for _, f := range strings.Split(s, ",") {
			f = strings.TrimSpace(f)
			if !containsStr(entityDefinitionProps, f) {
				return errf(http.StatusBadRequest, codePropertyNotFound, "Could not find a property named '%s' on type 'Microsoft.Dynamics.CRM.EntityMetadata'.", f)
			}
			sel = append(sel, f)
		}
	}
	render := func(ob *object, def map[string]any) {
		for _, f := range sel {
			ob.field(f, def[f])
		}
		if !containsStr(sel, "MetadataId") {
			ob.field("MetadataId", def["MetadataId"])
		}
	}
	ctx := ar.base + "$metadata#EntityDefinitions"
	if len(sel) != len(entityDefinitionProps) {
		ctx += "(" + strings.Join(sel, ",") + ")"
	}
	if head != "EntityDefinitions" {
		key, ok := strings.CutPrefix(head, "EntityDefinitions(LogicalName=")
		key, ok2 := strings.CutSuffix(key, ")")
		if !ok || !ok2 {
			return notFoundSegment(head)
		}
		e, found := o.schema.byName[strings.Trim(key, "'")]
		if !found {
			return errf(http.StatusNotFound, codeRecordNotFound, "Could not find an entity with name %s", strings.Trim(key, "'"))
		}
		var ob object
		ob.field("@odata.context", ctx+"/$entity")
		render(&ob, o.entityDefinition(e))
		ar.writeJSON(http.StatusOK, ob.bytes())
		return nil
	}
	var terms [][2]string
	if f := strings.TrimSpace(q.Get("$filter")); f != "" {
		for _, term := range strings.Split(f, " and ") {
			parts := strings.Fields(term)
			if len(parts) != 3 || parts[1] != "eq" || !containsStr(entityDefinitionProps, parts[0]) {
				return badRequest("The sandbox supports only \"Property eq value\" terms joined by \"and\" in an EntityDefinitions $filter: '%s'.", term)
			}
			terms = append(terms, [2]string{parts[0], strings.Trim(parts[2], "'")})
		}
	}
	var items [][]byte
	for _, name := range sortedKeys(o.schema.byName) {
		def := o.entityDefinition(o.schema.byName[name])
		match := true
		for _, t := range terms {
			if v := def[t[0]]; !strings.EqualFold(toString(v), t[1]) {
				match = false
			}
		}
		if match {
			var ob object
			render(&ob, def)
			items = append(items, ob.bytes())
		}
	}
	var ob object
	ob.field("@odata.context", ctx)
	ob.raw("value", joinJSON(items))
	ar.writeJSON(http.StatusOK, ob.bytes())
	return nil
}

func toString(v any) string {
	var ob object
	ob.field("v", v)
	s := string(ob.bytes())
	return strings.Trim(strings.TrimSuffix(strings.TrimPrefix(s, `{"v":`), "}"), `"`)
}

func joinJSON(items [][]byte) []byte {
	out := []byte{'['}
	for i, it := range items {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, it...)
	}
	return append(out, ']')
}
