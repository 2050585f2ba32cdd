package status

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultRecorded is how many records a Recorder keeps when NewRecorder is
// given n <= 0.
const DefaultRecorded = 50

// Limits on what one recorded entry keeps: enough to read, never a flood.
const (
	maxAttrs       = 10
	maxMessageLen  = 500
	maxAttrLen     = 300
	redactedMarker = "[redacted]"
)

// LogEntry is one record a Recorder kept.
type LogEntry struct {
	Time    time.Time  `json:"time"`
	Level   slog.Level `json:"level"`
	Message string     `json:"message"`
	Attrs   []LogAttr  `json:"attrs,omitempty"`
}

// LogAttr is an attribute of a LogEntry, rendered as text. Key is dotted
// with the groups it was logged under.
type LogAttr struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Recorder is a slog.Handler that passes every record to the next handler
// and keeps the last few at Warn level or above for the status page, with
// the values of secret-looking attributes redacted. Handlers derived with
// WithAttrs and WithGroup share its memory. It is safe for concurrent use.
type Recorder struct {
	next  slog.Handler
	ring  *ring
	attrs []LogAttr // from WithAttrs, qualified and redacted
	group string    // the WithGroup prefix, "a.b." (empty at the top)
}

var _ slog.Handler = (*Recorder)(nil)

// NewRecorder wraps next (nil: records go nowhere else) and keeps the last
// n records at Warn or above (n <= 0: DefaultRecorded).
func NewRecorder(next slog.Handler, n int) *Recorder {
	if next == nil {
		next = slog.DiscardHandler
	}
	if n <= 0 {
		n = DefaultRecorded
	}
	return &Recorder{next: next, ring: &ring{entries: make([]LogEntry, n)}}
}

// Enabled is true for Warn and above (the Recorder keeps them) and for what
// the next handler wants.
func (r *Recorder) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || r.next.Enabled(ctx, l)
}

// Handle keeps rec when it is Warn or above, and passes it on when the next
// handler wants it.
func (r *Recorder) Handle(ctx context.Context, rec slog.Record) error {
	if rec.Level >= slog.LevelWarn {
		r.ring.add(r.entry(rec))
	}
	if !r.next.Enabled(ctx, rec.Level) {
		return nil
	}
	return r.next.Handle(ctx, rec)
}

// WithAttrs returns a Recorder whose records carry attrs, sharing this one's
// memory.
func (r *Recorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return r
	}
	c := *r
	c.next = r.next.WithAttrs(attrs)
	c.attrs = slices.Clip(r.attrs)
	for _, a := range attrs {
		c.attrs = appendAttr(c.attrs, r.group, a)
	}
	return &c
}

// WithGroup returns a Recorder that qualifies later attributes with name,
// sharing this one's memory.
func (r *Recorder) WithGroup(name string) slog.Handler {
	if name == "" {
		return r
	}
	c := *r
	c.next = r.next.WithGroup(name)
	c.group = r.group + name + "."
	return &c
}

// Entries returns the records kept, newest first.
func (r *Recorder) Entries() []LogEntry { return r.ring.newestFirst() }

func (r *Recorder) entry(rec slog.Record) LogEntry {
	e := LogEntry{Time: rec.Time, Level: rec.Level, Message: scrub(truncate(rec.Message, maxMessageLen))}
	e.Attrs = slices.Clone(r.attrs)
	rec.Attrs(func(a slog.Attr) bool {
		e.Attrs = appendAttr(e.Attrs, r.group, a)
		return len(e.Attrs) < maxAttrs
	})
	if len(e.Attrs) > maxAttrs {
		e.Attrs = e.Attrs[:maxAttrs]
	}
	return e
}

// appendAttr flattens a (groups become dotted keys) onto out, redacting the
// values of secret-looking keys.
func appendAttr(out []LogAttr, prefix string, a slog.Attr) []LogAttr {
	if len(out) >= maxAttrs {
		return out
	}
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		if a.Key != "" {
			prefix += a.Key + "."
		}
		for _, g := range v.Group() {
			out = appendAttr(out, prefix, g)
		}
		return out
	}
	if a.Key == "" {
		return out // slog drops empty attrs too
	}
	key := prefix + a.Key
	text := redactedMarker
	if !secretKey(key) {
		text = scrub(truncate(valueText(v), maxAttrLen))
	}
	return append(out, LogAttr{Key: key, Value: text})
}

func valueText(v slog.Value) string {
	switch v.Kind() {
	case slog.KindTime:
		return v.Time().UTC().Format(time.RFC3339)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return err.Error()
		}
		return fmt.Sprint(v.Any())
	default:
		return v.String()
	}
}

// secretWords are parts of attribute keys whose values are never kept.
var secretWords = []string{"token", "secret", "password", "passwd", "authorization", "cookie", "credential",
	"apikey", "api_key", "signature", "code"}

// notSecret are keys that contain a secret word and are harmless.
var notSecret = map[string]bool{"status_code": true, "statuscode": true, "http_code": true, "exit_code": true}

// secretKey says whether a key (dotted with its groups) looks like it holds
// a secret.
func secretKey(key string) bool {
	k := strings.ToLower(key)
	if i := strings.LastIndexByte(k, '.'); notSecret[k[i+1:]] {
		return false
	}
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// secretInText finds credentials inside free text (an error quoting a URL
// or a header): the value is replaced, the name kept.
var secretInText = regexp.MustCompile(`(?i)(\bbearer\s+|\b(?:access_token|refresh_token|id_token|client_secret|code|password|token|secret)=)[^\s&"',;]+`)

func scrub(s string) string { return secretInText.ReplaceAllString(s, "${1}"+redactedMarker) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// ring is a fixed-size ring of entries.
type ring struct {
	mu      sync.Mutex
	entries []LogEntry
	next    int // where the next entry goes
	full    bool
}

func (r *ring) add(e LogEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries[r.next] = e
	r.next = (r.next + 1) % len(r.entries)
	if r.next == 0 {
		r.full = true
	}
}

func (r *ring) newestFirst() []LogEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.next
	if r.full {
		n = len(r.entries)
	}
	out := make([]LogEntry, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, r.entries[(r.next-i+len(r.entries))%len(r.entries)])
	}
	return out
}
