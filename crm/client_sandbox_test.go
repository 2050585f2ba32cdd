package crm_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/crm/sandbox"
)

// The client against the Dataverse sandbox, in-process, with real tokens
// from the sandbox's token endpoint: app-only (client credentials) and
// delegated (authorization code + PKCE, signed in with login_hint).

type sandboxEnv struct {
	sb       *sandbox.Sandbox
	srv      *httptest.Server
	throttle *crm.Throttle

	mu      sync.Mutex
	sources map[string]oauth2.TokenSource
}

func newSandboxEnv(t *testing.T, opts sandbox.Options) *sandboxEnv {
	t.Helper()
	sb := sandbox.New(opts)
	srv := httptest.NewServer(sb)
	t.Cleanup(func() {
		srv.Close()
		sb.Close()
	})
	return &sandboxEnv{sb: sb, srv: srv, throttle: crm.NewThrottle(), sources: map[string]oauth2.TokenSource{}}
}

func (e *sandboxEnv) tokenCtx() context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, e.srv.Client())
}

// user returns the demo user with the given role ("sales", "support", "manager"), the n-th of them.
func user(t *testing.T, role string, n int) sandbox.User {
	t.Helper()
	for _, u := range sandbox.DemoUsers() {
		if u.Role == role {
			if n == 0 {
				return u
			}
			n--
		}
	}
	t.Fatalf("no %s user", role)
	return sandbox.User{}
}

// tokenSource signs a demo user in (or the app, for email "") once.
func (e *sandboxEnv) tokenSource(t *testing.T, email string) oauth2.TokenSource {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if ts, ok := e.sources[email]; ok {
		return ts
	}
	o := e.sb.Options()
	var ts oauth2.TokenSource
	if email == "" {
		src, err := crm.AppTokenSource(e.tokenCtx(), crm.AppCredentials{
			AuthorityURL: e.srv.URL, TenantID: o.TenantID, ClientID: o.ClientID, ClientSecret: o.ClientSecret, OrgURL: e.srv.URL,
		})
		if err != nil {
			t.Fatal(err)
		}
		ts = src
	} else {
		cfg := &oauth2.Config{
			ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: o.RedirectURIs[0],
			Scopes: crm.DelegatedScopes(e.srv.URL), Endpoint: crm.Endpoint(e.srv.URL, o.TenantID),
		}
		verifier := oauth2.GenerateVerifier()
		browser := *e.srv.Client()
		browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := browser.Get(cfg.AuthCodeURL("state", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("login_hint", email)))
		if err != nil {
			t.Fatalf("authorize: %v", err)
		}
		resp.Body.Close()
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Query().Get("code") == "" {
			t.Fatalf("authorize %s: status %d, Location %q", email, resp.StatusCode, resp.Header.Get("Location"))
		}
		tok, err := cfg.Exchange(e.tokenCtx(), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		if tok.RefreshToken == "" {
			t.Errorf("no refresh token with offline_access")
		}
		ts = cfg.TokenSource(e.tokenCtx(), tok)
	}
	e.sources[email] = ts
	return ts
}

// client is a Client acting as the demo user with email ("" = the app user),
// sharing the env's Throttle under the principal's key.
func (e *sandboxEnv) client(t *testing.T, email string, opts ...crm.Option) *crm.Client {
	t.Helper()
	hc := oauth2.NewClient(e.tokenCtx(), e.tokenSource(t, email))
	principal := crm.PrincipalKey(e.srv.URL, "app")
	if email != "" {
		principal = crm.PrincipalKey(e.srv.URL, email)
	}
	opts = append([]crm.Option{crm.WithThrottle(e.throttle, principal), crm.WithRetry(3, 5*time.Millisecond)}, opts...)
	c, err := crm.NewClient(e.srv.URL, hc, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func recordType(t *testing.T, name string) *crm.RecordType {
	t.Helper()
	rt, ok := crm.DefaultCatalog().Type(name)
	if !ok {
		t.Fatalf("no record type %s", name)
	}
	return rt
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestSandboxWhoAmI(t *testing.T) {
	env := newSandboxEnv(t, sandbox.Options{RecordsPerType: -1})
	ctx := ctxT(t)
	t.Run("app token is the application user", func(t *testing.T) {
		who, err := env.client(t, "").WhoAmI(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if who.UserID != sandbox.AppUserID || who.OrganizationID != sandbox.DefaultOrgID {
			t.Fatalf("WhoAmI = %+v", who)
		}
	})
	for _, u := range sandbox.DemoUsers() {
		t.Run("delegated token of "+u.Role+" "+u.LastName, func(t *testing.T) {
			who, err := env.client(t, u.Email).WhoAmI(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if who.UserID != u.ID || who.BusinessUnitID == "" {
				t.Fatalf("WhoAmI = %+v, want user %s", who, u.ID)
			}
		})
	}
	t.Run("no token is UnauthorizedError", func(t *testing.T) {
		c, err := crm.NewClient(env.srv.URL, env.srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.WhoAmI(ctx)
		var ue *crm.UnauthorizedError
		if !errors.As(err, &ue) {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestSandboxListMy pages through every chat type's "my" list for every user.
func TestSandboxListMy(t *testing.T) {
	env := newSandboxEnv(t, sandbox.Options{})
	ctx := ctxT(t)
	cat := crm.DefaultCatalog()
	for _, u := range sandbox.DemoUsers() {
		c := env.client(t, u.Email)
		for _, rt := range cat.ChatTypes() {
			t.Run(rt.Name+" of "+u.LastName, func(t *testing.T) {
				want, err := c.Count(ctx, rt.EntitySet, crm.MyFilter(rt, u.ID, "").String())
				if err != nil {
					t.Fatal(err)
				}
				page, err := c.ListMy(ctx, rt, u.ID, "", 4)
				if err != nil {
					t.Fatal(err)
				}
				seen, pages := 0, 0
				for page != nil {
					pages++
					if len(page.Records) > 4 {
						t.Fatalf("page of %d records, max 4", len(page.Records))
					}
					for _, r := range page.Records {
						seen++
						if owner, ok := r.Lookup("ownerid"); !ok || owner.ID != u.ID || owner.Type != "systemuser" {
							t.Errorf("%s %s owned by %+v", rt.Name, r.ID, owner)
						}
						if st, ok := r.Int("statecode"); !ok || !rt.IsOpen(st) {
							t.Errorf("%s %s has statecode %v", rt.Name, r.ID, r.Values["statecode"])
						}
						if r.ID == "" || r.ETag == "" || r.Display(rt.PrimaryName) == "" {
							t.Errorf("record without id, etag or name: %+v", r)
						}
					}
					if page, err = c.NextPage(ctx, page); err != nil {
						t.Fatal(err)
					}
				}
				if seen != want {
					t.Errorf("listed %d records, Count says %d", seen, want)
				}
				if want > 4 && pages < 2 {
					t.Errorf("%d records in %d page(s): nextLink not followed", want, pages)
				}
			})
		}
	}
}

func TestSandboxSearchAndRead(t *testing.T) {
	env := newSandboxEnv(t, sandbox.Options{})
	ctx := ctxT(t)
	chloe := user(t, "sales", 0)
	c := env.client(t, chloe.Email)
	contact := recordType(t, "contact")

	id, err := c.Create(ctx, "contacts", map[string]any{"firstname": "Seán", "lastname": "O'Brien-Lefèvre", "jobtitle": "Chef d'équipe"})
	if err != nil {
		t.Fatal(err)
	}
	for _, search := range []string{"O'Brien", "o'brien-lef", "Lefèvre", "chef d'équipe"} {
		t.Run("search "+search, func(t *testing.T) {
			p, err := c.ListMy(ctx, contact, chloe.ID, search, 10)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(p.Records, func(r *crm.Record) bool { return r.ID == id }) {
				t.Fatalf("%q did not find the contact (%d records)", search, len(p.Records))
			}
		})
	}
	t.Run("LIKE wildcards in the search match literally", func(t *testing.T) {
		lit, err := c.Create(ctx, "contacts", map[string]any{"lastname": "Remise 50%_off"})
		if err != nil {
			t.Fatal(err)
		}
		for search, want := range map[string]bool{"50%_off": true, "50%": true, "5_%": false, "[5]0": false} {
			p, err := c.ListMy(ctx, contact, chloe.ID, search, 50)
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.ContainsFunc(p.Records, func(r *crm.Record) bool { return r.ID == lit }); got != want {
				t.Errorf("search %q found it: %v, want %v", search, got, want)
			}
		}
	})
	t.Run("search with a lone quote matches nothing and is no error", func(t *testing.T) {
		if _, err := c.ListMy(ctx, contact, chloe.ID, "'", 10); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("GetRecord with formatted values and lookups", func(t *testing.T) {
		opp := recordType(t, "opportunity")
		p, err := c.ListMy(ctx, opp, chloe.ID, "", 1)
		if err != nil || len(p.Records) == 0 {
			t.Fatalf("no opportunity: %v", err)
		}
		r, err := c.GetRecord(ctx, opp, p.Records[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		cust, ok := r.Lookup("customerid")
		if !ok || (cust.Type != "account" && cust.Type != "contact") || cust.Name == "" {
			t.Errorf("customer = %+v", cust)
		}
		if owner, _ := r.Lookup("ownerid"); owner.Name != chloe.FullName() {
			t.Errorf("owner = %+v", owner)
		}
		if r.Formatted["statecode"] != "Open" || r.Display("statuscode") == "1" {
			t.Errorf("formatted state %q status %q", r.Formatted["statecode"], r.Display("statuscode"))
		}
		if _, ok := r.Number("estimatedvalue"); !ok || r.Formatted["estimatedvalue"] == "" {
			t.Errorf("estimatedvalue %v formatted %q", r.Values["estimatedvalue"], r.Formatted["estimatedvalue"])
		}
		if _, ok := r.Time("estimatedclosedate"); !ok {
			t.Errorf("estimatedclosedate %v", r.Values["estimatedclosedate"])
		}
	})
	t.Run("Get of a missing record is NotFoundError", func(t *testing.T) {
		_, err := c.Get(ctx, "accounts", "00000000-0000-4000-8000-0000000000ff", crm.Query{Select: []string{"name"}})
		var nf *crm.NotFoundError
		if !errors.As(err, &nf) || !strings.Contains(nf.Message, "Does Not Exist") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("ListRelated contacts of an account", func(t *testing.T) {
		account := recordType(t, "account")
		for r, err := range c.All(ctx, "accounts", crm.Query{Select: []string{"accountid", "name"}}, 20) {
			if err != nil {
				t.Fatal(err)
			}
			n, err := c.Count(ctx, "contacts", crm.And(crm.Eq("_parentcustomerid_value", crm.GUID(r.ID)), crm.Eq("statecode", 0)).String())
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				continue
			}
			p, err := c.ListRelated(ctx, account, account.Related[0], r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Records) != min(n, account.Related[0].Top) {
				t.Fatalf("%d related contacts, want %d", len(p.Records), min(n, account.Related[0].Top))
			}
			for _, rc := range p.Records {
				if ref, _ := rc.Lookup("parentcustomerid"); ref.ID != r.ID {
					t.Errorf("contact %s points at %+v", rc.ID, ref)
				}
			}
			return
		}
		t.Fatal("no account with contacts")
	})
	t.Run("SearchRecords type-ahead", func(t *testing.T) {
		refs, err := c.SearchRecords(ctx, recordType(t, "competitor"), "léger", 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(refs) != 1 || refs[0].Name != "Concurrence Léger SA" || refs[0].Type != "competitor" {
			t.Fatalf("refs = %+v", refs)
		}
		users, err := c.SearchRecords(ctx, recordType(t, "systemuser"), "dubois", 5)
		if err != nil || len(users) != 1 || users[0].ID != chloe.ID {
			t.Fatalf("users = %+v, %v", users, err)
		}
	})
}

func TestSandboxWrites(t *testing.T) {
	env := newSandboxEnv(t, sandbox.Options{})
	ctx := ctxT(t)
	chloe, jonas := user(t, "sales", 0), user(t, "sales", 1)
	c := env.client(t, chloe.Email)
	account := recordType(t, "account")

	t.Run("Create returns the id", func(t *testing.T) {
		id, err := c.Create(ctx, "accounts", map[string]any{"name": "Brasserie Œuf & Cie"})
		if err != nil {
			t.Fatal(err)
		}
		r, ok := env.sb.Record("accounts", id)
		if !ok || r["name"] != "Brasserie Œuf & Cie" || r["_ownerid_value"] != chloe.ID {
			t.Fatalf("stored %v", r)
		}
	})
	t.Run("CreateReturning returns the record with a bound lookup", func(t *testing.T) {
		acc, err := c.Create(ctx, "accounts", map[string]any{"name": "Parent SA"})
		if err != nil {
			t.Fatal(err)
		}
		key, val, err := c.Bind(recordType(t, "opportunity"), "customerid", "account", acc)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.CreateReturning(ctx, "opportunities", map[string]any{"name": "Deal", key: val, "estimatedvalue": 1234.5},
			[]string{"opportunityid", "name", "_customerid_value", "estimatedvalue"})
		if err != nil {
			t.Fatal(err)
		}
		if r.ID == "" || r.ETag == "" || r.String("name") != "Deal" {
			t.Fatalf("record = %+v", r)
		}
		if ref, _ := r.Lookup("customerid"); ref.ID != acc || ref.Type != "account" {
			t.Errorf("customer = %+v", ref)
		}
	})
	t.Run("CreateIdempotent twice", func(t *testing.T) {
		const id = "b0b0b0b0-1111-4222-8333-444455556666"
		body := map[string]any{"subject": "Call back", "prioritycode": 2}
		created, err := c.CreateIdempotent(ctx, "tasks", id, body)
		if err != nil || !created {
			t.Fatalf("first = %v, %v", created, err)
		}
		created, err = c.CreateIdempotent(ctx, "tasks", id, body)
		if err != nil || created {
			t.Fatalf("second = %v, %v", created, err)
		}
	})
	t.Run("Update with the current etag, then a stale one is ConflictError", func(t *testing.T) {
		id, err := c.Create(ctx, "accounts", map[string]any{"name": "Versioned"})
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.GetRecord(ctx, account, id, "name")
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Update(ctx, "accounts", id, r.ETag, map[string]any{"telephone1": "+33 1 23 45 67 89"}); err != nil {
			t.Fatal(err)
		}
		err = c.Update(ctx, "accounts", id, r.ETag, map[string]any{"telephone1": "0"})
		var ce *crm.ConflictError
		if !errors.As(err, &ce) || !errors.Is(err, crm.ErrConflict) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Update without etag never creates", func(t *testing.T) {
		err := c.Update(ctx, "accounts", "00000000-0000-4000-8000-0000000000fe", "", map[string]any{"name": "x"})
		if !errors.Is(err, crm.ErrNotFound) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Update of someone else's record as a sales user is ForbiddenError", func(t *testing.T) {
		p, err := c.ListMy(ctx, account, jonas.ID, "", 1)
		if err != nil || len(p.Records) == 0 {
			t.Fatalf("no account of jonas: %v", err)
		}
		err = c.Update(ctx, "accounts", p.Records[0].ID, "", map[string]any{"name": "hijacked"})
		var fe *crm.ForbiddenError
		if !errors.As(err, &fe) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("unknown attribute is ValidationError", func(t *testing.T) {
		_, err := c.Create(ctx, "accounts", map[string]any{"name": "x", "nosuchfield": 1})
		var ve *crm.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(ve.Message, "nosuchfield") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Delete, then NotFoundError", func(t *testing.T) {
		id, err := c.Create(ctx, "tasks", map[string]any{"subject": "temp"})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx, "tasks", id, ""); err != nil {
			t.Fatal(err)
		}
		if err := c.Delete(ctx, "tasks", id, ""); !errors.Is(err, crm.ErrNotFound) {
			t.Fatalf("second delete: %v", err)
		}
	})
	t.Run("Assign to another user and to a team", func(t *testing.T) {
		id, err := c.Create(ctx, "leads", map[string]any{"subject": "Handover", "lastname": "Weiß"})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Assign(ctx, "leads", id, crm.OwnerUser, jonas.ID); err != nil {
			t.Fatal(err)
		}
		r, err := c.GetRecord(ctx, recordType(t, "lead"), id, "ownerid")
		if err != nil {
			t.Fatal(err)
		}
		if owner, _ := r.Lookup("ownerid"); owner.ID != jonas.ID || owner.Type != "systemuser" {
			t.Fatalf("owner = %+v", owner)
		}
		// Chloé no longer owns it: as Jonas, give it to the Sales team.
		if err := env.client(t, jonas.Email).Assign(ctx, "leads", id, crm.OwnerTeam, sandbox.SalesTeamID); err != nil {
			t.Fatal(err)
		}
		if rec, _ := env.sb.Record("leads", id); rec["_ownerid_value"] != sandbox.SalesTeamID {
			t.Fatalf("owner = %v", rec["_ownerid_value"])
		}
	})
}

// TestSandboxClose runs every closing action of the catalogue through Close.
func TestSandboxClose(t *testing.T) {
	env := newSandboxEnv(t, sandbox.Options{})
	ctx := ctxT(t)
	manager := user(t, "manager", 0)
	c := env.client(t, manager.Email)
	competitors, err := c.SearchRecords(ctx, recordType(t, "competitor"), "", 1)
	if err != nil || len(competitors) == 0 {
		t.Fatalf("no competitor: %v", err)
	}
	values := map[string]map[string]any{
		"incident/resolve":     {"subject": "Replaced the part", "timespent": 45, "description": "Done on site"},
		"opportunity/win":      {"actualrevenue": "125000.50", "actualend": "2026-11-20", "description": "Signed"},
		"opportunity/lose":     {"competitorid": competitors[0], "actualend": time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)},
		"lead/qualify":         {"CreateAccount": true, "CreateContact": true, "CreateOpportunity": true},
		"lead/disqualify":      nil,
		"task/complete":        nil,
		"task/cancel":          nil,
		"phonecall/complete":   nil,
		"phonecall/cancel":     nil,
		"appointment/complete": nil,
		"appointment/cancel":   nil,
	}
	used := map[string]bool{}
	for _, rt := range crm.DefaultCatalog().ChatTypes() {
		for _, action := range rt.ClosingActions() {
			for _, status := range action.Statuses {
				t.Run(rt.Name+"/"+action.Name+"/status "+strconv.Itoa(status), func(t *testing.T) {
					key := rt.Name + "/" + action.Name
					v, ok := values[key]
					if !ok {
						t.Fatalf("no test values for %s", key)
					}
					id := openRecord(t, c, rt, used)
					refs, err := c.Close(ctx, rt, id, action, status, v)
					if err != nil {
						t.Fatal(err)
					}
					r, err := c.GetRecord(ctx, rt, id, rt.List...)
					if err != nil {
						t.Fatal(err)
					}
					st, _ := r.Int("statecode")
					sc, _ := r.Int("statuscode")
					if st != action.State || sc != status {
						t.Errorf("state %d status %d, want %d %d", st, sc, action.State, status)
					}
					if action.Mechanism == crm.MechQualifyLead {
						var types []string
						for _, ref := range refs {
							types = append(types, ref.Type)
							if ref.ID == "" {
								t.Errorf("created %s without id", ref.Type)
							}
						}
						slices.Sort(types)
						if !slices.Equal(types, []string{"account", "contact", "opportunity"}) {
							t.Errorf("created %v", types)
						}
					}
					if action.Mechanism != crm.MechSetState { // re-setting the same state is allowed
						t.Run("closing again is ValidationError", func(t *testing.T) {
							_, err := c.Close(ctx, rt, id, action, status, v)
							if !errors.Is(err, crm.ErrValidation) {
								t.Fatalf("err = %v", err)
							}
						})
					}
				})
			}
		}
	}
	t.Run("a status of another action is refused before any request", func(t *testing.T) {
		rt := recordType(t, "task")
		if _, err := c.Close(ctx, rt, "00000000-0000-4000-8000-000000000001", rt.Closing["complete"], 6, nil); err == nil {
			t.Fatal("no error")
		}
	})
}

// openRecord returns an open record of rt not used yet (leads with a company name).
func openRecord(t *testing.T, c *crm.Client, rt *crm.RecordType, used map[string]bool) string {
	t.Helper()
	q := crm.Query{Select: rt.Select(rt.List...), Filter: rt.My.Filter}
	if rt.Name == "lead" {
		q.Filter = crm.And(crm.Raw(q.Filter), crm.Ne("companyname", nil)).String()
	}
	for r, err := range c.All(ctxT(t), rt.EntitySet, q, 50) {
		if err != nil {
			t.Fatal(err)
		}
		if !used[r.ID] {
			used[r.ID] = true
			return r.ID
		}
	}
	t.Fatalf("no open %s left", rt.Name)
	return ""
}

func TestSandboxChangeTracking(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	var clockMu sync.Mutex
	clock := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now }
	env := newSandboxEnv(t, sandbox.Options{Now: clock, DeltaTokenTTL: 7 * 24 * time.Hour, AccessTokenTTL: 30 * 24 * time.Hour, ChangeTrackingDisabled: []string{"phonecall"}})
	ctx := ctxT(t)
	app := env.client(t, "")
	chloe := user(t, "sales", 0)

	t.Run("start-up checks", func(t *testing.T) {
		var names []string
		for _, rt := range crm.DefaultCatalog().ChatTypes() {
			names = append(names, rt.Name)
		}
		missing, err := app.ChangeTrackingStatus(ctx, names)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(missing, []string{"phonecall"}) {
			t.Errorf("missing = %v", missing)
		}
		days, err := app.ChangeTrackingExpiryDays(ctx)
		if err != nil || days != 7 {
			t.Errorf("expiry = %d, %v", days, err)
		}
	})

	cols := []string{"accountid", "name", "_ownerid_value"}
	page, err := app.TrackChanges(ctx, "accounts", cols, 7)
	if err != nil {
		t.Fatal(err)
	}
	baseline, pages := map[string]bool{}, 0
	for {
		pages++
		for _, r := range page.Records {
			baseline[r.ID] = true
		}
		if page.NextLink == "" {
			break
		}
		if page, err = app.NextDelta(ctx, page); err != nil {
			t.Fatal(err)
		}
	}
	if len(baseline) != env.sb.CountRecords("accounts") || pages < 2 {
		t.Fatalf("baseline %d rows in %d pages, org has %d", len(baseline), pages, env.sb.CountRecords("accounts"))
	}
	if page.DeltaLink == "" {
		t.Fatal("last baseline page has no deltaLink")
	}
	firstLink := page.DeltaLink

	uc := env.client(t, chloe.Email)
	mine, err := uc.ListMy(ctx, recordType(t, "account"), chloe.ID, "", 2)
	if err != nil || len(mine.Records) < 2 {
		t.Fatalf("chloe's accounts: %v", err)
	}
	updated, deleted := mine.Records[0].ID, mine.Records[1].ID
	if err := uc.Update(ctx, "accounts", updated, mine.Records[0].ETag, map[string]any{"name": "Renamed Ltd"}); err != nil {
		t.Fatal(err)
	}
	if err := app.Delete(ctx, "accounts", deleted, ""); err != nil {
		t.Fatal(err)
	}
	delta, err := app.ReadDelta(ctx, firstLink, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(delta.Records) != 1 || delta.Records[0].ID != updated || delta.Records[0].String("name") != "Renamed Ltd" {
		t.Errorf("delta records = %+v", delta.Records)
	}
	if owner, _ := delta.Records[0].Lookup("ownerid"); owner.ID != chloe.ID {
		t.Errorf("delta owner = %+v", owner)
	}
	if !slices.Equal(delta.Deleted, []string{deleted}) {
		t.Errorf("deleted = %v", delta.Deleted)
	}
	if delta.DeltaLink == "" || delta.DeltaLink == firstLink {
		t.Errorf("new deltaLink = %q", delta.DeltaLink)
	}

	t.Run("expired token is ExpiredDeltaError", func(t *testing.T) {
		clockMu.Lock()
		now = now.Add(8 * 24 * time.Hour)
		clockMu.Unlock()
		_, err := app.ReadDelta(ctx, delta.DeltaLink, 100)
		var ee *crm.ExpiredDeltaError
		if !errors.As(err, &ee) || !errors.Is(err, crm.ErrExpiredDelta) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestSandboxFaults(t *testing.T) {
	env := newSandboxEnv(t, sandbox.Options{RecordsPerType: 5})
	ctx := ctxT(t)
	chloe := user(t, "sales", 0)

	t.Run("GET retried after a 429 with Retry-After", func(t *testing.T) {
		c := env.client(t, chloe.Email)
		env.sb.SetFaults(sandbox.Faults{Throttle429: 1, RetryAfter: time.Second})
		start := time.Now()
		if _, err := c.List(ctx, "accounts", crm.Query{Select: []string{"name"}}, 5); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Errorf("retried after %v", d)
		}
	})
	t.Run("POST throttled is ThrottledError and pauses a second client of the same user", func(t *testing.T) {
		c := env.client(t, chloe.Email)
		env.sb.SetFaults(sandbox.Faults{Throttle429: 1, RetryAfter: time.Second})
		_, err := c.Create(ctx, "tasks", map[string]any{"subject": "x"})
		var te *crm.ThrottledError
		if !errors.As(err, &te) || te.RetryAfter != time.Second || te.Code == "" {
			t.Fatalf("err = %v", err)
		}
		start := time.Now()
		if _, err := env.client(t, chloe.Email).WhoAmI(ctx); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 800*time.Millisecond {
			t.Errorf("second client did not wait: %v", d)
		}
	})
	t.Run("fail fast when the deadline is shorter than Retry-After", func(t *testing.T) {
		c := env.client(t, chloe.Email)
		env.sb.SetFaults(sandbox.Faults{Throttle429: 1, RetryAfter: 20 * time.Second})
		short, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.WhoAmI(short)
		if !errors.Is(err, crm.ErrThrottled) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v", d)
		}
		// Another user is unaffected.
		if _, err := env.client(t, user(t, "sales", 1).Email).WhoAmI(short); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("GET retried on 503", func(t *testing.T) {
		c := env.client(t, "")
		env.sb.SetFaults(sandbox.Faults{FailNext: 2, FailNextStatus: 503})
		if _, err := c.Count(ctx, "accounts", ""); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("POST not retried on 503", func(t *testing.T) {
		c := env.client(t, "")
		before := env.sb.CountRecords("tasks")
		env.sb.SetFaults(sandbox.Faults{FailNext: 1, FailNextStatus: 503})
		_, err := c.Create(ctx, "tasks", map[string]any{"subject": "once"})
		var api *crm.APIError
		if !errors.As(err, &api) || api.StatusCode != 503 {
			t.Fatalf("err = %v", err)
		}
		if after := env.sb.CountRecords("tasks"); after != before {
			t.Fatalf("tasks %d → %d", before, after)
		}
	})
}

func TestTeamMembers(t *testing.T) {
	e := newSandboxEnv(t, sandbox.Options{RecordsPerType: -1})
	c := e.client(t, "", crm.WithPageSize(1))
	got, err := c.TeamMembers(t.Context(), sandbox.SalesTeamID)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, u := range sandbox.DemoUsers() {
		if u.Role == "sales" || u.Role == "manager" {
			want = append(want, strings.ToLower(u.ID))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if len(got) == 0 || !slices.Equal(got, want) {
		t.Fatalf("members of Sales = %v, want %v", got, want)
	}
	if _, err := c.TeamMembers(t.Context(), "not-a-guid"); err == nil {
		t.Fatal("a non-GUID team id was sent")
	}
}
