package crm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Annotation suffixes split out of a row's values.
const (
	annFormatted  = "@OData.Community.Display.V1.FormattedValue"
	annLookupType = "@Microsoft.Dynamics.CRM.lookuplogicalname"
)

// Record is one Dataverse row. Values holds the attributes as decoded JSON
// with numbers as json.Number (exact: money and decimals keep every digit
// Dataverse sent, and the accessors convert on demand); annotations are split
// out: formatted values into Formatted, lookup target types into LookupTypes,
// the row version into ETag.
type Record struct {
	// ID is the key attribute's value (accountid, activityid, …) when known.
	ID string
	// ETag is @odata.etag (W/"<versionnumber>"), for If-Match on update.
	ETag   string
	Values map[string]any
	// Formatted maps an attribute to its display text (option labels, dates,
	// money with currency, lookup names) in the calling user's language.
	Formatted map[string]string
	// LookupTypes maps a "_x_value" attribute to its target's logical name.
	LookupTypes map[string]string
}

// Ref is a reference to a record: its logical name, id and display name.
type Ref struct {
	Type string
	ID   string
	Name string
}

// newRecord turns a decoded row into a Record, reusing the row's map for
// Values (annotation keys are moved out of it).
func newRecord(row map[string]any, idAttr string) *Record {
	r := &Record{Values: row}
	for k, v := range row {
		at := strings.IndexByte(k, '@')
		if at < 0 {
			continue
		}
		delete(row, k)
		s, _ := v.(string)
		switch {
		case at == 0:
			if k == "@odata.etag" {
				r.ETag = s
			}
		case strings.HasSuffix(k, annFormatted):
			if r.Formatted == nil {
				r.Formatted = make(map[string]string, 8)
			}
			r.Formatted[k[:at]] = s
		case strings.HasSuffix(k, annLookupType):
			if r.LookupTypes == nil {
				r.LookupTypes = make(map[string]string, 4)
			}
			r.LookupTypes[k[:at]] = s
		}
	}
	if idAttr != "" {
		r.ID, _ = row[idAttr].(string)
	}
	return r
}

// Has reports whether the record carries attr (possibly null).
func (r *Record) Has(attr string) bool {
	_, ok := r.Values[attr]
	return ok
}

// String returns attr as text: strings as they are, numbers and booleans in
// their JSON form, null or missing as "".
func (r *Record) String(attr string) string {
	switch v := r.Values[attr].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// Number returns attr as an exact decimal (money, decimal, integer columns).
func (r *Record) Number(attr string) (json.Number, bool) {
	switch v := r.Values[attr].(type) {
	case json.Number:
		return v, true
	case float64:
		return json.Number(strconv.FormatFloat(v, 'f', -1, 64)), true
	case int:
		return json.Number(strconv.Itoa(v)), true
	}
	return "", false
}

// Int returns attr as an int (whole-number columns, option set values).
func (r *Record) Int(attr string) (int, bool) {
	switch v := r.Values[attr].(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return int(i), true
		}
		if f, err := v.Float64(); err == nil && f == math.Trunc(f) {
			return int(f), true
		}
	case float64:
		if v == math.Trunc(v) {
			return int(v), true
		}
	case int:
		return v, true
	}
	return 0, false
}

// Float returns attr as a float64 (money and decimals may round: use Number for exact values).
func (r *Record) Float(attr string) (float64, bool) {
	switch v := r.Values[attr].(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case float64:
		return v, true
	case int:
		return float64(v), true
	}
	return 0, false
}

// Bool returns attr as a bool (two-option columns).
func (r *Record) Bool(attr string) (bool, bool) {
	b, ok := r.Values[attr].(bool)
	return b, ok
}

// Time returns attr as a time: an ISO 8601 timestamp (UTC in Dataverse) or a
// date-only value ("2026-11-24", midnight UTC).
func (r *Record) Time(attr string) (time.Time, bool) {
	s, ok := r.Values[attr].(string)
	if !ok || s == "" {
		return time.Time{}, false
	}
	return parseTime(s)
}

func parseTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// lookupAttr maps a lookup's name ("customerid") to its read attribute
// ("_customerid_value"); an attribute already in that form is kept.
func lookupAttr(field string) string {
	if strings.HasPrefix(field, "_") && strings.HasSuffix(field, "_value") {
		return field
	}
	return "_" + field + "_value"
}

// Lookup returns the reference held by a lookup field ("customerid" or
// "_customerid_value"): its id, target logical name and display name.
func (r *Record) Lookup(field string) (Ref, bool) {
	attr := lookupAttr(field)
	id, ok := r.Values[attr].(string)
	if !ok || id == "" {
		return Ref{}, false
	}
	return Ref{Type: r.LookupTypes[attr], ID: id, Name: r.Formatted[attr]}, true
}

// Display returns attr's formatted value when Dataverse sent one, else its
// raw value as text. A lookup may be named by its field ("customerid").
func (r *Record) Display(attr string) string {
	if s := r.Formatted[attr]; s != "" {
		return s
	}
	if _, ok := r.Values[attr]; !ok {
		if la := lookupAttr(attr); la != attr {
			if s := r.Formatted[la]; s != "" {
				return s
			}
			if _, ok := r.Values[la]; ok {
				return r.String(la)
			}
		}
	}
	return r.String(attr)
}

// Ref returns a reference to the record itself as a record of type rt.
func (r *Record) Ref(rt *RecordType) Ref {
	return Ref{Type: rt.Name, ID: r.ID, Name: r.Display(rt.PrimaryName)}
}

// envelope is a collection response: a page of rows and its links.
type envelope struct {
	Context   string
	Count     *int
	NextLink  string
	DeltaLink string
	Value     []map[string]any
}

// decodeJSON decodes data into v keeping numbers as json.Number.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

// decodeEnvelope decodes a collection body, streaming: rows are decoded one
// at a time (so the decoder's buffer holds one row, not the whole page) into
// maps pre-sized from the previous row, with numbers kept as json.Number.
func decodeEnvelope(data []byte) (*envelope, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return nil, err
	}
	var env envelope
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		switch key {
		case "value":
			if err := expectDelim(dec, '['); err != nil {
				return nil, fmt.Errorf("value: %w", err)
			}
			width := 16
			for dec.More() {
				row := make(map[string]any, width)
				if err := dec.Decode(&row); err != nil {
					return nil, fmt.Errorf("value[%d]: %w", len(env.Value), err)
				}
				width = len(row)
				env.Value = append(env.Value, row)
			}
			if err := expectDelim(dec, ']'); err != nil {
				return nil, fmt.Errorf("value: %w", err)
			}
		case "@odata.context":
			err = dec.Decode(&env.Context)
		case "@odata.count":
			err = dec.Decode(&env.Count)
		case "@odata.nextLink":
			err = dec.Decode(&env.NextLink)
		case "@odata.deltaLink":
			err = dec.Decode(&env.DeltaLink)
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, err
	}
	return &env, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("expected %q, got %v", want, tok)
	}
	return nil
}

// decodePage decodes a collection body into a Page.
func decodePage(data []byte, idAttr string) (*Page, error) {
	env, err := decodeEnvelope(data)
	if err != nil {
		return nil, err
	}
	p := &Page{Records: make([]*Record, len(env.Value)), NextLink: env.NextLink, Count: -1}
	if env.Count != nil {
		p.Count = *env.Count
	}
	for i, row := range env.Value {
		p.Records[i] = newRecord(row, idAttr)
	}
	return p, nil
}
