package teams

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crmbot/crmbot/bot"
)

// Outbound Bot Framework defaults (reference/teams.md, "Outbound").
const (
	// DefaultTokenURL is the Entra token endpoint of the bot's tenant;
	// %s is MICROSOFT_APP_TENANT_ID. Single-tenant bots must use their own
	// tenant: the multi-tenant botframework.com endpoint is closed to new bots.
	DefaultTokenURL = "https://login.microsoftonline.com/%s/oauth2/v2.0/token"
	// ConnectorScope is the scope of the connector's access token.
	ConnectorScope = "https://api.botframework.com/.default"
	// DefaultMaxAttempts bounds the attempts of one connector call.
	DefaultMaxAttempts = 4
)

const (
	// connectorTimeout bounds one HTTP exchange when HTTPClient is nil.
	connectorTimeout = 30 * time.Second
	// tokenFetchTimeout bounds a token fetch, which runs detached from the
	// caller that started it because other callers share its result.
	tokenFetchTimeout = 30 * time.Second
	// tokenRefreshMargin: refresh this long before expiry so a token never
	// expires in flight; capped at half the token's lifetime.
	tokenRefreshMargin = 5 * time.Minute
	// retryBase and retryCap shape the exponential back-off without Retry-After.
	retryBase = 500 * time.Millisecond
	retryCap  = 30 * time.Second
	// maxErrorBody is how much of an error response is read.
	maxErrorBody = 64 << 10
)

// ErrUnreachable means Teams refused to deliver to the user: the user
// blocked the bot or uninstalled it (403 MessageWritesBlocked and its
// relatives). Callers mark the user unreachable instead of retrying.
var ErrUnreachable = fmt.Errorf("teams: user unreachable (bot blocked or uninstalled): %w", bot.ErrUnreachable)

// unreachableCodes are the 403 codes that mean "this user can't be written
// to". Teams documents subCode MessageWritesBlocked; in practice blocked and
// uninstalled bots often get ConversationBlockedByUser or
// BotNotInConversationRoster without a subCode (Microsoft Q&A 1513369).
var unreachableCodes = []string{"MessageWritesBlocked", "ConversationBlockedByUser", "BotNotInConversationRoster"}

// APIError is a non-2xx answer of the connector (other than the ones
// retried away). errors.Is(err, ErrUnreachable) is true for the blocked /
// uninstalled 403s. It never carries a token or a request body.
type APIError struct {
	// Status is the HTTP status.
	Status int
	// Code is error.code of the Bot Framework error body (error.subCode
	// when code is absent), or "" when the body had none.
	Code string
	// SubCode is error.subCode, when present.
	SubCode string
	// Message is error.message, truncated.
	Message string
	// RetryAfter is the server's Retry-After, when it sent one (e.g. a 429
	// that outlived MaxAttempts): callers re-queue for at least this long.
	RetryAfter time.Duration
}

// Error describes the failure by status and code.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "teams: connector HTTP %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.SubCode != "" && e.SubCode != e.Code {
		b.WriteString("/" + e.SubCode)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Is makes errors.Is(err, ErrUnreachable) hold for the blocked / uninstalled
// 403s, so callers need not know the codes.
func (e *APIError) Is(target error) bool {
	if target != ErrUnreachable || e.Status != http.StatusForbidden {
		return false
	}
	for _, c := range unreachableCodes {
		if strings.EqualFold(e.Code, c) || strings.EqualFold(e.SubCode, c) {
			return true
		}
	}
	return false
}

// NewConversation is a proactive 1:1 conversation to create.
type NewConversation struct {
	// BotID is the bot's channel account id; "" means "28:" + AppID, the
	// form Teams gives bots.
	BotID string
	// UserID is the user's channel account id ("29:…") from a stored
	// conversation reference.
	UserID string
	// TenantID is the user's tenant; "" means the Connector's TenantID.
	TenantID string
}

// Connector is the outbound Bot Framework connector client: it sends,
// updates and starts conversations at the serviceUrl of a conversation
// reference, with an app-only token, Teams' rate limits and retries.
//
// Set its fields before the first call and leave them alone afterwards; it
// is safe for concurrent use and must not be copied after first use.
//
// Retries and duplicates: every attempt that fails with 429, 412, 502 or
// 504, or with a transport error, is retried (up to MaxAttempts, within
// ctx), POSTs included. A transport error after the request was written is
// ambiguous — Teams may have posted the card — so a retried Send can show a
// card twice. We chose duplicates over loss: the notification outbox is
// at-least-once anyway (on an error it would re-post later, with the same
// risk and more delay), a second card is visible and harmless, a lost one
// is not. CreateConversation is idempotent in Teams (same user, same
// conversation) and Update is a PUT, so neither duplicates.
type Connector struct {
	// AppID, AppPassword and TenantID are MICROSOFT_APP_ID,
	// MICROSOFT_APP_PASSWORD and MICROSOFT_APP_TENANT_ID. AppID "" is dev
	// mode: no token, no Authorization header (the Agents Playground's
	// connector accepts that; nothing else does).
	AppID, AppPassword, TenantID string
	// TokenURL is the token endpoint; "" means DefaultTokenURL for TenantID.
	TokenURL string
	// HTTPClient sends every request; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	// Logger receives retries and token refreshes (never a token, a secret
	// or a body); nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock for token expiry and rate limits; nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx is done (then returns ctx.Err()); nil means
	// a timer. Tests with a fake clock advance it here.
	Sleep func(ctx context.Context, d time.Duration) error
	// MaxAttempts bounds the attempts of one call, first included; 0 means
	// DefaultMaxAttempts.
	MaxAttempts int
	// Limits are the client-side rate limits; the zero value means
	// DefaultLimits().
	Limits Limits

	once    sync.Once
	limiter *rateLimiter // nil when Limits.Off
	tok     tokenCache
}

// tokenCache holds the app token and the fetch in flight, which concurrent
// callers share instead of each asking Entra.
type tokenCache struct {
	mu        sync.Mutex
	token     string
	refreshAt time.Time // when to fetch the next one
	expiresAt time.Time // when this one stops working
	inflight  *tokenFetch
}

type tokenFetch struct {
	done                 chan struct{}
	token                string
	refreshAt, expiresAt time.Time
	err                  error
}

func (c *Connector) init() {
	c.once.Do(func() { c.limiter = newRateLimiter(c.Limits) })
}

func (c *Connector) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Connector) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

func (c *Connector) client() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return defaultConnectorClient
}

// defaultConnectorClient is shared so connections are reused across calls.
var defaultConnectorClient = &http.Client{Timeout: connectorTimeout}

func (c *Connector) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Send posts activity a to a conversation (Bot Framework "Send to
// conversation": POST {serviceUrl}/v3/conversations/{id}/activities) and
// returns the new activity's id, which Update needs. An empty a.Type is
// sent as "message"; a is not modified.
func (c *Connector) Send(ctx context.Context, serviceURL, conversationID string, a *Activity) (string, error) {
	if conversationID == "" {
		return "", errors.New("teams: send: empty conversation id")
	}
	u, err := connectorURL(serviceURL, "v3", "conversations", conversationID, "activities")
	if err != nil {
		return "", fmt.Errorf("teams: send to %s: %w", conversationID, err)
	}
	var res struct {
		ID string `json:"id"`
	}
	if err := c.call(ctx, "send", http.MethodPost, u, conversationID, outgoing(a), &res); err != nil {
		return "", fmt.Errorf("teams: send to %s: %w", conversationID, err)
	}
	return res.ID, nil
}

// Update replaces a sent activity, typically a card after an action (Bot
// Framework "Update activity": PUT
// {serviceUrl}/v3/conversations/{id}/activities/{activityId}).
func (c *Connector) Update(ctx context.Context, serviceURL, conversationID, activityID string, a *Activity) error {
	if conversationID == "" || activityID == "" {
		return errors.New("teams: update: empty conversation or activity id")
	}
	u, err := connectorURL(serviceURL, "v3", "conversations", conversationID, "activities", activityID)
	if err != nil {
		return fmt.Errorf("teams: update %s in %s: %w", activityID, conversationID, err)
	}
	out := outgoing(a)
	if out.ID == "" {
		out.ID = activityID
	}
	if err := c.call(ctx, "update", http.MethodPut, u, conversationID, out, nil); err != nil {
		return fmt.Errorf("teams: update %s in %s: %w", activityID, conversationID, err)
	}
	return nil
}

// Delete removes a sent activity (Bot Framework "Delete activity": DELETE
// {serviceUrl}/v3/conversations/{id}/activities/{activityId}). An activity
// that is not there (deleted already) is a 404 APIError.
func (c *Connector) Delete(ctx context.Context, serviceURL, conversationID, activityID string) error {
	if conversationID == "" || activityID == "" {
		return errors.New("teams: delete: empty conversation or activity id")
	}
	u, err := connectorURL(serviceURL, "v3", "conversations", conversationID, "activities", activityID)
	if err != nil {
		return fmt.Errorf("teams: delete %s in %s: %w", activityID, conversationID, err)
	}
	if err := c.call(ctx, "delete", http.MethodDelete, u, conversationID, nil, nil); err != nil {
		return fmt.Errorf("teams: delete %s in %s: %w", activityID, conversationID, err)
	}
	return nil
}

// CreateConversation starts (or finds: Teams returns the existing one) the
// 1:1 conversation of the bot with a user, for proactive messages (Bot
// Framework "Create conversation": POST {serviceUrl}/v3/conversations).
func (c *Connector) CreateConversation(ctx context.Context, serviceURL string, p NewConversation) (string, error) {
	if p.UserID == "" {
		return "", errors.New("teams: create conversation: empty user id")
	}
	u, err := connectorURL(serviceURL, "v3", "conversations")
	if err != nil {
		return "", fmt.Errorf("teams: create conversation with %s: %w", p.UserID, err)
	}
	botID := p.BotID
	if botID == "" && c.AppID != "" {
		botID = "28:" + c.AppID
	}
	tenant := cmp.Or(p.TenantID, c.TenantID)
	type account struct {
		ID string `json:"id"`
	}
	body := struct {
		Bot         account   `json:"bot"`
		Members     []account `json:"members"`
		IsGroup     bool      `json:"isGroup"`
		TenantID    string    `json:"tenantId,omitempty"`
		ChannelData any       `json:"channelData,omitempty"`
	}{Bot: account{botID}, Members: []account{{p.UserID}}, TenantID: tenant}
	if tenant != "" {
		body.ChannelData = map[string]any{"tenant": account{tenant}}
	}
	var res struct {
		ID string `json:"id"`
	}
	if err := c.call(ctx, "createConversation", http.MethodPost, u, "", body, &res); err != nil {
		return "", fmt.Errorf("teams: create conversation with %s: %w", p.UserID, err)
	}
	if res.ID == "" {
		return "", fmt.Errorf("teams: create conversation with %s: no id in the answer", p.UserID)
	}
	return res.ID, nil
}

// outgoing copies a for sending, defaulting the type.
func outgoing(a *Activity) *Activity {
	out := &Activity{}
	if a != nil {
		*out = *a
	}
	if out.Type == "" {
		out.Type = TypeMessage
	}
	return out
}

// call runs one connector operation: rate limit, token, request, retries.
// limitKey is the conversation the per-conversation limits apply to ("" =
// global only). The response body is decoded into res when non-nil; a nil
// body sends none (DELETE).
func (c *Connector) call(ctx context.Context, op, method, u, limitKey string, body, res any) error {
	c.init()
	var payload []byte
	if body != nil {
		var err error
		if payload, err = json.Marshal(body); err != nil {
			return fmt.Errorf("encode: %w", err)
		}
	}
	attempts := cmp.Or(c.MaxAttempts, DefaultMaxAttempts)
	log := c.logger().With("op", op)
	refreshedAuth := false
	for attempt := 1; ; attempt++ {
		if err := c.waitTurn(ctx, limitKey); err != nil {
			return err
		}
		err := c.attempt(ctx, method, u, payload, res)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var apiErr *APIError
		var retry bool
		switch {
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized && !refreshedAuth && c.AppID != "":
			// A token revoked or rotated before its expiry: fetch a new one,
			// once; a second 401 is a configuration problem.
			refreshedAuth = true
			c.dropToken()
			retry = true
		case errors.As(err, &apiErr):
			retry = retryableStatus(apiErr.Status)
		case errors.Is(err, errTokenRejected):
			retry = false
		default:
			retry = true // transport or token-endpoint trouble; see the Connector doc
		}
		if !retry || attempt >= attempts {
			return err
		}
		wait, status := backoff(attempt), 0
		if apiErr != nil {
			status = apiErr.Status
			if apiErr.RetryAfter > 0 {
				wait = apiErr.RetryAfter
			}
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			// Waiting would outlive the caller: give it the error now. (The
			// deadline is wall-clock time whatever Now says.)
			return err
		}
		log.LogAttrs(ctx, slog.LevelWarn, "teams: connector call failed, retrying",
			slog.Int("attempt", attempt), slog.Int("status", status),
			slog.Duration("wait", wait), slog.String("error", err.Error()))
		if err := c.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// waitTurn blocks until the rate limits allow one more request.
func (c *Connector) waitTurn(ctx context.Context, key string) error {
	if c.limiter == nil {
		return ctx.Err()
	}
	now := c.now()
	at, release := c.limiter.reserve(now, key)
	if d := at.Sub(now); d > 0 {
		if err := c.sleep(ctx, d); err != nil {
			release() // give the slot to someone still waiting
			return err
		}
	}
	return ctx.Err()
}

// retryableStatus: throttling (429), Teams' concurrent-write conflict (412)
// and gateway failures (502, 504), per Teams' rate-limit guidance.
func retryableStatus(s int) bool {
	switch s {
	case http.StatusTooManyRequests, http.StatusPreconditionFailed, http.StatusBadGateway, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// backoff is exponential with "equal jitter": half fixed, half random, so
// retries of many callers spread out but never come back instantly.
func backoff(attempt int) time.Duration {
	d := retryBase << min(attempt-1, 10)
	d = min(d, retryCap)
	return d/2 + rand.N(d/2+1)
}

// attempt sends one request; non-2xx answers are *APIError.
func (c *Connector) attempt(ctx context.Context, method, u string, payload []byte, res any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	req.Header.Set("Accept", "application/json")
	if c.AppID != "" {
		tok, err := c.token(ctx)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return scrubURLError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		e := parseAPIError(resp.StatusCode, raw)
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), c.now())
		return e
	}
	if res == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
		return nil
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil // 202 Accepted without a body
	}
	if err := json.Unmarshal(raw, res); err != nil {
		// An APIError, not retried as a transport error would be: the
		// request succeeded, a retry would post again.
		return &APIError{Status: resp.StatusCode, Message: "undecodable answer"}
	}
	return nil
}

// scrubURLError keeps the operation and cause of a transport error but drops
// the URL's query, in case a proxy or redirect put anything sensitive there.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if p, perr := url.Parse(ue.URL); perr == nil {
			p.RawQuery, p.User = "", nil
			return &url.Error{Op: ue.Op, URL: p.String(), Err: ue.Err}
		}
	}
	return err
}

// parseAPIError reads the Bot Framework ErrorResponse
// {"error":{"code","message","subCode"?}}; some gateways answer with
// {"message":…} or plain text instead.
func parseAPIError(status int, raw []byte) *APIError {
	e := &APIError{Status: status}
	var body struct {
		Error *struct {
			Code    string `json:"code"`
			SubCode string `json:"subCode"`
			Message string `json:"message"`
		} `json:"error"`
		SubCode string `json:"subCode"`
		Message string `json:"message"`
	}
	if json.Unmarshal(raw, &body) == nil {
		if body.Error != nil {
			e.Code, e.SubCode, e.Message = body.Error.Code, body.Error.SubCode, body.Error.Message
		}
		e.SubCode = cmp.Or(e.SubCode, body.SubCode)
		e.Message = cmp.Or(e.Message, body.Message)
		e.Code = cmp.Or(e.Code, e.SubCode)
	}
	e.Message = truncate(strings.TrimSpace(e.Message), 300)
	return e
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// parseRetryAfter reads delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// connectorURL joins a validated serviceUrl and path segments, each escaped
// as Bot Framework SDKs do (Uri.EscapeDataString / encodeURIComponent):
// Teams ids carry ':', ';', '@', '=' and even '/'.
func connectorURL(serviceURL string, segments ...string) (string, error) {
	if err := validateServiceURL(serviceURL); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(strings.TrimRight(serviceURL, "/"))
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(escapeSegment(s))
	}
	return b.String(), nil
}

// validateServiceURL accepts absolute https URLs, and http only on a
// loopback host (the Agents Playground, the fake): we send the app's token
// there.
func validateServiceURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || s == "" {
		return fmt.Errorf("invalid serviceUrl %q", s)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("invalid serviceUrl %q: want scheme://host[/path]", s)
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("invalid serviceUrl %q: http only on loopback", s)
	}
	return fmt.Errorf("invalid serviceUrl %q: want https", s)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// escapeSegment percent-encodes everything but RFC 3986 unreserved
// characters, as .NET's Uri.EscapeDataString does (Go's url.PathEscape
// would leave ':', '@' and '=' as they are).
func escapeSegment(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'A' <= ch && ch <= 'Z' || 'a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' ||
			ch == '-' || ch == '.' || ch == '_' || ch == '~' {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
	}
	return b.String()
}

// errTokenRejected marks token-endpoint answers that retrying cannot fix
// (bad credentials, unknown tenant).
var errTokenRejected = errors.New("token request rejected")

// token returns a current app token, fetching one when the cache is empty
// or near expiry. Concurrent callers share one fetch; each stops waiting
// when its own ctx ends.
func (c *Connector) token(ctx context.Context) (string, error) {
	c.tok.mu.Lock()
	if c.tok.token != "" && c.now().Before(c.tok.refreshAt) {
		t := c.tok.token
		c.tok.mu.Unlock()
		return t, nil
	}
	f := c.tok.inflight
	if f == nil {
		f = &tokenFetch{done: make(chan struct{})}
		c.tok.inflight = f
		// Detached from ctx: the callers who join this fetch must not fail
		// because the one who started it gave up.
		go c.fetchToken(context.WithoutCancel(ctx), f)
	}
	c.tok.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	if f.err != nil {
		// An Entra blip inside the refresh margin: the old token still works.
		c.tok.mu.Lock()
		defer c.tok.mu.Unlock()
		if c.tok.token != "" && c.now().Before(c.tok.expiresAt) {
			return c.tok.token, nil
		}
	}
	return f.token, f.err
}

// fetchToken runs one client-credentials request and publishes its result.
func (c *Connector) fetchToken(ctx context.Context, f *tokenFetch) {
	ctx, cancel := context.WithTimeout(ctx, tokenFetchTimeout)
	defer cancel()
	f.token, f.refreshAt, f.expiresAt, f.err = c.requestToken(ctx)
	c.tok.mu.Lock()
	if f.err == nil {
		c.tok.token, c.tok.refreshAt, c.tok.expiresAt = f.token, f.refreshAt, f.expiresAt
	}
	c.tok.inflight = nil
	c.tok.mu.Unlock()
	if f.err != nil {
		c.logger().Warn("teams: token fetch failed", "error", f.err.Error())
	} else {
		c.logger().Debug("teams: token fetched", "refresh_at", f.refreshAt)
	}
	close(f.done)
}

// dropToken forgets the cached token after the connector rejected it.
func (c *Connector) dropToken() {
	c.tok.mu.Lock()
	c.tok.token, c.tok.expiresAt = "", time.Time{}
	c.tok.mu.Unlock()
}

// requestToken asks Entra for an app token (OAuth 2.0 client credentials,
// secret in the form body as Entra documents). Errors carry the endpoint's
// error code and description, never the secret or a token.
func (c *Connector) requestToken(ctx context.Context) (token string, refreshAt, expiresAt time.Time, err error) {
	tokenURL := c.TokenURL
	if tokenURL == "" {
		if c.TenantID == "" {
			return "", time.Time{}, time.Time{}, fmt.Errorf("teams: token: %w: no tenant id (MICROSOFT_APP_TENANT_ID) and no token URL", errTokenRejected)
		}
		tokenURL = fmt.Sprintf(DefaultTokenURL, url.PathEscape(c.TenantID))
	}
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {c.AppID},
		"client_secret": {c.AppPassword},
		"scope":         {ConnectorScope},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", time.Time{}, time.Time{}, fmt.Errorf("teams: token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	start := c.now()
	resp, err := c.client().Do(req)
	if err != nil {
		return "", time.Time{}, time.Time{}, fmt.Errorf("teams: token: %w", scrubURLError(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if err != nil {
		return "", time.Time{}, time.Time{}, fmt.Errorf("teams: token: read answer: %w", err)
	}
	var body struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"` // a number, or a string in older endpoints
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
	}
	_ = json.Unmarshal(raw, &body)
	if resp.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("HTTP %d", resp.StatusCode)
		if body.Error != "" {
			msg = fmt.Sprintf("%s (HTTP %d): %s", body.Error, resp.StatusCode, truncate(firstLine(body.Description), 200))
		}
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
			return "", time.Time{}, time.Time{}, fmt.Errorf("teams: token: %w: %s", errTokenRejected, msg)
		}
		return "", time.Time{}, time.Time{}, fmt.Errorf("teams: token: %s", msg)
	}
	if body.AccessToken == "" {
		return "", time.Time{}, time.Time{}, errors.New("teams: token: answer without access_token")
	}
	secs, err := strconv.ParseInt(strings.Trim(string(body.ExpiresIn), `"`), 10, 64)
	if err != nil || secs <= 0 {
		return "", time.Time{}, time.Time{}, errors.New("teams: token: answer without a valid expires_in")
	}
	life := time.Duration(secs) * time.Second
	return body.AccessToken, start.Add(life - min(tokenRefreshMargin, life/2)), start.Add(life), nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return strings.TrimSpace(s)
}
