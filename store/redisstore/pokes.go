package redisstore

import (
	"context"

	"github.com/crmbot/crmbot/store"
)

// pokeChannel is the Pub/Sub channel of sync pokes.
func (k keyspace) pokeChannel() string { return k.prefix + "pokes" }

// Poke publishes a poke to every replica (Redis PUBLISH).
func (s *Store) Poke(ctx context.Context, key store.SyncKey) error {
	if err := key.Validate(); err != nil {
		return err
	}
	if err := s.rdb.Publish(ctx, s.ks.pokeChannel(), store.EncodePoke(key)).Err(); err != nil {
		return wrapErr("poke", err)
	}
	return nil
}

// Pokes subscribes to the pokes of every replica. go-redis resubscribes by
// itself after a dropped connection; pokes published meanwhile are lost
// (the pollers' intervals cover them).
func (s *Store) Pokes(ctx context.Context) (<-chan store.SyncKey, error) {
	sub := s.rdb.Subscribe(ctx, s.ks.pokeChannel())
	if _, err := sub.Receive(ctx); err != nil { // the subscription confirmation
		sub.Close()
		return nil, wrapErr("subscribe to pokes", err)
	}
	out := make(chan store.SyncKey, 64)
	go func() {
		defer close(out)
		defer sub.Close()
		msgs := sub.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-msgs:
				if !ok {
					return
				}
				k, ok := store.DecodePoke(m.Payload)
				if !ok {
					continue
				}
				select {
				case out <- k:
				default: // the receiver is busy: it has pokes pending already
				}
			}
		}
	}()
	return out, nil
}
