// Package i18n is crmbot's message catalogue: every sentence a user sees, in
// English and French, chosen from the user's locale.
//
// Messages live in embedded YAML files (messages/<lang>.yaml), one key per
// message, with named placeholders ({name}). Code refers to messages by the
// Key constants in keys.go, so a test can prove every key used exists in every
// language with the same placeholders.
package i18n

import (
	"embed"
	"fmt"
	"path"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

// Fallback is the language used when none of the user's is available, and
// for a key missing from another language.
const Fallback = "en"

//go:embed messages/*.yaml
var messageFiles embed.FS

// Args are a message's placeholder values by name; values are formatted with
// fmt's %v.
type Args map[string]any

// Catalog holds every language's messages. It is immutable and safe for
// concurrent use.
type Catalog struct {
	langs map[string]map[Key]string // base language → key → template
}

// placeholder matches {name}; other braces are literal text.
var placeholder = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// Default returns the catalogue built from the embedded message files. It is
// parsed once; the files are checked by tests, so a failure here is a build
// defect and panics.
func Default() *Catalog { return defaultCatalog() }

var defaultCatalog = sync.OnceValue(func() *Catalog {
	c, err := Load()
	if err != nil {
		panic(err)
	}
	return c
})

// Load parses the embedded message files.
func Load() (*Catalog, error) {
	entries, err := messageFiles.ReadDir("messages")
	if err != nil {
		return nil, fmt.Errorf("i18n: %w", err)
	}
	c := &Catalog{langs: map[string]map[Key]string{}}
	for _, e := range entries {
		lang := strings.TrimSuffix(e.Name(), path.Ext(e.Name()))
		raw, err := messageFiles.ReadFile("messages/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("i18n: %w", err)
		}
		var m map[string]string
		if err := yaml.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("i18n: messages/%s: %w", e.Name(), err)
		}
		msgs := make(map[Key]string, len(m))
		for k, v := range m {
			msgs[Key(k)] = v
		}
		c.langs[lang] = msgs
	}
	if _, ok := c.langs[Fallback]; !ok {
		return nil, fmt.Errorf("i18n: no messages/%s.yaml", Fallback)
	}
	return c, nil
}

// Languages lists the catalogue's languages, sorted.
func (c *Catalog) Languages() []string {
	out := make([]string, 0, len(c.langs))
	for l := range c.langs {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// Keys lists the keys of one language, sorted.
func (c *Catalog) Keys(lang string) []Key {
	out := make([]Key, 0, len(c.langs[lang]))
	for k := range c.langs[lang] {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Template returns the raw message of key in lang, as written in the file.
func (c *Catalog) Template(lang string, key Key) (string, bool) {
	s, ok := c.langs[lang][key]
	return s, ok
}

// Placeholders lists the placeholder names a template uses, sorted and
// without repeats.
func Placeholders(template string) []string {
	var out []string
	for _, m := range placeholder.FindAllStringSubmatch(template, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Match picks the catalogue language for a user's locales (BCP 47 tags such
// as "fr-CA", Slack's "fr-FR", Teams' "fr-fr", or "fr_FR"), in preference
// order: the first whose base language the catalogue has wins; otherwise
// Fallback.
func (c *Catalog) Match(locales ...string) string {
	for _, l := range locales {
		base, _, _ := strings.Cut(strings.TrimSpace(l), "-")
		base, _, _ = strings.Cut(base, "_")
		base = strings.ToLower(base)
		if _, ok := c.langs[base]; ok {
			return base
		}
	}
	return Fallback
}

// T renders key in the language matching locale (see Match), with args
// filling its placeholders. A key missing in that language falls back to
// English; a key missing everywhere renders as the key itself, and a
// placeholder without an argument stays as written (both are caught by
// tests, never shown by design).
func (c *Catalog) T(locale string, key Key, args Args) string {
	tmpl, ok := c.langs[c.Match(locale)][key]
	if !ok {
		if tmpl, ok = c.langs[Fallback][key]; !ok {
			return string(key)
		}
	}
	if len(args) == 0 {
		return tmpl
	}
	return placeholder.ReplaceAllStringFunc(tmpl, func(m string) string {
		v, ok := args[m[1:len(m)-1]]
		if !ok {
			return m
		}
		return fmt.Sprint(v)
	})
}

// Localizer renders messages for one user's language.
type Localizer struct {
	cat  *Catalog
	lang string
}

// For returns a Localizer for the user's locales (see Match).
func (c *Catalog) For(locales ...string) Localizer {
	return Localizer{cat: c, lang: c.Match(locales...)}
}

// Lang is the catalogue language chosen.
func (l Localizer) Lang() string { return l.lang }

// T renders key with args in the Localizer's language.
func (l Localizer) T(key Key, args Args) string { return l.cat.T(l.lang, key, args) }
