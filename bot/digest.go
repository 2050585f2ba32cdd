package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/internal/i18n"
	"github.com/crmbot/crmbot/store"
)

// DigestShown caps the records a digest lists; the rest are counted.
const DigestShown = 10

// HoldState says whether a chat user's held notifications may go out now:
// blocked with a zero until while their link is broken (until they
// relink), blocked until the end of a snooze, or not blocked.
func (c *Core) HoldState(ctx context.Context, u store.ChatUser) (blocked bool, until time.Time, err error) {
	link, err := c.Store.GetLink(ctx, u)
	if errors.Is(err, store.ErrNotFound) {
		return false, time.Time{}, nil // unlinked: SendDigest drops them
	}
	if err != nil {
		return false, time.Time{}, err
	}
	if link.Broken {
		return true, time.Time{}, nil
	}
	prefs, err := c.Store.GetPreferences(ctx, u)
	if err != nil {
		return false, time.Time{}, err
	}
	if prefs.SnoozeUntil.After(c.Now()) {
		return true, prefs.SnoozeUntil, nil
	}
	return false, time.Time{}, nil
}

// SendDigest posts the held assignments of a chat user as one list — the
// daily digest, or what came while they were snoozed or unlinked — read
// with their access (records they can no longer read are left out), and
// returns its reference. It is titled as the daily digest for a user who
// chose one. Nothing to show (all gone, or the user unlinked)
// posts nothing and returns a zero reference and a nil error.
func (c *Core) SendDigest(ctx context.Context, u store.ChatUser, items []Assignment, opts SendOptions) (MessageRef, error) {
	link, err := c.Store.GetLink(ctx, u)
	if errors.Is(err, store.ErrNotFound) {
		return MessageRef{}, nil
	}
	if err != nil {
		return MessageRef{}, err
	}
	if link.Broken {
		return MessageRef{}, store.BrokenError(u, link.BrokenReason, nil)
	}
	sender := c.Senders[u.Platform]
	if sender == nil {
		return MessageRef{}, fmt.Errorf("%w %q", ErrNoSender, u.Platform)
	}
	prefs, err := c.Store.GetPreferences(ctx, u)
	if err != nil {
		return MessageRef{}, err
	}
	s := c.newSession(Request{User: u, Locale: link.Locale})
	if err := c.attach(s, link, prefs); err != nil {
		return MessageRef{}, err
	}
	// The newest state of each record once: a record reassigned twice
	// appears once, with its latest change.
	latest := map[string]int{}
	var order []Assignment
	for _, a := range items {
		if !strings.EqualFold(a.SystemUserID, link.SystemUserID) {
			continue // held for the Dynamics user this chat user was linked to before
		}
		k := a.RecordType + "/" + a.RecordID
		if i, ok := latest[k]; ok {
			order[i] = a
			continue
		}
		latest[k] = len(order)
		order = append(order, a)
	}
	title := i18n.NotifyDigestHeld
	if prefs.Digest {
		title = i18n.NotifyDigestDaily
	}
	l := &cards.List{Title: s.t(title, nil), Summary: s.t(i18n.NotifyDigestSummary, i18n.Args{"n": len(order)})}
	more := 0
	for i := len(order) - 1; i >= 0; i-- { // newest first
		a := order[i]
		if len(l.Items) == DigestShown {
			more++
			continue
		}
		item, ok, err := c.digestItem(ctx, s, a)
		if err != nil {
			return MessageRef{}, err
		}
		if ok {
			l.Items = append(l.Items, item)
		}
	}
	if len(l.Items) == 0 {
		return MessageRef{}, nil
	}
	if more > 0 {
		l.Empty = ""
		l.Summary += " " + s.t(i18n.NotifyDigestMore, i18n.Args{"n": more})
	}
	opts.Channel = prefs.ChannelID
	return sender.Send(ctx, u, l, opts)
}

// digestItem is one record of a digest: its name, what happened, a View
// button. ok is false for a record the user can no longer read.
func (c *Core) digestItem(ctx context.Context, s *session, a Assignment) (cards.ListItem, bool, error) {
	rt, ok := c.Catalog.Type(a.RecordType)
	if !ok || !crm.IsGUID(a.RecordID) {
		return cards.ListItem{}, false, nil
	}
	rec, err := s.crm.GetRecord(ctx, rt, a.RecordID, rt.PrimaryName, "ownerid")
	switch {
	case errors.Is(err, crm.ErrNotFound), errors.Is(err, crm.ErrForbidden):
		return cards.ListItem{}, false, nil
	case err != nil:
		return cards.ListItem{}, false, err
	}
	return cards.ListItem{
		Title:    rt.Icon + " " + c.recordName(s, rt, rec),
		Subtitle: assignmentHeadline(s, rt, rec, a.Kind, a.By),
		Open:     cards.Action{ID: actOpen, Value: newParams("t", rt.Name, "id", a.RecordID).String(), Label: s.t(i18n.ActionView, nil), Dialog: true},
	}, true, nil
}

// TellPaused tells a chat user that their notifications wait for a relink
// (their link broke). The caller makes sure it is said once.
func (c *Core) TellPaused(ctx context.Context, u store.ChatUser) error {
	sender := c.Senders[u.Platform]
	if sender == nil {
		return fmt.Errorf("%w %q", ErrNoSender, u.Platform)
	}
	locale := ""
	if link, err := c.Store.GetLink(ctx, u); err == nil {
		locale = link.Locale
	}
	loc := c.Messages.For(locale)
	_, err := sender.Send(ctx, u, &cards.Message{Tone: cards.ToneWarning, Text: []string{loc.T(i18n.NotifyPaused, nil)}}, SendOptions{})
	return err
}
