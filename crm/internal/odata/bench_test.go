package odata

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchRecords builds n account-like rows shaped as the sandbox stores them.
func benchRecords(n int) []Record {
	recs := make([]Record, n)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range recs {
		recs[i] = MapRecord{
			"name":           fmt.Sprintf("Account %d Contoso", i),
			"statecode":      int64(i % 2),
			"revenue":        float64(i%1000) * 10.5,
			"_ownerid_value": fmt.Sprintf("%08x-0000-4000-8000-%012x", i%7, i%7),
			"createdon":      base.Add(time.Duration(i) * time.Minute),
			"telephone1":     nil,
		}
	}
	return recs
}

func BenchmarkEval100k(b *testing.B) {
	recs := benchRecords(100_000)
	owner := strings.ToUpper("00000003-0000-4000-8000-000000000003")
	for _, f := range []string{
		"statecode eq 0",
		"contains(name,'CONTOSO') and statecode eq 0",
		"_ownerid_value eq " + owner + " and (revenue gt 5000 or telephone1 ne null)",
		"createdon ge 2026-02-01T00:00:00Z and not startswith(name,'account 1')",
	} {
		e := mustParse(b, f)
		b.Run(f, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				for _, r := range recs {
					if ok, _ := e.Eval(r); ok {
						n++
					}
				}
			}
		})
	}
}

func BenchmarkParseFilter(b *testing.B) {
	const f = "statecode eq 0 and (contains(name,'O''Brien') or _ownerid_value eq 0b8d1b5a-1234-4321-abcd-0123456789ab) and createdon ge 2026-11-24T15:04:05Z"
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFilter(f); err != nil {
			b.Fatal(err)
		}
	}
}
