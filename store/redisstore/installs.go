package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/crmbot/crmbot/store"
)

var _ store.InstallStore = (*Store)(nil)

// install: a hash per Slack installation, by store.Installation.Key() ("T:<team>"
// or "E:<enterprise>", escaped). A single key, so no hash tag is needed.
func (k keyspace) install(key string) string { return k.prefix + "install:" + esc(key) }

// teamEnterprise: a string per Slack team, the id of the Enterprise Grid
// org it was seen in (see store.InstallStore.RememberTeamEnterprise).
func (k keyspace) teamEnterprise(teamID string) string { return k.prefix + "team_ent:" + esc(teamID) }

// Fields of an installation hash; iTok and iRefresh hold ciphertexts.
const (
	iTeam, iTeamName, iEnt, iEntName, iEntInstall = "team", "team_name", "ent", "ent_name", "ent_install"
	iBotUser, iBotID, iAppID, iScope, iBy, iAt    = "bot_user", "bot_id", "app_id", "scope", "by", "at"
	iTok, iRefresh, iExp                          = "tok", "rt", "exp"
)

// PutInstallation implements store.InstallStore: DEL and HSET in one
// MULTI, so no field of an earlier install survives.
func (s *Store) PutInstallation(ctx context.Context, in store.Installation) error {
	sealed, err := s.keys.SealInstallation(in, time.Now())
	if err != nil {
		return err
	}
	ent := "0"
	if sealed.IsEnterpriseInstall {
		ent = "1"
	}
	key := s.ks.install(in.Key())
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		p.HSet(ctx, key,
			iTeam, sealed.TeamID, iTeamName, sealed.TeamName, iEnt, sealed.EnterpriseID, iEntName, sealed.EnterpriseName,
			iEntInstall, ent, iBotUser, sealed.BotUserID, iBotID, sealed.BotID, iAppID, sealed.AppID,
			iScope, sealed.Scope, iBy, sealed.InstalledBy, iAt, unixMilli(sealed.InstalledAt),
			iTok, sealed.Token, iRefresh, sealed.Refresh, iExp, unixMilli(sealed.BotTokenExpiresAt))
		return nil
	})
	return wrapErr("put installation "+in.Key(), err)
}

// Installation implements store.InstallStore: the team's hash, then the
// enterprise's.
func (s *Store) Installation(ctx context.Context, teamID, enterpriseID string) (store.Installation, error) {
	for _, key := range store.InstallLookupKeys(teamID, enterpriseID) {
		h, err := s.rdb.HGetAll(ctx, s.ks.install(key)).Result()
		if err != nil {
			return store.Installation{}, wrapErr("installation "+key, err)
		}
		if len(h) == 0 {
			continue
		}
		sealed := store.SealedInstallation{
			Installation: store.Installation{
				TeamID: h[iTeam], TeamName: h[iTeamName], EnterpriseID: h[iEnt], EnterpriseName: h[iEntName],
				IsEnterpriseInstall: h[iEntInstall] == "1", BotUserID: h[iBotUser], BotID: h[iBotID], AppID: h[iAppID],
				Scope: h[iScope], InstalledBy: h[iBy], InstalledAt: millis(h[iAt]), BotTokenExpiresAt: millis(h[iExp]),
			},
			Token: h[iTok], Refresh: h[iRefresh],
		}
		return s.keys.OpenInstallation(sealed)
	}
	return store.Installation{}, fmt.Errorf("installation of team %q enterprise %q: %w", teamID, enterpriseID, store.ErrNotFound)
}

// DeleteInstallation implements store.InstallStore.
func (s *Store) DeleteInstallation(ctx context.Context, teamID, enterpriseID string) error {
	key := store.InstallDeleteKey(teamID, enterpriseID)
	if key == "" {
		return fmt.Errorf("delete installation: %w: no team or enterprise id", store.ErrInvalid)
	}
	return wrapErr("delete installation "+key, s.rdb.Del(ctx, s.ks.install(key)).Err())
}

// RememberTeamEnterprise implements store.InstallStore: one SET, no
// expiry (a workspace seldom moves between orgs; when it does, the next
// request from it overwrites the value).
func (s *Store) RememberTeamEnterprise(ctx context.Context, teamID, enterpriseID string) error {
	if teamID == "" || enterpriseID == "" {
		return fmt.Errorf("remember team enterprise: %w: team %q enterprise %q", store.ErrInvalid, teamID, enterpriseID)
	}
	return wrapErr("remember enterprise of team "+teamID, s.rdb.Set(ctx, s.ks.teamEnterprise(teamID), enterpriseID, 0).Err())
}

// TeamEnterprise implements store.InstallStore.
func (s *Store) TeamEnterprise(ctx context.Context, teamID string) (string, error) {
	if teamID == "" {
		return "", fmt.Errorf("enterprise of team %q: %w", teamID, store.ErrNotFound)
	}
	e, err := s.rdb.Get(ctx, s.ks.teamEnterprise(teamID)).Result()
	if err != nil {
		return "", wrapErr("enterprise of team "+teamID, err) // redis.Nil: ErrNotFound
	}
	return e, nil
}
