package redisstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/redisstore/redistest"
	"github.com/crmbot/crmbot/store/storetest"
)

// The test Redis and key prefixes come from redistest: REDIS_URL or a local
// Redis, a failure (not a skip) when CI is set, keys deleted after the test.
func redisURL() string                                  { return redistest.URL() }
func testClient(t testing.TB) *redis.Client             { return redistest.Client(t) }
func testPrefix(t testing.TB, rdb *redis.Client) string { return redistest.Prefix(t, rdb) }

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

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, keys *store.Keyring) storetest.Fixture {
		s, _ := testStore(t, keys)
		return conformanceFixture(t, s)
	})
}

// conformanceFixture is the suite's fixture around s, on a single Redis or
// a cluster.
func conformanceFixture(t *testing.T, s *Store) storetest.Fixture {
	return storetest.Fixture{
		Store:   s,
		Reopen:  func(k *store.Keyring) store.Store { return s.WithKeyring(k) },
		Advance: time.Sleep, // real Redis: real time (TTLs are short)
		WithDedupeWindow: func(w time.Duration) store.Store {
			c := *s
			so, err := newSyncOptions(0, w)
			if err != nil {
				t.Fatal(err)
			}
			c.opts, c.owned = so, false
			return &c
		},
		RawInstallation: func(key string) (string, error) {
			h, err := s.rdb.HGetAll(context.Background(), s.ks.install(key)).Result()
			if err != nil {
				return "", err
			}
			if len(h) == 0 {
				return "", store.ErrNotFound
			}
			var b strings.Builder
			for k, v := range h {
				b.WriteString(k + "=" + v + "\n")
			}
			return b.String(), nil
		},
		CopySealedBotToken: func(from, to string) error {
			ctx := context.Background()
			v, err := s.rdb.HGet(ctx, s.ks.install(from), iTok).Result()
			if err != nil {
				return err
			}
			return s.rdb.HSet(ctx, s.ks.install(to), iTok, v).Err()
		},
		CopySealedRefreshToken: func(from, to store.ChatUser) error {
			ctx := context.Background()
			v, err := s.rdb.HGet(ctx, s.ks.link(from), fRefresh).Result()
			if err != nil {
				return err
			}
			return s.rdb.HSet(ctx, s.ks.link(to), fRefresh, v).Err()
		},
	}
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
		"LinkCounts":  func(ctx context.Context) error { _, err := s.LinkCounts(ctx); return err },
		"OutboxStats": func(ctx context.Context) error {
			_, err := s.OutboxStats(ctx, store.SyncKey{Org: "o", RecordType: "lead"})
			return err
		},
		"Lease": func(ctx context.Context) error {
			_, err := s.Lease(ctx, store.SyncKey{Org: "o", RecordType: "lead"})
			return err
		},
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

// TestFenceSurvivesLostCounter: the fence counter is lost (FLUSHDB, a
// failover to a lagging replica, eviction) while a stale holder still runs;
// the next acquisition must still hand out a higher fence, so the stale
// holder's commits stay rejected.
func TestFenceSurvivesLostCounter(t *testing.T) {
	s, rdb := testStore(t, mustKeys(t))
	ctx := context.Background()
	key := store.SyncKey{Org: "org1", RecordType: "lead"}
	old, ok, err := s.AcquireLease(ctx, key, "stale", 50*time.Millisecond)
	if err != nil || !ok {
		t.Fatalf("AcquireLease: %v %v", ok, err)
	}
	k := s.ks.sync(key)
	if err := rdb.Del(ctx, k.fence, k.lease).Err(); err != nil { // the data loss
		t.Fatal(err)
	}
	fresh, ok, err := s.AcquireLease(ctx, key, "fresh", time.Minute)
	if err != nil || !ok {
		t.Fatalf("AcquireLease after the loss: %v %v", ok, err)
	}
	if fresh <= old {
		t.Fatalf("fence after the counter was lost = %d, want > %d", fresh, old)
	}
	if _, err := s.CommitSync(ctx, key, old, store.Commit{Cursor: &store.Cursor{Token: "stale"}}); !errors.Is(err, store.ErrStaleFence) {
		t.Fatalf("stale holder's commit after the loss: %v, want ErrStaleFence", err)
	}
	if _, err := s.CommitSync(ctx, key, fresh, store.Commit{Cursor: &store.Cursor{Token: "fresh"}}); err != nil {
		t.Fatalf("fresh holder's commit: %v", err)
	}
	// The counter still counts: a quick re-acquire grows too.
	if err := s.ReleaseLease(ctx, key, "fresh"); err != nil {
		t.Fatal(err)
	}
	next, _, err := s.AcquireLease(ctx, key, "next", time.Minute)
	if err != nil || next <= fresh {
		t.Fatalf("next fence = %d (%v), want > %d", next, err, fresh)
	}
}

// TestEnqueuedKeysExpireWithTheWindow: the :enq zset carries the dedupe
// window as its TTL, so a key whose commits stop does not keep it forever.
func TestEnqueuedKeysExpireWithTheWindow(t *testing.T) {
	rdb := testClient(t)
	s, err := New(rdb, Options{Prefix: testPrefix(t, rdb), Keys: mustKeys(t), DedupeWindow: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key := store.SyncKey{Org: "org1", RecordType: "lead"}
	fence, _, err := s.AcquireLease(ctx, key, "r1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ev := store.OutboxEvent{DedupeKey: "d1", Payload: []byte("p")}
	if _, err := s.CommitSync(ctx, key, fence, store.Commit{Events: []store.OutboxEvent{ev}}); err != nil {
		t.Fatal(err)
	}
	ttl, err := rdb.PTTL(ctx, s.ks.sync(key).enq).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("PTTL of the enq zset = %s, want about the 1h window", ttl)
	}
}

func mustKeys(t *testing.T) *store.Keyring {
	t.Helper()
	k, err := store.RandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	return k
}
