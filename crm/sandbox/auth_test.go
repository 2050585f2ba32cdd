package sandbox

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

func TestOpenIDConfiguration(t *testing.T) {
	env := newAuthTestEnv(t, Options{})
	type doc struct {
		Issuer, AuthorizationEndpoint, TokenEndpoint, JWKSURI string
		ResponseTypes                                         []string `json:"response_types_supported"`
		Scopes                                                []string `json:"scopes_supported"`
		Algs                                                  []string `json:"id_token_signing_alg_values_supported"`
		PKCE                                                  []string `json:"code_challenge_methods_supported"`
	}
	decode := func(t *testing.T, tenant string, header http.Header) doc {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, env.srv.URL+"/"+tenant+"/v2.0/.well-known/openid-configuration", nil)
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := env.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		var raw map[string]json.RawMessage
		body, _ := io.ReadAll(resp.Body)
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatal(err)
		}
		var d doc
		_ = json.Unmarshal(body, &d)
		for k, dst := range map[string]*string{"issuer": &d.Issuer, "authorization_endpoint": &d.AuthorizationEndpoint, "token_endpoint": &d.TokenEndpoint, "jwks_uri": &d.JWKSURI} {
			_ = json.Unmarshal(raw[k], dst)
		}
		return d
	}

	t.Run("tenant id: exact issuer, endpoints under the tenant", func(t *testing.T) {
		d := decode(t, env.tenantID, nil)
		root := env.srv.URL + "/" + env.tenantID
		if d.Issuer != root+"/v2.0" || d.AuthorizationEndpoint != root+"/oauth2/v2.0/authorize" ||
			d.TokenEndpoint != root+"/oauth2/v2.0/token" || d.JWKSURI != root+"/discovery/v2.0/keys" {
			t.Fatalf("endpoints = %+v", d)
		}
		if strings.Join(d.ResponseTypes, ",") != "code" || strings.Join(d.Algs, ",") != "RS256" || strings.Join(d.PKCE, ",") != "S256" {
			t.Fatalf("capabilities = %+v", d)
		}
		for _, s := range []string{"openid", "profile", "email", "offline_access"} {
			if !strings.Contains(strings.Join(d.Scopes, " "), s) {
				t.Errorf("scopes_supported lacks %s", s)
			}
		}
	})
	t.Run("common: issuer template like Entra, endpoints under common", func(t *testing.T) {
		d := decode(t, "common", nil)
		if d.Issuer != env.srv.URL+"/{tenantid}/v2.0" || d.TokenEndpoint != env.srv.URL+"/common/oauth2/v2.0/token" {
			t.Fatalf("got %+v", d)
		}
	})
	t.Run("X-Forwarded-Proto https is honoured", func(t *testing.T) {
		d := decode(t, "organizations", http.Header{"X-Forwarded-Proto": {"https"}})
		if !strings.HasPrefix(d.TokenEndpoint, "https://") {
			t.Fatalf("token_endpoint = %s", d.TokenEndpoint)
		}
	})
	t.Run("BaseURL option wins over the Host", func(t *testing.T) {
		env := newAuthTestEnv(t, Options{BaseURL: "https://sandbox.example.test/"})
		var d struct{ Issuer string }
		env.getJSON(env.srv.URL+"/"+env.tenantID+"/v2.0/.well-known/openid-configuration", &d)
		if d.Issuer != "https://sandbox.example.test/"+env.tenantID+"/v2.0" {
			t.Fatalf("issuer = %s", d.Issuer)
		}
	})
	t.Run("unknown tenant: AADSTS90002 JSON", func(t *testing.T) {
		for _, path := range []string{"/contoso/v2.0/.well-known/openid-configuration", "/contoso/discovery/v2.0/keys"} {
			resp, err := env.srv.Client().Get(env.srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			var body oauthErrorBody
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || body.Error != "invalid_tenant" || len(body.ErrorCodes) != 1 || body.ErrorCodes[0] != 90002 {
				t.Fatalf("%s: %d %+v", path, resp.StatusCode, body)
			}
		}
	})
	t.Run("JWKS publishes one RS256 key", func(t *testing.T) {
		if keys := env.jwks(); len(keys) != 1 {
			t.Fatalf("keys = %d", len(keys))
		}
	})
}

func TestOAuthAuthorizationCode(t *testing.T) {
	env := newAuthTestEnv(t, Options{})
	chloe := DemoUsers()[0]

	t.Run("login_hint signs in without a page; crmbot's scopes get every token", func(t *testing.T) {
		cfg := env.config(authAllScopes...)
		tok := env.login(cfg, chloe.Email, oauth2.SetAuthURLParam("nonce", "n-0S6_WzA2Mj"))
		if tok.TokenType != "Bearer" || tok.AccessToken == "" || tok.RefreshToken == "" {
			t.Fatalf("token = %+v", tok)
		}
		if got := tok.Extra("expires_in"); got != float64(3599) {
			t.Errorf("expires_in = %v, want 3599", got)
		}
		if got := tok.Extra("ext_expires_in"); got != float64(3599) {
			t.Errorf("ext_expires_in = %v, want 3599", got)
		}
		if got := tok.Extra("scope"); !strings.Contains(got.(string), authDataverse+"/user_impersonation") {
			t.Errorf("scope = %v", got)
		}
		id := env.verifyIDToken(tok.Extra("id_token").(string))
		want := map[string]any{"tid": env.tenantID, "ver": "2.0", "nonce": "n-0S6_WzA2Mj", "oid": chloe.ObjectID,
			"preferred_username": chloe.Email, "name": "Chloé Dubois", "email": chloe.Email, "aud": DefaultClientID}
		for k, v := range want {
			if id[k] != v {
				t.Errorf("id token %s = %v, want %v", k, id[k], v)
			}
		}
		for _, k := range []string{"sub", "iat", "nbf", "exp"} {
			if id[k] == nil {
				t.Errorf("id token lacks %s", k)
			}
		}
		access := authUnverifiedClaims(t, tok.AccessToken)
		if access["aud"] != authDataverse || access["scp"] != "user_impersonation" || access["oid"] != chloe.ObjectID ||
			access["tid"] != env.tenantID || access["roles"] != nil || access["ver"] != "1.0" {
			t.Errorf("access token claims = %v", access)
		}
		p, err := env.principal(tok.AccessToken)
		if err != nil || p != (Principal{UserID: chloe.ID}) {
			t.Fatalf("principal = %+v, %v", p, err)
		}
	})
	t.Run("login_hint is case-insensitive", func(t *testing.T) {
		tok := env.login(env.config(authDataverse+"/.default"), strings.ToUpper(chloe.Email))
		if p, err := env.principal(tok.AccessToken); err != nil || p.UserID != chloe.ID {
			t.Fatalf("principal = %+v, %v", p, err)
		}
	})
	t.Run("id token claims follow the scopes", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			scopes  []string
			present []string
			absent  []string
		}{
			{"openid only: no identity claims", []string{"openid"}, []string{"sub", "tid"}, []string{"oid", "preferred_username", "name", "email", "nonce"}},
			{"profile: oid, preferred_username, name", []string{"openid", "profile"}, []string{"oid", "preferred_username", "name"}, []string{"email"}},
			{"email: email only", []string{"openid", "email"}, []string{"email"}, []string{"oid", "preferred_username", "name"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tok := env.login(env.config(append([]string{authDataverse + "/.default"}, tc.scopes...)...), chloe.Email)
				id := env.verifyIDToken(tok.Extra("id_token").(string))
				for _, k := range tc.present {
					if id[k] == nil {
						t.Errorf("id token lacks %s", k)
					}
				}
				for _, k := range tc.absent {
					if id[k] != nil {
						t.Errorf("id token has %s", k)
					}
				}
				if tok.RefreshToken != "" {
					t.Error("refresh token without offline_access")
				}
			})
		}
	})
	t.Run("without openid: no id token; without offline_access: no refresh token", func(t *testing.T) {
		tok := env.login(env.config(authDataverse+"/user_impersonation"), chloe.Email)
		if tok.Extra("id_token") != nil || tok.RefreshToken != "" || tok.AccessToken == "" {
			t.Fatalf("token = %+v, id_token %v", tok, tok.Extra("id_token"))
		}
	})
	t.Run("only OpenID scopes: a Graph token the Web API refuses", func(t *testing.T) {
		tok := env.login(env.config("openid", "profile"), chloe.Email)
		if aud := authUnverifiedClaims(t, tok.AccessToken)["aud"]; aud != authGraphResource {
			t.Fatalf("aud = %v", aud)
		}
		if _, err := env.principal(tok.AccessToken); err == nil {
			t.Fatal("Graph token accepted by the Web API")
		}
	})
	t.Run("tenant segments common, organizations and the tenant id all work", func(t *testing.T) {
		for _, tenant := range []string{"common", "organizations", strings.ToUpper(env.tenantID)} {
			cfg := env.config(authDataverse + "/.default")
			cfg.Endpoint.AuthURL = env.srv.URL + "/" + tenant + "/oauth2/v2.0/authorize"
			cfg.Endpoint.TokenURL = env.srv.URL + "/" + tenant + "/oauth2/v2.0/token"
			if tok := env.login(cfg, chloe.Email); tok.AccessToken == "" {
				t.Fatalf("%s: no token", tenant)
			}
		}
	})
	t.Run("client_secret_basic works too", func(t *testing.T) {
		cfg := env.config(authDataverse + "/.default")
		cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
		if tok := env.login(cfg, chloe.Email); tok.AccessToken == "" {
			t.Fatal("no token")
		}
	})
}

func TestOAuthAuthorizeErrors(t *testing.T) {
	env := newAuthTestEnv(t, Options{})
	good := func() url.Values {
		return url.Values{
			"client_id": {DefaultClientID}, "response_type": {"code"}, "redirect_uri": {DefaultRedirectURI},
			"scope": {strings.Join(authAllScopes, " ")}, "state": {"st"}, "login_hint": {DemoUsers()[0].Email},
			"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
		}
	}
	authorize := func(tenant string, q url.Values) *http.Response {
		return env.get(env.srv.URL + "/" + tenant + "/oauth2/v2.0/authorize?" + q.Encode())
	}

	t.Run("errors before the redirect URI is trusted: an HTML page, never a redirect", func(t *testing.T) {
		for _, tc := range []struct {
			name, tenant, aadsts string
			edit                 func(url.Values)
		}{
			{"redirect URI with a suffix", "common", "AADSTS50011", func(q url.Values) { q.Set("redirect_uri", DefaultRedirectURI+"/evil") }},
			{"redirect URI prefix only", "common", "AADSTS50011", func(q url.Values) { q.Set("redirect_uri", "http://localhost:3978/link/") }},
			{"redirect URI in other case", "common", "AADSTS50011", func(q url.Values) { q.Set("redirect_uri", "http://LOCALHOST:3978/link/callback") }},
			{"redirect URI with a trailing slash", "common", "AADSTS50011", func(q url.Values) { q.Set("redirect_uri", DefaultRedirectURI+"/") }},
			{"attacker's redirect URI", "common", "AADSTS50011", func(q url.Values) { q.Set("redirect_uri", "https://attacker.example/cb") }},
			{"redirect URI missing", "common", "AADSTS900144", func(q url.Values) { q.Del("redirect_uri") }},
			{"redirect URI duplicated", "common", "AADSTS9000411", func(q url.Values) { q.Add("redirect_uri", "https://attacker.example/cb") }},
			{"unknown client", "common", "AADSTS700016", func(q url.Values) { q.Set("client_id", "someone-else") }},
			{"client_id missing", "common", "AADSTS900144", func(q url.Values) { q.Del("client_id") }},
			{"unknown tenant", "contoso.onmicrosoft.com", "AADSTS90002", func(url.Values) {}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := good()
				tc.edit(q)
				resp := authorize(tc.tenant, q)
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
				}
				if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), tc.aadsts+":") {
					t.Fatalf("page lacks %s: %s", tc.aadsts, body)
				}
				if strings.Contains(string(body), "<script") {
					t.Fatal("error page has a script")
				}
			})
		}
	})
	t.Run("errors after it: redirect with error, description and state", func(t *testing.T) {
		for _, tc := range []struct {
			name, code, aadsts string
			edit               func(url.Values)
		}{
			{"PKCE missing", "invalid_request", "AADSTS9002325", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }},
			{"PKCE plain", "invalid_request", "AADSTS9002325", func(q url.Values) { q.Set("code_challenge_method", "plain") }},
			{"PKCE method missing (Entra would assume plain)", "invalid_request", "AADSTS9002325", func(q url.Values) { q.Del("code_challenge_method") }},
			{"PKCE challenge of the wrong size", "invalid_request", "AADSTS501491", func(q url.Values) { q.Set("code_challenge", "short") }},
			{"implicit flow", "unsupported_response_type", "AADSTS700054", func(q url.Values) { q.Set("response_type", "token") }},
			{"response_type missing", "invalid_request", "AADSTS900144", func(q url.Values) { q.Del("response_type") }},
			{"response_mode fragment", "invalid_request", "AADSTS90023", func(q url.Values) { q.Set("response_mode", "fragment") }},
			{"scope missing", "invalid_request", "AADSTS900144", func(q url.Values) { q.Del("scope") }},
			{"Graph scope", "invalid_scope", "AADSTS70011", func(q url.Values) { q.Set("scope", "https://graph.microsoft.com/User.Read openid") }},
			{"two resources", "invalid_scope", "AADSTS28000", func(q url.Values) {
				q.Set("scope", authDataverse+"/.default https://other.crm.dynamics.com/.default")
			}},
			{"prompt=none without login_hint", "login_required", "AADSTS50058", func(q url.Values) { q.Del("login_hint"); q.Set("prompt", "none") }},
			{"prompt=none with an unknown login_hint", "login_required", "AADSTS50058", func(q url.Values) { q.Set("login_hint", "nobody@demo.crmbot.dev"); q.Set("prompt", "none") }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q := good()
				tc.edit(q)
				got := env.redirected(authorize(env.tenantID, q))
				if got.Get("error") != tc.code || !strings.HasPrefix(got.Get("error_description"), tc.aadsts+":") || got.Get("state") != "st" || got.Get("code") != "" {
					t.Fatalf("redirect query = %v", got)
				}
			})
		}
	})
	t.Run("login_hint with prompt=none signs in silently", func(t *testing.T) {
		q := good()
		q.Set("prompt", "none")
		if got := env.redirected(authorize("common", q)); got.Get("code") == "" {
			t.Fatalf("redirect query = %v", got)
		}
	})
}

// authPickerForm is the picker page's form: its action and hidden fields.
type authPickerForm struct {
	action string
	fields url.Values
}

var (
	authFormAction = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	authHidden     = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

func parseAuthPicker(t *testing.T, body string) authPickerForm {
	t.Helper()
	m := authFormAction.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form in page: %s", body)
	}
	f := authPickerForm{action: html.UnescapeString(m[1]), fields: url.Values{}}
	for _, h := range authHidden.FindAllStringSubmatch(body, -1) {
		f.fields.Add(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	return f
}

func TestOAuthUserPicker(t *testing.T) {
	env := newAuthTestEnv(t, Options{})
	cfg := env.config(authAllScopes...)
	sean := DemoUsers()[1]
	open := func(t *testing.T, verifier string, extra ...oauth2.AuthCodeOption) (*http.Response, string) {
		t.Helper()
		resp := env.get(cfg.AuthCodeURL("pick-state", append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}, extra...)...))
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	post := func(t *testing.T, f authPickerForm) *http.Response {
		t.Helper()
		resp, err := env.browser.PostForm(env.srv.URL+f.action, f.fields)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	t.Run("GET without login_hint renders an accessible page listing the demo users", func(t *testing.T) {
		resp, body := open(t, oauth2.GenerateVerifier())
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("status %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, want := range []string{`<html lang="en">`, "<title>", "<legend>", `<form method="post"`, `type="submit"`} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %s", want)
			}
		}
		for _, u := range DemoUsers() {
			for _, want := range []string{html.EscapeString(u.FullName()), u.Title, u.Email} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
		}
		if strings.Contains(body, "<script") {
			t.Error("page has a script")
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("CSP = %q", csp)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q", resp.Header.Get("Cache-Control"))
		}
	})
	t.Run("POST with the chosen user signs them in", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		_, body := open(t, verifier, oauth2.SetAuthURLParam("nonce", "pick-nonce"))
		f := parseAuthPicker(t, body)
		f.fields.Set(authFieldUser, sean.Email)
		q := env.redirected(post(t, f))
		if q.Get("state") != "pick-state" || q.Get("code") == "" {
			t.Fatalf("redirect query = %v", q)
		}
		tok, err := cfg.Exchange(env.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if p, err := env.principal(tok.AccessToken); err != nil || p.UserID != sean.ID {
			t.Fatalf("principal = %+v, %v", p, err)
		}
		if id := env.verifyIDToken(tok.Extra("id_token").(string)); id["nonce"] != "pick-nonce" || id["name"] != "Seán O'Brien" {
			t.Fatalf("id token = %v", id)
		}
	})
	t.Run("unknown login_hint shows the picker with a notice", func(t *testing.T) {
		resp, body := open(t, oauth2.GenerateVerifier(), oauth2.SetAuthURLParam("login_hint", "nobody@demo.crmbot.dev"))
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `role="alert"`) || !strings.Contains(body, "nobody@demo.crmbot.dev") {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
	})
	refused := func(t *testing.T, resp *http.Response) {
		t.Helper()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Fatalf("status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	t.Run("POST with altered parameters is refused", func(t *testing.T) {
		for name, edit := range map[string]func(url.Values){
			"scope widened": func(v url.Values) { v.Set("scope", v.Get("scope")+" profile") },
			"challenge swapped": func(v url.Values) {
				v.Set("code_challenge", oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier()))
			},
			"parameter added": func(v url.Values) { v.Set("nonce", "injected") },
			"state dropped":   func(v url.Values) { v.Del("state") },
			"token missing":   func(v url.Values) { v.Del(authFieldFormToken) },
			"token tampered": func(v url.Values) {
				tok := []byte(v.Get(authFieldFormToken))
				tok[30] = map[bool]byte{true: 'B', false: 'A'}[tok[30] == 'A']
				v.Set(authFieldFormToken, string(tok))
			},
		} {
			t.Run(name, func(t *testing.T) {
				_, body := open(t, oauth2.GenerateVerifier())
				f := parseAuthPicker(t, body)
				f.fields.Set(authFieldUser, sean.Email)
				edit(f.fields)
				refused(t, post(t, f))
			})
		}
	})
	t.Run("POST after the form expired is refused", func(t *testing.T) {
		_, body := open(t, oauth2.GenerateVerifier())
		f := parseAuthPicker(t, body)
		f.fields.Set(authFieldUser, sean.Email)
		env.clock.Advance(authFormTTL + time.Second)
		refused(t, post(t, f))
	})
	t.Run("POST with a user not in the directory is refused", func(t *testing.T) {
		_, body := open(t, oauth2.GenerateVerifier())
		f := parseAuthPicker(t, body)
		f.fields.Set(authFieldUser, "mallory@demo.crmbot.dev")
		refused(t, post(t, f))
	})
	t.Run("Cancel returns access_denied to the app", func(t *testing.T) {
		_, body := open(t, oauth2.GenerateVerifier())
		f := parseAuthPicker(t, body)
		f.fields.Set(authFieldCancel, "1")
		if q := env.redirected(post(t, f)); q.Get("error") != "access_denied" || q.Get("state") != "pick-state" {
			t.Fatalf("redirect query = %v", q)
		}
	})
}

func TestTokenEndpointCodeRedemption(t *testing.T) {
	opts := Options{RedirectURIs: []string{DefaultRedirectURI, "http://localhost:3978/other/callback"}}
	env := newAuthTestEnv(t, opts)
	cfg := env.config(authAllScopes...)
	email := DemoUsers()[2].Email

	t.Run("verifier mismatch: invalid_grant", func(t *testing.T) {
		code := env.authorizeCode(cfg, email, oauth2.GenerateVerifier())
		_, err := cfg.Exchange(env.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		authRetrieveError(t, err, http.StatusBadRequest, "invalid_grant", "AADSTS501481")
	})
	t.Run("verifier missing: invalid_grant", func(t *testing.T) {
		code := env.authorizeCode(cfg, email, oauth2.GenerateVerifier())
		_, err := cfg.Exchange(env.ctx, code)
		authRetrieveError(t, err, http.StatusBadRequest, "invalid_grant", "AADSTS501481")
	})
	t.Run("code used twice: the second use is invalid_grant", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		code := env.authorizeCode(cfg, email, verifier)
		if _, err := cfg.Exchange(env.ctx, code, oauth2.VerifierOption(verifier)); err != nil {
			t.Fatal(err)
		}
		_, err := cfg.Exchange(env.ctx, code, oauth2.VerifierOption(verifier))
		authRetrieveError(t, err, http.StatusBadRequest, "invalid_grant", "AADSTS54005")
	})
	t.Run("a failed redemption burns the code", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		code := env.authorizeCode(cfg, email, verifier)
		_, _ = cfg.Exchange(env.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		_, err := cfg.Exchange(env.ctx, code, oauth2.VerifierOption(verifier))
		authRetrieveError(t, err, http.StatusBadRequest, "invalid_grant", "AADSTS54005")
	})
	t.Run("code older than 10 minutes: invalid_grant", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		code := env.authorizeCode(cfg, email, verifier)
		env.clock.Advance(authCodeTTL)
		_, err := cfg.Exchange(env.ctx, code, oauth2.VerifierOption(verifier))
		authRetrieveError(t, err, http.StatusBadRequest, "invalid_grant", "AADSTS70008")
	})
	t.Run("redirect_uri differs from the one at authorize: invalid_grant", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		code := env.authorizeCode(cfg, email, verifier)
		other := *cfg
		other.RedirectURL = opts.RedirectURIs[1]
		_, err := other.Exchange(env.ctx, code, oauth2.VerifierOption(verifier))
		authRetrieveError(t, err, http.StatusBadRequest, "invalid_grant", "AADSTS500112")
	})
	t.Run("unknown code: invalid_grant", func(t *testing.T) {
		_, err := cfg.Exchange(env.ctx, "not-a-code", oauth2.VerifierOption(oauth2.GenerateVerifier()))
		authRetrieveError(t, err, http.StatusBadRequest, "invalid_grant", "AADSTS70000")
	})
	t.Run("wrong client secret: 401 invalid_client, and the code survives", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		code := env.authorizeCode(cfg, email, verifier)
		for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInParams, oauth2.AuthStyleInHeader} {
			bad := *cfg
			bad.ClientSecret = "guessed"
			bad.Endpoint.AuthStyle = style
			_, err := bad.Exchange(env.ctx, code, oauth2.VerifierOption(verifier))
			authRetrieveError(t, err, http.StatusUnauthorized, "invalid_client", "AADSTS7000215")
		}
		if _, err := cfg.Exchange(env.ctx, code, oauth2.VerifierOption(verifier)); err != nil {
			t.Fatalf("code burnt by an unauthenticated client: %v", err)
		}
	})
}

func TestTokenEndpointErrors(t *testing.T) {
	env := newAuthTestEnv(t, Options{})
	tokenURL := env.srv.URL + "/" + env.tenantID + "/oauth2/v2.0/token"
	post := func(t *testing.T, u string, form url.Values) (*http.Response, oauthErrorBody) {
		t.Helper()
		resp, err := env.srv.Client().PostForm(u, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body oauthErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp, body
	}
	client := url.Values{"client_id": {DefaultClientID}, "client_secret": {DefaultClientSecret}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vs := range client {
			v[k] = vs
		}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}

	for _, tc := range []struct {
		name   string
		url    string
		form   url.Values
		status int
		code   string
		aadsts int
	}{
		{"grant_type missing", tokenURL, with(), 400, "invalid_request", 900144},
		{"unsupported grant type", tokenURL, with("grant_type", "password"), 400, "unsupported_grant_type", 70003},
		{"secret missing", tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {DefaultClientID}}, 401, "invalid_client", 7000218},
		{"unknown client", tokenURL, url.Values{"grant_type": {"client_credentials"}, "client_id": {"x"}, "client_secret": {"y"}}, 400, "unauthorized_client", 700016},
		{"duplicated parameter", tokenURL, with("grant_type", "authorization_code", "code", "a", "code", "b"), 400, "invalid_request", 9000411},
		{"unknown tenant", env.srv.URL + "/contoso/oauth2/v2.0/token", with("grant_type", "client_credentials"), 400, "invalid_request", 90002},
		{"refresh_token missing", tokenURL, with("grant_type", "refresh_token"), 400, "invalid_request", 900144},
		{"unknown refresh token", tokenURL, with("grant_type", "refresh_token", "refresh_token", "nope"), 400, "invalid_grant", 9002313},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := post(t, tc.url, tc.form)
			if resp.StatusCode != tc.status || body.Error != tc.code || len(body.ErrorCodes) != 1 || body.ErrorCodes[0] != tc.aadsts {
				t.Fatalf("got %d %+v", resp.StatusCode, body)
			}
		})
	}
	t.Run("error body has Entra's shape", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(with("grant_type", "password").Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("client-request-id", "0b8f2a3c-1d2e-4f50-8a9b-0c1d2e3f4a5b")
		resp, err := env.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body oauthErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if body.CorrelationID != "0b8f2a3c-1d2e-4f50-8a9b-0c1d2e3f4a5b" || body.TraceID == "" || body.Timestamp == "" ||
			!strings.HasPrefix(body.ErrorDescription, "AADSTS70003: ") || !strings.Contains(body.ErrorDescription, "Trace ID: "+body.TraceID) {
			t.Fatalf("body = %+v", body)
		}
		if resp.Header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("headers = %v", resp.Header)
		}
	})
	t.Run("GET: invalid_request AADSTS900561", func(t *testing.T) {
		resp, err := env.srv.Client().Get(tokenURL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body oauthErrorBody
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if resp.StatusCode != 400 || body.ErrorCodes[0] != 900561 {
			t.Fatalf("got %d %+v", resp.StatusCode, body)
		}
	})
}

func TestOAuthRefresh(t *testing.T) {
	// expires_in of 4s is inside x/oauth2's 10s expiry margin: every Token() refreshes.
	env := newAuthTestEnv(t, Options{AccessTokenTTL: 5 * time.Second, RefreshTokenTTL: 24 * time.Hour})
	cfg := env.config(authAllScopes...)
	mathilde := DemoUsers()[2]

	t.Run("TokenSource refreshes an expired token and rotates the refresh token", func(t *testing.T) {
		first := env.login(cfg, mathilde.Email)
		next, err := cfg.TokenSource(env.ctx, first).Token()
		if err != nil {
			t.Fatal(err)
		}
		if next.AccessToken == first.AccessToken || next.RefreshToken == "" || next.RefreshToken == first.RefreshToken {
			t.Fatal("refresh did not return a new access and refresh token")
		}
		if next.Extra("id_token") == nil {
			t.Error("refresh with openid returned no id token")
		}
		if p, err := env.principal(next.AccessToken); err != nil || p.UserID != mathilde.ID {
			t.Fatalf("principal = %+v, %v", p, err)
		}
		t.Run("the old refresh token stays valid, as with Entra", func(t *testing.T) {
			old := &oauth2.Token{RefreshToken: first.RefreshToken, Expiry: time.Now().Add(-time.Hour)}
			again, err := cfg.TokenSource(env.ctx, old).Token()
			if err != nil {
				t.Fatal(err)
			}
			if again.RefreshToken == first.RefreshToken || again.RefreshToken == next.RefreshToken {
				t.Fatal("refresh token reused")
			}
		})
	})
	t.Run("revoked refresh tokens: invalid_grant", func(t *testing.T) {
		tok := env.login(cfg, mathilde.Email)
		other := env.login(cfg, DemoUsers()[3].Email)
		env.sb.RevokeRefreshTokens(strings.ToUpper(mathilde.Email))
		_, err := cfg.TokenSource(env.ctx, tok).Token()
		authRetrieveError(t, err, http.StatusBadRequest, "invalid_grant", "AADSTS50173")
		if _, err := cfg.TokenSource(env.ctx, other).Token(); err != nil {
			t.Fatalf("another user's refresh token was revoked too: %v", err)
		}
		// Signing in again gives a working refresh token.
		if _, err := cfg.TokenSource(env.ctx, env.login(cfg, mathilde.Email)).Token(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("expired refresh token: invalid_grant", func(t *testing.T) {
		tok := env.login(cfg, mathilde.Email)
		env.clock.Advance(24 * time.Hour)
		_, err := cfg.TokenSource(env.ctx, tok).Token()
		authRetrieveError(t, err, http.StatusBadRequest, "invalid_grant", "AADSTS700082")
	})
	t.Run("unknown refresh token: invalid_grant", func(t *testing.T) {
		_, err := cfg.TokenSource(env.ctx, &oauth2.Token{RefreshToken: "forged"}).Token()
		authRetrieveError(t, err, http.StatusBadRequest, "invalid_grant", "AADSTS9002313")
	})
}

func TestOAuthClientCredentials(t *testing.T) {
	env := newAuthTestEnv(t, Options{})
	app := func(scopes ...string) *clientcredentials.Config {
		return &clientcredentials.Config{
			ClientID: DefaultClientID, ClientSecret: DefaultClientSecret, Scopes: scopes,
			TokenURL: env.srv.URL + "/" + env.tenantID + "/oauth2/v2.0/token",
		}
	}

	t.Run("app token acts as the application user", func(t *testing.T) {
		tok, err := app(authDataverse + "/.default").Token(env.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken != "" || tok.Extra("id_token") != nil || tok.Extra("scope") != nil {
			t.Fatalf("unexpected extras in %+v", tok)
		}
		c := authUnverifiedClaims(t, tok.AccessToken)
		if c["idtyp"] != "app" || c["appid"] != DefaultClientID || c["oid"] != AppObjectID || c["aud"] != authDataverse ||
			c["scp"] != nil || c["roles"] != nil {
			t.Fatalf("claims = %v", c)
		}
		if p, err := env.principal(tok.AccessToken); err != nil || p != (Principal{UserID: AppUserID, App: true}) {
			t.Fatalf("principal = %+v, %v", p, err)
		}
	})
	t.Run("scope must be resource/.default", func(t *testing.T) {
		for _, scopes := range [][]string{{authDataverse + "/user_impersonation"}, {authDataverse + "/.default", "openid"}, {"openid"}} {
			_, err := app(scopes...).Token(env.ctx)
			authRetrieveError(t, err, http.StatusBadRequest, "invalid_scope", "AADSTS1002012")
		}
	})
	t.Run("wrong secret: 401 invalid_client", func(t *testing.T) {
		c := app(authDataverse + "/.default")
		c.ClientSecret = "crmbot-demo-secreT"
		_, err := c.Token(env.ctx)
		authRetrieveError(t, err, http.StatusUnauthorized, "invalid_client", "AADSTS7000215")
	})
}

// TestOAuthConcurrentUse runs sign-ins, refreshes, revocations and bearer
// checks at once, for the race detector.
func TestOAuthConcurrentUse(t *testing.T) {
	env := newAuthTestEnv(t, Options{AccessTokenTTL: 5 * time.Second})
	cfg := env.config(authAllScopes...)
	var wg sync.WaitGroup
	for i := range 8 {
		u := DemoUsers()[i%len(DemoUsers())]
		wg.Go(func() {
			verifier := oauth2.GenerateVerifier()
			resp, err := env.browser.Get(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("login_hint", u.Email)))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			tok, err := cfg.Exchange(env.ctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
			if err != nil {
				t.Error(err)
				return
			}
			for range 3 {
				if tok, err = cfg.TokenSource(env.ctx, tok).Token(); err != nil {
					if i%4 != 3 { // those users' tokens may be revoked by now
						t.Error(err)
					}
					return
				}
				if _, err := env.principal(tok.AccessToken); err != nil {
					t.Error(err)
				}
			}
			if i%4 == 3 {
				env.sb.RevokeRefreshTokens(u.Email)
			}
		})
	}
	wg.Wait()
}
