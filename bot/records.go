package bot

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/internal/i18n"
)

// Lists and details, built from the catalogue: the record type says which
// columns a list shows, which groups a detail has, which records are
// related and which closing actions its states allow.

// maxSearch bounds search text (it travels in button values).
const maxSearch = 200

// pageSessionTTL keeps a list's page links for paging back and forth.
const pageSessionTTL = 2 * time.Hour

// pageSession is a list's paging state in the store: Links[i] reads page
// i+2 (page 1 is the query itself).
type pageSession struct {
	Links []string `json:"links"`
}

// listView is the "my active …" list of rt, narrowed by search, at page
// (from 1).
func (c *Core) listView(ctx context.Context, s *session, rt *crm.RecordType, search string, page int, sid string) (*cards.List, error) {
	search = truncateRunes(strings.TrimSpace(search), maxSearch)
	if page < 1 {
		page = 1
	}
	var (
		recs     *crm.Page
		count    = -1
		countErr error
		wg       sync.WaitGroup
	)
	wg.Go(func() { count, countErr = s.crm.CountMy(ctx, rt, s.link.SystemUserID, search) })
	sess, link, page, sid := c.pages(ctx, page, sid)
	var err error
	if link != "" {
		recs, err = s.crm.PageAt(ctx, rt, link, c.PageSize)
	} else {
		recs, err = s.crm.ListMy(ctx, rt, s.link.SystemUserID, search, c.PageSize)
	}
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if countErr != nil {
		count = -1
	}
	sid = c.savePages(ctx, sess, sid, page, recs.NextLink)

	l := &cards.List{
		Title: c.myLabel(s, rt),
		Search: &cards.SearchBox{ActionID: actSearch, Value: search, State: newParams("t", rt.Name).String(),
			Placeholder: s.t(i18n.ListSearchPlaceholder, i18n.Args{"type": strings.ToLower(rt.Plural.In(s.lang))})},
		Actions: []cards.Action{{ID: actNew, Value: newParams("t", rt.Name).String(), Dialog: true,
			Label: s.t(i18n.ActionNew, i18n.Args{"type": rt.Label.In(s.lang)})}},
	}
	for _, r := range recs.Records {
		l.Items = append(l.Items, c.listItem(s, rt, r))
	}
	first := (page-1)*c.PageSize + 1
	last := first + len(recs.Records) - 1
	switch {
	case len(recs.Records) == 0 && search != "":
		l.Empty = s.t(i18n.ListNoMatch, i18n.Args{"search": search})
	case len(recs.Records) == 0:
		l.Empty = s.t(i18n.ListEmpty, i18n.Args{"type": strings.ToLower(rt.Plural.In(s.lang))})
	case count >= 0:
		l.Summary = s.t(i18n.ListRange, i18n.Args{"from": first, "to": last, "total": count})
	default:
		l.Summary = s.t(i18n.ListRangeOpen, i18n.Args{"from": first, "to": last})
	}
	base := newParams("t", rt.Name, "q", search, "s", sid)
	if page > 1 {
		l.Prev = &cards.Action{ID: actList, Value: base.with("p", strconv.Itoa(page-1)).String(), Label: s.t(i18n.ListPrev, nil)}
	}
	if recs.NextLink != "" && sid != "" {
		l.Next = &cards.Action{ID: actList, Value: base.with("p", strconv.Itoa(page+1)).String(), Label: s.t(i18n.ListNext, nil)}
	}
	return l, nil
}

// pages reads a list's paging state: the link that reads page (from 1),
// "" for page 1 or when the state expired (page is then 1 again, sid "").
func (c *Core) pages(ctx context.Context, page int, sid string) (sess pageSession, link string, _ int, _ string) {
	if page > 1 && sid != "" {
		if b, err := c.Store.GetFlow(ctx, sid); err == nil && json.Unmarshal(b, &sess) == nil && len(sess.Links) >= page-1 {
			return sess, sess.Links[page-2], page, sid
		}
	}
	return pageSession{}, "", 1, "" // the session expired: start again at the top
}

// savePages remembers the link to the page after page, and returns the
// paging state's id ("" when there is no next page to remember, or it
// could not be saved: the list then has no Next).
func (c *Core) savePages(ctx context.Context, sess pageSession, sid string, page int, next string) string {
	if next == "" || len(sess.Links) >= page {
		return sid
	}
	sess.Links = append(sess.Links[:page-1], next)
	b, _ := json.Marshal(sess)
	var err error
	if sid == "" {
		sid, err = c.Store.CreateFlow(ctx, b, pageSessionTTL)
	} else {
		err = c.Store.UpdateFlow(ctx, sid, b, pageSessionTTL)
	}
	if err != nil {
		c.Logger.WarnContext(ctx, "list paging state not saved", "error", err)
		return ""
	}
	return sid
}

func (c *Core) myLabel(s *session, rt *crm.RecordType) string {
	if rt.My != nil {
		if l := rt.My.Label.In(s.lang); l != "" {
			return rt.Icon + " " + l
		}
	}
	return rt.Icon + " " + rt.Plural.In(s.lang)
}

// listItem is one row: the primary name opening the detail, the status or
// the first column as subtitle, the other list columns as fields.
func (c *Core) listItem(s *session, rt *crm.RecordType, r *crm.Record) cards.ListItem {
	it := cards.ListItem{
		Title: c.recordName(s, rt, r),
		Open:  cards.Action{ID: actOpen, Value: newParams("t", rt.Name, "id", r.ID).String(), Label: s.t(i18n.ActionView, nil), Dialog: true},
	}
	for _, name := range rt.List {
		if name == rt.PrimaryName {
			continue
		}
		f, ok := rt.Field(name)
		if !ok {
			continue
		}
		v := c.display(s, f, r)
		if v == "" {
			continue
		}
		it.Fields = append(it.Fields, cards.Field{Label: f.Label.In(s.lang), Value: v})
	}
	return it
}

// recordName is a record's primary name, or "(no name)".
func (c *Core) recordName(s *session, rt *crm.RecordType, r *crm.Record) string {
	if n := strings.TrimSpace(r.String(rt.PrimaryName)); n != "" {
		return n
	}
	return s.t(i18n.RecordNoName, nil)
}

// detailFields are the attributes a detail reads: its groups', the
// related lookups', plus what Select always adds.
func detailFields(rt *crm.RecordType) []string {
	var out []string
	for _, g := range rt.Detail {
		out = append(out, g.Fields...)
	}
	return out
}

// detailView reads a record and shows it: groups of fields (lookups open
// their record), related lists, the actions its state allows, and the
// record in Dynamics.
func (c *Core) detailView(ctx context.Context, s *session, rt *crm.RecordType, id string) (*cards.Detail, error) {
	rec, err := s.crm.GetRecord(ctx, rt, id, detailFields(rt)...)
	if err != nil {
		return nil, err
	}
	d := &cards.Detail{
		Title:     c.recordName(s, rt, rec),
		Subtitle:  c.subtitle(s, rt, rec),
		OpenURL:   c.recordURL(rt, id),
		OpenLabel: s.t(i18n.ActionOpenInDynamics, nil),
		Actions:   c.recordActions(s, rt, rec, originDetail),
	}
	for _, g := range rt.Detail {
		grp := cards.FieldGroup{Title: g.Label.In(s.lang)}
		for _, name := range g.Fields {
			f, ok := rt.Field(name)
			if !ok {
				continue
			}
			if fld, ok := c.field(s, f, rec); ok {
				grp.Fields = append(grp.Fields, fld)
			}
		}
		if len(grp.Fields) > 0 {
			d.Groups = append(d.Groups, grp)
		}
	}
	rels, err := c.related(ctx, s, rt, id)
	if err != nil {
		return nil, err
	}
	d.Related = rels
	return d, nil
}

// field is a detail's field: a lookup opens its record when the catalogue
// knows the target type as a chat type.
func (c *Core) field(s *session, f *crm.Field, rec *crm.Record) (cards.Field, bool) {
	v := c.display(s, f, rec)
	if v == "" {
		return cards.Field{}, false
	}
	fld := cards.Field{Label: f.Label.In(s.lang), Value: v}
	if f.Type == crm.TypeLookup {
		if ref, ok := rec.Lookup(f.Name); ok && ref.ID != "" {
			if t, ok := c.Catalog.Type(ref.Type); ok && t.Chat {
				// Labelled with the record's name: a platform that shows
				// the link as a button (Slack) says where it goes.
				fld.Open = &cards.Action{ID: actOpen, Value: newParams("t", t.Name, "id", ref.ID).String(),
					Label: t.Icon + " " + v, Dialog: true}
			}
		}
	}
	return fld, true
}

// related reads the catalogue's related lists of a record concurrently.
func (c *Core) related(ctx context.Context, s *session, rt *crm.RecordType, id string) ([]cards.Related, error) {
	out := make([]cards.Related, len(rt.Related))
	errs := make([]error, len(rt.Related))
	var wg sync.WaitGroup
	for i, rel := range rt.Related {
		target, ok := c.Catalog.Type(rel.Type)
		if !ok {
			continue
		}
		wg.Go(func() {
			p, err := s.crm.ListRelated(ctx, rt, rel, id)
			if err != nil {
				errs[i] = err
				return
			}
			r := cards.Related{Title: rel.Label.In(s.lang)}
			for _, rec := range p.Records {
				r.Items = append(r.Items, c.listItem(s, target, rec))
			}
			if p.NextLink != "" {
				r.More = &cards.Action{ID: actRelated, Value: newParams("t", rt.Name, "id", id, "r", rel.Name).String(),
					Label: s.t(i18n.ActionShowAll, nil)}
			}
			out[i] = r
		})
	}
	wg.Wait()
	var kept []cards.Related
	for i, r := range out {
		if errs[i] != nil {
			// A related list the user may not read (security role) is left
			// out; the record itself is still shown.
			if errors.Is(errs[i], crm.ErrForbidden) {
				continue
			}
			return nil, errs[i]
		}
		if len(r.Items) > 0 {
			kept = append(kept, r)
		}
	}
	return kept, nil
}

// relatedList is the full list of one related set ("Show all"), paged
// like a "my" list.
func (c *Core) relatedList(ctx context.Context, s *session, rt *crm.RecordType, id, name string, page int, sid string) (*cards.List, error) {
	for _, rel := range rt.Related {
		if rel.Name != name {
			continue
		}
		target, ok := c.Catalog.Type(rel.Type)
		if !ok {
			break
		}
		rel.Top = c.PageSize
		var (
			owner    *crm.Record
			ownerErr error
			wg       sync.WaitGroup
			p        *crm.Page
			err      error
		)
		wg.Go(func() { owner, ownerErr = s.crm.GetRecord(ctx, rt, id, rt.PrimaryName) })
		sess, link, page, sid := c.pages(ctx, page, sid)
		if link != "" {
			p, err = s.crm.PageAt(ctx, target, link, c.PageSize)
		} else {
			p, err = s.crm.ListRelated(ctx, rt, rel, id)
		}
		wg.Wait()
		if err == nil {
			err = ownerErr
		}
		if err != nil {
			return nil, err
		}
		sid = c.savePages(ctx, sess, sid, page, p.NextLink)
		l := &cards.List{Title: rel.Label.In(s.lang) + " · " + c.recordName(s, rt, owner),
			Empty: s.t(i18n.ListEmpty, i18n.Args{"type": strings.ToLower(target.Plural.In(s.lang))})}
		for _, r := range p.Records {
			l.Items = append(l.Items, c.listItem(s, target, r))
		}
		if len(p.Records) > 0 && (page > 1 || p.NextLink != "") {
			first := (page-1)*c.PageSize + 1
			l.Summary = s.t(i18n.ListRangeOpen, i18n.Args{"from": first, "to": first + len(p.Records) - 1})
		}
		base := newParams("t", rt.Name, "id", id, "r", rel.Name, "s", sid)
		if page > 1 {
			l.Prev = &cards.Action{ID: actRelated, Value: base.with("p", strconv.Itoa(page-1)).String(), Label: s.t(i18n.ListPrev, nil)}
		}
		if p.NextLink != "" && sid != "" {
			l.Next = &cards.Action{ID: actRelated, Value: base.with("p", strconv.Itoa(page+1)).String(), Label: s.t(i18n.ListNext, nil)}
		}
		return l, nil
	}
	return nil, userErr(i18n.ErrorStale, nil)
}

// subtitle is "Lead · Open · New": type, state and status reason.
func (c *Core) subtitle(s *session, rt *crm.RecordType, rec *crm.Record) string {
	parts := []string{rt.Icon + " " + rt.Label.In(s.lang)}
	if code, ok := rec.Int("statecode"); ok {
		if st, ok := rt.State(code); ok {
			parts = append(parts, st.Label.In(s.lang))
		}
		if status, ok := rec.Int("statuscode"); ok {
			if l, ok := rt.StatusLabel(status, s.lang); ok && !strings.EqualFold(l, parts[len(parts)-1]) {
				parts = append(parts, l)
			}
		}
	}
	return strings.TrimSpace(strings.Join(parts, " · "))
}

// recordActions are the buttons a record's state allows: edit and the
// closing actions while it is open; none once closed.
func (c *Core) recordActions(s *session, rt *crm.RecordType, rec *crm.Record, origin string) []cards.Action {
	code, hasState := rec.Int("statecode")
	if hasState && !rt.IsOpen(code) {
		return nil
	}
	acts := []cards.Action{{ID: actEdit, Value: newParams("t", rt.Name, "id", rec.ID, "o", origin).String(),
		Label: s.t(i18n.ActionEdit, nil), Dialog: true}}
	for _, a := range rt.ClosingActions() {
		v := newParams("t", rt.Name, "id", rec.ID, "a", a.Name, "o", origin).String()
		act := cards.Action{ID: actClose, Value: v, Label: a.Label.In(s.lang), Dialog: needsForm(a)}
		if a.State == winState(rt) {
			act.Style = cards.StylePrimary
		}
		acts = append(acts, act)
	}
	return acts
}

// winState is the state a type's "positive" closing action ends in
// (resolved, won, qualified, completed): the first closing action's.
func winState(rt *crm.RecordType) int {
	if acts := rt.ClosingActions(); len(acts) > 0 {
		return acts[0].State
	}
	return -1
}

// needsForm: a closing action asks for input (fields, or a status to
// choose); one without is carried out after a confirmation.
func needsForm(a *crm.ClosingAction) bool { return len(a.Fields) > 0 || len(a.Statuses) > 1 }

// recordURL opens the record in the Dynamics web client.
func (c *Core) recordURL(rt *crm.RecordType, id string) string {
	etn := rt.WebPath
	if etn == "" {
		etn = rt.Name
	}
	q := url.Values{"pagetype": {"entityrecord"}, "etn": {etn}, "id": {id}}
	return c.WebURL + "/main.aspx?" + q.Encode()
}

// display is a field's value as the user reads it: option labels from the
// catalogue in the user's language, dates in their time zone, other values
// as Dynamics formats them.
func (c *Core) display(s *session, f *crm.Field, r *crm.Record) string {
	attr := f.ReadAttribute()
	switch f.Type {
	case crm.TypeOptionSet:
		if v, ok := r.Int(attr); ok {
			if l, ok := f.OptionLabel(v, s.lang); ok {
				return l
			}
		}
	case crm.TypeBool:
		if b, ok := r.Bool(attr); ok {
			v := 0
			if b {
				v = 1
			}
			if l, ok := f.OptionLabel(v, s.lang); ok {
				return l
			}
			if b {
				return s.t(i18n.ValueYes, nil)
			}
			return s.t(i18n.ValueNo, nil)
		}
	case crm.TypeLookup:
		if ref, ok := r.Lookup(f.Name); ok {
			return ref.Name
		}
		return ""
	case crm.TypeDateTime:
		if t, ok := r.Time(attr); ok {
			return formatDateTime(s.loc, t.In(s.tz))
		}
	case crm.TypeDate:
		if t, ok := r.Time(attr); ok {
			return formatDate(s.loc, t.UTC())
		}
	}
	return strings.TrimSpace(r.Display(attr))
}

// formatDate is a date in the user's language ("Nov 24, 2026", "24 nov. 2026").
func formatDate(loc i18n.Localizer, t time.Time) string {
	months := strings.Fields(loc.T(i18n.FormatMonths, nil))
	m := t.Format("Jan")
	if len(months) == 12 {
		m = months[t.Month()-1]
	}
	return loc.T(i18n.FormatDate, i18n.Args{"day": t.Day(), "month": m, "year": t.Year()})
}

// formatDateTime adds the time ("Nov 24, 2026, 3:04 PM", "24 nov. 2026 à 15:04").
func formatDateTime(loc i18n.Localizer, t time.Time) string {
	return loc.T(i18n.FormatDateTime, i18n.Args{"date": formatDate(loc, t), "time": t.Format(loc.T(i18n.FormatTimeLayout, nil))})
}

// truncateRunes cuts s to n runes.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}
