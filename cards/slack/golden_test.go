package slack

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	goslack "github.com/slack-go/slack"

	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/internal/golden"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// renderSample renders a sample as Slack would receive it.
func renderSample(t *testing.T, s sample) any {
	t.Helper()
	if s.modal {
		m, err := ModalOf(s.view, Options{})
		if err != nil {
			t.Fatalf("ModalOf: %v", err)
		}
		return m
	}
	blocks, err := Blocks(s.view, Options{})
	if err != nil {
		t.Fatalf("Blocks: %v", err)
	}
	return goslack.Blocks{BlockSet: blocks}
}

// canonical is v's JSON, decoded and re-encoded: sorted keys, indented,
// with &, <, > left readable so the golden files show the escaping.
func canonical(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(generic); err != nil {
		t.Fatalf("encode: %v", err)
	}
	return buf.Bytes()
}

func TestGolden(t *testing.T) {
	for _, lang := range []texts{english, french} {
		for _, s := range samples(lang) {
			name := s.name + "_" + lang.lang
			t.Run(name, func(t *testing.T) {
				got := canonical(t, renderSample(t, s))
				path := filepath.Join("testdata", name+".golden.json")
				golden.Check(t, path, got, *update, "./cards/slack")
			})
		}
	}
}

// TestGoldenRoundTrip: every golden file decodes into slack-go's types and
// encodes back to the same JSON, so nothing we send is unknown to them.
func TestGoldenRoundTrip(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * len(samples(english)); len(files) != want {
		t.Fatalf("%d golden files, want %d", len(files), want)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if bytes.HasPrefix(bytes.TrimSpace(data), []byte("[")) {
				v = &goslack.Blocks{}
			} else {
				v = &goslack.ModalViewRequest{}
			}
			if err := json.Unmarshal(data, v); err != nil {
				t.Fatalf("unmarshal into %T: %v", v, err)
			}
			var want, got any
			if err := json.Unmarshal(data, &want); err != nil {
				t.Fatal(err)
			}
			again, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(again, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip through %T changed the JSON:\n%s", v, again)
			}
		})
	}
}

func TestSearchBlockIDFollowsTheQuery(t *testing.T) {
	id := func(q string) string {
		b, err := searchInput(&cards.SearchBox{ActionID: "search", State: "t=lead", Value: q})
		if err != nil {
			t.Fatal(err)
		}
		return b.(*goslack.InputBlock).BlockID
	}
	if id("acme") == id("lyon") || id("acme") != id("acme") || id("") != SearchBlockPrefix+"t=lead" {
		t.Fatalf("block ids: %q %q %q: want one per query, stable, and the bare state without one", id("acme"), id("lyon"), id(""))
	}
	for _, q := range []string{"", "acme", "l'Oréal #1"} {
		if st, ok := SearchState(id(q)); !ok || st != "t=lead" {
			t.Errorf("SearchState(%q) = %q %v, want t=lead", id(q), st, ok)
		}
	}
}
