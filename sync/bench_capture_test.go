package sync

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/redisstore"
	"github.com/crmbot/crmbot/store/redisstore/redistest"
)

// Helpers of the sync benchmarks (bench_test.go): a server whose handler
// can be swapped (the sandbox while the pages are captured, then their
// replay), a transport that captures Web API answers, the replay handler,
// and a go-redis hook that counts round trips.

// swapHandler serves whatever handler was stored last.
type swapHandler struct{ h atomic.Pointer[http.Handler] }

func (s *swapHandler) set(h http.Handler) { s.h.Store(&h) }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

// capturedAnswer is one Web API answer as the sandbox served it.
type capturedAnswer struct {
	header http.Header
	body   []byte
}

// captureTransport passes requests through and keeps, by request URI, the
// body and headers of every successful Web API GET.
type captureTransport struct {
	inner http.RoundTripper
	mu    gosync.Mutex
	got   map[string]capturedAnswer
}

func (c *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.inner.RoundTrip(req)
	if err != nil || req.Method != http.MethodGet || resp.StatusCode != http.StatusOK || !strings.Contains(req.URL.Path, "/api/data/") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.got[req.URL.RequestURI()] = capturedAnswer{header: resp.Header.Clone(), body: body}
	c.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

func (c *captureTransport) answers() map[string]capturedAnswer {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]capturedAnswer, len(c.got))
	for k, v := range c.got {
		out[k] = v
	}
	return out
}

// replayHandler answers each captured request URI with the captured bytes
// (the same headers, the same body), and anything else with a 404 it
// counts.
type replayHandler struct {
	answers map[string]capturedAnswer
	misses  atomic.Int64
}

func (h *replayHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, ok := h.answers[r.RequestURI]
	if !ok {
		h.misses.Add(1)
		http.Error(w, `{"error":{"code":"0x80060888","message":"not captured"}}`, http.StatusNotFound)
		return
	}
	for k, vs := range a.header {
		if k == "Content-Length" || k == "Date" {
			continue
		}
		w.Header()[k] = vs
	}
	_, _ = w.Write(a.body)
}

// tripCounter counts what the client sends to Redis: one per command
// outside a pipeline, one per pipeline (as store/redisstore's benchmarks do).
type tripCounter struct{ n atomic.Int64 }

func (h *tripCounter) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}

func (h *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// benchRedis is a redisstore on the test Redis (REDIS_URL or
// 127.0.0.1:6379; skipped without one unless CI is set) under a random key
// prefix deleted when b ends, with a round-trip counter on its client.
func benchRedis(b testing.TB) (*redisstore.Store, *redis.Client, *tripCounter) {
	b.Helper()
	rdb := redistest.Client(b)
	keys, err := store.RandomKeyring()
	if err != nil {
		b.Fatal(err)
	}
	s, err := redisstore.New(rdb, redisstore.Options{Prefix: redistest.Prefix(b, rdb), Keys: keys})
	if err != nil {
		b.Fatal(err)
	}
	hook := &tripCounter{}
	rdb.AddHook(hook)
	return s, rdb, hook
}
