package crm_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/crmbot/crmbot/crm"
)

// TestTypedErrors maps canned Dataverse error responses to typed errors.
func TestTypedErrors(t *testing.T) {
	tests := []struct {
		name     string
		answer   canned
		as       func(error) bool
		sentinel error
		code     string
	}{
		{"404 record does not exist",
			canned{Status: 404, Body: `{"error":{"code":"0x80040217","message":"account With Id = ` + accountID + ` Does Not Exist"}}`},
			func(err error) bool { var e *crm.NotFoundError; return errors.As(err, &e) }, crm.ErrNotFound, "0x80040217"},
		{"412 stale row version",
			canned{Status: 412, Body: `{"error":{"code":"0x80060882","message":"The version of the existing record doesn't match the RowVersion property provided."}}`},
			func(err error) bool { var e *crm.ConflictError; return errors.As(err, &e) }, crm.ErrConflict, "0x80060882"},
		{"400 validation keeps the message",
			canned{Status: 400, Body: `{"error":{"code":"0x80040203","message":"Invalid property 'nosuchfield' was found in entity 'Microsoft.Dynamics.CRM.account'."}}`},
			func(err error) bool {
				var e *crm.ValidationError
				return errors.As(err, &e) && e.Message == "Invalid property 'nosuchfield' was found in entity 'Microsoft.Dynamics.CRM.account'."
			}, crm.ErrValidation, "0x80040203"},
		{"401 no token",
			canned{Status: 401, Header: map[string]string{"WWW-Authenticate": "Bearer authorization_uri=x"}},
			func(err error) bool { var e *crm.UnauthorizedError; return errors.As(err, &e) }, crm.ErrUnauthorized, ""},
		{"403 missing privilege",
			canned{Status: 403, Body: `{"error":{"code":"0x80040220","message":"Principal user is missing prvWriteAccount privilege"}}`},
			func(err error) bool { var e *crm.ForbiddenError; return errors.As(err, &e) }, crm.ErrForbidden, "0x80040220"},
		{"429 carries Retry-After",
			canned{Status: 429, Header: map[string]string{"Retry-After": "3"}, Body: `{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit of 6000 over time window of 300 seconds."}}`},
			func(err error) bool {
				var e *crm.ThrottledError
				return errors.As(err, &e) && e.RetryAfter == 3*time.Second
			},
			crm.ErrThrottled, "0x80072322"},
		{"expired delta token on a 400",
			canned{Status: 400, Body: `{"error":{"code":"0x80044352","message":"Version stamp associated with the client has expired. Please perform a full sync."}}`},
			func(err error) bool { var e *crm.ExpiredDeltaError; return errors.As(err, &e) }, crm.ErrExpiredDelta, "0x80044352"},
		{"expired delta token on another status",
			canned{Status: 410, Body: `{"error":{"code":"0x80044352","message":"Version stamp associated with the client has expired."}}`},
			func(err error) bool { var e *crm.ExpiredDeltaError; return errors.As(err, &e) }, crm.ErrExpiredDelta, "0x80044352"},
		{"405 is a plain APIError",
			canned{Status: 405, Header: map[string]string{"x-ms-service-request-id": "req-1"}, Body: `{"error":{"code":"0x8006088a","message":"Method not allowed"}}`},
			func(err error) bool {
				var e *crm.APIError
				return errors.As(err, &e) && e.StatusCode == 405 && e.RequestID == "req-1"
			}, nil, "0x8006088a"},
		{"non-JSON gateway error",
			canned{Status: 500, Header: map[string]string{"Content-Type": "text/html"}, Body: "<html>Internal error</html>"},
			func(err error) bool {
				var e *crm.APIError
				return errors.As(err, &e) && e.Message == "<html>Internal error</html>"
			}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, tc.answer)
			c := f.client(t, crm.WithRetry(1, time.Millisecond))
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			_, err := c.Get(ctx, "accounts", accountID, crm.Query{})
			if err == nil {
				t.Fatal("no error")
			}
			if !tc.as(err) {
				t.Fatalf("error %T %v does not match", err, err)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.sentinel)
			}
			var api *crm.APIError
			if !errors.As(err, &api) || api.Code != tc.code {
				t.Errorf("APIError = %+v, want code %q", api, tc.code)
			}
		})
	}
	t.Run("Update on a stale etag", func(t *testing.T) {
		f := newFake(t, canned{Status: 412, Body: `{"error":{"code":"0x80060882","message":"The version of the existing record doesn't match the RowVersion property provided."}}`})
		err := f.client(t).Update(context.Background(), "accounts", accountID, `W/"1"`, map[string]any{"name": "x"})
		if !errors.Is(err, crm.ErrConflict) {
			t.Fatalf("err = %v", err)
		}
		if n := len(f.requests()); n != 1 {
			t.Errorf("412 retried: %d requests", n)
		}
	})
}

// TestRetries: idempotent requests are retried on transient failures, others never.
func TestRetries(t *testing.T) {
	unavailable := canned{Status: 503, Body: `{"error":{"code":"0x80040216","message":"Service unavailable"}}`}
	ok := canned{Body: `{"value":[]}`}

	t.Run("GET retried on 503 succeeds", func(t *testing.T) {
		f := newFake(t, unavailable, unavailable, ok)
		if _, err := f.client(t).List(context.Background(), "accounts", crm.Query{}, 5); err != nil {
			t.Fatal(err)
		}
		if n := len(f.requests()); n != 3 {
			t.Fatalf("%d requests, want 3", n)
		}
	})
	t.Run("GET gives up after max attempts", func(t *testing.T) {
		f := newFake(t, unavailable)
		_, err := f.client(t).List(context.Background(), "accounts", crm.Query{}, 5)
		var api *crm.APIError
		if !errors.As(err, &api) || api.StatusCode != 503 {
			t.Fatalf("err = %v", err)
		}
		if n := len(f.requests()); n != 3 {
			t.Fatalf("%d requests, want 3", n)
		}
	})
	t.Run("POST create not retried on 503", func(t *testing.T) {
		f := newFake(t, unavailable, canned{Status: 204})
		if _, err := f.client(t).Create(context.Background(), "accounts", map[string]any{"name": "x"}); err == nil {
			t.Fatal("no error")
		}
		if n := len(f.requests()); n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
	})
	t.Run("action not retried on 502", func(t *testing.T) {
		f := newFake(t, canned{Status: 502}, canned{Status: 204})
		if err := f.client(t).CloseIncident(context.Background(), caseID, crm.IncidentResolution{Subject: "x"}, 5); err == nil {
			t.Fatal("no error")
		}
		if n := len(f.requests()); n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
	})
	t.Run("CreateIdempotent retried on 504 then sees 412 as done", func(t *testing.T) {
		f := newFake(t, canned{Status: 504}, canned{Status: 412, Body: `{"error":{"code":"0x80060892","message":"exists"}}`})
		created, err := f.client(t).CreateIdempotent(context.Background(), "tasks", taskID, map[string]any{"subject": "x"})
		if err != nil || created {
			t.Fatalf("created = %v, err = %v", created, err)
		}
		if n := len(f.requests()); n != 2 {
			t.Fatalf("%d requests, want 2", n)
		}
	})
	t.Run("network error retried for GET", func(t *testing.T) {
		f := newFake(t, ok)
		f.handler = func(w http.ResponseWriter, r *http.Request, n int) {
			if n == 0 {
				hj, _ := w.(http.Hijacker)
				conn, _, _ := hj.Hijack()
				conn.Close() // connection reset mid-request
				return
			}
			w.Write([]byte(`{"value":[]}`))
		}
		if _, err := f.client(t).List(context.Background(), "accounts", crm.Query{}, 5); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("404 not retried", func(t *testing.T) {
		f := newFake(t, canned{Status: 404, Body: `{"error":{"code":"0x80040217","message":"nope"}}`})
		f.client(t).Get(context.Background(), "accounts", accountID, crm.Query{})
		if n := len(f.requests()); n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
	})
}

type recordingObserver struct {
	mu        sync.Mutex
	requests  []int
	throttled []time.Duration
}

func (o *recordingObserver) ObserveRequest(op string, status int, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests = append(o.requests, status)
}

func (o *recordingObserver) ObserveThrottled(principal string, wait time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.throttled = append(o.throttled, wait)
}

// TestThrottle: a 429 pauses the principal for every client sharing the Throttle.
func TestThrottle(t *testing.T) {
	throttled := canned{Status: 429, Header: map[string]string{"Retry-After": "1"},
		Body: `{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit"}}`}
	ok := canned{Body: `{"value":[]}`}

	t.Run("429 pauses a second client with the same principal", func(t *testing.T) {
		f := newFake(t, throttled, ok)
		reg := crm.NewThrottle()
		obs := &recordingObserver{}
		principal := crm.PrincipalKey(f.srv.URL, userID)
		first := f.client(t, crm.WithThrottle(reg, principal), crm.WithRetry(1, time.Millisecond), crm.WithObserver(obs))
		if _, err := first.Create(context.Background(), "accounts", map[string]any{"name": "x"}); !errors.Is(err, crm.ErrThrottled) {
			t.Fatalf("first err = %v", err)
		}
		if w := reg.PausedFor(principal); w <= 0 || w > time.Second {
			t.Fatalf("paused for %v", w)
		}
		second := f.client(t, crm.WithThrottle(reg, principal))
		start := time.Now()
		if _, err := second.List(context.Background(), "accounts", crm.Query{}, 5); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited < 800*time.Millisecond {
			t.Errorf("second client waited only %v", waited)
		}
		if len(obs.throttled) != 1 || obs.throttled[0] != time.Second {
			t.Errorf("observed throttles = %v", obs.throttled)
		}
		if len(obs.requests) != 1 || obs.requests[0] != 429 {
			t.Errorf("observed requests = %v", obs.requests)
		}
	})
	t.Run("another principal is not paused", func(t *testing.T) {
		f := newFake(t, throttled, ok)
		reg := crm.NewThrottle()
		a := f.client(t, crm.WithThrottle(reg, "org|a"), crm.WithRetry(1, time.Millisecond))
		a.Create(context.Background(), "accounts", map[string]any{"name": "x"})
		b := f.client(t, crm.WithThrottle(reg, "org|b"))
		start := time.Now()
		if _, err := b.List(context.Background(), "accounts", crm.Query{}, 5); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited > 500*time.Millisecond {
			t.Errorf("unrelated principal waited %v", waited)
		}
	})
	t.Run("GET retried after Retry-After", func(t *testing.T) {
		f := newFake(t, throttled, ok)
		start := time.Now()
		if _, err := f.client(t).List(context.Background(), "accounts", crm.Query{}, 5); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited < 800*time.Millisecond {
			t.Errorf("retried after %v, before Retry-After", waited)
		}
		if n := len(f.requests()); n != 2 {
			t.Fatalf("%d requests", n)
		}
	})
	t.Run("fails fast when the deadline is shorter than Retry-After", func(t *testing.T) {
		f := newFake(t, canned{Status: 429, Header: map[string]string{"Retry-After": "30"}}, ok)
		reg := crm.NewThrottle()
		c := f.client(t, crm.WithThrottle(reg, "p"))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.List(ctx, "accounts", crm.Query{}, 5)
		var te *crm.ThrottledError
		if !errors.As(err, &te) || te.RetryAfter < 25*time.Second {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("took %v to fail", d)
		}
		// A second call is refused locally without reaching Dataverse.
		_, err = c.List(ctx, "accounts", crm.Query{}, 5)
		if !errors.As(err, &te) {
			t.Fatalf("second err = %v", err)
		}
		if n := len(f.requests()); n != 1 {
			t.Fatalf("%d requests reached the server, want 1", n)
		}
	})
	t.Run("concurrency is bounded per principal", func(t *testing.T) {
		var mu sync.Mutex
		inFlight, peak := 0, 0
		f := newFake(t)
		f.handler = func(w http.ResponseWriter, r *http.Request, n int) {
			mu.Lock()
			inFlight++
			peak = max(peak, inFlight)
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
			mu.Lock()
			inFlight--
			mu.Unlock()
			w.Write([]byte(`{"value":[]}`))
		}
		reg := crm.NewThrottleLimit(2)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				f.client(t, crm.WithThrottle(reg, "p")).List(context.Background(), "accounts", crm.Query{}, 1)
			})
		}
		wg.Wait()
		if peak > 2 {
			t.Fatalf("peak concurrency %d, want ≤ 2", peak)
		}
	})
}
