package sandbox

import (
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// readAll follows nextLinks from path and returns the rows and the final deltaLink.
func (e *orgEnv) readTracked(tb testing.TB, who, path string, pageSize string) ([]map[string]any, string) {
	tb.Helper()
	var rows []map[string]any
	next := path
	for {
		headers := []string{"Prefer", "odata.track-changes"}
		if pageSize != "" {
			headers = append(headers, "Prefer", "odata.maxpagesize="+pageSize)
		}
		r := must(tb, e.do(tb, who, http.MethodGet, next, nil, headers...), http.StatusOK)
		if !strings.Contains(r.Header.Get("Preference-Applied"), "odata.track-changes") {
			tb.Fatalf("Preference-Applied = %q", r.Header.Get("Preference-Applied"))
		}
		m := r.JSON(tb)
		for _, v := range m["value"].([]any) {
			rows = append(rows, v.(map[string]any))
		}
		if n, ok := m["@odata.nextLink"].(string); ok {
			next = n
			continue
		}
		d, _ := m["@odata.deltaLink"].(string)
		if d == "" {
			tb.Fatalf("last page without deltaLink: %v", m)
		}
		return rows, d
	}
}

func TestChangeTracking(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: 25})
	baseline, delta := env.readTracked(t, asApp, "accounts?$select=name,_ownerid_value", "10")
	t.Run("baseline returns every record and a deltaLink", func(t *testing.T) {
		if len(baseline) != 25 {
			t.Fatalf("baseline rows = %d", len(baseline))
		}
		u, err := url.Parse(delta)
		if err != nil {
			t.Fatal(err)
		}
		tok := u.Query().Get("$deltatoken")
		if _, _, err := parseDeltaToken(tok); err != nil || !strings.Contains(delta, "%21") {
			t.Fatalf("deltatoken %q in %s: %v", tok, delta, err)
		}
	})
	t.Run("no changes: empty delta, new link", func(t *testing.T) {
		r := must(t, env.do(t, asApp, http.MethodGet, delta, nil), http.StatusOK)
		m := r.JSON(t)
		if len(m["value"].([]any)) != 0 || m["@odata.deltaLink"] == nil {
			t.Fatalf("delta = %v", m)
		}
		if !strings.HasSuffix(m["@odata.context"].(string), "#accounts(name,_ownerid_value)/$delta") {
			t.Fatalf("context = %v", m["@odata.context"])
		}
	})
	ids := env.sb.RecordIDs("accounts")
	created := idFromEntityID(t, must(t, env.do(t, chloe.Email, http.MethodPost, "accounts", map[string]any{"name": "Nouveau"}), 204).Header)
	for i := range 3 { // updated several times: reported once
		must(t, env.do(t, manager.Email, http.MethodPatch, "accounts("+ids[0]+")", map[string]any{"name": "Renamed " + string(rune('A'+i))}), 204)
	}
	if err := env.sb.Assign("accounts", ids[1], sean.ID, Principal{UserID: manager.ID}); err != nil {
		t.Fatal(err)
	}
	must(t, env.do(t, manager.Email, http.MethodDelete, "accounts("+ids[2]+")", nil), 204)
	t.Run("delta: upserts once in current state, then deletions", func(t *testing.T) {
		rows, next := env.readTracked(t, asApp, delta, "")
		if len(rows) != 4 {
			t.Fatalf("rows = %v", rows)
		}
		got := map[string]map[string]any{}
		for i, r := range rows {
			if ctx, _ := r["@odata.context"].(string); strings.HasSuffix(ctx, "#accounts/$deletedEntity") {
				if i != len(rows)-1 || r["id"] != ids[2] || r["reason"] != "deleted" {
					t.Fatalf("deleted entry = %v at %d", r, i)
				}
				continue
			}
			got[r["accountid"].(string)] = r
		}
		if got[ids[0]]["name"] != "Renamed C" || got[ids[1]]["_ownerid_value"] != sean.ID || got[created]["name"] != "Nouveau" {
			t.Fatalf("upserts = %v", got)
		}
		if _, has := got[ids[0]]["telephone1"]; has {
			t.Fatal("delta returned unselected columns")
		}
		delta = next
	})
	t.Run("large delta pages with nextLink", func(t *testing.T) {
		for i := range 23 {
			must(t, env.do(t, asApp, http.MethodPost, "accounts", map[string]any{"name": "Bulk " + string(rune('a'+i))}), 204)
		}
		rows, next := env.readTracked(t, asApp, delta, "5")
		if len(rows) != 23 {
			t.Fatalf("rows = %d", len(rows))
		}
		delta = next
	})
	t.Run("track-changes rejects other query options", func(t *testing.T) {
		for _, q := range []string{"$filter=" + url.QueryEscape("statecode eq 0"), "$orderby=name", "$top=5", "$expand=ownerid"} {
			must(t, env.do(t, asApp, http.MethodGet, "accounts?$select=name&"+q, nil, "Prefer", "odata.track-changes"), http.StatusBadRequest)
		}
	})
	t.Run("expired token", func(t *testing.T) {
		env.sb.ExpireDeltaTokens()
		wantError(t, env.do(t, asApp, http.MethodGet, delta, nil), http.StatusBadRequest, "0x80044352",
			"Version stamp associated with the client has expired. Please perform a full sync.")
	})
	t.Run("garbage token", func(t *testing.T) {
		must(t, env.do(t, asApp, http.MethodGet, "accounts?$select=name&$deltatoken=nope", nil), http.StatusBadRequest)
	})
}

func TestFaults(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: -1})
	env.sb.SetFaults(Faults{Throttle429: 2, RetryAfter: 3 * time.Second})
	for range 2 {
		r := env.do(t, asApp, http.MethodGet, "WhoAmI", nil)
		wantError(t, r, http.StatusTooManyRequests, "0x80072322", "Number of requests exceeded the limit of 6000 over time window of 300 seconds.")
		if r.Header.Get("Retry-After") != "3" {
			t.Fatalf("Retry-After = %q", r.Header.Get("Retry-After"))
		}
	}
	must(t, env.do(t, asApp, http.MethodGet, "WhoAmI", nil), http.StatusOK)
	env.sb.SetFaults(Faults{FailNext: 1, FailNextStatus: http.StatusServiceUnavailable})
	must(t, env.do(t, asApp, http.MethodGet, "WhoAmI", nil), http.StatusServiceUnavailable)
	must(t, env.do(t, asApp, http.MethodGet, "WhoAmI", nil), http.StatusOK)
	env.sb.SetFaults(Faults{Latency: 30 * time.Millisecond})
	start := time.Now()
	must(t, env.do(t, asApp, http.MethodGet, "WhoAmI", nil), http.StatusOK)
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("latency not applied")
	}
}

func TestConcurrentUse(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: 10})
	_, delta := env.readTracked(t, asApp, "contacts?$select=fullname", "")
	for _, who := range []string{chloe.Email, jonas.Email, asApp} {
		env.token(t, who)
	}
	done := make(chan struct{})
	for g := range 6 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 15 {
				switch (g + i) % 3 {
				case 0:
					env.do(t, chloe.Email, http.MethodPost, "contacts", map[string]any{"lastname": "Conc"})
				case 1:
					env.do(t, jonas.Email, http.MethodGet, "contacts?$select=fullname&$orderby=fullname", nil, "Prefer", "odata.maxpagesize=4")
				default:
					env.do(t, asApp, http.MethodGet, delta, nil)
				}
			}
		}()
	}
	for range 6 {
		<-done
	}
	rows, _ := env.readTracked(t, asApp, delta, "7")
	if len(rows) != 30 {
		t.Fatalf("delta rows = %d, want 30 creates", len(rows))
	}
}

// deltaTokenOf returns the $deltatoken of a deltaLink.
func deltaTokenOf(tb testing.TB, link string) string {
	tb.Helper()
	u, err := url.Parse(link)
	if err != nil {
		tb.Fatal(err)
	}
	return u.Query().Get("$deltatoken")
}

// deltaIDs reads a whole delta (following nextLinks) and returns its entries
// as "+id" (new/updated) or "-id" (deleted), and the next deltaLink.
func (e *orgEnv) deltaIDs(tb testing.TB, link, key, pageSize string) ([]string, string) {
	tb.Helper()
	rows, next := e.readTracked(tb, asApp, link, pageSize)
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		if r["reason"] == "deleted" {
			out = append(out, "-"+r["id"].(string))
		} else {
			out = append(out, "+"+r[key].(string))
		}
	}
	return out, next
}

// TestDeltaWritesDuringPaging: the upper bound of a delta is fixed at its
// first page, so writes between pages neither duplicate nor lose changes.
func TestDeltaWritesDuringPaging(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: -1})
	_, delta := env.readTracked(t, asApp, "accounts?$select=name", "")
	var ids []string
	for _, n := range []string{"A", "B", "C", "D"} {
		ids = append(ids, idFromEntityID(t, must(t, env.do(t, chloe.Email, http.MethodPost, "accounts", map[string]any{"name": n}), 204).Header))
	}
	r := must(t, env.do(t, asApp, http.MethodGet, delta, nil, "Prefer", "odata.maxpagesize=2"), http.StatusOK)
	m := r.JSON(t)
	if v := m["value"].([]any); len(v) != 2 || v[0].(map[string]any)["accountid"] != ids[0] || v[1].(map[string]any)["accountid"] != ids[1] {
		t.Fatalf("page 1 = %v", m)
	}
	next, _ := m["@odata.nextLink"].(string)
	if next == "" {
		t.Fatalf("page 1 without nextLink: %v", m)
	}
	// Between pages: C updated, D deleted, E created.
	must(t, env.do(t, chloe.Email, http.MethodPatch, "accounts("+ids[2]+")", map[string]any{"name": "C2"}), 204)
	must(t, env.do(t, chloe.Email, http.MethodDelete, "accounts("+ids[3]+")", nil), 204)
	created := idFromEntityID(t, must(t, env.do(t, chloe.Email, http.MethodPost, "accounts", map[string]any{"name": "E"}), 204).Header)
	rows, delta2 := env.readTracked(t, asApp, next, "2")
	// C in its current state; D (created in range, deleted after) is left to the next delta; E is after upto.
	if len(rows) != 1 || rows[0]["accountid"] != ids[2] || rows[0]["name"] != "C2" {
		t.Fatalf("rest of the delta = %v", rows)
	}
	got, _ := env.deltaIDs(t, delta2, "accountid", "")
	want := []string{"+" + ids[2], "+" + created, "-" + ids[3]}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("next delta = %v, want %v", got, want)
	}
}

// referenceDelta is the obvious O(n) statement of a delta over (from, upto]:
// the last change of each id in range; upserts (rows that still exist) in
// log order, then deletions in log order.
func referenceDelta(o *org, entity string, from, upto int64) []string {
	o.mu.RLock()
	defer o.mu.RUnlock()
	tb := o.tables[entity]
	last := map[string]int{}
	for i, c := range tb.log {
		if c.version > from && c.version <= upto {
			last[c.id] = i
		}
	}
	var ups, dels []string
	for i, c := range tb.log {
		if c.version <= from || c.version > upto || last[c.id] != i {
			continue
		}
		if c.deleted {
			dels = append(dels, "-"+c.id)
		} else if _, ok := tb.rows[c.id]; ok {
			ups = append(ups, "+"+c.id)
		}
	}
	return append(ups, dels...)
}

// TestDeltaMatchesReference runs random creates, updates, deletes and
// re-creations (upserts of deleted ids) and checks every paged delta against
// referenceDelta.
func TestDeltaMatchesReference(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: -1})
	_, delta := env.readTracked(t, asApp, "contacts?$select=lastname", "")
	rng := rand.New(rand.NewPCG(7, 11))
	var live, dead []string
	for round := range 12 {
		for range 1 + rng.IntN(40) {
			switch k := rng.IntN(10); {
			case k < 4 || len(live) == 0:
				id := idFromEntityID(t, must(t, env.do(t, asApp, http.MethodPost, "contacts", map[string]any{"lastname": "R"}), 204).Header)
				live = append(live, id)
			case k < 7:
				id := live[rng.IntN(len(live))]
				must(t, env.do(t, asApp, http.MethodPatch, "contacts("+id+")", map[string]any{"lastname": "U" + strconv.Itoa(round)}, "If-Match", "*"), 204)
			case k < 9:
				i := rng.IntN(len(live))
				must(t, env.do(t, asApp, http.MethodDelete, "contacts("+live[i]+")", nil), 204)
				dead = append(dead, live[i])
				live = slices.Delete(live, i, i+1)
			case len(dead) > 0: // upsert re-creates a deleted id
				i := rng.IntN(len(dead))
				must(t, env.do(t, asApp, http.MethodPatch, "contacts("+dead[i]+")", map[string]any{"lastname": "Again"}), 204)
				live = append(live, dead[i])
				dead = slices.Delete(dead, i, i+1)
			}
		}
		from, _, err := parseDeltaToken(deltaTokenOf(t, delta))
		if err != nil {
			t.Fatal(err)
		}
		got, next := env.deltaIDs(t, delta, "contactid", strconv.Itoa(1+rng.IntN(7)))
		upto, _, err := parseDeltaToken(deltaTokenOf(t, next))
		if err != nil {
			t.Fatal(err)
		}
		if want := referenceDelta(env.sb.org, "contact", from, upto); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("round %d: delta (%d, %d]\n got %v\nwant %v", round, from, upto, got, want)
		}
		checkChangeLog(t, env.sb.org, "contact")
		delta = next
	}
}

// checkChangeLog verifies the change log's invariants: versions ascending,
// supersededBy naming the id's next change, latest and deletes matching the log.
func checkChangeLog(tb testing.TB, o *org, entity string) {
	tb.Helper()
	o.mu.RLock()
	defer o.mu.RUnlock()
	t := o.tables[entity]
	x := &t.logx
	next := map[string]int64{} // id → version of its next change, walking backwards
	var deletes []int
	for i := len(t.log) - 1; i >= 0; i-- {
		c := t.log[i]
		if i > 0 && t.log[i-1].version >= c.version {
			tb.Fatalf("%s log not ascending at %d", entity, x.base+i)
		}
		if c.supersededBy != next[c.id] {
			tb.Fatalf("%s log[%d] (%s) supersededBy = %d, want %d", entity, x.base+i, c.id, c.supersededBy, next[c.id])
		}
		if c.supersededBy == 0 && x.latest[c.id] != x.base+i {
			tb.Fatalf("%s latest[%s] = %d, want %d", entity, c.id, x.latest[c.id], x.base+i)
		}
		next[c.id] = c.version
		if c.deleted {
			deletes = append(deletes, x.base+i)
		}
	}
	if len(x.latest) != len(next) {
		tb.Fatalf("%s latest has %d ids, the log %d", entity, len(x.latest), len(next))
	}
	slices.Reverse(deletes)
	if !slices.Equal(deletes, x.deletes) {
		tb.Fatalf("%s deletes = %v, want %v", entity, x.deletes, deletes)
	}
	if len(t.log) > 0 && t.log[0].version <= x.floor {
		tb.Fatalf("%s floor %d not below the log's first version %d", entity, x.floor, t.log[0].version)
	}
}

// TestChangeLogTrim: entries older than DeltaTokenTTL leave the log (memory
// stays bounded), valid tokens still read their changes, and a delta whose
// entries were trimmed mid-read answers 0x80044352 instead of losing changes.
func TestChangeLogTrim(t *testing.T) {
	const ttl = time.Hour
	env := newOrgEnv(t, Options{RecordsPerType: 3, DeltaTokenTTL: ttl})
	o := env.sb.org
	logLen := func() (int, int) {
		o.mu.RLock()
		defer o.mu.RUnlock()
		tb := o.tables["account"]
		return len(tb.log), tb.logx.base
	}
	create := func(name string) string {
		return idFromEntityID(t, must(t, env.do(t, chloe.Email, http.MethodPost, "accounts", map[string]any{"name": name}), 204).Header)
	}
	_, d0 := env.readTracked(t, asApp, "accounts?$select=name", "")
	for _, n := range []string{"Old 1", "Old 2", "Old 3"} {
		create(n)
	}
	before, _ := logLen()
	env.sb.AdvanceClock(ttl + time.Minute)
	_, d1 := env.readTracked(t, asApp, "accounts?$select=name", "")
	x := create("New")

	t.Run("a write trims entries older than the TTL", func(t *testing.T) {
		n, base := logLen()
		if n != 1 || base != before {
			t.Fatalf("log = %d entries from %d, want 1 from %d", n, base, before)
		}
		checkChangeLog(t, o, "account")
	})
	t.Run("tokens: the old one is expired, the new one reads its change", func(t *testing.T) {
		wantError(t, env.do(t, asApp, http.MethodGet, d0, nil), http.StatusBadRequest, "0x80044352", "Version stamp associated with the client has expired.")
		got, _ := env.deltaIDs(t, d1, "accountid", "")
		if strings.Join(got, " ") != "+"+x {
			t.Fatalf("delta = %v, want [+%s]", got, x)
		}
	})
	t.Run("a delta whose entries are trimmed mid-read is expired", func(t *testing.T) {
		_, d2 := env.readTracked(t, asApp, "accounts?$select=name", "")
		for _, n := range []string{"A", "B", "C"} {
			create(n)
		}
		m := must(t, env.do(t, asApp, http.MethodGet, d2, nil, "Prefer", "odata.maxpagesize=1"), http.StatusOK).JSON(t)
		next, _ := m["@odata.nextLink"].(string)
		if next == "" {
			t.Fatalf("page 1 = %v", m)
		}
		env.sb.AdvanceClock(ttl + time.Minute)
		create("Trims A, B and C")
		wantError(t, env.do(t, asApp, http.MethodGet, next, nil, "Prefer", "odata.maxpagesize=1"), http.StatusBadRequest, "0x80044352", "")
		checkChangeLog(t, o, "account")
	})
	t.Run("steady writes keep the log to the TTL's worth", func(t *testing.T) {
		id := create("Hot")
		var delta string
		for i := range 400 {
			if i == 390 {
				_, delta = env.readTracked(t, asApp, "accounts?$select=name", "")
			}
			must(t, env.do(t, asApp, http.MethodPatch, "accounts("+id+")", map[string]any{"name": "Hot " + strconv.Itoa(i)}, "If-Match", "*"), 204)
			env.sb.AdvanceClock(ttl / 50)
		}
		n, _ := logLen()
		o.mu.RLock()
		dead, latest := o.tables["account"].logx.dead, len(o.tables["account"].logx.latest)
		o.mu.RUnlock()
		if n > 52 || dead > n || latest != 1 {
			t.Fatalf("log = %d entries (%d dead, %d ids), want ≤ 52, dead ≤ live, 1 id", n, dead, latest)
		}
		checkChangeLog(t, o, "account")
		got, _ := env.deltaIDs(t, delta, "accountid", "")
		if strings.Join(got, " ") != "+"+id {
			t.Fatalf("delta = %v", got)
		}
	})
	t.Run("a rolled-back change set that trimmed keeps the log consistent", func(t *testing.T) {
		_, d3 := env.readTracked(t, asApp, "accounts?$select=name", "")
		env.sb.AdvanceClock(ttl + time.Minute)
		bad := strings.ReplaceAll(`--batch_t
Content-Type: multipart/mixed; boundary=cs_t

--cs_t
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 1

POST /api/data/v9.2/accounts HTTP/1.1
Content-Type: application/json

{"name":"Rolled back"}
--cs_t
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 2

POST /api/data/v9.2/accounts HTTP/1.1
Content-Type: application/json

{"nope":"x"}
--cs_t--
--batch_t--
`, "\n", "\r\n")
		must(t, env.do(t, chloe.Email, http.MethodPost, "$batch", bad, "Content-Type", "multipart/mixed; boundary=batch_t"), http.StatusBadRequest)
		checkChangeLog(t, o, "account")
		wantError(t, env.do(t, asApp, http.MethodGet, d3, nil), http.StatusBadRequest, "0x80044352", "")
		_, d4 := env.readTracked(t, asApp, "accounts?$select=name", "")
		y := create("After the rollback")
		checkChangeLog(t, o, "account")
		if got, _ := env.deltaIDs(t, d4, "accountid", ""); strings.Join(got, " ") != "+"+y {
			t.Fatalf("delta = %v", got)
		}
	})
}
