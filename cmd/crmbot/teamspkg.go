package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	teamsapp "github.com/crmbot/crmbot/deploy/teams"
)

// teamsPackage writes the Teams app package (the zip to upload in the Teams
// admin center or to sideload) for this deployment's bot id and public URL.
func teamsPackage(_ context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("teams-package", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: crmbot teams-package [flags]\n\nWrites the Teams app package (manifest.json, fr.json, icons) as a zip.")
		fs.PrintDefaults()
	}
	appID := fs.String("app-id", strings.TrimSpace(getenv("MICROSOFT_APP_ID")), "the bot's Entra app (client) id (default $MICROSOFT_APP_ID)")
	publicURL := fs.String("public-url", strings.TrimSpace(getenv("CRMBOT_PUBLIC_URL")), "crmbot's public https:// base URL (default $CRMBOT_PUBLIC_URL)")
	out := fs.String("out", "crmbot-teams.zip", "the zip file to write")
	appVersion := fs.String("app-version", teamsapp.VersionFromBuild(version), "the app's version, MAJOR.MINOR.PATCH; raise it for every update you upload")
	website := fs.String("website-url", teamsapp.DefaultWebsiteURL, "developer website shown in Teams")
	privacy := fs.String("privacy-url", teamsapp.DefaultPrivacyURL, "privacy statement shown in Teams")
	terms := fs.String("terms-url", teamsapp.DefaultTermsURL, "terms of use shown in Teams")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("teams-package: unexpected argument %q (see crmbot teams-package -h)", fs.Arg(0))
	}
	if *appID == "" {
		return fmt.Errorf("teams-package: MICROSOFT_APP_ID is not set: set it or pass --app-id (the bot's Entra app id)")
	}
	if *publicURL == "" {
		return fmt.Errorf("teams-package: CRMBOT_PUBLIC_URL is not set: set it or pass --public-url (crmbot's public https:// URL)")
	}
	p := teamsapp.Params{AppID: *appID, PublicURL: *publicURL, Version: *appVersion,
		WebsiteURL: *website, PrivacyURL: *privacy, TermsURL: *terms}
	// Build in memory first: a bad value must not leave a half-written file.
	var zip bytes.Buffer
	if err := teamsapp.Package(&zip, p); err != nil {
		return fmt.Errorf("teams-package: %w", err)
	}
	if err := os.WriteFile(*out, zip.Bytes(), 0o644); err != nil {
		return fmt.Errorf("teams-package: %w", err)
	}
	fmt.Fprintf(stdout, "teams-package: wrote %s (%d bytes): app and bot id %s, version %s, public URL %s\n",
		*out, zip.Len(), strings.ToLower(*appID), p.Version, *publicURL)
	fmt.Fprintln(stdout, "Upload it in the Teams admin center (Teams apps → Manage apps → Upload new app) or sideload it (Apps → Manage your apps → Upload an app).")
	return nil
}
