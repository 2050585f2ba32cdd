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

// assertQueryError checks err is the *Error Dataverse would return.
func assertQueryError(t *testing.T, err error, want string) {
	t.Helper()
	qe, ok := err.(*Error)
	if !ok || qe.Code != CodeQuery || qe.Message != want {
		t.Errorf("error = %#v\nwant %s %q", err, CodeQuery, want)
	}
}

// assertOrder checks cmp(a, b) == want and that cmp is antisymmetric.
func assertOrder[T any](t *testing.T, cmp func(a, b T) int, a, b T, want int) {
	t.Helper()
	if got := cmp(a, b); got != want {
		t.Errorf("cmp(%v, %v) = %d, want %d", a, b, got, want)
	}
	if got := cmp(b, a); got != -want {
		t.Errorf("cmp(%v, %v) = %d, want %d", b, a, got, -want)
	}
}
