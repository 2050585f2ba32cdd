package slackmanifest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/crmbot/crmbot/internal/testkit"
)

// schemaRel is Slack's manifest schema (slackapi/manifest-schema,
// manifest.schema.1.0.0.json), relative to the repository root.
const schemaRel = "../shared/reference/slack-manifest.schema.json"

// The fixed HTTP endpoints (DESIGN.md) and what the app asks of Slack.
var (
	wantScopes = []string{"chat:write", "commands", "users:read", "users:read.email", "im:write", "im:history",
		"channels:history", "groups:history", "links:read", "links:write"}
	wantEvents = []string{"app_home_opened", "link_shared", "app_uninstalled", "tokens_revoked"}
)

// regexpEngine compiles patterns as ECMAScript regular expressions, the
// dialect JSON Schema specifies: Slack's schema uses a lookahead
// (unfurl_domains), which Go's regexp does not support.
func regexpEngine(s string) (jsonschema.Regexp, error) {
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

// compileSchema loads Slack's schema. It fails (never skips) when the
// reference data is missing: the manifest must always be checked.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	path := filepath.Join(testkit.RepoRoot(t), schemaRel)
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("Slack's manifest schema is required to validate deploy/slack/*.yaml: %v "+
			"(expected the shared reference data at %s, next to the repository)", err, path)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	// The schema declares no $schema; it is written for draft-07 (it uses
	// "definitions"), so say so rather than rely on the library's default.
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft7)
	c.UseRegexpEngine(regexpEngine)
	if err := c.AddResource("slack-manifest.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("slack-manifest.schema.json")
	if err != nil {
		t.Fatalf("compile %s: %v", path, err)
	}
	return sch
}

// loadManifest reads a YAML manifest as the JSON value Slack would see.
func loadManifest(t *testing.T, name string) any {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := yaml.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	// Round-trip through encoding/json: yaml.v3 gives map[string]any but
	// ints, and the validator wants JSON's types (json.Number).
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%s: not representable as JSON: %v", name, err)
	}
	out, err := jsonschema.UnmarshalJSON(strings.NewReader(string(j)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestManifestsMatchSlackSchema(t *testing.T) {
	sch := compileSchema(t)
	for _, name := range []string{"manifest.yaml", "manifest.socket.yaml"} {
		t.Run(name, func(t *testing.T) {
			if err := sch.Validate(loadManifest(t, name)); err != nil {
				t.Fatalf("%s does not match Slack's manifest schema:\n%v", name, err)
			}
		})
	}
}

// TestManifestSchemaRejectsBrokenManifests proves the validator is really
// checking: mutated copies of the manifest must fail.
func TestManifestSchemaRejectsBrokenManifests(t *testing.T) {
	sch := compileSchema(t)
	cases := map[string]func(m map[string]any){
		"slash command longer than 32 characters": func(m map[string]any) {
			cmd := path(m, "features", "slash_commands").([]any)[0].(map[string]any)
			cmd["command"] = "/" + strings.Repeat("c", 32)
		},
		"slash command without a slash": func(m map[string]any) {
			path(m, "features", "slash_commands").([]any)[0].(map[string]any)["command"] = "crm"
		},
		"unknown top-level key": func(m map[string]any) { m["slash_commands"] = []any{} },
		"unfurl domain with a scheme": func(m map[string]any) {
			path(m, "features").(map[string]any)["unfurl_domains"] = []any{"https://crm.dynamics.com"}
		},
		"unfurl domain starting with a dot": func(m map[string]any) {
			path(m, "features").(map[string]any)["unfurl_domains"] = []any{".crm.dynamics.com"}
		},
		"no display name": func(m map[string]any) { delete(m["display_information"].(map[string]any), "name") },
		"request url without a scheme": func(m map[string]any) {
			path(m, "settings", "event_subscriptions").(map[string]any)["request_url"] = "crmbot.example.com/slack/events"
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			m := loadManifest(t, "manifest.yaml").(map[string]any)
			mutate(m)
			if err := sch.Validate(m); err == nil {
				t.Fatal("the schema accepted a broken manifest")
			} else {
				t.Log(err)
			}
		})
	}
}

func path(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		v = v.(map[string]any)[k]
	}
	return v
}

// manifest is the part of a manifest the semantic checks read.
type manifest struct {
	Features struct {
		AppHome struct {
			HomeTab     bool `yaml:"home_tab_enabled"`
			MessagesTab bool `yaml:"messages_tab_enabled"`
			ReadOnly    bool `yaml:"messages_tab_read_only_enabled"`
		} `yaml:"app_home"`
		BotUser struct {
			DisplayName  string `yaml:"display_name"`
			AlwaysOnline bool   `yaml:"always_online"`
		} `yaml:"bot_user"`
		SlashCommands []struct {
			Command      string `yaml:"command"`
			URL          string `yaml:"url"`
			UsageHint    string `yaml:"usage_hint"`
			ShouldEscape *bool  `yaml:"should_escape"`
		} `yaml:"slash_commands"`
		UnfurlDomains []string `yaml:"unfurl_domains"`
	} `yaml:"features"`
	OAuth struct {
		RedirectURLs []string `yaml:"redirect_urls"`
		Scopes       struct {
			Bot  []string `yaml:"bot"`
			User []string `yaml:"user"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		Events struct {
			RequestURL string   `yaml:"request_url"`
			BotEvents  []string `yaml:"bot_events"`
			UserEvents []string `yaml:"user_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			Enabled    bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
			OptionsURL string `yaml:"message_menu_options_url"`
		} `yaml:"interactivity"`
		SocketMode bool `yaml:"socket_mode_enabled"`
	} `yaml:"settings"`
}

func readManifest(t *testing.T, name string) manifest {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// TestManifestSemantics checks what the schema cannot: our endpoints,
// scopes and events.
func TestManifestSemantics(t *testing.T) {
	const host = "https://crmbot.example.com"
	for _, name := range []string{"manifest.yaml", "manifest.socket.yaml"} {
		t.Run(name, func(t *testing.T) {
			m := readManifest(t, name)
			socket := name == "manifest.socket.yaml"
			if m.Settings.SocketMode != socket {
				t.Errorf("socket_mode_enabled = %v, want %v", m.Settings.SocketMode, socket)
			}
			if !slices.Equal(m.OAuth.Scopes.Bot, wantScopes) {
				t.Errorf("bot scopes = %v, want %v", m.OAuth.Scopes.Bot, wantScopes)
			}
			if len(m.OAuth.Scopes.User) != 0 {
				t.Errorf("user scopes = %v, want none", m.OAuth.Scopes.User)
			}
			if !slices.Equal(m.Settings.Events.BotEvents, wantEvents) {
				t.Errorf("bot events = %v, want %v", m.Settings.Events.BotEvents, wantEvents)
			}
			if len(m.Settings.Events.UserEvents) != 0 {
				t.Errorf("user events = %v, want none", m.Settings.Events.UserEvents)
			}
			f := m.Features
			if !f.AppHome.HomeTab || !f.AppHome.MessagesTab || f.AppHome.ReadOnly {
				t.Errorf("app_home = %+v, want the Home tab and a writable Messages tab (DMs)", f.AppHome)
			}
			if f.BotUser.DisplayName != "crmbot" || !f.BotUser.AlwaysOnline {
				t.Errorf("bot_user = %+v, want crmbot, always online", f.BotUser)
			}
			if len(f.SlashCommands) != 1 {
				t.Fatalf("slash commands = %d, want exactly /crm", len(f.SlashCommands))
			}
			cmd := f.SlashCommands[0]
			if cmd.Command != "/crm" || cmd.UsageHint != "leads | new case | help" || cmd.ShouldEscape == nil || *cmd.ShouldEscape {
				t.Errorf("slash command = %+v, want /crm, usage hint \"leads | new case | help\", should_escape false", cmd)
			}
			if len(f.UnfurlDomains) == 0 {
				t.Error("no unfurl_domains: link_shared would never fire")
			}
			if !m.Settings.Interactivity.Enabled {
				t.Error("interactivity is off")
			}
			urls := map[string]string{
				"slash command url":                      cmd.URL,
				"interactivity request_url":              m.Settings.Interactivity.RequestURL,
				"interactivity message_menu_options_url": m.Settings.Interactivity.OptionsURL,
				"event_subscriptions request_url":        m.Settings.Events.RequestURL,
			}
			want := map[string]string{
				"slash command url":                      "/slack/commands",
				"interactivity request_url":              "/slack/interactivity",
				"interactivity message_menu_options_url": "/slack/options",
				"event_subscriptions request_url":        "/slack/events",
			}
			for what, u := range urls {
				switch {
				case socket && u != "":
					t.Errorf("%s = %q: Socket Mode takes no request URLs", what, u)
				case !socket && u != host+want[what]:
					t.Errorf("%s = %q, want %s", what, u, host+want[what])
				}
			}
			switch {
			case socket && len(m.OAuth.RedirectURLs) != 0:
				t.Errorf("redirect_urls = %v, want none in Socket Mode (single workspace)", m.OAuth.RedirectURLs)
			case !socket && !slices.Equal(m.OAuth.RedirectURLs, []string{host + "/slack/oauth/callback"}):
				t.Errorf("redirect_urls = %v, want [%s/slack/oauth/callback]", m.OAuth.RedirectURLs, host)
			}
		})
	}
}

// TestManifestsAgree: the two files differ only in the transport.
func TestManifestsAgree(t *testing.T) {
	h, s := readManifest(t, "manifest.yaml"), readManifest(t, "manifest.socket.yaml")
	if !slices.Equal(h.Features.UnfurlDomains, s.Features.UnfurlDomains) {
		t.Errorf("unfurl_domains differ: %v vs %v", h.Features.UnfurlDomains, s.Features.UnfurlDomains)
	}
	if h.Features.AppHome != s.Features.AppHome || h.Features.BotUser != s.Features.BotUser {
		t.Error("app_home or bot_user differ between the manifests")
	}
}
