package teams_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crmbot/crmbot/bot/teams"
)

const (
	authAppID      = "6a0c2c3e-0d1f-4d55-9a3b-2f4b8f5a7e11"
	authServiceURL = "https://smba.trafficmanager.net/amer/"
	authIssuer     = "https://api.botframework.com"
)

// authKeys are generated once: RSA key generation is the slow part of
// these tests, and the cases differ in kid and endorsements, not in bits.
var authKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var ks [2]*rsa.PrivateKey
	for i := range ks {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		ks[i] = k
	}
	return ks
})

// authClock is a settable clock shared by the fake and the Authenticator.
type authClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *authClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *authClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// publishedKey is one entry of the fake's JWK set.
type publishedKey struct {
	kid          string
	key          *rsa.PrivateKey
	endorsements []string // nil: no "endorsements" member
}

// fakeBotFramework serves login.botframework.com's OpenID metadata and
// keys, and counts fetches.
type fakeBotFramework struct {
	srv             *httptest.Server
	mu              sync.Mutex
	keys            []publishedKey
	metadataStatus  int // 0: 200
	keysStatus      int // 0: 200
	jwksURI         string
	delay           time.Duration
	metadataFetches atomic.Int64
	keysFetches     atomic.Int64
}

func newFakeBotFramework(t testing.TB, keys ...publishedKey) *fakeBotFramework {
	t.Helper()
	f := &fakeBotFramework{keys: keys}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/.well-known/openidconfiguration", func(w http.ResponseWriter, r *http.Request) {
		f.metadataFetches.Add(1)
		f.mu.Lock()
		status, uri := f.metadataStatus, f.jwksURI
		f.mu.Unlock()
		if status != 0 {
			http.Error(w, "unavailable", status)
			return
		}
		if uri == "" {
			uri = f.srv.URL + "/v1/.well-known/keys"
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                authIssuer,
			"authorization_endpoint":                "https://invalid.botframework.com",
			"jwks_uri":                              uri,
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /v1/.well-known/keys", func(w http.ResponseWriter, r *http.Request) {
		f.keysFetches.Add(1)
		f.mu.Lock()
		status, delay := f.keysStatus, f.delay
		var set []map[string]any
		for _, k := range f.keys {
			jwk := map[string]any{"kty": "RSA", "use": "sig", "kid": k.kid,
				"n": base64.RawURLEncoding.EncodeToString(k.key.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.key.E)).Bytes())}
			if k.endorsements != nil {
				jwk["endorsements"] = k.endorsements
			}
			set = append(set, jwk)
		}
		f.mu.Unlock()
		time.Sleep(delay) // lets concurrent requests pile up on one fetch
		if status != 0 {
			http.Error(w, "unavailable", status)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": set})
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeBotFramework) publish(k publishedKey) {
	f.mu.Lock()
	f.keys = append(f.keys, k)
	f.mu.Unlock()
}

func (f *fakeBotFramework) set(fn func(f *fakeBotFramework)) {
	f.mu.Lock()
	fn(f)
	f.mu.Unlock()
}

func (f *fakeBotFramework) authenticator(clock *authClock) *teams.Authenticator {
	return &teams.Authenticator{
		AppID:     authAppID,
		OpenIDURL: f.srv.URL + "/v1/.well-known/openidconfiguration",
		Client:    f.srv.Client(),
		Now:       clock.Now,
		Logger:    slog.New(slog.DiscardHandler),
	}
}

// teamsSigningKey is the usual published key: endorsed for Teams and Web
// Chat, as Microsoft's are.
func teamsSigningKey() publishedKey {
	return publishedKey{kid: "teams-key", key: authKeys()[0], endorsements: []string{"msteams", "webchat"}}
}

// botFrameworkClaims are what the Bot Framework puts in a channel token.
func botFrameworkClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":        authIssuer,
		"aud":        authAppID,
		"exp":        now.Add(time.Hour).Unix(),
		"nbf":        now.Add(-time.Minute).Unix(),
		"serviceurl": authServiceURL,
	}
}

// signToken makes a token signed by key under kid.
func signToken(t testing.TB, method jwt.SigningMethod, kid string, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// assertRejected checks err is a 401 that does not leak the credentials:
// neither the header value, the token, nor its signature.
func assertRejected(t *testing.T, err error, authorization string) {
	t.Helper()
	if !errors.Is(err, teams.ErrUnauthorized) {
		t.Fatalf("err = %v, want ErrUnauthorized", err)
	}
	if errors.Is(err, teams.ErrKeysUnavailable) {
		t.Fatalf("err = %v: a bad token is not a key outage", err)
	}
	_, token, _ := strings.Cut(authorization, " ")
	secrets := []string{authorization, strings.TrimSpace(token)}
	if i := strings.LastIndexByte(authorization, '.'); i >= 0 {
		secrets = append(secrets, authorization[i+1:])
	}
	for _, s := range secrets {
		if len(s) >= 16 && strings.Contains(err.Error(), s) {
			t.Fatalf("error carries the credentials: %v", err)
		}
	}
}

func TestAuthenticate(t *testing.T) {
	now := authStart
	clock := &authClock{now: now}
	keys := authKeys()
	f := newFakeBotFramework(t,
		teamsSigningKey(),
		publishedKey{kid: "webchat-only", key: keys[0], endorsements: []string{"webchat"}},
		publishedKey{kid: "unendorsed", key: keys[0]},
		publishedKey{kid: "empty-endorsements", key: keys[0], endorsements: []string{}},
	)
	auth := f.authenticator(clock)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&keys[0].PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	with := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := botFrameworkClaims(now)
		edit(c)
		return c
	}
	rs256 := func(c jwt.MapClaims) string { return signToken(t, jwt.SigningMethodRS256, "teams-key", keys[0], c) }
	good := rs256(botFrameworkClaims(now))

	tests := []struct {
		name          string
		authorization string
		channelID     string // "" in the table means msteams; use noChannel for none
		serviceURL    string // "" in the table means authServiceURL; use noServiceURL for none
		ok            bool
		wantAudience  string
		why           string // in the error of a rejected token: it failed for the reason meant
	}{
		// botbuilder-js channelValidation.test.js "should validate a token from the Bot Framework".
		{name: "ValidToken", authorization: "Bearer " + good, ok: true, wantAudience: authAppID},
		{name: "SchemeIsCaseInsensitive", authorization: "bearer " + good, ok: true},
		{name: "RS384", authorization: "Bearer " + signToken(t, jwt.SigningMethodRS384, "teams-key", keys[0], botFrameworkClaims(now)), ok: true},
		{name: "RS512", authorization: "Bearer " + signToken(t, jwt.SigningMethodRS512, "teams-key", keys[0], botFrameworkClaims(now)), ok: true},
		// teams.ts accepts the api:// audiences of newer app registrations.
		{name: "AudienceAPIAppID", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { c["aud"] = "api://" + authAppID })),
			ok: true, wantAudience: "api://" + authAppID},
		{name: "AudienceAPIBotIDAppID", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { c["aud"] = "api://botid-" + authAppID })),
			ok: true, wantAudience: "api://botid-" + authAppID},
		{name: "AudienceArrayContainingAppID", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { c["aud"] = []string{"someone-else", authAppID} })),
			ok: true, wantAudience: authAppID},

		// botbuilder-dotnet JwtTokenValidationTests: issuer.
		{name: "WrongIssuer", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { c["iss"] = "https://sts.windows.net/evil/" })), why: "invalid issuer"},
		{name: "IssuerWithTrailingSlash", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { c["iss"] = authIssuer + "/" })), why: "invalid issuer"},
		{name: "NoIssuer", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { delete(c, "iss") })), why: "iss claim is required"},
		// botbuilder-dotnet JwtTokenValidationTests.WrongAudienceClaim.
		{name: "WrongAudienceClaim", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { c["aud"] = "00000000-0000-0000-0000-000000000000" })), why: "invalid audience"},
		{name: "AudienceOtherAPIForm", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { c["aud"] = "api://other-" + authAppID })), why: "invalid audience"},
		// botbuilder-dotnet JwtTokenValidationTests.NoAudienceClaim.
		{name: "NoAudienceClaim", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { delete(c, "aud") })), why: "aud claim is required"},

		// Algorithms: RSA only (botbuilder's ToBotFromChannelTokenValidationParameters).
		{name: "AlgNone", authorization: "Bearer " + signToken(t, jwt.SigningMethodNone, "teams-key", jwt.UnsafeAllowNoneSignatureType, botFrameworkClaims(now)), why: "signing method none is invalid"},
		{name: "HS256SignedWithPublicKeyPEM", authorization: "Bearer " + signToken(t, jwt.SigningMethodHS256, "teams-key", pubPEM, botFrameworkClaims(now)), why: "signing method HS256 is invalid"},
		{name: "HS256SignedWithModulus", authorization: "Bearer " + signToken(t, jwt.SigningMethodHS256, "teams-key", keys[0].N.Bytes(), botFrameworkClaims(now)), why: "signing method HS256 is invalid"},
		{name: "ES256", authorization: "Bearer " + signToken(t, jwt.SigningMethodES256, "teams-key", ecKey, botFrameworkClaims(now)), why: "signing method ES256 is invalid"},
		{name: "PS256", authorization: "Bearer " + signToken(t, jwt.SigningMethodPS256, "teams-key", keys[0], botFrameworkClaims(now)), why: "signing method PS256 is invalid"},
		{name: "SignedByUnpublishedKeyUnderPublishedKid", authorization: "Bearer " + signToken(t, jwt.SigningMethodRS256, "teams-key", keys[1], botFrameworkClaims(now)), why: "verification error"},
		{name: "TamperedPayload", authorization: "Bearer " + tamperPayload(t, good), why: "verification error"},
		{name: "NoKid", authorization: "Bearer " + signToken(t, jwt.SigningMethodRS256, "", keys[0], botFrameworkClaims(now)), why: "no key id"},

		// Lifetime: exp required, 5 minutes of clock skew either way.
		{name: "Expired6MinutesAgo", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { c["exp"] = now.Add(-6 * time.Minute).Unix() })), why: "expired"},
		{name: "Expired4MinutesAgoWithinSkew", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { c["exp"] = now.Add(-4 * time.Minute).Unix() })), ok: true},
		{name: "NoExpiry", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { delete(c, "exp") })), why: "exp claim is required"},
		{name: "NotBefore6MinutesAhead", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { c["nbf"] = now.Add(6 * time.Minute).Unix() })), why: "not valid yet"},
		{name: "NotBefore4MinutesAheadWithinSkew", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { c["nbf"] = now.Add(4 * time.Minute).Unix() })), ok: true},

		// botbuilder-dotnet JwtTokenValidationTests.WrongServiceClaimValue.
		{name: "WrongServiceClaimValue", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { c["serviceurl"] = "https://webchat.botframework.com/" })), why: "is not the activity's serviceUrl"},
		// botbuilder-dotnet JwtTokenValidationTests.NoServiceClaimValue.
		{name: "NoServiceClaimValue", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { delete(c, "serviceurl") })), why: "no serviceurl claim"},
		{name: "ServiceClaimNotAString", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { c["serviceurl"] = 42 })), why: "malformed"},
		{name: "ActivityWithoutServiceURL", authorization: "Bearer " + good, serviceURL: noServiceURL, why: "activity has no serviceUrl"},
		{name: "ActivityServiceURLWithoutTrailingSlash", authorization: "Bearer " + good, serviceURL: "https://smba.trafficmanager.net/amer", ok: true},
		{name: "ActivityServiceURLInOtherCase", authorization: "Bearer " + good, serviceURL: "HTTPS://SMBA.TrafficManager.net/AMER/", ok: true},
		{name: "ServiceClaimWithoutTrailingSlash", authorization: "Bearer " + rs256(with(func(c jwt.MapClaims) { c["serviceurl"] = "https://smba.trafficmanager.net/amer" })), ok: true},
		{name: "ActivityServiceURLOtherPath", authorization: "Bearer " + good, serviceURL: "https://smba.trafficmanager.net/emea/", why: "is not the activity's serviceUrl"},

		// botbuilder-js endorsementsValidator.test.js / dotnet EndorsementsValidatorTests.
		{name: "EndorsedForChannel", authorization: "Bearer " + good, channelID: "webchat", ok: true},
		{name: "KeyEndorsedOnlyForWebChat", authorization: "Bearer " + signToken(t, jwt.SigningMethodRS256, "webchat-only", keys[0], botFrameworkClaims(now)), why: "not endorsed for channel"},
		{name: "KeyWithoutEndorsements", authorization: "Bearer " + signToken(t, jwt.SigningMethodRS256, "unendorsed", keys[0], botFrameworkClaims(now)), why: "no endorsements"},
		{name: "KeyWithEmptyEndorsements", authorization: "Bearer " + signToken(t, jwt.SigningMethodRS256, "empty-endorsements", keys[0], botFrameworkClaims(now)), why: "no endorsements"},
		{name: "ChannelIDIsCaseSensitive", authorization: "Bearer " + good, channelID: "MSTeams", why: "not endorsed for channel"},
		// botbuilder lets a missing channelId skip the check; every Teams activity has one.
		{name: "ActivityWithoutChannelID", authorization: "Bearer " + good, channelID: noChannel, why: "no channelId"},

		// botbuilder-dotnet JwtTokenValidationTests.EmptyHeader_BotWithNoCredentials_ShouldThrow and kin.
		{name: "EmptyHeader", authorization: "", why: "no Authorization header"},
		{name: "BearerWithoutToken", authorization: "Bearer", why: "empty Bearer token"},
		{name: "BearerWithBlankToken", authorization: "Bearer    ", why: "empty Bearer token"},
		{name: "BasicScheme", authorization: "Basic dXNlcjpwYXNzd29yZA==", why: "not a Bearer token"},
		{name: "TokenWithoutScheme", authorization: good, why: "not a Bearer token"},
		{name: "BearerGlued", authorization: "Bearer" + good, why: "not a Bearer token"},
		{name: "Garbage", authorization: "Bearer not-a-jwt", why: "malformed"},
		{name: "ThreeGarbageSegments", authorization: "Bearer a.b.c", why: "malformed"},
		{name: "TokenFollowedByJunk", authorization: "Bearer " + good + " junk", why: "malformed"},
		{name: "HugeToken", authorization: "Bearer " + good + strings.Repeat("A", 1<<20), why: "longer than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			channelID, serviceURL := tc.channelID, tc.serviceURL
			switch channelID {
			case "":
				channelID = teams.ChannelMSTeams
			case noChannel:
				channelID = ""
			}
			switch serviceURL {
			case "":
				serviceURL = authServiceURL
			case noServiceURL:
				serviceURL = ""
			}
			claims, err := auth.Authenticate(t.Context(), tc.authorization, channelID, serviceURL)
			if !tc.ok {
				assertRejected(t, err, tc.authorization)
				if !strings.Contains(err.Error(), tc.why) {
					t.Fatalf("err = %v, want it to say %q", err, tc.why)
				}
				return
			}
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if claims.ServiceURL == "" || claims.ChannelID != channelID || claims.ExpiresAt.IsZero() {
				t.Errorf("claims = %+v", claims)
			}
			if tc.wantAudience != "" && claims.Audience != tc.wantAudience {
				t.Errorf("Audience = %q, want %q", claims.Audience, tc.wantAudience)
			}
		})
	}
	// Every case above used the one cached set; kids it lacks were refused
	// without a fetch (fewer than 5 minutes passed).
	if m, k := f.metadataFetches.Load(), f.keysFetches.Load(); m != 1 || k != 1 {
		t.Errorf("%d metadata and %d key fetches for the whole table, want 1 and 1", m, k)
	}
}

// Sentinels for the table's "none" (its zero values mean the defaults).
const (
	noChannel    = "\x00none"
	noServiceURL = "\x00none"
)

// tamperPayload changes the payload of a signed token, keeping its signature.
func tamperPayload(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	payload = []byte(strings.Replace(string(payload), "amer", "emea", 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

// authStart is when the scenario tests begin.
var authStart = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// newTeamsAuth serves teamsSigningKey and returns an Authenticator on a fake clock
// with a token signed by it.
func newTeamsAuth(t *testing.T) (*fakeBotFramework, *authClock, *teams.Authenticator, string) {
	t.Helper()
	clock := &authClock{now: authStart}
	f := newFakeBotFramework(t, teamsSigningKey())
	return f, clock, f.authenticator(clock), signToken(t, jwt.SigningMethodRS256, "teams-key", authKeys()[0], botFrameworkClaims(authStart))
}

// authenticateTeams presents token for a Teams activity from authServiceURL.
func authenticateTeams(ctx context.Context, auth *teams.Authenticator, token string) error {
	_, err := auth.Authenticate(ctx, "Bearer "+token, teams.ChannelMSTeams, authServiceURL)
	return err
}

func TestAuthenticateWithoutAppIDRejects(t *testing.T) {
	f, _, auth, good := newTeamsAuth(t)
	auth.AppID = ""
	assertRejected(t, authenticateTeams(t.Context(), auth, good), "Bearer "+good)
	if n := f.metadataFetches.Load(); n != 0 {
		t.Errorf("%d metadata fetches without an app id, want 0", n)
	}
}

// An unknown kid refreshes the set once, then is refused; more unknown
// kids within 5 minutes fetch nothing (botbuilder-js OpenIdMetadata's
// refresh on a missing key, rate-limited as teams.md asks).
func TestAuthenticateUnknownKidRefetchesOnce(t *testing.T) {
	f, clock, auth, good := newTeamsAuth(t)
	if err := authenticateTeams(t.Context(), auth, good); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Minute)

	unknown := signToken(t, jwt.SigningMethodRS256, "made-up-kid", authKeys()[0], botFrameworkClaims(authStart))
	for i := range 3 {
		assertRejected(t, authenticateTeams(t.Context(), auth, unknown), "Bearer "+unknown)
		if k := f.keysFetches.Load(); k != 2 {
			t.Fatalf("after unknown kid #%d: %d key fetches, want 2 (the fill and one refetch)", i+1, k)
		}
	}
	// The metadata is fetched again with the keys (it names where they are).
	if m := f.metadataFetches.Load(); m != 2 {
		t.Errorf("%d metadata fetches, want 2", m)
	}
	// The known key still works from the cache.
	if err := authenticateTeams(t.Context(), auth, good); err != nil {
		t.Fatal(err)
	}
	if k := f.keysFetches.Load(); k != 2 {
		t.Errorf("%d key fetches, want 2", k)
	}
}

func TestAuthenticateConcurrentUnknownKidsShareOneRefetch(t *testing.T) {
	f, clock, auth, good := newTeamsAuth(t)
	if err := authenticateTeams(t.Context(), auth, good); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Minute)
	f.set(func(f *fakeBotFramework) { f.delay = 50 * time.Millisecond })

	var wg sync.WaitGroup
	for i := range 100 {
		token := signToken(t, jwt.SigningMethodRS256, "made-up-kid-"+string(rune('a'+i%26)), authKeys()[0], botFrameworkClaims(authStart))
		wg.Go(func() {
			err := authenticateTeams(t.Context(), auth, token)
			if !errors.Is(err, teams.ErrUnauthorized) || errors.Is(err, teams.ErrKeysUnavailable) {
				t.Errorf("err = %v, want ErrUnauthorized (unknown key)", err)
			}
		})
	}
	// Good tokens go through meanwhile.
	for range 10 {
		wg.Go(func() {
			if err := authenticateTeams(t.Context(), auth, good); err != nil {
				t.Errorf("good token during the refetch: %v", err)
			}
		})
	}
	wg.Wait()
	if k := f.keysFetches.Load(); k > 2 {
		t.Errorf("%d key fetches, want at most 2 (the fill and one refetch for 100 unknown kids)", k)
	}
}

// Keys roll over: a kid that appears after the cache was filled is
// accepted once the 5-minute refresh window has passed.
func TestAuthenticateKeyRollover(t *testing.T) {
	f, clock, auth, old := newTeamsAuth(t)
	if err := authenticateTeams(t.Context(), auth, old); err != nil {
		t.Fatal(err)
	}

	f.publish(publishedKey{kid: "next-key", key: authKeys()[1], endorsements: []string{"msteams"}})
	clock.Advance(time.Minute)
	next := signToken(t, jwt.SigningMethodRS256, "next-key", authKeys()[1], botFrameworkClaims(clock.Now()))
	// Within the window: no refetch yet.
	assertRejected(t, authenticateTeams(t.Context(), auth, next), "Bearer "+next)
	if k := f.keysFetches.Load(); k != 1 {
		t.Fatalf("%d key fetches a minute after the fill, want 1", k)
	}

	clock.Advance(4 * time.Minute)
	if err := authenticateTeams(t.Context(), auth, next); err != nil {
		t.Fatalf("new key after the refresh window: %v", err)
	}
	if err := authenticateTeams(t.Context(), auth, old); err != nil {
		t.Fatalf("old key still published: %v", err)
	}
	if k := f.keysFetches.Load(); k != 2 {
		t.Errorf("%d key fetches, want 2", k)
	}
}

// The set is refreshed after 24 hours even when every kid is known.
func TestAuthenticateRefreshesKeysDaily(t *testing.T) {
	f, clock, auth, _ := newTeamsAuth(t)
	for _, d := range []time.Duration{0, 23 * time.Hour, 1*time.Hour + time.Second} {
		clock.Advance(d)
		token := signToken(t, jwt.SigningMethodRS256, "teams-key", authKeys()[0], botFrameworkClaims(clock.Now()))
		if err := authenticateTeams(t.Context(), auth, token); err != nil {
			t.Fatal(err)
		}
	}
	if k := f.keysFetches.Load(); k != 2 {
		t.Errorf("%d key fetches over 24 h, want 2", k)
	}
}

// Fetch failures are our outage: still a 401, but recognisable.
func TestAuthenticateKeysUnavailable(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fakeBotFramework)
	}{
		{"MetadataHTTP500", func(f *fakeBotFramework) { f.metadataStatus = http.StatusInternalServerError }},
		{"KeysHTTP503", func(f *fakeBotFramework) { f.keysStatus = http.StatusServiceUnavailable }},
		{"JWKSURINotHTTP", func(f *fakeBotFramework) { f.jwksURI = "file:///etc/passwd" }},
		{"JWKSURIRelative", func(f *fakeBotFramework) { f.jwksURI = "relative/keys" }},
		{"NoKeysInSet", func(f *fakeBotFramework) { f.keys = nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, _, auth, good := newTeamsAuth(t)
			f.set(tc.setup)
			err := authenticateTeams(t.Context(), auth, good)
			if !errors.Is(err, teams.ErrUnauthorized) || !errors.Is(err, teams.ErrKeysUnavailable) {
				t.Fatalf("err = %v, want ErrUnauthorized and ErrKeysUnavailable", err)
			}
			if strings.Contains(err.Error(), good) {
				t.Fatalf("error carries the token: %v", err)
			}
			// The endpoint recovers: the next request fetches again and passes.
			f.set(func(f *fakeBotFramework) {
				f.metadataStatus, f.keysStatus, f.jwksURI, f.keys = 0, 0, "", []publishedKey{teamsSigningKey()}
			})
			if err := authenticateTeams(t.Context(), auth, good); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
		})
	}
}

// A client that hangs up is not a key outage.
func TestAuthenticateCanceledContext(t *testing.T) {
	f, _, auth, good := newTeamsAuth(t)
	f.set(func(f *fakeBotFramework) { f.delay = 200 * time.Millisecond })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	err := authenticateTeams(ctx, auth, good)
	if !errors.Is(err, teams.ErrUnauthorized) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, teams.ErrKeysUnavailable) {
		t.Fatalf("err = %v, want ErrUnauthorized wrapping the context's error", err)
	}
}

// Metadata fetched over TLS must not send us to plain-http keys.
func TestAuthenticateRefusesJWKSURIDowngrade(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"jwks_uri":"http://login.botframework.invalid/v1/.well-known/keys"}`))
	}))
	defer srv.Close()
	auth := &teams.Authenticator{AppID: authAppID, OpenIDURL: srv.URL, Client: srv.Client(),
		Now: func() time.Time { return authStart }, Logger: slog.New(slog.DiscardHandler)}
	good := signToken(t, jwt.SigningMethodRS256, "teams-key", authKeys()[0], botFrameworkClaims(authStart))
	err := authenticateTeams(t.Context(), auth, good)
	if !errors.Is(err, teams.ErrKeysUnavailable) || !strings.Contains(err.Error(), "not https") {
		t.Fatalf("err = %v, want ErrKeysUnavailable: jwks_uri not https", err)
	}
}
