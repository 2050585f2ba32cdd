package sandbox

import (
	"net/url"
	"strings"
)

// authGraphResource is the audience Entra gives an access token when a delegated
// request names no resource (only OpenID scopes): Microsoft Graph. The sandbox
// issues such a token too, and its Web API rejects it with 401, as Dataverse would.
const authGraphResource = "https://graph.microsoft.com"

// authScopes is what a delegated grant covers.
type authScopes struct {
	resource                        string // access token audience: a Dataverse URL, or authGraphResource
	openid, profile, email, offline bool
}

// granted is the "scope" of a delegated token response: the resource's
// permission first, then the OpenID scopes (offline_access is implied by the
// refresh token, as Entra leaves it out).
func (s authScopes) granted() string {
	parts := []string{s.resource + "/user_impersonation"}
	if s.resource == authGraphResource {
		parts[0] = authGraphResource + "/User.Read"
	}
	for _, p := range []struct {
		on   bool
		name string
	}{{s.openid, "openid"}, {s.profile, "profile"}, {s.email, "email"}} {
		if p.on {
			parts = append(parts, p.name)
		}
	}
	return strings.Join(parts, " ")
}

// scp is the access token's space-separated delegated permissions.
func (s authScopes) scp() string {
	if s.resource != authGraphResource {
		return "user_impersonation" // Dataverse's only delegated permission
	}
	parts := []string{}
	for _, p := range []struct {
		on   bool
		name string
	}{{s.email, "email"}, {s.openid, "openid"}, {s.profile, "profile"}} {
		if p.on {
			parts = append(parts, p.name)
		}
	}
	return strings.Join(append(parts, "User.Read"), " ")
}

// authParseDelegatedScopes parses the scope of an authorize or refresh request.
//
// Resource scopes: the sandbox accepts any absolute http(s) URL whose path ends
// in /.default or /user_impersonation, whatever its host, and issues the
// token for that URL (scheme://host, lower case). It cannot insist on its own
// host name because it is addressed by several (localhost, 127.0.0.1, a
// container name, the DATAVERSE_URL crmbot is configured with); its Web API
// accepts every audience except Graph. Any other scope is invalid_scope: the
// sandbox issues tokens for Dataverse and the OpenID scopes only.
func authParseDelegatedScopes(raw string) (authScopes, *oauthError) {
	fields := strings.Fields(raw)
	if len(fields) == 0 {
		return authScopes{}, authMissingParam("scope")
	}
	var s authScopes
	perms := map[string]map[string]bool{} // resource → permissions asked for
	var resources []string
	for _, f := range fields {
		switch strings.ToLower(f) {
		case "openid":
			s.openid = true
			continue
		case "profile":
			s.profile = true
			continue
		case "email":
			s.email = true
			continue
		case "offline_access":
			s.offline = true
			continue
		}
		resource, perm, ok := authParseResourceScope(f)
		if !ok {
			return authScopes{}, newOAuthError("invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope '%s' is not valid. The sandbox issues tokens for Dataverse ('https://{host}/.default' or 'https://{host}/user_impersonation') and the scopes openid, profile, email and offline_access.", f)
		}
		if perms[resource] == nil {
			perms[resource] = map[string]bool{}
			resources = append(resources, resource)
		}
		perms[resource][perm] = true
	}
	switch {
	case len(resources) > 1:
		return authScopes{}, newOAuthError("invalid_scope", 28000, "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope %s is not valid.", raw)
	case len(resources) == 1:
		s.resource = resources[0]
		if p := perms[s.resource]; p["/.default"] && len(p) > 1 {
			return authScopes{}, newOAuthError("invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope %s is not valid. static scope limit exceeded.", raw)
		}
	default:
		s.resource = authGraphResource
	}
	return s, nil
}

// authParseAppScope parses the scope of a client-credentials request: exactly
// one "{resource}/.default", as Entra requires.
func authParseAppScope(raw string) (string, *oauthError) {
	fields := strings.Fields(raw)
	if len(fields) == 0 {
		return "", authMissingParam("scope")
	}
	if len(fields) == 1 {
		if resource, perm, ok := authParseResourceScope(fields[0]); ok && perm == "/.default" {
			return resource, nil
		}
	}
	return "", newOAuthError("invalid_scope", 1002012, "The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", raw)
}

// authParseResourceScope splits "https://host[:port][/prefix]/.default" (or
// /user_impersonation) into the resource "https://host[:port][/prefix]" and the
// permission path. The optional path prefix lets a sandbox mounted under a
// path (crmbot's embedded one lives at /sandbox) be its own resource. Anything
// with user info, a query, a fragment or escapes is not a resource scope.
func authParseResourceScope(scope string) (resource, perm string, ok bool) {
	if strings.ContainsAny(scope, "?#@\\%") {
		return "", "", false
	}
	u, err := url.Parse(scope)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.Opaque != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.RawFragment != "" {
		return "", "", false
	}
	p := u.EscapedPath()
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", "", false
	}
	prefix, perm := p[:i], strings.ToLower(p[i:])
	if perm != "/.default" && perm != "/user_impersonation" {
		return "", "", false
	}
	for _, seg := range strings.Split(strings.TrimPrefix(prefix, "/"), "/") {
		if prefix != "" && (seg == "" || seg == "." || seg == "..") {
			return "", "", false
		}
	}
	return u.Scheme + "://" + strings.ToLower(u.Host) + prefix, perm, true
}
