package slack_test

import (
	"strings"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot/slack/slackfake"
)

// /crm new <type> for each of the eight types through Slack: the modal's
// required inputs, a lookup picked by type-ahead where the type has one,
// one record created in Dynamics with what was typed, and the result shown
// in the modal.
func TestCreateEveryTypeThroughSlack(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "en-US")
	chloe.link()
	acc := chloe.create("accounts", map[string]any{"name": "Fixture Industries"})
	start := time.Now().Add(48 * time.Hour).Truncate(time.Hour)
	type pick struct{ block, query, label, attr, id string }
	for _, c := range []struct {
		word, set, nameAttr, name string
		typed                     map[string]any
		pick                      *pick
	}{
		{"account", "accounts", "name", "Slack Account Ltd", map[string]any{"name": "Slack Account Ltd"}, nil},
		{"contact", "contacts", "lastname", "Slackson", map[string]any{"lastname": "Slackson"},
			&pick{"parentcustomerid", "fixture", "Fixture Industries", "_parentcustomerid_value", acc}},
		{"lead", "leads", "lastname", "Leadman", map[string]any{"subject": "Slack lead", "lastname": "Leadman"}, nil},
		{"opportunity", "opportunities", "name", "Slack deal", map[string]any{"name": "Slack deal"},
			&pick{"customerid", "fixture", "Fixture Industries", "_customerid_value", acc}},
		{"case", "incidents", "title", "Slack case", map[string]any{"title": "Slack case"},
			&pick{"customerid", "fix", "Fixture Industries", "_customerid_value", acc}},
		{"appointment", "appointments", "subject", "Slack meeting", map[string]any{"subject": "Slack meeting",
			"scheduledstart": start.Unix(), "scheduledend": start.Add(time.Hour).Unix()},
			&pick{"regardingobjectid", "fixture", "Fixture Industries", "_regardingobjectid_value", acc}},
		{"call", "phonecalls", "subject", "Slack call", map[string]any{"subject": "Slack call"}, nil},
		{"task", "tasks", "subject", "Slack task", map[string]any{"subject": "Slack task"},
			&pick{"regardingobjectid", "Fixture", "Fixture Industries", "_regardingobjectid_value", acc}},
	} {
		t.Run(c.word, func(t *testing.T) {
			before := r.sb.CountRecords(c.set)
			form := chloe.command("new " + c.word)
			if form.Submit == "" {
				t.Fatalf("no form for new %s: %s", c.word, text(form.Blocks))
			}
			typed := map[string]any{}
			for k, v := range c.typed {
				typed[k] = v
			}
			if c.pick != nil {
				opts, _, err := r.drv.Suggest(ctxT(t), chloe.ref, form.ID, c.pick.block, c.pick.query)
				if err != nil {
					t.Fatalf("type-ahead %s: %v", c.pick.block, err)
				}
				found := false
				for _, o := range opts.Options {
					if strings.HasPrefix(o.Text.Text, c.pick.label) {
						typed[c.pick.block] = slackfake.SelectOption{Value: o.Value, Label: o.Text.Text}
						found = true
						break
					}
				}
				if !found {
					t.Fatalf("type-ahead %q offered no %q: %+v", c.pick.query, c.pick.label, opts.Options)
				}
			}
			if ans := chloe.submit(typed); ans["response_action"] != "update" {
				t.Fatalf("new %s answered %v", c.word, ans)
			}
			if n := r.sb.CountRecords(c.set); n != before+1 {
				t.Fatalf("%s: %d → %d records", c.set, before, n)
			}
			var rec map[string]any
			for _, id := range r.sb.RecordIDs(c.set) {
				if got := r.record(c.set, id); attr(got, c.nameAttr) == c.name {
					rec = got
				}
			}
			if rec == nil {
				t.Fatalf("no %s named %q in Dynamics", c.set, c.name)
			}
			if c.pick != nil && !strings.Contains(attr(rec, c.pick.attr), c.pick.id) {
				t.Fatalf("%s = %q, want %s", c.pick.attr, attr(rec, c.pick.attr), c.pick.id)
			}
			mustContain(t, "the result", text(chloe.top().Blocks), c.name)
		})
	}
}
