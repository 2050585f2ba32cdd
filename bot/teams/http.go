package teams

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/internal/loopback"
	"github.com/crmbot/crmbot/store"
)

// Path is the Bot Framework messaging endpoint (fixed, DESIGN.md).
const Path = "/api/messages"

// Mux is where Routes mounts the endpoint (*http.ServeMux, server.Server).
type Mux interface {
	Handle(pattern string, h http.Handler)
}

// Routes mounts POST /api/messages.
func (a *Adapter) Routes(mux Mux) {
	mux.Handle("POST "+Path, a)
}

// ServeHTTP answers one activity: authenticated, stored as the user's
// conversation reference, then dispatched by type. Invokes are answered in
// the body; everything else gets 200 at once and its answers are posted.
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	received := a.Now()
	act, status := a.read(w, r)
	if act == nil {
		http.Error(w, http.StatusText(status), status)
		return
	}
	if status := a.authenticate(r, act); status != http.StatusOK {
		http.Error(w, http.StatusText(status), status)
		return
	}
	if act.ChannelID != ChannelMSTeams {
		// Web Chat and Direct Line tokens pass the same checks, and their
		// clients choose from, aadObjectId and channelData themselves: only
		// Teams vouches for a Teams user.
		a.Logger.WarnContext(r.Context(), "teams: activity from another channel refused", "channel", truncate(act.ChannelID, 40))
		http.Error(w, "only the msteams channel is served here", http.StatusForbidden)
		return
	}
	u, ok := chatUser(act)
	if !ok {
		if act.Type == TypeMessage || act.Type == TypeInvoke {
			http.Error(w, "activity without a user, conversation or tenant", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK) // e.g. a conversationUpdate about the bot itself
		return
	}
	a.remember(r.Context(), u, act)

	switch act.Type {
	case TypeInvoke:
		status, body := a.invoke(r.Context(), u, act, received)
		writeJSON(w, status, body)
	case TypeMessage:
		a.background(r.Context(), func(ctx context.Context) { a.message(ctx, u, act) })
		w.WriteHeader(http.StatusOK)
	case TypeConversationUpdate:
		if a.botAdded(act) {
			a.background(r.Context(), func(ctx context.Context) { a.welcome(ctx, u, act) })
		}
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusOK) // typing, reactions, installationUpdate…: nothing to do
	}
}

// read decodes the activity under the size cap; nil and the status to
// answer on failure.
func (a *Adapter) read(w http.ResponseWriter, r *http.Request) (*Activity, int) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, http.StatusRequestEntityTooLarge
		}
		return nil, http.StatusBadRequest
	}
	act, err := ParseActivity(body)
	if err != nil {
		a.Logger.InfoContext(r.Context(), "teams: unreadable activity", "error", err)
		return nil, http.StatusBadRequest
	}
	return act, http.StatusOK
}

// ParseActivity decodes an activity and checks the little every activity
// must have: a type. Fields it does not know are ignored.
func ParseActivity(body []byte) (*Activity, error) {
	var act Activity
	if err := json.Unmarshal(body, &act); err != nil {
		return nil, err
	}
	if act.Type == "" {
		return nil, errors.New("teams: activity without a type")
	}
	return &act, nil
}

// authenticate checks the request's bearer token, or in dev mode that it
// comes from this machine and not through a proxy. It returns the status
// to answer: 200 when the request may proceed.
func (a *Adapter) authenticate(r *http.Request, act *Activity) int {
	if a.DevMode {
		if !fromLoopback(r) || !loopbackServiceURL(act.ServiceURL) {
			a.Logger.WarnContext(r.Context(), "teams: dev mode refuses a request that is not from loopback, or whose serviceUrl is not",
				"remote", r.RemoteAddr, "host", truncate(r.Host, 80))
			return http.StatusUnauthorized
		}
		return http.StatusOK
	}
	// The key must be endorsed for Teams, whatever channel the activity
	// claims (it is checked to be msteams next).
	_, err := a.Auth.Authenticate(r.Context(), r.Header.Get("Authorization"), ChannelMSTeams, act.ServiceURL)
	if err == nil {
		return http.StatusOK
	}
	if errors.Is(err, ErrKeysUnavailable) {
		// Our failure, not the caller's: the Bot Framework retries a 503.
		a.Logger.ErrorContext(r.Context(), "teams: cannot check tokens: the Bot Framework signing keys are unavailable", "error", err)
		return http.StatusServiceUnavailable
	}
	a.Logger.WarnContext(r.Context(), "teams: unauthenticated request refused", "remote", r.RemoteAddr, "error", err)
	return http.StatusUnauthorized
}

// fromLoopback: the peer is this machine, it addressed us by a loopback
// name (a DNS-rebinding page in the developer's browser cannot), it is no
// browser (no Origin, no Sec-Fetch-*), and no proxy header says it relays
// someone else.
func fromLoopback(r *http.Request) bool {
	return loopback.Request(r, "Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode")
}

// loopbackServiceURL: in dev mode the bot posts only back to this machine
// (the Agents Playground), never where a request tells it to.
func loopbackServiceURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && loopback.Host(u.Host)
}

// chatUser is the activity's sender as a chat user; false when the
// activity lacks what identifies one.
func chatUser(act *Activity) (store.ChatUser, bool) {
	if act.From == nil || act.From.ID == "" || act.Conversation == nil || act.Conversation.ID == "" {
		return store.ChatUser{}, false
	}
	tenant := act.TenantID()
	if tenant == "" {
		return store.ChatUser{}, false
	}
	u := store.ChatUser{Platform: store.PlatformTeams, Tenant: tenant, UserID: act.From.ID}
	return u, u.Validate() == nil
}

// request starts a core request from an activity.
func request(u store.ChatUser, act *Activity, kind bot.Kind) bot.Request {
	req := bot.Request{User: u, Locale: act.Locale, Kind: kind}
	if act.From != nil {
		req.AADObjectID = act.From.AADObjectID
	}
	return req
}

// personal: the activity comes from the user's 1:1 chat with the bot.
func personal(act *Activity) bool {
	return act.Conversation != nil && (act.Conversation.ConversationType == "personal" ||
		(act.Conversation.ConversationType == "" && !act.Conversation.IsGroup))
}

// remember stores how to reach the user later. Unchanged references are
// not written again (refCache).
func (a *Adapter) remember(ctx context.Context, u store.ChatUser, act *Activity) {
	if act.ServiceURL == "" {
		return
	}
	ref := store.ConversationRef{
		ServiceURL:  act.ServiceURL,
		UserID:      act.From.ID,
		AADObjectID: act.From.AADObjectID,
		TenantID:    u.Tenant,
		ChannelID:   act.ChannelID,
	}
	if act.Recipient != nil {
		ref.BotID = act.Recipient.ID
	}
	if personal(act) {
		ref.ConversationID = act.Conversation.ID
	}
	if a.refs.seen(u, ref) {
		return
	}
	ref.UpdatedAt = a.Now()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := a.Conversations.PutConversation(ctx, u, ref); err != nil {
		a.Logger.WarnContext(ctx, "teams: could not store the conversation reference", "user", u.String(), "error", err)
		a.refs.forget(u)
	}
}

// writeJSON answers an invoke: its status, and its body when there is one.
func writeJSON(w http.ResponseWriter, status int, body any) {
	if body == nil {
		w.WriteHeader(status)
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// stripMentions removes "<at>crmbot</at>" mentions and a leading "/crm"
// from a typed command, so "@crmbot leads" in a channel and "/crm leads"
// typed out of Slack habit both read "leads".
func stripMentions(text string) string {
	for {
		i := strings.Index(text, "<at>")
		if i < 0 {
			break
		}
		j := strings.Index(text[i:], "</at>")
		if j < 0 {
			break
		}
		text = text[:i] + text[i+j+len("</at>"):]
	}
	text = strings.TrimSpace(strings.ReplaceAll(text, "&nbsp;", " "))
	if w, rest, _ := strings.Cut(text, " "); strings.EqualFold(w, "/crm") || strings.EqualFold(w, "crm") {
		text = strings.TrimSpace(rest)
	}
	return text
}
