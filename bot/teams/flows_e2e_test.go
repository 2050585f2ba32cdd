package teams_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/crmbot/crmbot/internal/testkit/world"
)

var mustContain = world.MustContain

// create makes a record owned by u directly in the sandbox.
func (u *user) create(set string, payload map[string]any) string {
	u.r.t.Helper()
	return u.r.w.Create(u.demo, set, payload)
}

func (r *rig) record(set, id string) map[string]any {
	r.t.Helper()
	return r.w.Record(set, id)
}

var attr = world.Attr

// A user who is not linked types "leads": the answer is a sign-in card;
// after signing in (their Entra identity is the chat's), the list they
// asked for arrives in the chat on its own. Then: paging and search in
// place (Action.Execute), a row opens the record in a dialog (task/fetch),
// Edit turns the dialog into the form (task/submit), and the submission
// changes the record in the sandbox and shows the result.
func TestLinkListSearchOpenEditThroughTeams(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "en-US")
	for i := range 7 {
		chloe.create("leads", map[string]any{"subject": fmt.Sprintf("Interest %02d", i), "lastname": fmt.Sprintf("Lead%02d", i), "companyname": "Fabrikam"})
	}
	id := chloe.create("leads", map[string]any{"subject": "Big deal", "lastname": "Zed", "companyname": "Contoso Ltd"})

	prompt := chloe.say("leads")
	before := len(chloe.messages())
	chloe.openLink(prompt)
	greeting := chloe.nextMessage(before, "the greeting after linking")
	mustContain(t, "the greeting", greeting.text(), "Chloé Dubois")
	chloe.waitMessage(before, "1–5 of 8") // the list asked for before linking

	list := chloe.say("leads")
	mustContain(t, "the list", list.text(), "1–5 of 8")
	next := chloe.click(list, "Next", nil)
	mustContain(t, "page 2", next.text(), "6–8 of 8")
	found := chloe.click(next, "🔍", map[string]any{"search": "Big"})
	mustContain(t, "the search", found.text(), "1–1 of 1", "Big deal")

	detail := chloe.click(found, "View", nil)
	mustContain(t, "the detail dialog", detail.text(), "Big deal", "Contoso Ltd")
	form, _ := chloe.submit(detail, "Edit", nil)
	mustContain(t, "the edit form", form.text(), "Big deal")
	result, _ := chloe.submit(form, "Save", map[string]any{"subject": "Bigger deal"})
	if got := attr(r.record("leads", id), "subject"); got != "Bigger deal" {
		t.Fatalf("subject in Dynamics = %q", got)
	}
	mustContain(t, "the result", result.text(), "Lead saved", "Zed")
	// The list message the dialog was opened from is not replaced by the
	// record: only a card the form was opened from directly is refreshed.
	for _, m := range chloe.messages() {
		if m.ID == found.msg && m.Updates > 0 {
			t.Errorf("the list message was updated: %s", m.Raw)
		}
	}
}

// "new opportunity" typed in the chat answers with a card whose button
// opens the form in a dialog. A required field left empty and a bad
// amount: the form comes back in the dialog with what was typed and the
// errors, nothing is saved; corrected, it saves.
func TestCreateInADialogWithFieldErrors(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "fr-FR")
	chloe.link()
	launch := chloe.say("new opportunity")
	form := chloe.click(launch, launch.firstButton(t), nil)
	save := actionTitle(t, form, "Créer", "Enregistrer")
	bad, _ := chloe.submit(form, save, map[string]any{"name": "", "estimatedvalue": "-5"})
	if bad.body == nil {
		t.Fatal("the invalid form closed the dialog")
	}
	mustContain(t, "the form with errors", bad.text(), "Ce champ est obligatoire", "Saisissez 0 au minimum")
	if v := bad.input("estimatedvalue"); v != float64(-5) && v != "-5" {
		t.Errorf("the typed amount is lost: %v", v)
	}
	if n := len(r.sb.RecordIDs("opportunities")); n != 0 {
		t.Fatalf("%d opportunities after an invalid submission", n) // the rig seeds no records
	}
	// The customer is a lookup typed ahead (Data.Query → application/search).
	chloe.create("accounts", map[string]any{"name": "Contoso Pharma"})
	chloe.create("accounts", map[string]any{"name": "Fabrikam"})
	id, dataset := bad.lookup(t, 0)
	results := chloe.search(dataset, "conto")
	if len(results) != 1 || results[0]["title"] == "" || !strings.Contains(results[0]["title"], "Contoso Pharma") {
		t.Fatalf("type-ahead for %q = %v", "conto", results)
	}
	ok, _ := chloe.submit(bad, save, map[string]any{"name": "Renouvellement", "estimatedvalue": "1200", id: results[0]["value"]})
	if ok.body == nil {
		t.Fatal("no result after a valid submission")
	}
	mustContain(t, "the result", ok.text(), "Renouvellement", "Enregistrement créé")
	if n := len(r.sb.RecordIDs("opportunities")); n != 1 {
		t.Fatalf("%d opportunities after a valid submission, want 1", n)
	}
}

// lookup is the id and dataset of the card's n-th typed-ahead input.
func (c card) lookup(t testing.TB, n int) (string, string) {
	t.Helper()
	var ids, sets []string
	walk(c.body, func(m map[string]any) {
		if d, ok := m["choices.data"].(map[string]any); ok && m["type"] == "Input.ChoiceSet" {
			id, _ := m["id"].(string)
			set, _ := d["dataset"].(string)
			ids, sets = append(ids, id), append(sets, set)
		}
	})
	if n >= len(ids) {
		t.Fatalf("no typed-ahead input #%d in the card:\n%s", n, c.text())
	}
	return ids[n], sets[n]
}

// input is an input's value in the card.
func (c card) input(id string) any {
	var v any
	walk(c.body, func(m map[string]any) {
		if m["id"] == id {
			v = m["value"]
		}
	})
	return v
}

// firstButton is the title of the card's first button.
func (c card) firstButton(t testing.TB) string {
	t.Helper()
	var title string
	walk(c.body, func(m map[string]any) {
		if typ, _ := m["type"].(string); strings.HasPrefix(typ, "Action.") && title == "" {
			title, _ = m["title"].(string)
		}
	})
	if title == "" {
		t.Fatalf("no button in the card:\n%s", c.text())
	}
	return title
}

func actionTitle(t testing.TB, c card, titles ...string) string {
	t.Helper()
	for _, title := range titles {
		found := false
		walk(c.body, func(m map[string]any) {
			if typ, _ := m["type"].(string); strings.HasPrefix(typ, "Action.") && m["title"] == title {
				found = true
			}
		})
		if found {
			return title
		}
	}
	t.Fatalf("none of %v in the card:\n%s", titles, c.text())
	return ""
}

var _ = context.Background
