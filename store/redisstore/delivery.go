package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
)

var (
	_ store.LinkIndex = (*Store)(nil)
	_ store.SentStore = (*Store)(nil)
	_ store.HeldStore = (*Store)(nil)
)

// heldTag is the hash tag of every held-notification key: Hold and DropHeld
// change a user's held hash and the due index in one script, so on a Redis
// Cluster they must share a slot (like {links}, one slot holds them all).
const heldTag = "{held}"

// sent: the message reference a notification was posted as, per
// notification key and chat user. A single key, so no hash tag is needed.
func (k keyspace) sent(key string, u store.ChatUser) string {
	return k.prefix + "sent:" + esc(key) + ":" + member(u)
}

// held: a hash of u's held notifications, id → "<held at, unix ms>:<item>".
func (k keyspace) held(u store.ChatUser) string { return k.prefix + heldTag + ":items:" + member(u) }

// heldDue: the due index, a sorted set of member(u) scored by u's due time
// (unix ms); only users who hold something are in it.
func (k keyspace) heldDue() string { return k.prefix + heldTag + ":due" }

// holdScript keeps an item unless its id is held already (HSETNX: the
// first At stays), trims the hash to the newest max (oldest by At, then id,
// as store.SortHeld), and lowers (or sets) the user's due time (ZADD LT).
// At is Redis TIME, so every replica stamps on one clock. Lua's < on
// strings follows the server's locale, so ids are compared byte by byte.
// KEYS: held hash, due index. ARGV: id, item, due (unix ms, "" = leave it),
// member, max.
var holdScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('HSETNX', KEYS[1], ARGV[1], string.format('%d', now) .. ':' .. ARGV[2]) == 1 then
  local max = tonumber(ARGV[5])
  local n = redis.call('HLEN', KEYS[1])
  if n > max then
    local all = redis.call('HGETALL', KEYS[1])
    local list = {}
    for i = 1, #all, 2 do
      local v = all[i + 1]
      local c = string.find(v, ':', 1, true)
      table.insert(list, {tonumber(string.sub(v, 1, c - 1)), all[i]})
    end
    table.sort(list, function(a, b)
      if a[1] ~= b[1] then return a[1] < b[1] end
      local x, y = a[2], b[2]
      for i = 1, math.min(#x, #y) do
        local p, q = string.byte(x, i), string.byte(y, i)
        if p ~= q then return p < q end
      end
      return #x < #y
    end)
    for i = 1, n - max do redis.call('HDEL', KEYS[1], list[i][2]) end
  end
end
if ARGV[3] ~= '' then redis.call('ZADD', KEYS[2], 'LT', ARGV[3], ARGV[4]) end
return 1
`)

// wakeScript lowers (or sets) the user's due time if the user holds
// anything. KEYS: held hash, due index. ARGV: when (unix ms), member.
var wakeScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], 'LT', ARGV[1], ARGV[2])
return 1
`)

// deferScript sets (or, with "", removes) the user's due time if the user
// holds anything. KEYS: held hash, due index. ARGV: until (unix ms, "" =
// not due), member.
var deferScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 or ARGV[1] == '' then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
return 1
`)

// dropScript removes held ids, and the user from the due index when nothing
// is left. HDEL takes the ids in chunks (Lua's unpack limit). KEYS: held
// hash, due index. ARGV: member, ids….
var dropScript = redis.NewScript(`
for i = 2, #ARGV, 1000 do
  redis.call('HDEL', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('ZREM', KEYS[2], ARGV[1]) end
return 1
`)

// claimSentScript records a sent ref unless one is recorded, and returns
// the ref recorded afterwards. A script rather than SET NX GET, which needs
// Redis 7.0 (6.2 refuses GET with NX). One key: fine on a cluster.
// KEYS: sent key. ARGV: ref, ttl (ms).
var claimSentScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`)

// LinkedSystemUsers implements store.LinkIndex: one pipeline of EXISTS on
// the reverse-index sets (a set goes when its last member does). They all
// share {links}, so on a cluster the pipeline goes to one node.
func (s *Store) LinkedSystemUsers(ctx context.Context, systemUserIDs []string) (map[string]bool, error) {
	ids := make([]string, 0, len(systemUserIDs))
	seen := make(map[string]struct{}, len(systemUserIDs))
	for _, id := range systemUserIDs {
		if id == "" {
			return nil, fmt.Errorf("linked system users: %w: empty systemuserid", store.ErrInvalid)
		}
		if _, dup := seen[id]; !dup {
			seen[id] = struct{}{}
			ids = append(ids, id)
		}
	}
	out := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Exists(ctx, s.ks.linkedUsers(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, wrapErr("linked system users", err)
	}
	for i, c := range cmds {
		if c.Val() > 0 {
			out[ids[i]] = true
		}
	}
	return out, nil
}

// MarkSent implements store.SentStore (SET PX).
func (s *Store) MarkSent(ctx context.Context, key string, u store.ChatUser, ref string, ttl time.Duration) error {
	if err := checkSent(key, u); err != nil {
		return fmt.Errorf("mark sent: %w", err)
	}
	if err := store.CheckTTL(ttl); err != nil {
		return fmt.Errorf("mark sent %q to %s: %w", key, u, err)
	}
	return wrapErr("mark sent "+key+" to "+u.String(), s.rdb.Set(ctx, s.ks.sent(key, u), ref, ttl).Err())
}

// ClaimSent implements store.SentStore: one script (GET, then SET PX if
// nothing was there). A caller that retries a claim whose answer was lost
// (store.ErrUnavailable) finds its own ref: the same answer.
func (s *Store) ClaimSent(ctx context.Context, key string, u store.ChatUser, ref string, ttl time.Duration) (string, error) {
	if err := checkSent(key, u); err != nil {
		return "", fmt.Errorf("claim sent: %w", err)
	}
	if err := store.CheckTTL(ttl); err != nil {
		return "", fmt.Errorf("claim sent %q to %s: %w", key, u, err)
	}
	got, err := claimSentScript.Run(ctx, s.rdb, []string{s.ks.sent(key, u)}, ref, max(ttl.Milliseconds(), 1)).Text()
	if err != nil {
		return "", wrapErr("claim sent "+key+" to "+u.String(), err)
	}
	return got, nil
}

// SentRef implements store.SentStore.
func (s *Store) SentRef(ctx context.Context, key string, u store.ChatUser) (string, error) {
	if err := checkSent(key, u); err != nil {
		return "", fmt.Errorf("sent ref: %w", err)
	}
	ref, err := s.rdb.Get(ctx, s.ks.sent(key, u)).Result()
	if err != nil {
		return "", wrapErr("sent ref of "+key+" to "+u.String(), err)
	}
	return ref, nil
}

// checkSent reports ErrInvalid for an empty notification key or an invalid
// chat user.
func checkSent(key string, u store.ChatUser) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if key == "" {
		return fmt.Errorf("%w: empty notification key", store.ErrInvalid)
	}
	return nil
}

// Hold implements store.HeldStore: one script (held hash and due index).
func (s *Store) Hold(ctx context.Context, u store.ChatUser, id string, item []byte, due time.Time) error {
	if err := store.CheckHold(u, id, item); err != nil {
		return err
	}
	dueArg := ""
	if !due.IsZero() {
		dueArg = strconv.FormatInt(due.UnixMilli(), 10)
	}
	err := holdScript.Run(ctx, s.rdb, []string{s.ks.held(u), s.ks.heldDue()},
		id, item, dueArg, member(u), store.MaxHeld).Err()
	return wrapErr("hold for "+u.String(), err)
}

// WakeHeld implements store.HeldStore.
func (s *Store) WakeHeld(ctx context.Context, u store.ChatUser, when time.Time) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("wake held: %w", err)
	}
	if when.IsZero() {
		return fmt.Errorf("wake held of %s: %w: zero time", u, store.ErrInvalid)
	}
	err := wakeScript.Run(ctx, s.rdb, []string{s.ks.held(u), s.ks.heldDue()}, when.UnixMilli(), member(u)).Err()
	return wrapErr("wake held of "+u.String(), err)
}

// DeferHeld implements store.HeldStore.
func (s *Store) DeferHeld(ctx context.Context, u store.ChatUser, until time.Time) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("defer held: %w", err)
	}
	untilArg := ""
	if !until.IsZero() {
		untilArg = strconv.FormatInt(until.UnixMilli(), 10)
	}
	err := deferScript.Run(ctx, s.rdb, []string{s.ks.held(u), s.ks.heldDue()}, untilArg, member(u)).Err()
	return wrapErr("defer held of "+u.String(), err)
}

// DueHeld implements store.HeldStore (ZRANGE BYSCORE LIMIT).
func (s *Store) DueHeld(ctx context.Context, now time.Time, n int) ([]store.ChatUser, error) {
	if n <= 0 {
		return nil, fmt.Errorf("due held: %w: n %d must be positive", store.ErrInvalid, n)
	}
	ms, err := s.rdb.ZRangeByScore(ctx, s.ks.heldDue(), &redis.ZRangeBy{
		Min: "-inf", Max: strconv.FormatInt(now.UnixMilli(), 10), Count: int64(n),
	}).Result()
	if err != nil {
		return nil, wrapErr("due held", err)
	}
	out := make([]store.ChatUser, 0, len(ms))
	for _, m := range ms {
		u, err := parseMember(m)
		if err != nil {
			return nil, fmt.Errorf("due held: %w", err)
		}
		out = append(out, u)
	}
	return out, nil
}

// HeldFor implements store.HeldStore.
func (s *Store) HeldFor(ctx context.Context, u store.ChatUser) ([]store.HeldItem, error) {
	if err := u.Validate(); err != nil {
		return nil, fmt.Errorf("held for: %w", err)
	}
	h, err := s.rdb.HGetAll(ctx, s.ks.held(u)).Result()
	if err != nil {
		return nil, wrapErr("held for "+u.String(), err)
	}
	out := make([]store.HeldItem, 0, len(h))
	for id, v := range h {
		at, item, ok := strings.Cut(v, ":")
		ms, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("held for %s: malformed entry %q", u, id)
		}
		out = append(out, store.HeldItem{ID: id, Item: []byte(item), At: time.UnixMilli(ms)})
	}
	store.SortHeld(out)
	return out, nil
}

// DropHeld implements store.HeldStore: one script (held hash and due
// index).
func (s *Store) DropHeld(ctx context.Context, u store.ChatUser, ids ...string) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("drop held: %w", err)
	}
	args := make([]any, 0, len(ids)+1)
	args = append(args, member(u))
	for _, id := range ids {
		args = append(args, id)
	}
	err := dropScript.Run(ctx, s.rdb, []string{s.ks.held(u), s.ks.heldDue()}, args...).Err()
	return wrapErr("drop held of "+u.String(), err)
}
