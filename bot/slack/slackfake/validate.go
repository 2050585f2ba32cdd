package slackfake

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

type surface int

const (
	surfaceMessage surface = iota
	surfaceModal
	surfaceHome
)

// Block Kit limits (docs.slack.dev/reference/block-kit).
const (
	maxMessageBlocks   = 50
	maxViewBlocks      = 100
	maxModalTitle      = 24
	maxHeaderText      = 150
	maxSectionText     = 3000
	maxSectionFields   = 10
	maxFieldText       = 2000
	maxActionElements  = 25
	maxID              = 255
	maxPrivateMetadata = 3000
	maxSelectOptions   = 100
	maxOptionText      = 75
	maxLabelText       = 2000
)

// errTooLong formats a Slack-style validation message.
func errMsg(ptr, format string, args ...any) string {
	return fmt.Sprintf("[ERROR] %s [json-pointer:%s]", fmt.Sprintf(format, args...), ptr)
}

func runes(s string) int { return utf8.RuneCountInString(s) }

func textOf(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["text"].(string)
	return s
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

// validateBlocks checks a blocks array like Slack does for the surface and
// returns Slack-style error messages (nil when valid).
func validateBlocks(raw json.RawMessage, sf surface, ptr string) []string {
	var sb slack.Blocks
	if err := json.Unmarshal(raw, &sb); err != nil {
		return []string{errMsg(ptr, "invalid blocks format: %v", err)}
	}
	var blocks []map[string]any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return []string{errMsg(ptr, "must be an array of block objects")}
	}
	var msgs []string
	add := func(p, f string, a ...any) { msgs = append(msgs, errMsg(p, f, a...)) }
	limit := maxViewBlocks
	if sf == surfaceMessage {
		limit = maxMessageBlocks
	}
	if len(blocks) > limit {
		add(ptr, "no more than %d items allowed", limit)
	}
	seen := map[string]bool{}
	for i, b := range blocks {
		bp := fmt.Sprintf("%s/%d", ptr, i)
		typ := str(b, "type")
		if typ == "" {
			add(bp+"/type", "missing required field: type")
			continue
		}
		if id := str(b, "block_id"); id != "" {
			if runes(id) > maxID {
				add(bp+"/block_id", "must be less than %d characters", maxID+1)
			}
			if seen[id] {
				add(bp+"/block_id", "duplicate block_id %q", id)
			}
			seen[id] = true
		}
		switch typ {
		case "section":
			if t := textOf(b["text"]); runes(t) > maxSectionText {
				add(bp+"/text/text", "must be less than %d characters", maxSectionText+1)
			}
			fields, _ := b["fields"].([]any)
			if len(fields) > maxSectionFields {
				add(bp+"/fields", "no more than %d items allowed", maxSectionFields)
			}
			for j, f := range fields {
				if runes(textOf(f)) > maxFieldText {
					add(fmt.Sprintf("%s/fields/%d/text", bp, j), "must be less than %d characters", maxFieldText+1)
				}
			}
			if b["text"] == nil && len(fields) == 0 {
				add(bp, "must provide either text or fields")
			}
			if acc, ok := b["accessory"].(map[string]any); ok {
				msgs = append(msgs, validateElement(acc, bp+"/accessory")...)
			}
		case "header":
			t := textOf(b["text"])
			if t == "" {
				add(bp+"/text", "missing required field: text")
			}
			if runes(t) > maxHeaderText {
				add(bp+"/text/text", "must be less than %d characters", maxHeaderText+1)
			}
		case "actions":
			els, _ := b["elements"].([]any)
			if len(els) == 0 {
				add(bp+"/elements", "must provide at least 1 item")
			}
			if len(els) > maxActionElements {
				add(bp+"/elements", "no more than %d items allowed", maxActionElements)
			}
			for j, e := range els {
				em, _ := e.(map[string]any)
				msgs = append(msgs, validateElement(em, fmt.Sprintf("%s/elements/%d", bp, j))...)
			}
		case "input":
			// Slack renders input blocks in messages, but a message has no
			// submit button: only a dispatching input (Enter sends
			// block_actions) can ever reach the app, so the fake refuses
			// the others as the mistake they are.
			if sf == surfaceMessage && b["dispatch_action"] != true {
				add(bp+"/type", "input blocks in messages must set dispatch_action (a message has no submit button)")
			}
			if l := textOf(b["label"]); l == "" {
				add(bp+"/label", "missing required field: label")
			} else if runes(l) > maxLabelText {
				add(bp+"/label/text", "must be less than %d characters", maxLabelText+1)
			}
			em, ok := b["element"].(map[string]any)
			if !ok {
				add(bp+"/element", "missing required field: element")
			} else {
				msgs = append(msgs, validateElement(em, bp+"/element")...)
			}
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > 10 {
				add(bp+"/elements", "must provide between 1 and 10 items")
			}
		}
	}
	return msgs
}

// validateElement checks an interactive element.
func validateElement(e map[string]any, ptr string) []string {
	var msgs []string
	add := func(p, f string, a ...any) { msgs = append(msgs, errMsg(p, f, a...)) }
	if e == nil {
		return []string{errMsg(ptr, "must be an object")}
	}
	if runes(str(e, "action_id")) > maxID {
		add(ptr+"/action_id", "must be less than %d characters", maxID+1)
	}
	switch str(e, "type") {
	case "button":
		if t := textOf(e["text"]); t == "" {
			add(ptr+"/text", "missing required field: text")
		} else if runes(t) > 75 {
			add(ptr+"/text/text", "must be less than 76 characters")
		}
		if runes(str(e, "value")) > 2000 {
			add(ptr+"/value", "must be less than 2001 characters")
		}
	case "static_select", "multi_static_select", "overflow", "radio_buttons", "checkboxes":
		opts, _ := e["options"].([]any)
		groups, _ := e["option_groups"].([]any)
		if len(opts) == 0 && len(groups) == 0 {
			add(ptr+"/options", "must provide at least 1 item")
		}
		max := maxSelectOptions
		if str(e, "type") == "overflow" {
			max = 5
		}
		if len(opts) > max {
			add(ptr+"/options", "no more than %d items allowed", max)
		}
		for j, o := range opts {
			om, _ := o.(map[string]any)
			if runes(textOf(om["text"])) > maxOptionText {
				add(fmt.Sprintf("%s/options/%d/text/text", ptr, j), "must be less than %d characters", maxOptionText+1)
			}
			if runes(str(om, "value")) > 150 {
				add(fmt.Sprintf("%s/options/%d/value", ptr, j), "must be less than 151 characters")
			}
		}
	}
	return msgs
}

// validateView checks a modal or Home tab view definition.
func validateView(v map[string]any, want surface) []string {
	var msgs []string
	add := func(p, f string, a ...any) { msgs = append(msgs, errMsg(p, f, a...)) }
	typ := str(v, "type")
	switch {
	case want == surfaceModal && typ != "modal":
		add("/view/type", "must be modal")
	case want == surfaceHome && typ != "home":
		add("/view/type", "must be home")
	}
	if want == surfaceModal {
		title := textOf(v["title"])
		if title == "" {
			add("/view/title", "missing required field: title")
		}
		for _, k := range []string{"title", "submit", "close"} {
			if runes(textOf(v[k])) > maxModalTitle {
				add("/view/"+k+"/text", "must be less than %d characters", maxModalTitle+1)
			}
			if m, ok := v[k].(map[string]any); ok && str(m, "type") != "plain_text" {
				add("/view/"+k+"/type", "must be plain_text")
			}
		}
	}
	if runes(str(v, "private_metadata")) > maxPrivateMetadata {
		add("/view/private_metadata", "must be less than %d characters", maxPrivateMetadata+1)
	}
	if runes(str(v, "callback_id")) > maxID {
		add("/view/callback_id", "must be less than %d characters", maxID+1)
	}
	if runes(str(v, "external_id")) > maxID {
		add("/view/external_id", "must be less than %d characters", maxID+1)
	}
	raw, _ := json.Marshal(v["blocks"])
	if v["blocks"] == nil {
		add("/view/blocks", "missing required field: blocks")
	} else {
		msgs = append(msgs, validateBlocks(raw, want, "/view/blocks")...)
	}
	if want == surfaceModal && v["submit"] == nil {
		var blocks []map[string]any
		_ = json.Unmarshal(raw, &blocks)
		for _, b := range blocks {
			if str(b, "type") == "input" {
				add("/view/submit", "submit is required when an input block is within the blocks array")
				break
			}
		}
	}
	return msgs
}
