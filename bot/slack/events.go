package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	goslack "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/crmbot/crmbot/bot"
	slackcards "github.com/crmbot/crmbot/cards/slack"
)

// Events API: app_home_opened (the Home tab), link_shared (unfurl Dynamics
// record links), app_uninstalled and tokens_revoked (forget the
// workspace). Slack retries an event it thinks failed (immediately, after
// a minute, after five): events are deduplicated by event_id, never by the
// retry header, and acknowledged before they are handled.

// eventTTL is how long an event_id is remembered; Slack's last retry comes
// about five minutes after the first try.
const eventTTL = time.Hour

// urlVerification is the Events API handshake's answer.
type urlVerification struct {
	Challenge string `json:"challenge"`
}

// event reads an Events API body and returns the ack payload (nil: empty).
func (a *Adapter) event(ctx context.Context, body []byte) (any, error) {
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		return nil, fmt.Errorf("slack: event: %w", err)
	}
	switch ev.Type {
	case slackevents.URLVerification:
		uv, ok := ev.Data.(*slackevents.EventsAPIURLVerificationEvent)
		if !ok {
			return nil, fmt.Errorf("slack: url_verification without challenge")
		}
		return urlVerification{Challenge: uv.Challenge}, nil
	case slackevents.CallbackEvent:
		cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
		if !ok {
			return nil, fmt.Errorf("slack: callback event without data")
		}
		if a.Dedupe != nil && cb.EventID != "" {
			first, err := a.Dedupe.SeenOnce(ctx, "slack:event:"+cb.EventID, eventTTL)
			if err != nil {
				a.Logger.WarnContext(ctx, "slack: event dedupe unavailable; handling anyway", "error", err)
			} else if !first {
				return nil, nil
			}
		}
		var auth struct {
			Authorizations []struct {
				IsEnterpriseInstall bool `json:"is_enterprise_install"`
			} `json:"authorizations"`
		}
		_ = json.Unmarshal(body, &auth)
		org := len(auth.Authorizations) > 0 && auth.Authorizations[0].IsEnterpriseInstall
		a.background(ctx, workTimeout, func(ctx context.Context) { a.callback(ctx, ev, org) })
	}
	return nil, nil
}

// callback handles one deduplicated event. org: the app is installed
// org-wide (Enterprise Grid), so its installation is the enterprise's.
func (a *Adapter) callback(ctx context.Context, ev slackevents.EventsAPIEvent, org bool) {
	team, enterprise := ev.TeamID, ""
	if cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent); ok {
		enterprise = cb.EnterpriseID
	}
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.AppHomeOpenedEvent:
		if e.Tab == "home" {
			a.publishHome(ctx, team, enterprise, e.User)
		}
	case *slackevents.LinkSharedEvent:
		a.unfurl(ctx, team, enterprise, e)
	case *slackevents.AppUninstalledEvent:
		a.uninstalled(ctx, team, enterprise, org)
	case *slackevents.TokensRevokedEvent:
		if len(e.Tokens.Bot) > 0 {
			a.uninstalled(ctx, team, enterprise, org)
		}
	}
}

func (a *Adapter) uninstalled(ctx context.Context, team, enterprise string, org bool) {
	a.Logger.InfoContext(ctx, "slack: app uninstalled or tokens revoked", "team", team, "enterprise", enterprise, "org_install", org)
	if a.Uninstall == nil {
		return
	}
	if org {
		team = "" // the org-wide installation, not a workspace's
	}
	if err := a.Uninstall.Uninstalled(ctx, team, enterprise); err != nil {
		a.Logger.WarnContext(ctx, "slack: forgetting the installation failed", "team", team, "error", err)
	}
}

// PublishHome shows a user's Home tab: their link, their notification
// settings and their recent assignments. Called on app_home_opened, and
// worth calling after a change of settings.
func (a *Adapter) publishHome(ctx context.Context, team, enterprise, userID string) {
	api, err := a.api(ctx, team, enterprise)
	if err != nil {
		a.Logger.WarnContext(ctx, "slack: no bot token for the workspace", "team", team, "error", err)
		return
	}
	p := a.profile(ctx, api, team, userID)
	loc := a.Messages.For(p.Locale)
	v, err := a.Core.Home(ctx, bot.HomeRequest{User: chatUser(team, userID), Locale: p.Locale})
	if err != nil {
		a.Logger.WarnContext(ctx, "slack: home view", "error", err)
	}
	if v == nil {
		return
	}
	home, err := slackcards.Home(v, a.options(loc))
	if err != nil {
		a.Logger.ErrorContext(ctx, "slack: home view does not fit", "error", err)
		return
	}
	if _, err := api.PublishViewContext(ctx, goslack.PublishViewContextRequest{UserID: userID, View: home}); err != nil {
		a.Logger.WarnContext(ctx, "slack: views.publish failed", "error", err)
	}
}

// unfurl previews the Dynamics record links a linked user shares, with the
// record read as that user (someone who cannot see the record gets no
// preview, and no one learns it exists).
func (a *Adapter) unfurl(ctx context.Context, team, enterprise string, e *slackevents.LinkSharedEvent) {
	if e.MessageTimeStamp == "" || strings.Contains(e.MessageTimeStamp, "-") {
		return // shared in the composer (a uuid): nothing posted to unfurl yet
	}
	api, err := a.api(ctx, team, enterprise)
	if err != nil {
		a.Logger.WarnContext(ctx, "slack: no bot token for the workspace", "team", team, "error", err)
		return
	}
	p := a.profile(ctx, api, team, e.User)
	loc := a.Messages.For(p.Locale)
	unfurls := map[string]goslack.Attachment{}
	for _, l := range e.Links {
		v, ok := a.Core.Unfurl(ctx, bot.UnfurlRequest{User: chatUser(team, e.User), Locale: p.Locale, URL: l.URL})
		if !ok {
			continue
		}
		blocks, err := slackcards.Blocks(v, a.options(loc))
		if err != nil {
			a.Logger.WarnContext(ctx, "slack: unfurl view does not fit", "error", err)
			continue
		}
		unfurls[l.URL] = goslack.Attachment{Blocks: goslack.Blocks{BlockSet: blocks}}
	}
	if len(unfurls) == 0 {
		return
	}
	if _, _, _, err := api.UnfurlMessageContext(ctx, e.Channel, e.MessageTimeStamp, unfurls); err != nil {
		a.Logger.WarnContext(ctx, "slack: chat.unfurl failed", "error", err)
	}
}
