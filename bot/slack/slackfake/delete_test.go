package slackfake

import (
	"context"
	"testing"

	"github.com/slack-go/slack"
)

// chat.delete: the bot's own message leaves the conversation (and its
// history); an unknown or already deleted ts is message_not_found, another
// bot's message cant_delete_message, an unknown conversation
// channel_not_found. A deleted message is gone; the call is kept.
func TestChatDelete(t *testing.T) {
	s, _, api := newFake(t)
	ctx := context.Background()
	md := slack.SlackMetadata{EventType: "crmbot_notification", EventPayload: map[string]any{"key": "k1"}}
	ch, ts1, err := api.PostMessageContext(ctx, userID, slack.MsgOptionText("one", false), slack.MsgOptionMetadata(md))
	if err != nil {
		t.Fatal(err)
	}
	_, ts2, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("one again", false), slack.MsgOptionMetadata(md))
	if err != nil {
		t.Fatal(err)
	}
	gotCh, gotTS, err := api.DeleteMessageContext(ctx, ch, ts2)
	if err != nil || gotCh != ch || gotTS != ts2 {
		t.Fatalf("chat.delete = %q %q %v", gotCh, gotTS, err)
	}
	if msgs := s.Messages(ch); len(msgs) != 1 || msgs[0].TS != ts1 {
		t.Fatalf("messages after the delete: %+v", msgs)
	}
	h, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch, IncludeAllMetadata: true})
	if err != nil || len(h.Messages) != 1 || h.Messages[0].Timestamp != ts1 {
		t.Fatalf("history after the delete: %+v %v", h.Messages, err)
	}
	for _, tc := range []struct{ ch, ts, want string }{
		{ch, ts2, "message_not_found"}, // deleted already
		{ch, "1.000001", "message_not_found"},
		{ch, "", "message_not_found"},
		{"C0NEVER", ts1, "channel_not_found"},
		{"D0NEVER", ts1, "channel_not_found"},
	} {
		if _, _, err := api.DeleteMessageContext(ctx, tc.ch, tc.ts); slackErr(err) != tc.want {
			t.Errorf("chat.delete %s %q: %v, want %s", tc.ch, tc.ts, err, tc.want)
		}
	}

	// Another app's bot in a shared channel cannot delete our bot's post.
	s.AddTeam(Team{ID: "T0002", Name: "Other", BotToken: "xoxb-team-2", BotUserID: "U0BOT2", BotID: "B0BOT2"})
	s.AddChannel(Channel{ID: "C0SHARED", Name: "shared", Members: []string{userID, botUser, "U0BOT2"}})
	_, ts3, err := api.PostMessageContext(ctx, "C0SHARED", slack.MsgOptionText("ours", false))
	if err != nil {
		t.Fatal(err)
	}
	other := slack.New("xoxb-team-2", slack.OptionAPIURL(s.URL()))
	if _, _, err := other.DeleteMessageContext(ctx, "C0SHARED", ts3); slackErr(err) != "cant_delete_message" {
		t.Fatalf("another bot deleting our message: %v, want cant_delete_message", err)
	}
	if len(s.Messages("C0SHARED")) != 1 {
		t.Fatal("a refused delete removed the message")
	}
	if _, _, err := api.DeleteMessageContext(ctx, "C0SHARED", ts3); err != nil || len(s.Messages("C0SHARED")) != 0 {
		t.Fatalf("our bot deleting its own channel post: %v, %d left", err, len(s.Messages("C0SHARED")))
	}
	var ok int
	for _, c := range s.Calls("chat.delete") {
		if c.Error == "" {
			ok++
		}
	}
	if ok != 2 {
		t.Fatalf("%d successful chat.delete calls recorded, want 2", ok)
	}
}
