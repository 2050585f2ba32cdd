package sandbox

import (
	"strings"
	"testing"
)

func TestAuthScopes(t *testing.T) {
	t.Run("delegated", func(t *testing.T) {
		for _, tc := range []struct {
			name, raw string
			want      authScopes
			err       string // OAuth error code, "" for success
		}{
			{"crmbot's link scopes", "https://org.crm.dynamics.com/.default openid profile email offline_access",
				authScopes{resource: "https://org.crm.dynamics.com", openid: true, profile: true, email: true, offline: true}, ""},
			{"user_impersonation", "https://org.crm.dynamics.com/user_impersonation", authScopes{resource: "https://org.crm.dynamics.com"}, ""},
			{"any host and port, lower-cased", "http://LocalHost:3978/.default", authScopes{resource: "http://localhost:3978"}, ""},
			{"OpenID scopes are case-insensitive", "OpenID https://o.example/.DEFAULT", authScopes{resource: "https://o.example", openid: true}, ""},
			{"both permissions listed without .default", "https://o.example/user_impersonation https://o.example/user_impersonation", authScopes{resource: "https://o.example"}, ""},
			{"only OpenID scopes: Graph", "openid email", authScopes{resource: authGraphResource, openid: true, email: true}, ""},
			{"empty", "  ", authScopes{}, "invalid_request"},
			{"Graph permission", "https://graph.microsoft.com/User.Read", authScopes{}, "invalid_scope"},
			{"bare word", "User.Read", authScopes{}, "invalid_scope"},
			{"two resources", "https://a.example/.default https://b.example/.default", authScopes{}, "invalid_scope"},
			{".default with another permission", "https://a.example/.default https://a.example/user_impersonation", authScopes{}, "invalid_scope"},
			{"query", "https://a.example/.default?x=1", authScopes{}, "invalid_scope"},
			{"fragment", "https://a.example/.default#", authScopes{}, "invalid_scope"},
			{"user info", "https://u@a.example/.default", authScopes{}, "invalid_scope"},
			{"mounted under a path", "http://localhost:3978/sandbox/.default", authScopes{resource: "http://localhost:3978/sandbox"}, ""},
			{"dot segment in the path", "https://a.example/../.default", authScopes{}, "invalid_scope"},
			{"empty segment in the path", "https://a.example//x/.default", authScopes{}, "invalid_scope"},
			{"escaped path", "https://a.example/%2Edefault", authScopes{}, "invalid_scope"},
			{"other scheme", "ftp://a.example/.default", authScopes{}, "invalid_scope"},
			{"no host", "https:///.default", authScopes{}, "invalid_scope"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := authParseDelegatedScopes(tc.raw)
				if tc.err != "" {
					if err == nil || err.code != tc.err {
						t.Fatalf("got %+v, %v; want %s", got, err, tc.err)
					}
					return
				}
				if err != nil || got != tc.want {
					t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
				}
			})
		}
	})
	t.Run("granted scope string", func(t *testing.T) {
		s := authScopes{resource: "https://o.example", openid: true, email: true, offline: true}
		if got := s.granted(); got != "https://o.example/user_impersonation openid email" {
			t.Fatalf("granted = %q", got)
		}
	})
	t.Run("client credentials", func(t *testing.T) {
		for raw, want := range map[string]string{
			"https://org.crm.dynamics.com/.default":           "https://org.crm.dynamics.com",
			"https://org.crm.dynamics.com/user_impersonation": "",
			"https://a.example/.default openid":               "",
			"openid":                                          "",
			"":                                                "",
		} {
			got, err := authParseAppScope(raw)
			if got != want || (want == "") != (err != nil) {
				t.Errorf("%q: got %q, %v; want %q", raw, got, err, want)
			}
		}
	})
}

// FuzzAuthScopes feeds arbitrary scope strings to the parsers: they must never
// panic, and a resource they accept is always a bare http(s) origin.
func FuzzAuthScopes(f *testing.F) {
	for _, s := range []string{"https://org.crm.dynamics.com/.default openid profile email offline_access", "openid",
		"http://[::1]:80/user_impersonation", "https://a/.default#x", "%", "https://a.example/%2e%64efault"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		check := func(resource string) {
			if resource == authGraphResource {
				return
			}
			if !strings.HasPrefix(resource, "https://") && !strings.HasPrefix(resource, "http://") || strings.ContainsAny(resource, "?#@ \\") {
				t.Fatalf("accepted resource %q from %q", resource, raw)
			}
		}
		if s, err := authParseDelegatedScopes(raw); err == nil {
			check(s.resource)
		}
		if resource, err := authParseAppScope(raw); err == nil {
			check(resource)
		}
	})
}
