package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/crmbot/crmbot/store"
)

// pendingLink: a sign-in waiting for its one-time code, per chat user
// (sealed, bound to the user). Its own key, so no hash tag is needed.
func (k keyspace) pendingLink(u store.ChatUser) string { return k.prefix + "pending:" + member(u) }

// PeekNonce implements store.NonceStore (GET: the nonce stays usable).
func (s *Store) PeekNonce(ctx context.Context, nonce string) ([]byte, error) {
	if !store.ValidID(nonce, store.NonceBytes) {
		return nil, fmt.Errorf("peek link nonce: %w", store.ErrNotFound)
	}
	sealed, err := s.rdb.Get(ctx, s.ks.nonce(store.LookupKey(nonce))).Result()
	if err != nil {
		return nil, wrapErr("peek link nonce", err)
	}
	return s.keys.OpenNonce(nonce, sealed)
}

// PutPendingLink implements store.PendingLinkStore (SET PX).
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
	return wrapErr("put pending link of "+u.String(), s.rdb.Set(ctx, s.ks.pendingLink(u), sealed, ttl).Err())
}

// TakePendingLink implements store.PendingLinkStore (GETDEL).
func (s *Store) TakePendingLink(ctx context.Context, u store.ChatUser) ([]byte, error) {
	if err := u.Validate(); err != nil {
		return nil, fmt.Errorf("take pending link: %w", err)
	}
	sealed, err := s.rdb.GetDel(ctx, s.ks.pendingLink(u)).Result()
	if err != nil {
		return nil, wrapErr("take pending link of "+u.String(), err)
	}
	p, err := s.keys.Open(sealed, store.PendingLinkAAD(u))
	if err != nil {
		return nil, fmt.Errorf("take pending link of %s: %w", u, err)
	}
	return p, nil
}
