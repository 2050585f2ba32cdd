// Package crm is crmbot's Dataverse (Dynamics 365) Web API client and its
// record-type catalogue.
//
// One Client per principal and action: it is cheap to create, takes its
// authentication from the caller's *http.Client (an oauth2 transport over a
// user's delegated token source, or app-only client credentials) and shares
// the heavy parts — the Throttle registry, the Catalog — through options.
// Every method names the Web API operation it calls; failures are typed
// errors (NotFoundError, ConflictError, …) callers inspect with errors.As.
package crm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// APIPath is the Web API root under the org URL.
const APIPath = "/api/data/v9.2/"

// MaxPageSize is the largest odata.maxpagesize Dataverse honours.
const MaxPageSize = 5000

// DefaultMaxResponseBytes bounds a response body (a 5000-row page of wide
// rows is a few MiB; 64 MiB leaves room without letting a bad proxy exhaust memory).
const DefaultMaxResponseBytes = 64 << 20

// preferAnnotations asks for formatted values and lookup target types on reads.
const preferAnnotations = `odata.include-annotations="OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.lookuplogicalname"`

// Observer receives request metrics (a Prometheus adapter lives with the
// server). op is the client method ("List", "Update", …); status is 0 for a
// network error.
type Observer interface {
	ObserveRequest(op string, status int, d time.Duration)
	ObserveThrottled(principal string, wait time.Duration)
}

// Client calls one Dataverse org's Web API as one principal.
type Client struct {
	org  *url.URL // scheme://host of the org
	base *url.URL // org + APIPath
	hc   *http.Client

	catalog     *Catalog
	throttle    *Throttle
	principal   string
	maxAttempts int
	baseDelay   time.Duration
	maxDelay    time.Duration
	pageSize    int
	userAgent   string
	observer    Observer
	log         *slog.Logger
	maxBody     int64
}

// Option configures a Client.
type Option func(*Client)

// WithCatalog sets the record-type catalogue (default DefaultCatalog(); pass
// the process's loaded one to avoid re-parsing it per client).
func WithCatalog(c *Catalog) Option { return func(cl *Client) { cl.catalog = c } }

// WithThrottle shares a Throttle registry and names the principal this client
// acts as — the key its 429 pauses and concurrency bound apply to, e.g.
// "https://org.crm.dynamics.com|<systemuserid>" (see PrincipalKey).
func WithThrottle(t *Throttle, principal string) Option {
	return func(cl *Client) { cl.throttle, cl.principal = t, principal }
}

// WithRetry sets the retry policy for idempotent requests: at most
// maxAttempts tries in all (1 disables retries), exponential backoff with
// jitter starting at baseDelay.
func WithRetry(maxAttempts int, baseDelay time.Duration) Option {
	return func(cl *Client) { cl.maxAttempts, cl.baseDelay = maxAttempts, baseDelay }
}

// WithPageSize sets the default page size used when a method gets pageSize ≤ 0
// (default 50, capped at MaxPageSize).
func WithPageSize(n int) Option { return func(cl *Client) { cl.pageSize = n } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(cl *Client) { cl.userAgent = ua } }

// WithObserver sets the metrics observer.
func WithObserver(o Observer) Option { return func(cl *Client) { cl.observer = o } }

// WithLogger sets the logger. The client logs operation, method, status,
// duration and request id only — never tokens, headers, query text or bodies.
func WithLogger(l *slog.Logger) Option { return func(cl *Client) { cl.log = l } }

// WithMaxResponseBytes bounds response bodies (default DefaultMaxResponseBytes).
func WithMaxResponseBytes(n int64) Option { return func(cl *Client) { cl.maxBody = n } }

// PrincipalKey is the Throttle key of a principal in an org: Dataverse's
// service protection limits are per user (or application user).
func PrincipalKey(orgURL, userID string) string {
	return strings.TrimRight(orgURL, "/") + "|" + strings.ToLower(userID)
}

// NewClient returns a client for the org at orgURL ("https://org.crm.dynamics.com";
// a trailing "/api/data/v9.2/" is accepted). httpClient carries the
// authentication (nil: http.DefaultClient, for tests only).
func NewClient(orgURL string, httpClient *http.Client, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(orgURL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("crm: org URL %q must be an absolute http(s) URL", orgURL)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("crm: org URL %q must not carry a query, fragment or user info", orgURL)
	}
	// A real org has no path; a sandbox mounted under one (crmbot's embedded
	// sandbox lives at /sandbox) keeps it as a prefix of the Web API root.
	prefix := strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), strings.TrimSuffix(APIPath, "/"))
	prefix = strings.TrimSuffix(prefix, "/")
	org := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: prefix}
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	c := &Client{
		org: org, base: org.JoinPath(APIPath), hc: httpClient,
		maxAttempts: 4, baseDelay: 250 * time.Millisecond, maxDelay: 8 * time.Second,
		pageSize: 50, userAgent: "crmbot", maxBody: DefaultMaxResponseBytes,
	}
	c.base.Path = prefix + APIPath // JoinPath drops the trailing slash
	for _, o := range opts {
		o(c)
	}
	if c.catalog == nil {
		c.catalog = DefaultCatalog()
	}
	if c.throttle == nil {
		c.throttle = NewThrottle()
	}
	if c.principal == "" {
		c.principal = org.String()
	}
	if c.maxAttempts < 1 {
		c.maxAttempts = 1
	}
	if c.baseDelay <= 0 {
		c.baseDelay = 250 * time.Millisecond
	}
	if c.pageSize <= 0 || c.pageSize > MaxPageSize {
		c.pageSize = min(max(c.pageSize, 50), MaxPageSize)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	return c, nil
}

// OrgURL returns the org's base URL (scheme and host).
func (c *Client) OrgURL() string { return c.org.String() }

// Catalog returns the client's record-type catalogue.
func (c *Client) Catalog() *Catalog { return c.catalog }

// Principal returns the Throttle key this client acts as.
func (c *Client) Principal() string { return c.principal }

// pageSizeOr clamps a caller's page size to 1..MaxPageSize, defaulting to the client's.
func (c *Client) pageSizeOr(n int) int {
	if n <= 0 {
		return c.pageSize
	}
	return min(n, MaxPageSize)
}

// resolve turns a path relative to the API root, or an absolute link the
// server returned, into a URL — refusing links to another origin, since the
// caller's transport would hand them the bearer token.
func (c *Client) resolve(pathOrLink, rawQuery string) (*url.URL, error) {
	if strings.HasPrefix(pathOrLink, "http://") || strings.HasPrefix(pathOrLink, "https://") {
		u, err := url.Parse(pathOrLink)
		if err != nil {
			return nil, fmt.Errorf("crm: bad link: %w", err)
		}
		if u.Scheme != c.org.Scheme || !strings.EqualFold(u.Host, c.org.Host) || !strings.HasPrefix(u.Path, c.base.Path) {
			return nil, errors.New("crm: refusing a link outside the org's Web API")
		}
		return u, nil
	}
	u := *c.base
	u.Path = c.base.Path + pathOrLink
	u.RawQuery = rawQuery
	return &u, nil
}

// entityPath is "set(id)" after checking both, so ids from chat payloads can
// never reshape the URL.
func entityPath(set, id string) (string, error) {
	if err := checkSet(set); err != nil {
		return "", err
	}
	if !IsGUID(id) {
		return "", fmt.Errorf("crm: %q is not a record id (GUID)", id)
	}
	return set + "(" + strings.ToLower(id) + ")", nil
}

func checkSet(set string) error {
	if set == "" {
		return errors.New("crm: empty entity set name")
	}
	for _, r := range set {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return fmt.Errorf("crm: %q is not an entity set name", set)
		}
	}
	return nil
}

// IsGUID reports whether s is a GUID in 8-4-4-4-12 hex form.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// idAttribute is the key attribute of the records of an entity set, from the catalogue.
func (c *Client) idAttribute(set string) string {
	if rt, ok := c.catalog.ByEntitySet(set); ok {
		return rt.ID
	}
	return ""
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
