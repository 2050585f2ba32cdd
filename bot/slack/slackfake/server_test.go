package slackfake

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const (
	teamID  = "T0001"
	userID  = "U0001"
	botTok  = "xoxb-team-1"
	appTok  = "xapp-1-test"
	botUser = "U0BOT"
)

func newFake(t *testing.T) (*Server, *clock, *slack.Client) {
	t.Helper()
	c := &clock{t: time.Unix(1732450000, 0)}
	s := New(Options{Now: c.Now})
	t.Cleanup(s.Close)
	s.AddTeam(Team{ID: teamID, Name: "Acme", BotToken: botTok, BotUserID: botUser, BotID: "B0BOT"})
	s.AddAppToken(appTok)
	s.AddUser(User{ID: userID, TeamID: teamID, Name: "ada", RealName: "Ada Lovelace", Email: "ada@example.com", Locale: "fr-FR", TZ: "Europe/Paris"})
	return s, c, slack.New(botTok, slack.OptionAPIURL(s.URL()))
}

func modal(title string, blocks ...slack.Block) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:   slack.VTModal,
		Title:  slack.NewTextBlockObject(slack.PlainTextType, title, false, false),
		Submit: slack.NewTextBlockObject(slack.PlainTextType, "Save", false, false),
		Blocks: slack.Blocks{BlockSet: blocks},
	}
}

func section(id, text string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil, slack.SectionBlockOptionBlockID(id))
}

func slackErr(err error) string {
	var e slack.SlackErrorResponse
	if errors.As(err, &e) {
		return e.Err
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestAuthAndUsers(t *testing.T) {
	s, _, api := newFake(t)
	ctx := context.Background()
	at, err := api.AuthTestContext(ctx)
	if err != nil || at.TeamID != teamID || at.UserID != botUser || at.BotID != "B0BOT" {
		t.Fatalf("auth.test = %+v, %v", at, err)
	}
	if _, err := slack.New("xoxb-nope", slack.OptionAPIURL(s.URL())).AuthTest(); slackErr(err) != "invalid_auth" {
		t.Fatalf("unknown token: %v", err)
	}
	u, err := api.GetUserInfoContext(ctx, userID)
	if err != nil || u.Locale != "fr-FR" || u.Profile.Email != "ada@example.com" || u.TZ != "Europe/Paris" || u.RealName != "Ada Lovelace" {
		t.Fatalf("users.info = %+v, %v", u, err)
	}
	u, _ = api.GetUserInfoContext(ctx, userID, slack.GetUserInfoOptionIncludeLocale(false))
	if u.Locale != "" {
		t.Fatalf("locale without include_locale: %q", u.Locale)
	}
	if _, err := api.GetUserInfo("U404"); slackErr(err) != "user_not_found" {
		t.Fatalf("unknown user: %v", err)
	}
}

func TestTriggers(t *testing.T) {
	s, c, api := newFake(t)
	v := modal("Hello", section("s", "hi"))

	tr := s.NewTrigger(userID, teamID)
	resp, err := api.OpenView(tr, v)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.ID, "V") || resp.Hash == "" || resp.RootViewID != resp.ID || resp.Title.Text != "Hello" {
		t.Fatalf("view = %+v", resp.View)
	}
	if _, err := api.OpenView(tr, v); slackErr(err) != "exchanged_trigger_id" {
		t.Fatalf("reuse: %v", err)
	}
	late := s.NewTrigger(userID, teamID)
	c.Add(3*time.Second + time.Millisecond)
	if _, err := api.OpenView(late, v); slackErr(err) != "expired_trigger_id" {
		t.Fatalf("late: %v", err)
	}
	if _, err := api.OpenView("1.2.nope", v); slackErr(err) != "invalid_trigger_id" {
		t.Fatalf("unknown: %v", err)
	}
	ok := s.NewTrigger(userID, teamID)
	c.Add(3 * time.Second)
	if _, err := api.OpenView(ok, v); err != nil {
		t.Fatalf("at exactly 3s: %v", err)
	}
}

func TestPushLimitAndHash(t *testing.T) {
	s, _, api := newFake(t)
	root, err := api.OpenView(s.NewTrigger(userID, teamID), modal("Root", section("s", "a")))
	if err != nil {
		t.Fatal(err)
	}
	// A trigger from outside the modal cannot push.
	if _, err := api.PushView(s.NewTrigger(userID, teamID), modal("P", section("s", "p"))); slackErr(err) != "not_found" {
		t.Fatalf("push without modal trigger: %v", err)
	}
	p1, err := api.PushView(s.NewTriggerFromView(userID, teamID, root.ID), modal("P1", section("s", "b")))
	if err != nil || p1.PreviousViewID != root.ID || p1.RootViewID != root.ID {
		t.Fatalf("push 1: %+v %v", p1, err)
	}
	if _, err := api.PushView(s.NewTriggerFromView(userID, teamID, p1.ID), modal("P2", section("s", "p"))); err != nil {
		t.Fatalf("push 2: %v", err)
	}
	if _, err := api.PushView(s.NewTriggerFromView(userID, teamID, p1.ID), modal("P3", section("s", "p"))); slackErr(err) != "push_limit_reached" {
		t.Fatalf("push 3: %v", err)
	}
	if n := len(s.Stack(userID)); n != 3 {
		t.Fatalf("stack = %d", n)
	}

	up, err := api.UpdateView(modal("Root v2", section("s", "c")), "", root.Hash, root.ID)
	if err != nil || up.ID != root.ID || up.Hash == root.Hash {
		t.Fatalf("update: %+v %v", up, err)
	}
	if _, err := api.UpdateView(modal("Root v3", section("s", "p")), "", root.Hash, root.ID); slackErr(err) != "hash_conflict" {
		t.Fatalf("stale hash: %v", err)
	}
	if _, err := api.UpdateView(modal("x", section("s", "p")), "", "", "V404"); slackErr(err) != "not_found" {
		t.Fatalf("unknown view: %v", err)
	}
	got, _ := s.View(root.ID)
	if got.Title != "Root v2" || got.Updates != 1 {
		t.Fatalf("stored view = %+v", got)
	}
}

func TestInvalidViews(t *testing.T) {
	s, _, api := newFake(t)
	tooLong := strings.Repeat("x", 25)
	_, err := api.OpenView(s.NewTrigger(userID, teamID), modal(tooLong))
	var e slack.SlackErrorResponse
	if !errors.As(err, &e) || e.Err != "invalid_arguments" || len(e.ResponseMetadata.Messages) == 0 ||
		!strings.Contains(e.ResponseMetadata.Messages[0], "/view/title/text") {
		t.Fatalf("25-char title: %#v", err)
	}
	var blocks []slack.Block
	for i := range 101 {
		blocks = append(blocks, section(fmt.Sprint("b", i), "x"))
	}
	if _, err := api.OpenView(s.NewTrigger(userID, teamID), modal("ok", blocks...)); slackErr(err) != "invalid_arguments" {
		t.Fatalf("101 blocks: %v", err)
	}
	// 51 blocks in a message.
	if _, _, err := api.PostMessage(userID, slack.MsgOptionBlocks(blocks[:51]...)); slackErr(err) != "invalid_blocks" {
		t.Fatalf("51 message blocks: %v", err)
	}
	// Duplicate block ids (non-input, so slack-go does not catch it).
	if _, err := api.OpenView(s.NewTrigger(userID, teamID), modal("ok", section("a", "1"), section("a", "2"))); slackErr(err) != "invalid_arguments" {
		t.Fatalf("duplicate block_id: %v", err)
	}
	// Header over 150.
	h := slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("h", 151), false, false))
	if _, _, err := api.PostMessage(userID, slack.MsgOptionBlocks(h)); slackErr(err) != "invalid_blocks" {
		t.Fatalf("long header: %v", err)
	}
	// Input blocks are refused in messages.
	in := slack.NewInputBlock("in", slack.NewTextBlockObject(slack.PlainTextType, "Name", false, false), nil,
		slack.NewPlainTextInputBlockElement(nil, "name"))
	if _, _, err := api.PostMessage(userID, slack.MsgOptionBlocks(in)); slackErr(err) != "invalid_blocks" {
		t.Fatalf("input in message: %v", err)
	}
	if len(s.Stack(userID)) != 0 {
		t.Fatal("refused views must not open")
	}
}

func TestMessagesAndHistory(t *testing.T) {
	s, _, api := newFake(t)
	ctx := context.Background()
	md := slack.SlackMetadata{EventType: "crm_card", EventPayload: map[string]any{"id": "42"}}
	ch, ts1, err := api.PostMessageContext(ctx, userID, slack.MsgOptionText("one", false), slack.MsgOptionMetadata(md))
	if err != nil || !strings.HasPrefix(ch, "D") {
		t.Fatalf("post: %q %v", ch, err)
	}
	_, ts2, _ := api.PostMessageContext(ctx, ch, slack.MsgOptionText("one", false)) // no dedupe
	if !(ts1 < ts2) || !strings.Contains(ts1, ".") || len(strings.Split(ts1, ".")[1]) != 6 {
		t.Fatalf("ts %q %q", ts1, ts2)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, ch, ts1, slack.MsgOptionText("one v2", false)); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, ch, "1.000001", slack.MsgOptionText("x", false)); slackErr(err) != "message_not_found" {
		t.Fatalf("update unknown: %v", err)
	}
	msgs := s.Messages(ch)
	if len(msgs) != 2 || msgs[0].Text != "one v2" || msgs[0].Edits != 1 || msgs[0].Metadata.EventType != "crm_card" {
		t.Fatalf("messages = %+v", msgs)
	}
	h, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch, Limit: 10, IncludeAllMetadata: true})
	if err != nil || len(h.Messages) != 2 || h.Messages[0].Timestamp != ts2 || h.Messages[1].Metadata.EventType != "crm_card" ||
		h.Messages[1].Metadata.EventPayload["id"] != "42" {
		t.Fatalf("history = %+v %v", h, err)
	}
	h, _ = api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch, Limit: 1})
	if len(h.Messages) != 1 || !h.HasMore || h.Messages[0].Metadata.EventType != "" {
		t.Fatalf("history without metadata = %+v", h)
	}
	dm, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{userID}})
	if err != nil || dm.ID != ch {
		t.Fatalf("conversations.open = %v %v", dm, err)
	}
	if _, err := api.PostEphemeralContext(ctx, ch, userID, slack.MsgOptionText("psst", false)); err != nil {
		t.Fatal(err)
	}
	if len(s.Ephemerals()) != 1 || len(s.Messages(ch)) != 2 {
		t.Fatal("ephemeral bookkeeping")
	}
	if _, _, _, err := api.UnfurlMessageContext(ctx, "C1", ts1, map[string]slack.Attachment{"https://crm/x/1": {Text: "Acme"}}); err != nil {
		t.Fatal(err)
	}
	if u := s.Unfurls(); len(u) != 1 || u[0].Unfurls["https://crm/x/1"] == nil {
		t.Fatalf("unfurls = %+v", u)
	}
}

func TestOAuth(t *testing.T) {
	s, _, _ := newFake(t)
	g := OAuthGrant{BotToken: "xoxb-new", BotUserID: "U0NEW", Scope: "chat:write,commands", AuthedUserID: "U0INST", RedirectURI: "https://crm/cb"}
	g.Team.ID, g.Team.Name = "T0NEW", "NewCo"
	s.AddOAuthCode("code-1", g)
	resp, err := slack.GetOAuthV2Response(http.DefaultClient, "fake-client-id", "fake-client-secret", "code-1", "https://crm/cb", slack.OAuthOptionAPIURL(s.URL()))
	if err != nil {
		t.Fatal(err)
	}
	if resp.AccessToken != "xoxb-new" || resp.TokenType != "bot" || resp.Team.ID != "T0NEW" || resp.Enterprise.ID != "" ||
		resp.AuthedUser.ID != "U0INST" || resp.BotUserID != "U0NEW" || resp.AppID != s.AppID() || resp.Scope != g.Scope {
		t.Fatalf("oauth = %+v", resp)
	}
	if _, err := slack.GetOAuthV2Response(http.DefaultClient, "fake-client-id", "fake-client-secret", "code-1", "https://crm/cb", slack.OAuthOptionAPIURL(s.URL())); slackErr(err) != "invalid_code" {
		t.Fatalf("reuse: %v", err)
	}
	if _, err := slack.New("xoxb-new", slack.OptionAPIURL(s.URL())).AuthTest(); err != nil {
		t.Fatalf("installed token: %v", err)
	}
	// The raw body has enterprise: null like Slack.
	if c := s.Calls("oauth.v2.access"); len(c) != 2 || c[0].Param("code") != "code-1" {
		t.Fatalf("calls = %+v", c)
	}
}

func TestFaults(t *testing.T) {
	s, _, api := newFake(t)
	s.Fail("chat.postMessage", 1, Fault{Status: 429, RetryAfter: 2})
	s.Fail("chat.postMessage", 1, Fault{Status: 429})
	s.Fail("chat.postMessage", 1, Fault{Error: "internal_error"})
	s.Fail("chat.postMessage", 1, Fault{Status: 500})
	_, _, err := api.PostMessage(userID, slack.MsgOptionText("x", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Fatalf("429+Retry-After: %#v", err)
	}
	_, _, err = api.PostMessage(userID, slack.MsgOptionText("x", false))
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != 429 {
		t.Fatalf("429 bare: %#v", err)
	}
	if _, _, err = api.PostMessage(userID, slack.MsgOptionText("x", false)); slackErr(err) != "internal_error" {
		t.Fatalf("error fault: %v", err)
	}
	_, _, err = api.PostMessage(userID, slack.MsgOptionText("x", false))
	if !errors.As(err, &sc) || sc.Code != 500 {
		t.Fatalf("500: %#v", err)
	}
	if _, _, err = api.PostMessage(userID, slack.MsgOptionText("x", false)); err != nil {
		t.Fatalf("after faults: %v", err)
	}
	if n := len(s.Messages(userID)); n != 1 {
		t.Fatalf("messages = %d", n)
	}
	s.Delay("auth.test", 50*time.Millisecond)
	start := time.Now()
	_, _ = api.AuthTest()
	if time.Since(start) < 50*time.Millisecond {
		t.Fatal("delay not applied")
	}
	if c := s.Calls("chat.postMessage"); len(c) != 5 || c[0].Status != 429 || c[4].Error != "" {
		t.Fatalf("calls = %+v", c)
	}
}

func TestPublishHome(t *testing.T) {
	s, _, api := newFake(t)
	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{section("h", "Welcome")}}}
	r1, err := api.PublishView(userID, home, "")
	if err != nil {
		t.Fatal(err)
	}
	r2, err := api.PublishView(userID, home, r1.Hash)
	if err != nil || r2.ID != r1.ID || r2.Hash == r1.Hash {
		t.Fatalf("republish: %+v %v", r2, err)
	}
	if _, err := api.PublishView(userID, home, r1.Hash); slackErr(err) != "hash_conflict" {
		t.Fatalf("stale: %v", err)
	}
	if h, ok := s.Home(userID); !ok || h.Updates != 1 {
		t.Fatalf("home = %+v", h)
	}
}

// Channels: the bot posts to and reads a channel only as a member; a
// private channel it is not in does not exist for it; archived channels
// refuse posts; a channel never added does not exist. Posts are never
// deduplicated.
func TestChannelsMembership(t *testing.T) {
	s, _, api := newFake(t)
	ctx := context.Background()
	s.AddChannel(Channel{ID: "C0IN", TeamID: teamID, Name: "sales", Members: []string{userID, botUser}})
	s.AddChannel(Channel{ID: "C0OUT", TeamID: teamID, Name: "general", Members: []string{userID}})
	s.AddChannel(Channel{ID: "C0PRIV", TeamID: teamID, Name: "board", Private: true, Members: []string{userID}})
	s.AddChannel(Channel{ID: "C0OLD", TeamID: teamID, Name: "old", Archived: true, Members: []string{botUser}})
	s.AddChannel(Channel{ID: "C0OTHER", TeamID: "T0ELSEWHERE", Name: "theirs", Members: []string{botUser}})
	md := slack.SlackMetadata{EventType: "crmbot_notification", EventPayload: map[string]any{"key": "k1"}}
	for range 2 {
		if ch, _, err := api.PostMessageContext(ctx, "C0IN", slack.MsgOptionText("hi", false), slack.MsgOptionMetadata(md)); err != nil || ch != "C0IN" {
			t.Fatalf("post to a channel the bot is in: %q %v", ch, err)
		}
	}
	if n := len(s.Messages("C0IN")); n != 2 {
		t.Fatalf("two identical posts made %d messages, want 2 (no dedupe)", n)
	}
	for ch, want := range map[string]string{
		"C0OUT": "not_in_channel", "C0PRIV": "channel_not_found", "C0OLD": "is_archived",
		"C0NEVER": "channel_not_found", "C0OTHER": "channel_not_found", "G0NEVER": "channel_not_found",
	} {
		if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("hi", false)); slackErr(err) != want {
			t.Errorf("post to %s: %v, want %s", ch, err, want)
		}
		if len(s.Messages(ch)) != 0 {
			t.Errorf("a refused post landed in %s", ch)
		}
	}
	h, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: "C0IN", IncludeAllMetadata: true})
	if err != nil || len(h.Messages) != 2 || h.Messages[0].Metadata.EventPayload["key"] != "k1" || h.Messages[0].BotID != "B0BOT" {
		t.Fatalf("history of C0IN = %+v, %v", h, err)
	}
	for ch, want := range map[string]string{"C0OUT": "not_in_channel", "C0PRIV": "channel_not_found", "C0NEVER": "channel_not_found"} {
		if _, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch}); slackErr(err) != want {
			t.Errorf("history of %s: %v, want %s", ch, err, want)
		}
	}
	info, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: "C0OUT"})
	if err != nil || info.IsMember || info.Name != "general" {
		t.Fatalf("conversations.info C0OUT = %+v, %v", info, err)
	}
}

// With scopes set, conversations.history needs the history scope of the
// conversation's type and says which one is missing, as Slack does.
func TestHistoryScopes(t *testing.T) {
	s, _, api := newFake(t)
	ctx := context.Background()
	s.AddChannel(Channel{ID: "C0PUB", TeamID: teamID, Members: []string{botUser}})
	s.AddChannel(Channel{ID: "C0PRIV", TeamID: teamID, Private: true, Members: []string{botUser}})
	dm, _, err := api.PostMessageContext(ctx, userID, slack.MsgOptionText("hi", false))
	if err != nil {
		t.Fatal(err)
	}
	history := func(ch string) error {
		_, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch, IncludeAllMetadata: true})
		return err
	}
	for _, ch := range []string{dm, "C0PUB", "C0PRIV"} {
		if err := history(ch); err != nil {
			t.Fatalf("scopes not modelled: history of %s: %v", ch, err)
		}
	}
	base := []string{"chat:write", "commands", "im:write"}
	for ch, scope := range map[string]string{dm: "im:history", "C0PUB": "channels:history", "C0PRIV": "groups:history"} {
		s.SetScopes(teamID, base)
		err := history(ch)
		var se slack.SlackErrorResponse
		if !errors.As(err, &se) || se.Err != "missing_scope" || se.Needed != scope || se.Provided != "chat:write,commands,im:write" {
			t.Errorf("history of %s without %s: %+v", ch, scope, err)
		}
		s.SetScopes(teamID, append(base, scope))
		if err := history(ch); err != nil {
			t.Errorf("history of %s with %s: %v", ch, scope, err)
		}
	}
	// An OAuth install gets the scopes it was granted.
	g := OAuthGrant{BotToken: "xoxb-granted", BotUserID: "U0G", Scope: "chat:write,im:write"}
	g.Team.ID = teamID
	s.AddOAuthCode("c", g)
	if _, err := slack.GetOAuthV2Response(http.DefaultClient, "fake-client-id", "fake-client-secret", "c", "", slack.OAuthOptionAPIURL(s.URL())); err != nil {
		t.Fatal(err)
	}
	_, err = slack.New("xoxb-granted", slack.OptionAPIURL(s.URL())).GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: dm})
	if slackErr(err) != "missing_scope" {
		t.Fatalf("history with a grant lacking im:history: %v", err)
	}
}
