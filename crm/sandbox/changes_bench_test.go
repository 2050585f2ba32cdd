package sandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

// BenchmarkListPage5000 serves (and decodes) one full 5000-row page over HTTP.
func BenchmarkListPage5000(b *testing.B) {
	benchFirstPage(b, "accounts?$select=name,_ownerid_value,statecode,modifiedon")
}

// BenchmarkListFilterOrder filters 10,000 rows (a LIKE pattern, an integer
// and a GUID comparison), orders them by name and serves the first 5000: the
// path that query parsing, binding and evaluation are on.
func BenchmarkListFilterOrder(b *testing.B) {
	benchFirstPage(b, "accounts?$select=name,modifiedon&$filter="+
		url.QueryEscape("contains(name,'00') and statecode eq 0 and _ownerid_value eq "+chloe.ID)+
		"&$orderby="+url.QueryEscape("name desc"))
}

// benchFirstPage seeds 10,000 accounts and measures serving (and decoding)
// the first 5000-row page of path.
func benchFirstPage(b *testing.B, path string) {
	env := newOrgEnv(b, Options{RecordsPerType: -1})
	if _, err := env.sb.SeedBulk("accounts", 10_000, chloe.ID); err != nil {
		b.Fatal(err)
	}
	env.token(b, asApp)
	b.ResetTimer()
	for b.Loop() {
		r := env.do(b, asApp, http.MethodGet, path, nil, "Prefer", "odata.maxpagesize=5000")
		var page struct {
			Value []map[string]any `json:"value"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil || len(page.Value) != 5000 {
			b.Fatalf("page: %v (%d rows)", err, len(page.Value))
		}
	}
}

// BenchmarkDelta100k reads and decodes a 100,000-change delta (20 pages of 5000).
func BenchmarkDelta100k(b *testing.B) {
	env := newOrgEnv(b, Options{RecordsPerType: -1})
	_, delta := env.readTracked(b, asApp, "accounts?$select=name,_ownerid_value", "")
	if _, err := env.sb.SeedBulk("accounts", 100_000, chloe.ID); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		n := 0
		next := delta
		for next != "" {
			r := env.do(b, asApp, http.MethodGet, next, nil, "Prefer", "odata.maxpagesize=5000")
			var page struct {
				Value []map[string]any `json:"value"`
				Next  string           `json:"@odata.nextLink"`
			}
			if err := json.Unmarshal(r.Body, &page); err != nil {
				b.Fatal(err)
			}
			n += len(page.Value)
			next = page.Next
		}
		if n != 100_000 {
			b.Fatalf("changes = %d", n)
		}
	}
}

// BenchmarkDeltaPage100k serves one 100-row page from the middle of a
// 100,000-change delta: its cost should be the page's, not the delta's.
func BenchmarkDeltaPage100k(b *testing.B) {
	env := newOrgEnv(b, Options{RecordsPerType: -1})
	_, delta := env.readTracked(b, asApp, "accounts?$select=name", "")
	if _, err := env.sb.SeedBulk("accounts", 100_000, chloe.ID); err != nil {
		b.Fatal(err)
	}
	next := delta
	for range 10 { // 10 pages of 5000: halfway
		r := env.do(b, asApp, http.MethodGet, next, nil, "Prefer", "odata.maxpagesize=5000")
		var page struct {
			Next string `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil || page.Next == "" {
			b.Fatalf("page: %v %s", err, truncate(string(r.Body), 200))
		}
		next = page.Next
	}
	b.ResetTimer()
	for b.Loop() {
		r := env.do(b, asApp, http.MethodGet, next, nil, "Prefer", "odata.maxpagesize=100")
		var page struct {
			Value []json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil || len(page.Value) != 100 {
			b.Fatalf("page: %v (%d rows)", err, len(page.Value))
		}
	}
}
