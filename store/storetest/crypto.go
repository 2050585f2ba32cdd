package storetest

import (
	"testing"

	"github.com/crmbot/crmbot/store"
)

// RunCrypto checks that tokens at rest are bound to their keys, owners and
// fields, and that rotation re-encrypts.
func RunCrypto(t *testing.T, newFixture NewFunc) {
	keys := newRawKeys(t)

	t.Run("key rotated away breaks the link", func(t *testing.T) {
		f, c := newFixture(t, keyring(t, keys.a)), ctx(t)
		_, err := f.Store.PutLink(c, linkOf(Alice, SysAlice), tokensOf("a"))
		noErr(t, "PutLink", err)
		s := f.Reopen(keyring(t, keys.b))
		_, err = s.Tokens(c, Alice)
		wantErr(t, "Tokens sealed with a key no longer configured", err, store.ErrBrokenLink, store.ErrUnknownKeyID)
		l, err := s.GetLink(c, Alice)
		noErr(t, "GetLink", err)
		if !l.Broken || l.BrokenReason == "" {
			t.Fatalf("link not marked broken: %+v", l)
		}
		first, err := s.MarkBroken(c, Alice, "again")
		noErr(t, "MarkBroken", err)
		if first {
			t.Fatal("MarkBroken after the decryption failure reported first: the user would be told twice")
		}
	})

	t.Run("ciphertext copied onto another user is refused", func(t *testing.T) {
		f, c := newFixture(t, keyring(t, keys.a)), ctx(t)
		_, err := f.Store.PutLink(c, linkOf(Alice, SysAlice), tokensOf("alice"))
		noErr(t, "PutLink alice", err)
		_, err = f.Store.PutLink(c, linkOf(Bob, SysBob), tokensOf("bob"))
		noErr(t, "PutLink bob", err)
		noErr(t, "copy ciphertext", f.CopySealedRefreshToken(Alice, Bob))
		_, err = f.Store.Tokens(c, Bob)
		wantErr(t, "Tokens with alice's ciphertext on bob", err, store.ErrBrokenLink, store.ErrUndecryptable)
		tok, err := f.Store.Tokens(c, Alice)
		noErr(t, "alice's own tokens", err)
		if tok.RefreshToken != "rt-alice" {
			t.Fatal("alice's tokens changed")
		}
	})

	t.Run("rotate re-encrypts with the current key", func(t *testing.T) {
		f, c := newFixture(t, keyring(t, keys.a)), ctx(t)
		for _, u := range []store.ChatUser{Alice, Carol} {
			_, err := f.Store.PutLink(c, linkOf(u, SysAlice), tokensOf(u.UserID))
			noErr(t, "PutLink", err)
		}
		// Bob's tokens are under a key the rotation will not know: he breaks.
		_, err := f.Reopen(keyring(t, keys.c)).PutLink(c, linkOf(Bob, SysBob), tokensOf("bob"))
		noErr(t, "PutLink bob", err)
		// Already broken links are left alone.
		before, err := f.Store.GetLink(c, Alice)
		noErr(t, "GetLink", err)

		rotating := f.Reopen(keyring(t, keys.b, keys.a))
		rep, err := rotating.RotateKeys(c)
		noErr(t, "RotateKeys", err)
		if rep != (store.RotateReport{Links: 3, Rewritten: 2, Broken: 1}) {
			t.Fatalf("RotateKeys report %+v, want 3 links, 2 rewritten, 1 broken", rep)
		}
		rep, err = rotating.RotateKeys(c)
		noErr(t, "RotateKeys again", err)
		if rep != (store.RotateReport{Links: 2}) {
			t.Fatalf("second RotateKeys report %+v, want 2 links, nothing rewritten", rep)
		}

		onlyNew := f.Reopen(keyring(t, keys.b))
		for _, u := range []store.ChatUser{Alice, Carol} {
			tok, err := onlyNew.Tokens(c, u)
			noErr(t, "Tokens under the new key alone", err)
			if tok.RefreshToken != "rt-"+u.UserID || tok.AccessToken != "at-"+u.UserID {
				t.Fatalf("tokens of %s changed by rotation", u)
			}
		}
		after, err := onlyNew.GetLink(c, Alice)
		noErr(t, "GetLink", err)
		if after.Version != before.Version {
			t.Fatalf("rotation changed the token version %d → %d: it would fail a concurrent refresh for nothing", before.Version, after.Version)
		}
		_, err = onlyNew.Tokens(c, Bob)
		wantErr(t, "Bob's tokens", err, store.ErrBrokenLink)
	})
}
