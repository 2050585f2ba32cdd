// Package teams is crmbot's Microsoft Teams adapter: it turns Bot Framework
// activities posted to /api/messages (typed commands, Adaptive Card
// actions, dialogs, type-ahead queries) into the conversation core's
// requests (package bot), renders the core's views as Adaptive Cards
// (cards/adaptive), and posts messages through the Bot Framework connector.
//
// The transport is ours, not msbotbuilder-go's (reference/teams.md): its
// adapter cannot put an invoke response in the HTTP body, rejects the
// Agents Playground's unauthenticated requests, and its token and key
// handling fall short. So this package validates the Bot Framework's JWTs
// itself (auth.go), answers invokes in the body (invoke.go), and has its
// own connector client (connector.go).
//
// Requests and answers, in short:
//   - a message ("leads", "new case") is a command; the answer is posted as
//     a card-only message, in the user's 1:1 chat with the bot (in a channel
//     or group chat a short note says so: records stay private);
//   - task/fetch opens a dialog with the core's answer, task/submit answers
//     with the next step, the form again with its errors, or the result;
//   - adaptiveCard/action (Action.Execute) replaces the card in place;
//   - application/search answers a lookup's type-ahead (Data.Query);
//   - a message carrying a value (Action.Submit outside a dialog, the
//     Universal Actions fallback) acts like the invoke it stands for.
//
// Teams waits about five seconds for an invoke's answer and then retries.
// So an invoke waits for the core at most InvokeBudget; past it the user is
// told the answer will follow, and it is posted (or the card updated) when
// the core is done.
package teams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/internal/bgwork"
	"github.com/crmbot/crmbot/internal/i18n"
	"github.com/crmbot/crmbot/store"
)

// Core is what the adapter needs of the conversation core (*bot.Core).
type Core interface {
	Handle(ctx context.Context, req bot.Request) (bot.Response, error)
	Lookup(ctx context.Context, req bot.LookupRequest) ([]cards.Option, error)
}

// Outbound is what the adapter needs of the Bot Framework connector
// (*Connector).
type Outbound interface {
	Send(ctx context.Context, serviceURL, conversationID string, a *Activity) (string, error)
	Update(ctx context.Context, serviceURL, conversationID, activityID string, a *Activity) error
	CreateConversation(ctx context.Context, serviceURL string, p NewConversation) (string, error)
}

// Conversations keeps how to reach each Teams user outside an interaction
// (store.ConversationStore).
type Conversations interface {
	PutConversation(ctx context.Context, u store.ChatUser, r store.ConversationRef) error
	Conversation(ctx context.Context, u store.ChatUser) (store.ConversationRef, error)
	MarkUnreachable(ctx context.Context, u store.ChatUser) error
}

// Defaults of the Adapter's tuning fields.
const (
	// DefaultInvokeBudget leaves a second of the five Teams waits.
	DefaultInvokeBudget = 4 * time.Second
	// DefaultMaxBody caps an activity: Teams' own messages stay far below.
	DefaultMaxBody = 1 << 20
	// workTimeout bounds the work that goes on after the answer.
	workTimeout = 60 * time.Second
)

// Adapter is the Teams adapter. Set the fields, call Init, mount Routes,
// and register the adapter as the core's Sender for store.PlatformTeams.
type Adapter struct {
	Core          Core
	Connector     Outbound
	Conversations Conversations
	// Auth validates the Bot Framework's tokens. Nil only in DevMode.
	Auth *Authenticator
	// DevMode accepts unauthenticated requests, from loopback only: the
	// Agents Playground. The configuration allows it only when no
	// MICROSOFT_APP_ID is set and Dynamics is the embedded sandbox.
	DevMode bool
	// AppID is the bot's Microsoft app id; "" in dev mode.
	AppID string
	// Dedupe drops an invoke Teams retries after its deadline, and welcomes
	// a user once.
	Dedupe   store.Dedupe
	Messages *i18n.Catalog
	Logger   *slog.Logger
	Now      func() time.Time
	// InvokeBudget is how long an invoke waits for the core (0:
	// DefaultInvokeBudget).
	InvokeBudget time.Duration
	// MaxBody caps request bodies (0: DefaultMaxBody).
	MaxBody int64

	bg   bgwork.Group
	refs refCache
}

// Init checks the configuration and fills defaults.
func (a *Adapter) Init() error {
	if a.Core == nil || a.Connector == nil || a.Conversations == nil {
		return errors.New("teams: Adapter needs Core, Connector and Conversations")
	}
	if a.Auth == nil && !a.DevMode {
		return errors.New("teams: Adapter needs an Authenticator outside dev mode")
	}
	if a.Auth != nil && a.DevMode {
		return errors.New("teams: dev mode and an Authenticator exclude each other")
	}
	if a.Messages == nil {
		a.Messages = i18n.Default()
	}
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.InvokeBudget <= 0 {
		a.InvokeBudget = DefaultInvokeBudget
	}
	if a.MaxBody <= 0 {
		a.MaxBody = DefaultMaxBody
	}
	if a.DevMode {
		a.Logger.Warn("teams: LOCAL DEV MODE: /api/messages accepts unauthenticated requests from loopback " +
			"(no MICROSOFT_APP_ID, embedded Dynamics sandbox). Never run a real deployment like this.")
	}
	return nil
}

// Wait blocks until the work started after answers is done, or ctx ends.
func (a *Adapter) Wait(ctx context.Context) error { return a.bg.Wait(ctx) }

// background runs f detached from the request's context but bounded by
// workTimeout, and counted for Wait.
func (a *Adapter) background(ctx context.Context, f func(ctx context.Context)) {
	a.bg.Go(ctx, workTimeout, a.Logger, "teams", f)
}

// result is the core's answer to one request.
type result struct {
	resp bot.Response
	err  error
}

// handle asks the core, logging what it reports.
func (a *Adapter) handle(ctx context.Context, req bot.Request) (r result) {
	defer func() {
		// A panic in the core must still answer the user (an invoke waits
		// for this result), and never take the process down.
		if p := recover(); p != nil {
			a.Logger.ErrorContext(ctx, "teams: the core panicked", "user", req.User.String(), "panic", p)
			r = result{err: fmt.Errorf("teams: core panic: %v", p), resp: bot.Response{View: &cards.Message{
				Tone: cards.ToneWarning, Text: []string{a.Messages.For(req.Locale).T(i18n.ErrorGeneric, nil)}}}}
		}
	}()
	resp, err := a.Core.Handle(ctx, req)
	if err != nil {
		a.Logger.WarnContext(ctx, "teams: request failed", "user", req.User.String(), "kind", int(req.Kind), "error", err)
	}
	return result{resp: resp, err: err}
}

// handleWithin asks the core in the background and waits up to the invoke
// budget. When the budget runs out first, late is called with the answer
// once it comes (in the background) and ok is false.
func (a *Adapter) handleWithin(ctx context.Context, req bot.Request, received time.Time, late func(context.Context, result)) (result, bool) {
	ch := make(chan result, 1)
	taken := make(chan bool, 1)
	a.background(ctx, func(ctx context.Context) {
		r := a.handle(ctx, req)
		ch <- r
		if !<-taken {
			late(ctx, r)
		}
	})
	wait := a.InvokeBudget - a.Now().Sub(received)
	timer := time.NewTimer(max(wait, 0))
	defer timer.Stop()
	select {
	case r := <-ch:
		taken <- true
		return r, true
	case <-timer.C:
		// The answer may have come at the same moment: take it if so.
		select {
		case r := <-ch:
			taken <- true
			return r, true
		default:
			taken <- false
			return result{}, false
		}
	}
}
