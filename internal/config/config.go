// Package config reads crmbot's configuration from the environment. Variable
// names are fixed (DESIGN.md); every error names the variable at fault.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Config is the process configuration.
type Config struct {
	Addr      string // CRMBOT_ADDR
	PublicURL string // CRMBOT_PUBLIC_URL, without trailing slash
	LogLevel  string // CRMBOT_LOG_LEVEL
	Catalog   string // CRMBOT_CATALOG: path of a catalogue override file
	// SandboxPublic opens the embedded sandbox to non-loopback clients (CRMBOT_SANDBOX_PUBLIC).
	SandboxPublic bool

	RedisURL      string   // REDIS_URL
	EncryptionKey []string // CRMBOT_ENCRYPTION_KEY (comma-separated list for rotation)

	Dataverse Dataverse

	SyncInterval time.Duration // CRMBOT_SYNC_INTERVAL
}

// Dataverse is the Dynamics org and its Entra app registration.
type Dataverse struct {
	URL          string // DATAVERSE_URL; empty → the embedded sandbox
	TenantID     string // DATAVERSE_TENANT_ID
	ClientID     string // DATAVERSE_CLIENT_ID
	ClientSecret string // DATAVERSE_CLIENT_SECRET
	AuthorityURL string // DATAVERSE_AUTHORITY_URL
}

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
		Addr:      get("CRMBOT_ADDR", ":3978"),
		PublicURL: strings.TrimRight(get("CRMBOT_PUBLIC_URL", "http://localhost:3978"), "/"),
		LogLevel:  get("CRMBOT_LOG_LEVEL", "info"),
		Catalog:   get("CRMBOT_CATALOG", ""),
		RedisURL:  get("REDIS_URL", ""),
		Dataverse: Dataverse{
			URL:          strings.TrimRight(get("DATAVERSE_URL", ""), "/"),
			TenantID:     get("DATAVERSE_TENANT_ID", ""),
			ClientID:     get("DATAVERSE_CLIENT_ID", ""),
			ClientSecret: get("DATAVERSE_CLIENT_SECRET", ""),
			AuthorityURL: strings.TrimRight(get("DATAVERSE_AUTHORITY_URL", "https://login.microsoftonline.com"), "/"),
		},
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
	if c.RedisURL != "" && len(c.EncryptionKey) == 0 {
		errs = append(errs, errors.New("CRMBOT_ENCRYPTION_KEY is required with REDIS_URL (tokens are encrypted at rest)"))
	}
	return c, errors.Join(errs...)
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

func isLoopback(host string) bool {
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}
