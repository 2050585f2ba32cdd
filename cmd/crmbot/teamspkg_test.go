package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const testAppID = "8f0c5a9e-3b1d-4c2e-9a7f-1e2d3c4b5a69"

func runTeamsPackage(t *testing.T, args []string, env map[string]string) (stdout string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(context.Background(), append([]string{"teams-package"}, args...), func(k string) string { return env[k] }, &out, &errOut)
	return out.String(), err
}

func TestTeamsPackageCommand(t *testing.T) {
	t.Run("OK from the environment", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "teams.zip")
		stdout, err := runTeamsPackage(t, []string{"--out", out},
			map[string]string{"MICROSOFT_APP_ID": testAppID, "CRMBOT_PUBLIC_URL": "https://crmbot.contoso.com"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stdout, "wrote "+out) || !strings.Contains(stdout, testAppID) {
			t.Errorf("stdout = %q, want what it wrote", stdout)
		}
		zr, err := zip.OpenReader(out)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		var names []string
		var m struct {
			ID           string   `json:"id"`
			Version      string   `json:"version"`
			ValidDomains []string `json:"validDomains"`
		}
		for _, f := range zr.File {
			names = append(names, f.Name)
			if f.Name != "manifest.json" {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			err = json.NewDecoder(rc).Decode(&m)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
		slices.Sort(names)
		if want := []string{"color.png", "fr.json", "manifest.json", "outline.png"}; !slices.Equal(names, want) {
			t.Errorf("zip holds %v, want %v", names, want)
		}
		if m.ID != testAppID || !slices.Equal(m.ValidDomains, []string{"crmbot.contoso.com"}) || m.Version != "1.0.0" {
			t.Errorf("manifest = %+v, want id %s, domain crmbot.contoso.com, version 1.0.0 (a dev build)", m, testAppID)
		}
	})
	t.Run("OK flags override the environment", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "teams.zip")
		_, err := runTeamsPackage(t, []string{"--app-id", testAppID, "--public-url", "http://localhost:3978", "--out", out, "--app-version", "2.1.0"},
			map[string]string{"MICROSOFT_APP_ID": "not-a-guid"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(out); err != nil {
			t.Fatal(err)
		}
	})
	for _, c := range []struct {
		name, want string
		args       []string
		env        map[string]string
	}{
		{"ErrAppIDMissing", "MICROSOFT_APP_ID is not set", nil, map[string]string{"CRMBOT_PUBLIC_URL": "https://crmbot.contoso.com"}},
		{"ErrAppIDNotGUID", "MICROSOFT_APP_ID: \"crmbot\" is not a GUID", nil, map[string]string{"MICROSOFT_APP_ID": "crmbot", "CRMBOT_PUBLIC_URL": "https://crmbot.contoso.com"}},
		{"ErrPublicURLMissing", "CRMBOT_PUBLIC_URL is not set", nil, map[string]string{"MICROSOFT_APP_ID": testAppID}},
		{"ErrPublicURLPlainHTTP", "CRMBOT_PUBLIC_URL: http://crmbot.contoso.com must be https://", nil, map[string]string{"MICROSOFT_APP_ID": testAppID, "CRMBOT_PUBLIC_URL": "http://crmbot.contoso.com"}},
		{"ErrVersion", "version: \"1.2\"", []string{"--app-version", "1.2"}, map[string]string{"MICROSOFT_APP_ID": testAppID, "CRMBOT_PUBLIC_URL": "https://crmbot.contoso.com"}},
		{"ErrStrayArgument", "unexpected argument \"out.zip\"", []string{"out.zip"}, map[string]string{"MICROSOFT_APP_ID": testAppID, "CRMBOT_PUBLIC_URL": "https://crmbot.contoso.com"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "teams.zip")
			_, err := runTeamsPackage(t, append([]string{"--out", out}, c.args...), c.env)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s was written despite the error (stat: %v)", out, err)
			}
		})
	}
}
