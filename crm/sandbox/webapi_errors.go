package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/crmbot/crmbot/crm/internal/odata"
)

// apiError is a Dataverse Web API error: an HTTP status plus the OData error body.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Dataverse error codes the sandbox answers with.
const (
	codeResourceNotFound = "0x8006088a" // unknown segment
	codePropertyNotFound = "0x80060888" // unknown property
	codeRecordNotFound   = "0x80040217" // ObjectDoesNotExist
	codeDuplicateRecord  = "0x80040237" // DuplicateRecord
	codeVersionMismatch  = "0x80060882" // ConcurrencyVersionMismatch
	codePrivilegeDenied  = "0x80040220" // missing privilege
	codeInvalidArgument  = "0x80040203" // InvalidArgument
	codeInvalidState     = "0x80048408" // invalid statecode/statuscode pair
	codeBadRequest       = "0x80060891" // malformed request / unsupported query option
	codeThrottled        = "0x80072322" // service protection: number of requests
	codeExpiredVersion   = "0x80044352" // change tracking token expired
	codeTrackingDisabled = "0x80044351" // change tracking not enabled
	codeReadOnlyRecord   = "0x80043b09" // closed record can't be updated
	codeUnexpected       = "0x80040216" // unexpected error
	codeNotImplemented   = "0x80060889" // not implemented
	codeRequestTooLarge  = "0x8006088d" // body too large
	codeMethodNotAllowed = "0x80060887" // method not allowed on this resource
	codeInvalidJSON      = "0x80040333" // payload cannot be read
	codeAlreadyClosed    = "0x80040225" // action on a closed record
)

func notFoundSegment(seg string) *apiError {
	return errf(http.StatusNotFound, codeResourceNotFound, "Resource not found for the segment '%s'.", seg)
}

func unknownProperty(prop, typ string) *apiError {
	return queryError(odata.UnknownProperty(prop, typ))
}

// queryError answers a query error from crm/internal/odata (an *odata.Error:
// syntax, binding, unsupported option) as Dataverse does, with a 400.
func queryError(err error) *apiError {
	var qe *odata.Error
	if !errors.As(err, &qe) {
		return badRequest("%s", err.Error())
	}
	return &apiError{Status: http.StatusBadRequest, Code: qe.Code, Message: qe.Message}
}

func recordNotFound(entity, id string) *apiError {
	return errf(http.StatusNotFound, codeRecordNotFound, "%s With Id = %s Does Not Exist", entity, id)
}

func badRequest(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, codeBadRequest, format, args...)
}

// writeError answers an error in the Dataverse JSON shape.
func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h.Set("Content-Type", "application/json; odata.metadata=minimal; charset=utf-8")
	h.Set("OData-Version", "4.0")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": e.Code, "message": e.Message}})
}

// asAPIError turns any error into an apiError (unknown errors are 500s).
func asAPIError(err error) *apiError {
	if ae, ok := err.(*apiError); ok {
		return ae
	}
	return errf(http.StatusInternalServerError, codeUnexpected, "An unexpected error occurred.")
}
