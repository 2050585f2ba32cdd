package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Direct access to the org for tests, benchmarks and the demo activity
// generator. Writes act as a principal and go through the same transaction
// code as HTTP, so versions, change tracking, modifiedby, security and webhooks
// behave exactly as they do for Web API calls.

// Record returns a copy of a record's attributes as the Web API would show them
// (lookups under their _x_value names, datetimes as time.Time), or false.
func (s *Sandbox) Record(entitySet, id string) (map[string]any, bool) {
	o := s.org
	e, ok := o.schema.bySet[entitySet]
	if !ok {
		return nil, false
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	r, ok := o.tables[e.Name].rows[id]
	if !ok {
		return nil, false
	}
	out := make(map[string]any, len(r.attrs))
	for k, v := range r.attrs {
		out[k] = v
	}
	return out, true
}

// CountRecords returns how many records an entity set holds (-1 for an unknown set).
func (s *Sandbox) CountRecords(entitySet string) int {
	o := s.org
	e, ok := o.schema.bySet[entitySet]
	if !ok {
		return -1
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	return len(o.tables[e.Name].rows)
}

// RecordIDs lists the ids of an entity set in the default (id) order.
func (s *Sandbox) RecordIDs(entitySet string) []string {
	o := s.org
	e, ok := o.schema.bySet[entitySet]
	if !ok {
		return nil
	}
	o.mu.RLock()
	defer o.mu.RUnlock()
	return append([]string(nil), o.tables[e.Name].order...)
}

// Create creates a record from a Web API JSON payload (nav@odata.bind allowed)
// as the given principal and returns its id.
func (s *Sandbox) Create(entitySet string, payload map[string]any, as Principal) (string, error) {
	o := s.org
	e, ok := o.schema.bySet[entitySet]
	if !ok {
		return "", notFoundSegment(entitySet)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return "", fmt.Errorf("create %s: %w", entitySet, err)
	}
	var id string
	err = o.write(context.Background(), as, func(t *tx) error {
		in, err := o.decodeInput(e, body)
		if err != nil {
			return err
		}
		r, err := t.create(e, "", in)
		if err == nil {
			id = r.str(e.Key)
		}
		return err
	})
	return id, err
}

// Update patches a record (If-Match: * semantics: it must exist) from a Web API
// JSON payload as the given principal.
func (s *Sandbox) Update(entitySet, id string, payload map[string]any, as Principal) error {
	o := s.org
	e, ok := o.schema.bySet[entitySet]
	if !ok {
		return notFoundSegment(entitySet)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("update %s(%s): %w", entitySet, id, err)
	}
	return o.write(context.Background(), as, func(t *tx) error {
		in, err := o.decodeInput(e, body)
		if err != nil {
			return err
		}
		_, _, err = t.update(e, id, in, condition{IfMatch: "*"})
		return err
	})
}

// Delete deletes a record as the given principal.
func (s *Sandbox) Delete(entitySet, id string, as Principal) error {
	o := s.org
	e, ok := o.schema.bySet[entitySet]
	if !ok {
		return notFoundSegment(entitySet)
	}
	return o.write(context.Background(), as, func(t *tx) error { return t.delete(e, id, condition{}) })
}

// Assign makes ownerID (a systemuser or a team) the owner of a record, as the
// given principal, like Dataverse's Assign message (webhook MessageName "Assign").
func (s *Sandbox) Assign(entitySet, id, ownerID string, as Principal) error {
	o := s.org
	e, ok := o.schema.bySet[entitySet]
	if !ok {
		return notFoundSegment(entitySet)
	}
	return o.write(context.Background(), as, func(t *tx) error {
		tb := o.tables[e.Name]
		old, ok := tb.rows[id]
		if !ok {
			return recordNotFound(e.Name, id)
		}
		ownerType := "systemuser"
		if _, isTeam := o.tables["team"].rows[ownerID]; isTeam {
			ownerType = "team"
		} else if _, isUser := o.tables["systemuser"].rows[ownerID]; !isUser {
			return recordNotFound("systemuser", ownerID)
		}
		if err := o.checkAccess(as, e, old, "Assign"); err != nil {
			return err
		}
		r := old.clone()
		t.setOwner(e, r, ownerType, ownerID)
		t.setLookupIf(e, r, "_modifiedby_value", "systemuser", as.UserID)
		r.attrs["modifiedon"] = o.now()
		r.attrs["versionnumber"] = t.nextVersion()
		t.put(tb, id, r)
		t.emit("Assign", e, r, old, &input{lookups: map[string]lookupRef{"_ownerid_value": {Nav: "ownerid", Entity: ownerType, ID: ownerID}}})
		return nil
	})
}

// SeedBulk creates n records in an entity set owned by ownerID (a user or a
// team), quickly (one transaction, no per-record sort), for benchmarks.
// It returns the new ids.
func (s *Sandbox) SeedBulk(entitySet string, n int, ownerID string) ([]string, error) {
	o := s.org
	e, ok := o.schema.bySet[entitySet]
	if !ok {
		return nil, notFoundSegment(entitySet)
	}
	ownerType := "systemuser"
	o.mu.RLock()
	if _, isTeam := o.tables["team"].rows[ownerID]; isTeam {
		ownerType = "team"
	}
	o.mu.RUnlock()
	ids := make([]string, 0, n)
	as := Principal{UserID: AppUserID, App: true}
	err := o.write(context.Background(), as, func(t *tx) error {
		tb := o.tables[e.Name]
		bulk := &bulkTable{tb: tb}
		for i := range n {
			in := &input{attrs: map[string]any{}, lookups: map[string]lookupRef{"_ownerid_value": {Nav: "ownerid", Entity: ownerType, ID: ownerID}}}
			if e.PrimaryName != "" && e.has(e.PrimaryName) && e.PrimaryName != "fullname" {
				in.attrs[e.PrimaryName] = fmt.Sprintf("Bulk %s %06d", e.Name, i)
			} else if e.has("lastname") {
				in.attrs["firstname"], in.attrs["lastname"] = "Bulk", fmt.Sprintf("%06d", i)
			}
			r, err := bulk.create(t, e, in)
			if err != nil {
				return err
			}
			ids = append(ids, r.str(e.Key))
		}
		bulk.finish(t)
		return nil
	})
	return ids, err
}

// bulkTable appends ids unsorted during SeedBulk and sorts once at the end.
type bulkTable struct {
	tb    *table
	added []string
}

func (b *bulkTable) create(t *tx, e *entityInfo, in *input) (*record, error) {
	r, err := t.createUnordered(e, in)
	if err == nil {
		b.added = append(b.added, r.str(e.Key))
	}
	return r, err
}

func (b *bulkTable) finish(t *tx) {
	tb := b.tb
	tb.order = append(tb.order, b.added...)
	tb.sortOrder()
	added := b.added
	t.undo = append(t.undo, func() {
		drop := make(map[string]bool, len(added))
		for _, id := range added {
			drop[id] = true
		}
		kept := tb.order[:0]
		for _, id := range tb.order {
			if !drop[id] {
				kept = append(kept, id)
			}
		}
		tb.order = kept
	})
}

// AdvanceClock moves the org's clock forward (delta-token expiry, dates).
func (s *Sandbox) AdvanceClock(d time.Duration) { s.org.clockOffset.Add(int64(d)) }

// ExpireDeltaTokens moves the clock past DeltaTokenTTL so every delta token
// issued so far is expired (0x80044352).
func (s *Sandbox) ExpireDeltaTokens() { s.AdvanceClock(s.opts.DeltaTokenTTL + time.Minute) }

// createUnordered creates without maintaining the id order (bulkTable sorts once).
func (t *tx) createUnordered(e *entityInfo, in *input) (*record, error) {
	t.bulk = true
	defer func() { t.bulk = false }()
	return t.create(e, "", in)
}
