package odata

import (
	"testing"
	"time"
)

func mustDate(t testing.TB, s string) time.Time {
	t.Helper()
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func mustParse(t testing.TB, s string) Expr {
	t.Helper()
	e, err := ParseFilter(s)
	if err != nil {
		t.Fatalf("ParseFilter(%q): %v", s, err)
	}
	return e
}

func fixedZone(hours int) *time.Location { return time.FixedZone("", hours*3600) }
