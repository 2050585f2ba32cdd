package sandbox

import (
	"net/http"
	"net/url"
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
