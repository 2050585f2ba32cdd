package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	gosync "sync"
	"time"

	goslack "github.com/slack-go/slack"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	slackcards "github.com/crmbot/crmbot/cards/slack"
	"github.com/crmbot/crmbot/internal/i18n"
	"github.com/crmbot/crmbot/store"
)

// Outbound messages outside an interaction (notifications, the answer to a
// command that waited for a link) go through Send: paced per channel (Slack
// allows about one message a second per channel, in bursts) and retried on
// 429 after the Retry-After Slack gives, or with a backoff when it gives
// none. These are never on a 3-second path.

// sendAttempts bounds the tries of one post.
const sendAttempts = 4

// notificationEvent is the event_type of the message metadata a keyed post
// carries: {"event_type":"crmbot_notification","event_payload":{"key":…}}.
const notificationEvent = "crmbot_notification"

// recoverLimit is how many of a conversation's latest messages a recovery
// reads (one page of conversations.history, newest first): the earlier
// attempt is minutes old at most, and a busy channel past that is a
// duplicate rather than a scan of its whole history.
const recoverLimit = 100

// refusedChannel lists what chat.postMessage answers when the bot cannot
// write to a channel: the notification then goes to the user's DM.
var refusedChannel = map[string]bool{
	"not_in_channel": true, "channel_not_found": true, "is_archived": true, "restricted_action": true,
}

// Send posts v and returns the message's reference (channel and ts), kept
// to update it in place (Update) or take it back (Delete). It implements
// bot.Sender.
//
// The post goes to the user's direct conversation with the bot, or to
// opts.Channel when set; a channel the bot cannot write to (not a member,
// gone, archived, posting restricted) falls back to the DM, with a warning
// naming the channel, so the notification is not lost. With opts.Key the
// post carries the key as message metadata; with opts.Recover too, the
// conversation's latest messages are read first and an earlier post of the
// bot's with that key is returned instead of posting again. When they
// cannot be read (a missing history scope), Send posts: a duplicate rather
// than a loss.
//
// Errors no retry will fix for this user (the workspace uninstalled the
// app, the user was deactivated or cannot be messaged) match
// bot.ErrUnreachable.
func (a *Adapter) Send(ctx context.Context, to store.ChatUser, v cards.View, opts bot.SendOptions) (bot.MessageRef, error) {
	ref, err := a.send(ctx, to, v, opts)
	return ref, unreachable(err)
}

// unreachableCodes are Slack answers that mean the user cannot be messaged
// by this app until something changes on their side.
var unreachableCodes = map[string]bool{
	"user_not_found": true, "cannot_dm_bot": true, "account_inactive": true, "user_disabled": true,
	"invalid_auth": true, "not_authed": true, "token_revoked": true, "team_access_not_granted": true,
	"user_is_restricted": true, "users_not_found": true,
}

// unreachable marks err as bot.ErrUnreachable when it is permanent for the user.
func unreachable(err error) error {
	var se goslack.SlackErrorResponse
	switch {
	case err == nil:
		return nil
	case errors.As(err, &se) && unreachableCodes[se.Err]:
		return fmt.Errorf("%w: %w", bot.ErrUnreachable, err)
	case errors.Is(err, store.ErrNotFound):
		// No installation for the workspace (uninstalled, or never installed).
		return fmt.Errorf("%w: %w", bot.ErrUnreachable, err)
	}
	return err
}

func (a *Adapter) send(ctx context.Context, to store.ChatUser, v cards.View, opts bot.SendOptions) (bot.MessageRef, error) {
	if to.Platform != store.PlatformSlack {
		return bot.MessageRef{}, fmt.Errorf("slack: cannot send to %s", to)
	}
	api, err := a.api(ctx, to.Tenant, "")
	if err != nil {
		return bot.MessageRef{}, err
	}
	s := &sending{a: a, api: api, to: to, v: v, opts: opts}
	if opts.Channel != "" {
		ref, err := s.deliver(ctx, opts.Channel)
		var se goslack.SlackErrorResponse
		if err == nil || !errors.As(err, &se) || !refusedChannel[se.Err] {
			return ref, err
		}
		a.Logger.Warn("slack: cannot post to the user's notification channel; sending to their DM instead",
			"team", to.Tenant, "user", to.UserID, "channel", opts.Channel, "error", se.Err)
	}
	channel, err := a.dmChannel(ctx, api, to)
	if err != nil {
		return bot.MessageRef{}, err
	}
	return s.deliver(ctx, channel)
}

// dmChannel returns the user's DM channel with the bot: conversations.open
// the first time, then from memory (Slack answers the same id every time).
// Opens are paced per workspace (conversations.open is a per-workspace
// Tier 3 method); without the memory every notification would wait for
// that one slot, about one DM a second for the whole workspace.
func (a *Adapter) dmChannel(ctx context.Context, api *client, to store.ChatUser) (string, error) {
	key := to.Tenant + "/" + to.UserID
	if ch, ok := a.dms.get(key); ok {
		return ch, nil
	}
	var channel string
	err := a.retry(ctx, "dm:"+to.Tenant, func() error {
		ch, _, _, err := api.OpenConversationContext(ctx, &goslack.OpenConversationParameters{Users: []string{to.UserID}, ReturnIM: true})
		if err == nil {
			channel = ch.ID
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("slack: conversations.open for %s: %w", to, err)
	}
	a.dms.put(key, channel)
	return channel, nil
}

// maxDMCache bounds dmCache; when full it is emptied (re-opening a DM is
// one call).
const maxDMCache = 100000

// dmCache maps team/user to the user's DM channel id. The zero value is
// ready to use.
type dmCache struct {
	mu  gosync.Mutex
	ids map[string]string
}

func (c *dmCache) get(key string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.ids[key]
	return ch, ok
}

func (c *dmCache) put(key, channel string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil || len(c.ids) >= maxDMCache {
		c.ids = map[string]string{}
	}
	c.ids[key] = channel
}

// sending is one Send: what to post, to whom, and the user's language
// once looked up.
type sending struct {
	a    *Adapter
	api  *client
	to   store.ChatUser
	v    cards.View
	opts bot.SendOptions
	loc  *i18n.Localizer // looked up before the first post
}

// deliver posts to one conversation, or finds the earlier post there.
func (s *sending) deliver(ctx context.Context, channel string) (bot.MessageRef, error) {
	ref := bot.MessageRef{Platform: store.PlatformSlack, Conversation: channel}
	if s.opts.Recover && s.opts.Key != "" {
		if ts, ok := s.a.findPost(ctx, s.api, s.to, channel, s.opts.Key); ok {
			ref.ID = ts
			return ref, nil
		}
	}
	if s.loc == nil {
		loc := s.a.Messages.For(s.a.profile(ctx, s.api, s.to.Tenant, s.to.UserID).Locale)
		s.loc = &loc
	}
	var extra []goslack.MsgOption
	if s.opts.Key != "" {
		extra = append(extra, goslack.MsgOptionMetadata(goslack.SlackMetadata{
			EventType: notificationEvent, EventPayload: map[string]any{"key": s.opts.Key}}))
	}
	ts, err := s.a.post(ctx, s.api, channel, s.v, *s.loc, s.opts.BeforeSend, extra...)
	if err != nil {
		return bot.MessageRef{}, err
	}
	ref.ID = ts
	return ref, nil
}

// findPost looks for a message of the bot's carrying key among the latest
// messages of channel, and returns its ts. When the history cannot be read
// (missing_scope, not_in_channel, …) or the bot's identity cannot be
// learnt, it warns and reports nothing found: the caller posts.
func (a *Adapter) findPost(ctx context.Context, api *client, to store.ChatUser, channel, key string) (string, bool) {
	warn := func(what string, err error) {
		args := []any{"team", to.Tenant, "user", to.UserID, "channel", channel, "key", key, "error", err}
		var se goslack.SlackErrorResponse
		if errors.As(err, &se) && se.Needed != "" {
			args = append(args, "needed_scope", se.Needed)
		}
		a.Logger.Warn("slack: cannot look for an earlier post of a notification ("+what+"); posting it, it may show twice", args...)
	}
	var msgs []goslack.Message
	err := a.retry(ctx, "history", func() error {
		h, err := api.GetConversationHistoryContext(ctx, &goslack.GetConversationHistoryParameters{
			ChannelID: channel, Limit: recoverLimit, IncludeAllMetadata: true})
		if err == nil {
			msgs = h.Messages
		}
		return err
	})
	if err != nil {
		warn("conversations.history", err)
		return "", false
	}
	var found []goslack.Message
	for _, m := range msgs {
		if m.Metadata.EventType == notificationEvent {
			if k, _ := m.Metadata.EventPayload["key"].(string); k == key {
				found = append(found, m)
			}
		}
	}
	if len(found) == 0 {
		return "", false
	}
	// Only the bot's own post counts: another app (or a user's workflow)
	// could carry the same metadata.
	var me *goslack.AuthTestResponse
	err = a.retry(ctx, "auth", func() error {
		r, err := api.AuthTestContext(ctx)
		me = r
		return err
	})
	if err != nil {
		warn("auth.test", err)
		return "", false
	}
	for _, m := range found {
		if (m.BotID != "" && m.BotID == me.BotID) || (m.User != "" && m.User == me.UserID) {
			return m.Timestamp, true
		}
	}
	return "", false
}

// Update replaces a message Send posted.
func (a *Adapter) Update(ctx context.Context, to store.ChatUser, ref bot.MessageRef, v cards.View) error {
	api, err := a.api(ctx, to.Tenant, "")
	if err != nil {
		return err
	}
	loc := a.Messages.For(a.profile(ctx, api, to.Tenant, to.UserID).Locale)
	blocks, err := slackcards.Blocks(forMessage(v), a.options(loc))
	if err != nil {
		return err
	}
	return a.retry(ctx, ref.Conversation, func() error {
		_, _, _, err := api.UpdateMessageContext(ctx, ref.Conversation, ref.ID,
			goslack.MsgOptionText(slackcards.FallbackText(v), false), goslack.MsgOptionBlocks(blocks...))
		return err
	})
}

// Delete removes a message Send posted (chat.delete with the bot token of
// the user's workspace), paced and retried like the other writes to that
// channel. It implements bot.Deleter: the delivery workers delete a
// notification a paused replica posted after another replica had posted
// and recorded it. A message already gone (message_not_found) is not an
// error.
func (a *Adapter) Delete(ctx context.Context, to store.ChatUser, ref bot.MessageRef) error {
	if to.Platform != store.PlatformSlack || ref.Platform != store.PlatformSlack {
		return fmt.Errorf("slack: cannot delete %s's message %+v", to, ref)
	}
	if ref.Conversation == "" || ref.ID == "" {
		return fmt.Errorf("slack: delete: empty channel or ts in %+v", ref)
	}
	api, err := a.api(ctx, to.Tenant, "")
	if err != nil {
		return err
	}
	err = a.retry(ctx, ref.Conversation, func() error {
		_, _, err := api.DeleteMessageContext(ctx, ref.Conversation, ref.ID)
		return err
	})
	var se goslack.SlackErrorResponse
	if errors.As(err, &se) && se.Err == "message_not_found" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("slack: chat.delete %s in %s: %w", ref.ID, ref.Conversation, err)
	}
	return nil
}

// post posts v to a channel, paced and retried, and returns its ts. extra
// adds to the message (metadata).
//
// before, when set, runs right before each chat.postMessage (after the
// pacing wait, which can be long): an error cancels the post. The delivery
// workers use it to see whether another replica posted meanwhile.
func (a *Adapter) post(ctx context.Context, api *client, channel string, v cards.View, loc i18n.Localizer, before func(context.Context) error, extra ...goslack.MsgOption) (string, error) {
	blocks, err := slackcards.Blocks(forMessage(v), a.options(loc))
	if err != nil {
		return "", err
	}
	msg := append([]goslack.MsgOption{goslack.MsgOptionText(slackcards.FallbackText(v), false), goslack.MsgOptionBlocks(blocks...)}, extra...)
	var ts string
	var cancelled error
	err = a.retry(ctx, channel, func() error {
		if before != nil {
			if cancelled = before(ctx); cancelled != nil {
				return cancelled
			}
		}
		_, t, err := api.PostMessageContext(ctx, channel, msg...)
		ts = t
		return err
	})
	if cancelled != nil {
		return "", cancelled
	}
	if err != nil {
		return "", fmt.Errorf("slack: chat.postMessage to %s: %w", channel, err)
	}
	return ts, nil
}

// retry runs call, waiting out rate limits: Retry-After when Slack gives
// it, an exponential backoff (1 s, 2 s, 4 s) when a 429 or a 5xx comes
// without one. Other errors return at once.
func (a *Adapter) retry(ctx context.Context, channel string, call func() error) error {
	var err error
	for attempt := range sendAttempts {
		if err = a.pacer.wait(ctx, channel); err != nil {
			return err
		}
		err = call()
		wait, retryable := retryDelay(err, attempt)
		if !retryable || attempt == sendAttempts-1 {
			return err
		}
		a.pacer.hold(channel, wait)
		a.Logger.Info("slack: rate limited; waiting", "channel", channel, "wait", wait, "attempt", attempt+1)
	}
	return err
}

// retryDelay says whether err is worth another try, and after how long.
func retryDelay(err error, attempt int) (time.Duration, bool) {
	var rl *goslack.RateLimitedError
	if errors.As(err, &rl) {
		return max(rl.RetryAfter, time.Second), true
	}
	var sc goslack.StatusCodeError
	if errors.As(err, &sc) && (sc.Code == http.StatusTooManyRequests || sc.Code >= 500) {
		return time.Second << attempt, true
	}
	return 0, false
}

// pacer spaces posts per channel and holds a channel after a 429.
type pacer struct {
	mu   gosync.Mutex
	now  func() time.Time
	gap  time.Duration
	next map[string]time.Time
}

func newPacer(now func() time.Time, gap time.Duration) *pacer {
	return &pacer{now: now, gap: gap, next: map[string]time.Time{}}
}

// wait blocks until channel may take the next post, and books the slot.
func (p *pacer) wait(ctx context.Context, channel string) error {
	p.mu.Lock()
	now := p.now()
	at := p.next[channel]
	if at.Before(now) {
		at = now
	}
	p.next[channel] = at.Add(p.gap)
	if len(p.next) > 10000 {
		for k, t := range p.next {
			if t.Before(now) {
				delete(p.next, k)
			}
		}
	}
	p.mu.Unlock()
	d := at.Sub(now)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hold keeps channel closed for d (after a 429).
func (p *pacer) hold(channel string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if at := p.now().Add(d); at.After(p.next[channel]) {
		p.next[channel] = at
	}
}
