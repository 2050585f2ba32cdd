// Package redisstore implements the store interfaces on Redis (go-redis v9),
// so several replicas share links, sessions, cursors and the outbox.
//
// Every key lives under a configurable prefix (store.DefaultPrefix). Keys that
// an atomic step touches together share one hash tag, so each step (one Lua
// script) runs on one slot: all link keys use {links}; all held
// notifications and their due index use {held}; the sync keys use
// {org:type}, one outbox stream per (org, record type).
//
// Open takes a single Redis (redis://, rediss://) or a Redis Cluster
// (redis+cluster://, rediss+cluster://, see NewClusterClient). On a cluster,
// Ping asks every master; RotateKeys and LinkCounts scan every master.
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
//
// A Redis Cluster client needs more than MaxRetries: -1, since it re-sends
// commands after network errors on its own; build it with NewClusterClient.
// One that reads from replicas is refused with ErrInvalid.
func New(rdb redis.UniversalClient, opts Options) (*Store, error) {
	if err := store.RequireKeyring(opts.Keys); err != nil {
		return nil, fmt.Errorf("redis store: %w", err)
	}
	if o, ok := rdb.(interface{ Options() *redis.Options }); ok && o.Options().MaxRetries > 0 {
		return nil, fmt.Errorf("redis store: %w: the client retries commands (MaxRetries %d); set MaxRetries: -1",
			store.ErrInvalid, o.Options().MaxRetries)
	}
	if o, ok := rdb.(interface{ Options() *redis.ClusterOptions }); ok {
		if o.Options().MaxRetries > 0 {
			return nil, fmt.Errorf("redis store: %w: the client retries commands (MaxRetries %d); set MaxRetries: -1",
				store.ErrInvalid, o.Options().MaxRetries)
		}
		if co := o.Options(); co.ReadOnly || co.RouteByLatency || co.RouteRandomly {
			return nil, fmt.Errorf("redis store: %w: the cluster client reads from replicas (read_only, route_by_latency "+
				"or route_randomly), which may not have the store's last write yet", store.ErrInvalid)
		}
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

// Open connects to the Redis at url (REDIS_URL) and returns a store that
// Close disconnects:
//
//   - redis://[user:pass@]host:port[/db] or rediss://… (TLS): a single
//     Redis (go-redis ParseURL);
//   - redis+cluster://[user:pass@]host:port?addr=host2:port&addr=host3:port
//     or rediss+cluster://…: a Redis Cluster, from one or more seed nodes
//     (go-redis ParseClusterURL; see NewClusterClient).
//
// Either client has ContextTimeoutEnabled and no transparent retries
// (MaxRetries -1, see New). It does not wait for Redis: Ping does.
func Open(url string, opts Options) (*Store, error) {
	var rdb redis.UniversalClient
	if isClusterURL(url) {
		o, err := parseClusterURL(url)
		if err != nil {
			return nil, err
		}
		rdb = NewClusterClient(o)
	} else {
		o, err := redis.ParseURL(url)
		if err != nil {
			return nil, urlError("redis:// or rediss:// (or redis+cluster://)", err)
		}
		o.ContextTimeoutEnabled = true
		o.MaxRetries = -1
		rdb = redis.NewClient(o)
	}
	s, err := New(rdb, opts)
	if err != nil {
		_ = rdb.Close()
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

// Ping implements store.Pinger. On a cluster every master must answer (a
// master down means some slots are not served), after a fresh look at the
// cluster's topology.
func (s *Store) Ping(ctx context.Context) error {
	if c := s.cluster(); c != nil {
		return wrapErr("ping redis cluster", c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			if err := m.Ping(ctx).Err(); err != nil {
				return fmt.Errorf("%s: %w", m.Options().Addr, err)
			}
			return nil
		}))
	}
	return wrapErr("ping redis", s.rdb.Ping(ctx).Err())
}

// wrapErr maps go-redis errors onto the store's: redis.Nil → ErrNotFound; a
// network failure, a timeout, a server not ready to serve, or a cluster
// redirect still unresolved after MaxRedirects → ErrUnavailable (also
// matching the cause, e.g. context.DeadlineExceeded).
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var sent *sentError
	if errors.As(err, &sent) {
		return fmt.Errorf("%s: %w: %w", op, store.ErrUnavailable, sent.err)
	}
	if errors.Is(err, redis.Nil) {
		return fmt.Errorf("%s: %w", op, store.ErrNotFound)
	}
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		for _, p := range []string{"LOADING", "READONLY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "MOVED ", "ASK "} {
			if strings.HasPrefix(msg, p) {
				return fmt.Errorf("%s: %w: %w", op, store.ErrUnavailable, err)
			}
		}
		return fmt.Errorf("%s: %w", op, err)
	}
	return fmt.Errorf("%s: %w: %w", op, store.ErrUnavailable, err)
}
