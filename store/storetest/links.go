package storetest

import (
	"encoding/base64"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/crmbot/crmbot/store"
)

func decodeStd(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }

// Chat users the scenarios use; the Teams one has the colons and odd
// characters real Teams ids carry.
var (
	Alice = store.ChatUser{Platform: store.PlatformSlack, Tenant: "T0001", UserID: "U0ALICE"}
	Bob   = store.ChatUser{Platform: store.PlatformSlack, Tenant: "T0001", UserID: "U0BOB"}
	Carol = store.ChatUser{Platform: store.PlatformTeams, Tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47", UserID: "29:1a{b}c:d%e f"}
)

// Dynamics users.
const (
	SysAlice = "11111111-1111-1111-1111-111111111111"
	SysBob   = "22222222-2222-2222-2222-222222222222"
)

func linkOf(u store.ChatUser, sys string) store.Link {
	return store.Link{
		ChatUser: u, SystemUserID: sys, EntraTenantID: "tid-" + u.Tenant, EntraObjectID: "oid-" + u.UserID,
		UPN: u.UserID + "@example.com", Email: u.UserID + "@example.com", DisplayName: "Name " + u.UserID, Locale: "fr-FR",
		LinkedAt: time.UnixMilli(1700000000123),
	}
}

func tokensOf(name string) store.Tokens {
	return store.Tokens{
		RefreshToken: "rt-" + name, AccessToken: "at-" + name,
		AccessExpiry: time.UnixMilli(1700003600456),
	}
}

func sameUsers(t *testing.T, what string, got []store.ChatUser, want ...store.ChatUser) {
	t.Helper()
	key := func(u store.ChatUser) string { return u.String() }
	g := make([]string, 0, len(got))
	for _, u := range got {
		g = append(g, key(u))
	}
	w := make([]string, 0, len(want))
	for _, u := range want {
		w = append(w, key(u))
	}
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("%s: got %v, want %v", what, g, w)
	}
}

// RunLinks checks links, the reverse index, compare-and-swap and "broken, tell
// once".
func RunLinks(t *testing.T, newFixture NewFunc) {
	keys := newRawKeys(t)
	fresh := func(t *testing.T) store.Store { return newFixture(t, keyring(t, keys.a)).Store }

	t.Run("link found both ways", func(t *testing.T) {
		s, c := fresh(t), ctx(t)
		for _, u := range []store.ChatUser{Alice, Carol} {
			v, err := s.PutLink(c, linkOf(u, SysAlice), tokensOf(u.UserID))
			noErr(t, "PutLink", err)
			if v <= 0 {
				t.Fatalf("PutLink version %d, want > 0", v)
			}
		}
		got, err := s.GetLink(c, Carol)
		noErr(t, "GetLink", err)
		want := linkOf(Carol, SysAlice)
		want.Version = got.Version
		if !got.LinkedAt.Equal(want.LinkedAt) {
			t.Fatalf("LinkedAt %v, want %v", got.LinkedAt, want.LinkedAt)
		}
		got.LinkedAt = want.LinkedAt
		if got != want {
			t.Fatalf("GetLink:\n got %+v\nwant %+v", got, want)
		}
		users, err := s.LinkedUsers(c, SysAlice)
		noErr(t, "LinkedUsers", err)
		sameUsers(t, "LinkedUsers", users, Alice, Carol)
		tok, err := s.Tokens(c, Carol)
		noErr(t, "Tokens", err)
		wantTok := tokensOf(Carol.UserID)
		if tok.RefreshToken != wantTok.RefreshToken || tok.AccessToken != wantTok.AccessToken ||
			!tok.AccessExpiry.Equal(wantTok.AccessExpiry) || tok.Version != got.Version {
			t.Fatalf("Tokens: got %#v (rt ok %v), want version %d", tok, tok.RefreshToken == wantTok.RefreshToken, got.Version)
		}
	})

	t.Run("unknown user", func(t *testing.T) {
		s, c := fresh(t), ctx(t)
		_, err := s.GetLink(c, Bob)
		wantErr(t, "GetLink", err, store.ErrNotFound)
		_, err = s.Tokens(c, Bob)
		wantErr(t, "Tokens", err, store.ErrNotFound)
		_, err = s.SwapTokens(c, Bob, store.Tokens{RefreshToken: "x", Version: 1})
		wantErr(t, "SwapTokens", err, store.ErrNotFound)
		_, err = s.MarkBroken(c, Bob, "x")
		wantErr(t, "MarkBroken", err, store.ErrNotFound)
		noErr(t, "DeleteLink of nobody", s.DeleteLink(c, Bob))
		users, err := s.LinkedUsers(c, SysBob)
		noErr(t, "LinkedUsers", err)
		sameUsers(t, "LinkedUsers", users)
		_, err = s.PutLink(c, store.Link{ChatUser: store.ChatUser{Platform: "irc", Tenant: "t", UserID: "u"}, SystemUserID: SysBob}, tokensOf("x"))
		wantErr(t, "PutLink with unknown platform", err, store.ErrInvalid)
	})

	t.Run("relink replaces and moves the reverse entry", func(t *testing.T) {
		s, c := fresh(t), ctx(t)
		v1, err := s.PutLink(c, linkOf(Alice, SysAlice), tokensOf("one"))
		noErr(t, "PutLink", err)
		noErr(t, "PutLink other", func() error { _, err := s.PutLink(c, linkOf(Bob, SysAlice), tokensOf("bob")); return err }())
		v2, err := s.PutLink(c, linkOf(Alice, SysBob), store.Tokens{RefreshToken: "rt-two"})
		noErr(t, "relink", err)
		if v2 <= v1 {
			t.Fatalf("relink version %d, want above %d", v2, v1)
		}
		users, err := s.LinkedUsers(c, SysAlice)
		noErr(t, "LinkedUsers old", err)
		sameUsers(t, "LinkedUsers of the old Dynamics user", users, Bob)
		users, err = s.LinkedUsers(c, SysBob)
		noErr(t, "LinkedUsers new", err)
		sameUsers(t, "LinkedUsers of the new Dynamics user", users, Alice)
		tok, err := s.Tokens(c, Alice)
		noErr(t, "Tokens", err)
		if tok.RefreshToken != "rt-two" || tok.AccessToken != "" || !tok.AccessExpiry.IsZero() {
			t.Fatalf("relink kept old tokens: access %q", tok.AccessToken)
		}
		_, err = s.SwapTokens(c, Alice, store.Tokens{RefreshToken: "stale", Version: v1})
		wantErr(t, "SwapTokens with the version of the replaced link", err, store.ErrConflict)
	})

	t.Run("unlink removes tokens and the reverse entry", func(t *testing.T) {
		s, c := fresh(t), ctx(t)
		v, err := s.PutLink(c, linkOf(Alice, SysAlice), tokensOf("a"))
		noErr(t, "PutLink", err)
		noErr(t, "DeleteLink", s.DeleteLink(c, Alice))
		_, err = s.GetLink(c, Alice)
		wantErr(t, "GetLink after unlink", err, store.ErrNotFound)
		_, err = s.Tokens(c, Alice)
		wantErr(t, "Tokens after unlink", err, store.ErrNotFound)
		users, err := s.LinkedUsers(c, SysAlice)
		noErr(t, "LinkedUsers", err)
		sameUsers(t, "LinkedUsers after unlink", users)
		// A refresh that read before the unlink must not land on a new link.
		_, err = s.PutLink(c, linkOf(Alice, SysAlice), tokensOf("b"))
		noErr(t, "relink", err)
		_, err = s.SwapTokens(c, Alice, store.Tokens{RefreshToken: "stale", Version: v})
		wantErr(t, "SwapTokens with a version from before the unlink", err, store.ErrConflict)
	})

	t.Run("compare-and-swap: exactly one of concurrent racers wins", func(t *testing.T) {
		s, c := fresh(t), ctx(t)
		v, err := s.PutLink(c, linkOf(Alice, SysAlice), tokensOf("start"))
		noErr(t, "PutLink", err)
		var wg sync.WaitGroup
		results := make([]error, Racers)
		versions := make([]int64, Racers)
		for i := range Racers {
			wg.Go(func() {
				versions[i], results[i] = s.SwapTokens(c, Alice, store.Tokens{
					RefreshToken: "rt-racer-" + string(rune('a'+i)), Version: v,
				})
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range results {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("racers %d and %d both won", winner, i)
			case err == nil:
				winner = i
			default:
				wantErr(t, "losing racer", err, store.ErrConflict)
			}
		}
		if winner < 0 {
			t.Fatal("no racer won")
		}
		tok, err := s.Tokens(c, Alice)
		noErr(t, "Tokens", err)
		if tok.RefreshToken != "rt-racer-"+string(rune('a'+winner)) || tok.Version != versions[winner] {
			t.Fatalf("stored tokens are not the winner's (version %d, want %d)", tok.Version, versions[winner])
		}
		if tok.AccessToken != "" {
			t.Fatal("a swap without an access token kept the old one")
		}
		v2, err := s.SwapTokens(c, Alice, store.Tokens{RefreshToken: "next", AccessToken: "at", AccessExpiry: time.UnixMilli(5), Version: tok.Version})
		noErr(t, "SwapTokens with the current version", err)
		tok, err = s.Tokens(c, Alice)
		noErr(t, "Tokens", err)
		if tok.Version != v2 || tok.AccessToken != "at" || !tok.AccessExpiry.Equal(time.UnixMilli(5)) {
			t.Fatalf("second swap not stored: version %d want %d", tok.Version, v2)
		}
	})

	t.Run("broken is told once", func(t *testing.T) {
		s, c := fresh(t), ctx(t)
		v, err := s.PutLink(c, linkOf(Alice, SysAlice), tokensOf("a"))
		noErr(t, "PutLink", err)
		var wg sync.WaitGroup
		firsts := make(chan bool, Racers)
		for range Racers {
			wg.Go(func() {
				first, err := s.MarkBroken(c, Alice, "invalid_grant")
				if err != nil {
					t.Errorf("MarkBroken: %v", err)
				}
				firsts <- first
			})
		}
		wg.Wait()
		close(firsts)
		n := 0
		for f := range firsts {
			if f {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d MarkBroken calls reported first, want exactly 1", n)
		}
		l, err := s.GetLink(c, Alice)
		noErr(t, "GetLink of a broken link", err)
		if !l.Broken || l.BrokenReason != "invalid_grant" {
			t.Fatalf("GetLink: broken %v reason %q", l.Broken, l.BrokenReason)
		}
		_, err = s.Tokens(c, Alice)
		wantErr(t, "Tokens of a broken link", err, store.ErrBrokenLink)
		_, err = s.SwapTokens(c, Alice, store.Tokens{RefreshToken: "x", Version: v})
		if err == nil {
			t.Fatal("SwapTokens on a broken link succeeded")
		}
		users, err := s.LinkedUsers(c, SysAlice)
		noErr(t, "LinkedUsers", err)
		sameUsers(t, "a broken link stays in the reverse index (to tell the user)", users, Alice)
		_, err = s.PutLink(c, linkOf(Alice, SysAlice), tokensOf("again"))
		noErr(t, "relink", err)
		l, err = s.GetLink(c, Alice)
		noErr(t, "GetLink", err)
		if l.Broken || l.BrokenReason != "" {
			t.Fatal("relink did not clear broken")
		}
		first, err := s.MarkBroken(c, Alice, "again")
		noErr(t, "MarkBroken after relink", err)
		if !first {
			t.Fatal("MarkBroken after relink: first = false")
		}
	})
}
