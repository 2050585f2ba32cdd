package status_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crmbot/crmbot/internal/status"
	"github.com/crmbot/crmbot/internal/status/statustest"
	"github.com/crmbot/crmbot/internal/testkit"
	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/embedded"
)

const adminToken = "s3cret-admin-token-0123456789"

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// env is the handler over a seeded embedded store, 5 minutes after seeding.
type env struct {
	st    *embedded.Store
	h     *status.Handler
	clock *testkit.Clock
	log   *slog.Logger
}

func newEnv(t *testing.T, token string) *env {
	t.Helper()
	c := testkit.NewClock(t0)
	st, err := embedded.New(embedded.Options{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := statustest.Seed(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	c.Advance(5 * time.Minute)
	rec := status.NewRecorder(slog.DiscardHandler, 20)
	log := slog.New(rec)
	log.Warn("delivery: Slack asked us to slow down", "retry_after", "30s", "token", "xoxb-must-not-show")
	log.Error("sync: the delta read failed", "type", "opportunity", "err", errors.New("dataverse: 429 Too Many Requests"))
	h := &status.Handler{Store: st, Syncer: statustest.Poller(c.Now()), Keys: statustest.Keys, Recorder: rec,
		Token: token, Logger: log, Now: c.Now, Version: "1.4.2", Replica: statustest.Replica}
	if err := h.Init(); err != nil {
		t.Fatal(err)
	}
	return &env{st: st, h: h, clock: c, log: log}
}

// req builds a request from a remote client (192.0.2.1) to example.com.
func req(method, target string, form url.Values, hdr ...string) *http.Request {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return r
}

// loopback makes r come from this machine, addressed as localhost.
func loopback(r *http.Request) *http.Request {
	r.RemoteAddr, r.Host = "127.0.0.1:51234", "localhost:3978"
	return r
}

func (e *env) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// signIn posts the token through the form and returns the session cookie.
func (e *env) signIn(t *testing.T) *http.Cookie {
	t.Helper()
	w := e.do(req("POST", "/status/signin", url.Values{"token": {adminToken}}, "Origin", "http://example.com",
		"Sec-Fetch-Site", "same-origin"))
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/status" {
		t.Fatalf("sign-in = %d → %q, want 303 → /status: %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == status.SessionCookie {
			return c
		}
	}
	t.Fatal("sign-in set no session cookie")
	return nil
}

// page GETs /status with the cookie and returns the HTML.
func (e *env) page(t *testing.T, c *http.Cookie, target string) string {
	t.Helper()
	r := req("GET", target, nil)
	r.AddCookie(c)
	w := e.do(r)
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s = %d: %s", target, w.Code, w.Body)
	}
	return w.Body.String()
}

var (
	csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	deadField = regexp.MustCompile(`name="type" value="([^"]+)"><input type="hidden" name="id" value="([^"]+)"`)
)

func field(t *testing.T, re *regexp.Regexp, page string, group int) string {
	t.Helper()
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s in the page", re)
	}
	return html.UnescapeString(m[group])
}

func TestAuth(t *testing.T) {
	t.Run("bearer token", func(t *testing.T) {
		e := newEnv(t, adminToken)
		w := e.do(req("GET", "/status", nil, "Authorization", "Bearer "+adminToken))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Dead letters") {
			t.Fatalf("GET with the bearer token = %d: %s", w.Code, w.Body)
		}
	})
	t.Run("wrong bearer token", func(t *testing.T) {
		e := newEnv(t, adminToken)
		w := e.do(req("GET", "/status", nil, "Authorization", "Bearer "+adminToken+"x"))
		if w.Code != http.StatusUnauthorized || strings.Contains(w.Body.String(), statustest.LeadDeadReason) {
			t.Fatalf("GET with a wrong token = %d: %s", w.Code, w.Body)
		}
	})
	t.Run("no credentials: the sign-in form", func(t *testing.T) {
		e := newEnv(t, adminToken)
		w := e.do(loopback(req("GET", "/status", nil))) // loopback is no credential when a token is set
		body := w.Body.String()
		if w.Code != http.StatusUnauthorized || !strings.Contains(body, `action="/status/signin"`) ||
			!strings.Contains(body, `type="password"`) || strings.Contains(body, "Linked users") {
			t.Fatalf("GET without credentials = %d: %s", w.Code, body)
		}
		if !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("WWW-Authenticate = %q", w.Header().Get("WWW-Authenticate"))
		}
	})
	t.Run("sign-in form sets a session cookie that opens the page", func(t *testing.T) {
		e := newEnv(t, adminToken)
		c := e.signIn(t)
		if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/status" || c.Secure || c.MaxAge <= 0 {
			t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax (a link from chat keeps the session; posts need CSRF and Origin), Path=/status, not Secure over plain HTTP", c)
		}
		if strings.Contains(c.Value, adminToken) {
			t.Errorf("the cookie holds the token: %q", c.Value)
		}
		if p := e.page(t, c, "/status"); !strings.Contains(p, statustest.LeadDeadReason) || !strings.Contains(p, "Sign out") {
			t.Fatalf("page with the session cookie: %s", p)
		}
	})
	t.Run("sign-in over TLS sets a Secure cookie", func(t *testing.T) {
		e := newEnv(t, adminToken)
		r := req("POST", "https://example.com/status/signin", url.Values{"token": {adminToken}})
		r.TLS = &tls.ConnectionState{}
		w := e.do(r)
		cs := w.Result().Cookies()
		if w.Code != http.StatusSeeOther || len(cs) != 1 || !cs[0].Secure {
			t.Fatalf("sign-in over TLS = %d, cookies %+v", w.Code, cs)
		}
	})
	t.Run("wrong token in the form", func(t *testing.T) {
		e := newEnv(t, adminToken)
		w := e.do(req("POST", "/status/signin", url.Values{"token": {"not-the-admin-token"}}))
		if w.Code != http.StatusUnauthorized || len(w.Result().Cookies()) != 0 ||
			!strings.Contains(w.Body.String(), "That token is not the right one.") {
			t.Fatalf("sign-in with a wrong token = %d, cookies %v: %s", w.Code, w.Result().Cookies(), w.Body)
		}
	})
	t.Run("forged and expired session cookies", func(t *testing.T) {
		e := newEnv(t, adminToken)
		c := e.signIn(t)
		exp, _, _ := strings.Cut(c.Value, ".")
		for name, v := range map[string]string{"forged mac": exp + ".AAAA", "no mac": exp, "garbage": "x.y.z"} {
			r := req("GET", "/status", nil)
			r.AddCookie(&http.Cookie{Name: status.SessionCookie, Value: v})
			if w := e.do(r); w.Code != http.StatusUnauthorized {
				t.Errorf("%s: GET = %d", name, w.Code)
			}
		}
		e.clock.Advance(status.SessionTTL + time.Second)
		r := req("GET", "/status", nil)
		r.AddCookie(c)
		if w := e.do(r); w.Code != http.StatusUnauthorized {
			t.Errorf("expired session: GET = %d", w.Code)
		}
	})
	t.Run("a session from another token is refused", func(t *testing.T) {
		c := newEnv(t, adminToken).signIn(t)
		other := newEnv(t, adminToken+"-rotated")
		r := req("GET", "/status", nil)
		r.AddCookie(c)
		if w := other.do(r); w.Code != http.StatusUnauthorized {
			t.Fatalf("GET with the old token's session = %d", w.Code)
		}
	})
	t.Run("no token: loopback is let in", func(t *testing.T) {
		e := newEnv(t, "")
		w := e.do(loopback(req("GET", "/status", nil, "Origin", "http://localhost:3978", "Sec-Fetch-Site", "same-origin")))
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), statustest.LeadDeadReason) {
			t.Fatalf("loopback GET = %d: %s", w.Code, w.Body)
		}
	})
	for _, hdr := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip", "Via"} {
		t.Run("no token: loopback through a proxy ("+hdr+") is refused", func(t *testing.T) {
			e := newEnv(t, "")
			w := e.do(loopback(req("GET", "/status", nil, hdr, "203.0.113.9")))
			if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "CRMBOT_ADMIN_TOKEN") ||
				strings.Contains(w.Body.String(), statustest.LeadDeadReason) {
				t.Fatalf("proxied GET = %d: %s", w.Code, w.Body)
			}
		})
	}
	t.Run("no token: a remote client is refused", func(t *testing.T) {
		e := newEnv(t, "")
		w := e.do(req("GET", "/status", nil))
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "CRMBOT_ADMIN_TOKEN") {
			t.Fatalf("remote GET = %d: %s", w.Code, w.Body)
		}
		w = e.do(req("GET", "/status?format=json", nil))
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "CRMBOT_ADMIN_TOKEN") {
			t.Fatalf("remote GET ?format=json = %d: %s", w.Code, w.Body)
		}
	})
	t.Run("no token: a rebound DNS name on loopback is refused", func(t *testing.T) {
		e := newEnv(t, "")
		r := loopback(req("GET", "/status", nil))
		r.Host = "attacker.example:3978"
		if w := e.do(r); w.Code != http.StatusForbidden {
			t.Fatalf("GET with a foreign Host = %d", w.Code)
		}
	})
	t.Run("no token: signing in is pointless", func(t *testing.T) {
		e := newEnv(t, "")
		w := e.do(req("POST", "/status/signin", url.Values{"token": {""}}))
		if w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
			t.Fatalf("sign-in without a token configured = %d", w.Code)
		}
	})
	t.Run("Init refuses a short token", func(t *testing.T) {
		st, _ := embedded.New(embedded.Options{})
		if err := (&status.Handler{Store: st, Token: "short"}).Init(); err == nil {
			t.Fatal("Init accepted a 5-character token")
		}
	})
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, adminToken)
	for name, r := range map[string]*http.Request{
		"page":    req("GET", "/status", nil, "Authorization", "Bearer "+adminToken),
		"sign-in": req("GET", "/status", nil),
		"json":    req("GET", "/status?format=json", nil, "Authorization", "Bearer "+adminToken),
		"css":     req("GET", "/status/status.css", nil),
	} {
		w := e.do(r)
		h := w.Header()
		csp := h.Get("Content-Security-Policy")
		if h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" ||
			!strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "style-src 'self'") ||
			strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") ||
			!strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: headers %v", name, h)
		}
	}
	if w := e.do(req("GET", "/status/status.css", nil)); w.Code != http.StatusOK ||
		!strings.HasPrefix(w.Header().Get("Content-Type"), "text/css") || !strings.Contains(w.Body.String(), ".phase-paused") {
		t.Errorf("stylesheet = %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	w := e.do(req("GET", "/status", nil, "Authorization", "Bearer "+adminToken))
	if strings.Contains(w.Body.String(), "<script") || strings.Contains(w.Body.String(), "style=") ||
		strings.Contains(w.Body.String(), "<style") {
		t.Error("the page has inline script or style, which the CSP forbids")
	}
	if w := e.do(req("POST", "/status", nil)); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /status = %d", w.Code)
	}
	if w := e.do(req("GET", "/status/nope", nil)); w.Code != http.StatusNotFound {
		t.Errorf("GET /status/nope = %d", w.Code)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, adminToken)
	c := e.signIn(t)
	p := e.page(t, c, "/status")
	csrf, typ, id := field(t, csrfField, p, 1), field(t, deadField, p, 1), field(t, deadField, p, 2)
	retry := func(form url.Values, c *http.Cookie, hdr ...string) int {
		r := req("POST", "/status/dead/retry", form, hdr...)
		if c != nil {
			r.AddCookie(c)
		}
		return e.do(r).Code
	}
	form := func(csrf string) url.Values {
		return url.Values{"csrf": {csrf}, "org": {statustest.Org}, "type": {typ}, "id": {id}}
	}
	e.clock.Advance(time.Second) // another session value from the same token
	c2 := e.signIn(t)
	otherCSRF := field(t, csrfField, e.page(t, c2, "/status"), 1)

	for name, code := range map[string]int{
		"no CSRF token":                retry(form(""), c),
		"a wrong CSRF token":           retry(form(csrf+"x"), c),
		"another session's CSRF token": retry(form(otherCSRF), c),
		"a cross-site Origin":          retry(form(csrf), c, "Origin", "https://attacker.example"),
		"Origin null":                  retry(form(csrf), c, "Origin", "null"),
		"Sec-Fetch-Site cross-site":    retry(form(csrf), c, "Sec-Fetch-Site", "cross-site"),
		"Sec-Fetch-Site same-site":     retry(form(csrf), c, "Sec-Fetch-Site", "same-site"),
		"no session at all":            retry(form(csrf), nil),
	} {
		if code != http.StatusForbidden && code != http.StatusUnauthorized {
			t.Errorf("%s: retry = %d, want refused", name, code)
		}
	}
	if dl, _ := e.st.ListDead(context.Background(), store.SyncKey{Org: statustest.Org, RecordType: typ}, 10); len(dl) != 1 {
		t.Fatalf("a refused retry changed the dead letters: %+v", dl)
	}
	if code := retry(form(csrf), nil, "Origin", "https://attacker.example", "Authorization", "Bearer "+adminToken); code != http.StatusForbidden {
		t.Errorf("bearer retry from another site = %d", code)
	}
	w := e.do(req("POST", "/status/signin", url.Values{"token": {adminToken}}, "Origin", "https://attacker.example"))
	if w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
		t.Errorf("cross-site sign-in = %d, cookies %v", w.Code, w.Result().Cookies())
	}
	if code := retry(form(csrf), c, "Origin", "http://example.com", "Sec-Fetch-Site", "same-origin"); code != http.StatusSeeOther {
		t.Fatalf("a same-origin retry with the CSRF token = %d", code)
	}
}

func TestCSRFWithoutToken(t *testing.T) {
	e := newEnv(t, "")
	w := e.do(loopback(req("GET", "/status", nil)))
	p := w.Body.String()
	csrf, typ, id := field(t, csrfField, p, 1), field(t, deadField, p, 1), field(t, deadField, p, 2)
	form := url.Values{"csrf": {csrf}, "org": {statustest.Org}, "type": {typ}, "id": {id}}
	if w := e.do(loopback(req("POST", "/status/dead/retry", url.Values{"org": {statustest.Org}, "type": {typ}, "id": {id}}))); w.Code != http.StatusForbidden {
		t.Errorf("loopback retry without a CSRF token = %d", w.Code)
	}
	if w := e.do(loopback(req("POST", "/status/dead/retry", form, "Origin", "http://attacker.example"))); w.Code != http.StatusForbidden {
		t.Errorf("loopback retry from another site = %d", w.Code)
	}
	if w := e.do(req("POST", "/status/dead/retry", form)); w.Code != http.StatusForbidden {
		t.Errorf("remote retry with a loopback CSRF token = %d", w.Code)
	}
	w = e.do(loopback(req("POST", "/status/dead/retry", form, "Origin", "http://localhost:3978", "Sec-Fetch-Site", "same-origin")))
	if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "flash=retried") {
		t.Fatalf("loopback retry = %d → %q", w.Code, w.Header().Get("Location"))
	}
}

func TestRetryDeadLetter(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, adminToken)
	c := e.signIn(t)
	p := e.page(t, c, "/status")
	if n := strings.Count(p, `class="dead-letter"`); n != 2 {
		t.Fatalf("%d dead letters on the page, want 2", n)
	}
	csrf, typ, id := field(t, csrfField, p, 1), field(t, deadField, p, 1), field(t, deadField, p, 2)
	key := store.SyncKey{Org: statustest.Org, RecordType: typ}
	before, err := e.st.OutboxStats(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	dead, _ := e.st.ListDead(ctx, key, 10)

	r := req("POST", "/status/dead/retry", url.Values{"csrf": {csrf}, "org": {statustest.Org}, "type": {typ}, "id": {id}},
		"Origin", "http://example.com")
	r.AddCookie(c)
	w := e.do(r)
	loc := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/status?") || !strings.Contains(loc, "flash=retried") {
		t.Fatalf("retry = %d → %q: %s", w.Code, loc, w.Body)
	}
	after, _ := e.st.OutboxStats(ctx, key)
	if after.Dead != before.Dead-1 || after.Depth != before.Depth+1 {
		t.Fatalf("outbox %+v → %+v: want one dead letter fewer, one entry more", before, after)
	}
	if dl, _ := e.st.ListDead(ctx, key, 10); len(dl) != len(dead)-1 {
		t.Fatalf("dead letters after the retry: %+v", dl)
	}
	// The entry is back: a worker reads it with fresh attempts.
	var back *store.OutboxEntry
	for {
		got, err := e.st.ReadOutbox(ctx, key, "worker-test", 10, 0)
		if err != nil || len(got) == 0 {
			break
		}
		for _, g := range got {
			if g.DedupeKey == dead[0].DedupeKey {
				back = &g
			}
		}
	}
	if back == nil || back.Attempts != 1 || string(back.Payload) != string(dead[0].Payload) {
		t.Fatalf("retried entry read as %+v", back)
	}

	p = e.page(t, c, loc)
	if !strings.Contains(p, `id="flash"`) || !strings.Contains(p, "dead letter is back in the outbox") {
		t.Fatalf("no flash message after the retry: %s", p)
	}
	if n := strings.Count(p, `class="dead-letter"`); n != 1 {
		t.Fatalf("%d dead letters on the page after the retry, want 1", n)
	}

	t.Run("a crafted flash link shows nothing", func(t *testing.T) {
		p := e.page(t, c, "/status?flash=retried&type=Call+0800+now")
		if strings.Contains(p, `id="flash"`) || strings.Contains(p, "0800") {
			t.Fatal("a flash message with a record type the page does not show")
		}
	})
	t.Run("twice: already gone", func(t *testing.T) {
		r := req("POST", "/status/dead/retry", url.Values{"csrf": {csrf}, "org": {statustest.Org}, "type": {typ}, "id": {id}})
		r.AddCookie(c)
		w := e.do(r)
		if loc := w.Header().Get("Location"); w.Code != http.StatusSeeOther || !strings.Contains(loc, "flash=gone") {
			t.Fatalf("second retry = %d → %q", w.Code, loc)
		}
		if p := e.page(t, c, w.Header().Get("Location")); !strings.Contains(p, "already retried or is gone") {
			t.Fatal("no 'gone' flash")
		}
	})
	t.Run("a record type the page does not show", func(t *testing.T) {
		r := req("POST", "/status/dead/retry", url.Values{"csrf": {csrf}, "org": {"other-org"}, "type": {typ}, "id": {id}})
		r.AddCookie(c)
		if w := e.do(r); w.Code != http.StatusBadRequest {
			t.Fatalf("retry in an unknown org = %d", w.Code)
		}
	})
	t.Run("by a script with the bearer token", func(t *testing.T) {
		k := statustest.Keys[1]
		dl, _ := e.st.ListDead(ctx, k, 10)
		if len(dl) != 1 {
			t.Fatalf("dead letters of %s: %+v", k, dl)
		}
		w := e.do(req("POST", "/status/dead/retry", url.Values{"org": {k.Org}, "type": {k.RecordType}, "id": {dl[0].ID}},
			"Authorization", "Bearer "+adminToken))
		if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "flash=retried") {
			t.Fatalf("bearer retry = %d → %q", w.Code, w.Header().Get("Location"))
		}
	})
}

func TestPage(t *testing.T) {
	e := newEnv(t, adminToken)
	p := e.page(t, e.signIn(t), "/status")
	for _, want := range []string{
		`<html lang="en">`, "crmbot status", "1.4.2", statustest.Replica,
		// links per platform
		"<th scope=\"row\">Slack</th><td class=\"num\">3</td><td class=\"num warn\">1",
		"<th scope=\"row\">Microsoft Teams</th><td class=\"num\">2</td><td class=\"num\">0",
		// sync per record type
		`id="type-lead"`, `phase-delta`, "this replica", statustest.OtherReplica,
		"baseline in progress", "15,000", "phase-paused", "until 09:05:45 UTC", "429 Too Many Requests",
		"none yet", "5 min", "20 s ago",
		// dead letters, decoded
		statustest.LeadDeadReason, statustest.IncidentDeadReason, "lead: reassigned", "incident: new, assigned",
		"by Seán O&#39;Brien", ">Retry</button>",
		// recent errors, newest first, the token redacted
		"sync: the delta read failed", "delivery: Slack asked us to slow down", "[redacted]",
	} {
		if !strings.Contains(p, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(p, "xoxb-must-not-show") {
		t.Error("a token attribute reached the page")
	}
	if i, j := strings.Index(p, "sync: the delta read failed"), strings.Index(p, "Slack asked us"); i > j {
		t.Error("recent errors are not newest first")
	}

	t.Run("French", func(t *testing.T) {
		r := req("GET", "/status", nil, "Accept-Language", "fr-CH, fr;q=0.9, en;q=0.8", "Authorization", "Bearer "+adminToken)
		w := e.do(r)
		p := w.Body.String()
		for _, want := range []string{`<html lang="fr">`, "État de crmbot", "Lettres mortes", "lecture initiale en cours",
			"15\u202f000", "ce réplica", "il y a 20 s", "Réessayer", "lead\u00a0: réattribué", "Utilisateurs liés par plateforme"} {
			if !strings.Contains(p, want) {
				t.Errorf("French page lacks %q", want)
			}
		}
		if strings.Contains(p, "Dead letters") || strings.Contains(p, "Linked users") {
			t.Error("English words on the French page")
		}
		w = e.do(req("GET", "/status", nil, "Accept-Language", "fr"))
		if !strings.Contains(w.Body.String(), "Jeton d’administration") {
			t.Errorf("French sign-in form: %s", w.Body)
		}
	})
	t.Run("sync off on this replica", func(t *testing.T) {
		e := newEnv(t, adminToken)
		e.h.Syncer = nil
		p := e.page(t, e.signIn(t), "/status")
		if !strings.Contains(p, "Sync is off on this replica") || !strings.Contains(p, "phase-off") ||
			!strings.Contains(p, "baseline in progress") {
			t.Fatalf("sync-off page: %s", p)
		}
	})
}

func TestJSON(t *testing.T) {
	e := newEnv(t, adminToken)
	w := e.do(req("GET", "/status?format=json", nil, "Authorization", "Bearer "+adminToken))
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET ?format=json = %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	var rep status.Report
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Version != "1.4.2" || rep.Replica != statustest.Replica || !rep.SyncOn || !rep.Generated.Equal(e.clock.Now()) {
		t.Errorf("header %+v", rep)
	}
	if len(rep.Links) != 2 || rep.Links[0] != (status.PlatformLinks{Platform: "slack", Linked: 3, Broken: 1}) ||
		rep.Links[1] != (status.PlatformLinks{Platform: "teams", Linked: 2}) {
		t.Errorf("links %+v", rep.Links)
	}
	if len(rep.Types) != 4 {
		t.Fatalf("types %+v", rep.Types)
	}
	lead, incident, opp, task := rep.Types[0], rep.Types[1], rep.Types[2], rep.Types[3]
	if lead.Phase != "delta" || lead.Lease.Holder != statustest.Replica || !lead.HasCursor || lead.BaselineInProgress ||
		lead.CursorAgeSeconds != 300 || lead.LagSeconds != 20 || lead.Outbox.Depth != 3 || lead.Outbox.Pending != 1 ||
		lead.Outbox.Dead != 1 || lead.OldestAgeSeconds != 300 {
		t.Errorf("lead %+v", lead)
	}
	if incident.Phase != "baseline" || !incident.BaselineInProgress || incident.BaselineRows != 15000 || incident.Outbox.Dead != 1 {
		t.Errorf("incident %+v", incident)
	}
	if opp.Phase != "paused" || opp.PausedUntil.IsZero() || !strings.Contains(opp.LastError, "429") {
		t.Errorf("opportunity %+v", opp)
	}
	if task.Phase != "standby" || task.HasCursor || task.Lease.Holder != statustest.OtherReplica {
		t.Errorf("task %+v", task)
	}
	if len(rep.Dead) != 2 || rep.Dead[0].Reason != statustest.LeadDeadReason || rep.Dead[0].Attempts != store.DefaultMaxAttempts ||
		rep.Dead[0].Event == nil || rep.Dead[0].Event.Kind != status.KindReassigned || rep.Dead[0].Event.By != "Seán O'Brien" {
		t.Errorf("dead %+v", rep.Dead)
	}
	if len(rep.Errors) != 2 || rep.Errors[0].Level != slog.LevelError {
		t.Errorf("errors %+v", rep.Errors)
	}
	if strings.Contains(w.Body.String(), "xoxb-must-not-show") {
		t.Error("a token attribute reached the JSON")
	}

	t.Run("unauthenticated", func(t *testing.T) {
		w := e.do(req("GET", "/status?format=json", nil))
		if w.Code != http.StatusUnauthorized || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("GET ?format=json without a token = %d %q", w.Code, w.Header().Get("Content-Type"))
		}
	})
}

// failing is a store whose link counts fail and whose outbox stats of one
// record type hang until the read times out.
type failing struct{ *embedded.Store }

func (failing) LinkCounts(context.Context) (map[string]store.LinkCount, error) {
	return nil, errors.New("redis: connection refused")
}

func (f failing) OutboxStats(ctx context.Context, key store.SyncKey) (store.OutboxStats, error) {
	if key != statustest.Keys[3] {
		return f.Store.OutboxStats(ctx, key)
	}
	<-ctx.Done()
	return store.OutboxStats{}, ctx.Err()
}

func TestSourceErrors(t *testing.T) {
	e := newEnv(t, adminToken)
	e.h.Store = failing{e.st}
	start := time.Now()
	w := e.do(req("GET", "/status", nil, "Authorization", "Bearer "+adminToken))
	if took := time.Since(start); took > status.ReadTimeout+2*time.Second {
		t.Errorf("the page took %s with a hanging store", took)
	}
	p := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("GET with failing sources = %d: %s", w.Code, p)
	}
	for _, want := range []string{"redis: connection refused", statustest.LeadDeadReason, "baseline in progress"} {
		if !strings.Contains(p, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	task := p[strings.Index(p, `id="type-task"`):]
	task = task[:strings.Index(task, "</tr>")]
	if !strings.Contains(task, "context deadline exceeded") {
		t.Errorf("the task row does not show its timeout: %s", task)
	}
	lead := p[strings.Index(p, `id="type-lead"`):]
	if lead = lead[:strings.Index(lead, "</tr>")]; strings.Contains(lead, "deadline") {
		t.Errorf("the lead row shows another row's timeout: %s", lead)
	}
}
