package sandbox

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// fuzzOrg is a small org whose Web API is driven directly (no tokens), so the
// fuzzers exercise the parsers rather than the network.
func fuzzOrg(tb testing.TB) *org {
	return newOrg(Options{RecordsPerType: 3}.withDefaults(), DemoUsers())
}

func serveDirect(o *org, r *http.Request) int {
	w := httptest.NewRecorder()
	o.serveAPI(w, r, Principal{UserID: DemoUsers()[2].ID})
	return w.Code
}

// FuzzRequestPath feeds arbitrary paths and query strings (keys like accounts(…),
// $select/$filter/$expand/$orderby, skip and delta tokens) to the router.
func FuzzRequestPath(f *testing.F) {
	for _, s := range []string{
		"accounts(00000000-0000-0000-0000-000000000001)", "accounts(accountid=1f8b5a3e-2c4d-4e6f-8a0b-1c2d3e4f5a6b)",
		"accounts?$select=name&$filter=name%20eq%20'O''Brien'", "accounts?$expand=contact_customer_accounts($select=fullname;$top=5)",
		"accounts?$orderby=name%20desc&$top=3", "accounts?$skiptoken=eyJpZCI6IngifQ", "accounts?$deltatoken=1!01/01/2026%2000:00:00",
		"EntityDefinitions(LogicalName='account')", "accounts/$count", "accounts((", "WhoAmI()", "leads(x)/Microsoft.Dynamics.CRM.QualifyLead",
		"accounts?$filter=(((", "accounts?$filter=not%20not%20statecode%20eq%200",
	} {
		f.Add(s)
	}
	o := fuzzOrg(f)
	f.Fuzz(func(t *testing.T, s string) {
		r, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://sandbox"+APIPath+s, nil)
		if err != nil {
			return
		}
		if code := serveDirect(o, r); code == http.StatusInternalServerError {
			t.Fatalf("GET %q → %d", s, code)
		}
	})
}

// FuzzPreferHeader checks Prefer parsing never panics and stays consistent.
func FuzzPreferHeader(f *testing.F) {
	for _, s := range []string{`odata.include-annotations="*"`, `odata.maxpagesize=10, return=representation`,
		`odata.include-annotations="OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.lookuplogicalname",odata.track-changes`,
		`"unterminated, odata.maxpagesize=-1`, `;;,,=`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := parsePrefer([]string{s, s})
		if p.maxPageSize < 0 {
			t.Fatalf("negative page size from %q", s)
		}
		_ = p.applied()
	})
}

// FuzzBatchBody feeds arbitrary $batch bodies (one fixed boundary).
func FuzzBatchBody(f *testing.F) {
	f.Add("--b\r\nContent-Type: application/http\r\n\r\nGET /api/data/v9.2/WhoAmI HTTP/1.1\r\n\r\n\r\n--b--\r\n")
	f.Add("--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: application/http\r\nContent-ID: 1\r\n\r\nPOST accounts HTTP/1.1\r\nContent-Type: application/json\r\n\r\n{\"name\":\"x\"}\r\n--c\r\nContent-Type: application/http\r\n\r\nPATCH $1 HTTP/1.1\r\n\r\n{}\r\n--c--\r\n--b--\r\n")
	f.Add("--b\r\n\r\n--b--")
	o := fuzzOrg(f)
	f.Fuzz(func(t *testing.T, body string) {
		r, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://sandbox"+APIPath+"$batch", bytes.NewReader([]byte(body)))
		r.Header.Set("Content-Type", "multipart/mixed; boundary=b")
		if code := serveDirect(o, r); code == http.StatusInternalServerError {
			t.Fatalf("batch → %d", code)
		}
	})
}

// FuzzCreateBody feeds arbitrary JSON payloads to POST and PATCH.
func FuzzCreateBody(f *testing.F) {
	for _, s := range []string{`{"name":"x"}`, `{"numberofemployees":1e99}`, `{"ownerid@odata.bind":"/teams(` + SalesTeamID + `)"}`,
		`{"statecode":1,"statuscode":99}`, `{"@odata.type":"#Microsoft.Dynamics.CRM.account"}`, `[]`, `null`, `{"name":null}`} {
		f.Add(s)
	}
	o := fuzzOrg(f)
	f.Fuzz(func(t *testing.T, body string) {
		for _, m := range []string{http.MethodPost, http.MethodPatch} {
			path := "accounts"
			if m == http.MethodPatch {
				path = "accounts(00000000-0000-0000-0000-000000000009)"
			}
			r, _ := http.NewRequestWithContext(context.Background(), m, "http://sandbox"+APIPath+path, bytes.NewReader([]byte(body)))
			if code := serveDirect(o, r); code == http.StatusInternalServerError {
				t.Fatalf("%s %q → %d", m, body, code)
			}
		}
	})
}
