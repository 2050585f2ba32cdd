// Package redisstore implements the store interfaces on Redis (go-redis v9),
// so several replicas share links, sessions, cursors and the outbox.
//
// Every key lives under a configurable prefix (store.DefaultPrefix). Keys that
// an atomic step touches together share one hash tag so Redis Cluster accepts
// the step: all link keys use {links}; the sync keys use {org:type}. Open
// builds a single-node client, though, and RotateKeys uses SCAN: see
// store/README.md for what Redis Cluster would still need.
// store/README.md lists every key pattern and its TTL.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
)

// Options configure a Store.
type Options struct {
	// Prefix starts every key; empty means store.DefaultPrefix. It must not
	// contain braces (they would become the Redis Cluster hash tag).
	Prefix string
	// Keys encrypt tokens and nonce payloads (CRMBOT_ENCRYPTION_KEY); required.
	Keys *store.Keyring
	// MaxAttempts is how many deliveries an outbox entry gets before it is
	// dead-lettered; 0 means store.DefaultMaxAttempts.
	MaxAttempts int
	// DedupeWindow is how long enqueued events' dedupe keys are kept; 0 means
	// store.DefaultDedupeWindow.
	DedupeWindow time.Duration
}

// Store is the Redis store. It is safe for concurrent use.
type Store struct {
	rdb  redis.UniversalClient
	keys *store.Keyring
	ks   keyspace
	opts syncOptions
	// owned is set when Open made the client, so Close closes it.
	owned bool
}

var _ store.Store = (*Store)(nil)

// New returns a store on an existing client. The client should have
// ContextTimeoutEnabled so callers' deadlines bound every call, and it must
// not retry commands transparently (MaxRetries: -1): go-redis re-sends a
// command whose connection dropped after it was sent, so a SET NX
// (SeenOnce), a lease acquisition or an outbox claim could run twice and
// answer wrongly. Without retries the caller gets ErrUnavailable and decides.
// A client whose Options report MaxRetries > 0 is refused with ErrInvalid.
func New(rdb redis.UniversalClient, opts Options) (*Store, error) {
	if err := store.RequireKeyring(opts.Keys); err != nil {
		return nil, fmt.Errorf("redis store: %w", err)
	}
	if o, ok := rdb.(interface{ Options() *redis.Options }); ok && o.Options().MaxRetries > 0 {
		return nil, fmt.Errorf("redis store: %w: the client retries commands (MaxRetries %d); set MaxRetries: -1",
			store.ErrInvalid, o.Options().MaxRetries)
	}
	if o, ok := rdb.(interface{ Options() *redis.ClusterOptions }); ok && o.Options().MaxRetries > 0 {
		return nil, fmt.Errorf("redis store: %w: the client retries commands (MaxRetries %d); set MaxRetries: -1",
			store.ErrInvalid, o.Options().MaxRetries)
	}
	if opts.Prefix == "" {
		opts.Prefix = store.DefaultPrefix
	}
	if strings.ContainsAny(opts.Prefix, "{}") {
		return nil, fmt.Errorf("redis store: %w: key prefix %q must not contain braces", store.ErrInvalid, opts.Prefix)
	}
	so, err := newSyncOptions(opts.MaxAttempts, opts.DedupeWindow)
	if err != nil {
		return nil, fmt.Errorf("redis store: %w", err)
	}
	return &Store{rdb: rdb, keys: opts.Keys, ks: keyspace{prefix: opts.Prefix}, opts: so}, nil
}

// Open connects to the Redis at url (redis:// or rediss://, as REDIS_URL) with
// ContextTimeoutEnabled and without transparent retries (MaxRetries -1, see
// New), and returns a store that Close disconnects. It does
// not wait for Redis: Ping does.
func Open(url string, opts Options) (*Store, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		// The URL may hold a password: say what is wrong, not what it is.
		return nil, fmt.Errorf("REDIS_URL: not a redis:// or rediss:// URL")
	}
	o.ContextTimeoutEnabled = true
	o.MaxRetries = -1
	s, err := New(redis.NewClient(o), opts)
	if err != nil {
		return nil, err
	}
	s.owned = true
	return s, nil
}

// Close disconnects a store made by Open; a store made by New leaves its
// client to its owner.
func (s *Store) Close() error {
	if !s.owned {
		return nil
	}
	if err := s.rdb.Close(); err != nil {
		return fmt.Errorf("close redis: %w", err)
	}
	return nil
}

// WithKeyring returns a store on the same client and prefix using other keys
// (for key rotation and its tests). Close the original, not the copy.
func (s *Store) WithKeyring(k *store.Keyring) *Store {
	c := *s
	c.keys, c.owned = k, false
	return &c
}

// Ping implements store.Pinger.
func (s *Store) Ping(ctx context.Context) error {
	return wrapErr("ping redis", s.rdb.Ping(ctx).Err())
}

// wrapErr maps go-redis errors onto the store's: redis.Nil → ErrNotFound; a
// network failure, a timeout, or a server not ready to serve → ErrUnavailable
// (also matching the cause, e.g. context.DeadlineExceeded).
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		for _, p := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN"} {
			if strings.HasPrefix(msg, p) {
				return fmt.Errorf("%s: %w: %w", op, store.ErrUnavailable, err)
			}
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w: %w", op, store.ErrUnavailable, err)
}
