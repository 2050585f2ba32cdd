// Package redisdb gives a test a whole Redis database of its own, for code
// under test that uses the store's default key prefix (child crmbot
// processes, say) and so cannot share a database with other runs.
//
// Test code only: production code must not import it.
package redisdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store/redisstore/redistest"
)

// First and Last bound the databases Acquire hands out, Last first.
const (
	First = 8
	Last  = 14
)

// LockKey is the key, in the database of REDIS_URL, whose holder owns
// database n. Every user of Acquire shares these keys, so two concurrent
// runs (the soak tests and the footprint benchmark, say) never get the same
// database.
func LockKey(n int) string { return lockPrefix + strconv.Itoa(n) }

const lockPrefix = "crmbot-soak:lock:db"

// DB is a locked, flushed Redis database.
type DB struct {
	N      int           // the database number
	URL    string        // redis://host:port/N, with REDIS_URL's credentials
	Client *redis.Client // connected to it, closed when the test ends
}

// Options tune Acquire. The zero value is go-redis' defaults.
type Options struct {
	// Owner names the holder in the lock's value (a random suffix follows).
	Owner string
	// MaxRetries is the client's redis.Options.MaxRetries (-1: no
	// transparent re-sends; 0: go-redis' default).
	MaxRetries int
	// FlushAtEnd flushes the database again when the test ends, so that a
	// large data set is not left behind.
	FlushAtEnd bool
}

// Acquire locks the highest free database of First..Last (the lock expires
// after an hour should the test die), flushes it and connects a client to
// it. When tb ends the client is closed and the lock released. Without Redis
// it skips loudly, failing under CI (see redistest.Client); when every
// database is taken it fails.
func Acquire(tb testing.TB, o Options) *DB {
	tb.Helper()
	base := redistest.Client(tb)
	u, err := url.Parse(redistest.URL())
	if err != nil {
		tb.Fatalf("REDIS_URL: %v", err)
	}
	tok := make([]byte, 8)
	_, _ = rand.Read(tok)
	owner := o.Owner + hex.EncodeToString(tok)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for n := Last; n >= First; n-- {
		lock := LockKey(n)
		ok, err := base.SetNX(ctx, lock, owner, time.Hour).Result()
		if err != nil {
			tb.Fatalf("lock a Redis database: %v", err)
		}
		if !ok {
			continue
		}
		tb.Cleanup(func() { // after the client's cleanup below
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if v, _ := base.Get(ctx, lock).Result(); v == owner {
				base.Del(ctx, lock)
			}
		})
		du := *u
		du.Path = "/" + strconv.Itoa(n)
		ro, err := redis.ParseURL(du.String())
		if err != nil {
			tb.Fatal(err)
		}
		ro.MaxRetries = o.MaxRetries
		rdb := redis.NewClient(ro)
		tb.Cleanup(func() {
			if o.FlushAtEnd {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_ = rdb.FlushDB(ctx).Err()
			}
			_ = rdb.Close()
		})
		if err := rdb.FlushDB(ctx).Err(); err != nil {
			tb.Fatalf("FLUSHDB %d: %v", n, err)
		}
		return &DB{N: n, URL: du.String(), Client: rdb}
	}
	tb.Fatalf("Redis databases %d–%d are all taken by other runs of these tests (%s* keys)", First, Last, lockPrefix)
	return nil
}
