package slack

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"unicode/utf8"

	goslack "github.com/slack-go/slack"

	"github.com/crmbot/crmbot/cards"
)

// toneEmoji prefixes a message's title (or first line) by its tone.
var toneEmoji = map[cards.Tone]string{
	cards.ToneSuccess: ":white_check_mark: ",
	cards.ToneWarning: ":warning: ",
	cards.ToneError:   ":x: ",
}

// SearchBlockPrefix starts the block_id of a list's search input; the rest
// is the SearchBox.State (see SearchState).
const SearchBlockPrefix = "search:"

// SearchState recovers a SearchBox.State from the block_id of the search
// input a block_actions payload names; ok is false for any other block.
func SearchState(blockID string) (state string, ok bool) {
	state, ok = strings.CutPrefix(blockID, SearchBlockPrefix)
	state, _, _ = strings.Cut(state, searchQuerySep)
	return state, ok
}

// searchQuerySep separates a search block's state from the short hash of
// the query it shows: a list updated with another query gets another
// block_id, so Slack's clients show the new initial_value instead of
// keeping what was typed (block_id is how they match inputs across an
// update). States are URL-encoded, so they never hold it.
const searchQuerySep = "#"

func searchQueryTag(q string) string {
	if q == "" {
		return ""
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(q))
	return searchQuerySep + strconv.FormatUint(uint64(h.Sum32()), 36)
}

func header(s string) goslack.Block {
	return goslack.NewHeaderBlock(plain(s, MaxHeaderText))
}

func contextText(s string) goslack.Block {
	return goslack.NewContextBlock("", plain(s, MaxContextText))
}

func section(text string) *goslack.SectionBlock {
	return goslack.NewSectionBlock(mrkdwn(text), nil, nil)
}

// paragraphUnits packs paragraphs into as few sections as fit 3000
// characters each; a paragraph longer than that is cut.
func paragraphUnits(paras []string, prefix string) []unit {
	var (
		units []unit
		cur   []string
		n     int
	)
	flush := func() {
		if len(cur) > 0 {
			units = append(units, unit{blocks: []goslack.Block{section(strings.Join(cur, "\n\n"))}, rows: len(cur)})
			cur, n = nil, 0
		}
	}
	for i, p := range paras {
		if p == "" {
			continue
		}
		pre := ""
		if i == 0 {
			pre = prefix
		}
		t := pre + escapeFit(p, MaxSectionText-utf8.RuneCountInString(pre))
		w := utf8.RuneCountInString(t)
		if len(cur) > 0 && n+2+w > MaxSectionText {
			flush()
		}
		if len(cur) > 0 {
			n += 2
		}
		cur = append(cur, t)
		n += w
	}
	flush()
	return units
}

// actionsUnits are the pinned rows of buttons ending a view, one unit per
// actions block; open marks the one holding a URL button to openURL.
func actionsUnits(actions []cards.Action, openURL string) ([]unit, error) {
	blocks, err := actionBlocks(actions)
	if err != nil {
		return nil, err
	}
	units := make([]unit, len(blocks))
	for i, b := range blocks {
		u := unit{blocks: []goslack.Block{b}, pinned: true}
		for _, e := range b.(*goslack.ActionBlock).Elements.ElementSet {
			u.rows++
			if openURL != "" && e.(*goslack.ButtonBlockElement).URL == openURL {
				u.open = true
			}
		}
		units[i] = u
	}
	return units, nil
}

func messageUnits(m *cards.Message) ([]unit, error) {
	var units []unit
	prefix := toneEmoji[m.Tone]
	if m.Title != "" {
		units = append(units, pinned(header(prefix+m.Title)))
		prefix = ""
	}
	units = append(units, paragraphUnits(m.Text, prefix)...)
	if len(m.Actions) > 0 {
		us, err := actionsUnits(m.Actions, "")
		if err != nil {
			return nil, fmt.Errorf("message %q: %w", m.Title, err)
		}
		units = append(units, us...)
	}
	return units, nil
}

func confirmationUnits(c *cards.Confirmation) ([]unit, error) {
	var units []unit
	if c.Title != "" {
		units = append(units, pinned(header(c.Title)))
	}
	units = append(units, paragraphUnits(c.Text, "")...)
	us, err := actionsUnits([]cards.Action{c.Confirm, c.Cancel}, "")
	if err != nil {
		return nil, fmt.Errorf("confirmation %q: %w", c.Title, err)
	}
	return append(units, us...), nil
}

// fieldTexts renders fields as mrkdwn "*Label*\nValue" texts and collects
// the buttons of fields that open something.
func fieldTexts(fields []cards.Field) (texts []*goslack.TextBlockObject, opens []cards.Action) {
	for _, f := range fields {
		v := f.Value
		if v == "" {
			v = "–"
		}
		texts = append(texts, mrkdwn(labelled(f.Label, v, MaxFieldText)))
		if f.Open != nil {
			a := *f.Open
			if a.Label == "" {
				a.Label = f.Value
			}
			opens = append(opens, a)
		}
	}
	return texts, opens
}

// fieldSections puts text (mrkdwn, may be "") and fields in sections of at
// most 10 fields; the first section carries the text and the accessory.
func fieldSections(text string, fields []*goslack.TextBlockObject, acc *goslack.Accessory) []*goslack.SectionBlock {
	var out []*goslack.SectionBlock
	for first := true; first || len(fields) > 0; first = false {
		n := min(MaxFields, len(fields))
		s := goslack.NewSectionBlock(nil, fields[:n:n], nil)
		fields = fields[n:]
		if first {
			if text != "" {
				s.Text = mrkdwn(text)
			}
			s.Accessory = acc
		}
		if s.Text == nil && len(s.Fields) == 0 {
			// A section needs text or fields.
			s.Text = mrkdwn("–")
		}
		out = append(out, s)
	}
	return out
}

// itemUnit renders a list row: title and subtitle, fields, a View button.
func itemUnit(it cards.ListItem) (unit, error) {
	var acc *goslack.Accessory
	if it.Open.ID != "" || it.Open.URL != "" {
		b, err := button(it.Open, idSet{})
		if err != nil {
			return unit{}, fmt.Errorf("item %q: %w", it.Title, err)
		}
		acc = goslack.NewAccessory(b)
	}
	text := bold(it.Title, MaxSectionText/2)
	if it.Title == "" {
		text = ""
	}
	if it.Subtitle != "" {
		if text != "" {
			text += "\n"
		}
		text += escapeFit(it.Subtitle, MaxSectionText-utf8.RuneCountInString(text))
	}
	fields, opens := fieldTexts(it.Fields)
	u := unit{rows: 1}
	for _, s := range fieldSections(text, fields, acc) {
		u.blocks = append(u.blocks, s)
	}
	if len(opens) > 0 {
		bs, err := actionBlocks(opens)
		if err != nil {
			return unit{}, fmt.Errorf("item %q: %w", it.Title, err)
		}
		u.blocks = append(u.blocks, bs...)
	}
	return u, nil
}

func listUnits(l *cards.List) ([]unit, error) {
	var units []unit
	if l.Title != "" {
		units = append(units, pinned(header(l.Title)))
	}
	if l.Summary != "" {
		units = append(units, pinned(contextText(l.Summary)))
	}
	if sb := l.Search; sb != nil {
		b, err := searchInput(sb)
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", l.Title, err)
		}
		units = append(units, pinned(b))
	}
	if len(l.Items) == 0 && l.Empty != "" {
		units = append(units, pinned(section(escapeFit(l.Empty, MaxSectionText))))
	}
	for _, it := range l.Items {
		u, err := itemUnit(it)
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", l.Title, err)
		}
		units = append(units, u)
	}
	var row []cards.Action
	if l.Prev != nil {
		row = append(row, *l.Prev)
	}
	if l.Next != nil {
		row = append(row, *l.Next)
	}
	row = append(row, l.Actions...)
	if len(row) > 0 {
		us, err := actionsUnits(row, "")
		if err != nil {
			return nil, fmt.Errorf("list %q: %w", l.Title, err)
		}
		units = append(units, us...)
	}
	return units, nil
}

// searchInput is a dispatching text input: Enter sends a block_actions
// payload with the text, action_id = SearchBox.ActionID and block_id =
// SearchBlockPrefix + SearchBox.State.
func searchInput(sb *cards.SearchBox) (goslack.Block, error) {
	if sb.ActionID == "" {
		return nil, fmt.Errorf("search box: no action id: %w", ErrInvalid)
	}
	if err := checkLen("search action id", sb.ActionID, MaxID); err != nil {
		return nil, err
	}
	blockID := SearchBlockPrefix + sb.State + searchQueryTag(sb.Value)
	if err := checkLen("search state", blockID, MaxID); err != nil {
		return nil, err
	}
	el := goslack.NewPlainTextInputBlockElement(nil, sb.ActionID)
	if sb.Placeholder != "" {
		el.Placeholder = plain(sb.Placeholder, MaxPlaceholder)
	}
	el.InitialValue = truncate(sb.Value, MaxTextInput)
	el.DispatchActionConfig = &goslack.DispatchActionConfig{TriggerActionsOn: []string{"on_enter_pressed"}}
	label := sb.Placeholder
	if label == "" {
		label = "🔍"
	}
	in := goslack.NewInputBlock(blockID, plain(label, MaxLabel), nil, el)
	in.DispatchAction = true
	in.Optional = true
	return in, nil
}

func detailUnits(d *cards.Detail, opts Options) ([]unit, error) {
	var units []unit
	if d.Title != "" {
		units = append(units, pinned(header(d.Title)))
	}
	if d.Subtitle != "" {
		units = append(units, pinned(contextText(d.Subtitle)))
	}
	for _, g := range d.Groups {
		text := ""
		if g.Title != "" {
			text = bold(g.Title, MaxSectionText)
		}
		if len(g.Fields) == 0 {
			continue
		}
		fields, opens := fieldTexts(g.Fields)
		for i, s := range fieldSections(text, fields, nil) {
			n := min(MaxFields, len(g.Fields)-i*MaxFields)
			units = append(units, unit{blocks: []goslack.Block{s}, rows: n})
		}
		if len(opens) > 0 {
			bs, err := actionBlocks(opens)
			if err != nil {
				return nil, fmt.Errorf("detail %q group %q: %w", d.Title, g.Title, err)
			}
			units = append(units, unit{blocks: bs, rows: len(opens)})
		}
	}
	for _, r := range d.Related {
		if len(r.Items) == 0 && r.More == nil {
			continue
		}
		var title []goslack.Block
		title = append(title, goslack.NewDividerBlock())
		if r.Title != "" {
			title = append(title, section(bold(r.Title, MaxSectionText)))
		}
		for i, it := range r.Items {
			u, err := itemUnit(it)
			if err != nil {
				return nil, fmt.Errorf("detail %q related %q: %w", d.Title, r.Title, err)
			}
			if i == 0 {
				// A related title is never left without its first row.
				u.blocks = append(title, u.blocks...)
				title = nil
			}
			units = append(units, u)
		}
		if r.More != nil {
			bs, err := actionBlocks([]cards.Action{*r.More})
			if err != nil {
				return nil, fmt.Errorf("detail %q related %q: %w", d.Title, r.Title, err)
			}
			units = append(units, unit{blocks: append(title, bs...), rows: 1})
		}
	}
	actions := d.Actions
	if d.OpenURL != "" {
		actions = append(actions[:len(actions):len(actions)], cards.Action{URL: d.OpenURL, Label: opts.openLabel(d.OpenLabel)})
	}
	if len(actions) > 0 {
		us, err := actionsUnits(actions, d.OpenURL)
		if err != nil {
			return nil, fmt.Errorf("detail %q: %w", d.Title, err)
		}
		units = append(units, us...)
	}
	return units, nil
}

func notificationUnits(n *cards.Notification, opts Options) ([]unit, error) {
	var units []unit
	if n.Headline != "" {
		units = append(units, pinned(header(n.Headline)))
	}
	text := ""
	if n.Title != "" {
		text = bold(n.Title, MaxSectionText/2)
	}
	if n.RecordType != "" {
		if text != "" {
			text += "\n"
		}
		text += escapeFit(n.RecordType, MaxSectionText-utf8.RuneCountInString(text))
	}
	fields, opens := fieldTexts(n.Fields)
	for i, s := range fieldSections(text, fields, nil) {
		units = append(units, unit{blocks: []goslack.Block{s}, rows: len(s.Fields), pinned: i == 0})
	}
	actions := append(opens, n.Actions...)
	if n.OpenURL != "" {
		actions = append(actions, cards.Action{URL: n.OpenURL, Label: opts.openLabel(n.OpenLabel)})
	}
	if len(actions) > 0 {
		us, err := actionsUnits(actions, n.OpenURL)
		if err != nil {
			return nil, fmt.Errorf("notification %q: %w", n.Title, err)
		}
		units = append(units, us...)
	}
	var small []goslack.MixedElement
	if !n.At.IsZero() {
		// Slack shows the date in the reader's own time zone.
		fallback := n.At.UTC().Format("2006-01-02 15:04 UTC")
		small = append(small, mrkdwn(fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", n.At.Unix(), fallback)))
	}
	if n.Footer != "" {
		small = append(small, plain(n.Footer, MaxContextText))
	}
	if len(small) > 0 {
		units = append(units, pinned(goslack.NewContextBlock("", small...)))
	}
	return units, nil
}
