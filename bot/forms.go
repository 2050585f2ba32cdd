package bot

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/internal/i18n"
)

// Forms: edit, create and the closing actions. A form's inputs come from
// the catalogue; a submission is checked here first (required, lengths,
// ranges, formats) so most mistakes come back at once on their field, then
// Dynamics has the last word: its validation errors land on the field they
// name, others above the form, and a record changed meanwhile (412) shows
// the form again with the user's input and a clear message. Whatever
// happens, what the user typed comes back in the form.

// statusInput is the name of a closing form's status choice.
const statusInput = "statuscode"

// lookupMinQuery is the type-ahead's minimum query length.
const lookupMinQuery = 1

// lookupResults caps a type-ahead's answer (Teams shows 15 at most).
const lookupResults = 15

// formFieldErrors are a submission's problems by input name, and one for
// the whole form.
type formFieldErrors struct {
	fields map[string]string
	form   string
}

func (e *formFieldErrors) any() bool { return e.form != "" || len(e.fields) > 0 }

// input builds a form input for a catalogue field.
func (c *Core) input(s *session, rt *crm.RecordType, f *crm.Field, required bool) cards.Input {
	in := cards.Input{Name: f.Name, Label: f.Label.In(s.lang), Required: required, MaxLength: f.MaxLength, Min: f.Min, Max: f.Max}
	switch f.Type {
	case crm.TypeMultiline:
		in.Kind = cards.InputMultiline
	case crm.TypeEmail:
		in.Kind = cards.InputEmail
	case crm.TypePhone:
		in.Kind = cards.InputPhone
	case crm.TypeURL:
		in.Kind = cards.InputURL
	case crm.TypeInt, crm.TypeDecimal:
		in.Kind = cards.InputNumber
	case crm.TypeMoney:
		in.Kind = cards.InputMoney
	case crm.TypeDate:
		in.Kind = cards.InputDate
	case crm.TypeDateTime:
		in.Kind = cards.InputDateTime
	case crm.TypeOptionSet:
		in.Kind = cards.InputChoice
		for _, o := range f.Options {
			in.Options = append(in.Options, cards.Option{Value: strconv.Itoa(o.Value), Label: o.Label.In(s.lang)})
		}
	case crm.TypeBool:
		in.Kind = cards.InputBool
	case crm.TypeLookup:
		in.Kind = cards.InputLookup
		in.Lookup = &cards.LookupSource{Dataset: lookupDataset(rt.Name, f.Name), MinQueryLength: lookupMinQuery}
		targets := f.TargetNames()
		var labels []string
		for _, t := range targets {
			if tt, ok := c.Catalog.Type(t); ok {
				labels = append(labels, strings.ToLower(tt.Label.In(s.lang)))
			}
		}
		in.Hint = s.t(i18n.LookupHint, i18n.Args{"types": strings.Join(labels, ", ")})
	default:
		in.Kind = cards.InputText
	}
	return in
}

// lookupDataset names a lookup's type-ahead: "lookup:<type>.<field>", or
// for a closing form's field "lookup:<type>.<action>.<field>".
func lookupDataset(parts ...string) string { return "lookup:" + strings.Join(parts, ".") }

// prefill is a field's current value as an input's text.
func (c *Core) prefill(s *session, f *crm.Field, rec *crm.Record) (value, label string) {
	attr := f.ReadAttribute()
	switch f.Type {
	case crm.TypeLookup:
		if ref, ok := rec.Lookup(f.Name); ok && ref.ID != "" {
			return ref.Type + ":" + ref.ID, c.lookupLabel(s, f, ref)
		}
		return "", ""
	case crm.TypeBool:
		if b, ok := rec.Bool(attr); ok {
			return strconv.FormatBool(b), ""
		}
	case crm.TypeOptionSet, crm.TypeInt:
		if v, ok := rec.Int(attr); ok {
			return strconv.Itoa(v), ""
		}
	case crm.TypeDecimal, crm.TypeMoney:
		if n, ok := rec.Number(attr); ok {
			return n.String(), ""
		}
	case crm.TypeDate:
		if t, ok := rec.Time(attr); ok {
			return t.UTC().Format(time.DateOnly), ""
		}
	case crm.TypeDateTime:
		if t, ok := rec.Time(attr); ok {
			return t.In(s.tz).Format(time.RFC3339), ""
		}
	}
	return rec.String(attr), ""
}

// lookupLabel is how a lookup's record is named in a picker: "Contoso",
// or "Contoso (Account)" when the field may point at several types.
func (c *Core) lookupLabel(s *session, f *crm.Field, ref crm.Ref) string {
	name := firstNonEmpty(ref.Name, s.t(i18n.RecordNoName, nil))
	if len(f.Targets) > 1 {
		if t, ok := c.Catalog.Type(ref.Type); ok {
			return name + " (" + t.Label.In(s.lang) + ")"
		}
	}
	return name
}

// editForm shows a record's editable fields, filled with its values.
func (c *Core) editForm(ctx context.Context, s *session, rt *crm.RecordType, id, origin string) (*cards.Form, error) {
	rec, err := s.crm.GetRecord(ctx, rt, id, rt.Edit...)
	if err != nil {
		return nil, err
	}
	if code, ok := rec.Int("statecode"); ok && !rt.IsOpen(code) {
		return nil, userErr(i18n.ErrorClosed, i18n.Args{"type": strings.ToLower(rt.Label.In(s.lang))})
	}
	f := c.editShell(s, rt)
	f.Intro = c.recordName(s, rt, rec)
	for i := range f.Inputs {
		fld, _ := rt.Field(f.Inputs[i].Name)
		f.Inputs[i].Value, f.Inputs[i].ValueLabel = c.prefill(s, fld, rec)
	}
	f.State = newParams("t", rt.Name, "id", id, "e", rec.ETag, "o", origin, "h", baseline(f.Inputs)).String()
	return f, nil
}

// baseline fingerprints a form's pre-filled values (six hex digits an
// input), so that a submission tells the inputs the user changed from the
// ones they left alone.
func baseline(inputs []cards.Input) string {
	var b strings.Builder
	for _, in := range inputs {
		h := fnv.New32a()
		_, _ = h.Write([]byte(strings.TrimSpace(in.Value)))
		fmt.Fprintf(&b, "%06x", h.Sum32()&0xffffff)
	}
	return b.String()
}

// touched reports the inputs whose submitted value differs from the
// baseline the form was filled with; without a usable baseline, all.
func touched(inputs []cards.Input, values map[string]string, base string) map[string]bool {
	out := map[string]bool{}
	fresh := make([]cards.Input, len(inputs))
	for i, in := range inputs {
		fresh[i] = cards.Input{Value: values[in.Name]}
	}
	now := baseline(fresh)
	for i, in := range inputs {
		if len(base) != len(now) || base[6*i:6*i+6] != now[6*i:6*i+6] {
			out[in.Name] = true
		}
	}
	return out
}

// createForm is the empty form of a new record. Its state carries the
// record's id, chosen now, so that a double submit creates one record.
func (c *Core) createForm(ctx context.Context, s *session, rt *crm.RecordType, p params) (*cards.Form, error) {
	f := c.createShell(s, rt)
	if rtype, rid := p.get("rt"), p.get("rid"); rtype != "" && crm.IsGUID(rid) {
		// "New task" from a record: its regarding lookup starts there.
		if other, ok := c.Catalog.Type(rtype); ok {
			if rec, err := s.crm.GetRecord(ctx, other, rid, other.PrimaryName); err == nil {
				for i := range f.Inputs {
					fld, _ := rt.Field(f.Inputs[i].Name)
					if fld.Type == crm.TypeLookup && fld.Targets[rtype] != "" && f.Inputs[i].Value == "" {
						f.Inputs[i].Value = rtype + ":" + rid
						f.Inputs[i].ValueLabel = c.lookupLabel(s, fld, crm.Ref{Type: rtype, ID: rid, Name: rec.String(other.PrimaryName)})
						break
					}
				}
			}
		}
	}
	f.State = newParams("t", rt.Name, "k", newGUID()).String()
	return f, nil
}

// editShell is rt's edit form before its values and state.
func (c *Core) editShell(s *session, rt *crm.RecordType) *cards.Form {
	f := c.recordForm(s, rt, rt.Edit, formEdit)
	f.Title = s.t(i18n.FormEditTitle, i18n.Args{"type": rt.Label.In(s.lang)})
	f.SubmitLabel = s.t(i18n.ActionSave, nil)
	return f
}

// createShell is rt's create form before its values and state.
func (c *Core) createShell(s *session, rt *crm.RecordType) *cards.Form {
	f := c.recordForm(s, rt, rt.Create, formCreate)
	f.Title = s.t(i18n.FormCreateTitle, i18n.Args{"type": rt.Label.In(s.lang)})
	f.SubmitLabel = s.t(i18n.ActionCreate, nil)
	return f
}

// again shows a submitted form again: the user's values, the form's
// error and each input's.
func (c *Core) again(ctx context.Context, s *session, f *cards.Form, formErr string, fieldErrs map[string]string) Response {
	f.Error = formErr
	c.refill(ctx, s, f, s.req.Values)
	setErrors(f, fieldErrs)
	return Response{View: f, Surface: SurfaceDialog}
}

// setErrors puts each input's error (by name) on the form.
func setErrors(f *cards.Form, errs map[string]string) {
	for i := range f.Inputs {
		f.Inputs[i].Error = errs[f.Inputs[i].Name]
	}
}

// recordForm is a form of a record type's fields (names in order).
func (c *Core) recordForm(s *session, rt *crm.RecordType, names []string, id string) *cards.Form {
	f := &cards.Form{ID: id, CancelLabel: s.t(i18n.ActionCancel, nil)}
	for _, n := range names {
		fld, ok := rt.Field(n)
		if !ok || fld.ReadOnly {
			continue
		}
		f.Inputs = append(f.Inputs, c.input(s, rt, fld, slices.Contains(rt.Required, n)))
	}
	return f
}

// closeForm is a closing action's form: the status to end in (when there
// is a choice) and the action's fields, with sensible defaults.
func (c *Core) closeForm(ctx context.Context, s *session, rt *crm.RecordType, id string, a *crm.ClosingAction, origin string, values map[string]string, formErr string) (*cards.Form, error) {
	rec, err := s.crm.GetRecord(ctx, rt, id, detailFields(rt)...)
	if err != nil {
		return nil, err
	}
	if code, ok := rec.Int("statecode"); ok && !rt.IsOpen(code) {
		return nil, userErr(i18n.ErrorClosed, i18n.Args{"type": strings.ToLower(rt.Label.In(s.lang))})
	}
	f := c.closeShell(s, rt, id, a, origin)
	f.Intro, f.Error = c.recordName(s, rt, rec), formErr
	for i := range f.Inputs {
		// The estimate is the revenue's default.
		if f.Inputs[i].Kind == cards.InputMoney {
			if n, ok := rec.Number("estimatedvalue"); ok {
				f.Inputs[i].Value = n.String()
			}
		}
	}
	if values != nil {
		c.refill(ctx, s, f, values)
	}
	return f, nil
}

// closeShell is a closing action's form before the record is read: its
// inputs with the defaults that need no record (today for dates, every
// record for a qualification) and its state.
func (c *Core) closeShell(s *session, rt *crm.RecordType, id string, a *crm.ClosingAction, origin string) *cards.Form {
	f := &cards.Form{ID: formClose, Title: a.Label.In(s.lang), SubmitLabel: a.Label.In(s.lang),
		CancelLabel: s.t(i18n.ActionCancel, nil),
		State:       newParams("t", rt.Name, "id", id, "a", a.Name, "o", origin).String()}
	if len(a.Statuses) > 1 {
		in := cards.Input{Name: statusInput, Label: s.t(i18n.FieldStatusReason, nil), Kind: cards.InputChoice, Required: true,
			Value: strconv.Itoa(a.Statuses[0])}
		for _, st := range a.Statuses {
			l, _ := rt.StatusLabel(st, s.lang)
			in.Options = append(in.Options, cards.Option{Value: strconv.Itoa(st), Label: firstNonEmpty(l, strconv.Itoa(st))})
		}
		f.Inputs = append(f.Inputs, in)
	}
	for _, fld := range a.OrderedFields() {
		in := c.input(s, rt, fld, slices.Contains(a.Required, fld.Name))
		if in.Lookup != nil {
			in.Lookup.Dataset = lookupDataset(rt.Name, a.Name, fld.Name)
		}
		switch fld.Type {
		case crm.TypeDate:
			in.Value = c.Now().In(s.tz).Format(time.DateOnly)
		case crm.TypeBool:
			in.Value = "true"
		}
		f.Inputs = append(f.Inputs, in)
	}
	return f
}

// busyForm is a submitted form shown again, without a word to Dynamics,
// when Dynamics asked us to slow down (429): the user's input kept, the
// wait above it. ok is false for a form it cannot rebuild.
func (c *Core) busyForm(ctx context.Context, s *session, msg string) (*cards.Form, bool) {
	p := parseParams(s.req.State)
	rt, ok := c.Catalog.Type(p.get("t"))
	if !ok || !rt.Chat {
		return nil, false
	}
	var f *cards.Form
	switch s.req.FormID {
	case formEdit:
		f = c.editShell(s, rt)
	case formCreate:
		f = c.createShell(s, rt)
	case formClose:
		a, ok := rt.Closing[p.get("a")]
		if !ok || !crm.IsGUID(p.get("id")) {
			return nil, false
		}
		f = c.closeShell(s, rt, p.get("id"), a, p.get("o"))
	default:
		return nil, false
	}
	f.State, f.Error = s.req.State, msg
	s.offline = true // the user's principal is paused: name no lookup now
	c.refill(ctx, s, f, s.req.Values)
	return f, true
}

// refill puts the user's submitted values back into a form's inputs,
// naming looked-up records again.
func (c *Core) refill(ctx context.Context, s *session, f *cards.Form, values map[string]string) {
	for i := range f.Inputs {
		in := &f.Inputs[i]
		v, ok := values[in.Name]
		if !ok {
			continue
		}
		in.Value, in.ValueLabel = v, ""
		if (in.Kind == cards.InputNumber || in.Kind == cards.InputMoney) && v != "" {
			// Both platforms' number inputs hold numbers only: a value that
			// is none (a hand-made request) cannot be shown again.
			if _, err := strconv.ParseFloat(normalizeNumber(strings.TrimSpace(v), s.lang), 64); err != nil {
				in.Value = ""
			} else {
				in.Value = normalizeNumber(strings.TrimSpace(v), s.lang)
			}
		}
		if in.Kind == cards.InputDateTime && v != "" {
			// Back in the canonical form (RFC 3339 in the user's zone),
			// whichever platform's form the value came from.
			if t, ok := parseDateTimeIn(strings.TrimSpace(v), s.tz); ok {
				in.Value = t.In(s.tz).Format(time.RFC3339)
			}
		}
		if in.Kind == cards.InputLookup && v != "" {
			if typ, id, ok := strings.Cut(v, ":"); ok && crm.IsGUID(id) {
				if t, ok := c.Catalog.Type(typ); ok {
					if s.offline {
						// Kept, named by its type until Dynamics answers again.
						in.ValueLabel = t.Label.In(s.lang)
					} else if rec, err := s.crm.GetRecord(ctx, t, id, t.PrimaryName); err == nil {
						in.ValueLabel = rec.String(t.PrimaryName)
					}
				}
			}
			if in.ValueLabel == "" {
				in.Value = ""
			}
		}
	}
}

// submit runs a form submission.
func (c *Core) submit(ctx context.Context, s *session) (Response, error) {
	if s.req.FormID == formSettings {
		return c.submitSettings(ctx, s)
	}
	p := parseParams(s.req.State)
	rt, ok := c.Catalog.Type(p.get("t"))
	if !ok || !rt.Chat {
		return Response{Surface: SurfaceDialog}, userErr(i18n.ErrorStale, nil)
	}
	switch s.req.FormID {
	case formEdit:
		return c.submitEdit(ctx, s, rt, p)
	case formCreate:
		return c.submitCreate(ctx, s, rt, p)
	case formClose:
		a, ok := rt.Closing[p.get("a")]
		if !ok || !crm.IsGUID(p.get("id")) {
			return Response{Surface: SurfaceDialog}, userErr(i18n.ErrorStale, nil)
		}
		return c.submitClose(ctx, s, rt, p.get("id"), a, p)
	}
	return Response{Surface: SurfaceDialog}, userErr(i18n.ErrorStale, nil)
}

// parsed is a submission's values as Dynamics takes them.
type parsed map[string]any

// parseInputs checks and converts a form's submitted values against its
// fields. Empty optional values are nil (clear the field).
func (c *Core) parseInputs(s *session, fields []*crm.Field, required func(string) bool, values map[string]string) (parsed, *formFieldErrors) {
	out := parsed{}
	errs := &formFieldErrors{fields: map[string]string{}}
	for _, f := range fields {
		raw, sent := values[f.Name]
		raw = strings.TrimSpace(raw)
		if f.Type == crm.TypeBool && !sent {
			raw = "false"
		}
		if raw == "" {
			if required(f.Name) {
				errs.fields[f.Name] = s.t(i18n.FieldRequired, nil)
			}
			out[f.Name] = nil
			continue
		}
		v, msg := c.parseValue(s, f, raw)
		if msg != "" {
			errs.fields[f.Name] = msg
			continue
		}
		out[f.Name] = v
	}
	return out, errs
}

// parseValue converts one field's text; msg is the user's error, if any.
func (c *Core) parseValue(s *session, f *crm.Field, raw string) (any, string) {
	switch f.Type {
	case crm.TypeText, crm.TypeMultiline, crm.TypePhone:
		return raw, checkLength(s, f, raw)
	case crm.TypeEmail:
		if a, err := mail.ParseAddress(raw); err != nil || a.Address != raw || !strings.Contains(raw[strings.LastIndex(raw, "@")+1:], ".") {
			return nil, s.t(i18n.FieldBadEmail, nil)
		}
		return raw, checkLength(s, f, raw)
	case crm.TypeURL:
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			if !strings.Contains(raw, "://") {
				if u2, err := url.Parse("https://" + raw); err == nil && strings.Contains(u2.Host, ".") {
					return "https://" + raw, checkLength(s, f, "https://"+raw)
				}
			}
			return nil, s.t(i18n.FieldBadURL, nil)
		}
		return raw, checkLength(s, f, raw)
	case crm.TypeInt:
		n, err := strconv.Atoi(normalizeNumber(raw, s.lang))
		if err != nil {
			return nil, s.t(i18n.FieldBadWholeNumber, nil)
		}
		return n, checkRange(s, f, float64(n))
	case crm.TypeDecimal, crm.TypeMoney:
		x, err := strconv.ParseFloat(normalizeNumber(raw, s.lang), 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, s.t(i18n.FieldBadNumber, nil)
		}
		return x, checkRange(s, f, x)
	case crm.TypeDate:
		t, err := time.Parse(time.DateOnly, raw)
		if err != nil {
			return nil, s.t(i18n.FieldBadDate, nil)
		}
		return t, ""
	case crm.TypeDateTime:
		t, ok := parseDateTimeIn(raw, s.tz)
		if !ok {
			return nil, s.t(i18n.FieldBadDate, nil)
		}
		return t.UTC(), ""
	case crm.TypeOptionSet:
		n, err := strconv.Atoi(raw)
		if err != nil || !slices.ContainsFunc(f.Options, func(o crm.Choice) bool { return o.Value == n }) {
			return nil, s.t(i18n.FieldBadChoice, nil)
		}
		return n, ""
	case crm.TypeBool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return nil, s.t(i18n.FieldBadChoice, nil)
		}
		return b, ""
	case crm.TypeLookup:
		typ, id, ok := strings.Cut(raw, ":")
		if !ok || !crm.IsGUID(id) || f.Targets[typ] == "" {
			return nil, s.t(i18n.FieldBadLookup, nil)
		}
		return crm.Ref{Type: typ, ID: strings.ToLower(id)}, ""
	}
	return raw, ""
}

// parseDateTimeIn reads RFC 3339 (Slack), a wall clock "2006-01-02T15:04"
// in the user's zone (Teams), or a date alone (midnight there).
func parseDateTimeIn(raw string, tz *time.Location) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, raw); err == nil {
		return t, true
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", time.DateOnly} {
		if t, err := time.ParseInLocation(layout, raw, tz); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// normalizeNumber accepts "1 234,5" in French and "1,234.5" in English.
func normalizeNumber(raw, lang string) string {
	r := strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "", "'", "")
	s := r.Replace(raw)
	if strings.Contains(s, ",") {
		if lang == "fr" || !strings.Contains(s, ".") && strings.Count(s, ",") == 1 && len(s)-strings.Index(s, ",") != 4 {
			s = strings.ReplaceAll(strings.ReplaceAll(s, ".", ""), ",", ".")
		} else {
			s = strings.ReplaceAll(s, ",", "")
		}
	}
	return s
}

func checkLength(s *session, f *crm.Field, v string) string {
	if f.MaxLength > 0 && utf8.RuneCountInString(v) > f.MaxLength {
		return s.t(i18n.FieldTooLong, i18n.Args{"max": f.MaxLength, "count": utf8.RuneCountInString(v)})
	}
	return ""
}

func checkRange(s *session, f *crm.Field, x float64) string {
	switch {
	case f.Min != nil && f.Max != nil && (x < *f.Min || x > *f.Max):
		return s.t(i18n.FieldOutOfRange, i18n.Args{"min": fmtNum(*f.Min), "max": fmtNum(*f.Max)})
	case f.Min != nil && x < *f.Min:
		return s.t(i18n.FieldTooSmall, i18n.Args{"min": fmtNum(*f.Min)})
	case f.Max != nil && x > *f.Max:
		return s.t(i18n.FieldTooLarge, i18n.Args{"max": fmtNum(*f.Max)})
	}
	return ""
}

func fmtNum(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// fieldsOf returns the catalogue fields behind a form's record inputs.
func fieldsOf(rt *crm.RecordType, names []string) []*crm.Field {
	var out []*crm.Field
	for _, n := range names {
		if f, ok := rt.Field(n); ok && !f.ReadOnly {
			out = append(out, f)
		}
	}
	return out
}

// body turns parsed values into a Web API payload: lookups become
// @odata.bind (null to clear, on the navigation property of the target the
// record points at now), dates their wire forms.
func (c *Core) body(rt *crm.RecordType, vals parsed, current *crm.Record) (map[string]any, error) {
	b := map[string]any{}
	for name, v := range vals {
		f, _ := rt.Field(name)
		switch x := v.(type) {
		case crm.Ref:
			k, val, err := c.Catalog.Bind(rt, name, x.Type, x.ID)
			if err != nil {
				return nil, err
			}
			b[k] = val
		case time.Time:
			if f.Type == crm.TypeDate {
				b[name] = x.Format(time.DateOnly)
			} else {
				b[name] = x.UTC().Format(time.RFC3339)
			}
		case nil:
			if f.Type == crm.TypeLookup {
				if current == nil {
					continue
				}
				ref, ok := current.Lookup(name)
				if !ok || ref.ID == "" {
					continue
				}
				if nav := f.Targets[ref.Type]; nav != "" {
					b[nav+"@odata.bind"] = nil
				}
				continue
			}
			b[name] = nil
		default:
			b[name] = v
		}
	}
	return b, nil
}

// changed keeps the values that differ from the record's current ones, so
// an edit sends only what the user changed.
func (c *Core) changed(s *session, rt *crm.RecordType, vals parsed, current *crm.Record) parsed {
	out := parsed{}
	for name, v := range vals {
		f, _ := rt.Field(name)
		curText, _ := c.prefill(s, f, current)
		var newText string
		switch x := v.(type) {
		case nil:
			newText = ""
		case crm.Ref:
			newText = x.Type + ":" + x.ID
		case time.Time:
			if f.Type == crm.TypeDate {
				newText = x.Format(time.DateOnly)
			} else {
				newText = x.In(s.tz).Format(time.RFC3339)
			}
		case float64:
			if cur, err := strconv.ParseFloat(curText, 64); err == nil && cur == x {
				continue
			}
			newText = fmtNum(x)
		default:
			newText = fmt.Sprint(x)
		}
		if f.Type == crm.TypeLookup {
			curText = strings.ToLower(curText)
		}
		if newText != curText {
			out[name] = v
		}
	}
	return out
}

// submitEdit saves an edit: only the changed fields, with the ETag the form
// was filled from.
func (c *Core) submitEdit(ctx context.Context, s *session, rt *crm.RecordType, p params) (Response, error) {
	id := p.get("id")
	if !crm.IsGUID(id) {
		return Response{Surface: SurfaceDialog}, userErr(i18n.ErrorStale, nil)
	}
	fields := fieldsOf(rt, rt.Edit)
	vals, errs := c.parseInputs(s, fields, func(n string) bool { return slices.Contains(rt.Required, n) }, s.req.Values)
	reshow := func(etag, formErr string, fieldErrs map[string]string) (Response, error) {
		f := c.editShell(s, rt)
		f.State = p.with("e", etag).String()
		return c.again(ctx, s, f, formErr, fieldErrs), nil
	}
	// conflict shows the form again over the record's new version: the
	// inputs the user changed keep their values, the others show the new
	// ones, so that saving again doesn't undo someone else's change.
	conflict := func(now *crm.Record) (Response, error) {
		f := c.editShell(s, rt)
		f.Intro = c.recordName(s, rt, now)
		f.Error = c.conflictMessage(s, rt, now)
		mine := touched(f.Inputs, s.req.Values, p.get("h"))
		vals := map[string]string{}
		for i := range f.Inputs {
			fld, _ := rt.Field(f.Inputs[i].Name)
			f.Inputs[i].Value, f.Inputs[i].ValueLabel = c.prefill(s, fld, now)
			if mine[f.Inputs[i].Name] {
				vals[f.Inputs[i].Name] = s.req.Values[f.Inputs[i].Name]
			}
		}
		f.State = p.with("e", now.ETag).with("h", baseline(f.Inputs)).String()
		c.refill(ctx, s, f, vals)
		return Response{View: f, Surface: SurfaceDialog}, nil
	}
	if errs.any() {
		return reshow(p.get("e"), errs.form, errs.fields)
	}
	cur, err := s.crm.GetRecord(ctx, rt, id, append(slices.Clone(rt.Edit), "modifiedon")...)
	if err != nil {
		if errors.Is(err, crm.ErrNotFound) {
			return reshow(p.get("e"), s.t(i18n.ErrorNotFound, nil), nil)
		}
		return Response{Surface: SurfaceDialog}, err
	}
	if code, ok := cur.Int("statecode"); ok && !rt.IsOpen(code) {
		return reshow(cur.ETag, s.t(i18n.ErrorClosed, i18n.Args{"type": strings.ToLower(rt.Label.In(s.lang))}), nil)
	}
	if p.get("e") != "" && cur.ETag != p.get("e") {
		return conflict(cur)
	}
	diff := c.changed(s, rt, vals, cur)
	if len(diff) > 0 {
		body, err := c.body(rt, diff, cur)
		if err != nil {
			return Response{Surface: SurfaceDialog}, err
		}
		err = s.crm.Update(ctx, rt.EntitySet, id, cur.ETag, body)
		if errors.Is(err, crm.ErrConflict) {
			now, gerr := s.crm.GetRecord(ctx, rt, id, append(slices.Clone(rt.Edit), "modifiedon")...)
			if gerr != nil {
				return Response{Surface: SurfaceDialog}, gerr
			}
			return conflict(now)
		}
		if err != nil {
			if fe, ok := c.dynamicsFieldError(s, err, s.req.Values); ok {
				return reshow(cur.ETag, fe.form, fe.fields)
			}
			return Response{Surface: SurfaceDialog}, err
		}
	}
	return c.afterChange(ctx, s, rt, id, p.get("o"), s.t(i18n.SavedRecord, i18n.Args{"type": rt.Label.In(s.lang)}))
}

// conflictMessage says the record changed since the form was filled.
func (c *Core) conflictMessage(s *session, rt *crm.RecordType, now *crm.Record) string {
	when := ""
	if t, ok := now.Time("modifiedon"); ok {
		when = formatDateTime(s.loc, t.In(s.tz))
	}
	return s.t(i18n.FormConflict, i18n.Args{"type": strings.ToLower(rt.Label.In(s.lang)), "when": when})
}

// submitCreate creates a record with the id chosen when the form opened:
// a second submit of the same form finds it and creates nothing.
func (c *Core) submitCreate(ctx context.Context, s *session, rt *crm.RecordType, p params) (Response, error) {
	id := p.get("k")
	if !crm.IsGUID(id) {
		return Response{Surface: SurfaceDialog}, userErr(i18n.ErrorStale, nil)
	}
	fields := fieldsOf(rt, rt.Create)
	vals, errs := c.parseInputs(s, fields, func(n string) bool { return slices.Contains(rt.Required, n) }, s.req.Values)
	reshow := func(formErr string, fieldErrs map[string]string) (Response, error) {
		f := c.createShell(s, rt)
		f.State = p.String()
		return c.again(ctx, s, f, formErr, fieldErrs), nil
	}
	if errs.any() {
		return reshow(errs.form, errs.fields)
	}
	if msg := checkOrder(s, rt, vals); msg != nil {
		return reshow("", msg)
	}
	for k, v := range vals {
		if v == nil {
			delete(vals, k) // nothing to clear on a new record
		}
	}
	body, err := c.body(rt, vals, nil)
	if err != nil {
		return Response{Surface: SurfaceDialog}, err
	}
	if _, err := s.crm.CreateIdempotent(ctx, rt.EntitySet, id, body); err != nil {
		if fe, ok := c.dynamicsFieldError(s, err, s.req.Values); ok {
			return reshow(fe.form, fe.fields)
		}
		return Response{Surface: SurfaceDialog}, err
	}
	d, err := c.detailView(ctx, s, rt, id)
	if err != nil {
		return Response{Surface: SurfaceDialog}, err
	}
	return Response{View: &cards.Message{Tone: cards.ToneSuccess, Title: s.t(i18n.CreatedRecord, i18n.Args{"type": rt.Label.In(s.lang)}),
		Text: []string{d.Title}, Actions: []cards.Action{
			{ID: actOpen, Value: newParams("t", rt.Name, "id", id).String(), Label: s.t(i18n.ActionView, nil), Dialog: true},
			{URL: d.OpenURL, Label: d.OpenLabel},
		}}, Surface: SurfaceDialog, Done: true}, nil
}

// checkOrder catches an end before a start (appointments).
func checkOrder(s *session, rt *crm.RecordType, vals parsed) map[string]string {
	start, ok1 := vals["scheduledstart"].(time.Time)
	end, ok2 := vals["scheduledend"].(time.Time)
	if ok1 && ok2 && end.Before(start) {
		if f, ok := rt.Field("scheduledend"); ok {
			return map[string]string{f.Name: s.t(i18n.FieldEndBeforeStart, nil)}
		}
	}
	return nil
}

// submitClose runs a closing action with its form's values.
func (c *Core) submitClose(ctx context.Context, s *session, rt *crm.RecordType, id string, a *crm.ClosingAction, p params) (Response, error) {
	fields := a.OrderedFields()
	vals, errs := c.parseInputs(s, fields, func(n string) bool { return slices.Contains(a.Required, n) }, s.req.Values)
	status := 0
	if len(a.Statuses) > 1 {
		n, err := strconv.Atoi(strings.TrimSpace(s.req.Values[statusInput]))
		if err != nil || !slices.Contains(a.Statuses, n) {
			errs.fields[statusInput] = s.t(i18n.FieldBadChoice, nil)
		}
		status = n
	}
	if errs.any() {
		f, err := c.closeForm(ctx, s, rt, id, a, p.get("o"), s.req.Values, errs.form)
		if err != nil {
			return Response{Surface: SurfaceDialog}, err
		}
		setErrors(f, errs.fields)
		return Response{View: f, Surface: SurfaceDialog}, nil
	}
	values := map[string]any{}
	for k, v := range vals {
		if v != nil {
			if r, ok := v.(crm.Ref); ok {
				values[k] = r.ID
				continue
			}
			values[k] = v
		}
	}
	return c.runClose(ctx, s, rt, id, a, status, values, p.get("o"), SurfaceDialog)
}

// runClose carries out a closing action and answers the record's new
// state; Dynamics' refusals show on the form (or the card).
func (c *Core) runClose(ctx context.Context, s *session, rt *crm.RecordType, id string, a *crm.ClosingAction, status int, values map[string]any, origin string, surface Surface) (Response, error) {
	// A record closed since the card or form was shown (by another action,
	// in Dynamics) is not closed again another way; the same action twice
	// (a double click) is done.
	rec, err := s.crm.GetRecord(ctx, rt, id, rt.PrimaryName)
	if err != nil {
		return Response{Surface: surface}, err
	}
	if code, ok := rec.Int("statecode"); ok && !rt.IsOpen(code) {
		if code == a.State {
			return c.afterChange(ctx, s, rt, id, origin, s.t(i18n.ClosedRecord, i18n.Args{"action": a.Label.In(s.lang)}))
		}
		return Response{Surface: surface}, userErr(i18n.ErrorClosed, i18n.Args{"type": strings.ToLower(rt.Label.In(s.lang))})
	}
	created, err := s.crm.Close(ctx, rt, id, a, status, values)
	if err != nil {
		// A retried SetState may find its first attempt applied; an
		// already-closed record is reported as such, not as a failure.
		if rec, gerr := s.crm.GetRecord(ctx, rt, id, rt.PrimaryName); gerr == nil {
			if code, ok := rec.Int("statecode"); ok && code == a.State {
				return c.afterChange(ctx, s, rt, id, origin, s.t(i18n.ClosedRecord, i18n.Args{"action": a.Label.In(s.lang)}))
			}
		}
		if surface == SurfaceDialog {
			if fe, ok := c.dynamicsFieldError(s, err, s.req.Values); ok {
				f, ferr := c.closeForm(ctx, s, rt, id, a, origin, s.req.Values, fe.form)
				if ferr != nil {
					return Response{Surface: SurfaceDialog}, ferr
				}
				setErrors(f, fe.fields)
				return Response{View: f, Surface: SurfaceDialog}, nil
			}
		}
		return Response{Surface: surface}, err
	}
	resp, err := c.afterChange(ctx, s, rt, id, origin, s.t(i18n.ClosedRecord, i18n.Args{"action": a.Label.In(s.lang)}))
	if err != nil || len(created) == 0 {
		return resp, err
	}
	// A qualified lead: the records Dynamics created, each opening its detail.
	if m, ok := resp.View.(*cards.Message); ok {
		for _, ref := range created {
			if t, ok := c.Catalog.Type(ref.Type); ok && t.Chat {
				m.Actions = append(m.Actions, cards.Action{ID: actOpen, Value: newParams("t", t.Name, "id", ref.ID).String(),
					Dialog: true, Label: t.Icon + " " + s.t(i18n.ActionViewCreated, i18n.Args{"type": t.Label.In(s.lang)})})
			}
		}
	}
	return resp, nil
}

// afterChange answers a successful change: a short confirmation as the
// result, and the originating card's new state (Refresh).
func (c *Core) afterChange(ctx context.Context, s *session, rt *crm.RecordType, id, origin, done string) (Response, error) {
	d, err := c.detailView(ctx, s, rt, id)
	if err != nil {
		return Response{Surface: SurfaceDialog}, err
	}
	m := &cards.Message{Tone: cards.ToneSuccess, Title: done, Text: []string{d.Title + " · " + d.Subtitle},
		Actions: []cards.Action{{URL: d.OpenURL, Label: d.OpenLabel}}}
	resp := Response{View: m, Surface: SurfaceDialog, Done: true}
	switch base, _ := splitOrigin(origin); base {
	case originNotifyNew, originNotifyMoved:
		if v, err := c.originView(ctx, s, rt, id, origin); err == nil {
			resp.Refresh = v
		}
	case originDetail:
		resp.Refresh = d
	}
	if s.req.Kind == KindAction {
		// An in-place action (complete, cancel): the card itself shows the new state.
		resp.Surface, resp.Done = SurfaceReplace, false
		if resp.Refresh != nil {
			resp.View, resp.Refresh = resp.Refresh, nil
		} else {
			resp.View = d
		}
	}
	return resp, nil
}

// quoted finds the 'names' a Dataverse message quotes.
var quoted = regexp.MustCompile(`'([A-Za-z_][A-Za-z0-9_]*)'`)

// dynamicsFieldError places a Dynamics validation error: on the input whose
// name its message quotes, else above the form. ok is false for errors that
// are not the user's input (outages, permissions).
func (c *Core) dynamicsFieldError(s *session, err error, values map[string]string) (*formFieldErrors, bool) {
	var ae *crm.APIError
	if !errors.Is(err, crm.ErrValidation) || !errors.As(err, &ae) {
		return nil, false
	}
	// Dynamics speaks the org's language (English here): in English its
	// message is the sentence; in another language our sentence comes
	// first and Dynamics' words follow on a details line of their own,
	// never mid-sentence.
	formMsg := s.t(i18n.FormDynamicsRefused, i18n.Args{"message": ae.Message})
	fieldMsg := ae.Message
	if s.lang != "en" {
		details := s.t(i18n.DynamicsDetails, i18n.Args{"message": ae.Message})
		formMsg = s.t(i18n.FormDynamicsRefusedShort, nil) + "\n" + details
		fieldMsg = s.t(i18n.FieldDynamicsRefused, nil) + "\n" + details
	}
	for _, m := range quoted.FindAllStringSubmatch(ae.Message, -1) {
		if _, ok := values[m[1]]; ok {
			return &formFieldErrors{fields: map[string]string{m[1]: fieldMsg}, form: s.t(i18n.FormFixBelow, nil)}, true
		}
	}
	return &formFieldErrors{form: formMsg}, true
}

// newGUID is a random (v4) GUID for a record created by the bot.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
