package bot_test

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/store"
)

// invType of a record type.
func inv(t *testing.T, typ string) invType {
	t.Helper()
	for _, it := range inventory {
		if it.typ == typ {
			return it
		}
	}
	t.Fatalf("no inventory row %s", typ)
	return invType{}
}

// closeCase is one closing action: its form's values (nil: none, a
// confirmation), a required input left empty first, the state and status
// reached, and how the state reads.
type closeCase struct {
	typ, action string
	values      map[string]string
	missing     string
	state       int
	status      int
	stateLabel  string
	extraSet    string // a record the action writes too (a resolution…)
}

var closings = []closeCase{
	{typ: "incident", action: "Resolve case", values: map[string]string{"statuscode": "1000", "subject": "Toner replaced", "timespent": "45", "description": "Happy customer"},
		missing: "subject", state: 1, status: 1000, stateLabel: "Resolved", extraSet: "incidentresolutions"},
	{typ: "opportunity", action: "Close as won", values: map[string]string{"actualrevenue": "98000", "actualend": "2026-06-30", "description": "Signed"},
		missing: "actualend", state: 1, status: 3, stateLabel: "Won", extraSet: "opportunitycloses"},
	{typ: "opportunity", action: "Close as lost", values: map[string]string{"statuscode": "5", "actualend": "2026-06-30", "description": "Too expensive"},
		missing: "actualend", state: 2, status: 5, stateLabel: "Lost", extraSet: "opportunitycloses"},
	{typ: "lead", action: "Disqualify", values: map[string]string{"statuscode": "6"}, state: 2, status: 6, stateLabel: "Disqualified"},
	{typ: "appointment", action: "Mark complete", state: 1, status: 3, stateLabel: "Completed"},
	{typ: "appointment", action: "Cancel", state: 2, status: 4, stateLabel: "Canceled"},
	{typ: "phonecall", action: "Mark complete", values: map[string]string{"statuscode": "4"}, state: 1, status: 4, stateLabel: "Completed"},
	{typ: "phonecall", action: "Cancel", state: 2, status: 3, stateLabel: "Canceled"},
	{typ: "task", action: "Mark complete", state: 1, status: 5, stateLabel: "Completed"},
	{typ: "task", action: "Cancel", state: 2, status: 6, stateLabel: "Canceled"},
}

// notification is the last card sent to p.
func (w *world) notification(t *testing.T, p *person) *cards.Notification {
	t.Helper()
	sent := w.sent.of(p.u)
	if len(sent) == 0 {
		t.Fatal("nothing sent")
	}
	n, ok := sent[len(sent)-1].(*cards.Notification)
	if !ok {
		t.Fatalf("sent %T", sent[len(sent)-1])
	}
	return n
}

func notifyField(n *cards.Notification, label string) string {
	for _, f := range n.Fields {
		if f.Label == label {
			return f.Value
		}
	}
	return ""
}

// Every closing action, from a record's detail and from its "assigned to
// you" card: the form (or the confirmation), the record closed in
// Dynamics, and the card it started from showing the new state.
func TestInventoryClosingFlows(t *testing.T) {
	w, _ := inventoryWorld(t)
	chloe := w.linked(chloeEmail, "en-US")
	fx := w.fixture(chloe)
	for _, cc := range closings {
		it := inv(t, cc.typ)
		set := it.set
		for _, from := range []string{"detail", "notification"} {
			t.Run(cc.typ+"/"+cc.action+"/"+from, func(t *testing.T) {
				title := cc.action + " " + from + " " + cc.typ
				id := w.create(chloe, set, it.seed(fx, title))
				// start is the card the action is clicked on.
				var start func() []cards.Action
				var check func(v cards.View)
				switch from {
				case "detail":
					start = func() []cards.Action { return chloe.open(t, it, title).Actions }
					check = func(v cards.View) {
						d, ok := v.(*cards.Detail)
						if !ok {
							t.Fatalf("the detail after %s: %T", cc.action, v)
						}
						if !strings.Contains(d.Subtitle, cc.stateLabel) || len(d.Actions) != 0 {
							t.Errorf("detail after %s: %q, actions %+v", cc.action, d.Subtitle, d.Actions)
						}
					}
				default:
					start = func() []cards.Action {
						ds, err := w.core.Notify(ctxT(t), bot.Assignment{RecordType: cc.typ, RecordID: id, Kind: cards.AssignedNew, SystemUserID: chloe.demo.ID})
						if err != nil || len(ds) != 1 || ds[0].Err != nil || ds[0].Skipped {
							t.Fatalf("notify: %+v %v", ds, err)
						}
						return w.notification(t, chloe).Actions
					}
					check = func(v cards.View) {
						n, ok := v.(*cards.Notification)
						if !ok {
							t.Fatalf("the card after %s: %T", cc.action, v)
						}
						if st := notifyField(n, "Status"); !strings.Contains(st, cc.stateLabel) {
							t.Errorf("card status after %s: %q", cc.action, st)
						}
						if len(n.Actions) != 1 || n.Actions[0].Label != "View" {
							t.Errorf("card actions after %s: %+v", cc.action, n.Actions)
						}
					}
				}
				acts := start()
				before := 0
				if cc.extraSet != "" {
					before = w.sb.CountRecords(cc.extraSet)
				}
				r := chloe.click(action(t, acts, cc.action))
				if cc.values == nil {
					// No form: a confirmation; Back shows the card again.
					cf, ok := r.View.(*cards.Confirmation)
					if !ok || r.Surface != bot.SurfaceReplace {
						t.Fatalf("want a confirmation in place, got %T on %v", r.View, r.Surface)
					}
					if !strings.Contains(cf.Text[0], title) {
						t.Errorf("confirmation doesn't name the record: %q", cf.Text)
					}
					back := chloe.click(cf.Cancel)
					if back.Surface != bot.SurfaceReplace {
						t.Errorf("back on %v", back.Surface)
					}
					switch v := back.View.(type) {
					case *cards.Detail:
						action(t, v.Actions, cc.action)
					case *cards.Notification:
						action(t, v.Actions, cc.action)
					default:
						t.Fatalf("back to %T", back.View)
					}
					r = chloe.click(cf.Confirm)
					if r.Surface != bot.SurfaceReplace || r.Done {
						t.Errorf("confirmed: surface %v done %v", r.Surface, r.Done)
					}
					check(r.View)
				} else {
					f := asForm(t, r)
					if r.Surface != bot.SurfaceDialog || f.ID != "close" || f.Title != cc.action || f.Intro != title {
						t.Fatalf("close form: %v %q %q %q", r.Surface, f.ID, f.Title, f.Intro)
					}
					if cc.missing != "" {
						vals := map[string]string{}
						for k, v := range cc.values {
							vals[k] = v
						}
						vals[cc.missing] = ""
						bf := asForm(t, chloe.submit(f, vals))
						for _, in := range bf.Inputs {
							if in.Name == cc.missing && in.Error != "This field is required." {
								t.Errorf("missing %s: %q", in.Name, in.Error)
							} else if in.Name != cc.missing && (in.Error != "" || in.Value != vals[in.Name] && vals[in.Name] != "") {
								t.Errorf("input %s: value %q error %q", in.Name, in.Value, in.Error)
							}
						}
						if code := attr(w.record(set, id), "statecode"); code != "0" {
							t.Fatalf("closed without its required input (state %s)", code)
						}
						f = bf
					}
					r = chloe.submit(f, cc.values)
					m := asMessage(t, r)
					if !r.Done || m.Tone != cards.ToneSuccess {
						t.Fatalf("closed: %+v", m)
					}
					check(r.Refresh)
				}
				checkAttrs(t, cc.typ, w.record(set, id), map[string]string{"statecode": strconv.Itoa(cc.state), "statuscode": strconv.Itoa(cc.status)})
				if cc.extraSet != "" && w.sb.CountRecords(cc.extraSet) != before+1 {
					t.Errorf("no %s written", cc.extraSet)
				}
				if cc.typ == "incident" {
					d := chloe.click(cards.Action{ID: "open", Value: url.Values{"t": {"incident"}, "id": {id}}.Encode()})
					if !strings.Contains(asDetail(t, d).Subtitle, "Resolved · Information Provided") {
						t.Errorf("resolved case: %q", asDetail(t, d).Subtitle)
					}
				}
				if cc.typ == "opportunity" && cc.state == 1 {
					checkAttrs(t, cc.typ, w.record(set, id), map[string]string{"actualvalue": "98000", "actualclosedate": "2026-06-30"})
				}

				// The old card's buttons are stale now: each says the record is closed.
				for _, a := range acts {
					if a.ID == "" || a.Label == "View" {
						continue
					}
					r, _ := chloe.try(bot.Request{Kind: bot.KindAction, ActionID: a.ID, Value: a.Value})
					if cf, ok := r.View.(*cards.Confirmation); ok {
						r, _ = chloe.try(bot.Request{Kind: bot.KindAction, ActionID: cf.Confirm.ID, Value: cf.Confirm.Value})
						if _, ok := r.View.(*cards.Message); !ok && a.Label != cc.action {
							t.Errorf("stale %q confirmed: %T", a.Label, r.View)
							continue
						}
					}
					if m, ok := r.View.(*cards.Message); ok && !strings.Contains(m.Text[0], "closed") {
						t.Errorf("stale %q: %q", a.Label, m.Text)
					} else if !ok && a.Label != cc.action {
						t.Errorf("stale %q: %T", a.Label, r.View)
					}
				}
				checkAttrs(t, cc.typ, w.record(set, id), map[string]string{"statecode": strconv.Itoa(cc.state), "statuscode": strconv.Itoa(cc.status)})
			})
		}
	}
}

// Qualifying a lead creates what the user chose, each with a button
// opening it.
func TestInventoryQualifyLead(t *testing.T) {
	w, _ := inventoryWorld(t)
	chloe := w.linked(chloeEmail, "en-US")
	fx := w.fixture(chloe)
	it := inv(t, "lead")
	for _, choice := range []struct {
		name                       string
		account, contact, opportun bool
	}{
		{"account+opportunity", true, false, true},
		{"contact only", false, true, false},
		{"all", true, true, true},
		{"nothing", false, false, false},
	} {
		t.Run(choice.name, func(t *testing.T) {
			title := "Qualify " + strings.ReplaceAll(choice.name, "+", " ")
			id := w.create(chloe, "leads", it.seed(fx, title))
			f := asForm(t, chloe.click(action(t, chloe.open(t, it, title).Actions, "Qualify")))
			for _, n := range []string{"CreateAccount", "CreateContact", "CreateOpportunity"} {
				if in := input(t, f, n); in.Kind != cards.InputBool || in.Value != "true" {
					t.Errorf("%s: %+v", n, in)
				}
			}
			before := map[string]int{"accounts": w.sb.CountRecords("accounts"), "contacts": w.sb.CountRecords("contacts"), "opportunities": w.sb.CountRecords("opportunities")}
			b := func(v bool) string {
				if v {
					return "true"
				}
				return "false"
			}
			r := chloe.submit(f, map[string]string{"CreateAccount": b(choice.account), "CreateContact": b(choice.contact), "CreateOpportunity": b(choice.opportun)})
			m := asMessage(t, r)
			if !r.Done {
				t.Fatalf("qualify: %+v", m)
			}
			checkAttrs(t, "lead", w.record("leads", id), map[string]string{"statecode": "1", "statuscode": "3"})
			for set, want := range map[string]struct {
				made  bool
				label string
				title string
			}{"accounts": {choice.account, "View the new Account", title + " Ltd"}, "contacts": {choice.contact, "View the new Contact", title},
				"opportunities": {choice.opportun, "View the new Opportunity", "Interest in " + title}} {
				n := w.sb.CountRecords(set) - before[set]
				if (n == 1) != want.made || n > 1 {
					t.Errorf("%s: %d created, want %v", set, n, want.made)
				}
				if hasAction(m.Actions, want.label) || hasActionSuffix(m.Actions, want.label) {
					if !want.made {
						t.Errorf("button %q without a record", want.label)
						continue
					}
					d := asDetail(t, chloe.click(action(t, m.Actions, want.label)))
					if d.Title != want.title {
						t.Errorf("%q opens %q, want %q", want.label, d.Title, want.title)
					}
				} else if want.made {
					t.Errorf("no button %q in %+v", want.label, m.Actions)
				}
			}
			if rd, ok := r.Refresh.(*cards.Detail); !ok || !strings.Contains(rd.Subtitle, "Qualified") || len(rd.Actions) != 0 {
				t.Errorf("refresh: %+v", r.Refresh)
			}
		})
	}
}

func hasActionSuffix(acts []cards.Action, label string) bool {
	for _, a := range acts {
		if strings.HasSuffix(a.Label, " "+label) {
			return true
		}
	}
	return false
}

// Details: the links the inventory promises, and "Open in Dynamics".
func TestInventoryDetails(t *testing.T) {
	w, _ := inventoryWorld(t)
	chloe := w.linked(chloeEmail, "en-US")
	fx := w.fixture(chloe)
	for _, it := range inventory {
		t.Run(it.typ, func(t *testing.T) {
			title := "Detail " + it.typ
			id := w.create(chloe, it.set, it.seed(fx, title))
			var contacts []string
			if it.typ == "account" {
				for _, n := range []string{"Alpha", "Beta"} {
					w.create(chloe, "contacts", map[string]any{"lastname": n, "parentcustomerid_account@odata.bind": bind("accounts", id)})
					contacts = append(contacts, n)
				}
			}
			d := chloe.open(t, it, title)
			u, err := url.Parse(d.OpenURL)
			if err != nil || !strings.HasPrefix(d.OpenURL, w.srv.URL+"/main.aspx?") || u.Query().Get("etn") != it.typ ||
				u.Query().Get("id") != id || u.Query().Get("pagetype") != "entityrecord" || d.OpenLabel != "Open in Dynamics" {
				t.Errorf("open in Dynamics: %q %q", d.OpenURL, d.OpenLabel)
			}
			if !strings.Contains(d.Subtitle, it.label) {
				t.Errorf("subtitle %q", d.Subtitle)
			}
			edit := action(t, d.Actions, "Edit")
			if !edit.Dialog {
				t.Error("Edit opens no dialog")
			}
			for _, c := range it.closing {
				action(t, d.Actions, c)
			}
			for label, target := range it.lookups {
				f := field(t, d, label)
				if f.Value != target || f.Open == nil {
					t.Errorf("%s: %+v", label, f)
					continue
				}
				if od := asDetail(t, chloe.click(*f.Open)); od.Title != target {
					t.Errorf("%s opens %q, want %q", label, od.Title, target)
				}
			}
			if it.typ == "account" {
				var rel *cards.Related
				for i := range d.Related {
					if d.Related[i].Title == "Contacts" {
						rel = &d.Related[i]
					}
				}
				if rel == nil || len(rel.Items) != len(contacts) {
					t.Fatalf("related contacts: %+v", d.Related)
				}
				for _, n := range contacts {
					var row *cards.ListItem
					for i := range rel.Items {
						if rel.Items[i].Title == n {
							row = &rel.Items[i]
						}
					}
					if row == nil {
						t.Fatalf("no contact %s among %+v", n, rel.Items)
					}
					cd := asDetail(t, chloe.click(row.Open))
					if cd.Title != n || field(t, cd, "Company name").Value != title {
						t.Errorf("contact %s opens %q", n, cd.Title)
					}
				}
			}
			if owner := field(t, d, "Owner"); owner.Value != chloe.demo.FullName() {
				t.Errorf("owner %q", owner.Value)
			}
		})
	}
}

// Notifications for every type: in the owner's language, with View, Edit
// and the type's closing actions; none for a type turned off; the previous
// owner's notice only when asked for.
func TestInventoryNotify(t *testing.T) {
	w, _ := inventoryWorld(t)
	chloe := w.linked(chloeEmail, "en-US")
	mathilde := w.linked(mathildeEmail, "fr-FR")
	fxEN, fxFR := w.fixture(chloe), w.fixture(mathilde)
	cat := crm.DefaultCatalog()
	for _, it := range inventory {
		t.Run(it.typ, func(t *testing.T) {
			rt, _ := cat.Type(it.typ)
			for _, p := range []*person{chloe, mathilde} {
				fx, lang, view, edit, typ := fxEN, "en", "View", "Edit", it.label
				if p == mathilde {
					fx, lang, view, edit, typ = fxFR, "fr", "Afficher", "Modifier", it.labelFR
				}
				title := "Notify " + lang + " " + it.typ
				id := w.create(p, it.set, it.seed(fx, title))
				for _, kind := range []cards.NotificationKind{cards.AssignedNew, cards.AssignedExisting} {
					ds, err := w.core.Notify(ctxT(t), bot.Assignment{RecordType: it.typ, RecordID: id, Kind: kind, SystemUserID: p.demo.ID, By: "Seán"})
					if err != nil || len(ds) != 1 || ds[0].Err != nil || ds[0].Skipped || ds[0].User != p.u {
						t.Fatalf("notify %s: %+v %v", lang, ds, err)
					}
					n := w.notification(t, p)
					if n.Kind != kind || n.Title != title || !strings.Contains(n.RecordType, typ) || !strings.Contains(n.Headline, "Seán") ||
						!strings.Contains(strings.ToLower(n.Headline), strings.ToLower(typ)) {
						t.Errorf("%s card: %+v", lang, n)
					}
					if (lang == "fr") != strings.Contains(n.Headline, "attribué") {
						t.Errorf("headline not in %s: %q", lang, n.Headline)
					}
					want := []string{view, edit}
					for _, a := range rt.ClosingActions() {
						want = append(want, a.Label.In(lang))
					}
					var got []string
					for _, a := range n.Actions {
						got = append(got, a.Label)
					}
					if strings.Join(got, "|") != strings.Join(want, "|") {
						t.Errorf("%s actions %v, want %v", lang, got, want)
					}
					if !strings.Contains(n.OpenURL, "etn="+it.typ) || !strings.Contains(n.OpenURL, "id="+id) {
						t.Errorf("open url %q", n.OpenURL)
					}
					if ev := p.click(action(t, n.Actions, edit)); asForm(t, ev).ID != "edit" {
						t.Errorf("Edit from the card")
					}
				}
				// The previous owner's notice (on by default): View only.
				ds, _ := w.core.Notify(ctxT(t), bot.Assignment{RecordType: it.typ, RecordID: id, Kind: cards.Unassigned, SystemUserID: p.demo.ID})
				if len(ds) != 1 || ds[0].Skipped || ds[0].Err != nil {
					t.Fatalf("unassigned: %+v", ds)
				}
				if n := w.notification(t, p); n.Kind != cards.Unassigned || len(n.Actions) != 1 || n.Actions[0].Label != view {
					t.Errorf("unassigned card: %+v", n)
				}
			}
		})
	}

	// The previous owner's notice: a record taken from Chloé.
	lead := w.create(chloe, "leads", inv(t, "lead").seed(fxEN, "Taken lead"))
	if err := w.sb.Assign("leads", lead, demoUser(t, seanEmail).ID, w.as(chloe)); err != nil {
		t.Fatal(err)
	}
	ds, _ := w.core.Notify(ctxT(t), bot.Assignment{RecordType: "lead", RecordID: lead, Kind: cards.Unassigned, SystemUserID: chloe.demo.ID})
	if len(ds) != 1 || ds[0].Skipped || ds[0].Err != nil {
		t.Fatalf("unassigned: %+v", ds)
	}
	n := w.notification(t, chloe)
	if n.Kind != cards.Unassigned || !strings.Contains(n.Headline, "no longer yours") || !strings.Contains(n.Headline, "Seán") ||
		len(n.Actions) != 1 || n.Actions[0].Label != "View" {
		t.Errorf("unassigned card: %q %+v", n.Headline, n.Actions)
	}

	// Chloé turns off tasks and the previous owner's notice.
	f := asForm(t, chloe.command("settings"))
	r := chloe.submit(f, map[string]string{"type_task": "false", "previous_owner": "false", "time_zone": "Europe/Paris"})
	if !r.Done {
		t.Fatalf("settings: %+v", r.View)
	}
	task := w.create(chloe, "tasks", inv(t, "task").seed(fxEN, "Muted task"))
	sent := len(w.sent.of(chloe.u))
	ds, err := w.core.Notify(ctxT(t), bot.Assignment{RecordType: "task", RecordID: task, Kind: cards.AssignedNew, SystemUserID: chloe.demo.ID})
	if err != nil || len(ds) != 1 || !ds[0].Skipped || ds[0].Err != nil || len(w.sent.of(chloe.u)) != sent {
		t.Errorf("a type turned off: %+v %v", ds, err)
	}
	ds, _ = w.core.Notify(ctxT(t), bot.Assignment{RecordType: "lead", RecordID: lead, Kind: cards.Unassigned, SystemUserID: chloe.demo.ID})
	if len(ds) != 1 || !ds[0].Skipped || len(w.sent.of(chloe.u)) != sent {
		t.Errorf("unassigned, turned off: %+v", ds)
	}
	// Other types still arrive.
	ds, _ = w.core.Notify(ctxT(t), bot.Assignment{RecordType: "lead", RecordID: w.create(chloe, "leads", inv(t, "lead").seed(fxEN, "Still on")),
		Kind: cards.AssignedNew, SystemUserID: chloe.demo.ID})
	if len(ds) != 1 || ds[0].Skipped || len(w.sent.of(chloe.u)) != sent+1 {
		t.Errorf("a type left on: %+v", ds)
	}
}

// Search across types, help, settings validation, stale buttons and users
// who aren't linked.
func TestInventorySearchHelpSettingsAndStale(t *testing.T) {
	w, _ := inventoryWorld(t)
	chloe := w.linked(chloeEmail, "en-US")
	fx := w.fixture(chloe)
	for _, it := range inventory {
		w.create(chloe, it.set, it.seed(fx, "Zephyr "+it.typ))
	}
	l := asList(t, chloe.command("search zephyr"))
	if len(l.Items) != len(inventory) {
		t.Fatalf("search across types: %v", titles(l))
	}
	for _, it := range inventory {
		row := item(t, l, "Zephyr "+it.typ)
		if !strings.Contains(row.Subtitle, it.label) {
			t.Errorf("row %q subtitle %q", row.Title, row.Subtitle)
		}
		if d := asDetail(t, chloe.click(row.Open)); d.Title != row.Title {
			t.Errorf("search row opens %q", d.Title)
		}
	}
	if m := asMessage(t, chloe.command("search")); !strings.Contains(m.Text[0], "search contoso") {
		t.Errorf("search usage: %v", m.Text)
	}
	if l := asList(t, chloe.command("search nothing-at-all")); len(l.Items) != 0 || !strings.Contains(l.Empty, "nothing-at-all") {
		t.Errorf("no match: %+v", l)
	}

	h := asMessage(t, chloe.command("help"))
	for _, it := range inventory {
		rt, _ := crm.DefaultCatalog().Type(it.typ)
		if !strings.Contains(strings.Join(h.Text, "\n"), rt.Aliases[0]) {
			t.Errorf("help doesn't name %s: %v", it.typ, h.Text)
		}
	}
	if f := asForm(t, chloe.click(action(t, h.Actions, "Notification settings"))); f.ID != "settings" {
		t.Errorf("help's settings button: %q", f.ID)
	}

	f := asForm(t, chloe.command("settings"))
	r := chloe.submit(f, map[string]string{"time_zone": "Mars/Olympus", "type_lead": "false"})
	bf := asForm(t, r)
	if r.Done || input(t, bf, "time_zone").Error != "Unknown time zone: use a name such as Europe/Paris." ||
		input(t, bf, "time_zone").Value != "Mars/Olympus" || input(t, bf, "type_lead").Value != "false" {
		t.Errorf("bad time zone: %+v", bf.Inputs)
	}

	// Garbage and stale buttons: a message, never a panic.
	gone := w.create(chloe, "tasks", map[string]any{"subject": "Deleted soon"})
	if err := w.sb.Delete("tasks", gone, w.as(chloe)); err != nil {
		t.Fatal(err)
	}
	for _, req := range []bot.Request{
		{Kind: bot.KindAction, ActionID: "open", Value: "t=nope&id=x"},
		{Kind: bot.KindAction, ActionID: "open", Value: "%%%garbage;;"},
		{Kind: bot.KindAction, ActionID: "edit", Value: "t=account&id=not-a-guid"},
		{Kind: bot.KindAction, ActionID: "close", Value: "t=incident&id=" + fx.incident + "&a=explode"},
		{Kind: bot.KindAction, ActionID: "confirm", Value: "t=task&id=" + fx.incident + "&a=nope"},
		{Kind: bot.KindAction, ActionID: "bogus", Value: "t=lead&id=" + fx.incident},
		{Kind: bot.KindAction, ActionID: "related", Value: "t=account&id=" + fx.account + "&r=nope"},
		{Kind: bot.KindAction, ActionID: "list", Value: "t=systemuser"},
		{Kind: bot.KindAction, ActionID: "open", Value: "t=task&id=" + gone},
		{Kind: bot.KindAction, ActionID: "edit", Value: "t=task&id=" + gone},
		{Kind: bot.KindAction, ActionID: "close", Value: "t=task&id=" + gone + "&a=complete"},
		{Kind: bot.KindAction, ActionID: "confirm", Value: "t=task&id=" + gone + "&a=complete"},
		{Kind: bot.KindSubmit, FormID: "edit", State: "garbage", Values: map[string]string{"x": "y"}},
		{Kind: bot.KindSubmit, FormID: "create", State: "t=task", Values: map[string]string{"subject": "x"}},
		{Kind: bot.KindSubmit, FormID: "close", State: "t=incident&id=" + fx.incident + "&a=nope"},
		{Kind: bot.KindSubmit, FormID: "what", State: "t=incident"},
		{Kind: bot.KindSubmit, FormID: "edit", State: "t=task&id=" + gone, Values: map[string]string{"subject": "x"}},
	} {
		r, err := chloe.try(req)
		m, ok := r.View.(*cards.Message)
		if f, isForm := r.View.(*cards.Form); isForm && f.Error != "" {
			continue // a submit answered on its form
		}
		if !ok || len(m.Text) == 0 || (!strings.Contains(m.Text[0], "out of date") && !strings.Contains(m.Text[0], "doesn't exist")) {
			t.Errorf("%+v: %T %+v (err %v)", req, r.View, r.View, err)
		}
		if err != nil {
			t.Errorf("%+v: a user's stale button logged as an error: %v", req, err)
		}
	}
	if _, err := w.core.Lookup(ctxT(t), bot.LookupRequest{User: chloe.u, Dataset: "lookup:nope.x", Query: "a"}); err == nil {
		t.Error("a garbage dataset answered")
	}

	// Not linked: actions and submissions get the link prompt too.
	stranger := &person{w: w, u: store.ChatUser{Platform: store.PlatformSlack, Tenant: "T0DEMO", UserID: "UNOBODY"}, locale: "en-US"}
	for _, req := range []bot.Request{
		{Kind: bot.KindAction, ActionID: "open", Value: "t=account&id=" + fx.account},
		{Kind: bot.KindAction, ActionID: "close", Value: "t=task&id=" + fx.incident + "&a=complete"},
		{Kind: bot.KindSubmit, FormID: "create", State: "t=task", Values: map[string]string{"subject": "x"}},
		{Kind: bot.KindCommand, Text: "new task"},
	} {
		m := asMessage(t, stranger.do(req))
		if len(m.Actions) != 1 || !strings.Contains(m.Actions[0].URL, "/link/start?n=") || !strings.Contains(m.Text[0], "not linked") {
			t.Errorf("%+v: %+v", req, m)
		}
	}
	if opts, err := w.core.Lookup(ctxT(t), bot.LookupRequest{User: stranger.u, Dataset: "lookup:incident.customerid", Query: "c"}); err != nil || len(opts) != 0 {
		t.Errorf("lookup for a stranger: %v %v", opts, err)
	}
}

// French: create, edit and resolve a case, labels and errors in French.
func TestInventoryFrench(t *testing.T) {
	w, _ := inventoryWorld(t)
	mathilde := w.linked(mathildeEmail, "fr-FR")
	fx := w.fixture(mathilde)

	f := asForm(t, mathilde.command("nouveau incident"))
	if f.Title != "Créer : Incident" || f.SubmitLabel != "Créer" || input(t, f, "title").Label != "Titre de l'incident" {
		t.Fatalf("formulaire : %q %q %q", f.Title, f.SubmitLabel, input(t, f, "title").Label)
	}
	if in := input(t, f, "customerid"); !strings.Contains(in.Hint, "compte") {
		t.Errorf("aide de la recherche : %q", in.Hint)
	}
	cust := mathilde.pick(t, f, "customerid", "contoso", "Contoso Inventory")
	bf := asForm(t, mathilde.submit(f, map[string]string{"customerid": cust, "prioritycode": "1"}))
	if input(t, bf, "title").Error != "Ce champ est obligatoire." || input(t, bf, "customerid").Value != cust {
		t.Fatalf("champ obligatoire : %+v", bf.Inputs)
	}
	r := mathilde.submit(bf, map[string]string{"title": "Imprimante en feu"})
	m := asMessage(t, r)
	if !r.Done || m.Title != "Enregistrement créé (Incident)" {
		t.Fatalf("créé : %+v", m)
	}
	id := idOf(t, action(t, m.Actions, "Afficher"))

	d := asDetail(t, mathilde.click(action(t, m.Actions, "Afficher")))
	if !strings.Contains(d.Subtitle, "Incident · Actif") || field(t, d, "Client").Value != "Contoso Inventory" || d.OpenLabel != "Ouvrir dans Dynamics" {
		t.Errorf("fiche : %q %+v", d.Subtitle, d.Groups)
	}
	ef := asForm(t, mathilde.click(action(t, d.Actions, "Modifier")))
	if ef.Title != "Modifier : Incident" || ef.SubmitLabel != "Enregistrer" {
		t.Errorf("modifier : %q %q", ef.Title, ef.SubmitLabel)
	}
	bf = asForm(t, mathilde.submit(ef, map[string]string{"title": strings.Repeat("é", 201)}))
	if got := input(t, bf, "title").Error; got != "Utilisez 200 caractères au maximum (il y en a 201)." {
		t.Errorf("trop long : %q", got)
	}
	w.sb.Update("incidents", id, map[string]any{"description": "modifié ailleurs"}, w.as(mathilde))
	r = mathilde.submit(ef, map[string]string{"prioritycode": "3"})
	cf := asForm(t, r)
	if !strings.HasPrefix(cf.Error, "Quelqu'un a modifié cet enregistrement (incident)") {
		t.Errorf("conflit : %q", cf.Error)
	}
	r = mathilde.submit(cf, nil)
	if m := asMessage(t, r); !r.Done || m.Title != "Modifications enregistrées (Incident)" {
		t.Fatalf("enregistré : %+v", m)
	}
	checkAttrs(t, "incident", w.record("incidents", id), map[string]string{"prioritycode": "3", "description": "modifié ailleurs"})
	if rd := r.Refresh.(*cards.Detail); field(t, rd, "Priorité").Value != "Faible" {
		t.Errorf("priorité : %q", field(t, rd, "Priorité").Value)
	}

	// Contact: an email error in French.
	contact := w.create(mathilde, "contacts", inv(t, "contact").seed(fx, "Martin"))
	_ = contact
	cd := mathilde.open(t, inv(t, "contact"), "Martin")
	cef := asForm(t, mathilde.click(action(t, cd.Actions, "Modifier")))
	if got := input(t, mathilde.submitForm(t, cef, map[string]string{"emailaddress1": "pas-une-adresse"}), "emailaddress1").Error; got != "Saisissez une adresse e-mail comme nom@exemple.fr." {
		t.Errorf("e-mail : %q", got)
	}

	// Resolve from the notification, in French.
	if _, err := w.core.Notify(ctxT(t), bot.Assignment{RecordType: "incident", RecordID: id, Kind: cards.AssignedExisting, SystemUserID: mathilde.demo.ID}); err != nil {
		t.Fatal(err)
	}
	n := w.notification(t, mathilde)
	if !strings.Contains(n.Headline, "réattribué") {
		t.Errorf("titre : %q", n.Headline)
	}
	rf := asForm(t, mathilde.click(action(t, n.Actions, "Résoudre l'incident")))
	st := input(t, rf, "statuscode")
	if st.Label != "Raison du statut" || len(st.Options) != 2 || st.Options[0].Label != "Problème résolu" || st.Options[1].Label != "Informations fournies" {
		t.Errorf("statut : %+v", st)
	}
	if in := input(t, rf, "timespent"); in.Label != "Temps facturable (minutes)" {
		t.Errorf("temps : %q", in.Label)
	}
	bf = asForm(t, mathilde.submit(rf, map[string]string{"timespent": "douze"}))
	if input(t, bf, "subject").Error != "Ce champ est obligatoire." || input(t, bf, "timespent").Error != "Saisissez un nombre entier." {
		t.Errorf("erreurs : %q %q", input(t, bf, "subject").Error, input(t, bf, "timespent").Error)
	}
	r = mathilde.submit(bf, map[string]string{"subject": "Toner remplacé", "timespent": "30", "statuscode": "5"})
	if !r.Done {
		t.Fatalf("résolu : %+v", r.View)
	}
	rn, ok := r.Refresh.(*cards.Notification)
	if !ok || !strings.Contains(notifyField(rn, "Statut"), "Résolu") || len(rn.Actions) != 1 || rn.Actions[0].Label != "Afficher" {
		t.Errorf("carte : %+v", r.Refresh)
	}
	checkAttrs(t, "incident", w.record("incidents", id), map[string]string{"statecode": "1", "statuscode": "5"})
}

func (p *person) submitForm(t *testing.T, f *cards.Form, set map[string]string) *cards.Form {
	t.Helper()
	return asForm(t, p.submit(f, set))
}
