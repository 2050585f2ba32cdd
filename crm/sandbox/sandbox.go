// Package sandbox is a faithful, in-memory emulator of the Dataverse Web API
// (v9.2) and of the Entra ID v2.0 endpoints crmbot needs, seeded with a demo org.
//
// It runs in-process (tests, the embedded demo) or standalone with
// `crmbot sandbox --addr HOST:PORT`. Its schema comes from a slice of a real
// Dataverse $metadata document (schema/metadata.xml), so it accepts and rejects
// the same names a real org does. Its wire behaviour follows the contract in
// shared/reference/dataverse.md; where it departs from Dataverse, the README says so.
package sandbox

import (
	"log/slog"
	"net/http"
	"time"
)

// Default identities of the sandbox's demo tenant and app registration.
const (
	DefaultTenantID     = "8f3c2d1e-5b6a-4c7d-9e8f-0a1b2c3d4e5f"
	DefaultOrgID        = "0d7a6b5c-4e3f-4a2b-8c1d-9e0f1a2b3c4d"
	DefaultClientID     = "crmbot-demo"
	DefaultClientSecret = "crmbot-demo-secret"
	DefaultRedirectURI  = "http://localhost:3978/link/callback"
	// APIPath is the Web API root every record request lives under.
	APIPath = "/api/data/v9.2/"
)

// User is a sandbox directory user: both an Entra identity (tenant, object id,
// UPN) and a Dataverse systemuser.
type User struct {
	ID             string // systemuserid
	ObjectID       string // Entra oid = systemuser.azureactivedirectoryobjectid
	Email          string // UPN, preferred_username and systemuser.internalemailaddress
	FirstName      string
	LastName       string
	Title          string
	Role           string // sales, support, manager: decides what the seed gives them
	BusinessUnitID string
}

// FullName is the systemuser's fullname as Dataverse composes it.
func (u User) FullName() string { return u.FirstName + " " + u.LastName }

// Principal is who a request acts as: a sandbox user (delegated token) or the
// application user (client credentials).
type Principal struct {
	UserID string // systemuserid of the user, or of the application user
	App    bool   // true for client-credentials tokens
}

// Options configure a Sandbox. The zero value is a working demo org.
type Options struct {
	// BaseURL is the externally visible URL of the sandbox (used in OData-EntityId,
	// @odata.context, nextLink, deltaLink and the OpenID issuer). Empty: taken from each request's Host.
	BaseURL string
	// TenantID, ClientID, ClientSecret: the demo app registration.
	TenantID, ClientID, ClientSecret string
	// RedirectURIs registered for the app, matched exactly. Default: DefaultRedirectURI.
	RedirectURIs []string
	// AccessTokenTTL of issued access tokens (default 1h); RefreshTokenTTL (default 90 days).
	AccessTokenTTL, RefreshTokenTTL time.Duration
	// DeltaTokenTTL: a change-tracking token older than this is expired (0x80044352). Default 7 days.
	DeltaTokenTTL time.Duration
	// RecordsPerType the seed generates for each of the eight record types (default 50; 0 means default, -1 none).
	RecordsPerType int
	// Seed for the deterministic demo data generator.
	Seed int64
	// ChangeTrackingDisabled lists logical names whose ChangeTrackingEnabled is false (to test the start-up check).
	ChangeTrackingDisabled []string
	// Webhook, when set, receives RemoteExecutionContext POSTs on create, update and assign.
	Webhook *WebhookOptions
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives the sandbox's own warnings (webhook failures, panics); default slog.Default().
	Logger *slog.Logger
}

// WebhookOptions configure the sandbox's webhook emitter (a Dataverse service endpoint).
type WebhookOptions struct {
	URL        string
	HeaderName string // HttpHeader auth: header name (empty: WebhookKey as ?code=)
	Secret     string
}

// Faults are injected failures, changeable at run time (tests flip them on and
// off): from Go with SetFaults, over HTTP from loopback with GET/PUT FaultsPath.
type Faults struct {
	// Throttle429 answers the next N Web API requests with 429 and Retry-After.
	Throttle429 int
	RetryAfter  time.Duration
	// Latency delays every Web API response.
	Latency time.Duration
	// FailNext answers the next N Web API requests with this status (e.g. 503).
	FailNext       int
	FailNextStatus int
}

// Handler is implemented by *Sandbox: the whole sandbox as one http.Handler.
var _ http.Handler = (*Sandbox)(nil)

// Sandbox is the emulator. Create it with New; it is an http.Handler.
type Sandbox struct {
	opts Options
	auth *authServer // Entra-like endpoints and bearer-token → Principal (auth.go)
	org  *org        // the Dataverse org: records, metadata, Web API (webapi.go)
	mux  *http.ServeMux
}

// New builds a sandbox with its seeded demo org.
func New(opts Options) *Sandbox {
	opts = opts.withDefaults()
	s := &Sandbox{opts: opts, mux: http.NewServeMux()}
	users := DemoUsers()
	s.auth = newAuthServer(opts, users)
	s.org = newOrg(opts, users)
	s.auth.register(s.mux)
	s.org.register(s.mux, s.auth.authenticate)
	s.mux.HandleFunc(FaultsPath, s.serveFaults)
	return s
}

// ServeHTTP serves the Web API and the OAuth endpoints.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Users returns the demo directory.
func (s *Sandbox) Users() []User { return DemoUsers() }

// Options returns the effective options (defaults applied).
func (s *Sandbox) Options() Options { return s.opts }

func (o Options) withDefaults() Options {
	if o.TenantID == "" {
		o.TenantID = DefaultTenantID
	}
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.ClientSecret == "" {
		o.ClientSecret = DefaultClientSecret
	}
	if len(o.RedirectURIs) == 0 {
		o.RedirectURIs = []string{DefaultRedirectURI}
	}
	if o.AccessTokenTTL == 0 {
		o.AccessTokenTTL = time.Hour
	}
	if o.RefreshTokenTTL == 0 {
		o.RefreshTokenTTL = 90 * 24 * time.Hour
	}
	if o.DeltaTokenTTL == 0 {
		o.DeltaTokenTTL = 7 * 24 * time.Hour
	}
	if o.RecordsPerType == 0 {
		o.RecordsPerType = 50
	}
	if o.Seed == 0 {
		o.Seed = 20261124
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
