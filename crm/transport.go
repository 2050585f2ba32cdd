package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"
)

// request is one Web API call as the retry loop sees it.
type request struct {
	op     string // client method, for metrics and logs
	method string
	path   string // relative to APIPath, or an absolute nextLink/deltaLink
	query  string // encoded query string (without '?')
	body   []byte // JSON, or nil
	// prefer lists Prefer preferences, sent comma-separated in one header.
	prefer []string
	header map[string]string
	// idempotent requests are retried on 502/503/504, network errors and 429.
	idempotent bool
}

// response is a read, size-bounded response of a 2xx status.
type response struct {
	status int
	header http.Header
	body   []byte
}

// retryableStatus: transient gateway or service failures worth another try.
func retryableStatus(s int) bool {
	return s == http.StatusBadGateway || s == http.StatusServiceUnavailable || s == http.StatusGatewayTimeout
}

// attemptError marks a failed attempt as worth retrying (if the request is idempotent).
type attemptError struct {
	err        error
	retry      bool
	retryAfter time.Duration // server-suggested wait for 503s
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

// do sends req with the throttle, retry and error policy: wait out a
// principal's pause (or fail fast if the deadline is shorter), retry
// idempotent requests on 502/503/504 and network errors with jittered
// exponential backoff, and on a 429 pause the principal for Retry-After for
// every client sharing the Throttle, retrying idempotent requests after it.
// Non-idempotent requests (plain POST creates, actions) are sent once.
func (c *Client) do(ctx context.Context, req *request) (*response, error) {
	bo := &backoff.ExponentialBackOff{
		InitialInterval: c.baseDelay, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: c.maxDelay,
	}
	bo.Reset()
	for attempt := 1; ; attempt++ {
		resp, err := c.attempt(ctx, req, attempt)
		if err == nil {
			return resp, nil
		}
		var ae *attemptError
		if !errors.As(err, &ae) || !req.idempotent || attempt >= c.maxAttempts {
			return nil, unwrapAttempt(err)
		}
		var te *ThrottledError
		if errors.As(err, &te) {
			// The pause is recorded; the next attempt's acquire waits it out
			// or fails fast when the deadline is too short.
			continue
		}
		if !ae.retry {
			return nil, ae.err
		}
		// A server's Retry-After is honoured up to maxDelay: longer waits are
		// the caller's decision, not a stall hidden in a retry loop.
		wait := min(max(bo.NextBackOff(), ae.retryAfter), c.maxDelay)
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(dl) {
			return nil, ae.err
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "dataverse request retried",
			slog.String("op", req.op), slog.Int("attempt", attempt), slog.Duration("backoff", wait), slog.String("error", errSummary(ae.err)))
		if err := sleep(ctx, wait); err != nil {
			return nil, ae.err
		}
	}
}

func unwrapAttempt(err error) error {
	var ae *attemptError
	if errors.As(err, &ae) {
		return ae.err
	}
	return err
}

// errSummary is an error for a log line: typed API errors by status and code
// only (Dataverse messages can quote record data).
func errSummary(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return fmt.Sprintf("status %d code %s", ae.StatusCode, ae.Code)
	}
	return err.Error()
}

// attempt sends req once. Errors worth retrying come back as *attemptError.
func (c *Client) attempt(ctx context.Context, req *request, n int) (*response, error) {
	release, _, err := c.throttle.acquire(ctx, c.principal)
	if err != nil {
		return nil, err
	}
	defer release()

	u, err := c.resolve(req.path, req.query)
	if err != nil {
		return nil, err
	}
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	hr, err := http.NewRequestWithContext(ctx, req.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("crm: build request: %w", err)
	}
	h := hr.Header
	h.Set("Accept", "application/json")
	h.Set("OData-MaxVersion", "4.0")
	h.Set("OData-Version", "4.0")
	if c.userAgent != "" {
		h.Set("User-Agent", c.userAgent)
	}
	if req.body != nil {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	if len(req.prefer) > 0 {
		h.Set("Prefer", strings.Join(req.prefer, ","))
	}
	for k, v := range req.header {
		h.Set(k, v)
	}

	start := time.Now()
	hresp, err := c.hc.Do(hr)
	if err != nil {
		c.observe(req.op, 0, time.Since(start))
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "dataverse request failed",
			slog.String("op", req.op), slog.String("method", req.method), slog.Int("attempt", n), slog.String("error", redactURLError(err)))
		return nil, &attemptError{err: fmt.Errorf("crm: %s %s: %s", req.method, u.Path, redactURLError(err)), retry: true}
	}
	defer hresp.Body.Close()

	limit := c.maxBody
	if hresp.StatusCode >= 300 {
		limit = maxErrorBody
	}
	data, err := io.ReadAll(io.LimitReader(hresp.Body, limit+1))
	d := time.Since(start)
	c.observe(req.op, hresp.StatusCode, d)
	reqID := hresp.Header.Get("x-ms-service-request-id")
	c.log.LogAttrs(ctx, slog.LevelDebug, "dataverse request",
		slog.String("op", req.op), slog.String("method", req.method), slog.Int("status", hresp.StatusCode),
		slog.Duration("duration", d), slog.Int("attempt", n), slog.String("dataverse_request_id", reqID))
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &attemptError{err: fmt.Errorf("crm: read %s response: %w", req.op, err), retry: true}
	}
	if int64(len(data)) > limit {
		if hresp.StatusCode < 300 {
			return nil, fmt.Errorf("crm: %s response exceeds %d bytes", req.op, limit)
		}
		data = data[:limit]
	}
	if hresp.StatusCode < 300 {
		return &response{status: hresp.StatusCode, header: hresp.Header, body: data}, nil
	}

	apiErr := errorFromResponse(hresp.StatusCode, hresp.Header, data)
	var te *ThrottledError
	if errors.As(apiErr, &te) {
		if te.RetryAfter <= 0 {
			te.RetryAfter = time.Second
		}
		c.throttle.Pause(c.principal, te.RetryAfter)
		if c.observer != nil {
			c.observer.ObserveThrottled(c.principal, te.RetryAfter)
		}
		c.log.LogAttrs(ctx, slog.LevelWarn, "dataverse throttled",
			slog.String("op", req.op), slog.String("code", te.Code), slog.Duration("retry_after", te.RetryAfter), slog.String("dataverse_request_id", reqID))
		return nil, &attemptError{err: apiErr}
	}
	if retryableStatus(hresp.StatusCode) {
		return nil, &attemptError{err: apiErr, retry: true, retryAfter: parseRetryAfter(hresp.Header.Get("Retry-After"))}
	}
	return nil, apiErr
}

func (c *Client) observe(op string, status int, d time.Duration) {
	if c.observer != nil {
		c.observer.ObserveRequest(op, status, d)
	}
}

// redactURLError drops the URL (its query may hold search text) from a net/http error.
func redactURLError(err error) string {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner.Error()
		}
	}
	return err.Error()
}

// send marshals body (if any) and runs the request.
func (c *Client) send(ctx context.Context, req *request, body any) (*response, error) {
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("crm: encode %s body: %w", req.op, err)
		}
		req.body = b
	}
	return c.do(ctx, req)
}

// maxPageSizePref is the Prefer preference for a page size.
func maxPageSizePref(n int) string { return "odata.maxpagesize=" + strconv.Itoa(n) }
