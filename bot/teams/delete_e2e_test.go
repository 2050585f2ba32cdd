package teams_test

import (
	"net/http"
	"testing"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/bot/teams"
	"github.com/crmbot/crmbot/bot/teams/teamsfake"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/store"
)

var _ bot.Deleter = (*teams.Adapter)(nil)

// Delete takes back a message Send posted (DELETE of the activity, with the
// bot's token, no body): it leaves the chat; deleting it again is not an
// error (404); a throttled delete is retried.
func TestDeleteTakesBackAMessage(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "en-US")
	chloe.link()
	send := func(text string) bot.MessageRef {
		t.Helper()
		ref, err := r.ad.Send(ctxT(t), chloe.chatUser(), &cards.Message{Text: []string{text}}, bot.SendOptions{Key: "k-1"})
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	keep, dup := send("first copy"), send("second copy")
	before := len(r.fake.Activities(keep.Conversation))
	r.fake.Fail(teamsfake.OpDelete, 1, teamsfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: "1"})
	if err := r.ad.Delete(ctxT(t), chloe.chatUser(), dup); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	got := r.fake.Activities(keep.Conversation)
	if len(got) != before-1 {
		t.Fatalf("%d activities after the delete, want %d", len(got), before-1)
	}
	for _, a := range got {
		if a.ID == dup.ID {
			t.Fatalf("the deleted activity %s is still there", dup.ID)
		}
	}
	if got[len(got)-1].ID != keep.ID {
		t.Fatalf("the copy kept is %s, want %s", got[len(got)-1].ID, keep.ID)
	}
	calls := r.fake.Calls(teamsfake.OpDelete)
	if len(calls) != 2 || calls[0].Status != http.StatusTooManyRequests || calls[1].Status != http.StatusOK ||
		calls[1].Method != http.MethodDelete || calls[1].ActivityID != dup.ID || calls[1].ConversationID != dup.Conversation ||
		len(calls[1].Body) != 0 || calls[1].Authorization == "" {
		t.Fatalf("delete calls %+v", calls)
	}
	if err := r.ad.Delete(ctxT(t), chloe.chatUser(), dup); err != nil {
		t.Fatalf("Delete of a deleted message: %v", err)
	}
	if err := r.ad.Delete(ctxT(t), chloe.chatUser(), bot.MessageRef{Platform: store.PlatformSlack, Conversation: "D1", ID: "1.0"}); err == nil {
		t.Fatal("Delete of a Slack reference succeeded")
	}
}
