package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/internal/jwks"
)

// Identity is who signed in, from the verified id token.
type Identity struct {
	TenantID          string // tid
	ObjectID          string // oid
	PreferredUsername string // preferred_username (the UPN, usually)
	Name              string // name
	Email             string // email, when the user has one
}

// idTokenVerifier checks id tokens of one app registration at one authority
// (Entra, or the sandbox that imitates it): RS256 signature by a key of the
// tenant's published set, issuer, audience, expiry and the OIDC nonce. The
// token came straight from the token endpoint over TLS, so this is defence
// in depth as much as a requirement — but a forged token must never link.
type idTokenVerifier struct {
	authority, tenant, clientID string
	client                      *http.Client
	now                         func() time.Time

	mu     sync.Mutex
	issuer string // the discovery document's, possibly with "{tenantid}"
	keys   *jwks.Set
}

// discover loads the tenant's OpenID configuration once (again after a
// failure).
func (v *idTokenVerifier) discover(ctx context.Context) (string, *jwks.Set, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys != nil {
		return v.issuer, v.keys, nil
	}
	u := strings.TrimRight(v.authority, "/") + "/" + v.tenant + "/v2.0/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", nil, err
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return "", nil, fmt.Errorf("openid configuration: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", nil, fmt.Errorf("openid configuration: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", nil, fmt.Errorf("openid configuration %s: HTTP %d", u, resp.StatusCode)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Issuer == "" || doc.JWKSURI == "" {
		return "", nil, fmt.Errorf("openid configuration %s: no issuer or jwks_uri", u)
	}
	v.issuer = doc.Issuer
	v.keys = &jwks.Set{URL: doc.JWKSURI, Client: v.client, Now: v.now}
	return v.issuer, v.keys, nil
}

// verify checks raw and returns the identity it carries.
func (v *idTokenVerifier) verify(ctx context.Context, raw, nonce string) (Identity, error) {
	issuer, keys, err := v.discover(ctx)
	if err != nil {
		return Identity{}, err
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k, err := keys.Lookup(ctx, kid)
		if err != nil {
			return nil, err
		}
		return k.Public, nil
	},
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithAudience(v.clientID),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(5*time.Minute),
		jwt.WithTimeFunc(v.now),
	)
	if err != nil {
		return Identity{}, fmt.Errorf("id token: %w", err)
	}
	str := func(k string) string { s, _ := claims[k].(string); return s }
	id := Identity{TenantID: str("tid"), ObjectID: str("oid"), PreferredUsername: str("preferred_username"),
		Name: str("name"), Email: str("email")}
	if id.TenantID == "" || id.ObjectID == "" {
		return Identity{}, errors.New("id token: no tid or oid (the profile scope was not granted)")
	}
	// A multi-tenant discovery document says "{tenantid}"; the token names
	// the tenant the user signed in to.
	wantIss := strings.ReplaceAll(issuer, "{tenantid}", id.TenantID)
	if str("iss") != wantIss {
		return Identity{}, fmt.Errorf("id token: issuer %q, want %q", str("iss"), wantIss)
	}
	if crm.IsGUID(v.tenant) && !strings.EqualFold(v.tenant, id.TenantID) {
		return Identity{}, fmt.Errorf("id token: tenant %s is not the app's tenant %s", id.TenantID, v.tenant)
	}
	if nonce == "" || str("nonce") != nonce {
		return Identity{}, errors.New("id token: nonce does not match this sign-in")
	}
	return id, nil
}
