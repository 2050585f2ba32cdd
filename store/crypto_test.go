package store

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func mustRing(t *testing.T, keys ...[]byte) *Keyring {
	t.Helper()
	k, err := NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := mustRing(t, testKey(1))
	aad := TokenAAD(ChatUser{PlatformSlack, "T1", "U1"}, FieldRefreshToken)
	sealed, err := k.Seal([]byte("secret"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sealed, "v1."+k.CurrentKeyID()+".") {
		t.Fatalf("sealed %q lacks the version and key id prefix", sealed)
	}
	if strings.Contains(sealed, base64.StdEncoding.EncodeToString(testKey(1))[:20]) {
		t.Fatal("the key shows in the ciphertext")
	}
	again, _ := k.Seal([]byte("secret"), aad)
	if again == sealed {
		t.Fatal("two seals of one plaintext are equal: nonce reuse")
	}
	pt, err := k.Open(sealed, aad)
	if err != nil || string(pt) != "secret" {
		t.Fatalf("Open = %q, %v", pt, err)
	}

	t.Run("ErrTampered", func(t *testing.T) {
		id, raw, err := ParseSealed(sealed)
		if err != nil {
			t.Fatal(err)
		}
		for i := range raw {
			bad := bytes.Clone(raw)
			bad[i] ^= 0x01
			_, err := k.Open("v1."+id+"."+base64.RawURLEncoding.EncodeToString(bad), aad)
			if !errors.Is(err, ErrUndecryptable) {
				t.Fatalf("byte %d flipped: %v, want ErrUndecryptable", i, err)
			}
		}
	})
	t.Run("ErrWrongAAD", func(t *testing.T) {
		for name, other := range map[string][]byte{
			"other user":     TokenAAD(ChatUser{PlatformSlack, "T1", "U2"}, FieldRefreshToken),
			"other tenant":   TokenAAD(ChatUser{PlatformSlack, "T2", "U1"}, FieldRefreshToken),
			"other platform": TokenAAD(ChatUser{PlatformTeams, "T1", "U1"}, FieldRefreshToken),
			"other field":    TokenAAD(ChatUser{PlatformSlack, "T1", "U1"}, FieldAccessToken),
			"shifted parts":  TokenAAD(ChatUser{PlatformSlack, "T1U", "1"}, FieldRefreshToken),
		} {
			if _, err := k.Open(sealed, other); !errors.Is(err, ErrUndecryptable) {
				t.Errorf("%s: %v, want ErrUndecryptable", name, err)
			}
		}
	})
	t.Run("ErrUnknownKeyID", func(t *testing.T) {
		_, err := mustRing(t, testKey(2)).Open(sealed, aad)
		if !errors.Is(err, ErrUnknownKeyID) {
			t.Fatalf("got %v, want ErrUnknownKeyID", err)
		}
	})
	t.Run("rotation", func(t *testing.T) {
		rotated := mustRing(t, testKey(2), testKey(1))
		if pt, err := rotated.Open(sealed, aad); err != nil || string(pt) != "secret" {
			t.Fatalf("old key listed second must still open: %v", err)
		}
		out, changed, err := rotated.Reseal(sealed, aad)
		if err != nil || !changed {
			t.Fatalf("Reseal: changed %v, %v", changed, err)
		}
		if id, _, _ := ParseSealed(out); id != rotated.CurrentKeyID() || id == k.CurrentKeyID() {
			t.Fatalf("resealed under key id %s, want the current %s", id, rotated.CurrentKeyID())
		}
		if pt, err := mustRing(t, testKey(2)).Open(out, aad); err != nil || string(pt) != "secret" {
			t.Fatalf("new key alone must open the resealed value: %v", err)
		}
		same, changed, err := rotated.Reseal(out, aad)
		if err != nil || changed || same != out {
			t.Fatalf("resealing a current value: changed %v, %v", changed, err)
		}
	})
}

func TestKeyIDsAreStableAndDistinct(t *testing.T) {
	a, b := mustRing(t, testKey(1)), mustRing(t, testKey(1), testKey(2))
	if a.CurrentKeyID() != b.CurrentKeyID() || len(a.CurrentKeyID()) != keyIDLen {
		t.Fatalf("ids %s / %s", a.CurrentKeyID(), b.CurrentKeyID())
	}
	if ids := b.KeyIDs(); ids[0] == ids[1] {
		t.Fatal("two keys share an id")
	}
}

func TestParseKeyring(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(testKey(7))
	for _, tc := range []struct {
		name, value, wantErr string
	}{
		{"OK", good, ""},
		{"OK list with spaces", good + " , " + base64.RawStdEncoding.EncodeToString(testKey(8)), ""},
		{"ErrEmpty", " , ", "no key"},
		{"ErrNotBase64", "not base64!!", "key 1 is not base64"},
		{"ErrShortKey", base64.StdEncoding.EncodeToString(make([]byte, 16)), "key 1 is 16 bytes, want 32"},
		{"ErrDuplicate", good + "," + good, "key 2 is listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKeyEnv(tc.value)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), KeyEnv) {
				t.Fatalf("got %v, want an error naming %s containing %q", err, KeyEnv, tc.wantErr)
			}
			if strings.Contains(err.Error(), tc.value) && tc.value != " , " {
				t.Fatal("the error repeats the key")
			}
		})
	}
	k, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseKeyEnv(k); err != nil {
		t.Fatalf("a generated key does not parse: %v", err)
	}
}

func TestTokensNeverPrinted(t *testing.T) {
	tok := Tokens{RefreshToken: "rt-secret", AccessToken: "at-secret", Version: 3}
	for _, s := range []string{tok.String(), tok.GoString(), tok.LogValue().String()} {
		if strings.Contains(s, "secret") {
			t.Fatalf("%q shows a token", s)
		}
	}
}

// FuzzOpen feeds arbitrary text (what a tampered store could hold) to the
// ciphertext parser: it must error, never panic, and never open junk.
func FuzzOpen(f *testing.F) {
	k, err := NewKeyring(testKey(1))
	if err != nil {
		f.Fatal(err)
	}
	aad := AAD("fuzz")
	sealed, err := k.Seal([]byte("hello"), aad)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{sealed, "", "v1.", "v1..", "v1.00000000.", "v1.ZZZZZZZZ.AAAA", "v2." + sealed[3:], sealed[:len(sealed)-2]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pt, err := k.Open(s, aad)
		// Only a genuine seal opens (fuzz workers seal their own, so compare
		// shape, not the string); anything else would be a forgery.
		if err == nil {
			id, raw, perr := ParseSealed(s)
			if string(pt) != "hello" || perr != nil || id != k.CurrentKeyID() ||
				s != "v1."+id+"."+base64.RawURLEncoding.EncodeToString(raw) {
				t.Fatalf("Open accepted %q", s)
			}
		}
		if err != nil && !errors.Is(err, ErrUndecryptable) && !errors.Is(err, ErrUnknownKeyID) {
			t.Fatalf("untyped error %v", err)
		}
	})
}
