package crm

import (
	"context"
	"errors"
	"strings"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// DefaultAuthorityURL is Entra ID's public-cloud authority.
const DefaultAuthorityURL = "https://login.microsoftonline.com"

// AppCredentials identify crmbot's Entra app registration for app-only
// (client credentials) access, used by the change-tracking sync.
type AppCredentials struct {
	// AuthorityURL defaults to DefaultAuthorityURL (the sandbox's URL in demo mode).
	AuthorityURL string
	TenantID     string
	ClientID     string
	ClientSecret string
	// OrgURL is the Dataverse org, whose "/.default" scope is requested.
	OrgURL string
}

// Scope is the Dataverse resource scope of an org: "{orgURL}/.default".
func Scope(orgURL string) string { return strings.TrimRight(orgURL, "/") + "/.default" }

// DelegatedScopes are the scopes of the account-linking sign-in: Dataverse
// plus the OpenID scopes for the id token claims and offline_access for a
// refresh token.
func DelegatedScopes(orgURL string) []string {
	return []string{Scope(orgURL), "openid", "profile", "email", "offline_access"}
}

// Endpoint is the Entra v2.0 endpoint of a tenant at an authority:
// {authority}/{tenant}/oauth2/v2.0/authorize and …/token.
func Endpoint(authorityURL, tenant string) oauth2.Endpoint {
	if authorityURL == "" {
		authorityURL = DefaultAuthorityURL
	}
	base := strings.TrimRight(authorityURL, "/") + "/" + tenant + "/oauth2/v2.0/"
	return oauth2.Endpoint{
		AuthURL:   base + "authorize",
		TokenURL:  base + "token",
		AuthStyle: oauth2.AuthStyleInParams,
	}
}

// AppTokenSource returns a caching token source of app-only tokens for the
// org (client credentials, scope {OrgURL}/.default). ctx carries the
// *http.Client for token requests (oauth2.HTTPClient), if any.
func AppTokenSource(ctx context.Context, cred AppCredentials) (oauth2.TokenSource, error) {
	if cred.TenantID == "" || cred.ClientID == "" || cred.ClientSecret == "" || cred.OrgURL == "" {
		return nil, errors.New("crm: app credentials need tenant id, client id, client secret and org URL")
	}
	cfg := &clientcredentials.Config{
		ClientID:     cred.ClientID,
		ClientSecret: cred.ClientSecret,
		TokenURL:     Endpoint(cred.AuthorityURL, cred.TenantID).TokenURL,
		Scopes:       []string{Scope(cred.OrgURL)},
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	return cfg.TokenSource(ctx), nil
}
