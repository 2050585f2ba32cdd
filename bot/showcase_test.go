package bot_test

import (
	"encoding/json"
	"flag"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/cards/adaptive"
	slackcards "github.com/crmbot/crmbot/cards/slack"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/store"
)

// showcase, when set, writes the views below as rendered JSON into
// DIR/teams and DIR/slack: e2e/cards/render.sh draws them as the README's
// pictures (make pictures).
var showcase = flag.String("showcase", "", "write the showcase views' Slack and Teams JSON into this directory")

// TestShowcase drives the core through the demo org the way a user would
// and renders what comes back on both platforms: every view must render
// within the platforms' limits. With -showcase=DIR the renderings are kept
// for the README's pictures.
func TestShowcase(t *testing.T) {
	w := newWorld(t, func(o *sandbox.Options) { o.RecordsPerType = 0 }) // the seeded demo org
	views := map[string]cards.View{}
	for _, lang := range []string{"en", "fr"} {
		// One chat user per language, linked to the same Dynamics user.
		chloe := w.linkedUser(store.ChatUser{Platform: store.PlatformTeams, Tenant: w.sb.Options().TenantID, UserID: "29:chloe-" + lang}, chloeEmail, lang)

		leads := asList(t, chloe.command("leads"))
		views["list_"+lang] = leads
		opps := asList(t, chloe.command("opps"))
		if len(opps.Items) == 0 || len(leads.Items) == 0 {
			t.Fatalf("the demo org gives Chloé no leads or opportunities")
		}
		views["detail_"+lang] = asDetail(t, chloe.click(opps.Items[0].Open))
		views["form_"+lang] = asForm(t, chloe.click(action(t, asDetail(t, chloe.click(opps.Items[0].Open)).Actions, editLabel[lang])))

		id := actionRecordID(t, leads.Items[0].Open)
		deliveries, err := w.core.Notify(ctxT(t), bot.Assignment{RecordType: "lead", RecordID: id, Kind: cards.AssignedExisting,
			SystemUserID: chloe.demo.ID, By: "Mathilde Lefèvre"})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range deliveries {
			if d.User == chloe.u {
				if d.Err != nil {
					t.Fatal(d.Err)
				}
				sent := w.sent.of(chloe.u)
				views["notification_"+lang] = sent[len(sent)-1]
			}
		}
		if views["notification_"+lang] == nil {
			t.Fatalf("no notification for %s", lang)
		}
	}
	for name, v := range views {
		card, err := adaptive.Render(v, adaptive.Options{})
		if err != nil {
			t.Fatalf("%s: Adaptive Card: %v", name, err)
		}
		var slack any
		if f, ok := v.(*cards.Form); ok {
			slack, err = slackcards.Modal(f, slackcards.Options{})
		} else {
			slack, err = slackcards.Blocks(v, slackcards.Options{})
		}
		if err != nil {
			t.Fatalf("%s: Block Kit: %v", name, err)
		}
		if *showcase == "" {
			continue
		}
		for platform, doc := range map[string]any{"teams": card, "slack": slack} {
			b, err := json.MarshalIndent(doc, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(*showcase, platform)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+".json"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

var editLabel = map[string]string{"en": "Edit", "fr": "Modifier"}

// linkedUser signs a demo user in and links them to chat user u.
func (w *world) linkedUser(u store.ChatUser, email, locale string) *person {
	w.t.Helper()
	a := &authority{sb: w.sb, srv: w.srv}
	du := demoUser(w.t, email)
	tok := a.signIn(w.t, email)
	if _, err := w.st.PutLink(ctxT(w.t), store.Link{ChatUser: u, SystemUserID: du.ID, EntraTenantID: w.sb.Options().TenantID,
		EntraObjectID: du.ObjectID, UPN: du.Email, Email: du.Email, DisplayName: du.FullName(), Locale: locale},
		store.Tokens{RefreshToken: tok.RefreshToken, AccessToken: tok.AccessToken, AccessExpiry: tok.Expiry}); err != nil {
		w.t.Fatal(err)
	}
	return &person{w: w, u: u, demo: du, locale: locale}
}

// actionRecordID reads the record id an action's value carries.
func actionRecordID(t *testing.T, a cards.Action) string {
	t.Helper()
	v, err := url.ParseQuery(a.Value)
	if err != nil || v.Get("id") == "" {
		t.Fatalf("action %q carries no record id", a.Value)
	}
	return v.Get("id")
}
