package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
)

// LinkCounts implements store.Stats by walking the link hashes: no counter
// is kept, so nothing can drift (relinks, deletes of missing links, broken
// and unbroken links, data written by older versions). The platform is in
// the key name; each SCAN reply (up to linkScanCount keys) costs one
// pipeline of HMGET sysuser broken, so a key deleted since the SCAN is not
// counted. The answer is not a point-in-time snapshot: a link written during
// the walk may or may not be counted. 100k links: ~0.25 s on loopback
// (store/README.md).
func (s *Store) LinkCounts(ctx context.Context) (map[string]store.LinkCount, error) {
	out := map[string]store.LinkCount{}
	err := s.linkKeyBatches(ctx, "count links", func(keys []string) error {
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.SliceCmd, len(keys))
		for i, k := range keys {
			cmds[i] = pipe.HMGet(ctx, k, fSystemUser, fBroken)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return wrapErr("count links", err)
		}
		for i, cmd := range cmds {
			v := cmd.Val()
			if len(v) != 2 || v[0] == nil {
				continue // unlinked since the SCAN
			}
			u, err := s.ks.linkUser(keys[i])
			if err != nil {
				return fmt.Errorf("count links: %w", err)
			}
			c := out[u.Platform]
			c.Linked++
			if b, _ := v[1].(string); b == "1" {
				c.Broken++
			}
			out[u.Platform] = c
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// outboxStatsScript reads an outbox in one step. KEYS: outbox, dead. ARGV:
// group. Returns {length, pending, dead letters, first entry id or ""}.
// Acked and dead-lettered entries are XDELeted, so the stream's length is
// the number of entries not yet acked, and its first entry the oldest of
// them.
var outboxStatsScript = redis.NewScript(`
local depth = redis.call('XLEN', KEYS[1])
local pending = 0
if depth > 0 then
  local p = redis.pcall('XPENDING', KEYS[1], ARGV[1])
  if type(p) == 'table' and not p.err then pending = p[1] end
end
local first = ''
local e = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
if #e > 0 then first = e[1][1] end
return {depth, pending, redis.call('XLEN', KEYS[2]), first}
`)

// OutboxStats implements store.Stats (one script: XLEN, XPENDING summary,
// XLEN of the dead letters, XRANGE COUNT 1). Oldest is the first entry id's
// millisecond timestamp (Redis's clock at XADD).
func (s *Store) OutboxStats(ctx context.Context, key store.SyncKey) (store.OutboxStats, error) {
	if err := key.Validate(); err != nil {
		return store.OutboxStats{}, fmt.Errorf("outbox stats: %w", err)
	}
	k := s.ks.sync(key)
	res, err := outboxStatsScript.Run(ctx, s.rdb, []string{k.outbox, k.dead}, outboxGroup).Slice()
	if err != nil {
		return store.OutboxStats{}, wrapErr("outbox stats of "+key.String(), err)
	}
	if len(res) != 4 {
		return store.OutboxStats{}, fmt.Errorf("outbox stats of %s: unexpected reply %v", key, res)
	}
	depth, _ := res[0].(int64)
	pending, _ := res[1].(int64)
	dead, _ := res[2].(int64)
	out := store.OutboxStats{Depth: depth, Pending: pending, Dead: dead}
	if first, _ := res[3].(string); first != "" {
		msPart, _, _ := strings.Cut(first, "-")
		ms, err := strconv.ParseInt(msPart, 10, 64)
		if err != nil {
			return store.OutboxStats{}, fmt.Errorf("outbox stats of %s: entry id %q: %w", key, first, err)
		}
		out.Oldest = time.UnixMilli(ms)
	}
	return out, nil
}

// leaseInfoScript: KEYS: lease. Returns {"<fence>:<holder>", PTTL}, or nil
// when free. One step, so the value and its TTL belong together.
var leaseInfoScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then return false end
return {v, redis.call('PTTL', KEYS[1])}
`)

// Lease implements store.Stats: the lease value and its PTTL; Expires is
// this process's clock plus the PTTL.
func (s *Store) Lease(ctx context.Context, key store.SyncKey) (store.LeaseInfo, error) {
	if err := key.Validate(); err != nil {
		return store.LeaseInfo{}, fmt.Errorf("lease info: %w", err)
	}
	now := time.Now()
	res, err := leaseInfoScript.Run(ctx, s.rdb, []string{s.ks.sync(key).lease}).Slice()
	if errors.Is(err, redis.Nil) {
		return store.LeaseInfo{}, nil
	}
	if err != nil {
		return store.LeaseInfo{}, wrapErr("lease info of "+key.String(), err)
	}
	if len(res) != 2 {
		return store.LeaseInfo{}, fmt.Errorf("lease info of %s: unexpected reply %v", key, res)
	}
	v, _ := res[0].(string)
	pttl, _ := res[1].(int64)
	fs, holder, ok := strings.Cut(v, ":")
	fence, err := strconv.ParseInt(fs, 10, 64)
	if !ok || err != nil {
		return store.LeaseInfo{}, fmt.Errorf("lease info of %s: malformed lease value", key)
	}
	info := store.LeaseInfo{Holder: holder, Fence: fence}
	if pttl > 0 {
		info.Expires = now.Add(time.Duration(pttl) * time.Millisecond)
	}
	return info, nil
}
