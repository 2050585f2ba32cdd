package sandbox

import (
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/crmbot/crmbot/crm"
)

// wantValidation asserts a 400 validation error with exactly code and message.
func wantValidation(tb testing.TB, r apiResponse, code, msg string) {
	tb.Helper()
	must(tb, r, http.StatusBadRequest)
	gotCode, gotMsg := r.errorCode(tb)
	if gotCode != code || gotMsg != msg {
		tb.Fatalf("error = %s %q, want %s %q", gotCode, gotMsg, code, msg)
	}
}

// tooLong is Dataverse's StringLengthTooLong message.
func tooLong(attr, entity, max string) string {
	return "A validation error occurred. The length of the '" + attr + "' attribute of the '" + entity +
		"' entity exceeded the maximum allowed length of '" + max + "'."
}

// outsideRange is Dataverse's out-of-range message.
func outsideRange(value, attr, entity string) string {
	return "A validation error occurred. The value " + value + " of '" + attr + "' on record of type '" + entity + "' is outside the valid range."
}

// unchanged asserts that a record's attributes are what they were.
func unchanged(tb testing.TB, env *orgEnv, set, id string, before map[string]any) {
	tb.Helper()
	after, ok := env.sb.Record(set, id)
	if !ok || !reflect.DeepEqual(before, after) {
		tb.Fatalf("%s(%s) changed on a rejected write:\nbefore %v\nafter  %v", set, id, before, after)
	}
}

func TestStringLengthBounds(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: 5})
	t.Run("create: too long is 400 0x80044331, nothing created", func(t *testing.T) {
		n := env.sb.CountRecords("contacts")
		wantValidation(t, env.do(t, chloe.Email, http.MethodPost, "contacts", map[string]any{"firstname": strings.Repeat("a", 51), "lastname": "Long"}),
			"0x80044331", tooLong("firstname", "contact", "50"))
		if got := env.sb.CountRecords("contacts"); got != n {
			t.Fatalf("contacts = %d, want %d", got, n)
		}
	})
	t.Run("create: the boundary length is accepted", func(t *testing.T) {
		name := strings.Repeat("x", 160)
		r := must(t, env.do(t, chloe.Email, http.MethodPost, "accounts", map[string]any{"name": name}), http.StatusNoContent)
		if rec, _ := env.sb.Record("accounts", idFromEntityID(t, r.Header)); rec["name"] != name {
			t.Fatalf("name = %v", rec["name"])
		}
	})
	t.Run("length counts characters, not bytes", func(t *testing.T) {
		fifty := strings.Repeat("é", 25) + strings.Repeat("ß", 24) + "€" // 50 characters, 102 bytes
		r := must(t, env.do(t, chloe.Email, http.MethodPost, "contacts", map[string]any{"firstname": fifty, "lastname": "Müller"}), http.StatusNoContent)
		if rec, _ := env.sb.Record("contacts", idFromEntityID(t, r.Header)); rec["firstname"] != fifty {
			t.Fatalf("firstname = %v", rec["firstname"])
		}
		wantValidation(t, env.do(t, chloe.Email, http.MethodPost, "contacts", map[string]any{"firstname": fifty + "é", "lastname": "Müller"}),
			"0x80044331", tooLong("firstname", "contact", "50"))
	})
	t.Run("update: too long is 400, record unchanged", func(t *testing.T) {
		id := env.firstOwned(t, "accounts", chloe.ID, 0)
		before, _ := env.sb.Record("accounts", id)
		wantValidation(t, env.do(t, chloe.Email, http.MethodPatch, "accounts("+id+")", map[string]any{
			"telephone1": "+33 1 99 99 99 99", "description": strings.Repeat("d", 2001)}),
			"0x80044331", tooLong("description", "account", "2000"))
		unchanged(t, env, "accounts", id, before)
		must(t, env.do(t, chloe.Email, http.MethodPatch, "accounts("+id+")", map[string]any{"description": strings.Repeat("d", 2000)}), http.StatusNoContent)
		must(t, env.do(t, chloe.Email, http.MethodPatch, "accounts("+id+")", map[string]any{"description": nil}), http.StatusNoContent)
	})
	t.Run("each catalogued type: one past the maximum is rejected", func(t *testing.T) {
		acc := env.sb.RecordIDs("accounts")[0]
		for _, c := range []struct{ set, entity, attr string }{
			{"leads", "lead", "subject"}, {"opportunities", "opportunity", "name"}, {"incidents", "incident", "title"},
			{"appointments", "appointment", "location"}, {"phonecalls", "phonecall", "phonenumber"}, {"tasks", "task", "subject"},
		} {
			id := env.firstOpen(t, c.set, c.entity)
			before, _ := env.sb.Record(c.set, id)
			max := maxLengths[c.entity][c.attr]
			wantValidation(t, env.do(t, asApp, http.MethodPatch, c.set+"("+id+")", map[string]any{c.attr: strings.Repeat("é", max+1)}),
				"0x80044331", tooLong(c.attr, c.entity, strconv.Itoa(max)))
			unchanged(t, env, c.set, id, before)
		}
		wantValidation(t, env.do(t, chloe.Email, http.MethodPost, "incidents", map[string]any{
			"title": strings.Repeat("t", 201), "customerid_account@odata.bind": "/accounts(" + acc + ")"}),
			"0x80044331", tooLong("title", "incident", "200"))
	})
	t.Run("upsert-create (If-None-Match *): rejected, nothing created", func(t *testing.T) {
		newID := "33333333-4444-4555-8666-777777777777"
		for _, headers := range [][]string{{"If-None-Match", "*"}, nil} {
			wantValidation(t, env.do(t, chloe.Email, http.MethodPatch, "accounts("+newID+")", map[string]any{"name": strings.Repeat("n", 161)}, headers...),
				"0x80044331", tooLong("name", "account", "160"))
			if _, ok := env.sb.Record("accounts", newID); ok {
				t.Fatalf("upsert %v created the record", headers)
			}
		}
		must(t, env.do(t, chloe.Email, http.MethodPatch, "accounts("+newID+")", map[string]any{"name": strings.Repeat("n", 160)}, "If-None-Match", "*"),
			http.StatusNoContent)
	})
	t.Run("$batch change set: the whole set rolls back", func(t *testing.T) {
		n := env.sb.CountRecords("tasks")
		post := func(subject string) string {
			return "POST /api/data/v9.2/tasks HTTP/1.1\nContent-Type: application/json\n\n{\"subject\":\"" + subject + "\"}"
		}
		r := must(t, env.do(t, asApp, http.MethodPost, "$batch", batchOf(changeSetOf(post("fits"), post(strings.Repeat("s", 201)))),
			"Content-Type", "multipart/mixed; boundary=b"), http.StatusBadRequest)
		resps := batchResponses(t, r)
		if len(resps) != 1 || resps[0].StatusCode != http.StatusBadRequest {
			t.Fatalf("responses = %v", resps)
		}
		b, _ := io.ReadAll(resps[0].Body)
		if !strings.Contains(string(b), `"code":"0x80044331"`) || !strings.Contains(string(b), tooLong("subject", "task", "200")) {
			t.Fatalf("failing part = %s", b)
		}
		if env.sb.CountRecords("tasks") != n {
			t.Fatal("the change set was not rolled back")
		}
	})
	t.Run("Sandbox.Create and Update enforce it too", func(t *testing.T) {
		n := env.sb.CountRecords("tasks")
		err := env.sb.Update("tasks", env.sb.RecordIDs("tasks")[0], map[string]any{"subject": strings.Repeat("s", 201)}, Principal{UserID: AppUserID, App: true})
		if ae, ok := err.(*apiError); !ok || ae.Code != codeStringTooLong {
			t.Fatalf("Sandbox.Update = %v", err)
		}
		if _, err := env.sb.Create("tasks", map[string]any{"subject": strings.Repeat("s", 201)}, Principal{UserID: AppUserID, App: true}); err == nil {
			t.Fatal("Sandbox.Create accepted a 201-character subject")
		}
		if env.sb.CountRecords("tasks") != n {
			t.Fatal("a task was created")
		}
	})
}

func TestRangeBounds(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: 20})
	t.Run("create: numberofemployees above the maximum, nothing created", func(t *testing.T) {
		n := env.sb.CountRecords("accounts")
		for v, s := range map[int64]string{1000000001: "1000000001", -1: "-1"} {
			wantValidation(t, env.do(t, chloe.Email, http.MethodPost, "accounts", map[string]any{"name": "Big", "numberofemployees": v}),
				"0x80044330", outsideRange(s, "numberofemployees", "account"))
		}
		if got := env.sb.CountRecords("accounts"); got != n {
			t.Fatalf("accounts = %d, want %d", got, n)
		}
		for _, v := range []int64{0, 1000000000} {
			must(t, env.do(t, chloe.Email, http.MethodPost, "accounts", map[string]any{"name": "Edge", "numberofemployees": v}), http.StatusNoContent)
		}
	})
	t.Run("update: percentcomplete 0..100, record unchanged on rejection", func(t *testing.T) {
		id := env.firstOwned(t, "tasks", chloe.ID, 0)
		before, _ := env.sb.Record("tasks", id)
		wantValidation(t, env.do(t, chloe.Email, http.MethodPatch, "tasks("+id+")", map[string]any{"percentcomplete": 101, "subject": "Changed"}),
			"0x80044330", outsideRange("101", "percentcomplete", "task"))
		unchanged(t, env, "tasks", id, before)
		must(t, env.do(t, chloe.Email, http.MethodPatch, "tasks("+id+")", map[string]any{"percentcomplete": 100}), http.StatusNoContent)
		if rec, _ := env.sb.Record("tasks", id); rec["percentcomplete"] != int64(100) {
			t.Fatalf("percentcomplete = %v", rec["percentcomplete"])
		}
	})
	t.Run("closeprobability and actualdurationminutes", func(t *testing.T) {
		opp := env.firstOwned(t, "opportunities", chloe.ID, 0)
		wantValidation(t, env.do(t, chloe.Email, http.MethodPatch, "opportunities("+opp+")", map[string]any{"closeprobability": 101}),
			"0x80044330", outsideRange("101", "closeprobability", "opportunity"))
		call := env.firstOwned(t, "phonecalls", chloe.ID, 0)
		wantValidation(t, env.do(t, chloe.Email, http.MethodPatch, "phonecalls("+call+")", map[string]any{"actualdurationminutes": -5}),
			"0x80044330", outsideRange("-5", "actualdurationminutes", "phonecall"))
	})
	t.Run("money is never negative", func(t *testing.T) {
		id := env.firstOwned(t, "accounts", chloe.ID, 0)
		before, _ := env.sb.Record("accounts", id)
		wantValidation(t, env.do(t, chloe.Email, http.MethodPatch, "accounts("+id+")", map[string]any{"revenue": -0.01}),
			"0x80044330", outsideRange("-0.01", "revenue", "account"))
		unchanged(t, env, "accounts", id, before)
		opp := env.firstOwned(t, "opportunities", chloe.ID, 0)
		wantValidation(t, env.do(t, chloe.Email, http.MethodPatch, "opportunities("+opp+")", map[string]any{"estimatedvalue": -1}),
			"0x80044330", outsideRange("-1", "estimatedvalue", "opportunity"))
		must(t, env.do(t, chloe.Email, http.MethodPatch, "opportunities("+opp+")", map[string]any{"estimatedvalue": 0}), http.StatusNoContent)
	})
	t.Run("CloseIncident: a negative timespent leaves the case open", func(t *testing.T) {
		id := env.firstOwned(t, "incidents", sean.ID, 0)
		n := env.sb.CountRecords("incidentresolutions")
		wantValidation(t, env.do(t, sean.Email, http.MethodPost, "CloseIncident", map[string]any{
			"IncidentResolution": map[string]any{"subject": "Fixed", "incidentid@odata.bind": "/incidents(" + id + ")", "timespent": -1},
			"Status":             5}),
			"0x80044330", outsideRange("-1", "timespent", "incidentresolution"))
		if rec, _ := env.sb.Record("incidents", id); rec["statecode"] != int64(0) || env.sb.CountRecords("incidentresolutions") != n {
			t.Fatalf("case closed anyway: statecode %v", rec["statecode"])
		}
		wantValidation(t, env.do(t, sean.Email, http.MethodPost, "CloseIncident", map[string]any{
			"IncidentResolution": map[string]any{"subject": strings.Repeat("r", 201), "incidentid@odata.bind": "/incidents(" + id + ")"},
			"Status":             5}),
			"0x80044331", tooLong("subject", "incidentresolution", "200"))
		must(t, env.do(t, sean.Email, http.MethodPost, "CloseIncident", map[string]any{
			"IncidentResolution": map[string]any{"subject": "Fixed", "incidentid@odata.bind": "/incidents(" + id + ")", "timespent": 2147483647},
			"Status":             5}), http.StatusNoContent)
	})
}

// firstOpen returns the id of a record of entitySet that is still editable.
func (e *orgEnv) firstOpen(tb testing.TB, entitySet, entity string) string {
	tb.Helper()
	for _, id := range e.sb.RecordIDs(entitySet) {
		r, _ := e.sb.Record(entitySet, id)
		if st, _ := r["statecode"].(int64); isOpenState(entity, int(st)) {
			return id
		}
	}
	tb.Fatalf("no open %s", entitySet)
	return ""
}

// TestBoundsMatchCatalog keeps bounds.go and crm/catalog.yaml agreeing: every
// editable text column the catalogue names has exactly the catalogue's
// maxLength here (and nothing else is listed), and every catalogued numeric
// range lies within the sandbox's, so the bot never offers a value the org
// refuses.
func TestBoundsMatchCatalog(t *testing.T) {
	text := map[crm.FieldType]bool{crm.TypeText: true, crm.TypeMultiline: true, crm.TypeEmail: true, crm.TypePhone: true, crm.TypeURL: true}
	seen := map[string]map[string]bool{}
	check := func(entity, name string, f *crm.Field) {
		if f.ReadOnly {
			return
		}
		if text[f.Type] {
			if seen[entity] == nil {
				seen[entity] = map[string]bool{}
			}
			seen[entity][name] = true
			if got := maxLengths[entity][name]; f.MaxLength == 0 || got != f.MaxLength {
				t.Errorf("%s.%s: sandbox max length %d, catalogue %d", entity, name, got, f.MaxLength)
			}
		}
		if f.Min == nil && f.Max == nil {
			return
		}
		r, ok := ranges[entity][name]
		switch {
		case !ok:
			t.Errorf("%s.%s: catalogued range but no sandbox range", entity, name)
		case f.Min != nil && *f.Min < r.Min, f.Max != nil && *f.Max > r.Max:
			t.Errorf("%s.%s: catalogue range %v..%v outside the sandbox's %v..%v", entity, name, fmtBound(f.Min), fmtBound(f.Max), r.Min, r.Max)
		}
	}
	for _, rt := range crm.DefaultCatalog().Types {
		for name, f := range rt.Fields {
			check(rt.Name, name, f)
		}
		for _, a := range rt.Closing {
			if a.Entity == "" {
				continue
			}
			for name, f := range a.Fields {
				check(a.Entity, name, f)
			}
		}
	}
	// Columns Dataverse bounds that the catalogue does not name but the
	// sandbox's own writes may fill.
	extra := map[string]bool{"opportunityclose.subject": true}
	for entity, cols := range maxLengths {
		for col := range cols {
			if !seen[entity][col] && !extra[entity+"."+col] {
				t.Errorf("%s.%s has a sandbox max length but is not an editable catalogue text column", entity, col)
			}
		}
	}
}

func fmtBound(p *float64) string {
	if p == nil {
		return "∞"
	}
	return strconv.FormatFloat(*p, 'f', -1, 64)
}
