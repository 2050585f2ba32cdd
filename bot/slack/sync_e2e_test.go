package slack_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/store"
	crmsync "github.com/crmbot/crmbot/sync"
)

// The whole "assigned to you" path over real HTTP: a manager reassigns a
// lead in Dynamics (the sandbox) → the sandbox's webhook pokes the poller
// (its interval is an hour, so only the poke can make it read) → delta →
// outbox → delivery worker → the card in the owner's Slack DM, carrying
// its outbox key as message metadata.
func TestAssignmentReachesSlackThroughTheWebhook(t *testing.T) {
	const secret = "a-webhook-secret-of-32-characters"
	var poller atomic.Pointer[crmsync.Poller]
	hook := &crmsync.WebhookHandler{Secret: secret, Logger: quiet(),
		Poke: func(org, rt string) bool {
			if p := poller.Load(); p != nil {
				return p.Poke(org, rt)
			}
			return false
		}}
	if err := hook.Init(); err != nil {
		t.Fatal(err)
	}
	hookSrv := httptest.NewServer(hook)
	t.Cleanup(hookSrv.Close)
	r := newRig(t, func(o *rigOptions) {
		o.sandbox = func(so *sandbox.Options) {
			so.RecordsPerType = 3
			so.Webhook = &sandbox.WebhookOptions{URL: hookSrv.URL + "/dataverse/webhook", Secret: secret}
		}
	})
	chloe := r.user(demoEmail(0), "en-US")
	chloe.link()
	waitFor(t, "the greeting after linking", func() bool { return len(chloe.dm()) == 1 })

	so := r.sb.Options()
	ts, err := crm.AppTokenSource(context.Background(), crm.AppCredentials{AuthorityURL: r.sbSrv.URL, TenantID: so.TenantID,
		ClientID: so.ClientID, ClientSecret: so.ClientSecret, OrgURL: r.sbSrv.URL})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := crm.NewClient(r.sbSrv.URL, &http.Client{Transport: &oauth2.Transport{Source: ts}}, crm.WithCatalog(crm.DefaultCatalog()))
	if err != nil {
		t.Fatal(err)
	}
	lead, _ := crm.DefaultCatalog().Type("lead")
	p := &crmsync.Poller{Org: "sandbox", Types: []*crm.RecordType{lead}, Source: cl, Store: r.st, Holder: "replica-1",
		Interval: time.Hour, Logger: quiet()}
	if err := p.Init(); err != nil {
		t.Fatal(err)
	}
	poller.Store(p)
	d := &bot.Deliverer{Core: r.core, Store: r.st, Keys: []store.SyncKey{{Org: "sandbox", RecordType: "lead"}},
		Consumer: "replica-1", Block: 100 * time.Millisecond, Logger: quiet()}
	if err := d.Init(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg gosync.WaitGroup
	wg.Go(func() { p.Run(ctx) })
	wg.Go(func() { d.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	waitFor(t, "the baseline", func() bool { return !p.Status()[0].LastSync.IsZero() })

	manager := sandbox.DemoUsers()[2]
	id, err := r.sb.Create("leads", map[string]any{"subject": "Fleet renewal", "lastname": "Ada",
		"ownerid@odata.bind": "/systemusers(" + chloe.demo.ID + ")"}, sandbox.Principal{UserID: manager.ID})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	waitFor(t, "the notification in Chloé's DM", func() bool { return len(chloe.dm()) == 2 })
	n := chloe.lastDM()
	mustContain(t, "the notification", text(n.Blocks), "Fleet renewal", manager.FirstName)
	if n.Metadata == nil || n.Metadata.EventType != "crmbot_notification" || !strings.Contains(fmt.Sprint(n.Metadata.EventPayload["key"]), strings.ToLower(id)) {
		t.Fatalf("the post does not carry its outbox key: %+v", n.Metadata)
	}
	t.Logf("change → card in %v (poll interval 1h)", time.Since(start).Round(time.Millisecond))
	// Nothing more: one event, one card.
	time.Sleep(300 * time.Millisecond)
	if len(chloe.dm()) != 2 {
		t.Fatalf("%d messages, want the greeting and one card", len(chloe.dm()))
	}
}
