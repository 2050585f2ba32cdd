package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmbot/crmbot/store"
)

// Odd is a chat user whose tenant and user ids carry every character a key
// name could trip on (the key separator, hash-tag braces, the escape
// character, spaces, non-ASCII): DueHeld must give it back exactly.
var Odd = store.ChatUser{Platform: store.PlatformTeams, Tenant: "t:{held}%2F é+/", UserID: "29:a b+c%3A{x}:d\\e*?[f]"}

// RunDelivery checks what the delivery workers keep: the link index
// (LinkedSystemUsers), posted notifications (MarkSent/SentRef, with
// expiry; ClaimSent: first writer wins, atomically), and held notifications (Hold and its trimming and due-time
// rules, WakeHeld, DueHeld, HeldFor, DropHeld, and concurrent writers).
func RunDelivery(t *testing.T, newFixture NewFunc) {
	t.Run("LinkIndex", func(t *testing.T) { runLinkIndex(t, newFixture) })
	t.Run("Sent", func(t *testing.T) { runSent(t, newFixture) })
	t.Run("Held", func(t *testing.T) { runHeld(t, newFixture) })
}

func runLinkIndex(t *testing.T, newFixture NewFunc) {
	const sysNobody = "33333333-3333-3333-3333-333333333333"
	linked := func(t *testing.T, s store.Store, what string, want map[string]bool) {
		t.Helper()
		ids := make([]string, 0, len(want)+1)
		for id := range want {
			ids = append(ids, id, id) // repeated ids are fine
		}
		got, err := s.LinkedSystemUsers(ctx(t), ids)
		noErr(t, what, err)
		for id, w := range want {
			if got[id] != w {
				t.Fatalf("%s: %s linked = %v, want %v (got %v)", what, id, got[id], w, got)
			}
		}
		for id, v := range got {
			if _, asked := want[id]; !asked && v {
				t.Fatalf("%s: %s reported linked, but was not asked about", what, id)
			}
		}
	}

	t.Run("link, unlink, relink", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		linked(t, s, "no links yet", map[string]bool{SysAlice: false, SysBob: false})
		for _, l := range []store.Link{linkOf(Alice, SysAlice), linkOf(Carol, SysAlice), linkOf(Bob, SysBob)} {
			_, err := s.PutLink(c, l, tokensOf(l.ChatUser.UserID))
			noErr(t, "PutLink", err)
		}
		linked(t, s, "linked", map[string]bool{SysAlice: true, SysBob: true, sysNobody: false})
		noErr(t, "DeleteLink", s.DeleteLink(c, Bob))
		linked(t, s, "after Bob's unlink", map[string]bool{SysAlice: true, SysBob: false})
		noErr(t, "DeleteLink", s.DeleteLink(c, Alice))
		linked(t, s, "one of two unlinked", map[string]bool{SysAlice: true, SysBob: false})
		_, err := s.PutLink(c, linkOf(Carol, SysBob), tokensOf("carol-2"))
		noErr(t, "relink", err)
		linked(t, s, "after Carol's relink to another Dynamics user", map[string]bool{SysAlice: false, SysBob: true})
		// A broken link is still a link (the user is told to relink).
		_, err = s.MarkBroken(c, Carol, "refresh refused")
		noErr(t, "MarkBroken", err)
		linked(t, s, "broken link", map[string]bool{SysBob: true})
	})

	t.Run("many ids", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		_, err := s.PutLink(c, linkOf(Alice, SysAlice), tokensOf("a"))
		noErr(t, "PutLink", err)
		want := map[string]bool{SysAlice: true}
		for i := range 1000 {
			want[fmt.Sprintf("00000000-0000-0000-0000-%012d", i)] = false
		}
		linked(t, s, "a page of 1000 owners", want)
	})

	t.Run("empty and invalid input", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		for _, ids := range [][]string{nil, {}} {
			got, err := s.LinkedSystemUsers(c, ids)
			noErr(t, "no ids", err)
			if got == nil || len(got) != 0 {
				t.Fatalf("no ids: got %#v, want an empty map", got)
			}
		}
		_, err := s.LinkedSystemUsers(c, []string{SysAlice, ""})
		wantErr(t, "an empty systemuserid", err, store.ErrInvalid)
	})
}

func runSent(t *testing.T, newFixture NewFunc) {
	const key = "00000000-0000-0000-0000-000000000001|7|assigned|U0ALICE"
	t.Run("round trip, per key and user", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		_, err := s.SentRef(c, key, Alice)
		wantErr(t, "SentRef before MarkSent", err, store.ErrNotFound)
		noErr(t, "MarkSent", s.MarkSent(c, key, Alice, "C0123:1700000000.000100", longTTL))
		noErr(t, "MarkSent Carol", s.MarkSent(c, key, Carol, "a:1personal;messageid=1700000000123", longTTL))
		oddKey := "a:b{held}%3A c|" + Odd.UserID
		noErr(t, "MarkSent odd", s.MarkSent(c, oddKey, Odd, "ref:odd", longTTL))
		for _, tc := range []struct {
			key  string
			u    store.ChatUser
			want string
		}{
			{key, Alice, "C0123:1700000000.000100"},
			{key, Carol, "a:1personal;messageid=1700000000123"},
			{oddKey, Odd, "ref:odd"},
		} {
			got, err := s.SentRef(c, tc.key, tc.u)
			noErr(t, "SentRef "+tc.u.String(), err)
			if got != tc.want {
				t.Fatalf("SentRef(%q, %s) = %q, want %q", tc.key, tc.u, got, tc.want)
			}
		}
		for _, tc := range []struct {
			key string
			u   store.ChatUser
		}{{key, Bob}, {key + "x", Alice}, {oddKey, Carol}, {key, store.ChatUser{Platform: store.PlatformTeams, Tenant: Alice.Tenant, UserID: Alice.UserID}}} {
			_, err := s.SentRef(c, tc.key, tc.u)
			wantErr(t, fmt.Sprintf("SentRef(%q, %s) never marked", tc.key, tc.u), err, store.ErrNotFound)
		}
	})

	t.Run("expiry", func(t *testing.T) {
		f, c := newFixture(t, mustKeyring(t)), ctx(t)
		s := f.Store
		noErr(t, "MarkSent short", s.MarkSent(c, key, Alice, "short", shortTTL))
		noErr(t, "MarkSent long", s.MarkSent(c, key, Bob, "long", longTTL))
		if got, err := s.SentRef(c, key, Alice); err != nil || got != "short" {
			t.Fatalf("SentRef before expiry = %q, %v", got, err)
		}
		f.Advance(shortTTL + 300*time.Millisecond)
		_, err := s.SentRef(c, key, Alice)
		wantErr(t, "SentRef after its TTL", err, store.ErrNotFound)
		if got, err := s.SentRef(c, key, Bob); err != nil || got != "long" {
			t.Fatalf("SentRef of a live one = %q, %v", got, err)
		}
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		wantErr(t, "MarkSent empty key", s.MarkSent(c, "", Alice, "r", longTTL), store.ErrInvalid)
		wantErr(t, "MarkSent invalid user", s.MarkSent(c, key, store.ChatUser{}, "r", longTTL), store.ErrInvalid)
		wantErr(t, "MarkSent no ttl", s.MarkSent(c, key, Alice, "r", 0), store.ErrInvalid)
		wantErr(t, "MarkSent negative ttl", s.MarkSent(c, key, Alice, "r", -time.Second), store.ErrInvalid)
		_, err := s.SentRef(c, "", Alice)
		wantErr(t, "SentRef empty key", err, store.ErrInvalid)
		_, err = s.SentRef(c, key, store.ChatUser{Platform: "irc", Tenant: "t", UserID: "u"})
		wantErr(t, "SentRef invalid user", err, store.ErrInvalid)
		_, err = s.SentRef(c, key, Alice)
		wantErr(t, "SentRef after refused marks", err, store.ErrNotFound)
		for _, tc := range []struct {
			what string
			key  string
			u    store.ChatUser
			ttl  time.Duration
		}{
			{"empty key", "", Alice, longTTL},
			{"invalid user", key, store.ChatUser{}, longTTL},
			{"no ttl", key, Alice, 0},
			{"negative ttl", key, Alice, -time.Second},
		} {
			_, err := s.ClaimSent(c, tc.key, tc.u, "r", tc.ttl)
			wantErr(t, "ClaimSent "+tc.what, err, store.ErrInvalid)
		}
		_, err = s.SentRef(c, key, Alice)
		wantErr(t, "SentRef after refused claims", err, store.ErrNotFound)
	})

	// ClaimSent: the first ref recorded stays; later claims get it back.
	claim := func(t *testing.T, s store.Store, key string, u store.ChatUser, ref string, ttl time.Duration, want string) {
		t.Helper()
		got, err := s.ClaimSent(ctx(t), key, u, ref, ttl)
		noErr(t, "ClaimSent "+ref, err)
		if got != want {
			t.Fatalf("ClaimSent(%q, %s, %q) = %q, want %q", key, u, ref, got, want)
		}
		if rec, err := s.SentRef(ctx(t), key, u); err != nil || rec != want {
			t.Fatalf("SentRef after ClaimSent(%q) = %q, %v; want %q", ref, rec, err, want)
		}
	}

	t.Run("claim: first writer wins", func(t *testing.T) {
		s := newFixture(t, mustKeyring(t)).Store
		claim(t, s, key, Alice, "posted:slack|D1|1.000001", longTTL, "posted:slack|D1|1.000001")
		claim(t, s, key, Alice, "posted:slack|D1|2.000002", longTTL, "posted:slack|D1|1.000001")
		// The same ref again (a retried claim, or a worker that found the
		// first post and claims it): recorded, so its own.
		claim(t, s, key, Alice, "posted:slack|D1|1.000001", longTTL, "posted:slack|D1|1.000001")
		// Per key and user.
		claim(t, s, key, Bob, "posted:slack|D2|3.000003", longTTL, "posted:slack|D2|3.000003")
		claim(t, s, key+"x", Alice, "held", longTTL, "held")
		oddKey := "a:b{held}%3A c|" + Odd.UserID
		claim(t, s, oddKey, Odd, "posted:teams|a:1x|17", longTTL, "posted:teams|a:1x|17")
		claim(t, s, oddKey, Odd, "skipped", longTTL, "posted:teams|a:1x|17")
	})

	t.Run("claim after MarkSent", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		for _, mark := range []string{"held", "skipped", "posted:slack|D1|1.000001"} {
			u := store.ChatUser{Platform: store.PlatformSlack, Tenant: "T1", UserID: "U" + strings.ToUpper(mark[:4])}
			noErr(t, "MarkSent "+mark, s.MarkSent(c, key, u, mark, longTTL))
			claim(t, s, key, u, "posted:slack|D9|9.000009", longTTL, mark)
		}
		// MarkSent still overwrites what a claim recorded.
		claim(t, s, key, Carol, "posted:teams|a:1|1", longTTL, "posted:teams|a:1|1")
		noErr(t, "MarkSent over a claim", s.MarkSent(c, key, Carol, "skipped", longTTL))
		if got, err := s.SentRef(c, key, Carol); err != nil || got != "skipped" {
			t.Fatalf("SentRef after MarkSent over a claim = %q, %v", got, err)
		}
	})

	t.Run("claim expiry", func(t *testing.T) {
		f := newFixture(t, mustKeyring(t))
		s := f.Store
		claim(t, s, key, Alice, "first", shortTTL, "first")
		claim(t, s, key, Bob, "long", longTTL, "long")
		claim(t, s, key, Alice, "second", longTTL, "first")
		f.Advance(shortTTL + 300*time.Millisecond)
		// Expired: the next claim wins, and keeps its own TTL.
		claim(t, s, key, Alice, "third", longTTL, "third")
		claim(t, s, key, Bob, "late", longTTL, "long")
		f.Advance(shortTTL + 300*time.Millisecond)
		if got, err := s.SentRef(ctx(t), key, Alice); err != nil || got != "third" {
			t.Fatalf("a claim after an expiry kept %q, %v", got, err)
		}
	})

	t.Run("concurrent claims: exactly one wins", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		const n = 32
		for round := range 5 {
			k := fmt.Sprintf("%s|round%d", key, round)
			got := make([]string, n)
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					got[i], errs[i] = s.ClaimSent(c, k, Alice, fmt.Sprintf("posted:slack|D1|%d.%06d", round, i), longTTL)
				})
			}
			close(start)
			wg.Wait()
			winners := 0
			for i := range n {
				noErr(t, "concurrent ClaimSent", errs[i])
				if got[i] != got[0] {
					t.Fatalf("round %d: claims saw different winners: %q and %q", round, got[0], got[i])
				}
				if got[i] == fmt.Sprintf("posted:slack|D1|%d.%06d", round, i) {
					winners++
				}
			}
			if winners != 1 {
				t.Fatalf("round %d: %d of %d concurrent claims won, want exactly 1 (%v)", round, winners, n, got)
			}
			if rec, err := s.SentRef(c, k, Alice); err != nil || rec != got[0] {
				t.Fatalf("round %d: SentRef = %q, %v; the winner was %q", round, rec, err, got[0])
			}
		}
	})
}

func runHeld(t *testing.T, newFixture NewFunc) {
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC) // due times: the callers' clock, not the store's
	far := at.Add(365 * 24 * time.Hour)
	fresh := func(t *testing.T) (Fixture, store.Store) {
		f := newFixture(t, mustKeyring(t))
		return f, f.Store
	}
	hold := func(t *testing.T, s store.Store, u store.ChatUser, id string, due time.Time) {
		t.Helper()
		noErr(t, "Hold "+id, s.Hold(ctx(t), u, id, []byte("item "+id), due))
	}
	held := func(t *testing.T, s store.Store, u store.ChatUser) []store.HeldItem {
		t.Helper()
		got, err := s.HeldFor(ctx(t), u)
		noErr(t, "HeldFor", err)
		return got
	}
	heldIDs := func(t *testing.T, s store.Store, u store.ChatUser) string {
		t.Helper()
		var ids []string
		for _, it := range held(t, s, u) {
			ids = append(ids, it.ID)
		}
		return strings.Join(ids, ",")
	}
	due := func(t *testing.T, s store.Store, now time.Time, n int) []store.ChatUser {
		t.Helper()
		got, err := s.DueHeld(ctx(t), now, n)
		noErr(t, "DueHeld", err)
		return got
	}
	// dueAt checks u is due at exactly when: not a millisecond before.
	dueAt := func(t *testing.T, s store.Store, u store.ChatUser, when time.Time) {
		t.Helper()
		if got := due(t, s, when.Add(-time.Millisecond), 100); slices.Contains(got, u) {
			t.Fatalf("%s due before %s: %v", u, when.Format(time.TimeOnly), got)
		}
		if got := due(t, s, when, 100); !slices.Contains(got, u) {
			t.Fatalf("%s not due at %s: %v", u, when.Format(time.TimeOnly), got)
		}
	}
	notDue := func(t *testing.T, s store.Store, u store.ChatUser) {
		t.Helper()
		if got := due(t, s, far, 100); slices.Contains(got, u) {
			t.Fatalf("%s is due (%v), want not", u, got)
		}
	}

	t.Run("round trip: oldest first, bytes exact, per user", func(t *testing.T) {
		f, s := fresh(t)
		c := ctx(t)
		if got := held(t, s, Alice); len(got) != 0 {
			t.Fatalf("HeldFor of nobody = %v", got)
		}
		every := make([]byte, 256)
		for i := range every {
			every[i] = byte(i)
		}
		items := []struct {
			id   string
			item []byte
		}{
			{"z-first", []byte(`{"record":"lead","id":"1"}`)},
			{"a-second", every},
			{"m:third{x}", []byte("12:34:\x00\xff\xfe:")},
			{"empty", nil},
			{"big", bytes.Repeat([]byte{0, ':', 0xc3}, store.MaxHeldItemLen/3)},
		}
		for _, it := range items {
			noErr(t, "Hold "+it.id, s.Hold(c, Alice, it.id, it.item, time.Time{}))
			f.Advance(5 * time.Millisecond) // distinct At, in this order
		}
		got := held(t, s, Alice)
		if len(got) != len(items) {
			t.Fatalf("HeldFor: %d items, want %d", len(got), len(items))
		}
		for i, it := range items {
			g := got[i]
			if g.ID != it.id || !bytes.Equal(g.Item, it.item) {
				t.Fatalf("HeldFor[%d] = %q (%d bytes), want %q (%d bytes), oldest first", i, g.ID, len(g.Item), it.id, len(it.item))
			}
			if g.At.IsZero() || !g.At.Equal(time.UnixMilli(g.At.UnixMilli())) {
				t.Fatalf("HeldFor[%d].At = %v: want a time at millisecond precision", i, g.At)
			}
			if i > 0 && !g.At.After(got[i-1].At) {
				t.Fatalf("HeldFor[%d].At = %v, not after the one held before (%v)", i, g.At, got[i-1].At)
			}
		}
		got[1].Item[0] = 'X' // the caller's copy
		if again := held(t, s, Alice); again[1].Item[0] != 0 {
			t.Fatal("HeldFor handed out the store's own bytes")
		}
		for _, u := range []store.ChatUser{Bob, {Platform: store.PlatformTeams, Tenant: Alice.Tenant, UserID: Alice.UserID}} {
			if got := held(t, s, u); len(got) != 0 {
				t.Fatalf("%s sees %s's held items: %v", u, Alice, got)
			}
		}
	})

	t.Run("a second Hold of an id keeps the first", func(t *testing.T) {
		f, s := fresh(t)
		noErr(t, "Hold", s.Hold(ctx(t), Alice, "n1", []byte("first"), time.Time{}))
		first := held(t, s, Alice)
		f.Advance(20 * time.Millisecond)
		noErr(t, "Hold again", s.Hold(ctx(t), Alice, "n1", []byte("second"), time.Time{}))
		got := held(t, s, Alice)
		if len(got) != 1 || string(got[0].Item) != "first" || !got[0].At.Equal(first[0].At) {
			t.Fatalf("after a second Hold of the same id: %+v, want the first (held at %v) only", got, first[0].At)
		}
	})

	t.Run("keeps the MaxHeld newest", func(t *testing.T) {
		f, s := fresh(t)
		for i := range store.MaxHeld + 5 {
			hold(t, s, Alice, fmt.Sprintf("n%04d", i), time.Time{})
			if i%50 == 0 {
				f.Advance(2 * time.Millisecond)
			}
		}
		got := held(t, s, Alice)
		if len(got) != store.MaxHeld {
			t.Fatalf("%d held after %d holds, want %d", len(got), store.MaxHeld+5, store.MaxHeld)
		}
		for i, it := range got {
			if want := fmt.Sprintf("n%04d", i+5); it.ID != want || string(it.Item) != "item "+want {
				t.Fatalf("HeldFor[%d] = %q %q, want %q: the 5 oldest go", i, it.ID, it.Item, want)
			}
		}
		// Holding a kept id again trims nothing.
		hold(t, s, Alice, "n0100", time.Time{})
		if got := held(t, s, Alice); len(got) != store.MaxHeld || got[0].ID != "n0005" {
			t.Fatalf("a repeated Hold at the cap changed the items: %d, first %q", len(got), got[0].ID)
		}
		if other := held(t, s, Bob); len(other) != 0 {
			t.Fatalf("Bob holds %d", len(other))
		}
	})

	t.Run("due: the earliest wins", func(t *testing.T) {
		_, s := fresh(t)
		hold(t, s, Alice, "a", at.Add(2*time.Hour))
		dueAt(t, s, Alice, at.Add(2*time.Hour))
		hold(t, s, Alice, "b", at.Add(3*time.Hour))
		dueAt(t, s, Alice, at.Add(2*time.Hour))
		hold(t, s, Alice, "c", at.Add(time.Hour))
		dueAt(t, s, Alice, at.Add(time.Hour))
		hold(t, s, Alice, "a", at) // a repeated id still brings the due time forward
		dueAt(t, s, Alice, at)
		noErr(t, "WakeHeld later", s.WakeHeld(ctx(t), Alice, at.Add(time.Minute)))
		dueAt(t, s, Alice, at)
		noErr(t, "WakeHeld earlier", s.WakeHeld(ctx(t), Alice, at.Add(-time.Minute)))
		dueAt(t, s, Alice, at.Add(-time.Minute))
		if got := heldIDs(t, s, Alice); got != "a,b,c" {
			t.Fatalf("held %s, want a,b,c", got)
		}
	})

	t.Run("zero due: held until woken", func(t *testing.T) {
		_, s := fresh(t)
		hold(t, s, Alice, "a", time.Time{})
		hold(t, s, Alice, "b", time.Time{})
		notDue(t, s, Alice)
		noErr(t, "WakeHeld", s.WakeHeld(ctx(t), Alice, at))
		dueAt(t, s, Alice, at)
		hold(t, s, Alice, "c", time.Time{}) // leaves the due time as it is
		dueAt(t, s, Alice, at)
		if got := heldIDs(t, s, Alice); got != "a,b,c" {
			t.Fatalf("held %s, want a,b,c", got)
		}
	})

	t.Run("WakeHeld with nothing held is a no-op", func(t *testing.T) {
		_, s := fresh(t)
		noErr(t, "WakeHeld", s.WakeHeld(ctx(t), Bob, at))
		notDue(t, s, Bob)
		hold(t, s, Bob, "later", time.Time{}) // the earlier wake left nothing behind
		notDue(t, s, Bob)
		noErr(t, "DropHeld", s.DropHeld(ctx(t), Bob, "later"))
		noErr(t, "WakeHeld after all were dropped", s.WakeHeld(ctx(t), Bob, at))
		notDue(t, s, Bob)
	})

	t.Run("DeferHeld sets the due time, later or earlier, or ends it", func(t *testing.T) {
		_, s := fresh(t)
		c := ctx(t)
		hold(t, s, Alice, "a", at)
		hold(t, s, Alice, "b", at.Add(time.Minute))
		noErr(t, "DeferHeld later", s.DeferHeld(c, Alice, at.Add(time.Hour)))
		dueAt(t, s, Alice, at.Add(time.Hour))
		noErr(t, "DeferHeld earlier", s.DeferHeld(c, Alice, at.Add(30*time.Minute)))
		dueAt(t, s, Alice, at.Add(30*time.Minute))
		hold(t, s, Alice, "c", at.Add(10*time.Minute)) // a later Hold brings it forward again
		dueAt(t, s, Alice, at.Add(10*time.Minute))
		noErr(t, "DeferHeld until relink", s.DeferHeld(c, Alice, time.Time{}))
		notDue(t, s, Alice)
		if got := heldIDs(t, s, Alice); got != "a,b,c" {
			t.Fatalf("DeferHeld changed the items: %s", got)
		}
		hold(t, s, Alice, "d", time.Time{})
		notDue(t, s, Alice)
		noErr(t, "WakeHeld", s.WakeHeld(c, Alice, at))
		dueAt(t, s, Alice, at)
		noErr(t, "DeferHeld of a user holding nothing", s.DeferHeld(c, Bob, at))
		notDue(t, s, Bob)
		wantErr(t, "DeferHeld invalid user", s.DeferHeld(c, store.ChatUser{}, at), store.ErrInvalid)
	})

	t.Run("DropHeld: partial keeps the due time, full ends it", func(t *testing.T) {
		_, s := fresh(t)
		for _, id := range []string{"a", "b", "c"} {
			hold(t, s, Alice, id, at)
		}
		hold(t, s, Bob, "a", at)
		noErr(t, "DropHeld a and an unknown id", s.DropHeld(ctx(t), Alice, "a", "unknown"))
		if got := heldIDs(t, s, Alice); got != "b,c" {
			t.Fatalf("after dropping a: %s, want b,c", got)
		}
		dueAt(t, s, Alice, at)
		noErr(t, "DropHeld nothing", s.DropHeld(ctx(t), Alice))
		dueAt(t, s, Alice, at)
		noErr(t, "DropHeld the rest", s.DropHeld(ctx(t), Alice, "c", "b"))
		if got := held(t, s, Alice); len(got) != 0 {
			t.Fatalf("after dropping all: %v", got)
		}
		notDue(t, s, Alice)
		if got := heldIDs(t, s, Bob); got != "a" {
			t.Fatalf("Bob's held items changed with Alice's: %s", got)
		}
		dueAt(t, s, Bob, at)
		hold(t, s, Alice, "d", time.Time{}) // the old due time is gone for good
		notDue(t, s, Alice)
		noErr(t, "DropHeld of a user holding nothing", s.DropHeld(ctx(t), Carol, "x"))
	})

	t.Run("DueHeld: up to n, earliest first, users exact", func(t *testing.T) {
		_, s := fresh(t)
		users := []store.ChatUser{Odd, Alice, Carol, Bob, {Platform: store.PlatformSlack, Tenant: "T 2", UserID: "U:3"}}
		for i, u := range users { // user i is due at at+i minutes
			hold(t, s, u, "n", at.Add(time.Duration(i)*time.Minute))
		}
		hold(t, s, store.ChatUser{Platform: store.PlatformSlack, Tenant: "T9", UserID: "U9"}, "n", time.Time{}) // never due
		same := func(what string, got []store.ChatUser, want ...store.ChatUser) {
			t.Helper()
			if len(got) != len(want) {
				t.Fatalf("%s: %v, want %v", what, got, want)
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s: [%d] = %#v, want %#v", what, i, got[i], want[i])
				}
			}
		}
		same("before anyone is due", due(t, s, at.Add(-time.Millisecond), 10))
		same("n = 3 of 5", due(t, s, far, 3), users[:3]...)
		same("all due", due(t, s, far, 100), users...)
		same("due at or before at+2m", due(t, s, at.Add(2*time.Minute), 100), users[:3]...)
		same("n = 1", due(t, s, at.Add(2*time.Minute), 1), users[0])
		for _, n := range []int{0, -1} {
			_, err := s.DueHeld(ctx(t), far, n)
			wantErr(t, fmt.Sprintf("DueHeld n=%d", n), err, store.ErrInvalid)
		}
	})

	t.Run("concurrent Holds all land", func(t *testing.T) {
		_, s := fresh(t)
		var wg sync.WaitGroup
		for i := range Racers {
			wg.Go(func() {
				id := fmt.Sprintf("racer-%02d", i)
				if err := s.Hold(ctx(t), Carol, id, []byte(id), at.Add(time.Duration(Racers-i)*time.Minute)); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got := held(t, s, Carol)
		if len(got) != Racers {
			t.Fatalf("%d of %d concurrent holds kept", len(got), Racers)
		}
		for _, it := range got {
			if string(it.Item) != it.ID {
				t.Fatalf("item %q holds %q", it.ID, it.Item)
			}
		}
		dueAt(t, s, Carol, at.Add(time.Minute)) // the earliest racer's
	})

	// Racers hold and drop their own ids while others do the same and
	// others wake the user (Hold, WakeHeld and DropHeld each look at the
	// items and change the due time in one step): when all is dropped the
	// user must not be left due, and when some racers keep their last id
	// the user must still be due.
	t.Run("concurrent Hold, WakeHeld and DropHeld keep the due time right", func(t *testing.T) {
		_, s := fresh(t)
		race := func(keepLast bool) {
			var wg sync.WaitGroup
			done := make(chan struct{})
			for range Racers / 4 {
				wg.Go(func() {
					for {
						select {
						case <-done:
							return
						default:
						}
						if err := s.WakeHeld(ctx(t), Alice, at); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			var holders sync.WaitGroup
			for i := range Racers {
				holders.Go(func() {
					for j := range 10 {
						id := fmt.Sprintf("r%02d-%d-%v", i, j, keepLast)
						if err := s.Hold(ctx(t), Alice, id, []byte(id), at); err != nil {
							t.Error(err)
							return
						}
						if keepLast && j == 9 && i%2 == 0 {
							return
						}
						if err := s.DropHeld(ctx(t), Alice, id); err != nil {
							t.Error(err)
							return
						}
					}
				})
			}
			holders.Wait()
			close(done)
			wg.Wait()
		}
		race(false)
		if got := held(t, s, Alice); len(got) != 0 {
			t.Fatalf("%d items left after every racer dropped its own", len(got))
		}
		notDue(t, s, Alice)
		race(true)
		if got := held(t, s, Alice); len(got) != Racers/2 {
			t.Fatalf("%d items left, want the %d racers kept", len(got), Racers/2)
		}
		dueAt(t, s, Alice, at)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		_, s := fresh(t)
		c := ctx(t)
		bad := store.ChatUser{Platform: "irc", Tenant: "t", UserID: "u"}
		for _, tc := range []struct {
			name string
			err  error
		}{
			{"Hold invalid user", s.Hold(c, bad, "n", nil, at)},
			{"Hold empty user", s.Hold(c, store.ChatUser{}, "n", nil, at)},
			{"Hold empty id", s.Hold(c, Alice, "", []byte("x"), at)},
			{"Hold long id", s.Hold(c, Alice, strings.Repeat("x", store.MaxHeldIDLen+1), []byte("x"), at)},
			{"Hold big item", s.Hold(c, Alice, "n", make([]byte, store.MaxHeldItemLen+1), at)},
			{"WakeHeld invalid user", s.WakeHeld(c, bad, at)},
			{"WakeHeld zero time", s.WakeHeld(c, Alice, time.Time{})},
			{"DropHeld invalid user", s.DropHeld(c, bad, "n")},
			{"HeldFor invalid user", func() error { _, err := s.HeldFor(c, bad); return err }()},
		} {
			wantErr(t, tc.name, tc.err, store.ErrInvalid)
		}
		if got := held(t, s, Alice); len(got) != 0 {
			t.Fatalf("refused holds left %v", got)
		}
		notDue(t, s, Alice)
		// At the caps exactly is fine.
		noErr(t, "Hold at the caps", s.Hold(c, Alice, strings.Repeat("x", store.MaxHeldIDLen), make([]byte, store.MaxHeldItemLen), at))
		dueAt(t, s, Alice, at)
	})
}
