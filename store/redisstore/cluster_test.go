package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/redisstore/redistest"
	"github.com/crmbot/crmbot/store/storetest"
)

// TestCluster runs the store against a real 3-master Redis Cluster
// (redistest.Cluster: redis-server processes started for this test): the
// whole conformance suite through Open(redis+cluster://…), key rotation,
// where the keys land, lost replies, and MOVED/ASK redirects during a slot
// migration.
func TestCluster(t *testing.T) {
	addrs := redistest.Cluster(t)
	url := redistest.ClusterURL(addrs)
	admin := NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = admin.Close() })

	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T, keys *store.Keyring) storetest.Fixture {
			return conformanceFixture(t, openCluster(t, url, admin, keys))
		})
	})

	t.Run("RotateKeys re-seals every link", func(t *testing.T) { testClusterRotateKeys(t, url, admin) })
	t.Run("keys spread across masters, each step on one", func(t *testing.T) { testClusterSpread(t, url, admin) })
	t.Run("lost reply is not re-sent", func(t *testing.T) { testClusterLostReply(t, addrs, admin) })
	// Last: they move slots between masters.
	t.Run("MOVED and ASK are followed", func(t *testing.T) { testClusterRedirects(t, addrs, admin) })
	t.Run("links found while their slot moves", func(t *testing.T) { testClusterLinksMidMigration(t, url, admin) })
}

// openCluster opens a store on the cluster at url under a random prefix,
// whose keys are deleted (on every master) when t ends.
func openCluster(t *testing.T, url string, admin *redis.ClusterClient, keys *store.Keyring) *Store {
	t.Helper()
	s, err := Open(url, Options{Prefix: clusterPrefix(t, admin), Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, ok := s.rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("Open(%s) made a %T, want a *redis.ClusterClient", url, s.rdb)
	}
	return s
}

func clusterPrefix(t *testing.T, admin *redis.ClusterClient) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "crmbot-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = admin.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			iter := m.Scan(ctx, 0, globEscape(prefix)+"*", 1000).Iterator()
			for iter.Next(ctx) {
				m.Del(ctx, iter.Val())
			}
			return iter.Err()
		})
	})
	return prefix
}

// keysByMaster lists the keys under prefix on each master (by address).
func keysByMaster(t *testing.T, admin *redis.ClusterClient, prefix string) map[string][]string {
	t.Helper()
	var mu sync.Mutex
	out := map[string][]string{}
	err := admin.ForEachMaster(t.Context(), func(ctx context.Context, m *redis.Client) error {
		keys, err := m.Keys(ctx, globEscape(prefix)+"*").Result()
		mu.Lock()
		defer mu.Unlock()
		out[m.Options().Addr] = keys
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != redistest.ClusterMasters {
		t.Fatalf("%d masters answered, want %d", len(out), redistest.ClusterMasters)
	}
	return out
}

func rawKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	_, _ = rand.Read(k)
	return k
}

func newKeyring(t *testing.T, keys ...[]byte) *store.Keyring {
	t.Helper()
	k, err := store.NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testClusterRotateKeys(t *testing.T, url string, admin *redis.ClusterClient) {
	oldKey, newKey := rawKey(t), rawKey(t)
	s := openCluster(t, url, admin, newKeyring(t, oldKey))
	ctx := t.Context()
	const n = 40
	users := make([]store.ChatUser, n)
	for i := range users {
		users[i] = store.ChatUser{Platform: store.PlatformSlack, Tenant: "T" + strconv.Itoa(i%3), UserID: "U" + strconv.Itoa(i)}
		_, err := s.PutLink(ctx, store.Link{ChatUser: users[i], SystemUserID: "sys-" + strconv.Itoa(i)},
			store.Tokens{RefreshToken: "rt-" + strconv.Itoa(i), AccessToken: "at", AccessExpiry: time.Now().Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Unrelated keys on every master, so each master's SCAN has something to skip.
	for i := range 12 {
		if _, err := s.SeenOnce(ctx, "event-"+strconv.Itoa(i), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	// All link keys live on one master: a SCAN of any other one finds none.
	linkMasters := 0
	for _, keys := range keysByMaster(t, admin, s.ks.prefix) {
		for _, k := range keys {
			if strings.Contains(k, linksTag+":link:") {
				linkMasters++
				break
			}
		}
	}
	if linkMasters != 1 {
		t.Fatalf("link keys on %d masters, want 1 (one {links} slot)", linkMasters)
	}

	rotating := s.WithKeyring(newKeyring(t, newKey, oldKey))
	rep, err := rotating.RotateKeys(ctx)
	if err != nil {
		t.Fatalf("RotateKeys: %v", err)
	}
	if rep != (store.RotateReport{Links: n, Rewritten: n}) {
		t.Fatalf("RotateKeys report %+v, want %d links, all rewritten", rep, n)
	}
	newOnly := newKeyring(t, newKey)
	for _, u := range users {
		for _, f := range []string{fRefresh, fAccess} {
			v, err := s.rdb.HGet(ctx, s.ks.link(u), f).Result()
			if err != nil {
				t.Fatal(err)
			}
			id, _, err := store.ParseSealed(v)
			if err != nil || id != newOnly.CurrentKeyID() {
				t.Fatalf("%s of %s sealed under key %q (%v), want the new key %s", f, u, id, err, newOnly.CurrentKeyID())
			}
		}
	}
	// The old key can go: every link opens with the new one alone.
	after := s.WithKeyring(newOnly)
	for i, u := range users {
		tok, err := after.Tokens(ctx, u)
		if err != nil || tok.RefreshToken != "rt-"+strconv.Itoa(i) {
			t.Fatalf("Tokens of %s after rotation with the new key only: %+v, %v", u, tok, err)
		}
	}
	rep, err = rotating.RotateKeys(ctx)
	if err != nil || rep != (store.RotateReport{Links: n}) {
		t.Fatalf("second RotateKeys = %+v, %v; want %d links, none rewritten", rep, err, n)
	}
}

func testClusterSpread(t *testing.T, url string, admin *redis.ClusterClient) {
	s := openCluster(t, url, admin, mustKeys(t))
	ctx := t.Context()
	var syncKeys []store.SyncKey
	for _, org := range []string{"org1", "org2", "org3", "contoso"} {
		for _, typ := range []string{"lead", "opportunity", "account"} {
			syncKeys = append(syncKeys, store.SyncKey{Org: org, RecordType: typ})
		}
	}
	for _, key := range syncKeys {
		fence, ok, err := s.AcquireLease(ctx, key, "r1", time.Minute)
		if err != nil || !ok {
			t.Fatalf("AcquireLease %s: %v %v", key, ok, err)
		}
		_, err = s.CommitSync(ctx, key, fence, store.Commit{
			Cursor: &store.Cursor{Token: "t"},
			Sets:   map[string]store.Owner{"00000000-0000-0000-0000-000000000001": {ID: "00000000-0000-0000-0000-0000000000aa", Type: store.OwnerUser}},
			Events: []store.OutboxEvent{{DedupeKey: "d", Payload: []byte("p")}},
		})
		if err != nil {
			t.Fatalf("CommitSync %s: %v", key, err)
		}
		entries, err := s.ReadOutbox(ctx, key, "c1", 10, 0)
		if err != nil || len(entries) != 1 {
			t.Fatalf("ReadOutbox %s: %d entries, %v", key, len(entries), err)
		}
		if _, err := s.FailOutbox(ctx, key, entries[0].ID, "try later"); err != nil {
			t.Fatalf("FailOutbox %s: %v", key, err)
		}
	}

	nodeOf := map[string]string{} // key → master
	for addr, keys := range keysByMaster(t, admin, s.ks.prefix) {
		for _, k := range keys {
			nodeOf[k] = addr
		}
	}
	used := map[string]bool{}
	for _, key := range syncKeys {
		k := s.ks.sync(key)
		// Every key a step touches is there (the reason hash too), on one master.
		node := ""
		for _, name := range []string{k.cursor, k.owners, k.lease, k.fence, k.outbox, k.enq, k.reason} {
			addr, ok := nodeOf[name]
			if !ok {
				t.Fatalf("key %s not found on any master", name)
			}
			if node != "" && addr != node {
				t.Fatalf("keys of %s on two masters (%s, %s): a script over them would fail with CROSSSLOT", key, node, addr)
			}
			node = addr
		}
		used[node] = true
	}
	if len(used) < 2 {
		t.Fatalf("the keys of %d (org, record type) pairs all landed on one master (%v): the test does not exercise a cluster",
			len(syncKeys), used)
	}
	t.Logf("%d (org, record type) pairs spread over %d of %d masters", len(syncKeys), len(used), redistest.ClusterMasters)
}

func testClusterLostReply(t *testing.T, addrs []string, admin *redis.ClusterClient) {
	keys := mustKeys(t)
	prefix := clusterPrefix(t, admin)

	// storeVia returns a store whose connections to every node pass through a
	// dropProxy armed with trap, and the proxies by node address.
	storeVia := func(t *testing.T, trap string) (*Store, map[string]*dropProxy) {
		proxies := map[string]*dropProxy{}
		for _, a := range addrs {
			proxies[a] = newDropProxy(t, a, trap)
		}
		rdb := NewClusterClient(&redis.ClusterOptions{
			Addrs: addrs,
			Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
				p, ok := proxies[addr]
				if !ok {
					return nil, fmt.Errorf("no proxy for %s", addr)
				}
				var d net.Dialer
				return d.DialContext(ctx, network, p.ln.Addr().String())
			},
		})
		t.Cleanup(func() { _ = rdb.Close() })
		s, err := New(rdb, Options{Prefix: prefix, Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		return s, proxies
	}
	tripped := func(t *testing.T, proxies map[string]*dropProxy, key string) {
		t.Helper()
		m, err := admin.MasterForKey(t.Context(), key)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-proxies[m.Options().Addr].tripped:
		case <-time.After(5 * time.Second):
			t.Fatal("the proxy in front of the key's master never dropped a reply")
		}
	}

	t.Run("SeenOnce", func(t *testing.T) {
		s, proxies := storeVia(t, "dropreply-cluster-seen")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		first, err := s.SeenOnce(ctx, "dropreply-cluster-seen", time.Minute)
		tripped(t, proxies, s.ks.seen("dropreply-cluster-seen"))
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("SeenOnce with its reply lost = first %v, err %v; want ErrUnavailable (a re-send would say first=false)", first, err)
		}
		first, err = s.SeenOnce(ctx, "dropreply-cluster-seen", time.Minute)
		if err != nil || first {
			t.Fatalf("SeenOnce after the lost reply = %v, %v; want false, nil (the SET NX ran once)", first, err)
		}
	})

	t.Run("AcquireLease", func(t *testing.T) {
		s, proxies := storeVia(t, "dropreply-cluster-holder")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		key := store.SyncKey{Org: "org1", RecordType: "lead"}
		fence, ok, err := s.AcquireLease(ctx, key, "dropreply-cluster-holder", time.Minute)
		tripped(t, proxies, s.ks.sync(key).lease)
		if !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("AcquireLease with its reply lost = %d, %v, %v; want ErrUnavailable (a re-send would say held)", fence, ok, err)
		}
	})

	t.Run("New refuses a retrying or replica-reading cluster client", func(t *testing.T) {
		for name, o := range map[string]*redis.ClusterOptions{
			"MaxRetries 3": {Addrs: addrs, MaxRetries: 3},
			"ReadOnly":     {Addrs: addrs, MaxRetries: -1, ReadOnly: true},
		} {
			rdb := redis.NewClusterClient(o)
			_, err := New(rdb, Options{Prefix: prefix, Keys: keys})
			_ = rdb.Close()
			if !errors.Is(err, store.ErrInvalid) {
				t.Errorf("New with %s = %v, want ErrInvalid", name, err)
			}
		}
	})
}

// redirectLog records the MOVED and ASK replies node clients receive.
type redirectLog struct {
	mu    sync.Mutex
	moved int
	ask   int
}

func (l *redirectLog) DialHook(next redis.DialHook) redis.DialHook { return next }
func (l *redirectLog) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (l *redirectLog) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err != nil {
			l.mu.Lock()
			defer l.mu.Unlock()
			switch {
			case strings.HasPrefix(err.Error(), "MOVED "):
				l.moved++
			case strings.HasPrefix(err.Error(), "ASK "):
				l.ask++
			}
		}
		return err
	}
}

func (l *redirectLog) counts() (moved, ask int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.moved, l.ask
}

// testClusterRedirects moves one (org, type)'s slot to another master, key
// by key, while a store that cached the old layout keeps using it: during
// the migration a key already moved is reached through an ASK redirect, a
// script whose keys are split answers ErrUnavailable (TRYAGAIN) without
// writing, and after it the old master's MOVED is followed.
func testClusterRedirects(t *testing.T, addrs []string, admin *redis.ClusterClient) {
	ctx := t.Context()
	log := &redirectLog{}
	rdb := NewClusterClient(&redis.ClusterOptions{
		Addrs: addrs,
		NewClient: func(o *redis.Options) *redis.Client {
			c := redis.NewClient(o)
			c.AddHook(log)
			return c
		},
	})
	t.Cleanup(func() { _ = rdb.Close() })
	s, err := New(rdb, Options{Prefix: clusterPrefix(t, admin), Keys: mustKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	key := store.SyncKey{Org: "moving-org", RecordType: "lead"}
	k := s.ks.sync(key)
	fence, _, err := s.AcquireLease(ctx, key, "r1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitSync(ctx, key, fence, store.Commit{
		Cursor: &store.Cursor{Token: "before"},
		Events: []store.OutboxEvent{{DedupeKey: "d1", Payload: []byte("p1")}},
	}); err != nil {
		t.Fatal(err)
	}

	mv := startMove(t, admin, k.cursor)

	// Half way: the cursor is on dst, the rest still on src.
	mv.migrate(k.cursor)
	c, err := s.GetCursor(ctx, key)
	if err != nil || c.Token != "before" {
		t.Fatalf("GetCursor of a key moved mid-migration = %+v, %v; want token before", c, err)
	}
	if _, ask := log.counts(); ask == 0 {
		t.Fatal("GetCursor mid-migration got no ASK redirect: the test did not move the key")
	}
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, err = s.CommitSync(short, key, fence, store.Commit{Cursor: &store.Cursor{Token: "split"}})
	cancel()
	if !errors.Is(err, store.ErrUnavailable) || !strings.Contains(err.Error(), "TRYAGAIN") {
		t.Fatalf("CommitSync with its keys split by a migration = %v, want ErrUnavailable (TRYAGAIN)", err)
	}

	mv.finish()

	movedBefore, _ := log.counts()
	c, err = s.GetCursor(ctx, key)
	if err != nil || c.Token != "before" {
		t.Fatalf("GetCursor after the slot moved = %+v, %v; want token before (the split commit must not have written)", c, err)
	}
	if moved, _ := log.counts(); moved == movedBefore {
		t.Fatal("GetCursor after the slot moved got no MOVED redirect: the client did not use the old layout")
	}
	if _, err := s.CommitSync(ctx, key, fence, store.Commit{
		Cursor: &store.Cursor{Token: "after"},
		Events: []store.OutboxEvent{{DedupeKey: "d2", Payload: []byte("p2")}},
	}); err != nil {
		t.Fatalf("CommitSync after the slot moved: %v", err)
	}
	entries, err := s.ReadOutbox(ctx, key, "c1", 10, 0)
	if err != nil || len(entries) != 2 {
		t.Fatalf("ReadOutbox after the slot moved: %d entries, %v; want both events", len(entries), err)
	}
	if n, err := mv.dst.Exists(ctx, k.cursor, k.outbox, k.fence).Result(); err != nil || n != 3 {
		t.Fatalf("keys on the new master: %d, %v; want 3", n, err)
	}
}

// slotMove moves the slot of a key from its master (src) to another (dst)
// the way redis-cli --cluster reshard does: IMPORTING on dst, MIGRATING on
// src, MIGRATE key by key, then SETSLOT NODE on every master.
type slotMove struct {
	t        *testing.T
	slot     int
	src, dst *redis.Client
	srcID    string
	dstID    string
	masters  map[string]*redis.Client // by address
}

// startMove starts moving key's slot: from here on src answers ASK for the
// slot's keys it no longer holds.
func startMove(t *testing.T, admin *redis.ClusterClient, key string) *slotMove {
	t.Helper()
	ctx := t.Context()
	slot, err := admin.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	src, err := admin.MasterForKey(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	mv := &slotMove{t: t, slot: int(slot), src: src, masters: map[string]*redis.Client{}}
	ids := map[string]string{} // node id by address
	var mu sync.Mutex
	if err := admin.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		id, err := m.ClusterMyID(ctx).Result()
		mu.Lock()
		defer mu.Unlock()
		mv.masters[m.Options().Addr], ids[m.Options().Addr] = m, id
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for addr, m := range mv.masters {
		if addr != src.Options().Addr {
			mv.dst = m
			break
		}
	}
	mv.srcID, mv.dstID = ids[src.Options().Addr], ids[mv.dst.Options().Addr]
	if mv.srcID == "" || mv.dstID == "" {
		t.Fatalf("node ids: %v", ids)
	}
	mv.do(mv.dst, "CLUSTER", "SETSLOT", mv.slot, "IMPORTING", mv.srcID)
	mv.do(mv.src, "CLUSTER", "SETSLOT", mv.slot, "MIGRATING", mv.dstID)
	return mv
}

func (mv *slotMove) do(c *redis.Client, args ...any) {
	mv.t.Helper()
	if err := c.Do(mv.t.Context(), args...).Err(); err != nil {
		mv.t.Fatalf("%v on %s: %v", args, c.Options().Addr, err)
	}
}

// migrate moves keys of the slot to dst.
func (mv *slotMove) migrate(keys ...string) {
	mv.t.Helper()
	host, port, _ := net.SplitHostPort(mv.dst.Options().Addr)
	for _, k := range keys {
		if err := mv.src.Migrate(mv.t.Context(), host, port, k, 0, 5*time.Second).Err(); err != nil {
			mv.t.Fatalf("MIGRATE %s: %v", k, err)
		}
	}
}

// finish moves the slot's remaining keys and assigns it to dst everywhere.
func (mv *slotMove) finish() {
	mv.t.Helper()
	for {
		names, err := mv.src.ClusterGetKeysInSlot(mv.t.Context(), mv.slot, 100).Result()
		if err != nil {
			mv.t.Fatal(err)
		}
		if len(names) == 0 {
			break
		}
		mv.migrate(names...)
	}
	mv.do(mv.dst, "CLUSTER", "SETSLOT", mv.slot, "NODE", mv.dstID)
	mv.do(mv.src, "CLUSTER", "SETSLOT", mv.slot, "NODE", mv.dstID)
	for addr, m := range mv.masters {
		if addr != mv.src.Options().Addr && addr != mv.dst.Options().Addr {
			mv.do(m, "CLUSTER", "SETSLOT", mv.slot, "NODE", mv.dstID)
		}
	}
}

// testClusterLinksMidMigration: while the {links} slot moves, its keys sit
// on two masters. linkKeys (RotateKeys' scan) and LinkCounts find them all
// (the field reads follow ASK); a SCAN routed
// to the slot's owner (what go-redis does with SCAN MATCH "…{links}…") misses
// those already moved. After the move RotateKeys works on the new master.
func testClusterLinksMidMigration(t *testing.T, url string, admin *redis.ClusterClient) {
	oldKey, newKey := rawKey(t), rawKey(t)
	s := openCluster(t, url, admin, newKeyring(t, oldKey))
	ctx := t.Context()
	const n = 10
	var links []string
	for i := range n {
		u := store.ChatUser{Platform: store.PlatformTeams, Tenant: "t", UserID: "u" + strconv.Itoa(i)}
		if _, err := s.PutLink(ctx, store.Link{ChatUser: u, SystemUserID: "sys"}, store.Tokens{RefreshToken: "rt"}); err != nil {
			t.Fatal(err)
		}
		links = append(links, s.ks.link(u))
		if i%4 == 0 { // 3 of 10 broken, for LinkCounts
			if _, err := s.MarkBroken(ctx, u, "refused"); err != nil {
				t.Fatal(err)
			}
		}
	}
	mv := startMove(t, admin, links[0])
	mv.migrate(links[:n/2]...)

	found := map[string]bool{}
	if err := s.linkKeys(ctx, func(key string) error { found[key] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(found) != n {
		t.Fatalf("linkKeys mid-migration found %d links, want %d", len(found), n)
	}
	counts, err := s.LinkCounts(ctx)
	if want := (store.LinkCount{Linked: n, Broken: 3}); err != nil || len(counts) != 1 || counts[store.PlatformTeams] != want {
		t.Fatalf("LinkCounts mid-migration = %v, %v; want teams %+v", counts, err, want)
	}
	routed := 0
	iter := s.rdb.Scan(ctx, 0, s.ks.linkPattern(), 100).Iterator()
	for iter.Next(ctx) {
		routed++
	}
	t.Logf("mid-migration: linkKeys found %d links, one SCAN routed by the pattern's hash tag %d (err %v)", len(found), routed, iter.Err())

	mv.finish()
	rep, err := s.WithKeyring(newKeyring(t, newKey, oldKey)).RotateKeys(ctx)
	if err != nil || rep != (store.RotateReport{Links: n - 3, Rewritten: n - 3}) {
		t.Fatalf("RotateKeys after the {links} slot moved = %+v, %v; want %d rewritten (3 broken: skipped)", rep, err, n-3)
	}
}

// TestClusterURL: the redis+cluster:// form, and errors that do not repeat
// the URL (it may hold a password).
func TestClusterURL(t *testing.T) {
	o, err := parseClusterURL("redis+cluster://u:s3cret@10.0.0.1:6379?addr=10.0.0.2:6379&addr=10.0.0.3:6380&dial_timeout=2s")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(o.Addrs, ","); got != "10.0.0.1:6379,10.0.0.2:6379,10.0.0.3:6380" {
		t.Errorf("Addrs = %s", got)
	}
	if o.Username != "u" || o.Password != "s3cret" || o.DialTimeout != 2*time.Second || o.TLSConfig != nil {
		t.Errorf("options = %+v", o)
	}
	o, err = parseClusterURL("rediss+cluster://h1:6380")
	if err != nil || o.TLSConfig == nil || o.TLSConfig.ServerName != "h1" {
		t.Errorf("rediss+cluster:// = %+v, %v; want TLS to h1", o, err)
	}
	for _, u := range []string{"redis://h:6379", "rediss://h:6379/2", "unix:///tmp/r.sock", "redis+clusterx://h"} {
		if isClusterURL(u) {
			t.Errorf("%s taken for a cluster URL", u)
		}
	}
	if !isClusterURL("REDIS+CLUSTER://h:1") {
		t.Error("scheme case should not matter")
	}
	keys := mustKeys(t)
	for _, bad := range []string{
		"redis+cluster://u:s3cret@h1:6379?addr=nohostport",
		"redis+cluster://u:s3cret@h1:6379?bogus=1",
		"redis+cluster://u:s3cret@h1:6379/%zz",
		"redis://u:s3cret@h1:6379?addr=h2:6379",
	} {
		_, err := Open(bad, Options{Keys: keys})
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) = %v; want an error that does not show the password", bad, err)
		}
	}
	_, err = Open("redis+cluster://h1:6379?read_only=true", Options{Keys: keys})
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("Open with read_only = %v, want ErrInvalid (replica reads)", err)
	}
	s, err := Open("redis+cluster://h1:6379?max_retries=5", Options{Keys: keys})
	if err != nil {
		t.Fatalf("Open with max_retries=5: %v", err)
	}
	defer s.Close()
	if got := s.cluster().Options().MaxRetries; got != -1 {
		t.Errorf("MaxRetries = %d, want -1 whatever the URL says", got)
	}
	if !s.cluster().Options().ContextTimeoutEnabled {
		t.Error("ContextTimeoutEnabled not set")
	}
}

// TestClusterUnreachableFailsFast: with no cluster at the seed address,
// calls fail with ErrUnavailable within their deadline.
func TestClusterUnreachableFailsFast(t *testing.T) {
	s, err := Open("redis+cluster://127.0.0.1:1?addr=127.0.0.1:2", Options{Keys: mustKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	u := store.ChatUser{Platform: store.PlatformSlack, Tenant: "T1", UserID: "U1"}
	calls := map[string]func(context.Context) error{
		"Ping":       s.Ping,
		"GetLink":    func(ctx context.Context) error { _, err := s.GetLink(ctx, u); return err },
		"SeenOnce":   func(ctx context.Context) error { _, err := s.SeenOnce(ctx, "e", time.Minute); return err },
		"RotateKeys": func(ctx context.Context) error { _, err := s.RotateKeys(ctx); return err },
		"LinkCounts": func(ctx context.Context) error { _, err := s.LinkCounts(ctx); return err },
		"AcquireLease": func(ctx context.Context) error {
			_, _, err := s.AcquireLease(ctx, store.SyncKey{Org: "o", RecordType: "lead"}, "h", time.Minute)
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
			if !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("got %v, want ErrUnavailable", err)
			}
			if took := time.Since(start); took > deadline+time.Second {
				t.Fatalf("took %s, want within the %s deadline", took, deadline)
			}
		})
	}
}
