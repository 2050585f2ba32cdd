package slack

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
)

// The official vector (python-slack-sdk, java-slack-sdk SlackSignatureTest).
const (
	vectorSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	vectorTS     = 1531420618
	vectorBody   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	vectorSig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func TestSignOfficialVector(t *testing.T) {
	if got := Sign(vectorSecret, vectorTS, []byte(vectorBody)); got != vectorSig {
		t.Fatalf("Sign = %s, want %s", got, vectorSig)
	}
	v, err := NewVerifier(vectorSecret, func() time.Time { return time.Unix(vectorTS+10, 0) }, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Check(strconv.Itoa(vectorTS), vectorSig, []byte(vectorBody)); err != nil {
		t.Fatalf("official vector refused: %v", err)
	}
}

func TestEmptySecretRefused(t *testing.T) {
	for _, s := range []string{"", "   "} {
		if _, err := NewVerifier(s, nil, 0); err == nil {
			t.Errorf("NewVerifier(%q) accepted an empty secret", s)
		}
		a := &Adapter{Core: countingCore{}, Tokens: StaticToken("xoxb-1"), SigningSecret: s}
		if err := a.Init(true); err == nil || !strings.Contains(err.Error(), "SLACK_SIGNING_SECRET") {
			t.Errorf("Init with secret %q: %v, want an error naming SLACK_SIGNING_SECRET", s, err)
		}
	}
}

// countingCore counts what reaches the core: a refused request must not.
type countingCore struct{ n *atomic.Int32 }

func (c countingCore) Handle(context.Context, bot.Request) (bot.Response, error) {
	if c.n != nil {
		c.n.Add(1)
	}
	return bot.Response{View: &cards.Message{Text: []string{"ok"}}}, nil
}
func (c countingCore) Lookup(context.Context, bot.LookupRequest) ([]cards.Option, error) {
	if c.n != nil {
		c.n.Add(1)
	}
	return nil, nil
}
func (c countingCore) Home(context.Context, bot.HomeRequest) (cards.View, error) { return nil, nil }
func (c countingCore) Unfurl(context.Context, bot.UnfurlRequest) (cards.View, bool) {
	return nil, false
}

func verifyServer(t *testing.T, now time.Time) (*httptest.Server, *atomic.Int32, *Adapter) {
	t.Helper()
	n := &atomic.Int32{}
	a := &Adapter{Core: countingCore{n}, Tokens: StaticToken("xoxb-test"), SigningSecret: vectorSecret,
		APIURL: "http://127.0.0.1:1/api/", Now: func() time.Time { return now }, MaxBody: 64 << 10,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := a.Init(true); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	a.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Wait(ctx)
	})
	return srv, n, a
}

func post(t *testing.T, url, body string, hdr map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func signed(ts int64, body string) map[string]string {
	return map[string]string{"X-Slack-Request-Timestamp": strconv.FormatInt(ts, 10),
		"X-Slack-Signature": Sign(vectorSecret, ts, []byte(body))}
}

func TestVerificationWindow(t *testing.T) {
	now := time.Unix(vectorTS, 0)
	srv, _, _ := verifyServer(t, now)
	body := "payload=" + `{"type":"view_closed","user":{"id":"U1"},"team":{"id":"T1"}}`
	for _, c := range []struct {
		name string
		skew int64
		want int
	}{
		{"now", 0, 200},
		{"299 s old", -299, 200},
		{"299 s ahead", 299, 200},
		{"301 s old", -301, 401},
		{"301 s ahead", 301, 401},
	} {
		ts := vectorTS + c.skew
		if got := post(t, srv.URL+"/slack/interactivity", body, signed(ts, body)); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
}

func TestMalformedSignatures(t *testing.T) {
	now := time.Unix(vectorTS, 0)
	srv, n, _ := verifyServer(t, now)
	good := Sign(vectorSecret, vectorTS, []byte(vectorBody))
	ts := strconv.Itoa(vectorTS)
	for name, hdr := range map[string]map[string]string{
		"none":             {},
		"no timestamp":     {"X-Slack-Signature": good},
		"no signature":     {"X-Slack-Request-Timestamp": ts},
		"bad timestamp":    {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": good},
		"negative ts":      {"X-Slack-Request-Timestamp": "-1", "X-Slack-Signature": good},
		"v1 scheme":        {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v1=" + good[3:]},
		"no scheme":        {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": good[3:]},
		"upper-case hex":   {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + strings.ToUpper(good[3:])},
		"truncated":        {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": good[:len(good)-2]},
		"one bit off":      {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": good[:len(good)-1] + flip(good[len(good)-1])},
		"other secret":     {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": Sign("another-secret", vectorTS, []byte(vectorBody))},
		"other timestamp":  {"X-Slack-Request-Timestamp": strconv.Itoa(vectorTS + 1), "X-Slack-Signature": good},
		"doubled":          {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": good + "," + good},
		"trailing garbage": {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": good + "00"},
	} {
		if got := post(t, srv.URL+"/slack/commands", vectorBody, hdr); got != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, got)
		}
	}
	// A signature over another body: the body was changed in transit.
	if got := post(t, srv.URL+"/slack/commands", vectorBody+"&text=x", map[string]string{
		"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": good}); got != http.StatusUnauthorized {
		t.Errorf("tampered body: status %d, want 401", got)
	}
	if n.Load() != 0 {
		t.Errorf("the core was called %d times by refused requests", n.Load())
	}
	// The untouched vector passes (so the refusals above are about the
	// signature, not about the endpoint).
	if got := post(t, srv.URL+"/slack/commands", vectorBody, map[string]string{
		"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": good}); got != http.StatusOK {
		t.Errorf("official vector: status %d, want 200", got)
	}
}

func flip(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

func TestSSLCheck(t *testing.T) {
	srv, n, _ := verifyServer(t, time.Unix(vectorTS, 0))
	for _, c := range []struct {
		name, body string
		hdr        map[string]string
		want       int
	}{
		{"exact", "ssl_check=1", nil, 200},
		{"with token", "ssl_check=1&token=abc", nil, 200},
		{"ssl_check=0", "ssl_check=0", nil, 401},
		{"ssl_check=true", "ssl_check=true", nil, 401},
		{"twice", "ssl_check=1&ssl_check=1", nil, 401},
		{"with a command", "ssl_check=1&command=%2Fcrm&text=leads&user_id=U1&team_id=T1", nil, 401},
		{"signed but wrong", "ssl_check=1", map[string]string{"X-Slack-Request-Timestamp": strconv.Itoa(vectorTS), "X-Slack-Signature": "v0=00"}, 401},
	} {
		if got := post(t, srv.URL+"/slack/commands", c.body, c.hdr); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
	// ssl_check is only for the commands endpoint.
	if got := post(t, srv.URL+"/slack/interactivity", "ssl_check=1", nil); got != http.StatusUnauthorized {
		t.Errorf("ssl_check on interactivity: status %d, want 401", got)
	}
	if n.Load() != 0 {
		t.Errorf("ssl_check ran the core %d times", n.Load())
	}
}

func TestOversizeBody(t *testing.T) {
	srv, n, _ := verifyServer(t, time.Unix(vectorTS, 0))
	big := "payload=" + strings.Repeat("a", 65<<10)
	if got := post(t, srv.URL+"/slack/interactivity", big, signed(vectorTS, big)); got != http.StatusRequestEntityTooLarge {
		t.Errorf("oversize signed body: status %d, want 413", got)
	}
	// Without a Content-Length (chunked), the limit still holds.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/slack/events", &chunked{left: 70 << 10})
	req.ContentLength = -1
	for k, v := range signed(vectorTS, "") {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked oversize: status %d, want 413", resp.StatusCode)
	}
	if n.Load() != 0 {
		t.Errorf("oversize requests reached the core")
	}
}

type chunked struct{ left int }

func (c *chunked) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.left)
	for i := range p[:n] {
		p[i] = 'x'
	}
	c.left -= n
	return n, nil
}
