package slack_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/crmbot/crmbot/bot/slack/slackfake"
)

// When views.open fails because the command's trigger expired (Slack's 3
// seconds), the answer comes through the command's response_url, as an
// ephemeral message in the user's language.

// slashExpired runs /crm text with a trigger that is already expired and
// returns the ephemeral message the user then sees.
func (u *user) slashExpired(text string) slackfake.Message {
	u.r.t.Helper()
	r := u.r
	before := len(r.fake.Calls("response_url"))
	r.fake.ExpireNextTriggers(1)
	resp, err := r.drv.Slash(ctxT(r.t), u.ref, text)
	if err != nil || resp.Status != http.StatusOK || len(strings.TrimSpace(string(resp.Body))) != 0 {
		r.t.Fatalf("/crm %s: %v, ack %d %q, want an empty 200", text, err, resp.Status, resp.Body)
	}
	waitFor(r.t, "the answer through response_url", func() bool { return len(r.fake.Calls("response_url")) > before })
	if c := r.fake.Calls("response_url"); c[len(c)-1].Error != "" {
		r.t.Fatalf("response_url refused: %s", c[len(c)-1].Error)
	}
	opens := r.fake.Calls("views.open")
	if len(opens) == 0 || opens[len(opens)-1].Error != "expired_trigger_id" {
		r.t.Fatalf("views.open: %+v, want expired_trigger_id", opens)
	}
	return u.lastEphemeral()
}

// lastEphemeral is the newest ephemeral message shown to the user.
func (u *user) lastEphemeral() slackfake.Message {
	u.r.t.Helper()
	var last *slackfake.Message
	for _, m := range u.r.fake.Ephemerals() {
		if m.ForUser == u.ref.UserID {
			last = &m
		}
	}
	if last == nil {
		u.r.t.Fatal("no ephemeral message")
	}
	return *last
}

// A form that could not open: the user is told so, in French, with a
// button that opens it (the click's fresh trigger); the message then goes
// away and the form works.
func TestExpiredTriggerFormOffersToOpenItAgain(t *testing.T) {
	r := newRig(t)
	sean := r.user(demoEmail(1), "fr-FR")
	sean.link()

	msg := sean.slashExpired("new task")
	mustContain(t, "the message", text(msg.Blocks), "Slack n'a pas pu ouvrir ce formulaire à temps", "Ouvrir le formulaire")
	if msg.Text == "" {
		t.Error("the message has no fallback text")
	}

	if _, err := r.drv.ClickEphemeral(ctxT(t), sean.ref, msg.TS, "Ouvrir le formulaire"); err != nil {
		t.Fatalf("click: %v", err)
	}
	waitFor(t, "the form", func() bool {
		v, ok := r.fake.TopView(sean.ref.UserID)
		return ok && v.Submit != "" && !strings.Contains(text(v.Blocks), "⏳")
	})
	waitFor(t, "the message to go", func() bool {
		for _, m := range r.fake.Ephemerals() {
			if m.TS == msg.TS {
				return false
			}
		}
		return true
	})
	before := r.sb.CountRecords("tasks")
	ans := sean.submit(map[string]any{"subject": "Rappeler Ada"})
	if ans["response_action"] != "update" {
		t.Fatalf("submission answered %v", ans)
	}
	if got := r.sb.CountRecords("tasks"); got != before+1 {
		t.Fatalf("%d tasks, want %d", got, before+1)
	}
}

// Anything but a form shows as it is: the list, in the user's language,
// with its search box, which works from the ephemeral message too.
func TestExpiredTriggerShowsTheAnswerInTheConversation(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "en-US")
	chloe.link()
	chloe.create("leads", map[string]any{"subject": "Kite festival", "lastname": "Kay", "companyname": "Fabrikam"})
	chloe.create("leads", map[string]any{"subject": "Toy fair", "lastname": "Tee", "companyname": "Contoso"})

	msg := chloe.slashExpired("leads")
	mustContain(t, "the list", text(msg.Blocks), "My open leads", "Kite festival", "Toy fair")

	// The search box of the ephemeral list: the answer replaces it through
	// the click's response_url.
	if _, err := r.drv.SearchEphemeral(ctxT(t), chloe.ref, msg.TS, "search:", "Kite"); err != nil {
		t.Fatalf("search: %v", err)
	}
	waitFor(t, "the filtered list", func() bool {
		now := chloe.lastEphemeral()
		return now.TS == msg.TS && now.Edits == 1
	})
	now := chloe.lastEphemeral()
	mustContain(t, "the filtered list", text(now.Blocks), "Kite festival")
	if strings.Contains(text(now.Blocks), "Toy fair") {
		t.Fatalf("the search did not filter:\n%s", text(now.Blocks))
	}
}
