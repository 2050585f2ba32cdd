package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/internal/i18n"
	"github.com/crmbot/crmbot/store"
)

// Assignment is one "assigned to you" event for a Dynamics user: what the
// sync finds and puts in the outbox (encoded with Encode), or a test posts.
// The core turns it into a notification card for each chat user linked to
// that Dynamics user.
type Assignment struct {
	// RecordType is the record's logical name ("lead"); RecordID its id.
	RecordType string                 `json:"t"`
	RecordID   string                 `json:"id"`
	Kind       cards.NotificationKind `json:"k"`
	// SystemUserID is the Dynamics user to tell (the new owner, a member of
	// the new owning team, or for Unassigned the previous owner).
	SystemUserID string `json:"u"`
	// By names who made the change, when known ("Seán O'Brien").
	By string `json:"by,omitempty"`
	// Team names the owning team when the record was assigned to a team the
	// user is a member of.
	Team string `json:"team,omitempty"`
	// Version is the record's versionnumber when the change was seen.
	Version int64 `json:"v,omitempty"`
	// Detected is when the sync saw the change (delivery latency).
	Detected time.Time `json:"at,omitzero"`
}

// Encode is the outbox payload of a.
func (a Assignment) Encode() ([]byte, error) { return json.Marshal(a) }

// DecodeAssignment reads an outbox payload Encode wrote.
func DecodeAssignment(b []byte) (Assignment, error) {
	var a Assignment
	if err := json.Unmarshal(b, &a); err != nil {
		return Assignment{}, fmt.Errorf("decode assignment: %w", err)
	}
	if a.RecordType == "" || !crm.IsGUID(a.RecordID) || !crm.IsGUID(a.SystemUserID) ||
		a.Kind < cards.AssignedNew || a.Kind > cards.Unassigned {
		return Assignment{}, fmt.Errorf("decode assignment: incomplete event %q", truncateBytes(b, 200))
	}
	return a, nil
}

func truncateBytes(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}

// Delivery is what became of one notification for one chat user.
type Delivery struct {
	User store.ChatUser
	Ref  MessageRef
	// Err is why it was not posted (nil when it was, or when it was
	// skipped or held).
	Err error
	// Skipped: the user does not want it (the record type is off, or a
	// "no longer yours" with that preference off), or can no longer read
	// the record (deleted, or out of their access): nothing to post.
	Skipped bool
	// Hold: keep it back until HoldUntil (snoozed, or the daily digest),
	// or, with a zero HoldUntil, until the user relinks (Broken).
	Hold      bool
	HoldUntil time.Time
	// Broken: the user's link is broken; notifications wait for a relink.
	Broken bool
}

// ErrNoSender: no adapter delivers to the chat user's platform.
var ErrNoSender = errors.New("bot: no sender for the platform")

// Notify delivers an assignment to every chat user linked to its Dynamics
// user (a person may link Slack and Teams) as Deliver does, without
// keeping anything held back. Adapters' tests use it to see a notification
// arrive; the outbox workers (Deliverer) call Deliver per user.
func (c *Core) Notify(ctx context.Context, a Assignment) ([]Delivery, error) {
	if _, err := c.notifyType(a); err != nil {
		return nil, err
	}
	users, err := c.Store.LinkedUsers(ctx, a.SystemUserID)
	if err != nil {
		return nil, fmt.Errorf("notify %s %s: %w", a.RecordType, a.RecordID, err)
	}
	out := make([]Delivery, len(users))
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() { out[i] = c.Deliver(ctx, a, u, SendOptions{}) })
	}
	wg.Wait()
	return out, nil
}

func (c *Core) notifyType(a Assignment) (*crm.RecordType, error) {
	rt, ok := c.Catalog.Type(a.RecordType)
	if !ok || !rt.Chat {
		return nil, fmt.Errorf("notify: unknown record type %q", a.RecordType)
	}
	if !crm.IsGUID(a.RecordID) || !crm.IsGUID(a.SystemUserID) {
		return nil, fmt.Errorf("notify %s: record and user ids must be GUIDs", a.RecordType)
	}
	return rt, nil
}

// Deliver decides what to do with an assignment for one chat user, by
// their preferences and link, and posts it when it goes out now: in their
// language, read with their own Dynamics access so they see only what they
// may, to their DM or chosen channel (opts.Channel is set from their
// preferences). It says when to hold it instead (snoozed, digest, broken
// link): the caller keeps it and sends it later with SendDigest.
func (c *Core) Deliver(ctx context.Context, a Assignment, u store.ChatUser, opts SendOptions) Delivery {
	d := Delivery{User: u}
	rt, err := c.notifyType(a)
	if err != nil {
		// A type no longer in the catalogue: nothing will ever show it.
		c.Logger.WarnContext(ctx, "notification skipped", "chat_user", u.String(), "error", err)
		d.Skipped = true
		return d
	}
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
		// That platform is switched off here: its users cannot be reached.
		c.Logger.WarnContext(ctx, "notification skipped: the chat user's platform is off", "chat_user", u.String())
		d.Skipped = true
		return d
	}
	link, err := c.Store.GetLink(ctx, u)
	if errors.Is(err, store.ErrNotFound) {
		d.Skipped = true // unlinked since
		return d
	}
	if err != nil {
		d.Err = err
		return d
	}
	if link.SystemUserID != "" && !strings.EqualFold(link.SystemUserID, a.SystemUserID) {
		d.Skipped = true // relinked to another Dynamics user since
		return d
	}
	if link.Broken {
		d.Hold, d.Broken = true, true
		return d
	}
	now := c.Now()
	switch {
	case prefs.SnoozeUntil.After(now):
		d.Hold, d.HoldUntil = true, prefs.SnoozeUntil
		return d
	case prefs.Digest:
		d.Hold, d.HoldUntil = true, NextDigest(prefs, now)
		return d
	}
	s := c.newSession(Request{User: u, Locale: link.Locale})
	if err := c.attach(s, link, prefs); err != nil {
		d.Err = err
		return d
	}
	v, err := c.notificationView(ctx, s, rt, a.RecordID, a.Kind, a.By)
	switch {
	case errors.Is(err, store.ErrBrokenLink):
		d.Hold, d.Broken = true, true
		return d
	case errors.Is(err, crm.ErrNotFound), errors.Is(err, crm.ErrForbidden):
		// Deleted since, or no longer theirs to read: nothing to announce.
		d.Skipped = true
		return d
	case err != nil:
		d.Err = err
		return d
	}
	opts.Channel = prefs.ChannelID
	if opts.BeforeSend != nil {
		if d.Err = opts.BeforeSend(ctx); d.Err != nil {
			return d
		}
	}
	d.Ref, d.Err = sender.Send(ctx, u, v, opts)
	if errors.Is(d.Err, ErrUnreachable) {
		c.Logger.InfoContext(ctx, "notification skipped: the chat user cannot be reached", "chat_user", u.String(), "error", d.Err)
		d.Err, d.Skipped = nil, true
		return d
	}
	if d.Err == nil {
		c.recordRecent(ctx, u, rt, a, v)
	}
	return d
}

// NextDigest is the next time the user's daily digest goes out: their
// digest hour in their time zone, after now.
func NextDigest(p store.Preferences, now time.Time) time.Time {
	loc := prefsZone(p)
	t := now.In(loc)
	next := time.Date(t.Year(), t.Month(), t.Day(), p.DigestHour, 0, 0, 0, loc)
	if !next.After(t) {
		next = time.Date(t.Year(), t.Month(), t.Day()+1, p.DigestHour, 0, 0, 0, loc)
	}
	return next
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
	origin := originNotifyNew
	if kind == cards.AssignedExisting {
		origin = originNotifyMoved
	}
	headline := assignmentHeadline(s, rt, rec, kind, by)
	if owner, ok := rec.Lookup("ownerid"); ok && owner.Type == "team" && kind != cards.Unassigned {
		headline = s.t(i18n.NotifyTeam, i18n.Args{"headline": headline, "team": owner.Name})
	}
	n := &cards.Notification{
		Kind:       kind,
		Headline:   headline,
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

// assignmentHeadline says what happened to rec in a sentence ("Lead
// reassigned to you by Seán", "This lead is no longer yours (now: Jonas)").
func assignmentHeadline(s *session, rt *crm.RecordType, rec *crm.Record, kind cards.NotificationKind, by string) string {
	args := i18n.Args{"type": typeInSentence(rt.Label.In(s.lang), s.lang), "by": by}
	var key i18n.Key
	switch {
	case kind == cards.AssignedNew && by != "":
		key = i18n.NotifyAssignedNewBy
	case kind == cards.AssignedNew:
		key = i18n.NotifyAssignedNew
	case kind == cards.AssignedExisting && by != "":
		key = i18n.NotifyAssignedExistingBy
	case kind == cards.AssignedExisting:
		key = i18n.NotifyAssignedExisting
	default:
		key, args["owner"] = i18n.NotifyUnassigned, ""
		if owner, ok := rec.Lookup("ownerid"); ok {
			args["owner"] = owner.Name
		}
	}
	return s.t(key, args)
}

// typeInSentence is a record type's label inside an English sentence
// ("New lead assigned to you"); other languages' templates quote it as is.
func typeInSentence(label, lang string) string {
	if lang == "en" {
		return strings.ToLower(label)
	}
	return label
}
