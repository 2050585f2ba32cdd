package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
)

// CreateFlow implements store.FlowSessionStore (SET NX PX).
func (s *Store) CreateFlow(ctx context.Context, data []byte, ttl time.Duration) (string, error) {
	if err := store.CheckTTL(ttl); err != nil {
		return "", fmt.Errorf("create flow session: %w", err)
	}
	id, err := store.NewFlowID()
	if err != nil {
		return "", fmt.Errorf("create flow session: %w", err)
	}
	if err := s.rdb.SetArgs(ctx, s.ks.flow(store.LookupKey(id)), data, redis.SetArgs{Mode: "NX", TTL: ttl}).Err(); err != nil {
		return "", wrapErr("create flow session", err)
	}
	return id, nil
}

// GetFlow implements store.FlowSessionStore.
func (s *Store) GetFlow(ctx context.Context, id string) ([]byte, error) {
	if !store.ValidID(id, store.FlowIDBytes) {
		return nil, fmt.Errorf("flow session: %w", store.ErrNotFound)
	}
	b, err := s.rdb.Get(ctx, s.ks.flow(store.LookupKey(id))).Bytes()
	if err != nil {
		return nil, wrapErr("flow session", err)
	}
	return b, nil
}

// UpdateFlow implements store.FlowSessionStore (SET XX with KEEPTTL or PX).
func (s *Store) UpdateFlow(ctx context.Context, id string, data []byte, ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("update flow session: %w", store.CheckTTL(ttl))
	}
	if !store.ValidID(id, store.FlowIDBytes) {
		return fmt.Errorf("update flow session: %w", store.ErrNotFound)
	}
	args := redis.SetArgs{Mode: "XX", TTL: ttl, KeepTTL: ttl == 0}
	return wrapErr("update flow session", s.rdb.SetArgs(ctx, s.ks.flow(store.LookupKey(id)), data, args).Err())
}

// DeleteFlow implements store.FlowSessionStore.
func (s *Store) DeleteFlow(ctx context.Context, id string) error {
	return wrapErr("delete flow session", s.rdb.Del(ctx, s.ks.flow(store.LookupKey(id))).Err())
}

// CreateNonce implements store.NonceStore: the payload is sealed (it carries
// the PKCE verifier) and the key is the nonce's hash.
func (s *Store) CreateNonce(ctx context.Context, payload []byte) (string, error) {
	nonce, lookup, sealed, err := s.keys.NewSealedNonce(payload)
	if err != nil {
		return "", err
	}
	if err := s.rdb.SetArgs(ctx, s.ks.nonce(lookup), sealed, redis.SetArgs{Mode: "NX", TTL: store.NonceTTL}).Err(); err != nil {
		return "", wrapErr("create link nonce", err)
	}
	return nonce, nil
}

// TakeNonce implements store.NonceStore (GETDEL).
func (s *Store) TakeNonce(ctx context.Context, nonce string) ([]byte, error) {
	if !store.ValidID(nonce, store.NonceBytes) {
		return nil, fmt.Errorf("take link nonce: %w", store.ErrNotFound)
	}
	sealed, err := s.rdb.GetDel(ctx, s.ks.nonce(store.LookupKey(nonce))).Result()
	if err != nil {
		return nil, wrapErr("take link nonce", err)
	}
	return s.keys.OpenNonce(nonce, sealed)
}

// SeenOnce implements store.Dedupe (SET NX PX).
func (s *Store) SeenOnce(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := store.CheckTTL(ttl); err != nil {
		return false, fmt.Errorf("dedupe %q: %w", key, err)
	}
	first, err := s.rdb.SetNX(ctx, s.ks.seen(key), "1", ttl).Result()
	if err != nil {
		return false, wrapErr("dedupe "+key, err)
	}
	return first, nil
}

// GetPreferences implements store.PreferenceStore.
func (s *Store) GetPreferences(ctx context.Context, u store.ChatUser) (store.Preferences, error) {
	if err := u.Validate(); err != nil {
		return store.Preferences{}, fmt.Errorf("preferences: %w", err)
	}
	b, err := s.rdb.Get(ctx, s.ks.prefs(u)).Bytes()
	if errors.Is(err, redis.Nil) {
		return store.DefaultPreferences(), nil
	}
	if err != nil {
		return store.Preferences{}, wrapErr("preferences of "+u.String(), err)
	}
	// Decode over the defaults so a field added later reads its default.
	p := store.DefaultPreferences()
	if err := json.Unmarshal(b, &p); err != nil {
		return store.Preferences{}, fmt.Errorf("preferences of %s: %w", u, err)
	}
	return p, nil
}

// PutPreferences implements store.PreferenceStore.
func (s *Store) PutPreferences(ctx context.Context, u store.ChatUser, p store.Preferences) error {
	if err := errors.Join(u.Validate(), p.Validate()); err != nil {
		return fmt.Errorf("preferences of %s: %w", u, err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("preferences of %s: %w", u, err)
	}
	return wrapErr("save preferences of "+u.String(), s.rdb.Set(ctx, s.ks.prefs(u), b, 0).Err())
}
