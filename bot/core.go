package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/internal/i18n"
	"github.com/crmbot/crmbot/store"
)

// The conversation core: requests in, views out (DESIGN.md). An adapter
// turns a slash command, a button click or a form submission into a
// Request, calls Core.Handle, and renders the Response's view on its
// platform. Every flow of the inventory is written here once, driven by the
// record-type catalogue; nothing below knows Slack or Teams.

// Kind is what a Request is.
type Kind int

// Request kinds.
const (
	// KindCommand is a typed command: "/crm leads acme" in Slack, "leads acme"
	// in Teams. Text holds the line without the "/crm".
	KindCommand Kind = iota + 1
	// KindAction is a button (ActionID, Value), or a list's search box
	// (ActionID = the SearchBox's, Value = its State, Text = the typed text).
	KindAction
	// KindSubmit is a form submission: FormID, State and Values.
	KindSubmit
)

// Request is one chat interaction, platform-neutral.
type Request struct {
	User store.ChatUser
	// Locale is the chat user's locale ("fr-FR"); it picks the language.
	Locale string
	// AADObjectID (Teams) and Email (Slack profile) bind a link the user may
	// have to make first (see LinkRequest).
	AADObjectID, Email string

	Kind Kind
	// Text is the command line (KindCommand) or the search text (KindAction).
	Text string
	// ActionID and Value come from a cards.Action (KindAction).
	ActionID, Value string
	// FormID, State and Values come from a cards.Form (KindSubmit): Values
	// are the inputs' texts by Input.Name, in the formats of cards.InputKind.
	FormID, State string
	Values        map[string]string
}

// Surface says where a Response's view goes.
type Surface int

// Surfaces.
const (
	// SurfaceMessage: a new message to the user (the answer to a command).
	SurfaceMessage Surface = iota
	// SurfaceReplace: replaces the card the user acted on (paging, search,
	// an in-place action).
	SurfaceReplace
	// SurfaceDialog: opens a dialog, or updates the one the request came
	// from (Slack modal, Teams dialog).
	SurfaceDialog
)

// Response is the core's answer to a Request.
type Response struct {
	View    cards.View
	Surface Surface
	// Done is set when a submitted form is finished with: the adapter may
	// close the dialog (Slack: response_action update/clear; Teams: a
	// message) and show View as the result.
	Done bool
	// Refresh, when set, is the new state of the card the dialog was opened
	// from (a notification or a record card): the adapter updates that
	// message in place.
	Refresh cards.View
}

// Sender delivers views to chat users outside an interaction: proactive
// notifications, and the answer to a command that waited for a link. Each
// adapter implements it for its platform.
type Sender interface {
	// Send posts v to the user's 1:1 conversation (or to opts.Channel) and
	// returns the posted message's reference, kept to update the message in
	// place later.
	Send(ctx context.Context, to store.ChatUser, v cards.View, opts SendOptions) (MessageRef, error)
}

// Deleter is implemented by a Sender that can take back a message it
// posted. The delivery workers use it when two replicas posted the same
// notification (one was paused between its last "posted meanwhile?" look
// and its post): the one whose record of the post came second deletes its
// own message.
type Deleter interface {
	// Delete removes the message ref names, which Send returned for a post
	// to u. A message already gone is not an error.
	Delete(ctx context.Context, u store.ChatUser, ref MessageRef) error
}

// ErrUnreachable: the platform will not take messages for the user (they
// blocked or removed the app, or never opened a conversation the bot can
// reach). Senders wrap it; a notification for such a user is skipped, not
// retried.
var ErrUnreachable = errors.New("bot: chat user unreachable")

// SendOptions shape a proactive post.
type SendOptions struct {
	// Channel, when set, is where to post instead of the user's 1:1
	// conversation (their notification preference: a Slack channel id).
	// A Sender that cannot post there says so with an error.
	Channel string
	// Key identifies the notification (its outbox dedupe key) on the posted
	// message: Slack carries it as message metadata, so a retry can find
	// the post an earlier attempt made.
	Key string
	// Recover says an earlier attempt with the same Key may have posted
	// already (it died before recording the result). A Sender that can look
	// (Slack: the conversation's recent messages, by metadata) returns that
	// earlier post instead of posting again; one that cannot posts (a
	// duplicate rather than a loss).
	Recover bool
	// BeforeSend, when set, is called by the core right before it hands the
	// view to the Sender, and by a Sender that waits before posting (Slack's
	// pacing) again right before the post; an error cancels the post and is
	// returned as is.
	BeforeSend func(context.Context) error
}

// MessageRef names a posted message.
type MessageRef struct {
	Platform     string
	Conversation string // Slack channel id, Teams conversation id
	ID           string // Slack ts, Teams activity id
}

// CoreStore is what the core needs from the store.
type CoreStore interface {
	GetLink(ctx context.Context, u store.ChatUser) (store.Link, error)
	LinkedUsers(ctx context.Context, systemUserID string) ([]store.ChatUser, error)
	store.FlowSessionStore
	store.PreferenceStore
}

// Core is the conversation core. Set the fields, call Init, then use it
// from any goroutine.
type Core struct {
	Store CoreStore
	// Links starts the sign-in of users who are not linked yet.
	Links *LinkService
	// Tokens authenticates each user's Dynamics calls (delegated).
	Tokens *UserTokens
	// OrgURL is the Dataverse org ("https://org.crm.dynamics.com").
	OrgURL string
	// WebURL is the Dynamics web client's base for "Open in Dynamics"
	// links; empty: OrgURL.
	WebURL string
	// Catalog of record types (nil: crm.DefaultCatalog()).
	Catalog *crm.Catalog
	// Messages (nil: i18n.Default()).
	Messages *i18n.Catalog
	// Throttle shared by every user's client (nil: a new one).
	Throttle *crm.Throttle
	// ClientOptions are added to every Dynamics client (logger, observer).
	ClientOptions []crm.Option
	// Senders deliver to each platform (store.PlatformSlack, …).
	Senders map[string]Sender
	// PageSize of lists (0: 10).
	PageSize int
	Logger   *slog.Logger
	Now      func() time.Time
	// Timeout bounds one request's Dynamics work (0: 25 s).
	Timeout time.Duration
}

// Init checks the configuration and fills defaults.
func (c *Core) Init() error {
	if c.Store == nil || c.Tokens == nil || c.Links == nil {
		return errors.New("bot: Core needs Store, Tokens and Links")
	}
	if c.OrgURL == "" {
		return errors.New("bot: Core needs OrgURL")
	}
	c.OrgURL = strings.TrimRight(c.OrgURL, "/")
	if c.WebURL == "" {
		c.WebURL = c.OrgURL
	}
	c.WebURL = strings.TrimRight(c.WebURL, "/")
	if c.Catalog == nil {
		c.Catalog = crm.DefaultCatalog()
	}
	if c.Messages == nil {
		c.Messages = i18n.Default()
	}
	if c.Throttle == nil {
		c.Throttle = crm.NewThrottle()
	}
	if c.PageSize <= 0 {
		c.PageSize = 10
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Timeout <= 0 {
		c.Timeout = 25 * time.Second
	}
	return nil
}

// session is one request's context: the user's language, link and
// Dynamics client.
type session struct {
	req  Request
	loc  i18n.Localizer
	lang string
	link store.Link
	crm  *crm.Client
	tz   *time.Location
	// offline: Dynamics must not be asked (the principal is paused).
	offline bool
}

func (s *session) t(k i18n.Key, args i18n.Args) string { return s.loc.T(k, args) }

// Handle answers one request. Errors that the user can act on (not linked,
// no access, Dynamics down) come back as views; the error is non-nil only
// for a failure the adapter should log, and the Response then still holds a
// view to show.
func (c *Core) Handle(ctx context.Context, req Request) (Response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	s := c.newSession(req)

	// Commands that need no link.
	if req.Kind == KindCommand {
		word, args := splitWord(req.Text)
		switch strings.ToLower(word) {
		case "", "help", "aide", "?":
			return Response{View: c.help(s)}, nil
		case "link", "relink", "unlink", "whoami":
			return c.linkCommand(ctx, s, word, args)
		}
	}

	link, err := c.Store.GetLink(ctx, req.User)
	if errors.Is(err, store.ErrNotFound) || (err == nil && link.Broken) {
		return c.linkPrompt(ctx, s, link.Broken, link.BrokenReason)
	}
	if err != nil {
		return c.fail(s, err)
	}
	prefs, err := c.Store.GetPreferences(ctx, req.User)
	if err != nil {
		prefs = store.DefaultPreferences() // the time zone only: UTC
	}
	if err := c.attach(s, link, prefs); err != nil {
		return c.fail(s, err)
	}

	var resp Response
	switch req.Kind {
	case KindCommand:
		resp, err = c.command(ctx, s)
	case KindAction:
		resp, err = c.action(ctx, s)
	case KindSubmit:
		resp, err = c.submit(ctx, s)
	default:
		err = fmt.Errorf("bot: unknown request kind %d", req.Kind)
	}
	if err != nil {
		return c.failIn(ctx, s, err, resp.Surface)
	}
	return resp, nil
}

// newSession starts a request's context: the user's language, UTC until
// their preferences are known.
func (c *Core) newSession(req Request) *session {
	loc := c.Messages.For(req.Locale)
	return &session{req: req, loc: loc, lang: loc.Lang(), tz: time.UTC}
}

// attach gives a session the user's link, time zone and Dynamics client.
func (c *Core) attach(s *session, link store.Link, prefs store.Preferences) error {
	cl, err := c.client(s.req.User, link)
	if err != nil {
		return err
	}
	s.link, s.tz, s.crm = link, prefsZone(prefs), cl
	return nil
}

// client is the user's Dynamics client (delegated token, shared throttle).
func (c *Core) client(u store.ChatUser, l store.Link) (*crm.Client, error) {
	opts := append([]crm.Option{crm.WithCatalog(c.Catalog), crm.WithThrottle(c.Throttle, crm.PrincipalKey(c.OrgURL, l.SystemUserID))},
		c.ClientOptions...)
	return crm.NewClient(c.OrgURL, c.Tokens.Client(u), opts...)
}

// linkPrompt answers a user who must link (or relink) first, saying why a
// broken link broke (reason: store.Link.BrokenReason). The original
// request is kept with the link and carried out once the link is made.
func (c *Core) linkPrompt(ctx context.Context, s *session, broken bool, reason string) (Response, error) {
	resume := ""
	if s.req.Kind == KindCommand {
		resume = s.req.Text
	}
	p, err := c.Links.Start(ctx, LinkRequest{User: s.req.User, Locale: s.req.Locale, AADObjectID: s.req.AADObjectID,
		Email: s.req.Email, Resume: resume})
	if err != nil {
		return c.fail(s, err)
	}
	text := []string{s.t(i18n.NotLinked, nil)}
	if broken {
		text = []string{s.t(i18n.LinkExpiredRelink, nil)}
		if why := brokenWhy(s, reason); why != "" {
			text = append(text, why)
		}
	}
	text = append(text, s.t(i18n.LinkPrompt, nil))
	if resume != "" {
		text = append(text, s.t(i18n.LinkResumeLater, i18n.Args{"command": resume}))
	}
	text = append(text, s.t(i18n.LinkPromptExpires, i18n.Args{"minutes": int(store.NonceTTL.Minutes())}))
	return Response{View: &cards.Message{Tone: cards.ToneInfo, Title: s.t(i18n.LinkTitle, nil), Text: text,
		Actions: []cards.Action{{URL: p.URL, Label: s.t(i18n.LinkButton, nil), Style: cards.StylePrimary}}}}, nil
}

// brokenWhy says why a link broke, in the user's language: the reasons
// the core and the store record are known; another is quoted as a detail
// line. "" when there is nothing to add.
func brokenWhy(s *session, reason string) string {
	reason = strings.TrimSpace(reason)
	switch {
	case reason == "" || reason == "link broken":
		return ""
	case strings.Contains(reason, "refused the refresh token"):
		// The token endpoint answered invalid_grant (UserTokens.refreshLocked),
		// with Entra's AADSTS number when it gave one.
		return s.t(i18n.LinkBrokenRefused, i18n.Args{"code": firstNonEmpty(aadstsCode.FindString(reason), "invalid_grant")})
	case reason == store.BrokenReasonFor(store.ErrUnknownKeyID) || reason == store.BrokenReasonFor(store.ErrUndecryptable):
		return s.t(i18n.LinkBrokenUnreadable, nil)
	}
	return s.t(i18n.LinkBrokenDetails, i18n.Args{"reason": truncateRunes(reason, 200)})
}

// linkCommand runs link, relink, unlink and whoami.
func (c *Core) linkCommand(ctx context.Context, s *session, word, args string) (Response, error) {
	r, _, err := c.Links.LinkCommand(ctx, LinkRequest{User: s.req.User, Locale: s.req.Locale, AADObjectID: s.req.AADObjectID,
		Email: s.req.Email}, word, args, c.Messages)
	if err != nil {
		return c.fail(s, err)
	}
	m := &cards.Message{Text: r.Lines}
	if r.ButtonURL != "" {
		m.Actions = []cards.Action{{URL: r.ButtonURL, Label: r.ButtonLabel, Style: cards.StylePrimary}}
	}
	return Response{View: m}, nil
}

// Resume greets a user who just linked and carries out the command that
// waited for the link, delivering both through the platform's Sender.
// Wire it as LinkService.OnLinked.
func (c *Core) Resume(ctx context.Context, l store.Link, command string) error {
	locale := l.Locale
	sender := c.Senders[l.ChatUser.Platform]
	if sender == nil {
		return nil
	}
	loc := c.Messages.For(locale)
	views := []cards.View{&cards.Message{Tone: cards.ToneSuccess,
		Text: []string{loc.T(i18n.LinkedAs, i18n.Args{"name": l.DisplayName, "email": firstNonEmpty(l.Email, l.UPN)})}}}
	if strings.TrimSpace(command) != "" {
		resp, err := c.Handle(ctx, Request{User: l.ChatUser, Locale: locale, Kind: KindCommand, Text: command})
		if err != nil {
			c.Logger.WarnContext(ctx, "resumed command failed", "chat_user", l.ChatUser.String(), "error", err)
		}
		if resp.View != nil {
			views = append(views, resp.View)
		}
	}
	for _, v := range views {
		if _, err := sender.Send(ctx, l.ChatUser, v, SendOptions{}); err != nil {
			return fmt.Errorf("resume for %s: %w", l.ChatUser, err)
		}
	}
	return nil
}

// fail turns an error into a message view (and returns the error for the
// adapter's log unless the user caused it).
func (c *Core) fail(s *session, err error) (Response, error) {
	return Response{View: c.errorMessage(s, err)}, c.logged(err)
}

// failIn shows an error on the surface the request came from.
func (c *Core) failIn(ctx context.Context, s *session, err error, surface Surface) (Response, error) {
	var lb *LinkBrokenError
	if errors.As(err, &lb) {
		return c.linkPrompt(ctx, s, true, lb.Reason)
	}
	if s.req.Kind != KindCommand && surface == SurfaceMessage {
		surface = SurfaceReplace
	}
	if s.req.Kind == KindSubmit || dialogActions[s.req.ActionID] {
		surface = SurfaceDialog
	}
	var th *crm.ThrottledError
	if s.req.Kind == KindSubmit && (errors.As(err, &th) || isUnavailable(err) || errors.Is(err, context.DeadlineExceeded)) {
		// Dynamics asked us to slow down, or is not answering: the form
		// again, as the user filled it, with what happened above it, so a
		// second click on Save is all it takes.
		if f, ok := c.busyForm(ctx, s, c.errorMessage(s, err).Text[0]); ok {
			return Response{View: f, Surface: SurfaceDialog}, c.logged(err)
		}
	}
	return Response{View: c.errorMessage(s, err), Surface: surface}, c.logged(err)
}

// logged returns err when it is worth logging (not the user's doing).
func (c *Core) logged(err error) error {
	var ue *userError
	if errors.As(err, &ue) || errors.Is(err, crm.ErrNotFound) || errors.Is(err, crm.ErrForbidden) {
		return nil
	}
	return err
}

// userError is a mistake of the user's (an unknown command, a stale
// button) with its message key.
type userError struct {
	key  i18n.Key
	args i18n.Args
}

func (e *userError) Error() string { return "bot: " + string(e.key) }

func userErr(k i18n.Key, args i18n.Args) error { return &userError{key: k, args: args} }

// errorMessage explains an error to the user without internals.
func (c *Core) errorMessage(s *session, err error) *cards.Message {
	var ue *userError
	var th *crm.ThrottledError
	var lb *LinkBrokenError
	key, args := i18n.ErrorGeneric, i18n.Args(nil)
	switch {
	case errors.As(err, &ue):
		key, args = ue.key, ue.args
	case errors.As(err, &lb):
		key = i18n.LinkExpiredRelink
	case errors.Is(err, crm.ErrNotFound):
		key = i18n.ErrorNotFound
	case errors.Is(err, crm.ErrForbidden):
		key = i18n.ErrorForbidden
	case errors.As(err, &th):
		key, args = busyKey(th.RetryAfter)
	case errors.Is(err, context.DeadlineExceeded), isUnavailable(err):
		key = i18n.ErrorDynamicsUnavailable
	}
	m := &cards.Message{Tone: cards.ToneError, Text: []string{s.t(key, args)}}
	switch key {
	case i18n.ErrorGeneric, i18n.ErrorDynamicsUnavailable, i18n.ErrorBusy, i18n.ErrorBusySeconds, i18n.ErrorBusyMinutes:
		m.Tone = cards.ToneWarning // passing: try again
	}
	return m
}

// busyKey says how long Dynamics asked us to wait (a 429's Retry-After,
// or what is left of the principal's pause): in seconds up to 90, in
// minutes (rounded up) beyond; without a wait, "in a minute".
func busyKey(wait time.Duration) (i18n.Key, i18n.Args) {
	secs := int(math.Ceil(wait.Seconds()))
	switch {
	case secs <= 0:
		return i18n.ErrorBusy, nil
	case secs <= 90:
		return i18n.ErrorBusySeconds, i18n.Args{"seconds": secs}
	}
	return i18n.ErrorBusyMinutes, i18n.Args{"minutes": (secs + 59) / 60}
}

// isUnavailable reports a Dynamics outage (5xx or no answer).
func isUnavailable(err error) bool {
	var ae *crm.APIError
	if errors.As(err, &ae) {
		return ae.StatusCode >= 500 || ae.StatusCode == 0
	}
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne)
}

// splitWord splits a command line into its first word (lower-cased by
// callers as needed) and the rest, trimmed.
func splitWord(line string) (string, string) {
	line = strings.TrimSpace(line)
	i := strings.IndexFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' })
	if i < 0 {
		return line, ""
	}
	return line[:i], strings.TrimSpace(line[i+1:])
}
