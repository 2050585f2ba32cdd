package teams_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/bot/teams"
	"github.com/crmbot/crmbot/bot/teams/teamsfake"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/store"
)

func bind(set, id string) string { return "/" + set + "(" + id + ")" }

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// message is the current card of a message of the conversation.
func (u *user) message(id string) card {
	for _, m := range u.messages() {
		if m.ID == id {
			return card{msg: id, body: m.Card()}
		}
	}
	u.r.t.Fatalf("no message %s", id)
	return card{}
}

// A notification is posted proactively in the user's 1:1 chat; "Mark
// complete" asks in place (Action.Execute: the card is replaced), then
// completes the task in Dynamics and the card shows the new state.
func TestNotificationActsInPlaceInTeams(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "en-US")
	chloe.link()
	id := chloe.create("tasks", map[string]any{"subject": "Call Ada back"})
	before := len(chloe.messages())
	ds, err := r.core.Notify(ctxT(t), bot.Assignment{RecordType: "task", RecordID: id, Kind: cards.AssignedExisting,
		SystemUserID: chloe.demo.ID, By: "Seán O'Brien"})
	if err != nil || len(ds) != 1 || ds[0].Err != nil || ds[0].Ref.ID == "" {
		t.Fatalf("Notify: %+v, %v", ds, err)
	}
	n := chloe.nextMessage(before, "the notification")
	if n.msg != ds[0].Ref.ID || ds[0].Ref.Conversation != chloe.conv || ds[0].Ref.Platform != store.PlatformTeams {
		t.Fatalf("the delivery names %+v, the message is %s in %s", ds[0].Ref, n.msg, chloe.conv)
	}
	mustContain(t, "the notification", n.text(), "Call Ada back", "Seán O'Brien", "Mark complete")
	var raw map[string]any
	_ = json.Unmarshal(chloe.messages()[before].Raw, &raw)
	if s, _ := raw["summary"].(string); !strings.Contains(s, "Call Ada back") {
		t.Errorf("the notification's summary (the toast) = %q", s)
	}

	confirm := chloe.click(n, "Mark complete", nil)
	mustContain(t, "the confirmation", confirm.text(), "Call Ada back")
	if got := attr(r.record("tasks", id), "statecode"); got != "0" {
		t.Fatalf("completed before the confirmation: statecode %s", got)
	}
	done := chloe.click(confirm, "Mark complete", nil)
	if got := attr(r.record("tasks", id), "statecode"); got != "1" {
		t.Fatalf("statecode after confirming = %s, want 1 (completed)", got)
	}
	if strings.Contains(done.text(), "Mark complete") {
		t.Fatalf("the completed task still offers Mark complete:\n%s", done.text())
	}
	mustContain(t, "the completed notification (who assigned it stays)", done.text(), "Seán O'Brien", "Completed")
	if n := len(chloe.messages()); n != before+1 {
		t.Fatalf("acting in place posted new messages: %d", n-before-1)
	}
}

// Resolve from a notification opens a dialog (task/fetch); the submission
// resolves the case in Dynamics, the dialog shows the result, and the
// notification it was opened from is updated in place.
func TestResolveCaseFromNotificationInTeams(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "en-US")
	chloe.link()
	acc := chloe.create("accounts", map[string]any{"name": "Contoso Pharma"})
	id := chloe.create("incidents", map[string]any{"title": "Printer on fire", "customerid_account@odata.bind": bind("accounts", acc)})
	before := len(chloe.messages())
	if _, err := r.core.Notify(ctxT(t), bot.Assignment{RecordType: "incident", RecordID: id, Kind: cards.AssignedNew, SystemUserID: chloe.demo.ID}); err != nil {
		t.Fatal(err)
	}
	n := chloe.nextMessage(before, "the notification")
	form := chloe.click(n, "Resolve case", nil)
	mustContain(t, "the resolve dialog", form.text(), "Resolution")
	result, _ := chloe.submit(form, actionTitle(t, form, "Resolve case", "Resolve", "Save"), map[string]any{"subject": "Replaced the toner", "timespent": "30"})
	if result.body == nil {
		t.Fatal("the dialog closed without a result")
	}
	if got := attr(r.record("incidents", id), "statecode"); got != "1" {
		t.Fatalf("case statecode = %s, want 1 (resolved)", got)
	}
	waitFor(t, "the notification to show the resolved case", func() bool {
		return !strings.Contains(chloe.message(n.msg).text(), "Resolve case")
	})
}

// Clients without Universal Actions send an Action.Submit as a message
// with the data as its value: the card it came from is updated in place.
func TestActionSubmitFallbackUpdatesTheCard(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "en-US")
	chloe.link()
	for _, s := range []string{"Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"} {
		chloe.create("tasks", map[string]any{"subject": s})
	}
	list := chloe.say("tasks")
	mustContain(t, "the list", list.text(), "1–5 of 6")
	next := list.action(t, "Next")
	data, _ := next["data"].(map[string]any)
	act := chloe.activity(teams.TypeMessage) // no inputs: the card's search box is empty
	act["replyToId"] = list.msg
	act["value"] = map[string]any{"verb": next["verb"], "value": data["value"]}
	if status, body := chloe.post(act); status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	page2 := chloe.waitUpdated(list.msg, 0, "the list's page 2 in place")
	mustContain(t, "page 2", page2.text(), "6–6 of 6")
}

const channel = "19:general@thread.tacv2;messageid=1"

// inChannel is an activity from the user in a team channel.
func (u *user) inChannel(typ string) map[string]any {
	act := u.activity(typ)
	act["conversation"] = map[string]any{"id": channel, "conversationType": "channel", "tenantId": sandbox.DefaultTenantID, "isGroup": true}
	return act
}

// In a channel, a command's answer (the user's own records) goes to their
// 1:1 chat with the bot; the channel is only told so, and the 1:1 chat id
// known from before survives the channel's activity.
func TestChannelAnswersGoToThePersonalChat(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "en-US")
	chloe.link()
	chloe.create("leads", map[string]any{"subject": "Quiet deal", "lastname": "Zed"})
	act := chloe.inChannel(teams.TypeMessage)
	act["text"] = "<at>crmbot</at> leads"
	if status, body := chloe.post(act); status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	waitFor(t, "the note in the channel", func() bool { return len(r.fake.Activities(channel)) == 1 })
	note := card{body: r.fake.Activities(channel)[0].Card()}
	mustContain(t, "the channel note", note.text(), "1:1")
	if strings.Contains(note.text(), "Quiet deal") {
		t.Fatalf("the user's records were posted in the channel:\n%s", note.text())
	}
	chloe.waitMessage(0, "Quiet deal")
	if n := len(r.fake.Calls(teamsfake.OpCreateConversation)); n != 0 {
		t.Errorf("the known 1:1 chat was created again (%d times)", n)
	}
}

// A user who only ever wrote in a channel: the bot creates their 1:1 chat
// for the answer. When Teams refuses (the app is not installed for them),
// the channel hears where to find the bot instead of silence.
func TestChannelUserWithoutPrivateChat(t *testing.T) {
	r := newRig(t)
	ada := r.user(demoEmail(1), "en-US")
	act := ada.inChannel(teams.TypeMessage)
	act["text"] = "<at>crmbot</at> help"
	if status, body := ada.post(act); status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	waitFor(t, "the note in the channel", func() bool { return len(r.fake.Activities(channel)) == 1 })
	created := r.fake.Conversation(ada.id)
	if created == "" || len(r.fake.Activities(created)) != 1 {
		t.Fatalf("no 1:1 chat created for the answer (%q)", created)
	}
	ref, err := r.st.Conversation(ctxT(t), ada.chatUser())
	if err != nil || ref.ConversationID != created {
		t.Fatalf("the created 1:1 chat was not remembered: %+v %v", ref, err)
	}

	r.fake.Fail(teamsfake.OpSend, 1, teamsfake.Fault{Status: http.StatusForbidden, Code: "Forbidden", SubCode: "MessageWritesBlocked"})
	act = ada.inChannel(teams.TypeMessage)
	act["text"] = "help"
	if status, body := ada.post(act); status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	waitFor(t, "the second note in the channel", func() bool { return len(r.fake.Activities(channel)) == 2 })
	note := card{body: r.fake.Activities(channel)[1].Card()}
	mustContain(t, "the note", note.text(), "Apps")
}

// Web Chat and Direct Line tokens pass the issuer, audience and service URL
// checks, and their clients choose from and channelData: an activity that
// is not from the msteams channel never reaches the core nor the store.
func TestOtherChannelsAreRefused(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "en-US")
	act := chloe.activity(teams.TypeMessage)
	act["channelId"], act["text"] = "webchat", "leads"
	if status, _ := chloe.post(act); status != http.StatusUnauthorized && status != http.StatusForbidden {
		t.Fatalf("a webchat activity answered %d", status)
	}
	if err := r.ad.Wait(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.st.Conversation(ctxT(t), chloe.chatUser()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a webchat activity stored a conversation reference: %v", err)
	}
	if n := len(r.fake.All()); n != 0 {
		t.Fatalf("a webchat activity made the bot post %d messages", n)
	}
}

// An Action.Execute whose answer comes after the budget: "still working"
// in time, then the card is updated once with the answer.
func TestSlowCardActionUpdatesTheCardOnce(t *testing.T) {
	r := newRig(t, func(o *rigOptions) { o.invokeBudget = 300 * time.Millisecond })
	chloe := r.user(demoEmail(0), "en-US")
	chloe.link()
	for _, s := range []string{"Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"} {
		chloe.create("tasks", map[string]any{"subject": s})
	}
	list := chloe.say("tasks")
	r.sb.SetFaults(sandbox.Faults{Latency: time.Second})
	next := list.action(t, "Next")
	act := chloe.activity(teams.TypeInvoke)
	act["name"], act["replyToId"] = teams.InvokeCardAction, list.msg
	act["value"] = map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": next["verb"], "data": next["data"]}}
	status, body := chloe.post(act)
	if status != http.StatusOK || !strings.Contains(string(body), `"type":"application/vnd.microsoft.activity.message"`) {
		t.Fatalf("slow Action.Execute: %d %s", status, body)
	}
	page2 := chloe.waitUpdated(list.msg, 0, "the card's late update")
	mustContain(t, "page 2", page2.text(), "6–6 of 6")
	if err := r.ad.Wait(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if n := chloe.updates(list.msg); n != 1 {
		t.Fatalf("the card was updated %d times, want once", n)
	}
}

// A user who blocked the bot: the proactive send fails with
// MessageWritesBlocked, the user is marked unreachable and not tried
// again; their next message makes them reachable again.
func TestBlockedUserIsMarkedUnreachable(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "en-US")
	chloe.link()
	r.fake.Fail(teamsfake.OpSend, 1, teamsfake.Fault{Status: http.StatusForbidden, Code: "Forbidden", SubCode: "MessageWritesBlocked"})
	_, err := r.ad.Send(ctxT(t), chloe.chatUser(), &cards.Message{Text: []string{"hello"}}, bot.SendOptions{})
	if !errors.Is(err, teams.ErrUnreachable) {
		t.Fatalf("send to a blocked user: %v, want ErrUnreachable", err)
	}
	ref, err := r.st.Conversation(ctxT(t), chloe.chatUser())
	if err != nil || !ref.Unreachable {
		t.Fatalf("reference after the block: %+v, %v", ref, err)
	}
	sends := len(r.fake.Calls(teamsfake.OpSend))
	if _, err := r.ad.Send(ctxT(t), chloe.chatUser(), &cards.Message{Text: []string{"hello"}}, bot.SendOptions{}); !errors.Is(err, teams.ErrUnreachable) {
		t.Fatalf("second send: %v", err)
	}
	if n := len(r.fake.Calls(teamsfake.OpSend)); n != sends {
		t.Fatalf("an unreachable user was tried again (%d sends)", n-sends)
	}
	chloe.say("help")
	if _, err := r.ad.Send(ctxT(t), chloe.chatUser(), &cards.Message{Text: []string{"hello again"}}, bot.SendOptions{}); err != nil {
		t.Fatalf("send after the user wrote again: %v", err)
	}
}

// Installing the app (the bot joins the 1:1 chat) greets the user with
// the help card, once.
func TestWelcomeOnceWhenInstalled(t *testing.T) {
	r := newRig(t)
	ada := r.user(demoEmail(1), "fr-FR")
	for range 2 {
		act := ada.activity(teams.TypeConversationUpdate)
		act["membersAdded"] = []map[string]any{{"id": "28:" + appID}}
		if status, body := ada.post(act); status != http.StatusOK {
			t.Fatalf("%d %s", status, body)
		}
	}
	if err := r.ad.Wait(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if n := len(ada.messages()); n != 1 {
		t.Fatalf("%d welcome messages, want 1", n)
	}
	mustContain(t, "the welcome", ada.waitMessage(0, "").text(), "leads")
}

// Requests without a valid Bot Framework token are refused before
// anything happens.
func TestUnauthenticatedRequestsAreRefused(t *testing.T) {
	r := newRig(t)
	chloe := r.user(demoEmail(0), "en-US")
	act := chloe.activity(teams.TypeMessage)
	act["text"] = "leads"
	b, _ := json.Marshal(act)
	for name, authz := range map[string]string{
		"none":              "",
		"garbage":           "Bearer abc.def.ghi",
		"other serviceUrl":  "Bearer " + r.iss.Token(appID, "https://smba.trafficmanager.net/evil/"),
		"basic credentials": "Basic dXNlcjpwYXNz",
	} {
		req, _ := http.NewRequest(http.MethodPost, r.srv.URL+teams.Path, strings.NewReader(string(b)))
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, resp.StatusCode)
		}
	}
	if err := r.ad.Wait(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if n := len(r.fake.All()); n != 0 {
		t.Fatalf("unauthenticated requests made the bot post %d messages", n)
	}
	if _, err := r.st.Conversation(ctxT(t), chloe.chatUser()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an unauthenticated request stored a conversation reference: %v", err)
	}
}

// Dynamics slowed past the invoke budget: the dialog answers "still
// working" in time and the result is posted in the chat when it comes.
func TestSlowDynamicsAnswersInTimeAndPostsTheResult(t *testing.T) {
	r := newRig(t, func(o *rigOptions) { o.invokeBudget = 300 * time.Millisecond })
	chloe := r.user(demoEmail(0), "en-US")
	chloe.link()
	id := chloe.create("leads", map[string]any{"subject": "Slow deal", "lastname": "Zed"})
	list := chloe.say("leads")
	r.sb.SetFaults(sandbox.Faults{Latency: time.Second})
	before := len(chloe.messages())
	act := chloe.activity(teams.TypeInvoke)
	open := list.action(t, "View")
	act["name"], act["replyToId"] = teams.InvokeTaskFetch, list.msg
	act["value"] = map[string]any{"data": open["data"]}
	start := time.Now()
	status, body := chloe.post(act)
	if elapsed := time.Since(start); elapsed > 900*time.Millisecond {
		t.Errorf("task/fetch answered after %s with a 300ms budget", elapsed)
	}
	if status != http.StatusOK || !strings.Contains(string(body), `"type":"message"`) {
		t.Fatalf("slow task/fetch: %d %s, want a task message", status, body)
	}
	mustContain(t, "the late detail", chloe.waitMessage(before, "Slow deal").text(), "Zed")
	_ = id
}
