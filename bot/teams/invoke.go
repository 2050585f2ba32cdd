package teams

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/cards/adaptive"
	"github.com/crmbot/crmbot/internal/i18n"
	"github.com/crmbot/crmbot/store"
)

// Invoke response types (reference/teams.md).
const (
	typeCardResponse   = adaptive.ContentType
	typeMessage        = "application/vnd.microsoft.activity.message"
	typeSearchResponse = "application/vnd.microsoft.search.searchResponse"
	typeError          = "application/vnd.microsoft.error"
	// maxSearchResults is what Teams shows of a type-ahead's results.
	maxSearchResults = 15
	// retryTTL is how long an invoke's id is remembered: Teams retries
	// within seconds.
	retryTTL = 10 * time.Minute
)

// invoke answers an invoke activity: the status and the body to write.
func (a *Adapter) invoke(ctx context.Context, u store.ChatUser, act *Activity, received time.Time) (int, any) {
	switch act.Name {
	case InvokeTaskFetch, InvokeTaskSubmit, InvokeCardAction:
		if a.retried(ctx, act) {
			return http.StatusOK, a.stillWorking(act, u)
		}
	}
	switch act.Name {
	case InvokeTaskFetch:
		return http.StatusOK, a.taskFetch(ctx, u, act, received)
	case InvokeTaskSubmit:
		return http.StatusOK, a.taskSubmit(ctx, u, act, received)
	case InvokeCardAction:
		return http.StatusOK, a.cardAction(ctx, u, act, received)
	case InvokeSearch:
		return http.StatusOK, a.search(ctx, u, act, received)
	}
	return http.StatusOK, struct{}{} // unknown invokes: 200 {}
}

// retried reports an invoke already received: Teams retries one whose
// answer was late, and a second submission must not create a record twice.
func (a *Adapter) retried(ctx context.Context, act *Activity) bool {
	if a.Dedupe == nil || act.ID == "" {
		return false
	}
	first, err := a.Dedupe.SeenOnce(ctx, "teams:invoke:"+act.Conversation.ID+":"+act.ID, retryTTL)
	return err == nil && !first
}

// stillWorking answers an invoke whose result will be posted later: a
// message in a dialog, a toast for a card action.
func (a *Adapter) stillWorking(act *Activity, u store.ChatUser) any {
	text := a.Messages.For(act.Locale).T(i18n.TeamsStillWorking, nil)
	if act.Name == InvokeCardAction {
		return map[string]any{"statusCode": http.StatusOK, "type": typeMessage, "value": text}
	}
	return taskMessage(text)
}

// invokeValue reads an invoke's value object; nil when absent or not one.
func invokeValue(act *Activity) map[string]any {
	var v map[string]any
	if len(act.Value) == 0 || json.Unmarshal(act.Value, &v) != nil {
		return nil
	}
	return v
}

// dataOf is a task/fetch or task/submit value's "data" object.
func dataOf(v map[string]any) map[string]any {
	d, _ := v["data"].(map[string]any)
	return d
}

// buttonRequest is the core request a button's data stands for: the
// action, with the search box's text when the card has one.
func buttonRequest(u store.ChatUser, act *Activity, b adaptive.ButtonAction, data map[string]any) bot.Request {
	req := request(u, act, bot.KindAction)
	req.ActionID, req.Value = b.Verb, b.Value
	req.Text, _ = data[adaptive.SearchInputID].(string)
	return req
}

// taskFetch opens a dialog with the core's answer to the button.
func (a *Adapter) taskFetch(ctx context.Context, u store.ChatUser, act *Activity, received time.Time) any {
	data := dataOf(invokeValue(act))
	b, ok := adaptive.ReadAction(data)
	if !ok {
		// Teams wants a task in a task/fetch answer; {} shows "unable to reach app".
		return taskMessage(a.Messages.For(act.Locale).T(i18n.ErrorGeneric, nil))
	}
	origin := act.ReplyToID
	req := buttonRequest(u, act, b, data)
	if b.Verb == commandVerb {
		req = request(u, act, bot.KindCommand)
		req.Text = b.Value
	}
	r, ok := a.handleWithin(ctx, req, received, func(ctx context.Context, r result) {
		a.deliverLate(ctx, u, act, origin, r)
	})
	if !ok {
		return a.stillWorking(act, u)
	}
	a.refreshOrigin(ctx, u, act, origin, r.resp.Refresh)
	if r.resp.View == nil {
		return taskMessage(a.Messages.For(act.Locale).T(i18n.ErrorGeneric, nil))
	}
	return a.dialog(act, r.resp.View, origin)
}

// taskSubmit answers a dialog's button: a form's submission (or Cancel),
// or a button of a view shown in the dialog.
func (a *Adapter) taskSubmit(ctx context.Context, u store.ChatUser, act *Activity, received time.Time) any {
	data := dataOf(invokeValue(act))
	var req bot.Request
	var origin string
	if sub, ok := adaptive.ReadSubmission(data); ok {
		if sub.Cancel {
			return nil // closes the dialog
		}
		origin = sub.Origin
		req = request(u, act, bot.KindSubmit)
		req.FormID, req.State, req.Values = sub.Form, sub.State, adaptive.ReadValues(data)
	} else if b, ok := adaptive.ReadAction(data); ok {
		// A button of a view shown in the dialog (Edit in a record's
		// detail): the next step comes from the dialog's card, not from
		// the message the dialog was opened from, so that message is no
		// longer the one to refresh.
		req = buttonRequest(u, act, b, data)
	} else {
		return nil
	}
	r, ok := a.handleWithin(ctx, req, received, func(ctx context.Context, r result) {
		a.deliverLate(ctx, u, act, origin, r)
	})
	if !ok {
		return taskMessage(a.Messages.For(act.Locale).T(i18n.TeamsSaving, nil))
	}
	a.refreshOrigin(ctx, u, act, origin, r.resp.Refresh)
	if r.resp.View == nil {
		return nil
	}
	// The next step, the form again with its errors, or the result: all
	// shown in the dialog, which the user closes.
	return a.dialog(act, r.resp.View, origin)
}

// cardAction answers an Action.Execute: the card replaced in place.
func (a *Adapter) cardAction(ctx context.Context, u store.ChatUser, act *Activity, received time.Time) any {
	v := invokeValue(act)
	action, _ := v["action"].(map[string]any)
	verb, _ := action["verb"].(string)
	data, _ := action["data"].(map[string]any)
	if verb == "" {
		return map[string]any{"statusCode": http.StatusBadRequest, "type": typeError,
			"value": map[string]string{"code": "BadRequest", "message": "Action.Execute without a verb"}}
	}
	b := adaptive.ButtonAction{Verb: verb}
	b.Value, _ = data["value"].(string)
	req := buttonRequest(u, act, b, data)
	origin := act.ReplyToID
	r, ok := a.handleWithin(ctx, req, received, func(ctx context.Context, r result) {
		a.deliverLate(ctx, u, act, origin, r)
	})
	if !ok {
		return a.stillWorking(act, u)
	}
	// The card acted on is replaced by the answer, or by the new state the
	// core gives it when the answer is a new message.
	resp := r.resp
	replacement := resp.Refresh
	if resp.View != nil {
		if resp.Surface == bot.SurfaceMessage {
			v := resp.View
			a.background(ctx, func(ctx context.Context) { a.post(ctx, u, act, v) })
		} else {
			replacement = resp.View // Replace, or a dialog Teams cannot open from here
		}
	}
	if replacement == nil {
		text := ""
		if resp.View != nil {
			text = cards.Summary(resp.View)
		}
		return map[string]any{"statusCode": http.StatusOK, "type": typeMessage, "value": text}
	}
	return map[string]any{"statusCode": http.StatusOK, "type": typeCardResponse, "value": a.card(act.Locale, replacement, adaptive.Options{})}
}

// search answers a lookup's type-ahead (Data.Query): at most 15 records.
func (a *Adapter) search(ctx context.Context, u store.ChatUser, act *Activity, received time.Time) any {
	v := invokeValue(act)
	dataset, _ := v["dataset"].(string)
	query, _ := v["queryText"].(string)
	skip, top := 0, maxSearchResults
	if o, ok := v["queryOptions"].(map[string]any); ok {
		if n, ok := o["skip"].(float64); ok && n > 0 && n < 1000 {
			skip = int(n)
		}
		if n, ok := o["top"].(float64); ok && n > 0 && n < maxSearchResults {
			top = int(n)
		}
	}
	results := []map[string]string{}
	ctx, cancel := context.WithTimeout(ctx, max(a.InvokeBudget-a.Now().Sub(received), 0))
	defer cancel()
	opts, err := a.Core.Lookup(ctx, bot.LookupRequest{User: u, Locale: act.Locale, Dataset: dataset, Query: query})
	if err != nil {
		a.Logger.InfoContext(ctx, "teams: type-ahead failed", "dataset", dataset, "error", err)
	}
	for i, o := range opts {
		if i < skip {
			continue
		}
		if len(results) == top {
			break
		}
		results = append(results, map[string]string{"title": o.Label, "value": o.Value})
	}
	return map[string]any{"statusCode": http.StatusOK, "type": typeSearchResponse, "value": map[string]any{"results": results}}
}

// dialog is a task "continue" response showing v.
func (a *Adapter) dialog(act *Activity, v cards.View, origin string) any {
	title := cards.Title(v)
	if title == "" {
		title = a.Messages.For(act.Locale).T(i18n.TeamsDialogTitle, nil)
	}
	height := "medium"
	switch v.(type) {
	case *cards.Form, *cards.Detail, *cards.List:
		height = "large"
	}
	return map[string]any{"task": map[string]any{"type": "continue", "value": map[string]any{
		"title": title, "width": "medium", "height": height,
		"card": adaptive.Attachment(a.card(act.Locale, v, adaptive.Options{Dialog: true, Origin: origin})),
	}}}
}

// taskMessage is a task "message" response: Teams shows the text.
func taskMessage(text string) any {
	return map[string]any{"task": map[string]any{"type": "message", "value": text}}
}

// card renders v, or a message saying it cannot be shown.
func (a *Adapter) card(locale string, v cards.View, opts adaptive.Options) adaptive.Card {
	c, err := adaptive.Render(v, opts)
	if err == nil {
		return c
	}
	a.Logger.Error("teams: a view cannot be rendered", "view", cards.Title(v), "error", err)
	c, err = adaptive.Render(&cards.Message{Tone: cards.ToneWarning,
		Text: []string{a.Messages.For(locale).T(i18n.TeamsTooLarge, nil)}}, adaptive.Options{})
	if err != nil {
		panic("teams: the fallback message does not render: " + err.Error())
	}
	return c
}
