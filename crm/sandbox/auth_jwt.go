package sandbox

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// errUnauthorized is the error authenticate wraps for every rejected request
// (no token, bad signature, expired, wrong issuer or audience, unknown user).
// The Web API answers it with writeUnauthorized:
//
//	p, err := authenticate(r)
//	if errors.Is(err, errUnauthorized) {
//		writeUnauthorized(w, r) // or writeUnauthorizedFor(w, r, opts) with a custom TenantID/BaseURL
//		return
//	}
var errUnauthorized = errors.New("sandbox: unauthorized")

// authMaxTokenBytes bounds what authenticate is willing to parse.
const authMaxTokenBytes = 16 << 10

// signingKey returns the RS256 key and its kid, generating them on first use.
func (a *authServer) signingKey() (*rsa.PrivateKey, string) {
	a.keyOnce.Do(func() {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil { // cannot happen with crypto/rand since Go 1.24
			panic(fmt.Sprintf("sandbox: generate signing key: %v", err))
		}
		a.key, a.kid = key, authJWKThumbprint(&key.PublicKey)
	})
	return a.key, a.kid
}

// authJWK is one RSA public key of the JWKS document.
type authJWK struct {
	Kty    string `json:"kty"`
	Use    string `json:"use"`
	Kid    string `json:"kid"`
	N      string `json:"n"`
	E      string `json:"e"`
	Issuer string `json:"issuer,omitempty"` // Entra adds the issuer the key signs for
}

func authNewJWK(pub *rsa.PublicKey, kid, issuer string) authJWK {
	return authJWK{
		Kty: "RSA", Use: "sig", Kid: kid, Issuer: issuer,
		N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// authJWKThumbprint is the RFC 7638 thumbprint of pub, used as its kid.
func authJWKThumbprint(pub *rsa.PublicKey) string {
	k := authNewJWK(pub, "", "")
	sum := sha256.Sum256([]byte(`{"e":"` + k.E + `","kty":"RSA","n":"` + k.N + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// sign returns claims as an RS256 JWT with the sandbox's kid.
func (a *authServer) sign(claims jwt.MapClaims) (string, error) {
	key, kid := a.signingKey()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = kid
	s, err := t.SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// accessIssuer is the issuer of access tokens. Dataverse receives Entra v1
// access tokens, whose issuer is https://sts.windows.net/{tid}/ whatever host
// the token was requested from; the sandbox does the same, which also keeps
// authenticate independent of the host name a client used.
func (a *authServer) accessIssuer() string { return "https://sts.windows.net/" + a.opts.TenantID + "/" }

// idIssuer is the issuer of id tokens and of the OpenID configuration.
func (a *authServer) idIssuer(base string) string { return base + "/" + a.opts.TenantID + "/v2.0" }

// authPairwiseSubject is a stable `sub` per (tenant, audience, object id), the
// way Entra's pairwise subjects differ per application.
func authPairwiseSubject(tenant, audience, oid string) string {
	sum := sha256.Sum256([]byte(tenant + "|" + audience + "|" + oid))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// accessTokenClaims are those of an Entra v1 access token for Dataverse.
func (a *authServer) accessTokenClaims(g authGrant, now time.Time) jwt.MapClaims {
	tid := a.opts.TenantID
	c := jwt.MapClaims{
		"aud":      g.scopes.resource,
		"iss":      a.accessIssuer(),
		"iat":      now.Unix(),
		"nbf":      now.Unix(),
		"exp":      now.Add(a.opts.AccessTokenTTL).Unix(),
		"appid":    g.clientID,
		"appidacr": "1", // client secret
		"tid":      tid,
		"uti":      authRandomToken()[:22],
		"ver":      "1.0",
	}
	if g.app {
		c["idp"] = a.accessIssuer()
		c["idtyp"] = "app"
		c["oid"] = AppObjectID
		c["sub"] = AppObjectID
		return c
	}
	u := g.user
	c["acr"] = "1"
	c["amr"] = []string{"pwd"}
	c["family_name"] = u.LastName
	c["given_name"] = u.FirstName
	c["name"] = u.FullName()
	c["oid"] = u.ObjectID
	c["scp"] = g.scopes.scp()
	c["sub"] = authPairwiseSubject(tid, g.scopes.resource, u.ObjectID)
	c["unique_name"] = u.Email
	c["upn"] = u.Email
	return c
}

// idTokenClaims are those of an Entra v2.0 id token: the identity claims follow
// the scopes (oid, preferred_username and name need profile; email needs email).
func (a *authServer) idTokenClaims(g authGrant, base, nonce string, now time.Time) jwt.MapClaims {
	u := g.user
	c := jwt.MapClaims{
		"iss": a.idIssuer(base),
		"aud": g.clientID,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(authIDTokenTTL).Unix(),
		"sub": authPairwiseSubject(a.opts.TenantID, g.clientID, u.ObjectID),
		"tid": a.opts.TenantID,
		"ver": "2.0",
	}
	if nonce != "" {
		c["nonce"] = nonce
	}
	if g.scopes.profile {
		c["oid"] = u.ObjectID
		c["preferred_username"] = u.Email
		c["name"] = u.FullName()
	}
	if g.scopes.email {
		c["email"] = u.Email
	}
	return c
}

// authenticate maps the request's bearer token to a Principal. It verifies the
// RS256 signature with the sandbox's key, exp/nbf/iat (with authClockSkew of
// leeway against Options.Now), the access-token issuer, the tenant and the
// audience (any resource but Graph: see authParseDelegatedScopes). Delegated
// tokens act as the user whose Entra object id is `oid`; app tokens
// (idtyp "app") as the application user. Every failure wraps errUnauthorized.
func (a *authServer) authenticate(r *http.Request) (Principal, error) {
	raw, ok := authBearerToken(r)
	if !ok {
		return Principal{}, fmt.Errorf("%w: no bearer token", errUnauthorized)
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, a.verificationKey,
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithIssuer(a.accessIssuer()),
		jwt.WithLeeway(authClockSkew),
		jwt.WithTimeFunc(a.now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
	)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %w", errUnauthorized, err)
	}
	str := func(name string) string { s, _ := claims[name].(string); return s }
	switch aud := str("aud"); {
	case aud == "" || aud == authGraphResource:
		return Principal{}, fmt.Errorf("%w: token audience is not Dataverse", errUnauthorized)
	case !sameResource(aud, authBaseURL(a.opts, r)):
		// As a real org does: a token minted for another org's URL is refused.
		return Principal{}, fmt.Errorf("%w: token audience is another org", errUnauthorized)
	case !strings.EqualFold(str("tid"), a.opts.TenantID):
		return Principal{}, fmt.Errorf("%w: token is for another tenant", errUnauthorized)
	case str("appid") != a.opts.ClientID:
		return Principal{}, fmt.Errorf("%w: token was issued to an unknown client", errUnauthorized)
	}
	if str("idtyp") == "app" {
		if str("oid") != AppObjectID {
			return Principal{}, fmt.Errorf("%w: app token for an unknown service principal", errUnauthorized)
		}
		return Principal{UserID: AppUserID, App: true}, nil
	}
	if !slices.Contains(strings.Fields(str("scp")), "user_impersonation") {
		return Principal{}, fmt.Errorf("%w: token lacks user_impersonation", errUnauthorized)
	}
	u, ok := a.userByObjectID(str("oid"))
	if !ok {
		return Principal{}, fmt.Errorf("%w: token's user is not in the directory", errUnauthorized)
	}
	return Principal{UserID: u.ID}, nil
}

// verificationKey is the jwt.Keyfunc: only the sandbox's own kid is known.
func (a *authServer) verificationKey(t *jwt.Token) (any, error) {
	key, kid := a.signingKey()
	if got, _ := t.Header["kid"].(string); got != kid {
		return nil, errors.New("unknown signing key")
	}
	return &key.PublicKey, nil
}

// authBearerToken extracts the token of an "Authorization: Bearer" header.
func authBearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" || len(token) > authMaxTokenBytes {
		return "", false
	}
	return token, true
}

// writeUnauthorized answers a Web API request that authenticate rejected the
// way Dataverse does: 401, an empty body, and
//
//	WWW-Authenticate: Bearer authorization_uri={base}/{tid}/oauth2/authorize, resource_id={base}/
//
// where Dataverse names https://login.microsoftonline.com/{tid}/oauth2/authorize
// and https://org.crm.dynamics.com/: the sandbox is both. It uses the default
// tenant and the request's host; a sandbox with its own TenantID or BaseURL
// calls writeUnauthorizedFor.
func writeUnauthorized(w http.ResponseWriter, r *http.Request) {
	writeUnauthorizedFor(w, r, Options{})
}

// writeUnauthorizedFor is writeUnauthorized for the given sandbox options.
func writeUnauthorizedFor(w http.ResponseWriter, r *http.Request, opts Options) {
	opts = opts.withDefaults()
	base := authBaseURL(opts, r)
	w.Header().Set("WWW-Authenticate",
		"Bearer authorization_uri="+base+"/"+opts.TenantID+"/oauth2/authorize, resource_id="+base+"/")
	w.WriteHeader(http.StatusUnauthorized)
}

// sameResource compares a token audience with the sandbox's base URL by host
// and path, ignoring the scheme (a TLS-terminating proxy changes it) and case.
func sameResource(aud, base string) bool {
	strip := func(u string) string {
		_, rest, ok := strings.Cut(u, "://")
		if !ok {
			rest = u
		}
		return strings.ToLower(strings.TrimRight(rest, "/"))
	}
	return strip(aud) == strip(base)
}
