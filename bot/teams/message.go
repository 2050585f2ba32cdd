package teams

import (
	"context"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/cards/adaptive"
	"github.com/crmbot/crmbot/internal/i18n"
	"github.com/crmbot/crmbot/store"
)

// welcomeTTL: a user who removes and adds the app again within it is not
// welcomed twice.
const welcomeTTL = 30 * 24 * time.Hour

// message answers a message activity: a typed command, or the data of an
// Action.Submit clicked on a card in the chat.
func (a *Adapter) message(ctx context.Context, u store.ChatUser, act *Activity) {
	if value := invokeValue(act); value != nil {
		a.submitFromMessage(ctx, u, act, value)
		return
	}
	req := request(u, act, bot.KindCommand)
	req.Text = stripMentions(act.Text)
	r := a.handle(ctx, req)
	if r.resp.View == nil {
		return
	}
	if f, ok := r.resp.View.(*cards.Form); ok {
		// Teams opens no dialog from a typed message: the answer is a card
		// whose button opens the form in one (the command runs again in
		// task/fetch).
		r.resp.View = launcher(f, req.Text)
	}
	if personal(act) {
		a.reply(ctx, u, act, r.resp.View)
		return
	}
	// A channel or group chat: the user's records go to their 1:1 chat,
	// and the channel only hears that they did.
	note := &cards.Message{Text: []string{a.Messages.For(act.Locale).T(i18n.TeamsSentPrivately, nil)}}
	if _, err := a.Send(ctx, u, r.resp.View, bot.SendOptions{}); err != nil {
		// Most often the app is installed in the team but not for the
		// user: tell them where to find it rather than stay silent.
		a.Logger.WarnContext(ctx, "teams: could not answer in the 1:1 chat", "user", u.String(), "error", err)
		note = &cards.Message{Tone: cards.ToneWarning, Text: []string{a.Messages.For(act.Locale).T(i18n.TeamsNoPrivateChat, nil)}}
	}
	a.reply(ctx, u, act, note)
}

// submitFromMessage handles an Action.Submit outside a dialog (a form posted
// in the chat, or a client without Universal Actions): the card it came
// from is updated with the answer, as an invoke would have replaced it.
func (a *Adapter) submitFromMessage(ctx context.Context, u store.ChatUser, act *Activity, data map[string]any) {
	var req bot.Request
	var origin string
	if sub, ok := adaptive.ReadSubmission(data); ok {
		if sub.Cancel {
			return
		}
		origin = sub.Origin
		req = request(u, act, bot.KindSubmit)
		req.FormID, req.State, req.Values = sub.Form, sub.State, adaptive.ReadValues(data)
	} else if b, ok := adaptive.ReadAction(data); ok {
		origin = b.Origin
		req = buttonRequest(u, act, b, data)
	} else {
		return
	}
	r := a.handle(ctx, req)
	if origin != act.ReplyToID {
		a.refreshOrigin(ctx, u, act, origin, r.resp.Refresh)
	}
	v := r.resp.View
	if v == nil {
		return
	}
	if act.ReplyToID != "" && (req.Kind == bot.KindSubmit || r.resp.Surface != bot.SurfaceMessage) {
		a.update(ctx, u, act, act.ReplyToID, v)
		return
	}
	a.post(ctx, u, act, v)
}

// deliverLate shows an answer that came after the invoke was answered
// "still working": a card action's card is updated in place, anything
// else is posted.
func (a *Adapter) deliverLate(ctx context.Context, u store.ChatUser, act *Activity, origin string, r result) {
	v := r.resp.View
	if act.Name == InvokeCardAction {
		// As cardAction would have: the card becomes the answer, or its new
		// state when the answer is a new message; one update, so an older
		// state never lands over a newer one.
		replacement := r.resp.Refresh
		if v != nil && r.resp.Surface == bot.SurfaceMessage {
			a.post(ctx, u, act, v)
		} else if v != nil {
			replacement = v
		}
		if replacement != nil && origin != "" {
			a.update(ctx, u, act, origin, replacement)
		}
		return
	}
	a.refreshOrigin(ctx, u, act, origin, r.resp.Refresh)
	if v != nil {
		a.post(ctx, u, act, v)
	}
}

// refreshOrigin updates the card a dialog was opened from (a notification,
// a record card) with its new state, in the background.
func (a *Adapter) refreshOrigin(ctx context.Context, u store.ChatUser, act *Activity, origin string, v cards.View) {
	if v == nil || origin == "" {
		return
	}
	a.background(ctx, func(ctx context.Context) { a.update(ctx, u, act, origin, v) })
}

// update replaces a message of the activity's conversation.
func (a *Adapter) update(ctx context.Context, u store.ChatUser, act *Activity, id string, v cards.View) {
	err := a.Connector.Update(ctx, act.ServiceURL, act.Conversation.ID, id, a.messageOf(act.Locale, v))
	if err != nil {
		a.Logger.WarnContext(ctx, "teams: could not update a card", "user", u.String(), "error", err)
	}
}

// reply posts v in the activity's conversation.
func (a *Adapter) reply(ctx context.Context, u store.ChatUser, act *Activity, v cards.View) {
	if _, err := a.Connector.Send(ctx, act.ServiceURL, act.Conversation.ID, a.messageOf(act.Locale, v)); err != nil {
		a.Logger.WarnContext(ctx, "teams: could not reply", "user", u.String(), "error", err)
	}
}

// post shows v to the user as a new message: in the activity's
// conversation when it is their 1:1 chat, else in that chat.
func (a *Adapter) post(ctx context.Context, u store.ChatUser, act *Activity, v cards.View) {
	if personal(act) {
		a.reply(ctx, u, act, v)
		return
	}
	if _, err := a.Send(ctx, u, v, bot.SendOptions{}); err != nil {
		a.Logger.WarnContext(ctx, "teams: could not post to the 1:1 chat", "user", u.String(), "error", err)
	}
}

// botAdded: a conversationUpdate saying the bot joined the user's 1:1 chat
// (the app was installed for them).
func (a *Adapter) botAdded(act *Activity) bool {
	if act.Recipient == nil || !personal(act) {
		return false
	}
	for _, m := range act.MembersAdded {
		if m.ID == act.Recipient.ID {
			return true
		}
	}
	return false
}

// welcome greets a user who added the app, with the help card, once.
func (a *Adapter) welcome(ctx context.Context, u store.ChatUser, act *Activity) {
	if a.Dedupe != nil {
		first, err := a.Dedupe.SeenOnce(ctx, "teams:welcome:"+u.String(), welcomeTTL)
		if err != nil || !first {
			return
		}
	}
	req := request(u, act, bot.KindCommand)
	req.Text = "help"
	if r := a.handle(ctx, req); r.resp.View != nil {
		a.reply(ctx, u, act, r.resp.View)
	}
}

// messageOf is a card-only message activity showing v. Only the card: a
// message with text and a card is split in two by some clients, and the id
// of the card's message is the one kept to update it.
func (a *Adapter) messageOf(locale string, v cards.View) *Activity {
	return &Activity{
		Type:        TypeMessage,
		Summary:     cards.Summary(v),
		Attachments: []Attachment{{ContentType: AttachmentCardType, Content: a.card(locale, v, adaptive.Options{})}},
	}
}

// commandVerb is the verb of a button that runs a typed command in a
// dialog: its value is the command line. No core action has this id.
const commandVerb = "teams.command"

// launcher is the card that stands for a form a typed command answered
// with: its title and intro, and one button opening it in a dialog.
func launcher(f *cards.Form, command string) cards.View {
	m := &cards.Message{Title: f.Title, Actions: []cards.Action{{ID: commandVerb, Value: command, Label: f.Title,
		Style: cards.StylePrimary, Dialog: true}}}
	if f.Intro != "" {
		m.Text = []string{f.Intro}
	}
	if f.Error != "" {
		m.Tone, m.Text = cards.ToneWarning, append(m.Text, f.Error)
	}
	return m
}
