package bot_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/store"
)

func TestListSearchPageAndOpen(t *testing.T) {
	w := newWorld(t)
	chloe := w.linked(chloeEmail, "en-US")
	sean := w.linked(seanEmail, "en-US")
	for i := range 12 {
		w.create(chloe, "leads", map[string]any{"subject": fmt.Sprintf("Interest %02d", i), "lastname": fmt.Sprintf("Lead%02d", i), "companyname": "Fabrikam"})
	}
	w.create(chloe, "leads", map[string]any{"subject": "Big deal", "lastname": "Zed", "companyname": "Contoso Ltd"})
	w.create(sean, "leads", map[string]any{"subject": "Not Chloé's", "lastname": "Other", "companyname": "Contoso Ltd"})

	l := asList(t, chloe.command("leads"))
	if l.Title != "🎯 My open leads" || len(l.Items) != 5 || l.Summary != "1–5 of 13" || l.Prev != nil || l.Next == nil {
		t.Fatalf("first page: %q %q %d items prev=%v next=%v", l.Title, l.Summary, len(l.Items), l.Prev, l.Next)
	}
	p2 := asList(t, chloe.click(*l.Next))
	if p2.Summary != "6–10 of 13" || p2.Prev == nil || p2.Next == nil {
		t.Fatalf("page 2: %q", p2.Summary)
	}
	p3 := asList(t, chloe.click(*p2.Next))
	if p3.Summary != "11–13 of 13" || p3.Next != nil || len(p3.Items) != 3 {
		t.Fatalf("page 3: %q %d next=%v", p3.Summary, len(p3.Items), p3.Next)
	}
	back := asList(t, chloe.click(*p3.Prev))
	if back.Summary != "6–10 of 13" || titles(back)[0] != titles(p2)[0] {
		t.Fatalf("back to page 2: %q %v", back.Summary, titles(back))
	}

	// Search: typed in the box, and as the command's argument; only mine.
	found := asList(t, chloe.searchIn(l, "contoso"))
	if len(found.Items) != 1 || found.Items[0].Title != "Zed" || found.Search.Value != "contoso" {
		t.Fatalf("search contoso: %v", titles(found))
	}
	if got := titles(asList(t, chloe.command("prospects contoso"))); len(got) != 1 || got[0] != "Zed" {
		t.Fatalf("prospects contoso: %v", got)
	}
	none := asList(t, chloe.command("leads nothing-like-this"))
	if len(none.Items) != 0 || !strings.Contains(none.Empty, "nothing-like-this") {
		t.Fatalf("no match: %+v", none)
	}

	// A row opens the detail, with the actions an open lead allows.
	r := chloe.click(item(t, found, "Zed").Open)
	d := asDetail(t, r)
	if r.Surface != bot.SurfaceDialog || d.Title != "Zed" || !strings.Contains(d.Subtitle, "Open") {
		t.Fatalf("detail: %+v", d)
	}
	for _, want := range []string{"Edit", "Qualify", "Disqualify"} {
		action(t, d.Actions, want)
	}
	if got := field(t, d, "Company").Value; got != "Contoso Ltd" {
		t.Fatalf("company = %q", got)
	}
	if !strings.Contains(d.OpenURL, "/main.aspx?") || !strings.Contains(d.OpenURL, "etn=lead") {
		t.Fatalf("open url %q", d.OpenURL)
	}
}

func TestEveryTypeListsInEnglishAndFrench(t *testing.T) {
	w := newWorld(t)
	en := w.linked(chloeEmail, "en-GB")
	fr := w.linked(mathildeEmail, "fr-FR")
	words := map[string][2]string{
		"accounts": {"🏢 My active accounts", "🏢 Mes comptes actifs"}, "contacts": {"👤 My active contacts", "👤 Mes contacts actifs"},
		"leads": {"🎯 My open leads", "🎯 Mes prospects ouverts"}, "opps": {"", ""}, "cases": {"", ""}, "tasks": {"", ""},
		"calls": {"", ""}, "appointments": {"", ""},
	}
	for word, want := range words {
		le, lf := asList(t, en.command(word)), asList(t, fr.command(word))
		if want[0] != "" && (le.Title != want[0] || lf.Title != want[1]) {
			t.Errorf("%s: %q / %q", word, le.Title, lf.Title)
		}
		if le.Title == lf.Title || le.Empty == "" || lf.Empty == le.Empty {
			t.Errorf("%s: not localized: %q %q / %q %q", word, le.Title, le.Empty, lf.Title, lf.Empty)
		}
	}
	h := asMessage(t, fr.command("n'importe quoi"))
	if !strings.Contains(h.Text[0], "Je ne connais pas") {
		t.Errorf("unknown command in French: %v", h.Text)
	}
}

func TestNotLinkedPromptThenTheCommandContinues(t *testing.T) {
	w := newWorld(t)
	w.links.OnLinked = func(ctx context.Context, l store.Link, resume string) { _ = w.core.Resume(ctx, l, resume) }
	u := store.ChatUser{Platform: store.PlatformTeams, Tenant: w.sb.Options().TenantID, UserID: "29:chloe"}
	du := demoUser(t, chloeEmail)
	resp, err := w.core.Handle(ctxT(t), bot.Request{User: u, Locale: "fr-FR", AADObjectID: du.ObjectID, Kind: bot.KindCommand, Text: "cases"})
	if err != nil {
		t.Fatal(err)
	}
	m := asMessage(t, resp)
	if len(m.Actions) != 1 || !strings.HasPrefix(m.Actions[0].URL, "http://localhost:3978/link/start?n=") {
		t.Fatalf("prompt: %+v", m)
	}
	if !strings.Contains(strings.Join(m.Text, " "), "« cases »") {
		t.Fatalf("prompt does not say the command continues: %v", m.Text)
	}
	completeLink(t, w, m.Actions[0].URL, chloeEmail)
	deadline := time.Now().Add(10 * time.Second)
	for len(w.sent.of(u)) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := w.sent.of(u)
	if len(got) != 2 {
		t.Fatalf("after linking, sent %d views", len(got))
	}
	if l, ok := got[1].(*cards.List); !ok || !strings.Contains(l.Title, "Mes incidents") {
		t.Fatalf("resumed command answered %T %+v", got[1], got[1])
	}
}

// completeLink plays the browser: /link/start's redirect to the sandbox
// (signing email in), then the callback.
func completeLink(t *testing.T, w *world, linkURL, email string) {
	t.Helper()
	lu, _ := url.Parse(linkURL)
	nonce := lu.Query().Get("n")
	az, err := w.links.Authorize(ctxT(t), nonce)
	if err != nil {
		t.Fatal(err)
	}
	browser := *w.srv.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := browser.Get(az.RedirectURL + "&login_hint=" + url.QueryEscape(email))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || cb.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	out := w.links.Complete(ctxT(t), bot.Callback{State: cb.Query().Get("state"), Code: cb.Query().Get("code"),
		Cookie: func(name string) (string, bool) { return az.CookieValue, name == az.CookieName }})
	if out.Kind != bot.OutcomeLinked {
		t.Fatalf("link outcome %v: %s", out.Kind, out.Reason)
	}
}
