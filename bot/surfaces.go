package bot

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/internal/i18n"
	"github.com/crmbot/crmbot/store"
)

// Surfaces a platform offers beyond the conversation: Slack's App Home tab
// and link previews (unfurls). Both are written here, platform-neutral.

// HomeRequest asks for a user's home view.
type HomeRequest struct {
	User   store.ChatUser
	Locale string
	// Email binds a link the user may start from the home view.
	Email string
}

// Home is the user's home view: whether they are linked and as whom, their
// notification settings in a sentence, their recent assignments (when the
// store keeps them), and buttons to change settings or get help. A user
// who is not linked gets the link prompt.
func (c *Core) Home(ctx context.Context, req HomeRequest) (cards.View, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	s := c.newSession(Request{User: req.User, Locale: req.Locale, Email: req.Email})
	link, err := c.Store.GetLink(ctx, req.User)
	if errors.Is(err, store.ErrNotFound) || (err == nil && link.Broken) {
		resp, err := c.linkPrompt(ctx, s, err == nil, link.BrokenReason)
		if m, ok := resp.View.(*cards.Message); ok {
			m.Title = s.t(i18n.HomeTitle, nil)
			m.Text = append([]string{s.t(i18n.HomeNotLinked, nil)}, m.Text[1:]...)
		}
		return resp.View, err
	}
	if err != nil {
		return nil, err
	}
	prefs, err := c.Store.GetPreferences(ctx, req.User)
	if err != nil {
		return nil, err
	}
	s.link, s.tz = link, prefsZone(prefs)
	d := &cards.Detail{
		Title:    s.t(i18n.HomeTitle, nil),
		Subtitle: s.t(i18n.LinkedAs, i18n.Args{"name": link.DisplayName, "email": firstNonEmpty(link.Email, link.UPN)}),
		Groups: []cards.FieldGroup{{Fields: []cards.Field{
			{Label: s.t(i18n.SettingsTitle, nil), Value: c.prefsSummary(s, prefs)},
			{Label: s.t(i18n.HomeHelp, nil), Value: s.t(i18n.HomeTry, nil)},
		}}},
		Actions: []cards.Action{
			{ID: actSettings, Label: s.t(i18n.ActionSettings, nil), Dialog: true, Style: cards.StylePrimary},
			{ID: actHelp, Label: s.t(i18n.HomeHelp, nil), Dialog: true},
		},
		OpenURL: c.WebURL + "/main.aspx", OpenLabel: s.t(i18n.ActionOpenInDynamics, nil),
	}
	if rs, ok := c.Store.(store.RecentStore); ok {
		recent, err := rs.RecentFor(ctx, req.User)
		if err != nil {
			return nil, err
		}
		rel := cards.Related{Title: s.t(i18n.HomeRecent, nil)}
		for _, r := range recent {
			rt, ok := c.Catalog.Type(r.RecordType)
			if !ok || !rt.Chat {
				continue
			}
			rel.Items = append(rel.Items, cards.ListItem{
				Title:    r.Title,
				Subtitle: rt.Icon + " " + rt.Label.In(s.lang) + " · " + formatDateTime(s.loc, r.At.In(s.tz)),
				Open: cards.Action{ID: actOpen, Value: newParams("t", rt.Name, "id", r.RecordID).String(),
					Label: s.t(i18n.ActionView, nil), Dialog: true},
			})
		}
		if len(rel.Items) == 0 {
			rel.Items = []cards.ListItem{{Subtitle: s.t(i18n.HomeNoRecent, nil)}}
		}
		d.Related = []cards.Related{rel}
	}
	return d, nil
}

// prefsSummary says the notification settings in one sentence.
func (c *Core) prefsSummary(s *session, p store.Preferences) string {
	types := s.t(i18n.HomeAllTypes, nil)
	var on []string
	all := true
	for _, rt := range c.Catalog.ChatTypes() {
		if !rt.Notify {
			continue
		}
		if p.Wants(rt.Name) {
			on = append(on, rt.Plural.In(s.lang))
		} else {
			all = false
		}
	}
	if !all {
		types = strings.Join(on, ", ")
		if len(on) == 0 {
			types = "—"
		}
	}
	where := s.t(i18n.HomeWhereDM, nil)
	if p.ChannelID != "" {
		where = s.t(i18n.HomeWhereChannel, i18n.Args{"channel": p.ChannelID})
	}
	when := s.t(i18n.HomeWhenNow, nil)
	if p.Digest {
		when = s.t(i18n.HomeWhenDigest, i18n.Args{"hour": strconv.Itoa(p.DigestHour)})
	}
	out := s.t(i18n.HomeNotifications, i18n.Args{"types": types, "where": where, "when": when})
	if p.SnoozeUntil.After(c.Now()) {
		out += " " + s.t(i18n.HomeSnoozed, i18n.Args{"until": formatDateTime(s.loc, p.SnoozeUntil.In(prefsZone(p)))})
	}
	return out
}

// recordRecent remembers a delivered notification for the home view.
func (c *Core) recordRecent(ctx context.Context, u store.ChatUser, rt *crm.RecordType, a Assignment, n *cards.Notification) {
	rs, ok := c.Store.(store.RecentStore)
	if !ok || a.Kind == cards.Unassigned {
		return
	}
	r := store.Recent{RecordType: rt.Name, RecordID: a.RecordID, Title: n.Title, Kind: int(a.Kind), By: a.By, At: c.Now()}
	if err := rs.AddRecent(ctx, u, r); err != nil {
		c.Logger.WarnContext(ctx, "recent assignments not recorded", "chat_user", u.String(), "error", err)
	}
}

// UnfurlRequest asks for the preview of a link a user shared.
type UnfurlRequest struct {
	User   store.ChatUser
	Locale string
	URL    string
}

// Unfurl previews a Dynamics record link (main.aspx?etn=…&id=… on the
// org's web client) for a linked user, read with their own access: the
// record's name, type and status, its list fields, a View button and Open
// in Dynamics. ok is false for any other link, a user who is not linked, or
// a record they cannot see (nothing is said about it).
func (c *Core) Unfurl(ctx context.Context, req UnfurlRequest) (v cards.View, ok bool) {
	rt, id, ok := c.parseRecordURL(req.URL)
	if !ok {
		return nil, false
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	link, err := c.Store.GetLink(ctx, req.User)
	if err != nil || link.Broken {
		return nil, false
	}
	prefs, err := c.Store.GetPreferences(ctx, req.User)
	if err != nil {
		return nil, false
	}
	s := c.newSession(Request{User: req.User, Locale: req.Locale})
	if err := c.attach(s, link, prefs); err != nil {
		return nil, false
	}
	rec, err := s.crm.GetRecord(ctx, rt, id, append(append([]string{}, rt.List...), "ownerid")...)
	if err != nil {
		if !errors.Is(err, crm.ErrNotFound) && !errors.Is(err, crm.ErrForbidden) {
			c.Logger.WarnContext(ctx, "unfurl failed", "type", rt.Name, "error", err)
		}
		return nil, false
	}
	d := &cards.Detail{
		Title:    c.recordName(s, rt, rec),
		Subtitle: c.subtitle(s, rt, rec),
		Actions: []cards.Action{{ID: actOpen, Value: newParams("t", rt.Name, "id", id).String(),
			Label: s.t(i18n.ActionView, nil), Dialog: true}},
		OpenURL: c.recordURL(rt, id), OpenLabel: s.t(i18n.ActionOpenInDynamics, nil),
	}
	var grp cards.FieldGroup
	for _, name := range rt.List {
		if f, ok := rt.Field(name); ok && name != rt.PrimaryName {
			if fld, ok := c.field(s, f, rec); ok {
				grp.Fields = append(grp.Fields, fld)
			}
		}
	}
	if len(grp.Fields) > 0 {
		d.Groups = []cards.FieldGroup{grp}
	}
	return d, true
}

// parseRecordURL recognizes a record URL of the org's web client.
func (c *Core) parseRecordURL(raw string) (*crm.RecordType, string, bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", false
	}
	base, err := url.Parse(c.WebURL)
	if err != nil || !strings.EqualFold(u.Host, base.Host) || !strings.HasSuffix(strings.ToLower(u.Path), "/main.aspx") {
		return nil, "", false
	}
	q := u.Query()
	etn, id := q.Get("etn"), strings.Trim(q.Get("id"), "{}")
	if !crm.IsGUID(id) {
		return nil, "", false
	}
	for _, rt := range c.Catalog.ChatTypes() {
		if rt.Name == etn || (rt.WebPath != "" && rt.WebPath == etn) {
			return rt, strings.ToLower(id), true
		}
	}
	return nil, "", false
}
