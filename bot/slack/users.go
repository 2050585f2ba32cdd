package slack

import (
	"context"
	gosync "sync"
	"time"

	goslack "github.com/slack-go/slack"
)

// profile is what the core needs to know of a Slack user that Slack's
// payloads do not carry: their language and their email (the identity
// check when linking).
type profile struct {
	Locale string
	Email  string
}

// userCache remembers users.info answers for a while, so a click costs no
// extra call. Bounded: when full, the oldest half is dropped.
type userCache struct {
	mu   gosync.Mutex
	now  func() time.Time
	ttl  time.Duration
	max  int
	byID map[string]cachedProfile
}

type cachedProfile struct {
	profile
	expires time.Time
}

func newUserCache(now func() time.Time, ttl time.Duration, max int) *userCache {
	return &userCache{now: now, ttl: ttl, max: max, byID: map[string]cachedProfile{}}
}

func (c *userCache) get(key string) (profile, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.byID[key]
	if !ok || c.now().After(p.expires) {
		return profile{}, false
	}
	return p.profile, true
}

func (c *userCache) put(key string, p profile) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.byID) >= c.max {
		cut := c.now().Add(c.ttl / 2)
		for k, v := range c.byID {
			if v.expires.Before(cut) {
				delete(c.byID, k)
			}
		}
		if len(c.byID) >= c.max {
			clear(c.byID)
		}
	}
	c.byID[key] = cachedProfile{profile: p, expires: c.now().Add(c.ttl)}
}

// profileBudget bounds users.info on the paths that must still open a
// modal within Slack's three seconds.
const profileBudget = 1200 * time.Millisecond

// profile returns a user's locale and email, from the cache or users.info
// (within profileBudget). On failure it returns what it has (nothing): the
// user then gets English, and linking falls back to the one-time code.
func (a *Adapter) profile(ctx context.Context, api *client, teamID, userID string) profile {
	key := teamID + "/" + userID
	if p, ok := a.users.get(key); ok {
		return p
	}
	ctx, cancel := context.WithTimeout(ctx, profileBudget)
	defer cancel()
	u, err := api.GetUserInfoContext(ctx, userID, goslack.GetUserInfoOptionIncludeLocale(true))
	if err != nil {
		a.Logger.WarnContext(ctx, "slack: users.info failed", "team", teamID, "user", userID, "error", err)
		return profile{}
	}
	p := profile{Locale: u.Locale, Email: u.Profile.Email}
	a.users.put(key, p)
	return p
}
