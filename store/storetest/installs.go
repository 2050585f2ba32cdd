package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crmbot/crmbot/store"
)

// RunInstalls checks store.InstallStore: Slack installations keyed by team
// or enterprise, with their bot tokens encrypted at rest.
func RunInstalls(t *testing.T, newFixture NewFunc) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	team := store.Installation{
		TeamID: "T0TEAM", TeamName: "Acme", EnterpriseID: "E0ORG", EnterpriseName: "Acme Corp",
		BotUserID: "U0BOT", BotID: "B0BOT", AppID: "A0APP", Scope: "chat:write,commands", InstalledBy: "U0ADMIN",
		InstalledAt: at, BotToken: "xoxb-team-secret-1", BotRefreshToken: "xoxe-1-team-refresh",
		BotTokenExpiresAt: at.Add(12 * time.Hour),
	}
	org := store.Installation{
		EnterpriseID: "E0ORG", EnterpriseName: "Acme Corp", IsEnterpriseInstall: true,
		BotUserID: "U0ORGBOT", AppID: "A0APP", Scope: "chat:write", InstalledBy: "U0ADMIN", InstalledAt: at,
		BotToken: "xoxb-org-secret-2",
	}

	t.Run("RoundTrip", func(t *testing.T) {
		f := newFixture(t, mustKeyring(t))
		c := ctx(t)
		_, err := f.Store.Installation(c, "T0TEAM", "")
		wantErr(t, "Installation before any install", err, store.ErrNotFound)
		noErr(t, "PutInstallation", f.Store.PutInstallation(c, team))
		got, err := f.Store.Installation(c, "T0TEAM", "E0ORG")
		noErr(t, "Installation", err)
		wantInstall(t, got, team)

		// A reinstall replaces everything, including a refresh token that
		// is gone now (rotation off).
		re := team
		re.BotToken, re.BotRefreshToken, re.BotTokenExpiresAt, re.Scope = "xoxb-team-secret-3", "", time.Time{}, "chat:write"
		noErr(t, "PutInstallation again", f.Store.PutInstallation(c, re))
		got, err = f.Store.Installation(c, "T0TEAM", "")
		noErr(t, "Installation after reinstall", err)
		wantInstall(t, got, re)
	})

	t.Run("ZeroInstalledAtMeansNow", func(t *testing.T) {
		f := newFixture(t, mustKeyring(t))
		c := ctx(t)
		in := team
		in.InstalledAt = time.Time{}
		noErr(t, "PutInstallation", f.Store.PutInstallation(c, in))
		got, err := f.Store.Installation(c, "T0TEAM", "")
		noErr(t, "Installation", err)
		if got.InstalledAt.IsZero() {
			t.Fatal("InstalledAt stayed zero, want the time of the install")
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		f := newFixture(t, mustKeyring(t))
		c := ctx(t)
		for name, in := range map[string]store.Installation{
			"no team":                  {BotToken: "xoxb-x"},
			"enterprise without an id": {TeamID: "T1", IsEnterpriseInstall: true, BotToken: "xoxb-x"},
			"no token":                 {TeamID: "T1"},
		} {
			wantErr(t, "PutInstallation "+name, f.Store.PutInstallation(c, in), store.ErrInvalid)
		}
		wantErr(t, "DeleteInstallation with no ids", f.Store.DeleteInstallation(c, "", ""), store.ErrInvalid)
	})

	t.Run("EnterpriseFallback", func(t *testing.T) {
		f := newFixture(t, mustKeyring(t))
		c := ctx(t)
		noErr(t, "PutInstallation org", f.Store.PutInstallation(c, org))
		// A workspace of the org without its own install uses the org's.
		got, err := f.Store.Installation(c, "T0OTHER", "E0ORG")
		noErr(t, "Installation via the org", err)
		wantInstall(t, got, org)
		got, err = f.Store.Installation(c, "", "E0ORG")
		noErr(t, "Installation of the org", err)
		wantInstall(t, got, org)
		// Not for a team of another org, nor without the enterprise id.
		_, err = f.Store.Installation(c, "T0OTHER", "E0ELSE")
		wantErr(t, "Installation in another org", err, store.ErrNotFound)
		_, err = f.Store.Installation(c, "T0OTHER", "")
		wantErr(t, "Installation without the enterprise id", err, store.ErrNotFound)

		// The team's own install comes first.
		noErr(t, "PutInstallation team", f.Store.PutInstallation(c, team))
		got, err = f.Store.Installation(c, "T0TEAM", "E0ORG")
		noErr(t, "Installation of the team", err)
		wantInstall(t, got, team)
		got, err = f.Store.Installation(c, "T0OTHER", "E0ORG")
		noErr(t, "Installation of another team", err)
		wantInstall(t, got, org)
	})

	t.Run("Delete", func(t *testing.T) {
		f := newFixture(t, mustKeyring(t))
		c := ctx(t)
		noErr(t, "PutInstallation team", f.Store.PutInstallation(c, team))
		noErr(t, "PutInstallation org", f.Store.PutInstallation(c, org))
		noErr(t, "DeleteInstallation team", f.Store.DeleteInstallation(c, "T0TEAM", "E0ORG"))
		// The team now falls back on the org install, which is untouched.
		got, err := f.Store.Installation(c, "T0TEAM", "E0ORG")
		noErr(t, "Installation after deleting the team's", err)
		wantInstall(t, got, org)
		noErr(t, "DeleteInstallation org", f.Store.DeleteInstallation(c, "", "E0ORG"))
		_, err = f.Store.Installation(c, "T0TEAM", "E0ORG")
		wantErr(t, "Installation after deleting both", err, store.ErrNotFound)
		noErr(t, "DeleteInstallation of a missing one", f.Store.DeleteInstallation(c, "T0TEAM", ""))
	})

	t.Run("TeamEnterprise", func(t *testing.T) {
		f := newFixture(t, mustKeyring(t))
		c := ctx(t)
		_, err := f.Store.TeamEnterprise(c, "T0OTHER")
		wantErr(t, "TeamEnterprise of a team never seen", err, store.ErrNotFound)
		_, err = f.Store.TeamEnterprise(c, "")
		wantErr(t, "TeamEnterprise of no team", err, store.ErrNotFound)
		wantErr(t, "RememberTeamEnterprise without a team", f.Store.RememberTeamEnterprise(c, "", "E0ORG"), store.ErrInvalid)
		wantErr(t, "RememberTeamEnterprise without an enterprise", f.Store.RememberTeamEnterprise(c, "T0OTHER", ""), store.ErrInvalid)

		noErr(t, "PutInstallation org", f.Store.PutInstallation(c, org))
		noErr(t, "RememberTeamEnterprise", f.Store.RememberTeamEnterprise(c, "T0OTHER", "E0ORG"))
		noErr(t, "RememberTeamEnterprise again", f.Store.RememberTeamEnterprise(c, "T0OTHER", "E0ORG"))
		ent, err := f.Store.TeamEnterprise(c, "T0OTHER")
		noErr(t, "TeamEnterprise", err)
		if ent != "E0ORG" {
			t.Fatalf("TeamEnterprise = %q, want E0ORG", ent)
		}
		// What a proactive send does: the team's own install, else its
		// org's through the mapping.
		got, err := f.Store.Installation(c, "T0OTHER", ent)
		noErr(t, "Installation through the mapping", err)
		wantInstall(t, got, org)
		// Other teams are not affected.
		_, err = f.Store.TeamEnterprise(c, "T0THIRD")
		wantErr(t, "TeamEnterprise of another team", err, store.ErrNotFound)

		// A team seen in another org later moves there.
		noErr(t, "RememberTeamEnterprise elsewhere", f.Store.RememberTeamEnterprise(c, "T0OTHER", "E0ELSE"))
		if ent, err = f.Store.TeamEnterprise(c, "T0OTHER"); err != nil || ent != "E0ELSE" {
			t.Fatalf("TeamEnterprise after a move = %q, %v; want E0ELSE", ent, err)
		}
		noErr(t, "RememberTeamEnterprise back", f.Store.RememberTeamEnterprise(c, "T0OTHER", "E0ORG"))

		// Uninstalling the org leaves the mapping, which then leads nowhere.
		noErr(t, "DeleteInstallation org", f.Store.DeleteInstallation(c, "", "E0ORG"))
		ent, err = f.Store.TeamEnterprise(c, "T0OTHER")
		noErr(t, "TeamEnterprise after the uninstall", err)
		_, err = f.Store.Installation(c, "T0OTHER", ent)
		wantErr(t, "Installation through a stale mapping", err, store.ErrNotFound)

		// The mapping is shared by every store over the same data.
		noErr(t, "PutInstallation org again", f.Store.PutInstallation(c, org))
		ent, err = f.Reopen(mustKeyring(t)).TeamEnterprise(c, "T0OTHER")
		if err != nil || ent != "E0ORG" {
			t.Fatalf("TeamEnterprise from a reopened store = %q, %v; want E0ORG", ent, err)
		}
	})

	t.Run("TokensEncryptedAtRest", func(t *testing.T) {
		f := newFixture(t, mustKeyring(t))
		if f.RawInstallation == nil {
			t.Fatal("the fixture has no RawInstallation hook")
		}
		c := ctx(t)
		noErr(t, "PutInstallation team", f.Store.PutInstallation(c, team))
		noErr(t, "PutInstallation org", f.Store.PutInstallation(c, org))
		for _, in := range []store.Installation{team, org} {
			raw, err := f.RawInstallation(in.Key())
			noErr(t, "RawInstallation "+in.Key(), err)
			if !strings.Contains(raw, in.BotUserID) {
				t.Fatalf("raw record of %s does not hold its bot user id %q: the hook reads the wrong thing: %q", in.Key(), in.BotUserID, raw)
			}
			for _, secret := range []string{in.BotToken, in.BotRefreshToken} {
				if secret != "" && strings.Contains(raw, secret) {
					t.Fatalf("the raw record of %s holds a token in plaintext", in.Key())
				}
			}
			if !strings.Contains(raw, "v1.") {
				t.Fatalf("the raw record of %s holds no sealed value", in.Key())
			}
		}
		// Another key cannot open it.
		_, err := f.Reopen(mustKeyring(t)).Installation(c, "T0TEAM", "")
		wantErr(t, "Installation with another key", err, store.ErrUnknownKeyID)
	})

	t.Run("SwappedTokenFailsToOpen", func(t *testing.T) {
		f := newFixture(t, mustKeyring(t))
		if f.CopySealedBotToken == nil {
			t.Fatal("the fixture has no CopySealedBotToken hook")
		}
		c := ctx(t)
		other := team
		other.TeamID, other.BotToken = "T0VICTIM", "xoxb-victim"
		noErr(t, "PutInstallation team", f.Store.PutInstallation(c, team))
		noErr(t, "PutInstallation victim", f.Store.PutInstallation(c, other))
		noErr(t, "copy the sealed token", f.CopySealedBotToken(team.Key(), other.Key()))
		_, err := f.Store.Installation(c, "T0VICTIM", "")
		wantErr(t, "Installation with a token copied from another team", err, store.ErrUndecryptable)
		got, err := f.Store.Installation(c, "T0TEAM", "")
		noErr(t, "Installation of the source", err)
		wantInstall(t, got, team)
	})

	t.Run("Redacted", func(t *testing.T) {
		for _, s := range []string{team.String(), fmt.Sprintf("%v %+v %#v", team, team, team)} {
			if strings.Contains(s, team.BotToken) || strings.Contains(s, team.BotRefreshToken) {
				t.Fatalf("formatting an Installation shows a token: %s", s)
			}
		}
	})
}

// wantInstall compares installations, times to the millisecond (Redis keeps
// unix milliseconds).
func wantInstall(t *testing.T, got, want store.Installation) {
	t.Helper()
	if !got.InstalledAt.Equal(want.InstalledAt.Truncate(time.Millisecond)) ||
		!got.BotTokenExpiresAt.Equal(want.BotTokenExpiresAt.Truncate(time.Millisecond)) {
		t.Fatalf("times: got installed %s expires %s, want %s and %s", got.InstalledAt, got.BotTokenExpiresAt,
			want.InstalledAt, want.BotTokenExpiresAt)
	}
	got.InstalledAt, got.BotTokenExpiresAt = time.Time{}, time.Time{}
	want.InstalledAt, want.BotTokenExpiresAt = time.Time{}, time.Time{}
	if got.BotToken != want.BotToken || got.BotRefreshToken != want.BotRefreshToken {
		t.Fatal("tokens read back differ from those stored")
	}
	got.BotToken, got.BotRefreshToken, want.BotToken, want.BotRefreshToken = "", "", "", ""
	if got != want {
		t.Fatalf("installation:\n got %+v\nwant %+v", fields(got), fields(want))
	}
}

// fields prints an Installation's non-secret fields (String hides some).
func fields(in store.Installation) string {
	return fmt.Sprintf("team %q/%q enterprise %q/%q org-wide %v bot %q/%q app %q scope %q by %q",
		in.TeamID, in.TeamName, in.EnterpriseID, in.EnterpriseName, in.IsEnterpriseInstall,
		in.BotUserID, in.BotID, in.AppID, in.Scope, in.InstalledBy)
}
