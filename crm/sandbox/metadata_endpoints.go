package sandbox

import (
	"net/http"
	"slices"
	"strings"

	"github.com/crmbot/crmbot/crm/internal/odata"
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

// entityDefinitions serves EntityDefinitions (the collection, with $select
// and $filter over the properties the sandbox serves) and
// EntityDefinitions(LogicalName='x').
func (o *org) entityDefinitions(ar *apiRequest, head string, rest []string) error {
	if len(rest) > 0 {
		return notFoundSegment(rest[0])
	}
	q, err := odata.ParseQuery(ar.r.URL.Query())
	if err != nil {
		return queryError(err)
	}
	sel := entityDefinitionProps
	if len(q.Select) > 0 {
		sel = q.Select
	}
	for _, f := range append(slices.Clone(sel), odata.Fields(q.Filter)...) {
		if !slices.Contains(entityDefinitionProps, f) {
			return unknownProperty(f, "EntityMetadata")
		}
	}
	render := func(ob *object, def map[string]any) {
		for _, f := range sel {
			ob.field(f, def[f])
		}
		if !slices.Contains(sel, "MetadataId") {
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
	var items [][]byte
	for _, name := range sortedKeys(o.schema.byName) {
		def := o.entityDefinition(o.schema.byName[name])
		if q.Filter != nil {
			ok, err := q.Filter.Eval(odata.MapRecord(def))
			if err != nil {
				return queryError(err)
			}
			if !ok {
				continue
			}
		}
		var ob object
		render(&ob, def)
		items = append(items, ob.bytes())
	}
	var ob object
	ob.field("@odata.context", ctx)
	ob.raw("value", joinJSON(items))
	ar.writeJSON(http.StatusOK, ob.bytes())
	return nil
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
