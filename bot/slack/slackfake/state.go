package slackfake

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SelectOption is a chosen option of a select menu: pass it to
// [Driver.Type] for external selects (whose options the fake cannot know)
// or to pick a static option by value.
type SelectOption struct {
	Value string
	Label string
}

// stateLocked returns view.state.values: block_id → action_id → value.
func (s *Server) stateLocked(v *viewRec, all bool) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, b := range inputBlocks(v.def) {
		bid := str(b, "block_id")
		el, _ := b["element"].(map[string]any)
		if el == nil {
			continue
		}
		typed, has := v.typed[bid]
		if !has && !all {
			continue
		}
		val := map[string]any{"type": str(el, "type")}
		fields := typed
		if !has {
			fields = initialState(el)
		}
		for k, x := range fields {
			val[k] = x
		}
		out[bid] = map[string]any{str(el, "action_id"): val}
	}
	return out
}

// initialState encodes an element's initial value the way Slack reports
// an untouched element in view.state.values.
func initialState(el map[string]any) map[string]any {
	get := func(k string) any {
		if v, ok := el[k]; ok {
			return v
		}
		return nil
	}
	list := func(k string) any {
		if v, ok := el[k].([]any); ok {
			return v
		}
		return []any{}
	}
	switch str(el, "type") {
	case "plain_text_input", "email_text_input", "url_text_input", "number_input":
		v := get("initial_value")
		if v == "" {
			v = nil
		}
		return map[string]any{"value": v}
	case "rich_text_input":
		return map[string]any{"rich_text_value": get("initial_value")}
	case "datepicker":
		return map[string]any{"selected_date": get("initial_date")}
	case "timepicker":
		out := map[string]any{"selected_time": get("initial_time")}
		if tz := str(el, "timezone"); tz != "" {
			out["timezone"] = tz
		}
		return out
	case "datetimepicker":
		return map[string]any{"selected_date_time": get("initial_date_time")}
	case "static_select", "external_select", "radio_buttons":
		return map[string]any{"selected_option": get("initial_option")}
	case "multi_static_select", "multi_external_select", "checkboxes":
		return map[string]any{"selected_options": list("initial_options")}
	case "users_select":
		return map[string]any{"selected_user": get("initial_user")}
	case "multi_users_select":
		return map[string]any{"selected_users": list("initial_users")}
	case "conversations_select":
		return map[string]any{"selected_conversation": get("initial_conversation")}
	case "multi_conversations_select":
		return map[string]any{"selected_conversations": list("initial_conversations")}
	case "channels_select":
		return map[string]any{"selected_channel": get("initial_channel")}
	case "multi_channels_select":
		return map[string]any{"selected_channels": list("initial_channels")}
	case "file_input":
		return map[string]any{"files": []any{}}
	}
	return map[string]any{"value": get("initial_value")}
}

// elementOptions returns the options of an element, flattening groups.
func elementOptions(el map[string]any) []map[string]any {
	var out []map[string]any
	add := func(list any) {
		l, _ := list.([]any)
		for _, o := range l {
			if om, ok := o.(map[string]any); ok {
				out = append(out, om)
			}
		}
	}
	add(el["options"])
	if groups, ok := el["option_groups"].([]any); ok {
		for _, g := range groups {
			if gm, ok := g.(map[string]any); ok {
				add(gm["options"])
			}
		}
	}
	return out
}

// findOption finds an option by label (text) or value.
func findOption(el map[string]any, want string) (map[string]any, bool) {
	for _, o := range elementOptions(el) {
		if textOf(o["text"]) == want {
			return o, true
		}
	}
	for _, o := range elementOptions(el) {
		if str(o, "value") == want {
			return o, true
		}
	}
	return nil, false
}

func optionJSON(o SelectOption) map[string]any {
	label := o.Label
	if label == "" {
		label = o.Value
	}
	return map[string]any{"text": map[string]any{"type": "plain_text", "text": label, "emoji": true}, "value": o.Value}
}

// encodeTyped turns what a user typed or picked into the element's
// view.state.values fields.
func encodeTyped(el map[string]any, value any) (map[string]any, error) {
	typ := str(el, "type")
	strVal := func() (any, error) {
		switch v := value.(type) {
		case nil:
			return nil, nil
		case string:
			if v == "" {
				return nil, nil // Slack sends null for an empty input
			}
			return v, nil
		case int, int64, float64:
			if typ == "number_input" {
				return fmt.Sprint(v), nil
			}
		}
		return nil, fmt.Errorf("slackfake: %s takes a string, got %T", typ, value)
	}
	pick := func(v any) (map[string]any, error) {
		switch v := v.(type) {
		case SelectOption:
			if strings.HasPrefix(typ, "multi_external") || typ == "external_select" {
				return optionJSON(v), nil
			}
			if o, ok := findOption(el, v.Value); ok {
				return o, nil
			}
			return nil, fmt.Errorf("slackfake: no option %q in %s", v.Value, str(el, "action_id"))
		case string:
			if typ == "external_select" || typ == "multi_external_select" {
				return optionJSON(SelectOption{Value: v, Label: v}), nil
			}
			if o, ok := findOption(el, v); ok {
				return o, nil
			}
			return nil, fmt.Errorf("slackfake: no option %q in %s", v, str(el, "action_id"))
		}
		return nil, fmt.Errorf("slackfake: %s takes a string or SelectOption, got %T", typ, v)
	}
	pickMany := func() (any, error) {
		var items []any
		switch v := value.(type) {
		case nil:
		case []string:
			for _, x := range v {
				items = append(items, x)
			}
		case []SelectOption:
			for _, x := range v {
				items = append(items, x)
			}
		default:
			return nil, fmt.Errorf("slackfake: %s takes []string or []SelectOption, got %T", typ, value)
		}
		out := []any{}
		for _, it := range items {
			o, err := pick(it)
			if err != nil {
				return nil, err
			}
			out = append(out, o)
		}
		return out, nil
	}
	strList := func() (any, error) {
		out := []any{}
		switch v := value.(type) {
		case nil:
		case []string:
			for _, x := range v {
				out = append(out, x)
			}
		default:
			return nil, fmt.Errorf("slackfake: %s takes []string, got %T", typ, value)
		}
		return out, nil
	}
	switch typ {
	case "plain_text_input", "email_text_input", "url_text_input", "number_input":
		v, err := strVal()
		return map[string]any{"value": v}, err
	case "datepicker":
		switch v := value.(type) {
		case time.Time:
			return map[string]any{"selected_date": v.Format(time.DateOnly)}, nil
		case string:
			if _, err := time.Parse(time.DateOnly, v); err != nil {
				return nil, fmt.Errorf("slackfake: datepicker takes YYYY-MM-DD: %w", err)
			}
			return map[string]any{"selected_date": v}, nil
		case nil:
			return map[string]any{"selected_date": nil}, nil
		}
	case "timepicker":
		if v, ok := value.(string); ok || value == nil {
			out := map[string]any{"selected_time": nil}
			if v != "" {
				out["selected_time"] = v
			}
			if tz := str(el, "timezone"); tz != "" {
				out["timezone"] = tz
			}
			return out, nil
		}
	case "datetimepicker":
		switch v := value.(type) {
		case time.Time:
			return map[string]any{"selected_date_time": v.Unix()}, nil
		case int64:
			return map[string]any{"selected_date_time": v}, nil
		case int:
			return map[string]any{"selected_date_time": int64(v)}, nil
		case string:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("slackfake: datetimepicker takes unix seconds: %w", err)
			}
			return map[string]any{"selected_date_time": n}, nil
		case nil:
			return map[string]any{"selected_date_time": nil}, nil
		}
	case "static_select", "external_select", "radio_buttons":
		if value == nil {
			return map[string]any{"selected_option": nil}, nil
		}
		o, err := pick(value)
		return map[string]any{"selected_option": o}, err
	case "multi_static_select", "multi_external_select", "checkboxes":
		l, err := pickMany()
		return map[string]any{"selected_options": l}, err
	case "users_select", "conversations_select", "channels_select":
		key := map[string]string{"users_select": "selected_user", "conversations_select": "selected_conversation", "channels_select": "selected_channel"}[typ]
		v, err := strVal()
		return map[string]any{key: v}, err
	case "multi_users_select", "multi_conversations_select", "multi_channels_select":
		key := map[string]string{"multi_users_select": "selected_users", "multi_conversations_select": "selected_conversations", "multi_channels_select": "selected_channels"}[typ]
		l, err := strList()
		return map[string]any{key: l}, err
	default:
		return nil, fmt.Errorf("slackfake: typing into %q is not supported", typ)
	}
	return nil, fmt.Errorf("slackfake: %s cannot take %T", typ, value)
}

// isEmptyState reports whether an encoded state value is empty (for
// required-input checks).
func isEmptyState(fields map[string]any) bool {
	for k, v := range fields {
		if k == "type" || k == "timezone" {
			continue
		}
		switch x := v.(type) {
		case nil:
		case []any:
			if len(x) > 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}
