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

// Send posts v to the user's direct conversation with the bot and returns
// the message's reference (channel and ts), kept to update it in place. It
// implements bot.Sender.
func (a *Adapter) Send(ctx context.Context, to store.ChatUser, v cards.View) (bot.MessageRef, error) {
	if to.Platform != store.PlatformSlack {
		return bot.MessageRef{}, fmt.Errorf("slack: cannot send to %s", to)
	}
	api, err := a.api(ctx, to.Tenant, "")
	if err != nil {
		return bot.MessageRef{}, err
	}
	var channel string
	err = a.retry(ctx, "dm", func() error {
		ch, _, _, err := api.OpenConversationContext(ctx, &goslack.OpenConversationParameters{Users: []string{to.UserID}, ReturnIM: true})
		if err == nil {
			channel = ch.ID
		}
		return err
	})
	if err != nil {
		return bot.MessageRef{}, fmt.Errorf("slack: conversations.open for %s: %w", to, err)
	}
	ts, err := a.post(ctx, api, channel, v, a.Messages.For(a.profile(ctx, api, to.Tenant, to.UserID).Locale))
	if err != nil {
		return bot.MessageRef{}, err
	}
	return bot.MessageRef{Platform: store.PlatformSlack, Conversation: channel, ID: ts}, nil
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

// post posts v to a channel, paced and retried, and returns its ts.
func (a *Adapter) post(ctx context.Context, api *client, channel string, v cards.View, loc i18n.Localizer) (string, error) {
	blocks, err := slackcards.Blocks(forMessage(v), a.options(loc))
	if err != nil {
		return "", err
	}
	var ts string
	err = a.retry(ctx, channel, func() error {
		_, t, err := api.PostMessageContext(ctx, channel, goslack.MsgOptionText(slackcards.FallbackText(v), false), goslack.MsgOptionBlocks(blocks...))
		ts = t
		return err
	})
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
