package adaptive

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/crmbot/crmbot/cards"
)

// A Form is the card of a Teams dialog. Inputs, by kind:
//   - text, multiline, email, phone, URL: Input.Text (isMultiline; style
//     email, tel, url; maxLength);
//   - number, money: Input.Number (min, max); money's label ends with the
//     currency symbol, "Amount (€)";
//   - date: Input.Date;
//   - datetime: an Input.Date ("<name>.date") and an Input.Time
//     ("<name>.time") side by side; Values joins them back;
//   - choice: Input.ChoiceSet, compact; with a Lookup source it is typed
//     ahead like a lookup;
//   - lookup: Input.ChoiceSet, style "filtered", whose choices.data is a
//     Data.Query on Lookup.Dataset (the adapter answers application/search),
//     and whose one static choice is the current value, or else the hint
//     (also its placeholder) with a value Values reads back as "" (the
//     adaptivecards validator rejects an empty choices list or value);
//   - bool: Input.Toggle ("true"/"false").
// Each input has its label; a required one has isRequired and an
// errorMessage (the input's Error, else its label: the view has no
// localized "required" sentence). A hint is a small subtle TextBlock under
// the input, an input's Error a red (attention) TextBlock under that, the
// form's Error an attention TextBlock at the top.
//
// Submit and Cancel are Action.Submit: the dialog sends task/submit with the
// inputs by name and, under SubmitKey, {"form": ID, "state": State} (plus
// "cancel": true for Cancel, which sends no inputs). Form values are never
// cut: a form too large for the budget fails with ErrTooLarge.

// SubmitKey is the key of the form's own data in a task/submit payload. No
// input may be named so, nor "msteams", "verb", "value", "origin" or
// "search" (a button's data and the search box use those).
const SubmitKey = "crmbot"

// noChoice is the value of a lookup's hint choice (a choice needs a value);
// Values reads it back as "".
const noChoice = "crmbot:none"

// Suffixes of a datetime input's two input ids.
const (
	dateSuffix = ".date"
	timeSuffix = ".time"
)

// originKey carries Options.Origin in Action.Submit data.
const originKey = "origin"

// Submission is what a form's button carries back under SubmitKey.
type Submission struct {
	Form   string // Form.ID
	State  string // Form.State
	Cancel bool   // the Cancel button, not Submit
	Origin string // Options.Origin of the rendering
}

// ReadSubmission reads a task/submit payload's form data; false when the
// payload does not come from a form card.
func ReadSubmission(data map[string]any) (Submission, bool) {
	m, ok := data[SubmitKey].(map[string]any)
	if !ok {
		return Submission{}, false
	}
	var s Submission
	s.Form, _ = m["form"].(string)
	s.State, _ = m["state"].(string)
	s.Cancel, _ = m["cancel"].(bool)
	s.Origin, _ = m[originKey].(string)
	return s, true
}

// ButtonAction is what a button's Action.Submit or Action.Execute data
// carries: the cards.Action's ID (verb) and Value, and in a dialog the
// origin message.
type ButtonAction struct {
	Verb, Value, Origin string
}

// ReadAction reads a button's data (a dialog's task/submit, a task/fetch,
// or an Action.Submit from a message); false when it carries no verb.
func ReadAction(data map[string]any) (ButtonAction, bool) {
	var b ButtonAction
	b.Verb, _ = data["verb"].(string)
	b.Value, _ = data["value"].(string)
	b.Origin, _ = data[originKey].(string)
	return b, b.Verb != ""
}

// ReadValues reads a submission's inputs without the form: every key but
// SubmitKey, "msteams", the button's own data and the search box holds an
// input's text; a datetime's two inputs are joined back as Values does, and
// a lookup's hint choice reads as "". Teams gives the dialog's inputs back,
// not the form, so this is what an adapter uses.
func ReadValues(data map[string]any) map[string]string {
	out := make(map[string]string, len(data))
	for k, v := range data {
		switch k {
		case SubmitKey, "msteams", "verb", "value", originKey:
			continue
		}
		t, ok := text(v)
		if !ok {
			continue
		}
		if t == noChoice {
			t = ""
		}
		name, isDate := strings.CutSuffix(k, dateSuffix)
		if !isDate {
			if n, isTime := strings.CutSuffix(k, timeSuffix); isTime {
				if _, paired := data[n+dateSuffix]; paired {
					continue // joined with its date below
				}
			}
			out[k] = t
			continue
		}
		tm, _ := text(data[name+timeSuffix])
		switch {
		case t == "":
			out[name] = ""
		case tm == "":
			out[name] = t
		default:
			out[name] = t + "T" + tm
		}
	}
	return out
}

// Values reads a task/submit payload's inputs back by Input.Name, as the
// text an Input.Value holds (see cards.InputKind). An input absent from the
// payload is absent from the map; an input sent empty maps to "". A
// datetime is "2006-01-02T15:04", or only the date when no time was given,
// or "" when no date was.
func Values(data map[string]any, f *cards.Form) map[string]string {
	out := make(map[string]string, len(f.Inputs))
	for _, in := range f.Inputs {
		if in.Kind != cards.InputDateTime {
			if v, ok := text(data[in.Name]); ok {
				if v == noChoice {
					v = ""
				}
				out[in.Name] = v
			}
			continue
		}
		d, dok := text(data[in.Name+dateSuffix])
		t, tok := text(data[in.Name+timeSuffix])
		switch {
		case !dok && !tok:
		case d == "":
			out[in.Name] = ""
		case t == "":
			out[in.Name] = d
		default:
			out[in.Name] = d + "T" + t
		}
	}
	return out
}

// text is a submitted value as text: Teams sends strings, other clients
// may send numbers or booleans.
func text(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

func (r *renderer) form(f *cards.Form) (Card, error) {
	if f.SubmitLabel == "" {
		return Card{}, errorf("form %q: no submit label", f.ID)
	}
	var c Card
	if f.Error != "" {
		c.body = append(c.body, r.errorLines(f.Error, kv{"color", "attention"}, kv{"weight", "bolder"})...)
	}
	if f.Intro != "" {
		c.body = append(c.body, textBlock(md(f.Intro, r.lim.text)))
	}
	// Names the submission's data uses for itself: an input so named would
	// be lost (ReadValues skips them), so such a form fails to render.
	ids := map[string]bool{SubmitKey: true, "msteams": true, "verb": true, "value": true, originKey: true, SearchInputID: true}
	for _, in := range f.Inputs {
		els, err := r.input(in, ids)
		if err != nil {
			return Card{}, err
		}
		c.body = append(c.body, els...)
	}
	data := obj{{"form", f.ID}, {"state", f.State}}
	if r.origin != "" {
		data = data.set(originKey, r.origin)
	}
	c.actions = []obj{{
		{"type", "Action.Submit"}, {"title", truncate(f.SubmitLabel, maxActionTitle)}, {"style", "positive"},
		{"data", obj{{SubmitKey, data}}},
	}}
	if f.CancelLabel != "" {
		c.actions = append(c.actions, obj{
			{"type", "Action.Submit"}, {"title", truncate(f.CancelLabel, maxActionTitle)}, {"associatedInputs", "none"},
			{"data", obj{{SubmitKey, data.set("cancel", true)}}},
		})
	}
	return c, nil
}

// claim reserves an input id, failing on a duplicate or a reserved one.
func claim(ids map[string]bool, id string) error {
	if id == "" {
		return errorf("input without a name")
	}
	if ids[id] {
		return errorf("input %q: duplicate or reserved id", id)
	}
	ids[id] = true
	return nil
}

// input renders one form input and the texts under it.
func (r *renderer) input(in cards.Input, ids map[string]bool) ([]obj, error) {
	label := truncate(in.Label, maxTitle)
	if in.Kind == cards.InputMoney && in.Currency != "" {
		label = truncate(in.Label, maxTitle-len(in.Currency)-3) + " (" + in.Currency + ")"
	}
	errMsg := in.Error
	if errMsg == "" {
		errMsg = label
	}
	// base starts an input element: type, id, label.
	base := func(typ, id string, withLabel bool) obj {
		o := obj{{"type", typ}, {"id", id}}
		if withLabel && label != "" {
			o = o.set("label", label)
		}
		return o
	}
	// required ends one.
	required := func(o obj) obj {
		if in.Required {
			o = o.set("isRequired", true).set("errorMessage", truncate(errMsg, maxTitle))
		}
		return o
	}
	var els []obj
	if in.Kind == cards.InputDateTime {
		for _, id := range []string{in.Name + dateSuffix, in.Name + timeSuffix} {
			if err := claim(ids, id); err != nil {
				return nil, err
			}
		}
	} else if err := claim(ids, in.Name); err != nil {
		return nil, err
	}

	switch in.Kind {
	case cards.InputText, cards.InputMultiline, cards.InputEmail, cards.InputPhone, cards.InputURL:
		o := base("Input.Text", in.Name, true)
		switch in.Kind {
		case cards.InputMultiline:
			o = o.set("isMultiline", true)
		case cards.InputEmail:
			o = o.set("style", "email")
		case cards.InputPhone:
			o = o.set("style", "tel")
		case cards.InputURL:
			o = o.set("style", "url")
		}
		if in.MaxLength > 0 {
			o = o.set("maxLength", in.MaxLength)
		}
		if in.Value != "" {
			o = o.set("value", in.Value)
		}
		els = append(els, required(o))

	case cards.InputNumber, cards.InputMoney:
		o := base("Input.Number", in.Name, true)
		if in.Min != nil {
			o = o.set("min", *in.Min)
		}
		if in.Max != nil {
			o = o.set("max", *in.Max)
		}
		if in.Value != "" {
			v, err := strconv.ParseFloat(in.Value, 64)
			if err != nil {
				return nil, errorf("input %q: value %q is not a number", in.Name, in.Value)
			}
			o = o.set("value", v)
		}
		els = append(els, required(o))

	case cards.InputDate:
		o := base("Input.Date", in.Name, true)
		if in.Value != "" {
			if _, err := time.Parse(time.DateOnly, in.Value); err != nil {
				return nil, errorf("input %q: value %q is not a date", in.Name, in.Value)
			}
			o = o.set("value", in.Value)
		}
		els = append(els, required(o))

	case cards.InputDateTime:
		d := base("Input.Date", in.Name+dateSuffix, true)
		t := base("Input.Time", in.Name+timeSuffix, false)
		if in.Value != "" {
			at, err := parseDateTime(in.Value)
			if err != nil {
				return nil, errorf("input %q: value %q is not a date and time", in.Name, in.Value)
			}
			d = d.set("value", at.Format(time.DateOnly))
			t = t.set("value", at.Format("15:04"))
		}
		els = append(els, obj{{"type", "ColumnSet"}, {"columns", []obj{
			{{"type", "Column"}, {"width", "stretch"}, {"items", []obj{required(d)}}},
			{{"type", "Column"}, {"width", "stretch"}, {"verticalContentAlignment", "bottom"}, {"items", []obj{t}}},
		}}})

	case cards.InputChoice, cards.InputLookup:
		o, err := r.choiceSet(in, base("Input.ChoiceSet", in.Name, true))
		if err != nil {
			return nil, err
		}
		els = append(els, required(o))

	case cards.InputBool:
		// A toggle is its own label (title); "required" means nothing for it.
		// valueOn and valueOff default to "true" and "false".
		o := base("Input.Toggle", in.Name, false).set("title", label)
		if in.Value != "" {
			v, err := strconv.ParseBool(in.Value)
			if err != nil {
				return nil, errorf("input %q: value %q is not a boolean", in.Name, in.Value)
			}
			o = o.set("value", strconv.FormatBool(v))
		}
		els = append(els, o)

	default:
		return nil, errorf("input %q: unknown kind %d", in.Name, in.Kind)
	}

	if in.Hint != "" {
		els = append(els, textBlock(md(in.Hint, r.lim.text), kv{"size", "small"}, kv{"isSubtle", true}, kv{"spacing", "small"}))
	}
	if in.Error != "" {
		els = append(els, r.errorLines(in.Error, kv{"size", "small"}, kv{"color", "attention"}, kv{"spacing", "small"})...)
	}
	return els, nil
}

// errorLines renders an error: its first line with props (the attention
// colour…), each further line (a details line, such as Dynamics' own
// message) small and subtle under it.
func (r *renderer) errorLines(s string, props ...kv) []obj {
	first, rest, _ := strings.Cut(s, "\n")
	out := []obj{textBlock(md(first, r.lim.text), props...)}
	for line := range strings.SplitSeq(rest, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, textBlock(md(line, r.lim.text), kv{"size", "small"}, kv{"isSubtle", true}, kv{"spacing", "none"}))
		}
	}
	return out
}

// choiceSet completes a choice or lookup input.
func (r *renderer) choiceSet(in cards.Input, o obj) (obj, error) {
	choice := func(title, value string) obj {
		return obj{{"title", truncate(title, maxChoiceTitle)}, {"value", value}}
	}
	if in.Kind == cards.InputChoice && in.Lookup == nil {
		if len(in.Options) == 0 {
			return nil, errorf("input %q: a choice without options", in.Name)
		}
		cs := make([]obj, 0, len(in.Options))
		for _, op := range in.Options {
			cs = append(cs, choice(op.Label, op.Value))
		}
		o = o.set("style", "compact").set("choices", cs)
		if in.Value != "" {
			o = o.set("value", in.Value)
		}
		return o, nil
	}
	if in.Lookup == nil || in.Lookup.Dataset == "" {
		return nil, errorf("input %q: a lookup without a dataset", in.Name)
	}
	// The one static choice: the current value, else a hint to type.
	var static obj
	if in.Value != "" {
		label := in.ValueLabel
		for _, op := range in.Options {
			if label == "" && op.Value == in.Value {
				label = op.Label
			}
		}
		if label == "" {
			label = in.Value
		}
		static = choice(label, in.Value)
	} else {
		hint := in.Hint
		if hint == "" {
			hint = in.Label
		}
		if hint == "" {
			hint = ellipsis
		}
		static = choice(hint, noChoice)
		o = o.set("placeholder", truncate(hint, maxTitle))
	}
	o = o.set("style", "filtered").set("choices", []obj{static}).
		set("choices.data", obj{{"type", "Data.Query"}, {"dataset", in.Lookup.Dataset}})
	if in.Value != "" {
		o = o.set("value", in.Value)
	}
	return o, nil
}

// parseDateTime reads a pre-filled datetime's wall clock.
func parseDateTime(s string) (time.Time, error) {
	var err error
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02T15:04", time.DateOnly} {
		var t time.Time
		if t, err = time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}
