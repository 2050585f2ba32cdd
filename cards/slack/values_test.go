package slack

import (
	"encoding/json"
	"reflect"
	"testing"

	goslack "github.com/slack-go/slack"

	"github.com/crmbot/crmbot/cards"
)

func TestActionIDsUniqueAndRecoverable(t *testing.T) {
	blocks, err := Blocks(&cards.Message{Text: []string{"x"}, Actions: []cards.Action{
		{ID: "open", Label: "A"}, {ID: "open", Label: "B"}, {ID: "edit", Label: "C"}, {ID: "open", Label: "D"},
		{URL: "https://x", Label: "E"}, {URL: "https://y", Label: "F"},
	}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got, back []string
	for _, e := range blocks[1].(*goslack.ActionBlock).Elements.ElementSet {
		id := e.(*goslack.ButtonBlockElement).ActionID
		got = append(got, id)
		back = append(back, ActionID(id))
	}
	if want := []string{"open", "open#2", "edit", "open#3", "url", "url#2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("action_ids %v, want %v", got, want)
	}
	if want := []string{"open", "open", "edit", "open", "url", "url"}; !reflect.DeepEqual(back, want) {
		t.Errorf("ActionID %v, want %v", back, want)
	}
	if got := ActionID("tag#x"); got != "tag#x" {
		t.Errorf("ActionID(tag#x) = %q", got)
	}
}

func TestDialogActionsMarked(t *testing.T) {
	blocks, err := Blocks(&cards.Message{Text: []string{"x"}, Actions: []cards.Action{
		{ID: "edit", Label: "A", Dialog: true}, {ID: "edit", Label: "B", Dialog: true}, {ID: "close", Label: "C"},
	}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	type parsed struct {
		id     string
		dialog bool
	}
	var got []parsed
	for _, e := range blocks[1].(*goslack.ActionBlock).Elements.ElementSet {
		id, dialog := ParseActionID(e.(*goslack.ButtonBlockElement).ActionID)
		got = append(got, parsed{id, dialog})
	}
	if want := []parsed{{"edit", true}, {"edit", true}, {"close", false}}; !reflect.DeepEqual(got, want) {
		t.Errorf("parsed %v, want %v", got, want)
	}
}

func TestSearchState(t *testing.T) {
	blocks, err := Blocks(&cards.List{Search: &cards.SearchBox{ActionID: "search", State: "lead|active"}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	state, ok := SearchState(blocks[0].(*goslack.InputBlock).BlockID)
	if !ok || state != "lead|active" {
		t.Errorf("SearchState = %q, %v", state, ok)
	}
	if _, ok := SearchState("fullname"); ok {
		t.Error("SearchState of another block: ok")
	}
}

func TestErrors(t *testing.T) {
	f := sampleForm(french)
	f.Inputs[3].Error = "Doit être positif."
	m, err := Modal(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	errs := Errors(f)
	want := map[string]string{"fullname": french.required, "numberofemployees": "Doit être positif."}
	if !reflect.DeepEqual(errs, want) {
		t.Errorf("Errors = %v, want %v", errs, want)
	}
	// Every key must be an input block's id, or Slack shows a generic error.
	inputs := map[string]bool{}
	for _, b := range m.Blocks.BlockSet {
		if in, ok := b.(*goslack.InputBlock); ok {
			inputs[in.BlockID] = true
		}
	}
	for k := range errs {
		if !inputs[k] {
			t.Errorf("error key %q is no input block", k)
		}
	}
	if Errors(&cards.Form{Inputs: []cards.Input{{Name: "a"}}}) != nil {
		t.Error("Errors without errors: not nil")
	}
}

// A view_submission state as Slack sends it: empty inputs and deselected
// selects come back as null.
const submittedState = `{"values":{
 "fullname":{"fullname":{"type":"plain_text_input","value":"Seán O'Brien & Co <test>"}},
 "description":{"description":{"type":"plain_text_input","value":null}},
 "budgetamount":{"budgetamount":{"type":"number_input","value":"12500.5"}},
 "numberofemployees":{"numberofemployees":{"type":"number_input","value":null}},
 "estimatedclosedate":{"estimatedclosedate":{"type":"datepicker","selected_date":"2026-03-31"}},
 "followup":{"followup":{"type":"datetimepicker","selected_date_time":1772443800}},
 "leadqualitycode":{"leadqualitycode":{"type":"static_select","selected_option":null}},
 "parentaccountid":{"parentaccountid":{"type":"external_select","selected_option":{"text":{"type":"plain_text","text":"Contoso"},"value":"account:9"}}},
 "donotphone":{"donotphone":{"type":"checkboxes","selected_options":[{"text":{"type":"plain_text","text":"Do not call"},"value":"true"}]}},
 "emailaddress1":{"emailaddress1":{"type":"email_text_input","value":"sean@contoso.ie"}},
 "websiteurl":{"websiteurl":{"type":"url_text_input","value":null}}
}}`

func TestValues(t *testing.T) {
	var state goslack.ViewState
	if err := json.Unmarshal([]byte(submittedState), &state); err != nil {
		t.Fatal(err)
	}
	got := Values(&state)
	want := map[string]string{
		"fullname":           "Seán O'Brien & Co <test>",
		"description":        "",
		"budgetamount":       "12500.5",
		"numberofemployees":  "",
		"estimatedclosedate": "2026-03-31",
		"followup":           "2026-03-02T09:30:00Z",
		"leadqualitycode":    "",
		"parentaccountid":    "account:9",
		"donotphone":         "true",
		"emailaddress1":      "sean@contoso.ie",
		"websiteurl":         "",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Values:\n got %v\nwant %v", got, want)
	}

	if empty := Values(nil); len(empty) != 0 {
		t.Errorf("Values(nil) = %v", empty)
	}
}

// TestValuesRoundTrip: what Modal pre-fills, Values reads back unchanged.
func TestValuesRoundTrip(t *testing.T) {
	f := sampleForm(english)
	m, err := Modal(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	state := &goslack.ViewState{Values: map[string]map[string]goslack.BlockAction{}}
	for _, b := range m.Blocks.BlockSet {
		in, ok := b.(*goslack.InputBlock)
		if !ok {
			continue
		}
		var a goslack.BlockAction
		var actionID string
		switch e := in.Element.(type) {
		case *goslack.PlainTextInputBlockElement:
			a.Type, a.Value, actionID = "plain_text_input", e.InitialValue, e.ActionID
		case *goslack.NumberInputBlockElement:
			a.Type, a.Value, actionID = "number_input", e.InitialValue, e.ActionID
		case *goslack.EmailTextInputBlockElement:
			a.Type, a.Value, actionID = "email_text_input", e.InitialValue, e.ActionID
		case *goslack.URLTextInputBlockElement:
			a.Type, a.Value, actionID = "url_text_input", e.InitialValue, e.ActionID
		case *goslack.DatePickerBlockElement:
			a.Type, a.SelectedDate, actionID = "datepicker", e.InitialDate, e.ActionID
		case *goslack.DateTimePickerBlockElement:
			a.Type, a.SelectedDateTime, actionID = "datetimepicker", e.InitialDateTime, e.ActionID
		case *goslack.SelectBlockElement:
			a.Type, actionID = goslack.ActionType(e.Type), e.ActionID
			if e.InitialOption != nil {
				a.SelectedOption = *e.InitialOption
			}
		case *goslack.CheckboxGroupsBlockElement:
			a.Type, actionID = "checkboxes", e.ActionID
			for _, o := range e.InitialOptions {
				a.SelectedOptions = append(a.SelectedOptions, *o)
			}
		default:
			t.Fatalf("unexpected element %T", e)
		}
		state.Values[in.BlockID] = map[string]goslack.BlockAction{actionID: a}
	}
	got := Values(state)
	for _, in := range f.Inputs {
		want := in.Value
		if in.Kind == cards.InputBool && want == "" {
			want = "false"
		}
		if got[in.Name] != want {
			t.Errorf("%s: %q, want %q", in.Name, got[in.Name], want)
		}
	}
}

func TestInlineErrors(t *testing.T) {
	f := &cards.Form{ID: "f", Title: "T", Inputs: []cards.Input{
		{Name: "a", Label: "A", Error: "Use 10 characters at most."}, {Name: "b", Label: "B"},
	}}
	plainModal, err := Modal(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	inline, err := Modal(f, Options{InlineErrors: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(plainModal.Blocks.BlockSet) != 2 || len(inline.Blocks.BlockSet) != 3 {
		t.Fatalf("blocks: %d without, %d with inline errors", len(plainModal.Blocks.BlockSet), len(inline.Blocks.BlockSet))
	}
	c, ok := inline.Blocks.BlockSet[1].(*goslack.ContextBlock)
	if !ok {
		t.Fatalf("block after the input is %T", inline.Blocks.BlockSet[1])
	}
	if txt := c.ContextElements.Elements[0].(*goslack.TextBlockObject).Text; txt != "⚠️ Use 10 characters at most." {
		t.Errorf("inline error %q", txt)
	}
}
