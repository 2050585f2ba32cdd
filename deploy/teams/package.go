// Package teamsapp holds crmbot's Microsoft Teams app package: the manifest
// template (manifest.json), its French strings (fr.json) and the icons
// (color.png, outline.png, drawn by icons_gen.go). Package fills the
// template for one deployment and writes the zip to upload to Teams. See
// README.md.
package teamsapp

//go:generate go run icons_gen.go

import (
	"archive/zip"
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// The package's files, by their name in the zip.
var (
	//go:embed manifest.json
	manifestTemplate []byte
	//go:embed fr.json
	frStrings []byte
	//go:embed color.png
	colorIcon []byte
	//go:embed outline.png
	outlineIcon []byte
)

// Names of the files in the zip (the manifest refers to all but itself).
const (
	ManifestFile = "manifest.json"
	FrenchFile   = "fr.json"
	ColorIcon    = "color.png"
	OutlineIcon  = "outline.png"
)

// Defaults for the developer links Teams shows on the app's details page.
const (
	DefaultWebsiteURL = "https://github.com/crmbot/crmbot"
	DefaultPrivacyURL = "https://github.com/crmbot/crmbot#how-linking-works-and-why-it-is-safe"
	DefaultTermsURL   = "https://github.com/crmbot/crmbot/blob/main/LICENSE"
	DefaultVersion    = "1.0.0"
)

// Params are one deployment's values for the manifest.
type Params struct {
	// AppID is MICROSOFT_APP_ID, the bot's Entra app (client) id; it is also
	// the Teams app id.
	AppID string
	// PublicURL is CRMBOT_PUBLIC_URL; its host becomes the manifest's valid
	// domain (the link pages users open from Teams live there).
	PublicURL string
	// Version is the app's version, MAJOR.MINOR.PATCH; empty: DefaultVersion.
	// Teams only takes an updated package whose version went up.
	Version string
	// WebsiteURL, PrivacyURL and TermsURL are the developer links; empty:
	// the Default… URLs (crmbot's project pages).
	WebsiteURL, PrivacyURL, TermsURL string
}

var (
	guidPattern   = regexp.MustCompile(`^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$`)
	semverPattern = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
)

// Manifest returns the filled manifest.json for p, after checking p. Errors
// name the variable at fault.
func Manifest(p Params) ([]byte, error) {
	p.AppID = strings.TrimSpace(p.AppID)
	var errs []error
	switch {
	case p.AppID == "":
		errs = append(errs, errors.New("MICROSOFT_APP_ID is required: the bot's Entra app (client) id"))
	case !guidPattern.MatchString(p.AppID):
		errs = append(errs, fmt.Errorf("MICROSOFT_APP_ID: %q is not a GUID such as 00000000-0000-0000-0000-000000000000", p.AppID))
	}
	host, err := publicHost(p.PublicURL)
	if err != nil {
		errs = append(errs, err)
	}
	if p.Version == "" {
		p.Version = DefaultVersion
	}
	if !semverPattern.MatchString(p.Version) {
		errs = append(errs, fmt.Errorf("version: %q is not MAJOR.MINOR.PATCH such as 1.4.0", p.Version))
	}
	links := []struct {
		name     string
		val, def string
	}{
		{"website URL", p.WebsiteURL, DefaultWebsiteURL},
		{"privacy URL", p.PrivacyURL, DefaultPrivacyURL},
		{"terms of use URL", p.TermsURL, DefaultTermsURL},
	}
	for i := range links {
		if links[i].val == "" {
			links[i].val = links[i].def
		}
		if u, err := url.Parse(links[i].val); err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: %q is not an https:// URL", links[i].name, links[i].val))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return fill(manifestTemplate, map[string]string{
		"MICROSOFT_APP_ID":   strings.ToLower(p.AppID),
		"CRMBOT_PUBLIC_HOST": host,
		"VERSION":            p.Version,
		"WEBSITE_URL":        links[0].val,
		"PRIVACY_URL":        links[1].val,
		"TERMS_URL":          links[2].val,
	})
}

// VersionFromBuild turns crmbot's build version into an app version: a
// release tag such as v1.4.0 gives 1.4.0; anything else (dev, a commit
// describe) gives DefaultVersion, since Teams wants MAJOR.MINOR.PATCH.
func VersionFromBuild(build string) string {
	if v := strings.TrimPrefix(build, "v"); semverPattern.MatchString(v) {
		return v
	}
	return DefaultVersion
}

// publicHost checks CRMBOT_PUBLIC_URL as the server does (https, or http on
// loopback for local development) and returns its host name, without port:
// Teams' validDomains take a host, never a scheme or port.
func publicHost(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", errors.New("CRMBOT_PUBLIC_URL is required: the public https:// base URL of crmbot")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("CRMBOT_PUBLIC_URL: %q is not an absolute https:// URL", raw)
	}
	if u.Scheme == "http" && !loopback(u.Hostname()) {
		return "", fmt.Errorf("CRMBOT_PUBLIC_URL: %s must be https:// (plain http is only for localhost)", raw)
	}
	return strings.ToLower(u.Hostname()), nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// fill replaces each {{NAME}} of a JSON template with its value, escaped
// for a JSON string, and checks that nothing is left over.
func fill(tmpl []byte, vals map[string]string) ([]byte, error) {
	out := string(tmpl)
	for name, v := range vals {
		q, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		out = strings.ReplaceAll(out, "{{"+name+"}}", string(q[1:len(q)-1]))
	}
	if i := strings.Index(out, "{{"); i >= 0 {
		end := min(len(out), i+40)
		return nil, fmt.Errorf("teams manifest: unfilled placeholder at %q", out[i:end])
	}
	if !json.Valid([]byte(out)) {
		return nil, errors.New("teams manifest: the filled template is not valid JSON")
	}
	return []byte(out), nil
}

// Package writes the Teams app package for p to w: a zip holding
// manifest.json, fr.json, color.png and outline.png at its root.
func Package(w io.Writer, p Params) error {
	manifest, err := Manifest(p)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	// A fixed date keeps the package reproducible for the same Params.
	modified := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range []struct {
		name string
		data []byte
	}{
		{ManifestFile, manifest},
		{FrenchFile, frStrings},
		{ColorIcon, colorIcon},
		{OutlineIcon, outlineIcon},
	} {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: modified})
		if err != nil {
			return fmt.Errorf("teams package: %s: %w", f.name, err)
		}
		if _, err := fw.Write(f.data); err != nil {
			return fmt.Errorf("teams package: %s: %w", f.name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("teams package: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("teams package: write: %w", err)
	}
	return nil
}
