package sync

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/crmbot/crmbot/crm"
	"golang.org/x/net/http/httpguts"
)

// The Dataverse webhook receiver. A service endpoint (contract: webhook) with
// async post-operation steps on Create, Update (ownerid) and Assign POSTs a
// RemoteExecutionContext here. The webhook never bypasses the delta read: it
// only pokes the poller of that record type so its delta runs now, and the
// delta stays the single source of truth. So the body is read for routing only
// (organization and record type); images and attributes are never used, which
// is also why a context whose images were dropped for size
// (x-ms-dynamics-msg-size-exceeded) is as good a poke as any.
//
// Dataverse retries a delivery once, and only on 502, 503 or 504; this handler
// never answers those (a bug of ours is a 500, a panic in Poke included).

// webhookDefaultMaxBody caps request bodies when MaxBody is 0. Dataverse
// itself drops the images past 256 KB, so 1 MiB leaves room.
const webhookDefaultMaxBody int64 = 1 << 20

// WebhookHandler serves /dataverse/webhook.
type WebhookHandler struct {
	// Secret is required: empty → every request is 401 (and Init errors).
	// Dataverse sends it as the WebhookKey (?code=Secret) or, with HeaderName,
	// as the value of an HttpHeader.
	Secret string
	// HeaderName: HttpHeader auth, the header carrying Secret. Empty →
	// WebhookKey auth (?code=Secret). Only the configured method is accepted:
	// with HeaderName set a request carrying a code query parameter is refused.
	HeaderName string
	// Poke asks the poller of recordType (the lowercased PrimaryEntityName) in
	// org (the lowercased OrganizationId GUID; "" when the context carries
	// none) to run its delta now. It MUST NOT block: it runs on the request
	// path and Dataverse waits for the answer (coalesce into a pending flag or
	// a non-blocking send on a buffered channel). It returns false when
	// recordType (or org) is not one we sync; the request is still a 200.
	Poke func(org, recordType string) bool
	// Logger defaults to slog.Default(). Neither the secret, the query string
	// nor bodies are ever logged.
	Logger *slog.Logger
	// MaxBody caps request bodies; 0 → 1 MiB. Larger → 413.
	MaxBody int64
	// Observe, optional, counts each request's outcome: "poked", "ignored"
	// (authenticated, but not a type or org we sync), "unauthorized",
	// "bad_request" (wrong method, over the limit, unparsable) or "error"
	// (Poke panicked).
	Observe func(outcome string)
}

// Init checks the configuration and fills defaults; call it once after
// setting the fields.
func (h *WebhookHandler) Init() error {
	if h.Secret == "" {
		return errors.New("dataverse webhook: no secret (CRMBOT_WEBHOOK_SECRET)")
	}
	if h.HeaderName != "" && !httpguts.ValidHeaderFieldName(h.HeaderName) {
		return fmt.Errorf("dataverse webhook: header name %q is not an HTTP token (CRMBOT_WEBHOOK_HEADER)", h.HeaderName)
	}
	if h.Poke == nil {
		return errors.New("dataverse webhook: no Poke function")
	}
	if h.MaxBody < 0 {
		return errors.New("dataverse webhook: negative MaxBody")
	}
	if h.MaxBody == 0 {
		h.MaxBody = webhookDefaultMaxBody
	}
	if h.Logger == nil {
		h.Logger = slog.Default()
	}
	return nil
}

// webhookContext is the part of a RemoteExecutionContext the receiver reads;
// every other field is ignored.
type webhookContext struct {
	MessageName       string  `json:"MessageName"`
	PrimaryEntityName *string `json:"PrimaryEntityName"`
	PrimaryEntityID   string  `json:"PrimaryEntityId"`
	OrganizationID    string  `json:"OrganizationId"`
}

// ServeHTTP authenticates the request, reads its RemoteExecutionContext and
// pokes the poller of that record type.
func (h *WebhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	log := h.Logger
	if log == nil {
		log = slog.Default()
	}
	// Never r.URL (its query carries the WebhookKey): the path only.
	log = log.With("path", r.URL.Path, "remote", r.RemoteAddr)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.webhookFail(w, r, log, http.StatusMethodNotAllowed, "bad_request", "method not allowed", "method", webhookClean(r.Method, 16))
		return
	}
	if !h.webhookAuthorized(r) {
		h.webhookFail(w, r, log, http.StatusUnauthorized, "unauthorized", "unauthorized request")
		return
	}
	max := h.MaxBody
	if max <= 0 {
		max = webhookDefaultMaxBody
	}
	if r.ContentLength > max {
		h.webhookFail(w, r, log, http.StatusRequestEntityTooLarge, "bad_request", "body over the limit", "limit", max)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.webhookFail(w, r, log, http.StatusRequestEntityTooLarge, "bad_request", "body over the limit", "limit", max)
			return
		}
		h.webhookFail(w, r, log, http.StatusBadRequest, "bad_request", "body not read")
		return
	}
	var rec webhookContext
	if err := json.Unmarshal(body, &rec); err != nil {
		// Not the error text: it may quote the body.
		h.webhookFail(w, r, log, http.StatusBadRequest, "bad_request", "body is not a RemoteExecutionContext")
		return
	}
	if rec.PrimaryEntityName == nil || !webhookIsLogicalName(strings.ToLower(*rec.PrimaryEntityName)) {
		h.webhookFail(w, r, log, http.StatusBadRequest, "bad_request", "no valid PrimaryEntityName")
		return
	}
	recordType := strings.ToLower(*rec.PrimaryEntityName)
	org := strings.ToLower(strings.TrimSpace(rec.OrganizationID))
	if org != "" && !crm.IsGUID(org) {
		h.webhookFail(w, r, log, http.StatusBadRequest, "bad_request", "OrganizationId is not a GUID")
		return
	}
	attrs := []any{"org", org, "entity", recordType, "message", webhookClean(rec.MessageName, 64)}
	if id := strings.ToLower(rec.PrimaryEntityID); crm.IsGUID(id) {
		attrs = append(attrs, "id", id)
	}
	if c := r.Header.Get("x-ms-correlation-request-id"); c != "" {
		attrs = append(attrs, "correlation", webhookClean(c, 64))
	}
	if r.Header.Get("x-ms-dynamics-msg-size-exceeded") != "" {
		// Over 256 KB Dataverse drops the images and input parameters; the
		// poke needs neither.
		attrs = append(attrs, "size_exceeded", true)
	}
	log = log.With(attrs...)

	poked, panicked := h.webhookPoke(log, org, recordType)
	switch {
	case panicked:
		h.webhookFail(w, r, log, http.StatusInternalServerError, "error", "poke failed")
		return
	case poked:
		h.webhookObserve("poked")
		log.DebugContext(r.Context(), "dataverse webhook: poller poked")
	default:
		h.webhookObserve("ignored")
		log.InfoContext(r.Context(), "dataverse webhook: not a record type or org we sync")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, "{}")
}

// webhookAuthorized checks the one configured method in constant time.
func (h *WebhookHandler) webhookAuthorized(r *http.Request) bool {
	if h.Secret == "" {
		return false
	}
	query := r.URL.Query()
	var got []string
	if h.HeaderName != "" {
		if query.Has("code") {
			return false // the secret in a URL: refused, not just ignored
		}
		got = r.Header.Values(h.HeaderName)
	} else {
		got = query["code"]
	}
	if len(got) != 1 {
		return false
	}
	// Hashing both sides first makes the comparison independent of the lengths.
	a, b := sha256.Sum256([]byte(got[0])), sha256.Sum256([]byte(h.Secret))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// webhookPoke calls Poke, turning a panic into a 500 rather than a dropped
// connection (which a proxy could turn into a retried 502).
func (h *WebhookHandler) webhookPoke(log *slog.Logger, org, recordType string) (poked, panicked bool) {
	if h.Poke == nil {
		return false, false
	}
	defer func() {
		if p := recover(); p != nil {
			log.Error("dataverse webhook: Poke panicked", "panic", fmt.Sprint(p))
			poked, panicked = false, true
		}
	}()
	return h.Poke(org, recordType), false
}

func (h *WebhookHandler) webhookFail(w http.ResponseWriter, r *http.Request, log *slog.Logger, status int, outcome, msg string, args ...any) {
	h.webhookObserve(outcome)
	level := slog.LevelInfo
	if status == http.StatusUnauthorized {
		level = slog.LevelWarn
	} else if status >= 500 {
		level = slog.LevelError
	}
	log.Log(r.Context(), level, "dataverse webhook: "+msg, append(args, "status", status)...)
	// No detail in the answer.
	w.WriteHeader(status)
}

func (h *WebhookHandler) webhookObserve(outcome string) {
	if h.Observe != nil {
		h.Observe(outcome)
	}
}

// webhookIsLogicalName: a Dataverse logical name, lowercase letters, digits
// and underscores, starting with a letter.
func webhookIsLogicalName(s string) bool {
	if s == "" || len(s) > 128 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// webhookClean keeps a client-supplied value fit for a log line: printable
// ASCII only, at most n bytes.
func webhookClean(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}
