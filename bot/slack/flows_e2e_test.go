package slack_test

import (
	"fmt"
	"strings"
	"testing"
)

// /crm leads → "Loading…" then the list in a modal; search and paging in
// place; a row pushes its detail; Edit pushes the form; the submission
// changes the record in the sandbox, shows the result and refreshes the
// detail it came from.
func TestListDetailEditThroughSlack(t *testing.T) { listDetailEdit(t, newRig(t)) }

// The same over Socket Mode: the requests arrive on the websocket and the
// answers ride on the acks.
func TestListDetailEditOverSocketMode(t *testing.T) {
	listDetailEdit(t, newRig(t, func(o *rigOptions) { o.socket = true }))

}

func listDetailEdit(t *testing.T, r *rig) {
	chloe := r.user(demoEmail(0), "en-US")
	chloe.link()
	for i := range 7 {
		chloe.create("leads", map[string]any{"subject": fmt.Sprintf("Interest %02d", i), "lastname": fmt.Sprintf("Lead%02d", i), "companyname": "Fabrikam"})
	}
	id := chloe.create("leads", map[string]any{"subject": "Big deal", "lastname": "Zed", "companyname": "Contoso Ltd"})

	list := chloe.command("leads")
	mustContain(t, "the list", text(list.Blocks), "1–5 of 8")
	if opens := r.fake.Calls("views.open"); len(opens) == 0 || !strings.Contains(fmt.Sprint(opens[len(opens)-1].Params), "Loading") {
		t.Fatalf("the command did not open a Loading modal first: %+v", opens)
	}

	next := chloe.click("Next")
	mustContain(t, "page 2", text(next.Blocks), "6–8 of 8")

	if _, err := r.drv.Search(ctxT(t), chloe.ref, next.ID, "search:", "Big"); err != nil {
		t.Fatalf("search: %v", err)
	}
	waitFor(t, "the search", func() bool {
		v, _ := r.fake.View(next.ID)
		return strings.Contains(text(v.Blocks), "1–1 of 1")
	})

	detail := chloe.click("View")
	if n := len(r.fake.Stack(chloe.ref.UserID)); n != 2 {
		t.Fatalf("the detail was not pushed: stack of %d", n)
	}
	mustContain(t, "the detail", text(detail.Blocks), "Big deal", "Contoso Ltd")

	form := chloe.click("Edit")
	if n := len(r.fake.Stack(chloe.ref.UserID)); n != 3 {
		t.Fatalf("the form was not pushed: stack of %d", n)
	}
	if form.Submit == "" {
		t.Fatalf("the edit modal has no submit button: %+v", form)
	}
	ans := chloe.submit(map[string]any{"subject": "Bigger deal"})
	if ans["response_action"] != "update" {
		t.Fatalf("submission answered %v, want an update with the result", ans)
	}
	if got := attr(r.record("leads", id), "subject"); got != "Bigger deal" {
		t.Fatalf("subject in Dynamics = %q", got)
	}
	waitFor(t, "the detail to show the change", func() bool {
		v, _ := r.fake.View(detail.ID)
		return strings.Contains(text(v.Blocks), "Bigger deal")
	})
}
