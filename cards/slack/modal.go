package slack

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	goslack "github.com/slack-go/slack"

	"github.com/crmbot/crmbot/cards"
)

// DateTimeLayout is the text of an InputDateTime value, in and out.
const DateTimeLayout = time.RFC3339

// dateLayout is the text of an InputDate value.
const dateLayout = "2006-01-02"

// Modal renders a form as a modal: callback_id = Form.ID, private_metadata
// = Form.State, one input block per input with block_id = action_id =
// Input.Name (see Values and Errors). A state over 3000 characters, an id
// over 255, or more inputs than a modal holds fail with ErrTooLarge: unlike
// rows, inputs cannot be dropped.
//
// Input errors are not part of the view unless opts.InlineErrors: answer a
// failed submission with goslack.NewErrorsViewSubmissionResponse(Errors(f)).
func Modal(f *cards.Form, opts Options) (goslack.ModalViewRequest, error) {
	if f == nil {
		return goslack.ModalViewRequest{}, fmt.Errorf("render nil form: %w", ErrInvalid)
	}
	if err := checkLen("form "+strconv.Quote(truncate(f.ID, 40))+" id", f.ID, MaxID); err != nil {
		return goslack.ModalViewRequest{}, err
	}
	if err := checkLen("form "+strconv.Quote(f.ID)+" state", f.State, MaxPrivateMetadata); err != nil {
		return goslack.ModalViewRequest{}, err
	}
	var blocks []goslack.Block
	if f.Error != "" {
		blocks = append(blocks, section(":warning: "+escapeFit(f.Error, MaxSectionText-11)))
	}
	if f.Intro != "" {
		blocks = append(blocks, section(escapeFit(f.Intro, MaxSectionText)))
	}
	n := len(blocks) + len(f.Inputs)
	if opts.InlineErrors {
		for _, in := range f.Inputs {
			if in.Error != "" {
				n++
			}
		}
	}
	if n > MaxModalBlocks {
		return goslack.ModalViewRequest{}, fmt.Errorf("form %q: %d blocks, Slack allows %d: %w", f.ID, n, MaxModalBlocks, ErrTooLarge)
	}
	seen := map[string]bool{}
	for _, in := range f.Inputs {
		if seen[in.Name] {
			return goslack.ModalViewRequest{}, fmt.Errorf("form %q: input %q twice: %w", f.ID, in.Name, ErrInvalid)
		}
		seen[in.Name] = true
		b, err := input(in)
		if err != nil {
			return goslack.ModalViewRequest{}, fmt.Errorf("form %q: %w", f.ID, err)
		}
		blocks = append(blocks, b)
		if opts.InlineErrors && in.Error != "" {
			blocks = append(blocks, contextText("⚠️ "+in.Error))
		}
	}
	m := goslack.ModalViewRequest{
		Type:            goslack.VTModal,
		Title:           plain(orDefault(f.Title, "Dynamics"), MaxModalText),
		Blocks:          goslack.Blocks{BlockSet: blocks},
		PrivateMetadata: f.State,
		CallbackID:      f.ID,
	}
	if len(f.Inputs) > 0 {
		m.Submit = plain(orDefault(f.SubmitLabel, "OK"), MaxModalText)
	}
	if c := orDefault(f.CancelLabel, opts.CloseLabel); c != "" {
		m.Close = plain(c, MaxModalText)
	}
	return m, nil
}

// SearchCallbackID is the callback_id of a modal showing a list with a
// search box: its submit button searches. The adapter turns the
// submission into the SearchBox's action with the typed text.
const SearchCallbackID = "list-search"

// ModalOf renders any view in a modal (a record's detail pushed from a
// list): a Form as Modal does, the others as Blocks does but within the
// modal's 100 blocks, titled by the view's title (cut to 24 characters).
func ModalOf(v cards.View, opts Options) (goslack.ModalViewRequest, error) {
	if f, ok := v.(*cards.Form); ok {
		return Modal(f, opts)
	}
	blocks, err := render(v, opts, MaxModalBlocks)
	if err != nil {
		return goslack.ModalViewRequest{}, err
	}
	m := goslack.ModalViewRequest{
		Type:   goslack.VTModal,
		Title:  plain(orDefault(cards.Title(v), "Dynamics"), MaxModalText),
		Blocks: goslack.Blocks{BlockSet: blocks},
	}
	if l, ok := v.(*cards.List); ok && l.Search != nil {
		// Slack requires a submit button on a modal with an input block:
		// here it searches (as Enter in the box does).
		m.Submit = plain(orDefault(opts.SearchLabel, "Search"), MaxModalText)
		m.CallbackID = SearchCallbackID
	}
	if opts.CloseLabel != "" {
		m.Close = plain(opts.CloseLabel, MaxModalText)
	}
	return m, nil
}

// FallbackText is the plain text of a message carrying v (notifications,
// the screen readers and the mobile push): cards.Summary.
func FallbackText(v cards.View) string { return cards.Summary(v) }

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// input renders one form input as an input block.
func input(in cards.Input) (*goslack.InputBlock, error) {
	if in.Name == "" {
		return nil, fmt.Errorf("input %q: no name: %w", in.Label, ErrInvalid)
	}
	if err := checkLen("input name", in.Name, MaxID); err != nil {
		return nil, err
	}
	el, err := element(in)
	if err != nil {
		return nil, fmt.Errorf("input %q: %w", in.Name, err)
	}
	label := orDefault(in.Label, in.Name)
	if in.Kind == cards.InputMoney && in.Currency != "" {
		label += " (" + in.Currency + ")"
	}
	var hint *goslack.TextBlockObject
	if in.Hint != "" {
		hint = plain(in.Hint, MaxLabel)
	}
	b := goslack.NewInputBlock(in.Name, plain(label, MaxLabel), hint, el)
	b.Optional = !in.Required
	return b, nil
}

// element picks the Block Kit element for an input's kind; its action_id
// is the input's name (a type-ahead's is its dataset, see external).
func element(in cards.Input) (goslack.BlockElement, error) {
	id := in.Name
	switch in.Kind {
	case cards.InputText, cards.InputMultiline, cards.InputPhone:
		max := MaxTextInput
		if in.MaxLength > 0 && in.MaxLength < max {
			max = in.MaxLength
		}
		// A value over the field's limit is the user's own input shown
		// again with its error ("use 200 characters at most"): let Slack
		// hold it so they can shorten it; the core checks the length again.
		if n := utf8.RuneCountInString(in.Value); n > max && n <= MaxTextInput {
			max = n
		}
		// A pre-filled value is the record's data: cutting it would save
		// the cut, so refuse instead.
		if err := checkLen("value", in.Value, max); err != nil {
			return nil, err
		}
		el := goslack.NewPlainTextInputBlockElement(nil, id)
		el.Multiline = in.Kind == cards.InputMultiline
		el.MaxLength = max
		el.InitialValue = in.Value
		return el, nil
	case cards.InputEmail:
		el := goslack.NewEmailTextInputBlockElement(nil, id)
		el.InitialValue = in.Value
		return el, nil
	case cards.InputURL:
		el := goslack.NewURLTextInputBlockElement(nil, id)
		el.InitialValue = in.Value
		return el, nil
	case cards.InputNumber, cards.InputMoney:
		el := goslack.NewNumberInputBlockElement(nil, id, true)
		el.InitialValue = in.Value
		if in.Min != nil {
			el.MinValue = strconv.FormatFloat(*in.Min, 'f', -1, 64)
		}
		if in.Max != nil {
			el.MaxValue = strconv.FormatFloat(*in.Max, 'f', -1, 64)
		}
		return el, nil
	case cards.InputDate:
		if in.Value != "" {
			if _, err := time.Parse(dateLayout, in.Value); err != nil {
				return nil, fmt.Errorf("date %q: %w", in.Value, ErrInvalid)
			}
		}
		el := goslack.NewDatePickerBlockElement(id)
		el.InitialDate = in.Value
		return el, nil
	case cards.InputDateTime:
		el := goslack.NewDateTimePickerBlockElement(id)
		if in.Value != "" {
			t, err := time.Parse(DateTimeLayout, in.Value)
			if err != nil {
				return nil, fmt.Errorf("date-time %q: %w", in.Value, ErrInvalid)
			}
			el.InitialDateTime = t.Unix()
		}
		return el, nil
	case cards.InputChoice:
		if len(in.Options) > MaxOptions {
			if in.Lookup == nil {
				return nil, fmt.Errorf("%d options, Slack shows %d and there is no lookup to search them: %w", len(in.Options), MaxOptions, ErrTooLarge)
			}
			return external(in)
		}
		opts := make([]*goslack.OptionBlockObject, 0, len(in.Options))
		var initial *goslack.OptionBlockObject
		for _, o := range in.Options {
			ob, err := option(o)
			if err != nil {
				return nil, err
			}
			opts = append(opts, ob)
			if in.Value != "" && o.Value == in.Value {
				initial = ob
			}
		}
		el := goslack.NewOptionsSelectBlockElement(goslack.OptTypeStatic, nil, id, opts...)
		el.InitialOption = initial
		return el, nil
	case cards.InputLookup:
		if in.Lookup == nil {
			return nil, fmt.Errorf("lookup with no source: %w", ErrInvalid)
		}
		return external(in)
	case cards.InputBool:
		yes := goslack.NewOptionBlockObject("true", plain(orDefault(in.Label, in.Name), MaxOptionText), nil)
		el := goslack.NewCheckboxGroupsBlockElement(id, yes)
		if in.Value == "true" {
			el.InitialOptions = []*goslack.OptionBlockObject{yes}
		}
		return el, nil
	}
	return nil, fmt.Errorf("input kind %d: %w", in.Kind, ErrInvalid)
}

// external is a type-ahead select fed by the options load URL. Its
// action_id is the lookup's dataset, so a block_suggestion's action_id names
// the search to run; the block_id is still the input's name.
func external(in cards.Input) (goslack.BlockElement, error) {
	if in.Lookup.Dataset == "" {
		return nil, fmt.Errorf("lookup with no dataset: %w", ErrInvalid)
	}
	if err := checkLen("lookup dataset", in.Lookup.Dataset, MaxID); err != nil {
		return nil, err
	}
	el := goslack.NewOptionsSelectBlockElement(goslack.OptTypeExternal, nil, in.Lookup.Dataset)
	q := in.Lookup.MinQueryLength
	el.MinQueryLength = &q
	if in.Value != "" {
		label := in.ValueLabel
		for _, o := range in.Options {
			if label == "" && o.Value == in.Value {
				label = o.Label
			}
		}
		ob, err := option(cards.Option{Value: in.Value, Label: orDefault(label, in.Value)})
		if err != nil {
			return nil, err
		}
		el.InitialOption = ob
	}
	return el, nil
}

// option renders a choice: its label is cut to 75, its value (the core's)
// must fit 150.
func option(o cards.Option) (*goslack.OptionBlockObject, error) {
	if err := checkLen("option value", o.Value, MaxOptionValue); err != nil {
		return nil, err
	}
	return goslack.NewOptionBlockObject(o.Value, plain(orDefault(o.Label, o.Value), MaxOptionText), nil), nil
}

// OptionsResponse turns options into a block_suggestion answer
// ({"options":[...]}), at most 100, labels cut to 75.
func OptionsResponse(opts []cards.Option) (goslack.OptionsResponse, error) {
	var r goslack.OptionsResponse
	for _, o := range opts[:min(len(opts), MaxOptions)] {
		ob, err := option(o)
		if err != nil {
			return goslack.OptionsResponse{}, err
		}
		r.Options = append(r.Options, ob)
	}
	return r, nil
}

// Home renders a view as the App Home tab (at most 100 blocks, like a
// modal). Forms do not belong there: the Home tab holds no submit button.
func Home(v cards.View, opts Options) (goslack.HomeTabViewRequest, error) {
	if _, ok := v.(*cards.Form); ok {
		return goslack.HomeTabViewRequest{}, fmt.Errorf("a form on the Home tab: %w", ErrInvalid)
	}
	blocks, err := render(v, opts, MaxModalBlocks)
	if err != nil {
		return goslack.HomeTabViewRequest{}, err
	}
	return goslack.HomeTabViewRequest{Type: goslack.VTHomeTab, Blocks: goslack.Blocks{BlockSet: blocks}}, nil
}
