package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
)

// canaryForms is every way a secret could leak in readable form: as is, in
// the four base64 alphabets (also starting at each of the 3 byte offsets, as
// when embedded in a longer encoded value), and in hex.
func canaryForms(secret string) []string {
	forms := []string{secret, hex.EncodeToString([]byte(secret)), strings.ToUpper(hex.EncodeToString([]byte(secret)))}
	encs := []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding}
	for off := range 3 {
		for _, enc := range encs {
			e := enc.EncodeToString([]byte(secret)[off:])
			// The last characters depend on what follows: keep the stable core.
			e = strings.TrimRight(e, "=")
			forms = append(forms, e[:len(e)-4])
		}
	}
	return forms
}

func TestCanaryTokensNeverReadableInRedis(t *testing.T) {
	keys, err := store.RandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	s, rdb := testStore(t, keys)
	ctx := t.Context()
	canary := func(kind string) string {
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		return "canary-" + kind + "-" + hex.EncodeToString(b)
	}
	refresh, access, verifier, swapped := canary("refresh"), canary("access"), canary("verifier"), canary("swapped")
	u := store.ChatUser{Platform: store.PlatformTeams, Tenant: "tenant-1", UserID: "29:user-1"}
	_, err = s.PutLink(ctx, store.Link{ChatUser: u, SystemUserID: "sys-1", UPN: "u@example.com"},
		store.Tokens{RefreshToken: refresh, AccessToken: access, AccessExpiry: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	other := store.ChatUser{Platform: store.PlatformSlack, Tenant: "T1", UserID: "U1"}
	if _, err := s.PutLink(ctx, store.Link{ChatUser: other, SystemUserID: "sys-2"}, store.Tokens{RefreshToken: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SwapTokens(ctx, other, store.Tokens{RefreshToken: swapped, AccessToken: swapped, Version: mustVersion(t, s, other)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateNonce(ctx, []byte(`{"pkce_verifier":"`+verifier+`"}`)); err != nil {
		t.Fatal(err)
	}

	var forms []string
	for _, c := range []string{refresh, access, verifier, swapped} {
		forms = append(forms, canaryForms(c)...)
	}
	check := func(where, value string) {
		for _, f := range forms {
			if strings.Contains(value, f) {
				t.Errorf("a secret is readable in %s (as %q)", where, f)
			}
		}
	}
	seen := 0
	iter := rdb.Scan(ctx, 0, globEscape(s.ks.prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		key := iter.Val()
		seen++
		check("key name "+key, key)
		for where, value := range dumpKey(ctx, t, rdb, key) {
			check(where, value)
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if seen < 4 {
		t.Fatalf("scanned only %d keys: the canary test is not looking where the store writes", seen)
	}
}

func mustVersion(t *testing.T, s *Store, u store.ChatUser) int64 {
	t.Helper()
	l, err := s.GetLink(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	return l.Version
}

// dumpKey returns every readable part of a key, whatever its type.
func dumpKey(ctx context.Context, t *testing.T, rdb *redis.Client, key string) map[string]string {
	t.Helper()
	typ, err := rdb.Type(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	add := func(what string, i int, v string) { out[fmt.Sprintf("%s %s %s[%d]", typ, key, what, i)] = v }
	switch typ {
	case "string":
		v, err := rdb.Get(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		add("value", 0, v)
	case "hash":
		h, err := rdb.HGetAll(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		for f, v := range h {
			add("field", i, f)
			add("value of "+f, i, v)
			i++
		}
	case "set":
		ms, err := rdb.SMembers(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range ms {
			add("member", i, m)
		}
	case "list":
		vs, err := rdb.LRange(ctx, key, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vs {
			add("element", i, v)
		}
	case "zset":
		zs, err := rdb.ZRangeWithScores(ctx, key, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		for i, z := range zs {
			add("member", i, fmt.Sprint(z.Member))
		}
	case "stream":
		xs, err := rdb.XRange(ctx, key, "-", "+").Result()
		if err != nil {
			t.Fatal(err)
		}
		for i, x := range xs {
			add("id", i, x.ID)
			for f, v := range x.Values {
				add("field", i, f)
				add("value of "+f, i, fmt.Sprint(v))
			}
		}
	default:
		t.Fatalf("key %s has type %s the canary check does not read: teach dumpKey", key, typ)
	}
	return out
}

// TestCanaryCheckFindsPlaintext proves the check is not vacuous: a value
// written in the clear, or base64'd at an offset, is caught.
func TestCanaryCheckFindsPlaintext(t *testing.T) {
	secret := "canary-refresh-0123456789abcdef"
	for _, leak := range []string{
		"x" + secret + "y",
		base64.StdEncoding.EncodeToString([]byte("ab" + secret + "cd")),
		base64.RawURLEncoding.EncodeToString([]byte("a" + secret)),
		hex.EncodeToString([]byte("{" + secret + "}")),
	} {
		found := false
		for _, f := range canaryForms(secret) {
			found = found || strings.Contains(leak, f)
		}
		if !found {
			t.Errorf("leak %q not detected", leak)
		}
	}
}
