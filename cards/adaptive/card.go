// Package adaptive renders the neutral views of package cards as Adaptive
// Cards 1.5 for Microsoft Teams (reference/teams.md, "Dialogs and cards").
//
// Mapping, in short:
//   - Texts are wrapping TextBlocks; user text is markdown-escaped.
//   - Fields become FactSets. A Field with Open becomes a two-column
//     ColumnSet (label, accent-coloured value) whose selectAction is the
//     Open action, since a FactSet row cannot carry an action.
//   - An Action with a URL is an Action.OpenUrl; with an ID it is an
//     Action.Execute (Universal Actions: the card is replaced in place) with
//     verb = ID and data {"value": Value}; with Dialog set it is an
//     Action.Submit with data {"msteams":{"type":"task/fetch"}, "verb": ID,
//     "value": Value}, which opens a Teams dialog. StylePrimary is
//     "positive", StyleDanger "destructive".
//   - A row of buttons shows up to MaxVisibleActions (the positive ones
//     first, then in the view's order); the others get "mode": "secondary"
//     and go to the row's "…" overflow menu (Adaptive Cards 1.5), so Teams
//     never cuts a label. A card's actions sit at its foot in one row when
//     they are at most MaxActions (overflow included); more become rows
//     (ActionSets) of MaxActions at the end of the body, in order.
//   - A Form is the card of a dialog (the adapter puts Form.Title in the task
//     response's title): see form.go.
//
// Every card's JSON stays within Options.MaxBytes (28 KB by default): when a
// view is larger, the renderer cuts long texts (with "…"), list items,
// related rows and fields, level by level, and always keeps the "Open in
// Dynamics" action. It fails only when what cannot be cut (action values,
// form inputs and state) is itself too large.
package adaptive

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/crmbot/crmbot/cards"
)

// Adaptive Card constants.
const (
	Version     = "1.5"
	Schema      = "http://adaptivecards.io/schemas/adaptive-card.json"
	ContentType = "application/vnd.microsoft.card.adaptive"
)

// MaxBytes is the default size budget of a card's JSON: teams.md says to
// keep a card under ~28 KB; 512 bytes stay free for the attachment envelope.
const MaxBytes = 28*1024 - 512

// MaxActions is the number of buttons in one row (the card's foot or an
// ActionSet), overflow menu included: the adaptivecards host default, which
// its validation enforces. Teams cuts labels well before: MaxVisibleActions.
const MaxActions = 5

// MaxVisibleActions is the number of buttons one row shows; more go to the
// row's overflow menu ("mode": "secondary").
const MaxVisibleActions = 3

// Errors a renderer returns when a view cannot be shown without losing
// meaning. Texts and lists are cut instead; these never are.
var (
	// ErrTooLarge: what cannot be cut (action values, inputs, form state)
	// does not fit in the size budget.
	ErrTooLarge = errors.New("too large for an Adaptive Card")
	// ErrInvalid: the view is malformed (an action with neither id nor URL,
	// a lookup without source, a bad pre-filled date, duplicate input names…).
	ErrInvalid = errors.New("invalid for an Adaptive Card")
)

// Options tune a rendering.
type Options struct {
	// MaxBytes caps the card's JSON (json.Marshal); 0 means MaxBytes.
	MaxBytes int
	// Dialog renders the card for a Teams dialog, where Action.Execute is
	// not supported: every button with an ID becomes an Action.Submit whose
	// data is {"verb": ID, "value": Value} (the dialog sends task/submit
	// with it and the inputs), and the search button likewise.
	Dialog bool
	// Origin, in a dialog, is the id of the message the dialog was opened
	// from: every Action.Submit carries it back (ReadAction,
	// ReadSubmission) so the adapter can update that message in place.
	Origin string
}

// Card is a rendered Adaptive Card 1.5, ready for json.Marshal.
type Card struct {
	body    []obj
	actions []obj
}

// MarshalJSON writes the card with its type, version and schema.
func (c Card) MarshalJSON() ([]byte, error) {
	o := obj{{"type", "AdaptiveCard"}, {"$schema", Schema}, {"version", Version}}
	if len(c.body) > 0 {
		o = o.set("body", c.body)
	} else {
		// An empty body is valid, but Teams shows nothing but buttons.
		o = o.set("body", []obj{})
	}
	if len(c.actions) > 0 {
		o = o.set("actions", c.actions)
	}
	return o.MarshalJSON()
}

// Attachment wraps a card as a Bot Framework attachment (a message's
// attachments, a dialog's task.value.card).
func Attachment(c Card) map[string]any {
	return map[string]any{"contentType": ContentType, "content": c}
}

// limits are how much of a view one rendering attempt keeps.
type limits struct {
	text   int // runes of a paragraph or a field value
	items  int // list items, related rows per group, related groups
	fields int // fields per group, item or notification; paragraphs
}

// levels go from generous to bare; Render takes the first that fits.
var levels = []limits{
	{text: 4000, items: math.MaxInt, fields: math.MaxInt},
	{text: 1000, items: 50, fields: 30},
	{text: 400, items: 25, fields: 20},
	{text: 200, items: 10, fields: 12},
	{text: 100, items: 5, fields: 8},
	{text: 60, items: 2, fields: 5},
	{text: 40, items: 0, fields: 2},
}

// Render renders a view as an Adaptive Card that fits opts.MaxBytes.
func Render(v cards.View, opts Options) (Card, error) {
	max := opts.MaxBytes
	if max <= 0 {
		max = MaxBytes
	}
	size := 0
	for _, lim := range levels {
		r := renderer{lim: lim, dialog: opts.Dialog, origin: opts.Origin}
		c, err := r.view(v)
		if err != nil {
			return Card{}, err
		}
		b, err := json.Marshal(c)
		if err != nil {
			return Card{}, fmt.Errorf("marshal %T: %w", v, err)
		}
		if size = len(b); size <= max {
			return c, nil
		}
	}
	return Card{}, fmt.Errorf("%T: %d bytes once cut to the bone, the budget is %d: %w", v, size, max, ErrTooLarge)
}

// renderer renders one view at one level of limits.
type renderer struct {
	lim    limits
	dialog bool
	origin string
}

// submitData is an Action.Submit's data in a dialog: verb and value, and
// the origin message when there is one.
func (r *renderer) submitData(verb, value string) obj {
	d := obj{{"verb", verb}, {"value", value}}
	if r.origin != "" {
		d = d.set(originKey, r.origin)
	}
	return d
}

func (r *renderer) view(v cards.View) (Card, error) {
	switch v := v.(type) {
	case *cards.Message:
		if v != nil {
			return r.message(v)
		}
	case *cards.List:
		if v != nil {
			return r.list(v)
		}
	case *cards.Detail:
		if v != nil {
			return r.detail(v)
		}
	case *cards.Form:
		if v != nil {
			return r.form(v)
		}
	case *cards.Confirmation:
		if v != nil {
			return r.confirmation(v)
		}
	case *cards.Notification:
		if v != nil {
			return r.notification(v)
		}
	}
	return Card{}, fmt.Errorf("view %T: %w", v, ErrInvalid)
}

// errorf is an ErrInvalid with context.
func errorf(format string, a ...any) error {
	return fmt.Errorf(format+": %w", append(a, ErrInvalid)...)
}
