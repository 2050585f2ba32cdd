// Package storetest is the conformance suite every store implementation must
// pass; redisstore and embedded run it from their tests.
package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crmbot/crmbot/store"
)

// Fixture is one fresh, empty store plus the hooks the suite needs to reach
// behind it.
type Fixture struct {
	// Store is the store under test, built with the keys NewFunc was given.
	Store store.Store
	// Reopen returns a store over the same data using other keys, as after a
	// restart with a changed CRMBOT_ENCRYPTION_KEY.
	Reopen func(keys *store.Keyring) store.Store
	// Advance lets d pass for expiry: a fake clock moves, or the test sleeps.
	Advance func(d time.Duration)
	// CopySealedRefreshToken writes from's stored refresh-token ciphertext
	// onto to's link, bypassing the store, as an attacker with write access
	// to the backing store would.
	CopySealedRefreshToken func(from, to store.ChatUser) error
	// RawInstallation returns everything the store keeps for the Slack
	// installation stored under key (store.Installation.Key()), as text —
	// every field of the Redis hash, every field of the in-memory record —
	// so the suite can check no token is stored in plaintext.
	RawInstallation func(key string) (string, error)
	// CopySealedBotToken writes from's stored bot-token ciphertext onto the
	// installation under to (keys as store.Installation.Key()), bypassing
	// the store.
	CopySealedBotToken func(from, to string) error
	// WithDedupeWindow returns a store over the same data whose outbox
	// dedupe window is window (Options.DedupeWindow).
	WithDedupeWindow func(window time.Duration) store.Store
}

// NewFunc builds a Fixture whose store seals with keys. It registers its own
// cleanup with t.
type NewFunc func(t *testing.T, keys *store.Keyring) Fixture

// Run runs the whole suite: user state, sync state (RunSync) and
// the cross-replica lock (RunLocks).
func Run(t *testing.T, newFixture NewFunc) {
	t.Run("Links", func(t *testing.T) { RunLinks(t, newFixture) })
	t.Run("Crypto", func(t *testing.T) { RunCrypto(t, newFixture) })
	t.Run("FlowSessions", func(t *testing.T) { RunFlowSessions(t, newFixture) })
	t.Run("Nonces", func(t *testing.T) { RunNonces(t, newFixture) })
	t.Run("PendingLinks", func(t *testing.T) { RunPendingLinks(t, newFixture) })
	t.Run("Dedupe", func(t *testing.T) { RunDedupe(t, newFixture) })
	t.Run("Preferences", func(t *testing.T) { RunPreferences(t, newFixture) })
	t.Run("Sync", func(t *testing.T) { RunSync(t, newFixture) })
	t.Run("Locks", func(t *testing.T) { RunLocks(t, newFixture) })
	t.Run("Installs", func(t *testing.T) { RunInstalls(t, newFixture) })
	t.Run("Recent", func(t *testing.T) { RunRecent(t, newFixture) })
	t.Run("Conversations", func(t *testing.T) { RunConversations(t, newFixture) })
	t.Run("Pokes", func(t *testing.T) { RunPokes(t, newFixture) })
	t.Run("Delivery", func(t *testing.T) { RunDelivery(t, newFixture) })
	t.Run("Stats", func(t *testing.T) { RunStats(t, newFixture) })
	t.Run("Ping", func(t *testing.T) {
		f := newFixture(t, mustKeyring(t))
		if err := f.Store.Ping(ctx(t)); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

// Racers is how many goroutines the concurrency scenarios start.
const Racers = 16

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func mustKeyring(t *testing.T) *store.Keyring {
	t.Helper()
	k, err := store.RandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rawKeys are three keys for rotation scenarios; a Keyring hides its keys,
// so the suite keeps them raw to build keyrings from.
type rawKeys struct{ a, b, c []byte }

func newRawKeys(t *testing.T) rawKeys {
	t.Helper()
	return rawKeys{a: randomKey(t), b: randomKey(t), c: randomKey(t)}
}

func randomKey(t *testing.T) []byte {
	t.Helper()
	k, err := store.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring, err := store.ParseKeyEnv(k)
	if err != nil || ring == nil {
		t.Fatalf("generated key does not parse: %v", err)
	}
	raw, err := decodeStd(k)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func keyring(t *testing.T, keys ...[]byte) *store.Keyring {
	t.Helper()
	k, err := store.NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func wantErr(t *testing.T, what string, err error, targets ...error) {
	t.Helper()
	for _, target := range targets {
		if !errors.Is(err, target) {
			t.Fatalf("%s: got error %v, want one matching %v", what, err, target)
		}
	}
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
