package sandbox

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// batchResponses parses a $batch response into per-request HTTP responses
// (change sets flattened), with Go's mime/multipart reader.
func batchResponses(t *testing.T, r apiResponse) []*http.Response {
	t.Helper()
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type = %q", r.Header.Get("Content-Type"))
	}
	var out []*http.Response
	var walk func(body []byte, boundary string)
	walk = func(body []byte, boundary string) {
		mr := multipart.NewReader(bytes.NewReader(body), boundary)
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("batch response: %v", err)
			}
			b, _ := io.ReadAll(p)
			pmt, pp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
			if pmt == "multipart/mixed" {
				walk(b, pp["boundary"])
				continue
			}
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), nil)
			if err != nil {
				t.Fatalf("inner response: %v\n%s", err, b)
			}
			out = append(out, resp)
		}
	}
	walk(r.Body, params["boundary"])
	return out
}

func TestBatch(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: 5})
	acc := env.sb.RecordIDs("accounts")[0]
	org := env.srv.URL
	// A batch body as the Dataverse docs write it (CRLF line ends, absolute URLs, Content-ID).
	body := strings.ReplaceAll(`--batch_AAA123
Content-Type: multipart/mixed; boundary=changeset_BBB456

--changeset_BBB456
Content-Type: application/http
Content-Transfer-Encoding:binary
Content-ID: 1

POST `+org+`/api/data/v9.2/tasks HTTP/1.1
Content-Type: application/json;type=entry

{"subject":"Task 1 in batch","regardingobjectid_account_task@odata.bind":"`+org+`/api/data/v9.2/accounts(`+acc+`)"}
--changeset_BBB456
Content-Type: application/http
Content-Transfer-Encoding:binary
Content-ID: 2

PATCH $1 HTTP/1.1
Content-Type: application/json;type=entry

{"description":"patched through $1"}
--changeset_BBB456--

--batch_AAA123
Content-Type: application/http
Content-Transfer-Encoding:binary

GET `+org+`/api/data/v9.2/tasks?$select=subject&$filter=subject%20eq%20'Task%201%20in%20batch' HTTP/1.1
Accept: application/json

--batch_AAA123--
`, "\n", "\r\n")
	t.Run("docs example: change set then GET", func(t *testing.T) {
		r := must(t, env.do(t, chloe.Email, http.MethodPost, "$batch", body, "Content-Type", "multipart/mixed; boundary=batch_AAA123"), http.StatusOK)
		resps := batchResponses(t, r)
		if len(resps) != 3 || resps[0].StatusCode != 204 || resps[1].StatusCode != 204 || resps[2].StatusCode != 200 {
			t.Fatalf("responses = %v", resps)
		}
		if !strings.Contains(resps[0].Header.Get("OData-EntityId"), "/tasks(") {
			t.Fatalf("OData-EntityId = %q", resps[0].Header.Get("OData-EntityId"))
		}
		b, _ := io.ReadAll(resps[2].Body)
		if !strings.Contains(string(b), "Task 1 in batch") {
			t.Fatalf("GET in batch = %s", b)
		}
	})
	t.Run("failing change set rolls back everything", func(t *testing.T) {
		before := env.sb.CountRecords("accounts")
		env.sb.org.mu.RLock()
		logBefore := len(env.sb.org.tables["account"].log)
		versionBefore := env.sb.org.version
		env.sb.org.mu.RUnlock()
		bad := strings.ReplaceAll(`--batch_x
Content-Type: multipart/mixed; boundary=cs_y

--cs_y
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 1

POST /api/data/v9.2/accounts HTTP/1.1
Content-Type: application/json

{"name":"Rolled back"}
--cs_y
Content-Type: application/http
Content-Transfer-Encoding: binary
Content-ID: 2

POST /api/data/v9.2/accounts HTTP/1.1
Content-Type: application/json

{"nope":"x"}
--cs_y--
--batch_x--
`, "\n", "\r\n")
		// Without odata.continue-on-error the batch answers the failing request's status.
		r := must(t, env.do(t, chloe.Email, http.MethodPost, "$batch", bad, "Content-Type", "multipart/mixed; boundary=batch_x"), http.StatusBadRequest)
		resps := batchResponses(t, r)
		if len(resps) != 1 || resps[0].StatusCode != 400 {
			t.Fatalf("responses = %v", resps)
		}
		env.sb.org.mu.RLock()
		defer env.sb.org.mu.RUnlock()
		if len(env.sb.org.tables["account"].rows) != before || len(env.sb.org.tables["account"].log) != logBefore || env.sb.org.version != versionBefore {
			t.Fatal("change set not rolled back")
		}
	})
	t.Run("malformed batches: 400", func(t *testing.T) {
		must(t, env.do(t, chloe.Email, http.MethodPost, "$batch", "garbage", "Content-Type", "text/plain"), http.StatusBadRequest)
		must(t, env.do(t, chloe.Email, http.MethodPost, "$batch", "--b\r\nContent-Type: application/http\r\n\r\nNOT A REQUEST\r\n--b--\r\n",
			"Content-Type", "multipart/mixed; boundary=b"), http.StatusBadRequest)
	})
	t.Run("over 1000 requests: 400", func(t *testing.T) {
		var b strings.Builder
		for range 1001 {
			b.WriteString("--b\r\nContent-Type: application/http\r\n\r\nGET /api/data/v9.2/WhoAmI HTTP/1.1\r\n\r\n\r\n")
		}
		b.WriteString("--b--\r\n")
		wantError(t, env.do(t, chloe.Email, http.MethodPost, "$batch", b.String(), "Content-Type", "multipart/mixed; boundary=b"), 400, "", "limit of 1000")
	})
}

// batchOf joins request parts (each "METHOD URL HTTP/1.1\n[headers]\n\n[body]",
// or a change set made with changeSetOf) into a $batch body with boundary "b".
func batchOf(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("--b\r\n")
		if strings.HasPrefix(p, "Content-Type: multipart/mixed") {
			b.WriteString(p)
			continue
		}
		b.WriteString("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n")
		b.WriteString(strings.ReplaceAll(p, "\n", "\r\n") + "\r\n")
	}
	b.WriteString("--b--\r\n")
	return b.String()
}

// changeSetOf is a change set part for batchOf; Content-IDs are 1, 2, ...
func changeSetOf(reqs ...string) string {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=cs\r\n\r\n")
	for i, r := range reqs {
		b.WriteString("--cs\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n")
		b.WriteString("Content-ID: " + strconv.Itoa(i+1) + "\r\n\r\n")
		b.WriteString(strings.ReplaceAll(r, "\n", "\r\n") + "\r\n")
	}
	b.WriteString("--cs--\r\n")
	return b.String()
}

// TestBatchErrorHandling follows "Handling errors" of Microsoft's $batch docs:
// without Prefer: odata.continue-on-error the first failing request stops the
// batch, which answers that request's error status (the docs' example: a
// failing 400 part, "HTTP/1.1 400 BadRequest" for the batch) with the
// multipart body ending in the failing part; with it, 200 and every response.
func TestBatchErrorHandling(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: 3})
	const missing = "00000000-0000-4000-8000-0000000000e1"
	tasks := func(subject string) int {
		m := must(t, env.do(t, asApp, http.MethodGet, "tasks?$select=subject&$filter="+url.QueryEscape("subject eq '"+subject+"'"), nil), http.StatusOK).JSON(t)
		return len(rowsOf(m))
	}
	post := func(subject string) string {
		return "POST /api/data/v9.2/tasks HTTP/1.1\nContent-Type: application/json\n\n{\"subject\":\"" + subject + "\"}"
	}
	send := func(body string, prefer ...string) apiResponse {
		h := []string{"Content-Type", "multipart/mixed; boundary=b"}
		for _, p := range prefer {
			h = append(h, "Prefer", p)
		}
		return env.do(t, asApp, http.MethodPost, "$batch", body, h...)
	}
	getMissing := "GET /api/data/v9.2/accounts(" + missing + ")?$select=name HTTP/1.1\nAccept: application/json\n"

	t.Run("first request fails: the batch answers its 404 and stops", func(t *testing.T) {
		r := must(t, send(batchOf(getMissing, post("stop-1"))), http.StatusNotFound)
		resps := batchResponses(t, r)
		if len(resps) != 1 || resps[0].StatusCode != http.StatusNotFound {
			t.Fatalf("responses = %v", resps)
		}
		b, _ := io.ReadAll(resps[0].Body)
		if !strings.Contains(string(b), `"code":"0x80040217"`) || !strings.Contains(string(b), "account With Id = "+missing+" Does Not Exist") {
			t.Fatalf("failing part = %s", b)
		}
		if r.Header.Get("OData-Version") != "4.0" {
			t.Fatalf("batch headers = %v", r.Header)
		}
		if n := tasks("stop-1"); n != 0 {
			t.Fatalf("the request after the failure ran: %d tasks", n)
		}
	})
	t.Run("a later request fails: earlier responses stay, the batch answers 400", func(t *testing.T) {
		bad := "POST /api/data/v9.2/tasks HTTP/1.1\nContent-Type: application/json\n\n{\"nope\":1}"
		r := must(t, send(batchOf(post("stop-2a"), bad, post("stop-2b"))), http.StatusBadRequest)
		resps := batchResponses(t, r)
		if len(resps) != 2 || resps[0].StatusCode != http.StatusNoContent || resps[1].StatusCode != http.StatusBadRequest {
			t.Fatalf("responses = %v", resps)
		}
		if tasks("stop-2a") != 1 || tasks("stop-2b") != 0 {
			t.Fatal("want the request before the failure committed and the one after it skipped")
		}
	})
	t.Run("failing change set: its status for the batch, nothing after it runs", func(t *testing.T) {
		update := "PATCH /api/data/v9.2/accounts(" + missing + ") HTTP/1.1\nContent-Type: application/json\nIf-Match: *\n\n{\"name\":\"ghost\"}"
		r := must(t, send(batchOf(changeSetOf(post("cs-1"), update), post("cs-after"))), http.StatusNotFound)
		if resps := batchResponses(t, r); len(resps) != 1 || resps[0].StatusCode != http.StatusNotFound {
			t.Fatalf("responses = %v", resps)
		}
		if tasks("cs-1") != 0 || tasks("cs-after") != 0 {
			t.Fatal("want the change set rolled back and the request after it skipped")
		}
	})
	t.Run("continue-on-error: 200 and every response", func(t *testing.T) {
		for _, pref := range []string{"odata.continue-on-error", "odata.continue-on-error=true", "return=representation,odata.continue-on-error"} {
			subject := "continue " + pref
			r := must(t, send(batchOf(getMissing, post(subject)), pref), http.StatusOK)
			resps := batchResponses(t, r)
			if len(resps) != 2 || resps[0].StatusCode != http.StatusNotFound || resps[1].StatusCode != http.StatusNoContent {
				t.Fatalf("%s: responses = %v", pref, resps)
			}
			if tasks(subject) != 1 {
				t.Fatalf("%s: the request after the failure didn't run", pref)
			}
		}
	})
	t.Run("continue-on-error=false is the default", func(t *testing.T) {
		must(t, send(batchOf(getMissing, post("explicit-false")), "odata.continue-on-error=false"), http.StatusNotFound)
		if tasks("explicit-false") != 0 {
			t.Fatal("the request after the failure ran")
		}
	})
	t.Run("all succeed: 200", func(t *testing.T) {
		r := must(t, send(batchOf(post("ok-1"), "GET /api/data/v9.2/WhoAmI HTTP/1.1\n")), http.StatusOK)
		if resps := batchResponses(t, r); len(resps) != 2 {
			t.Fatalf("responses = %v", resps)
		}
	})
}

func TestBatchParts(t *testing.T) {
	env := newOrgEnv(t, Options{RecordsPerType: 3})
	send := func(body string, headers ...string) apiResponse {
		return env.do(t, asApp, http.MethodPost, "$batch", body, append([]string{"Content-Type", "multipart/mixed; boundary=b"}, headers...)...)
	}
	t.Run("parts spell OData-EntityId and send Location beside it", func(t *testing.T) {
		r := must(t, send(batchOf(changeSetOf("POST /api/data/v9.2/accounts HTTP/1.1\nContent-Type: application/json\n\n{\"name\":\"Located\"}"))), http.StatusOK)
		for _, h := range []string{"\r\nOData-Version: 4.0\r\n", "\r\nOData-EntityId: " + env.srv.URL + "/api/data/v9.2/accounts(", "\r\nLocation: " + env.srv.URL + "/api/data/v9.2/accounts("} {
			if !strings.Contains(string(r.Body), h) {
				t.Fatalf("no %q in\n%s", strings.TrimSpace(h), r.Body)
			}
		}
		resps := batchResponses(t, r)
		if len(resps) != 1 || resps[0].Header.Get("Location") != resps[0].Header.Get("OData-EntityId") {
			t.Fatalf("responses = %v", resps)
		}
	})
	t.Run("an undeclared Content-ID reference is a 400", func(t *testing.T) {
		// The docs' example: "$1" bound before the request with Content-ID 1.
		body := batchOf(changeSetOf(
			"POST /api/data/v9.2/phonecalls HTTP/1.1\nContent-Type: application/json\n\n{\"subject\":\"ref\",\"regardingobjectid_account_phonecall@odata.bind\":\"$2\"}",
			"POST /api/data/v9.2/accounts HTTP/1.1\nContent-Type: application/json\n\n{\"name\":\"QQQQ\"}",
		))
		before := env.sb.CountRecords("accounts")
		r := must(t, send(body), http.StatusBadRequest)
		resps := batchResponses(t, r)
		if len(resps) != 1 || resps[0].StatusCode != http.StatusBadRequest {
			t.Fatalf("responses = %v", resps)
		}
		b, _ := io.ReadAll(resps[0].Body)
		if !strings.Contains(string(b), "Content-ID Reference: '$2' does not exist in the batch context.") {
			t.Fatalf("part = %s", b)
		}
		if env.sb.CountRecords("accounts") != before {
			t.Fatal("change set not rolled back")
		}
		// In a URL, and outside any change set.
		r = must(t, send(batchOf("PATCH $7 HTTP/1.1\nContent-Type: application/json\n\n{\"name\":\"x\"}")), http.StatusBadRequest)
		b, _ = io.ReadAll(batchResponses(t, r)[0].Body)
		if !strings.Contains(string(b), "Content-ID Reference: '$7' does not exist") {
			t.Fatalf("part = %s", b)
		}
	})
	t.Run("references resolve in URLs and nested binds; other $ strings are data", func(t *testing.T) {
		body := batchOf(changeSetOf(
			"POST /api/data/v9.2/accounts HTTP/1.1\nContent-Type: application/json\n\n{\"name\":\"Ref target\"}",
			"PATCH $1 HTTP/1.1\nContent-Type: application/json\n\n{\"description\":\"$1\"}",
			"POST /api/data/v9.2/tasks HTTP/1.1\nContent-Type: application/json\n\n{\"subject\":\"$1\",\"regardingobjectid_account_task@odata.bind\":\"$1\"}",
		))
		resps := batchResponses(t, must(t, send(body), http.StatusOK))
		if len(resps) != 3 {
			t.Fatalf("responses = %v", resps)
		}
		accID := idFromEntityID(t, resps[0].Header)
		acc, _ := env.sb.Record("accounts", accID)
		task, _ := env.sb.Record("tasks", idFromEntityID(t, resps[2].Header))
		if acc["description"] != "$1" || task["subject"] != "$1" || task["_regardingobjectid_value"] != accID {
			t.Fatalf("account = %v\ntask = %v", acc, task)
		}
	})
	t.Run("parts inherit the batch's base URL (X-Forwarded-Proto)", func(t *testing.T) {
		r := must(t, send(batchOf("POST /api/data/v9.2/tasks HTTP/1.1\nContent-Type: application/json\n\n{\"subject\":\"https\"}",
			"GET /api/data/v9.2/WhoAmI HTTP/1.1\n"), "X-Forwarded-Proto", "https"), http.StatusOK)
		resps := batchResponses(t, r)
		want := "https://" + strings.TrimPrefix(env.srv.URL, "http://") + APIPath
		if !strings.HasPrefix(resps[0].Header.Get("OData-EntityId"), want+"tasks(") {
			t.Fatalf("OData-EntityId = %q, want prefix %q", resps[0].Header.Get("OData-EntityId"), want)
		}
		b, _ := io.ReadAll(resps[1].Body)
		if !strings.Contains(string(b), `"@odata.context":"`+want+`$metadata#`) {
			t.Fatalf("WhoAmI = %s", b)
		}
	})
}
