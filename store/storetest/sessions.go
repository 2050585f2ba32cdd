package storetest

import (
	"bytes"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmbot/crmbot/store"
)

// Short real TTLs keep the Redis run quick; embedded fixtures move a fake
// clock instead of sleeping.
const (
	shortTTL = 600 * time.Millisecond
	longTTL  = 5 * time.Second
)

// RunFlowSessions checks flow sessions and their expiry.
func RunFlowSessions(t *testing.T, newFixture NewFunc) {
	t.Run("round trip and delete", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		id, err := s.CreateFlow(c, []byte("state-1"), longTTL)
		noErr(t, "CreateFlow", err)
		if !store.ValidID(id, store.FlowIDBytes) {
			t.Fatalf("flow id %q is not 128-bit base64url", id)
		}
		other, err := s.CreateFlow(c, []byte("state-2"), longTTL)
		noErr(t, "CreateFlow", err)
		if other == id {
			t.Fatal("two flows got one id")
		}
		got, err := s.GetFlow(c, id)
		noErr(t, "GetFlow", err)
		if string(got) != "state-1" {
			t.Fatalf("GetFlow = %q", got)
		}
		noErr(t, "UpdateFlow", s.UpdateFlow(c, id, []byte("state-1b"), 0))
		got, err = s.GetFlow(c, id)
		noErr(t, "GetFlow", err)
		if string(got) != "state-1b" {
			t.Fatalf("GetFlow after update = %q", got)
		}
		noErr(t, "DeleteFlow", s.DeleteFlow(c, id))
		_, err = s.GetFlow(c, id)
		wantErr(t, "GetFlow after delete", err, store.ErrNotFound)
		noErr(t, "DeleteFlow again", s.DeleteFlow(c, id))
		wantErr(t, "UpdateFlow after delete", s.UpdateFlow(c, id, []byte("x"), 0), store.ErrNotFound)
		for _, junk := range []string{"", "nope", "../../etc", "{links}:link:x"} {
			_, err = s.GetFlow(c, junk)
			wantErr(t, "GetFlow of junk id "+junk, err, store.ErrNotFound)
		}
		_, err = s.CreateFlow(c, []byte("x"), 0)
		wantErr(t, "CreateFlow without TTL", err, store.ErrInvalid)
	})

	t.Run("expiry, and update keeps or restarts the TTL", func(t *testing.T) {
		f, c := newFixture(t, mustKeyring(t)), ctx(t)
		s := f.Store
		kept, err := s.CreateFlow(c, []byte("kept"), shortTTL)
		noErr(t, "CreateFlow", err)
		renewed, err := s.CreateFlow(c, []byte("renewed"), shortTTL)
		noErr(t, "CreateFlow", err)
		f.Advance(shortTTL / 2)
		noErr(t, "UpdateFlow keeping TTL", s.UpdateFlow(c, kept, []byte("kept-2"), 0))
		noErr(t, "UpdateFlow restarting TTL", s.UpdateFlow(c, renewed, []byte("renewed-2"), longTTL))
		f.Advance(shortTTL/2 + 300*time.Millisecond)
		_, err = s.GetFlow(c, kept)
		wantErr(t, "GetFlow after its TTL (update kept it)", err, store.ErrNotFound)
		wantErr(t, "UpdateFlow of an expired session", s.UpdateFlow(c, kept, []byte("zombie"), longTTL), store.ErrNotFound)
		_, err = s.GetFlow(c, kept)
		wantErr(t, "an update must not recreate an expired session", err, store.ErrNotFound)
		got, err := s.GetFlow(c, renewed)
		noErr(t, "GetFlow of the renewed session", err)
		if string(got) != "renewed-2" {
			t.Fatalf("renewed = %q", got)
		}
	})
}

// RunNonces checks link nonces: opaque, one-time, sealed payloads.
func RunNonces(t *testing.T, newFixture NewFunc) {
	t.Run("single use under concurrency", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		payload := []byte(`{"verifier":"pkce-verifier","user":"U0ALICE"}`)
		nonce, err := s.CreateNonce(c, payload)
		noErr(t, "CreateNonce", err)
		if !store.ValidID(nonce, store.NonceBytes) {
			t.Fatalf("nonce %q is not 256-bit base64url", nonce)
		}
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range Racers {
			wg.Go(func() {
				got, err := s.TakeNonce(c, nonce)
				switch {
				case err == nil && bytes.Equal(got, payload):
					wins.Add(1)
				case err == nil:
					t.Errorf("TakeNonce payload %q", got)
				case !errors.Is(err, store.ErrNotFound):
					t.Errorf("TakeNonce: %v, want ErrNotFound", err)
				}
			})
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("%d callers took the nonce, want exactly 1", n)
		}
		_, err = s.TakeNonce(c, "not-a-nonce")
		wantErr(t, "TakeNonce of junk", err, store.ErrNotFound)
	})
	t.Run("peek reads without using up; take ends peeking", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		payload := []byte(`{"verifier":"v"}`)
		nonce, err := s.CreateNonce(c, payload)
		noErr(t, "CreateNonce", err)
		for i := range 2 {
			got, err := s.PeekNonce(c, nonce)
			noErr(t, "PeekNonce", err)
			if !bytes.Equal(got, payload) {
				t.Fatalf("peek %d = %q", i, got)
			}
		}
		if _, err := s.TakeNonce(c, nonce); err != nil {
			t.Fatalf("TakeNonce after peeks: %v", err)
		}
		_, err = s.PeekNonce(c, nonce)
		wantErr(t, "PeekNonce of a taken nonce", err, store.ErrNotFound)
		_, err = s.PeekNonce(c, "not-a-nonce")
		wantErr(t, "PeekNonce of junk", err, store.ErrNotFound)
	})
}

// RunPendingLinks checks sign-ins waiting for their one-time code.
func RunPendingLinks(t *testing.T, newFixture NewFunc) {
	t.Run("per user, single take, replaced by a newer one", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		noErr(t, "PutPendingLink", s.PutPendingLink(c, Alice, []byte("first"), longTTL))
		noErr(t, "PutPendingLink again", s.PutPendingLink(c, Alice, []byte("second"), longTTL))
		noErr(t, "PutPendingLink other user", s.PutPendingLink(c, Carol, []byte("carol's"), longTTL))
		_, err := s.TakePendingLink(c, Bob)
		wantErr(t, "TakePendingLink of a user with none", err, store.ErrNotFound)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range Racers {
			wg.Go(func() {
				got, err := s.TakePendingLink(c, Alice)
				switch {
				case err == nil && string(got) == "second":
					wins.Add(1)
				case err == nil:
					t.Errorf("TakePendingLink = %q, want the newer payload", got)
				case !errors.Is(err, store.ErrNotFound):
					t.Errorf("TakePendingLink: %v", err)
				}
			})
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("%d callers took the pending link, want exactly 1", n)
		}
		got, err := s.TakePendingLink(c, Carol)
		noErr(t, "TakePendingLink of the other user", err)
		if string(got) != "carol's" {
			t.Fatalf("Carol's pending = %q", got)
		}
		wantErr(t, "PutPendingLink of an invalid user", s.PutPendingLink(c, store.ChatUser{}, []byte("x"), longTTL), store.ErrInvalid)
		wantErr(t, "PutPendingLink with no TTL", s.PutPendingLink(c, Alice, []byte("x"), 0), store.ErrInvalid)
	})
	t.Run("expires after its TTL", func(t *testing.T) {
		f, c := newFixture(t, mustKeyring(t)), ctx(t)
		noErr(t, "PutPendingLink", f.Store.PutPendingLink(c, Alice, []byte("p"), shortTTL))
		f.Advance(shortTTL + 300*time.Millisecond)
		_, err := f.Store.TakePendingLink(c, Alice)
		wantErr(t, "TakePendingLink after its TTL", err, store.ErrNotFound)
	})
	t.Run("sealed for its user under the current key", func(t *testing.T) {
		keys := mustKeyring(t)
		f, c := newFixture(t, keys), ctx(t)
		noErr(t, "PutPendingLink", f.Store.PutPendingLink(c, Alice, []byte("refresh-canary"), longTTL))
		other := f.Reopen(mustKeyring(t)) // a restart with an unrelated key
		_, err := other.TakePendingLink(c, Alice)
		wantErr(t, "TakePendingLink with the wrong key", err, store.ErrUnknownKeyID)
	})
}

// RunDedupe checks inbound event dedupe.
func RunDedupe(t *testing.T, newFixture NewFunc) {
	t.Run("first caller only, again after the TTL", func(t *testing.T) {
		f, c := newFixture(t, mustKeyring(t)), ctx(t)
		s := f.Store
		var firsts atomic.Int32
		var wg sync.WaitGroup
		for range Racers {
			wg.Go(func() {
				first, err := s.SeenOnce(c, "slack:Ev0123:{x}", shortTTL)
				if err != nil {
					t.Errorf("SeenOnce: %v", err)
				}
				if first {
					firsts.Add(1)
				}
			})
		}
		wg.Wait()
		if n := firsts.Load(); n != 1 {
			t.Fatalf("%d callers saw the event first, want exactly 1", n)
		}
		first, err := s.SeenOnce(c, "teams:Ev0123:{x}", shortTTL)
		noErr(t, "SeenOnce other key", err)
		if !first {
			t.Fatal("another key was deduped")
		}
		f.Advance(shortTTL + 300*time.Millisecond)
		first, err = s.SeenOnce(c, "slack:Ev0123:{x}", shortTTL)
		noErr(t, "SeenOnce after TTL", err)
		if !first {
			t.Fatal("the record outlived its TTL")
		}
	})
}

// RunPreferences checks defaults and the round trip.
func RunPreferences(t *testing.T, newFixture NewFunc) {
	t.Run("defaults then round trip", func(t *testing.T) {
		s, c := newFixture(t, mustKeyring(t)).Store, ctx(t)
		p, err := s.GetPreferences(c, Carol)
		noErr(t, "GetPreferences", err)
		def := store.DefaultPreferences()
		if !p.NotifyPreviousOwner || p.Digest || p.ChannelID != "" || !p.Wants("incident") || p.TimeZone != def.TimeZone {
			t.Fatalf("defaults %+v", p)
		}
		want := store.Preferences{
			RecordTypes: map[string]bool{"incident": false, "lead": true}, ChannelID: "C0123",
			Digest: true, DigestHour: 17, TimeZone: "Europe/Paris",
			SnoozeUntil: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), NotifyPreviousOwner: false,
		}
		noErr(t, "PutPreferences", s.PutPreferences(c, Carol, want))
		got, err := s.GetPreferences(c, Carol)
		noErr(t, "GetPreferences", err)
		if got.ChannelID != want.ChannelID || !got.Digest || got.DigestHour != 17 || got.TimeZone != want.TimeZone ||
			!got.SnoozeUntil.Equal(want.SnoozeUntil) || got.NotifyPreviousOwner || got.Wants("incident") ||
			!got.Wants("lead") || !got.Wants("opportunity") {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
		}
		other, err := s.GetPreferences(c, Alice)
		noErr(t, "GetPreferences of another user", err)
		if !other.NotifyPreviousOwner {
			t.Fatal("another user's preferences changed")
		}
		bad := store.DefaultPreferences()
		bad.DigestHour = 24
		wantErr(t, "PutPreferences with hour 24", s.PutPreferences(c, Carol, bad), store.ErrInvalid)
	})
}
