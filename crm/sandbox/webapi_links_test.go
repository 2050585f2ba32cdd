package sandbox

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// rowsOf returns the "value" rows of a collection answer.
func rowsOf(m map[string]any) []map[string]any {
	var out []map[string]any
	for _, v := range m["value"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

// TestCollectionLinks: @odata.nextLink and @odata.deltaLink are written as
// Dataverse writes them ("…/contacts?$select=fullname&$skiptoken=%3Ccookie…"
// in the page-results docs): the options in the order sent, "$" literal in
// their names, values percent-encoded, the token last; a client following the
// link verbatim gets the next page of the same query.
func TestCollectionLinks(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: 30})
	filter := "contains(name,'a') or name eq 'L''Oréal Distribution' or name eq 'A&B+C %$x;y'"
	query := "$select=name,accountnumber&$filter=" + url.QueryEscape(filter) + "&$orderby=" + url.PathEscape("name desc") + "&$count=true"
	all := rowsOf(must(t, env.do(t, chloe.Email, http.MethodGet, "accounts?"+query, nil), http.StatusOK).JSON(t))
	if len(all) < 10 {
		t.Fatalf("the filter matches %d rows; want enough for several pages", len(all))
	}
	wantPrefix := env.srv.URL + APIPath + "accounts?$select=name,accountnumber&$filter="

	var got []map[string]any
	next, pages := "accounts?"+query, 0
	for next != "" {
		r := must(t, env.do(t, chloe.Email, http.MethodGet, next, nil, "Prefer", "odata.maxpagesize=4"), http.StatusOK)
		m := r.JSON(t)
		got = append(got, rowsOf(m)...)
		pages++
		next, _ = m["@odata.nextLink"].(string)
		if next == "" {
			break
		}
		if !strings.HasPrefix(next, wantPrefix) || strings.Contains(next, "%24") || strings.Contains(next, "+") ||
			strings.Count(next, "$skiptoken=") != 1 || !strings.Contains(next, "&$orderby=name%20desc&$count=true&$skiptoken=") {
			t.Fatalf("nextLink = %s", next)
		}
		u, err := url.Parse(next)
		if err != nil {
			t.Fatal(err)
		}
		if q := u.Query(); q.Get("$filter") != filter || q.Get("$select") != "name,accountnumber" || q.Get("$orderby") != "name desc" {
			t.Fatalf("nextLink options don't decode to the query sent: %v", q)
		}
	}
	if pages != (len(all)+3)/4 || len(got) != len(all) {
		t.Fatalf("pages = %d, rows = %d; want %d rows in %d pages", pages, len(got), len(all), (len(all)+3)/4)
	}
	for i := range all {
		if got[i]["accountid"] != all[i]["accountid"] {
			t.Fatalf("row %d: paged %v, unpaged %v", i, got[i]["name"], all[i]["name"])
		}
	}

	t.Run("a nextLink replaces the $skiptoken it was requested with", func(t *testing.T) {
		first := must(t, env.do(t, chloe.Email, http.MethodGet, "accounts?$select=name", nil, "Prefer", "odata.maxpagesize=5"), http.StatusOK).JSON(t)
		second := must(t, env.do(t, chloe.Email, http.MethodGet, first["@odata.nextLink"].(string), nil, "Prefer", "odata.maxpagesize=5"), http.StatusOK).JSON(t)
		link := second["@odata.nextLink"].(string)
		if !strings.HasPrefix(link, env.srv.URL+APIPath+"accounts?$select=name&$skiptoken=") || strings.Count(link, "$skiptoken") != 1 {
			t.Fatalf("nextLink = %s", link)
		}
	})
	t.Run("a client that encoded the $ of option names gets them literal back", func(t *testing.T) {
		m := must(t, env.do(t, chloe.Email, http.MethodGet, "accounts?%24select=name&%24top=40", nil, "Prefer", "odata.maxpagesize=5"), http.StatusOK).JSON(t)
		if link := m["@odata.nextLink"].(string); !strings.HasPrefix(link, env.srv.URL+APIPath+"accounts?$select=name&$top=40&$skiptoken=") {
			t.Fatalf("nextLink = %s", link)
		}
	})
	t.Run("deltaLink and its nextLinks: same builder, token last", func(t *testing.T) {
		rows, delta := env.readTracked(t, asApp, "accounts?$select=name,accountnumber", "7")
		if len(rows) != 30 {
			t.Fatalf("baseline rows = %d", len(rows))
		}
		want := env.srv.URL + APIPath + "accounts?$select=name,accountnumber&$deltatoken="
		if !strings.HasPrefix(delta, want) || !strings.Contains(delta, "%21") {
			t.Fatalf("deltaLink = %s", delta)
		}
		m := must(t, env.do(t, asApp, http.MethodGet, delta, nil), http.StatusOK).JSON(t)
		if again := m["@odata.deltaLink"].(string); !strings.HasPrefix(again, want) || strings.Count(again, "$deltatoken") != 1 {
			t.Fatalf("deltaLink of a delta = %s", again)
		}
	})
}

// TestBaseURL: the Web API and the OAuth endpoints derive the sandbox's URL
// the same way (authBaseURL): Options.BaseURL, else the request's Host with
// https when the request came over TLS or says X-Forwarded-Proto: https.
func TestBaseURL(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: 1})
	host := strings.TrimPrefix(env.srv.URL, "http://")
	for _, tc := range []struct{ proto, want string }{{"", "http://" + host}, {"https", "https://" + host}, {"https, http", "https://" + host}} {
		var h []string
		if tc.proto != "" {
			h = []string{"X-Forwarded-Proto", tc.proto}
		}
		m := must(t, env.do(t, chloe.Email, http.MethodGet, "WhoAmI", nil, h...), http.StatusOK).JSON(t)
		if m["@odata.context"] != tc.want+APIPath+"$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse" {
			t.Fatalf("X-Forwarded-Proto %q: @odata.context = %v", tc.proto, m["@odata.context"])
		}
		r := must(t, env.do(t, chloe.Email, http.MethodPost, "tasks", map[string]any{"subject": "base"}, h...), http.StatusNoContent)
		if !strings.HasPrefix(r.Header.Get("OData-EntityId"), tc.want+APIPath+"tasks(") {
			t.Fatalf("X-Forwarded-Proto %q: OData-EntityId = %q", tc.proto, r.Header.Get("OData-EntityId"))
		}
		oidc := must(t, env.do(t, "", http.MethodGet, "/common/v2.0/.well-known/openid-configuration", nil, h...), http.StatusOK).JSON(t)
		if ep, _ := oidc["token_endpoint"].(string); !strings.HasPrefix(ep, tc.want+"/") {
			t.Fatalf("X-Forwarded-Proto %q: token_endpoint = %q, Web API base %q", tc.proto, ep, tc.want)
		}
	}
	t.Run("Options.BaseURL wins", func(t *testing.T) {
		env := newOrgEnv(t, Options{RecordsPerType: 1, BaseURL: "https://org.example.test/sandbox/"})
		m := must(t, env.do(t, chloe.Email, http.MethodGet, "WhoAmI", nil, "X-Forwarded-Proto", "http"), http.StatusOK).JSON(t)
		if m["@odata.context"] != "https://org.example.test/sandbox"+APIPath+"$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse" {
			t.Fatalf("@odata.context = %v", m["@odata.context"])
		}
	})
}

// TestApplicationUser: the application user's azureactivedirectoryobjectid is
// the oid that client-credentials tokens carry (AppObjectID), as in Dataverse,
// where an application user is bound to the app's service principal.
func TestApplicationUser(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: -1})
	m := must(t, env.do(t, asApp, http.MethodGet, "systemusers("+AppUserID+")?$select=azureactivedirectoryobjectid,applicationid,fullname", nil), http.StatusOK).JSON(t)
	if m["azureactivedirectoryobjectid"] != AppObjectID {
		t.Fatalf("application user = %v, want azureactivedirectoryobjectid %s", m, AppObjectID)
	}
	if c := authUnverifiedClaims(t, env.token(t, asApp)); c["oid"] != AppObjectID {
		t.Fatalf("app token oid = %v", c["oid"])
	}
	// And the lookup a sync job does by object id finds exactly that user.
	users := rowsOf(must(t, env.do(t, asApp, http.MethodGet, "systemusers?$select=fullname&$filter="+url.QueryEscape("azureactivedirectoryobjectid eq "+AppObjectID), nil), http.StatusOK).JSON(t))
	if len(users) != 1 || users[0]["systemuserid"] != AppUserID {
		t.Fatalf("systemusers by oid = %v", users)
	}
	// No demo user shares it.
	if slices.ContainsFunc(DemoUsers(), func(u User) bool { return strings.EqualFold(u.ObjectID, AppObjectID) }) {
		t.Fatal("a demo user has the app's object id")
	}
}
