package slackfake

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures a fake Slack [Server].
type Options struct {
	// Now is the clock used for trigger expiry, timestamps and hashes.
	// Defaults to time.Now.
	Now func() time.Time
	// AppID is the app id reported in payloads and responses. Defaults to
	// "A0FAKEAPP".
	AppID string
	// ClientID and ClientSecret are the app credentials oauth.v2.access
	// checks. Defaults: "fake-client-id" and "fake-client-secret".
	ClientID, ClientSecret string
	// TriggerTTL is how long a trigger_id stays usable. Defaults to 3s, as
	// in Slack.
	TriggerTTL time.Duration
	// SocketPingInterval is how often the Socket Mode endpoint pings the
	// client. Defaults to 5s (slack-go's client gives up after 30s without
	// a ping).
	SocketPingInterval time.Duration
	// OnCall, when set, is called with every Web API call (and every
	// response_url post) once it is recorded and before its answer is
	// written, outside the server's lock, from the request's goroutine:
	// it may run concurrently with itself and may call the Server's
	// methods. Its Params are a copy. Benchmarks use it to learn without
	// polling that a call has landed.
	OnCall func(Call)
}

// Team is a workspace the app is installed in, with its bot token.
type Team struct {
	ID           string
	EnterpriseID string
	Name         string
	BotToken     string
	BotUserID    string
	BotID        string
	// Scopes are the bot token's scopes. nil: scopes are not checked (every
	// method answers as if granted); set, methods that check a scope
	// (conversations.history: channels:history, groups:history or
	// im:history by conversation type) answer missing_scope without it. A
	// team installed through oauth.v2.access gets the grant's scopes.
	Scopes []string
}

// hasScope reports whether the team's token carries scope (always, when
// the team's scopes are not modelled).
func (t *Team) hasScope(scope string) bool {
	return t.Scopes == nil || slices.Contains(t.Scopes, scope)
}

// requireScope answers missing_scope, with Slack's needed / provided
// fields, unless the team's token carries scope.
func (t *Team) requireScope(scope string) *apiError {
	if t.hasScope(scope) {
		return nil
	}
	e := errf("missing_scope")
	e.extra = map[string]any{"needed": scope, "provided": strings.Join(t.Scopes, ",")}
	return e
}

// Channel is a public or private channel of a team (see
// [Server.AddChannel]).
type Channel struct {
	ID       string // "C…" (or a legacy private "G…")
	TeamID   string // "" : visible to every team
	Name     string
	Private  bool
	Archived bool
	// Members are the ids of the users in the channel. The bot is a member
	// when its team's BotUserID is listed.
	Members []string
}

// User is a Slack user known to the fake (users.info, conversations.open).
type User struct {
	ID       string
	TeamID   string
	Name     string
	RealName string
	Email    string
	Locale   string // e.g. "fr-FR"; returned only with include_locale=true
	TZ       string // IANA name, e.g. "Europe/Paris"
}

// OAuthGrant is what an OAuth code registered with [Server.AddOAuthCode]
// is exchanged for by oauth.v2.access.
type OAuthGrant struct {
	Team                Team // ID and Name are reported (empty ID → team null)
	Enterprise          struct{ ID, Name string }
	IsEnterpriseInstall bool
	BotToken            string
	BotUserID           string
	Scope               string
	AuthedUserID        string
	// RedirectURI, when set, must equal the redirect_uri of the exchange
	// (bad_redirect_uri otherwise).
	RedirectURI string
}

// Fault is an injected failure of a Web API method; see [Server.Fail].
type Fault struct {
	// Status is the HTTP status (429, 500, …). 0 means 200.
	Status int
	// RetryAfter, in seconds, is sent as the Retry-After header when > 0.
	RetryAfter int
	// Error is the Slack error name in an {"ok":false,"error":…} body.
	// Defaults to "ratelimited" for 429.
	Error string
}

// Call is one recorded Web API call.
type Call struct {
	Method string
	Token  string
	TeamID string // the team of the token, if known
	// UserID is the user whose view a successful views.* call opened,
	// pushed, updated or published ("" for other methods).
	UserID string
	// Params holds the request parameters: form fields as strings, except
	// JSON-valued fields (blocks, view, metadata, unfurls, attachments),
	// which are decoded; JSON bodies decoded as is.
	Params map[string]any
	Time   time.Time
	// Error is the Slack error returned ("" on success); Status is the HTTP
	// status sent.
	Error  string
	Status int
}

// Param returns Params[key] as a string ("" when absent or not a string).
func (c Call) Param(key string) string {
	s, _ := c.Params[key].(string)
	return s
}

// Violation is something the bot did that Slack would not accept but
// cannot report as an API error (e.g. a view_submission answer with errors
// for a non-input block, or an answer later than 3 seconds).
type Violation struct {
	Kind   string // e.g. "errors_key_not_input", "late_response", "push_limit_reached"
	ViewID string
	Detail string
}

// Message is a message in a channel, as the fake stores it.
type Message struct {
	Channel   string
	TS        string
	ThreadTS  string
	Text      string
	Blocks    json.RawMessage // nil when the message has no blocks
	Metadata  *Metadata
	UserID    string // bot user id of the poster
	BotID     string
	TeamID    string
	Edits     int    // number of chat.update calls applied
	Ephemeral bool   // chat.postEphemeral; not in conversations.history
	ForUser   string // recipient of an ephemeral message
}

// Metadata is message metadata (event_type and event_payload).
type Metadata struct {
	EventType    string         `json:"event_type"`
	EventPayload map[string]any `json:"event_payload"`
}

// Unfurl is a recorded chat.unfurl call.
type Unfurl struct {
	Channel  string
	TS       string
	UnfurlID string
	Source   string
	Unfurls  map[string]json.RawMessage
}

// Server is a fake Slack Web API plus Socket Mode endpoint.
// All methods are safe for concurrent use.
type Server struct {
	opts Options
	hs   *httptest.Server

	mu          sync.Mutex
	teams       map[string]*Team // by token
	teamByID    map[string]*Team
	appTokens   map[string]bool
	users       map[string]*User
	oauthCodes  map[string]*OAuthGrant
	faults      map[string][]*faultRule
	delays      map[string]time.Duration
	calls       []Call
	triggers    map[string]*trigger
	views       map[string]*viewRec
	external    map[string]string   // external_id → view id
	stacks      map[string][]string // user → view ids, bottom first
	homes       map[string]string   // user → home view id
	dms         map[string]string   // user → DM channel
	dmUser      map[string]string   // DM channel → user
	messages    map[string][]*Message
	channels    map[string]*Channel
	ephemerals  []*Message
	unfurls     []Unfurl
	violations  []Violation
	lastTS      int64 // microseconds
	seq         int
	socket      *socketState
	responseURL map[string]*responseURLRec
	// expireTriggers: how many of the next trigger ids are born expired
	expireTriggers int
	// approvals: grants the next visits of the authorize page approve as
	approvals []OAuthGrant
}

type faultRule struct {
	n     int // remaining; < 0 forever
	fault Fault
}

// New starts a fake Slack. Close it when done.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AppID == "" {
		opts.AppID = "A0FAKEAPP"
	}
	if opts.ClientID == "" {
		opts.ClientID = "fake-client-id"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "fake-client-secret"
	}
	if opts.TriggerTTL == 0 {
		opts.TriggerTTL = 3 * time.Second
	}
	if opts.SocketPingInterval == 0 {
		opts.SocketPingInterval = 5 * time.Second
	}
	s := &Server{
		opts:        opts,
		teams:       map[string]*Team{},
		teamByID:    map[string]*Team{},
		appTokens:   map[string]bool{},
		users:       map[string]*User{},
		oauthCodes:  map[string]*OAuthGrant{},
		faults:      map[string][]*faultRule{},
		delays:      map[string]time.Duration{},
		triggers:    map[string]*trigger{},
		views:       map[string]*viewRec{},
		external:    map[string]string{},
		stacks:      map[string][]string{},
		homes:       map[string]string{},
		dms:         map[string]string{},
		dmUser:      map[string]string{},
		messages:    map[string][]*Message{},
		channels:    map[string]*Channel{},
		responseURL: map[string]*responseURLRec{},
		socket:      newSocketState(),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serveAPI)
	mux.HandleFunc("/socket", s.serveSocket)
	mux.HandleFunc("/response_url/{id}", s.serveResponseURL)
	mux.HandleFunc("GET /oauth/v2/authorize", s.serveAuthorize)
	s.hs = httptest.NewServer(mux)
	return s
}

// URL returns the Web API base URL, ending in "/api/", for
// slack.OptionAPIURL and slack.OAuthOptionAPIURL.
func (s *Server) URL() string { return s.hs.URL + "/api/" }

// BaseURL returns the server root (http://127.0.0.1:port).
func (s *Server) BaseURL() string { return s.hs.URL }

// AppID returns the app id of the fake app.
func (s *Server) AppID() string { return s.opts.AppID }

// Close closes socket connections and shuts the server down.
func (s *Server) Close() {
	s.socket.closeAll()
	s.hs.CloseClientConnections()
	s.hs.Close()
}

// AddTeam registers a workspace and its bot token.
func (s *Server) AddTeam(t Team) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tc := t
	if tc.BotToken != "" {
		s.teams[tc.BotToken] = &tc
	}
	s.teamByID[tc.ID] = &tc
}

// SetScopes replaces the scopes of a team's bot token (nil: not checked),
// as after a reinstall with another manifest.
func (s *Server) SetScopes(teamID string, scopes []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.teams {
		if t.ID == teamID {
			t.Scopes = slices.Clone(scopes)
		}
	}
	if t := s.teamByID[teamID]; t != nil {
		t.Scopes = slices.Clone(scopes)
	}
}

// AddChannel registers (or replaces) a channel. The bot can post to it
// and read its history only if its bot user is among the Members, and not
// once it is Archived. Posting to a "C…"/"G…" id that was not added gets
// channel_not_found.
func (s *Server) AddChannel(c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cc := c
	cc.Members = slices.Clone(c.Members)
	s.channels[c.ID] = &cc
}

// AddAppToken registers an app-level token (xapp-…) for Socket Mode.
func (s *Server) AddAppToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appTokens[tok] = true
}

// AddUser registers a user.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	uc := u
	s.users[u.ID] = &uc
}

// AddOAuthCode registers a single-use OAuth code for oauth.v2.access.
func (s *Server) AddOAuthCode(code string, g OAuthGrant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gc := g
	s.oauthCodes[code] = &gc
}

// ApproveInstall makes the next visit of the authorize page
// (AuthorizeURL) approve the install as g: the admin's choice of workspace
// or, with IsEnterpriseInstall, of the whole Enterprise Grid org. The page
// registers a fresh code for g (as AddOAuthCode) and redirects to the
// visit's redirect_uri with that code and the visit's state. Approvals
// queue up; a visit with none queued is denied (error=access_denied).
func (s *Server) ApproveInstall(g OAuthGrant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.approvals = append(s.approvals, g)
}

// AuthorizeURL is the fake's OAuth v2 authorize page
// (https://slack.com/oauth/v2/authorize), for the installer's
// AuthorizeURL.
func (s *Server) AuthorizeURL() string { return s.hs.URL + "/oauth/v2/authorize" }

// serveAuthorize plays the admin on Slack's authorize page: it checks the
// client id and the redirect_uri (an https or http URL; the grant's
// RedirectURI when set), then approves as the next queued grant.
func (s *Server) serveAuthorize(w http.ResponseWriter, hr *http.Request) {
	q := hr.URL.Query()
	redirect := q.Get("redirect_uri")
	u, err := url.Parse(redirect)
	if q.Get("client_id") != s.opts.ClientID || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		http.Error(w, "invalid_client_id or redirect_uri", http.StatusBadRequest)
		return
	}
	back := url.Values{"state": {q.Get("state")}}
	s.mu.Lock()
	call := Call{Method: "oauth/v2/authorize", Params: map[string]any{"client_id": q.Get("client_id"), "scope": q.Get("scope"),
		"redirect_uri": redirect, "state": q.Get("state")}, Time: s.now(), Status: http.StatusFound}
	if len(s.approvals) == 0 {
		back.Set("error", "access_denied")
		call.Error = "access_denied"
	} else {
		g := s.approvals[0]
		s.approvals = s.approvals[1:]
		if g.RedirectURI != "" && g.RedirectURI != redirect {
			s.mu.Unlock()
			http.Error(w, "redirect_uri did not match any configured URIs", http.StatusBadRequest)
			return
		}
		g.RedirectURI = redirect
		code := fmt.Sprintf("code-%d-%s", s.now().Unix(), randHex(8))
		s.oauthCodes[code] = &g
		back.Set("code", code)
	}
	s.calls = append(s.calls, call)
	s.mu.Unlock()
	s.notify(call)
	sep := "?"
	if strings.Contains(redirect, "?") {
		sep = "&"
	}
	http.Redirect(w, hr, redirect+sep+back.Encode(), http.StatusFound)
}

// ExpireNextTriggers makes the next n trigger ids the fake hands out (for
// slash commands and clicks) expired from the start: views.open and
// views.push answer expired_trigger_id, as when the app took longer than
// Slack's 3 seconds to use them.
func (s *Server) ExpireNextTriggers(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireTriggers = n
}

// RevokeToken forgets a bot token (later calls get invalid_auth), as after
// tokens_revoked / app_uninstalled.
func (s *Server) RevokeToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.teams, tok)
}

// Fail makes the next n calls of method fail with fault (n < 0: until
// cleared with n == 0). Faults for one method queue up in order.
func (s *Server) Fail(method string, n int, fault Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n == 0 {
		delete(s.faults, method)
		return
	}
	s.faults[method] = append(s.faults[method], &faultRule{n: n, fault: fault})
}

// Delay adds latency d before method answers (0 removes it).
func (s *Server) Delay(method string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d == 0 {
		delete(s.delays, method)
		return
	}
	s.delays[method] = d
}

// Calls returns the recorded calls, of the given methods only if any.
func (s *Server) Calls(method ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(method) == 0 || slices.Contains(method, c.Method) {
			c.Params = maps.Clone(c.Params)
			out = append(out, c)
		}
	}
	return out
}

// Violations returns what the bot did that Slack would have rejected
// without an API error.
func (s *Server) Violations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

func (s *Server) violate(kind, viewID, format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = append(s.violations, Violation{Kind: kind, ViewID: viewID, Detail: fmt.Sprintf(format, args...)})
}

// Messages returns the messages of a channel (a DM id, or a user id for
// that user's DM), oldest first. Ephemeral messages are not included.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.dms[channel]; ok {
		channel = d
	}
	var out []Message
	for _, m := range s.messages[channel] {
		out = append(out, *m)
	}
	return out
}

// Ephemerals returns the ephemeral messages posted, oldest first.
func (s *Server) Ephemerals() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.ephemerals {
		out = append(out, *m)
	}
	return out
}

// Unfurls returns the recorded chat.unfurl calls.
func (s *Server) Unfurls() []Unfurl {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.unfurls)
}

// DMChannel returns the stable DM channel id ("D…") of a user.
func (s *Server) DMChannel(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmLocked(userID)
}

func (s *Server) dmLocked(userID string) string {
	if d, ok := s.dms[userID]; ok {
		return d
	}
	d := "D" + strings.TrimLeft(userID, "UW") + "DM"
	s.dms[userID] = d
	s.dmUser[d] = userID
	return d
}

// now reads the injectable clock.
func (s *Server) now() time.Time { return s.opts.Now() }

// nextID returns prefix + a unique upper-case id.
func (s *Server) nextIDLocked(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%s%06d", prefix, "0F", s.seq)
}

// nextTSLocked returns a unique, strictly increasing message ts.
func (s *Server) nextTSLocked() string {
	us := s.now().UnixMicro()
	if us <= s.lastTS {
		us = s.lastTS + 1
	}
	s.lastTS = us
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// apiError is a Slack {"ok":false} answer.
type apiError struct {
	code     string
	messages []string
	extra    map[string]any // more top-level fields (missing_scope: needed, provided)
}

func (e *apiError) Error() string { return e.code }

func errf(code string, messages ...string) *apiError {
	return &apiError{code: code, messages: messages}
}

// request is a decoded Web API request.
type request struct {
	method string
	token  string
	team   *Team
	params map[string]any
	header http.Header
}

func (r *request) str(key string) string {
	switch v := r.params[key].(type) {
	case string:
		return v
	case nil:
		return ""
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

func (r *request) boolean(key string) bool {
	switch v := r.params[key].(type) {
	case bool:
		return v
	case string:
		b, _ := strconv.ParseBool(v)
		return b || v == "1"
	}
	return false
}

// json returns a JSON-valued parameter (a JSON string in forms, a value in
// JSON bodies) as raw JSON; nil when absent.
func (r *request) json(key string) json.RawMessage {
	v, ok := r.params[key]
	if !ok || v == nil {
		return nil
	}
	if s, ok := v.(string); ok {
		if s == "" {
			return nil
		}
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(v)
	return b
}

// jsonFields are the parameters slack-go sends as JSON strings in forms.
var jsonFields = []string{"blocks", "view", "metadata", "unfurls", "attachments", "user_auth_blocks"}

type handler func(s *Server, r *request) (map[string]any, *apiError)

var handlers = map[string]handler{
	"api.test":                       (*Server).apiTest,
	"auth.test":                      (*Server).authTest,
	"users.info":                     (*Server).usersInfo,
	"conversations.open":             (*Server).conversationsOpen,
	"conversations.history":          (*Server).conversationsHistory,
	"chat.postMessage":               (*Server).chatPostMessage,
	"chat.update":                    (*Server).chatUpdate,
	"chat.delete":                    (*Server).chatDelete,
	"chat.postEphemeral":             (*Server).chatPostEphemeral,
	"chat.unfurl":                    (*Server).chatUnfurl,
	"views.open":                     (*Server).viewsOpen,
	"views.push":                     (*Server).viewsPush,
	"views.update":                   (*Server).viewsUpdate,
	"views.publish":                  (*Server).viewsPublish,
	"oauth.v2.access":                (*Server).oauthV2Access,
	"apps.connections.open":          (*Server).appsConnectionsOpen,
	"apps.uninstall":                 (*Server).apiTest,
	"auth.revoke":                    (*Server).authRevoke,
	"conversations.info":             (*Server).conversationsInfo,
	"chat.getPermalink":              (*Server).chatGetPermalink,
	"users.lookupByEmail":            (*Server).usersLookupByEmail,
	"team.info":                      (*Server).teamInfo,
	"bots.info":                      (*Server).apiTest,
	"conversations.members":          (*Server).apiTest,
	"apps.event.authorizations.list": (*Server).apiTest,
}

// noAuth lists methods that do not take a bot token.
var noAuth = map[string]bool{"api.test": true, "oauth.v2.access": true, "apps.connections.open": true}

func (s *Server) serveAPI(w http.ResponseWriter, hr *http.Request) {
	method := hr.PathValue("method")
	params, err := decodeParams(hr)
	token := ""
	if a := hr.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		token = strings.TrimPrefix(a, "Bearer ")
	} else if t, ok := params["token"].(string); ok {
		token = t
	}
	delete(params, "token")

	s.mu.Lock()
	delay := s.delays[method]
	var fault *Fault
	if rules := s.faults[method]; len(rules) > 0 {
		f := rules[0].fault
		fault = &f
		if rules[0].n > 0 {
			rules[0].n--
			if rules[0].n == 0 {
				s.faults[method] = rules[1:]
			}
		}
	}
	team := s.teams[token]
	s.mu.Unlock()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-hr.Context().Done():
		}
	}

	call := Call{Method: method, Token: token, Params: decodedParams(params), Time: s.now()}
	if team != nil {
		call.TeamID = team.ID
	}

	var (
		status = http.StatusOK
		body   map[string]any
		aerr   *apiError
	)
	switch {
	case fault != nil:
		if fault.Status != 0 {
			status = fault.Status
		}
		if fault.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(fault.RetryAfter))
		}
		code := fault.Error
		if code == "" && status == http.StatusTooManyRequests {
			code = "ratelimited"
		}
		if code == "" && status >= 500 {
			code = "internal_error"
		}
		aerr = errf(code)
	case err != nil:
		aerr = errf("invalid_form_data", err.Error())
	default:
		h, ok := handlers[method]
		switch {
		case !ok:
			status = http.StatusNotFound
			aerr = errf("unknown_method")
		case noAuth[method]:
			body, aerr = h(s, &request{method: method, token: token, params: params, header: hr.Header})
		case token == "":
			aerr = errf("not_authed")
		case team == nil:
			aerr = errf("invalid_auth")
		default:
			body, aerr = h(s, &request{method: method, token: token, team: team, params: params, header: hr.Header})
		}
	}

	call.Status = status
	if aerr != nil {
		call.Error = aerr.code
		body = map[string]any{"ok": false, "error": aerr.code}
		maps.Copy(body, aerr.extra)
		if len(aerr.messages) > 0 {
			body["response_metadata"] = map[string]any{"messages": aerr.messages}
		}
	} else {
		body["ok"] = true
	}
	s.mu.Lock()
	if v, ok := body["view"].(map[string]any); ok && aerr == nil && strings.HasPrefix(method, "views.") {
		if id, _ := v["id"].(string); s.views[id] != nil {
			call.UserID = s.views[id].user
		}
	}
	s.calls = append(s.calls, call)
	s.mu.Unlock()
	s.notify(call)

	if status >= 500 {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "<html><body>"+http.StatusText(status)+"</body></html>")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// decodeParams reads form (body or query) or JSON parameters.
func decodeParams(hr *http.Request) (map[string]any, error) {
	params := map[string]any{}
	ct, _, _ := mime.ParseMediaType(hr.Header.Get("Content-Type"))
	if ct == "application/json" {
		body, err := io.ReadAll(hr.Body)
		if err != nil {
			return params, err
		}
		if len(strings.TrimSpace(string(body))) > 0 {
			if err := json.Unmarshal(body, &params); err != nil {
				return params, err
			}
		}
		for k, v := range hr.URL.Query() {
			params[k] = v[0]
		}
		return params, nil
	}
	if err := hr.ParseForm(); err != nil {
		return params, err
	}
	for k, v := range hr.Form {
		params[k] = v[0]
	}
	if user, pass, ok := hr.BasicAuth(); ok {
		params["client_id"], params["client_secret"] = user, pass
	}
	return params, nil
}

// decodedParams returns the params with JSON-string fields decoded, for
// recording.
func decodedParams(p map[string]any) map[string]any {
	out := maps.Clone(p)
	for _, k := range jsonFields {
		if s, ok := out[k].(string); ok {
			var v any
			if json.Unmarshal([]byte(s), &v) == nil {
				out[k] = v
			}
		}
	}
	return out
}

func (s *Server) apiTest(r *request) (map[string]any, *apiError) { return map[string]any{}, nil }

func (s *Server) authTest(r *request) (map[string]any, *apiError) {
	t := r.team
	out := map[string]any{
		"url":                   "https://" + strings.ToLower(strings.ReplaceAll(t.Name, " ", "")) + ".slack.com/",
		"team":                  t.Name,
		"user":                  "crmbot",
		"team_id":               t.ID,
		"user_id":               t.BotUserID,
		"bot_id":                t.BotID,
		"is_enterprise_install": false,
	}
	if t.EnterpriseID != "" {
		out["enterprise_id"] = t.EnterpriseID
	}
	return out, nil
}

func (s *Server) authRevoke(r *request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.teams, r.token)
	return map[string]any{"revoked": true}, nil
}

func (s *Server) teamInfo(r *request) (map[string]any, *apiError) {
	t := r.team
	team := map[string]any{"id": t.ID, "name": t.Name, "domain": strings.ToLower(t.Name)}
	if t.EnterpriseID != "" {
		team["enterprise_id"] = t.EnterpriseID
	}
	return map[string]any{"team": team}, nil
}

// userVisibleLocked reports whether a user is visible to a team's bot:
// same team, or same enterprise grid.
func (s *Server) userVisibleLocked(t *Team, u *User) bool {
	if u.TeamID == "" || u.TeamID == t.ID {
		return true
	}
	ut := s.teamByID[u.TeamID]
	return ut != nil && t.EnterpriseID != "" && ut.EnterpriseID == t.EnterpriseID
}

func (s *Server) userJSON(u *User, includeLocale bool) map[string]any {
	real := u.RealName
	if real == "" {
		real = u.Name
	}
	out := map[string]any{
		"id":        u.ID,
		"team_id":   u.TeamID,
		"name":      u.Name,
		"real_name": real,
		"deleted":   false,
		"is_bot":    false,
		"tz":        u.TZ,
		"profile": map[string]any{
			"email":                   u.Email,
			"real_name":               real,
			"real_name_normalized":    real,
			"display_name":            u.Name,
			"display_name_normalized": u.Name,
			"team":                    u.TeamID,
		},
	}
	if u.TZ != "" {
		if loc, err := time.LoadLocation(u.TZ); err == nil {
			name, off := s.now().In(loc).Zone()
			out["tz_label"] = name
			out["tz_offset"] = off
		}
	}
	if includeLocale && u.Locale != "" {
		out["locale"] = u.Locale
	}
	return out
}

func (s *Server) usersInfo(r *request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.str("user")
	if id == "" {
		return nil, errf("invalid_arguments", "[ERROR] missing required field: user")
	}
	u, ok := s.users[id]
	if !ok || !s.userVisibleLocked(r.team, u) {
		return nil, errf("user_not_found")
	}
	return map[string]any{"user": s.userJSON(u, r.boolean("include_locale"))}, nil
}

func (s *Server) usersLookupByEmail(r *request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	email := r.str("email")
	for _, u := range s.users {
		if strings.EqualFold(u.Email, email) && s.userVisibleLocked(r.team, u) {
			return map[string]any{"user": s.userJSON(u, false)}, nil
		}
	}
	return nil, errf("users_not_found")
}

func (s *Server) conversationsOpen(r *request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := r.str("channel"); ch != "" {
		if _, ok := s.dmUser[ch]; !ok {
			return nil, errf("channel_not_found")
		}
		return map[string]any{"channel": map[string]any{"id": ch}, "no_op": true, "already_open": true}, nil
	}
	users := strings.Split(r.str("users"), ",")
	if len(users) == 0 || users[0] == "" {
		return nil, errf("users_list_not_supplied")
	}
	if len(users) > 1 {
		return nil, errf("not_supported", "[ERROR] the fake only opens 1:1 DMs")
	}
	u, ok := s.users[users[0]]
	if !ok || !s.userVisibleLocked(r.team, u) {
		return nil, errf("user_not_found")
	}
	_, existed := s.dms[u.ID]
	d := s.dmLocked(u.ID)
	out := map[string]any{"channel": map[string]any{"id": d}}
	if existed {
		out["no_op"], out["already_open"] = true, true
	}
	return out, nil
}

func (s *Server) conversationsInfo(r *request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := r.str("channel")
	if u, ok := s.dmUser[ch]; ok {
		return map[string]any{"channel": map[string]any{"id": ch, "is_im": true, "user": u}}, nil
	}
	if c := s.channels[ch]; c != nil && s.channelVisibleLocked(r.team, c) {
		return map[string]any{"channel": map[string]any{"id": ch, "name": c.Name, "is_channel": true, "is_private": c.Private,
			"is_archived": c.Archived, "is_member": slices.Contains(c.Members, r.team.BotUserID)}}, nil
	}
	if _, ok := s.messages[ch]; ok {
		return map[string]any{"channel": map[string]any{"id": ch, "is_channel": true}}, nil
	}
	return nil, errf("channel_not_found")
}

func (s *Server) chatGetPermalink(r *request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ts := r.str("channel"), r.str("message_ts")
	if s.findMessageLocked(ch, ts) == nil {
		return nil, errf("message_not_found")
	}
	return map[string]any{"channel": ch, "permalink": fmt.Sprintf("https://fake.slack.com/archives/%s/p%s", ch, strings.ReplaceAll(ts, ".", ""))}, nil
}

func (s *Server) oauthV2Access(r *request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.str("client_id") != s.opts.ClientID {
		return nil, errf("invalid_client_id")
	}
	if r.str("client_secret") != s.opts.ClientSecret {
		return nil, errf("bad_client_secret")
	}
	code := r.str("code")
	g, ok := s.oauthCodes[code]
	if !ok {
		return nil, errf("invalid_code")
	}
	if g.RedirectURI != "" && r.str("redirect_uri") != g.RedirectURI {
		return nil, errf("bad_redirect_uri")
	}
	delete(s.oauthCodes, code) // single use
	var team, ent any
	if g.Team.ID != "" {
		team = map[string]any{"id": g.Team.ID, "name": g.Team.Name}
	}
	if g.Enterprise.ID != "" {
		ent = map[string]any{"id": g.Enterprise.ID, "name": g.Enterprise.Name}
	}
	// The token becomes valid, like a real install.
	if g.BotToken != "" {
		t := g.Team
		t.BotToken, t.BotUserID = g.BotToken, g.BotUserID
		if t.EnterpriseID == "" {
			t.EnterpriseID = g.Enterprise.ID
		}
		if g.Scope != "" {
			t.Scopes = strings.Split(g.Scope, ",")
		}
		if t.BotID == "" {
			t.BotID = "B" + strings.TrimPrefix(g.BotUserID, "U")
		}
		s.teams[g.BotToken] = &t
		if t.ID != "" {
			s.teamByID[t.ID] = &t
		}
	}
	return map[string]any{
		"access_token":          g.BotToken,
		"token_type":            "bot",
		"scope":                 g.Scope,
		"bot_user_id":           g.BotUserID,
		"app_id":                s.opts.AppID,
		"team":                  team,
		"enterprise":            ent,
		"is_enterprise_install": g.IsEnterpriseInstall,
		"authed_user":           map[string]any{"id": g.AuthedUserID},
	}, nil
}

// responseURLRec tracks a response_url's uses (5 within 30 minutes).
type responseURLRec struct {
	channel string
	user    string // who acted: ephemeral answers are for them
	team    string
	ts      string // the message acted on ("" for a slash command)
	created time.Time
	uses    int
}

// newResponseURLForLocked makes a response_url for user's interaction in
// channel, on the message ts when there is one.
func (s *Server) newResponseURLForLocked(channel, user, team, ts string) string {
	id := base64.RawURLEncoding.EncodeToString([]byte(randHex(8)))
	s.responseURL[id] = &responseURLRec{channel: channel, user: user, team: team, ts: ts, created: s.now()}
	return s.hs.URL + "/response_url/" + id
}

// serveResponseURL accepts response_url posts: up to 5 within 30 minutes.
// Non-ephemeral posts are added to the channel.
func (s *Server) serveResponseURL(w http.ResponseWriter, hr *http.Request) {
	body, _ := io.ReadAll(hr.Body)
	var params map[string]any
	_ = json.Unmarshal(body, &params)
	call := s.recordResponseURL(hr.PathValue("id"), params)
	s.notify(call)
	w.WriteHeader(call.Status)
	if call.Error != "" {
		_, _ = io.WriteString(w, call.Error)
		return
	}
	_, _ = io.WriteString(w, "ok")
}

// recordResponseURL applies and records one response_url post.
func (s *Server) recordResponseURL(id string, params map[string]any) Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.responseURL[id]
	call := Call{Method: "response_url", Params: params, Time: s.now(), Status: http.StatusOK}
	switch {
	case rec == nil:
		call.Status, call.Error = http.StatusNotFound, "no_service"
	case rec.uses >= 5 || s.now().Sub(rec.created) > 30*time.Minute:
		call.Status, call.Error = http.StatusNotFound, "expired_url"
	default:
		if b, ok := params["blocks"]; ok && b != nil {
			raw, _ := json.Marshal(b)
			if msgs := validateBlocks(raw, surfaceMessage, "/blocks"); len(msgs) > 0 {
				call.Status, call.Error = http.StatusBadRequest, "invalid_blocks"
				break
			}
		}
		rec.uses++
		s.applyResponseLocked(rec, params)
	}
	s.calls = append(s.calls, call)
	return call
}

// applyResponseLocked shows a response_url post: delete_original or
// replace_original act on the message acted on (in the channel, or the
// user's ephemeral one); otherwise a new message, in the channel with
// response_type in_channel, else ephemeral for the user who acted.
func (s *Server) applyResponseLocked(rec *responseURLRec, params map[string]any) {
	text, _ := params["text"].(string)
	var blocks json.RawMessage
	if b, ok := params["blocks"]; ok && b != nil {
		blocks, _ = json.Marshal(b)
	}
	if rec.ts != "" && (params["delete_original"] == true || params["replace_original"] == true) {
		replace := params["replace_original"] == true
		for i, m := range s.ephemerals {
			if m.TS == rec.ts && m.Channel == rec.channel {
				if replace {
					m.Text, m.Blocks = text, blocks
					m.Edits++
				} else {
					s.ephemerals = slices.Delete(s.ephemerals, i, i+1)
				}
				return
			}
		}
		for i, m := range s.messages[rec.channel] {
			if m.TS == rec.ts {
				if replace {
					m.Text, m.Blocks = text, blocks
					m.Edits++
				} else {
					s.messages[rec.channel] = slices.Delete(s.messages[rec.channel], i, i+1)
				}
				return
			}
		}
		return
	}
	m := &Message{Channel: rec.channel, TS: s.nextTSLocked(), Text: text, Blocks: blocks, TeamID: rec.team}
	if t := s.teamByID[rec.team]; t != nil {
		m.UserID, m.BotID = t.BotUserID, t.BotID
	}
	if params["response_type"] == "in_channel" {
		s.messages[rec.channel] = append(s.messages[rec.channel], m)
		return
	}
	m.Ephemeral, m.ForUser = true, rec.user
	s.ephemerals = append(s.ephemerals, m)
}

// notify hands a recorded call to Options.OnCall, with its own Params.
func (s *Server) notify(c Call) {
	if s.opts.OnCall == nil {
		return
	}
	c.Params = maps.Clone(c.Params)
	s.opts.OnCall(c)
}
