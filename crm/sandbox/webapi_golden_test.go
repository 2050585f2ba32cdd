package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Golden cases: documented Web API examples replayed against the sandbox.
//
// Each case is two files:
//
//   - testdata/golden/<case>.json, hand-written and never written by a test:
//     the requests, and for every step the "documented" facts of the answer
//     with their "source" (a Microsoft Learn page and section, or a line of
//     dataverse.md). TestGolden checks these first, against the raw answer,
//     with or without -update: a sandbox that disagrees with the documents
//     fails, and -update cannot bless it.
//   - testdata/golden/snapshot/<case>.json, written by -update: the whole
//     normalised answer of every step (ids, etags, dates and tokens masked), to
//     catch any other change. Review its diff before committing it.
//
// The format of the documented part is described in webapi_golden_match_test.go.
var updateGolden = flag.Bool("update", false, "refresh testdata/golden/snapshot from the sandbox's answers (documented expectations are never rewritten)")

const (
	goldenDir         = "testdata/golden"
	goldenSnapshotDir = "testdata/golden/snapshot"
)

// goldenCase is one hand-written case file.
type goldenCase struct {
	Title  string      `json:"title"`
	Source string      `json:"source"`           // where the behaviour is documented
	Faults *faultsJSON `json:"faults,omitempty"` // injected after every token is minted
	Steps  []goldenStep
}

type goldenStep struct {
	As      string            `json:"as"` // chloe, sean, manager, jonas, app
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers,omitempty"`
	// Body is sent as JSON; BodyLines (a raw body, e.g. multipart) are joined with CRLF.
	Body       json.RawMessage   `json:"body,omitempty"`
	BodyLines  []string          `json:"bodyLines,omitempty"`
	Documented *goldenDocumented `json:"documented"`
}

// goldenSnapshot is one generated snapshot file.
type goldenSnapshot struct {
	Comment string               `json:"_comment"`
	Steps   []goldenSnapshotStep `json:"steps"`
}

type goldenSnapshotStep struct {
	Request string            `json:"request"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// goldenHeaders are the response headers a snapshot pins.
var goldenHeaders = []string{"Content-Type", "OData-Version", "OData-EntityId", "Location", "Preference-Applied", "Retry-After"}

var (
	guidRE     = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	etagRE     = regexp.MustCompile(`W/"\d+"`)
	datetimeRE = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z`)
	tokenRE    = regexp.MustCompile(`(\$skiptoken=|\$deltatoken=)[^"&\\]+`)
	ticketRE   = regexp.MustCompile(`CAS-\d{5}-[A-Z0-9]{6}`)
)

func normaliseGolden(s, base string) string {
	s = strings.ReplaceAll(s, base, "{base}")
	s = guidRE.ReplaceAllString(s, "<guid>")
	s = etagRE.ReplaceAllString(s, `W/"<version>"`)
	s = datetimeRE.ReplaceAllString(s, "<datetime>")
	s = tokenRE.ReplaceAllString(s, "$1<token>")
	return ticketRE.ReplaceAllString(s, "CAS-<ticket>")
}

// normaliseValue normalises every string of a decoded JSON value.
func normaliseValue(v any, base string) any {
	switch x := v.(type) {
	case string:
		return normaliseGolden(x, base)
	case map[string]any:
		for k, e := range x {
			x[k] = normaliseValue(e, base)
		}
	case []any:
		for i, e := range x {
			x[i] = normaliseValue(e, base)
		}
	}
	return v
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ca, _ := json.Marshal(x)
	cb, _ := json.Marshal(y)
	return bytes.Equal(ca, cb)
}

func TestGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(goldenDir, "*.json"))
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	names := map[string]bool{}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		names[name] = true
		t.Run(name, func(t *testing.T) {
			c, err := loadGoldenCase(file)
			if err != nil {
				t.Fatal(err)
			}
			// Documented expectations are checked inside runGoldenCase, step by
			// step, before any snapshot is compared or written.
			snap, err := runGoldenCase(t, c)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			snapFile := filepath.Join(goldenSnapshotDir, name+".json")
			if *updateGolden {
				if err := writeGoldenSnapshot(snapFile, snap); err != nil {
					t.Fatal(err)
				}
				return
			}
			compareGoldenSnapshot(t, snapFile, snap)
		})
	}
	t.Run("no orphan snapshots", func(t *testing.T) {
		snaps, _ := filepath.Glob(filepath.Join(goldenSnapshotDir, "*.json"))
		for _, s := range snaps {
			if name := strings.TrimSuffix(filepath.Base(s), ".json"); !names[name] {
				t.Errorf("%s has no case %s/%s.json: delete it", s, goldenDir, name)
			}
		}
	})
}

// loadGoldenCase reads a case strictly (unknown fields are typos) and checks
// that it says where its behaviour is documented.
func loadGoldenCase(file string) (*goldenCase, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c goldenCase
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if strings.TrimSpace(c.Title) == "" || strings.TrimSpace(c.Source) == "" {
		return nil, fmt.Errorf("%s: a case needs a title and a source (the doc page and section, or the dataverse.md line)", file)
	}
	if len(c.Steps) == 0 {
		return nil, fmt.Errorf("%s: no steps", file)
	}
	for i, st := range c.Steps {
		if st.Documented == nil {
			return nil, fmt.Errorf("%s: step %d (%s %s) has no \"documented\" expectations", file, i, st.Method, st.Path)
		}
		if err := st.Documented.validate(); err != nil {
			return nil, fmt.Errorf("%s: step %d (%s %s): %w", file, i, st.Method, st.Path, err)
		}
		if len(st.Body) > 0 && len(st.BodyLines) > 0 {
			return nil, fmt.Errorf("%s: step %d has both body and bodyLines", file, i)
		}
	}
	return &c, nil
}

// goldenWho maps a step's "as" to orgEnv.do's identity.
var goldenWho = map[string]string{"chloe": chloe.Email, "sean": sean.Email, "manager": manager.Email, "jonas": jonas.Email, "app": asApp}

// runGoldenCase replays c against a fresh sandbox. A documented expectation
// that fails is returned as an error naming its source (the caller fails, in
// -update mode too); otherwise it returns the normalised snapshot.
func runGoldenCase(t *testing.T, c *goldenCase) (*goldenSnapshot, error) {
	env := newOrgEnv(t, Options{RecordsPerType: 10})
	vars := goldenVars(t, env)
	vars["{base}"] = env.srv.URL
	for _, st := range c.Steps {
		who, ok := goldenWho[st.As]
		if !ok {
			return nil, fmt.Errorf("unknown identity %q", st.As)
		}
		env.token(t, who) // minted before faults, which also hit the token endpoint
	}
	if c.Faults != nil {
		f, err := c.Faults.faults()
		if err != nil {
			return nil, err
		}
		env.sb.SetFaults(f)
	}
	snap := &goldenSnapshot{Comment: "generated by go test ./crm/sandbox -run TestGolden -update; the documented expectations are in ../" + "<case>.json"}
	for i, st := range c.Steps {
		path := expandVars(st.Path, vars)
		var headers []string
		for _, k := range slices.Sorted(maps.Keys(st.Headers)) {
			headers = append(headers, k, expandVars(st.Headers[k], vars))
		}
		var body any
		switch {
		case len(st.BodyLines) > 0:
			body = expandVars(strings.Join(st.BodyLines, "\r\n"), vars)
		case len(st.Body) > 0:
			body = expandVars(string(st.Body), vars)
		}
		r := env.do(t, goldenWho[st.As], st.Method, path, body, headers...)
		if err := st.Documented.check(r, env.srv.URL, vars); err != nil {
			return nil, fmt.Errorf("step %d (%s %s) breaks a DOCUMENTED expectation — the sandbox disagrees with the documents; -update never rewrites these.\n  source: %s\n  %v\n  answer: %d %s",
				i, st.Method, st.Path, st.Documented.Source, err, r.Status, truncate(string(r.Body), 600))
		}
		captureVars(r, vars)
		snap.Steps = append(snap.Steps, snapshotStep(st.Method+" "+st.Path, r, env.srv.URL))
	}
	return snap, nil
}

// snapshotStep is the normalised answer: status, goldenHeaders, and the body
// (JSON, a multipart tree, or text).
func snapshotStep(request string, r apiResponse, base string) goldenSnapshotStep {
	s := goldenSnapshotStep{Request: request, Status: r.Status, Headers: map[string]string{}}
	for _, h := range goldenHeaders {
		if v := r.Header.Get(h); v != "" {
			s.Headers[h] = normaliseGolden(v, base)
		}
	}
	if len(r.Body) > 0 {
		decoded, err := decodeGoldenBody(r.Header.Get("Content-Type"), r.Body)
		if err != nil {
			decoded = string(r.Body)
		}
		s.Body, _ = marshalGolden(normaliseValue(decoded, base))
	}
	return s
}

func marshalGolden(v any) ([]byte, error) {
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(out.Bytes()), nil
}

func writeGoldenSnapshot(file string, snap *goldenSnapshot) error {
	snap.Comment = strings.Replace(snap.Comment, "<case>", strings.TrimSuffix(filepath.Base(file), ".json"), 1)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(snap); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	return os.WriteFile(file, out.Bytes(), 0o644)
}

func compareGoldenSnapshot(t *testing.T, file string, snap *goldenSnapshot) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s is missing: run go test ./crm/sandbox -run TestGolden -update", file)
	}
	if err != nil {
		t.Fatal(err)
	}
	var want goldenSnapshot
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(want.Steps) != len(snap.Steps) {
		t.Fatalf("%s has %d steps, the case %d: run -update", file, len(want.Steps), len(snap.Steps))
	}
	for i := range snap.Steps {
		w, _ := json.Marshal(want.Steps[i])
		g, _ := json.Marshal(snap.Steps[i])
		if !jsonEqual(w, g) {
			t.Errorf("step %d (%s): the answer differs from the snapshot (an undocumented detail changed; if intended, run -update and review the diff):\nwant %s\ngot  %s",
				i, snap.Steps[i].Request, w, g)
		}
	}
}

// goldenVars are the ids the golden steps (and documented patterns) can name;
// runGoldenCase adds {base}, the org URL.
func goldenVars(t *testing.T, env *orgEnv) map[string]string {
	return map[string]string{
		"{chloeAccount}":     env.firstOwned(t, "accounts", chloe.ID, 0),
		"{chloeOpportunity}": env.firstOwned(t, "opportunities", chloe.ID, 0),
		"{jonasOpportunity}": env.firstOwned(t, "opportunities", jonas.ID, 0),
		"{seanIncident}":     env.firstOwned(t, "incidents", sean.ID, 0),
		"{chloeLead}":        env.firstOwned(t, "leads", chloe.ID, 0),
		"{competitor}":       env.sb.RecordIDs("competitors")[0],
		"{missing}":          "00000000-0000-0000-0000-00000000beef",
		"{newAccount}":       "0c0ffee0-1111-4222-8333-000000000001", // an id no record has: upserts create it
		"{chloeId}":          chloe.ID,
		"{seanId}":           sean.ID,
	}
}

// captureVars remembers links and ids from a response for later steps:
// {lastEntityId}, {nextLink}, {deltaLink}, {etag}.
func captureVars(r apiResponse, vars map[string]string) {
	if loc := r.Header.Get("OData-EntityId"); loc != "" {
		vars["{lastEntityId}"] = loc[strings.LastIndexByte(loc, '(')+1 : len(loc)-1]
	}
	var m map[string]any
	if json.Unmarshal(r.Body, &m) == nil {
		for _, k := range []string{"@odata.deltaLink", "@odata.nextLink"} {
			if v, ok := m[k].(string); ok {
				vars["{"+strings.TrimPrefix(k, "@odata.")+"}"] = v
			}
		}
		if v, ok := m["@odata.etag"].(string); ok {
			vars["{etag}"] = v
		}
	}
}

func expandVars(s string, vars map[string]string) string {
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s = strings.ReplaceAll(s, k, vars[k])
	}
	return s
}

// TestGoldenUpdateCannotBlessDocumented: a sandbox answer that contradicts a
// documented expectation fails runGoldenCase — the step -update relies on — so
// no snapshot is written and the case file is never touched.
func TestGoldenUpdateCannotBlessDocumented(t *testing.T) {
	for name, doc := range map[string]string{
		"status":  `{"source":"test","status":201}`,
		"header":  `{"source":"test","status":200,"headers":{"OData-Version":"5.0"}}`,
		"body":    `{"source":"test","status":200,"body":{"/UserId":"{seanId}"}}`,
		"pattern": `{"source":"test","status":200,"body":{"/@odata.context":{"like":"…#WhoAmIResponse2"}}}`,
		"absent":  `{"source":"test","status":200,"body":{"/BusinessUnitId":{"absent":true}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			var d goldenDocumented
			if err := json.Unmarshal([]byte(doc), &d); err != nil {
				t.Fatal(err)
			}
			c := &goldenCase{Title: "t", Source: "test", Steps: []goldenStep{{As: "chloe", Method: "GET", Path: "WhoAmI", Documented: &d}}}
			snap, err := runGoldenCase(t, c)
			if err == nil || snap != nil || !strings.Contains(err.Error(), "DOCUMENTED") || !strings.Contains(err.Error(), "source: test") {
				t.Fatalf("runGoldenCase = %v, %v; want a documented-expectation error", snap, err)
			}
		})
	}
	t.Run("the same case with true facts passes", func(t *testing.T) {
		var d goldenDocumented
		_ = json.Unmarshal([]byte(`{"source":"test","status":200,"body":{"/UserId":"{chloeId}","/@odata.context":{"like":"{base}/api/data/v9.2/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse"}}}`), &d)
		c := &goldenCase{Title: "t", Source: "test", Steps: []goldenStep{{As: "chloe", Method: "GET", Path: "WhoAmI", Documented: &d}}}
		if _, err := runGoldenCase(t, c); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("-update writes only under snapshot/", func(t *testing.T) {
		if filepath.Dir(filepath.Join(goldenSnapshotDir, "x.json")) == goldenDir {
			t.Fatal("snapshots would overwrite the hand-written cases")
		}
	})
}
