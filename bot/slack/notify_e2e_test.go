package slack_test

import (
	"strings"
	"testing"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
)

// A notification lands in the user's DM; "Mark complete" asks, in place,
// then completes the task in Dynamics and the message shows the new state.
func TestNotificationActsInPlace(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "en-US")
	chloe.link()
	waitFor(t, "the greeting after linking", func() bool { return len(chloe.dm()) == 1 })
	mustContain(t, "the greeting", text(chloe.lastDM().Blocks), "linked to Dynamics")

	id := chloe.create("tasks", map[string]any{"subject": "Call Ada back"})
	ds, err := r.core.Notify(ctxT(t), bot.Assignment{RecordType: "task", RecordID: id, Kind: cards.AssignedExisting,
		SystemUserID: chloe.demo.ID, By: "Seán O'Brien"})
	if err != nil || len(ds) != 1 || ds[0].Err != nil || ds[0].Ref.ID == "" {
		t.Fatalf("Notify: %+v, %v", ds, err)
	}
	n := chloe.lastDM()
	if n.TS != ds[0].Ref.ID || n.Channel != ds[0].Ref.Conversation {
		t.Fatalf("the delivery names %+v, the message is %s/%s", ds[0].Ref, n.Channel, n.TS)
	}
	mustContain(t, "the notification", text(n.Blocks), "Call Ada back", "Seán O'Brien", "Mark complete")
	if n.Text == "" {
		t.Error("the notification has no fallback text")
	}

	chloe.clickMessage(n, "Mark complete")
	confirm := chloe.message(n.TS)
	mustContain(t, "the confirmation", text(confirm.Blocks), "Call Ada back", "Back")
	if got := attr(r.record("tasks", id), "statecode"); got != "0" {
		t.Fatalf("completed before the confirmation: statecode %s", got)
	}
	chloe.clickMessage(confirm, "Mark complete")
	if got := attr(r.record("tasks", id), "statecode"); got != "1" {
		t.Fatalf("statecode after confirming = %s, want 1 (completed)", got)
	}
	done := chloe.message(n.TS)
	if strings.Contains(text(done.Blocks), "Mark complete") {
		t.Fatalf("the completed task still offers Mark complete:\n%s", text(done.Blocks))
	}
	if len(chloe.dm()) != 2 {
		t.Fatalf("acting in place posted new messages: %d", len(chloe.dm()))
	}
}

// Resolve from a notification opens a modal (Loading… first, with the
// click's trigger); the submission resolves the case in Dynamics, the
// modal shows the result, and the notification shows the new state.
func TestResolveCaseFromNotification(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "en-US")
	chloe.link()
	acc := chloe.create("accounts", map[string]any{"name": "Contoso Pharma"})
	id := chloe.create("incidents", map[string]any{"title": "Printer on fire", "customerid_account@odata.bind": bind("accounts", acc)})
	ds, err := r.core.Notify(ctxT(t), bot.Assignment{RecordType: "incident", RecordID: id, Kind: cards.AssignedNew, SystemUserID: chloe.demo.ID})
	if err != nil || len(ds) != 1 || ds[0].Err != nil {
		t.Fatalf("Notify: %+v, %v", ds, err)
	}
	n := chloe.lastDM()
	chloe.clickMessage(n, "Resolve case")
	form := chloe.top()
	if form.Submit == "" || !strings.Contains(text(form.Blocks), "Resolution") {
		t.Fatalf("no resolve form: %s", text(form.Blocks))
	}
	ans := chloe.submit(map[string]any{"subject": "Replaced the toner", "timespent": "30"})
	if ans["response_action"] != "update" {
		t.Fatalf("answer %v", ans)
	}
	if got := attr(r.record("incidents", id), "statecode"); got != "1" {
		t.Fatalf("case statecode = %s, want 1 (resolved)", got)
	}
	waitFor(t, "the notification to show the resolved case", func() bool {
		return !strings.Contains(text(chloe.message(n.TS).Blocks), "Resolve case")
	})
}
