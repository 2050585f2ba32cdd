package adaptive

import (
	"strconv"
	"strings"
	"testing"

	"github.com/crmbot/crmbot/cards"
)

// footModes renders a message with as and returns each foot action's
// title and whether it is in the overflow menu.
func footModes(t *testing.T, as []cards.Action) ([]string, []bool) {
	t.Helper()
	c, err := Render(&cards.Message{Text: []string{"x"}, Actions: as}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	card, _ := decode(t, c)
	if body := mustJSON(t, card["body"]); strings.Contains(body, "ActionSet") {
		t.Errorf("buttons spilled into the body: %s", body)
	}
	var titles []string
	var secondary []bool
	for _, a := range card["actions"].([]any) {
		o := a.(map[string]any)
		titles = append(titles, o["title"].(string))
		m, has := o["mode"]
		if has && m != "secondary" {
			t.Errorf("mode %v", m)
		}
		secondary = append(secondary, has)
	}
	return titles, secondary
}

func TestActionsOverflow(t *testing.T) {
	btn := func(label string, st cards.Style) cards.Action {
		return cards.Action{ID: "a", Value: label, Label: label, Style: st}
	}
	for name, tc := range map[string]struct {
		in        []cards.Action
		secondary []bool
	}{
		"three fit":          {[]cards.Action{btn("A", 0), btn("B", 0), btn("C", 0)}, []bool{false, false, false}},
		"the fourth folds":   {[]cards.Action{btn("Edit", 0), btn("Win", cards.StylePrimary), btn("Lose", cards.StyleDanger), {URL: dynamicsURL, Label: "Open"}}, []bool{false, false, false, true}},
		"positive stays out": {[]cards.Action{btn("View", 0), btn("Edit", 0), btn("Cancel", cards.StyleDanger), btn("Reassign", 0), btn("Complete", cards.StylePrimary)}, []bool{false, false, true, true, false}},
	} {
		t.Run(name, func(t *testing.T) {
			titles, sec := footModes(t, tc.in)
			for i, a := range tc.in {
				if titles[i] != a.Label {
					t.Errorf("order changed: %v", titles)
				}
				if sec[i] != tc.secondary[i] {
					t.Errorf("%s: secondary=%v, want %v", a.Label, sec[i], tc.secondary[i])
				}
			}
		})
	}
	// Nine buttons: rows of MaxActions in the body, three visible in each,
	// none lost, in order.
	var many []cards.Action
	for i := range 9 {
		many = append(many, btn("B"+strconv.Itoa(i), 0))
	}
	c, err := Render(&cards.Message{Text: []string{"x"}, Actions: many}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	card, _ := decode(t, c)
	if _, ok := card["actions"]; ok {
		t.Error("nine buttons at the foot")
	}
	var titles []string
	rows := 0
	walk(card, func(o map[string]any) {
		if o["type"] != "ActionSet" {
			return
		}
		rows++
		acts := o["actions"].([]any)
		visible := 0
		for _, a := range acts {
			titles = append(titles, a.(map[string]any)["title"].(string))
			if _, ok := a.(map[string]any)["mode"]; !ok {
				visible++
			}
		}
		if len(acts) > MaxActions || visible != MaxVisibleActions {
			t.Errorf("row of %d, %d visible", len(acts), visible)
		}
	})
	if rows != 2 || strings.Join(titles, " ") != "B0 B1 B2 B3 B4 B5 B6 B7 B8" {
		t.Errorf("%d rows: %v", rows, titles)
	}
}

// A multi-line error (our sentence, then Dynamics' own words) is one
// attention line and subtle details lines, on the form and on an input.
func TestErrorDetailsLine(t *testing.T) {
	f := form(cards.Input{Name: "title", Label: "Titre", Kind: cards.InputText,
		Error: "Dynamics a refusé cette valeur.\nDétails (message de Dynamics) : The length of the 'title' attribute exceeded 200."})
	f.Error = "Dynamics a refusé la modification.\nDétails (message de Dynamics) : Injected failure."
	c, err := Render(f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	card, _ := decode(t, c)
	var attention, subtle []string
	walk(card, func(o map[string]any) {
		if o["type"] != "TextBlock" {
			return
		}
		if strings.Contains(o["text"].(string), "\n") {
			t.Errorf("a line break inside a TextBlock: %q", o["text"])
		}
		if o["color"] == "attention" {
			attention = append(attention, o["text"].(string))
		}
		if o["isSubtle"] == true {
			subtle = append(subtle, o["text"].(string))
		}
	})
	if len(attention) != 2 || attention[0] != "Dynamics a refusé la modification." || attention[1] != "Dynamics a refusé cette valeur." {
		t.Errorf("attention lines %q", attention)
	}
	if len(subtle) != 2 || !strings.Contains(subtle[0], "Injected failure") || !strings.Contains(subtle[1], "'title'") {
		t.Errorf("details lines %q", subtle)
	}
}
