package adaptive

import "github.com/crmbot/crmbot/cards"

// SearchInputID is the id of a list card's search box: the typed text comes
// back under this key in the Action.Execute data.
const SearchInputID = "search"

// searchTitle is the search button's title: the view gives no label for it,
// and a glyph needs no translation.
const searchTitle = "🔍"

// paragraphs renders texts as TextBlocks, at most r.lim.fields of them.
func (r *renderer) paragraphs(texts []string, props ...kv) []obj {
	var out []obj
	for i, t := range texts {
		if i == r.lim.fields {
			out = append(out, more())
			break
		}
		out = append(out, textBlock(md(t, r.lim.text), props...))
	}
	return out
}

// heading is a card's title in a size ("medium", "large").
func heading(s, size string, props ...kv) obj {
	return textBlock(md(s, maxTitle), append([]kv{{"size", size}, {"weight", "bolder"}}, props...)...)
}

func (r *renderer) message(m *cards.Message) (Card, error) {
	var c Card
	color := toneColor(m.Tone)
	if m.Title != "" {
		t := heading(m.Title, "medium")
		if color != "" {
			t = t.set("color", color)
		}
		c.body = append(c.body, t)
	}
	var props []kv
	if m.Title == "" && color != "" {
		props = append(props, kv{"color", color}) // no title to carry the tone
	}
	c.body = append(c.body, r.paragraphs(m.Text, props...)...)
	return c, r.foot(&c, m.Actions, nil)
}

func (r *renderer) confirmation(m *cards.Confirmation) (Card, error) {
	var c Card
	if m.Title != "" {
		c.body = append(c.body, heading(m.Title, "medium"))
	}
	c.body = append(c.body, r.paragraphs(m.Text)...)
	return c, r.foot(&c, []cards.Action{m.Confirm, m.Cancel}, nil)
}

// item is a list row: title, subtitle, fields and its "View" button.
func (r *renderer) item(it cards.ListItem) (obj, error) {
	items := []obj{textBlock(md(it.Title, maxTitle), kv{"weight", "bolder"})}
	if it.Subtitle != "" {
		items = append(items, textBlock(md(it.Subtitle, maxTitle), kv{"isSubtle", true}, kv{"spacing", "none"}))
	}
	fs, err := r.fields(it.Fields)
	if err != nil {
		return nil, err
	}
	items = append(items, fs...)
	open, err := r.action(it.Open)
	if err != nil {
		return nil, err
	}
	items = append(items, actionSet([]obj{open}))
	return obj{{"type", "Container"}, {"items", items}, {"separator", true}}, nil
}

// items renders rows, at most r.lim.items of them; a cut ends with "…".
func (r *renderer) items(its []cards.ListItem) ([]obj, error) {
	var out []obj
	for i, it := range its {
		if i == r.lim.items {
			out = append(out, more())
			break
		}
		o, err := r.item(it)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func (r *renderer) search(s *cards.SearchBox) (obj, error) {
	if s.ActionID == "" {
		return nil, errorf("search box: no action id")
	}
	in := obj{{"type", "Input.Text"}, {"id", SearchInputID}}
	if s.Placeholder != "" {
		in = in.set("placeholder", truncate(s.Placeholder, maxTitle))
	}
	if s.Value != "" {
		in = in.set("value", s.Value)
	}
	button := obj{{"type", "Action.Execute"}, {"title", searchTitle}, {"verb", s.ActionID}, {"data", obj{{"value", s.State}}}}
	if r.dialog {
		button = obj{{"type", "Action.Submit"}, {"title", searchTitle}, {"data", r.submitData(s.ActionID, s.State)}}
	}
	return obj{{"type", "ColumnSet"}, {"columns", []obj{
		{{"type", "Column"}, {"width", "stretch"}, {"items", []obj{in}}},
		{{"type", "Column"}, {"width", "auto"}, {"items", []obj{actionSet([]obj{button})}}},
	}}}, nil
}

func (r *renderer) list(l *cards.List) (Card, error) {
	var c Card
	if l.Title != "" {
		c.body = append(c.body, heading(l.Title, "medium"))
	}
	if l.Summary != "" {
		c.body = append(c.body, textBlock(md(l.Summary, maxTitle), kv{"isSubtle", true}, kv{"spacing", "none"}))
	}
	if l.Search != nil {
		s, err := r.search(l.Search)
		if err != nil {
			return Card{}, err
		}
		c.body = append(c.body, s)
	}
	if len(l.Items) == 0 && l.Empty != "" {
		c.body = append(c.body, textBlock(md(l.Empty, r.lim.text), kv{"isSubtle", true}))
	}
	its, err := r.items(l.Items)
	if err != nil {
		return Card{}, err
	}
	c.body = append(c.body, its...)
	var paging []cards.Action
	for _, p := range []*cards.Action{l.Prev, l.Next} {
		if p != nil {
			paging = append(paging, *p)
		}
	}
	if len(paging) > 0 {
		ps, err := r.actions(paging)
		if err != nil {
			return Card{}, err
		}
		c.body = append(c.body, actionSet(ps).set("separator", true))
	}
	return c, r.foot(&c, l.Actions, nil)
}

func (r *renderer) detail(d *cards.Detail) (Card, error) {
	var c Card
	c.body = append(c.body, heading(d.Title, "large"))
	if d.Subtitle != "" {
		c.body = append(c.body, textBlock(md(d.Subtitle, maxTitle), kv{"isSubtle", true}, kv{"spacing", "none"}))
	}
	for _, g := range d.Groups {
		if g.Title != "" {
			c.body = append(c.body, textBlock(md(g.Title, maxTitle), kv{"weight", "bolder"}, kv{"separator", true}))
		}
		fs, err := r.fields(g.Fields)
		if err != nil {
			return Card{}, err
		}
		c.body = append(c.body, fs...)
	}
	for i, rel := range d.Related {
		if i == r.lim.items {
			c.body = append(c.body, more())
			break
		}
		c.body = append(c.body, textBlock(md(rel.Title, maxTitle), kv{"weight", "bolder"}, kv{"separator", true}, kv{"spacing", "large"}))
		its, err := r.items(rel.Items)
		if err != nil {
			return Card{}, err
		}
		c.body = append(c.body, its...)
		if rel.More != nil {
			m, err := r.action(*rel.More)
			if err != nil {
				return Card{}, err
			}
			c.body = append(c.body, actionSet([]obj{m}))
		}
	}
	return c, r.foot(&c, d.Actions, openAction(d.OpenURL, d.OpenLabel))
}

func (r *renderer) notification(n *cards.Notification) (Card, error) {
	var c Card
	if n.Headline != "" {
		h := textBlock(md(n.Headline, maxTitle))
		if n.Kind == cards.Unassigned {
			h = h.set("isSubtle", true)
		}
		c.body = append(c.body, h)
	}
	if n.RecordType != "" {
		c.body = append(c.body, textBlock(md(n.RecordType, maxTitle), kv{"size", "small"}, kv{"isSubtle", true}, kv{"spacing", "medium"}))
	}
	c.body = append(c.body, heading(n.Title, "large", kv{"spacing", "none"}))
	fs, err := r.fields(n.Fields)
	if err != nil {
		return Card{}, err
	}
	c.body = append(c.body, fs...)
	if n.Footer != "" {
		c.body = append(c.body, textBlock(md(n.Footer, r.lim.text), kv{"size", "small"}, kv{"isSubtle", true}, kv{"spacing", "medium"}))
	}
	return c, r.foot(&c, n.Actions, openAction(n.OpenURL, n.OpenLabel))
}
