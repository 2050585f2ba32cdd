package slack

import (
	"strings"
	"unicode/utf8"

	goslack "github.com/slack-go/slack"

	"github.com/crmbot/crmbot/cards"
)

// Slack's limits (reference/slack.md, "Limits"), in characters (runes).
const (
	MaxMessageBlocks   = 50
	MaxModalBlocks     = 100
	MaxModalText       = 24 // modal title, submit, close
	MaxHeaderText      = 150
	MaxSectionText     = 3000
	MaxFieldText       = 2000
	MaxFields          = 10
	MaxActionsElements = 25
	MaxButtonText      = 75
	MaxButtonValue     = 2000
	MaxURL             = 3000
	MaxOptions         = 100
	MaxOptionText      = 75
	MaxOptionValue     = 150
	MaxPlaceholder     = 150
	MaxLabel           = 2000 // input label and hint
	MaxContextElements = 10
	MaxContextText     = 3000 // not in reference/slack.md; Slack's text object limit
	MaxPrivateMetadata = 3000
	MaxID              = 255 // callback_id, block_id, action_id, external_id
	MaxTextInput       = 3000
)

// ellipsis marks a truncated text.
const ellipsis = cards.Ellipsis

// truncate is cards.Truncate.
func truncate(s string, max int) string { return cards.Truncate(s, max) }

// escapeRune is the mrkdwn escape of one rune ("" when it needs none).
func escapeRune(r rune) string {
	switch r {
	case '&':
		return "&amp;"
	case '<':
		return "&lt;"
	case '>':
		return "&gt;"
	}
	return ""
}

// escape makes user text safe for mrkdwn: Slack's control characters &, <
// and > become entities, so no text can forge a link or a mention.
func escape(s string) string {
	return escapeFit(s, -1)
}

// escapeFit escapes s for mrkdwn and truncates the result to max runes
// (max < 0: no limit) with "…", never cutting an entity in half.
func escapeFit(s string, max int) string {
	if max == 0 {
		return ""
	}
	var b strings.Builder
	n := 0 // runes written
	// Whether everything fits decides whether the last rune is kept for "…".
	full := 0
	for _, r := range s {
		if e := escapeRune(r); e != "" {
			full += len(e)
		} else {
			full++
		}
	}
	limit := max
	if max >= 0 && full > max {
		limit = max - 1 // room for "…"
	}
	for _, r := range s {
		e := escapeRune(r)
		w := 1
		if e != "" {
			w = len(e)
		}
		if limit >= 0 && n+w > limit {
			b.WriteString(ellipsis)
			return b.String()
		}
		if e != "" {
			b.WriteString(e)
		} else {
			b.WriteRune(r)
		}
		n += w
	}
	return b.String()
}

// plain is a plain_text object, truncated to max.
func plain(s string, max int) *goslack.TextBlockObject {
	return &goslack.TextBlockObject{Type: goslack.PlainTextType, Text: truncate(s, max)}
}

// mrkdwn is a mrkdwn object whose text is already escaped and fitted.
func mrkdwn(s string) *goslack.TextBlockObject {
	// verbatim: Slack turns no URL, @here or #channel of user text into a link.
	return &goslack.TextBlockObject{Type: goslack.MarkdownType, Text: s, Verbatim: true}
}

// labelled is "*Label*\nValue" in mrkdwn, escaped and fitted to max: the
// label keeps at most half the room, the value takes the rest.
func labelled(label, value string, max int) string {
	if label == "" {
		return escapeFit(value, max)
	}
	l := "*" + escapeFit(label, max/2) + "*"
	if value == "" {
		return l
	}
	return l + "\n" + escapeFit(value, max-utf8.RuneCountInString(l)-1)
}

// bold is "*text*" in mrkdwn, escaped and fitted to max.
func bold(s string, max int) string {
	return "*" + escapeFit(s, max-2) + "*"
}
