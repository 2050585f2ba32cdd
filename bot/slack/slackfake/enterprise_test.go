package slackfake

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/slack-go/slack"
)

// The authorize page approves an org-wide install; oauth.v2.access then
// answers team null, and the org's token works for a workspace of the org.
func TestAuthorizeOrgWideInstall(t *testing.T) {
	s, _, _ := newFake(t)
	s.AddTeam(Team{ID: "T0GRID", EnterpriseID: "E0GRID", Name: "Grid team"})
	s.AddUser(User{ID: "U0GRID", TeamID: "T0GRID", Name: "grace"})
	g := OAuthGrant{IsEnterpriseInstall: true, BotToken: "xoxb-org", BotUserID: "U0ORGBOT", Scope: "chat:write"}
	g.Enterprise.ID, g.Enterprise.Name = "E0GRID", "Grid"
	s.ApproveInstall(g)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"client_id": {"fake-client-id"}, "redirect_uri": {"https://crm/cb"}, "state": {"st"}, "scope": {"chat:write"}}
	resp, err := noRedirect.Get(s.AuthorizeURL() + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("state") != "st" || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %s", resp.StatusCode, loc)
	}
	o, err := slack.GetOAuthV2Response(http.DefaultClient, "fake-client-id", "fake-client-secret", loc.Query().Get("code"),
		"https://crm/cb", slack.OAuthOptionAPIURL(s.URL()))
	if err != nil || !o.IsEnterpriseInstall || o.Team.ID != "" || o.Enterprise.ID != "E0GRID" || o.AccessToken != "xoxb-org" {
		t.Fatalf("oauth.v2.access = %+v, %v", o, err)
	}
	if _, err := slack.New("xoxb-org", slack.OptionAPIURL(s.URL())).GetUserInfo("U0GRID"); err != nil {
		t.Fatalf("the org token cannot see a user of the org: %v", err)
	}
	// No approval queued: denied.
	resp, err = noRedirect.Get(s.AuthorizeURL() + "?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc.Query().Get("error") != "access_denied" {
		t.Fatalf("authorize with nothing approved: %s", loc)
	}
	s.mu.Lock()
	org := s.enterpriseInstallLocked("T0GRID")
	s.mu.Unlock()
	if !org {
		t.Fatal("T0GRID is not served by the org install")
	}
}

// ExpireNextTriggers: the next trigger is expired, the one after is not.
func TestExpireNextTriggers(t *testing.T) {
	s, _, api := newFake(t)
	s.ExpireNextTriggers(1)
	late, fresh := s.NewTrigger(userID, teamID), s.NewTrigger(userID, teamID)
	if _, err := api.OpenView(late, modal("Late", section("a", "x"))); slackErr(err) != "expired_trigger_id" {
		t.Fatalf("expired trigger: %v", err)
	}
	if _, err := api.OpenView(fresh, modal("Fresh", section("a", "x"))); err != nil {
		t.Fatalf("fresh trigger: %v", err)
	}
}

// response_url: an ephemeral answer is shown to the user who acted;
// replace_original and delete_original act on it.
func TestResponseURLEphemeral(t *testing.T) {
	s, _, _ := newFake(t)
	s.mu.Lock()
	ch := s.dmLocked(userID)
	first := s.newResponseURLForLocked(ch, userID, teamID, "")
	s.mu.Unlock()
	ctx := context.Background()
	blocks := &slack.Blocks{BlockSet: []slack.Block{section("a", "first")}}
	if err := slack.PostWebhookContext(ctx, first, &slack.WebhookMessage{Text: "first", Blocks: blocks}); err != nil {
		t.Fatal(err)
	}
	e := s.Ephemerals()
	if len(e) != 1 || e[0].ForUser != userID || !strings.Contains(string(e[0].Blocks), "first") {
		t.Fatalf("ephemerals = %+v", e)
	}
	s.mu.Lock()
	onIt := s.newResponseURLForLocked(ch, userID, teamID, e[0].TS)
	s.mu.Unlock()
	if err := slack.PostWebhookContext(ctx, onIt, &slack.WebhookMessage{Text: "second", ReplaceOriginal: true}); err != nil {
		t.Fatal(err)
	}
	if e = s.Ephemerals(); len(e) != 1 || e[0].Text != "second" || e[0].Edits != 1 {
		t.Fatalf("after replace_original: %+v", e)
	}
	if err := slack.PostWebhookContext(ctx, onIt, &slack.WebhookMessage{DeleteOriginal: true}); err != nil {
		t.Fatal(err)
	}
	if e = s.Ephemerals(); len(e) != 0 {
		t.Fatalf("after delete_original: %+v", e)
	}
	// An input block without dispatch_action cannot be in a message.
	in := slack.NewInputBlock("q", slack.NewTextBlockObject(slack.PlainTextType, "Q", false, false), nil,
		slack.NewPlainTextInputBlockElement(nil, "q"))
	err := slack.PostWebhookContext(ctx, first, &slack.WebhookMessage{Text: "x", Blocks: &slack.Blocks{BlockSet: []slack.Block{in}}})
	if err == nil {
		t.Fatal("a non-dispatching input in a message was accepted")
	}
	in.DispatchAction = true
	if err := slack.PostWebhookContext(ctx, first, &slack.WebhookMessage{Text: "x", Blocks: &slack.Blocks{BlockSet: []slack.Block{in}}}); err != nil {
		t.Fatalf("a dispatching input in a message: %v", err)
	}
}
