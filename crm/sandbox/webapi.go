package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"
)

// Body size limits: Dataverse rejects larger requests with 413.
const (
	maxBodyBytes      = 8 << 20
	maxBatchBodyBytes = 32 << 20
)

// jsonContentType is the Content-Type Dataverse sends with JSON bodies.
const jsonContentType = "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"

// batchBaseKey carries the $batch request's Web API base URL to its parts.
type batchBaseKey struct{}

// register mounts the Web API under /api/data/v9.2/.
func (o *org) register(mux *http.ServeMux, authenticate func(*http.Request) (Principal, error)) {
	mux.HandleFunc(APIPath, func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				o.opts.Logger.Error("sandbox: panic serving Web API", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeError(w, errf(http.StatusInternalServerError, codeUnexpected, "An unexpected error occurred."))
			}
		}()
		if o.faults.apply(w, r) {
			return
		}
		p, err := authenticate(r)
		if err != nil {
			o.unauthorized(w, r)
			return
		}
		o.mu.RLock()
		known := o.principalKnown(p)
		o.mu.RUnlock()
		if !known {
			o.unauthorized(w, r)
			return
		}
		o.serveAPI(w, r, p)
	})
}

// unauthorized answers 401 as Dataverse does (auth_jwt.go: empty body, Bearer challenge).
func (o *org) unauthorized(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("OData-Version", "4.0")
	writeUnauthorizedFor(w, r, o.opts)
}

// apiRequest is one Web API request being served (also one part of a $batch).
type apiRequest struct {
	w      http.ResponseWriter
	r      *http.Request
	as     Principal
	prefer prefer
	base   string // {org}/api/data/v9.2/
}

func (ar *apiRequest) ctx() context.Context { return ar.r.Context() }

// serveAPI routes an authenticated Web API request.
func (o *org) serveAPI(w http.ResponseWriter, r *http.Request, p Principal) {
	w.Header().Set("OData-Version", "4.0")
	// One notion of "the sandbox's URL" for the Web API and the OAuth
	// endpoints (issuer, discovery): authBaseURL. A $batch part inherits the
	// batch's base, as its own headers don't carry X-Forwarded-Proto.
	base, inBatch := r.Context().Value(batchBaseKey{}).(string)
	if !inBatch {
		base = authBaseURL(o.opts, r) + APIPath
	}
	ar := &apiRequest{w: w, r: r, as: p, prefer: parsePrefer(r.Header.Values("Prefer")), base: base}
	if err := o.route(ar); err != nil {
		writeError(w, asAPIError(err))
	}
}

func (o *org) route(ar *apiRequest) error {
	r := ar.r
	rest := strings.TrimPrefix(r.URL.Path, APIPath)
	segs := strings.Split(rest, "/")
	if rest == "" {
		return o.serviceDocument(ar)
	}
	head := segs[0]
	switch {
	case head == "$metadata" && len(segs) == 1:
		return onlyMethods(r, func() error { return o.serveMetadata(ar) }, http.MethodGet)
	case head == "$batch" && len(segs) == 1:
		return onlyMethods(r, func() error { return o.serveBatch(ar) }, http.MethodPost)
	case (head == "WhoAmI" || head == "WhoAmI()") && len(segs) == 1:
		return onlyMethods(r, func() error { return o.whoAmI(ar) }, http.MethodGet)
	case (head == "CloseIncident" || head == "WinOpportunity" || head == "LoseOpportunity") && len(segs) == 1:
		return onlyMethods(r, func() error { return o.unboundAction(ar, head) }, http.MethodPost)
	case strings.HasPrefix(head, "EntityDefinitions"):
		return onlyMethods(r, func() error { return o.entityDefinitions(ar, head, segs[1:]) }, http.MethodGet)
	}
	set, id, keyed := parseKeySegment(head)
	if !keyed && strings.Contains(head, "(") {
		if _, ok := o.schema.bySet[set]; ok {
			return badRequest("Bad Request - Error in query syntax.")
		}
		return notFoundSegment(head)
	}
	e, ok := o.schema.bySet[set]
	if !ok {
		return notFoundSegment(set)
	}
	switch {
	case !keyed && len(segs) == 1:
		return onlyMethods(r, func() error {
			if r.Method == http.MethodPost {
				return o.createRecord(ar, e)
			}
			return o.listRecords(ar, e)
		}, http.MethodGet, http.MethodPost)
	case !keyed && len(segs) == 2 && segs[1] == "$count":
		return onlyMethods(r, func() error { return o.countRecords(ar, e) }, http.MethodGet)
	case keyed && len(segs) == 1:
		return onlyMethods(r, func() error {
			switch r.Method {
			case http.MethodPatch:
				return o.updateRecord(ar, e, id)
			case http.MethodDelete:
				return o.deleteRecord(ar, e, id)
			}
			return o.getRecord(ar, e, id)
		}, http.MethodGet, http.MethodPatch, http.MethodDelete)
	case keyed && len(segs) == 2 && segs[1] == "Microsoft.Dynamics.CRM.QualifyLead" && e.Name == "lead":
		return onlyMethods(r, func() error { return o.qualifyLead(ar, id) }, http.MethodPost)
	case keyed && (len(segs) == 2 || len(segs) == 3 && segs[2] == "$value"):
		return onlyMethods(r, func() error { return o.getProperty(ar, e, id, segs[1], len(segs) == 3) }, http.MethodGet)
	}
	return notFoundSegment(segs[len(segs)-1])
}

func onlyMethods(r *http.Request, fn func() error, methods ...string) error {
	for _, m := range methods {
		if r.Method == m {
			return fn()
		}
	}
	return errf(http.StatusMethodNotAllowed, codeMethodNotAllowed, "The requested resource does not support http method '%s'.", r.Method)
}

// readBody reads a request body within limit (413 beyond).
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errf(http.StatusRequestEntityTooLarge, codeRequestTooLarge, "The request body is too large.")
		}
		return nil, badRequest("The request body could not be read.")
	}
	if int64(len(b)) > limit {
		return nil, errf(http.StatusRequestEntityTooLarge, codeRequestTooLarge,
			"The request body exceeds the maximum allowed size of %d bytes.", limit)
	}
	return b, nil
}

// writeJSON answers a JSON body with Dataverse's headers.
func (ar *apiRequest) writeJSON(status int, body []byte) {
	h := ar.w.Header()
	h.Set("Content-Type", jsonContentType)
	if applied := ar.prefer.applied(); applied != "" {
		h.Set("Preference-Applied", applied)
	}
	ar.w.WriteHeader(status)
	_, _ = ar.w.Write(body)
}

// serviceDocument answers GET /api/data/v9.2/ with the entity sets.
func (o *org) serviceDocument(ar *apiRequest) error {
	var ob object
	ob.field("@odata.context", ar.base+"$metadata")
	var items []map[string]string
	for _, set := range sortedKeys(o.schema.bySet) {
		items = append(items, map[string]string{"name": set, "kind": "EntitySet", "url": set})
	}
	ob.field("value", items)
	ar.writeJSON(http.StatusOK, ob.bytes())
	return nil
}
