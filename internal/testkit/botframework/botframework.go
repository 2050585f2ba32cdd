// Package botframework is a fake Bot Framework token issuer for tests that
// post activities to a bot's Teams endpoint the way Teams does: it signs
// tokens with an RSA key it publishes, endorsed for msteams, behind an
// OpenID metadata document (what the bot's BOTFRAMEWORK_OPENID_URL, or
// teams.Authenticator's OpenIDURL, points at).
//
// Test code only: production code must not import it.
package botframework

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// keyID is the kid of the issuer's one key.
const keyID = "bf-key-1"

// Issuer signs tokens as the Bot Framework does.
type Issuer struct {
	key *rsa.PrivateKey
	srv *httptest.Server
}

// NewIssuer generates a key and serves the OpenID metadata and the key set
// until tb ends.
func NewIssuer(tb testing.TB) *Issuer {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	is := &Issuer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/.well-known/openidconfiguration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"issuer": "https://api.botframework.com",
			"jwks_uri": is.srv.URL + "/v1/.well-known/keys", "id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("GET /v1/.well-known/keys", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]any{{
			"kty": "RSA", "use": "sig", "kid": keyID,
			"n":            base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e":            base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
			"endorsements": []string{"msteams"},
		}}})
	})
	is.srv = httptest.NewServer(mux)
	tb.Cleanup(is.srv.Close)
	return is
}

// OpenIDURL is the issuer's OpenID metadata document.
func (is *Issuer) OpenIDURL() string { return is.srv.URL + "/v1/.well-known/openidconfiguration" }

// Token is what the Bot Framework puts in the Authorization header (after
// "Bearer ") of a request to the bot appID for an activity from serviceURL:
// valid from a minute ago for an hour. It panics if signing fails, which an
// in-memory RSA key does not.
func (is *Issuer) Token(appID, serviceURL string) string {
	now := time.Now()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": "https://api.botframework.com", "aud": appID, "serviceurl": serviceURL,
		"nbf": now.Add(-time.Minute).Unix(), "exp": now.Add(time.Hour).Unix(),
	})
	t.Header["kid"] = keyID
	s, err := t.SignedString(is.key)
	if err != nil {
		panic(err)
	}
	return s
}
