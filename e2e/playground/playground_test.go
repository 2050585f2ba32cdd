package playground

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the committed "+ConfigFileName)

// The committed config is what the harness writes for the demo user, so
// running the playground by hand in this directory (npx agentsplayground)
// shows the tenant the tests use, and a change to the sandbox's users shows here.
func TestCommittedConfig(t *testing.T) {
	want, err := configYAML(DemoUser, DemoBot)
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(ConfigFileName, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(ConfigFileName)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale; run go test ./e2e/playground -run TestCommittedConfig -update\ngot:\n%s\nwant:\n%s", ConfigFileName, got, want)
	}
}

func TestConfigYAMLOtherUser(t *testing.T) {
	y, err := configYAML(User{AADObjectID: "c0ffee00-2222-4a2b-8c3d-000000000002"}.withDefaults(), DemoBot)
	if err != nil {
		t.Fatal(err)
	}
	// The playground requires exactly five other users with distinct ids.
	if n := bytes.Count(y, []byte("aadObjectId: c0ffee00-2222-4a2b-8c3d-000000000002")); n != 1 {
		t.Errorf("the current user appears %d times:\n%s", n, y)
	}
	if !bytes.Contains(y, []byte("currentUser:\n  id: 29:c0ffee00-2222-4a2b-8c3d-000000000002\n  name: Seán O'Brien\n")) {
		t.Errorf("Seán is not the current user:\n%s", y)
	}
	if n := bytes.Count(y, []byte("\n  - id: ")); n != 5 {
		t.Errorf("%d other users, want 5:\n%s", n, y)
	}
}

const testCard = `{"type":"AdaptiveCard","version":"1.5","body":[
 {"type":"TextBlock","text":"Lead: Contoso"},
 {"type":"FactSet","facts":[{"title":"Status","value":"Qualified"}]},
 {"type":"Container","items":[{"type":"Input.Text","id":"note","label":"Note"}]},
 {"type":"ActionSet","actions":[{"type":"Action.Submit","title":"Open","data":{"msteams":{"type":"task/fetch"}}}]}],
 "actions":[{"type":"Action.Execute","title":"Win","verb":"win","data":{"lead":"1"}}]}`

func TestCard(t *testing.T) {
	c := ParseCard(json.RawMessage(testCard))
	if got, want := c.Text(), "Lead: Contoso\nStatus\nQualified\nNote\n"; got != want {
		t.Errorf("Text() = %q, want %q", got, want)
	}
	for _, tc := range []struct {
		title, typ, verb string
		ok               bool
	}{
		{"Win", "Action.Execute", "win", true},
		{"Open", "Action.Submit", "", true},
		{"Lose", "", "", false},
	} {
		t.Run(tc.title, func(t *testing.T) {
			a, ok := c.Action(tc.title)
			if ok != tc.ok || a.Type != tc.typ || a.Verb != tc.verb {
				t.Errorf("Action(%q) = %+v, %v", tc.title, a, ok)
			}
		})
	}
	if ParseCard(json.RawMessage(`"text"`)) != nil {
		t.Error("ParseCard accepted a string")
	}
}

func TestXPathString(t *testing.T) {
	for in, want := range map[string]string{
		`Win`:          `"Win"`,
		`Say "hi"`:     `'Say "hi"'`,
		`O'Brien "jr"`: `concat("O'Brien ", '"', "jr", '"', "")`,
	} {
		if got := xpathString(in); got != want {
			t.Errorf("xpathString(%q) = %s, want %s", in, got, want)
		}
	}
}
