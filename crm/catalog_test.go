package crm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultCatalogHasTheEightChatTypes(t *testing.T) {
	c := DefaultCatalog()
	var got []string
	for _, rt := range c.ChatTypes() {
		got = append(got, rt.Name)
	}
	want := "account contact lead opportunity incident appointment phonecall task"
	if strings.Join(got, " ") != want {
		t.Fatalf("chat types = %v, want %s", got, want)
	}
	for _, rt := range c.ChatTypes() {
		if !rt.Notify {
			t.Errorf("%s: chat types are notified", rt.Name)
		}
		if rt.Label.In("fr") == rt.Label.In("en") && rt.Name != "contact" {
			t.Errorf("%s: missing French label", rt.Name)
		}
		for fn, f := range rt.Fields {
			if f.Label["fr"] == "" {
				t.Errorf("%s.%s: no French label", rt.Name, fn)
			}
		}
	}
}

func TestByAlias(t *testing.T) {
	c := DefaultCatalog()
	for word, want := range map[string]string{
		"leads": "lead", "Opps": "opportunity", "cases": "incident", "tasks": "task", "calls": "phonecall",
		"appointments": "appointment", "accounts": "account", "contacts": "contact", " lead ": "lead", "tâches": "task",
	} {
		rt, ok := c.ByAlias(word)
		if !ok || rt.Name != want {
			t.Errorf("ByAlias(%q) = %v, want %s", word, rt, want)
		}
	}
	for _, word := range []string{"systemuser", "users", "competitor", "", "bogus"} {
		if rt, ok := c.ByAlias(word); ok {
			t.Errorf("ByAlias(%q) = %s, want no chat type", word, rt.Name)
		}
	}
}

func TestTextFallsBackToEnglish(t *testing.T) {
	tx := Text{"en": "Case", "fr": "Incident"}
	for lang, want := range map[string]string{"fr": "Incident", "fr-CA": "Incident", "FR_fr": "Incident", "de": "Case", "": "Case"} {
		if got := tx.In(lang); got != want {
			t.Errorf("In(%q) = %q, want %q", lang, got, want)
		}
	}
}

func TestSelectIncludesIDNameOwnerAndState(t *testing.T) {
	rt := DefaultCatalog().Types["opportunity"]
	got := strings.Join(rt.Select(rt.List...), ",")
	want := "opportunityid,name,_customerid_value,estimatedvalue,estimatedclosedate,_ownerid_value,statecode,statuscode"
	if got != want {
		t.Fatalf("Select = %s\nwant     %s", got, want)
	}
}

func TestStatesAndClosingActions(t *testing.T) {
	c := DefaultCatalog()
	inc := c.Types["incident"]
	if !inc.IsOpen(0) || inc.IsOpen(1) || inc.IsOpen(2) || inc.IsOpen(9) {
		t.Error("incident: only statecode 0 is open")
	}
	if l, _ := inc.StatusLabel(1000, "fr"); l != "Informations fournies" {
		t.Errorf("status label = %q", l)
	}
	appt := c.Types["appointment"]
	if !appt.IsOpen(3) {
		t.Error("appointment: Scheduled (3) is an open state")
	}
	var names []string
	for _, a := range c.Types["opportunity"].ClosingActions() {
		names = append(names, a.Name+":"+string(a.Mechanism))
	}
	if strings.Join(names, " ") != "win:WinOpportunity lose:LoseOpportunity" {
		t.Errorf("opportunity closing = %v", names)
	}
	if f := c.Types["incident"].Closing["resolve"].OrderedFields(); len(f) != 3 || f[0].Name != "subject" {
		t.Errorf("resolve fields = %v", f)
	}
}

func writeOverride(t *testing.T, yaml string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "override.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadCatalogOverride(t *testing.T) {
	t.Run("adds a field and replaces a list", func(t *testing.T) {
		p := writeOverride(t, `
recordTypes:
  lead:
    list: [fullname, companyname, budgetamount]
    fields:
      budgetamount: {type: money, label: {en: Budget, fr: Budget}}
`)
		c, err := LoadCatalog(p)
		if err != nil {
			t.Fatal(err)
		}
		lead := c.Types["lead"]
		if strings.Join(lead.List, ",") != "fullname,companyname,budgetamount" {
			t.Errorf("list = %v", lead.List)
		}
		if _, ok := lead.Fields["subject"]; !ok {
			t.Error("override dropped an existing field")
		}
		if DefaultCatalog().Types["lead"].Fields["budgetamount"] != nil {
			t.Error("override leaked into the default catalogue")
		}
	})
	t.Run("adds a record type", func(t *testing.T) {
		p := writeOverride(t, `
recordTypes:
  quote:
    entitySet: quotes
    id: quoteid
    primaryName: name
    label: {en: Quote, fr: Devis}
    plural: {en: Quotes, fr: Devis}
    fields:
      name: {type: text, label: {en: Name, fr: Nom}}
`)
		c, err := LoadCatalog(p)
		if err != nil {
			t.Fatal(err)
		}
		if rt, ok := c.ByEntitySet("quotes"); !ok || rt.Name != "quote" || c.Order[len(c.Order)-1] != "quote" {
			t.Errorf("quote not added: %v %v", rt, c.Order)
		}
	})
	t.Run("rejects a typo", func(t *testing.T) {
		p := writeOverride(t, "recordTypes:\n  lead:\n    lsit: [fullname]\n")
		if _, err := LoadCatalog(p); err == nil || !strings.Contains(err.Error(), "lsit") {
			t.Fatalf("err = %v, want an error naming the unknown key", err)
		}
	})
	t.Run("rejects an unknown field in a list", func(t *testing.T) {
		p := writeOverride(t, "recordTypes:\n  lead:\n    list: [fullname, nosuchfield]\n")
		if _, err := LoadCatalog(p); err == nil || !strings.Contains(err.Error(), "nosuchfield") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		if _, err := LoadCatalog(filepath.Join(t.TempDir(), "nope.yaml")); err == nil {
			t.Fatal("want an error")
		}
	})
}

func TestValidateCatchesInconsistencies(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"lookup without targets": {`
recordTypes:
  x:
    entitySet: xs
    id: xid
    primaryName: name
    label: {en: X}
    plural: {en: Xs}
    fields:
      parent: {type: lookup, label: {en: Parent}}
`, "lookup without targets"},
		"option set without options": {`
recordTypes:
  x:
    entitySet: xs
    id: xid
    primaryName: name
    label: {en: X}
    plural: {en: Xs}
    fields:
      code: {type: optionset, label: {en: Code}}
`, "option set without options"},
		"required not in create": {`
recordTypes:
  x:
    entitySet: xs
    id: xid
    primaryName: name
    label: {en: X}
    plural: {en: Xs}
    create: []
    required: [name]
    fields:
      name: {type: text, label: {en: Name}}
`, "not in create"},
		"closing into an open state": {`
recordTypes:
  x:
    entitySet: xs
    id: xid
    primaryName: name
    label: {en: X}
    plural: {en: Xs}
    states:
      - {value: 0, label: {en: Open}, open: true, statuses: [{value: 1, label: {en: Open}}]}
    closingOrder: [done]
    closing:
      done: {label: {en: Done}, mechanism: SetState, state: 0, statuses: [1]}
    fields: {}
`, "not a closed state"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseCatalog(strings.NewReader(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
