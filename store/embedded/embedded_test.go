package embedded

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/storetest"
)

// fakeClock is a clock the suite moves instead of sleeping.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, keys *store.Keyring) storetest.Fixture {
		clock := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
		s, err := New(Options{Keys: keys, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return storetest.Fixture{
			Store:   s,
			Reopen:  func(k *store.Keyring) store.Store { return s.WithKeyring(k) },
			Advance: clock.Advance,
			WithDedupeWindow: func(w time.Duration) store.Store {
				c := *s
				c.window = w
				return &c
			},
			RawInstallation: func(key string) (string, error) {
				s.d.mu.Lock()
				defer s.d.mu.Unlock()
				in, ok := s.d.installMap()[key]
				if !ok {
					return "", store.ErrNotFound
				}
				// Every field, tokens included (%+v of the embedded
				// Installation would go through its redacting String).
				i := in.Installation
				return fmt.Sprintln(i.TeamID, i.TeamName, i.EnterpriseID, i.EnterpriseName, i.IsEnterpriseInstall,
					i.BotUserID, i.BotID, i.AppID, i.Scope, i.InstalledBy, i.InstalledAt, i.BotToken,
					i.BotRefreshToken, i.BotTokenExpiresAt, in.Token, in.Refresh), nil
			},
			CopySealedBotToken: func(from, to string) error {
				s.d.mu.Lock()
				defer s.d.mu.Unlock()
				m := s.d.installMap()
				f, ok1 := m[from]
				dst, ok2 := m[to]
				if !ok1 || !ok2 {
					return store.ErrNotFound
				}
				dst.Token = f.Token
				m[to] = dst
				return nil
			},
			CopySealedRefreshToken: func(from, to store.ChatUser) error {
				s.d.mu.Lock()
				defer s.d.mu.Unlock()
				f, ok1 := s.d.links[from]
				dst, ok2 := s.d.links[to]
				if !ok1 || !ok2 {
					return store.ErrNotFound
				}
				dst.sealed.Refresh = f.sealed.Refresh
				return nil
			},
		}
	})
}

func TestExpiredEntriesAreSwept(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	s, err := New(Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for i := range sweepEvery {
		if _, err := s.SeenOnce(ctx, "event-"+string(rune(i)), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(2 * time.Minute)
	for i := range sweepEvery {
		if _, err := s.SeenOnce(ctx, "later-"+string(rune(i)), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	s.d.mu.Lock()
	n := len(s.d.seen)
	s.d.mu.Unlock()
	if n > sweepEvery {
		t.Fatalf("%d dedupe records kept, want expired ones swept (≤ %d)", n, sweepEvery)
	}
}

func TestDeadLettersAreCapped(t *testing.T) {
	clock := &fakeClock{now: time.Unix(0, 0)}
	s, err := New(Options{Now: clock.Now, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	key := store.SyncKey{Org: "o", RecordType: "lead"}
	fence, _, err := s.AcquireLease(ctx, key, "r", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	const n = store.MaxDeadLetters + 10
	evs := make([]store.OutboxEvent, n)
	for i := range evs {
		evs[i] = store.OutboxEvent{DedupeKey: fmt.Sprintf("d%d", i), Payload: []byte("p")}
	}
	if _, err := s.CommitSync(ctx, key, fence, store.Commit{Events: evs}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadOutbox(ctx, key, "w", n, 0)
	if err != nil || len(got) != n {
		t.Fatalf("read %d: %v", len(got), err)
	}
	for _, e := range got {
		if dead, err := s.FailOutbox(ctx, key, e.ID, "down"); err != nil || !dead {
			t.Fatalf("FailOutbox: %v %v", dead, err)
		}
	}
	dl, err := s.ListDead(ctx, key, 2*n)
	if err != nil {
		t.Fatal(err)
	}
	if len(dl) != store.MaxDeadLetters || dl[0].DedupeKey != "d10" {
		t.Fatalf("%d dead letters kept, first %q; want %d, oldest dropped first", len(dl), dl[0].DedupeKey, store.MaxDeadLetters)
	}
}
