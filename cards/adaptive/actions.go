package adaptive

import (
	"fmt"
	"net/url"
	"strconv"

	"github.com/crmbot/crmbot/cards"
)

// defaultOpenLabel titles the Open in Dynamics button when the view gives no
// label: the product's name needs no translation.
const defaultOpenLabel = "Dynamics 365"

// action renders one button (see the package doc for the mapping).
func (r *renderer) action(a cards.Action) (obj, error) {
	if a.Label == "" {
		return nil, fmt.Errorf("action %q: no label: %w", a.ID, ErrInvalid)
	}
	title := truncate(a.Label, maxActionTitle)
	var o obj
	switch {
	case a.URL != "" && a.ID != "":
		return nil, fmt.Errorf("action %q: both id and URL: %w", a.ID, ErrInvalid)
	case a.URL != "":
		if err := checkURL(a.URL); err != nil {
			return nil, fmt.Errorf("action %q: %w", a.Label, err)
		}
		o = obj{{"type", "Action.OpenUrl"}, {"title", title}, {"url", a.URL}}
	case a.ID == "":
		return nil, fmt.Errorf("action %q: neither id nor URL: %w", a.Label, ErrInvalid)
	case r.dialog:
		o = obj{{"type", "Action.Submit"}, {"title", title}, {"data", r.submitData(a.ID, a.Value)}}
	case a.Dialog:
		o = obj{{"type", "Action.Submit"}, {"title", title}, {"data", obj{
			{"msteams", obj{{"type", "task/fetch"}}},
			{"verb", a.ID},
			{"value", a.Value},
		}}}
	default:
		o = obj{{"type", "Action.Execute"}, {"title", title}, {"verb", a.ID}, {"data", obj{{"value", a.Value}}}}
	}
	switch a.Style {
	case cards.StylePrimary:
		o = o.set("style", "positive")
	case cards.StyleDanger:
		o = o.set("style", "destructive")
	}
	return o, nil
}

// checkURL accepts absolute http(s) URLs only: Teams opens nothing else.
func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("URL %s: not an absolute http(s) URL: %w", strconv.Quote(truncate(s, 80)), ErrInvalid)
	}
	return nil
}

// openAction is the "Open in Dynamics" button (nil when there is no URL).
func openAction(rawURL, label string) *cards.Action {
	if rawURL == "" {
		return nil
	}
	if label == "" {
		label = defaultOpenLabel
	}
	return &cards.Action{URL: rawURL, Label: label}
}

// actions renders buttons.
func (r *renderer) actions(as []cards.Action) ([]obj, error) {
	out := make([]obj, 0, len(as))
	for _, a := range as {
		o, err := r.action(a)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// actionSet is an ActionSet element of rendered buttons.
func actionSet(as []obj) obj {
	return obj{{"type", "ActionSet"}, {"actions", as}}
}

// foot places a card's buttons, with open (may be nil) last: at the card's
// foot in one row (see row) when they fit in one (MaxActions, overflow
// included: the adaptivecards library counts both), else as rows of
// MaxActions appended to the body, so none is lost and the order holds.
func (r *renderer) foot(c *Card, as []cards.Action, open *cards.Action) error {
	if open != nil {
		as = append(as[:len(as):len(as)], *open)
	}
	if len(as) <= MaxActions {
		rendered, err := r.row(as)
		if err != nil {
			return err
		}
		c.actions = rendered
		return nil
	}
	for start := 0; start < len(as); start += MaxActions {
		rendered, err := r.row(as[start:min(start+MaxActions, len(as))])
		if err != nil {
			return err
		}
		c.body = append(c.body, actionSet(rendered))
	}
	return nil
}

// row renders one row of buttons. Up to MaxVisibleActions show as
// buttons; the others get "mode": "secondary" (Adaptive Cards 1.5), which
// puts them in the row's "…" overflow menu, so that no label is cut and
// none is lost. Which ones stay visible: the positive ones (StylePrimary:
// resolve, win, qualify, complete…) first, then the others in the view's
// order; the JSON keeps the view's order either way.
func (r *renderer) row(as []cards.Action) ([]obj, error) {
	rendered, err := r.actions(as)
	if err != nil || len(rendered) <= MaxVisibleActions {
		return rendered, err
	}
	visible := make([]bool, len(as))
	n := 0
	for _, positive := range []bool{true, false} {
		for i, a := range as {
			if n < MaxVisibleActions && !visible[i] && (!positive || a.Style == cards.StylePrimary) {
				visible[i] = true
				n++
			}
		}
	}
	for i := range rendered {
		if !visible[i] {
			rendered[i] = rendered[i].set("mode", "secondary")
		}
	}
	return rendered, nil
}
