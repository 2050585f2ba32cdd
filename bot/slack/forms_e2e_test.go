package slack_test

import (
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/crmbot/crmbot/bot/slack/slackfake"
)

// /crm new contact: the company is picked by type-ahead (block_suggestion
// answered on the options endpoint), a bad email comes back as Slack's own
// field error (response_action errors on the input block) with the modal
// kept, then the record is created.
func TestCreateWithTypeAheadAndFieldErrors(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "en-US")
	chloe.link()
	acc := chloe.create("accounts", map[string]any{"name": "Northwind Traders"})
	chloe.create("accounts", map[string]any{"name": "Contoso Pharma"})
	before := r.sb.CountRecords("contacts")

	form := chloe.command("new contact")
	if form.Submit == "" {
		t.Fatalf("no form: %s", text(form.Blocks))
	}
	opts, resp, err := r.drv.Suggest(ctxT(t), chloe.ref, form.ID, "parentcustomerid", "north")
	if err != nil {
		t.Fatalf("suggest: %v", err)
	}
	if resp.Elapsed > 2500*time.Millisecond {
		t.Errorf("options took %s", resp.Elapsed)
	}
	var pick *slack.OptionBlockObject
	for _, o := range opts.Options {
		if strings.Contains(o.Text.Text, "Northwind") {
			pick = o
		}
		if strings.Contains(o.Text.Text, "Contoso") {
			t.Errorf("type-ahead for north offered %q", o.Text.Text)
		}
	}
	if pick == nil {
		t.Fatalf("no Northwind among %+v", opts.Options)
	}
	ans := chloe.submit(map[string]any{"lastname": "Fuller", "firstname": "Andrew", "emailaddress1": "andrew@",
		"parentcustomerid": slackfake.SelectOption{Value: pick.Value, Label: pick.Text.Text}})
	if ans["response_action"] != "errors" {
		t.Fatalf("a bad email answered %v, want field errors", ans)
	}
	errs, _ := ans["errors"].(map[string]any)
	if _, ok := errs["emailaddress1"]; !ok || len(errs) != 1 {
		t.Fatalf("errors %v, want one on emailaddress1", errs)
	}
	if n := r.sb.CountRecords("contacts"); n != before {
		t.Fatalf("created despite the error: %d → %d", before, n)
	}
	// The modal is still there with what was typed; fix the email.
	ans = chloe.submit(map[string]any{"emailaddress1": "andrew@northwind.example"})
	if ans["response_action"] != "update" {
		t.Fatalf("answer %v", ans)
	}
	if n := r.sb.CountRecords("contacts"); n != before+1 {
		t.Fatalf("contacts %d → %d, want one more", before, n)
	}
	var created map[string]any
	for _, id := range r.sb.RecordIDs("contacts") {
		if rec := r.record("contacts", id); attr(rec, "lastname") == "Fuller" {
			created = rec
		}
	}
	if created == nil || attr(created, "emailaddress1") != "andrew@northwind.example" || attr(created, "firstname") != "Andrew" ||
		!strings.Contains(attr(created, "_parentcustomerid_value"), acc) {
		t.Fatalf("created contact %v (account %s)", created, acc)
	}
}
