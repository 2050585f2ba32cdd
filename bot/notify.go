package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/internal/i18n"
	"github.com/crmbot/crmbot/store"
)

// Assignment is one "assigned to you" event for a Dynamics user: what the
// sync finds (issue 8) or a test posts. The core turns it into a
// notification card for each chat user linked to that Dynamics user.
type Assignment struct {
	// RecordType is the record's logical name ("lead"); RecordID its id.
	RecordType, RecordID string
	Kind                 cards.NotificationKind
	// SystemUserID is the Dynamics user to tell (the new owner, or for
	// Unassigned the previous one).
	SystemUserID string
	// By names who made the change, when known ("Seán O'Brien").
	By string
}

// Delivery is one notification posted to one chat user.
type Delivery struct {
	User store.ChatUser
	Ref  MessageRef
	// Err is why it was not posted (nil when it was). Skipped ones (the
	// user turned the record type off) have neither Ref nor Err.
	Err     error
	Skipped bool
}

// ErrNoSender: no adapter delivers to the chat user's platform.
var ErrNoSender = errors.New("bot: no sender for the platform")

// Notify posts an assignment's card to every chat user linked to its
// Dynamics user (a person may link Slack and Teams), in their language,
// read with their own Dynamics access so they see only what they may.
// Users who turned the record type off are skipped. The sync's delivery
// workers call it; adapters' tests use it to see a notification arrive.
func (c *Core) Notify(ctx context.Context, a Assignment) ([]Delivery, error) {
	rt, ok := c.Catalog.Type(a.RecordType)
	if !ok || !rt.Chat {
		return nil, fmt.Errorf("notify: unknown record type %q", a.RecordType)
	}
	if !crm.IsGUID(a.RecordID) || !crm.IsGUID(a.SystemUserID) {
		return nil, fmt.Errorf("notify %s: record and user ids must be GUIDs", a.RecordType)
	}
	users, err := c.Store.LinkedUsers(ctx, a.SystemUserID)
	if err != nil {
		return nil, fmt.Errorf("notify %s %s: %w", a.RecordType, a.RecordID, err)
	}
	out := make([]Delivery, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		out[i].User = u
		wg.Go(func() { out[i] = c.notifyOne(ctx, rt, a, u) })
	}
	wg.Wait()
	return out, nil
}

func (c *Core) notifyOne(ctx context.Context, rt *crm.RecordType, a Assignment, u store.ChatUser) Delivery {
	d := Delivery{User: u}
	prefs, err := c.Store.GetPreferences(ctx, u)
	if err != nil {
		d.Err = err
		return d
	}
	if !prefs.Wants(rt.Name) || (a.Kind == cards.Unassigned && !prefs.NotifyPreviousOwner) {
		d.Skipped = true
		return d
	}
	sender := c.Senders[u.Platform]
	if sender == nil {
		d.Err = fmt.Errorf("%w %q", ErrNoSender, u.Platform)
		return d
	}
	link, err := c.Store.GetLink(ctx, u)
	if err != nil {
		d.Err = err
		return d
	}
	if link.Broken {
		d.Err = store.BrokenError(u, link.BrokenReason, nil)
		return d
	}
	s := c.newSession(Request{User: u, Locale: link.Locale})
	if err := c.attach(s, link, prefs); err != nil {
		d.Err = err
		return d
	}
	v, err := c.notificationView(ctx, s, rt, a.RecordID, a.Kind, a.By)
	if err != nil {
		d.Err = err
		return d
	}
	d.Ref, d.Err = sender.Send(ctx, u, v)
	if d.Err == nil {
		c.recordRecent(ctx, u, rt, a, v)
	}
	return d
}

// notificationView is the "assigned to you" card of a record: headline,
// key fields, and the actions its state allows (view, edit, resolve / win /
// lose / qualify / complete…, open in Dynamics). A card about a record
// that is no longer the user's only opens it.
func (c *Core) notificationView(ctx context.Context, s *session, rt *crm.RecordType, id string, kind cards.NotificationKind, by string) (*cards.Notification, error) {
	rec, err := s.crm.GetRecord(ctx, rt, id, append(append([]string{}, rt.List...), "ownerid")...)
	if err != nil {
		return nil, err
	}
	typ := rt.Label.In(s.lang)
	args := i18n.Args{"type": typeInSentence(typ, s.lang), "by": by}
	var key i18n.Key
	origin := originNotifyNew
	switch {
	case kind == cards.AssignedNew && by != "":
		key = i18n.NotifyAssignedNewBy
	case kind == cards.AssignedNew:
		key = i18n.NotifyAssignedNew
	case kind == cards.AssignedExisting && by != "":
		key, origin = i18n.NotifyAssignedExistingBy, originNotifyMoved
	case kind == cards.AssignedExisting:
		key, origin = i18n.NotifyAssignedExisting, originNotifyMoved
	default:
		key, args["owner"] = i18n.NotifyUnassigned, ""
		if owner, ok := rec.Lookup("ownerid"); ok {
			args["owner"] = owner.Name
		}
	}
	n := &cards.Notification{
		Kind:       kind,
		Headline:   s.t(key, args),
		RecordType: rt.Icon + " " + typ,
		Title:      c.recordName(s, rt, rec),
		OpenURL:    c.recordURL(rt, id),
		OpenLabel:  s.t(i18n.ActionOpenInDynamics, nil),
		At:         c.Now(),
		Footer:     s.t(i18n.NotifyFooter, nil),
	}
	if st := c.subtitle(s, rt, rec); st != "" {
		if i := strings.Index(st, " · "); i >= 0 {
			n.Fields = append(n.Fields, cards.Field{Label: s.t(i18n.FieldStatus, nil), Value: st[i+len(" · "):]})
		}
	}
	for _, name := range rt.List {
		if name == rt.PrimaryName {
			continue
		}
		if f, ok := rt.Field(name); ok {
			if fld, ok := c.field(s, f, rec); ok {
				n.Fields = append(n.Fields, fld)
			}
		}
	}
	n.Actions = []cards.Action{{ID: actOpen, Value: newParams("t", rt.Name, "id", id).String(), Label: s.t(i18n.ActionView, nil), Dialog: true}}
	if kind != cards.Unassigned {
		n.Actions = append(n.Actions, c.recordActions(s, rt, rec, notifyOrigin(origin, by))...)
	}
	return n, nil
}

// typeInSentence is a record type's label inside an English sentence
// ("New lead assigned to you"); other languages' templates quote it as is.
func typeInSentence(label, lang string) string {
	if lang == "en" {
		return strings.ToLower(label)
	}
	return label
}
