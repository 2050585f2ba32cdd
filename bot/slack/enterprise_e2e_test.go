package slack_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/bot/slack"
	"github.com/crmbot/crmbot/bot/slack/slackfake"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/store"
)

// Enterprise Grid, org-wide install: the token is the org's, and a
// workspace of the org has no install of its own. Inbound requests name
// the org; proactive sends (notifications) know only the workspace, and
// must still find the org's token.

const (
	gridID       = "E0GRID"
	gridTeamID   = "T0FABRIKAM" // a workspace of the org, no install of its own
	gridOrgToken = "xoxb-org-grid"
)

// countingInstalls counts the team → enterprise writes.
type countingInstalls struct {
	store.InstallStore
	remembered atomic.Int32
}

func (c *countingInstalls) RememberTeamEnterprise(ctx context.Context, teamID, enterpriseID string) error {
	c.remembered.Add(1)
	return c.InstallStore.RememberTeamEnterprise(ctx, teamID, enterpriseID)
}

// installOrgWide runs the install as an org admin does in a browser:
// /slack/install → Slack's authorize page (approving the whole org) →
// /slack/oauth/callback → oauth.v2.access, which answers an enterprise
// install (team null).
func installOrgWide(t *testing.T, r *rig) {
	t.Helper()
	g := slackfake.OAuthGrant{IsEnterpriseInstall: true, BotToken: gridOrgToken, BotUserID: "UORGBOT",
		Scope: strings.Join(slack.InstallScopes, ","), AuthedUserID: "UADMIN"}
	g.Enterprise.ID, g.Enterprise.Name = gridID, "Contoso Grid"
	r.fake.ApproveInstall(g)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := browser.Get(r.srv.URL + slack.InstallStartPath)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "Contoso Grid") {
		t.Fatalf("install: %d %s", resp.StatusCode, page)
	}
	if c := r.fake.Calls("oauth.v2.access"); len(c) != 1 || c[0].Error != "" {
		t.Fatalf("oauth.v2.access calls: %+v", c)
	}
	in, err := r.st.Installation(ctxT(t), "", gridID)
	if err != nil || !in.IsEnterpriseInstall || in.TeamID != "" || in.BotToken != gridOrgToken {
		t.Fatalf("stored installation %v, %v; want the org-wide one", in, err)
	}
}

// gridUser is a user of the org's workspace gridTeamID.
func (r *rig) gridUser(email, locale string) *user {
	r.t.Helper()
	var du sandbox.User
	for _, u := range sandbox.DemoUsers() {
		if u.Email == email {
			du = u
		}
	}
	id := "U" + strings.ToUpper(strings.ReplaceAll(du.FirstName, "é", "e")) + "G"
	r.fake.AddUser(slackfake.User{ID: id, TeamID: gridTeamID, Name: strings.ToLower(du.FirstName), RealName: du.FullName(),
		Email: du.Email, Locale: locale, TZ: "Europe/Paris"})
	return &user{r: r, ref: slackfake.UserRef{TeamID: gridTeamID, UserID: id, EnterpriseID: gridID}, demo: du, locale: locale}
}

func TestEnterpriseOrgInstallReachesWorkspaceWithoutItsOwn(t *testing.T) {
	r := newRig(t, func(o *rigOptions) { o.installer = true })
	counting := &countingInstalls{InstallStore: r.st}
	r.inst.Store = counting // before any request
	r.fake.AddTeam(slackfake.Team{ID: gridTeamID, EnterpriseID: gridID, Name: "Fabrikam"})
	installOrgWide(t, r)
	chloe := r.gridUser(demoEmail(0), "en-US")
	to := store.ChatUser{Platform: store.PlatformSlack, Tenant: gridTeamID, UserID: chloe.ref.UserID}

	// Before the workspace has shown itself, nothing tells it belongs to
	// the org: a clear not-found, and no post with some other token.
	_, err := r.ad.Send(ctxT(t), to, &cards.Message{Text: []string{"hello"}}, bot.SendOptions{})
	if !errors.Is(err, store.ErrNotFound) || !errors.Is(err, bot.ErrUnreachable) {
		t.Fatalf("Send to a workspace never seen: %v, want store.ErrNotFound (unreachable)", err)
	}
	if c := r.fake.Calls("chat.postMessage", "conversations.open"); len(c) != 0 {
		t.Fatalf("Send to a workspace never seen called Slack: %+v", c)
	}

	// The user links: /crm link runs in their workspace, with the org's
	// token (the request names the org), and the greeting after linking
	// is already a proactive send.
	chloe.link()
	waitFor(t, "the greeting after linking", func() bool { return len(chloe.dm()) == 1 })
	mustContain(t, "the greeting", text(chloe.lastDM().Blocks), "linked to Dynamics")
	if ent, err := r.st.TeamEnterprise(ctxT(t), gridTeamID); err != nil || ent != gridID {
		t.Fatalf("TeamEnterprise(%s) = %q, %v; want %s", gridTeamID, ent, err, gridID)
	}
	chloe.command("help") // more requests from the workspace: no more writes
	if n := counting.remembered.Load(); n != 1 {
		t.Fatalf("the team's org was written %d times, want once per process", n)
	}

	// A notification reaches the user, posted with the org's token.
	id := chloe.create("tasks", map[string]any{"subject": "Call the Grid admin"})
	ds, err := r.core.Notify(ctxT(t), bot.Assignment{RecordType: "task", RecordID: id, Kind: cards.AssignedExisting,
		SystemUserID: chloe.demo.ID})
	if err != nil || len(ds) != 1 || ds[0].Err != nil || ds[0].Ref.ID == "" {
		t.Fatalf("Notify: %+v, %v", ds, err)
	}
	mustContain(t, "the notification", text(chloe.lastDM().Blocks), "Call the Grid admin")
	posts := r.fake.Calls("chat.postMessage")
	if len(posts) != 2 {
		t.Fatalf("%d posts, want the greeting and the notification", len(posts))
	}
	for _, c := range r.fake.Calls() {
		if c.Token != "" && c.Token != gridOrgToken {
			t.Fatalf("%s used token %q, want the org's", c.Method, c.Token)
		}
	}

	// Another replica (a fresh process, nothing in memory) finds the org
	// token from the store alone.
	other := &slack.Installer{ClientID: "fake-client-id", ClientSecret: "fake-client-secret", PublicURL: r.srv.URL,
		APIURL: r.fake.URL(), Store: r.st, Nonces: r.st, Logger: quiet()}
	if tok, err := other.BotToken(ctxT(t), gridTeamID, ""); err != nil || tok != gridOrgToken {
		t.Fatalf("a fresh installer: BotToken(%s, \"\") = %q, %v; want the org's", gridTeamID, tok, err)
	}

	// A workspace never seen, in any org: not found, not some token.
	if _, err := other.BotToken(ctxT(t), "T0STRANGER", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("BotToken of a workspace never seen: %v, want store.ErrNotFound", err)
	}

	// The org uninstalls the app: the remembered mapping now leads to no
	// install, and sends fail cleanly instead of using a stale token.
	if _, _, err := r.drv.Event(ctxT(t), gridTeamID, map[string]any{"type": "app_uninstalled"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the org install to be forgotten", func() bool {
		_, err := r.st.Installation(context.Background(), "", gridID)
		return errors.Is(err, store.ErrNotFound)
	})
	_, err = r.ad.Send(ctxT(t), to, &cards.Message{Text: []string{"still there?"}}, bot.SendOptions{})
	if !errors.Is(err, store.ErrNotFound) || !errors.Is(err, bot.ErrUnreachable) {
		t.Fatalf("Send after the org uninstalled: %v, want store.ErrNotFound (unreachable)", err)
	}
	if n := len(r.fake.Calls("chat.postMessage")); n != 2 {
		t.Fatalf("a post after the org uninstalled: %d posts", n)
	}
}
