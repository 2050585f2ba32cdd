// Package sync turns Dynamics change tracking into "assigned to you"
// events: per (org, record type), under a lease with a fencing token, a
// baseline read (no notifications) and then delta reads; an owner snapshot
// tells new records from reassigned ones; the events for linked owners
// enter the outbox in the same fenced commit that advances the cursor. A
// Dataverse webhook only pokes the poller: the delta stays the single
// source of truth. The delivery workers (package bot) read the outbox.
package sync

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/store"
)

// Columns the sync reads with change tracking: the owner (with its target
// type), who changed the record last (self-assignments are not announced,
// and the card says who assigned), and the row version.
var trackColumns = []string{"_ownerid_value", "_modifiedby_value", "versionnumber"}

// Event kinds in dedupe keys.
const (
	kindNew      = "new"
	kindMoved    = "moved"
	kindPrevious = "prev"
)

// change is what one delta row does to the snapshot and the outbox. The
// changes of a page are packed into commits, each holding whole changes,
// so a replay after a crash finds a row either fully committed (snapshot
// and its events) or not at all.
type change struct {
	id     string
	set    *store.Owner // nil: delete
	events []store.OutboxEvent
}

func (c change) size() int { return 1 + len(c.events) }

// candidate is a notification before we know whether its recipient is
// linked to a chat user.
type candidate struct {
	change int // index in the page's changes
	a      bot.Assignment
	kind   string
}

// detector turns pages into changes; one per cycle (it caches team members
// for the cycle).
type detector struct {
	key    store.SyncKey
	rt     *crm.RecordType
	source Source
	store  Store
	now    func() time.Time
	teams  map[string][]string // team id → member systemuserids, for this cycle
}

// detect reads the snapshot of the page's rows and decides, row by row: not
// seen before → new (to the owner); owner changed → reassigned (to the new
// owner) and no longer yours (to the previous user owner); deleted → drop
// the snapshot entry. A baseline page only fills the snapshot. Nobody is
// told about a change they made themselves. Only linked users get events.
func (d *detector) detect(ctx context.Context, p *crm.DeltaPage, baseline bool) ([]change, error) {
	changes := make([]change, 0, len(p.Records)+len(p.Deleted))
	if baseline {
		for _, r := range p.Records {
			owner, ok := ownerOf(r)
			if !ok {
				continue
			}
			changes = append(changes, change{id: strings.ToLower(r.ID), set: &owner})
		}
		for _, id := range p.Deleted {
			changes = append(changes, change{id: strings.ToLower(id)})
		}
		return changes, nil
	}
	ids := make([]string, 0, len(p.Records))
	for _, r := range p.Records {
		if crm.IsGUID(r.ID) {
			ids = append(ids, strings.ToLower(r.ID))
		}
	}
	prev, err := d.store.GetOwners(ctx, d.key, ids)
	if err != nil {
		return nil, fmt.Errorf("read the owner snapshot: %w", err)
	}
	now := d.now()
	var cands []candidate
	for _, r := range p.Records {
		owner, ok := ownerOf(r)
		if !ok {
			continue
		}
		id := strings.ToLower(r.ID)
		old, seen := prev[id]
		if seen && old.ID == owner.ID && old.Type == owner.Type {
			continue // an edit that left the owner alone
		}
		changes = append(changes, change{id: id, set: &owner})
		i := len(changes) - 1
		by, _ := r.Lookup("modifiedby")
		byID := strings.ToLower(by.ID)
		base := bot.Assignment{RecordType: d.rt.Name, RecordID: id, By: by.Name, Version: owner.Version, Detected: now}
		kind, cardKind := kindNew, cards.AssignedNew
		if seen {
			kind, cardKind = kindMoved, cards.AssignedExisting
		}
		recipients, team, err := d.recipients(ctx, owner)
		if err != nil {
			return nil, err
		}
		toldOfNew := false
		for _, u := range recipients {
			if u == old.ID {
				toldOfNew = true // the previous owner is in the new team: not a loss
			}
			if u == byID {
				continue // assigned it to themselves (or to their own team)
			}
			a := base
			a.Kind, a.SystemUserID, a.Team = cardKind, u, team
			cands = append(cands, candidate{change: i, a: a, kind: kind})
		}
		if seen && old.Type == store.OwnerUser && old.ID != byID && !toldOfNew {
			a := base
			a.Kind, a.SystemUserID = cards.Unassigned, old.ID
			cands = append(cands, candidate{change: i, a: a, kind: kindPrevious})
		}
	}
	for _, id := range p.Deleted {
		if crm.IsGUID(id) {
			changes = append(changes, change{id: strings.ToLower(id)})
		}
	}
	if len(cands) == 0 {
		return changes, nil
	}
	users := make([]string, 0, len(cands))
	for _, c := range cands {
		users = append(users, c.a.SystemUserID)
	}
	linked, err := d.store.LinkedSystemUsers(ctx, users)
	if err != nil {
		return nil, fmt.Errorf("find linked owners: %w", err)
	}
	for _, c := range cands {
		if !linked[c.a.SystemUserID] {
			continue
		}
		payload, err := c.a.Encode()
		if err != nil {
			return nil, err
		}
		changes[c.change].events = append(changes[c.change].events, store.OutboxEvent{
			DedupeKey: store.EventDedupeKey(c.a.RecordID, c.a.Version, c.kind, c.a.SystemUserID),
			Payload:   payload,
		})
	}
	return changes, nil
}

// recipients are the users a record owned by owner is announced to: the
// user, or the members of the team (and the team's id, named on the card).
func (d *detector) recipients(ctx context.Context, owner store.Owner) ([]string, string, error) {
	if owner.Type == store.OwnerUser {
		return []string{owner.ID}, "", nil
	}
	if members, ok := d.teams[owner.ID]; ok {
		return members, owner.ID, nil
	}
	members, err := d.source.TeamMembers(ctx, owner.ID)
	if err != nil {
		return nil, "", fmt.Errorf("read the members of team %s: %w", owner.ID, err)
	}
	if d.teams == nil {
		d.teams = map[string][]string{}
	}
	d.teams[owner.ID] = members
	return members, owner.ID, nil
}

// ownerOf reads a delta row's owner and version; false for a row without
// a usable owner (it is skipped: Dataverse always sends one).
func ownerOf(r *crm.Record) (store.Owner, bool) {
	ref, ok := r.Lookup("ownerid")
	if !ok || !crm.IsGUID(ref.ID) || !crm.IsGUID(r.ID) {
		return store.Owner{}, false
	}
	o := store.Owner{ID: strings.ToLower(ref.ID), Type: store.OwnerUser}
	if ref.Type == "team" {
		o.Type = store.OwnerTeam
	}
	if n, ok := r.Number("versionnumber"); ok {
		o.Version, _ = strconv.ParseInt(string(n), 10, 64)
	}
	return o, true
}

// pack groups changes into commits of at most limit changes (snapshot
// entries plus events) each, never splitting one row's change; cursor goes
// on the last commit only. A row alone over the limit gets a commit of its
// own (its events are then cut at the limit, with a warning by the caller).
func pack(changes []change, cursor *store.Cursor, limit int) []store.Commit {
	var out []store.Commit
	cur := store.Commit{}
	n := 0
	flush := func() {
		out = append(out, cur)
		cur, n = store.Commit{}, 0
	}
	for _, c := range changes {
		if n > 0 && n+c.size() > limit {
			flush()
		}
		if c.set != nil {
			if cur.Sets == nil {
				cur.Sets = map[string]store.Owner{}
			}
			cur.Sets[c.id] = *c.set
		} else {
			cur.Deletes = append(cur.Deletes, c.id)
		}
		ev := c.events
		if len(ev) > limit-1 {
			ev = ev[:limit-1]
		}
		cur.Events = append(cur.Events, ev...)
		n += 1 + len(ev)
	}
	cur.Cursor = cursor
	if n > 0 || cursor != nil {
		flush()
	}
	return out
}
