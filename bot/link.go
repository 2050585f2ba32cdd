package bot

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/store"
)

// LinkStore is what linking needs from the store.
type LinkStore interface {
	store.LinkStore
	store.NonceStore
	store.PendingLinkStore
}

// Linking constants.
const (
	// LinkCallbackPath and LinkStartPath are the fixed endpoints.
	LinkStartPath    = "/link/start"
	LinkCallbackPath = "/link/callback"
	// CodeTTL is how long a one-time code waits to be typed in chat.
	CodeTTL = 10 * time.Minute
	// MaxCodeAttempts wrong codes end a pending link.
	MaxCodeAttempts = 5
	// codeAlphabet: 32 letters and digits without 0/O and 1/I, so codes read
	// and type unambiguously; 8 of them carry 40 bits.
	codeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	codeLen      = 8
)

// LinkRequest is a chat user asking to link, with what their platform
// vouches for about them: the identity binding compares it with who signs
// in.
type LinkRequest struct {
	User store.ChatUser
	// Locale is the user's chat locale (e.g. "fr-FR"), for the pages.
	Locale string
	// AADObjectID (Teams): the activity's from.aadObjectId; User.Tenant is
	// the activity's tenant id. Both must equal the signed-in tid/oid.
	AADObjectID string
	// Email (Slack): the profile email Slack holds. When it equals the
	// Dynamics user's internalemailaddress the link is made at once;
	// otherwise the browser shows a code the user types in chat.
	Email string
	// Resume is the command the user typed before they were linked; it is
	// carried out (OnLinked) once the link is made. At most maxResume bytes.
	Resume string
}

// maxResume bounds a kept command.
const maxResume = 500

// LinkPrompt is the one-time link to send to the user.
type LinkPrompt struct {
	URL     string
	Expires time.Time
}

// OutcomeKind says how a sign-in ended.
type OutcomeKind int

// Outcomes of a sign-in (Complete) or a code (ConfirmCode).
const (
	// OutcomeLinked: the link is made.
	OutcomeLinked OutcomeKind = iota + 1
	// OutcomeCodeRequired: the browser shows Outcome.Code for the chat.
	OutcomeCodeRequired
	// OutcomeMismatch: the signed-in account is not the chat user's.
	OutcomeMismatch
	// OutcomeExpired: unknown, expired or already used link.
	OutcomeExpired
	// OutcomeRefused: the sign-in was cancelled or refused, or failed a
	// check (cookie, state, token); the user starts again.
	OutcomeRefused
	// OutcomeUnavailable: the authority, Dynamics or the store did not
	// answer; trying again later may work.
	OutcomeUnavailable
)

var outcomeNames = map[OutcomeKind]string{
	OutcomeLinked: "linked", OutcomeCodeRequired: "code_required", OutcomeMismatch: "mismatch",
	OutcomeExpired: "expired", OutcomeRefused: "refused", OutcomeUnavailable: "unavailable",
}

// String is the outcome's metric label.
func (k OutcomeKind) String() string { return outcomeNames[k] }

// Outcome is what the callback page shows.
type Outcome struct {
	Kind     OutcomeKind
	Locale   string
	Platform string     // store.PlatformSlack or PlatformTeams, when known
	Link     store.Link // OutcomeLinked
	// Code is the one-time code to type in chat (OutcomeCodeRequired),
	// formatted "ABCD-EFGH".
	Code string
	// SignedInAs is the account that signed in (mismatch pages).
	SignedInAs string
	// Email is the Dynamics user's email (Slack mismatch/code pages).
	Email string
	// Reason explains a failure for the logs (no secrets); Detail is the
	// authority's error code, safe to show.
	Reason, Detail string
}

// LinkService links chat users to their Dynamics users: the one-time link,
// the OAuth authorization code flow with PKCE, the identity binding, the
// one-time code, unlink and whoami. It is platform-neutral; the adapters
// call it and the linkweb package serves its pages.
//
// Set the fields, then use it from any goroutine. It never logs a token,
// code or secret.
type LinkService struct {
	Store LinkStore
	// App is the Entra app registration and the Dataverse org.
	App crm.AppCredentials
	// PublicURL is the bot's public base URL; the redirect URI is
	// PublicURL + LinkCallbackPath, registered exactly.
	PublicURL string
	// HTTPClient calls the authority and Dataverse; nil: http.DefaultClient.
	HTTPClient *http.Client
	// Logger: nil means slog.Default().
	Logger *slog.Logger
	// Now: nil means time.Now.
	Now func() time.Time
	// Observe, when set, counts each outcome (metrics).
	Observe func(OutcomeKind)
	// OnLinked, when set, runs after a link is made (in its own goroutine,
	// with a fresh context): the core greets the user and carries out the
	// command they typed before linking (resume, possibly empty).
	OnLinked func(ctx context.Context, l store.Link, resume string)

	verifier *idTokenVerifier
}

// linkState is the sealed payload of a link nonce.
type linkState struct {
	User        store.ChatUser `json:"u"`
	AADObjectID string         `json:"oid,omitempty"`
	Email       string         `json:"email,omitempty"`
	Locale      string         `json:"loc,omitempty"`
	Verifier    string         `json:"pkce"`    // PKCE code verifier
	OIDCNonce   string         `json:"nonce"`   // id token nonce
	Browser     string         `json:"browser"` // the cookie value binding the browser
	Resume      string         `json:"resume,omitempty"`
}

// pendingLink is the sealed payload waiting for the one-time code.
type pendingLink struct {
	Link     store.Link `json:"link"`
	Refresh  string     `json:"rt"`
	Access   string     `json:"at,omitempty"`
	Expiry   time.Time  `json:"exp"`
	CodeHash []byte     `json:"code"`
	Attempts int        `json:"n"`
	Deadline time.Time  `json:"until"`
	Locale   string     `json:"loc,omitempty"`
	Resume   string     `json:"resume,omitempty"`
}

func (s *LinkService) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *LinkService) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *LinkService) client() *http.Client {
	if s.HTTPClient != nil {
		return s.HTTPClient
	}
	return http.DefaultClient
}

// Init prepares the service; call it once after setting the fields.
func (s *LinkService) Init() error {
	if s.Store == nil {
		return errors.New("link service: no store")
	}
	if s.App.ClientID == "" || s.App.OrgURL == "" || s.App.TenantID == "" {
		return errors.New("link service: the app registration needs a tenant, a client id and the org URL")
	}
	pu, err := url.Parse(s.PublicURL)
	if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
		return fmt.Errorf("link service: public URL %q is not an absolute http(s) URL", s.PublicURL)
	}
	if pu.Scheme == "http" && !loopbackHost(pu.Hostname()) {
		// Over plain HTTP the binding cookie cannot be Secure and the code
		// travels in clear: only a machine talking to itself may do that.
		return fmt.Errorf("CRMBOT_PUBLIC_URL: %s must be https:// (plain http is only for localhost)", s.PublicURL)
	}
	s.PublicURL = strings.TrimRight(s.PublicURL, "/")
	s.verifier = &idTokenVerifier{authority: authorityOf(s.App), tenant: s.App.TenantID, clientID: s.App.ClientID,
		client: s.client(), now: s.now}
	return nil
}

// loopbackHost reports whether host is localhost or a loopback address.
func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func authorityOf(a crm.AppCredentials) string {
	if a.AuthorityURL == "" {
		return crm.DefaultAuthorityURL
	}
	return a.AuthorityURL
}

// RedirectURI is the exact redirect URI to register.
func (s *LinkService) RedirectURI() string { return s.PublicURL + LinkCallbackPath }

// SecureCookies reports whether the public URL is HTTPS, where the browser
// binding cookie is a __Host- cookie.
func (s *LinkService) SecureCookies() bool { return strings.HasPrefix(s.PublicURL, "https://") }

func (s *LinkService) oauth() *oauth2.Config {
	return &oauth2.Config{
		ClientID: s.App.ClientID, ClientSecret: s.App.ClientSecret,
		Endpoint:    crm.Endpoint(authorityOf(s.App), s.App.TenantID),
		RedirectURL: s.RedirectURI(),
		Scopes:      crm.DelegatedScopes(s.App.OrgURL),
	}
}

// Start begins a link (the "link" and "relink" commands): it returns a
// one-time URL (256-bit nonce, NonceTTL, single use) for the user to open.
// An existing link stays as it is until the new sign-in succeeds.
func (s *LinkService) Start(ctx context.Context, req LinkRequest) (LinkPrompt, error) {
	if err := req.User.Validate(); err != nil {
		return LinkPrompt{}, fmt.Errorf("start link: %w", err)
	}
	if req.User.Platform == store.PlatformTeams && !crm.IsGUID(req.AADObjectID) {
		return LinkPrompt{}, fmt.Errorf("start link of %s: %w: a Teams user needs its aadObjectId", req.User, store.ErrInvalid)
	}
	st := linkState{User: req.User, AADObjectID: req.AADObjectID, Email: strings.TrimSpace(req.Email), Locale: req.Locale,
		Verifier: oauth2.GenerateVerifier(), OIDCNonce: randomToken(), Browser: randomToken()}
	if len(req.Resume) <= maxResume {
		st.Resume = req.Resume
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return LinkPrompt{}, err
	}
	nonce, err := s.Store.CreateNonce(ctx, payload)
	if err != nil {
		return LinkPrompt{}, fmt.Errorf("start link of %s: %w", req.User, err)
	}
	return LinkPrompt{URL: s.PublicURL + LinkStartPath + "?n=" + url.QueryEscape(nonce), Expires: s.now().Add(store.NonceTTL)}, nil
}

// Authorization is what /link/start answers with: set the cookie, redirect.
type Authorization struct {
	RedirectURL string
	// CookieName and CookieValue bind the browser to this sign-in.
	CookieName, CookieValue string
	Locale                  string
}

// Authorize reads a link nonce without using it up (a link scanner that
// follows the URL burns nothing) and returns the authority's authorize URL
// (PKCE S256, state = the nonce, the OIDC nonce) and the binding cookie.
// ErrNotFound: unknown, expired or used link.
func (s *LinkService) Authorize(ctx context.Context, nonce string) (Authorization, error) {
	st, err := s.peek(ctx, nonce)
	if err != nil {
		return Authorization{}, err
	}
	opts := []oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(st.Verifier),
		oauth2.SetAuthURLParam("nonce", st.OIDCNonce),
		oauth2.SetAuthURLParam("response_mode", "query"),
		oauth2.SetAuthURLParam("prompt", "select_account"),
	}
	if st.Email != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", st.Email))
	}
	return Authorization{RedirectURL: s.oauth().AuthCodeURL(nonce, opts...), CookieName: s.CookieName(nonce),
		CookieValue: st.Browser, Locale: st.Locale}, nil
}

func (s *LinkService) peek(ctx context.Context, nonce string) (linkState, error) {
	p, err := s.Store.PeekNonce(ctx, nonce)
	if err != nil {
		return linkState{}, err
	}
	var st linkState
	if err := json.Unmarshal(p, &st); err != nil {
		return linkState{}, fmt.Errorf("link nonce payload: %w", err)
	}
	return st, nil
}

// CookieName is the binding cookie of one sign-in: one per link, so two
// sign-ins in one browser (Slack and Teams) do not clobber each other.
// Over HTTPS it is a __Host- cookie (Secure, Path=/, no Domain).
func (s *LinkService) CookieName(nonce string) string {
	sum := sha256.Sum256([]byte(nonce))
	name := "crmbot-link-" + base64.RawURLEncoding.EncodeToString(sum[:9])
	if s.SecureCookies() {
		return "__Host-" + name
	}
	return name
}

// Callback is what the authority sent back to /link/callback, plus the
// browser's binding cookie.
type Callback struct {
	State, Code             string
	Error, ErrorDescription string
	Cookie                  func(name string) (string, bool)
	AcceptLanguage          string
}

// Complete finishes a sign-in: it checks the state (one-time: it takes the
// nonce) and the browser cookie, exchanges the code with the PKCE verifier,
// verifies the id token, asks Dataverse who the user is, and applies the
// identity binding. Only then is a link stored. It never returns an error:
// every failure is an Outcome the page explains.
func (s *LinkService) Complete(ctx context.Context, cb Callback) (out Outcome) {
	defer func() {
		if s.Observe != nil {
			s.Observe(out.Kind)
		}
		attrs := []any{"outcome", out.Kind.String()}
		if out.Kind == OutcomeLinked {
			attrs = append(attrs, "chat_user", out.Link.ChatUser.String(), "systemuserid", out.Link.SystemUserID)
		}
		if out.Reason != "" {
			attrs = append(attrs, "reason", out.Reason)
		}
		level := slog.LevelInfo
		if out.Kind == OutcomeRefused || out.Kind == OutcomeMismatch || out.Kind == OutcomeUnavailable {
			level = slog.LevelWarn
		}
		s.log().Log(ctx, level, "account link sign-in", attrs...)
	}()
	if cb.State == "" || !store.ValidID(cb.State, store.NonceBytes) {
		return Outcome{Kind: OutcomeExpired, Locale: cb.AcceptLanguage, Reason: "no valid state"}
	}
	// The state is used up whatever happens next: a callback is answered once.
	p, err := s.Store.TakeNonce(ctx, cb.State)
	if errors.Is(err, store.ErrNotFound) {
		return Outcome{Kind: OutcomeExpired, Locale: cb.AcceptLanguage, Reason: "unknown, expired or used state"}
	}
	if err != nil {
		return Outcome{Kind: OutcomeUnavailable, Locale: cb.AcceptLanguage, Reason: "store: " + err.Error()}
	}
	var st linkState
	if err := json.Unmarshal(p, &st); err != nil {
		return Outcome{Kind: OutcomeRefused, Locale: cb.AcceptLanguage, Reason: "corrupt state payload"}
	}
	base := Outcome{Locale: st.Locale, Platform: st.User.Platform}
	fail := func(k OutcomeKind, reason string) Outcome {
		o := base
		o.Kind, o.Reason = k, reason
		return o
	}
	got, ok := "", false
	if cb.Cookie != nil {
		got, ok = cb.Cookie(s.CookieName(cb.State))
	}
	if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(st.Browser)) != 1 {
		return fail(OutcomeRefused, "the browser binding cookie is missing or wrong")
	}
	if cb.Error != "" {
		o := fail(OutcomeRefused, "authority error "+safeCode(cb.Error))
		o.Detail = safeCode(cb.Error)
		return o
	}
	if cb.Code == "" {
		return fail(OutcomeRefused, "no authorization code")
	}
	tok, err := s.oauth().Exchange(context.WithValue(ctx, oauth2.HTTPClient, s.client()), cb.Code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			o := fail(OutcomeRefused, "code exchange refused: "+safeCode(re.ErrorCode))
			o.Detail = safeCode(re.ErrorCode)
			return o
		}
		return fail(OutcomeUnavailable, "code exchange: "+redactErr(err))
	}
	if tok.RefreshToken == "" {
		return fail(OutcomeRefused, "no refresh token (offline_access not granted)")
	}
	rawID, _ := tok.Extra("id_token").(string)
	id, err := s.verifier.verify(ctx, rawID, st.OIDCNonce)
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return fail(OutcomeUnavailable, err.Error())
		}
		return fail(OutcomeRefused, err.Error())
	}
	base.SignedInAs = firstNonEmpty(id.PreferredUsername, id.Email, id.Name)
	// Teams: refuse before touching Dynamics when the accounts differ.
	if st.User.Platform == store.PlatformTeams &&
		(!strings.EqualFold(id.TenantID, st.User.Tenant) || !strings.EqualFold(id.ObjectID, st.AADObjectID)) {
		return fail(OutcomeMismatch, "signed-in tid/oid differ from the Teams user's tenant/aadObjectId")
	}
	me, err := s.dynamicsUser(ctx, tok)
	if err != nil {
		var api *crm.APIError
		if errors.As(err, &api) && api.StatusCode >= 400 && api.StatusCode < 500 && api.StatusCode != http.StatusTooManyRequests {
			return fail(OutcomeRefused, "Dataverse refused the user: "+err.Error())
		}
		return fail(OutcomeUnavailable, "Dataverse: "+err.Error())
	}
	link := store.Link{ChatUser: st.User, Locale: st.Locale, SystemUserID: me.id, EntraTenantID: id.TenantID, EntraObjectID: id.ObjectID,
		UPN: id.PreferredUsername, Email: me.email, DisplayName: firstNonEmpty(me.name, id.Name, id.PreferredUsername)}
	tokens := store.Tokens{RefreshToken: tok.RefreshToken, AccessToken: tok.AccessToken, AccessExpiry: tok.Expiry}
	base.Email = me.email
	if st.User.Platform == store.PlatformSlack && !sameEmail(me.email, st.Email) {
		code, err := s.park(ctx, link, tokens, st.Locale, st.Resume)
		if err != nil {
			return fail(OutcomeUnavailable, "store: "+err.Error())
		}
		o := base
		o.Kind, o.Code, o.Reason = OutcomeCodeRequired, code, "Slack profile email differs from the Dynamics user's"
		return o
	}
	if _, err := s.Store.PutLink(ctx, link, tokens); err != nil {
		return fail(OutcomeUnavailable, "store: "+err.Error())
	}
	link.LinkedAt = s.now()
	o := base
	o.Kind, o.Link = OutcomeLinked, link
	s.linked(link, st.Resume)
	return o
}

type dynamicsUser struct{ id, name, email string }

// dynamicsUser asks Dataverse, as the signed-in user, who they are.
func (s *LinkService) dynamicsUser(ctx context.Context, tok *oauth2.Token) (dynamicsUser, error) {
	hc := &http.Client{Transport: &oauth2.Transport{Source: oauth2.StaticTokenSource(tok), Base: s.client().Transport},
		Timeout: 30 * time.Second}
	c, err := crm.NewClient(s.App.OrgURL, hc)
	if err != nil {
		return dynamicsUser{}, err
	}
	who, err := c.WhoAmI(ctx)
	if err != nil {
		return dynamicsUser{}, err
	}
	r, err := c.Get(ctx, "systemusers", who.UserID, crm.Query{Select: []string{"fullname", "internalemailaddress", "isdisabled"}})
	if err != nil {
		return dynamicsUser{}, err
	}
	if off, _ := r.Bool("isdisabled"); off {
		return dynamicsUser{}, &crm.APIError{StatusCode: http.StatusForbidden, Message: "the Dynamics user is disabled"}
	}
	return dynamicsUser{id: who.UserID, name: r.String("fullname"), email: r.String("internalemailaddress")}, nil
}

// park keeps a sign-in whose Slack email did not match until the user
// types its code in chat; it returns the code.
func (s *LinkService) park(ctx context.Context, l store.Link, t store.Tokens, locale, resume string) (string, error) {
	code := newCode()
	sum := sha256.Sum256([]byte(normalizeCode(code)))
	p := pendingLink{Link: l, Refresh: t.RefreshToken, Access: t.AccessToken, Expiry: t.AccessExpiry,
		CodeHash: sum[:], Deadline: s.now().Add(CodeTTL), Locale: locale, Resume: resume}
	b, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	if err := s.Store.PutPendingLink(ctx, l.ChatUser, b, CodeTTL); err != nil {
		return "", err
	}
	return code[:4] + "-" + code[4:], nil
}

// ErrCodeInvalid: no pending link for this chat user, or not its code.
var ErrCodeInvalid = errors.New("bot: no pending link with this code for this chat user")

// ConfirmCode is "/crm link CODE": it activates the chat user's pending
// link when code is the one their browser showed. A wrong code counts an
// attempt; MaxCodeAttempts wrong ones end the pending link. A code typed by
// any other chat user finds nothing.
func (s *LinkService) ConfirmCode(ctx context.Context, u store.ChatUser, code string) (store.Link, error) {
	b, err := s.Store.TakePendingLink(ctx, u)
	if errors.Is(err, store.ErrNotFound) {
		s.observe(OutcomeExpired)
		return store.Link{}, ErrCodeInvalid
	}
	if err != nil {
		return store.Link{}, err
	}
	var p pendingLink
	if err := json.Unmarshal(b, &p); err != nil {
		return store.Link{}, fmt.Errorf("pending link of %s: %w", u, err)
	}
	sum := sha256.Sum256([]byte(normalizeCode(code)))
	if subtle.ConstantTimeCompare(sum[:], p.CodeHash) != 1 {
		p.Attempts++
		left := p.Deadline.Sub(s.now())
		if p.Attempts < MaxCodeAttempts && left >= time.Millisecond {
			if b, err := json.Marshal(p); err == nil {
				if err := s.Store.PutPendingLink(ctx, u, b, left); err != nil {
					return store.Link{}, err
				}
			}
		}
		s.log().WarnContext(ctx, "account link code refused", "chat_user", u.String(), "attempt", p.Attempts)
		s.observe(OutcomeRefused)
		return store.Link{}, ErrCodeInvalid
	}
	if _, err := s.Store.PutLink(ctx, p.Link, store.Tokens{RefreshToken: p.Refresh, AccessToken: p.Access, AccessExpiry: p.Expiry}); err != nil {
		return store.Link{}, err
	}
	s.log().InfoContext(ctx, "account link sign-in", "outcome", OutcomeLinked.String(), "chat_user", u.String(),
		"systemuserid", p.Link.SystemUserID, "via", "code")
	s.observe(OutcomeLinked)
	p.Link.LinkedAt = s.now()
	s.linked(p.Link, p.Resume)
	return p.Link, nil
}

// linked runs OnLinked in the background: the browser's page or the
// "link CODE" reply does not wait for the resumed command.
func (s *LinkService) linked(l store.Link, resume string) {
	if s.OnLinked == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		s.OnLinked(ctx, l, resume)
	}()
}

func (s *LinkService) observe(k OutcomeKind) {
	if s.Observe != nil {
		s.Observe(k)
	}
}

// Unlink is "/crm unlink": the link and its tokens are deleted, so no
// notification reaches the user any more. had is false when there was no
// link.
func (s *LinkService) Unlink(ctx context.Context, u store.ChatUser) (had bool, err error) {
	if _, err := s.Store.GetLink(ctx, u); errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if err := s.Store.DeleteLink(ctx, u); err != nil {
		return false, err
	}
	s.log().InfoContext(ctx, "account unlinked", "chat_user", u.String())
	return true, nil
}

// WhoAmI is "/crm whoami": the chat user's link (Broken set when it must be
// remade); ErrNotLinked when there is none.
func (s *LinkService) WhoAmI(ctx context.Context, u store.ChatUser) (store.Link, error) {
	l, err := s.Store.GetLink(ctx, u)
	if errors.Is(err, store.ErrNotFound) {
		return store.Link{}, ErrNotLinked
	}
	return l, err
}

// sameEmail compares two addresses case-insensitively; empty never matches.
func sameEmail(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	return a != "" && strings.EqualFold(a, b)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// randomToken is 256 random bits, base64url.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// newCode draws codeLen characters uniformly from the 32-letter alphabet.
func newCode() string {
	b := make([]byte, codeLen)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = codeAlphabet[b[i]%32]
	}
	return string(b)
}

// normalizeCode makes "abcd efgh", "ABCD-EFGH" and "abcdefgh" equal.
func normalizeCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r != '-' && r != ' ' && r != '\t' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// safeCode keeps an OAuth error code printable and short (it is shown).
func safeCode(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 64 {
			break
		}
		if r == '_' || r == '-' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// redactErr describes a transport error without echoing a response body.
func redactErr(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil {
		return fmt.Sprintf("token endpoint HTTP %d %s", re.Response.StatusCode, safeCode(re.ErrorCode))
	}
	return err.Error()
}
