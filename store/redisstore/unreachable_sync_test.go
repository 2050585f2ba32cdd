package redisstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/crmbot/crmbot/store"
)

// TestRedisCutAndRestored puts toxiproxy (as a library) between the store
// and the real Redis, cuts it two ways — a black hole (data dropped, the
// connection stays open) and a refused port — and checks that calls fail
// with ErrUnavailable within their deadline, then work again on the same
// store once the path is back.
func TestRedisCutAndRestored(t *testing.T) {
	up := testClient(t) // fails in CI, skips loudly elsewhere, when no Redis
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	proxy := toxiproxy.NewProxy(srv, "redis", "127.0.0.1:0", up.Options().Addr)
	if err := proxy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Stop)

	keys, err := store.RandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	// Through Open, as production builds it: the deadlines below hold only
	// because Open sets ContextTimeoutEnabled (and no retries).
	s, err := Open(proxiedURL(t, proxy.Listen), Options{Prefix: testPrefix(t, up), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	key := store.SyncKey{Org: "org1", RecordType: "lead"}
	bg := context.Background()
	fence, ok, err := s.AcquireLease(bg, key, "replica-a", time.Minute)
	if err != nil || !ok {
		t.Fatalf("AcquireLease through the proxy: %v %v", ok, err)
	}
	rec := "11111111-1111-4111-8111-111111111111"
	page := store.Commit{
		Cursor: &store.Cursor{Token: "t1"},
		Sets:   map[string]store.Owner{rec: {ID: "22222222-2222-4222-8222-222222222222", Type: store.OwnerUser, Version: 1}},
	}
	calls := map[string]func(context.Context) error{
		"Ping":      s.Ping,
		"GetCursor": func(ctx context.Context) error { _, err := s.GetCursor(ctx, key); return err },
		"GetOwners": func(ctx context.Context) error { _, err := s.GetOwners(ctx, key, []string{rec}); return err },
		"CommitSync": func(ctx context.Context) error {
			_, err := s.CommitSync(ctx, key, fence, page)
			return err
		},
		"RenewLease": func(ctx context.Context) error { return s.RenewLease(ctx, key, "replica-a", time.Minute) },
		"ReadOutbox": func(ctx context.Context) error { _, err := s.ReadOutbox(ctx, key, "w", 10, 0); return err },
		"ClaimOutbox": func(ctx context.Context) error {
			_, err := s.ClaimOutbox(ctx, key, "w", time.Minute, 10)
			return err
		},
	}
	allWork := func(phase string) {
		t.Helper()
		for name, call := range calls {
			ctx, cancel := context.WithTimeout(bg, 5*time.Second)
			err := call(ctx)
			cancel()
			if err != nil {
				t.Fatalf("%s: %s: %v", phase, name, err)
			}
		}
	}
	const deadline = 300 * time.Millisecond
	allFailFast := func(phase string) {
		t.Helper()
		for name, call := range calls {
			ctx, cancel := context.WithTimeout(bg, deadline)
			start := time.Now()
			err := call(ctx)
			took := time.Since(start)
			cancel()
			if !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("%s: %s: got %v, want ErrUnavailable", phase, name, err)
			}
			// Slack for a loaded CI box; the point is "not 5 s × retries".
			if took > deadline+time.Second {
				t.Fatalf("%s: %s took %s, want within its %s deadline", phase, name, took, deadline)
			}
		}
	}
	// waitBack polls until the store answers again: no new store, no reconnect call.
	waitBack := func(phase string) {
		t.Helper()
		end := time.Now().Add(10 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(bg, time.Second)
			err := s.Ping(ctx)
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(end) {
				t.Fatalf("%s: store did not come back: %v", phase, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		allWork(phase)
	}

	if _, err := s.CommitSync(bg, key, fence, page); err != nil {
		t.Fatal(err)
	}
	allWork("before the cut")

	// Black hole: bytes to Redis are dropped, connections stay open.
	if _, err := proxy.Toxics.AddToxicJson(strings.NewReader(
		`{"name":"blackhole","type":"timeout","stream":"upstream","attributes":{"timeout":0}}`)); err != nil {
		t.Fatal(err)
	}
	allFailFast("black hole")
	if err := proxy.Toxics.RemoveToxic(bg, "blackhole"); err != nil {
		t.Fatal(err)
	}
	waitBack("after the black hole")

	// Down: the port refuses connections and open ones are closed.
	proxy.Stop()
	allFailFast("proxy stopped")
	if err := proxy.Start(); err != nil { // same port: Listen kept the address
		t.Fatal(err)
	}
	waitBack("after restart")
}
