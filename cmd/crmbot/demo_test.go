package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/internal/config"
	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/embedded"
)

func TestDemoActivityReassignsToLinkedUsers(t *testing.T) {
	ctx := context.Background()
	sb := sandbox.New(sandbox.Options{Logger: slog.New(slog.DiscardHandler), RecordsPerType: 5})
	t.Cleanup(func() { sb.Close() })
	st, err := embedded.New(embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := crm.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	var types []*crm.RecordType
	for _, rt := range cat.ChatTypes() {
		if rt.Notify {
			types = append(types, rt)
		}
	}
	d := &demoActivity{sb: sb, links: st, types: types, every: time.Second, logger: slog.New(slog.DiscardHandler),
		rnd: rand.New(rand.NewPCG(1, 2))}

	if _, err := d.step(ctx); !errors.Is(err, errNobodyLinked) {
		t.Fatalf("with nobody linked: err = %v, want errNobodyLinked", err)
	}
	chloe := sb.Users()[0]
	u := store.ChatUser{Platform: store.PlatformTeams, Tenant: sandbox.DefaultTenantID, UserID: "29:chloe"}
	if _, err := st.PutLink(ctx, store.Link{ChatUser: u, SystemUserID: chloe.ID, DisplayName: chloe.FullName()}, store.Tokens{RefreshToken: "rt"}); err != nil {
		t.Fatal(err)
	}
	byName := map[string]*crm.RecordType{}
	for _, rt := range types {
		byName[rt.Name] = rt
	}
	for i := range 10 {
		what, err := d.step(ctx)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		// "lead 1f… → Chloé Dubois (by Mathilde Lefèvre)"
		typ, rest, _ := strings.Cut(what, " ")
		id, _, _ := strings.Cut(rest, " ")
		rt := byName[typ]
		if rt == nil {
			t.Fatalf("step %d did %q: unknown record type", i, what)
		}
		rec, ok := sb.Record(rt.EntitySet, id)
		if !ok {
			t.Fatalf("step %d did %q: no such record", i, what)
		}
		if rec["_ownerid_value"] != chloe.ID {
			t.Errorf("step %d did %q, but the owner is %v", i, what, rec["_ownerid_value"])
		}
		if by := rec["_modifiedby_value"]; by == chloe.ID || by == nil {
			t.Errorf("step %d: modified by %v: Chloé would not be told of her own move", i, by)
		}
		if !strings.HasSuffix(what, ")") || strings.Contains(what, "(by )") {
			t.Errorf("step %d: %q does not name who reassigned it", i, what)
		}
	}
}

func TestDemoBanner(t *testing.T) {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	printDemoBanner(&out, demoBanner{cfg: cfg, addr: "[::]:3978", users: 4, webhook: true})
	s := out.String()
	for _, want := range []string{
		"http://localhost:3978", "embedded sandbox", "4 users", "in memory", "REDIS_URL",
		"http://localhost:3978/api/messages", "make demo", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN",
		"deploy/slack/manifest.socket.yaml", "--demo-activity", "http://localhost:3978/status",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the banner lacks %q:\n%s", want, s)
		}
	}
	if n := strings.Count(s, "\n"); n > 20 {
		t.Errorf("the banner has %d lines; a few lines were promised", n)
	}
	out.Reset()
	printDemoBanner(&out, demoBanner{cfg: cfg, addr: ":3978", users: 4, demoEvery: 30 * time.Second})
	if strings.Contains(out.String(), "--demo-activity") || !strings.Contains(out.String(), "every 30s") {
		t.Errorf("with demo activity on, the banner should say so and not suggest it:\n%s", out.String())
	}
}

func TestDemoActivityFlagNeedsTheSandbox(t *testing.T) {
	env := map[string]string{"DATAVERSE_URL": "https://org.crm.dynamics.com", "DATAVERSE_TENANT_ID": "t",
		"DATAVERSE_CLIENT_ID": "c", "DATAVERSE_CLIENT_SECRET": "s"}
	err := run(context.Background(), []string{"serve", "--demo-activity", "30s"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--demo-activity") {
		t.Fatalf("err = %v, want a refusal naming --demo-activity", err)
	}
}
