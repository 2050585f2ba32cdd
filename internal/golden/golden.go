// Package golden compares rendered output with a golden file, or rewrites
// the file when the test runs with -update.
package golden

import (
	"bytes"
	"os"
	"testing"
)

// Check fails t when got differs from the file at path; with update it
// writes got to path instead. pkg names the package in the hint
// ("./cards/slack").
func Check(t testing.TB, path string, got []byte, update bool, pkg string) {
	t.Helper()
	if update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test %s -update)", err, pkg)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the rendering (go test %s -update rewrites it); got:\n%s", path, pkg, got)
	}
}
