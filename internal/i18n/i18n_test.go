package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crmbot/crmbot/internal/testkit"
)

func TestCatalogue(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Languages(); !slices.Equal(got, []string{"en", "fr"}) {
		t.Fatalf("languages %v, want [en fr]", got)
	}
	en := c.Keys(Fallback)

	t.Run("every key in every language with the same placeholders", func(t *testing.T) {
		for _, lang := range c.Languages() {
			if got := c.Keys(lang); !slices.Equal(got, en) {
				t.Errorf("%s keys differ from en:\n got %v\nwant %v", lang, got, en)
			}
			for _, k := range en {
				want, _ := c.Template(Fallback, k)
				got, ok := c.Template(lang, k)
				if !ok {
					continue // reported above
				}
				if strings.TrimSpace(got) == "" {
					t.Errorf("%s %s is empty", lang, k)
				}
				if !slices.Equal(Placeholders(got), Placeholders(want)) {
					t.Errorf("%s %s placeholders %v, en has %v", lang, k, Placeholders(got), Placeholders(want))
				}
			}
		}
	})

	t.Run("every declared Key has a message and every message a Key", func(t *testing.T) {
		declared := declaredKeys(t)
		for name, k := range declared {
			if _, ok := c.Template(Fallback, k); !ok {
				t.Errorf("%s = %q has no message in en.yaml", name, k)
			}
		}
		values := map[Key]bool{}
		for _, k := range declared {
			values[k] = true
		}
		for _, k := range en {
			if !values[k] {
				t.Errorf("message %q has no Key constant in keys.go", k)
			}
		}
	})

	t.Run("every key literal used in code exists", func(t *testing.T) {
		for _, use := range keyLiteralsInRepo(t) {
			if _, ok := c.Template(Fallback, Key(use.key)); !ok {
				t.Errorf("%s: key %q is not in the catalogue", use.pos, use.key)
			}
		}
	})
}

// declaredKeys parses keys.go: constant name → value, for constants of type Key.
func declaredKeys(t *testing.T) map[string]Key {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "keys.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]Key{}
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Key" {
				t.Errorf("constant %s in keys.go is not of type Key", vs.Names[0].Name)
				continue
			}
			for i, n := range vs.Names {
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s: value is not a string literal", n.Name)
				}
				v, _ := strconv.Unquote(lit.Value)
				out[n.Name] = Key(v)
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no Key constants found in keys.go")
	}
	return out
}

type keyUse struct{ pos, key string }

// keyLike is how a catalogue key looks: dotted lower-case words.
var keyLike = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)

// keyLiteralsInRepo finds string literals that code turns into keys: the
// argument of a Key(...) / i18n.Key(...) conversion, and any key-like literal
// passed to a method or function named T (Catalog.T, Localizer.T), which Go
// would accept as an untyped constant of type Key.
func keyLiteralsInRepo(t *testing.T) []keyUse {
	t.Helper()
	root := testkit.RepoRoot(t)
	fset := token.NewFileSet()
	var uses []keyUse
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); p != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules" || n == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			var name string
			switch fn := call.Fun.(type) {
			case *ast.Ident:
				name = fn.Name
			case *ast.SelectorExpr:
				name = fn.Sel.Name
			}
			if name != "Key" && name != "T" {
				return true
			}
			for _, a := range call.Args {
				lit, ok := a.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil || (name == "T" && !keyLike.MatchString(v)) {
					continue
				}
				uses = append(uses, keyUse{pos: fset.Position(lit.Pos()).String(), key: v})
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return uses
}

func TestMatch(t *testing.T) {
	c := Default()
	for _, tc := range []struct {
		locales []string
		want    string
	}{
		{nil, "en"},
		{[]string{"fr"}, "fr"},
		{[]string{"fr-CA"}, "fr"},
		{[]string{"fr-fr"}, "fr"},
		{[]string{"fr_FR"}, "fr"},
		{[]string{"FR-be"}, "fr"},
		{[]string{"en-GB"}, "en"},
		{[]string{"de-DE"}, "en"},
		{[]string{"de-DE", "fr-CH"}, "fr"},
		{[]string{"", " "}, "en"},
		{[]string{"zh-Hant-TW"}, "en"},
	} {
		if got := c.Match(tc.locales...); got != tc.want {
			t.Errorf("Match(%q) = %q, want %q", tc.locales, got, tc.want)
		}
	}
}

func TestT(t *testing.T) {
	c := Default()
	t.Run("placeholders filled", func(t *testing.T) {
		got := c.T("en-US", LinkedAs, Args{"name": "Chloé Dubois", "email": "chloe@example.com"})
		if want := "You're linked to Dynamics as Chloé Dubois (chloe@example.com)."; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
		got = c.For("fr-FR").T(LinkedAs, Args{"name": "Chloé Dubois", "email": "chloe@example.com"})
		if want := "Vous êtes lié à Dynamics en tant que Chloé Dubois (chloe@example.com)."; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("relink message", func(t *testing.T) {
		if got := c.T("en", LinkExpiredRelink, nil); !strings.HasPrefix(got, "Your Dynamics link expired — link again") {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("unknown language falls back to English", func(t *testing.T) {
		if got, want := c.T("ja", Unlinked, nil), c.T("en", Unlinked, nil); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("missing argument stays visible", func(t *testing.T) {
		if got := c.T("en", WhoAmIOrg, Args{}); got != "Organization: {org}" {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("unknown key renders as itself", func(t *testing.T) {
		unknown := "no.such_key" // a variable: the literal scan would (rightly) flag Key("no.such_key")
		if got := c.T("en", Key(unknown), nil); got != unknown {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("French typography", func(t *testing.T) {
		got := c.T("fr", WhoAmIOrg, Args{"org": "Contoso"})
		if got != "Organisation\u00a0: Contoso" {
			t.Fatalf("got %q, want a no-break space before the colon", got)
		}
	})
	t.Run("Localizer reports its language", func(t *testing.T) {
		if l := c.For("fr-CA", "en"); l.Lang() != "fr" {
			t.Fatalf("Lang %q", l.Lang())
		}
	})
}
