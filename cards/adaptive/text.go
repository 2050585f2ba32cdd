package adaptive

import (
	"strings"

	"github.com/crmbot/crmbot/cards"
)

// Fixed caps on short texts, in runes, whatever the size budget: Teams cuts
// them visually anyway, and they keep one runaway label from eating a card.
const (
	maxTitle       = 200 // card, item and group titles, labels, fact titles
	maxActionTitle = 60  // button titles
	maxChoiceTitle = 200 // a choice's shown label
)

// ellipsis marks a truncated text.
const ellipsis = cards.Ellipsis

// truncate is cards.Truncate.
func truncate(s string, max int) string { return cards.Truncate(s, max) }

// markdownEscaper backslash-escapes the characters Teams' TextBlock and
// FactSet markdown acts on, so user text can neither forge a link nor turn
// bold: TextBlock has no plain-text mode in 1.5.
var markdownEscaper = strings.NewReplacer(
	`\`, `\\`, `*`, `\*`, `_`, `\_`, `[`, `\[`, `]`, `\]`, "`", "\\`",
)

// md makes user text safe for a markdown-rendered property, truncated to max
// runes first (so an escape is never cut in half).
func md(s string, max int) string {
	return markdownEscaper.Replace(truncate(s, max))
}

// textBlock is a wrapping TextBlock of already-escaped text, with extra
// properties (weight, size, color…).
func textBlock(text string, props ...kv) obj {
	o := obj{{"type", "TextBlock"}, {"text", text}, {"wrap", true}}
	return append(o, props...)
}

// toneColor is the TextBlock color of a tone ("" for the default).
func toneColor(t cards.Tone) string {
	switch t {
	case cards.ToneSuccess:
		return "good"
	case cards.ToneWarning:
		return "warning"
	case cards.ToneError:
		return "attention"
	}
	return ""
}

// more marks dropped content: language-neutral, since the renderer has no
// localized strings of its own.
func more() obj {
	return textBlock(ellipsis, kv{"isSubtle", true}, kv{"spacing", "none"})
}
