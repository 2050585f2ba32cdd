package teams

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	gosync "sync"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/store"
)

// ErrNoConversation: the user never wrote to the bot nor had it installed,
// so there is no conversation reference to reach them with.
var ErrNoConversation = fmt.Errorf("teams: no conversation reference for the user: %w", bot.ErrUnreachable)

// Send posts v to the user's 1:1 chat with the bot, creating the chat when
// only the user is known (the app was installed in a team), and returns the
// message's reference, kept to update it in place. A user who blocked the
// bot is marked unreachable and ErrUnreachable returned. It implements
// bot.Sender. Teams posts only to the 1:1 chat (opts.Channel, a Slack
// preference, is refused), and cannot look for an earlier post of the same
// opts.Key (the Bot Connector API does not read messages back): a retried
// notification may be posted twice, never lost.
func (a *Adapter) Send(ctx context.Context, to store.ChatUser, v cards.View, opts bot.SendOptions) (bot.MessageRef, error) {
	if opts.Channel != "" {
		return bot.MessageRef{}, fmt.Errorf("teams: cannot post to channel %q: notifications go to the 1:1 chat", opts.Channel)
	}
	ref, err := a.Conversations.Conversation(ctx, to)
	if errors.Is(err, store.ErrNotFound) {
		return bot.MessageRef{}, fmt.Errorf("%w: %s", ErrNoConversation, to)
	}
	if err != nil {
		return bot.MessageRef{}, err
	}
	if ref.Unreachable {
		return bot.MessageRef{}, fmt.Errorf("%w: %s", ErrUnreachable, to)
	}
	if ref.ConversationID == "" {
		botID := ref.BotID
		if botID == "" {
			botID = "28:" + a.AppID
		}
		id, err := a.Connector.CreateConversation(ctx, ref.ServiceURL, NewConversation{BotID: botID, UserID: ref.UserID, TenantID: ref.TenantID})
		if err != nil {
			return bot.MessageRef{}, a.unreachable(ctx, to, err)
		}
		ref.ConversationID = id
		ref.UpdatedAt = a.Now()
		if err := a.Conversations.PutConversation(ctx, to, ref); err != nil {
			a.Logger.Warn("teams: could not store the new 1:1 conversation", "user", to.String(), "error", err)
		}
	}
	id, err := a.Connector.Send(ctx, ref.ServiceURL, ref.ConversationID, a.messageOf("", v))
	if err != nil {
		return bot.MessageRef{}, a.unreachable(ctx, to, err)
	}
	return bot.MessageRef{Platform: store.PlatformTeams, Conversation: ref.ConversationID, ID: id}, nil
}

// Update replaces a message Send posted.
func (a *Adapter) Update(ctx context.Context, to store.ChatUser, m bot.MessageRef, v cards.View) error {
	ref, err := a.Conversations.Conversation(ctx, to)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrNoConversation, to)
	}
	if err != nil {
		return err
	}
	if err := a.Connector.Update(ctx, ref.ServiceURL, m.Conversation, m.ID, a.messageOf("", v)); err != nil {
		return a.unreachable(ctx, to, err)
	}
	return nil
}

// activityDeleter is an Outbound that can delete an activity (*Connector
// can).
type activityDeleter interface {
	Delete(ctx context.Context, serviceURL, conversationID, activityID string) error
}

// Delete removes a message Send posted (the connector's DELETE of the
// activity). It implements bot.Deleter: the delivery workers delete a
// notification a paused replica posted after another replica had posted
// and recorded it. A message already gone (404) is not an error.
func (a *Adapter) Delete(ctx context.Context, to store.ChatUser, m bot.MessageRef) error {
	if to.Platform != store.PlatformTeams || m.Platform != store.PlatformTeams {
		return fmt.Errorf("teams: cannot delete %s's message %+v", to, m)
	}
	ref, err := a.Conversations.Conversation(ctx, to)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: %s", ErrNoConversation, to)
	}
	if err != nil {
		return err
	}
	del, ok := a.Connector.(activityDeleter)
	if !ok {
		return fmt.Errorf("teams: delete: the connector %T cannot delete: %w", a.Connector, errors.ErrUnsupported)
	}
	err = del.Delete(ctx, ref.ServiceURL, m.Conversation, m.ID)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound {
		return nil
	}
	return err
}

// unreachable marks the user unreachable when err says the bot may no
// longer write to them, and returns err.
func (a *Adapter) unreachable(ctx context.Context, u store.ChatUser, err error) error {
	if errors.Is(err, ErrUnreachable) {
		a.refs.forget(u)
		if merr := a.Conversations.MarkUnreachable(ctx, u); merr != nil {
			a.Logger.Warn("teams: could not mark the user unreachable", "user", u.String(), "error", merr)
		}
	}
	return err
}

// refCache remembers the references last stored, so the store is written
// when one changes (or now and then), not on every activity. It is bounded:
// state lives in the store, not in the process.
type refCache struct {
	mu gosync.Mutex
	m  map[store.ChatUser]cachedRef
}

type cachedRef struct {
	ref store.ConversationRef
	at  time.Time
}

const (
	maxCachedRefs = 10_000
	// refRewrite: a reference is written again after this long even when
	// unchanged, so another replica's "unreachable" mark does not outlive a
	// user's return by long.
	refRewrite = 10 * time.Minute
)

// seen reports whether ref is what was last stored for u, recently; if
// not, it records ref as stored.
func (c *refCache) seen(u store.ChatUser, ref store.ConversationRef) bool {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[u]; ok && old.ref == ref && now.Sub(old.at) < refRewrite {
		return true
	}
	if c.m == nil || len(c.m) >= maxCachedRefs {
		c.m = make(map[store.ChatUser]cachedRef)
	}
	c.m[u] = cachedRef{ref: ref, at: now}
	return false
}

// forget drops u's entry, so the next activity writes the reference.
func (c *refCache) forget(u store.ChatUser) {
	c.mu.Lock()
	delete(c.m, u)
	c.mu.Unlock()
}
