// Package statustest fills a store with what the status page shows — links
// on both platforms, cursors, leases, outbox entries, dead letters — and
// fakes a poller, for the status page's unit and browser tests.
package statustest

import (
	"context"
	"fmt"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/store"
	crmsync "github.com/crmbot/crmbot/sync"
)

// Store is what Seed writes to.
type Store interface {
	store.LinkStore
	store.SyncStore
}

// The seeded org, replicas and record types.
const (
	Org          = "contoso.crm.dynamics.com"
	Replica      = "replica-a"
	OtherReplica = "replica-b"
)

// Keys are the record types seeded, in the page's order: lead (delta, held
// here, entries waiting and a dead letter), incident (baseline in progress,
// a dead letter), opportunity (paused), task (standby: the other replica
// holds it).
var Keys = []store.SyncKey{
	{Org: Org, RecordType: "lead"},
	{Org: Org, RecordType: "incident"},
	{Org: Org, RecordType: "opportunity"},
	{Org: Org, RecordType: "task"},
}

// Dead-letter reasons Seed records, one per dead letter (lead, incident).
const (
	LeadDeadReason     = "slack: channel_not_found (the user left the workspace?)"
	IncidentDeadReason = "teams: 403 Forbidden: the bot is not in the conversation"
)

// Seed writes the fixture. Links: Slack 3 (1 broken), Teams 2. Outbox:
// lead has 3 entries waiting (1 being delivered) and 1 dead letter;
// incident has 1 dead letter. Cursors are stored at the store's now;
// advance its clock to age them.
func Seed(ctx context.Context, st Store) error {
	links := []struct {
		u      store.ChatUser
		broken bool
	}{
		{store.ChatUser{Platform: store.PlatformSlack, Tenant: "T0DEMO", UserID: "U0CHLOE"}, false},
		{store.ChatUser{Platform: store.PlatformSlack, Tenant: "T0DEMO", UserID: "U0SEAN"}, false},
		{store.ChatUser{Platform: store.PlatformSlack, Tenant: "T0DEMO", UserID: "U0JONAS"}, true},
		{store.ChatUser{Platform: store.PlatformTeams, Tenant: "tenant-1", UserID: "29:mathilde"}, false},
		{store.ChatUser{Platform: store.PlatformTeams, Tenant: "tenant-1", UserID: "29:chloe"}, false},
	}
	for i, l := range links {
		_, err := st.PutLink(ctx, store.Link{ChatUser: l.u, SystemUserID: guid(0xa, i), DisplayName: l.u.UserID,
			Email: fmt.Sprintf("user%d@contoso.example", i)}, store.Tokens{RefreshToken: "refresh-" + l.u.UserID})
		if err != nil {
			return fmt.Errorf("seed link: %w", err)
		}
		if l.broken {
			if _, err := st.MarkBroken(ctx, l.u, "invalid_grant: the refresh token expired"); err != nil {
				return fmt.Errorf("seed broken link: %w", err)
			}
		}
	}

	lead, incident, opportunity, task := Keys[0], Keys[1], Keys[2], Keys[3]
	fences := map[store.SyncKey]int64{}
	for _, k := range Keys {
		holder := Replica
		if k == task {
			holder = OtherReplica
		}
		fence, ok, err := st.AcquireLease(ctx, k, holder, 24*time.Hour)
		if err != nil || !ok {
			return fmt.Errorf("seed lease %s: ok %v, %w", k, ok, err)
		}
		fences[k] = fence
	}
	cursors := map[store.SyncKey]string{lead: "delta-token-7", incident: "baseline:page-3", opportunity: "delta-token-2"}
	for k, tok := range cursors {
		if _, err := st.CommitSync(ctx, k, fences[k], store.Commit{Cursor: &store.Cursor{Token: tok}}); err != nil {
			return fmt.Errorf("seed cursor %s: %w", k, err)
		}
	}

	// The dead letters first: their entries are the only ones read.
	if err := kill(ctx, st, lead, fences[lead], assignment("lead", 1, cards.AssignedExisting, "Seán O'Brien"), LeadDeadReason); err != nil {
		return err
	}
	if err := kill(ctx, st, incident, fences[incident], assignment("incident", 2, cards.AssignedNew, ""), IncidentDeadReason); err != nil {
		return err
	}
	var waiting []store.OutboxEvent
	for i := range 3 {
		waiting = append(waiting, assignment("lead", 10+i, cards.AssignedNew, ""))
	}
	if _, err := st.CommitSync(ctx, lead, fences[lead], store.Commit{Events: waiting}); err != nil {
		return fmt.Errorf("seed outbox: %w", err)
	}
	if _, err := st.ReadOutbox(ctx, lead, "worker-1", 1, 0); err != nil {
		return fmt.Errorf("seed outbox read: %w", err)
	}
	return nil
}

// kill enqueues ev and fails it store.DefaultMaxAttempts times: a dead letter.
func kill(ctx context.Context, st Store, key store.SyncKey, fence int64, ev store.OutboxEvent, reason string) error {
	if _, err := st.CommitSync(ctx, key, fence, store.Commit{Events: []store.OutboxEvent{ev}}); err != nil {
		return fmt.Errorf("seed dead letter: %w", err)
	}
	got, err := st.ReadOutbox(ctx, key, "worker-0", 10, 0)
	for attempt := 1; err == nil && len(got) == 1; attempt++ {
		var dead bool
		if dead, err = st.FailOutbox(ctx, key, got[0].ID, reason); dead || err != nil {
			break
		}
		got, err = st.ClaimOutbox(ctx, key, fmt.Sprintf("worker-%d", attempt), 0, 10)
	}
	if err != nil {
		return fmt.Errorf("seed dead letter: %w", err)
	}
	if dl, err := st.ListDead(ctx, key, 10); err != nil || len(dl) == 0 {
		return fmt.Errorf("seed dead letter of %s: none after %d failures (%v)", key, store.DefaultMaxAttempts, err)
	}
	return nil
}

// assignment is the outbox event of a notification about record i.
func assignment(recordType string, i int, kind cards.NotificationKind, by string) store.OutboxEvent {
	a := bot.Assignment{RecordType: recordType, RecordID: guid(0x1, i), Kind: kind, SystemUserID: guid(0xa, i%4), By: by,
		Version: int64(1000 + i)}
	payload, err := a.Encode()
	if err != nil {
		panic(err) // a struct of strings and ints always encodes
	}
	return store.OutboxEvent{DedupeKey: store.EventDedupeKey(a.RecordID, a.Version, "assigned", a.SystemUserID), Payload: payload}
}

func guid(kind, i int) string {
	return fmt.Sprintf("%08x-0000-4000-8000-%012x", kind, i)
}

// Syncer is a poller whose state is fixed.
type Syncer []crmsync.TypeStatus

// Status returns s.
func (s Syncer) Status() []crmsync.TypeStatus { return s }

// Poller is this replica's poller in the fixture, as of now: lead in delta,
// incident in its baseline, opportunity paused by Dataverse, task on
// standby.
func Poller(now time.Time) Syncer {
	return Syncer{
		{RecordType: "lead", Phase: "delta", Held: true, Baseline: 1240, LastSync: now.Add(-20 * time.Second), Enqueued: 5},
		{RecordType: "incident", Phase: "baseline", Held: true, Baseline: 15000},
		{RecordType: "opportunity", Phase: "paused", Held: true, Baseline: 310, LastSync: now.Add(-4 * time.Minute),
			PausedUntil: now.Add(45 * time.Second), LastError: "dataverse: 429 Too Many Requests (retry after 45s)"},
		{RecordType: "task", Phase: "standby"},
	}
}
