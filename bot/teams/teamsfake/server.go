package teamsfake

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"time"
)

// Operations, as named in [Call.Op] and for [Server.Fail].
const (
	OpToken              = "token"
	OpCreateConversation = "createConversation"
	OpSend               = "send"
	OpReply              = "reply"
	OpUpdate             = "update"
	OpDelete             = "delete"
)

// Defaults of [Options].
const (
	DefaultClientID     = "00000000-0000-0000-0000-00000000b07a"
	DefaultClientSecret = "fake-app-password"
	DefaultTenantID     = "00000000-0000-0000-0000-0000000000aa"
	// MaxMessageBytes is Teams' limit on a bot message (~100 KB).
	MaxMessageBytes = 100 * 1024
	// MaxCardBytes is the card size we promise to stay under (~28 KB).
	MaxCardBytes = 28 * 1024
)

// Options configures a fake connector [Server].
type Options struct {
	// Now is the clock for token expiry, activity ids and call times.
	// Defaults to time.Now.
	Now func() time.Time
	// RequireAuth makes connector calls need a bearer token issued by the
	// fake's token endpoint. Without it any or no Authorization is
	// accepted, as the Agents Playground does.
	RequireAuth bool
	// ClientID and ClientSecret are the app credentials the token endpoint
	// accepts. Defaults: DefaultClientID and DefaultClientSecret.
	ClientID, ClientSecret string
	// TenantID is the tenant of the token endpoint ([Server.TokenURL]) and
	// of created conversations. Defaults to DefaultTenantID.
	TenantID string
	// TokenTTL is the lifetime of issued tokens. Defaults to 1 h, as Entra.
	TokenTTL time.Duration
	// OnCall, when set, is called with every call once it is recorded and
	// before its answer is written, outside the server's lock, from the
	// request's goroutine: it may run concurrently with itself and may call
	// the Server's methods.
	OnCall func(Call)
}

// Fault is an injected failure of an operation; see [Server.Fail].
type Fault struct {
	// Status is the HTTP status to answer (429, 412, 502, 403, …).
	Status int
	// RetryAfter, when not "", is sent as the Retry-After header (seconds
	// or an HTTP date).
	RetryAfter string
	// Code is error.code of the ErrorResponse body (for the token endpoint:
	// the OAuth "error"); SubCode is error.subCode, e.g.
	// "MessageWritesBlocked". Both may be "".
	Code, SubCode string
	// Delivered makes the fake process the request first (the activity is
	// recorded) and answer with the fault afterwards: Teams posted the
	// card but the answer was lost, the case that makes retries duplicate.
	Delivered bool
	// Drop closes the connection without an answer (a transport error).
	// With Delivered, the activity is recorded first.
	Drop bool
}

// Call is one recorded request.
type Call struct {
	Op             string // OpToken, OpSend, …; "" for unknown routes
	Method, Path   string
	ConversationID string // from the path, decoded; created one for OpCreateConversation
	ActivityID     string // updated or created activity; replyToId for OpReply until created
	// Authorization is the request's Authorization header as sent (fake
	// tokens are not secrets).
	Authorization string
	Status        int
	Code          string // error code of a failed call
	Body          json.RawMessage
	Time          time.Time
}

// Activity is an activity the bot posted, as the fake recorded it.
type Activity struct {
	ConversationID string
	ID             string
	ReplyToID      string
	Type           string
	Text           string
	Attachments    []Attachment
	// Raw is the JSON body of the last post or update.
	Raw  json.RawMessage
	Time time.Time // of the first post
	// Updates counts the PUTs applied.
	Updates int
}

// Attachment is an attachment of a recorded activity.
type Attachment struct {
	ContentType string
	Content     json.RawMessage
}

// Card returns the content of the first Adaptive Card attachment decoded
// into a map, or nil.
func (a Activity) Card() map[string]any {
	for _, at := range a.Attachments {
		if at.ContentType == adaptiveCardType {
			var m map[string]any
			if json.Unmarshal(at.Content, &m) == nil {
				return m
			}
		}
	}
	return nil
}

// Violation is something the bot did that Teams would reject, or that our
// design promises not to do although Teams would accept it.
type Violation struct {
	Kind           string // e.g. "unauthorized", "message_too_big", "card_too_large", "text_with_card"
	ConversationID string
	ActivityID     string
	Detail         string
}

// Server is the fake connector and token endpoint. All methods are safe
// for concurrent use.
type Server struct {
	opts   Options
	hs     *httptest.Server
	closed chan struct{}

	mu            sync.Mutex
	tokens        map[string]time.Time // token → expiry
	conversations map[string]string    // user id → conversation id
	activities    []*Activity          // arrival order
	byID          map[string]*Activity // conversation id + "\x00" + activity id
	calls         []Call
	violations    []Violation
	faults        map[string][]*faultRule
	delay         time.Duration
	lastID        int64
	changed       chan struct{} // closed and replaced on every change, for WaitFor
}

type faultRule struct {
	n     int // remaining; < 0 forever
	fault Fault
}

// New starts a fake connector. Close it when done.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ClientID == "" {
		opts.ClientID = DefaultClientID
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = DefaultClientSecret
	}
	if opts.TenantID == "" {
		opts.TenantID = DefaultTenantID
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = time.Hour
	}
	s := &Server{
		opts:          opts,
		closed:        make(chan struct{}),
		tokens:        map[string]time.Time{},
		conversations: map[string]string{},
		byID:          map[string]*Activity{},
		faults:        map[string][]*faultRule{},
		changed:       make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.serveToken)
	mux.HandleFunc("POST /v3/conversations", s.serveCreateConversation)
	mux.HandleFunc("POST /v3/conversations/{conversation}/activities", s.serveSend)
	mux.HandleFunc("POST /v3/conversations/{conversation}/activities/{activity}", s.serveSend)
	mux.HandleFunc("PUT /v3/conversations/{conversation}/activities/{activity}", s.serveUpdate)
	mux.HandleFunc("DELETE /v3/conversations/{conversation}/activities/{activity}", s.serveDelete)
	mux.HandleFunc("/", s.serveUnknown)
	s.hs = httptest.NewServer(mux)
	return s
}

// URL is the serviceUrl to give the bot (http://127.0.0.1:port).
func (s *Server) URL() string { return s.hs.URL }

// TokenURL is the token endpoint of Options.TenantID.
func (s *Server) TokenURL() string {
	return s.hs.URL + "/" + s.opts.TenantID + "/oauth2/v2.0/token"
}

// ClientID is the app id the token endpoint accepts (MICROSOFT_APP_ID).
func (s *Server) ClientID() string { return s.opts.ClientID }

// ClientSecret is the app password the token endpoint accepts.
func (s *Server) ClientSecret() string { return s.opts.ClientSecret }

// TenantID is the tenant of the token endpoint and of conversations.
func (s *Server) TenantID() string { return s.opts.TenantID }

// Close ends pending delays and shuts the server down.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.closed:
	default:
		close(s.closed)
	}
	s.mu.Unlock()
	s.hs.CloseClientConnections()
	s.hs.Close()
}

// Fail makes the next n calls of op (OpToken, OpSend, …) fail with fault;
// n < 0 means until cleared with n == 0. Faults of one op queue in order.
func (s *Server) Fail(op string, n int, fault Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n == 0 {
		delete(s.faults, op)
		return
	}
	s.faults[op] = append(s.faults[op], &faultRule{n: n, fault: fault})
}

// Delay makes every answer wait d first (0 removes it); a client that
// gives up, or Close, ends the wait.
func (s *Server) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Activities returns the activities posted to a conversation, in arrival
// order, updates applied in place. Duplicate posts appear twice; deleted
// ones not at all (their DELETE stays in [Server.Calls]).
func (s *Server) Activities(conversationID string) []Activity {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Activity
	for _, a := range s.activities {
		if a.ConversationID == conversationID {
			out = append(out, a.clone())
		}
	}
	return out
}

// All returns every posted activity, in arrival order.
func (s *Server) All() []Activity {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Activity, 0, len(s.activities))
	for _, a := range s.activities {
		out = append(out, a.clone())
	}
	return out
}

// Conversation returns the 1:1 conversation created for a user, or "".
func (s *Server) Conversation(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conversations[userID]
}

// Calls returns the recorded calls, of the given ops only if any.
func (s *Server) Calls(op ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(op) == 0 || slices.Contains(op, c.Op) {
			c.Body = slices.Clone(c.Body)
			out = append(out, c)
		}
	}
	return out
}

// Violations returns what the bot did that Teams would reject or that our
// design rules out.
func (s *Server) Violations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

// WaitFor calls cond after every recorded change until it returns true
// (→ true) or timeout passes (→ false). cond may call the Server's methods.
func (s *Server) WaitFor(cond func() bool, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return true
		}
		select {
		case <-ch:
		case <-deadline.C:
			return cond()
		}
	}
}

// changedLocked wakes WaitFor.
func (s *Server) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) violateLocked(kind, conversationID, activityID, detail string) {
	s.violations = append(s.violations, Violation{Kind: kind, ConversationID: conversationID, ActivityID: activityID, Detail: detail})
	s.changedLocked()
}

// takeFault pops the next fault of op, if any.
func (s *Server) takeFault(op string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	rules := s.faults[op]
	if len(rules) == 0 {
		return nil
	}
	f := rules[0].fault
	if rules[0].n > 0 {
		rules[0].n--
		if rules[0].n == 0 {
			s.faults[op] = rules[1:]
		}
	}
	return &f
}

// wait applies Delay; false when the client went away or the server closed.
func (s *Server) wait(r *http.Request) bool {
	s.mu.Lock()
	d := s.delay
	s.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
	case <-s.closed:
	}
	return false
}

func (a *Activity) clone() Activity {
	c := *a
	c.Raw = slices.Clone(a.Raw)
	c.Attachments = slices.Clone(a.Attachments)
	return c
}

func randomToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "fake." + hex.EncodeToString(b)
}
