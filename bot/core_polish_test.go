package bot_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/store"
)

// The conversation core's loose ends: Dynamics throttling (429) in
// interactive flows, closing an opportunity as lost against a competitor,
// a detail's "Show all", the broken-link prompt, Dynamics' English errors
// inside another language.

// throttled arms n 429 answers with Retry-After, and returns how many of
// them the sandbox has answered so far.
func throttled(w *world, n int, retryAfter time.Duration) func() int {
	w.sb.SetFaults(sandbox.Faults{Throttle429: n, RetryAfter: retryAfter})
	return func() int { return n - w.sb.CurrentFaults().Throttle429 }
}

// calm forgets the principals' pauses (a new process, or the Retry-After
// passed) and the pending faults.
func calm(w *world) {
	w.sb.SetFaults(sandbox.Faults{})
	w.core.Throttle = crm.NewThrottle()
}

func busyText(t *testing.T, r bot.Response, want string) {
	t.Helper()
	m := asMessage(t, r)
	if len(m.Text) == 0 || m.Text[0] != want || m.Tone != cards.ToneWarning {
		t.Fatalf("busy message: tone %v %q, want %q", m.Tone, m.Text, want)
	}
}

// A 429 with a Retry-After longer than the request's budget: the user is
// told how long to wait, at once; the request is not retried (the pause is
// shared: the next request within it does not even reach Dynamics).
func TestThrottledListDetailAndEdit(t *testing.T) {
	w, faults := inventoryWorld(t)
	chloe := w.linked(chloeEmail, "en-US")
	fx := w.fixture(chloe)
	it := inv(t, "account")
	title := "Throttled account"
	id := w.create(chloe, "accounts", it.seed(fx, title))

	// The list: both its reads (rows and count) may reach Dynamics once.
	answered := throttled(w, 100, 40*time.Second)
	start := time.Now()
	r, err := chloe.try(bot.Request{Kind: bot.KindCommand, Text: "accounts"})
	if err == nil {
		t.Error("a throttled list is not logged")
	}
	busyText(t, r, "Dynamics is busy and asked us to slow down. Please try again in 40 s.")
	if r.Surface != bot.SurfaceMessage {
		t.Errorf("list: surface %v", r.Surface)
	}
	if n := answered(); n < 1 || n > 2 {
		t.Errorf("list: %d requests reached Dynamics, want 1 or 2 (no retry past the budget)", n)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("list: answered after %v: it waited for the Retry-After", d)
	}
	// Within the pause, nothing more reaches Dynamics.
	before := answered()
	r, _ = chloe.try(bot.Request{Kind: bot.KindCommand, Text: "accounts"})
	if m := asMessage(t, r); !strings.Contains(m.Text[0], "try again in") {
		t.Errorf("list again: %q", m.Text)
	}
	if answered() != before {
		t.Errorf("a request during the pause reached Dynamics")
	}

	// The detail, in French: one request, a dialog surface.
	calm(w)
	chloeFR := w.linkedUser(store.ChatUser{Platform: store.PlatformTeams, Tenant: "tid", UserID: "29:chloe-fr"}, chloeEmail, "fr-FR")
	answered = throttled(w, 100, 3*time.Minute)
	r, _ = chloeFR.try(bot.Request{Kind: bot.KindAction, ActionID: "open", Value: "t=account&id=" + id})
	busyText(t, r, "Dynamics est surchargé et nous demande de ralentir. Réessayez dans 3 min.")
	if r.Surface != bot.SurfaceDialog {
		t.Errorf("detail: surface %v", r.Surface)
	}
	if n := answered(); n != 1 {
		t.Errorf("detail: %d requests reached Dynamics, want 1", n)
	}

	// A short Retry-After within the budget is waited out: the user gets
	// the list.
	calm(w)
	answered = throttled(w, 1, time.Second)
	if l := asList(t, chloe.command("accounts")); len(l.Items) == 0 {
		t.Errorf("after a short 429: %+v", l)
	}
	if answered() != 1 {
		t.Errorf("the short 429 was not answered")
	}

	// The edit submit: the PATCH answered 429. The form comes back with
	// the user's input and the wait; nothing saved; once the pause is over
	// the same submission goes through.
	calm(w)
	f := asForm(t, chloe.click(action(t, chloe.open(t, it, title).Actions, "Edit")))
	cust := chloe.pick(t, f, "primarycontactid", "Ada", "Ada Lovelace")
	set := map[string]string{"address1_city": "Throttleville", "description": "typed while Dynamics was busy", "primarycontactid": cust}
	faults.on(http.MethodPatch, sandbox.Faults{Throttle429: 100, RetryAfter: 30 * time.Second})
	start = time.Now()
	vals := values(t, f, set)
	r, _ = chloe.try(bot.Request{Kind: bot.KindSubmit, FormID: f.ID, State: f.State, Values: vals})
	bf := asForm(t, r)
	if r.Done || r.Surface != bot.SurfaceDialog || bf.ID != "edit" || bf.State != f.State {
		t.Fatalf("throttled submit: done=%v surface=%v form %q state kept %v", r.Done, r.Surface, bf.ID, bf.State == f.State)
	}
	if bf.Error != "Dynamics is busy and asked us to slow down. Please try again in 30 s." {
		t.Errorf("form error %q", bf.Error)
	}
	for k, v := range set {
		if got := input(t, bf, k).Value; got != v {
			t.Errorf("input %s not kept: %q, want %q", k, got, v)
		}
	}
	if in := input(t, bf, "primarycontactid"); in.ValueLabel == "" {
		t.Errorf("the picked contact lost its label: %+v", in)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("submit answered after %v", d)
	}
	if n := 100 - w.sb.CurrentFaults().Throttle429; n != 1 {
		t.Errorf("submit: %d PATCHes reached Dynamics, want 1", n)
	}
	if got := attr(w.record("accounts", id), "address1_city"); got == "throttleville" {
		t.Fatal("saved while throttled?")
	}
	calm(w)
	if r = chloe.submit(bf, nil); !r.Done {
		t.Fatalf("submitted again after the pause: %+v", r.View)
	}
	checkAttrs(t, "account", w.record("accounts", id), map[string]string{"address1_city": "Throttleville", "_primarycontactid_value": fx.contact})

	// Create and close forms survive a 429 the same way.
	calm(w)
	cf := asForm(t, chloe.command("new accounts"))
	// An idempotent create is a PATCH with If-None-Match.
	faults.on(http.MethodPatch, sandbox.Faults{Throttle429: 100, RetryAfter: 30 * time.Second})
	r, _ = chloe.try(bot.Request{Kind: bot.KindSubmit, FormID: cf.ID, State: cf.State, Values: values(t, cf, map[string]string{"name": "Busy Corp"})})
	if bf := asForm(t, r); !strings.Contains(bf.Error, "30 s") || input(t, bf, "name").Value != "Busy Corp" || bf.State != cf.State {
		t.Errorf("throttled create: %q %+v", bf.Error, bf.Inputs)
	}
	calm(w)
	opp := w.create(chloe, "opportunities", inv(t, "opportunity").seed(fx, "Throttled deal"))
	lf := asForm(t, chloe.click(cards.Action{ID: "close", Value: "t=opportunity&id=" + opp + "&a=lose"}))
	faults.on(http.MethodPost, sandbox.Faults{Throttle429: 100, RetryAfter: 30 * time.Second})
	r, _ = chloe.try(bot.Request{Kind: bot.KindSubmit, FormID: lf.ID, State: lf.State,
		Values: values(t, lf, map[string]string{"actualend": "2026-06-30", "description": "Too slow"})})
	if bf := asForm(t, r); !strings.Contains(bf.Error, "30 s") || input(t, bf, "description").Value != "Too slow" || bf.State != lf.State {
		t.Errorf("throttled close: %q %+v", bf.Error, bf.Inputs)
	}
	calm(w)
	if got := attr(w.record("opportunities", opp), "statecode"); got != "0" {
		t.Errorf("closed while throttled: state %s", got)
	}
}

// Close as lost, the competitor picked through the type-ahead of the
// lost form's competitor field.
func TestCloseAsLostWithACompetitor(t *testing.T) {
	w, _ := inventoryWorld(t)
	chloe := w.linked(chloeEmail, "en-US")
	fx := w.fixture(chloe)
	it := inv(t, "opportunity")
	title := "Lost to a rival"
	id := w.create(chloe, "opportunities", it.seed(fx, title))

	f := asForm(t, chloe.click(action(t, chloe.open(t, it, title).Actions, "Close as lost")))
	in := input(t, f, "competitorid")
	if in.Kind != cards.InputLookup || in.Lookup == nil || in.Lookup.Dataset != "lookup:opportunity.lose.competitorid" || !strings.Contains(in.Hint, "competitor") {
		t.Fatalf("competitor input: %+v", in)
	}
	comp := chloe.pick(t, f, "competitorid", "léger", "Concurrence Léger SA")
	if !strings.HasPrefix(comp, "competitor:") {
		t.Fatalf("picked %q", comp)
	}
	// A required input missing: the picked competitor stays, named.
	bf := asForm(t, chloe.submit(f, map[string]string{"competitorid": comp, "statuscode": "5", "actualend": ""}))
	if got := input(t, bf, "competitorid"); got.Value != comp || got.ValueLabel != "Concurrence Léger SA" {
		t.Errorf("competitor not kept: %+v", got)
	}
	r := chloe.submit(bf, map[string]string{"actualend": "2026-06-30", "description": "Cheaper elsewhere"})
	if m := asMessage(t, r); !r.Done || m.Tone != cards.ToneSuccess {
		t.Fatalf("lost: %+v", r.View)
	}
	checkAttrs(t, "opportunity", w.record("opportunities", id), map[string]string{"statecode": "2", "statuscode": "5"})
	compID := strings.TrimPrefix(comp, "competitor:")
	found := false
	for _, cid := range w.sb.RecordIDs("opportunitycloses") {
		oc := w.record("opportunitycloses", cid)
		if attr(oc, "_opportunityid_value") == id {
			found = true
			if got := attr(oc, "_competitorid_value"); got != compID {
				t.Errorf("opportunityclose competitor = %q, want %q", got, compID)
			}
			if got := attr(oc, "description"); got != "cheaper elsewhere" {
				t.Errorf("opportunityclose description = %q", got)
			}
		}
	}
	if !found {
		t.Fatal("no opportunityclose for the opportunity")
	}
}

// "Show all" of a detail's related list: the whole list, paged.
func TestRelatedShowAllIsPaged(t *testing.T) {
	w, _ := inventoryWorld(t)
	chloe := w.linked(chloeEmail, "en-US")
	acc := w.create(chloe, "accounts", map[string]any{"name": "Many Contacts Ltd"})
	const n = 13 // the detail shows 10 (catalogue), a page 5 (the world's PageSize)
	for i := range n {
		w.create(chloe, "contacts", map[string]any{"firstname": "C", "lastname": fmt.Sprintf("Contact %02d", i),
			"parentcustomerid_account@odata.bind": bind("accounts", acc)})
	}
	other := w.create(chloe, "accounts", map[string]any{"name": "Elsewhere"})
	w.create(chloe, "contacts", map[string]any{"lastname": "Not mine", "parentcustomerid_account@odata.bind": bind("accounts", other)})

	d := chloe.open(t, inv(t, "account"), "Many Contacts Ltd")
	var rel *cards.Related
	for i := range d.Related {
		if d.Related[i].Title == "Contacts" {
			rel = &d.Related[i]
		}
	}
	if rel == nil || len(rel.Items) != 10 || rel.More == nil || rel.More.Label != "Show all" {
		t.Fatalf("related contacts on the detail: %+v", d.Related)
	}
	r := chloe.click(*rel.More)
	l := asList(t, r)
	if r.Surface != bot.SurfaceDialog || l.Title != "Contacts · Many Contacts Ltd" {
		t.Fatalf("show all: surface %v %q", r.Surface, l.Title)
	}
	seen := map[string]bool{}
	pages := 0
	for {
		pages++
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		if len(l.Items) == 0 || len(l.Items) > 5 {
			t.Fatalf("page %d: %d rows", pages, len(l.Items))
		}
		for _, it := range l.Items {
			if seen[it.Title] {
				t.Errorf("%q on two pages", it.Title)
			}
			seen[it.Title] = true
		}
		if pages > 1 && l.Prev == nil {
			t.Errorf("page %d has no Previous", pages)
		}
		if l.Next == nil {
			break
		}
		r = chloe.click(*l.Next)
		if r.Surface != bot.SurfaceDialog {
			t.Errorf("next page on %v", r.Surface)
		}
		l = asList(t, r)
	}
	if pages != 3 || len(seen) != n || seen["Not mine"] {
		t.Fatalf("%d pages, %d contacts: %v", pages, len(seen), seen)
	}
	if !strings.Contains(l.Summary, "11–13") {
		t.Errorf("last page summary %q", l.Summary)
	}
	back := asList(t, chloe.click(*l.Prev))
	if len(back.Items) != 5 || back.Next == nil {
		t.Errorf("back a page: %d rows", len(back.Items))
	}
	// A row opens the contact.
	if cd := asDetail(t, chloe.click(back.Items[0].Open)); cd.Title != back.Items[0].Title {
		t.Errorf("row opens %q", cd.Title)
	}
	// A stale "Show all" answers in the dialog it was clicked in, like
	// the list it opens (it used to replace the card behind the dialog).
	r, _ = chloe.try(bot.Request{Kind: bot.KindAction, ActionID: rel.More.ID, Value: "t=account&id=" + acc + "&r=nope"})
	if m := asMessage(t, r); r.Surface != bot.SurfaceDialog || !strings.Contains(m.Text[0], "out of date") {
		t.Errorf("stale show all: surface %v %q", r.Surface, m.Text)
	}
	// A page whose paging state expired starts again at the top.
	r = chloe.click(cards.Action{ID: rel.More.ID, Value: "t=account&id=" + acc + "&r=contacts&p=3&s=expired"})
	if l := asList(t, r); len(l.Items) != 5 || l.Prev != nil || l.Next == nil {
		t.Errorf("expired paging: %d rows prev=%v", len(l.Items), l.Prev)
	}
}

// A link the store marked broken: every command, button and submission
// answers the relink prompt, with why, in the user's language.
func TestBrokenLinkPromptWithTheReason(t *testing.T) {
	w, _ := inventoryWorld(t)
	for _, tc := range []struct {
		locale, reason string
		want           []string
	}{
		{"en-US", "Dynamics sign-in refused the refresh token (AADSTS700082)", []string{
			"Your Dynamics link expired — link again to keep using crmbot.",
			"Why: Microsoft sign-in no longer accepts your saved session (AADSTS700082).",
		}},
		{"fr-FR", "Dynamics sign-in refused the refresh token (AADSTS50173)", []string{
			"Votre liaison Dynamics a expiré — liez de nouveau votre compte pour continuer à utiliser crmbot.",
			"Pourquoi : la connexion Microsoft n’accepte plus votre session enregistrée (AADSTS50173).",
		}},
		{"fr-FR", store.BrokenReasonFor(store.ErrUnknownKeyID), []string{
			"Pourquoi : votre connexion enregistrée ne peut plus être lue (la clé de chiffrement de crmbot a changé).",
		}},
		{"en-GB", "broken during a refresh", []string{"Details: broken during a refresh"}},
	} {
		t.Run(tc.locale+" "+tc.reason, func(t *testing.T) {
			p := w.linkedUser(store.ChatUser{Platform: store.PlatformSlack, Tenant: "T0DEMO", UserID: "UBROKEN" + fmt.Sprint(len(tc.reason))}, chloeEmail, tc.locale)
			if _, err := w.st.MarkBroken(ctxT(t), p.u, tc.reason); err != nil {
				t.Fatal(err)
			}
			for _, req := range []bot.Request{
				{Kind: bot.KindCommand, Text: "leads"},
				{Kind: bot.KindCommand, Text: "new task"},
				{Kind: bot.KindAction, ActionID: "list", Value: "t=lead"},
				{Kind: bot.KindSubmit, FormID: "create", State: "t=task", Values: map[string]string{"subject": "x"}},
			} {
				m := asMessage(t, p.do(req))
				text := strings.Join(m.Text, "\n")
				for _, want := range tc.want {
					if !strings.Contains(text, want) {
						t.Errorf("%+v: no %q in\n%s", req, want, text)
					}
				}
				if len(m.Actions) != 1 || !strings.Contains(m.Actions[0].URL, "/link/start?n=") {
					t.Errorf("%+v: no link button: %+v", req, m.Actions)
				}
				if req.Kind == bot.KindCommand && !strings.Contains(text, req.Text) {
					t.Errorf("%+v: the prompt doesn't say the command continues: %s", req, text)
				}
			}
		})
	}
}

// Dynamics' own (English) message inside a French form: our sentence,
// then the message on a line of its own, never mid-sentence.
func TestDynamicsMessageInFrenchIsADetailLine(t *testing.T) {
	w, faults := inventoryWorld(t)
	mathilde := w.linked(mathildeEmail, "fr-FR")
	fx := w.fixture(mathilde)
	it := inv(t, "incident")
	title := "Incident refusé"
	w.create(mathilde, "incidents", it.seed(fx, title))
	d := mathilde.open(t, it, title)

	// A 400 naming no field: above the form.
	f := asForm(t, mathilde.click(action(t, d.Actions, "Modifier")))
	faults.on(http.MethodPatch, sandbox.Faults{FailNext: 1, FailNextStatus: http.StatusBadRequest})
	bf := asForm(t, mathilde.submit(f, map[string]string{"title": "Nouveau titre"}))
	lines := strings.Split(bf.Error, "\n")
	if len(lines) != 2 || lines[0] != "Dynamics a refusé la modification." ||
		!strings.HasPrefix(lines[1], "Détails (message de Dynamics) : Injected failure") {
		t.Errorf("form error:\n%s", bf.Error)
	}

	// A value refused on a field the message names: the field says so in
	// French, with Dynamics' words on a second line.
	base := crm.DefaultCatalog()
	rt, _ := base.Type("incident")
	fld, _ := rt.Field("title")
	unbounded := *fld
	unbounded.MaxLength = 0
	cat := crm.MergeCatalog(base, &crm.Catalog{Types: map[string]*crm.RecordType{"incident": {Fields: map[string]*crm.Field{"title": &unbounded}}},
		Order: []string{"incident"}})
	if err := cat.Validate(); err != nil {
		t.Fatal(err)
	}
	w.core.Catalog = cat
	f = asForm(t, mathilde.click(action(t, d.Actions, "Modifier")))
	ef := asForm(t, mathilde.submit(f, map[string]string{"title": strings.Repeat("y", 201)}))
	if ef.Error != "Dynamics a refusé une valeur : voir ci-dessous." {
		t.Errorf("form error %q", ef.Error)
	}
	in := input(t, ef, "title")
	lines = strings.Split(in.Error, "\n")
	if len(lines) != 2 || lines[0] != "Dynamics a refusé cette valeur." || !strings.HasPrefix(lines[1], "Détails (message de Dynamics) : ") ||
		!strings.Contains(lines[1], "'title'") {
		t.Errorf("field error:\n%s", in.Error)
	}

	// In English, Dynamics' message is ours already.
	chloe := w.linked(chloeEmail, "en-US")
	cfx := w.fixture(chloe)
	w.create(chloe, "incidents", it.seed(cfx, "Refused in English"))
	f = asForm(t, chloe.click(action(t, chloe.open(t, it, "Refused in English").Actions, "Edit")))
	ef = asForm(t, chloe.submit(f, map[string]string{"title": strings.Repeat("y", 201)}))
	if in := input(t, ef, "title"); strings.Contains(in.Error, "\n") || !strings.Contains(in.Error, "'title'") {
		t.Errorf("English field error %q", in.Error)
	}
}
