package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/store"
)

// demoActivity plays a busy sales team in the embedded sandbox: now and then
// it reassigns an open record to one of the demo users who linked, acting as
// the record's current owner (or the sales manager), so "assigned to you"
// cards flow in a demo exactly as they would from a real org: through change
// tracking, the webhook poke and the outbox.
type demoActivity struct {
	sb     *sandbox.Sandbox
	links  store.LinkIndex
	types  []*crm.RecordType // the record types sync announces
	every  time.Duration
	logger *slog.Logger
	rnd    *rand.Rand
}

// errNobodyLinked: no demo user has linked yet, so there is nobody to tell.
var errNobodyLinked = errors.New("no demo user is linked yet")

func (d *demoActivity) run(ctx context.Context) {
	t := time.NewTicker(d.every)
	defer t.Stop()
	d.logger.Info("demo activity: a record is reassigned to a linked demo user every interval", "interval", d.every.String())
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		what, err := d.step(ctx)
		switch {
		case errors.Is(err, errNobodyLinked):
			d.logger.Debug("demo activity: waiting for a demo user to link")
		case err != nil:
			d.logger.Warn("demo activity: could not reassign a record", "error", err)
		default:
			d.logger.Info("demo activity", "did", what)
		}
	}
}

// step reassigns one record to a linked demo user and says what it did.
func (d *demoActivity) step(ctx context.Context) (string, error) {
	users := d.sb.Users()
	ids := make([]string, len(users))
	byID := make(map[string]sandbox.User, len(users))
	for i, u := range users {
		ids[i] = u.ID
		byID[u.ID] = u
	}
	linked, err := d.links.LinkedSystemUsers(ctx, ids)
	if err != nil {
		return "", err
	}
	var targets []sandbox.User
	for _, u := range users {
		if linked[u.ID] {
			targets = append(targets, u)
		}
	}
	if len(targets) == 0 {
		return "", errNobodyLinked
	}
	var manager string
	for _, u := range users {
		if u.Role == "manager" {
			manager = u.ID
		}
	}
	target := targets[d.rnd.IntN(len(targets))]
	// A few tries: the type drawn may have no open record someone else owns.
	for range 20 {
		rt := d.types[d.rnd.IntN(len(d.types))]
		recIDs := d.sb.RecordIDs(rt.EntitySet)
		if len(recIDs) == 0 {
			continue
		}
		id := recIDs[d.rnd.IntN(len(recIDs))]
		rec, ok := d.sb.Record(rt.EntitySet, id)
		if !ok || !open(rec) {
			continue
		}
		owner, _ := rec["_ownerid_value"].(string)
		if owner == target.ID {
			continue
		}
		// The owner gives the record away (a user owner), or the manager
		// hands it out (a team owner): never the target itself, whose
		// own moves are not announced to them.
		actor := owner
		if _, isUser := byID[owner]; !isUser {
			actor = manager
		}
		if actor == target.ID {
			continue
		}
		if err := d.sb.Assign(rt.EntitySet, id, target.ID, sandbox.Principal{UserID: actor}); err != nil {
			return "", fmt.Errorf("assign %s %s: %w", rt.Name, id, err)
		}
		return fmt.Sprintf("%s %s → %s (by %s)", rt.Name, id, target.FullName(), byID[actor].FullName()), nil
	}
	return "", fmt.Errorf("no open record to reassign to %s", target.FullName())
}

// open: the record is active (statecode 0), or has no state at all.
func open(rec map[string]any) bool {
	switch v := rec["statecode"].(type) {
	case nil:
		return true
	case int:
		return v == 0
	case int64:
		return v == 0
	case float64:
		return v == 0
	}
	return false
}
