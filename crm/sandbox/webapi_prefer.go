package sandbox

import (
	"strconv"
	"strings"
)

// prefer is the parsed Prefer request header(s) and what was applied.
type prefer struct {
	annotations     string // raw odata.include-annotations value (quoted as sent)
	ann             annotations
	maxPageSize     int // 0 = not sent
	representation  bool
	trackChanges    bool
	continueOnError bool // odata.continue-on-error ($batch)
	appliedSet      map[string]bool
	appliedPageSize int
}

// parsePrefer reads every Prefer header: comma-separated preferences, values
// optionally quoted (commas inside quotes belong to the value).
func parsePrefer(headers []string) prefer {
	p := prefer{appliedSet: map[string]bool{}}
	for _, h := range headers {
		for _, item := range splitPreferences(h) {
			name, value, _ := strings.Cut(strings.TrimSpace(item), "=")
			name = strings.ToLower(strings.TrimSpace(name))
			value = strings.TrimSpace(value)
			switch name {
			case "odata.include-annotations":
				p.annotations = value
				p.ann = parseAnnotations(value)
			case "odata.maxpagesize":
				if n, err := strconv.Atoi(strings.Trim(value, `"`)); err == nil && n > 0 {
					p.maxPageSize = n
				}
			case "return":
				p.representation = strings.EqualFold(strings.Trim(value, `"`), "representation")
			case "odata.track-changes":
				p.trackChanges = true
			case "odata.continue-on-error", "continue-on-error":
				// OData 4.01 allows an explicit "=false".
				p.continueOnError = !strings.EqualFold(strings.Trim(value, `"`), "false")
			}
		}
	}
	return p
}

// splitPreferences splits on commas outside double quotes (and drops ;params).
func splitPreferences(h string) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(h); i++ {
		switch h[i] {
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				out = append(out, h[start:i])
				start = i + 1
			}
		}
	}
	out = append(out, h[start:])
	for i, s := range out {
		if semi := strings.IndexByte(s, ';'); semi >= 0 && strings.Count(s[:semi], `"`)%2 == 0 {
			out[i] = s[:semi]
		}
	}
	return out
}

// markApplied records a preference the response honoured.
func (p *prefer) markApplied(name string) { p.appliedSet[name] = true }

// applied is the Preference-Applied header value.
func (p *prefer) applied() string {
	var parts []string
	if p.appliedSet["odata.include-annotations"] && p.annotations != "" {
		v := p.annotations
		if !strings.HasPrefix(v, `"`) {
			v = `"` + v + `"`
		}
		parts = append(parts, "odata.include-annotations="+v)
	}
	if p.appliedSet["odata.maxpagesize"] {
		parts = append(parts, "odata.maxpagesize="+strconv.Itoa(p.appliedPageSize))
	}
	if p.appliedSet["return=representation"] {
		parts = append(parts, "return=representation")
	}
	if p.appliedSet["odata.track-changes"] {
		parts = append(parts, "odata.track-changes")
	}
	return strings.Join(parts, ",")
}
