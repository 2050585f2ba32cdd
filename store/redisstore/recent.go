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

var _ store.RecentStore = (*Store)(nil)

// recent: a chat user's recent assignments as one JSON array, newest first.
func (k keyspace) recent(u store.ChatUser) string { return k.prefix + "recent:" + member(u) }

// recentTTL lets the list of a user who stopped receiving anything go.
const recentTTL = 90 * 24 * time.Hour

// AddRecent implements store.RecentStore. Optimistic (WATCH): two
// notifications at once both land.
func (s *Store) AddRecent(ctx context.Context, u store.ChatUser, r store.Recent) error {
	if err := u.Validate(); err != nil {
		return fmt.Errorf("recent: %w", err)
	}
	key := s.ks.recent(u)
	for range 10 {
		err := s.rdb.Watch(ctx, func(tx *redis.Tx) error {
			list, err := readRecent(ctx, tx, key)
			if err != nil {
				return err
			}
			b, err := json.Marshal(store.PushRecent(list, r))
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, b, recentTTL)
				return nil
			})
			return err
		}, key)
		if !errors.Is(err, redis.TxFailedErr) {
			return wrapErr("add recent", err)
		}
	}
	return fmt.Errorf("add recent for %s: too much contention", u)
}

// RecentFor implements store.RecentStore.
func (s *Store) RecentFor(ctx context.Context, u store.ChatUser) ([]store.Recent, error) {
	if err := u.Validate(); err != nil {
		return nil, fmt.Errorf("recent: %w", err)
	}
	list, err := readRecent(ctx, s.rdb, s.ks.recent(u))
	return list, wrapErr("recent", err)
}

func readRecent(ctx context.Context, c redis.Cmdable, key string) ([]store.Recent, error) {
	b, err := c.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var list []store.Recent
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("recent %s: %w", key, err)
	}
	return list, nil
}
