package bot

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testTenant = "8f3c2d1e-5b6a-4c7d-9e8f-0a1b2c3d4e5f"
	testClient = "crmbot-test"
)

// fakeAuthority publishes a discovery document and one RSA key, as Entra.
func fakeAuthority(t *testing.T) (*httptest.Server, *rsa.PrivateKey, *atomic.Int64) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var fetches atomic.Int64
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/v2.0/.well-known/openid-configuration"):
			_ = json.NewEncoder(w).Encode(map[string]string{
				"issuer": srv.URL + "/{tenantid}/v2.0", "jwks_uri": srv.URL + "/common/discovery/v2.0/keys"})
		case strings.HasSuffix(r.URL.Path, "/discovery/v2.0/keys"):
			fetches.Add(1)
			e := big.NewInt(int64(key.E)).Bytes()
			_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
				"kty": "RSA", "use": "sig", "kid": "k1",
				"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(e)}}})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, key, &fetches
}

func TestIDTokenVerification(t *testing.T) {
	srv, key, fetches := fakeAuthority(t)
	now := time.Now()
	good := func() jwt.MapClaims {
		return jwt.MapClaims{"iss": srv.URL + "/" + testTenant + "/v2.0", "aud": testClient, "tid": testTenant,
			"oid": "c0ffee00-1111-4a2b-8c3d-000000000001", "preferred_username": "chloe@demo", "nonce": "n-1",
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()}
	}
	sign := func(c jwt.MapClaims, kid string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	v := &idTokenVerifier{authority: srv.URL, tenant: testTenant, clientID: testClient, client: srv.Client(), now: time.Now}
	id, err := v.verify(context.Background(), sign(good(), "k1"), "n-1")
	if err != nil || id.ObjectID != "c0ffee00-1111-4a2b-8c3d-000000000001" || id.TenantID != testTenant || id.PreferredUsername != "chloe@demo" {
		t.Fatalf("valid token: %+v, %v", id, err)
	}
	with := func(k string, val any) string {
		c := good()
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return sign(c, "k1")
	}
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, good())
	hs.Header["kid"] = "k1"
	hsTok, _ := hs.SignedString(key.PublicKey.N.Bytes()) // alg confusion: public key as HMAC secret
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, good()).SignedString(jwt.UnsafeAllowNoneSignatureType)
	parts := strings.Split(sign(good(), "k1"), ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"oid":"attacker"}`)) + "." + parts[2]
	for name, raw := range map[string]string{
		"wrong nonce":            with("nonce", "n-2"),
		"no nonce":               with("nonce", nil),
		"wrong audience":         with("aud", "someone-else"),
		"wrong issuer":           with("iss", "https://evil.example/"+testTenant+"/v2.0"),
		"another tenant":         with("tid", "00000000-0000-0000-0000-0000000000aa"),
		"expired":                with("exp", now.Add(-time.Hour).Unix()),
		"no expiry":              with("exp", nil),
		"no oid":                 with("oid", nil),
		"unknown key id":         sign(good(), "k2"),
		"HS256 with the pub key": hsTok,
		"alg none":               none,
		"tampered payload":       tampered,
		"empty":                  "",
	} {
		if _, err := v.verify(context.Background(), raw, "n-1"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// The unknown kid refetched the set once; more unknown kids within the
	// minute do not.
	before := fetches.Load()
	for range 5 {
		_, _ = v.verify(context.Background(), sign(good(), "k9"), "n-1")
	}
	if got := fetches.Load() - before; got != 0 {
		t.Fatalf("%d key set fetches for unknown kids within a minute, want 0 (rate limited)", got)
	}
}
