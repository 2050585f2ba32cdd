// Package csdl reads the slice of an OData CSDL ($metadata) document that crmbot
// relies on: entity types with their properties and navigation properties,
// entity sets, and the actions and functions the client calls.
//
// It serves two masters: the conformance tests that check every name in the
// record catalogue against a real Dataverse $metadata, and the sandbox, which
// takes its schema from the same document so it rejects what Dataverse rejects.
package csdl

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Namespace is the Dataverse schema namespace; Alias is its short form in type names.
const (
	edmNS     = "http://docs.oasis-open.org/odata/ns/edm"
	edmxNS    = "http://docs.oasis-open.org/odata/ns/edmx"
	Namespace = "Microsoft.Dynamics.CRM"
	Alias     = "mscrm"
)

// Document is the subset of the EDMX document crmbot reads.
type Document struct {
	XMLName      xml.Name `xml:"http://docs.oasis-open.org/odata/ns/edmx Edmx"`
	Version      string   `xml:"Version,attr"`
	DataServices dataSvc  `xml:"http://docs.oasis-open.org/odata/ns/edmx DataServices"`
}

type dataSvc struct {
	Schemas []Schema `xml:"http://docs.oasis-open.org/odata/ns/edm Schema"`
}

// Schema is one CSDL schema.
type Schema struct {
	XMLName      xml.Name      `xml:"http://docs.oasis-open.org/odata/ns/edm Schema"`
	Namespace    string        `xml:"Namespace,attr"`
	Alias        string        `xml:"Alias,attr"`
	EntityTypes  []EntityType  `xml:"EntityType"`
	ComplexTypes []ComplexType `xml:"ComplexType"`
	Actions      []Operation   `xml:"Action"`
	Functions    []Operation   `xml:"Function"`
	Container    *Container    `xml:"EntityContainer"`
}

// EntityType is a CSDL EntityType.
type EntityType struct {
	Name       string        `xml:"Name,attr"`
	BaseType   string        `xml:"BaseType,attr,omitempty"`
	Abstract   bool          `xml:"Abstract,attr,omitempty"`
	Key        *Key          `xml:"Key,omitempty"`
	Properties []Property    `xml:"Property"`
	NavProps   []NavProperty `xml:"NavigationProperty"`
}

// Key lists the key property references.
type Key struct {
	Refs []PropertyRef `xml:"PropertyRef"`
}

// PropertyRef names a key property.
type PropertyRef struct {
	Name string `xml:"Name,attr"`
}

// Property is a structural property.
type Property struct {
	Name     string `xml:"Name,attr"`
	Type     string `xml:"Type,attr"`
	Nullable string `xml:"Nullable,attr,omitempty"`
	Unicode  string `xml:"Unicode,attr,omitempty"`
}

// NavProperty is a navigation property.
type NavProperty struct {
	Name        string                  `xml:"Name,attr"`
	Type        string                  `xml:"Type,attr"`
	Nullable    string                  `xml:"Nullable,attr,omitempty"`
	Partner     string                  `xml:"Partner,attr,omitempty"`
	Constraints []ReferentialConstraint `xml:"ReferentialConstraint"`
}

// ReferentialConstraint ties a navigation property to its _x_value property.
type ReferentialConstraint struct {
	Property           string `xml:"Property,attr"`
	ReferencedProperty string `xml:"ReferencedProperty,attr"`
}

// ComplexType is a CSDL ComplexType.
type ComplexType struct {
	Name       string     `xml:"Name,attr"`
	Properties []Property `xml:"Property"`
}

// Operation is an Action or a Function.
type Operation struct {
	Name       string      `xml:"Name,attr"`
	IsBound    bool        `xml:"IsBound,attr,omitempty"`
	Parameters []Parameter `xml:"Parameter"`
	ReturnType *ReturnType `xml:"ReturnType,omitempty"`
}

// Parameter is an operation parameter.
type Parameter struct {
	Name     string `xml:"Name,attr"`
	Type     string `xml:"Type,attr"`
	Nullable string `xml:"Nullable,attr,omitempty"`
}

// ReturnType is an operation's return type.
type ReturnType struct {
	Type     string `xml:"Type,attr"`
	Nullable string `xml:"Nullable,attr,omitempty"`
}

// Container is the entity container.
type Container struct {
	Name            string      `xml:"Name,attr"`
	EntitySets      []EntitySet `xml:"EntitySet"`
	ActionImports   []Import    `xml:"ActionImport"`
	FunctionImports []Import    `xml:"FunctionImport"`
}

// EntitySet is a CSDL EntitySet.
type EntitySet struct {
	Name       string `xml:"Name,attr"`
	EntityType string `xml:"EntityType,attr"`
}

// Import is an ActionImport or FunctionImport.
type Import struct {
	Name     string `xml:"Name,attr"`
	Action   string `xml:"Action,attr,omitempty"`
	Function string `xml:"Function,attr,omitempty"`
}

// Parse decodes a CSDL document.
func Parse(r io.Reader) (*Document, error) {
	var d Document
	if err := xml.NewDecoder(r).Decode(&d); err != nil {
		return nil, fmt.Errorf("parse csdl: %w", err)
	}
	return &d, nil
}

// Model is an indexed view of a Document's Dataverse schema.
type Model struct {
	Types     map[string]*EntityType  // by name, without namespace
	Complex   map[string]*ComplexType // by name
	Actions   map[string]*Operation
	Functions map[string]*Operation
	SetToType map[string]string // entity set → entity type name
	TypeToSet map[string]string // entity type name → entity set
}

// Index builds a Model from the Dataverse schema in d.
func (d *Document) Index() (*Model, error) {
	m := &Model{
		Types: map[string]*EntityType{}, Complex: map[string]*ComplexType{},
		Actions: map[string]*Operation{}, Functions: map[string]*Operation{},
		SetToType: map[string]string{}, TypeToSet: map[string]string{},
	}
	found := false
	for si := range d.DataServices.Schemas {
		s := &d.DataServices.Schemas[si]
		if s.Namespace != Namespace {
			continue
		}
		found = true
		for i := range s.EntityTypes {
			m.Types[s.EntityTypes[i].Name] = &s.EntityTypes[i]
		}
		for i := range s.ComplexTypes {
			m.Complex[s.ComplexTypes[i].Name] = &s.ComplexTypes[i]
		}
		for i := range s.Actions {
			// Bound and unbound overloads share a name; keep the first, callers look
			// up by name and binding via Operations.
			if _, ok := m.Actions[s.Actions[i].Name]; !ok {
				m.Actions[s.Actions[i].Name] = &s.Actions[i]
			}
		}
		for i := range s.Functions {
			if _, ok := m.Functions[s.Functions[i].Name]; !ok {
				m.Functions[s.Functions[i].Name] = &s.Functions[i]
			}
		}
		if s.Container != nil {
			for _, es := range s.Container.EntitySets {
				t := TypeName(es.EntityType)
				m.SetToType[es.Name] = t
				if _, ok := m.TypeToSet[t]; !ok {
					m.TypeToSet[t] = es.Name
				}
			}
		}
	}
	if !found {
		return nil, fmt.Errorf("csdl: no schema %s", Namespace)
	}
	return m, nil
}

// TypeName strips the namespace or alias and any Collection() wrapper from a type reference.
func TypeName(t string) string {
	t = strings.TrimSuffix(strings.TrimPrefix(t, "Collection("), ")")
	if i := strings.LastIndexByte(t, '.'); i >= 0 && !strings.HasPrefix(t, "Edm.") {
		return t[i+1:]
	}
	return t
}

// IsCollection reports whether a type reference is a collection.
func IsCollection(t string) bool { return strings.HasPrefix(t, "Collection(") }

// Chain returns the type and its base types, most derived first.
func (m *Model) Chain(name string) []*EntityType {
	var out []*EntityType
	for name != "" {
		t, ok := m.Types[name]
		if !ok {
			break
		}
		out = append(out, t)
		name = TypeName(t.BaseType)
	}
	return out
}

// Property finds a structural property on a type or its bases.
func (m *Model) Property(typeName, prop string) (*Property, bool) {
	for _, t := range m.Chain(typeName) {
		for i := range t.Properties {
			if t.Properties[i].Name == prop {
				return &t.Properties[i], true
			}
		}
	}
	return nil, false
}

// NavProperty finds a navigation property on a type or its bases.
func (m *Model) NavProperty(typeName, nav string) (*NavProperty, bool) {
	for _, t := range m.Chain(typeName) {
		for i := range t.NavProps {
			if t.NavProps[i].Name == nav {
				return &t.NavProps[i], true
			}
		}
	}
	return nil, false
}

// KeyOf returns the key property of a type (inherited keys included).
func (m *Model) KeyOf(typeName string) string {
	for _, t := range m.Chain(typeName) {
		if t.Key != nil && len(t.Key.Refs) == 1 {
			return t.Key.Refs[0].Name
		}
	}
	return ""
}

// Slice returns a new document holding only the named entity types (and their
// base types), navigation properties whose targets are kept, the entity sets of
// kept types, and the named operations with the complex types they return.
func (d *Document) Slice(types, operations []string) (*Document, error) {
	m, err := d.Index()
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	var add func(string) error
	add = func(n string) error {
		if keep[n] {
			return nil
		}
		t, ok := m.Types[n]
		if !ok {
			return fmt.Errorf("csdl slice: no entity type %q", n)
		}
		keep[n] = true
		if t.BaseType != "" {
			return add(TypeName(t.BaseType))
		}
		return nil
	}
	for _, n := range types {
		if err := add(n); err != nil {
			return nil, err
		}
	}
	s := Schema{XMLName: xml.Name{Space: edmNS, Local: "Schema"}}
	for _, src := range d.DataServices.Schemas {
		if src.Namespace == Namespace {
			s.Namespace, s.Alias = src.Namespace, src.Alias
		}
	}
	names := make([]string, 0, len(keep))
	for n := range keep {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		t := *m.Types[n]
		t.Properties, t.NavProps = nil, nil
		for _, p := range m.Types[n].Properties {
			if !isCustom(p.Name) {
				t.Properties = append(t.Properties, p)
			}
		}
		for _, np := range m.Types[n].NavProps {
			if keep[TypeName(np.Type)] && !isCustom(np.Name) && !slices.ContainsFunc(np.Constraints, func(c ReferentialConstraint) bool { return isCustom(c.Property) }) {
				t.NavProps = append(t.NavProps, np)
			}
		}
		s.EntityTypes = append(s.EntityTypes, t)
	}
	complexKeep := map[string]bool{}
	wantOp := map[string]bool{}
	for _, o := range operations {
		wantOp[o] = true
	}
	for _, src := range d.DataServices.Schemas {
		if src.Namespace != Namespace {
			continue
		}
		for _, a := range src.Actions {
			if wantOp[a.Name] {
				s.Actions = append(s.Actions, a)
				if a.ReturnType != nil {
					complexKeep[TypeName(a.ReturnType.Type)] = true
				}
			}
		}
		for _, f := range src.Functions {
			if wantOp[f.Name] {
				s.Functions = append(s.Functions, f)
				if f.ReturnType != nil {
					complexKeep[TypeName(f.ReturnType.Type)] = true
				}
			}
		}
	}
	for _, src := range d.DataServices.Schemas {
		for _, c := range src.ComplexTypes {
			if src.Namespace == Namespace && complexKeep[c.Name] {
				s.ComplexTypes = append(s.ComplexTypes, c)
			}
		}
	}
	c := &Container{Name: "System"}
	for _, src := range d.DataServices.Schemas {
		if src.Namespace != Namespace || src.Container == nil {
			continue
		}
		c.Name = src.Container.Name
		for _, es := range src.Container.EntitySets {
			if keep[TypeName(es.EntityType)] {
				c.EntitySets = append(c.EntitySets, es)
			}
		}
		for _, ai := range src.Container.ActionImports {
			if wantOp[ai.Name] {
				c.ActionImports = append(c.ActionImports, ai)
			}
		}
		for _, fi := range src.Container.FunctionImports {
			if wantOp[fi.Name] {
				c.FunctionImports = append(c.FunctionImports, fi)
			}
		}
	}
	s.Container = c
	out := &Document{Version: d.Version}
	out.DataServices.Schemas = []Schema{s}
	return out, nil
}

// Write encodes the document as indented XML in the form Dataverse serves
// $metadata: the edmx: prefix on the envelope, self-closing empty elements.
func (d *Document) Write(w io.Writer) error {
	var buf bytes.Buffer
	enc := xml.NewEncoder(&buf)
	enc.Indent("", " ")
	if err := enc.Encode(d); err != nil {
		return err
	}
	out := emptyElement.ReplaceAll(buf.Bytes(), []byte("<$1$2 />"))
	out = bytes.Replace(out, []byte(`<Edmx xmlns="`+edmxNS+`"`), []byte(`<edmx:Edmx xmlns:edmx="`+edmxNS+`"`), 1)
	out = bytes.Replace(out, []byte(`<DataServices xmlns="`+edmxNS+`">`), []byte(`<edmx:DataServices>`), 1)
	out = bytes.Replace(out, []byte(`</DataServices>`), []byte(`</edmx:DataServices>`), 1)
	out = bytes.Replace(out, []byte(`</Edmx>`), []byte(`</edmx:Edmx>`), 1)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	_, err := w.Write(append(out, '\n'))
	return err
}

// emptyElement matches an element with no content, which encoding/xml writes as a pair.
var emptyElement = regexp.MustCompile(`<(\w+)((?:\s+[\w:]+="[^"]*")*)></\w+>`)

// SliceTypes are the entity types crmbot's catalogue and sandbox use.
var SliceTypes = []string{
	"account", "contact", "lead", "opportunity", "incident", "task", "phonecall", "appointment",
	"systemuser", "team", "businessunit", "organization", "incidentresolution", "opportunityclose",
	"competitor", "transactioncurrency",
}

// CustomPrefixes are the publisher prefixes of custom columns in the reference
// $metadata (it comes from a customised org); the slice drops them so the
// sandbox looks like an out-of-the-box org.
var CustomPrefixes = []string{"adoxio_"}

func isCustom(name string) bool {
	name = strings.TrimPrefix(name, "_")
	for _, p := range CustomPrefixes {
		if strings.HasPrefix(name, p) || strings.Contains(name, "_"+p) {
			return true
		}
	}
	return false
}

// SliceOperations are the actions and functions crmbot calls.
var SliceOperations = []string{"WhoAmI", "CloseIncident", "WinOpportunity", "LoseOpportunity", "QualifyLead"}

// WriteSlice writes crmbot's slice of d (SliceTypes, SliceOperations) to w.
func WriteSlice(w io.Writer, d *Document) error {
	s, err := d.Slice(SliceTypes, SliceOperations)
	if err != nil {
		return err
	}
	return s.Write(w)
}
