package slack

import (
	"strings"
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

// Values reads a view_submission's state back as text keyed by block_id
// (the Input.Name), in the formats of cards.InputKind: dates "2006-01-02",
// date-times DateTimeLayout in UTC, checkboxes "true"/"false", selects the
// option value, text as typed. Each element is read by the type Slack
// reports for it, so the form itself is not needed: the adapter answers a
// submission from the payload alone. An empty input or a deselected select
// reads as "". Search boxes (dispatching inputs) are not form values and are
// left out.
func Values(state *goslack.ViewState) map[string]string {
	if state == nil {
		return map[string]string{}
	}
	out := make(map[string]string, len(state.Values))
	for blockID, actions := range state.Values {
		if strings.HasPrefix(blockID, SearchBlockPrefix) {
			continue
		}
		// One element per input block; its action_id is the input's name, or
		// the lookup's dataset for a type-ahead select.
		for _, a := range actions {
			out[blockID] = value(a)
			break
		}
	}
	return out
}

func value(a goslack.BlockAction) string {
	switch a.Type {
	case "datepicker":
		return a.SelectedDate
	case "datetimepicker":
		if a.SelectedDateTime == 0 {
			return ""
		}
		return time.Unix(a.SelectedDateTime, 0).UTC().Format(DateTimeLayout)
	case "static_select", "external_select":
		return a.SelectedOption.Value
	case "checkboxes":
		for _, o := range a.SelectedOptions {
			if o.Value == "true" {
				return "true"
			}
		}
		return "false"
	}
	return a.Value
}
