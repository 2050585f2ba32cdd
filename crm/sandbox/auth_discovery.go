package sandbox

import (
	"net/http"
	"strings"
)

// authOpenIDConfiguration is the OpenID Provider metadata document, limited to
// what the sandbox implements (Entra also lists the implicit and hybrid flows,
// fragment and form_post, device code, logout and a Graph userinfo endpoint).
type authOpenIDConfiguration struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ClaimsSupported                   []string `json:"claims_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
}

// discoveryIssuer is the issuer a discovery document names. Like Entra, the
// multi-tenant segments (common, organizations) publish the template
// "{base}/{tenantid}/v2.0", since their tokens' issuer depends on the user's
// tenant; the tenant id segment publishes the exact issuer of its id tokens.
func (a *authServer) discoveryIssuer(r *http.Request) string {
	tenant := r.PathValue("tenant")
	if strings.EqualFold(tenant, a.opts.TenantID) {
		return a.idIssuer(a.baseURL(r))
	}
	return a.baseURL(r) + "/{tenantid}/v2.0"
}

// serveOpenIDConfiguration serves GET /{tenant}/v2.0/.well-known/openid-configuration.
func (a *authServer) serveOpenIDConfiguration(w http.ResponseWriter, r *http.Request) {
	t, tenant, ok := a.discoveryTenant(w, r)
	if !ok {
		return
	}
	root := a.baseURL(r) + "/" + tenant
	a.writeDiscoveryJSON(w, t, authOpenIDConfiguration{
		Issuer:                            a.discoveryIssuer(r),
		AuthorizationEndpoint:             root + "/oauth2/v2.0/authorize",
		TokenEndpoint:                     root + "/oauth2/v2.0/token",
		JWKSURI:                           root + "/discovery/v2.0/keys",
		ResponseTypesSupported:            []string{"code"},
		ResponseModesSupported:            []string{"query"},
		GrantTypesSupported:               []string{"authorization_code", "refresh_token", "client_credentials"},
		SubjectTypesSupported:             []string{"pairwise"},
		ScopesSupported:                   []string{"openid", "profile", "email", "offline_access"},
		ClaimsSupported:                   []string{"sub", "iss", "aud", "exp", "iat", "nbf", "nonce", "oid", "preferred_username", "name", "tid", "ver", "email"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "client_secret_basic"},
		CodeChallengeMethodsSupported:     []string{"S256"}, // Entra omits this field; we publish what we enforce
	})
}

// serveKeys serves the JWKS: GET /{tenant}/discovery/v2.0/keys.
func (a *authServer) serveKeys(w http.ResponseWriter, r *http.Request) {
	t, _, ok := a.discoveryTenant(w, r)
	if !ok {
		return
	}
	key, kid := a.signingKey()
	a.writeDiscoveryJSON(w, t, map[string][]authJWK{
		"keys": {authNewJWK(&key.PublicKey, kid, a.discoveryIssuer(r))},
	})
}

// writeDiscoveryJSON writes a public, cacheable discovery document that browsers
// may read cross-origin, as Entra's are.
func (a *authServer) writeDiscoveryJSON(w http.ResponseWriter, t authTrace, v any) {
	t.setIDs(w)
	w.Header().Set("Cache-Control", "max-age=86400, private")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	authWriteJSON(w, http.StatusOK, v)
}

// discoveryTenant returns the request's trace and tenant segment, or answers
// an unknown tenant as Entra does (400 invalid_tenant) and returns false.
func (a *authServer) discoveryTenant(w http.ResponseWriter, r *http.Request) (authTrace, string, bool) {
	t, tenant := a.newTrace(r), r.PathValue("tenant")
	if !a.knownTenant(tenant) {
		e := authUnknownTenant(tenant)
		e.code = "invalid_tenant"
		a.writeOAuthError(w, t, e)
		return t, tenant, false
	}
	return t, tenant, true
}
