package bot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/store"
)

// LookupRequest is a type-ahead query from a lookup input (Slack
// block_suggestion, Teams application/search).
type LookupRequest struct {
	User   store.ChatUser
	Locale string
	// Dataset is the input's cards.LookupSource.Dataset.
	Dataset string
	Query   string
}

// Lookup answers a type-ahead: up to 15 active records of the lookup's
// target types whose names contain the query, as options whose values are
// "<type>:<id>" (what a submitted lookup input holds). A user who is not
// linked gets no options (the form they type in needed a link to open).
func (c *Core) Lookup(ctx context.Context, req LookupRequest) ([]cards.Option, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	_, f, err := c.lookupField(req.Dataset)
	if err != nil {
		return nil, err
	}
	link, err := c.Store.GetLink(ctx, req.User)
	if errors.Is(err, store.ErrNotFound) || (err == nil && link.Broken) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := c.newSession(Request{User: req.User, Locale: req.Locale})
	if err := c.attach(s, link, store.DefaultPreferences()); err != nil {
		return nil, err
	}
	query := truncateRunes(strings.TrimSpace(req.Query), maxSearch)
	var targets []*crm.RecordType
	for _, name := range f.TargetNames() {
		if t, ok := c.Catalog.Type(name); ok {
			targets = append(targets, t)
		}
	}
	found, errs := searchTypes(ctx, s, targets, query, lookupResults)
	var refs []crm.Ref
	for i := range targets {
		if errs[i] != nil && !errors.Is(errs[i], crm.ErrForbidden) {
			return nil, errs[i]
		}
		refs = append(refs, found[i]...)
	}
	// Names starting with the query first, then by name.
	q := strings.ToLower(query)
	sort.SliceStable(refs, func(a, b int) bool {
		pa, pb := strings.HasPrefix(strings.ToLower(refs[a].Name), q), strings.HasPrefix(strings.ToLower(refs[b].Name), q)
		if pa != pb {
			return pa
		}
		return strings.ToLower(refs[a].Name) < strings.ToLower(refs[b].Name)
	})
	if len(refs) > lookupResults {
		refs = refs[:lookupResults]
	}
	out := make([]cards.Option, 0, len(refs))
	for _, r := range refs {
		out = append(out, cards.Option{Value: r.Type + ":" + r.ID, Label: c.lookupLabel(s, f, r)})
	}
	return out, nil
}

// searchTypes runs the type-ahead search over several record types at
// once; found[i] and errs[i] answer types[i].
func searchTypes(ctx context.Context, s *session, types []*crm.RecordType, text string, top int) (found [][]crm.Ref, errs []error) {
	found, errs = make([][]crm.Ref, len(types)), make([]error, len(types))
	var wg sync.WaitGroup
	for i, rt := range types {
		wg.Go(func() { found[i], errs[i] = s.crm.SearchRecords(ctx, rt, text, top) })
	}
	wg.Wait()
	return found, errs
}

// lookupField resolves a dataset ("lookup:<type>.<field>" or
// "lookup:<type>.<action>.<field>") to its catalogue field.
func (c *Core) lookupField(dataset string) (*crm.RecordType, *crm.Field, error) {
	rest, ok := strings.CutPrefix(dataset, "lookup:")
	if !ok {
		return nil, nil, fmt.Errorf("bot: unknown lookup dataset %q", dataset)
	}
	parts := strings.Split(rest, ".")
	rt, ok := c.Catalog.Type(parts[0])
	if !ok || len(parts) < 2 || len(parts) > 3 {
		return nil, nil, fmt.Errorf("bot: unknown lookup dataset %q", dataset)
	}
	var f *crm.Field
	if len(parts) == 2 {
		f, ok = rt.Field(parts[1])
	} else if a, found := rt.Closing[parts[1]]; found {
		f, ok = a.Fields[parts[2]]
	} else {
		ok = false
	}
	if !ok || f == nil || f.Type != crm.TypeLookup {
		return nil, nil, fmt.Errorf("bot: unknown lookup dataset %q", dataset)
	}
	return rt, f, nil
}
