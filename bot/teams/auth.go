package teams

import (
	"cmp"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crmbot/crmbot/internal/jwks"
)

// DefaultOpenIDURL is the Bot Framework's OpenID metadata document for
// tokens the channels send to bots.
const DefaultOpenIDURL = "https://login.botframework.com/v1/.well-known/openidconfiguration"

// Token rules of botbuilder's channelValidation (reference/teams.md
// "Inbound auth").
const (
	botFrameworkIssuer = "https://api.botframework.com"
	clockSkew          = 5 * time.Minute
	keysMinRefresh     = 5 * time.Minute
	keysMaxAge         = 24 * time.Hour
	fetchTimeout       = 10 * time.Second
	maxMetadataBody    = 1 << 20
	// Bot Framework tokens are 1–2 KB; refuse to base64-decode megabytes of
	// whatever an anonymous caller sends.
	maxTokenLen = 16 << 10
)

// ErrUnauthorized: the request does not carry a valid Bot Framework token
// for this bot and activity. Every error of Authenticate wraps it; the
// handler answers 401.
var ErrUnauthorized = errors.New("teams: unauthorized")

// ErrKeysUnavailable: the OpenID metadata or the signing keys could not be
// fetched, so no token can be checked. Errors wrapping it wrap
// ErrUnauthorized too; it is our outage, not the caller's fault, and worth
// a loud log line.
var ErrKeysUnavailable = errors.New("signing keys unavailable")

// Claims is what a valid token asserts.
type Claims struct {
	// Audience is the token's audience that matched the app id: AppID,
	// api://AppID or api://botid-AppID.
	Audience string
	// ServiceURL is the token's serviceurl claim, where replies go.
	ServiceURL string
	// ChannelID is the channel the signing key is endorsed for ("msteams").
	ChannelID string
	// ExpiresAt is the token's exp.
	ExpiresAt time.Time
}

// Authenticator validates the Bot Framework's bearer tokens on
// /api/messages, as botbuilder's JwtTokenValidation does for channel
// tokens. Set its fields before the first Authenticate and leave them
// alone afterwards. It is safe for concurrent use.
type Authenticator struct {
	// AppID is the bot's Microsoft app id (MICROSOFT_APP_ID); required.
	AppID string
	// OpenIDURL is the OpenID metadata document (BOTFRAMEWORK_OPENID_URL);
	// "" means DefaultOpenIDURL.
	OpenIDURL string
	// Client fetches the metadata and the keys; nil means a client with a
	// 10 s timeout.
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives key fetches and their failures; nil means
	// slog.Default().
	Logger *slog.Logger

	once      sync.Once
	keys      *jwks.Set
	parser    *jwt.Parser
	audiences []string
}

// claims is the token payload: the registered claims and serviceurl.
type claims struct {
	jwt.RegisteredClaims
	ServiceURL string `json:"serviceurl"`
}

// init builds the key set and the parser from the fields, once.
func (a *Authenticator) init() {
	a.once.Do(func() {
		client, now, log := a.Client, a.Now, a.Logger
		if client == nil {
			client = &http.Client{Timeout: fetchTimeout}
		}
		if now == nil {
			now = time.Now
		}
		if log == nil {
			log = slog.Default()
		}
		// teams.ts accepts the api:// forms that newer registrations use.
		a.audiences = []string{a.AppID, "api://" + a.AppID, "api://botid-" + a.AppID}
		a.keys = &jwks.Set{
			// The set "fetches" the metadata document; the transport follows
			// its jwks_uri (see metadataTransport).
			URL: cmp.Or(a.OpenIDURL, DefaultOpenIDURL),
			Client: &http.Client{
				Transport: &metadataTransport{client: client, log: log},
				// The inner client follows redirects; a 3xx reaching this one
				// must not send the key URL back through the transport.
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			},
			MinRefresh: keysMinRefresh,
			MaxAge:     keysMaxAge,
			Now:        now,
		}
		a.parser = jwt.NewParser(
			// RSA only: no "none", no HS256 keyed with our public key, no EC.
			jwt.WithValidMethods([]string{"RS256", "RS384", "RS512"}),
			jwt.WithIssuer(botFrameworkIssuer),
			jwt.WithAudience(a.audiences...),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(clockSkew),
			jwt.WithTimeFunc(now),
		)
	})
}

// Authenticate checks authorization, the request's Authorization header
// value, against the activity's channelId and serviceUrl: a Bearer token
// signed by a Bot Framework key endorsed for channelID, issued by the Bot
// Framework for this app, current, and naming serviceURL. Every error wraps
// ErrUnauthorized, and ErrKeysUnavailable when the keys could not be
// fetched; no error carries the token.
func (a *Authenticator) Authenticate(ctx context.Context, authorization, channelID, serviceURL string) (Claims, error) {
	if a.AppID == "" {
		return Claims{}, reject("no Microsoft app id configured")
	}
	// botbuilder lets an activity without channelId skip the endorsement
	// check; every Teams activity has one, so one without it is forged.
	if channelID == "" {
		return Claims{}, reject("activity has no channelId")
	}
	// We send our outbound token to serviceUrl: it must be the one the Bot
	// Framework vouched for.
	if NormalizeServiceURL(serviceURL) == "" {
		return Claims{}, reject("activity has no serviceUrl")
	}
	raw, err := bearerToken(authorization)
	if err != nil {
		return Claims{}, err
	}
	a.init()

	var c claims
	var keyErr error // the key lookup's own error, clearer than the parser's wrapping
	_, err = a.parser.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		var pub *rsa.PublicKey
		if pub, keyErr = a.signingKey(ctx, t, channelID); keyErr != nil {
			return nil, keyErr
		}
		return pub, nil
	})
	if keyErr != nil {
		return Claims{}, keyErr
	}
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	if c.ServiceURL == "" {
		return Claims{}, reject("token has no serviceurl claim")
	}
	if NormalizeServiceURL(c.ServiceURL) != NormalizeServiceURL(serviceURL) {
		return Claims{}, reject("token's serviceurl %.200q is not the activity's serviceUrl %.200q", c.ServiceURL, serviceURL)
	}
	out := Claims{ServiceURL: c.ServiceURL, ChannelID: channelID}
	for _, aud := range c.Audience {
		if slices.Contains(a.audiences, aud) {
			out.Audience = aud
			break
		}
	}
	if c.ExpiresAt != nil {
		out.ExpiresAt = c.ExpiresAt.Time
	}
	return out, nil
}

// signingKey returns the token's signing key: published by the Bot
// Framework and endorsed for channelID.
func (a *Authenticator) signingKey(ctx context.Context, t *jwt.Token, channelID string) (*rsa.PublicKey, error) {
	if _, ok := t.Method.(*jwt.SigningMethodRSA); !ok {
		return nil, reject("signing method %.20q is not RSA", t.Method.Alg()) // WithValidMethods already refused it
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, reject("token has no key id")
	}
	k, err := a.keys.Lookup(ctx, kid)
	switch {
	case err == nil:
	case errors.Is(err, jwks.ErrUnknownKey):
		return nil, reject("signing key %.64q is not published by the Bot Framework", kid)
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%w: %w", ErrUnauthorized, ctx.Err())
	default:
		return nil, fmt.Errorf("%w: %w: %w", ErrUnauthorized, ErrKeysUnavailable, err)
	}
	// Each key lists the channels it may sign for; a key endorsed only for
	// another channel must not vouch for a Teams activity, and one that
	// lists none vouches for nothing (botbuilder's EndorsementsValidator).
	if len(k.Endorsements) == 0 {
		return nil, reject("signing key %.64q has no endorsements", kid)
	}
	if !slices.Contains(k.Endorsements, channelID) {
		return nil, reject("signing key %.64q is not endorsed for channel %.64q", kid, channelID)
	}
	return k.Public, nil
}

// bearerToken returns the token of an "Authorization: Bearer <token>"
// value; the scheme is case-insensitive (RFC 9110 §11.1).
func bearerToken(authorization string) (string, error) {
	if authorization == "" {
		return "", reject("no Authorization header")
	}
	scheme, token, _ := strings.Cut(authorization, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", reject("Authorization is not a Bearer token")
	}
	token = strings.TrimSpace(token)
	switch {
	case token == "":
		return "", reject("empty Bearer token")
	case len(token) > maxTokenLen:
		return "", reject("Bearer token longer than %d bytes", maxTokenLen)
	}
	return token, nil
}

// reject is an ErrUnauthorized saying why. Callers never pass the token.
func reject(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnauthorized, fmt.Sprintf(format, args...))
}

// metadataTransport turns the key set's one fetch into two: the OpenID
// metadata document at the request's URL, then the jwks_uri it names. So
// the metadata is fetched again with every key refresh (Microsoft may move
// the keys), sharing the set's cache, rate limit and single flight.
type metadataTransport struct {
	client *http.Client
	log    *slog.Logger
}

// RoundTrip implements http.RoundTripper.
func (t *metadataTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	keysURL, err := t.jwksURI(req)
	if err != nil {
		t.log.Warn("teams: Bot Framework OpenID metadata unavailable", "url", req.URL.String(), "err", err)
		return nil, err
	}
	keysReq, err := http.NewRequestWithContext(req.Context(), http.MethodGet, keysURL, nil)
	if err != nil {
		return nil, err
	}
	keysReq.Header.Set("Accept", "application/json")
	resp, err := t.client.Do(keysReq)
	if err != nil {
		t.log.Warn("teams: Bot Framework signing keys unavailable", "url", keysURL, "err", err)
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		t.log.Warn("teams: Bot Framework signing keys unavailable", "url", keysURL, "status", resp.StatusCode)
	} else {
		t.log.Info("teams: fetched Bot Framework signing keys", "url", keysURL)
	}
	return resp, nil
}

// jwksURI fetches the metadata document and returns its jwks_uri.
func (t *metadataTransport) jwksURI(req *http.Request) (string, error) {
	mreq, err := http.NewRequestWithContext(req.Context(), http.MethodGet, req.URL.String(), nil)
	if err != nil {
		return "", err
	}
	mreq.Header.Set("Accept", "application/json")
	resp, err := t.client.Do(mreq)
	if err != nil {
		return "", fmt.Errorf("openid metadata: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBody))
	if err != nil {
		return "", fmt.Errorf("openid metadata: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("openid metadata: HTTP %d", resp.StatusCode)
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return "", fmt.Errorf("openid metadata: %w", err)
	}
	u, err := url.Parse(doc.JWKSURI)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return "", fmt.Errorf("openid metadata: jwks_uri %.200q is not an http(s) URL", doc.JWKSURI)
	}
	// No downgrade: plain http only when the metadata itself came that way
	// (a local fake).
	if u.Scheme == "http" && req.URL.Scheme != "http" {
		return "", fmt.Errorf("openid metadata: jwks_uri %.200q is not https", doc.JWKSURI)
	}
	return u.String(), nil
}
