package jwks

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type publisher struct {
	mu      sync.Mutex
	keys    map[string]*rsa.PublicKey
	fetches atomic.Int64
	srv     *httptest.Server
}

func newPublisher(t *testing.T) *publisher {
	p := &publisher{keys: map[string]*rsa.PublicKey{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		time.Sleep(20 * time.Millisecond) // let concurrent lookups pile up
		p.mu.Lock()
		defer p.mu.Unlock()
		var ks []map[string]any
		for kid, k := range p.keys {
			ks = append(ks, map[string]any{"kty": "RSA", "kid": kid, "use": "sig",
				"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()), "endorsements": []string{"msteams"}})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": ks})
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *publisher) add(t *testing.T, kid string) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.keys[kid] = &k.PublicKey
	p.mu.Unlock()
}

func TestRolloverRateLimitAndSingleFetch(t *testing.T) {
	p := newPublisher(t)
	p.add(t, "a")
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := &Set{URL: p.srv.URL, Client: p.srv.Client(), Now: clock}
	ctx := context.Background()

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			k, err := s.Lookup(ctx, "a")
			if err != nil || k.Public == nil || len(k.Endorsements) != 1 {
				t.Errorf("Lookup(a) = %+v, %v", k, err)
			}
		})
	}
	wg.Wait()
	if n := p.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for 20 concurrent lookups, want 1", n)
	}
	// A new key appears (rollover): the first unknown kid fetches again only
	// after MinRefresh.
	p.add(t, "b")
	if _, err := s.Lookup(ctx, "b"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Lookup(b) right after a fetch: %v, want ErrUnknownKey (rate limited)", err)
	}
	mu.Lock()
	now = now.Add(DefaultMinRefresh)
	mu.Unlock()
	if _, err := s.Lookup(ctx, "b"); err != nil {
		t.Fatalf("Lookup(b) after MinRefresh: %v", err)
	}
	if _, err := s.Lookup(ctx, "nope"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Lookup(nope): %v", err)
	}
	if n := p.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

func TestParseRejectsWeakAndForeignKeys(t *testing.T) {
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	enc := func(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
	doc, _ := json.Marshal(map[string]any{"keys": []map[string]string{
		{"kty": "RSA", "kid": "small", "n": enc(small.N.Bytes()), "e": "AQAB"},
		{"kty": "EC", "kid": "ec", "crv": "P-256"},
		{"kty": "RSA", "kid": "", "n": enc(make([]byte, 256)), "e": "AQAB"},
	}})
	if _, err := Parse(doc); err == nil {
		t.Fatal("a set of a 1024-bit key, an EC key and a key without kid was accepted")
	}
	if _, err := Parse([]byte("<html>")); err == nil {
		t.Fatal("HTML accepted as a key set")
	}
}
