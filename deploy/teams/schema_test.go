package teamsapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/crmbot/crmbot/internal/testkit"
)

// schemaPkg is where the npm package @microsoft/app-manifest (pinned in
// e2e/appmanifest/package-lock.json) keeps Microsoft's manifest schemas, one
// directory per manifest version, relative to the repository root.
const schemaPkg = "e2e/appmanifest/node_modules/@microsoft/app-manifest/build/json-schemas/teams"

// testParams is a complete, valid deployment.
var testParams = Params{
	AppID:     "8f0c5a9e-3b1d-4c2e-9a7f-1e2d3c4b5a69",
	PublicURL: "https://crmbot.contoso.com",
	Version:   "1.4.0",
}

// schemaDir is the schemas of the manifest's own manifestVersion. Without
// the npm package the test skips on a developer's machine but fails in CI
// (CI set), which must never pass without checking the manifest.
func schemaDir(t *testing.T) string {
	t.Helper()
	var m struct {
		ManifestVersion string `json:"manifestVersion"`
	}
	if err := json.Unmarshal(manifestTemplate, &m); err != nil {
		t.Fatal(err)
	}
	root := testkit.RepoRoot(t)
	dir := filepath.Join(root, schemaPkg, "v"+m.ManifestVersion)
	if _, err := os.Stat(filepath.Join(dir, "MicrosoftTeams.schema.json")); err != nil {
		msg := fmt.Sprintf("Microsoft's Teams manifest schema v%s is missing (%v); install it with: npm ci --prefix %s",
			m.ManifestVersion, err, filepath.Join(root, "e2e/appmanifest"))
		if ci := os.Getenv("CI"); ci != "" && ci != "false" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// compileSchema compiles one schema file of schemaDir. The schemas are
// draft-04 and use ECMAScript lookaheads (non-empty strings), which Go's
// regexp lacks: patterns go through regexp2 in ECMAScript mode.
func compileSchema(t *testing.T, file string) *jsonschema.Schema {
	t.Helper()
	path := filepath.Join(schemaDir(t), file)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft4)
	c.UseRegexpEngine(ecmaRegexpEngine)
	if err := c.AddResource(file, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(file)
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	return sch
}

func ecmaRegexpEngine(s string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(s, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	return (*ecmaRegexp)(re), nil
}

type ecmaRegexp regexp2.Regexp

func (re *ecmaRegexp) MatchString(s string) bool {
	ok, err := (*regexp2.Regexp)(re).MatchString(s)
	return err == nil && ok
}

func (re *ecmaRegexp) String() string { return (*regexp2.Regexp)(re).String() }

// instance decodes JSON as the validator wants it (numbers as json.Number).
func instance(t *testing.T, b []byte) any {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func filledManifest(t *testing.T, p Params) []byte {
	t.Helper()
	b, err := Manifest(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestManifestMatchesTeamsSchema(t *testing.T) {
	sch := compileSchema(t, "MicrosoftTeams.schema.json")
	for name, p := range map[string]Params{
		"production":          testParams,
		"local development":   {AppID: testParams.AppID, PublicURL: "http://localhost:3978"},
		"own developer links": {AppID: testParams.AppID, PublicURL: "https://bot.example.org:8443/crm", WebsiteURL: "https://intranet.example.org/crmbot", PrivacyURL: "https://intranet.example.org/privacy", TermsURL: "https://intranet.example.org/terms"},
	} {
		t.Run(name, func(t *testing.T) {
			if err := sch.Validate(instance(t, filledManifest(t, p))); err != nil {
				t.Fatalf("manifest.json does not match Microsoft's schema:\n%#v", err)
			}
		})
	}
}

func TestLocalizationMatchesTeamsSchema(t *testing.T) {
	sch := compileSchema(t, "MicrosoftTeams.Localization.schema.json")
	if err := sch.Validate(instance(t, frStrings)); err != nil {
		t.Fatalf("%s does not match Microsoft's localization schema:\n%#v", FrenchFile, err)
	}
}

// TestSchemaRejectsBrokenManifests proves the validator really checks:
// mutated copies of the filled manifest must fail.
func TestSchemaRejectsBrokenManifests(t *testing.T) {
	sch := compileSchema(t, "MicrosoftTeams.schema.json")
	bot := func(m map[string]any) map[string]any { return m["bots"].([]any)[0].(map[string]any) }
	commands := func(m map[string]any, list int) []any {
		return bot(m)["commandLists"].([]any)[list].(map[string]any)["commands"].([]any)
	}
	setCommands := func(m map[string]any, list int, cmds []any) {
		bot(m)["commandLists"].([]any)[list].(map[string]any)["commands"] = cmds
	}
	cases := map[string]func(m map[string]any){
		"app id not a GUID":         func(m map[string]any) { m["id"] = "crmbot" },
		"bot id not a GUID":         func(m map[string]any) { bot(m)["botId"] = "28:crmbot" },
		"short name over 30":        func(m map[string]any) { m["name"].(map[string]any)["short"] = strings.Repeat("n", 31) },
		"short description over 80": func(m map[string]any) { m["description"].(map[string]any)["short"] = strings.Repeat("d", 81) },
		"13 commands in a list": func(m map[string]any) {
			cmds := commands(m, 0)
			setCommands(m, 0, append(cmds, cmds[0]))
		},
		"4 command lists": func(m map[string]any) {
			lists := bot(m)["commandLists"].([]any)
			bot(m)["commandLists"] = append(lists, lists[0])
		},
		"unknown bot scope":         func(m map[string]any) { bot(m)["scopes"] = []any{"personal", "channel"} },
		"accent colour not #rrggbb": func(m map[string]any) { m["accentColor"] = "blue" },
		"second bot":                func(m map[string]any) { m["bots"] = append(m["bots"].([]any), bot(m)) },
		"unknown top-level key":     func(m map[string]any) { m["bot"] = map[string]any{} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			m := instance(t, filledManifest(t, testParams)).(map[string]any)
			mutate(m)
			if err := sch.Validate(m); err == nil {
				t.Fatal("the schema accepted a broken manifest")
			} else {
				t.Log(err)
			}
		})
	}
}

// TestLocalizationSchemaRejectsBrokenFiles: the same for fr.json. (Its
// length limits sit beside a $ref, which draft-04 ignores, so
// TestTextLengths checks those.)
func TestLocalizationSchemaRejectsBrokenFiles(t *testing.T) {
	sch := compileSchema(t, "MicrosoftTeams.Localization.schema.json")
	cases := map[string]func(m map[string]any){
		"blank short name":     func(m map[string]any) { m["name.short"] = "   " },
		"no short description": func(m map[string]any) { delete(m, "description.short") },
		"13th command":         func(m map[string]any) { m["bots[0].commandLists[0].commands[12].title"] = "aide" },
		"unknown key":          func(m map[string]any) { m["developer.name"] = "crmbot" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			m := instance(t, frStrings).(map[string]any)
			mutate(m)
			if err := sch.Validate(m); err == nil {
				t.Fatal("the schema accepted a broken localization file")
			} else {
				t.Log(err)
			}
		})
	}
}
