package adaptive

import "github.com/crmbot/crmbot/cards"

// fields renders fields in order: runs of plain fields as FactSets, a field
// with Open as a ColumnSet (label, accent value) whose selectAction is the
// Open action. At most r.lim.fields are kept; a cut ends with "…".
func (r *renderer) fields(fs []cards.Field) ([]obj, error) {
	var out []obj
	var facts []obj
	flush := func() {
		if len(facts) > 0 {
			out = append(out, obj{{"type", "FactSet"}, {"facts", facts}})
			facts = nil
		}
	}
	for i, f := range fs {
		if i == r.lim.fields {
			flush()
			out = append(out, more())
			break
		}
		if f.Open == nil {
			facts = append(facts, obj{{"title", md(f.Label, maxTitle)}, {"value", md(f.Value, r.lim.text)}})
			continue
		}
		flush()
		sel, err := r.action(*f.Open)
		if err != nil {
			return nil, err
		}
		out = append(out, obj{
			{"type", "ColumnSet"},
			{"columns", []obj{
				{{"type", "Column"}, {"width", 1}, {"items", []obj{textBlock(md(f.Label, maxTitle), kv{"weight", "bolder"})}}},
				{{"type", "Column"}, {"width", 2}, {"items", []obj{textBlock(md(f.Value, r.lim.text), kv{"color", "accent"})}}},
			}},
			{"selectAction", sel},
			{"spacing", "small"},
		})
	}
	flush()
	return out, nil
}
