package sandbox

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
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
		r := must(t, env.do(t, chloe.Email, http.MethodPost, "$batch", bad, "Content-Type", "multipart/mixed; boundary=batch_x"), http.StatusOK)
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
