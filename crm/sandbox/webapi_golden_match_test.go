package sandbox

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// goldenDocumented is the hand-written, documented part of a golden step:
// only what the cited source states. It is checked against the raw answer
// (nothing normalised) and never rewritten by -update.
//
//	"documented": {
//	  "source":  "create-entity-web-api.md § Basic Create",   // page and section, or dataverse.md:<line>
//	  "status":  204,                                        // or "4xx" when the source says only "rejected"
//	  "headers": {"OData-Version": "4.0", "OData-EntityId": {"like": "{base}/api/data/v9.2/accounts(<guid>)"}},
//	  "body":    {"/error/message": "…", "/value": {"len": 3}, "/value/-1/reason": "deleted"},
//	  "note":    "what the source leaves open (optional)"
//	}
//
// headers: names are case-insensitive; several values are joined with ", ".
// body: keys are JSON pointers (RFC 6901; "~1" is "/") into the decoded body;
// an array index may be negative (-1 is the last element); "" is the whole
// body (a text/plain body is a string). A multipart ($batch) answer decodes
// to {"parts":[{"headers":{…},"status":204,"responseHeaders":{…},"body":…}]},
// a change set to {"headers":{…},"parts":[…]}; header names there are
// case-insensitive too.
//
// A matcher is either a JSON value (equal; "{var}" in strings is expanded)
// or an object with one operator:
//
//	{"like": "pattern"}   the whole string matches the pattern, where <guid>, <digits>,
//	                      <token> (a URL token: no & " or space), … (anything), {base}
//	                      (the org URL) and {var} (a golden var) are placeholders and
//	                      everything else is literal
//	{"present": true}     exists (any value)
//	{"absent": true}      does not exist
//	{"len": n}            an array (or object) of n elements
//	{"not": value}        exists and differs from value (e.g. an update that must not happen)
type goldenDocumented struct {
	Source  string                     `json:"source"`
	Status  json.RawMessage            `json:"status"`
	Headers map[string]json.RawMessage `json:"headers,omitempty"`
	Body    map[string]json.RawMessage `json:"body,omitempty"`
	Note    string                     `json:"note,omitempty"`
}

// goldenMatcher is one parsed matcher.
type goldenMatcher struct {
	exact   any
	like    *string
	present bool
	absent  bool
	length  *int
	not     any
	hasNot  bool
}

func parseGoldenMatcher(raw json.RawMessage) (goldenMatcher, error) {
	var m goldenMatcher
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		if err := json.Unmarshal(raw, &m.exact); err != nil {
			return m, fmt.Errorf("matcher %s: %w", raw, err)
		}
		return m, nil
	}
	var ops map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ops); err != nil {
		return m, fmt.Errorf("matcher %s: %w", raw, err)
	}
	bad := fmt.Errorf("matcher %s: want one of like, present:true, absent:true, len, not", raw)
	if len(ops) != 1 {
		return m, bad
	}
	for op, arg := range ops {
		var err error
		switch op {
		case "like":
			err = json.Unmarshal(arg, &m.like)
		case "len":
			err = json.Unmarshal(arg, &m.length)
		case "present":
			err = json.Unmarshal(arg, &m.present)
			if !m.present {
				return m, bad
			}
		case "absent":
			err = json.Unmarshal(arg, &m.absent)
			if !m.absent {
				return m, bad
			}
		case "not":
			m.hasNot = true
			err = json.Unmarshal(arg, &m.not)
		default:
			return m, bad
		}
		if err != nil || (op == "like" && m.like == nil) || (op == "len" && m.length == nil) {
			return m, fmt.Errorf("matcher %s: bad argument: %v", raw, err)
		}
	}
	return m, nil
}

// validate parses every matcher, so a malformed case fails before it runs.
func (d *goldenDocumented) validate() error {
	if strings.TrimSpace(d.Source) == "" {
		return errors.New("documented expectations need a source")
	}
	if len(d.Status) == 0 {
		return errors.New("documented expectations need a status")
	}
	if _, err := parseGoldenStatus(d.Status); err != nil {
		return err
	}
	for _, group := range []map[string]json.RawMessage{d.Headers, d.Body} {
		for k, raw := range group {
			if _, err := parseGoldenMatcher(raw); err != nil {
				return fmt.Errorf("%q: %w", k, err)
			}
		}
	}
	for ptr := range d.Body {
		if ptr != "" && !strings.HasPrefix(ptr, "/") {
			return fmt.Errorf("body key %q is not a JSON pointer (\"\" or \"/…\")", ptr)
		}
	}
	return nil
}

// parseGoldenStatus reads 204 or "4xx".
func parseGoldenStatus(raw json.RawMessage) (func(int) bool, error) {
	var n int
	if json.Unmarshal(raw, &n) == nil {
		return func(s int) bool { return s == n }, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && len(s) == 3 && s[0] >= '1' && s[0] <= '5' && s[1:] == "xx" {
		return func(got int) bool { return got/100 == int(s[0]-'0') }, nil
	}
	return nil, fmt.Errorf("status %s: want a number or \"4xx\"", raw)
}

// check tests the answer against every documented expectation, status first.
func (d *goldenDocumented) check(r apiResponse, base string, vars map[string]string) error {
	okStatus, err := parseGoldenStatus(d.Status)
	if err != nil {
		return err
	}
	if !okStatus(r.Status) {
		return fmt.Errorf("status = %d, want %s", r.Status, d.Status)
	}
	for _, name := range sortedRawKeys(d.Headers) {
		m, _ := parseGoldenMatcher(d.Headers[name])
		vals := r.Header.Values(name)
		if err := m.match(strings.Join(vals, ", "), len(vals) > 0, base, vars); err != nil {
			return fmt.Errorf("header %s: %w", name, err)
		}
	}
	if len(d.Body) == 0 {
		return nil
	}
	body, err := decodeGoldenBody(r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		return fmt.Errorf("body: %w", err)
	}
	for _, ptr := range sortedRawKeys(d.Body) {
		m, _ := parseGoldenMatcher(d.Body[ptr])
		v, found := goldenPointer(body, ptr)
		if err := m.match(v, found, base, vars); err != nil {
			return fmt.Errorf("body %q: %w", ptr, err)
		}
	}
	return nil
}

func sortedRawKeys(m map[string]json.RawMessage) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (m goldenMatcher) match(v any, found bool, base string, vars map[string]string) error {
	show := func(v any) string { b, _ := json.Marshal(v); return truncate(string(b), 300) }
	switch {
	case m.absent:
		if found {
			return fmt.Errorf("= %s, want it absent", show(v))
		}
		return nil
	case !found:
		return errors.New("missing")
	case m.present:
		return nil
	case m.length != nil:
		n := -1
		switch x := v.(type) {
		case []any:
			n = len(x)
		case map[string]any:
			n = len(x)
		}
		if n != *m.length {
			return fmt.Errorf("= %s, want %d elements", show(v), *m.length)
		}
		return nil
	case m.hasNot:
		if jsonEqual([]byte(show(expandValue(m.not, vars))), []byte(show(v))) {
			return fmt.Errorf("= %s, want anything else", show(v))
		}
		return nil
	case m.like != nil:
		re, err := goldenPattern(*m.like, base, vars)
		if err != nil {
			return err
		}
		s, ok := v.(string)
		if !ok || !re.MatchString(s) {
			return fmt.Errorf("= %s, want like %q", show(v), *m.like)
		}
		return nil
	}
	want := expandValue(m.exact, vars)
	if !jsonEqual([]byte(show(want)), []byte(show(v))) {
		return fmt.Errorf("= %s, want %s", show(v), show(want))
	}
	return nil
}

func expandValue(v any, vars map[string]string) any {
	switch x := v.(type) {
	case string:
		return expandVars(x, vars)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = expandValue(e, vars)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = expandValue(e, vars)
		}
		return out
	}
	return v
}

var goldenPlaceholderRE = regexp.MustCompile(`<guid>|<digits>|<token>|…|\{[A-Za-z]+\}`)

// goldenPattern compiles a "like" pattern into an anchored regexp.
func goldenPattern(p, base string, vars map[string]string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString(`^`)
	last := 0
	for _, loc := range goldenPlaceholderRE.FindAllStringIndex(p, -1) {
		b.WriteString(regexp.QuoteMeta(p[last:loc[0]]))
		switch ph := p[loc[0]:loc[1]]; ph {
		case "<guid>":
			b.WriteString(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
		case "<digits>":
			b.WriteString(`[0-9]+`)
		case "<token>":
			b.WriteString(`[^&"\s]+`)
		case "…":
			b.WriteString(`.*?`)
		case "{base}":
			b.WriteString(regexp.QuoteMeta(base))
		default:
			v, ok := vars[ph]
			if !ok {
				return nil, fmt.Errorf("pattern %q: unknown variable %s", p, ph)
			}
			b.WriteString(regexp.QuoteMeta(v))
		}
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(p[last:]))
	b.WriteString(`$`)
	return regexp.Compile(b.String())
}

// goldenPointer resolves a JSON pointer; object keys fall back to a
// case-insensitive match (header maps), negative indexes count from the end.
func goldenPointer(v any, ptr string) (any, bool) {
	if ptr == "" {
		return v, v != nil
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			e, ok := x[tok]
			if !ok {
				for k, kv := range x {
					if strings.EqualFold(k, tok) {
						e, ok = kv, true
						break
					}
				}
			}
			if !ok {
				return nil, false
			}
			v = e
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil {
				return nil, false
			}
			if i < 0 {
				i += len(x)
			}
			if i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// decodeGoldenBody decodes an answer's body: nil when empty, a multipart tree,
// JSON, or else (and for text/*) the text.
func decodeGoldenBody(contentType string, body []byte) (any, error) {
	if len(body) == 0 {
		return nil, nil
	}
	if strings.HasPrefix(contentType, "multipart/") {
		parts, err := decodeGoldenMultipart(contentType, body)
		if err != nil {
			return nil, err
		}
		return map[string]any{"parts": parts}, nil
	}
	var v any
	if !strings.HasPrefix(contentType, "text/") && json.Unmarshal(body, &v) == nil {
		return v, nil
	}
	return string(body), nil
}

// decodeGoldenMultipart decodes a $batch answer (or a change set in it).
func decodeGoldenMultipart(contentType string, body []byte) ([]any, error) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil || params["boundary"] == "" {
		return nil, fmt.Errorf("multipart Content-Type %q: %v", contentType, err)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	parts := []any{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return parts, nil
		}
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, err
		}
		node := map[string]any{"headers": goldenHeaderMap(http.Header(p.Header))}
		switch ct := p.Header.Get("Content-Type"); {
		case strings.HasPrefix(ct, "multipart/"):
			sub, err := decodeGoldenMultipart(ct, b)
			if err != nil {
				return nil, err
			}
			node["parts"] = sub
		case strings.HasPrefix(ct, "application/http"):
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(b)), nil)
			if err != nil {
				return nil, fmt.Errorf("inner response: %w", err)
			}
			rb, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			node["status"] = resp.StatusCode
			node["responseHeaders"] = goldenHeaderMap(resp.Header)
			if inner, err := decodeGoldenBody(resp.Header.Get("Content-Type"), rb); err == nil && inner != nil {
				node["body"] = inner
			}
		default:
			node["body"] = string(b)
		}
		parts = append(parts, node)
	}
}

// goldenHeaderSpelling restores the documents' spelling of the headers Go canonicalises.
var goldenHeaderSpelling = map[string]string{"Odata-Entityid": "OData-EntityId", "Odata-Version": "OData-Version", "Content-Id": "Content-ID"}

func goldenHeaderMap(h http.Header) map[string]any {
	m := make(map[string]any, len(h))
	for k, v := range h {
		if s, ok := goldenHeaderSpelling[k]; ok {
			k = s
		}
		m[k] = strings.Join(v, ", ")
	}
	return m
}

func TestGoldenMatchers(t *testing.T) {
	vars := map[string]string{"{missing}": "00000000-0000-0000-0000-00000000beef"}
	const base = "http://127.0.0.1:8080"
	for _, c := range []struct {
		matcher string
		v       any
		found   bool
		ok      bool
	}{
		{`{"like":"{base}/api/data/v9.2/accounts(<guid>)"}`, base + "/api/data/v9.2/accounts(7eb682f1-ca75-e511-80d4-00155d2a68d1)", true, true},
		{`{"like":"{base}/api/data/v9.2/accounts(<guid>)"}`, base + "/api/data/v9.2/accounts(7eb682f1)", true, false},
		{`{"like":"{base}/api/data/v9.2/accounts(<guid>)"}`, "https://evil/api/data/v9.2/accounts(7eb682f1-ca75-e511-80d4-00155d2a68d1)", true, false},
		{`{"like":"W/\"<digits>\""}`, `W/"915244"`, true, true},
		{`{"like":"W/\"<digits>\""}`, `W/"91a"`, true, false},
		{`{"like":"…#accounts(…)/$entity"}`, base + "/$metadata#accounts(name)/$entity", true, true},
		{`{"like":"…#accounts(…)/$entity"}`, base + "/$metadata#accounts(name)", true, false},
		{`{"like":"…&$deltatoken=<digits>%21<token>"}`, "x?$select=a&$deltatoken=919042%2108%2f22%2f2017%2008%3a10%3a44", true, true},
		{`{"like":"account With Id = {missing} Does Not Exist"}`, "account With Id = 00000000-0000-0000-0000-00000000beef Does Not Exist", true, true},
		{`{"like":"{nope}"}`, "x", true, false},
		{`{"like":"x"}`, 1.0, true, false},
		{`"deleted"`, "deleted", true, true},
		{`"deleted"`, "changed", true, false},
		{`"{missing}"`, "00000000-0000-0000-0000-00000000beef", true, true},
		{`204`, 204.0, true, true},
		{`{"present":true}`, nil, false, false},
		{`{"absent":true}`, nil, false, true},
		{`{"absent":true}`, "x", true, false},
		{`{"len":2}`, []any{1, 2}, true, true},
		{`{"len":2}`, []any{1}, true, false},
		{`{"not":"renamed"}`, "original", true, true},
		{`{"not":"renamed"}`, "renamed", true, false},
		{`{"not":"renamed"}`, nil, false, false},
	} {
		m, err := parseGoldenMatcher(json.RawMessage(c.matcher))
		if err != nil {
			t.Fatal(err)
		}
		if err := m.match(c.v, c.found, base, vars); (err == nil) != c.ok {
			t.Errorf("%s on %v: err = %v, want ok=%v", c.matcher, c.v, err, c.ok)
		}
	}
	for _, bad := range []string{`{"like":"a","len":1}`, `{"present":false}`, `{"contains":"x"}`, `{}`} {
		if _, err := parseGoldenMatcher(json.RawMessage(bad)); err == nil {
			t.Errorf("matcher %s accepted", bad)
		}
	}
	doc := map[string]any{"value": []any{map[string]any{"a/b": 1.0}, map[string]any{"reason": "deleted"}},
		"parts": []any{map[string]any{"headers": map[string]any{"Content-ID": "1"}}}}
	for ptr, want := range map[string]any{"/value/-1/reason": "deleted", "/value/0/a~1b": 1.0, "/parts/0/headers/content-id": "1"} {
		if got, ok := goldenPointer(doc, ptr); !ok || got != want {
			t.Errorf("pointer %s = %v, %v; want %v", ptr, got, ok, want)
		}
	}
	for _, ptr := range []string{"/value/2", "/value/-3", "/nope", "/value/x"} {
		if _, ok := goldenPointer(doc, ptr); ok {
			t.Errorf("pointer %s resolved", ptr)
		}
	}
	for raw, status := range map[string]int{`"4xx"`: 412, `400`: 400} {
		ok, err := parseGoldenStatus(json.RawMessage(raw))
		if err != nil || !ok(status) || ok(204) {
			t.Errorf("status %s: %v", raw, err)
		}
	}
}
