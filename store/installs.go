package store

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Installation is a Slack workspace (or Enterprise Grid org) that installed
// the app through OAuth v2 (/slack/install). BotToken and BotRefreshToken
// are plaintext in memory only: stores seal them, and String, GoString and
// LogValue redact them.
type Installation struct {
	TeamID              string // empty for an org-wide (enterprise) install
	TeamName            string
	EnterpriseID        string // empty outside Enterprise Grid
	EnterpriseName      string
	IsEnterpriseInstall bool // installed for the whole Grid org: keyed by EnterpriseID
	BotUserID           string
	BotID               string
	AppID               string
	Scope               string // granted bot scopes, comma-separated as Slack sends them
	InstalledBy         string // Slack user id of the installer
	InstalledAt         time.Time
	BotToken            string    // xoxb-…
	BotRefreshToken     string    // with token rotation only; else empty
	BotTokenExpiresAt   time.Time // with token rotation only; else zero
}

// String redacts the tokens.
func (in Installation) String() string {
	return fmt.Sprintf("Installation{%s, team %q, enterprise %q, bot %s, expires %s, tokens redacted}",
		in.Key(), in.TeamID, in.EnterpriseID, in.BotUserID, in.BotTokenExpiresAt.Format(time.RFC3339))
}

// GoString redacts the tokens under %#v too.
func (in Installation) GoString() string { return in.String() }

// LogValue redacts the tokens in slog.
func (in Installation) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("team_id", in.TeamID), slog.String("enterprise_id", in.EnterpriseID),
		slog.Bool("enterprise_install", in.IsEnterpriseInstall), slog.String("bot_user_id", in.BotUserID),
		slog.String("app_id", in.AppID), slog.Time("bot_token_expires_at", in.BotTokenExpiresAt),
	)
}

// Key is what the installation is stored under: "E:<enterprise id>" for an
// org-wide install, else "T:<team id>".
func (in Installation) Key() string {
	if in.IsEnterpriseInstall {
		return InstallKeyEnterprise(in.EnterpriseID)
	}
	return InstallKeyTeam(in.TeamID)
}

// InstallKeyTeam is the key of a workspace install.
func InstallKeyTeam(teamID string) string { return "T:" + teamID }

// InstallKeyEnterprise is the key of an org-wide Enterprise Grid install.
func InstallKeyEnterprise(enterpriseID string) string { return "E:" + enterpriseID }

// Validate reports an ErrInvalid error for an installation that cannot be
// stored: no key, or no bot token.
func (in Installation) Validate() error {
	switch {
	case in.IsEnterpriseInstall && in.EnterpriseID == "":
		return fmt.Errorf("%w: enterprise install without an enterprise id", ErrInvalid)
	case !in.IsEnterpriseInstall && in.TeamID == "":
		return fmt.Errorf("%w: installation without a team id", ErrInvalid)
	case in.BotToken == "":
		return fmt.Errorf("%w: installation of %s without a bot token", ErrInvalid, in.Key())
	}
	return nil
}

// InstallStore keeps the Slack installations of a multi-workspace app, with
// their bot tokens encrypted. Consumers: the Slack installer (OAuth
// callback, token refresh, uninstall) and the adapter (which token to use).
type InstallStore interface {
	// PutInstallation stores (or replaces) in, keyed by EnterpriseID when
	// IsEnterpriseInstall, else by TeamID. A zero InstalledAt means now.
	PutInstallation(ctx context.Context, in Installation) error
	// Installation finds the installation serving a team: the team's own
	// install first, then its enterprise's org-wide install. ErrNotFound when
	// neither exists. A token that no key opens gives ErrUnknownKeyID or
	// ErrUndecryptable.
	Installation(ctx context.Context, teamID, enterpriseID string) (Installation, error)
	// DeleteInstallation forgets an installation (app_uninstalled,
	// tokens_revoked): the team's install when teamID is set, else the
	// enterprise's org-wide install. Deleting a missing one is not an error.
	DeleteInstallation(ctx context.Context, teamID, enterpriseID string) error
	// RememberTeamEnterprise records that a workspace belongs to an
	// Enterprise Grid org (inbound requests carry both ids). A proactive
	// send knows only the team (store.ChatUser.Tenant); TeamEnterprise then
	// names the org whose org-wide install serves it. Writing the same pair
	// again is harmless; a team seen in another org later is moved there.
	// ErrInvalid when either id is empty.
	//
	// The mapping is a fact about the workspace, not a credential:
	// DeleteInstallation leaves it, and a lookup through a mapping whose
	// org install is gone finds nothing (ErrNotFound), as it should.
	RememberTeamEnterprise(ctx context.Context, teamID, enterpriseID string) error
	// TeamEnterprise returns the enterprise a team was remembered in;
	// ErrNotFound when it never was.
	TeamEnterprise(ctx context.Context, teamID string) (string, error)
}

// Installation token fields: part of the associated data, so never rename.
const (
	FieldBotToken        = "bot_token"
	FieldBotRefreshToken = "bot_refresh_token"
)

// InstallAAD binds a sealed installation token to its key (team or
// enterprise) and field, so a ciphertext copied onto another installation or
// field fails to open.
func InstallAAD(key, field string) []byte { return AAD("slack_install", key, field) }

// SealedInstallation is an Installation as stores keep it: the tokens are
// ciphertexts (Refresh empty when there is none), the rest plain.
type SealedInstallation struct {
	Installation        // BotToken and BotRefreshToken cleared
	Token        string // sealed bot token
	Refresh      string // sealed refresh token, "" when none
}

// SealInstallation validates in, fills a zero InstalledAt with now, and
// seals its tokens for its key: the part of PutInstallation every store
// shares.
func (k *Keyring) SealInstallation(in Installation, now time.Time) (SealedInstallation, error) {
	if err := in.Validate(); err != nil {
		return SealedInstallation{}, fmt.Errorf("put installation: %w", err)
	}
	if in.InstalledAt.IsZero() {
		in.InstalledAt = now
	}
	key := in.Key()
	s := SealedInstallation{Installation: in}
	s.BotToken, s.BotRefreshToken = "", ""
	var err error
	if s.Token, err = k.Seal([]byte(in.BotToken), InstallAAD(key, FieldBotToken)); err != nil {
		return SealedInstallation{}, fmt.Errorf("seal bot token of %s: %w", key, err)
	}
	if in.BotRefreshToken != "" {
		if s.Refresh, err = k.Seal([]byte(in.BotRefreshToken), InstallAAD(key, FieldBotRefreshToken)); err != nil {
			return SealedInstallation{}, fmt.Errorf("seal bot refresh token of %s: %w", key, err)
		}
	}
	return s, nil
}

// OpenInstallation decrypts s's tokens; errors match ErrUnknownKeyID or
// ErrUndecryptable.
func (k *Keyring) OpenInstallation(s SealedInstallation) (Installation, error) {
	in := s.Installation
	key := in.Key()
	tok, err := k.Open(s.Token, InstallAAD(key, FieldBotToken))
	if err != nil {
		return Installation{}, fmt.Errorf("open bot token of %s: %w", key, err)
	}
	in.BotToken = string(tok)
	in.BotRefreshToken = ""
	if s.Refresh != "" {
		rt, err := k.Open(s.Refresh, InstallAAD(key, FieldBotRefreshToken))
		if err != nil {
			return Installation{}, fmt.Errorf("open bot refresh token of %s: %w", key, err)
		}
		in.BotRefreshToken = string(rt)
	}
	return in, nil
}

// InstallLookupKeys lists the keys Installation tries, in order: the team's
// install, then the enterprise's org-wide install.
func InstallLookupKeys(teamID, enterpriseID string) []string {
	var keys []string
	if teamID != "" {
		keys = append(keys, InstallKeyTeam(teamID))
	}
	if enterpriseID != "" {
		keys = append(keys, InstallKeyEnterprise(enterpriseID))
	}
	return keys
}

// InstallDeleteKey is the key DeleteInstallation removes: the team's install
// when teamID is set, else the enterprise's org-wide install; "" when both
// are empty.
func InstallDeleteKey(teamID, enterpriseID string) string {
	switch {
	case teamID != "":
		return InstallKeyTeam(teamID)
	case enterpriseID != "":
		return InstallKeyEnterprise(enterpriseID)
	}
	return ""
}
