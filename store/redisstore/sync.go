package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
)

// Fields of the cursor hash.
const (
	fCursorToken = "t"
	fCursorAt    = "at" // unix milliseconds, Redis TIME
)

// hmgetChunk bounds the fields of one HMGET; the chunks of a GetOwners call
// share one pipeline (one round trip).
const hmgetChunk = 1000

// commitScript is the fenced commit: every write of a sync page in one
// atomic step. KEYS: syncKeys.all(). ARGV: fence, "1" to set the cursor,
// cursor token, dedupe window (ms), number of snapshot sets, of deletes, of
// events, group name, then the sets (field, value)…, the deletes (field)…,
// the events (dedupe key, payload)…. Returns the number of events enqueued,
// or -1 (nothing written) when the fence is not the current one.
//
// unpack is chunked (Lua's C stack holds ~8000 values), but every chunk runs
// inside this one script, so the page is still all or nothing. Arguments are
// validated in Go first, so no command can fail half way through.
var commitScript = redis.NewScript(ensureGroupLua + `
if redis.call('GET', KEYS[4]) ~= ARGV[1] then return -1 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nsets, ndels, nev = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local i = 9
local j = i + 2 * nsets
while i < j do
  local e = math.min(i + 1999, j - 1)
  redis.call('HSET', KEYS[2], unpack(ARGV, i, e))
  i = e + 1
end
j = i + ndels
while i < j do
  local e = math.min(i + 999, j - 1)
  redis.call('HDEL', KEYS[2], unpack(ARGV, i, e))
  i = e + 1
end
local added = 0
if nev > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now - tonumber(ARGV[4]))
  ensureGroup(KEYS[5], ARGV[8])
  j = i + 2 * nev
  while i < j do
    if redis.call('ZADD', KEYS[7], 'NX', now, ARGV[i]) == 1 then
      redis.call('XADD', KEYS[5], '*', 'd', ARGV[i], 'p', ARGV[i + 1])
      added = added + 1
    end
    i = i + 2
  end
  redis.call('PEXPIRE', KEYS[7], ARGV[4])
end
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 't', ARGV[3], 'at', now) end
return added
`)

// resetScript deletes cursor and snapshot if the fence is current. KEYS:
// syncKeys.all(). ARGV: fence. Returns 1, or -1 when the fence is stale.
// UNLINK frees a million-entry hash in the background instead of blocking.
var resetScript = redis.NewScript(`
if redis.call('GET', KEYS[4]) ~= ARGV[1] then return -1 end
redis.call('UNLINK', KEYS[1], KEYS[2])
return 1
`)

// acquireScript takes a free lease and hands out the next fencing token in
// one step (a crash cannot leave a lease without its token). The fence is
// max(INCR counter, Redis TIME in microseconds), so a lost counter
// (failover to a lagging replica, FLUSHDB, eviction) never hands out an old
// fence again, as long as the server clock does not go back (store/README.md).
// Microseconds stay below 2^53, exact in Lua's doubles. KEYS: lease, fence
// counter. ARGV: holder, ttl (ms). Returns the fence, or 0 when held.
var acquireScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local f = redis.call('INCR', KEYS[2])
local t = redis.call('TIME')
local us = tonumber(t[1]) * 1000000 + tonumber(t[2])
if us > f then
  f = us
  redis.call('SET', KEYS[2], string.format('%d', f))
end
local fs = string.format('%d', f)
redis.call('SET', KEYS[1], fs .. ':' .. ARGV[1], 'PX', ARGV[2])
return f
`)

// leaseHolderLua defines holderOf(lease key): the holder stored in the
// lease's "<fence>:<holder>" value, or nil.
const leaseHolderLua = `
local function holderOf(k)
  local v = redis.call('GET', k)
  if not v then return nil end
  local c = string.find(v, ':', 1, true)
  return string.sub(v, c + 1)
end
`

// renewScript: KEYS: lease. ARGV: holder, ttl (ms). Returns 1, or 0 when
// holder does not hold the lease.
var renewScript = redis.NewScript(leaseHolderLua + `
if holderOf(KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// releaseScript: KEYS: lease. ARGV: holder. Returns 1, or 0 when holder does
// not hold the lease.
var releaseScript = redis.NewScript(leaseHolderLua + `
if holderOf(KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`)

// GetCursor implements store.SnapshotStore.
func (s *Store) GetCursor(ctx context.Context, key store.SyncKey) (store.Cursor, error) {
	if err := key.Validate(); err != nil {
		return store.Cursor{}, err
	}
	vals, err := s.rdb.HMGet(ctx, s.ks.sync(key).cursor, fCursorToken, fCursorAt).Result()
	if err != nil {
		return store.Cursor{}, wrapErr("cursor of "+key.String(), err)
	}
	tok, ok := vals[0].(string)
	if !ok {
		return store.Cursor{}, fmt.Errorf("cursor of %s: %w", key, store.ErrNotFound)
	}
	c := store.Cursor{Token: tok}
	if at, ok := vals[1].(string); ok {
		if ms, err := strconv.ParseInt(at, 10, 64); err == nil {
			c.UpdatedAt = time.UnixMilli(ms)
		}
	}
	return c, nil
}

// GetOwners implements store.SnapshotStore: one pipeline of HMGETs.
func (s *Store) GetOwners(ctx context.Context, key store.SyncKey, ids []string) (map[string]store.Owner, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	fields, err := store.RecordFields(ids)
	if err != nil {
		return nil, fmt.Errorf("owners of %s: %w", key, err)
	}
	owners := s.ks.sync(key).owners
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, 0, len(fields)/hmgetChunk+1)
	for start := 0; start < len(fields); start += hmgetChunk {
		cmds = append(cmds, pipe.HMGet(ctx, owners, fields[start:min(start+hmgetChunk, len(fields))]...))
	}
	out := make(map[string]store.Owner, len(ids))
	if len(cmds) == 0 {
		return out, nil
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, wrapErr("owners of "+key.String(), err)
	}
	for c, cmd := range cmds {
		for i, v := range cmd.Val() {
			enc, ok := v.(string)
			if !ok {
				continue
			}
			o, err := store.DecodeOwner(enc)
			if err != nil {
				return nil, fmt.Errorf("owners of %s: record %s: %w", key, ids[c*hmgetChunk+i], err)
			}
			out[ids[c*hmgetChunk+i]] = o
		}
	}
	return out, nil
}

// SnapshotSize implements store.SnapshotStore.
func (s *Store) SnapshotSize(ctx context.Context, key store.SyncKey) (int64, error) {
	if err := key.Validate(); err != nil {
		return 0, err
	}
	n, err := s.rdb.HLen(ctx, s.ks.sync(key).owners).Result()
	return n, wrapErr("snapshot size of "+key.String(), err)
}

// ResetSync implements store.SnapshotStore.
func (s *Store) ResetSync(ctx context.Context, key store.SyncKey, fence int64) error {
	if err := key.Validate(); err != nil {
		return err
	}
	r, err := resetScript.Run(ctx, s.rdb, s.ks.sync(key).all(), fence).Int64()
	if err != nil {
		return wrapErr("reset sync of "+key.String(), err)
	}
	if r < 0 {
		return fmt.Errorf("reset sync of %s with fence %d: %w", key, fence, store.ErrStaleFence)
	}
	return nil
}

// CommitSync implements store.Committer: one EVALSHA per page.
func (s *Store) CommitSync(ctx context.Context, key store.SyncKey, fence int64, c store.Commit) (int, error) {
	args, err := commitArgs(key, fence, c, s.opts)
	if err != nil {
		return 0, err
	}
	n, err := commitScript.Run(ctx, s.rdb, s.ks.sync(key).all(), args...).Int64()
	if err != nil {
		return 0, wrapErr("commit sync of "+key.String(), err)
	}
	if n < 0 {
		return 0, fmt.Errorf("commit sync of %s with fence %d: %w", key, fence, store.ErrStaleFence)
	}
	return int(n), nil
}

// commitArgs validates c and lays it out as commitScript's ARGV.
func commitArgs(key store.SyncKey, fence int64, c store.Commit, o syncOptions) ([]any, error) {
	if err := key.Validate(); err != nil {
		return nil, err
	}
	if err := store.CheckCommitSize(c); err != nil {
		return nil, fmt.Errorf("commit sync of %s: %w", key, err)
	}
	setCursor, token := "0", ""
	if c.Cursor != nil {
		setCursor, token = "1", c.Cursor.Token
	}
	args := make([]any, 0, 8+2*len(c.Sets)+len(c.Deletes)+2*len(c.Events))
	args = append(args, fence, setCursor, token, o.dedupeWindow.Milliseconds(),
		len(c.Sets), len(c.Deletes), len(c.Events), outboxGroup)
	for id, owner := range c.Sets {
		f, err := store.RecordField(id)
		if err != nil {
			return nil, fmt.Errorf("commit sync of %s: %w", key, err)
		}
		v, err := store.EncodeOwner(owner)
		if err != nil {
			return nil, fmt.Errorf("commit sync of %s: record %s: %w", key, id, err)
		}
		args = append(args, f, v)
	}
	for _, id := range c.Deletes {
		f, err := store.RecordField(id)
		if err != nil {
			return nil, fmt.Errorf("commit sync of %s: %w", key, err)
		}
		args = append(args, f)
	}
	for _, e := range c.Events {
		if e.DedupeKey == "" {
			return nil, fmt.Errorf("commit sync of %s: %w: event without a dedupe key", key, store.ErrInvalid)
		}
		args = append(args, e.DedupeKey, e.Payload)
	}
	return args, nil
}

// AcquireLease implements store.LeaseStore.
func (s *Store) AcquireLease(ctx context.Context, key store.SyncKey, holder string, ttl time.Duration) (int64, bool, error) {
	if err := errors.Join(key.Validate(), store.CheckHolder(holder), store.CheckTTL(ttl)); err != nil {
		return 0, false, fmt.Errorf("acquire lease: %w", err)
	}
	k := s.ks.sync(key)
	f, err := acquireScript.Run(ctx, s.rdb, []string{k.lease, k.fence}, holder, ttl.Milliseconds()).Int64()
	if err != nil {
		return 0, false, wrapErr("acquire lease of "+key.String(), err)
	}
	return f, f > 0, nil
}

// RenewLease implements store.LeaseStore.
func (s *Store) RenewLease(ctx context.Context, key store.SyncKey, holder string, ttl time.Duration) error {
	if err := errors.Join(key.Validate(), store.CheckHolder(holder), store.CheckTTL(ttl)); err != nil {
		return fmt.Errorf("renew lease: %w", err)
	}
	return s.holderStep(ctx, "renew", renewScript, key, holder, ttl.Milliseconds())
}

// ReleaseLease implements store.LeaseStore.
func (s *Store) ReleaseLease(ctx context.Context, key store.SyncKey, holder string) error {
	if err := errors.Join(key.Validate(), store.CheckHolder(holder)); err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	return s.holderStep(ctx, "release", releaseScript, key, holder)
}

func (s *Store) holderStep(ctx context.Context, op string, script *redis.Script, key store.SyncKey, args ...any) error {
	ok, err := script.Run(ctx, s.rdb, []string{s.ks.sync(key).lease}, args...).Int64()
	if err != nil {
		return wrapErr(op+" lease of "+key.String(), err)
	}
	if ok != 1 {
		return fmt.Errorf("%s lease of %s: %w", op, key, store.ErrLeaseLost)
	}
	return nil
}
