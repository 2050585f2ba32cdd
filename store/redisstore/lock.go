package redisstore

import (
	"context"
	"errors"
	"fmt"

	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
)

// lock: a string holding the holder's token, PX = the lock's TTL.
func (k keyspace) lock(name string) string { return k.prefix + "lock:" + esc(name) }

// unlockScript deletes a lock only if it still holds the caller's token, so a
// holder whose lock expired cannot free the next holder's. KEYS: lock. ARGV:
// token. Returns 1 when released, 0 when not held.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// TryLock implements store.Locker: SET NX PX with a random token, released
// by a compare-and-delete script.
func (s *Store) TryLock(ctx context.Context, name string, ttl time.Duration) (func(context.Context) error, bool, error) {
	if err := store.CheckLock(name, ttl); err != nil {
		return nil, false, fmt.Errorf("lock: %w", err)
	}
	token, err := store.NewLockToken()
	if err != nil {
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	key := s.ks.lock(name)
	err = s.rdb.SetArgs(ctx, key, token, redis.SetArgs{Mode: "NX", TTL: ttl}).Err()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrapErr("lock "+name, err)
	}
	release := func(ctx context.Context) error {
		n, err := unlockScript.Run(ctx, s.rdb, []string{key}, token).Int64()
		if err != nil {
			return wrapErr("unlock "+name, err)
		}
		if n != 1 {
			return fmt.Errorf("unlock %s: %w", name, store.ErrLockLost)
		}
		return nil
	}
	return release, true, nil
}
