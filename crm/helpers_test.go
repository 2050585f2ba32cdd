package crm_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/crmbot/crmbot/crm"
)

// captured is one request the fake Dataverse received.
type captured struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     []byte
}

// canned is a response the fake Dataverse sends.
type canned struct {
	Status int
	Header map[string]string
	Body   string
}

// fakeDataverse is an httptest server that records requests and answers
// from a script (the last entry repeats).
type fakeDataverse struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []captured
	// answers are sent in order; the last one repeats.
	answers []canned
	// handler, when set, replaces the script.
	handler func(w http.ResponseWriter, r *http.Request, n int)
}

func newFake(t *testing.T, answers ...canned) *fakeDataverse {
	t.Helper()
	f := &fakeDataverse{answers: answers}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		n := len(f.got)
		f.got = append(f.got, captured{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body})
		h := f.handler
		var a canned
		if len(f.answers) > 0 {
			a = f.answers[min(n, len(f.answers)-1)]
		}
		f.mu.Unlock()
		if h != nil {
			h(w, r, n)
			return
		}
		for k, v := range a.Header {
			w.Header().Set(k, v)
		}
		if a.Body != "" && w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
		}
		if a.Status == 0 {
			a.Status = http.StatusOK
		}
		w.WriteHeader(a.Status)
		io.WriteString(w, a.Body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeDataverse) requests() []captured {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]captured(nil), f.got...)
}

func (f *fakeDataverse) last(t *testing.T) captured {
	t.Helper()
	r := f.requests()
	if len(r) == 0 {
		t.Fatal("no request received")
	}
	return r[len(r)-1]
}

// client returns a client of the fake with fast retries.
func (f *fakeDataverse) client(t *testing.T, opts ...crm.Option) *crm.Client {
	t.Helper()
	opts = append([]crm.Option{crm.WithRetry(3, time.Millisecond)}, opts...)
	c, err := crm.NewClient(f.srv.URL, f.srv.Client(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// jsonEqual reports whether two JSON texts are the same value.
func jsonEqual(t *testing.T, got []byte, want string) bool {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body %q is not JSON: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want %q is not JSON: %v", want, err)
	}
	return reflect.DeepEqual(g, w)
}

func compactJSON(b []byte) string {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return string(b)
	}
	return buf.String()
}

const (
	accountID = "9a1b2c3d-0000-4000-8000-000000000001"
	userID    = "11111111-2222-4333-8444-555555555555"
	leadID    = "3c4d5e6f-0000-4000-8000-000000000003"
	oppID     = "4d5e6f70-0000-4000-8000-000000000004"
	caseID    = "5e6f7081-0000-4000-8000-000000000005"
	taskID    = "6f708192-0000-4000-8000-000000000006"
)
