package slack_test

import (
	"testing"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/bot/slack"
	"github.com/crmbot/crmbot/bot/slack/slackfake"
	"github.com/crmbot/crmbot/store"
)

var _ bot.Deleter = (*slack.Adapter)(nil)

// Delete takes back a post Send made (chat.delete): the message leaves the
// conversation, so a later Recover no longer finds it; deleting it again is
// not an error (message_not_found); a rate limit is waited out.
func TestDeleteTakesBackAPost(t *testing.T) {
	s := newSendRig(t)
	keep := s.send(note("First copy"), bot.SendOptions{Key: "k-1"})
	dup := s.send(note("Second copy"), bot.SendOptions{Key: "k-1"})
	if n := len(s.u.dm()); n != 2 {
		t.Fatalf("%d messages before the delete", n)
	}
	s.fake.Fail("chat.delete", 1, slackfake.Fault{Status: 429, RetryAfter: 1})
	if err := s.ad.Delete(ctxT(t), s.to, dup); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	dm := s.u.dm()
	if len(dm) != 1 || dm[0].TS != keep.ID {
		t.Fatalf("after the delete: %+v, want only %s", dm, keep.ID)
	}
	calls := s.fake.Calls("chat.delete")
	if len(calls) != 2 || calls[0].Error != "ratelimited" || calls[1].Error != "" ||
		calls[1].Param("channel") != dup.Conversation || calls[1].Param("ts") != dup.ID || calls[1].Token != botToken {
		t.Fatalf("chat.delete calls = %+v, want a 429 then the bot's delete of %+v", calls, dup)
	}
	// Gone already: fine.
	if err := s.ad.Delete(ctxT(t), s.to, dup); err != nil {
		t.Fatalf("Delete of a deleted message: %v", err)
	}
	// A retry with Recover finds the copy that stays.
	if got := s.send(note("First copy"), bot.SendOptions{Key: "k-1", Recover: true}); got != keep {
		t.Fatalf("Recover after the delete found %+v, want %+v", got, keep)
	}
	// Not a Slack message: refused without a call.
	before := len(s.fake.Calls("chat.delete"))
	if err := s.ad.Delete(ctxT(t), s.to, bot.MessageRef{Platform: store.PlatformTeams, Conversation: "a:1", ID: "1"}); err == nil {
		t.Fatal("Delete of a Teams reference succeeded")
	}
	if len(s.fake.Calls("chat.delete")) != before {
		t.Fatal("a refused Delete called Slack")
	}
	if w := s.warn.all(); len(w) != 0 {
		t.Fatalf("warnings: %q", w)
	}
}
