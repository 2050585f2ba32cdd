package slack

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Request verification, exactly as reference/slack.md says: the signature
// is computed over the raw body read (with a size limit) before anything
// parses it; compared in constant time; the timestamp must be within five
// minutes either way; only an exact unsigned ssl_check=1 skips it, and that
// runs no handler.

// MaxBody is the largest request body accepted by default. Slack's largest
// payloads (a view_submission carrying a 100-block modal and its state) stay
// well below it.
const MaxBody = 1 << 20

// maxSkew is how far a request's timestamp may be from our clock, either
// way.
const maxSkew = 5 * time.Minute

// Verification errors; the HTTP layer answers them with 401 (413 for
// ErrBodyTooLarge) and never says which check failed.
var (
	ErrBadSignature = errors.New("slack: bad request signature")
	ErrStale        = errors.New("slack: request timestamp outside the 5-minute window")
	ErrBodyTooLarge = errors.New("slack: request body too large")
)

// Verifier checks Slack's request signatures.
type Verifier struct {
	secret  []byte
	now     func() time.Time
	maxBody int64
}

// NewVerifier returns a verifier for the app's signing secret. An empty
// secret is an error: a server that accepted anything would be worse than
// none. now may be nil (time.Now); maxBody 0 means MaxBody.
func NewVerifier(secret string, now func() time.Time, maxBody int64) (*Verifier, error) {
	if strings.TrimSpace(secret) == "" {
		return nil, errors.New("SLACK_SIGNING_SECRET is empty: Slack requests cannot be verified")
	}
	if now == nil {
		now = time.Now
	}
	if maxBody <= 0 {
		maxBody = MaxBody
	}
	return &Verifier{secret: []byte(secret), now: now, maxBody: maxBody}, nil
}

// Sign returns the X-Slack-Signature of body at timestamp ts.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%d:", ts)
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// Check verifies a signature over body. ts and sig are the raw
// X-Slack-Request-Timestamp and X-Slack-Signature header values.
func (v *Verifier) Check(ts, sig string, body []byte) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sec <= 0 {
		return ErrStale
	}
	skew := v.now().Sub(time.Unix(sec, 0))
	if skew > maxSkew || skew < -maxSkew {
		return ErrStale
	}
	// Compare the whole header, so a malformed one (no "v0=", odd hex,
	// wrong length) simply fails to match.
	want := Sign(string(v.secret), sec, body)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return ErrBadSignature
	}
	return nil
}

// Read reads r's body within the size limit and verifies it. It returns
// the raw body and leaves a fresh reader over it in r.Body, so the caller
// may parse it (r.ParseForm, json.Decoder) afterwards. On a failed check
// the body is returned with the error (for the ssl_check exception only).
func (v *Verifier) Read(r *http.Request) ([]byte, error) {
	if r.ContentLength > v.maxBody {
		return nil, ErrBodyTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, v.maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("slack: read body: %w", err)
	}
	if int64(len(body)) > v.maxBody {
		return nil, ErrBodyTooLarge
	}
	if err := v.Check(r.Header.Get("X-Slack-Request-Timestamp"), r.Header.Get("X-Slack-Signature"), body); err != nil {
		return body, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, nil
}

// isSSLCheck reports Slack's certificate check: a POST whose whole body is
// exactly "ssl_check=1" (plus Slack's token field), unsigned. Anything else
// that mentions ssl_check goes through verification like any request.
func isSSLCheck(r *http.Request, body []byte) bool {
	if r.Header.Get("X-Slack-Signature") != "" {
		return false
	}
	vals, err := parseQuery(body)
	if err != nil || vals.Get("ssl_check") != "1" || len(vals["ssl_check"]) != 1 {
		return false
	}
	for k := range vals {
		if k != "ssl_check" && k != "token" {
			return false
		}
	}
	return true
}
