// Package embedded implements the store interfaces in process, so crmbot runs
// with no Redis at all.
//
// Nothing is persisted: a restart forgets links (users relink with /crm link),
// flow sessions, nonces, dedupe records and preferences. That is deliberate.
// The embedded store serves `go run ./cmd/crmbot` against the in-process
// sandbox, whose own data is not persisted either, so links to it could not
// survive a restart anyway; and a file of refresh tokens on a laptop is one
// more secret to guard. Deployments that must keep state set REDIS_URL.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/crmbot/crmbot/store"
)

// Options configure a Store.
type Options struct {
	// Keys encrypt tokens and nonce payloads; nil means a random key for this
	// process (nothing outlives it anyway).
	Keys *store.Keyring
	// Now is the clock; nil means time.Now. Tests inject a fake one.
	Now func() time.Time
	// MaxAttempts is how many deliveries an outbox entry gets before it is
	// dead-lettered; 0 means store.DefaultMaxAttempts.
	MaxAttempts int
	// DedupeWindow is how long enqueued events' dedupe keys are kept; 0 means
	// store.DefaultDedupeWindow.
	DedupeWindow time.Duration
}

// Store is the in-process store. It is safe for concurrent use.
type Store struct {
	d    *data
	keys *store.Keyring
	now  func() time.Time

	maxAttempts int
	window      time.Duration
}

var _ store.Store = (*Store)(nil)

// data is shared between stores made by WithKeyring.
type data struct {
	pokes  pokeHub // its own lock
	mu     sync.Mutex
	links  map[store.ChatUser]*linkRecord
	bySys  map[string]map[store.ChatUser]struct{}
	flows  map[string]expiring // by store.LookupKey(id)
	locks  map[string]expiring // by lock name; value is the holder's token
	nonces map[string]expiring // by store.LookupKey(nonce); value is sealed
	// pending links awaiting their one-time code; value is sealed
	pending map[store.ChatUser]expiring
	seen    map[string]time.Time
	prefs   map[store.ChatUser]store.Preferences
	sync    map[store.SyncKey]*syncState
	// Slack installations by store.Installation.Key(); tokens sealed
	installs map[string]store.SealedInstallation
	// Slack team id → Enterprise Grid id, as inbound requests showed it
	teamEnt map[string]string
	// recent assignments per chat user, newest first
	recent map[store.ChatUser][]store.Recent
	// Teams conversation references per chat user
	conversations map[store.ChatUser]store.ConversationRef
	// message references of posted notifications; value is the ref
	sent map[sentKey]expiring
	// held notifications and due times per chat user (only users who hold
	// something)
	held map[store.ChatUser]*heldState

	writes int   // counts writes between sweeps of expired entries
	seq    int64 // last token version handed out
}

type linkRecord struct {
	link   store.Link
	sealed store.SealedTokens
}

type expiring struct {
	value   []byte
	expires time.Time
}

// sweepEvery bounds memory: every so many writes, expired entries go.
const sweepEvery = 1024

// New returns an empty store.
func New(opts Options) (*Store, error) {
	if opts.Keys == nil {
		k, err := store.RandomKeyring()
		if err != nil {
			return nil, fmt.Errorf("embedded store: %w", err)
		}
		opts.Keys = k
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxAttempts < 0 || opts.DedupeWindow < 0 {
		return nil, fmt.Errorf("embedded store: %w: negative MaxAttempts or DedupeWindow", store.ErrInvalid)
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = store.DefaultMaxAttempts
	}
	if opts.DedupeWindow == 0 {
		opts.DedupeWindow = store.DefaultDedupeWindow
	}
	return &Store{
		d: &data{
			links: map[store.ChatUser]*linkRecord{}, bySys: map[string]map[store.ChatUser]struct{}{},
			flows: map[string]expiring{}, locks: map[string]expiring{}, nonces: map[string]expiring{}, pending: map[store.ChatUser]expiring{}, seen: map[string]time.Time{},
			prefs: map[store.ChatUser]store.Preferences{}, sync: map[store.SyncKey]*syncState{},
		},
		keys: opts.Keys, now: opts.Now, maxAttempts: opts.MaxAttempts, window: opts.DedupeWindow,
	}, nil
}

// WithKeyring returns a store over the same data using other keys (for key
// rotation and its tests).
func (s *Store) WithKeyring(k *store.Keyring) *Store {
	c := *s
	c.keys = k
	return &c
}

// Ping always succeeds: the store is this process.
func (s *Store) Ping(ctx context.Context) error { return ctx.Err() }

// wrote counts a write and sweeps expired entries now and then; call with
// d.mu held.
func (s *Store) wrote() {
	s.d.writes++
	if s.d.writes < sweepEvery {
		return
	}
	s.d.writes = 0
	now := s.now()
	for k, e := range s.d.flows {
		if !now.Before(e.expires) {
			delete(s.d.flows, k)
		}
	}
	for k, e := range s.d.locks {
		if !now.Before(e.expires) {
			delete(s.d.locks, k)
		}
	}
	for k, e := range s.d.nonces {
		if !now.Before(e.expires) {
			delete(s.d.nonces, k)
		}
	}
	for k, e := range s.d.pending {
		if !now.Before(e.expires) {
			delete(s.d.pending, k)
		}
	}
	for k, exp := range s.d.seen {
		if !now.Before(exp) {
			delete(s.d.seen, k)
		}
	}
	for k, e := range s.d.sent {
		if !now.Before(e.expires) {
			delete(s.d.sent, k)
		}
	}
}

// CreateFlow implements store.FlowSessionStore.
func (s *Store) CreateFlow(ctx context.Context, data []byte, ttl time.Duration) (string, error) {
	if err := store.CheckTTL(ttl); err != nil {
		return "", fmt.Errorf("create flow session: %w", err)
	}
	id, err := store.NewFlowID()
	if err != nil {
		return "", fmt.Errorf("create flow session: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.flows[store.LookupKey(id)] = expiring{value: clone(data), expires: s.now().Add(ttl)}
	s.wrote()
	return id, nil
}

// GetFlow implements store.FlowSessionStore.
func (s *Store) GetFlow(ctx context.Context, id string) ([]byte, error) {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	e, ok := s.liveFlow(id)
	if !ok {
		return nil, fmt.Errorf("flow session: %w", store.ErrNotFound)
	}
	return clone(e.value), nil
}

func (s *Store) liveFlow(id string) (expiring, bool) {
	if !store.ValidID(id, store.FlowIDBytes) {
		return expiring{}, false
	}
	e, ok := s.d.flows[store.LookupKey(id)]
	if !ok || !s.now().Before(e.expires) {
		return expiring{}, false
	}
	return e, true
}

// UpdateFlow implements store.FlowSessionStore.
func (s *Store) UpdateFlow(ctx context.Context, id string, data []byte, ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("update flow session: %w", store.CheckTTL(ttl))
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	e, ok := s.liveFlow(id)
	if !ok {
		return fmt.Errorf("update flow session: %w", store.ErrNotFound)
	}
	e.value = clone(data)
	if ttl > 0 {
		e.expires = s.now().Add(ttl)
	}
	s.d.flows[store.LookupKey(id)] = e
	s.wrote()
	return nil
}

// DeleteFlow implements store.FlowSessionStore.
func (s *Store) DeleteFlow(ctx context.Context, id string) error {
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	delete(s.d.flows, store.LookupKey(id))
	return nil
}

// CreateNonce implements store.NonceStore.
func (s *Store) CreateNonce(ctx context.Context, payload []byte) (string, error) {
	nonce, lookup, sealed, err := s.keys.NewSealedNonce(payload)
	if err != nil {
		return "", err
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.nonces[lookup] = expiring{value: []byte(sealed), expires: s.now().Add(store.NonceTTL)}
	s.wrote()
	return nonce, nil
}

// TakeNonce implements store.NonceStore.
func (s *Store) TakeNonce(ctx context.Context, nonce string) ([]byte, error) {
	if !store.ValidID(nonce, store.NonceBytes) {
		return nil, fmt.Errorf("take link nonce: %w", store.ErrNotFound)
	}
	lookup := store.LookupKey(nonce)
	s.d.mu.Lock()
	e, ok := s.d.nonces[lookup]
	delete(s.d.nonces, lookup)
	s.d.mu.Unlock()
	if !ok || !s.now().Before(e.expires) {
		return nil, fmt.Errorf("take link nonce: %w", store.ErrNotFound)
	}
	return s.keys.OpenNonce(nonce, string(e.value))
}

// PeekNonce implements store.NonceStore.
func (s *Store) PeekNonce(ctx context.Context, nonce string) ([]byte, error) {
	if !store.ValidID(nonce, store.NonceBytes) {
		return nil, fmt.Errorf("peek link nonce: %w", store.ErrNotFound)
	}
	s.d.mu.Lock()
	e, ok := s.d.nonces[store.LookupKey(nonce)]
	s.d.mu.Unlock()
	if !ok || !s.now().Before(e.expires) {
		return nil, fmt.Errorf("peek link nonce: %w", store.ErrNotFound)
	}
	return s.keys.OpenNonce(nonce, string(e.value))
}

// PutPendingLink implements store.PendingLinkStore.
func (s *Store) PutPendingLink(ctx context.Context, u store.ChatUser, payload []byte, ttl time.Duration) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("put pending link: %w", err)
	}
	if err := store.CheckTTL(ttl); err != nil {
		return fmt.Errorf("put pending link of %s: %w", u, err)
	}
	sealed, err := s.keys.Seal(payload, store.PendingLinkAAD(u))
	if err != nil {
		return fmt.Errorf("put pending link of %s: %w", u, err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.pending[u] = expiring{value: []byte(sealed), expires: s.now().Add(ttl)}
	s.wrote()
	return nil
}

// TakePendingLink implements store.PendingLinkStore.
func (s *Store) TakePendingLink(ctx context.Context, u store.ChatUser) ([]byte, error) {
	if err := u.Validate(); err != nil {
		return nil, fmt.Errorf("take pending link: %w", err)
	}
	s.d.mu.Lock()
	e, ok := s.d.pending[u]
	delete(s.d.pending, u)
	s.d.mu.Unlock()
	if !ok || !s.now().Before(e.expires) {
		return nil, fmt.Errorf("take pending link of %s: %w", u, store.ErrNotFound)
	}
	p, err := s.keys.Open(string(e.value), store.PendingLinkAAD(u))
	if err != nil {
		return nil, fmt.Errorf("take pending link of %s: %w", u, err)
	}
	return p, nil
}

// SeenOnce implements store.Dedupe.
func (s *Store) SeenOnce(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := store.CheckTTL(ttl); err != nil {
		return false, fmt.Errorf("dedupe %q: %w", key, err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	now := s.now()
	if exp, ok := s.d.seen[key]; ok && now.Before(exp) {
		return false, nil
	}
	s.d.seen[key] = now.Add(ttl)
	s.wrote()
	return true, nil
}

// GetPreferences implements store.PreferenceStore.
func (s *Store) GetPreferences(ctx context.Context, u store.ChatUser) (store.Preferences, error) {
	if err := u.Validate(); err != nil {
		return store.Preferences{}, fmt.Errorf("preferences: %w", err)
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	p, ok := s.d.prefs[u]
	if !ok {
		return store.DefaultPreferences(), nil
	}
	p.RecordTypes = cloneMap(p.RecordTypes)
	return p, nil
}

// PutPreferences implements store.PreferenceStore.
func (s *Store) PutPreferences(ctx context.Context, u store.ChatUser, p store.Preferences) error {
	if err := errors.Join(u.Validate(), p.Validate()); err != nil {
		return fmt.Errorf("preferences of %s: %w", u, err)
	}
	p.RecordTypes = cloneMap(p.RecordTypes)
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	s.d.prefs[u] = p
	return nil
}

func clone(b []byte) []byte { return append([]byte{}, b...) }

func cloneMap(m map[string]bool) map[string]bool {
	if m == nil {
		return nil
	}
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
