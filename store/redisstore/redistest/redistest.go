// Package redistest gives tests outside store/redisstore a real Redis under
// a throwaway key prefix, with the same rule as the store's own suite: no
// Redis skips loudly, except under CI, where it fails.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// URL is the Redis the tests use: REDIS_URL, else a local one.
func URL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379"
}

// Client connects a new client to the test Redis (closed when t ends). With
// CI set, no Redis is a failure: a suite that silently skips proves nothing.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(URL())
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	o.ContextTimeoutEnabled = true
	o.MaxRetries = -1 // no transparent re-sends: see redisstore.New
	rdb := redis.NewClient(o)
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		msg := fmt.Sprintf("no Redis answers at %s (set REDIS_URL): %v", o.Addr, err)
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set: " + msg)
		}
		fmt.Fprintln(os.Stderr, "!!! SKIPPING a Redis test: "+msg)
		t.Skip(msg)
	}
	return rdb
}

// Prefix returns a random key prefix whose keys are deleted (through rdb)
// when t ends.
func Prefix(t testing.TB, rdb *redis.Client) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "crmbot-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, prefix+"*", 1000).Iterator() // hex and colons: no glob characters
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return prefix
}
