package status

import (
	"context"
	"errors"
	"slices"
	"strings"
	gosync "sync"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/internal/i18n"
	"github.com/crmbot/crmbot/store"
	crmsync "github.com/crmbot/crmbot/sync"
)

// Store is what the status page reads, and the one thing it changes: a
// dead letter sent back to the outbox. store.Store has it all.
type Store interface {
	store.Stats
	GetCursor(ctx context.Context, key store.SyncKey) (store.Cursor, error)
	ListDead(ctx context.Context, key store.SyncKey, count int) ([]store.DeadLetter, error)
	RetryDead(ctx context.Context, key store.SyncKey, deadID string) (entryID string, err error)
}

// Syncer is this replica's poller (*crmsync.Poller).
type Syncer interface {
	Status() []crmsync.TypeStatus
}

// Phases of a record type beyond the poller's own: PhaseOff when this
// replica runs no sync, PhaseUnknown when its poller does not sync the type.
const (
	PhaseOff     = "off"
	PhaseUnknown = "unknown"
)

// baselinePrefix marks a cursor that is the next page of an unfinished
// baseline (sync/poller.go writes it).
const baselinePrefix = "baseline:"

// Report is everything the page shows, also served as JSON (?format=json).
type Report struct {
	Version   string    `json:"version,omitempty"`
	Replica   string    `json:"replica,omitempty"`
	Generated time.Time `json:"generated"`
	// SyncOn says this replica runs a poller.
	SyncOn bool `json:"sync_on"`

	Links      []PlatformLinks `json:"links"`
	LinksError string          `json:"links_error,omitempty"`

	Types []TypeReport `json:"types"`

	// Dead are the oldest dead letters of every record type (DeadPerType
	// each at most), oldest first within a type.
	Dead []DeadReport `json:"dead"`

	// Errors are the recent warnings and errors, newest first; nil when no
	// Recorder is set.
	Errors []LogEntry `json:"errors"`
}

// PlatformLinks counts the links of one chat platform.
type PlatformLinks struct {
	Platform string `json:"platform"`
	Linked   int64  `json:"linked"`
	Broken   int64  `json:"broken"`
}

// TypeReport is the sync and delivery state of one record type.
type TypeReport struct {
	Org        string `json:"org"`
	RecordType string `json:"record_type"`

	// This replica's poller.
	Phase        string    `json:"phase"`
	Held         bool      `json:"held"`
	BaselineRows int64     `json:"baseline_rows"`
	LastSync     time.Time `json:"last_sync,omitzero"`
	// LagSeconds is the time since LastSync (0 when never synced here).
	LagSeconds  float64   `json:"lag_seconds,omitempty"`
	Enqueued    int64     `json:"enqueued"`
	PausedUntil time.Time `json:"paused_until,omitzero"`
	LastError   string    `json:"last_error,omitempty"`

	// Across replicas (the store).
	Lease LeaseReport `json:"lease"`
	// HasCursor is false before the first commit that stored one.
	HasCursor        bool      `json:"has_cursor"`
	CursorUpdated    time.Time `json:"cursor_updated,omitzero"`
	CursorAgeSeconds float64   `json:"cursor_age_seconds,omitempty"`
	// BaselineInProgress: the cursor is the next page of an unfinished
	// baseline, not a delta position.
	BaselineInProgress bool         `json:"baseline_in_progress"`
	Outbox             OutboxReport `json:"outbox"`
	OldestAgeSeconds   float64      `json:"oldest_age_seconds,omitempty"`

	// Errors are the reads that failed for this type.
	Errors []string `json:"errors,omitempty"`
}

// LeaseReport is store.LeaseInfo for JSON readers.
type LeaseReport struct {
	Holder  string    `json:"holder,omitempty"`
	Fence   int64     `json:"fence,omitempty"`
	Expires time.Time `json:"expires,omitzero"`
}

// OutboxReport is store.OutboxStats for JSON readers.
type OutboxReport struct {
	Depth   int64     `json:"depth"`
	Pending int64     `json:"pending"`
	Dead    int64     `json:"dead"`
	Oldest  time.Time `json:"oldest,omitzero"`
}

// DeadReport is a dead letter with its payload decoded.
type DeadReport struct {
	Org        string    `json:"org"`
	RecordType string    `json:"record_type"`
	ID         string    `json:"id"`
	EntryID    string    `json:"entry_id"`
	DiedAt     time.Time `json:"died_at"`
	Attempts   int64     `json:"attempts"`
	Reason     string    `json:"reason"`
	// Event is the decoded payload; nil when it does not decode
	// (PayloadError says why).
	Event        *Event `json:"event,omitempty"`
	PayloadBytes int    `json:"payload_bytes"`
	PayloadError string `json:"payload_error,omitempty"`
	// Error, set on a record type's first entry only, says its dead
	// letters could not be listed (ID is empty then).
	Error string `json:"error,omitempty"`
}

// Event is the human part of an assignment payload (bot.Assignment).
type Event struct {
	RecordType   string `json:"record_type"`
	RecordID     string `json:"record_id"`
	Kind         string `json:"kind"` // "new", "reassigned", "unassigned"
	SystemUserID string `json:"system_user_id"`
	By           string `json:"by,omitempty"`
	Team         string `json:"team,omitempty"`
}

// Event kinds.
const (
	KindNew        = "new"
	KindReassigned = "reassigned"
	KindUnassigned = "unassigned"
)

func kindName(k cards.NotificationKind) string {
	switch k {
	case cards.AssignedNew:
		return KindNew
	case cards.AssignedExisting:
		return KindReassigned
	default:
		return KindUnassigned
	}
}

// gather reads every source within ctx. A failing source is reported in its
// part of the Report; gather itself never fails.
func (h *Handler) gather(ctx context.Context, loc i18n.Localizer) Report {
	now := h.Now()
	rep := Report{Version: h.Version, Replica: h.Replica, Generated: now, SyncOn: h.Syncer != nil, Links: []PlatformLinks{}}
	if h.Recorder != nil {
		rep.Errors = h.Recorder.Entries()
	}

	var polled map[string]crmsync.TypeStatus
	if h.Syncer != nil {
		polled = map[string]crmsync.TypeStatus{}
		for _, s := range h.Syncer.Status() {
			polled[s.RecordType] = s
		}
	}

	rep.Types = make([]TypeReport, len(h.Keys))
	dead := make([][]DeadReport, len(h.Keys))
	var wg gosync.WaitGroup
	wg.Go(func() {
		counts, err := h.Store.LinkCounts(ctx)
		if err != nil {
			rep.LinksError = h.readError(ctx, loc, "link counts", err)
			return
		}
		for p, c := range counts {
			rep.Links = append(rep.Links, PlatformLinks{Platform: p, Linked: c.Linked, Broken: c.Broken})
		}
		slices.SortFunc(rep.Links, func(a, b PlatformLinks) int { return strings.Compare(a.Platform, b.Platform) })
	})
	for i, key := range h.Keys {
		wg.Go(func() { rep.Types[i], dead[i] = h.typeReport(ctx, loc, now, key, polled) })
	}
	wg.Wait()
	for _, d := range dead {
		rep.Dead = append(rep.Dead, d...)
	}
	return rep
}

// typeReport reads one SyncKey's state and dead letters.
func (h *Handler) typeReport(ctx context.Context, loc i18n.Localizer, now time.Time, key store.SyncKey, polled map[string]crmsync.TypeStatus) (TypeReport, []DeadReport) {
	t := TypeReport{Org: key.Org, RecordType: key.RecordType, Phase: PhaseOff}
	if polled != nil {
		t.Phase = PhaseUnknown
		if s, ok := polled[key.RecordType]; ok {
			t.Phase, t.Held, t.BaselineRows, t.Enqueued = s.Phase, s.Held, s.Baseline, s.Enqueued
			t.LastSync, t.PausedUntil, t.LastError = s.LastSync, s.PausedUntil, s.LastError
			if !s.LastSync.IsZero() {
				t.LagSeconds = seconds(now.Sub(s.LastSync))
			}
		}
	}
	fail := func(what string, err error) {
		t.Errors = append(t.Errors, h.readError(ctx, loc, what+" of "+key.String(), err))
	}

	if lease, err := h.Store.Lease(ctx, key); err != nil {
		fail("lease", err)
	} else {
		t.Lease = LeaseReport(lease)
	}
	switch cur, err := h.Store.GetCursor(ctx, key); {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		fail("cursor", err)
	default:
		t.HasCursor, t.CursorUpdated = true, cur.UpdatedAt
		t.CursorAgeSeconds = seconds(now.Sub(cur.UpdatedAt))
		t.BaselineInProgress = strings.HasPrefix(cur.Token, baselinePrefix)
	}
	if ob, err := h.Store.OutboxStats(ctx, key); err != nil {
		fail("outbox stats", err)
	} else {
		t.Outbox = OutboxReport(ob)
		if !ob.Oldest.IsZero() {
			t.OldestAgeSeconds = seconds(now.Sub(ob.Oldest))
		}
	}

	var dead []DeadReport
	letters, err := h.Store.ListDead(ctx, key, h.DeadPerType)
	if err != nil {
		msg := h.readError(ctx, loc, "dead letters of "+key.String(), err)
		t.Errors = append(t.Errors, msg)
		return t, []DeadReport{{Org: key.Org, RecordType: key.RecordType, Error: msg}}
	}
	for _, l := range letters {
		d := DeadReport{Org: key.Org, RecordType: key.RecordType, ID: l.ID, EntryID: l.EntryID, DiedAt: l.DiedAt,
			Attempts: l.Attempts, Reason: l.Reason, PayloadBytes: len(l.Payload)}
		if a, err := bot.DecodeAssignment(l.Payload); err != nil {
			d.PayloadError = truncate(err.Error(), 200)
		} else {
			d.Event = &Event{RecordType: a.RecordType, RecordID: a.RecordID, Kind: kindName(a.Kind),
				SystemUserID: a.SystemUserID, By: a.By, Team: a.Team}
		}
		dead = append(dead, d)
	}
	return t, dead
}

// readError logs a failed read and returns what the page shows of it.
func (h *Handler) readError(ctx context.Context, loc i18n.Localizer, what string, err error) string {
	h.Logger.WarnContext(ctx, "status: read failed", "what", what, "err", err, "timed_out", ctx.Err() != nil)
	msg := truncate(err.Error(), 300)
	if ctx.Err() != nil {
		msg += " " + loc.T(i18n.StatusReadTimedOut, i18n.Args{"seconds": int(ReadTimeout / time.Second)})
	}
	return msg
}

func seconds(d time.Duration) float64 {
	if d < 0 {
		return 0
	}
	return d.Round(time.Second).Seconds()
}
