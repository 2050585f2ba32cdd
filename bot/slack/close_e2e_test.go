package slack_test

import (
	"strings"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/bot/slack/slackfake"
	"github.com/crmbot/crmbot/cards"
)

// The closing flows from a record's detail in a modal: win an
// opportunity, qualify a lead; each changes the record in Dynamics and the
// detail it was opened from shows the new state.
func TestCloseFlowsFromTheDetail(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "en-US")
	chloe.link()
	acc := chloe.create("accounts", map[string]any{"name": "Tailspin Toys"})
	opp := chloe.create("opportunities", map[string]any{"name": "Toy fair stand", "customerid_account@odata.bind": bind("accounts", acc)})
	lead := chloe.create("leads", map[string]any{"subject": "Kites for schools", "lastname": "Kite", "companyname": "Kite Co"})
	lost := chloe.create("opportunities", map[string]any{"name": "Lost cause", "customerid_account@odata.bind": bind("accounts", acc)})
	dq := chloe.create("leads", map[string]any{"subject": "Spam offer", "lastname": "Spammer", "companyname": "Junk"})

	chloe.command("opps toy fair")
	detail := chloe.click("View")
	chloe.click("Close as won")
	if ans := chloe.submit(map[string]any{"actualrevenue": "12500"}); ans["response_action"] != "update" {
		t.Fatalf("win: %v", ans)
	}
	if got := attr(r.record("opportunities", opp), "statecode"); got != "1" {
		t.Fatalf("opportunity statecode %s, want 1 (won)", got)
	}
	waitFor(t, "the detail to show the won deal", func() bool {
		return !strings.Contains(text(viewOf(r, detail.ID).Blocks), "Close as won")
	})

	chloe.command("leads kites")
	ldetail := chloe.click("View")
	chloe.click("Qualify")
	if ans := chloe.submit(nil); ans["response_action"] != "update" {
		t.Fatalf("qualify: %v", ans)
	}
	if got := attr(r.record("leads", lead), "statecode"); got != "1" {
		t.Fatalf("lead statecode %s, want 1 (qualified)", got)
	}
	waitFor(t, "the lead's detail to show it qualified", func() bool {
		return !strings.Contains(text(viewOf(r, ldetail.ID).Blocks), "Qualify")
	})

	// Lose (status Out-Sold) and disqualify, searched for by name.
	chloe.command("opps lost cause")
	chloe.click("View")
	chloe.click("Close as lost")
	if ans := chloe.submit(map[string]any{"statuscode": "Out-Sold"}); ans["response_action"] != "update" {
		t.Fatalf("lose: %v", ans)
	}
	if rec := r.record("opportunities", lost); attr(rec, "statecode") != "2" || attr(rec, "statuscode") != "5" {
		t.Fatalf("lost opportunity state %s status %s, want 2/5", attr(rec, "statecode"), attr(rec, "statuscode"))
	}
	chloe.command("leads spam")
	chloe.click("View")
	chloe.click("Disqualify")
	if ans := chloe.submit(nil); ans["response_action"] != "update" {
		t.Fatalf("disqualify: %v", ans)
	}
	if got := attr(r.record("leads", dq), "statecode"); got != "2" {
		t.Fatalf("disqualified lead statecode %s, want 2", got)
	}
}

// Notification settings from the Home tab: the button opens the form in a
// modal (the Home tab has no stack), the submission stores the
// preferences, and a record type turned off is no longer notified.
func TestSettingsFromHome(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "fr-FR")
	chloe.link()
	if _, _, err := r.drv.Event(ctxT(t), teamID, map[string]any{"type": "app_home_opened", "user": chloe.ref.UserID, "tab": "home"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the Home tab", func() bool { _, ok := r.fake.Home(chloe.ref.UserID); return ok })
	home, _ := r.fake.Home(chloe.ref.UserID)
	mustContain(t, "the French Home tab", text(home.Blocks), "Notifications")
	opens := len(r.fake.Calls("views.open"))
	if _, err := r.drv.ClickView(ctxT(t), chloe.ref, home.ID, "Paramètres des notifications"); err != nil {
		t.Fatalf("settings button: %v\n%s", err, text(home.Blocks))
	}
	waitFor(t, "the settings modal", func() bool {
		v, ok := r.fake.TopView(chloe.ref.UserID)
		return len(r.fake.Calls("views.open")) > opens && ok && v.Submit != ""
	})
	if ans := chloe.submit(map[string]any{"type_task": []string{}}); ans["response_action"] != "update" {
		t.Fatalf("settings: %v", ans)
	}
	id := chloe.create("tasks", map[string]any{"subject": "Quiet task"})
	ds, err := r.core.Notify(ctxT(t), bot.Assignment{RecordType: "task", RecordID: id, Kind: cards.AssignedNew, SystemUserID: chloe.demo.ID})
	if err != nil || len(ds) != 1 || !ds[0].Skipped {
		t.Fatalf("a task notification after turning tasks off: %+v %v", ds, err)
	}
}

// Outbound posts wait out Slack's rate limits: a 429 with Retry-After is
// honoured, one without it backs off, and the notification still arrives
// once.
func TestSendHonoursRateLimits(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "en-US")
	chloe.link()
	waitFor(t, "the greeting", func() bool { return len(chloe.dm()) == 1 })
	id := chloe.create("tasks", map[string]any{"subject": "Throttled task"})
	r.fake.Fail("chat.postMessage", 1, slackfake.Fault{Status: 429, RetryAfter: 1})
	r.fake.Fail("chat.postMessage", 1, slackfake.Fault{Status: 429})
	start := time.Now()
	ds, err := r.core.Notify(ctxT(t), bot.Assignment{RecordType: "task", RecordID: id, Kind: cards.AssignedNew, SystemUserID: chloe.demo.ID})
	if err != nil || len(ds) != 1 || ds[0].Err != nil {
		t.Fatalf("Notify through 429s: %+v %v", ds, err)
	}
	if el := time.Since(start); el < time.Second {
		t.Errorf("delivered after %s: Retry-After 1 s was not waited out", el)
	}
	posts := r.fake.Calls("chat.postMessage")
	if n := len(posts); n < 3 {
		t.Fatalf("%d posts, want the 2 refused and the one that landed", n)
	}
	if len(chloe.dm()) != 2 {
		t.Fatalf("%d messages in the DM, want the greeting and one notification", len(chloe.dm()))
	}
}
