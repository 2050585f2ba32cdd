// Package linkweb serves the browser side of account linking:
// GET /link/start (set the binding cookie, redirect to the authority) and
// GET /link/callback (finish the sign-in, show the outcome), with small,
// accessible, branded pages in the user's language.
package linkweb

import (
	_ "embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/internal/i18n"
	"github.com/crmbot/crmbot/store"
)

//go:embed page.html
var pageHTML string

var page = template.Must(template.New("page").Parse(pageHTML))

// Handler serves the link pages. Set the fields, then Register.
type Handler struct {
	Links *bot.LinkService
	// Messages is the catalogue; nil means i18n.Default().
	Messages *i18n.Catalog
	// Logger: nil means slog.Default().
	Logger *slog.Logger
}

// Register adds the two endpoints to mux.
func (h *Handler) Register(mux interface {
	Handle(pattern string, h http.Handler)
}) {
	mux.Handle("GET "+bot.LinkStartPath, http.HandlerFunc(h.start))
	mux.Handle("GET "+bot.LinkCallbackPath, http.HandlerFunc(h.callback))
}

func (h *Handler) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

func (h *Handler) messages() *i18n.Catalog {
	if h.Messages != nil {
		return h.Messages
	}
	return i18n.Default()
}

// start: GET /link/start?n=NONCE.
func (h *Handler) start(w http.ResponseWriter, r *http.Request) {
	headers(w)
	auth, err := h.Links.Authorize(r.Context(), r.URL.Query().Get("n"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		h.render(w, r, http.StatusGone, bot.Outcome{Kind: bot.OutcomeExpired})
		return
	case err != nil:
		h.log().WarnContext(r.Context(), "link start failed", "err", err)
		h.render(w, r, http.StatusServiceUnavailable, bot.Outcome{Kind: bot.OutcomeUnavailable})
		return
	}
	// SameSite=Lax, not Strict: the callback is a top-level navigation from
	// the authority's site, and a Strict cookie would not come with it.
	http.SetCookie(w, &http.Cookie{Name: auth.CookieName, Value: auth.CookieValue, Path: "/",
		MaxAge: int(store.NonceTTL.Seconds()), HttpOnly: true, Secure: h.Links.SecureCookies(), SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, auth.RedirectURL, http.StatusFound)
}

// callback: GET /link/callback?state=…&code=… (or error=…).
func (h *Handler) callback(w http.ResponseWriter, r *http.Request) {
	headers(w)
	q := r.URL.Query()
	state := q.Get("state")
	out := h.Links.Complete(r.Context(), bot.Callback{
		State: state, Code: q.Get("code"), Error: q.Get("error"), ErrorDescription: q.Get("error_description"),
		AcceptLanguage: firstLanguage(r.Header.Get("Accept-Language")),
		Cookie: func(name string) (string, bool) {
			c, err := r.Cookie(name)
			if err != nil {
				return "", false
			}
			return c.Value, true
		},
	})
	if state != "" && store.ValidID(state, store.NonceBytes) {
		// The sign-in is over, whatever its outcome: drop its cookie.
		http.SetCookie(w, &http.Cookie{Name: h.Links.CookieName(state), Value: "", Path: "/", MaxAge: -1,
			HttpOnly: true, Secure: h.Links.SecureCookies(), SameSite: http.SameSiteLaxMode})
	}
	status := http.StatusOK
	switch out.Kind {
	case bot.OutcomeExpired:
		status = http.StatusGone
	case bot.OutcomeRefused, bot.OutcomeMismatch:
		status = http.StatusForbidden
	case bot.OutcomeUnavailable:
		status = http.StatusServiceUnavailable
	}
	h.render(w, r, status, out)
}

// view is the page template's data.
type view struct {
	Lang, Title, Mark, Tone string
	Lines, Notes            []string
	Code, CodeLabel         string
	Tagline                 string
}

func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, o bot.Outcome) {
	loc := h.messages().For(o.Locale, firstLanguage(r.Header.Get("Accept-Language")))
	platform, command := platformWords(o.Platform)
	back := loc.T(i18n.LinkPageBackToChat, i18n.Args{"platform": platform})
	again := loc.T(i18n.LinkTryAgain, i18n.Args{"command": command, "platform": platform})
	v := view{Lang: loc.Lang(), Tagline: loc.T(i18n.LinkPageTagline, nil), CodeLabel: loc.T(i18n.LinkPageCodeLabel, nil)}
	switch o.Kind {
	case bot.OutcomeLinked:
		v.Title, v.Mark, v.Tone = loc.T(i18n.LinkPageLinkedTitle, nil), "✓", "ok"
		v.Lines = []string{loc.T(i18n.LinkedAs, i18n.Args{"name": o.Link.DisplayName, "email": firstNonEmpty(o.Link.Email, o.Link.UPN)})}
		v.Notes = []string{back}
	case bot.OutcomeCodeRequired:
		v.Title, v.Mark, v.Tone = loc.T(i18n.LinkPageCodeTitle, nil), "#", "code"
		v.Lines = []string{loc.T(i18n.LinkCodePrompt, i18n.Args{"command": command + " " + o.Code, "platform": platform,
			"minutes": strconv.Itoa(int(bot.CodeTTL.Minutes()))})}
		v.Code = o.Code
		v.Notes = []string{loc.T(i18n.LinkCodeWhy, i18n.Args{"email": o.Email})}
	case bot.OutcomeMismatch:
		v.Title, v.Mark, v.Tone = loc.T(i18n.LinkPageFailedTitle, nil), "!", "bad"
		if o.Platform == store.PlatformSlack {
			v.Lines = []string{loc.T(i18n.LinkMismatchSlack, i18n.Args{"email": o.Email})}
		} else {
			v.Lines = []string{loc.T(i18n.LinkMismatchTeams, i18n.Args{"upn": o.SignedInAs})}
		}
		v.Notes = []string{again}
	case bot.OutcomeExpired:
		v.Title, v.Mark, v.Tone = loc.T(i18n.LinkPageExpiredTitle, nil), "⌛", "warn"
		v.Lines = []string{loc.T(i18n.LinkStartExpired, nil)}
	case bot.OutcomeUnavailable:
		v.Title, v.Mark, v.Tone = loc.T(i18n.LinkPageUnavailableTitle, nil), "…", "warn"
		v.Lines = []string{loc.T(i18n.LinkUnavailable, nil)}
		v.Notes = []string{again}
	default: // refused
		v.Title, v.Mark, v.Tone = loc.T(i18n.LinkPageFailedTitle, nil), "!", "bad"
		v.Lines = []string{loc.T(i18n.LinkSignInFailed, nil)}
		if o.Detail != "" {
			v.Lines = append(v.Lines, loc.T(i18n.LinkAuthoritySaid, i18n.Args{"error": o.Detail}))
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := page.Execute(w, v); err != nil {
		h.log().WarnContext(r.Context(), "link page render failed", "err", err)
	}
}

// headers are every link page's security headers: no caching, no referrer
// (the callback URL carries a code), no framing, no scripts.
func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
}

// platformWords are the platform's name and its link command.
func platformWords(platform string) (name, command string) {
	switch platform {
	case store.PlatformTeams:
		return "Microsoft Teams", "link"
	case store.PlatformSlack:
		return "Slack", "/crm link"
	default:
		return "Slack / Microsoft Teams", "/crm link"
	}
}

// firstLanguage is the first tag of an Accept-Language header.
func firstLanguage(h string) string {
	tag, _, _ := strings.Cut(h, ",")
	tag, _, _ = strings.Cut(tag, ";")
	return strings.TrimSpace(tag)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
