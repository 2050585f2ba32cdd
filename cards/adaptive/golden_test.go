package adaptive

import (
	"bytes"
	"encoding/json"
	"flag"
	"path/filepath"
	"sort"
	"testing"

	"github.com/crmbot/crmbot/internal/golden"
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
				golden.Check(t, path, got, *update, "./cards/adaptive")
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
