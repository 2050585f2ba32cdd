package sandbox

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
)

// oauthError is an OAuth 2.0 error as Entra reports it: an RFC 6749 error code
// plus an AADSTS number and sentence. AADSTS numbers are the ones Entra uses for
// the same situation; the sentences are Entra's where we know them, and say
// "sandbox" where the sandbox is stricter than Entra.
type oauthError struct {
	status  int    // HTTP status at the token endpoint: 400, 401 for invalid_client
	code    string // invalid_request, invalid_grant, invalid_client, ...
	aadsts  int
	message string // must never contain a token, code or secret
}

func (e *oauthError) Error() string { return e.code + ": " + e.description() }

// description is the error_description without Entra's trailing trace lines.
func (e *oauthError) description() string { return fmt.Sprintf("AADSTS%d: %s", e.aadsts, e.message) }

// newOAuthError builds a 400 error; callers set status for the few that differ.
func newOAuthError(code string, aadsts int, format string, args ...any) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: code, aadsts: aadsts, message: fmt.Sprintf(format, args...)}
}

// authMissingParam is Entra's error for an absent required parameter.
func authMissingParam(name string) *oauthError {
	return newOAuthError("invalid_request", 900144, "The request body must contain the following parameter: '%s'.", name)
}

// authUnknownTenant is Entra's error for a tenant segment it doesn't know.
func authUnknownTenant(tenant string) *oauthError {
	return newOAuthError("invalid_request", 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant)
}

// authDuplicateParams rejects a request that repeats any parameter (RFC 6749
// §3.1: parameters MUST NOT be included more than once), so no two readers can
// disagree about which redirect_uri or code was meant.
func authDuplicateParams(v url.Values) *oauthError {
	for name, values := range v {
		if len(values) > 1 {
			return newOAuthError("invalid_request", 9000411, "The request is not properly formatted. The parameter '%s' is duplicated.", name)
		}
	}
	return nil
}

// authTrace identifies one response the way Entra does: a trace id, and the
// caller's client-request-id (when it is a UUID) as correlation id.
type authTrace struct {
	traceID, correlationID, timestamp string
}

// newTrace starts the trace of one response.
func (a *authServer) newTrace(r *http.Request) authTrace {
	correlation := r.Header.Get("client-request-id")
	if _, err := uuid.Parse(correlation); err != nil {
		correlation = uuid.NewString()
	}
	return authTrace{
		traceID:       uuid.NewString(),
		correlationID: correlation,
		timestamp:     a.now().UTC().Format("2006-01-02 15:04:05Z"),
	}
}

// setIDs adds Entra's request-id headers.
func (t authTrace) setIDs(w http.ResponseWriter) {
	w.Header().Set("client-request-id", t.correlationID)
	w.Header().Set("x-ms-request-id", t.traceID)
}

// setHeaders adds the request-id headers and forbids caching, as every
// response carrying a token or an error must.
func (t authTrace) setHeaders(w http.ResponseWriter) {
	t.setIDs(w)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// oauthErrorBody is the JSON error body of Entra's token and discovery endpoints.
type oauthErrorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	Timestamp        string `json:"timestamp"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
}

// writeOAuthError writes e as Entra's JSON error, with e.status.
func (a *authServer) writeOAuthError(w http.ResponseWriter, t authTrace, e *oauthError) {
	t.setHeaders(w)
	authWriteJSON(w, e.status, oauthErrorBody{
		Error: e.code,
		ErrorDescription: e.description() + "\r\nTrace ID: " + t.traceID + "\r\nCorrelation ID: " + t.correlationID +
			"\r\nTimestamp: " + t.timestamp,
		ErrorCodes:    []int{e.aadsts},
		Timestamp:     t.timestamp,
		TraceID:       t.traceID,
		CorrelationID: t.correlationID,
	})
}

// authWriteJSON writes v as the JSON response body; the caller has set the other headers.
func authWriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// authErrorAfterRedirect sends an authorize error to the (already validated)
// redirect URI, as Entra does once it trusts that URI.
func authErrorAfterRedirect(w http.ResponseWriter, r *http.Request, redirectURI, state string, e *oauthError) {
	v := url.Values{"error": {e.code}, "error_description": {e.description()}}
	if state != "" {
		v.Set("state", state)
	}
	authRedirect(w, r, redirectURI, v)
}

// authRedirect sends the browser to redirectURI with params added to its query.
func authRedirect(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values) {
	u, err := url.Parse(redirectURI) // registered URIs were parsed when checked; cannot fail here
	if err != nil {
		http.Error(w, "invalid redirect URI", http.StatusInternalServerError)
		return
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// authTimeFormat is how error sentences print instants.
func authTimeFormat(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
