package adaptive

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/crmbot/crmbot/cards"
)

// walk calls f on every JSON object of a card.
func walk(v any, f func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		f(v)
		for _, c := range v {
			walk(c, f)
		}
	case []any:
		for _, c := range v {
			walk(c, f)
		}
	}
}

// decode marshals a card as the adapter would and reads it back.
func decode(t *testing.T, c Card) (map[string]any, int) {
	t.Helper()
	b, err := json.Marshal(Attachment(c))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m["content"].(map[string]any), len(b)
}

func hasOpenURL(card map[string]any, url, title string) bool {
	found := false
	walk(card, func(o map[string]any) {
		if o["type"] == "Action.OpenUrl" && o["url"] == url && o["title"] == title {
			found = true
		}
	})
	return found
}

func TestOversizedViewsFit(t *testing.T) {
	huge := strings.Repeat("Seán O'Brien & Co <test> ", 400) // 10k characters, escapes grow it
	w := english
	detail := &cards.Detail{
		Title: huge, Subtitle: huge,
		Groups:  []cards.FieldGroup{{Title: huge, Fields: []cards.Field{{Label: "Notes", Value: huge}, {Label: "More", Value: huge}}}},
		Related: []cards.Related{{Title: "Contacts", Items: items(w, 200)}, {Title: "Leads", Items: items(w, 200)}},
		OpenURL: dynamicsURL, OpenLabel: w.open,
	}
	var fields []cards.Field
	for range 200 {
		fields = append(fields, cards.Field{Label: huge, Value: huge})
	}
	note := &cards.Notification{Headline: huge, RecordType: "Lead", Title: huge, Fields: fields, Footer: huge,
		OpenURL: dynamicsURL, OpenLabel: w.open}
	list := &cards.List{Title: huge, Summary: "1–200 of 5000", Items: items(w, 200),
		Next: &cards.Action{ID: "page", Value: "cursor:1", Label: w.next}}
	msg := &cards.Message{Title: huge, Text: []string{huge, huge, huge, huge}}

	for name, tc := range map[string]struct {
		view cards.View
		open bool
	}{
		"Detail": {detail, true}, "Notification": {note, true}, "List": {list, false}, "Message": {msg, false},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Render(tc.view, Options{})
			if err != nil {
				t.Fatal(err)
			}
			card, n := decode(t, c)
			if n >= 28*1024 {
				t.Errorf("attachment is %d bytes, want < 28 KB", n)
			}
			if tc.open && !hasOpenURL(card, dynamicsURL, w.open) {
				t.Errorf("the Open in Dynamics action is gone")
			}
			cut := false
			walk(card, func(o map[string]any) {
				if s, ok := o["text"].(string); ok && strings.HasSuffix(s, ellipsis) {
					cut = true
				}
			})
			if !cut {
				t.Errorf("no text ends with %q: what was cut is not marked", ellipsis)
			}
			if name == "List" && !strings.Contains(mustJSON(t, card), `"verb":"page"`) {
				t.Errorf("the Next page action is gone")
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSmallViewIsNotCut(t *testing.T) {
	d := samples(french)["detail"].(*cards.Detail)
	c, err := Render(d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := mustJSON(t, c)
	if strings.Contains(s, ellipsis) {
		t.Errorf("a card far below the budget was cut: %s", s)
	}
}

func TestMaxBytesOption(t *testing.T) {
	list := &cards.List{Title: "Leads", Items: items(english, 40)}
	c, err := Render(list, Options{MaxBytes: 4000})
	if err != nil {
		t.Fatal(err)
	}
	if b := mustJSON(t, c); len(b) > 4000 {
		t.Errorf("%d bytes, budget 4000", len(b))
	}
}

func TestUncuttableTooLarge(t *testing.T) {
	// An action value is opaque: it is never cut, so the card cannot fit.
	m := &cards.Message{Text: []string{"x"}, Actions: []cards.Action{{ID: "a", Label: "A", Value: strings.Repeat("v", 30000)}}}
	if _, err := Render(m, Options{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	f := &cards.Form{ID: "f", SubmitLabel: "Save", State: strings.Repeat("s", 30000)}
	if _, err := Render(f, Options{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("form: err = %v, want ErrTooLarge", err)
	}
}
