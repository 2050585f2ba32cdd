package redisstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
)

// outboxGroup is the consumer group of every outbox stream.
const outboxGroup = "delivery"

// deadMaxLen caps each dead-letter stream (approximately, MAXLEN ~): an
// outage that kills every delivery cannot grow it without bound.
const deadMaxLen = store.MaxDeadLetters

// syncOptions are the outbox settings both Lua and Go need.
type syncOptions struct {
	maxAttempts  int
	dedupeWindow time.Duration
}

func newSyncOptions(maxAttempts int, window time.Duration) (syncOptions, error) {
	if maxAttempts < 0 || window < 0 {
		return syncOptions{}, fmt.Errorf("%w: negative MaxAttempts or DedupeWindow", store.ErrInvalid)
	}
	if maxAttempts == 0 {
		maxAttempts = store.DefaultMaxAttempts
	}
	if window == 0 {
		window = store.DefaultDedupeWindow
	}
	return syncOptions{maxAttempts: maxAttempts, dedupeWindow: window}, nil
}

// ensureGroupLua defines ensureGroup(stream, group): creates the stream and
// its group (from the start: entries added before it are delivered too).
const ensureGroupLua = `
local function ensureGroup(k, g)
  if redis.call('EXISTS', k) == 0 then redis.call('XGROUP', 'CREATE', k, g, '0', 'MKSTREAM') end
end
`

// deadLetterLua defines bury(outbox, dead, reasons, group, id, attempts,
// reason): moves a pending entry to the dead letters (fields id, d, p, n,
// r, at) and drops it from the outbox, atomically.
const deadLetterLua = `
local function bury(ob, dead, reasons, g, id, n, why)
  local e = redis.call('XRANGE', ob, id, id)
  if #e > 0 then
    local f = e[1][2]
    local d, p = '', ''
    for x = 1, #f, 2 do
      if f[x] == 'd' then d = f[x + 1] elseif f[x] == 'p' then p = f[x + 1] end
    end
    local t = redis.call('TIME')
    redis.call('XADD', dead, 'MAXLEN', '~', ` + "'" + `DEADMAX` + "'" + `, '*', 'id', id, 'd', d, 'p', p, 'n', n, 'r', why,
      'at', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
  end
  redis.call('XACK', ob, g, id)
  redis.call('XDEL', ob, id)
  redis.call('HDEL', reasons, id)
end
`

// outbox script KEYS are always: outbox, dead, enq, reason (see outboxKeys).
func (k syncKeys) outboxKeys() []string { return []string{k.outbox, k.dead, k.enq, k.reason} }

// ackScript: ARGV: group, ids…. An entry is deleted from the stream only
// when XACK acknowledged it (it was pending in the group), so the stream
// holds undelivered work and an id never read — or a stale, foreign or
// repeated one — cannot delete an unread entry. Returns how many it acked.
var ackScript = redis.NewScript(`
local n = 0
for i = 2, #ARGV do
  if redis.call('XACK', KEYS[1], ARGV[1], ARGV[i]) == 1 then
    redis.call('XDEL', KEYS[1], ARGV[i])
    redis.call('HDEL', KEYS[4], ARGV[i])
    n = n + 1
  end
end
return n
`)

// ackChunk bounds the ids of one ackScript call, so a huge ack does not
// hold Redis in one script.
const ackChunk = 1000

// claimScript takes the pending entries that are due, oldest first, and
// buries those past max attempts instead of returning them. An entry
// delivered n times is due once idle for min-idle × 2^(n−1), capped at
// min-idle × 2^doublings (store.ClaimBackoff), so XAUTOCLAIM, which takes
// everything idle for min-idle, cannot be used: the script lists the
// candidates with XPENDING … IDLE min-idle (Redis skips the entries idle
// for less, live workers' and heartbeated ones, without handing them to
// Lua), with their idle time and delivery count, and XCLAIMs only the due
// ones (a delivery more); the others are left as they are, their count
// unchanged. It pages through the pending entries list from its start (an
// exclusive range after the last id seen) until it has count entries, the
// list is exhausted, or rounds pages of batch candidates were looked at:
// due entries behind many backing-off ones are still found, and one
// script never scans without bound. An entry XDEL'd meanwhile (XCLAIM
// returns nothing for it, or nil fields before Redis 7) is skipped.
// ARGV: group, consumer, min-idle (ms), count, max attempts, rounds,
// batch, doublings. Returns {id, fields, deliveries} triples.
var claimScript = redis.NewScript(withDeadMax(deadLetterLua) + `
local max, want, rounds = tonumber(ARGV[5]), tonumber(ARGV[4]), tonumber(ARGV[6])
local idle, batch, doublings = tonumber(ARGV[3]), tonumber(ARGV[7]), tonumber(ARGV[8])
local out = {}
local start = '-'
for _ = 1, rounds do
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', idle, start, '+', batch)
  for _, c in ipairs(p) do
    local id, n = c[1], c[4]
    local due = idle * 2 ^ math.min(math.max(n - 1, 0), doublings)
    if c[3] >= due then
      if n >= max then
        local why = redis.call('HGET', KEYS[4], id) or ('abandoned: no ack after ' .. max .. ' deliveries')
        bury(KEYS[1], KEYS[2], KEYS[4], ARGV[1], id, n, why)
      else
        local r = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], string.format('%d', due), id)
        local e = r[1]
        if e and e[2] then
          table.insert(out, {id, e[2], n + 1})
          if #out >= want then break end
        end
      end
    end
  end
  if #out >= want or #p < batch then break end
  start = '(' .. p[#p][1]
end
return out
`)

// claimScanRounds and claimScanBatch bound the scan of one claim: up to
// claimScanRounds XPENDING pages of max(min(count, claimScanBatch) × 10,
// claimScanBatch) candidates each (entries idle for at least min-idle;
// Redis passes over the others itself, in one pass over the pending list
// at most).
const (
	claimScanRounds = 100
	claimScanBatch  = 100
)

// maxClaimIdle bounds min-idle (ms) so min-idle × 2^MaxBackoffDoublings
// stays an integer Lua prints exactly (%d of a double): 2^40 ms ≈ 35 years.
const maxClaimIdle = int64(1) << 40

// failScript records a failed delivery; at max attempts it buries the entry.
// ARGV: group, id, reason, max attempts. Returns 0 (kept pending), 1
// (buried) or -1 (not pending).
var failScript = redis.NewScript(withDeadMax(deadLetterLua) + `
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 then return -1 end
local n = p[1][4]
if n < tonumber(ARGV[4]) then
  redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
  return 0
end
bury(KEYS[1], KEYS[2], KEYS[4], ARGV[1], ARGV[2], n, ARGV[3])
return 1
`)

// retryScript moves a dead letter back into the outbox as a new entry.
// ARGV: group, dead-letter id. Returns the new entry id, or false when the
// dead letter is unknown.
var retryScript = redis.NewScript(ensureGroupLua + `
local e = redis.call('XRANGE', KEYS[2], ARGV[2], ARGV[2])
if #e == 0 then return false end
local f = e[1][2]
local d, p = '', ''
for x = 1, #f, 2 do
  if f[x] == 'd' then d = f[x + 1] elseif f[x] == 'p' then p = f[x + 1] end
end
ensureGroup(KEYS[1], ARGV[1])
local id = redis.call('XADD', KEYS[1], '*', 'd', d, 'p', p)
redis.call('XDEL', KEYS[2], ARGV[2])
return id
`)

func withDeadMax(lua string) string {
	return strings.ReplaceAll(lua, "'DEADMAX'", strconv.Itoa(deadMaxLen))
}

// streamID matches a Redis stream entry id, so junk never reaches a script.
var streamID = regexp.MustCompile(`^[0-9]{1,20}-[0-9]{1,20}$`)

// ReadOutbox implements store.Outbox (XREADGROUP … >).
func (s *Store) ReadOutbox(ctx context.Context, key store.SyncKey, consumer string, count int, block time.Duration) ([]store.OutboxEntry, error) {
	if err := errors.Join(key.Validate(), store.CheckConsumer(consumer, count)); err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	k := s.ks.sync(key)
	args := &redis.XReadGroupArgs{Group: outboxGroup, Consumer: consumer, Streams: []string{k.outbox, ">"}, Count: int64(count), Block: -1}
	if block > 0 {
		args.Block = max(block, time.Millisecond) // BLOCK 0 would wait forever
	}
	for range 2 {
		res, err := s.rdb.XReadGroup(ctx, args).Result()
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if err != nil && strings.HasPrefix(err.Error(), "NOGROUP") {
			// Nothing was ever committed here: make the group, read again.
			err = s.rdb.XGroupCreateMkStream(ctx, k.outbox, outboxGroup, "0").Err()
			if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
				return nil, wrapErr("read outbox of "+key.String(), err)
			}
			continue
		}
		if err != nil {
			return nil, wrapErr("read outbox of "+key.String(), err)
		}
		var out []store.OutboxEntry
		for _, st := range res {
			for _, m := range st.Messages {
				out = append(out, entryOf(m.ID, m.Values, 1))
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("read outbox of %s: consumer group vanished", key)
}

func entryOf(id string, values map[string]any, attempts int64) store.OutboxEntry {
	d, _ := values["d"].(string)
	p, _ := values["p"].(string)
	return store.OutboxEntry{ID: id, DedupeKey: d, Payload: []byte(p), Attempts: attempts}
}

// AckOutbox implements store.Outbox (XACK + XDEL), in chunks of ackChunk
// ids (each chunk atomic).
func (s *Store) AckOutbox(ctx context.Context, key store.SyncKey, ids ...string) error {
	if err := key.Validate(); err != nil {
		return fmt.Errorf("ack outbox: %w", err)
	}
	valid := make([]any, 0, len(ids))
	for _, id := range ids {
		if streamID.MatchString(id) {
			valid = append(valid, id)
		}
	}
	keys := s.ks.sync(key).outboxKeys()
	for start := 0; start < len(valid); start += ackChunk {
		args := append([]any{outboxGroup}, valid[start:min(start+ackChunk, len(valid))]...)
		if err := ackScript.Run(ctx, s.rdb, keys, args...).Err(); err != nil {
			if strings.HasPrefix(err.Error(), "NOGROUP") {
				return nil // nothing was ever committed here
			}
			return wrapErr("ack outbox of "+key.String(), err)
		}
	}
	return nil
}

// ClaimOutbox implements store.Outbox (XPENDING IDLE + XCLAIM of the due
// entries, see claimScript).
func (s *Store) ClaimOutbox(ctx context.Context, key store.SyncKey, consumer string, minIdle time.Duration, count int) ([]store.OutboxEntry, error) {
	if err := errors.Join(key.Validate(), store.CheckConsumer(consumer, count)); err != nil {
		return nil, fmt.Errorf("claim outbox: %w", err)
	}
	idle := min(max(minIdle, 0).Milliseconds(), maxClaimIdle)
	res, err := claimScript.Run(ctx, s.rdb, s.ks.sync(key).outboxKeys(),
		outboxGroup, consumer, idle, count, s.opts.maxAttempts, claimScanRounds,
		max(min(count, claimScanBatch)*10, claimScanBatch), store.MaxBackoffDoublings).Slice()
	if err != nil {
		if strings.HasPrefix(err.Error(), "NOGROUP") {
			return nil, nil // nothing was ever committed here
		}
		return nil, wrapErr("claim outbox of "+key.String(), err)
	}
	out := make([]store.OutboxEntry, 0, len(res))
	for _, r := range res {
		triple, ok := r.([]any)
		if !ok || len(triple) != 3 {
			return nil, fmt.Errorf("claim outbox of %s: unexpected reply %T", key, r)
		}
		id, _ := triple[0].(string)
		flat, _ := triple[1].([]any)
		n, _ := triple[2].(int64)
		values := make(map[string]any, len(flat)/2)
		for i := 0; i+1 < len(flat); i += 2 {
			if f, ok := flat[i].(string); ok {
				values[f] = flat[i+1]
			}
		}
		out = append(out, entryOf(id, values, n))
	}
	return out, nil
}

// FailOutbox implements store.Outbox.
func (s *Store) FailOutbox(ctx context.Context, key store.SyncKey, id, reason string) (bool, error) {
	if err := key.Validate(); err != nil {
		return false, fmt.Errorf("fail outbox entry: %w", err)
	}
	if !streamID.MatchString(id) {
		return false, fmt.Errorf("fail outbox entry %q: %w", id, store.ErrNotFound)
	}
	r, err := failScript.Run(ctx, s.rdb, s.ks.sync(key).outboxKeys(), outboxGroup, id, reason, s.opts.maxAttempts).Int64()
	if err != nil {
		if strings.HasPrefix(err.Error(), "NOGROUP") {
			return false, fmt.Errorf("fail outbox entry %s: %w", id, store.ErrNotFound)
		}
		return false, wrapErr("fail outbox entry of "+key.String(), err)
	}
	if r < 0 {
		return false, fmt.Errorf("fail outbox entry %s: %w", id, store.ErrNotFound)
	}
	return r == 1, nil
}

// ListDead implements store.Outbox (XRANGE on the dead-letter stream).
func (s *Store) ListDead(ctx context.Context, key store.SyncKey, count int) ([]store.DeadLetter, error) {
	if err := errors.Join(key.Validate(), store.CheckConsumer("list", count)); err != nil {
		return nil, fmt.Errorf("list dead letters: %w", err)
	}
	msgs, err := s.rdb.XRangeN(ctx, s.ks.sync(key).dead, "-", "+", int64(count)).Result()
	if err != nil {
		return nil, wrapErr("list dead letters of "+key.String(), err)
	}
	out := make([]store.DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		str := func(f string) string { v, _ := m.Values[f].(string); return v }
		n, _ := strconv.ParseInt(str("n"), 10, 64)
		at, _ := strconv.ParseInt(str("at"), 10, 64)
		out = append(out, store.DeadLetter{
			ID: m.ID, EntryID: str("id"), DedupeKey: str("d"), Payload: []byte(str("p")),
			Attempts: n, Reason: str("r"), DiedAt: time.UnixMilli(at),
		})
	}
	return out, nil
}

// RetryDead implements store.Outbox.
func (s *Store) RetryDead(ctx context.Context, key store.SyncKey, deadID string) (string, error) {
	if err := key.Validate(); err != nil {
		return "", fmt.Errorf("retry dead letter: %w", err)
	}
	if !streamID.MatchString(deadID) {
		return "", fmt.Errorf("retry dead letter %q: %w", deadID, store.ErrNotFound)
	}
	id, err := retryScript.Run(ctx, s.rdb, s.ks.sync(key).outboxKeys(), outboxGroup, deadID).Text()
	if err != nil {
		if errors.Is(err, redis.Nil) {
			return "", fmt.Errorf("retry dead letter %s: %w", deadID, store.ErrNotFound)
		}
		return "", wrapErr("retry dead letter of "+key.String(), err)
	}
	return id, nil
}

// TouchOutbox implements store.Outbox: XCLAIM … 0 <ids> JUSTID restarts the
// entries' idle time without counting a delivery; ids no longer pending are
// skipped by Redis.
func (s *Store) TouchOutbox(ctx context.Context, key store.SyncKey, consumer string, ids ...string) error {
	if err := errors.Join(key.Validate(), store.CheckConsumer(consumer, 1)); err != nil {
		return fmt.Errorf("touch outbox: %w", err)
	}
	if len(ids) == 0 {
		return nil
	}
	err := s.rdb.XClaimJustID(ctx, &redis.XClaimArgs{Stream: s.ks.sync(key).outbox, Group: outboxGroup,
		Consumer: consumer, MinIdle: 0, Messages: ids}).Err()
	if err != nil && !strings.HasPrefix(err.Error(), "NOGROUP") {
		return wrapErr("touch outbox of "+key.String(), err)
	}
	return nil
}
