package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2/clientcredentials"
)

func TestAuthenticate(t *testing.T) {
	env := newAuthTestEnv(t, Options{AccessTokenTTL: time.Hour})
	a := env.sb.auth
	jonas := DemoUsers()[3]
	tok := env.login(env.config(authAllScopes...), jonas.Email)
	now := env.clock.Now()

	// forge signs claims derived from a real access token, edited by edit.
	forge := func(t *testing.T, edit func(jwt.MapClaims)) string {
		t.Helper()
		c := authUnverifiedClaims(t, tok.AccessToken)
		edit(c)
		s, err := a.sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	request := func(header string) *http.Request {
		// Addressed to the org the token names, as a real client's request is.
		base := "http://sandbox.test"
		if _, raw, ok := strings.Cut(header, " "); ok {
			if aud := audienceOf(raw); strings.HasPrefix(aud, "http") {
				base = aud
			}
		}
		r := httptest.NewRequest(http.MethodGet, base+APIPath+"accounts", nil)
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		return r
	}
	accepts := func(t *testing.T, header string, want Principal) {
		t.Helper()
		p, err := a.authenticate(request(header))
		if err != nil || p != want {
			t.Fatalf("authenticate = %+v, %v; want %+v", p, err, want)
		}
	}
	rejects := func(t *testing.T, header string) {
		t.Helper()
		p, err := a.authenticate(request(header))
		if !errors.Is(err, errUnauthorized) || p != (Principal{}) {
			t.Fatalf("authenticate = %+v, %v; want errUnauthorized", p, err)
		}
	}

	t.Run("fresh delegated token acts as its user", func(t *testing.T) {
		accepts(t, "Bearer "+tok.AccessToken, Principal{UserID: jonas.ID})
	})
	t.Run("scheme is case-insensitive", func(t *testing.T) {
		accepts(t, "bearer "+tok.AccessToken, Principal{UserID: jonas.ID})
	})
	t.Run("app token acts as the application user", func(t *testing.T) {
		app, err := (&clientcredentials.Config{ClientID: DefaultClientID, ClientSecret: DefaultClientSecret,
			TokenURL: env.srv.URL + "/common/oauth2/v2.0/token", Scopes: []string{"https://sandbox.local:8443/.default"}}).Token(env.ctx)
		if err != nil {
			t.Fatal(err)
		}
		accepts(t, "Bearer "+app.AccessToken, Principal{UserID: AppUserID, App: true})
	})
	t.Run("no Authorization header", func(t *testing.T) { rejects(t, "") })
	t.Run("Basic scheme", func(t *testing.T) { rejects(t, "Basic Y3JtYm90OnNlY3JldA==") })
	t.Run("empty bearer", func(t *testing.T) { rejects(t, "Bearer ") })
	t.Run("not a JWT", func(t *testing.T) { rejects(t, "Bearer abc.def") })
	t.Run("oversized token", func(t *testing.T) { rejects(t, "Bearer "+strings.Repeat("a", authMaxTokenBytes+1)) })
	t.Run("tampered payload", func(t *testing.T) {
		parts := strings.Split(tok.AccessToken, ".")
		other := strings.Split(forge(t, func(c jwt.MapClaims) { c["oid"] = DemoUsers()[0].ObjectID }), ".")
		rejects(t, "Bearer "+parts[0]+"."+other[1]+"."+parts[2])
	})
	t.Run("tampered signature", func(t *testing.T) {
		b := []byte(tok.AccessToken)
		i := len(b) - 10
		b[i] = map[bool]byte{true: 'B', false: 'A'}[b[i] == 'A']
		rejects(t, "Bearer "+string(b))
	})
	t.Run("expired beyond the leeway", func(t *testing.T) {
		env.clock.Advance(time.Hour + authClockSkew + time.Second)
		defer env.clock.Advance(-(time.Hour + authClockSkew + time.Second))
		rejects(t, "Bearer "+tok.AccessToken)
	})
	t.Run("expired within the leeway is still accepted", func(t *testing.T) {
		env.clock.Advance(time.Hour + authClockSkew/2)
		defer env.clock.Advance(-(time.Hour + authClockSkew/2))
		accepts(t, "Bearer "+tok.AccessToken, Principal{UserID: jonas.ID})
	})
	t.Run("not valid yet", func(t *testing.T) {
		rejects(t, "Bearer "+forge(t, func(c jwt.MapClaims) {
			c["nbf"], c["iat"] = now.Add(time.Hour).Unix(), now.Add(time.Hour).Unix()
		}))
	})
	t.Run("no exp", func(t *testing.T) { rejects(t, "Bearer "+forge(t, func(c jwt.MapClaims) { delete(c, "exp") })) })
	t.Run("wrong issuer", func(t *testing.T) {
		rejects(t, "Bearer "+forge(t, func(c jwt.MapClaims) { c["iss"] = "https://sts.windows.net/another-tenant/" }))
	})
	t.Run("id token presented as an access token", func(t *testing.T) {
		rejects(t, "Bearer "+tok.Extra("id_token").(string))
	})
	t.Run("another tenant", func(t *testing.T) {
		rejects(t, "Bearer "+forge(t, func(c jwt.MapClaims) { c["tid"] = "11111111-2222-3333-4444-555555555555" }))
	})
	t.Run("another client", func(t *testing.T) {
		rejects(t, "Bearer "+forge(t, func(c jwt.MapClaims) { c["appid"] = "someone-else" }))
	})
	t.Run("Graph audience", func(t *testing.T) {
		rejects(t, "Bearer "+forge(t, func(c jwt.MapClaims) { c["aud"] = authGraphResource }))
	})
	t.Run("no user_impersonation", func(t *testing.T) {
		rejects(t, "Bearer "+forge(t, func(c jwt.MapClaims) { c["scp"] = "User.Read" }))
	})
	t.Run("user not in the directory", func(t *testing.T) {
		rejects(t, "Bearer "+forge(t, func(c jwt.MapClaims) { c["oid"] = "00000000-0000-0000-0000-000000000000" }))
	})
	t.Run("app token for another service principal", func(t *testing.T) {
		rejects(t, "Bearer "+forge(t, func(c jwt.MapClaims) { c["idtyp"] = "app"; c["oid"] = "00000000-0000-0000-0000-000000000000" }))
	})
	t.Run("signed by another key under the sandbox's kid", func(t *testing.T) {
		other, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		forged := jwt.NewWithClaims(jwt.SigningMethodRS256, authUnverifiedClaims(t, tok.AccessToken))
		_, forged.Header["kid"] = a.signingKey()
		s, err := forged.SignedString(other)
		if err != nil {
			t.Fatal(err)
		}
		rejects(t, "Bearer "+s)
	})
	t.Run("alg none", func(t *testing.T) {
		s, err := jwt.NewWithClaims(jwt.SigningMethodNone, authUnverifiedClaims(t, tok.AccessToken)).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		rejects(t, "Bearer "+s)
	})
	t.Run("HS256 with the public key as secret", func(t *testing.T) {
		key, kid := a.signingKey()
		forged := jwt.NewWithClaims(jwt.SigningMethodHS256, authUnverifiedClaims(t, tok.AccessToken))
		forged.Header["kid"] = kid
		s, err := forged.SignedString(key.N.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		rejects(t, "Bearer "+s)
	})
}

func TestAuthWriteUnauthorized(t *testing.T) {
	t.Run("default tenant, host from the request", func(t *testing.T) {
		w := httptest.NewRecorder()
		writeUnauthorized(w, httptest.NewRequest(http.MethodGet, "http://localhost:3978"+APIPath+"WhoAmI", nil))
		want := "Bearer authorization_uri=http://localhost:3978/" + DefaultTenantID + "/oauth2/authorize, resource_id=http://localhost:3978/"
		if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != want || w.Body.Len() != 0 {
			t.Fatalf("got %d %q %q", w.Code, w.Header().Get("WWW-Authenticate"), w.Body.String())
		}
	})
	t.Run("sandbox options: tenant and BaseURL", func(t *testing.T) {
		w := httptest.NewRecorder()
		opts := Options{TenantID: "t-1", BaseURL: "https://sandbox.example.test/"}
		writeUnauthorizedFor(w, httptest.NewRequest(http.MethodGet, "http://127.0.0.1"+APIPath, nil), opts)
		want := "Bearer authorization_uri=https://sandbox.example.test/t-1/oauth2/authorize, resource_id=https://sandbox.example.test/"
		if w.Header().Get("WWW-Authenticate") != want {
			t.Fatalf("got %q", w.Header().Get("WWW-Authenticate"))
		}
	})
}

// TestAuthMemoryIsBounded checks that expired codes and refresh tokens are
// purged and that only hashes are stored.
func TestAuthMemoryIsBounded(t *testing.T) {
	env := newAuthTestEnv(t, Options{RefreshTokenTTL: time.Hour})
	cfg := env.config(authAllScopes...)
	tok := env.login(cfg, DemoUsers()[0].Email)
	_ = env.authorizeCode(cfg, DemoUsers()[0].Email, "unused-verifier-unused-verifier-unused-verifier")
	a := env.sb.auth
	a.mu.Lock()
	if len(a.codes) != 2 || len(a.refresh) != 1 {
		t.Fatalf("codes %d, refresh %d", len(a.codes), len(a.refresh))
	}
	if _, ok := a.refresh[authTokenHash(tok.RefreshToken)]; !ok {
		t.Fatal("refresh token not stored under its hash")
	}
	a.mu.Unlock()

	env.clock.Advance(time.Hour + authSweepEvery)
	_ = env.authorizeCode(cfg, DemoUsers()[0].Email, "unused-verifier-unused-verifier-unused-verifier")
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.codes) != 1 || len(a.refresh) != 0 {
		t.Fatalf("after expiry: codes %d, refresh %d", len(a.codes), len(a.refresh))
	}
}

// audienceOf reads a JWT's aud claim without verifying it ("" if unreadable).
func audienceOf(raw string) string {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		Aud string `json:"aud"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.Aud
}

func TestAuthenticateRejectsAnotherOrgsToken(t *testing.T) {
	for _, tc := range []struct {
		aud, base string
		same      bool
	}{
		{"https://org.crm.dynamics.com", "https://org.crm.dynamics.com", true},
		{"https://org.crm.dynamics.com/", "http://ORG.crm.dynamics.com", true},
		{"http://localhost:3978/sandbox", "http://localhost:3978/sandbox", true},
		{"https://other.crm.dynamics.com", "https://org.crm.dynamics.com", false},
		{"http://localhost:3978", "http://localhost:3978/sandbox", false},
	} {
		if got := sameResource(tc.aud, tc.base); got != tc.same {
			t.Errorf("sameResource(%q, %q) = %v, want %v", tc.aud, tc.base, got, tc.same)
		}
	}
}
