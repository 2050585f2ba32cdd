package teamsapp

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crmbot/crmbot/crm"
)

// manifest is the part of manifest.json the checks read.
type manifest struct {
	Version          string `json:"version"`
	ID               string `json:"id"`
	LocalizationInfo struct {
		DefaultLanguageTag  string `json:"defaultLanguageTag"`
		AdditionalLanguages []struct {
			LanguageTag string `json:"languageTag"`
			File        string `json:"file"`
		} `json:"additionalLanguages"`
	} `json:"localizationInfo"`
	Developer struct {
		Name, WebsiteURL, PrivacyURL, TermsOfUseURL string
	} `json:"developer"`
	Name        struct{ Short, Full string }    `json:"name"`
	Description struct{ Short, Full string }    `json:"description"`
	Icons       struct{ Color, Outline string } `json:"icons"`
	Bots        []struct {
		BotID        string   `json:"botId"`
		Scopes       []string `json:"scopes"`
		SupportsFile bool     `json:"supportsFiles"`
		NotifyOnly   bool     `json:"isNotificationOnly"`
		CommandLists []struct {
			Scopes   []string `json:"scopes"`
			Commands []struct {
				Title       string `json:"title"`
				Description string `json:"description"`
			} `json:"commands"`
		} `json:"commandLists"`
	} `json:"bots"`
	ValidDomains []string `json:"validDomains"`
}

func parseManifest(t *testing.T, b []byte) manifest {
	t.Helper()
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if len(m.Bots) != 1 {
		t.Fatalf("bots = %d, want exactly one", len(m.Bots))
	}
	return m
}

func french(t *testing.T) map[string]string {
	t.Helper()
	var fr map[string]string
	if err := json.Unmarshal(frStrings, &fr); err != nil {
		t.Fatalf("%s: %v", FrenchFile, err)
	}
	return fr
}

func TestManifestFilled(t *testing.T) {
	p := testParams
	p.AppID = strings.ToUpper(p.AppID)
	b := filledManifest(t, p)
	if bytes.Contains(b, []byte("{{")) {
		t.Fatalf("placeholder left in the manifest:\n%s", b)
	}
	m := parseManifest(t, b)
	want := strings.ToLower(p.AppID)
	if m.ID != want || m.Bots[0].BotID != want {
		t.Errorf("id = %q, botId = %q, want both %q (MICROSOFT_APP_ID, lower case)", m.ID, m.Bots[0].BotID, want)
	}
	if !slices.Equal(m.ValidDomains, []string{"crmbot.contoso.com"}) {
		t.Errorf("validDomains = %v, want the public URL's host", m.ValidDomains)
	}
	if m.Version != "1.4.0" {
		t.Errorf("version = %q, want 1.4.0", m.Version)
	}
	if m.Developer.WebsiteURL != DefaultWebsiteURL || m.Developer.PrivacyURL != DefaultPrivacyURL || m.Developer.TermsOfUseURL != DefaultTermsURL {
		t.Errorf("developer = %+v, want the default links", m.Developer)
	}
	bot := m.Bots[0]
	if !slices.Equal(bot.Scopes, []string{"personal", "team", "groupChat"}) || bot.SupportsFile || bot.NotifyOnly {
		t.Errorf("bot = scopes %v, supportsFiles %v, notification only %v; want personal, team, groupChat, conversational, no files",
			bot.Scopes, bot.SupportsFile, bot.NotifyOnly)
	}
	// One command list per scope, as the schema's description asks.
	var listed []string
	for _, l := range bot.CommandLists {
		if len(l.Scopes) != 1 {
			t.Errorf("command list for %v: want one scope per list", l.Scopes)
		}
		listed = append(listed, l.Scopes...)
	}
	if !slices.Equal(listed, bot.Scopes) {
		t.Errorf("command lists cover %v, want one per bot scope %v", listed, bot.Scopes)
	}
}

func TestManifestParams(t *testing.T) {
	const id = "8f0c5a9e-3b1d-4c2e-9a7f-1e2d3c4b5a69"
	cases := []struct {
		name    string
		p       Params
		wantErr string // "" → valid
		domain  string
	}{
		{"OK", Params{AppID: id, PublicURL: "https://crmbot.contoso.com/"}, "", "crmbot.contoso.com"},
		{"OK port and path dropped", Params{AppID: id, PublicURL: "https://Bot.Contoso.com:8443/crm"}, "", "bot.contoso.com"},
		{"OK localhost over http", Params{AppID: id, PublicURL: "http://localhost:3978"}, "", "localhost"},
		{"OK loopback IPv6 over http", Params{AppID: id, PublicURL: "http://[::1]:3978"}, "", "::1"},
		{"ErrAppIDMissing", Params{PublicURL: "https://crmbot.contoso.com"}, "MICROSOFT_APP_ID is required", ""},
		{"ErrAppIDNotGUID", Params{AppID: "crmbot", PublicURL: "https://crmbot.contoso.com"}, "MICROSOFT_APP_ID: \"crmbot\" is not a GUID", ""},
		{"ErrAppIDBraces", Params{AppID: "{" + id + "}", PublicURL: "https://crmbot.contoso.com"}, "MICROSOFT_APP_ID", ""},
		{"ErrPublicURLMissing", Params{AppID: id}, "CRMBOT_PUBLIC_URL is required", ""},
		{"ErrPublicURLPlainHTTP", Params{AppID: id, PublicURL: "http://crmbot.contoso.com"}, "CRMBOT_PUBLIC_URL: http://crmbot.contoso.com must be https://", ""},
		{"ErrPublicURLNoScheme", Params{AppID: id, PublicURL: "crmbot.contoso.com"}, "CRMBOT_PUBLIC_URL: \"crmbot.contoso.com\" is not an absolute https:// URL", ""},
		{"ErrPublicURLOtherScheme", Params{AppID: id, PublicURL: "ftp://crmbot.contoso.com"}, "CRMBOT_PUBLIC_URL", ""},
		{"ErrVersion", Params{AppID: id, PublicURL: "https://a.example", Version: "v1.2"}, "version: \"v1.2\" is not MAJOR.MINOR.PATCH", ""},
		{"ErrPrivacyURLNotHTTPS", Params{AppID: id, PublicURL: "https://a.example", PrivacyURL: "http://a.example/privacy"}, "privacy URL", ""},
		{"ErrBothMissing (all errors, not the first)", Params{}, "CRMBOT_PUBLIC_URL is required", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := Manifest(c.p)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, c.wantErr)
				}
				if err := Package(io.Discard, c.p); err == nil {
					t.Fatal("Package accepted what Manifest refused")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m := parseManifest(t, b); !slices.Equal(m.ValidDomains, []string{c.domain}) {
				t.Errorf("validDomains = %v, want [%s]", m.ValidDomains, c.domain)
			}
		})
	}
}

func TestVersionFromBuild(t *testing.T) {
	for build, want := range map[string]string{
		"v1.4.0": "1.4.0", "2.0.10": "2.0.10", "dev": DefaultVersion, "v1.4.0-3-gabc123": DefaultVersion,
		"v1.4": DefaultVersion, "v01.2.3": DefaultVersion, "": DefaultVersion,
	} {
		if got := VersionFromBuild(build); got != want {
			t.Errorf("VersionFromBuild(%q) = %q, want %q", build, got, want)
		}
	}
}

// readZip returns a package's files by name.
func readZip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name] = data
	}
	return files
}

func TestPackage(t *testing.T) {
	var buf bytes.Buffer
	if err := Package(&buf, testParams); err != nil {
		t.Fatal(err)
	}
	files := readZip(t, buf.Bytes())
	var names []string
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	// Teams reads the files at the zip's root; a folder inside is refused.
	if want := []string{ColorIcon, FrenchFile, ManifestFile, OutlineIcon}; !slices.Equal(names, want) {
		t.Fatalf("zip holds %v, want exactly %v at its root", names, want)
	}
	if !bytes.Equal(files[ManifestFile], filledManifest(t, testParams)) {
		t.Error("the zip's manifest.json is not Manifest(p)")
	}
	m := parseManifest(t, files[ManifestFile])
	refs := []string{m.Icons.Color, m.Icons.Outline}
	for _, l := range m.LocalizationInfo.AdditionalLanguages {
		refs = append(refs, l.File)
	}
	for _, r := range refs {
		if _, ok := files[r]; !ok {
			t.Errorf("the manifest names %q, which the zip lacks", r)
		}
	}
	var again bytes.Buffer
	if err := Package(&again, testParams); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two packages of the same Params differ: the zip is not reproducible")
	}
}

func decodePNG(t *testing.T, name string, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return img
}

func TestColorIcon(t *testing.T) {
	img := decodePNG(t, ColorIcon, colorIcon)
	if b := img.Bounds(); b.Dx() != 192 || b.Dy() != 192 {
		t.Fatalf("%s is %dx%d, want 192x192", ColorIcon, b.Dx(), b.Dy())
	}
	// Full colour: an opaque background (the accent colour) and a white mark.
	colours := map[color.NRGBA]bool{}
	for y := 0; y < 192; y++ {
		for x := 0; x < 192; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			if c.A != 0xFF {
				t.Fatalf("%s pixel (%d,%d) = %v: want an opaque icon", ColorIcon, x, y, c)
			}
			colours[c] = true
		}
	}
	if !colours[color.NRGBA{0xFF, 0xFF, 0xFF, 0xFF}] || len(colours) < 16 {
		t.Errorf("%s has %d colours and white %v: the mark is missing", ColorIcon, len(colours), colours[color.NRGBA{0xFF, 0xFF, 0xFF, 0xFF}])
	}
}

func TestOutlineIcon(t *testing.T) {
	img := decodePNG(t, OutlineIcon, outlineIcon)
	if b := img.Bounds(); b.Dx() != 32 || b.Dy() != 32 {
		t.Fatalf("%s is %dx%d, want 32x32", OutlineIcon, b.Dx(), b.Dy())
	}
	opaque, transparent := 0, 0
	for y := 0; y < 32; y++ {
		for x := 0; x < 32; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			switch {
			case c.A == 0:
				transparent++
			case c.R != 0xFF || c.G != 0xFF || c.B != 0xFF:
				t.Fatalf("%s pixel (%d,%d) = %v: Teams wants white on transparency only", OutlineIcon, x, y, c)
			case c.A == 0xFF:
				opaque++
			}
			edge := x == 0 || y == 0 || x == 31 || y == 31
			if edge && c.A != 0 {
				t.Errorf("%s edge pixel (%d,%d) = %v: the background must be fully transparent", OutlineIcon, x, y, c)
			}
		}
	}
	if opaque < 100 || transparent < 32*32/3 {
		t.Errorf("%s: %d opaque white and %d transparent pixels: want a visible mark on a transparent background", OutlineIcon, opaque, transparent)
	}
}

// otherCommandWords are the command words the core accepts besides the
// record types' aliases (which come from crm's catalogue below). They are
// unexported in package bot (newWords, searchWords, settingsWords in
// bot/commands.go; help and link words in Core.Handle, bot/core.go), so this
// list mirrors them: change both together.
var otherCommandWords = map[string]string{
	"new": "new", "nouveau": "new",
	"search": "search", "chercher": "search",
	"settings": "settings", "paramètres": "settings",
	"help": "help", "aide": "help",
	"link": "link",
}

// meaning is what the core does with a command word: a record type's
// list, or another command; "" when the core does not know the word.
func meaning(cat *crm.Catalog, word string) string {
	if rt, ok := cat.ByAlias(word); ok {
		return "list " + rt.Name
	}
	return otherCommandWords[word]
}

// TestCommandsAreCoreWords: each command title, English and French, is a
// word the core understands whatever the user's language, and the French
// title does what the English one does.
func TestCommandsAreCoreWords(t *testing.T) {
	cat := crm.DefaultCatalog()
	m := parseManifest(t, filledManifest(t, testParams))
	fr := french(t)
	listsOf := map[string]bool{}
	for i, l := range m.Bots[0].CommandLists {
		seen := map[string]bool{}
		for j, c := range l.Commands {
			en := meaning(cat, c.Title)
			if en == "" {
				t.Errorf("list %d (%v) command %q: not a word the core accepts", i, l.Scopes, c.Title)
			}
			if seen[en] {
				t.Errorf("list %d (%v) command %q: a second command for %s", i, l.Scopes, c.Title, en)
			}
			seen[en] = true
			key := fmt.Sprintf("bots[0].commandLists[%d].commands[%d].title", i, j)
			if got := meaning(cat, fr[key]); got != en {
				t.Errorf("%s = %q means %q to the core, want %q (like %q)", key, fr[key], got, en, c.Title)
			}
		}
		for _, s := range l.Scopes {
			for w := range seen {
				listsOf[s+" "+w] = true
			}
		}
	}
	// Every chat record type is in the personal list.
	for _, rt := range cat.ChatTypes() {
		if !listsOf["personal list "+rt.Name] {
			t.Errorf("the personal command list lacks the %s records", rt.Name)
		}
	}
	for _, w := range []string{"new", "help", "settings", "link"} {
		if !listsOf["personal "+w] {
			t.Errorf("the personal command list lacks %q", w)
		}
	}
}

// localizable is the manifest's translatable strings, keyed as in a
// localization file.
func localizable(m manifest) map[string]string {
	texts := map[string]string{
		"name.short": m.Name.Short, "name.full": m.Name.Full,
		"description.short": m.Description.Short, "description.full": m.Description.Full,
	}
	for i, l := range m.Bots[0].CommandLists {
		for j, c := range l.Commands {
			k := fmt.Sprintf("bots[0].commandLists[%d].commands[%d].", i, j)
			texts[k+"title"], texts[k+"description"] = c.Title, c.Description
		}
	}
	return texts
}

// TestLocalizationMirrorsManifest: fr.json translates each string of the
// manifest, and only those.
func TestLocalizationMirrorsManifest(t *testing.T) {
	m := parseManifest(t, filledManifest(t, testParams))
	want := localizable(m)
	fr := french(t)
	for k, en := range want {
		v, ok := fr[k]
		switch {
		case !ok:
			t.Errorf("%s lacks %q (English: %q)", FrenchFile, k, en)
		case v == en && (strings.HasPrefix(k, "description") || strings.HasSuffix(k, ".description")):
			t.Errorf("%s %q is the English text %q", FrenchFile, k, en)
		}
	}
	for k := range fr {
		if _, ok := want[k]; !ok && k != "$schema" {
			t.Errorf("%s has %q, which is not in the manifest", FrenchFile, k)
		}
	}
	if got := m.LocalizationInfo; got.DefaultLanguageTag != "en-us" || len(got.AdditionalLanguages) != 1 ||
		got.AdditionalLanguages[0].LanguageTag != "fr" || got.AdditionalLanguages[0].File != FrenchFile {
		t.Errorf("localizationInfo = %+v, want en-us with fr in %s", got, FrenchFile)
	}
}

// TestTextLengths holds every text, English and French, to Teams' limits.
// The schemas say so for the manifest, but not for fr.json (draft-04
// ignores its maxLength beside a $ref). Commands keep to the tighter limits
// of manifests before v1.22 (32 / 128), which is also what the command
// menu shows without cutting.
func TestTextLengths(t *testing.T) {
	en := localizable(parseManifest(t, filledManifest(t, testParams)))
	limit := func(k string) int {
		switch {
		case k == "name.short":
			return 30
		case k == "name.full":
			return 100
		case k == "description.short":
			return 80
		case k == "description.full":
			return 4000
		case strings.HasSuffix(k, ".title"):
			return 32
		case strings.HasSuffix(k, ".description"):
			return 128
		}
		return -1
	}
	for lang, texts := range map[string]map[string]string{"en": en, "fr": french(t)} {
		for k, v := range texts {
			max := limit(k)
			if k == "$schema" {
				continue
			}
			if max < 0 {
				t.Errorf("%s %q: no known limit", lang, k)
				continue
			}
			if n := utf8.RuneCountInString(v); n == 0 || n > max {
				t.Errorf("%s %q is %d characters, want 1 to %d: %q", lang, k, n, max, v)
			}
		}
	}
}
