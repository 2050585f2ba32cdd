package slack

import (
	"context"
	"errors"
	gosync "sync"
	"time"

	goslack "github.com/slack-go/slack"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	slackcards "github.com/crmbot/crmbot/cards/slack"
	"github.com/crmbot/crmbot/internal/i18n"
)

// maxStack is Slack's limit of views in one modal stack.
const maxStack = 3

// triggerLife is how long a trigger_id can open or push a view.
const triggerLife = 3 * time.Second

// settleDelay is how long a late views.update waits for Slack to apply the
// ack it follows.
const settleDelay = 500 * time.Millisecond

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// workTimeout bounds the background part of one interaction.
const workTimeout = 60 * time.Second

// result is the core's answer to one request.
type result struct {
	resp bot.Response
	err  error
	lang string // the language the answer is in (submissions)
}

// handle runs the core and logs what it says is worth logging.
func (a *Adapter) handle(ctx context.Context, req bot.Request) result {
	resp, err := a.Core.Handle(ctx, req)
	if err != nil {
		a.Logger.WarnContext(ctx, "slack: core", "chat_user", req.User.String(), "kind", req.Kind, "action", req.ActionID, "form", req.FormID, "error", err)
	}
	return result{resp: resp, err: err}
}

// options are the renderer's localized additions.
func (a *Adapter) options(loc i18n.Localizer) slackcards.Options {
	return slackcards.Options{
		OpenLabel:    loc.T(i18n.ActionOpenInDynamics, nil),
		More:         func(n int) string { return loc.T(i18n.SlackMoreNotShown, i18n.Args{"count": n}) },
		CloseLabel:   loc.T(i18n.SlackClose, nil),
		SearchLabel:  loc.T(i18n.SlackSearch, nil),
		InlineErrors: true,
	}
}

// modal renders v as a modal carrying m. A view Slack cannot carry (it
// should not happen: the renderer cuts what can be cut) becomes a short
// message saying so, and the error is logged.
func (a *Adapter) modal(v cards.View, m meta, loc i18n.Localizer) goslack.ModalViewRequest {
	if v == nil {
		v = &cards.Message{Tone: cards.ToneWarning, Text: []string{loc.T(i18n.ErrorGeneric, nil)}}
	}
	if f, ok := v.(*cards.Form); ok {
		m.State = f.State
	} else {
		m.State = ""
	}
	m.Lang = loc.Lang()
	mv, err := slackcards.ModalOf(v, a.options(loc))
	if err == nil {
		mv.PrivateMetadata, err = m.encode()
	}
	if err != nil {
		a.Logger.Error("slack: view does not fit a modal", "error", err)
		m.State = ""
		mv, _ = slackcards.ModalOf(&cards.Message{Tone: cards.ToneWarning, Text: []string{loc.T(i18n.SlackTooLarge, nil)}}, a.options(loc))
		mv.PrivateMetadata, _ = m.encode()
	}
	return mv
}

// waiting is the modal shown while the core works: "Loading…" or
// "Saving…".
func (a *Adapter) waiting(key i18n.Key, m meta, loc i18n.Localizer) goslack.ModalViewRequest {
	m.State, m.Lang = "", loc.Lang()
	pm, _ := m.encode()
	return goslack.ModalViewRequest{
		Type:  goslack.VTModal,
		Title: goslack.NewTextBlockObject(goslack.PlainTextType, "Dynamics 365", false, false),
		Close: goslack.NewTextBlockObject(goslack.PlainTextType, loc.T(i18n.SlackClose, nil), false, false),
		Blocks: goslack.Blocks{BlockSet: []goslack.Block{
			goslack.NewContextBlock("waiting", goslack.NewTextBlockObject(goslack.PlainTextType, "⏳ "+loc.T(key, nil), true, false)),
		}},
		PrivateMetadata: pm,
	}
}

// --- slash commands ---

// command answers /crm: the ack is empty and immediate; a "Loading…" modal
// opens with the trigger while the core works, then shows its answer.
func (a *Adapter) command(ctx context.Context, cmd goslack.SlashCommand) {
	received := a.Now()
	a.background(ctx, workTimeout, func(ctx context.Context) { a.runCommand(ctx, cmd, received) })
}

func (a *Adapter) runCommand(ctx context.Context, cmd goslack.SlashCommand, received time.Time) {
	api, err := a.api(ctx, cmd.TeamID, cmd.EnterpriseID)
	if err != nil {
		a.Logger.WarnContext(ctx, "slack: no bot token for the workspace", "team", cmd.TeamID, "error", err)
		a.respond(ctx, cmd.ResponseURL, &cards.Message{Tone: cards.ToneWarning,
			Text: []string{a.Messages.For().T(i18n.SlackNotInstalled, nil)}}, a.Messages.For(), false)
		return
	}
	p := a.profile(ctx, api, cmd.TeamID, cmd.UserID)
	loc := a.Messages.For(p.Locale)
	req := bot.Request{User: chatUser(cmd.TeamID, cmd.UserID), Locale: p.Locale, Email: p.Email,
		Kind: bot.KindCommand, Text: cmd.Text}
	res := make(chan result, 1)
	go func() { res <- a.handle(ctx, req) }()

	m := meta{Depth: 1}
	var opened *goslack.ViewResponse
	if a.Now().Sub(received) < triggerLife {
		opened, err = api.OpenViewContext(ctx, cmd.TriggerID, a.waiting(i18n.SlackLoading, m, loc))
	} else {
		err = errors.New("trigger expired before the modal could open")
	}
	r := <-res
	if err != nil {
		// No modal (the trigger expired, or Slack refused): answer in the
		// conversation, visible to the user only.
		a.Logger.WarnContext(ctx, "slack: views.open failed; answering through response_url", "error", err)
		a.respond(ctx, cmd.ResponseURL, a.withoutModal(r.resp.View, cmd.Text, loc), loc, false)
		return
	}
	a.updateView(ctx, api, opened.View.ID, opened.View.Hash, r.resp.View, m, loc)
}

// updateView shows v in the modal id (hash guards against a newer change;
// empty: unconditional).
func (a *Adapter) updateView(ctx context.Context, api *client, id, hash string, v cards.View, m meta, loc i18n.Localizer) {
	_, err := api.UpdateViewContext(ctx, a.modal(v, m, loc), "", hash, id)
	if err != nil {
		a.Logger.WarnContext(ctx, "slack: views.update failed", "view", id, "error", err)
	}
}

// reopenAction is the action of the button that runs a command again
// (its value is the command's text) when its form could not open: the
// click brings a fresh trigger_id, so the form opens this time.
const reopenAction = "slack.reopen"

// withoutModal adapts a command's answer to a message, for when no modal
// could open: a form becomes a short message with a button that opens it
// again (the command's text is the button's value); anything else shows
// as it is.
func (a *Adapter) withoutModal(v cards.View, commandText string, loc i18n.Localizer) cards.View {
	f, ok := v.(*cards.Form)
	if !ok {
		return v
	}
	if len(commandText) > slackcards.MaxButtonValue {
		return v // respond says to run the command again
	}
	return &cards.Message{Tone: cards.ToneInfo, Title: f.Title, Text: []string{loc.T(i18n.SlackFormExpired, nil)},
		Actions: []cards.Action{{ID: reopenAction, Label: loc.T(i18n.SlackOpenForm, nil), Value: commandText,
			Style: cards.StylePrimary, Dialog: true}}}
}

// respond answers through a response_url, privately: a new ephemeral
// message, or (replace) in place of the ephemeral message acted on.
func (a *Adapter) respond(ctx context.Context, responseURL string, v cards.View, loc i18n.Localizer, replace bool) {
	if responseURL == "" || v == nil {
		return
	}
	if f, ok := v.(*cards.Form); ok {
		// A form needs a modal; without one, say what to do instead.
		v = &cards.Message{Tone: cards.ToneInfo, Title: f.Title, Text: []string{loc.T(i18n.SlackTryAgain, nil)}}
	}
	blocks, ok := a.messageBlocks(v, loc)
	if !ok {
		return
	}
	msg := &goslack.WebhookMessage{Text: slackcards.FallbackText(v), Blocks: &goslack.Blocks{BlockSet: blocks}}
	if replace {
		msg.ReplaceOriginal = true
	} else {
		msg.ResponseType = goslack.ResponseTypeEphemeral
	}
	if err := goslack.PostWebhookCustomHTTPContext(ctx, responseURL, a.HTTPClient, msg); err != nil {
		a.Logger.WarnContext(ctx, "slack: response_url failed", "error", err)
	}
}

// deleteOriginal removes the ephemeral message a response_url came with.
func (a *Adapter) deleteOriginal(ctx context.Context, responseURL string) {
	if err := goslack.PostWebhookCustomHTTPContext(ctx, responseURL, a.HTTPClient, &goslack.WebhookMessage{DeleteOriginal: true}); err != nil {
		a.Logger.WarnContext(ctx, "slack: response_url delete_original failed", "error", err)
	}
}

// messageBlocks renders v for a message surface; a view that does not fit
// (it should not happen: the renderer cuts what can be cut) is logged.
func (a *Adapter) messageBlocks(v cards.View, loc i18n.Localizer) ([]goslack.Block, bool) {
	blocks, err := slackcards.Blocks(forMessage(v), a.options(loc))
	if err != nil {
		a.Logger.Error("slack: view does not fit a message", "error", err)
		return nil, false
	}
	return blocks, true
}

// --- block actions ---

// action handles a block_actions payload after its (empty) ack.
func (a *Adapter) action(ctx context.Context, ic goslack.InteractionCallback) {
	if len(ic.ActionCallback.BlockActions) == 0 {
		return
	}
	act := ic.ActionCallback.BlockActions[0]
	req := bot.Request{Kind: bot.KindAction}
	dialog := false
	if state, ok := slackcards.SearchState(act.BlockID); ok {
		req.ActionID, req.Value, req.Text = act.ActionID, state, act.Value
	} else {
		req.ActionID, dialog = slackcards.ParseActionID(act.ActionID)
		req.Value = act.Value
	}
	if req.ActionID == "url" {
		return // an "Open in Dynamics" button: Slack opened the page
	}
	if req.ActionID == reopenAction {
		// "Open the form" after a form could not open: the command again,
		// with this click's trigger.
		req = bot.Request{Kind: bot.KindCommand, Text: act.Value}
		dialog = true
	}
	received := a.Now()
	a.background(ctx, workTimeout, func(ctx context.Context) { a.runAction(ctx, ic, req, dialog, received) })
}

func (a *Adapter) runAction(ctx context.Context, ic goslack.InteractionCallback, req bot.Request, dialog bool, received time.Time) {
	team := teamOf(ic)
	api, err := a.api(ctx, team, ic.Enterprise.ID)
	if err != nil {
		a.Logger.WarnContext(ctx, "slack: no bot token for the workspace", "team", team, "error", err)
		return
	}
	p := a.profile(ctx, api, team, ic.User.ID)
	loc := a.Messages.For(p.Locale)
	req.User, req.Locale, req.Email = chatUser(team, ic.User.ID), p.Locale, p.Email
	res := make(chan result, 1)
	go func() { res <- a.handle(ctx, req) }()

	inModal := ic.View.ID != "" && ic.View.Type == goslack.VTModal
	inHome := ic.View.ID != "" && ic.View.Type == goslack.VTHomeTab
	var here meta // the surface acted on
	switch {
	case inModal:
		here = decodeMeta(ic.View.PrivateMetadata)
	case !inHome:
		here = meta{Depth: 1, Channel: ic.Container.ChannelID, TS: ic.Container.MessageTs}
		if here.Channel == "" {
			here.Channel = ic.Channel.ID
		}
	default:
		here = meta{Depth: 1}
	}

	// A dialog must open while the trigger lives: open or push "Loading…"
	// now, fill it when the core answers. From the Home tab every answer
	// is shown in a modal.
	var target *goslack.View
	var tm meta
	if dialog || inHome {
		target, tm = a.openLoading(ctx, api, ic, here, inModal, received, loc)
	}
	r := <-res
	if r.resp.Refresh != nil {
		a.refresh(ctx, api, here, r.resp.Refresh, loc)
	}
	v := r.resp.View
	if v == nil {
		return
	}
	if req.Kind == bot.KindCommand && target != nil && ic.Container.IsEphemeral && ic.ResponseURL != "" {
		// The form is open: the "could not open" message has done its job,
		// and the modal must not point back at it (a refresh would
		// chat.update a message that is gone).
		a.deleteOriginal(ctx, ic.ResponseURL)
		tm.Channel, tm.TS = "", ""
	}
	switch {
	case target != nil:
		a.updateView(ctx, api, target.ID, target.Hash, v, tm, loc)
	case r.resp.Surface == bot.SurfaceDialog && a.Now().Sub(received) < triggerLife:
		// The core wants a dialog for an action that did not announce one;
		// the trigger still lives.
		if t, tm := a.openLoading(ctx, api, ic, here, inModal, received, loc); t != nil {
			a.updateView(ctx, api, t.ID, t.Hash, v, tm, loc)
			return
		}
		a.replace(ctx, api, ic, here, inModal, a.reopenable(req, v, loc), loc)
	default:
		a.replace(ctx, api, ic, here, inModal, a.reopenable(req, v, loc), loc)
	}
}

// reopenable: a form answering a command whose trigger expired (again)
// becomes a message with a button that opens it with a fresh trigger.
func (a *Adapter) reopenable(req bot.Request, v cards.View, loc i18n.Localizer) cards.View {
	if req.Kind != bot.KindCommand {
		return v
	}
	return a.withoutModal(v, req.Text, loc)
}

// openLoading opens (from a message or the Home tab) or pushes (from a
// modal, while the stack has room) a "Loading…" view. At the stack's limit
// the current modal is used instead. It returns the view to fill and its
// meta, or nil when the trigger could not be used.
func (a *Adapter) openLoading(ctx context.Context, api *client, ic goslack.InteractionCallback, here meta, inModal bool, received time.Time, loc i18n.Localizer) (*goslack.View, meta) {
	if inModal && here.Depth >= maxStack {
		return &goslack.View{ID: ic.View.ID, Hash: ic.View.Hash}, here
	}
	if a.Now().Sub(received) >= triggerLife {
		return nil, meta{}
	}
	var (
		vr  *goslack.ViewResponse
		err error
		tm  meta
	)
	if inModal {
		tm = here.child(ic.View.ID)
		vr, err = api.PushViewContext(ctx, ic.TriggerID, a.waiting(i18n.SlackLoading, tm, loc))
	} else {
		tm = meta{Depth: 1, Channel: here.Channel, TS: here.TS}
		vr, err = api.OpenViewContext(ctx, ic.TriggerID, a.waiting(i18n.SlackLoading, tm, loc))
	}
	if err != nil {
		a.Logger.WarnContext(ctx, "slack: could not open a modal", "error", err)
		if inModal {
			return &goslack.View{ID: ic.View.ID, Hash: ic.View.Hash}, here
		}
		return nil, meta{}
	}
	return &vr.View, tm
}

// replace shows v where the user acted: the same modal, or the message in
// place.
func (a *Adapter) replace(ctx context.Context, api *client, ic goslack.InteractionCallback, here meta, inModal bool, v cards.View, loc i18n.Localizer) {
	switch {
	case inModal:
		a.updateView(ctx, api, ic.View.ID, ic.View.Hash, v, here, loc)
	case ic.Container.IsEphemeral && ic.ResponseURL != "":
		a.respond(ctx, ic.ResponseURL, v, loc, true)
	case here.Channel != "" && here.TS != "":
		a.updateMessage(ctx, api, here.Channel, here.TS, v, loc)
	default:
		a.Logger.WarnContext(ctx, "slack: nowhere to show an answer", "container", ic.Container.Type)
	}
}

// refresh shows the new state of the card a dialog was opened from: the
// parent modal, or the message.
func (a *Adapter) refresh(ctx context.Context, api *client, m meta, v cards.View, loc i18n.Localizer) {
	switch {
	case m.Parent != "":
		parent := meta{Depth: m.Depth - 1, Channel: m.Channel, TS: m.TS}
		a.updateView(ctx, api, m.Parent, "", v, parent, loc)
	case m.Channel != "" && m.TS != "":
		a.updateMessage(ctx, api, m.Channel, m.TS, v, loc)
	}
}

// updateMessage replaces a posted message's content (chat.update).
func (a *Adapter) updateMessage(ctx context.Context, api *client, channel, ts string, v cards.View, loc i18n.Localizer) {
	if _, ok := v.(*cards.Form); ok {
		return // a form never replaces a message
	}
	blocks, ok := a.messageBlocks(v, loc)
	if !ok {
		return
	}
	_, _, _, err := api.UpdateMessageContext(ctx, channel, ts, goslack.MsgOptionText(slackcards.FallbackText(v), false), goslack.MsgOptionBlocks(blocks...))
	if err != nil {
		a.Logger.WarnContext(ctx, "slack: chat.update failed", "channel", channel, "error", err)
	}
}

// --- view submissions ---

// submission answers a view_submission within the ack budget: field errors
// (response_action "errors"), the result in place of the form ("update"),
// or, when the core needs longer, "Saving…" now and the result later.
func (a *Adapter) submission(ctx context.Context, ic goslack.InteractionCallback) *goslack.ViewSubmissionResponse {
	received := a.Now()
	team := teamOf(ic)
	m := decodeMeta(ic.View.PrivateMetadata)
	req := bot.Request{User: chatUser(team, ic.User.ID), Kind: bot.KindSubmit,
		FormID: ic.View.CallbackID, State: m.State, Values: slackcards.Values(ic.View.State)}
	waitKey := i18n.SlackSaving
	if ic.View.CallbackID == slackcards.SearchCallbackID {
		// A list's Search button: the search box's action with its text.
		sreq, ok := searchRequest(ic.View.State)
		if !ok {
			return goslack.NewClearViewSubmissionResponse()
		}
		sreq.User = req.User
		req, waitKey = sreq, i18n.SlackLoading
	}
	h := &handoff{ch: make(chan result, 1)}
	a.background(ctx, workTimeout, func(ctx context.Context) {
		api, err := a.api(ctx, team, ic.Enterprise.ID)
		if err != nil {
			a.Logger.WarnContext(ctx, "slack: no bot token for the workspace", "team", team, "error", err)
			h.deliver(result{err: err})
			return
		}
		p := a.profile(ctx, api, team, ic.User.ID)
		req.Locale, req.Email = p.Locale, p.Email
		r := a.handle(ctx, req)
		loc := a.Messages.For(p.Locale)
		r.lang = loc.Lang()
		if r.resp.Refresh != nil {
			a.refresh(ctx, api, m, r.resp.Refresh, loc)
		}
		if h.deliver(r) {
			return
		}
		// Slack was answered "Saving…": show the result in that modal, once
		// Slack has had time to apply the answer (else "Saving…" would land
		// over the result).
		sleep(ctx, settleDelay)
		a.updateView(ctx, api, ic.View.ID, "", r.resp.View, m, loc)
	})
	budget := a.AckBudget - a.Now().Sub(received)
	r, ok := h.wait(budget)
	loc := a.Messages.For(r.lang, m.Lang)
	if !ok {
		saving := a.waiting(waitKey, m, loc)
		return goslack.NewUpdateViewSubmissionResponse(&saving)
	}
	if r.err != nil && r.resp.View == nil {
		r.resp.View = &cards.Message{Tone: cards.ToneWarning, Text: []string{loc.T(i18n.ErrorGeneric, nil)}}
	}
	return a.submissionAnswer(ic, r.resp, m, loc)
}

// searchRequest reads the search box of a list modal's state.
func searchRequest(state *goslack.ViewState) (bot.Request, bool) {
	if state == nil {
		return bot.Request{}, false
	}
	for blockID, actions := range state.Values {
		st, ok := slackcards.SearchState(blockID)
		if !ok {
			continue
		}
		for actionID, a := range actions {
			return bot.Request{Kind: bot.KindAction, ActionID: actionID, Value: st, Text: a.Value}, true
		}
	}
	return bot.Request{}, false
}

// submissionAnswer turns the core's answer to a submission into Slack's.
func (a *Adapter) submissionAnswer(ic goslack.InteractionCallback, resp bot.Response, m meta, loc i18n.Localizer) *goslack.ViewSubmissionResponse {
	if f, ok := resp.View.(*cards.Form); ok && !resp.Done && f.Error == "" && f.ID == ic.View.CallbackID {
		if errs := slackcards.Errors(f); len(errs) > 0 && inputsOf(ic.View, errs) {
			return goslack.NewErrorsViewSubmissionResponse(errs)
		}
	}
	mv := a.modal(resp.View, m, loc)
	return goslack.NewUpdateViewSubmissionResponse(&mv)
}

// inputsOf reports whether every key of errs is an input block of v: Slack
// shows a generic error for any other key.
func inputsOf(v goslack.View, errs map[string]string) bool {
	inputs := map[string]bool{}
	for _, b := range v.Blocks.BlockSet {
		if in, ok := b.(*goslack.InputBlock); ok {
			inputs[in.BlockID] = true
		}
	}
	for k := range errs {
		if !inputs[k] {
			return false
		}
	}
	return true
}

// handoff passes the core's result to the request that waits for it, or,
// once that request has answered Slack, tells the worker to deliver it
// itself.
type handoff struct {
	mu   gosync.Mutex
	late bool
	ch   chan result
}

// deliver hands r to the waiter; false when the waiter gave up (the worker
// must show r itself).
func (h *handoff) deliver(r result) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.late {
		return false
	}
	h.ch <- r
	return true
}

// wait returns the result if it comes within d; otherwise it marks the
// handoff late and returns false.
func (h *handoff) wait(d time.Duration) (result, bool) {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case r := <-h.ch:
		return r, true
	case <-t.C:
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case r := <-h.ch:
		return r, true
	default:
		h.late = true
		return result{}, false
	}
}

// --- type-ahead ---

// suggest answers a block_suggestion with the core's lookup, within the
// ack budget (an empty list past it: Slack would drop a late answer).
func (a *Adapter) suggest(ctx context.Context, ic goslack.InteractionCallback) goslack.OptionsResponse {
	empty := goslack.OptionsResponse{Options: []*goslack.OptionBlockObject{}}
	team := teamOf(ic)
	ctx, cancel := context.WithTimeout(ctx, a.AckBudget)
	defer cancel()
	p, _ := a.users.get(team + "/" + ic.User.ID)
	opts, err := a.Core.Lookup(ctx, bot.LookupRequest{User: chatUser(team, ic.User.ID), Locale: p.Locale,
		Dataset: ic.ActionID, Query: ic.Value})
	if err != nil {
		a.Logger.WarnContext(ctx, "slack: lookup failed", "dataset", ic.ActionID, "error", err)
		return empty
	}
	r, err := slackcards.OptionsResponse(opts)
	if err != nil || len(r.Options) == 0 {
		return empty
	}
	return r
}

// teamOf is the workspace an interaction came from.
func teamOf(ic goslack.InteractionCallback) string {
	if ic.Team.ID != "" {
		return ic.Team.ID
	}
	if ic.User.TeamID != "" {
		return ic.User.TeamID
	}
	return ic.View.TeamID
}

// forMessage adapts a view to a message surface. Nothing needs adapting
// today: a list keeps its search box in a message too (a dispatching input
// block: Enter sends block_actions with the typed text, which action runs
// through the core like the modal's search and shows with chat.update in
// place of the message, or through the response_url for an ephemeral
// one). It stays as the one place to adapt message views.
func forMessage(v cards.View) cards.View { return v }
