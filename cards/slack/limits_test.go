package slack

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	goslack "github.com/slack-go/slack"

	"github.com/crmbot/crmbot/cards"
)

// checker walks rendered JSON generically and reports every Slack limit
// (reference/slack.md) it breaks. The limits are spelled out as numbers
// here, not taken from the package's constants, so a wrong constant fails.
type checker struct {
	t    *testing.T
	path []string
}

func (c *checker) errorf(format string, args ...any) {
	c.t.Helper()
	c.t.Errorf("%s: %s", strings.Join(c.path, "."), fmt.Sprintf(format, args...))
}

func runes(v any) int {
	s, _ := v.(string)
	return utf8.RuneCountInString(s)
}

// text checks a text object: type, non-empty, valid UTF-8, within max.
func (c *checker) text(name string, v any, max int) {
	c.t.Helper()
	if v == nil {
		return
	}
	obj, ok := v.(map[string]any)
	if !ok {
		c.errorf("%s is not a text object: %v", name, v)
		return
	}
	s, _ := obj["text"].(string)
	switch {
	case obj["type"] != "plain_text" && obj["type"] != "mrkdwn":
		c.errorf("%s: type %v", name, obj["type"])
	case s == "":
		c.errorf("%s: empty text", name)
	case !utf8.ValidString(s):
		c.errorf("%s: invalid UTF-8 %q", name, s)
	case runes(s) > max:
		c.errorf("%s: %d characters > %d", name, runes(s), max)
	}
}

func (c *checker) maxLen(name string, v any, max int) {
	c.t.Helper()
	if runes(v) > max {
		c.errorf("%s: %d characters > %d", name, runes(v), max)
	}
}

func (c *checker) blocks(raw []any, max int) {
	c.t.Helper()
	if len(raw) > max {
		c.errorf("%d blocks > %d", len(raw), max)
	}
	blockIDs := map[string]bool{}
	for i, b := range raw {
		c.path = append(c.path, fmt.Sprintf("blocks[%d]", i))
		blk := b.(map[string]any)
		if id, _ := blk["block_id"].(string); id != "" {
			if blockIDs[id] {
				c.errorf("block_id %q twice", id)
			}
			blockIDs[id] = true
			c.maxLen("block_id", id, 255)
		}
		c.block(blk)
		c.path = c.path[:len(c.path)-1]
	}
}

func (c *checker) block(b map[string]any) {
	c.t.Helper()
	switch b["type"] {
	case "header":
		c.text("header", b["text"], 150)
	case "section":
		if b["text"] == nil && b["fields"] == nil {
			c.errorf("section with neither text nor fields")
		}
		c.text("section text", b["text"], 3000)
		fields, _ := b["fields"].([]any)
		if len(fields) > 10 {
			c.errorf("%d fields > %d", len(fields), 10)
		}
		for _, f := range fields {
			c.text("field", f, 2000)
		}
		if acc, ok := b["accessory"].(map[string]any); ok {
			c.element(acc, map[string]bool{})
		}
	case "actions":
		els, _ := b["elements"].([]any)
		if len(els) == 0 || len(els) > 25 {
			c.errorf("%d elements in an actions block (1..%d)", len(els), 25)
		}
		ids := map[string]bool{}
		for _, e := range els {
			c.element(e.(map[string]any), ids)
		}
	case "context":
		els, _ := b["elements"].([]any)
		if len(els) == 0 || len(els) > 10 {
			c.errorf("%d elements in a context block (1..%d)", len(els), 10)
		}
		for _, e := range els {
			c.text("context", e, 3000)
		}
	case "input":
		c.text("label", b["label"], 2000)
		c.text("hint", b["hint"], 2000)
		if b["block_id"] == nil {
			c.errorf("input without block_id")
		}
		c.element(b["element"].(map[string]any), map[string]bool{})
	case "divider":
	default:
		c.errorf("unexpected block type %v", b["type"])
	}
}

func (c *checker) element(e map[string]any, ids map[string]bool) {
	c.t.Helper()
	if id, _ := e["action_id"].(string); id != "" {
		if ids[id] {
			c.errorf("action_id %q twice in a block", id)
		}
		ids[id] = true
		c.maxLen("action_id", id, 255)
	}
	c.text("placeholder", e["placeholder"], 150)
	switch e["type"] {
	case "button":
		c.text("button", e["text"], 75)
		c.maxLen("button value", e["value"], 2000)
		c.maxLen("button url", e["url"], 3000)
	case "static_select", "checkboxes":
		opts, _ := e["options"].([]any)
		if len(opts) == 0 || len(opts) > 100 {
			c.errorf("%d options (1..%d)", len(opts), 100)
		}
		for _, o := range opts {
			c.option(o)
		}
		if e["initial_option"] != nil {
			c.option(e["initial_option"])
		}
	case "external_select":
		if e["options"] != nil {
			c.errorf("external_select with options")
		}
		if e["initial_option"] != nil {
			c.option(e["initial_option"])
		}
	case "plain_text_input":
		if ml, ok := e["max_length"].(float64); ok && ml > 3000 {
			c.errorf("max_length %v > %d", ml, 3000)
		}
		if ml, ok := e["max_length"].(float64); ok {
			c.maxLen("initial_value", e["initial_value"], int(ml))
		}
	case "number_input", "datepicker", "datetimepicker", "email_text_input", "url_text_input":
	default:
		c.errorf("unexpected element type %v", e["type"])
	}
}

func (c *checker) option(o any) {
	c.t.Helper()
	m := o.(map[string]any)
	c.text("option", m["text"], 75)
	c.maxLen("option value", m["value"], 150)
}

// checkBlocks asserts rendered message blocks respect every limit.
func checkBlocks(t *testing.T, blocks []goslack.Block) []any {
	t.Helper()
	raw, err := json.Marshal(goslack.Blocks{BlockSet: blocks})
	if err != nil {
		t.Fatal(err)
	}
	var generic []any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	(&checker{t: t}).blocks(generic, 50)
	return generic
}

// checkModal asserts a rendered modal respects every limit.
func checkModal(t *testing.T, m goslack.ModalViewRequest) map[string]any {
	t.Helper()
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	c := &checker{t: t, path: []string{"modal"}}
	c.text("title", generic["title"], 24)
	c.text("submit", generic["submit"], 24)
	c.text("close", generic["close"], 24)
	c.maxLen("private_metadata", generic["private_metadata"], 3000)
	c.maxLen("callback_id", generic["callback_id"], 255)
	blocks, _ := generic["blocks"].([]any)
	c.blocks(blocks, 100)
	return generic
}

func long(s string, n int) string {
	return strings.Repeat(s, n)
}

// huge is 5000 characters mixing accents, multi-byte runes and characters
// that escape to 4–5 characters.
var huge = long("é&<€>😀a", 5000/7+1)

func oversizedItem(i int) cards.ListItem {
	fields := make([]cards.Field, 23)
	for j := range fields {
		fields[j] = cards.Field{Label: huge, Value: huge}
	}
	return cards.ListItem{
		Title: huge, Subtitle: huge, Fields: fields,
		Open: cards.Action{ID: "open", Value: long("v", MaxButtonValue), Label: huge},
	}
}

func manyActions(n int) []cards.Action {
	a := make([]cards.Action, n)
	for i := range a {
		a[i] = cards.Action{ID: "act", Value: fmt.Sprint(i), Label: huge}
	}
	return a
}

func oversizedViews() map[string]cards.View {
	items := make([]cards.ListItem, 200)
	for i := range items {
		items[i] = oversizedItem(i)
	}
	small := make([]cards.ListItem, 200)
	for i := range small {
		small[i] = cards.ListItem{Title: fmt.Sprint("Lead ", i), Open: cards.Action{ID: "open", Value: fmt.Sprint(i), Label: "View"}}
	}
	fields := make([]cards.Field, 150)
	for i := range fields {
		fields[i] = cards.Field{Label: huge, Value: huge, Open: &cards.Action{ID: "open", Value: "x", Label: huge}}
	}
	paras := make([]string, 120)
	for i := range paras {
		paras[i] = huge
	}
	return map[string]cards.View{
		"message":              &cards.Message{Tone: cards.ToneError, Title: huge, Text: paras, Actions: manyActions(40)},
		"message many actions": &cards.Message{Text: []string{"x"}, Actions: manyActions(2000)},
		"list": &cards.List{Title: huge, Summary: huge, Items: items,
			Search: &cards.SearchBox{ActionID: "search", Value: huge, Placeholder: huge, State: long("s", 200)},
			Prev:   &cards.Action{ID: "page", Value: "p", Label: huge}, Next: &cards.Action{ID: "page", Value: "n", Label: huge},
			Actions: manyActions(40)},
		"list small items": &cards.List{Title: "Leads", Items: small},
		"detail": &cards.Detail{Title: huge, Subtitle: huge,
			Groups:  []cards.FieldGroup{{Title: huge, Fields: fields}, {Title: huge, Fields: fields}},
			Related: []cards.Related{{Title: huge, Items: items, More: &cards.Action{ID: "more", Value: "m", Label: huge}}},
			Actions: manyActions(40), OpenURL: "https://org.crm.dynamics.com/x", OpenLabel: huge},
		"confirmation": &cards.Confirmation{Title: huge, Text: paras,
			Confirm: cards.Action{ID: "ok", Value: "v", Label: huge}, Cancel: cards.Action{ID: "no", Label: huge}},
		"notification": &cards.Notification{Headline: huge, RecordType: huge, Title: huge, Fields: fields,
			Actions: manyActions(40), OpenURL: "https://org.crm.dynamics.com/x", Footer: huge},
	}
}

func TestLimitsOversizedViews(t *testing.T) {
	opts := Options{OpenURL: "https://org.crm.dynamics.com/leads"}
	for name, v := range oversizedViews() {
		t.Run(name, func(t *testing.T) {
			blocks, err := Blocks(v, opts)
			if err != nil {
				t.Fatalf("Blocks: %v", err)
			}
			generic := checkBlocks(t, blocks)
			if len(generic) < 3 {
				t.Fatalf("only %d blocks", len(generic))
			}
			m, err := ModalOf(v, opts)
			if err != nil {
				t.Fatalf("ModalOf: %v", err)
			}
			checkModal(t, m)
		})
	}
}

// TestLimitsCutEndsWithWayOut: a cut view ends with the "N more" context
// line and a button to Dynamics, and shows rows as a prefix (no gaps).
func TestLimitsCutEndsWithWayOut(t *testing.T) {
	v := oversizedViews()["list small items"].(*cards.List)
	opts := Options{OpenURL: "https://org.crm.dynamics.com/leads", OpenLabel: "Ouvrir dans Dynamics",
		More: func(n int) string { return fmt.Sprintf("%d autres non affichés.", n) }}
	blocks, err := Blocks(v, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != MaxMessageBlocks {
		t.Fatalf("%d blocks, want the full %d", len(blocks), MaxMessageBlocks)
	}
	// header + 47 items + context + open button
	for i, b := range blocks[1:48] {
		s := b.(*goslack.SectionBlock)
		if want := fmt.Sprintf("*Lead %d*", i); s.Text.Text != want {
			t.Fatalf("row %d: %q, want %q", i, s.Text.Text, want)
		}
	}
	ctx := blocks[48].(*goslack.ContextBlock)
	if got := ctx.ContextElements.Elements[0].(*goslack.TextBlockObject).Text; got != "153 autres non affichés." {
		t.Errorf("context line %q", got)
	}
	btn := blocks[49].(*goslack.ActionBlock).Elements.ElementSet[0].(*goslack.ButtonBlockElement)
	if btn.URL != opts.OpenURL || btn.Text.Text != "Ouvrir dans Dynamics" {
		t.Errorf("open button %+v", btn)
	}

	m, err := ModalOf(v, opts)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.Blocks.BlockSet); n != MaxModalBlocks {
		t.Errorf("modal: %d blocks, want %d", n, MaxModalBlocks)
	}
}

// TestLimitsDetailKeepsOwnOpenButton: a cut detail keeps its actions row
// (with its own Open in Dynamics button) and adds no second one.
func TestLimitsDetailKeepsOwnOpenButton(t *testing.T) {
	d := oversizedViews()["detail"].(*cards.Detail)
	blocks, err := Blocks(d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	urls := 0
	for _, b := range blocks {
		if a, ok := b.(*goslack.ActionBlock); ok {
			for _, e := range a.Elements.ElementSet {
				if e.(*goslack.ButtonBlockElement).URL == d.OpenURL {
					urls++
				}
			}
		}
	}
	if urls != 1 {
		t.Errorf("%d Open in Dynamics buttons, want 1", urls)
	}
	if _, ok := blocks[len(blocks)-1].(*goslack.ContextBlock); !ok {
		t.Errorf("last block %T, want the context line", blocks[len(blocks)-1])
	}
}

func oversizedForm() *cards.Form {
	opts := make([]cards.Option, 150)
	for i := range opts {
		opts[i] = cards.Option{Value: fmt.Sprint(i), Label: huge}
	}
	few := opts[:100]
	return &cards.Form{
		ID: "f", Title: huge, SubmitLabel: huge, CancelLabel: huge, Intro: huge, Error: huge,
		State: long("s", MaxPrivateMetadata),
		Inputs: []cards.Input{
			{Name: "a", Label: huge, Hint: huge, Kind: cards.InputText},
			{Name: "b", Label: huge, Kind: cards.InputChoice, Options: opts, Value: "120",
				Lookup: &cards.LookupSource{Dataset: "choice:b", MinQueryLength: 1}},
			{Name: "c", Label: huge, Kind: cards.InputChoice, Options: few, Value: "99"},
			{Name: "d", Label: huge, Kind: cards.InputLookup, Value: "x", ValueLabel: huge, Lookup: &cards.LookupSource{Dataset: "d"}},
			{Name: "e", Label: huge, Kind: cards.InputBool},
			{Name: "f", Label: huge, Kind: cards.InputMultiline, MaxLength: 5000, Value: long("x", 3000)},
		},
	}
}

func TestLimitsOversizedForm(t *testing.T) {
	f := oversizedForm()
	m, err := Modal(f, Options{})
	if err != nil {
		t.Fatalf("Modal: %v", err)
	}
	generic := checkModal(t, m)
	blocks := generic["blocks"].([]any)
	el := func(name string) map[string]any {
		for _, b := range blocks {
			if b.(map[string]any)["block_id"] == name {
				return b.(map[string]any)["element"].(map[string]any)
			}
		}
		t.Fatalf("no input %q", name)
		return nil
	}
	if b := el("b"); b["type"] != "external_select" || b["min_query_length"] != 1.0 {
		t.Errorf("150 options: %v, want external_select with min_query_length 1", b)
	}
	if c := el("c"); c["type"] != "static_select" {
		t.Errorf("100 options: %v, want static_select", c["type"])
	}
}

func TestLimitsErrors(t *testing.T) {
	cases := map[string]struct {
		render func() error
		want   error
	}{
		"state 4000": {func() error {
			f := oversizedForm()
			f.State = long("s", 4000)
			_, err := Modal(f, Options{})
			return err
		}, ErrTooLarge},
		"callback id 256": {func() error {
			_, err := Modal(&cards.Form{ID: long("i", 256)}, Options{})
			return err
		}, ErrTooLarge},
		"150 options without lookup": {func() error {
			f := oversizedForm()
			f.Inputs[1].Lookup = nil
			_, err := Modal(f, Options{})
			return err
		}, ErrTooLarge},
		"lookup without source": {func() error {
			_, err := Modal(&cards.Form{ID: "f", Inputs: []cards.Input{{Name: "a", Kind: cards.InputLookup}}}, Options{})
			return err
		}, ErrInvalid},
		"101 inputs": {func() error {
			f := &cards.Form{ID: "f"}
			for i := range 101 {
				f.Inputs = append(f.Inputs, cards.Input{Name: fmt.Sprint(i), Kind: cards.InputText})
			}
			_, err := Modal(f, Options{})
			return err
		}, ErrTooLarge},
		"pre-filled value over Slack's text input limit": {func() error {
			_, err := Modal(&cards.Form{ID: "f", Inputs: []cards.Input{{Name: "a", MaxLength: 10, Value: long("x", MaxTextInput+1)}}}, Options{})
			return err
		}, ErrTooLarge},
		"option value 151": {func() error {
			_, err := Modal(&cards.Form{ID: "f", Inputs: []cards.Input{{Name: "a", Kind: cards.InputChoice,
				Options: []cards.Option{{Value: long("v", 151), Label: "x"}}}}}, Options{})
			return err
		}, ErrTooLarge},
		"duplicate input": {func() error {
			_, err := Modal(&cards.Form{ID: "f", Inputs: []cards.Input{{Name: "a"}, {Name: "a"}}}, Options{})
			return err
		}, ErrInvalid},
		"bad date": {func() error {
			_, err := Modal(&cards.Form{ID: "f", Inputs: []cards.Input{{Name: "a", Kind: cards.InputDate, Value: "31/03/2026"}}}, Options{})
			return err
		}, ErrInvalid},
		"button value 2001": {func() error {
			_, err := Blocks(&cards.Message{Actions: []cards.Action{{ID: "a", Label: "x", Value: long("€", 2001)}}}, Options{})
			return err
		}, ErrTooLarge},
		"action id 256": {func() error {
			_, err := Blocks(&cards.Message{Actions: []cards.Action{{ID: long("a", 256), Label: "x"}}}, Options{})
			return err
		}, ErrTooLarge},
		"action without id or url": {func() error {
			_, err := Blocks(&cards.Message{Actions: []cards.Action{{Label: "x"}}}, Options{})
			return err
		}, ErrInvalid},
		"search state 250": {func() error {
			_, err := Blocks(&cards.List{Search: &cards.SearchBox{ActionID: "s", State: long("s", 250)}}, Options{})
			return err
		}, ErrTooLarge},
		"form in a message": {func() error {
			_, err := Blocks(&cards.Form{ID: "f"}, Options{})
			return err
		}, ErrInvalid},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if err := c.render(); !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}
	t.Run("a value over the field's max length is shown again to be shortened", func(t *testing.T) {
		m, err := Modal(&cards.Form{ID: "f", Inputs: []cards.Input{{Name: "a", MaxLength: 10, Value: long("x", 11), Error: "too long"}}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		el := m.Blocks.BlockSet[0].(*goslack.InputBlock).Element.(*goslack.PlainTextInputBlockElement)
		if el.InitialValue != long("x", 11) || el.MaxLength != 11 {
			t.Errorf("initial %q max %d", el.InitialValue, el.MaxLength)
		}
	})
	t.Run("state 3000 OK", func(t *testing.T) {
		f := oversizedForm()
		if _, err := Modal(f, Options{}); err != nil {
			t.Errorf("err = %v", err)
		}
	})
}
