package adaptive

import (
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"

	"github.com/crmbot/crmbot/cards"
)

func TestValues(t *testing.T) {
	f := samples(english)["form"].(*cards.Form)
	// A task/submit payload as Teams sends it: the button's data plus the inputs.
	var data map[string]any
	payload := `{"crmbot":{"form":"lead.edit","state":"session:7f3a;etag:W/\"123\""},
		"subject":"Crème brûlée & <café>","description":"","budgetamount":"12500.5","numberofemployees":12,
		"scheduledstart.date":"2026-04-02","scheduledstart.time":"14:30","parentaccountid":"account:1",
		"parentcontactid":"crmbot:none","donotbulkemail":"false","estimatedclosedate":"2026-03-31"}`
	if err := json.Unmarshal([]byte(payload), &data); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"subject": "Crème brûlée & <café>", "description": "", "budgetamount": "12500.5", "numberofemployees": "12",
		"scheduledstart": "2026-04-02T14:30", "parentaccountid": "account:1", "parentcontactid": "",
		"donotbulkemail": "false", "estimatedclosedate": "2026-03-31",
	}
	if got := Values(data, f); !reflect.DeepEqual(got, want) {
		t.Errorf("Values =\n%v\nwant\n%v", got, want)
	}
	s, ok := ReadSubmission(data)
	if !ok || s != (Submission{Form: "lead.edit", State: `session:7f3a;etag:W/"123"`}) {
		t.Errorf("ReadSubmission = %+v, %v", s, ok)
	}
	if _, ok := ReadSubmission(map[string]any{"subject": "x"}); ok {
		t.Error("ReadSubmission accepted a payload without form data")
	}

	t.Run("DateOnly", func(t *testing.T) {
		got := Values(map[string]any{"scheduledstart.date": "2026-04-02"}, f)
		if got["scheduledstart"] != "2026-04-02" {
			t.Errorf("got %q", got["scheduledstart"])
		}
		got = Values(map[string]any{"scheduledstart.time": "10:00"}, f)
		if v, ok := got["scheduledstart"]; !ok || v != "" {
			t.Errorf("time without date: got %q, %v", v, ok)
		}
	})
}

// TestFormCarriesIDAndState: what ReadSubmission reads is what the buttons carry.
func TestFormCarriesIDAndState(t *testing.T) {
	f := samples(french)["form"].(*cards.Form)
	c, err := Render(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	card, _ := decode(t, c)
	acts := card["actions"].([]any)
	if len(acts) != 2 {
		t.Fatalf("%d actions, want submit and cancel", len(acts))
	}
	for i, wantCancel := range []bool{false, true} {
		a := acts[i].(map[string]any)
		s, ok := ReadSubmission(a["data"].(map[string]any))
		if !ok || s.Form != f.ID || s.State != f.State || s.Cancel != wantCancel || a["type"] != "Action.Submit" {
			t.Errorf("action %d: %v → %+v", i, a, s)
		}
	}
}

func TestInvalid(t *testing.T) {
	for name, v := range map[string]cards.View{
		"ActionWithoutIDOrURL": &cards.Message{Actions: []cards.Action{{Label: "x"}}},
		"ActionWithBoth":       &cards.Message{Actions: []cards.Action{{ID: "a", URL: "https://x.example", Label: "x"}}},
		"ActionWithoutLabel":   &cards.Message{Actions: []cards.Action{{ID: "a"}}},
		"JavascriptURL":        &cards.Message{Actions: []cards.Action{{URL: "javascript:alert(1)", Label: "x"}}},
		"NilView":              (*cards.List)(nil),
		"SearchWithoutAction":  &cards.List{Search: &cards.SearchBox{}},
		"FormWithoutSubmit":    &cards.Form{ID: "f"},
		"DuplicateInput":       form(cards.Input{Name: "a"}, cards.Input{Name: "a"}),
		"ReservedInput":        form(cards.Input{Name: SubmitKey}),
		"DateTimeClash":        form(cards.Input{Name: "a", Kind: cards.InputDateTime}, cards.Input{Name: "a.date"}),
		"UnnamedInput":         form(cards.Input{Label: "x"}),
		"BadNumber":            form(cards.Input{Name: "n", Kind: cards.InputNumber, Value: "12,5"}),
		"BadDate":              form(cards.Input{Name: "d", Kind: cards.InputDate, Value: "31/03/2026"}),
		"BadDateTime":          form(cards.Input{Name: "d", Kind: cards.InputDateTime, Value: "tomorrow"}),
		"BadBool":              form(cards.Input{Name: "b", Kind: cards.InputBool, Value: "oui"}),
		"ChoiceWithoutOptions": form(cards.Input{Name: "c", Kind: cards.InputChoice}),
		"LookupWithoutSource":  form(cards.Input{Name: "l", Kind: cards.InputLookup}),
		"UnknownKind":          form(cards.Input{Name: "u", Kind: 99}),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Render(v, Options{}); !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func form(in ...cards.Input) *cards.Form {
	return &cards.Form{ID: "f", SubmitLabel: "Save", Inputs: in}
}

func TestActionMapping(t *testing.T) {
	for name, tc := range map[string]struct {
		in   cards.Action
		want string
	}{
		"Execute": {cards.Action{ID: "resolve", Value: "incident:1", Label: "Resolve", Style: cards.StylePrimary},
			`{"type":"Action.Execute","title":"Resolve","verb":"resolve","data":{"value":"incident:1"},"style":"positive"}`},
		"Dialog": {cards.Action{ID: "edit", Value: "lead:1", Label: "Edit", Dialog: true, Style: cards.StyleDanger},
			`{"type":"Action.Submit","title":"Edit","data":{"msteams":{"type":"task/fetch"},"verb":"edit","value":"lead:1"},"style":"destructive"}`},
		"OpenUrl": {cards.Action{URL: "https://contoso.crm.dynamics.com/x?a=1&b=2", Label: "Open"},
			`{"type":"Action.OpenUrl","title":"Open","url":"https://contoso.crm.dynamics.com/x?a=1\u0026b=2"}`},
		// In a dialog (no Action.Execute there) every button submits the
		// dialog with its verb, value and the message it was opened from.
		"InDialog/Execute": {cards.Action{ID: "resolve", Value: "incident:1", Label: "Resolve", Style: cards.StylePrimary},
			`{"type":"Action.Submit","title":"Resolve","data":{"verb":"resolve","value":"incident:1","origin":"1:msg"},"style":"positive"}`},
		"InDialog/Dialog": {cards.Action{ID: "edit", Value: "lead:1", Label: "Edit", Dialog: true},
			`{"type":"Action.Submit","title":"Edit","data":{"verb":"edit","value":"lead:1","origin":"1:msg"}}`},
		"InDialog/OpenUrl": {cards.Action{URL: "https://contoso.crm.dynamics.com/", Label: "Open"},
			`{"type":"Action.OpenUrl","title":"Open","url":"https://contoso.crm.dynamics.com/"}`},
	} {
		t.Run(name, func(t *testing.T) {
			r := &renderer{}
			if strings.HasPrefix(name, "InDialog/") {
				r = &renderer{dialog: true, origin: "1:msg"}
			}
			o, err := r.action(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := mustJSON(t, o); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestMarkdownText(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"Seán O'Brien & Co <test>", 100, "Seán O'Brien & Co <test>"},
		{"*bold* _it_ [l](u) `c` \\", 100, `\*bold\* \_it\_ \[l\](u) \` + "`c\\` \\\\"},
		{"éééééééé", 5, "éééé…"},
		{"[[[[[[", 3, `\[\[…`}, // cut before escaping: no half escape
	} {
		if got := md(tc.in, tc.max); got != tc.want {
			t.Errorf("md(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// TestReadValues reads a dialog's task/submit data back without the form,
// as the Teams adapter does: the result must be what Values gives with it.
func TestReadValues(t *testing.T) {
	f := &cards.Form{ID: "f", SubmitLabel: "Save", Inputs: []cards.Input{
		{Name: "subject", Kind: cards.InputText},
		{Name: "estimatedvalue", Kind: cards.InputMoney},
		{Name: "scheduledstart", Kind: cards.InputDateTime},
		{Name: "scheduledend", Kind: cards.InputDateTime},
		{Name: "actualend", Kind: cards.InputDateTime},
		{Name: "parentaccountid", Kind: cards.InputLookup, Lookup: &cards.LookupSource{Dataset: "account"}},
		{Name: "donotemail", Kind: cards.InputBool},
	}}
	data := map[string]any{
		"subject":             "Renewal",
		"estimatedvalue":      12.5,
		"scheduledstart.date": "2026-11-30", "scheduledstart.time": "09:30",
		"scheduledend.date": "2026-11-30", "scheduledend.time": "",
		"actualend.date": "", "actualend.time": "10:00",
		"parentaccountid": noChoice,
		"donotemail":      "true",
		SubmitKey:         map[string]any{"form": "f", "state": "s"},
		"msteams":         map[string]any{"type": "task/submit"},
		"verb":            "x", "value": "y", originKey: "z",
	}
	want := map[string]string{
		"subject": "Renewal", "estimatedvalue": "12.5", "scheduledstart": "2026-11-30T09:30",
		"scheduledend": "2026-11-30", "actualend": "", "parentaccountid": "", "donotemail": "true",
	}
	got := ReadValues(data)
	if !maps.Equal(got, want) {
		t.Errorf("ReadValues:\n got %v\nwant %v", got, want)
	}
	if viaForm := Values(data, f); !maps.Equal(viaForm, want) {
		t.Errorf("Values with the form disagrees:\n got %v\nwant %v", viaForm, want)
	}
}

func TestReadSubmissionAndActionCarryOrigin(t *testing.T) {
	c, err := Render(&cards.Form{ID: "edit", State: "st", Title: "Edit", SubmitLabel: "Save", CancelLabel: "Cancel",
		Inputs: []cards.Input{{Name: "subject", Label: "Subject"}}}, Options{Dialog: true, Origin: "1:42"})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Actions []struct {
			Data map[string]any `json:"data"`
		} `json:"actions"`
	}
	if err := json.Unmarshal([]byte(mustJSON(t, c)), &doc); err != nil {
		t.Fatal(err)
	}
	s, ok := ReadSubmission(doc.Actions[0].Data)
	if !ok || s != (Submission{Form: "edit", State: "st", Origin: "1:42"}) {
		t.Errorf("submit: %+v %v", s, ok)
	}
	s, ok = ReadSubmission(doc.Actions[1].Data)
	if !ok || s != (Submission{Form: "edit", State: "st", Origin: "1:42", Cancel: true}) {
		t.Errorf("cancel: %+v %v", s, ok)
	}
	b, ok := ReadAction(map[string]any{"verb": "win", "value": "opportunity:1", originKey: "1:9"})
	if !ok || b != (ButtonAction{Verb: "win", Value: "opportunity:1", Origin: "1:9"}) {
		t.Errorf("action: %+v %v", b, ok)
	}
	if _, ok := ReadAction(map[string]any{"value": "x"}); ok {
		t.Error("data without a verb read as an action")
	}
}
