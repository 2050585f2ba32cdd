package status

import (
	_ "embed"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crmbot/crmbot/internal/i18n"
	"github.com/crmbot/crmbot/store"
)

//go:embed page.html
var pageHTML string

//go:embed status.css
var styleCSS []byte

var pages = template.Must(template.New("pages").Parse(pageHTML))

// Flash messages after a retry (?flash=…): codes, never free text.
const (
	flashRetried = "retried"
	flashGone    = "gone"
	flashFailed  = "failed"
)

// serveStyle: GET /status/status.css, the page's only stylesheet (the CSP
// allows no inline style). Public: it holds nothing.
func serveStyle(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	_, _ = w.Write(styleCSS)
}

// localizer picks the language from Accept-Language, in the header's order.
func (h *Handler) localizer(r *http.Request) i18n.Localizer {
	var tags []string
	for part := range strings.SplitSeq(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(part, ";")
		if tag = strings.TrimSpace(tag); tag != "" && tag != "*" {
			tags = append(tags, tag)
		}
	}
	return h.Messages.For(tags...)
}

// gateView is the page of a request that does not get to the status: the
// sign-in form, or why it was refused.
type gateView struct {
	Lang, Title, Message, Error, Tone string
	SignIn, Back                      bool
	TokenLabel, SignInButton, BackTo  string
	Style, SignInPath, Home           string
}

func (h *Handler) renderGate(w http.ResponseWriter, loc i18n.Localizer, status int, v gateView) {
	v.Lang, v.Style, v.SignInPath, v.Home = loc.Lang(), stylePath, signInPath, Path
	v.TokenLabel, v.SignInButton, v.BackTo = loc.T(i18n.StatusTokenLabel, nil), loc.T(i18n.StatusSignInButton, nil),
		loc.T(i18n.StatusBackToPage, nil)
	h.execute(w, status, "gate", v)
}

func (h *Handler) execute(w http.ResponseWriter, status int, name string, v any) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, v); err != nil {
		h.Logger.Warn("status: page render failed", "err", err)
	}
}

// statusView is the status page's data: every string already in the
// reader's language.
type statusView struct {
	Lang, Style, Home string
	Title             string
	L                 labels
	Version, Replica  string
	Generated         string
	JSONLink          string
	SignOut           bool // signed in with the cookie: offer to sign out
	SignOutPath       string
	RetryPath         string
	CSRF              string
	Flash, FlashTone  string

	Cards []summaryCard

	Links      []linkRow
	LinksError string

	SyncOff bool
	SyncOrg string // the org of every record type, when they share one
	Types   []typeRow

	Dead       []deadRow
	DeadErrors []string
	DeadNote   string

	Recording bool
	Errors    []errorRow
}

// labels are the page's fixed words.
type labels struct {
	Title, Refresh, JSON, SignOut, Version, Replica, Generated            string
	LinksTitle, Platform, Linked, Broken, LinksNone                       string
	SyncTitle, SyncOff, Type, Phase, Lease, Cursor, BaselineRows          string
	LastSync, Outbox, Pending, Oldest, Dead, Problems                     string
	DeadTitle, DeadNone, Died, Attempts, Reason, Event, Retry, RetryTitle string
	ErrorsTitle, ErrorsNone, ErrorsOff, Time, Level, Message, Details     string
	RecordID, UserID, Footer                                              string
}

type summaryCard struct{ Label, Value, Note, Tone string }

type linkRow struct {
	Platform      string
	Linked        int64
	Broken        int64
	BrokenPercent string
}

type typeRow struct {
	Name, Org                 string
	Phase, PhaseLabel, Paused string
	Lease, LeaseTone, LeaseAt string
	Cursor, CursorNote        string
	CursorTone, CursorAt      string
	Baseline                  string
	LastSync, LastSyncAt      string
	Depth, Pending            int64
	Oldest, OldestAt          string
	Dead                      int64
	Problems                  []string
}

type deadRow struct {
	Org, Type, ID      string
	Died, DiedAt       string
	Attempts           int64
	Reason             string
	Summary, Detail    string
	Decoded            bool
	RecordID, UserID   string
	RecordIDShort      string
	UserIDShort, Extra string
}

type errorRow struct {
	Time, TimeAt, Level, Tone, Message string
	Attrs                              []LogAttr
}

func (h *Handler) renderStatus(w http.ResponseWriter, r *http.Request, loc i18n.Localizer, c caller, rep Report) {
	f := formatter{loc: loc, now: rep.Generated}
	v := statusView{Lang: loc.Lang(), Style: stylePath, Title: loc.T(i18n.StatusTitle, nil), Home: Path, L: pageLabels(loc, h.DeadPerType),
		Version: rep.Version, Replica: rep.Replica, Generated: f.clock(rep.Generated),
		JSONLink: Path + "?format=json", SignOut: c.how == accessCookie, SignOutPath: signOutPath,
		RetryPath: retryPath, CSRF: h.csrfToken(c), SyncOff: !rep.SyncOn, Recording: h.Recorder != nil,
		LinksError: rep.LinksError}
	if v.Version == "" {
		v.Version = "dev"
	}
	v.Flash, v.FlashTone = h.flashMessage(loc, r.URL.Query())

	var linked, broken int64
	for _, l := range rep.Links {
		linked, broken = linked+l.Linked, broken+l.Broken
		row := linkRow{Platform: platformName(l.Platform), Linked: l.Linked, Broken: l.Broken}
		if l.Linked > 0 {
			row.BrokenPercent = loc.T(i18n.StatusPercent, i18n.Args{"n": l.Broken * 100 / l.Linked})
		}
		v.Links = append(v.Links, row)
	}

	var depth, dead int64
	var oldest time.Time
	for _, t := range rep.Types {
		depth, dead = depth+t.Outbox.Depth, dead+t.Outbox.Dead
		if !t.Outbox.Oldest.IsZero() && (oldest.IsZero() || t.Outbox.Oldest.Before(oldest)) {
			oldest = t.Outbox.Oldest
		}
		v.Types = append(v.Types, h.typeRow(f, t))
	}
	if org := sharedOrg(rep.Types); org != "" {
		v.SyncOrg = loc.T(i18n.StatusOrg, i18n.Args{"org": org})
		for i := range v.Types {
			v.Types[i].Org = ""
		}
	}
	for _, d := range rep.Dead {
		if d.Error != "" {
			v.DeadErrors = append(v.DeadErrors, loc.T(i18n.StatusDeadReadError, i18n.Args{"type": d.RecordType, "error": d.Error}))
			continue
		}
		v.Dead = append(v.Dead, deadRowOf(f, d))
	}

	var errs int
	for _, e := range rep.Errors {
		if e.Level >= slog.LevelError {
			errs++
		}
		v.Errors = append(v.Errors, errorRow{Time: f.ago(e.Time), TimeAt: f.clock(e.Time), Level: e.Level.String(),
			Tone: levelTone(e.Level.String()), Message: e.Message, Attrs: e.Attrs})
	}

	brokenNote := loc.T(i18n.StatusCardBroken, i18n.Args{"n": broken})
	oldestNote := loc.T(i18n.StatusCardNothingWaiting, nil)
	if !oldest.IsZero() {
		oldestNote = loc.T(i18n.StatusCardOldest, i18n.Args{"duration": f.duration(rep.Generated.Sub(oldest))})
	}
	v.Cards = []summaryCard{
		{Label: loc.T(i18n.StatusCardLinked, nil), Value: strconv.FormatInt(linked, 10), Note: brokenNote, Tone: tone(broken > 0, "warn")},
		{Label: loc.T(i18n.StatusCardOutbox, nil), Value: strconv.FormatInt(depth, 10), Note: oldestNote},
		{Label: loc.T(i18n.StatusCardDead, nil), Value: strconv.FormatInt(dead, 10), Note: loc.T(i18n.StatusCardDeadNote, nil), Tone: tone(dead > 0, "bad")},
		{Label: loc.T(i18n.StatusCardErrors, nil), Value: strconv.Itoa(errs),
			Note: loc.T(i18n.StatusCardWarnings, i18n.Args{"n": len(rep.Errors) - errs}), Tone: tone(errs > 0, "bad")},
	}
	h.execute(w, http.StatusOK, "status", v)
}

func (h *Handler) typeRow(f formatter, t TypeReport) typeRow {
	loc := f.loc
	row := typeRow{Name: t.RecordType, Org: t.Org, Phase: phaseClass(t.Phase), PhaseLabel: phaseLabel(loc, t.Phase),
		Depth: t.Outbox.Depth, Pending: t.Outbox.Pending, Dead: t.Outbox.Dead, Baseline: "—", LastSync: "—", Oldest: "—"}
	if !t.PausedUntil.IsZero() && t.Phase == "paused" {
		row.Paused = loc.T(i18n.StatusPausedUntil, i18n.Args{"time": f.short(t.PausedUntil)})
	}
	switch {
	case t.Lease.Holder == "":
		row.Lease, row.LeaseTone = loc.T(i18n.StatusLeaseFree, nil), "muted"
	case t.Lease.Holder == h.Replica:
		row.Lease, row.LeaseTone = loc.T(i18n.StatusLeaseHere, nil), "ok"
	default:
		row.Lease = t.Lease.Holder
	}
	if !t.Lease.Expires.IsZero() {
		row.LeaseAt = loc.T(i18n.StatusLeaseExpires, i18n.Args{"time": f.clock(t.Lease.Expires)})
	}
	switch {
	case !t.HasCursor:
		row.Cursor, row.CursorTone = loc.T(i18n.StatusCursorNone, nil), "muted"
	case t.BaselineInProgress:
		row.Cursor, row.CursorTone = loc.T(i18n.StatusCursorBaseline, nil), "info"
		row.CursorNote = f.ago(t.CursorUpdated)
		row.CursorAt = f.clock(t.CursorUpdated)
	default:
		row.Cursor, row.CursorAt = f.duration(f.now.Sub(t.CursorUpdated)), f.clock(t.CursorUpdated)
	}
	if t.BaselineRows > 0 {
		row.Baseline = f.count(t.BaselineRows)
	}
	if !t.LastSync.IsZero() {
		row.LastSync, row.LastSyncAt = f.ago(t.LastSync), f.clock(t.LastSync)
	}
	if !t.Outbox.Oldest.IsZero() {
		row.Oldest, row.OldestAt = f.duration(f.now.Sub(t.Outbox.Oldest)), f.clock(t.Outbox.Oldest)
	}
	if t.LastError != "" {
		row.Problems = append(row.Problems, t.LastError)
	}
	row.Problems = append(row.Problems, t.Errors...)
	return row
}

func deadRowOf(f formatter, d DeadReport) deadRow {
	loc := f.loc
	row := deadRow{Org: d.Org, Type: d.RecordType, ID: d.ID, Died: f.ago(d.DiedAt), DiedAt: f.clock(d.DiedAt),
		Attempts: d.Attempts, Reason: d.Reason}
	if d.Event == nil {
		row.Summary = loc.T(i18n.StatusEventUndecodable, i18n.Args{"bytes": d.PayloadBytes})
		row.Detail = d.PayloadError
		return row
	}
	e := d.Event
	row.Decoded = true
	row.Summary = loc.T(i18n.StatusEventSummary, i18n.Args{"kind": kindLabel(loc, e.Kind), "type": e.RecordType})
	row.RecordID, row.RecordIDShort = e.RecordID, shortID(e.RecordID)
	row.UserID, row.UserIDShort = e.SystemUserID, shortID(e.SystemUserID)
	var extra []string
	if e.By != "" {
		extra = append(extra, loc.T(i18n.StatusEventBy, i18n.Args{"name": e.By}))
	}
	if e.Team != "" {
		extra = append(extra, loc.T(i18n.StatusEventTeam, i18n.Args{"team": e.Team}))
	}
	row.Extra = strings.Join(extra, " · ")
	return row
}

func pageLabels(loc i18n.Localizer, deadPerType int) labels {
	t := func(k i18n.Key) string { return loc.T(k, nil) }
	return labels{
		Title: t(i18n.StatusTitle), Refresh: t(i18n.StatusRefresh), JSON: t(i18n.StatusJSON), SignOut: t(i18n.StatusSignOut),
		Version: t(i18n.StatusVersion), Replica: t(i18n.StatusReplica), Generated: t(i18n.StatusGenerated),
		LinksTitle: t(i18n.StatusLinksTitle), Platform: t(i18n.StatusColPlatform), Linked: t(i18n.StatusColLinked),
		Broken: t(i18n.StatusColBroken), LinksNone: t(i18n.StatusLinksNone),
		SyncTitle: t(i18n.StatusSyncTitle), SyncOff: t(i18n.StatusSyncOff), Type: t(i18n.StatusColType),
		Phase: t(i18n.StatusColPhase), Lease: t(i18n.StatusColLease), Cursor: t(i18n.StatusColCursor),
		BaselineRows: t(i18n.StatusColBaseline), LastSync: t(i18n.StatusColLastSync), Outbox: t(i18n.StatusColOutbox),
		Pending: t(i18n.StatusColPending), Oldest: t(i18n.StatusColOldest), Dead: t(i18n.StatusColDead),
		Problems:  t(i18n.StatusColProblems),
		DeadTitle: t(i18n.StatusDeadTitle), DeadNone: t(i18n.StatusDeadNone), Died: t(i18n.StatusColDied),
		Attempts: t(i18n.StatusColAttempts), Reason: t(i18n.StatusColReason), Event: t(i18n.StatusColEvent),
		Retry: t(i18n.StatusRetry), RetryTitle: loc.T(i18n.StatusDeadShown, i18n.Args{"n": deadPerType}),
		ErrorsTitle: t(i18n.StatusErrorsTitle), ErrorsNone: t(i18n.StatusErrorsNone), ErrorsOff: t(i18n.StatusErrorsOff),
		Time: t(i18n.StatusColTime), Level: t(i18n.StatusColLevel), Message: t(i18n.StatusColMessage),
		Details: t(i18n.StatusColDetails), RecordID: t(i18n.StatusRecordID), UserID: t(i18n.StatusUserID), Footer: loc.T(i18n.StatusFooter, i18n.Args{"seconds": int(ReadTimeout.Seconds())}),
	}
}

// flashMessage is the message a retry redirected with. The record type
// must be one the page shows: a crafted link cannot put words on the page.
func (h *Handler) flashMessage(loc i18n.Localizer, q url.Values) (text, tone string) {
	typ := q.Get("type")
	if !slices.ContainsFunc(h.Keys, func(k store.SyncKey) bool { return k.RecordType == typ }) {
		return "", ""
	}
	switch q.Get("flash") {
	case flashRetried:
		return loc.T(i18n.StatusFlashRetried, i18n.Args{"type": typ}), "ok"
	case flashGone:
		return loc.T(i18n.StatusFlashGone, nil), "warn"
	case flashFailed:
		return loc.T(i18n.StatusFlashFailed, nil), "bad"
	}
	return "", ""
}

// phases the stylesheet colours; anything else is shown as "unknown".
var phases = map[string]i18n.Key{
	"starting": i18n.StatusPhaseStarting, "standby": i18n.StatusPhaseStandby, "baseline": i18n.StatusPhaseBaseline,
	"delta": i18n.StatusPhaseDelta, "paused": i18n.StatusPhasePaused, "error": i18n.StatusPhaseError,
	"stopped": i18n.StatusPhaseStopped, PhaseOff: i18n.StatusPhaseOff, PhaseUnknown: i18n.StatusPhaseUnknown,
}

func phaseClass(p string) string {
	if _, ok := phases[p]; ok {
		return p
	}
	return PhaseUnknown
}

func phaseLabel(loc i18n.Localizer, p string) string {
	if k, ok := phases[p]; ok {
		return loc.T(k, nil)
	}
	return p
}

func kindLabel(loc i18n.Localizer, kind string) string {
	switch kind {
	case KindNew:
		return loc.T(i18n.StatusKindNew, nil)
	case KindReassigned:
		return loc.T(i18n.StatusKindReassigned, nil)
	default:
		return loc.T(i18n.StatusKindUnassigned, nil)
	}
}

// sharedOrg is the org of every type, or "" when they differ.
func sharedOrg(types []TypeReport) string {
	if len(types) == 0 {
		return ""
	}
	for _, t := range types[1:] {
		if t.Org != types[0].Org {
			return ""
		}
	}
	return types[0].Org
}

func platformName(p string) string {
	switch p {
	case store.PlatformSlack:
		return "Slack"
	case store.PlatformTeams:
		return "Microsoft Teams"
	}
	return p
}

func levelTone(level string) string {
	switch {
	case strings.HasPrefix(level, "ERROR"):
		return "bad"
	case strings.HasPrefix(level, "WARN"):
		return "warn"
	}
	return "muted"
}

func tone(cond bool, t string) string {
	if cond {
		return t
	}
	return ""
}

// shortID is the first block of a GUID: enough to tell records apart on
// screen (the full id is in the tooltip and the JSON).
func shortID(id string) string {
	if i := strings.IndexByte(id, '-'); i > 0 {
		return id[:i] + "…"
	}
	return id
}

// formatter writes times and durations in the reader's language.
type formatter struct {
	loc i18n.Localizer
	now time.Time
}

// clock is an absolute time, in UTC: operators compare it with logs.
func (f formatter) clock(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// short is clock without the date when t is within hours of now.
func (f formatter) short(t time.Time) string {
	if d := f.now.Sub(t); d < 12*time.Hour && d > -12*time.Hour {
		return t.UTC().Format("15:04:05 UTC")
	}
	return f.clock(t)
}

// ago is "3 min ago".
func (f formatter) ago(t time.Time) string {
	if t.IsZero() {
		return f.loc.T(i18n.StatusNever, nil)
	}
	return f.loc.T(i18n.StatusAgo, i18n.Args{"duration": f.duration(f.now.Sub(t))})
}

// duration is a rough, readable length: "42 s", "7 min", "3 h 20 min",
// "2 d 4 h".
func (f formatter) duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return f.loc.T(i18n.StatusDurSeconds, i18n.Args{"n": s})
	case s < 3600:
		return f.loc.T(i18n.StatusDurMinutes, i18n.Args{"n": s / 60})
	case s < 86400:
		return f.loc.T(i18n.StatusDurHours, i18n.Args{"h": s / 3600, "m": s % 3600 / 60})
	default:
		return f.loc.T(i18n.StatusDurDays, i18n.Args{"d": s / 86400, "h": s % 86400 / 3600})
	}
}

// count groups thousands the language's way: 12,345 or 12 345.
func (f formatter) count(n int64) string {
	if n < 1000 {
		return strconv.FormatInt(n, 10)
	}
	return f.loc.T(i18n.StatusCountThousands, i18n.Args{"thousands": f.count(n / 1000), "rest": fmt.Sprintf("%03d", n%1000)})
}
