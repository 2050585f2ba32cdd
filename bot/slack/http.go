package slack

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"

	goslack "github.com/slack-go/slack"
)

// HTTP mode: Slack posts signed requests to four endpoints. Every request
// is verified over its raw body before anything parses it; the answer is
// written at once and the slow work runs after it (see Adapter).

// Mux is where Routes mounts the endpoints (server.Server and
// http.ServeMux both fit).
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Routes mounts /slack/commands, /slack/interactivity, /slack/options and
// /slack/events. Init(true) must have run.
func (a *Adapter) Routes(mux Mux) {
	mux.Handle("POST /slack/commands", http.HandlerFunc(a.serveCommands))
	mux.Handle("POST /slack/interactivity", http.HandlerFunc(a.serveInteractivity))
	mux.Handle("POST /slack/options", http.HandlerFunc(a.serveOptions))
	mux.Handle("POST /slack/events", http.HandlerFunc(a.serveEvents))
}

// verified reads and verifies the body; on failure it answers and returns
// nil. sslCheck allows Slack's unsigned certificate check (commands).
func (a *Adapter) verified(w http.ResponseWriter, r *http.Request, sslCheck bool) []byte {
	if a.verifier == nil {
		http.Error(w, "Slack HTTP mode is not configured", http.StatusNotFound)
		return nil
	}
	body, err := a.verifier.Read(r)
	switch {
	case err == nil:
		return body
	case errors.Is(err, ErrBodyTooLarge):
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return nil
	case errors.Is(err, ErrBadSignature) || errors.Is(err, ErrStale):
		if sslCheck && isSSLCheck(r, body) {
			w.WriteHeader(http.StatusOK)
			return nil
		}
		a.Logger.WarnContext(r.Context(), "slack: request refused", "path", r.URL.Path, "reason", err)
		http.Error(w, "invalid request signature", http.StatusUnauthorized)
		return nil
	default:
		http.Error(w, "bad request", http.StatusBadRequest)
		return nil
	}
}

func (a *Adapter) serveCommands(w http.ResponseWriter, r *http.Request) {
	body := a.verified(w, r, true)
	if body == nil {
		return
	}
	cmd, err := parseCommand(body)
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	a.command(r.Context(), cmd)
	w.WriteHeader(http.StatusOK)
}

func (a *Adapter) serveInteractivity(w http.ResponseWriter, r *http.Request) {
	body := a.verified(w, r, false)
	if body == nil {
		return
	}
	ic, err := parseInteraction(body)
	if err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	writeJSON(w, a.interaction(r.Context(), ic))
}

func (a *Adapter) serveOptions(w http.ResponseWriter, r *http.Request) {
	body := a.verified(w, r, false)
	if body == nil {
		return
	}
	ic, err := parseInteraction(body)
	if err != nil || ic.Type != goslack.InteractionTypeBlockSuggestion {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	writeJSON(w, a.suggest(r.Context(), ic))
}

func (a *Adapter) serveEvents(w http.ResponseWriter, r *http.Request) {
	body := a.verified(w, r, false)
	if body == nil {
		return
	}
	ack, err := a.event(r.Context(), body)
	if err != nil {
		// A payload we cannot read will not read better on a retry.
		w.Header().Set("X-Slack-No-Retry", "1")
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	writeJSON(w, ack)
}

// interaction routes an interactivity payload and returns the ack payload
// (nil: an empty 200).
func (a *Adapter) interaction(ctx context.Context, ic goslack.InteractionCallback) any {
	switch ic.Type {
	case goslack.InteractionTypeBlockActions:
		a.action(ctx, ic)
	case goslack.InteractionTypeViewSubmission:
		return a.submission(ctx, ic)
	case goslack.InteractionTypeBlockSuggestion:
		// Socket Mode sends type-ahead queries here.
		return a.suggest(ctx, ic)
	}
	return nil
}

// parseCommand reads a slash command's form body.
func parseCommand(body []byte) (goslack.SlashCommand, error) {
	v, err := parseQuery(body)
	if err != nil {
		return goslack.SlashCommand{}, err
	}
	cmd := goslack.SlashCommand{
		Token: v.Get("token"), TeamID: v.Get("team_id"), TeamDomain: v.Get("team_domain"),
		EnterpriseID: v.Get("enterprise_id"), EnterpriseName: v.Get("enterprise_name"),
		IsEnterpriseInstall: v.Get("is_enterprise_install") == "true",
		ChannelID:           v.Get("channel_id"), ChannelName: v.Get("channel_name"),
		UserID: v.Get("user_id"), UserName: v.Get("user_name"), Command: v.Get("command"),
		Text: v.Get("text"), ResponseURL: v.Get("response_url"), TriggerID: v.Get("trigger_id"),
		APIAppID: v.Get("api_app_id"),
	}
	if cmd.TeamID == "" || cmd.UserID == "" {
		return goslack.SlashCommand{}, errors.New("slack: command without team or user")
	}
	return cmd, nil
}

// parseInteraction reads an interactivity body: a form whose "payload"
// field is the JSON.
func parseInteraction(body []byte) (goslack.InteractionCallback, error) {
	v, err := parseQuery(body)
	if err != nil {
		return goslack.InteractionCallback{}, err
	}
	payload := v.Get("payload")
	if payload == "" {
		return goslack.InteractionCallback{}, errors.New("slack: no payload")
	}
	var ic goslack.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &ic); err != nil {
		return goslack.InteractionCallback{}, err
	}
	if ic.User.ID == "" {
		return goslack.InteractionCallback{}, errors.New("slack: interaction without a user")
	}
	return ic, nil
}

func parseQuery(body []byte) (url.Values, error) { return url.ParseQuery(string(body)) }

func writeJSON(w http.ResponseWriter, v any) {
	if v == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}
