// Package config reads crmbot's configuration from the environment. Variable
// names are fixed (the design's contract; README.md, Configuration); every
// error names the variable at fault.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"
)

// Config is the process configuration.
type Config struct {
	Addr      string // CRMBOT_ADDR
	PublicURL string // CRMBOT_PUBLIC_URL, without trailing slash
	LogLevel  string // CRMBOT_LOG_LEVEL
	Catalog   string // CRMBOT_CATALOG: path of a catalogue override file
	// SandboxPublic opens the embedded sandbox to non-loopback clients (CRMBOT_SANDBOX_PUBLIC).
	SandboxPublic bool

	RedisURL string // REDIS_URL
	// AdminToken opens the status page (/status) to whoever presents it
	// (CRMBOT_ADMIN_TOKEN, at least 16 characters); empty → the page is
	// off, except with the embedded sandbox (then loopback only).
	AdminToken    string
	EncryptionKey []string // CRMBOT_ENCRYPTION_KEY (comma-separated list for rotation)

	Dataverse Dataverse
	Slack     Slack
	Teams     Teams

	// DrainDelay: after SIGTERM, how long /readyz answers 503 while
	// requests are still served, before the listener closes
	// (CRMBOT_DRAIN_DELAY; default 5s, 0 with the embedded sandbox).
	DrainDelay time.Duration

	SyncInterval time.Duration // CRMBOT_SYNC_INTERVAL
	// SyncLease is how long a replica's claim on a record type lasts without
	// renewal: a replica that dies is replaced after it (CRMBOT_SYNC_LEASE).
	SyncLease time.Duration
	// DeliveryRetry is how long a failed notification (or one a dead
	// replica left) waits before its first retry; each later retry waits
	// twice as long, up to 8× (CRMBOT_DELIVERY_RETRY).
	DeliveryRetry time.Duration

	// WebhookSecret authenticates Dataverse webhook calls to /dataverse/webhook
	// (CRMBOT_WEBHOOK_SECRET, at least 16 characters); empty → no webhook, the
	// poller alone.
	WebhookSecret string
	// WebhookHeader is the header carrying WebhookSecret (HttpHeader auth,
	// CRMBOT_WEBHOOK_HEADER); empty → WebhookKey auth (?code=).
	WebhookHeader string
}

// Dataverse is the Dynamics org and its Entra app registration.
type Dataverse struct {
	URL          string // DATAVERSE_URL; empty → the embedded sandbox
	TenantID     string // DATAVERSE_TENANT_ID
	ClientID     string // DATAVERSE_CLIENT_ID
	ClientSecret string // DATAVERSE_CLIENT_SECRET
	AuthorityURL string // DATAVERSE_AUTHORITY_URL
}

// Slack is the Slack app. It is on when a bot token (single workspace) or
// a client id (multi-workspace install) is set.
type Slack struct {
	SigningSecret string // SLACK_SIGNING_SECRET: verifies HTTP-mode requests
	BotToken      string // SLACK_BOT_TOKEN: xoxb- token of a single workspace
	AppToken      string // SLACK_APP_TOKEN: xapp- token → Socket Mode
	APIURL        string // SLACK_API_URL: Web API base
	ClientID      string // SLACK_CLIENT_ID: OAuth v2 install (multi-workspace)
	ClientSecret  string // SLACK_CLIENT_SECRET
}

// Teams is the Teams bot (its Entra app registration / Azure Bot).
type Teams struct {
	AppID        string // MICROSOFT_APP_ID; empty → local dev mode or Teams off
	AppPassword  string // MICROSOFT_APP_PASSWORD: the app registration's client secret
	TenantID     string // MICROSOFT_APP_TENANT_ID: the bot's tenant (single-tenant bots)
	OpenIDURL    string // BOTFRAMEWORK_OPENID_URL: Bot Framework OpenID metadata
	AuthorityURL string // MICROSOFT_AUTHORITY_URL: where outbound tokens come from
	// DevMode: no app id and Dynamics is the embedded sandbox, so the
	// endpoint takes unauthenticated requests from loopback (the Agents
	// Playground). Never with a real Dynamics: a proxy in front of a real
	// deployment must never open it.
	DevMode bool
}

// Enabled reports whether the Teams endpoint is served (with an app id, or
// in dev mode).
func (t Teams) Enabled() bool { return t.AppID != "" || t.DevMode }

// TokenURL is the client-credentials endpoint of the bot's tenant.
func (t Teams) TokenURL() string {
	return t.AuthorityURL + "/" + url.PathEscape(t.TenantID) + "/oauth2/v2.0/token"
}

// Enabled reports whether Slack is configured at all.
func (s Slack) Enabled() bool { return s.BotToken != "" || s.ClientID != "" }

// SocketMode reports whether Slack requests come over Socket Mode.
func (s Slack) SocketMode() bool { return s.AppToken != "" }

// Sandbox reports whether the embedded sandbox stands in for Dynamics.
func (d Dataverse) Sandbox() bool { return d.URL == "" }

// Load reads the configuration through getenv (os.Getenv in main).
func Load(getenv func(string) string) (*Config, error) {
	get := func(name, def string) string {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
		return def
	}
	c := &Config{
		Addr:          get("CRMBOT_ADDR", ":3978"),
		PublicURL:     strings.TrimRight(get("CRMBOT_PUBLIC_URL", defaultPublicURL(get("CRMBOT_ADDR", ":3978"))), "/"),
		LogLevel:      get("CRMBOT_LOG_LEVEL", "info"),
		Catalog:       get("CRMBOT_CATALOG", ""),
		RedisURL:      get("REDIS_URL", ""),
		AdminToken:    get("CRMBOT_ADMIN_TOKEN", ""),
		WebhookSecret: get("CRMBOT_WEBHOOK_SECRET", ""),
		WebhookHeader: get("CRMBOT_WEBHOOK_HEADER", ""),
		Dataverse: Dataverse{
			URL:          strings.TrimRight(get("DATAVERSE_URL", ""), "/"),
			TenantID:     get("DATAVERSE_TENANT_ID", ""),
			ClientID:     get("DATAVERSE_CLIENT_ID", ""),
			ClientSecret: get("DATAVERSE_CLIENT_SECRET", ""),
			AuthorityURL: strings.TrimRight(get("DATAVERSE_AUTHORITY_URL", "https://login.microsoftonline.com"), "/"),
		},
	}
	c.Slack = Slack{
		SigningSecret: get("SLACK_SIGNING_SECRET", ""), BotToken: get("SLACK_BOT_TOKEN", ""),
		AppToken: get("SLACK_APP_TOKEN", ""), APIURL: get("SLACK_API_URL", "https://slack.com/api/"),
		ClientID: get("SLACK_CLIENT_ID", ""), ClientSecret: get("SLACK_CLIENT_SECRET", ""),
	}
	c.Teams = Teams{
		AppID: get("MICROSOFT_APP_ID", ""), AppPassword: get("MICROSOFT_APP_PASSWORD", ""),
		TenantID:     get("MICROSOFT_APP_TENANT_ID", ""),
		OpenIDURL:    get("BOTFRAMEWORK_OPENID_URL", "https://login.botframework.com/v1/.well-known/openidconfiguration"),
		AuthorityURL: strings.TrimRight(get("MICROSOFT_AUTHORITY_URL", "https://login.microsoftonline.com"), "/"),
	}
	c.Teams.DevMode = c.Teams.AppID == "" && c.Dataverse.Sandbox()
	if !strings.HasSuffix(c.Slack.APIURL, "/") {
		c.Slack.APIURL += "/"
	}
	for _, k := range strings.Split(get("CRMBOT_ENCRYPTION_KEY", ""), ",") {
		if k = strings.TrimSpace(k); k != "" {
			c.EncryptionKey = append(c.EncryptionKey, k)
		}
	}
	var errs []error
	switch v := strings.ToLower(get("CRMBOT_SANDBOX_PUBLIC", "false")); v {
	case "true", "1", "yes":
		c.SandboxPublic = true
	case "false", "0", "no":
	default:
		errs = append(errs, fmt.Errorf("CRMBOT_SANDBOX_PUBLIC: %q is not true or false", v))
	}
	if err := checkURL("CRMBOT_PUBLIC_URL", c.PublicURL, false); err != nil {
		errs = append(errs, err)
	}
	if iv := get("CRMBOT_SYNC_INTERVAL", "30s"); iv != "" {
		d, err := time.ParseDuration(iv)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("CRMBOT_SYNC_INTERVAL: %q is not a duration such as 30s or 2m", iv))
		case d < time.Second:
			errs = append(errs, fmt.Errorf("CRMBOT_SYNC_INTERVAL: %s is below the 1s minimum", d))
		default:
			c.SyncInterval = d
		}
	}
	// Nobody load-balances the demo: Ctrl-C stops it at once.
	drainDefault := "5s"
	if c.Dataverse.Sandbox() {
		drainDefault = "0s"
	}
	for _, d := range []struct {
		name, def string
		min       time.Duration
		dst       *time.Duration
	}{
		{"CRMBOT_SYNC_LEASE", "60s", time.Second, &c.SyncLease},
		{"CRMBOT_DELIVERY_RETRY", "30s", 100 * time.Millisecond, &c.DeliveryRetry},
		{"CRMBOT_DRAIN_DELAY", drainDefault, 0, &c.DrainDelay},
	} {
		v, err := time.ParseDuration(get(d.name, d.def))
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %q is not a duration such as 30s or 2m", d.name, get(d.name, d.def)))
		case v < d.min:
			errs = append(errs, fmt.Errorf("%s: %s is below the %s minimum", d.name, v, d.min))
		default:
			*d.dst = v
		}
	}
	if c.DrainDelay > maxDrainDelay {
		errs = append(errs, fmt.Errorf("CRMBOT_DRAIN_DELAY: %s is over the %s maximum (the whole shutdown must fit in a 75 s grace period)", c.DrainDelay, maxDrainDelay))
	}
	if c.SyncLease != 0 && c.SyncLease < 2*c.SyncInterval && c.SyncInterval != 0 {
		// A holder renews before each cycle: a lease shorter than two intervals
		// would lapse between cycles and bounce between replicas.
		errs = append(errs, fmt.Errorf("CRMBOT_SYNC_LEASE: %s must be at least twice CRMBOT_SYNC_INTERVAL (%s)", c.SyncLease, c.SyncInterval))
	}
	errs = append(errs, checkWebhook(c.WebhookSecret, c.WebhookHeader)...)
	if c.Dataverse.URL != "" {
		if err := checkURL("DATAVERSE_URL", c.Dataverse.URL, true); err != nil {
			errs = append(errs, err)
		}
		for name, v := range map[string]string{
			"DATAVERSE_TENANT_ID": c.Dataverse.TenantID, "DATAVERSE_CLIENT_ID": c.Dataverse.ClientID,
			"DATAVERSE_CLIENT_SECRET": c.Dataverse.ClientSecret,
		} {
			if v == "" {
				errs = append(errs, fmt.Errorf("%s is required when DATAVERSE_URL is set", name))
			}
		}
		if err := checkURL("DATAVERSE_AUTHORITY_URL", c.Dataverse.AuthorityURL, true); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, c.Slack.check()...)
	errs = append(errs, c.Teams.check()...)
	if c.RedisURL != "" {
		if err := checkRedisURL(c.RedisURL); err != nil {
			errs = append(errs, err)
		}
	}
	if n := utf8.RuneCountInString(c.AdminToken); n > 0 && n < minAdminToken {
		errs = append(errs, fmt.Errorf("CRMBOT_ADMIN_TOKEN: %d characters, at least %d required", n, minAdminToken))
	}
	if c.RedisURL != "" && len(c.EncryptionKey) == 0 {
		errs = append(errs, errors.New("CRMBOT_ENCRYPTION_KEY is required with REDIS_URL (tokens are encrypted at rest)"))
	}
	return c, errors.Join(errs...)
}

// defaultPublicURL is http://localhost on the port of the listen address, so
// a demo moved to another port (CRMBOT_ADDR=:8080) still links to itself.
func defaultPublicURL(addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil && port != "" && port != "0" {
		return "http://localhost:" + port
	}
	return "http://localhost:3978"
}

func checkURL(name, v string, httpsOnly bool) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%s: %q is not an absolute http(s) URL", name, v)
	}
	if httpsOnly && u.Scheme != "https" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("%s: %q must use https", name, v)
	}
	return nil
}

// maxDrainDelay bounds CRMBOT_DRAIN_DELAY: the drain, the 25 s request grace,
// the 20 s for acknowledged work and the 10 s for background loops must fit
// in a Kubernetes terminationGracePeriodSeconds of 75.
const maxDrainDelay = 15 * time.Second

// minAdminToken is the shortest CRMBOT_ADMIN_TOKEN accepted.
const minAdminToken = 16

// checkRedisURL catches the usual mistakes early (a bare host:port, a typo in
// the scheme, a database that is not a number); the store's own parser has
// the last word. The URL is never echoed: it may hold a password.
func checkRedisURL(v string) error {
	u, err := url.Parse(v)
	if err != nil {
		return errors.New("REDIS_URL: not a URL (expected redis://[:password@]host:port[/db] or rediss://…)")
	}
	switch u.Scheme {
	case "redis", "rediss", "redis+cluster", "rediss+cluster":
		if u.Host == "" {
			return errors.New("REDIS_URL: no host (expected redis://host:port[/db])")
		}
		for _, a := range u.Query()["addr"] {
			if _, _, err := net.SplitHostPort(a); err != nil {
				return fmt.Errorf("REDIS_URL: addr %q is not host:port", a)
			}
		}
		if db := strings.Trim(u.Path, "/"); db != "" {
			for _, r := range db {
				if r < '0' || r > '9' {
					return fmt.Errorf("REDIS_URL: database %q is not a number", db)
				}
			}
		}
	case "unix":
		if u.Path == "" {
			return errors.New("REDIS_URL: unix:// needs a socket path")
		}
	default:
		return fmt.Errorf("REDIS_URL: scheme %q is not redis, rediss, redis+cluster, rediss+cluster or unix (expected redis://host:port[/db])", u.Scheme)
	}
	return nil
}

// minWebhookSecret is the shortest CRMBOT_WEBHOOK_SECRET accepted.
const minWebhookSecret = 16

// checkWebhook validates the Dataverse webhook variables together.
func checkWebhook(secret, header string) []error {
	var errs []error
	if secret != "" {
		if n := utf8.RuneCountInString(secret); n < minWebhookSecret {
			errs = append(errs, fmt.Errorf("CRMBOT_WEBHOOK_SECRET: %d characters, at least %d required", n, minWebhookSecret))
		}
		if strings.IndexFunc(secret, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			errs = append(errs, errors.New("CRMBOT_WEBHOOK_SECRET: contains control characters"))
		}
	}
	if header == "" {
		return errs
	}
	if secret == "" {
		errs = append(errs, errors.New("CRMBOT_WEBHOOK_HEADER is set but CRMBOT_WEBHOOK_SECRET is not (set the secret too, or neither)"))
	}
	switch {
	case !httpguts.ValidHeaderFieldName(header):
		errs = append(errs, fmt.Errorf("CRMBOT_WEBHOOK_HEADER: %q is not an HTTP header name (a token)", header))
	case reservedHeader(header):
		errs = append(errs, fmt.Errorf("CRMBOT_WEBHOOK_HEADER: %q is a standard header, choose your own (e.g. X-Crmbot-Key)", header))
	}
	return errs
}

// reservedHeader: headers the transport or Dataverse itself sets.
func reservedHeader(name string) bool {
	name = strings.ToLower(name)
	switch name {
	case "host", "content-length", "content-type", "transfer-encoding", "connection", "te", "trailer", "upgrade",
		"keep-alive", "proxy-connection", "expect":
		return true
	}
	return strings.HasPrefix(name, "x-ms-")
}

func isLoopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}

// check validates the Slack variables together.
func (s Slack) check() []error {
	var errs []error
	if err := checkURL("SLACK_API_URL", s.APIURL, true); err != nil {
		errs = append(errs, err)
	}
	if s.BotToken != "" && !strings.HasPrefix(s.BotToken, "xoxb-") {
		errs = append(errs, errors.New("SLACK_BOT_TOKEN: a bot token starts with xoxb-"))
	}
	if s.AppToken != "" && !strings.HasPrefix(s.AppToken, "xapp-") {
		errs = append(errs, errors.New("SLACK_APP_TOKEN: an app-level token starts with xapp-"))
	}
	if s.AppToken != "" && s.BotToken == "" {
		errs = append(errs, errors.New("SLACK_BOT_TOKEN is required with SLACK_APP_TOKEN (Socket Mode)"))
	}
	if (s.ClientID == "") != (s.ClientSecret == "") {
		errs = append(errs, errors.New("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together (multi-workspace install)"))
	}
	if s.Enabled() && !s.SocketMode() && s.SigningSecret == "" {
		errs = append(errs, errors.New("SLACK_SIGNING_SECRET is required for Slack in HTTP mode (set it, or SLACK_APP_TOKEN for Socket Mode)"))
	}
	return errs
}

// check validates the Teams variables together: with an app id the bot
// authenticates both ways, so its password and tenant are required.
func (t Teams) check() []error {
	var errs []error
	if t.AppID == "" {
		for name, v := range map[string]string{"MICROSOFT_APP_PASSWORD": t.AppPassword, "MICROSOFT_APP_TENANT_ID": t.TenantID} {
			if v != "" {
				errs = append(errs, fmt.Errorf("%s is set but MICROSOFT_APP_ID is not (set the app id too, or neither)", name))
			}
		}
		return errs
	}
	if !isGUID(t.AppID) {
		errs = append(errs, fmt.Errorf("MICROSOFT_APP_ID: %q is not an app (client) id, a GUID", t.AppID))
	}
	if t.AppPassword == "" {
		errs = append(errs, errors.New("MICROSOFT_APP_PASSWORD is required with MICROSOFT_APP_ID (the bot's client secret)"))
	}
	if t.TenantID == "" {
		errs = append(errs, errors.New("MICROSOFT_APP_TENANT_ID is required with MICROSOFT_APP_ID (the bot's Entra tenant)"))
	}
	for name, v := range map[string]string{"BOTFRAMEWORK_OPENID_URL": t.OpenIDURL, "MICROSOFT_AUTHORITY_URL": t.AuthorityURL} {
		if err := checkURL(name, v, true); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// isGUID: 8-4-4-4-12 hexadecimal digits.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}
