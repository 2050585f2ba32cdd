// Package status serves the operator's status page at /status: linked users
// per platform, sync state per record type, outbox depth, dead letters (with
// a retry button) and recent warnings and errors, in English or French, as
// HTML or, with ?format=json, as JSON for scripts.
//
// With an admin token the page asks for it (a sign-in form that sets a
// session cookie, or an Authorization: Bearer header); without one it only
// answers requests made on this machine and not relayed by a proxy.
package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/crmbot/crmbot/internal/i18n"
	"github.com/crmbot/crmbot/store"
)

// Path is where the page lives; its forms post under it.
const Path = "/status"

// Paths under Path.
const (
	stylePath   = Path + "/status.css"
	signInPath  = Path + "/signin"
	signOutPath = Path + "/signout"
	retryPath   = Path + "/dead/retry"
)

// ReadTimeout bounds the reads behind one page: a slow store shows as an
// error in its section, not as a page that never comes.
const ReadTimeout = 3 * time.Second

// DefaultDeadPerType is how many dead letters the page lists per record type.
const DefaultDeadPerType = 20

// maxForm caps a posted form (a token, a CSRF token, an id).
const maxForm = 16 << 10

// Handler serves the status page. Set the fields, call Init, then mount it
// with Register (or at Path and Path+"/" yourself).
type Handler struct {
	// Store is read for links, cursors, leases and outboxes, and retries
	// dead letters. Required.
	Store Store
	// Syncer is this replica's poller; nil when sync is off here. (Never a
	// nil *crmsync.Poller in a non-nil interface.)
	Syncer Syncer
	// Keys are the record types to show, in order.
	Keys []store.SyncKey
	// Recorder holds the recent warnings and errors; nil hides them.
	Recorder *Recorder
	// Token is the admin token (CRMBOT_ADMIN_TOKEN), at least MinTokenLength
	// characters; empty opens the page to loopback clients only (the app
	// serves it without a token only with the embedded sandbox).
	Token string
	// Logger: nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Version and Replica head the page (Replica is this replica's lease
	// holder name, so its leases read "this replica").
	Version string
	Replica string
	// Messages is the catalogue; nil means i18n.Default().
	Messages *i18n.Catalog
	// DeadPerType: dead letters listed per record type (0: DefaultDeadPerType).
	DeadPerType int

	secrets secrets
}

// Init checks the configuration and fills the defaults.
func (h *Handler) Init() error {
	if h.Store == nil {
		return errors.New("status: Store is required")
	}
	if h.Token != "" && len(h.Token) < MinTokenLength {
		return fmt.Errorf("status: the admin token must be at least %d characters", MinTokenLength)
	}
	for _, k := range h.Keys {
		if err := k.Validate(); err != nil {
			return fmt.Errorf("status: %w", err)
		}
	}
	if h.Logger == nil {
		h.Logger = slog.Default()
	}
	if h.Now == nil {
		h.Now = time.Now
	}
	if h.Messages == nil {
		h.Messages = i18n.Default()
	}
	if h.DeadPerType <= 0 {
		h.DeadPerType = DefaultDeadPerType
	}
	s, err := newSecrets(h.Token)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	h.secrets = s
	return nil
}

// Register mounts the handler at Path and under it.
func (h *Handler) Register(mux interface {
	Handle(pattern string, h http.Handler)
}) {
	mux.Handle(Path, h)
	mux.Handle(Path+"/", h)
}

// ServeHTTP routes: GET Path (the page, or JSON), GET Path/status.css,
// POST Path/signin, Path/signout and Path/dead/retry.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w)
	var method string
	var serve http.HandlerFunc
	switch r.URL.Path {
	case Path, Path + "/":
		method, serve = http.MethodGet, h.page
	case stylePath:
		method, serve = http.MethodGet, serveStyle
	case signInPath:
		method, serve = http.MethodPost, h.signIn
	case signOutPath:
		method, serve = http.MethodPost, h.signOut
	case retryPath:
		method, serve = http.MethodPost, h.retry
	default:
		http.NotFound(w, r)
		return
	}
	if r.Method != method && (r.Method != http.MethodHead || method != http.MethodGet) {
		w.Header().Set("Allow", method)
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	serve(w, r)
}

// securityHeaders go on every answer: no caching, no framing, no script,
// styles from our own stylesheet only, forms to ourselves only. The
// referrer policy keeps Origin on our own form posts (no-referrer would
// turn it into "null").
func securityHeaders(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Cache-Control", "no-store")
	hd.Set("Pragma", "no-cache")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self' data:; "+
		"form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
}

// page: GET /status (?format=json, ?flash=…).
func (h *Handler) page(w http.ResponseWriter, r *http.Request) {
	loc := h.localizer(r)
	c, bad := h.authenticate(r)
	if c.how == accessNone {
		h.refuse(w, r, loc, bad)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), ReadTimeout)
	defer cancel()
	rep := h.gather(ctx, loc)
	if r.URL.Query().Get("format") == "json" {
		writeJSON(w, http.StatusOK, rep)
		return
	}
	h.renderStatus(w, r, loc, c, rep)
}

// refuse answers a request that did not get in: the sign-in form (401)
// when a token opens the page, a 403 explaining CRMBOT_ADMIN_TOKEN when only
// loopback does.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, loc i18n.Localizer, bad bool) {
	wantsJSON := r.URL.Query().Get("format") == "json" || r.Header.Get("Authorization") != ""
	if h.Token == "" {
		// Info, not Warn: scanners would push real errors off the page.
		h.Logger.InfoContext(r.Context(), "status: refused a request that is not from loopback (set CRMBOT_ADMIN_TOKEN to open the page)",
			"remote", r.RemoteAddr)
		if wantsJSON {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": loc.T(i18n.StatusLoopbackOnly, nil)})
			return
		}
		h.renderGate(w, loc, http.StatusForbidden, gateView{Title: loc.T(i18n.StatusClosedTitle, nil),
			Message: loc.T(i18n.StatusLoopbackOnly, nil), Tone: "bad"})
		return
	}
	if bad {
		h.Logger.InfoContext(r.Context(), "status: wrong admin token", "remote", r.RemoteAddr)
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="crmbot status"`)
	if wantsJSON {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": loc.T(i18n.StatusSignInIntro, nil)})
		return
	}
	v := gateView{Title: loc.T(i18n.StatusSignInTitle, nil), Message: loc.T(i18n.StatusSignInIntro, nil), SignIn: true}
	if bad {
		v.Error = loc.T(i18n.StatusSignInWrong, nil)
	}
	h.renderGate(w, loc, http.StatusUnauthorized, v)
}

// signIn: POST /status/signin with the token; sets the session cookie.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	loc := h.localizer(r)
	if h.Token == "" {
		h.refuse(w, r, loc, false)
		return
	}
	if !h.parseForm(w, r) || !sameOrigin(r) {
		h.refusePost(w, loc)
		return
	}
	if !h.tokenMatches(r.PostForm.Get("token")) {
		h.refuse(w, r, loc, true)
		return
	}
	h.setSession(w, r, h.newSession(), int(SessionTTL.Seconds()))
	h.Logger.InfoContext(r.Context(), "status: operator signed in", "remote", r.RemoteAddr)
	http.Redirect(w, r, Path, http.StatusSeeOther)
}

// signOut: POST /status/signout; drops the session cookie.
func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) {
	loc := h.localizer(r)
	c, ok := h.allowPost(w, r, loc)
	if !ok {
		return
	}
	if c.how == accessCookie {
		h.setSession(w, r, "", -1)
	}
	http.Redirect(w, r, Path, http.StatusSeeOther)
}

// retry: POST /status/dead/retry (org, type, id); back to the page with a
// flash message.
func (h *Handler) retry(w http.ResponseWriter, r *http.Request) {
	loc := h.localizer(r)
	if _, ok := h.allowPost(w, r, loc); !ok {
		return
	}
	key := store.SyncKey{Org: r.PostForm.Get("org"), RecordType: r.PostForm.Get("type")}
	id := r.PostForm.Get("id")
	known := false
	for _, k := range h.Keys {
		known = known || k == key
	}
	if !known || id == "" {
		h.renderGate(w, loc, http.StatusBadRequest, gateView{Title: loc.T(i18n.StatusRefusedTitle, nil),
			Message: loc.T(i18n.StatusRetryBadRequest, nil), Tone: "bad", Back: true})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), ReadTimeout)
	defer cancel()
	flash := flashRetried
	entry, err := h.Store.RetryDead(ctx, key, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		flash = flashGone
	case err != nil:
		flash = flashFailed
		h.Logger.ErrorContext(ctx, "status: dead letter retry failed", "key", key.String(), "dead_id", id, "err", err)
	default:
		h.Logger.InfoContext(ctx, "status: dead letter sent back to the outbox", "key", key.String(), "dead_id", id, "entry", entry)
	}
	q := url.Values{"flash": {flash}, "type": {key.RecordType}}
	http.Redirect(w, r, Path+"?"+q.Encode(), http.StatusSeeOther)
}

// allowPost authenticates a state-changing request and checks it came from
// our page; otherwise it answers and returns false.
func (h *Handler) allowPost(w http.ResponseWriter, r *http.Request, loc i18n.Localizer) (caller, bool) {
	c, bad := h.authenticate(r)
	if c.how == accessNone {
		h.refuse(w, r, loc, bad)
		return c, false
	}
	if !h.parseForm(w, r) || !h.postAllowed(r, c) {
		h.Logger.WarnContext(r.Context(), "status: refused a form post without a valid CSRF token or from another site",
			"path", r.URL.Path, "remote", r.RemoteAddr, "origin", truncate(r.Header.Get("Origin"), 100))
		h.refusePost(w, loc)
		return c, false
	}
	return c, true
}

func (h *Handler) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	return r.ParseForm() == nil
}

func (h *Handler) refusePost(w http.ResponseWriter, loc i18n.Localizer) {
	h.renderGate(w, loc, http.StatusForbidden, gateView{Title: loc.T(i18n.StatusRefusedTitle, nil),
		Message: loc.T(i18n.StatusCSRFRefused, nil), Tone: "bad", Back: true})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
