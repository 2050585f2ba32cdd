package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/storetest"
)

// redisURL is the Redis the tests use: REDIS_URL, else a local one.
func redisURL() string {
	if u := os.Getenv("REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379"
}

// testClient connects to the test Redis. With CI set, no Redis is a failure:
// a suite that silently skips proves nothing.
func testClient(t testing.TB) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(redisURL())
	if err != nil {
		t.Fatalf("REDIS_URL: %v", err)
	}
	o.ContextTimeoutEnabled = true
	rdb := redis.NewClient(o)
	t.Cleanup(func() { _ = rdb.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		msg := fmt.Sprintf("no Redis answers at %s (set REDIS_URL): %v", o.Addr, err)
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set: " + msg)
		}
		fmt.Fprintln(os.Stderr, "!!! SKIPPING the Redis store suite: "+msg)
		t.Skip(msg)
	}
	return rdb
}

// testStore returns a store under a random prefix, whose keys are deleted
// when the test ends.
func testStore(t testing.TB, keys *store.Keyring) (*Store, *redis.Client) {
	t.Helper()
	rdb := testClient(t)
	s, err := New(rdb, Options{Prefix: testPrefix(t, rdb), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return s, rdb
}

// testPrefix returns a random key prefix whose keys (in rdb) are deleted
// when the test ends.
func testPrefix(t testing.TB, rdb *redis.Client) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "crmbot-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := rdb.Scan(ctx, 0, globEscape(prefix)+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return prefix
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, keys *store.Keyring) storetest.Fixture {
		s, rdb := testStore(t, keys)
		return storetest.Fixture{
			Store:   s,
			Reopen:  func(k *store.Keyring) store.Store { return s.WithKeyring(k) },
			Advance: time.Sleep, // real Redis: real time (TTLs are short)
			CopySealedRefreshToken: func(from, to store.ChatUser) error {
				ctx := context.Background()
				v, err := rdb.HGet(ctx, s.ks.link(from), fRefresh).Result()
				if err != nil {
					return err
				}
				return rdb.HSet(ctx, s.ks.link(to), fRefresh, v).Err()
			},
		}
	})
}

func TestUnreachableFailsFastWithUnavailable(t *testing.T) {
	keys, err := store.RandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open("redis://127.0.0.1:1", Options{Keys: keys}) // nothing listens on port 1
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u := store.ChatUser{Platform: store.PlatformSlack, Tenant: "T1", UserID: "U1"}
	calls := map[string]func(context.Context) error{
		"Ping":    s.Ping,
		"GetLink": func(ctx context.Context) error { _, err := s.GetLink(ctx, u); return err },
		"PutLink": func(ctx context.Context) error {
			_, err := s.PutLink(ctx, store.Link{ChatUser: u, SystemUserID: "sys"}, store.Tokens{RefreshToken: "x"})
			return err
		},
		"SwapTokens": func(ctx context.Context) error {
			_, err := s.SwapTokens(ctx, u, store.Tokens{RefreshToken: "x", Version: 1})
			return err
		},
		"SeenOnce":    func(ctx context.Context) error { _, err := s.SeenOnce(ctx, "e", time.Minute); return err },
		"CreateFlow":  func(ctx context.Context) error { _, err := s.CreateFlow(ctx, []byte("x"), time.Minute); return err },
		"CreateNonce": func(ctx context.Context) error { _, err := s.CreateNonce(ctx, []byte("x")); return err },
		"RotateKeys":  func(ctx context.Context) error { _, err := s.RotateKeys(ctx); return err },
	}
	const deadline = 500 * time.Millisecond
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			err := call(ctx)
			took := time.Since(start)
			if !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("got %v, want ErrUnavailable", err)
			}
			// Generous slack for a loaded CI box; the point is "not the 5s
			// dial timeout times 3 retries".
			if took > deadline+time.Second {
				t.Fatalf("took %s, want within the %s deadline", took, deadline)
			}
		})
	}
}
