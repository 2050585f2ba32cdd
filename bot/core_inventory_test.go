package bot_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/crm/sandbox"
)

// The inventory of MISSION.md, row by row, for the eight record types:
// create, edit (with its error paths), closing flows, details, notifications,
// search, help, settings and stale buttons. One table row per record type;
// the flows are written once.

// fixture is the records the others point at: an account, its contact, an
// opportunity and a case, all owned by the person the fixture was made for.
type fixture struct{ account, contact, opportunity, incident string }

func (w *world) fixture(p *person) fixture {
	w.t.Helper()
	var fx fixture
	fx.account = w.create(p, "accounts", map[string]any{"name": "Contoso Inventory", "address1_city": "Lille"})
	fx.contact = w.create(p, "contacts", map[string]any{"firstname": "Ada", "lastname": "Lovelace",
		"parentcustomerid_account@odata.bind": "/accounts(" + fx.account + ")"})
	fx.opportunity = w.create(p, "opportunities", map[string]any{"name": "Fixture deal",
		"customerid_account@odata.bind": "/accounts(" + fx.account + ")"})
	fx.incident = w.create(p, "incidents", map[string]any{"title": "Fixture case",
		"customerid_account@odata.bind": "/accounts(" + fx.account + ")"})
	return fx
}

// pickSpec fills a lookup input through the type-ahead.
type pickSpec struct {
	input string // the form input
	query string // what the user types
	label string // the option picked (its label starts with this)
	id    func(fixture) string
	attr  string // the record's attribute holding the id
}

// invType is one record type of the inventory.
type invType struct {
	typ, set, alias string
	label, labelFR  string
	// Create: the typed values, the lookups picked, the attributes then
	// expected in Dynamics, a required input submitted empty first, and the
	// new record's title.
	create  map[string]string
	picks   []pickSpec
	want    map[string]string
	missing string
	title   string
	// seed is an existing record titled title, with its lookups set.
	seed func(fx fixture, title string) map[string]any
	// Edit: an input changed to a value, the attribute expected, and the
	// detail field showing it.
	editIn, editVal, editAttr, editWant, editLabel, editShown string
	// email is an email input of the edit form ("" when none); long a
	// text input whose length the core checks (max).
	email string
	long  string
	max   int
	// closing are the closing actions' labels (English).
	closing []string
	// lookups are the detail's lookup fields with an Open action: label →
	// the title of the record it opens.
	lookups map[string]string
}

func bind(set, id string) string { return "/" + set + "(" + id + ")" }

var inventory = []invType{
	{
		typ: "account", set: "accounts", alias: "accounts", label: "Account", labelFR: "Compte",
		create: map[string]string{"name": "Northwind Traders", "telephone1": "+33 1 23 45 67 89", "emailaddress1": "info@northwind.example",
			"websiteurl": "northwind.example", "industrycode": "7", "address1_city": "Lyon", "address1_country": "France", "description": "A new customer"},
		want: map[string]string{"name": "Northwind Traders", "telephone1": "+33 1 23 45 67 89", "emailaddress1": "info@northwind.example",
			"websiteurl": "https://northwind.example", "industrycode": "7", "address1_city": "Lyon", "address1_country": "France"},
		missing: "name", title: "Northwind Traders",
		seed: func(fx fixture, title string) map[string]any {
			return map[string]any{"name": title, "address1_city": "Paris", "emailaddress1": "hello@seed.example",
				"primarycontactid@odata.bind": bind("contacts", fx.contact)}
		},
		editIn: "address1_city", editVal: "Marseille", editAttr: "address1_city", editWant: "Marseille", editLabel: "City", editShown: "Marseille",
		email: "emailaddress1", long: "name", max: 160,
		lookups: map[string]string{"Primary contact": "Ada Lovelace"},
	},
	{
		typ: "contact", set: "contacts", alias: "contacts", label: "Contact", labelFR: "Contact",
		create: map[string]string{"firstname": "Grace", "lastname": "Hopper", "jobtitle": "Admiral", "emailaddress1": "grace@navy.example",
			"telephone1": "+1 555 0100"},
		picks: []pickSpec{{input: "parentcustomerid", query: "contoso", label: "Contoso Inventory", id: func(fx fixture) string { return fx.account },
			attr: "_parentcustomerid_value"}},
		want:    map[string]string{"firstname": "Grace", "lastname": "Hopper", "jobtitle": "Admiral", "emailaddress1": "grace@navy.example", "telephone1": "+1 555 0100"},
		missing: "lastname", title: "Grace Hopper",
		seed: func(fx fixture, title string) map[string]any {
			return map[string]any{"lastname": title, "jobtitle": "Buyer", "parentcustomerid_account@odata.bind": bind("accounts", fx.account)}
		},
		editIn: "jobtitle", editVal: "CTO", editAttr: "jobtitle", editWant: "CTO", editLabel: "Job title", editShown: "CTO",
		email: "emailaddress1", long: "lastname", max: 50,
		lookups: map[string]string{"Company name": "Contoso Inventory"},
	},
	{
		typ: "lead", set: "leads", alias: "leads", label: "Lead", labelFR: "Prospect",
		create: map[string]string{"subject": "Fleet renewal", "firstname": "Alan", "lastname": "Turing", "companyname": "Bletchley Park",
			"emailaddress1": "alan@bletchley.example", "leadqualitycode": "1", "leadsourcecode": "8"},
		want: map[string]string{"subject": "Fleet renewal", "firstname": "Alan", "lastname": "Turing", "companyname": "Bletchley Park",
			"emailaddress1": "alan@bletchley.example", "leadqualitycode": "1", "leadsourcecode": "8"},
		missing: "lastname", title: "Alan Turing",
		seed: func(_ fixture, title string) map[string]any {
			return map[string]any{"subject": "Interest in " + title, "lastname": title, "companyname": title + " Ltd", "estimatedamount": 5000}
		},
		editIn: "companyname", editVal: "Acme SA", editAttr: "companyname", editWant: "Acme SA", editLabel: "Company", editShown: "Acme SA",
		email: "emailaddress1", long: "subject", max: 300,
		closing: []string{"Qualify", "Disqualify"},
	},
	{
		typ: "opportunity", set: "opportunities", alias: "opps", label: "Opportunity", labelFR: "Opportunité",
		create: map[string]string{"name": "Big deal 2026", "estimatedvalue": "125000", "estimatedclosedate": "2026-12-31", "opportunityratingcode": "2"},
		picks: []pickSpec{
			{input: "customerid", query: "Contoso", label: "Contoso Inventory", id: func(fx fixture) string { return fx.account }, attr: "_customerid_value"},
			{input: "parentcontactid", query: "love", label: "Ada Lovelace", id: func(fx fixture) string { return fx.contact }, attr: "_parentcontactid_value"},
		},
		want:    map[string]string{"name": "Big deal 2026", "estimatedvalue": "125000", "estimatedclosedate": "2026-12-31", "opportunityratingcode": "2"},
		missing: "customerid", title: "Big deal 2026",
		seed: func(fx fixture, title string) map[string]any {
			return map[string]any{"name": title, "estimatedvalue": 40000, "customerid_account@odata.bind": bind("accounts", fx.account),
				"parentcontactid@odata.bind": bind("contacts", fx.contact)}
		},
		editIn: "closeprobability", editVal: "70", editAttr: "closeprobability", editWant: "70", editLabel: "Probability (%)", editShown: "70",
		long: "name", max: 300,
		closing: []string{"Close as won", "Close as lost"},
		lookups: map[string]string{"Potential customer": "Contoso Inventory", "Contact": "Ada Lovelace"},
	},
	{
		typ: "incident", set: "incidents", alias: "cases", label: "Case", labelFR: "Incident",
		create: map[string]string{"title": "Printer on fire", "prioritycode": "1", "casetypecode": "2", "caseorigincode": "1", "description": "Smoke everywhere"},
		picks: []pickSpec{
			{input: "customerid", query: "cont", label: "Contoso Inventory", id: func(fx fixture) string { return fx.account }, attr: "_customerid_value"},
			{input: "primarycontactid", query: "Ada", label: "Ada Lovelace", id: func(fx fixture) string { return fx.contact }, attr: "_primarycontactid_value"},
		},
		want:    map[string]string{"title": "Printer on fire", "prioritycode": "1", "casetypecode": "2", "caseorigincode": "1", "description": "Smoke everywhere"},
		missing: "title", title: "Printer on fire",
		seed: func(fx fixture, title string) map[string]any {
			return map[string]any{"title": title, "prioritycode": 2, "customerid_account@odata.bind": bind("accounts", fx.account),
				"primarycontactid@odata.bind": bind("contacts", fx.contact)}
		},
		editIn: "prioritycode", editVal: "3", editAttr: "prioritycode", editWant: "3", editLabel: "Priority", editShown: "Low",
		long: "title", max: 200,
		closing: []string{"Resolve case"},
		lookups: map[string]string{"Customer": "Contoso Inventory", "Contact": "Ada Lovelace"},
	},
	{
		typ: "appointment", set: "appointments", alias: "appointments", label: "Appointment", labelFR: "Rendez-vous",
		create: map[string]string{"subject": "Quarterly review", "scheduledstart": "2026-11-24T10:00", "scheduledend": "2026-11-24T11:00",
			"location": "Paris", "prioritycode": "2"},
		picks: []pickSpec{{input: "regardingobjectid", query: "fixture", label: "Fixture deal (Opportunity)", id: func(fx fixture) string { return fx.opportunity },
			attr: "_regardingobjectid_value"}},
		want: map[string]string{"subject": "Quarterly review", "scheduledstart": "2026-11-24T10:00:00Z", "scheduledend": "2026-11-24T11:00:00Z",
			"location": "Paris", "prioritycode": "2"},
		missing: "scheduledend", title: "Quarterly review",
		seed: func(fx fixture, title string) map[string]any {
			return map[string]any{"subject": title, "scheduledstart": "2026-11-24T10:00:00Z", "scheduledend": "2026-11-24T11:00:00Z",
				"regardingobjectid_opportunity_appointment@odata.bind": bind("opportunities", fx.opportunity)}
		},
		editIn: "location", editVal: "Lyon", editAttr: "location", editWant: "Lyon", editLabel: "Location", editShown: "Lyon",
		long: "subject", max: 200,
		closing: []string{"Mark complete", "Cancel"},
		lookups: map[string]string{"Regarding": "Fixture deal"},
	},
	{
		typ: "phonecall", set: "phonecalls", alias: "calls", label: "Phone call", labelFR: "Appel téléphonique",
		create: map[string]string{"subject": "Call back Ada", "phonenumber": "+44 20 7946 0000", "directioncode": "true", "scheduledend": "2026-11-25T09:30"},
		picks: []pickSpec{{input: "regardingobjectid", query: "lovelace", label: "Ada Lovelace (Contact)", id: func(fx fixture) string { return fx.contact },
			attr: "_regardingobjectid_value"}},
		want:    map[string]string{"subject": "Call back Ada", "phonenumber": "+44 20 7946 0000", "directioncode": "true", "scheduledend": "2026-11-25T09:30:00Z"},
		missing: "subject", title: "Call back Ada",
		seed: func(fx fixture, title string) map[string]any {
			return map[string]any{"subject": title, "phonenumber": "+1 555 0199", "regardingobjectid_contact_phonecall@odata.bind": bind("contacts", fx.contact)}
		},
		editIn: "phonenumber", editVal: "+33 6 00 00 00 00", editAttr: "phonenumber", editWant: "+33 6 00 00 00 00", editLabel: "Phone number", editShown: "+33 6 00 00 00 00",
		long: "subject", max: 200,
		closing: []string{"Mark complete", "Cancel"},
		lookups: map[string]string{"Regarding": "Ada Lovelace"},
	},
	{
		typ: "task", set: "tasks", alias: "tasks", label: "Task", labelFR: "Tâche",
		create: map[string]string{"subject": "Send the quote", "prioritycode": "2", "scheduledend": "2026-11-26T17:00", "description": "With the discount"},
		picks: []pickSpec{{input: "regardingobjectid", query: "Fixture case", label: "Fixture case (Case)", id: func(fx fixture) string { return fx.incident },
			attr: "_regardingobjectid_value"}},
		want:    map[string]string{"subject": "Send the quote", "prioritycode": "2", "scheduledend": "2026-11-26T17:00:00Z", "description": "With the discount"},
		missing: "subject", title: "Send the quote",
		seed: func(fx fixture, title string) map[string]any {
			return map[string]any{"subject": title, "regardingobjectid_incident_task@odata.bind": bind("incidents", fx.incident)}
		},
		editIn: "percentcomplete", editVal: "50", editAttr: "percentcomplete", editWant: "50", editLabel: "% complete", editShown: "50",
		long: "subject", max: 200,
		closing: []string{"Mark complete", "Cancel"},
		lookups: map[string]string{"Regarding": "Fixture case"},
	},
}

func TestInventoryCoversEveryChatType(t *testing.T) {
	var got []string
	for _, it := range inventory {
		got = append(got, it.typ)
	}
	for _, rt := range crm.DefaultCatalog().ChatTypes() {
		if !slices.Contains(got, rt.Name) {
			t.Errorf("record type %s has no row in the inventory table", rt.Name)
		}
	}
}

// inventoryWorld is a world whose Dynamics calls retry fast, and whose
// Web API requests can be failed on demand (faultOn).
func inventoryWorld(t *testing.T) (*world, *faulty) {
	w := newWorld(t)
	f := &faulty{sb: w.sb}
	w.core.Tokens.Transport = f
	w.core.ClientOptions = append(w.core.ClientOptions, crm.WithRetry(2, time.Millisecond))
	return w, f
}

// faulty arms the sandbox's faults just before the next request of a
// method, so that the one request (a PATCH, not the read before it) fails.
type faulty struct {
	sb     *sandbox.Sandbox
	mu     sync.Mutex
	method string
	faults sandbox.Faults
}

func (f *faulty) on(method string, faults sandbox.Faults) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.method, f.faults = method, faults
}

func (f *faulty) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	if f.method != "" && req.Method == f.method {
		f.sb.SetFaults(f.faults)
		f.method = ""
	}
	f.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

// try is do without failing on the error Handle returns for the log.
func (p *person) try(req bot.Request) (bot.Response, error) {
	req.User, req.Locale = p.u, p.locale
	resp, err := p.w.core.Handle(ctxT(p.w.t), req)
	if resp.View == nil {
		p.w.t.Fatalf("Handle(%+v): no view (err %v)", req, err)
	}
	return resp, err
}

// values is a form's submitted values: its pre-filled ones changed by set.
func values(t *testing.T, f *cards.Form, set map[string]string) map[string]string {
	t.Helper()
	vals := map[string]string{}
	for _, in := range f.Inputs {
		vals[in.Name] = in.Value
	}
	for k, v := range set {
		if _, ok := vals[k]; !ok {
			t.Fatalf("form %s has no input %q", f.ID, k)
		}
		vals[k] = v
	}
	return vals
}

// pick types query into a lookup input and returns the value of the option
// whose label starts with label.
func (p *person) pick(t *testing.T, f *cards.Form, name, query, label string) string {
	t.Helper()
	in := input(t, f, name)
	if in.Kind != cards.InputLookup || in.Lookup == nil || !strings.HasPrefix(in.Lookup.Dataset, "lookup:") {
		t.Fatalf("input %s is not a type-ahead lookup: %+v", name, in)
	}
	opts, err := p.w.core.Lookup(ctxT(t), bot.LookupRequest{User: p.u, Locale: p.locale, Dataset: in.Lookup.Dataset, Query: query})
	if err != nil {
		t.Fatalf("lookup %s %q: %v", in.Lookup.Dataset, query, err)
	}
	var labels []string
	for _, o := range opts {
		if strings.HasPrefix(o.Label, label) {
			return o.Value
		}
		labels = append(labels, o.Label)
	}
	t.Fatalf("lookup %s %q: no %q in %v", in.Lookup.Dataset, query, label, labels)
	return ""
}

// attr is a sandbox attribute as text (times in UTC RFC 3339, dates alone).
func attr(rec map[string]any, k string) string {
	switch v := rec[k].(type) {
	case nil:
		return ""
	case time.Time:
		if v.UTC().Format("15:04:05") == "00:00:00" && (strings.HasSuffix(k, "date") || k == "actualend") {
			return v.UTC().Format(time.DateOnly)
		}
		return v.UTC().Format(time.RFC3339)
	default:
		return strings.ToLower(fmt.Sprint(v))
	}
}

func checkAttrs(t *testing.T, what string, rec map[string]any, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got := attr(rec, k); !strings.EqualFold(got, v) {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
}

// idOf is the record id an action's value names.
func idOf(t *testing.T, a cards.Action) string {
	t.Helper()
	q, err := url.ParseQuery(a.Value)
	if err != nil || !crm.IsGUID(q.Get("id")) {
		t.Fatalf("action %q names no record: %q", a.Label, a.Value)
	}
	return q.Get("id")
}

// open finds a record through its type's list, searched by its title, and
// opens its detail.
func (p *person) open(t *testing.T, it invType, title string) *cards.Detail {
	t.Helper()
	l := asList(t, p.command(it.alias+" "+title))
	r := p.click(item(t, l, title).Open)
	if r.Surface != bot.SurfaceDialog {
		t.Fatalf("detail of %s on surface %v", title, r.Surface)
	}
	d := asDetail(t, r)
	if d.Title != title {
		t.Fatalf("opened %q, want %q", d.Title, title)
	}
	return d
}

func TestInventoryCreate(t *testing.T) {
	w, _ := inventoryWorld(t)
	chloe := w.linked(chloeEmail, "en-US")
	fx := w.fixture(chloe)
	cat := crm.DefaultCatalog()
	for _, it := range inventory {
		t.Run(it.typ, func(t *testing.T) {
			rt, _ := cat.Type(it.typ)
			r := chloe.command("new " + it.alias)
			f := asForm(t, r)
			if r.Surface != bot.SurfaceDialog || f.ID != "create" || f.Title != "New "+it.label || f.SubmitLabel != "Create" {
				t.Fatalf("create form: surface %v %q %q %q", r.Surface, f.ID, f.Title, f.SubmitLabel)
			}
			for _, in := range f.Inputs {
				if want := slices.Contains(rt.Required, in.Name); in.Required != want {
					t.Errorf("input %s required=%v, want %v", in.Name, in.Required, want)
				}
				if in.Kind == cards.InputLookup && (in.Lookup == nil || in.Lookup.Dataset == "" || in.Hint == "") {
					t.Errorf("lookup input %s has no type-ahead: %+v", in.Name, in)
				}
			}
			set := map[string]string{}
			for k, v := range it.create {
				set[k] = v
			}
			for _, pk := range it.picks {
				set[pk.input] = chloe.pick(t, f, pk.input, pk.query, pk.label)
			}

			// A required input left empty: the form comes back with the
			// error there and everything else kept.
			missing := map[string]string{}
			for k, v := range set {
				missing[k] = v
			}
			missing[it.missing] = ""
			before := w.sb.CountRecords(it.set)
			r = chloe.submit(f, missing)
			back := asForm(t, r)
			if r.Done || r.Surface != bot.SurfaceDialog || back.ID != "create" || back.State != f.State {
				t.Fatalf("missing %s: done=%v surface=%v form %q", it.missing, r.Done, r.Surface, back.ID)
			}
			for _, in := range back.Inputs {
				switch {
				case in.Name == it.missing:
					if in.Error != "This field is required." {
						t.Errorf("error on %s = %q", in.Name, in.Error)
					}
				case in.Error != "":
					t.Errorf("unexpected error on %s: %q", in.Name, in.Error)
				case !sameValue(in, missing[in.Name]):
					t.Errorf("input %s not kept: %q, want %q", in.Name, in.Value, missing[in.Name])
				case in.Kind == cards.InputLookup && in.Value != "" && in.ValueLabel == "":
					t.Errorf("lookup %s kept without its label", in.Name)
				}
			}
			if n := w.sb.CountRecords(it.set); n != before {
				t.Fatalf("a refused form created a record (%d → %d)", before, n)
			}

			// Valid: created, with every value and lookup.
			r = chloe.submit(back, set)
			m := asMessage(t, r)
			if !r.Done || m.Tone != cards.ToneSuccess || m.Title != it.label+" created" || len(m.Text) == 0 || m.Text[0] != it.title {
				t.Fatalf("created: done=%v %+v", r.Done, m)
			}
			if n := w.sb.CountRecords(it.set); n != before+1 {
				t.Fatalf("%s: %d → %d records", it.set, before, n)
			}
			view := action(t, m.Actions, "View")
			id := idOf(t, view)
			rec := w.record(it.set, id)
			checkAttrs(t, it.typ, rec, it.want)
			for _, pk := range it.picks {
				if got := attr(rec, pk.attr); got != pk.id(fx) {
					t.Errorf("%s = %q, want %q", pk.attr, got, pk.id(fx))
				}
			}
			if got := attr(rec, "_ownerid_value"); got != chloe.demo.ID {
				t.Errorf("owner = %q, want the user %q", got, chloe.demo.ID)
			}
			if u := openURL(t, m.Actions); u != w.srv.URL+"/main.aspx?etn="+it.typ+"&id="+id+"&pagetype=entityrecord" {
				t.Errorf("open in Dynamics = %q", u)
			}
			if d := asDetail(t, chloe.click(view)); d.Title != it.title {
				t.Errorf("View opens %q", d.Title)
			}

			// The same form submitted again (a double click, a retry): still one record.
			r = chloe.submit(back, set)
			if !r.Done {
				t.Fatalf("second submit: %+v", r.View)
			}
			if n := w.sb.CountRecords(it.set); n != before+1 {
				t.Fatalf("double submit: %d → %d records", before, n)
			}
		})
	}
}

func openURL(t *testing.T, acts []cards.Action) string {
	t.Helper()
	for _, a := range acts {
		if a.URL != "" {
			return a.URL
		}
	}
	t.Fatalf("no URL button in %+v", acts)
	return ""
}

func TestInventoryEdit(t *testing.T) {
	w, faults := inventoryWorld(t)
	chloe := w.linked(chloeEmail, "en-US")
	fx := w.fixture(chloe)
	for _, it := range inventory {
		t.Run(it.typ, func(t *testing.T) {
			title := "Edit " + it.typ
			id := w.create(chloe, it.set, it.seed(fx, title))

			// list → open → Edit → change → saved; the detail refreshes.
			d := chloe.open(t, it, title)
			r := chloe.click(action(t, d.Actions, "Edit"))
			f := asForm(t, r)
			if r.Surface != bot.SurfaceDialog || f.ID != "edit" || f.Title != "Edit "+it.label || f.Intro != title {
				t.Fatalf("edit form: %v %q %q %q", r.Surface, f.ID, f.Title, f.Intro)
			}
			r = chloe.submit(f, map[string]string{it.editIn: it.editVal})
			m := asMessage(t, r)
			if !r.Done || m.Title != it.label+" saved" {
				t.Fatalf("saved: done=%v %+v", r.Done, r.View)
			}
			checkAttrs(t, it.typ, w.record(it.set, id), map[string]string{it.editAttr: it.editWant})
			rd, ok := r.Refresh.(*cards.Detail)
			if !ok {
				t.Fatalf("refresh after an edit from the detail: %T", r.Refresh)
			}
			if got := field(t, rd, it.editLabel).Value; got != it.editShown {
				t.Errorf("refreshed detail shows %s = %q, want %q", it.editLabel, got, it.editShown)
			}

			// Conflict: changed behind the bot's back after the form opened.
			f = asForm(t, chloe.click(action(t, rd.Actions, "Edit")))
			if err := w.sb.Update(it.set, id, map[string]any{"description": "changed in Dynamics"}, w.as(chloe)); err != nil {
				t.Fatal(err)
			}
			mine := "conflict " + it.typ
			r = chloe.submit(f, map[string]string{it.long: mine})
			cf := asForm(t, r)
			if r.Done || !strings.Contains(cf.Error, "changed this "+strings.ToLower(it.label)) {
				t.Fatalf("conflict: done=%v error %q", r.Done, cf.Error)
			}
			if got := input(t, cf, it.long).Value; got != mine {
				t.Errorf("conflict lost the input: %q", got)
			}
			if got := attr(w.record(it.set, id), it.long); got == strings.ToLower(mine) {
				t.Fatalf("a conflicting edit was saved")
			}
			r = chloe.submit(cf, nil)
			if !r.Done {
				t.Fatalf("saved again after the conflict: %+v", r.View)
			}
			checkAttrs(t, it.typ, w.record(it.set, id), map[string]string{it.long: mine, "description": "changed in Dynamics"})

			// The core's own checks: an email address, a length.
			f = asForm(t, chloe.click(action(t, rd.Actions, "Edit")))
			set := map[string]string{it.long: strings.Repeat("x", it.max+1), it.editIn: it.editVal}
			if it.email != "" {
				set[it.email] = "not-an-email"
			}
			r = chloe.submit(f, set)
			ef := asForm(t, r)
			if it.email != "" {
				if got := input(t, ef, it.email); got.Error != "Enter an email address like name@example.com." || got.Value != "not-an-email" {
					t.Errorf("bad email: %+v", got)
				}
			}
			if got := input(t, ef, it.long); got.Error != fmt.Sprintf("Use %d characters at most (this has %d).", it.max, it.max+1) {
				t.Errorf("too long: %q", got.Error)
			}
			if got := input(t, ef, it.editIn).Value; got != it.editVal {
				t.Errorf("%s not kept: %q", it.editIn, got)
			}

			// Dynamics refuses the change with a 400 naming no field: above
			// the form, the input kept; then it goes through.
			f = asForm(t, chloe.click(action(t, rd.Actions, "Edit")))
			mine = "after a 400 " + it.typ
			faults.on(http.MethodPatch, sandbox.Faults{FailNext: 1, FailNextStatus: http.StatusBadRequest})
			r = chloe.submit(f, map[string]string{it.long: mine})
			bf := asForm(t, r)
			if r.Done || !strings.HasPrefix(bf.Error, "Dynamics refused the change: ") || input(t, bf, it.long).Value != mine {
				t.Fatalf("400: done=%v error %q value %q", r.Done, bf.Error, input(t, bf, it.long).Value)
			}
			for _, in := range bf.Inputs {
				if in.Error != "" {
					t.Errorf("400 naming no field put an error on %s: %q", in.Name, in.Error)
				}
			}
			if r = chloe.submit(bf, nil); !r.Done {
				t.Fatalf("after a 400: %+v", r.View)
			}
			checkAttrs(t, it.typ, w.record(it.set, id), map[string]string{it.long: mine})

			// Dynamics down (503): the form again with what happened, the
			// input kept, nothing saved.
			f = asForm(t, chloe.click(action(t, rd.Actions, "Edit")))
			mine = "after a 503 " + it.typ
			faults.on(http.MethodPatch, sandbox.Faults{FailNext: 5, FailNextStatus: http.StatusServiceUnavailable})
			vals := values(t, f, map[string]string{it.long: mine})
			r, _ = chloe.try(bot.Request{Kind: bot.KindSubmit, FormID: f.ID, State: f.State, Values: vals})
			uf := asForm(t, r)
			if r.Done || r.Surface != bot.SurfaceDialog || uf.Error != "Dynamics isn't answering right now. Please try again in a minute." {
				t.Fatalf("503: done=%v surface=%v error %q", r.Done, r.Surface, uf.Error)
			}
			if in := input(t, uf, it.long); in.Value != mine {
				t.Fatalf("503 lost the input: %q, want %q", in.Value, mine)
			}
			if got := attr(w.record(it.set, id), it.long); got == strings.ToLower(mine) {
				t.Fatalf("saved during an outage?")
			}
			w.sb.SetFaults(sandbox.Faults{})
			if r = chloe.do(bot.Request{Kind: bot.KindSubmit, FormID: f.ID, State: f.State, Values: vals}); !r.Done {
				t.Fatalf("submitted again after the outage: %+v", r.View)
			}
			checkAttrs(t, it.typ, w.record(it.set, id), map[string]string{it.long: mine})
		})
	}
}

// A field whose length the catalogue doesn't bound (an admin's override):
// Dynamics refuses the value, naming the attribute, and the error lands on
// that input, for every type; on create too.
func TestInventoryDynamicsRefusesAValueTheCoreDidNotCheck(t *testing.T) {
	w, _ := inventoryWorld(t)
	chloe := w.linked(chloeEmail, "en-US")
	fx := w.fixture(chloe)
	base := crm.DefaultCatalog()
	over := &crm.Catalog{Types: map[string]*crm.RecordType{}}
	for _, it := range inventory {
		f, _ := base.Type(it.typ)
		fld, _ := f.Field(it.long)
		unbounded := *fld
		unbounded.MaxLength = 0
		over.Types[it.typ] = &crm.RecordType{Fields: map[string]*crm.Field{it.long: &unbounded}}
		over.Order = append(over.Order, it.typ)
	}
	cat := crm.MergeCatalog(base, over)
	if err := cat.Validate(); err != nil {
		t.Fatal(err)
	}
	w.core.Catalog = cat
	for _, it := range inventory {
		t.Run(it.typ, func(t *testing.T) {
			title := "Unbounded " + it.typ
			id := w.create(chloe, it.set, it.seed(fx, title))
			d := chloe.open(t, it, title)
			f := asForm(t, chloe.click(action(t, d.Actions, "Edit")))
			if n := input(t, f, it.long).MaxLength; n != 0 {
				t.Fatalf("the override left maxLength %d", n)
			}
			long := strings.Repeat("y", it.max+1)
			r := chloe.submit(f, map[string]string{it.long: long, it.editIn: it.editVal})
			ef := asForm(t, r)
			in := input(t, ef, it.long)
			if r.Done || !strings.Contains(in.Error, "'"+it.long+"'") || in.Value != long || ef.Error != "Dynamics refused a value: see below." {
				t.Fatalf("refused: done=%v form error %q, input %+v", r.Done, ef.Error, in)
			}
			if got := input(t, ef, it.editIn).Value; got != it.editVal {
				t.Errorf("%s not kept: %q", it.editIn, got)
			}
			if got := attr(w.record(it.set, id), it.editAttr); got == strings.ToLower(it.editWant) && it.editWant != "" {
				t.Errorf("part of a refused edit was saved")
			}

			// Create: the same.
			cf := asForm(t, chloe.command("new "+it.alias))
			set := map[string]string{}
			for k, v := range it.create {
				set[k] = v
			}
			for _, pk := range it.picks {
				set[pk.input] = chloe.pick(t, cf, pk.input, pk.query, pk.label)
			}
			if _, ok := set[it.long]; !ok && !slices.ContainsFunc(cf.Inputs, func(in cards.Input) bool { return in.Name == it.long }) {
				return
			}
			set[it.long] = long
			before := w.sb.CountRecords(it.set)
			r = chloe.submit(cf, set)
			cb := asForm(t, r)
			if in := input(t, cb, it.long); !strings.Contains(in.Error, "'"+it.long+"'") || in.Value != long {
				t.Fatalf("create refused: %+v", in)
			}
			if w.sb.CountRecords(it.set) != before {
				t.Fatal("a refused create made a record")
			}
		})
	}
}

// A create refused by Dynamics (400, no field) or Dynamics down (503):
// the form (or a message) comes back, and a second submit creates one record.
func TestInventoryCreateErrors(t *testing.T) {
	w, _ := inventoryWorld(t)
	chloe := w.linked(chloeEmail, "en-US")
	w.fixture(chloe)
	for _, it := range inventory {
		t.Run(it.typ, func(t *testing.T) {
			f := asForm(t, chloe.command("new "+it.alias))
			set := map[string]string{}
			for k, v := range it.create {
				set[k] = v
			}
			for _, pk := range it.picks {
				set[pk.input] = chloe.pick(t, f, pk.input, pk.query, pk.label)
			}
			before := w.sb.CountRecords(it.set)
			// The create is the submission's first Dynamics request.
			w.sb.SetFaults(sandbox.Faults{FailNext: 1, FailNextStatus: http.StatusBadRequest})
			r := chloe.submit(f, set)
			bf := asForm(t, r)
			if r.Done || !strings.HasPrefix(bf.Error, "Dynamics refused the change: ") {
				t.Fatalf("400: done=%v error %q", r.Done, bf.Error)
			}
			for _, in := range bf.Inputs {
				if want := set[in.Name]; !sameValue(in, want) {
					t.Errorf("400 lost %s: %q, want %q", in.Name, in.Value, want)
				}
			}
			w.sb.SetFaults(sandbox.Faults{FailNext: 5, FailNextStatus: http.StatusServiceUnavailable})
			r, _ = chloe.try(bot.Request{Kind: bot.KindSubmit, FormID: bf.ID, State: bf.State, Values: values(t, bf, nil)})
			if f := asForm(t, r); r.Done || !strings.Contains(f.Error, "isn't answering") {
				t.Fatalf("503: done=%v error %q", r.Done, f.Error)
			} else {
				for _, in := range f.Inputs {
					if want := set[in.Name]; !sameValue(in, want) {
						t.Errorf("503 lost %s: %q, want %q", in.Name, in.Value, want)
					}
				}
			}
			w.sb.SetFaults(sandbox.Faults{})
			if n := w.sb.CountRecords(it.set); n != before {
				t.Fatalf("created during the errors: %d → %d", before, n)
			}
			if r = chloe.submit(bf, nil); !r.Done {
				t.Fatalf("after the outage: %+v", r.View)
			}
			if r = chloe.submit(bf, nil); !r.Done {
				t.Fatalf("double submit after the outage: %+v", r.View)
			}
			if n := w.sb.CountRecords(it.set); n != before+1 {
				t.Fatalf("%d → %d records", before, n)
			}
		})
	}
}

// sameValue: an input shows the value the user sent (a date-time may come
// back in the canonical RFC 3339 form of the same instant).
func sameValue(in cards.Input, sent string) bool {
	if in.Value == sent {
		return true
	}
	if in.Kind != cards.InputDateTime {
		return false
	}
	got, err1 := time.Parse(time.RFC3339, in.Value)
	want, err2 := time.ParseInLocation("2006-01-02T15:04", sent, time.UTC)
	return err1 == nil && err2 == nil && got.Equal(want)
}
