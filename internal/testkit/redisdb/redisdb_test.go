package redisdb_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/internal/testkit/redisdb"
	"github.com/crmbot/crmbot/store/redisstore/redistest"
)

func TestAcquire(t *testing.T) {
	base := redistest.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	a := redisdb.Acquire(t, redisdb.Options{Owner: "redisdb-test-", MaxRetries: -1})
	if a.N < redisdb.First || a.N > redisdb.Last {
		t.Fatalf("database %d is outside %d–%d", a.N, redisdb.First, redisdb.Last)
	}
	if !strings.HasSuffix(a.URL, "/"+strconv.Itoa(a.N)) || a.Client.Options().DB != a.N {
		t.Fatalf("URL %s, client DB %d: want database %d", a.URL, a.Client.Options().DB, a.N)
	}
	if r := a.Client.Options().MaxRetries; r != 0 { // go-redis keeps -1 as 0, its default as 3
		t.Errorf("MaxRetries = %d, want no retries", r)
	}
	if n, err := a.Client.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Fatalf("DBSIZE after Acquire = %d, %v: want a flushed database", n, err)
	}
	if v, _ := base.Get(ctx, redisdb.LockKey(a.N)).Result(); !strings.HasPrefix(v, "redisdb-test-") {
		t.Fatalf("lock %s = %q, want this test's", redisdb.LockKey(a.N), v)
	}

	var b *redisdb.DB
	const key = "redisdb-test:left-behind"
	t.Run("second", func(t *testing.T) {
		b = redisdb.Acquire(t, redisdb.Options{Owner: "redisdb-test-b-", FlushAtEnd: true})
		if b.N == a.N {
			t.Fatalf("both got database %d", a.N)
		}
		if err := b.Client.Set(ctx, key, "x", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	})
	if t.Failed() {
		return
	}
	// The subtest has ended: its lock is released and, with FlushAtEnd, its
	// database flushed.
	if v, _ := base.Get(ctx, redisdb.LockKey(b.N)).Result(); strings.HasPrefix(v, "redisdb-test-b-") {
		t.Errorf("lock %s still held after the test ended", redisdb.LockKey(b.N))
	}
	if err := b.Client.Ping(ctx).Err(); err == nil {
		t.Error("the client still answers after the test ended")
	}
	o := *b.Client.Options()
	check := redis.NewClient(&o)
	defer check.Close()
	if n, err := check.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Errorf("EXISTS %s in database %d after the test ended = %d, %v: want flushed", key, b.N, n, err)
	}
	if v, _ := base.Get(ctx, redisdb.LockKey(a.N)).Result(); !strings.HasPrefix(v, "redisdb-test-") {
		t.Errorf("lock %s = %q: the outer test's lock went with the subtest's", redisdb.LockKey(a.N), v)
	}
}
