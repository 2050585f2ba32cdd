package csdl

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func loadSlice(t *testing.T) *Document {
	t.Helper()
	f, err := os.Open("../../sandbox/schema/metadata.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, err := Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestTypeName(t *testing.T) {
	for in, want := range map[string]string{
		"mscrm.account": "account", "Collection(mscrm.contact)": "contact",
		"Microsoft.Dynamics.CRM.WhoAmIResponse": "WhoAmIResponse", "Edm.String": "Edm.String",
	} {
		if got := TypeName(in); got != want {
			t.Errorf("TypeName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestModelLookups(t *testing.T) {
	m, err := loadSlice(t).Index()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("inherited property", func(t *testing.T) {
		p, ok := m.Property("task", "_regardingobjectid_value") // declared on activitypointer
		if !ok || p.Type != "Edm.Guid" {
			t.Fatalf("task._regardingobjectid_value = %v, %v", p, ok)
		}
	})
	t.Run("navigation property", func(t *testing.T) {
		np, ok := m.NavProperty("contact", "parentcustomerid_account")
		if !ok || TypeName(np.Type) != "account" {
			t.Fatalf("nav = %v %v", np, ok)
		}
	})
	t.Run("entity sets", func(t *testing.T) {
		if m.SetToType["incidents"] != "incident" || m.TypeToSet["opportunityclose"] != "opportunitycloses" {
			t.Fatalf("sets: %v", m.TypeToSet)
		}
	})
	t.Run("key through base type", func(t *testing.T) {
		if k := m.KeyOf("phonecall"); k != "activityid" {
			t.Fatalf("KeyOf(phonecall) = %q", k)
		}
	})
	t.Run("operations", func(t *testing.T) {
		if _, ok := m.Functions["WhoAmI"]; !ok {
			t.Fatal("WhoAmI missing")
		}
		if a := m.Actions["QualifyLead"]; a == nil || !a.IsBound {
			t.Fatal("QualifyLead missing or unbound")
		}
	})
}

func TestSliceRoundTrips(t *testing.T) {
	d := loadSlice(t)
	s, err := d.Slice([]string{"contact"}, []string{"WhoAmI"})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := s.Write(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "<edmx:Edmx") || strings.Contains(out, "></Property>") {
		t.Fatalf("not in Dataverse's $metadata form:\n%.300s", out)
	}
	again, err := Parse(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	m, err := again.Index()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Types["contact"]; !ok {
		t.Fatal("contact lost")
	}
	if _, ok := m.Types["account"]; ok {
		t.Fatal("account kept in a contact-only slice")
	}
	if _, ok := m.NavProperty("contact", "parentcustomerid_account"); ok {
		t.Fatal("navigation to a dropped type kept")
	}
	if _, ok := m.Types["crmbaseentity"]; !ok {
		t.Fatal("base type dropped")
	}
	if _, err := d.Slice([]string{"nosuchtype"}, nil); err == nil {
		t.Fatal("want an error for an unknown type")
	}
}

func TestSliceDropsCustomColumns(t *testing.T) {
	m, err := loadSlice(t).Index()
	if err != nil {
		t.Fatal(err)
	}
	for name, et := range m.Types {
		for _, p := range et.Properties {
			if isCustom(p.Name) {
				t.Errorf("%s.%s: custom column kept", name, p.Name)
			}
		}
		for _, np := range et.NavProps {
			if isCustom(np.Name) {
				t.Errorf("%s.%s: custom navigation kept", name, np.Name)
			}
		}
	}
	for _, n := range []string{"adoxio_x", "_adoxio_x_value", "account_adoxio_links"} {
		if !isCustom(n) {
			t.Errorf("isCustom(%q) = false", n)
		}
	}
	for _, n := range []string{"name", "_ownerid_value", "address1_city", "msdyn_gdproptout"} {
		if isCustom(n) {
			t.Errorf("isCustom(%q) = true", n)
		}
	}
}
