//go:build e2e

package playground

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// testBot is the least a Teams bot does: it answers a message with a card
// carrying an Action.Execute button (POST to the activity's serviceUrl),
// answers the button's adaptiveCard/action invoke with a new card in the HTTP
// body, updates a card in place (PUT), and writes first (create-conversation).
type testBot struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	activities []map[string]any
	changed    chan struct{}
}

func newTestBot(t *testing.T) *testBot {
	b := &testBot{t: t, changed: make(chan struct{})}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serveHTTP))
	t.Cleanup(b.srv.Close)
	return b
}

func (b *testBot) endpoint() string { return b.srv.URL + "/api/messages" }

func leadCard(name string) map[string]any {
	return map[string]any{"type": "AdaptiveCard", "version": "1.5", "body": []any{
		map[string]any{"type": "TextBlock", "text": "Lead: " + name, "weight": "Bolder", "size": "Medium"},
		map[string]any{"type": "FactSet", "facts": []any{map[string]any{"title": "Status", "value": "Qualified"}}},
	}, "actions": []any{
		map[string]any{"type": "Action.Execute", "title": "Win", "verb": "win", "data": map[string]any{"lead": name}},
	}}
}

func wonCard(name string) map[string]any {
	return map[string]any{"type": "AdaptiveCard", "version": "1.5", "body": []any{
		map[string]any{"type": "TextBlock", "text": "Won: " + name, "weight": "Bolder", "color": "Good"},
	}}
}

func cardActivity(card map[string]any) map[string]any {
	return map[string]any{"type": "message", "attachments": []any{
		map[string]any{"contentType": CardContentType, "content": card}}}
}

func (b *testBot) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost { // the playground probes the endpoint with HEAD
		return
	}
	var a map[string]any
	if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	b.activities = append(b.activities, a)
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()

	serviceURL, _ := a["serviceUrl"].(string)
	conv, _ := a["conversation"].(map[string]any)
	convID, _ := conv["id"].(string)
	switch a["type"] {
	case "message":
		text, _ := a["text"].(string)
		var res struct {
			ID string `json:"id"`
		}
		if err := b.call(http.MethodPost, serviceURL+"/v3/conversations/"+url.PathEscape(convID)+"/activities", cardActivity(leadCard(text)), &res); err != nil {
			b.t.Errorf("test bot: reply: %v", err)
			return
		}
		if strings.HasPrefix(text, "update ") { // then edit the card it just sent
			if err := b.call(http.MethodPut, serviceURL+"/v3/conversations/"+url.PathEscape(convID)+"/activities/"+url.PathEscape(res.ID),
				cardActivity(leadCard(text+" (edited)")), nil); err != nil {
				b.t.Errorf("test bot: update: %v", err)
			}
		}
	case "invoke":
		if a["name"] != "adaptiveCard/action" {
			w.Write([]byte("{}"))
			return
		}
		value, _ := a["value"].(map[string]any)
		action, _ := value["action"].(map[string]any)
		data, _ := action["data"].(map[string]any)
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"statusCode": 200, "type": CardContentType, "value": wonCard(fmt.Sprint(data["lead"]))})
	}
}

// remind writes to user first: create the 1:1 conversation, then send into it.
func (b *testBot) remind(serviceURL string, bot Bot, user User, text string) (convID string, err error) {
	var conv struct {
		ID string `json:"id"`
	}
	err = b.call(http.MethodPost, serviceURL+"/v3/conversations", map[string]any{
		"bot": map[string]any{"id": bot.ID, "name": bot.Name}, "members": []any{map[string]any{"id": user.ID}},
		"isGroup": false, "tenantId": user.TenantID, "channelData": map[string]any{"tenant": map[string]any{"id": user.TenantID}},
	}, &conv)
	if err != nil {
		return "", fmt.Errorf("create conversation: %w", err)
	}
	card := map[string]any{"type": "AdaptiveCard", "version": "1.5", "body": []any{map[string]any{"type": "TextBlock", "text": text}}}
	return conv.ID, b.call(http.MethodPost, serviceURL+"/v3/conversations/"+url.PathEscape(conv.ID)+"/activities", cardActivity(card), nil)
}

func (b *testBot) call(method, u string, in, out any) error {
	body, _ := json.Marshal(in)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s %s", method, u, resp.Status, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// waitActivity returns the first activity the bot received that match accepts.
func (b *testBot) waitActivity(t *testing.T, what string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.After(DefaultTimeout)
	for seen := 0; ; {
		b.mu.Lock()
		acts, changed := b.activities[seen:], b.changed
		seen = len(b.activities)
		b.mu.Unlock()
		for _, a := range acts {
			if match(a) {
				return a
			}
		}
		select {
		case <-changed:
		case <-deadline:
			b.mu.Lock()
			all, _ := json.MarshalIndent(b.activities, "", "  ")
			b.mu.Unlock()
			t.Fatalf("the bot never received %s; it received:\n%s", what, all)
		}
	}
}

func str(v any, path ...string) string {
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	s, _ := v.(string)
	return s
}

func TestPlayground(t *testing.T) {
	bot := newTestBot(t)
	user := DemoUser
	user.Locale = "fr-FR"
	p := Start(t, Options{BotEndpoint: bot.endpoint(), User: user})
	t.Logf("playground at %s, bot at %s", p.URL(), bot.endpoint())
	ctx := context.Background()

	t.Run("the config names the sandbox user", func(t *testing.T) {
		c := p.Config().Config
		if c.CurrentUser.AADObjectID != DemoUser.AADObjectID || c.TenantID != DemoUser.TenantID || c.CurrentUser.Name != "Chloé Dubois" {
			t.Errorf("current user %+v in tenant %s, want %+v", c.CurrentUser, c.TenantID, DemoUser)
		}
		if c.PersonalChat.ID != PersonalChatID {
			t.Errorf("personal chat %q, want %q", c.PersonalChat.ID, PersonalChatID)
		}
		if p.Config().InternalConfig.Locale != "fr-FR" {
			t.Errorf("the playground runs in locale %q, want fr-FR", p.Config().InternalConfig.Locale)
		}
	})

	var lead Message
	t.Run("a message is answered with a card on the stream", func(t *testing.T) {
		if _, err := p.Say(ctx, "Contoso"); err != nil {
			t.Fatal(err)
		}
		a := bot.waitActivity(t, `the message "Contoso"`, func(a map[string]any) bool { return a["text"] == "Contoso" })
		for _, c := range []struct{ name, got, want string }{
			{"from.id", str(a, "from", "id"), user.ID},
			{"from.aadObjectId", str(a, "from", "aadObjectId"), user.AADObjectID},
			{"from.name", str(a, "from", "name"), user.Name},
			{"conversation.tenantId", str(a, "conversation", "tenantId"), user.TenantID},
			{"channelData.tenant.id", str(a, "channelData", "tenant", "id"), user.TenantID},
			{"conversation.id", str(a, "conversation", "id"), PersonalChatID},
			{"conversation.conversationType", str(a, "conversation", "conversationType"), "personal"},
			{"serviceUrl", str(a, "serviceUrl"), p.ServiceURL()},
			{"channelId", str(a, "channelId"), "msteams"},
			{"recipient.id", str(a, "recipient", "id"), DemoBot.ID},
		} {
			if c.got != c.want {
				t.Errorf("activity %s = %q, want %q", c.name, c.got, c.want)
			}
		}
		var err error
		if lead, err = p.WaitText(ctx, "Lead: Contoso"); err != nil {
			t.Fatal(err)
		}
		if lead.Action != ActionCreateMessage || lead.ConversationID != PersonalChatID || lead.ID() == "" {
			t.Errorf("stream event %s", lead.Raw)
		}
		if c := lead.Card(); c == nil || !strings.Contains(c.Text(), "Status\nQualified") {
			t.Errorf("card text %q lacks the fact", lead.Card().Text())
		}
	})

	t.Run("Action.Execute through the API returns the new card", func(t *testing.T) {
		if lead.ID() == "" {
			t.Skip("no card to press")
		}
		res, err := p.Execute(ctx, lead, "Win", nil)
		if err != nil {
			t.Fatal(err)
		}
		if c := res.Card(); c == nil || !strings.Contains(c.Text(), "Won: Contoso") {
			t.Fatalf("invoke answered %+v", res)
		}
		a := bot.waitActivity(t, "the adaptiveCard/action invoke", func(a map[string]any) bool { return a["name"] == "adaptiveCard/action" })
		if str(a, "replyToId") != lead.ID() || str(a, "value", "action", "verb") != "win" || str(a, "value", "action", "data", "lead") != "Contoso" {
			t.Errorf("invoke activity: %v", a)
		}
	})

	t.Run("an updated card shows on the stream", func(t *testing.T) {
		if _, err := p.Say(ctx, "update Tailspin"); err != nil {
			t.Fatal(err)
		}
		sent, err := p.WaitText(ctx, "Lead: update Tailspin")
		if err != nil {
			t.Fatal(err)
		}
		edited, err := p.WaitMessage(ctx, func(m Message) bool {
			return m.Action == ActionUpdateMessage && m.Contains("Lead: update Tailspin (edited)")
		})
		if err != nil {
			t.Fatal(err)
		}
		if edited.ID() != sent.ID() {
			t.Errorf("update of %s came as message %s", sent.ID(), edited.ID())
		}
	})

	t.Run("a custom activity carries the user's locale", func(t *testing.T) {
		act := p.Activity("message")
		act["text"] = "bonjour"
		if err := p.SendActivity(ctx, act); err != nil {
			t.Fatal(err)
		}
		a := bot.waitActivity(t, `the message "bonjour"`, func(a map[string]any) bool { return a["text"] == "bonjour" })
		if str(a, "locale") != "fr-FR" || str(a, "from", "aadObjectId") != user.AADObjectID {
			t.Errorf("custom activity arrived as %v", a)
		}
		if _, err := p.WaitText(ctx, "Lead: bonjour"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("the bot writes first: create-conversation then send", func(t *testing.T) {
		conv, err := bot.remind(p.ServiceURL(), p.Bot, p.User, "Reminder: call Contoso")
		if err != nil {
			t.Fatal(err)
		}
		m, err := p.WaitText(ctx, "Reminder: call Contoso")
		if err != nil {
			t.Fatal(err)
		}
		if m.ConversationID != conv || conv != PersonalChatID {
			t.Errorf("reminder in conversation %q, create-conversation said %q, personal chat is %q", m.ConversationID, conv, PersonalChatID)
		}
	})

	t.Run("a person clicks Action.Execute in the web UI", func(t *testing.T) {
		b := p.Browser(t)
		if err := b.Say("Fabrikam"); err != nil {
			t.Fatal(err)
		}
		bot.waitActivity(t, `"Fabrikam" typed in the UI`, func(a map[string]any) bool { return a["text"] == "Fabrikam" })
		if err := b.WaitCard("Lead: Fabrikam"); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Screenshot("lead-card"); err != nil {
			t.Fatal(err)
		}
		if err := b.Click("Lead: Fabrikam", "Win"); err != nil {
			t.Fatal(err)
		}
		if err := b.WaitCard("Won: Fabrikam"); err != nil {
			t.Fatal(err)
		}
		if err := b.WaitNoCard("Lead: Fabrikam"); err != nil {
			t.Fatal(err)
		}
		shot, err := b.Screenshot("won-card")
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(shot)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatalf("screenshot %s: %v", shot, err)
		}
		if img.Bounds().Dx() < 800 {
			t.Errorf("screenshot %s is %v", shot, img.Bounds())
		}
		t.Logf("screenshot: %s", shot)
	})
}
