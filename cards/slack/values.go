package slack

import (
	"time"

	goslack "github.com/slack-go/slack"

	"github.com/crmbot/crmbot/cards"
)

// Errors is the response_action "errors" map for a form whose inputs carry
// errors, keyed by the inputs' block_ids (their names): Slack shows field
// errors only this way. Nil when no input has an error.
func Errors(f *cards.Form) map[string]string {
	var errs map[string]string
	for _, in := range f.Inputs {
		if in.Error == "" {
			continue
		}
		if errs == nil {
			errs = map[string]string{}
		}
		errs[in.Name] = truncate(in.Error, MaxFieldText)
	}
	return errs
}

// Values reads a view_submission's state back as text keyed by
// Input.Name, in the formats of cards.InputKind (dates "2006-01-02",
// date-times DateTimeLayout in UTC, booleans "true"/"false", choices and
// lookups the option value). An input left empty, a deselected select or
// one missing from the state reads as "" (a boolean as "false").
func Values(state *goslack.ViewState, f *cards.Form) map[string]string {
	out := make(map[string]string, len(f.Inputs))
	for _, in := range f.Inputs {
		var a goslack.BlockAction
		if state != nil {
			a = state.Values[in.Name][in.Name]
		}
		out[in.Name] = value(in.Kind, a)
	}
	return out
}

func value(kind cards.InputKind, a goslack.BlockAction) string {
	switch kind {
	case cards.InputDate:
		return a.SelectedDate
	case cards.InputDateTime:
		if a.SelectedDateTime == 0 {
			return ""
		}
		return time.Unix(a.SelectedDateTime, 0).UTC().Format(DateTimeLayout)
	case cards.InputChoice, cards.InputLookup:
		return a.SelectedOption.Value
	case cards.InputBool:
		for _, o := range a.SelectedOptions {
			if o.Value == "true" {
				return "true"
			}
		}
		return "false"
	}
	return a.Value
}
