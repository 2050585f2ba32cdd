package adaptive

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// pretty is a card as the golden files hold it: indented, without HTML
// escapes (the same JSON value json.Marshal sends).
func pretty(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	for lang, w := range map[string]words{"en": english, "fr": french} {
		views := samples(w)
		names := make([]string, 0, len(views))
		for n := range views {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			t.Run(name+"_"+lang, func(t *testing.T) {
				c, err := Render(views[name], Options{})
				if err != nil {
					t.Fatal(err)
				}
				got := pretty(t, c)
				path := filepath.Join("testdata", name+"_"+lang+".golden.json")
				if *update {
					if err := os.WriteFile(path, got, 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./cards/adaptive -update)", err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("%s differs from the rendering (go test ./cards/adaptive -update rewrites it); got:\n%s", path, got)
				}
			})
		}
	}
}

// TestGoldenFilesHaveAView keeps testdata free of stale cards the e2e
// validator would still check.
func TestGoldenFilesHaveAView(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.json")
	want := map[string]bool{}
	for n := range samples(english) {
		want[n+"_en.golden.json"], want[n+"_fr.golden.json"] = true, true
	}
	for _, f := range files {
		if !want[filepath.Base(f)] {
			t.Errorf("%s: no sample view renders it; delete it", f)
		}
	}
}
