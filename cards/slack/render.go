// Package slack renders the neutral views of package cards as Slack Block
// Kit, using slack-go's types: Blocks for message surfaces, Modal and
// ModalOf for modals, Errors and Values for view submissions.
//
// Every Slack limit in reference/slack.md is enforced here. Texts are cut
// with "…" (counted in runes); when a view has more rows than the surface
// holds blocks, the overflow is dropped and a context line plus an "Open in
// Dynamics" button end the view. What cannot be cut without losing meaning
// (a button value, an id, a form's state, an input) fails with ErrTooLarge.
//
// User text is escaped for mrkdwn (&, <, > become entities) or sent as
// plain_text, so no record name can forge a link or a mention.
//
// The package shares its name with slack-go's; this package imports that
// one as goslack, and callers may import this one as slackcards.
package slack

import (
	"fmt"
	"strconv"

	goslack "github.com/slack-go/slack"

	"github.com/crmbot/crmbot/cards"
)

// Options tune what the renderer adds of its own. The zero value works.
type Options struct {
	// OpenLabel labels the "Open in Dynamics" button the renderer adds when
	// it cuts a view whose own label is empty. Default "Open in Dynamics".
	OpenLabel string
	// OpenURL is where that button goes when the view has no URL of its own
	// (a List). Empty: a cut list only gets the context line.
	OpenURL string
	// More is the context line's text when n rows (list items, related
	// records, fields, paragraphs, buttons) were left out. Default
	// "n more not shown." — set it to localize.
	More func(n int) string
	// CloseLabel labels a modal's close button when the view has none of
	// its own. Default: Slack's ("Cancel").
	CloseLabel string
	// InlineErrors shows each input's Error in the modal itself, under the
	// input. Slack shows field errors natively only in answer to the
	// submission (response_action "errors", see Errors); a form whose
	// result comes later (after a "Saving…" view) needs them inline.
	InlineErrors bool
	// SearchLabel labels the submit button of a modal showing a list with
	// a search box. Default "Search".
	SearchLabel string
}

func (o Options) openLabel(own string) string {
	switch {
	case own != "":
		return own
	case o.OpenLabel != "":
		return o.OpenLabel
	}
	return "Open in Dynamics"
}

func (o Options) more(n int) string {
	if o.More != nil {
		return o.More(n)
	}
	return strconv.Itoa(n) + " more not shown."
}

// Blocks renders a message-surface view (Message, List, Detail,
// Confirmation, Notification) in at most 50 blocks. A Form needs a modal:
// use Modal.
func Blocks(v cards.View, opts Options) ([]goslack.Block, error) {
	return render(v, opts, MaxMessageBlocks)
}

func render(v cards.View, opts Options, max int) ([]goslack.Block, error) {
	var (
		units   []unit
		openURL string
		open    string
		err     error
	)
	switch v := v.(type) {
	case *cards.Message:
		units, err = messageUnits(v)
	case *cards.List:
		units, err = listUnits(v)
		openURL = opts.OpenURL
	case *cards.Detail:
		units, err = detailUnits(v, opts)
		openURL, open = v.OpenURL, v.OpenLabel
	case *cards.Confirmation:
		units, err = confirmationUnits(v)
	case *cards.Notification:
		units, err = notificationUnits(v, opts)
		openURL, open = v.OpenURL, v.OpenLabel
	case *cards.Form:
		return nil, fmt.Errorf("render form %q in a message: use Modal: %w", v.ID, ErrInvalid)
	case nil:
		return nil, fmt.Errorf("render nil view: %w", ErrInvalid)
	default:
		return nil, fmt.Errorf("render %T: %w", v, ErrInvalid)
	}
	if err != nil {
		return nil, err
	}
	return fit(units, max, openURL, opts.openLabel(open), opts)
}

// unit is a run of blocks kept or dropped together.
type unit struct {
	blocks []goslack.Block
	// rows is what the unit shows, as counted by Options.More.
	rows int
	// pinned units (title, actions) are kept before any other.
	pinned bool
	// open: the unit holds the view's own "Open in Dynamics" button.
	open bool
}

func pinned(blocks ...goslack.Block) unit { return unit{blocks: blocks, pinned: true} }

// fit keeps the units within max blocks. Pinned units go first; the others
// are kept as a prefix (never a gap in a list). If anything is dropped, a
// context line saying how much and, unless a kept unit already has it, an
// "Open in Dynamics" button to openURL end the view.
func fit(units []unit, max int, openURL, openLabel string, opts Options) ([]goslack.Block, error) {
	total := 0
	for _, u := range units {
		total += len(u.blocks)
	}
	if total <= max {
		return flatten(units, nil), nil
	}
	footer := 1
	if openURL != "" {
		footer = 2
	}
	budget := max - footer
	keep := make([]bool, len(units))
	used := 0
	for _, pass := range []bool{true, false} {
		for i, u := range units {
			if u.pinned != pass {
				continue
			}
			if used+len(u.blocks) > budget {
				break
			}
			keep[i] = true
			used += len(u.blocks)
		}
	}
	hidden, hasOpen := 0, false
	for i, u := range units {
		if !keep[i] {
			hidden += max1(u.rows)
		} else if u.open {
			hasOpen = true
		}
	}
	var kept []unit
	for i, u := range units {
		if keep[i] {
			kept = append(kept, u)
		}
	}
	tail := []goslack.Block{goslack.NewContextBlock("", plain(opts.more(hidden), MaxContextText))}
	if openURL != "" && !hasOpen {
		b, err := button(cards.Action{URL: openURL, Label: openLabel}, idSet{})
		if err != nil {
			return nil, err
		}
		tail = append(tail, goslack.NewActionBlock("", b))
	}
	return flatten(kept, tail), nil
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

func flatten(units []unit, tail []goslack.Block) []goslack.Block {
	var out []goslack.Block
	for _, u := range units {
		out = append(out, u.blocks...)
	}
	return append(out, tail...)
}
