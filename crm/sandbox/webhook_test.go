package sandbox

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

type hookCall struct {
	header http.Header
	query  string
	body   map[string]any
}

func TestWebhookEmitter(t *testing.T) {
	var mu sync.Mutex
	var calls []hookCall
	failFirst := 1
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, hookCall{header: r.Header.Clone(), query: r.URL.RawQuery, body: m})
		if failFirst > 0 {
			failFirst--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer recv.Close()
	env := newOrgEnv(t, Options{RecordsPerType: 3, Webhook: &WebhookOptions{URL: recv.URL + "/dataverse/webhook", Secret: "s3cret"}})
	waitCalls := func(n int) []hookCall {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			if len(calls) >= n {
				out := append([]hookCall(nil), calls...)
				mu.Unlock()
				return out
			}
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("webhook calls = %d, want %d", len(calls), n)
		return nil
	}
	id := idFromEntityID(t, must(t, env.do(t, chloe.Email, http.MethodPost, "leads", map[string]any{"lastname": "Hook", "subject": "Webhook"}), 204).Header)
	got := waitCalls(2) // 503 then one retry
	c := got[1]
	if c.query != "code=s3cret" || c.header.Get("x-ms-dynamics-entity-name") != "lead" || c.header.Get("x-ms-dynamics-request-name") != "Create" ||
		c.header.Get("x-ms-correlation-request-id") == "" || c.header.Get("x-ms-dynamics-organization") == "" {
		t.Fatalf("call = %+v", c)
	}
	if c.body["MessageName"] != "Create" || c.body["PrimaryEntityName"] != "lead" || c.body["PrimaryEntityId"] != id ||
		c.body["UserId"] != chloe.ID || c.body["Depth"] != 1.0 || c.body["Stage"] != 40.0 || c.body["Mode"] != 1.0 {
		t.Fatalf("body = %v", c.body)
	}
	target := c.body["InputParameters"].([]any)[0].(map[string]any)["value"].(map[string]any)
	if target["LogicalName"] != "lead" || target["Id"] != id {
		t.Fatalf("Target = %v", target)
	}
	// an update that does not touch ownerid is not announced; an assignment is
	must(t, env.do(t, chloe.Email, http.MethodPatch, "leads("+id+")", map[string]any{"subject": "x"}), 204)
	must(t, env.do(t, chloe.Email, http.MethodPatch, "leads("+id+")", map[string]any{"ownerid@odata.bind": "/systemusers(" + jonas.ID + ")"}), 204)
	got = waitCalls(3)
	if got[2].body["MessageName"] != "Update" || len(got[2].body["PreEntityImages"].([]any)) != 1 {
		t.Fatalf("update call = %v", got[2].body)
	}
	if err := env.sb.Assign("leads", id, sean.ID, Principal{UserID: manager.ID}); err != nil {
		t.Fatal(err)
	}
	got = waitCalls(4)
	if got[3].body["MessageName"] != "Assign" || got[3].header.Get("x-ms-dynamics-request-name") != "Assign" {
		t.Fatalf("assign call = %v", got[3].body)
	}
	if err := env.sb.Close(); err != nil {
		t.Fatal(err)
	}
}
