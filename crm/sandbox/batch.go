package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"sort"
	"strings"

	"github.com/google/uuid"
)

// $batch (OData multipart/mixed): requests outside change sets run one by one
// (stopping at the first failure unless Prefer: odata.continue-on-error);
// a change set runs in one transaction under the org's write lock and is rolled
// back as a whole — records, change log and version — when any of its requests
// fails, answering that failure alone. Content-ID values can be referenced as
// $n in later URLs of the change set and in @odata.bind values.

const maxBatchRequests = 1000

// batchItem is one top-level part: a request or a change set of requests.
type batchItem struct {
	req       *batchRequest
	changeSet []*batchRequest
}

type batchRequest struct {
	method    string
	target    string
	header    http.Header
	body      []byte
	contentID string
}

// recorder captures an inner response.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (rc *recorder) Header() http.Header { return rc.header }
func (rc *recorder) WriteHeader(s int) {
	if rc.status == 0 {
		rc.status = s
	}
}
func (rc *recorder) Write(b []byte) (int, error) {
	if rc.status == 0 {
		rc.status = http.StatusOK
	}
	return rc.body.Write(b)
}

func (o *org) serveBatch(ar *apiRequest) error {
	mediaType, params, err := mime.ParseMediaType(ar.r.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/mixed" || params["boundary"] == "" {
		return badRequest("The $batch request must have a multipart/mixed Content-Type with a boundary.")
	}
	body, err := readBody(ar.r, maxBatchBodyBytes)
	if err != nil {
		return err
	}
	items, err := parseBatch(body, params["boundary"])
	if err != nil {
		return err
	}
	boundary := "batchresponse_" + uuid.NewString()
	var out bytes.Buffer
	failStatus := 0 // status of the first failing request
	for _, it := range items {
		out.WriteString("--" + boundary + "\r\n")
		status := 0
		if it.req != nil {
			rc := o.runBatchRequest(ar, ar.ctx(), it.req, nil)
			writeHTTPPart(&out, rc, "")
			status = rc.status
		} else {
			status = o.runChangeSet(ar, it.changeSet, &out)
		}
		if status >= 400 && failStatus == 0 {
			failStatus = status
		}
		if failStatus != 0 && !ar.prefer.continueOnError {
			break
		}
	}
	out.WriteString("--" + boundary + "--\r\n")
	// Dataverse ("Handling errors" in the $batch docs): without
	// Prefer: odata.continue-on-error, processing stops at the first failing
	// request and the batch itself answers that request's error status, its
	// body still the multipart response ending with the failing part; with the
	// preference, 200 and every response.
	batchStatus := http.StatusOK
	if failStatus != 0 && !ar.prefer.continueOnError {
		batchStatus = failStatus
	}
	ar.w.Header().Set("Content-Type", "multipart/mixed; boundary="+boundary)
	ar.w.WriteHeader(batchStatus)
	_, _ = ar.w.Write(out.Bytes())
	return nil
}

// runChangeSet executes a change set atomically and writes its response part;
// it returns the status of the failing request (0 when the change set committed).
func (o *org) runChangeSet(ar *apiRequest, reqs []*batchRequest, out *bytes.Buffer) int {
	t := o.begin(ar.as)
	ctx := context.WithValue(ar.ctx(), txKey{}, t)
	refs := map[string]string{}
	var responses []*recorder
	for _, br := range reqs {
		rc := o.runBatchRequest(ar, ctx, br, refs)
		if rc.status >= 400 {
			t.rollback()
			writeHTTPPart(out, rc, br.contentID)
			return rc.status
		}
		if br.contentID != "" {
			if loc := rc.header.Get("OData-EntityId"); loc != "" {
				refs[br.contentID] = loc
			}
		}
		responses = append(responses, rc)
	}
	t.commit()
	cs := "changesetresponse_" + uuid.NewString()
	out.WriteString("Content-Type: multipart/mixed; boundary=" + cs + "\r\n\r\n")
	for i, rc := range responses {
		out.WriteString("--" + cs + "\r\n")
		writeHTTPPart(out, rc, reqs[i].contentID)
	}
	out.WriteString("--" + cs + "--\r\n")
	return 0
}

// runBatchRequest routes one inner request as the batch's principal.
func (o *org) runBatchRequest(ar *apiRequest, ctx context.Context, br *batchRequest, refs map[string]string) *recorder {
	rc := &recorder{header: http.Header{}}
	target, err := resolveTargetRef(br.target, refs)
	if err != nil {
		writeError(rc, asAPIError(err))
		return rc
	}
	body, err := resolveBodyRefs(br.body, refs)
	if err != nil {
		writeError(rc, asAPIError(err))
		return rc
	}
	u, err := resolveBatchURL(ar.base, target)
	if err != nil {
		writeError(rc, asAPIError(err))
		return rc
	}
	r, err := http.NewRequestWithContext(context.WithValue(ctx, batchBaseKey{}, ar.base), br.method, u.String(), bytes.NewReader(body))
	if err != nil {
		writeError(rc, badRequest("Invalid request in $batch: %s", err))
		return rc
	}
	r.Header = br.header
	r.Host = ar.r.Host
	r.TLS = ar.r.TLS
	if strings.HasPrefix(strings.TrimPrefix(u.Path, APIPath), "$batch") {
		writeError(rc, badRequest("A $batch request cannot contain another $batch request."))
		return rc
	}
	func() {
		defer func() {
			if v := recover(); v != nil {
				writeError(rc, errf(http.StatusInternalServerError, codeUnexpected, "An unexpected error occurred."))
			}
		}()
		o.serveAPI(rc, r, ar.as)
	}()
	if rc.status == 0 {
		rc.status = http.StatusOK
	}
	// Inside a batch Dataverse sends Location beside OData-EntityId (the
	// docs' batch responses); outside one it sends OData-EntityId alone.
	if loc := rc.header.Get("OData-EntityId"); loc != "" && rc.header.Get("Location") == "" {
		rc.header.Set("Location", loc)
	}
	return rc
}

// contentIDRef splits a "$<Content-ID>" reference ("$1", "$1/lastname") into
// the id and the rest; ok is false for anything else, including the service's
// own $metadata and $batch.
func contentIDRef(s string) (id, rest string, ok bool) {
	if !strings.HasPrefix(s, "$") {
		return "", "", false
	}
	end := strings.IndexAny(s, "/?")
	if end < 0 {
		end = len(s)
	}
	id = s[1:end]
	if id == "" || id == "metadata" || id == "batch" {
		return "", "", false
	}
	return id, s[end:], true
}

func unknownContentID(id string) error {
	return badRequest("Content-ID Reference: '$%s' does not exist in the batch context.", truncate(id, 40))
}

// resolveTargetRef replaces a leading $<Content-ID> of a request URL with the
// URI of the entity that request created (earlier in the same change set).
func resolveTargetRef(target string, refs map[string]string) (string, error) {
	id, rest, ok := contentIDRef(target)
	if !ok {
		return target, nil
	}
	loc, known := refs[id]
	if !known {
		return "", unknownContentID(id)
	}
	return loc + rest, nil
}

// resolveBodyRefs replaces $<Content-ID> values of @odata.bind and @odata.id
// annotations, at any depth (action parameters nest them), with the entity's
// URI. A body that isn't JSON is left for the handler to reject.
func resolveBodyRefs(body []byte, refs map[string]string) ([]byte, error) {
	if !bytes.Contains(body, []byte(`"$`)) {
		return body, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return body, nil
	}
	changed := false
	var walk func(v any) error
	walk = func(v any) error {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, isStr := e.(string); isStr && (strings.HasSuffix(k, "@odata.bind") || k == "@odata.id") {
					id, rest, ok := contentIDRef(s)
					if !ok {
						continue
					}
					loc, known := refs[id]
					if !known {
						return unknownContentID(id)
					}
					x[k] = loc + rest
					changed = true
					continue
				}
				if err := walk(e); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range x {
				if err := walk(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(v); err != nil {
		return nil, err
	}
	if !changed {
		return body, nil
	}
	return json.Marshal(v)
}

// resolveBatchURL accepts absolute URLs, absolute paths and paths relative to the service root.
func resolveBatchURL(base, target string) (*url.URL, error) {
	b, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	t, err := url.Parse(target)
	if err != nil {
		return nil, badRequest("The URL '%s' in the $batch request is not valid.", truncate(target, 80))
	}
	u := b.ResolveReference(t)
	if !strings.HasPrefix(u.Path, APIPath) {
		return nil, notFoundSegment(strings.TrimPrefix(u.Path, "/"))
	}
	return u, nil
}

// parseBatch reads the top-level parts of a $batch body.
func parseBatch(body []byte, boundary string) ([]batchItem, error) {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var items []batchItem
	count := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, badRequest("The $batch body is not valid multipart/mixed: %s", err)
		}
		mt, params, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if err != nil {
			return nil, badRequest("A $batch part has an invalid Content-Type.")
		}
		switch {
		case mt == "multipart/mixed":
			inner, err := io.ReadAll(io.LimitReader(p, maxBatchBodyBytes))
			if err != nil {
				return nil, badRequest("The $batch change set could not be read.")
			}
			var cs []*batchRequest
			cr := multipart.NewReader(bytes.NewReader(inner), params["boundary"])
			for {
				cp, err := cr.NextPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					return nil, badRequest("The $batch change set is not valid multipart/mixed: %s", err)
				}
				br, err := readBatchRequest(cp)
				if err != nil {
					return nil, err
				}
				if br.method == http.MethodGet {
					return nil, badRequest("A change set cannot contain a GET request.")
				}
				cs = append(cs, br)
			}
			count += len(cs)
			items = append(items, batchItem{changeSet: cs})
		case mt == "application/http":
			br, err := readBatchRequest(p)
			if err != nil {
				return nil, err
			}
			count++
			items = append(items, batchItem{req: br})
		default:
			return nil, badRequest("A $batch part must be application/http or multipart/mixed, not %s.", mt)
		}
		if count > maxBatchRequests {
			return nil, badRequest("The number of requests in the batch exceeds the limit of %d.", maxBatchRequests)
		}
	}
	if len(items) == 0 {
		return nil, badRequest("The $batch request contains no requests.")
	}
	return items, nil
}

// readBatchRequest parses "METHOD URL HTTP/1.1", headers, blank line, body.
func readBatchRequest(p *multipart.Part) (*batchRequest, error) {
	contentID := p.Header.Get("Content-ID")
	raw, err := io.ReadAll(io.LimitReader(p, maxBatchBodyBytes))
	if err != nil {
		return nil, badRequest("A $batch part could not be read.")
	}
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(raw)))
	line, err := tp.ReadLine()
	for err == nil && strings.TrimSpace(line) == "" {
		line, err = tp.ReadLine()
	}
	if err != nil {
		return nil, badRequest("A $batch part has no request line.")
	}
	fields := strings.Fields(line)
	if len(fields) < 2 || len(fields) > 3 {
		return nil, badRequest("A $batch part has an invalid request line: '%s'.", truncate(line, 80))
	}
	hdr, err := tp.ReadMIMEHeader()
	if err != nil && err != io.EOF {
		return nil, badRequest("A $batch part has invalid headers.")
	}
	rest, _ := io.ReadAll(tp.R)
	rest = bytes.TrimRight(rest, "\r\n")
	if id := hdr.Get("Content-ID"); id != "" {
		contentID = id
	}
	method := strings.ToUpper(fields[0])
	switch method {
	case http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodPut:
	default:
		return nil, badRequest("The method '%s' is not supported in a $batch request.", truncate(method, 20))
	}
	return &batchRequest{method: method, target: fields[1], header: http.Header(hdr), body: rest, contentID: contentID}, nil
}

// dataverseHeaderNames spell the headers of a batch part as Dataverse does
// (http.Header canonicalises "OData-Version" to "Odata-Version"): a client
// parsing the part itself may match them case-sensitively.
var dataverseHeaderNames = map[string]string{
	"Odata-Version":  "OData-Version",
	"Odata-Entityid": "OData-EntityId",
	"Etag":           "ETag",
}

// writeHTTPPart writes one application/http response part.
func writeHTTPPart(out *bytes.Buffer, rc *recorder, contentID string) {
	out.WriteString("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n")
	if contentID != "" {
		out.WriteString("Content-ID: " + contentID + "\r\n")
	}
	out.WriteString("\r\n")
	fmt.Fprintf(out, "HTTP/1.1 %d %s\r\n", rc.status, http.StatusText(rc.status))
	keys := make([]string, 0, len(rc.header))
	for k := range rc.header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name := k
		if dv, ok := dataverseHeaderNames[k]; ok {
			name = dv
		}
		for _, v := range rc.header[k] {
			out.WriteString(name + ": " + v + "\r\n")
		}
	}
	out.WriteString("\r\n")
	out.Write(rc.body.Bytes())
	out.WriteString("\r\n")
}
