package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
)

var _ store.ConversationStore = (*Store)(nil)

// Fields of a conversation reference hash. No TTL: a user who only receives
// notifications may never write to the bot again, and must stay reachable.
const (
	cService, cConversation, cUser, cAADObject = "s", "c", "u", "o"
	cTenant, cBot, cChannel                    = "t", "b", "ch"
	cUnreachable                               = "x"  // "1" when unreachable; absent otherwise
	cUpdatedAt                                 = "at" // unix milliseconds
)

// putConversationScript is store.MergeConversation in one step: the fields
// the caller sends replace, those it leaves out stay, except the 1:1
// conversation id of another bot; the unreachable flag goes. KEYS: the
// reference hash. ARGV: bot id ("" = unknown), then field/value pairs of the
// non-empty fields.
var putConversationScript = redis.NewScript(`
local bot = redis.call('HGET', KEYS[1], 'b')
if ARGV[1] ~= '' and bot and bot ~= '' and bot ~= ARGV[1] then redis.call('HDEL', KEYS[1], 'c') end
redis.call('HDEL', KEYS[1], 'x')
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
`)

// markUnreachableScript sets the flag on an existing reference only. KEYS:
// the reference hash.
var markUnreachableScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'x', '1')
return 1
`)

// PutConversation implements store.ConversationStore: one Lua script, so
// concurrent puts of one user never interleave.
func (s *Store) PutConversation(ctx context.Context, u store.ChatUser, r store.ConversationRef) error {
	r, err := store.CheckConversation(u, r, time.Now())
	if err != nil {
		return fmt.Errorf("put %w", err)
	}
	args := []any{r.BotID, cService, r.ServiceURL, cUser, r.UserID, cTenant, r.TenantID, cUpdatedAt, unixMilli(r.UpdatedAt)}
	for _, f := range [][2]string{{cConversation, r.ConversationID}, {cAADObject, r.AADObjectID}, {cBot, r.BotID}, {cChannel, r.ChannelID}} {
		if f[1] != "" {
			args = append(args, f[0], f[1])
		}
	}
	err = putConversationScript.Run(ctx, s.rdb, []string{s.ks.conversation(u)}, args...).Err()
	return wrapErr("put conversation reference of "+u.String(), err)
}

// Conversation implements store.ConversationStore.
func (s *Store) Conversation(ctx context.Context, u store.ChatUser) (store.ConversationRef, error) {
	if err := u.Validate(); err != nil {
		return store.ConversationRef{}, fmt.Errorf("conversation reference: %w", err)
	}
	h, err := s.rdb.HGetAll(ctx, s.ks.conversation(u)).Result()
	if err != nil {
		return store.ConversationRef{}, wrapErr("conversation reference of "+u.String(), err)
	}
	if len(h) == 0 {
		return store.ConversationRef{}, fmt.Errorf("conversation reference of %s: %w", u, store.ErrNotFound)
	}
	return store.ConversationRef{
		ServiceURL: h[cService], ConversationID: h[cConversation], UserID: h[cUser], AADObjectID: h[cAADObject],
		TenantID: h[cTenant], BotID: h[cBot], ChannelID: h[cChannel], Unreachable: h[cUnreachable] == "1",
		UpdatedAt: millis(h[cUpdatedAt]),
	}, nil
}

// MarkUnreachable implements store.ConversationStore.
func (s *Store) MarkUnreachable(ctx context.Context, u store.ChatUser) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("mark unreachable: %w", err)
	}
	err := markUnreachableScript.Run(ctx, s.rdb, []string{s.ks.conversation(u)}).Err()
	return wrapErr("mark unreachable "+u.String(), err)
}
