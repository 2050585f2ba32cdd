package crm

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/crmbot/crmbot/crm/internal/csdl"
)

// schemaSlicePath is the committed slice of a real Dataverse $metadata (see
// crm/sandbox/schema/README.md for its origin and licence).
const schemaSlicePath = "sandbox/schema/metadata.xml"

// referencePath is the full reference document, present beside the repository
// in development and CI (../shared), absent on a user's machine.
var referencePath = filepath.Join("..", "..", "shared", "reference", "dataverse-metadata.xml")

func loadSchema(t *testing.T) *csdl.Model {
	t.Helper()
	f, err := os.Open(schemaSlicePath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := csdl.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	m, err := doc.Index()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// edmTypes lists the CSDL types a catalogue field type may be stored as.
var edmTypes = map[FieldType][]string{
	TypeText:      {"Edm.String"},
	TypeMultiline: {"Edm.String"},
	TypeEmail:     {"Edm.String"},
	TypePhone:     {"Edm.String"},
	TypeURL:       {"Edm.String"},
	TypeInt:       {"Edm.Int32", "Edm.Int64"},
	TypeDecimal:   {"Edm.Decimal", "Edm.Double"},
	TypeMoney:     {"Edm.Decimal"},
	TypeDateTime:  {"Edm.DateTimeOffset"},
	TypeDate:      {"Edm.DateTimeOffset", "Edm.Date"},
	TypeOptionSet: {"Edm.Int32"},
	TypeBool:      {"Edm.Boolean"},
	TypeGUID:      {"Edm.Guid"},
}

// checkField verifies a catalogue field against the entity type typeName.
func checkField(t *testing.T, m *csdl.Model, cat *Catalog, typeName string, f *Field) {
	t.Helper()
	if f.Type != TypeLookup {
		p, ok := m.Property(typeName, f.Name)
		if !ok {
			t.Errorf("%s.%s: no such attribute in the Dataverse schema", typeName, f.Name)
			return
		}
		if !slices.Contains(edmTypes[f.Type], p.Type) {
			t.Errorf("%s.%s: catalogue type %s but the schema says %s", typeName, f.Name, f.Type, p.Type)
		}
		return
	}
	p, ok := m.Property(typeName, f.ReadAttribute())
	if !ok || p.Type != "Edm.Guid" {
		t.Errorf("%s.%s: lookup value attribute %s missing or not a Guid", typeName, f.Name, f.ReadAttribute())
	}
	for target, nav := range f.Targets {
		np, ok := m.NavProperty(typeName, nav)
		if !ok {
			t.Errorf("%s.%s: navigation property %s (for %s) not in the schema", typeName, f.Name, nav, target)
			continue
		}
		got := csdl.TypeName(np.Type)
		if csdl.IsCollection(np.Type) {
			t.Errorf("%s.%s: navigation property %s is a collection", typeName, f.Name, nav)
		}
		// ownerid points at the abstract principal, which systemuser and team derive from.
		if got != target && !(got == "principal" && slices.ContainsFunc(m.Chain(target), func(e *csdl.EntityType) bool { return e.Name == "principal" })) {
			t.Errorf("%s.%s: navigation property %s targets %s, catalogue says %s", typeName, f.Name, nav, got, target)
		}
		if _, ok := cat.Types[target]; !ok {
			t.Errorf("%s.%s: target %s not in the catalogue", typeName, f.Name, target)
		}
	}
}

func TestCatalogMatchesDataverseSchema(t *testing.T) {
	m := loadSchema(t)
	cat := DefaultCatalog()
	for _, name := range cat.Order {
		rt := cat.Types[name]
		t.Run(name, func(t *testing.T) {
			if got := m.SetToType[rt.EntitySet]; got != rt.Name {
				t.Fatalf("entity set %s: schema type %q, want %q", rt.EntitySet, got, rt.Name)
			}
			// The CSDL keys systemuser and team on the inherited principal key
			// ownerid, which carries the same value as systemuserid / teamid.
			key := m.KeyOf(rt.Name)
			_, idExists := m.Property(rt.Name, rt.ID)
			if key != rt.ID && !(key == "ownerid" && idExists) {
				t.Errorf("id %s: schema key is %s", rt.ID, key)
			}
			if _, ok := m.Property(rt.Name, rt.PrimaryName); !ok {
				t.Errorf("primary name %s not in the schema", rt.PrimaryName)
			}
			for _, f := range rt.Fields {
				checkField(t, m, cat, rt.Name, f)
			}
			for _, a := range []string{"statecode", "statuscode"} {
				if _, ok := m.Property(rt.Name, a); len(rt.States) > 0 && !ok {
					t.Errorf("%s not in the schema", a)
				}
			}
			for _, an := range rt.ClosingOrder {
				checkClosingAction(t, m, cat, rt, rt.Closing[an])
			}
		})
	}
}

// closingActionParams are the CSDL operation and entity parameter each mechanism uses.
var closingActionParams = map[Mechanism]struct{ op, entityParam string }{
	MechCloseIncident:   {"CloseIncident", "IncidentResolution"},
	MechWinOpportunity:  {"WinOpportunity", "OpportunityClose"},
	MechLoseOpportunity: {"LoseOpportunity", "OpportunityClose"},
	MechQualifyLead:     {"QualifyLead", ""},
}

func checkClosingAction(t *testing.T, m *csdl.Model, cat *Catalog, rt *RecordType, a *ClosingAction) {
	t.Helper()
	if a.Mechanism == MechSetState {
		if a.Entity != "" || len(a.Fields) > 0 {
			t.Errorf("closing %s: SetState takes no entity or fields", a.Name)
		}
		return
	}
	want := closingActionParams[a.Mechanism]
	op, ok := m.Actions[want.op]
	if !ok {
		t.Fatalf("closing %s: action %s not in the schema", a.Name, want.op)
	}
	params := map[string]csdl.Parameter{}
	for _, p := range op.Parameters {
		params[p.Name] = p
	}
	if _, ok := params["Status"]; !ok {
		t.Errorf("closing %s: %s has no Status parameter", a.Name, want.op)
	}
	if want.entityParam == "" { // QualifyLead: fields are the action's own parameters
		if !op.IsBound || csdl.TypeName(params["entity"].Type) != rt.Name {
			t.Errorf("closing %s: %s is not bound to %s", a.Name, want.op, rt.Name)
		}
		for _, f := range a.Fields {
			p, ok := params[f.Name]
			if !ok {
				t.Errorf("closing %s: %s has no parameter %s", a.Name, want.op, f.Name)
			} else if f.Type == TypeBool && p.Type != "Edm.Boolean" {
				t.Errorf("closing %s: parameter %s is %s", a.Name, f.Name, p.Type)
			}
		}
		return
	}
	p, ok := params[want.entityParam]
	if !ok || csdl.TypeName(p.Type) != a.Entity {
		t.Fatalf("closing %s: %s parameter %s should be of type %s", a.Name, want.op, want.entityParam, a.Entity)
	}
	for _, f := range a.Fields {
		checkField(t, m, cat, a.Entity, f)
	}
	// The activity record points back at the closed record through this navigation property.
	back := rt.Name + "id"
	if np, ok := m.NavProperty(a.Entity, back); !ok || csdl.TypeName(np.Type) != rt.Name {
		t.Errorf("closing %s: %s has no navigation property %s to %s", a.Name, a.Entity, back, rt.Name)
	}
}

func TestCatalogRelatedAndSearchAttributesExist(t *testing.T) {
	m := loadSchema(t)
	cat := DefaultCatalog()
	for _, rt := range cat.Types {
		for _, s := range rt.Search {
			if p, ok := m.Property(rt.Name, s); !ok || p.Type != "Edm.String" {
				t.Errorf("%s: search attribute %s is not a string attribute", rt.Name, s)
			}
		}
		for _, r := range rt.Related {
			target := cat.Types[r.Type]
			if _, ok := m.Property(target.Name, target.Fields[r.Lookup].ReadAttribute()); !ok {
				t.Errorf("%s: related %s: %s has no %s", rt.Name, r.Name, r.Type, r.Lookup)
			}
		}
	}
}

// TestSchemaSliceMatchesReference re-cuts the slice from the full reference
// document and compares it with the committed one, so the sandbox and these
// tests cannot drift from the real $metadata. The reference lives in ../shared,
// which CI always has; outside CI, a machine without it skips this one test.
func TestSchemaSliceMatchesReference(t *testing.T) {
	full, err := os.Open(referencePath)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must have the reference $metadata at %s: %v", referencePath, err)
		}
		t.Skipf("reference $metadata not present (%v); CI runs this test", err)
	}
	defer full.Close()
	doc, err := csdl.Parse(full)
	if err != nil {
		t.Fatal(err)
	}
	var fresh bytes.Buffer
	if err := csdl.WriteSlice(&fresh, doc); err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(schemaSlicePath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fresh.Bytes(), committed) {
		t.Fatalf("%s differs from a fresh cut of %s; run: go run ./crm/internal/csdl/cmd/csdlslice", schemaSlicePath, referencePath)
	}
}
