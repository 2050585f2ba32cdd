// Package cards holds the platform-neutral views the conversation core
// answers with, and (in cards/slack and cards/adaptive) their two
// renderings: Slack Block Kit and Adaptive Cards 1.5.
//
// A view says what to show, never how: texts are plain, already localized
// strings (renderers escape them for their markup); actions carry an id the
// core routes and an opaque value it gave. Platform limits (block counts,
// text lengths, option counts, metadata and card sizes) are the renderers'
// job and are enforced there, never left to luck: a view may hold more
// than a platform can show, and the renderer truncates with "…" and keeps
// an "Open in Dynamics" way out.
package cards

import (
	"strings"
	"time"
)

// View is one of Message, List, Detail, Form, Confirmation, Notification.
type View interface{ isView() }

func (*Message) isView()      {}
func (*List) isView()         {}
func (*Detail) isView()       {}
func (*Form) isView()         {}
func (*Confirmation) isView() {}
func (*Notification) isView() {}

// Tone colours a message or a notice.
type Tone int

// Tones.
const (
	ToneInfo Tone = iota
	ToneSuccess
	ToneWarning
	ToneError
)

// Style of a button.
type Style int

// Button styles.
const (
	StyleDefault Style = iota
	StylePrimary
	StyleDanger
)

// Action is a button. Exactly one of ID (routed back to the core with
// Value) or URL (opened in the browser) is set.
type Action struct {
	// ID names what the core does ("open", "edit", "resolve", "page"…). It
	// becomes the Slack action_id / the Adaptive Card action's data.
	ID string
	// Value is the core's opaque payload for the action (a record reference,
	// a flow id, a page cursor). Renderers keep it intact or fail: Slack
	// allows 2000 characters in a button value.
	Value string
	// URL opens a page instead (Open in Dynamics, the link button).
	URL   string
	Label string
	Style Style
	// Dialog: the action opens a form (Slack modal, Teams dialog) rather
	// than acting in place.
	Dialog bool
}

// Field is a label and a formatted value, optionally opening something (a
// related record's detail).
type Field struct {
	Label string
	Value string
	// Open, when set, makes the value a link to another view (a lookup's
	// record detail).
	Open *Action
}

// Message is a short answer: a title, paragraphs, buttons.
type Message struct {
	Tone    Tone
	Title   string // optional
	Text    []string
	Actions []Action
}

// List is a "my records" list with a search box and paging.
type List struct {
	Title string // "My active leads"
	// Summary says where the user is ("1–10 of 37", "No match for …").
	Summary string
	Search  *SearchBox // nil: no search box
	Items   []ListItem
	// Empty is shown instead of items when there are none.
	Empty string
	// Prev and Next page; nil at the ends.
	Prev, Next *Action
	// Actions under the list ("New lead").
	Actions []Action
}

// SearchBox filters a list.
type SearchBox struct {
	ActionID    string // routed with the typed text
	Value       string // the current search text ("" when none)
	Placeholder string
	// State is the core's opaque context for the search (record type, …).
	State string
}

// ListItem is one row: a title that opens the record, and a few fields.
type ListItem struct {
	Title    string
	Subtitle string // e.g. the status or the company
	Fields   []Field
	Open     Action // the row's button ("View")
}

// Detail is one record: key fields in groups, related records, actions.
type Detail struct {
	Title    string // the record's primary name
	Subtitle string // record type and status ("Opportunity · Open")
	Groups   []FieldGroup
	Related  []Related
	// Actions allowed by the record's state (edit, resolve, win, lose…).
	Actions []Action
	// OpenURL is the record in Dynamics; OpenLabel its button text.
	OpenURL, OpenLabel string
}

// FieldGroup is a titled set of fields (title may be empty).
type FieldGroup struct {
	Title  string
	Fields []Field
}

// Related is a titled list of related records (an account's contacts).
type Related struct {
	Title string
	Items []ListItem
	// More opens the full related list when Items is not all of it.
	More *Action
}

// InputKind is a form input's type.
type InputKind int

// Input kinds, from the catalogue's field types.
const (
	InputText InputKind = iota
	InputMultiline
	InputNumber // Value: decimal text, "12.5"
	InputMoney  // Value: decimal text; Currency names the currency symbol
	InputDate   // Value: "2006-01-02"
	InputDateTime
	InputChoice // one of Options
	InputLookup // a record chosen by type-ahead
	InputBool
	InputEmail
	InputPhone
	InputURL
)

// Option is one choice.
type Option struct {
	Value string
	Label string
}

// Input is one form field.
type Input struct {
	// Name is the key the submitted value comes back under (the logical
	// field name).
	Name     string
	Label    string
	Hint     string
	Kind     InputKind
	Required bool
	// Value pre-fills the input, as text (see InputKind); for a lookup, the
	// selected record's Option.Value.
	Value string
	// ValueLabel is the shown label of a pre-filled lookup.
	ValueLabel string
	// Options of a choice; a renderer that cannot show them all as a plain
	// select (Slack: 100) turns to type-ahead.
	Options []Option
	// Lookup is the type-ahead source of a lookup (or a long choice).
	Lookup *LookupSource
	// MaxLength caps text; 0: the platform's limit.
	MaxLength int
	// Min and Max bound numbers (nil: unbounded).
	Min, Max *float64
	// Currency is the money symbol shown with InputMoney ("€").
	Currency string
	// Error is the message shown on this input after a failed submit.
	Error string
}

// LookupSource names the type-ahead search a lookup input asks for.
type LookupSource struct {
	// Dataset names the search ("lookup:account,contact"); the adapter's
	// options / application/search endpoint routes it back to the core.
	Dataset string
	// MinQueryLength before searching (Slack min_query_length).
	MinQueryLength int
}

// Form is an input form (Slack modal, Teams dialog).
type Form struct {
	// ID identifies the flow the submission belongs to (Slack callback_id;
	// Teams: in the submit data).
	ID          string
	Title       string
	SubmitLabel string
	CancelLabel string
	// Intro is an optional paragraph above the inputs.
	Intro string
	// Error is shown above the inputs (a conflict, a Dynamics error that
	// belongs to no field).
	Error  string
	Inputs []Input
	// State is the core's opaque context (a flow session key, an ETag…).
	// Slack carries it in private_metadata (3000 chars): the renderer
	// refuses a larger one; the core keeps bigger state in the store.
	State string
}

// Confirmation asks before an irreversible action.
type Confirmation struct {
	Title   string
	Text    []string
	Confirm Action
	Cancel  Action
}

// NotificationKind is what happened.
type NotificationKind int

// Notification kinds.
const (
	AssignedNew      NotificationKind = iota // a new record assigned to you
	AssignedExisting                         // an existing record reassigned to you
	Unassigned                               // a record that was yours is no longer
)

// Notification is an "assigned to you" card.
type Notification struct {
	Kind NotificationKind
	// Headline says it in a sentence ("Lead assigned to you by Seán").
	Headline string
	// RecordType is the record type's label ("Lead").
	RecordType string
	Title      string // the record's primary name
	Fields     []Field
	Actions    []Action
	OpenURL    string
	OpenLabel  string
	At         time.Time
	// Footer is small print (the time, "Change your notifications in settings").
	Footer string
}

// Title is a view's title, for a dialog's or a modal's title bar: the
// list's, the record's, the form's; a notification's record type. "" when
// the view has none.
func Title(v View) string {
	switch v := v.(type) {
	case *Message:
		return v.Title
	case *List:
		return v.Title
	case *Detail:
		return v.Title
	case *Form:
		return v.Title
	case *Confirmation:
		return v.Title
	case *Notification:
		return v.RecordType
	}
	return ""
}

// Summary is the plain text that stands for a view where only text shows:
// a message's notification toast, screen readers, mobile pushes. A
// notification's record and headline ("Call Ada back: task reassigned to
// you"), an untitled message's text, else the title.
func Summary(v View) string {
	switch v := v.(type) {
	case *Notification:
		if v.Title != "" {
			return v.Title + ": " + v.Headline
		}
		return v.Headline
	case *Message:
		if v.Title == "" {
			return strings.Join(v.Text, "\n")
		}
	}
	return Title(v)
}
