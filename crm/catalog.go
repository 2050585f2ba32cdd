package crm

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// The record-type catalogue: everything crmbot knows about a Dataverse table
// (names, fields, labels, option sets, "my" filters, closing actions) is data in
// catalog.yaml, not code. Admins override or extend it with their own YAML
// (CRMBOT_CATALOG); see MergeCatalog for the rules.

//go:embed catalog.yaml
var defaultCatalogYAML []byte

// Text is a user-facing string in several languages, keyed by BCP 47 base
// language ("en", "fr"). English is the fallback.
type Text map[string]string

// In returns the text in lang, falling back to English, then to any language.
func (t Text) In(lang string) string {
	if s, ok := t[baseLang(lang)]; ok && s != "" {
		return s
	}
	if s := t["en"]; s != "" {
		return s
	}
	for _, s := range t {
		return s
	}
	return ""
}

func baseLang(lang string) string {
	lang = strings.ToLower(lang)
	if i := strings.IndexAny(lang, "-_"); i > 0 {
		return lang[:i]
	}
	return lang
}

// FieldType is how a field is read, shown and edited.
type FieldType string

// Field types. Their wire forms: text kinds are strings; int is an integer;
// decimal and money are numbers; datetime is an ISO 8601 UTC timestamp; date is
// a date-only value (Dataverse "DateOnly" behaviour); optionset is an integer
// code with labels; bool is a two-option set; lookup is a reference written
// with @odata.bind and read as _name_value.
const (
	TypeText      FieldType = "text"
	TypeMultiline FieldType = "multiline"
	TypeEmail     FieldType = "email"
	TypePhone     FieldType = "phone"
	TypeURL       FieldType = "url"
	TypeInt       FieldType = "int"
	TypeDecimal   FieldType = "decimal"
	TypeMoney     FieldType = "money"
	TypeDateTime  FieldType = "datetime"
	TypeDate      FieldType = "date"
	TypeOptionSet FieldType = "optionset"
	TypeBool      FieldType = "bool"
	TypeLookup    FieldType = "lookup"
	// TypeGUID is a read-only identifier shown as text (systemuser.azureactivedirectoryobjectid).
	TypeGUID FieldType = "guid"
)

var fieldTypes = []FieldType{TypeText, TypeMultiline, TypeEmail, TypePhone, TypeURL, TypeInt, TypeDecimal,
	TypeMoney, TypeDateTime, TypeDate, TypeOptionSet, TypeBool, TypeLookup, TypeGUID}

// Choice is one value of an option set ("choice" in Dataverse) or of a two-option field (0 = false, 1 = true).
type Choice struct {
	Value int  `yaml:"value"`
	Label Text `yaml:"label"`
}

// Field describes one column of a record type.
type Field struct {
	// Name is the logical attribute name. For lookups it is the lookup's name
	// (e.g. "parentcustomerid"); its value is read from "_parentcustomerid_value".
	Name      string    `yaml:"-"`
	Type      FieldType `yaml:"type"`
	Label     Text      `yaml:"label"`
	MaxLength int       `yaml:"maxLength,omitempty"`
	Min       *float64  `yaml:"min,omitempty"`
	Max       *float64  `yaml:"max,omitempty"`
	Options   []Choice  `yaml:"options,omitempty"`
	// Targets maps each record type a lookup may point to onto the navigation
	// property used to write it ("account": "parentcustomerid_account").
	Targets map[string]string `yaml:"targets,omitempty"`
	// ReadOnly fields are shown but never sent on create or update.
	ReadOnly bool `yaml:"readOnly,omitempty"`
}

// ReadAttribute is the attribute to $select and read for this field.
func (f *Field) ReadAttribute() string {
	if f.Type == TypeLookup {
		return "_" + f.Name + "_value"
	}
	return f.Name
}

// TargetNames returns the lookup's target record types, sorted.
func (f *Field) TargetNames() []string {
	out := make([]string, 0, len(f.Targets))
	for k := range f.Targets {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// OptionLabel returns the label of an option value, and whether it is known.
func (f *Field) OptionLabel(v int, lang string) (string, bool) {
	for _, o := range f.Options {
		if o.Value == v {
			return o.Label.In(lang), true
		}
	}
	return "", false
}

// FieldGroup is a titled group of fields on a detail view.
type FieldGroup struct {
	Label  Text     `yaml:"label"`
	Fields []string `yaml:"fields"`
}

// Status is a statuscode value with its label.
type Status struct {
	Value int  `yaml:"value"`
	Label Text `yaml:"label"`
}

// State is a statecode value with its label and status reasons.
type State struct {
	Value    int      `yaml:"value"`
	Label    Text     `yaml:"label"`
	Open     bool     `yaml:"open,omitempty"`
	Statuses []Status `yaml:"statuses"`
}

// Mechanism is how a closing action is carried out in Dataverse.
type Mechanism string

// Closing mechanisms. Each has one client method; the catalogue chooses which.
const (
	// MechCloseIncident calls the CloseIncident action with an incidentresolution.
	MechCloseIncident Mechanism = "CloseIncident"
	// MechWinOpportunity calls WinOpportunity with an opportunityclose.
	MechWinOpportunity Mechanism = "WinOpportunity"
	// MechLoseOpportunity calls LoseOpportunity with an opportunityclose.
	MechLoseOpportunity Mechanism = "LoseOpportunity"
	// MechQualifyLead calls the bound QualifyLead action.
	MechQualifyLead Mechanism = "QualifyLead"
	// MechSetState PATCHes statecode and statuscode together.
	MechSetState Mechanism = "SetState"
)

var mechanisms = []Mechanism{MechCloseIncident, MechWinOpportunity, MechLoseOpportunity, MechQualifyLead, MechSetState}

// ClosingAction is a state-changing flow offered on open records: resolve a
// case, win or lose an opportunity, qualify or disqualify a lead, complete or
// cancel an activity.
type ClosingAction struct {
	Name      string    `yaml:"-"`
	Label     Text      `yaml:"label"`
	Mechanism Mechanism `yaml:"mechanism"`
	// State is the statecode the record ends in.
	State int `yaml:"state"`
	// Statuses the user may choose from (statuscode values of State); the first is the default.
	Statuses []int `yaml:"statuses"`
	// Entity is the activity record the action creates (incidentresolution,
	// opportunityclose), whose attributes the form's fields fill.
	Entity string `yaml:"entity,omitempty"`
	// Fields of the closing form: attributes of Entity, or for QualifyLead the
	// action's boolean parameters. Keys are names, values their definitions.
	Fields map[string]*Field `yaml:"fields,omitempty"`
	// FieldOrder is the order fields appear in the form.
	FieldOrder []string `yaml:"fieldOrder,omitempty"`
	// Required fields of the form.
	Required []string `yaml:"required,omitempty"`
}

// OrderedFields returns the form's fields in display order.
func (a *ClosingAction) OrderedFields() []*Field {
	out := make([]*Field, 0, len(a.FieldOrder))
	for _, n := range a.FieldOrder {
		out = append(out, a.Fields[n])
	}
	return out
}

// Related is a list of records of another type that point at this one (an
// account's contacts), shown on the detail view.
type Related struct {
	Name  string `yaml:"name"`
	Label Text   `yaml:"label"`
	// Type is the related record type; Lookup its field that points here.
	Type   string `yaml:"type"`
	Lookup string `yaml:"lookup"`
	// Filter narrows the list further (OData), e.g. active only.
	Filter string `yaml:"filter,omitempty"`
	Top    int    `yaml:"top,omitempty"`
}

// MyList defines the "my active …" list.
type MyList struct {
	Label Text `yaml:"label"`
	// Filter is added to the owner condition (OData), e.g. "statecode eq 0".
	Filter  string   `yaml:"filter"`
	OrderBy []string `yaml:"orderBy"`
}

// RecordType is one Dataverse table as crmbot uses it.
type RecordType struct {
	// Name is the logical name ("lead"); the catalogue key.
	Name        string `yaml:"-"`
	EntitySet   string `yaml:"entitySet"`
	ID          string `yaml:"id"`
	PrimaryName string `yaml:"primaryName"`
	Label       Text   `yaml:"label"`
	Plural      Text   `yaml:"plural"`
	// Chat marks the record types users list, open and get notified about (the
	// eight); support types (systemuser, competitor) are only lookup targets.
	Chat bool `yaml:"chat,omitempty"`
	// Activity types share activityid and the regarding lookup.
	Activity bool `yaml:"activity,omitempty"`
	// Aliases are the command words that name this type (plural and short forms).
	Aliases []string `yaml:"aliases,omitempty"`
	// Icon is an emoji shown beside the type's name in chat.
	Icon string `yaml:"icon,omitempty"`
	// Search lists the text attributes a "search text" matches (contains).
	Search []string     `yaml:"search,omitempty"`
	My     *MyList      `yaml:"my,omitempty"`
	List   []string     `yaml:"list,omitempty"`
	Detail []FieldGroup `yaml:"detail,omitempty"`
	Edit   []string     `yaml:"edit,omitempty"`
	Create []string     `yaml:"create,omitempty"`
	// Required fields on create (and kept non-empty on edit).
	Required []string                  `yaml:"required,omitempty"`
	Related  []Related                 `yaml:"related,omitempty"`
	States   []State                   `yaml:"states,omitempty"`
	Closing  map[string]*ClosingAction `yaml:"closing,omitempty"`
	// ClosingOrder is the order closing actions are offered in.
	ClosingOrder []string          `yaml:"closingOrder,omitempty"`
	Fields       map[string]*Field `yaml:"fields"`
	// Notify marks the types whose assignments are announced.
	Notify bool `yaml:"notify,omitempty"`
	// WebPath is the Dynamics UI entity name for "Open in Dynamics" links (default: Name).
	WebPath string `yaml:"webPath,omitempty"`
}

// Field returns the named field.
func (rt *RecordType) Field(name string) (*Field, bool) {
	f, ok := rt.Fields[name]
	return f, ok
}

// State returns the state with the given statecode.
func (rt *RecordType) State(code int) (*State, bool) {
	for i := range rt.States {
		if rt.States[i].Value == code {
			return &rt.States[i], true
		}
	}
	return nil, false
}

// IsOpen reports whether a statecode is an open (editable) state. Types
// without states (systemuser) are always open.
func (rt *RecordType) IsOpen(code int) bool {
	if len(rt.States) == 0 {
		return true
	}
	s, ok := rt.State(code)
	return ok && s.Open
}

// StatusLabel returns the label of a statuscode in lang.
func (rt *RecordType) StatusLabel(status int, lang string) (string, bool) {
	for _, st := range rt.States {
		for _, s := range st.Statuses {
			if s.Value == status {
				return s.Label.In(lang), true
			}
		}
	}
	return "", false
}

// ClosingActions returns the closing actions in display order.
func (rt *RecordType) ClosingActions() []*ClosingAction {
	out := make([]*ClosingAction, 0, len(rt.ClosingOrder))
	for _, n := range rt.ClosingOrder {
		out = append(out, rt.Closing[n])
	}
	return out
}

// Select returns the attributes to $select for the given field names, always
// including the id, primary name, owner, statecode and statuscode where the type has them.
func (rt *RecordType) Select(fieldNames ...string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(a string) {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	add(rt.ID)
	add(rt.PrimaryName)
	for _, n := range fieldNames {
		if f, ok := rt.Fields[n]; ok {
			add(f.ReadAttribute())
		}
	}
	if f, ok := rt.Fields["ownerid"]; ok {
		add(f.ReadAttribute())
	}
	if len(rt.States) > 0 {
		add("statecode")
		add("statuscode")
	}
	return out
}

// Catalog is the set of record types.
type Catalog struct {
	Types map[string]*RecordType
	// Order is the display order of chat types (the eight), as in the file.
	Order []string
}

// Type returns a record type by logical name.
func (c *Catalog) Type(name string) (*RecordType, bool) {
	rt, ok := c.Types[name]
	return rt, ok
}

// ByEntitySet returns the record type with the given entity set name.
func (c *Catalog) ByEntitySet(set string) (*RecordType, bool) {
	for _, rt := range c.Types {
		if rt.EntitySet == set {
			return rt, true
		}
	}
	return nil, false
}

// ByAlias resolves a command word ("opps", "cases", "Leads") to a chat record type.
func (c *Catalog) ByAlias(word string) (*RecordType, bool) {
	w := strings.ToLower(strings.TrimSpace(word))
	for _, n := range c.Order {
		rt := c.Types[n]
		if rt.Chat && (rt.Name == w || slices.Contains(rt.Aliases, w)) {
			return rt, true
		}
	}
	return nil, false
}

// ChatTypes returns the chat record types in display order.
func (c *Catalog) ChatTypes() []*RecordType {
	var out []*RecordType
	for _, n := range c.Order {
		if rt := c.Types[n]; rt.Chat {
			out = append(out, rt)
		}
	}
	return out
}

// catalogFile is the YAML document. Shared holds YAML anchors (option sets,
// lookups) that record types reuse with aliases.
type catalogFile struct {
	Shared      any                    `yaml:"shared,omitempty"`
	RecordTypes map[string]*RecordType `yaml:"recordTypes"`
}

// DefaultCatalog returns the built-in catalogue.
func DefaultCatalog() *Catalog {
	c, err := ParseCatalog(bytes.NewReader(defaultCatalogYAML))
	if err != nil {
		panic("crm: built-in catalog.yaml is invalid: " + err.Error()) // a build defect, caught by tests
	}
	return c
}

// ParseCatalog reads and validates a complete catalogue.
func ParseCatalog(r io.Reader) (*Catalog, error) {
	c, err := decodeCatalog(r)
	if err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func decodeCatalog(r io.Reader) (*Catalog, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	var f catalogFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a typo in an admin's file is an error, not a silent no-op
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	// A second, untyped pass recovers the order of record types in the file.
	var order struct {
		RecordTypes yaml.Node `yaml:"recordTypes"`
	}
	if err := yaml.Unmarshal(data, &order); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	c := &Catalog{Types: map[string]*RecordType{}}
	for i := 0; i+1 < len(order.RecordTypes.Content); i += 2 {
		name := order.RecordTypes.Content[i].Value
		rt := f.RecordTypes[name]
		if rt == nil {
			return nil, fmt.Errorf("catalog: record type %s is empty", name)
		}
		rt.Name = name
		c.Types[name] = rt
		c.Order = append(c.Order, name)
	}
	c.fillNames()
	return c, nil
}

func (c *Catalog) fillNames() {
	for _, rt := range c.Types {
		for n, f := range rt.Fields {
			if f != nil {
				f.Name = n
			}
		}
		for n, a := range rt.Closing {
			if a == nil {
				continue
			}
			a.Name = n
			for fn, f := range a.Fields {
				if f != nil {
					f.Name = fn
				}
			}
		}
	}
}

// LoadCatalog returns the built-in catalogue merged with the admin's override
// file at path (empty path: the built-in one).
func LoadCatalog(path string) (*Catalog, error) {
	base := DefaultCatalog()
	if path == "" {
		return base, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("catalog override: %w", err)
	}
	defer f.Close()
	over, err := decodeCatalog(f)
	if err != nil {
		return nil, fmt.Errorf("catalog override %s: %w", path, err)
	}
	merged := MergeCatalog(base, over)
	if err := merged.Validate(); err != nil {
		return nil, fmt.Errorf("catalog override %s: %w", path, err)
	}
	return merged, nil
}

// MergeCatalog overlays over onto base and returns the result (base is not
// modified). Rules, so an override file stays small:
//   - a record type absent from base is added whole;
//   - for a type present in both, every top-level key the override sets
//     replaces base's (lists such as list, edit, create, detail replace whole);
//   - fields and closing actions merge by name: an override entry replaces
//     that one field or action, others are kept.
func MergeCatalog(base, over *Catalog) *Catalog {
	out := &Catalog{Types: map[string]*RecordType{}, Order: slices.Clone(base.Order)}
	for n, rt := range base.Types {
		cp := *rt
		cp.Fields = cloneMap(rt.Fields)
		cp.Closing = cloneMap(rt.Closing)
		out.Types[n] = &cp
	}
	for _, n := range over.Order {
		o := over.Types[n]
		b, ok := out.Types[n]
		if !ok {
			out.Types[n] = o
			out.Order = append(out.Order, n)
			continue
		}
		overlay(b, o)
	}
	return out
}

func cloneMap[V any](m map[string]V) map[string]V {
	if m == nil {
		return nil
	}
	out := make(map[string]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// overlay copies every set key of o onto b.
func overlay(b, o *RecordType) {
	setS := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	setS(&b.EntitySet, o.EntitySet)
	setS(&b.ID, o.ID)
	setS(&b.PrimaryName, o.PrimaryName)
	setS(&b.Icon, o.Icon)
	setS(&b.WebPath, o.WebPath)
	if o.Label != nil {
		b.Label = o.Label
	}
	if o.Plural != nil {
		b.Plural = o.Plural
	}
	if o.Chat {
		b.Chat = true
	}
	if o.Notify {
		b.Notify = true
	}
	if o.Aliases != nil {
		b.Aliases = o.Aliases
	}
	if o.Search != nil {
		b.Search = o.Search
	}
	if o.My != nil {
		b.My = o.My
	}
	if o.List != nil {
		b.List = o.List
	}
	if o.Detail != nil {
		b.Detail = o.Detail
	}
	if o.Edit != nil {
		b.Edit = o.Edit
	}
	if o.Create != nil {
		b.Create = o.Create
	}
	if o.Required != nil {
		b.Required = o.Required
	}
	if o.Related != nil {
		b.Related = o.Related
	}
	if o.States != nil {
		b.States = o.States
	}
	if o.ClosingOrder != nil {
		b.ClosingOrder = o.ClosingOrder
	}
	if b.Fields == nil {
		b.Fields = map[string]*Field{}
	}
	for k, v := range o.Fields {
		b.Fields[k] = v
	}
	if len(o.Closing) > 0 && b.Closing == nil {
		b.Closing = map[string]*ClosingAction{}
	}
	for k, v := range o.Closing {
		b.Closing[k] = v
	}
}

// Validate checks the catalogue's internal consistency: every referenced field
// exists, lookups point at known types, option sets have options, closing
// actions use a known mechanism and valid statuses. Names are checked against a
// real Dataverse schema by the conformance tests, not here.
func (c *Catalog) Validate() error {
	var errs []error
	bad := func(rt *RecordType, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", rt.Name, fmt.Sprintf(format, args...)))
	}
	sets := map[string]string{}
	aliases := map[string]string{}
	for _, n := range c.Order {
		rt := c.Types[n]
		if rt.EntitySet == "" || rt.ID == "" || rt.PrimaryName == "" {
			bad(rt, "entitySet, id and primaryName are required")
		}
		if other, dup := sets[rt.EntitySet]; dup {
			bad(rt, "entity set %q already used by %s", rt.EntitySet, other)
		}
		sets[rt.EntitySet] = rt.Name
		if rt.Label.In("en") == "" || rt.Plural.In("en") == "" {
			bad(rt, "label and plural need at least an English text")
		}
		for _, a := range rt.Aliases {
			if other, dup := aliases[a]; dup && other != rt.Name {
				bad(rt, "alias %q already names %s", a, other)
			}
			aliases[a] = rt.Name
		}
		for fn, f := range rt.Fields {
			if f == nil {
				bad(rt, "field %s is empty", fn)
				continue
			}
			c.validateField(rt, f, bad)
		}
		checkList := func(what string, names []string) {
			for _, fn := range names {
				if _, ok := rt.Fields[fn]; !ok {
					bad(rt, "%s names unknown field %q", what, fn)
				}
			}
		}
		checkList("list", rt.List)
		checkList("edit", rt.Edit)
		checkList("create", rt.Create)
		checkList("required", rt.Required)
		for _, fn := range rt.Search {
			f, ok := rt.Fields[fn]
			if !ok && fn != rt.PrimaryName {
				bad(rt, "search names unknown field %q", fn)
			} else if ok && f.Type == TypeLookup {
				bad(rt, "search field %q is a lookup; search text fields", fn)
			}
		}
		for _, g := range rt.Detail {
			checkList("detail group "+g.Label.In("en"), g.Fields)
		}
		for _, fn := range rt.Required {
			if !slices.Contains(rt.Create, fn) {
				bad(rt, "required field %q is not in create", fn)
			}
		}
		for _, fn := range append(slices.Clone(rt.Edit), rt.Create...) {
			if f, ok := rt.Fields[fn]; ok && f.ReadOnly {
				bad(rt, "read-only field %q cannot be edited or created", fn)
			}
		}
		if rt.Chat && (rt.My == nil || len(rt.List) == 0) {
			bad(rt, "chat record types need my and list")
		}
		for _, r := range rt.Related {
			target, ok := c.Types[r.Type]
			if !ok {
				bad(rt, "related %s: unknown type %q", r.Name, r.Type)
				continue
			}
			lf, ok := target.Fields[r.Lookup]
			if !ok || lf.Type != TypeLookup {
				bad(rt, "related %s: %s has no lookup %q", r.Name, r.Type, r.Lookup)
			} else if _, ok := lf.Targets[rt.Name]; !ok {
				bad(rt, "related %s: %s.%s cannot point at %s", r.Name, r.Type, r.Lookup, rt.Name)
			}
		}
		openStates := 0
		for _, st := range rt.States {
			if st.Open {
				openStates++
			}
			if len(st.Statuses) == 0 {
				bad(rt, "state %d has no statuses", st.Value)
			}
		}
		if len(rt.States) > 0 && openStates == 0 {
			bad(rt, "no open state")
		}
		for _, an := range rt.ClosingOrder {
			if _, ok := rt.Closing[an]; !ok {
				bad(rt, "closingOrder names unknown action %q", an)
			}
		}
		for an, a := range rt.Closing {
			if a == nil {
				bad(rt, "closing action %s is empty", an)
				continue
			}
			if !slices.Contains(rt.ClosingOrder, an) {
				bad(rt, "closing action %s missing from closingOrder", an)
			}
			if !slices.Contains(mechanisms, a.Mechanism) {
				bad(rt, "closing action %s: unknown mechanism %q", an, a.Mechanism)
			}
			st, ok := rt.State(a.State)
			if !ok || st.Open {
				bad(rt, "closing action %s: state %d is not a closed state", an, a.State)
			} else {
				for _, s := range a.Statuses {
					if !slices.ContainsFunc(st.Statuses, func(x Status) bool { return x.Value == s }) {
						bad(rt, "closing action %s: status %d does not belong to state %d", an, s, a.State)
					}
				}
			}
			if len(a.Statuses) == 0 {
				bad(rt, "closing action %s: no statuses", an)
			}
			for _, fn := range a.FieldOrder {
				if _, ok := a.Fields[fn]; !ok {
					bad(rt, "closing action %s: fieldOrder names unknown field %q", an, fn)
				}
			}
			for fn, f := range a.Fields {
				if !slices.Contains(a.FieldOrder, fn) {
					bad(rt, "closing action %s: field %s missing from fieldOrder", an, fn)
				}
				if f != nil {
					c.validateField(rt, f, bad)
				}
			}
			for _, fn := range a.Required {
				if _, ok := a.Fields[fn]; !ok {
					bad(rt, "closing action %s: required names unknown field %q", an, fn)
				}
			}
		}
	}
	return errors.Join(errs...)
}

func (c *Catalog) validateField(rt *RecordType, f *Field, bad func(*RecordType, string, ...any)) {
	if !slices.Contains(fieldTypes, f.Type) {
		bad(rt, "field %s: unknown type %q", f.Name, f.Type)
	}
	if f.Label.In("en") == "" {
		bad(rt, "field %s: no English label", f.Name)
	}
	switch f.Type {
	case TypeOptionSet:
		if len(f.Options) == 0 {
			bad(rt, "field %s: option set without options", f.Name)
		}
	case TypeLookup:
		if len(f.Targets) == 0 {
			bad(rt, "field %s: lookup without targets", f.Name)
		}
		for t, nav := range f.Targets {
			if _, ok := c.Types[t]; !ok {
				bad(rt, "field %s: lookup target %q is not in the catalogue", f.Name, t)
			}
			if nav == "" {
				bad(rt, "field %s: lookup target %q has no navigation property", f.Name, t)
			}
		}
	}
	for _, o := range f.Options {
		if o.Label.In("en") == "" {
			bad(rt, "field %s: option %d has no English label", f.Name, o.Value)
		}
	}
}
