//go:build e2e

package playground_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/bot/teams"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/e2e/playground"
	"github.com/crmbot/crmbot/internal/testkit/world"
	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/embedded"
)

// The Microsoft 365 Agents Playground, a Teams client no one here wrote,
// against crmbot's real Teams endpoint in local dev mode (unauthenticated,
// loopback, the sandbox), with the conversation core, the embedded store
// and the Dataverse sandbox over HTTP. Its user is the sandbox's Chloé
// Dubois (the committed .m365agentsplayground.yml): she links through the
// real link pages, types "leads", pages the list with Action.Execute
// through the playground's invoke API, receives a proactive notification
// card, and completes the task by clicking in the playground's web UI in
// headless Chromium (screenshots in $E2E_ARTIFACTS/playground). Dialogs
// and type-ahead, which the playground does not render, are posted to
// /api/messages directly as Teams shapes them.

type server struct {
	url  string
	sb   *sandbox.Sandbox
	sbU  string
	core *bot.Core
	st   *embedded.Store
	ad   *teams.Adapter
}

func startCrmbot(t *testing.T) *server {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	w := world.New(t, world.Options{Logger: quiet})
	ad := &teams.Adapter{Core: w.Core, Connector: &teams.Connector{Logger: quiet}, Conversations: w.Store, Dedupe: w.Store,
		DevMode: true, Logger: quiet}
	if err := ad.Init(); err != nil {
		t.Fatal(err)
	}
	ad.Routes(w.Mux)
	w.Core.Senders[store.PlatformTeams] = ad
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = ad.Wait(ctx)
	})
	return &server{url: w.URL, sb: w.Sandbox, sbU: w.SandboxURL, core: w.Core, st: w.Store, ad: ad}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestCrmbotInTheAgentsPlayground(t *testing.T) {
	s := startCrmbot(t)
	p := playground.Start(t, playground.Options{BotEndpoint: s.url + teams.Path})
	chloe := sandbox.DemoUsers()[0]
	if p.User.AADObjectID != chloe.ObjectID || p.User.TenantID != sandbox.DefaultTenantID {
		t.Fatalf("the playground's user is %+v, want the sandbox's %s", p.User, chloe.Email)
	}
	as := sandbox.Principal{UserID: chloe.ID}
	for _, subj := range []string{"Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"} {
		if _, err := s.sb.Create("leads", map[string]any{"subject": "Playground " + subj, "lastname": subj}, as); err != nil {
			t.Fatal(err)
		}
	}
	ctx := ctxFor(t, 3*time.Minute)

	// Not linked yet: "leads" answers with the sign-in card.
	if _, err := p.Say(ctx, "leads"); err != nil {
		t.Fatal(err)
	}
	prompt, err := p.WaitMessage(ctx, func(m playground.Message) bool { return linkURL(m, s.url) != "" })
	if err != nil {
		t.Fatalf("no sign-in card: %v", err)
	}
	signIn(t, linkURL(prompt, s.url), s.sbU, chloe.Email)

	// Linked: the list she asked for arrives by itself (proactive).
	if _, err := p.WaitText(ctx, "1–5 of 6"); err != nil {
		t.Fatalf("the list after linking: %v", err)
	}

	if _, err := p.Say(ctx, "leads"); err != nil {
		t.Fatal(err)
	}
	n := len(p.Messages())
	list, err := p.WaitMessage(ctx, func(m playground.Message) bool {
		return m.Contains("1–5 of 6") && len(p.Messages()) > n
	})
	if err != nil {
		t.Fatal(err)
	}
	page2, err := p.Execute(ctx, list, "Next", nil)
	if err != nil {
		t.Fatalf("Action.Execute Next: %v", err)
	}
	if c := page2.Card(); c == nil || !strings.Contains(c.Text(), "6–6 of 6") {
		t.Fatalf("Next answered %s %s, want page 2", page2.Type, page2.Value)
	}

	// A dialog (task/fetch) and a type-ahead (application/search), which the
	// playground does not render: posted to our endpoint as Teams shapes them.
	view, ok := list.Card().Action("View")
	if !ok {
		t.Fatalf("no View button in the list: %s", list.Card().Text())
	}
	fetch := p.Activity("invoke")
	fetch["name"], fetch["replyToId"] = "task/fetch", list.ID()
	fetch["value"] = map[string]any{"data": view.Data, "context": map[string]any{"theme": "default"}}
	body := postActivity(t, s.url, fetch)
	var task struct {
		Task struct {
			Type  string `json:"type"`
			Value struct {
				Title string `json:"title"`
				Card  struct {
					ContentType string          `json:"contentType"`
					Content     json.RawMessage `json:"content"`
				} `json:"card"`
			} `json:"value"`
		} `json:"task"`
	}
	if err := json.Unmarshal(body, &task); err != nil || task.Task.Type != "continue" ||
		task.Task.Value.Card.ContentType != "application/vnd.microsoft.card.adaptive" ||
		!strings.Contains(string(task.Task.Value.Card.Content), `"Playground `) ||
		!strings.Contains(string(task.Task.Value.Card.Content), `"title":"Qualify"`) {
		t.Fatalf("task/fetch answered %s", body)
	}
	if _, err := s.sb.Create("accounts", map[string]any{"name": "Contoso Pharma"}, as); err != nil {
		t.Fatal(err)
	}
	search := p.Activity("invoke")
	search["name"] = "application/search"
	search["value"] = map[string]any{"queryText": "conto", "kind": "search", "dataset": "lookup:opportunity.customerid", "queryOptions": map[string]any{"skip": 0, "top": 15}}
	body = postActivity(t, s.url, search)
	var found struct {
		Type  string `json:"type"`
		Value struct {
			Results []struct{ Title, Value string } `json:"results"`
		} `json:"value"`
	}
	if err := json.Unmarshal(body, &found); err != nil || found.Type != "application/vnd.microsoft.search.searchResponse" ||
		len(found.Value.Results) != 1 || !strings.Contains(found.Value.Results[0].Title, "Contoso Pharma") {
		t.Fatalf("application/search answered %s", body)
	}

	// A proactive notification, then "Mark complete" clicked in the
	// playground's web UI: the card is replaced in place, twice (confirm).
	b := p.Browser(t)
	task1, err := s.sb.Create("tasks", map[string]any{"subject": "Call Ada back"}, as)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := s.core.Notify(ctx, bot.Assignment{RecordType: "task", RecordID: task1, Kind: cards.AssignedExisting,
		SystemUserID: chloe.ID, By: "Seán O'Brien"})
	if err != nil || len(ds) != 1 || ds[0].Err != nil {
		t.Fatalf("Notify: %+v %v", ds, err)
	}
	if _, err := p.WaitText(ctx, "Call Ada back"); err != nil {
		t.Fatalf("the notification did not reach the playground: %v", err)
	}
	if err := b.WaitCard("Call Ada back"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Screenshot("teams-notification"); err != nil {
		t.Fatal(err)
	}
	if err := b.Click("Seán O'Brien", "Mark complete"); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitNoCard("Seán O'Brien"); err != nil { // the confirmation replaced the notification
		t.Fatal(err)
	}
	if err := b.Click("Call Ada back", "Mark complete"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		rec, _ := s.sb.Record("tasks", task1)
		if fmt.Sprint(rec["statecode"]) == "1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task was not completed from the web UI: %v", rec["statecode"])
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := b.WaitCard("Call Ada back"); err != nil {
		t.Fatal(err)
	}
	path, err := b.Screenshot("teams-task-completed")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// linkURL is the sign-in button's URL on m's card, if any.
func linkURL(m playground.Message, base string) string {
	var out string
	var raw any
	for _, a := range m.Message.Attachments {
		_ = json.Unmarshal(a.Content, &raw)
	}
	var walk func(any)
	walk = func(x any) {
		switch x := x.(type) {
		case map[string]any:
			if u, _ := x["url"].(string); strings.HasPrefix(u, base+bot.LinkStartPath) {
				out = u
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(raw)
	return out
}

// signIn opens the link in a browser that picks the user's account at the
// sandbox's sign-in page (login_hint) and follows the redirects back.
func signIn(t *testing.T, start, sandboxURL, email string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), sandboxURL) && strings.Contains(req.URL.Path, "/authorize") {
			q := req.URL.Query()
			q.Set("login_hint", email)
			req.URL.RawQuery = q.Encode()
		}
		return nil
	}}
	resp, err := c.Get(start)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("link pages: %d %s", resp.StatusCode, body)
	}
}

// postActivity posts an activity to crmbot's endpoint (dev mode: no token)
// and returns the answer's body.
func postActivity(t *testing.T, base string, act map[string]any) []byte {
	t.Helper()
	b, _ := json.Marshal(act)
	resp, err := http.Post(base+teams.Path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%v %v: %d %s", act["type"], act["name"], resp.StatusCode, body)
	}
	return body
}
