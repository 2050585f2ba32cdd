package slack

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	goslack "github.com/slack-go/slack"

	"github.com/crmbot/crmbot/bot/slack/slackfake"
)

// The lean views calls answer like slack-go's: the view's id and hash, and
// slack-go's error types for 429s, HTTP errors and Slack's refusals.
func TestLeanViewCalls(t *testing.T) {
	fake := slackfake.New(slackfake.Options{})
	defer fake.Close()
	fake.AddTeam(slackfake.Team{ID: "T1", BotToken: "xoxb-1", BotUserID: "UB"})
	fake.AddUser(slackfake.User{ID: "U1", TeamID: "T1"})
	a := &Adapter{Core: countingCore{}, Tokens: StaticToken("xoxb-1"), APIURL: fake.URL()}
	if err := a.Init(false); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := a.api(ctx, "T1", "")
	if err != nil {
		t.Fatal(err)
	}
	view := goslack.ModalViewRequest{Type: goslack.VTModal, Title: goslack.NewTextBlockObject("plain_text", "Hi", false, false),
		Blocks: goslack.Blocks{BlockSet: []goslack.Block{goslack.NewDividerBlock()}}}
	vr, err := c.OpenViewContext(ctx, fake.NewTrigger("U1", "T1"), view)
	if err != nil || vr.View.ID == "" || vr.View.Hash == "" {
		t.Fatalf("views.open: %+v, %v", vr, err)
	}
	up, err := c.UpdateViewContext(ctx, view, "", vr.View.Hash, vr.View.ID)
	if err != nil || up.View.ID != vr.View.ID || up.View.Hash == vr.View.Hash {
		t.Fatalf("views.update: %+v, %v", up, err)
	}
	// The old hash now conflicts.
	var se goslack.SlackErrorResponse
	if _, err := c.UpdateViewContext(ctx, view, "", vr.View.Hash, vr.View.ID); !errors.As(err, &se) || se.Err != "hash_conflict" {
		t.Fatalf("stale hash: %v", err)
	}
	if _, err := c.OpenViewContext(ctx, "not-a-trigger", view); !errors.As(err, &se) || se.Err != "invalid_trigger_id" {
		t.Fatalf("bad trigger: %v", err)
	}
	fake.Fail("views.update", 1, slackfake.Fault{Status: http.StatusTooManyRequests, RetryAfter: 2})
	var rl *goslack.RateLimitedError
	if _, err := c.UpdateViewContext(ctx, view, "", "", vr.View.ID); !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
		t.Fatalf("429: %v", err)
	}
	fake.Fail("views.push", 1, slackfake.Fault{Status: http.StatusInternalServerError})
	var sc goslack.StatusCodeError
	if _, err := c.PushViewContext(ctx, fake.NewTriggerFromView("U1", "T1", vr.View.ID), view); !errors.As(err, &sc) || sc.Code != 500 {
		t.Fatalf("500: %v", err)
	}
}
