package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
)

// Fields of a link hash.
const (
	fSystemUser   = "sysuser"
	fEntraTenant  = "tid"
	fEntraObject  = "oid"
	fUPN          = "upn"
	fEmail        = "email"
	fName         = "name"
	fLocale       = "locale"
	fLinkedAt     = "linked_at"     // unix milliseconds
	fBroken       = "broken"        // "1" when broken
	fBrokenReason = "broken_reason" // never a token
	fVersion      = "ver"
	fRefresh      = "rt"     // sealed refresh token
	fAccess       = "at"     // sealed access token
	fAccessExpiry = "at_exp" // unix milliseconds
)

// casRetries bounds the retries of a link step whose precondition moved
// under it (a concurrent relink).
const casRetries = 16

// putScript replaces a link and moves its reverse-index entry, if the link's
// systemuserid is still the one the caller read. KEYS: link, version counter,
// new systemuserid's set, old systemuserid's set. ARGV: old systemuserid ("" =
// no link), member, then field/value pairs. Returns the new version, or -3
// when the link changed meanwhile.
var putScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'sysuser') or ''
if cur ~= ARGV[1] then return -3 end
local v = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
if cur ~= '' then redis.call('SREM', KEYS[4], ARGV[2]) end
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('HSET', KEYS[1], 'ver', v, unpack(ARGV, 3))
return v
`)

// deleteScript removes a link and its reverse-index entry, if the link's
// systemuserid is still the one the caller read. KEYS: link, its
// systemuserid's set. ARGV: systemuserid, member. Returns 1, or -3 when the
// link changed meanwhile.
var deleteScript = redis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'sysuser') or ''
if cur ~= ARGV[1] then return -3 end
if cur ~= '' then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[2])
end
return 1
`)

// swapScript writes sealed tokens if the link is intact and still at the
// expected version. KEYS: link, version counter. ARGV: expected version, "1"
// to take a new version (else keep it: a re-encryption changes no token),
// then field/value pairs. Returns the version, or -1 missing, -2 broken,
// -3 version moved.
var swapScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HGET', KEYS[1], 'broken') == '1' then return -2 end
if redis.call('HGET', KEYS[1], 'ver') ~= ARGV[1] then return -3 end
local v = tonumber(ARGV[1])
if ARGV[2] == '1' then v = redis.call('INCR', KEYS[2]) end
redis.call('HDEL', KEYS[1], 'at', 'at_exp')
redis.call('HSET', KEYS[1], 'ver', v, unpack(ARGV, 3))
return v
`)

// breakScript flags a link broken and drops its tokens. KEYS: link, version
// counter. ARGV: reason, expected version or "" for any. Returns 1 when this
// call broke it, 0 when it was broken already (or moved on), -1 missing.
var breakScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HGET', KEYS[1], 'broken') == '1' then return 0 end
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'ver') ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], 'rt', 'at', 'at_exp')
redis.call('HSET', KEYS[1], 'broken', '1', 'broken_reason', ARGV[1], 'ver', redis.call('INCR', KEYS[2]))
return 1
`)

// GetLink implements store.LinkStore.
func (s *Store) GetLink(ctx context.Context, u store.ChatUser) (store.Link, error) {
	l, _, err := s.readLink(ctx, u)
	return l, err
}

// readLink reads a link hash: the link and its sealed tokens.
func (s *Store) readLink(ctx context.Context, u store.ChatUser) (store.Link, store.SealedTokens, error) {
	h, err := s.rdb.HGetAll(ctx, s.ks.link(u)).Result()
	if err != nil {
		return store.Link{}, store.SealedTokens{}, wrapErr("link of "+u.String(), err)
	}
	if len(h) == 0 {
		return store.Link{}, store.SealedTokens{}, fmt.Errorf("link of %s: %w", u, store.ErrNotFound)
	}
	ver, err := strconv.ParseInt(h[fVersion], 10, 64)
	if err != nil {
		return store.Link{}, store.SealedTokens{}, fmt.Errorf("link of %s: bad version: %w", u, err)
	}
	l := store.Link{
		ChatUser: u, SystemUserID: h[fSystemUser], EntraTenantID: h[fEntraTenant], EntraObjectID: h[fEntraObject],
		UPN: h[fUPN], Email: h[fEmail], DisplayName: h[fName], Locale: h[fLocale], LinkedAt: millis(h[fLinkedAt]),
		Broken: h[fBroken] == "1", BrokenReason: h[fBrokenReason], Version: ver,
	}
	st := store.SealedTokens{Refresh: h[fRefresh], Access: h[fAccess], AccessExpiry: millis(h[fAccessExpiry])}
	return l, st, nil
}

func millis(s string) time.Time {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func unixMilli(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// tokenFields are the hash fields of sealed tokens.
func tokenFields(st store.SealedTokens) []any {
	f := []any{fRefresh, st.Refresh}
	if st.Access != "" {
		f = append(f, fAccess, st.Access, fAccessExpiry, unixMilli(st.AccessExpiry))
	}
	return f
}

// LinkedUsers implements store.LinkStore.
func (s *Store) LinkedUsers(ctx context.Context, systemUserID string) ([]store.ChatUser, error) {
	ms, err := s.rdb.SMembers(ctx, s.ks.linkedUsers(systemUserID)).Result()
	if err != nil {
		return nil, wrapErr("users linked to "+systemUserID, err)
	}
	out := make([]store.ChatUser, 0, len(ms))
	for _, m := range ms {
		u, err := parseMember(m)
		if err != nil {
			return nil, fmt.Errorf("users linked to %s: %w", systemUserID, err)
		}
		out = append(out, u)
	}
	return out, nil
}

// PutLink implements store.LinkStore: one script replaces the hash, moves
// the reverse-index entry and takes a new version.
func (s *Store) PutLink(ctx context.Context, l store.Link, t store.Tokens) (int64, error) {
	l, sealed, err := s.keys.PrepareLink(l, t, time.Now())
	if err != nil {
		return 0, err
	}
	u := l.ChatUser
	fields := append([]any{
		fSystemUser, l.SystemUserID, fEntraTenant, l.EntraTenantID, fEntraObject, l.EntraObjectID,
		fUPN, l.UPN, fEmail, l.Email, fName, l.DisplayName, fLocale, l.Locale, fLinkedAt, unixMilli(l.LinkedAt),
	}, tokenFields(sealed)...)
	key, m := s.ks.link(u), member(u)
	for range casRetries {
		old, err := s.rdb.HGet(ctx, key, fSystemUser).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			return 0, wrapErr("put link of "+u.String(), err)
		}
		keys := []string{key, s.ks.versionSeq(), s.ks.linkedUsers(l.SystemUserID), s.ks.linkedUsers(old)}
		v, err := putScript.Run(ctx, s.rdb, keys, append([]any{old, m}, fields...)...).Int64()
		if err != nil {
			return 0, wrapErr("put link of "+u.String(), err)
		}
		if v > 0 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("put link of %s: %w: relinked concurrently too often", u, store.ErrConflict)
}

// DeleteLink implements store.LinkStore.
func (s *Store) DeleteLink(ctx context.Context, u store.ChatUser) error {
	key, m := s.ks.link(u), member(u)
	for range casRetries {
		old, err := s.rdb.HGet(ctx, key, fSystemUser).Result()
		if errors.Is(err, redis.Nil) {
			return nil
		}
		if err != nil {
			return wrapErr("delete link of "+u.String(), err)
		}
		v, err := deleteScript.Run(ctx, s.rdb, []string{key, s.ks.linkedUsers(old)}, old, m).Int64()
		if err != nil {
			return wrapErr("delete link of "+u.String(), err)
		}
		if v > 0 {
			return nil
		}
	}
	return fmt.Errorf("delete link of %s: %w: relinked concurrently too often", u, store.ErrConflict)
}

// Tokens implements store.LinkStore.
func (s *Store) Tokens(ctx context.Context, u store.ChatUser) (store.Tokens, error) {
	l, sealed, err := s.readLink(ctx, u)
	if err != nil {
		return store.Tokens{}, fmt.Errorf("tokens: %w", err)
	}
	if l.Broken {
		return store.Tokens{}, store.BrokenError(u, l.BrokenReason, nil)
	}
	t, err := s.keys.OpenTokens(u, sealed, l.Version)
	if err != nil {
		if _, merr := s.markBroken(ctx, u, store.BrokenReasonFor(err), l.Version); merr != nil {
			return store.Tokens{}, fmt.Errorf("%w (and marking it broken failed: %v)", store.BrokenError(u, "", err), merr)
		}
		return store.Tokens{}, store.BrokenError(u, "", err)
	}
	return t, nil
}

// SwapTokens implements store.LinkStore (a Lua compare-and-swap on the
// version).
func (s *Store) SwapTokens(ctx context.Context, u store.ChatUser, t store.Tokens) (int64, error) {
	sealed, err := s.keys.SealTokens(u, t)
	if err != nil {
		return 0, fmt.Errorf("swap tokens: %w", err)
	}
	return s.swap(ctx, u, t.Version, true, sealed)
}

func (s *Store) swap(ctx context.Context, u store.ChatUser, version int64, bump bool, sealed store.SealedTokens) (int64, error) {
	flag := "0"
	if bump {
		flag = "1"
	}
	args := append([]any{strconv.FormatInt(version, 10), flag}, tokenFields(sealed)...)
	v, err := swapScript.Run(ctx, s.rdb, []string{s.ks.link(u), s.ks.versionSeq()}, args...).Int64()
	switch {
	case err != nil:
		return 0, wrapErr("swap tokens of "+u.String(), err)
	case v == -1:
		return 0, fmt.Errorf("swap tokens of %s: %w", u, store.ErrNotFound)
	case v == -2:
		return 0, fmt.Errorf("swap tokens: %w", store.BrokenError(u, "broken meanwhile", nil))
	case v == -3:
		return 0, fmt.Errorf("swap tokens of %s at version %d: %w", u, version, store.ErrConflict)
	}
	return v, nil
}

// MarkBroken implements store.LinkStore.
func (s *Store) MarkBroken(ctx context.Context, u store.ChatUser, reason string) (bool, error) {
	return s.markBroken(ctx, u, reason, 0)
}

// markBroken breaks u's link if its version is still version (0: any), so a
// decryption failure of a link read before a relink leaves the new link be.
func (s *Store) markBroken(ctx context.Context, u store.ChatUser, reason string, version int64) (bool, error) {
	expect := ""
	if version != 0 {
		expect = strconv.FormatInt(version, 10)
	}
	v, err := breakScript.Run(ctx, s.rdb, []string{s.ks.link(u), s.ks.versionSeq()}, reason, expect).Int64()
	switch {
	case err != nil:
		return false, wrapErr("mark link of "+u.String()+" broken", err)
	case v == -1:
		return false, fmt.Errorf("mark link of %s broken: %w", u, store.ErrNotFound)
	}
	return v == 1, nil
}

// RotateKeys implements store.KeyRotator: SCAN the link hashes, re-seal each
// with the current key, and write it back only if its version did not move
// (a concurrent refresh wins; that link is then re-read). On a cluster SCAN
// sees one node only, so every master is scanned (linkKeys).
func (s *Store) RotateKeys(ctx context.Context) (store.RotateReport, error) {
	var rep store.RotateReport
	err := s.linkKeys(ctx, func(key string) error {
		u, err := s.ks.linkUser(key)
		if err != nil {
			return fmt.Errorf("rotate keys: %w", err)
		}
		res, err := s.rotateLink(ctx, u)
		if err != nil {
			return fmt.Errorf("rotate keys: %w", err)
		}
		switch res {
		case rotSkipped:
			return nil
		case rotRewritten:
			rep.Rewritten++
		case rotBroken:
			rep.Broken++
		}
		rep.Links++
		return nil
	})
	return rep, err
}

// linkScanCount is the COUNT hint of the link SCANs.
const linkScanCount = 1000

// linkKeys calls fn with the key of every link hash, one call at a time,
// and stops at fn's first error (returned as is). See linkKeyBatches.
func (s *Store) linkKeys(ctx context.Context, fn func(key string) error) error {
	return s.linkKeyBatches(ctx, "rotate keys", func(keys []string) error {
		for _, k := range keys {
			if err := fn(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// linkKeyBatches calls fn with the link hash keys of each SCAN reply, one
// call at a time, each key once, and stops at fn's first error (returned as
// is; a scan error is wrapped with op). On a single Redis it follows one
// SCAN. On a cluster it SCANs every master (all link keys share the {links}
// slot, but while that slot migrates its keys sit on two masters). SCAN may
// return a key twice: keys already seen are skipped. A resharding that moves
// the {links} slot during the scan can hide a key from both scans (SCAN
// only promises keys present throughout): rotate again after resharding.
func (s *Store) linkKeyBatches(ctx context.Context, op string, fn func(keys []string) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		seen     = map[string]struct{}{}
		visitErr error // fn's error, which ends every scan
	)
	visit := func(keys []string) bool {
		mu.Lock()
		defer mu.Unlock()
		if visitErr != nil {
			return false
		}
		fresh := keys[:0]
		for _, k := range keys {
			if _, dup := seen[k]; !dup {
				seen[k] = struct{}{}
				fresh = append(fresh, k)
			}
		}
		if len(fresh) == 0 {
			return true
		}
		if visitErr = fn(fresh); visitErr != nil {
			cancel()
			return false
		}
		return true
	}
	scan := func(ctx context.Context, c redis.Cmdable) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, s.ks.linkPattern(), linkScanCount).Result()
			if err != nil {
				return err
			}
			if !visit(keys) {
				return nil
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	var err error
	if c := s.cluster(); c == nil {
		err = scan(ctx, s.rdb)
	} else {
		err = c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			if err := scan(ctx, m); err != nil {
				return fmt.Errorf("%s: %w", m.Options().Addr, err)
			}
			return nil
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if visitErr != nil {
		return visitErr
	}
	return wrapErr(op+": scan links", err)
}

type rotation int

const (
	rotSkipped   rotation = iota // gone or already broken
	rotCurrent                   // already under the current key
	rotRewritten                 // re-sealed
	rotBroken                    // undecryptable: now broken
)

func (s *Store) rotateLink(ctx context.Context, u store.ChatUser) (rotation, error) {
	for range casRetries {
		l, sealed, err := s.readLink(ctx, u)
		if errors.Is(err, store.ErrNotFound) {
			return rotSkipped, nil
		}
		if err != nil {
			return 0, err
		}
		if l.Broken {
			return rotSkipped, nil
		}
		out, changed, err := s.keys.ResealTokens(u, sealed)
		if err != nil {
			if _, err := s.markBroken(ctx, u, store.BrokenReasonFor(err), l.Version); err != nil {
				return 0, err
			}
			return rotBroken, nil
		}
		if !changed {
			return rotCurrent, nil
		}
		_, err = s.swap(ctx, u, l.Version, false, out)
		switch {
		case err == nil:
			return rotRewritten, nil
		case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrBrokenLink), errors.Is(err, store.ErrNotFound):
			continue // moved under us: read again
		default:
			return 0, err
		}
	}
	return 0, fmt.Errorf("link of %s: %w: written concurrently too often", u, store.ErrConflict)
}
