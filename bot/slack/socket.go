package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	goslack "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/crmbot/crmbot/internal/i18n"
)

// Socket Mode: the same handlers as HTTP mode, with requests arriving on
// the app's websocket (no public URL needed: the way to try crmbot out).
// What an HTTP handler writes as its body goes back as the ack's payload.

// maxAckPayload keeps an ack under Slack's 20 KB Socket Mode limit (a
// larger one is silently dropped by Slack).
const maxAckPayload = 19 * 1024

// RunSocketMode connects with the app-level token (xapp-…) and serves
// until ctx ends. The bot token is the single workspace's.
func (a *Adapter) RunSocketMode(ctx context.Context, appToken string) error {
	if appToken == "" {
		return errors.New("slack: Socket Mode needs SLACK_APP_TOKEN")
	}
	botToken, err := a.Tokens.BotToken(ctx, "", "")
	if err != nil {
		return fmt.Errorf("slack: Socket Mode needs SLACK_BOT_TOKEN: %w", err)
	}
	opts := []goslack.Option{goslack.OptionAppLevelToken(appToken), goslack.OptionHTTPClient(a.HTTPClient)}
	if a.APIURL != "" {
		opts = append(opts, goslack.OptionAPIURL(a.APIURL))
	}
	client := socketmode.New(goslack.New(botToken, opts...))
	go a.socketEvents(ctx, client)
	return client.RunContext(ctx)
}

func (a *Adapter) socketEvents(ctx context.Context, client *socketmode.Client) {
	for {
		select {
		case <-ctx.Done():
			return
		case evt, ok := <-client.Events:
			if !ok {
				return
			}
			a.socketEvent(ctx, client, evt)
		}
	}
}

func (a *Adapter) socketEvent(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	switch evt.Type {
	case socketmode.EventTypeConnected:
		a.Logger.InfoContext(ctx, "slack: Socket Mode connected")
	case socketmode.EventTypeInvalidAuth:
		a.Logger.ErrorContext(ctx, "slack: Socket Mode: invalid SLACK_APP_TOKEN")
	case socketmode.EventTypeConnectionError:
		a.Logger.WarnContext(ctx, "slack: Socket Mode connection error; reconnecting", "error", evt.Data)
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(goslack.SlashCommand)
		if !ok || evt.Request == nil {
			return
		}
		a.ack(ctx, client, evt.Request, nil)
		a.command(ctx, cmd)
	case socketmode.EventTypeInteractive:
		ic, ok := evt.Data.(goslack.InteractionCallback)
		if !ok || evt.Request == nil {
			return
		}
		payload := a.interaction(ctx, ic)
		if sub, ok := payload.(*goslack.ViewSubmissionResponse); ok {
			payload = a.fitAck(ctx, ic, sub)
		}
		a.ack(ctx, client, evt.Request, payload)
	case socketmode.EventTypeEventsAPI:
		if evt.Request == nil {
			return
		}
		payload, err := a.event(ctx, evt.Request.Payload)
		if err != nil {
			a.Logger.WarnContext(ctx, "slack: Socket Mode event", "error", err)
		}
		a.ack(ctx, client, evt.Request, payload)
	}
}

func (a *Adapter) ack(ctx context.Context, client *socketmode.Client, req *socketmode.Request, payload any) {
	var err error
	if payload == nil {
		err = client.AckCtx(ctx, req.EnvelopeID, nil)
	} else {
		err = client.AckCtx(ctx, req.EnvelopeID, payload)
	}
	if err != nil {
		a.Logger.WarnContext(ctx, "slack: Socket Mode ack failed", "error", err)
	}
}

// fitAck keeps a submission's answer under the ack size limit: a view too
// big to ride on the ack is shown by views.update instead, after a small
// "Saving…" answer.
func (a *Adapter) fitAck(ctx context.Context, ic goslack.InteractionCallback, sub *goslack.ViewSubmissionResponse) any {
	b, err := json.Marshal(sub)
	if err == nil && len(b) < maxAckPayload {
		return sub
	}
	if sub.View == nil {
		return sub
	}
	m := decodeMeta(sub.View.PrivateMetadata)
	full := *sub.View
	loc := a.Messages.For(m.Lang)
	team := teamOf(ic)
	a.background(ctx, workTimeout, func(ctx context.Context) {
		api, err := a.api(ctx, team, ic.Enterprise.ID)
		if err != nil {
			return
		}
		sleep(ctx, settleDelay) // after the ack below
		if _, err := api.UpdateViewContext(ctx, full, "", "", ic.View.ID); err != nil {
			a.Logger.WarnContext(ctx, "slack: views.update failed", "view", ic.View.ID, "error", err)
		}
	})
	saving := a.waiting(i18n.SlackSaving, m, loc)
	return goslack.NewUpdateViewSubmissionResponse(&saving)
}
