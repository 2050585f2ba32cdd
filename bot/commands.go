package bot

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/internal/i18n"
)

// Command words besides the record types' aliases (crm catalogue). English
// and French forms are both accepted whatever the user's language.
var (
	newWords      = map[string]bool{"new": true, "create": true, "add": true, "nouveau": true, "nouvelle": true, "créer": true, "creer": true}
	searchWords   = map[string]bool{"search": true, "find": true, "chercher": true, "rechercher": true, "recherche": true}
	settingsWords = map[string]bool{"settings": true, "preferences": true, "prefs": true, "notifications": true, "paramètres": true, "parametres": true, "réglages": true}
)

// searchPerType caps each type's rows in a search across types.
const searchPerType = 5

// command runs a typed command of a linked user.
func (c *Core) command(ctx context.Context, s *session) (Response, error) {
	word, args := splitWord(s.req.Text)
	lw := strings.ToLower(word)
	switch {
	case newWords[lw]:
		tw, _ := splitWord(args)
		rt, ok := c.Catalog.ByAlias(tw)
		if !ok {
			return Response{View: c.typeChooser(s, lw)}, nil
		}
		f, err := c.createForm(ctx, s, rt, newParams("t", rt.Name))
		return Response{View: f, Surface: SurfaceDialog}, err
	case searchWords[lw]:
		if args == "" {
			return Response{View: &cards.Message{Text: []string{s.t(i18n.SearchUsage, nil)}}}, nil
		}
		l, err := c.searchAll(ctx, s, args)
		return Response{View: l}, err
	case settingsWords[lw]:
		f, err := c.settingsForm(ctx, s, nil)
		return Response{View: f, Surface: SurfaceDialog}, err
	}
	if rt, ok := c.Catalog.ByAlias(word); ok && rt.Chat {
		l, err := c.listView(ctx, s, rt, args, 1, "")
		return Response{View: l}, err
	}
	// "lead acme" with a singular the catalogue lacks: try the type's
	// labels too, then explain.
	for _, rt := range c.Catalog.ChatTypes() {
		if strings.EqualFold(word, rt.Name) || strings.EqualFold(word, rt.Label.In(s.lang)) || strings.EqualFold(word, rt.Plural.In(s.lang)) {
			l, err := c.listView(ctx, s, rt, args, 1, "")
			return Response{View: l}, err
		}
	}
	h := c.help(s)
	h.Tone = cards.ToneWarning
	h.Text = append([]string{s.t(i18n.CommandUnknown, i18n.Args{"command": truncateRunes(word, 40)})}, h.Text...)
	return Response{View: h}, nil
}

// help lists the commands, with the record types' words.
func (c *Core) help(s *session) *cards.Message {
	var types []string
	for _, rt := range c.Catalog.ChatTypes() {
		w := rt.Name
		if len(rt.Aliases) > 0 {
			w = rt.Aliases[0]
		}
		types = append(types, w)
	}
	return &cards.Message{
		Title: s.t(i18n.HelpTitle, nil),
		Text: []string{
			s.t(i18n.HelpIntro, nil),
			s.t(i18n.HelpList, i18n.Args{"types": strings.Join(types, ", ")}),
			s.t(i18n.HelpNew, nil),
			s.t(i18n.HelpSearch, nil),
			s.t(i18n.HelpSettings, nil),
			s.t(i18n.HelpLink, nil),
		},
		Actions: []cards.Action{
			{ID: actSettings, Label: s.t(i18n.ActionSettings, nil), Dialog: true},
		},
	}
}

// typeChooser answers "new" without a known type: one button per type.
func (c *Core) typeChooser(s *session, word string) *cards.Message {
	m := &cards.Message{Text: []string{s.t(i18n.NewWhichType, nil)}}
	for _, rt := range c.Catalog.ChatTypes() {
		m.Actions = append(m.Actions, cards.Action{ID: actNew, Value: newParams("t", rt.Name).String(), Dialog: true,
			Label: rt.Icon + " " + rt.Label.In(s.lang)})
	}
	return m
}

// searchAll finds records of every chat type whose search columns contain
// text, a few per type, read concurrently (the user's security applies).
func (c *Core) searchAll(ctx context.Context, s *session, text string) (*cards.List, error) {
	text = truncateRunes(strings.TrimSpace(text), maxSearch)
	types := c.Catalog.ChatTypes()
	found, errs := searchTypes(ctx, s, types, text, searchPerType)
	l := &cards.List{Title: s.t(i18n.SearchTitle, i18n.Args{"search": text}),
		Empty: s.t(i18n.ListNoMatch, i18n.Args{"search": text})}
	n, failed := 0, 0
	for i, rt := range types {
		if errs[i] != nil {
			if !errors.Is(errs[i], crm.ErrForbidden) {
				failed++
				c.Logger.WarnContext(ctx, "search across types", "type", rt.Name, "error", errs[i])
			}
			continue
		}
		refs := found[i]
		sort.SliceStable(refs, func(a, b int) bool { return strings.ToLower(refs[a].Name) < strings.ToLower(refs[b].Name) })
		for _, ref := range refs {
			n++
			l.Items = append(l.Items, cards.ListItem{
				Title:    firstNonEmpty(ref.Name, s.t(i18n.RecordNoName, nil)),
				Subtitle: rt.Icon + " " + rt.Label.In(s.lang),
				Open:     cards.Action{ID: actOpen, Value: newParams("t", rt.Name, "id", ref.ID).String(), Label: s.t(i18n.ActionView, nil), Dialog: true},
			})
		}
	}
	if failed == len(types) {
		return nil, errs[0]
	}
	if n > 0 {
		l.Summary = s.t(i18n.SearchSummary, i18n.Args{"n": n, "per": searchPerType})
	}
	if failed > 0 {
		l.Summary = strings.TrimSpace(l.Summary + " " + s.t(i18n.SearchPartial, nil))
	}
	return l, nil
}

// action runs a button (or a list's search box).
func (c *Core) action(ctx context.Context, s *session) (Response, error) {
	p := parseParams(s.req.Value)
	surface := SurfaceReplace
	if dialogActions[s.req.ActionID] {
		surface = SurfaceDialog
	}
	fail := func(err error) (Response, error) { return Response{Surface: surface}, err }
	if s.req.ActionID == actSettings {
		f, err := c.settingsForm(ctx, s, nil)
		if err != nil {
			return fail(err)
		}
		return Response{View: f, Surface: SurfaceDialog}, nil
	}
	if s.req.ActionID == actHelp {
		return Response{View: c.help(s), Surface: SurfaceReplace}, nil
	}
	rt, ok := c.Catalog.Type(p.get("t"))
	if !ok || !rt.Chat {
		return fail(userErr(i18n.ErrorStale, nil))
	}
	id := p.get("id")
	needID := s.req.ActionID != actList && s.req.ActionID != actSearch && s.req.ActionID != actNew
	if needID && !crm.IsGUID(id) {
		return fail(userErr(i18n.ErrorStale, nil))
	}
	switch s.req.ActionID {
	case actList:
		l, err := c.listView(ctx, s, rt, p.get("q"), p.int("p"), p.get("s"))
		if err != nil {
			return fail(err)
		}
		return Response{View: l, Surface: SurfaceReplace}, nil
	case actSearch:
		l, err := c.listView(ctx, s, rt, s.req.Text, 1, "")
		if err != nil {
			return fail(err)
		}
		return Response{View: l, Surface: SurfaceReplace}, nil
	case actOpen:
		d, err := c.detailView(ctx, s, rt, id)
		if err != nil {
			return fail(err)
		}
		return Response{View: d, Surface: SurfaceDialog}, nil
	case actRelated:
		l, err := c.relatedList(ctx, s, rt, id, p.get("r"), p.int("p"), p.get("s"))
		if err != nil {
			return fail(err)
		}
		return Response{View: l, Surface: SurfaceDialog}, nil
	case actEdit:
		f, err := c.editForm(ctx, s, rt, id, p.get("o"))
		if err != nil {
			return fail(err)
		}
		return Response{View: f, Surface: SurfaceDialog}, nil
	case actNew:
		f, err := c.createForm(ctx, s, rt, p)
		if err != nil {
			return fail(err)
		}
		return Response{View: f, Surface: SurfaceDialog}, nil
	case actClose:
		a, ok := rt.Closing[p.get("a")]
		if !ok {
			return fail(userErr(i18n.ErrorStale, nil))
		}
		if !needsForm(a) {
			cf, err := c.confirmClose(ctx, s, rt, id, a, p)
			if err != nil {
				return fail(err)
			}
			return Response{View: cf, Surface: SurfaceReplace}, nil
		}
		f, err := c.closeForm(ctx, s, rt, id, a, p.get("o"), nil, "")
		if err != nil {
			return fail(err)
		}
		return Response{View: f, Surface: SurfaceDialog}, nil
	case actBack:
		v, err := c.originView(ctx, s, rt, id, p.get("o"))
		if err != nil {
			return fail(err)
		}
		return Response{View: v, Surface: SurfaceReplace}, nil
	case actConfirm:
		a, ok := rt.Closing[p.get("a")]
		if !ok {
			return fail(userErr(i18n.ErrorStale, nil))
		}
		return c.runClose(ctx, s, rt, id, a, 0, nil, p.get("o"), SurfaceReplace)
	}
	return fail(userErr(i18n.ErrorStale, nil))
}

// confirmClose asks before a closing action that has no form (complete,
// cancel an activity). Cancelling the question shows the record again. A
// record closed meanwhile (a stale card) is said to be closed.
func (c *Core) confirmClose(ctx context.Context, s *session, rt *crm.RecordType, id string, a *crm.ClosingAction, p params) (*cards.Confirmation, error) {
	rec, err := s.crm.GetRecord(ctx, rt, id, rt.PrimaryName)
	if err != nil {
		return nil, err
	}
	if code, ok := rec.Int("statecode"); ok && !rt.IsOpen(code) {
		return nil, userErr(i18n.ErrorClosed, i18n.Args{"type": strings.ToLower(rt.Label.In(s.lang))})
	}
	name := c.recordName(s, rt, rec)
	style := cards.StylePrimary
	if a.State != winState(rt) {
		style = cards.StyleDanger
	}
	return &cards.Confirmation{
		Title:   a.Label.In(s.lang),
		Text:    []string{s.t(i18n.CloseConfirm, i18n.Args{"action": a.Label.In(s.lang), "type": strings.ToLower(rt.Label.In(s.lang)), "name": name})},
		Confirm: cards.Action{ID: actConfirm, Value: p.String(), Label: a.Label.In(s.lang), Style: style},
		Cancel:  cards.Action{ID: actBack, Value: newParams("t", rt.Name, "id", id, "o", p.get("o")).String(), Label: s.t(i18n.ActionBack, nil)},
	}, nil
}

// originView is the card an action came from, read again: a notification
// or a record's detail.
func (c *Core) originView(ctx context.Context, s *session, rt *crm.RecordType, id, origin string) (cards.View, error) {
	base, by := splitOrigin(origin)
	switch base {
	case originNotifyNew:
		return c.notificationView(ctx, s, rt, id, cards.AssignedNew, by)
	case originNotifyMoved:
		return c.notificationView(ctx, s, rt, id, cards.AssignedExisting, by)
	}
	return c.detailView(ctx, s, rt, id)
}
