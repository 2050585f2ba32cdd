package sandbox

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/golden expectations from the sandbox's answers")

// goldenFile is one documented request/response example: steps run in order
// against a fresh sandbox; each step's answer (normalised) must equal "expect".
type goldenFile struct {
	Doc   string       `json:"doc"`
	Steps []goldenStep `json:"steps"`
}

type goldenStep struct {
	As      string            `json:"as"` // chloe, sean, manager, jonas, app
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
	Expect  *goldenExpect     `json:"expect,omitempty"`
}

type goldenExpect struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// goldenHeaders are the response headers the goldens pin.
var goldenHeaders = []string{"Content-Type", "OData-Version", "OData-EntityId", "Preference-Applied", "Retry-After"}

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

func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/golden/*.json")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	who := map[string]string{"chloe": chloe.Email, "sean": sean.Email, "manager": manager.Email, "jonas": jonas.Email, "app": asApp}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var g goldenFile
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			env := newOrgEnv(t, Options{RecordsPerType: 10})
			vars := goldenVars(t, env)
			if strings.HasSuffix(file, "throttled.json") {
				env.token(t, asApp) // mint before throttling the Web API
				env.sb.SetFaults(Faults{Throttle429: 1, RetryAfter: 7 * time.Second})
			}
			for i := range g.Steps {
				st := &g.Steps[i]
				path, body := expandVars(st.Path, vars), expandVars(string(st.Body), vars)
				var headers []string
				for k, v := range st.Headers {
					headers = append(headers, k, expandVars(v, vars))
				}
				var reqBody any
				if body != "" {
					reqBody = body
				}
				r := env.do(t, who[st.As], st.Method, path, reqBody, headers...)
				captureVars(r, vars)
				got := &goldenExpect{Status: r.Status, Headers: map[string]string{}}
				for _, h := range goldenHeaders {
					if v := r.Header.Get(h); v != "" {
						got.Headers[h] = normaliseGolden(v, env.srv.URL)
					}
				}
				if len(r.Body) > 0 {
					var decoded any
					if json.Unmarshal(r.Body, &decoded) == nil {
						got.Body, _ = json.Marshal(normaliseValue(decoded, env.srv.URL))
					} else {
						b, _ := json.Marshal(normaliseGolden(string(r.Body), env.srv.URL))
						got.Body = b
					}
				}
				if *updateGolden {
					st.Expect = got
					continue
				}
				if st.Expect == nil {
					t.Fatalf("step %d has no expectation: run with -update", i)
				}
				want, _ := json.Marshal(st.Expect)
				have, _ := json.Marshal(got)
				if !jsonEqual(want, have) {
					t.Fatalf("step %d (%s %s):\nwant %s\ngot  %s", i, st.Method, st.Path, want, have)
				}
			}
			if *updateGolden {
				var out bytes.Buffer
				enc := json.NewEncoder(&out)
				enc.SetIndent("", "  ")
				enc.SetEscapeHTML(false)
				if err := enc.Encode(g); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
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

// goldenVars are the ids the golden steps can name: {account}, {openIncident}, ...
func goldenVars(t *testing.T, env *orgEnv) map[string]string {
	return map[string]string{
		"{chloeAccount}":     env.firstOwned(t, "accounts", chloe.ID, 0),
		"{chloeOpportunity}": env.firstOwned(t, "opportunities", chloe.ID, 0),
		"{jonasOpportunity}": env.firstOwned(t, "opportunities", jonas.ID, 0),
		"{seanIncident}":     env.firstOwned(t, "incidents", sean.ID, 0),
		"{chloeLead}":        env.firstOwned(t, "leads", chloe.ID, 0),
		"{competitor}":       env.sb.RecordIDs("competitors")[0],
		"{missing}":          "00000000-0000-0000-0000-00000000beef",
	}
}

// captureVars remembers links and ids from a response for later steps.
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
