package crm

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinels matched with errors.Is; each typed error below is also one of these.
var (
	// ErrNotFound matches *NotFoundError; ErrConflict *ConflictError, and so on.
	ErrNotFound     = errors.New("crm: record not found")
	ErrConflict     = errors.New("crm: record changed since it was read")
	ErrValidation   = errors.New("crm: request rejected by Dataverse")
	ErrUnauthorized = errors.New("crm: not authenticated")
	ErrForbidden    = errors.New("crm: access denied")
	ErrThrottled    = errors.New("crm: throttled by Dataverse service protection")
	ErrExpiredDelta = errors.New("crm: change-tracking token expired")
)

// CodeExpiredVersion is the Dataverse error code of an expired change-tracking
// token ("Version stamp associated with the client has expired").
const CodeExpiredVersion = "0x80044352"

// APIError is a Dataverse Web API error response: the HTTP status, the
// {"error":{"code","message"}} body and the service request id. Every typed
// error of this package embeds it; errors.As(err, new(*APIError)) matches them all.
type APIError struct {
	StatusCode int
	Code       string
	Message    string
	// RequestID is the x-ms-service-request-id header, to quote to Microsoft support.
	RequestID string
}

// Error is "dataverse: <status> (<code>): <message>".
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("dataverse: ")
	if e.StatusCode != 0 {
		b.WriteString(strconv.Itoa(e.StatusCode))
		b.WriteString(" ")
		b.WriteString(http.StatusText(e.StatusCode))
	}
	if e.Code != "" {
		b.WriteString(" (" + e.Code + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// NotFoundError is a 404: the record (or entity set) does not exist.
type NotFoundError struct{ APIError }

// ConflictError is a 412: the ETag sent with If-Match is stale, or the record
// already exists for If-None-Match: *.
type ConflictError struct{ APIError }

// ValidationError is a 400: Dataverse rejected the request; Message keeps its reason.
type ValidationError struct{ APIError }

// UnauthorizedError is a 401: the token is missing, expired or not for this org.
type UnauthorizedError struct{ APIError }

// ForbiddenError is a 403: the principal lacks the privilege (Dataverse security roles).
type ForbiddenError struct{ APIError }

// ThrottledError is a 429 (service protection limit) or a request refused
// locally because the principal is paused for longer than the context allows.
type ThrottledError struct {
	APIError
	// RetryAfter is how long to wait before the principal may call again.
	RetryAfter time.Duration
}

// ExpiredDeltaError is a change-tracking token older than the org's
// expirechangetrackingindays (code 0x80044352): re-baseline.
type ExpiredDeltaError struct{ APIError }

// Error describes the throttling and the wait.
func (e *ThrottledError) Error() string {
	return fmt.Sprintf("%s (retry after %s)", e.APIError.Error(), e.RetryAfter)
}

// Unwrap exposes the embedded APIError to errors.As.
func (e *NotFoundError) Unwrap() error { return &e.APIError }

// Unwrap exposes the embedded APIError to errors.As.
func (e *ConflictError) Unwrap() error { return &e.APIError }

// Unwrap exposes the embedded APIError to errors.As.
func (e *ValidationError) Unwrap() error { return &e.APIError }

// Unwrap exposes the embedded APIError to errors.As.
func (e *UnauthorizedError) Unwrap() error { return &e.APIError }

// Unwrap exposes the embedded APIError to errors.As.
func (e *ForbiddenError) Unwrap() error { return &e.APIError }

// Unwrap exposes the embedded APIError to errors.As.
func (e *ThrottledError) Unwrap() error { return &e.APIError }

// Unwrap exposes the embedded APIError to errors.As.
func (e *ExpiredDeltaError) Unwrap() error { return &e.APIError }

// Is matches ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// Is matches ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Is matches ErrValidation.
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

// Is matches ErrUnauthorized.
func (e *UnauthorizedError) Is(target error) bool { return target == ErrUnauthorized }

// Is matches ErrForbidden.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

// Is matches ErrThrottled.
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

// Is matches ErrExpiredDelta.
func (e *ExpiredDeltaError) Is(target error) bool { return target == ErrExpiredDelta }

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 1 << 20

// errorFromResponse builds the typed error for a non-2xx response from its
// status, headers and (already read) body.
func errorFromResponse(status int, h http.Header, body []byte) error {
	ae := APIError{StatusCode: status, RequestID: h.Get("x-ms-service-request-id")}
	if ae.RequestID == "" {
		ae.RequestID = h.Get("REQ_ID")
	}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &env) == nil {
		ae.Code, ae.Message = env.Error.Code, env.Error.Message
	}
	if ae.Message == "" && ae.Code == "" {
		// Not Dataverse's JSON (a gateway page, text): keep a short excerpt.
		ae.Message = strings.TrimSpace(string(body[:min(len(body), 200)]))
	}
	if ae.Code == CodeExpiredVersion {
		return &ExpiredDeltaError{ae}
	}
	switch status {
	case http.StatusNotFound:
		return &NotFoundError{ae}
	case http.StatusPreconditionFailed:
		return &ConflictError{ae}
	case http.StatusBadRequest:
		return &ValidationError{ae}
	case http.StatusUnauthorized:
		return &UnauthorizedError{ae}
	case http.StatusForbidden:
		return &ForbiddenError{ae}
	case http.StatusTooManyRequests:
		return &ThrottledError{APIError: ae, RetryAfter: parseRetryAfter(h.Get("Retry-After"))}
	}
	return &ae
}

// parseRetryAfter reads Retry-After as seconds (what Dataverse sends) or an
// HTTP date; missing or unreadable → 0.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}
