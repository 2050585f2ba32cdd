// Package jwks fetches and caches a JSON Web Key Set (RFC 7517) of RSA
// signing keys, as Entra and the Bot Framework publish them, for token
// validation.
//
// Keys are looked up by key id. An unknown key id refreshes the set (keys
// roll over), at most once per MinRefresh so that a flood of tokens with
// made-up key ids cannot turn into a flood of fetches. Concurrent lookups
// share one fetch. It is safe for concurrent use.
package jwks

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Defaults of Set's tuning fields.
const (
	DefaultMinRefresh = time.Minute
	DefaultMaxAge     = 24 * time.Hour
	maxBody           = 1 << 20
)

// ErrUnknownKey: no key of the set has the token's key id, even after a
// refresh (or a refresh was not allowed yet).
var ErrUnknownKey = errors.New("jwks: unknown signing key id")

// Key is one RSA signing key of the set.
type Key struct {
	ID     string
	Public *rsa.PublicKey
	// Endorsements lists the channels a Bot Framework key is valid for (its
	// "endorsements" member); empty for keys without it.
	Endorsements []string
}

// Set is a cached key set fetched from URL.
type Set struct {
	// URL is the jwks_uri.
	URL string
	// Client fetches it; nil means http.DefaultClient.
	Client *http.Client
	// MinRefresh is the least time between two fetches caused by unknown
	// key ids; 0 means DefaultMinRefresh.
	MinRefresh time.Duration
	// MaxAge: the set is fetched again when older; 0 means DefaultMaxAge.
	MaxAge time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	keys    map[string]Key
	fetched time.Time // when keys were last fetched successfully
	tried   time.Time // when a fetch was last attempted
	group   singleflight.Group
}

func (s *Set) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Lookup returns the key with id kid, fetching the set when it is missing,
// unknown or stale.
func (s *Set) Lookup(ctx context.Context, kid string) (Key, error) {
	s.mu.Lock()
	k, ok := s.keys[kid]
	stale := s.keys == nil || s.now().Sub(s.fetched) > or(s.MaxAge, DefaultMaxAge)
	mayFetch := s.tried.IsZero() || s.now().Sub(s.tried) >= or(s.MinRefresh, DefaultMinRefresh)
	s.mu.Unlock()
	if ok && !stale {
		return k, nil
	}
	if !mayFetch && !stale {
		return Key{}, fmt.Errorf("%w %q", ErrUnknownKey, kid)
	}
	if !mayFetch && ok {
		return k, nil // stale, but a fetch failed a moment ago: keep serving
	}
	ch := s.group.DoChan("fetch", func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return nil, s.fetch(fctx)
	})
	var err error
	select {
	case <-ctx.Done():
		return Key{}, ctx.Err()
	case r := <-ch:
		err = r.Err
	}
	s.mu.Lock()
	k, ok = s.keys[kid]
	s.mu.Unlock()
	switch {
	case ok:
		return k, nil
	case err != nil:
		return Key{}, err
	default:
		return Key{}, fmt.Errorf("%w %q", ErrUnknownKey, kid)
	}
}

// fetch replaces the keys with the published set.
func (s *Set) fetch(ctx context.Context) error {
	s.mu.Lock()
	s.tried = s.now()
	s.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("jwks: fetch %s: %w", s.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("jwks: read %s: %w", s.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("jwks: fetch %s: HTTP %d", s.URL, resp.StatusCode)
	}
	keys, err := Parse(body)
	if err != nil {
		return fmt.Errorf("jwks: %s: %w", s.URL, err)
	}
	s.mu.Lock()
	s.keys, s.fetched = keys, s.now()
	s.mu.Unlock()
	return nil
}

// Parse reads a JWK Set document, keeping its RSA keys that have a key id.
// A set with no usable key is an error.
func Parse(doc []byte) (map[string]Key, error) {
	var set struct {
		Keys []struct {
			Kty          string   `json:"kty"`
			Kid          string   `json:"kid"`
			Use          string   `json:"use"`
			N            string   `json:"n"`
			E            string   `json:"e"`
			Endorsements []string `json:"endorsements"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		return nil, fmt.Errorf("not a JWK set: %w", err)
	}
	keys := make(map[string]Key, len(set.Keys))
	for _, k := range set.Keys {
		if k.Kty != "RSA" || k.Kid == "" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(n) < 256 || len(e) == 0 || len(e) > 4 {
			continue // malformed, or a modulus under 2048 bits
		}
		exp := new(big.Int).SetBytes(e)
		keys[k.Kid] = Key{
			ID:           k.Kid,
			Public:       &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp.Int64())},
			Endorsements: k.Endorsements,
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("no RSA signing key in the set")
	}
	return keys, nil
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
