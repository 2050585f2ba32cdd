package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/crmbot/crmbot/crm/internal/csdl"
)

// whoAmI serves GET WhoAmI: the caller's ids, following the token.
func (o *org) whoAmI(ar *apiRequest) error {
	bu := BusinessUnitID
	o.read(ar.ctx(), func() {
		if u, ok := o.tables["systemuser"].rows[ar.as.UserID]; ok && u.str("_businessunitid_value") != "" {
			bu = u.str("_businessunitid_value")
		}
	})
	var ob object
	ob.field("@odata.context", ar.base+"$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse")
	ob.field("BusinessUnitId", bu)
	ob.field("UserId", ar.as.UserID)
	ob.field("OrganizationId", DefaultOrgID)
	ar.writeJSON(http.StatusOK, ob.bytes())
	return nil
}

// actionParams decodes an action body and validates it against the CSDL
// operation: no unknown parameters, required ones present, Edm types right.
func (o *org) actionParams(ar *apiRequest, name string) (map[string]any, error) {
	op, ok := o.schema.model.Actions[name]
	if !ok {
		return nil, notFoundSegment(name)
	}
	body, err := readBody(ar.r, maxBodyBytes)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var raw map[string]any
	if len(bytes.TrimSpace(body)) == 0 {
		raw = map[string]any{}
	} else if err := dec.Decode(&raw); err != nil || raw == nil {
		return nil, errf(http.StatusBadRequest, codeInvalidJSON, "The request body is not a valid JSON object: %s", jsonErr(err))
	}
	params := map[string]csdl.Parameter{}
	for i, p := range op.Parameters {
		if op.IsBound && i == 0 {
			continue
		}
		params[p.Name] = p
	}
	for k, v := range raw {
		p, ok := params[k]
		if !ok {
			return nil, badRequest("The parameter '%s' in the request payload is not a valid parameter for the operation '%s'.", k, name)
		}
		if err := checkParamType(p, v); err != nil {
			return nil, err
		}
	}
	for _, p := range params {
		if _, ok := raw[p.Name]; !ok && p.Nullable == "false" {
			return nil, badRequest("The parameter '%s' is required by the operation '%s' and is missing from the request payload.", p.Name, name)
		}
	}
	return raw, nil
}

func checkParamType(p csdl.Parameter, v any) error {
	if v == nil {
		if p.Nullable == "false" {
			return badRequest("The parameter '%s' cannot be null.", p.Name)
		}
		return nil
	}
	bad := func() error {
		return badRequest("Cannot convert the value of parameter '%s' to the expected type '%s'.", p.Name, p.Type)
	}
	switch p.Type {
	case "Edm.Int32":
		n, ok := v.(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			return bad()
		}
	case "Edm.Boolean":
		if _, ok := v.(bool); !ok {
			return bad()
		}
	case "Edm.String":
		if _, ok := v.(string); !ok {
			return bad()
		}
	default:
		if _, ok := v.(map[string]any); !ok {
			return bad()
		}
	}
	return nil
}

// entityParam decodes an entity-typed action parameter as a create payload of type typ.
func (o *org) entityParam(raw map[string]any, name, typ string) (*input, error) {
	obj, _ := raw[name].(map[string]any)
	if t, ok := obj["@odata.type"].(string); ok && strings.TrimPrefix(t, "#") != "Microsoft.Dynamics.CRM."+typ {
		return nil, badRequest("The parameter '%s' must be of type 'Microsoft.Dynamics.CRM.%s', not '%s'.", name, typ, t)
	}
	delete(obj, "@odata.type")
	return o.inputFrom(o.schema.byName[typ], obj)
}

func statusParam(raw map[string]any, def int) int {
	n, _ := raw["Status"].(json.Number)
	v, _ := n.Int64()
	if v == -1 {
		return def
	}
	return int(v)
}

// unboundAction serves CloseIncident, WinOpportunity and LoseOpportunity.
func (o *org) unboundAction(ar *apiRequest, name string) error {
	raw, err := o.actionParams(ar, name)
	if err != nil {
		return err
	}
	err = o.write(ar.ctx(), ar.as, func(t *tx) error {
		switch name {
		case "CloseIncident":
			return t.closeIncident(raw)
		case "WinOpportunity":
			return t.closeOpportunity(raw, true)
		}
		return t.closeOpportunity(raw, false)
	})
	if err != nil {
		return err
	}
	ar.w.WriteHeader(http.StatusNoContent)
	return nil
}

// closeIncident creates the incidentresolution and resolves the case.
func (t *tx) closeIncident(raw map[string]any) error {
	o := t.o
	in, err := o.entityParam(raw, "IncidentResolution", "incidentresolution")
	if err != nil {
		return err
	}
	ref, ok := in.lookups["_incidentid_value"]
	if !ok || ref.ID == "" {
		return badRequest("The IncidentResolution must reference the case with incidentid@odata.bind.")
	}
	ie := o.schema.byName["incident"]
	inc := o.tables["incident"].rows[ref.ID]
	if state, _ := inc.int("statecode"); state != 0 {
		if state == 1 {
			return errf(http.StatusBadRequest, codeAlreadyClosed, "This case has already been resolved. Close and reopen the case, and then try again.")
		}
		return errf(http.StatusBadRequest, codeAlreadyClosed, "This case has already been cancelled. Reactivate the case, and then try again.")
	}
	status := statusParam(raw, 5)
	if st, _ := stateForStatus("incident", status); st != 1 {
		return errf(http.StatusBadRequest, codeInvalidState, "%d is not a valid status code for state code IncidentState.Resolved on incident with Id %s.", status, ref.ID)
	}
	if err := o.checkAccess(t.as, ie, inc, "Write"); err != nil {
		return err
	}
	in.attrs["statecode"], in.attrs["statuscode"] = int64(1), int64(2)
	if _, err := t.create(o.schema.byName["incidentresolution"], "", in); err != nil {
		return err
	}
	return t.setState(ie, ref.ID, 1, status, nil)
}

// closeOpportunity creates the opportunityclose and wins or loses the opportunity.
func (t *tx) closeOpportunity(raw map[string]any, won bool) error {
	o := t.o
	in, err := o.entityParam(raw, "OpportunityClose", "opportunityclose")
	if err != nil {
		return err
	}
	ref, ok := in.lookups["_opportunityid_value"]
	if !ok || ref.ID == "" {
		return badRequest("The OpportunityClose must reference the opportunity with opportunityid@odata.bind.")
	}
	oe := o.schema.byName["opportunity"]
	opp := o.tables["opportunity"].rows[ref.ID]
	if state, _ := opp.int("statecode"); state != 0 {
		return errf(http.StatusBadRequest, codeAlreadyClosed, "The opportunity is already closed. Reopen the opportunity, and then try again.")
	}
	state, def := 2, 4
	if won {
		state, def = 1, 3
	}
	status := statusParam(raw, def)
	if st, ok := stateForStatus("opportunity", status); !ok || st != state {
		label := map[bool]string{true: "Won", false: "Lost"}[won]
		return errf(http.StatusBadRequest, codeInvalidState, "%d is not a valid status code for state code OpportunityState.%s on opportunity with Id %s.", status, label, ref.ID)
	}
	if err := o.checkAccess(t.as, oe, opp, "Write"); err != nil {
		return err
	}
	in.attrs["statecode"], in.attrs["statuscode"] = int64(1), int64(2)
	if _, err := t.create(o.schema.byName["opportunityclose"], "", in); err != nil {
		return err
	}
	extra := map[string]any{}
	if v, ok := in.attrs["actualrevenue"]; ok {
		extra["actualvalue"] = v
	} else if v, ok := opp.attrs["estimatedvalue"]; ok && won {
		extra["actualvalue"] = v
	}
	closeDate := o.now().Format("2006-01-02")
	if d, ok := in.attrs["actualend"].(time.Time); ok {
		closeDate = d.Format("2006-01-02")
	}
	extra["actualclosedate"] = closeDate
	return t.setState(oe, ref.ID, state, status, extra)
}

// setState is the actions' state transition: bypasses the PATCH rules, keeps
// system columns, version and change log right.
func (t *tx) setState(e *entityInfo, id string, state, status int, extra map[string]any) error {
	tb := t.o.tables[e.Name]
	old, ok := tb.rows[id]
	if !ok {
		return recordNotFound(e.Name, id)
	}
	r := old.clone()
	for k, v := range extra {
		if ref, ok := v.(lookupRef); ok && e.has(k) {
			r.attrs[k], r.ltype[k] = ref.ID, ref.Entity
			continue
		}
		if e.has(k) {
			r.attrs[k] = v
			if e.Money[k] && e.has(k+"_base") {
				r.attrs[k+"_base"] = v
			}
		}
	}
	r.attrs["statecode"], r.attrs["statuscode"] = int64(state), int64(status)
	t.setLookupIf(e, r, "_modifiedby_value", "systemuser", t.as.UserID)
	r.attrs["modifiedon"] = t.o.now()
	r.attrs["versionnumber"] = t.nextVersion()
	t.put(tb, id, r)
	return nil
}

// qualifyLead serves POST leads(id)/Microsoft.Dynamics.CRM.QualifyLead.
func (o *org) qualifyLead(ar *apiRequest, id string) error {
	raw, err := o.actionParams(ar, "QualifyLead")
	if err != nil {
		return err
	}
	var created []*record
	var types []*entityInfo
	err = o.write(ar.ctx(), ar.as, func(t *tx) error {
		var err error
		created, types, err = t.qualifyLead(id, raw)
		return err
	})
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, r := range created {
		if i > 0 {
			buf.WriteByte(',')
		}
		var ob object
		ob.field("@odata.type", "#Microsoft.Dynamics.CRM."+types[i].Name)
		ob.field(types[i].Key, r.str(types[i].Key))
		buf.Write(ob.bytes())
	}
	buf.WriteByte(']')
	var ob object
	ob.field("@odata.context", ar.base+"$metadata#Collection(Microsoft.Dynamics.CRM.crmbaseentity)")
	ob.raw("value", buf.Bytes())
	ar.writeJSON(http.StatusOK, ob.bytes())
	return nil
}

func (t *tx) qualifyLead(id string, raw map[string]any) ([]*record, []*entityInfo, error) {
	o := t.o
	le := o.schema.byName["lead"]
	lead, ok := o.tables["lead"].rows[id]
	if !ok {
		return nil, nil, recordNotFound("lead", id)
	}
	if state, _ := lead.int("statecode"); state != 0 {
		return nil, nil, errf(http.StatusBadRequest, codeAlreadyClosed, "The lead is closed. You cannot convert or qualify a lead that is already closed.")
	}
	if status := statusParam(raw, 3); status != 3 {
		return nil, nil, errf(http.StatusBadRequest, codeInvalidState, "%d is not a valid status code for state code LeadState.Qualified on lead with Id %s.", status, id)
	}
	if err := o.checkAccess(t.as, le, lead, "Write"); err != nil {
		return nil, nil, err
	}
	flag := func(k string) bool { b, _ := raw[k].(bool); return b }
	var created []*record
	var types []*entityInfo
	leadRef := lookupRef{Nav: "originatingleadid", Entity: "lead", ID: id}
	copyAttrs := func(in *input, pairs ...string) {
		for i := 0; i+1 < len(pairs); i += 2 {
			if v, ok := lead.attrs[pairs[i]]; ok {
				in.attrs[pairs[i+1]] = v
			}
		}
	}
	var account, contact *record
	extra := map[string]any{}
	leadIn := &input{attrs: map[string]any{}, lookups: map[string]lookupRef{}}
	if flag("CreateAccount") {
		ae := o.schema.byName["account"]
		if lead.str("companyname") == "" {
			return nil, nil, badRequest("The lead has no company name: an account cannot be created from it.")
		}
		in := &input{attrs: map[string]any{}, lookups: map[string]lookupRef{"_originatingleadid_value": leadRef}}
		copyAttrs(in, "companyname", "name", "telephone1", "telephone1", "emailaddress1", "emailaddress1",
			"websiteurl", "websiteurl", "address1_city", "address1_city", "address1_country", "address1_country",
			"industrycode", "industrycode", "revenue", "revenue", "numberofemployees", "numberofemployees")
		r, err := t.create(ae, "", in)
		if err != nil {
			return nil, nil, err
		}
		account = r
		created, types = append(created, r), append(types, ae)
		leadIn.lookups["_parentaccountid_value"] = lookupRef{Nav: "parentaccountid", Entity: "account", ID: r.str("accountid")}
	}
	if flag("CreateContact") {
		ce := o.schema.byName["contact"]
		in := &input{attrs: map[string]any{}, lookups: map[string]lookupRef{"_originatingleadid_value": leadRef}}
		copyAttrs(in, "firstname", "firstname", "lastname", "lastname", "emailaddress1", "emailaddress1",
			"telephone1", "telephone1", "mobilephone", "mobilephone", "jobtitle", "jobtitle", "address1_city", "address1_city")
		if account != nil {
			in.lookups["_parentcustomerid_value"] = lookupRef{Nav: "parentcustomerid_account", Entity: "account", ID: account.str("accountid")}
		}
		r, err := t.create(ce, "", in)
		if err != nil {
			return nil, nil, err
		}
		contact = r
		created, types = append(created, r), append(types, ce)
		leadIn.lookups["_parentcontactid_value"] = lookupRef{Nav: "parentcontactid", Entity: "contact", ID: r.str("contactid")}
	}
	if flag("CreateOpportunity") {
		oe := o.schema.byName["opportunity"]
		in := &input{attrs: map[string]any{}, lookups: map[string]lookupRef{"_originatingleadid_value": leadRef}}
		name := lead.str("subject")
		if name == "" {
			name = lead.str("fullname")
		}
		in.attrs["name"] = name
		copyAttrs(in, "estimatedamount", "estimatedvalue", "estimatedclosedate", "estimatedclosedate", "description", "description")
		customer, err := o.qualifyCustomer(raw, account, contact)
		if err != nil {
			return nil, nil, err
		}
		if customer.ID != "" {
			in.lookups["_customerid_value"] = customer
		}
		if contact != nil {
			in.lookups["_parentcontactid_value"] = lookupRef{Nav: "parentcontactid", Entity: "contact", ID: contact.str("contactid")}
		}
		if account != nil {
			in.lookups["_parentaccountid_value"] = lookupRef{Nav: "parentaccountid", Entity: "account", ID: account.str("accountid")}
		}
		if cur, ok := raw["OpportunityCurrencyId"].(map[string]any); ok {
			if cid, _ := cur["transactioncurrencyid"].(string); cid != "" {
				if _, ok := o.tables["transactioncurrency"].rows[cid]; !ok {
					return nil, nil, recordNotFound("transactioncurrency", cid)
				}
				in.lookups["_transactioncurrencyid_value"] = lookupRef{Nav: "transactioncurrencyid", Entity: "transactioncurrency", ID: cid}
			}
		}
		r, err := t.create(oe, "", in)
		if err != nil {
			return nil, nil, err
		}
		created, types = append(created, r), append(types, oe)
		extra["_qualifyingopportunityid_value"] = lookupRef{Entity: "opportunity", ID: r.str("opportunityid")}
	}
	// link the lead to what it produced, then qualify it
	for prop, ref := range leadIn.lookups {
		extra[prop] = ref
	}
	if err := t.setState(le, id, 1, 3, extra); err != nil {
		return nil, nil, err
	}
	return created, types, nil
}

// qualifyCustomer picks the new opportunity's customer: OpportunityCustomerId,
// else the new account, else the new contact.
func (o *org) qualifyCustomer(raw map[string]any, account, contact *record) (lookupRef, error) {
	if c, ok := raw["OpportunityCustomerId"].(map[string]any); ok {
		t, _ := c["@odata.type"].(string)
		typ := strings.TrimPrefix(strings.TrimPrefix(t, "#"), "Microsoft.Dynamics.CRM.")
		if typ != "account" && typ != "contact" {
			return lookupRef{}, badRequest("OpportunityCustomerId must be an account or a contact.")
		}
		key := typ + "id"
		id, _ := c[key].(string)
		if _, ok := o.tables[typ].rows[id]; !ok {
			return lookupRef{}, recordNotFound(typ, id)
		}
		return lookupRef{Nav: "customerid_" + typ, Entity: typ, ID: id}, nil
	}
	if account != nil {
		return lookupRef{Nav: "customerid_account", Entity: "account", ID: account.str("accountid")}, nil
	}
	if contact != nil {
		return lookupRef{Nav: "customerid_contact", Entity: "contact", ID: contact.str("contactid")}, nil
	}
	return lookupRef{}, nil
}
