package sandbox

import (
	"bytes"
	_ "embed"
	"fmt"
	"sort"
	"strings"

	"github.com/crmbot/crmbot/crm/internal/csdl"
)

// metadataXML is the CSDL slice of a real org (schema/README.md): the sandbox's schema.
//
//go:embed schema/metadata.xml
var metadataXML []byte

// edmKind is the Edm type of a structural property, reduced to what the sandbox checks.
type edmKind int

const (
	kindOther edmKind = iota
	kindString
	kindInt32
	kindInt64
	kindDecimal
	kindDouble
	kindBool
	kindGuid
	kindDateTime
	kindDate
	kindBinary
)

func kindOf(edm string) edmKind {
	switch edm {
	case "Edm.String":
		return kindString
	case "Edm.Int32", "Edm.Int16", "Edm.Byte":
		return kindInt32
	case "Edm.Int64":
		return kindInt64
	case "Edm.Decimal":
		return kindDecimal
	case "Edm.Double", "Edm.Single":
		return kindDouble
	case "Edm.Boolean":
		return kindBool
	case "Edm.Guid":
		return kindGuid
	case "Edm.DateTimeOffset":
		return kindDateTime
	case "Edm.Date":
		return kindDate
	case "Edm.Binary":
		return kindBinary
	}
	return kindOther
}

// edmName is the Edm type name of properties of kind k, as query errors
// report it.
func (k edmKind) edmName() string {
	switch k {
	case kindString:
		return "Edm.String"
	case kindInt32:
		return "Edm.Int32"
	case kindInt64:
		return "Edm.Int64"
	case kindDecimal:
		return "Edm.Decimal"
	case kindDouble:
		return "Edm.Double"
	case kindBool:
		return "Edm.Boolean"
	case kindGuid:
		return "Edm.Guid"
	case kindDateTime:
		return "Edm.DateTimeOffset"
	case kindDate:
		return "Edm.Date"
	case kindBinary:
		return "Edm.Binary"
	}
	return "Edm.Untyped"
}

// navInfo is a navigation property, resolved once: its target and, for a
// single-valued one, the _x_value property it writes.
type navInfo struct {
	Name       string
	Target     string // entity type name (may be abstract: principal, activitypointer, crmbaseentity)
	Collection bool
	ValueProp  string // single-valued: the lookup property (_x_value)
	Partner    string // collection-valued: the nav on the target that points back
}

// entityInfo is everything the sandbox needs about one entity type, precomputed
// from the CSDL so no request re-walks the schema.
type entityInfo struct {
	Name        string // logical name
	Set         string // entity set
	Key         string // primary key property
	PrimaryName string // primary name attribute
	OTC         int    // object type code (for Dataverse-like privilege messages)
	Activity    bool   // derives from activitypointer
	Props       map[string]edmKind
	Navs        map[string]*navInfo
	// ValueNavs: lookup property → the single-valued navs writing it.
	ValueNavs map[string][]*navInfo
	Money     map[string]bool // Decimal properties that are money (have an _base sibling)
	PropNames []string        // sorted, for deterministic full-row output
}

func (e *entityInfo) has(prop string) bool { _, ok := e.Props[prop]; return ok }

// schema is the indexed CSDL plus per-type precomputed info.
type schema struct {
	model  *csdl.Model
	byName map[string]*entityInfo
	bySet  map[string]*entityInfo
}

// primaryNames are the primary name attributes of the slice's types (not in CSDL).
var primaryNames = map[string]string{
	"account": "name", "contact": "fullname", "lead": "fullname", "opportunity": "name",
	"incident": "title", "task": "subject", "phonecall": "subject", "appointment": "subject",
	"incidentresolution": "subject", "opportunityclose": "subject", "activitypointer": "subject",
	"systemuser": "fullname", "team": "name", "businessunit": "name", "organization": "name",
	"competitor": "name", "transactioncurrency": "currencyname",
}

// objectTypeCodes are the Dataverse object type codes of the slice's types.
var objectTypeCodes = map[string]int{
	"account": 1, "contact": 2, "opportunity": 3, "lead": 4, "systemuser": 8, "team": 9,
	"businessunit": 10, "competitor": 123, "incident": 112, "organization": 1019,
	"appointment": 4201, "incidentresolution": 4206, "opportunityclose": 4208, "phonecall": 4210,
	"task": 4212, "activitypointer": 4200, "transactioncurrency": 9105,
}

func loadSchema() (*schema, error) {
	doc, err := csdl.Parse(bytes.NewReader(metadataXML))
	if err != nil {
		return nil, err
	}
	m, err := doc.Index()
	if err != nil {
		return nil, err
	}
	s := &schema{model: m, byName: map[string]*entityInfo{}, bySet: map[string]*entityInfo{}}
	for set, typ := range m.SetToType {
		e := &entityInfo{
			Name: typ, Set: set, Key: m.KeyOf(typ), PrimaryName: primaryNames[typ], OTC: objectTypeCodes[typ],
			Props: map[string]edmKind{}, Navs: map[string]*navInfo{}, ValueNavs: map[string][]*navInfo{},
			Money: map[string]bool{},
		}
		chain := m.Chain(typ)
		for _, t := range chain {
			if t.Name == "activitypointer" && typ != "activitypointer" {
				e.Activity = true
			}
			for _, p := range t.Properties {
				if _, dup := e.Props[p.Name]; !dup {
					e.Props[p.Name] = kindOf(p.Type)
				}
			}
		}
		for _, t := range chain {
			for _, np := range t.NavProps {
				if _, dup := e.Navs[np.Name]; dup {
					continue
				}
				n := &navInfo{Name: np.Name, Target: csdl.TypeName(np.Type), Collection: csdl.IsCollection(np.Type), Partner: np.Partner}
				if !n.Collection {
					n.ValueProp = lookupPropFor(np, e.Props)
					if n.ValueProp == "" {
						continue // a nav we cannot write or read (e.g. activityid_activitypointer)
					}
					e.ValueNavs[n.ValueProp] = append(e.ValueNavs[n.ValueProp], n)
				}
				e.Navs[np.Name] = n
			}
		}
		if e.Key == "ownerid" && e.has(typ+"id") {
			e.Key = typ + "id" // principal's key; Dataverse addresses users and teams by their own ids
		}
		for p, k := range e.Props {
			if k == kindDecimal && e.has(p+"_base") {
				e.Money[p], e.Money[p+"_base"] = true, true
			}
			e.PropNames = append(e.PropNames, p)
		}
		sort.Strings(e.PropNames)
		if e.Key == "" {
			return nil, fmt.Errorf("sandbox schema: %s has no key", typ)
		}
		s.byName[typ], s.bySet[set] = e, e
	}
	return s, nil
}

// lookupPropFor finds the _x_value property a single-valued nav writes: the
// referential constraint when present, else by stripping "_suffix" parts of the
// nav name (regardingobjectid_account_task → _regardingobjectid_value), as the
// CSDL leaves the activity-specific navs unconstrained.
func lookupPropFor(np csdl.NavProperty, props map[string]edmKind) string {
	for _, c := range np.Constraints {
		if strings.HasPrefix(c.Property, "_") {
			return c.Property
		}
	}
	name := np.Name
	for {
		if p := "_" + name + "_value"; props[p] == kindGuid {
			return p
		}
		i := strings.LastIndexByte(name, '_')
		if i <= 0 {
			return ""
		}
		name = name[:i]
	}
}

// isA reports whether type typ is target or derives from it.
func (s *schema) isA(typ, target string) bool {
	for _, t := range s.model.Chain(typ) {
		if t.Name == target {
			return true
		}
	}
	return false
}

// lookupProps lists an entity's _x_value lookup properties.
func (e *entityInfo) isLookup(prop string) bool {
	return strings.HasPrefix(prop, "_") && strings.HasSuffix(prop, "_value") && e.Props[prop] == kindGuid
}

// navForLookup returns the nav that matches a lookup value's target type, for
// the associatednavigationproperty annotation.
func (e *entityInfo) navForLookup(prop, targetType string, s *schema) string {
	navs := e.ValueNavs[prop]
	for _, n := range navs {
		if n.Target == targetType {
			return n.Name
		}
	}
	for _, n := range navs {
		if s.isA(targetType, n.Target) {
			return n.Name
		}
	}
	if len(navs) > 0 {
		return navs[0].Name
	}
	return strings.TrimSuffix(strings.TrimPrefix(prop, "_"), "_value")
}
