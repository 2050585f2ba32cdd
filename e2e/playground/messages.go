package playground

import (
	"encoding/json"
	"strings"
)

// Stream actions the playground pushes on /_ws_conversation/v1/conversations/stream.
const (
	ActionCreateMessage = "createMessage" // the bot sent a message (POST …/activities, create-conversation with an activity)
	ActionUpdateMessage = "updateMessage" // the bot updated one (PUT …/activities/{id})
	ActionTyping        = "typing"        // the bot sent a typing activity
)

// CardContentType is an Adaptive Card attachment's content type.
const CardContentType = "application/vnd.microsoft.card.adaptive"

// Message is one event of the playground's conversation stream, decoded:
// {"action":"createMessage","actionConversationId":"…","message":{"messageId":…}}.
type Message struct {
	Action         string `json:"action"`
	ConversationID string `json:"actionConversationId"`
	Message        struct {
		ID          string       `json:"messageId"`
		Timestamp   int64        `json:"timestamp"`
		From        Account      `json:"from"`
		Text        string       `json:"text"`
		TextFormat  string       `json:"textFormat"`
		Attachments []Attachment `json:"attachments"`
	} `json:"message"`
	// Raw is the event as the playground sent it.
	Raw json.RawMessage `json:"-"`
}

// Attachment is a message attachment; Content is the card's JSON.
type Attachment struct {
	ContentType string          `json:"contentType"`
	Content     json.RawMessage `json:"content"`
}

// ID is the message id the connector returned to the bot (the activity id to
// reply to, update, or invoke on).
func (m Message) ID() string { return m.Message.ID }

// Card is the first Adaptive Card of the message, decoded; nil if none.
func (m Message) Card() *Card {
	for _, a := range m.Message.Attachments {
		if a.ContentType == CardContentType {
			return ParseCard(a.Content)
		}
	}
	return nil
}

// Contains reports whether the message's text or any of its cards' texts
// contains s.
func (m Message) Contains(s string) bool {
	if strings.Contains(m.Message.Text, s) {
		return true
	}
	for _, a := range m.Message.Attachments {
		if c := ParseCard(a.Content); c != nil && strings.Contains(c.Text(), s) {
			return true
		}
	}
	return false
}

// Card is an Adaptive Card as a generic JSON tree, with the lookups tests need.
type Card struct {
	JSON map[string]any
}

// ParseCard decodes an Adaptive Card; nil if raw is not a JSON object.
func ParseCard(raw json.RawMessage) *Card {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil || m == nil {
		return nil
	}
	return &Card{JSON: m}
}

// Text is every TextBlock, TextRun, FactSet fact and input label of the card,
// one per line, in document order.
func (c *Card) Text() string {
	var b strings.Builder
	add := func(v any) {
		if s, ok := v.(string); ok && s != "" {
			b.WriteString(s)
			b.WriteByte('\n')
		}
	}
	walk(c.JSON, func(n map[string]any) {
		switch t, _ := n["type"].(string); {
		case t == "TextBlock" || t == "TextRun":
			add(n["text"])
		case t == "": // a fact or a choice
			add(n["title"])
			add(n["value"])
		case strings.HasPrefix(t, "Input."):
			add(n["label"])
		}
	})
	return b.String()
}

// Action is an Adaptive Card action found by Card.Action.
type Action struct {
	Type  string         `json:"type"`
	Title string         `json:"title"`
	Verb  string         `json:"verb,omitempty"`
	Data  map[string]any `json:"data,omitempty"`
}

// Action finds the first action titled title anywhere in the card (actions,
// ActionSets, selectActions, ShowCards); ok is false if there is none.
func (c *Card) Action(title string) (a Action, ok bool) {
	walk(c.JSON, func(n map[string]any) {
		t, _ := n["type"].(string)
		if ok || !strings.HasPrefix(t, "Action.") || n["title"] != title {
			return
		}
		a.Type, a.Title = t, title
		a.Verb, _ = n["verb"].(string)
		a.Data, _ = n["data"].(map[string]any)
		ok = true
	})
	return a, ok
}

// walk calls f on every JSON object under v, parents first.
func walk(v any, f func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		f(v)
		for _, k := range sortedKeys(v) {
			walk(v[k], f)
		}
	case []any:
		for _, e := range v {
			walk(e, f)
		}
	}
}

// sortedKeys lists the keys of m that hold card elements, "body" before
// "actions" so Text reads top to bottom (data payloads are not walked).
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for _, k := range []string{"body", "items", "columns", "facts", "choices", "inlines", "actions", "selectAction", "card"} {
		if _, ok := m[k]; ok {
			keys = append(keys, k)
		}
	}
	return keys
}
