package status

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/crmbot/crmbot/internal/loopback"
)

// SessionCookie holds a signed-in operator's session: an expiry and its
// HMAC under a key derived from the admin token (never the token itself),
// so every replica sharing the token accepts it and changing the token ends
// every session.
const SessionCookie = "crmbot_status"

// SessionTTL is how long a sign-in lasts.
const SessionTTL = 12 * time.Hour

// MinTokenLength is the shortest admin token Init accepts: the sign-in form
// is the one place on the page an attacker can guess at.
const MinTokenLength = 16

// access is how a request was let in.
type access int

const (
	accessNone access = iota
	accessLoopback
	accessBearer
	accessCookie
)

// caller is an authenticated request: how it got in and the session its
// CSRF token is bound to.
type caller struct {
	how     access
	session string
}

// secrets are the keys derived at Init.
type secrets struct {
	session []byte // signs session cookies
	csrf    []byte // derives CSRF tokens from sessions
	token   [sha256.Size]byte
}

func deriveKey(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

func newSecrets(token string) (secrets, error) {
	secret := []byte(token)
	if token == "" {
		// Loopback only: a key for this process is enough (no cookie, and
		// CSRF tokens only need to outlive one page).
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return secrets{}, err
		}
	}
	return secrets{session: deriveKey(secret, "crmbot/status/session/v1"), csrf: deriveKey(secret, "crmbot/status/csrf/v1"),
		token: sha256.Sum256([]byte(token))}, nil
}

func mac(key []byte, msg string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// tokenMatches compares a presented token with the admin token in constant
// time (hashes first, so the lengths leak nothing either).
func (h *Handler) tokenMatches(presented string) bool {
	p := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(p[:], h.secrets.token[:]) == 1
}

// authenticate says whether r may see the page, and how. bad is true when r
// presented a credential that is wrong (not merely none).
func (h *Handler) authenticate(r *http.Request) (c caller, bad bool) {
	if h.Token == "" {
		if fromLoopback(r) {
			return caller{how: accessLoopback, session: "loopback"}, false
		}
		return caller{}, false
	}
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, tok, _ := strings.Cut(auth, " ")
		if !strings.EqualFold(scheme, "Bearer") || !h.tokenMatches(strings.TrimSpace(tok)) {
			return caller{}, true
		}
		return caller{how: accessBearer, session: "bearer"}, false
	}
	// An expired or foreign cookie is no credential: the sign-in form again.
	if ck, err := r.Cookie(SessionCookie); err == nil && h.validSession(ck.Value) {
		return caller{how: accessCookie, session: ck.Value}, false
	}
	return caller{}, false
}

// newSession is a cookie value good for SessionTTL: "expiry.mac".
func (h *Handler) newSession() string {
	exp := strconv.FormatInt(h.Now().Add(SessionTTL).Unix(), 10)
	return exp + "." + mac(h.secrets.session, "session|"+exp)
}

func (h *Handler) validSession(v string) bool {
	exp, sig, ok := strings.Cut(v, ".")
	if !ok {
		return false
	}
	unix, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return false
	}
	if t := time.Unix(unix, 0); !t.After(h.Now()) || t.After(h.Now().Add(SessionTTL+time.Minute)) {
		return false
	}
	return hmac.Equal([]byte(sig), []byte(mac(h.secrets.session, "session|"+exp)))
}

func (h *Handler) setSession(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: value, Path: Path, MaxAge: maxAge,
		HttpOnly: true, Secure: overTLS(r), SameSite: http.SameSiteLaxMode})
}

// csrfToken is the hidden field of the page's forms: bound to the session,
// so a token seen once does not serve another session.
func (h *Handler) csrfToken(c caller) string { return mac(h.secrets.csrf, "csrf|"+c.session) }

// postAllowed checks a state-changing request: it comes from our own page
// (Origin / Sec-Fetch-Site), and, unless it authenticated with a bearer
// token (which no browser attaches by itself), it carries the session's
// CSRF token. r.PostForm must be parsed.
func (h *Handler) postAllowed(r *http.Request, c caller) bool {
	if !sameOrigin(r) {
		return false
	}
	if c.how == accessBearer {
		return true
	}
	got := r.PostForm.Get("csrf")
	return got != "" && hmac.Equal([]byte(got), []byte(h.csrfToken(c)))
}

// sameOrigin refuses a request a browser says came from another site. A
// client that is no browser (curl) sends neither header.
func sameOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false // "null" included
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	// Behind a proxy that rewrites Host; a browser cannot set this header
	// cross-site, and without a token no proxy gets in at all.
	fh := r.Header.Get("X-Forwarded-Host")
	return fh != "" && strings.EqualFold(u.Host, fh)
}

// overTLS: the request reached us, or the proxy in front of us, over TLS.
// Only used to mark the cookie Secure, which a lie can only make stricter.
func overTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// fromLoopback: the peer is this machine, it addressed us by a loopback
// name (a DNS-rebinding page cannot), and no proxy header says it relays
// someone else (a reverse proxy on this host must not open the page). A
// browser is welcome: the operator's, on this machine or through an SSH
// tunnel.
func fromLoopback(r *http.Request) bool { return loopback.Request(r) }
