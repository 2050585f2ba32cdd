package redisstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/storetest"
)

// TestLinkedSystemUsersOneRoundTrip counts what LinkedSystemUsers sends:
// nothing for no ids, one pipeline for a page of them.
func TestLinkedSystemUsersOneRoundTrip(t *testing.T) {
	s, rdb := testStore(t, mustKeys(t))
	ctx := t.Context()
	if _, err := s.PutLink(ctx, store.Link{ChatUser: storetest.Alice, SystemUserID: storetest.SysAlice}, store.Tokens{RefreshToken: "rt"}); err != nil {
		t.Fatal(err)
	}
	hook := &dataRoundTrips{}
	rdb.AddHook(hook)
	if got, err := s.LinkedSystemUsers(ctx, nil); err != nil || len(got) != 0 || hook.n.Load() != 0 {
		t.Fatalf("no ids: %v, %v after %d round trips, want none", got, err, hook.n.Load())
	}
	ids := []string{storetest.SysAlice}
	for i := range 2000 {
		ids = append(ids, fmt.Sprintf("00000000-0000-0000-0000-%012d", i%1500)) // repeats too
	}
	got, err := s.LinkedSystemUsers(ctx, ids)
	if err != nil || !got[storetest.SysAlice] || len(got) != 1 {
		t.Fatalf("LinkedSystemUsers: %v, %v", got, err)
	}
	if n := hook.n.Load(); n != 1 {
		t.Fatalf("%d round trips for %d ids, want 1", n, len(ids))
	}
}

// dataRoundTrips is roundTrips without the handshake of a new connection
// (HELLO, CLIENT SETINFO), which go-redis sends through the hooks too.
type dataRoundTrips struct{ n atomic.Int64 }

// handshake: what a new connection sends before any data command (SELECT
// when REDIS_URL names a database, AUTH with a password).
func handshake(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "hello", "client", "select", "auth":
		return true
	}
	return false
}

func (h *dataRoundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *dataRoundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !handshake(cmd) {
			h.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (h *dataRoundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && !handshake(cmds[0]) {
			h.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

// TestDeliveryKeys pins the key layout store/README.md documents: the held
// hash and the due index share the {held} hash tag (one slot, so Hold and
// DropHeld are one script on a cluster), and the sent key is escaped.
func TestDeliveryKeys(t *testing.T) {
	s, rdb := testStore(t, mustKeys(t))
	ctx := t.Context()
	u := storetest.Odd
	if err := s.Hold(ctx, u, "n1", []byte("item"), time.UnixMilli(1700000000123)); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, "k:{x}", u, "ref", time.Minute); err != nil {
		t.Fatal(err)
	}
	p := s.ks.prefix
	m := member(u)
	for key, typ := range map[string]string{
		p + "{held}:items:" + m:     "hash",
		p + "{held}:due":            "zset",
		p + "sent:k%3A%7Bx%7D:" + m: "string",
	} {
		if got := rdb.Type(ctx, key).Val(); got != typ {
			t.Fatalf("key %q is a %q, want a %s", key, got, typ)
		}
	}
	score := rdb.ZScore(ctx, p+"{held}:due", m).Val()
	if score != 1700000000123 {
		t.Fatalf("due score %v, want the due time in unix ms", score)
	}
}
