package teams_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/crmbot/crmbot/bot/teams"
)

// FuzzAuthenticate feeds anonymous garbage to Authenticate: it must never
// panic, must answer ErrUnauthorized to anything it refuses, must not echo
// the header back, and must never accept a token for another serviceUrl.
func FuzzAuthenticate(f *testing.F) {
	now := authStart
	clock := &authClock{now: now}
	bf := newFakeBotFramework(f, teamsSigningKey())
	auth := bf.authenticator(clock)
	key := authKeys()[0]
	signF := func(method jwt.SigningMethod, kid string, k any, c jwt.MapClaims) string {
		return signToken(f, method, kid, k, c)
	}
	good := signF(jwt.SigningMethodRS256, "teams-key", key, botFrameworkClaims(now))
	for _, seed := range []struct{ authorization, channel, serviceURL string }{
		{"Bearer " + good, "msteams", authServiceURL},
		{"Bearer " + good, "webchat", "https://SMBA.trafficmanager.net/amer"},
		{"bearer " + good, "", authServiceURL},
		{"Bearer " + signF(jwt.SigningMethodNone, "teams-key", jwt.UnsafeAllowNoneSignatureType, botFrameworkClaims(now)), "msteams", authServiceURL},
		{"Bearer " + signF(jwt.SigningMethodRS256, "other-kid", key, botFrameworkClaims(now)), "msteams", authServiceURL},
		{"Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6IngifQ.e30.AAAA", "msteams", authServiceURL},
		{"Bearer a.b.c", "msteams", authServiceURL},
		{"Basic dXNlcjpwYXNz", "msteams", authServiceURL},
		{"", "msteams", ""},
		{"Bearer \x00\xff.\n.", "\x00", "/"},
	} {
		f.Add(seed.authorization, seed.channel, seed.serviceURL)
	}
	f.Fuzz(func(t *testing.T, authorization, channelID, serviceURL string) {
		claims, err := auth.Authenticate(t.Context(), authorization, channelID, serviceURL)
		if err != nil {
			if !errors.Is(err, teams.ErrUnauthorized) {
				t.Fatalf("err = %v, want ErrUnauthorized", err)
			}
			if len(authorization) >= 16 && strings.Contains(err.Error(), authorization) {
				t.Fatalf("error echoes the Authorization header: %v", err)
			}
			return
		}
		// Only a correctly signed token can pass, and only for its own
		// serviceUrl and an endorsed channel.
		if teams.NormalizeServiceURL(serviceURL) != teams.NormalizeServiceURL(authServiceURL) ||
			teams.NormalizeServiceURL(claims.ServiceURL) != teams.NormalizeServiceURL(authServiceURL) {
			t.Fatalf("accepted for serviceUrl %q (claims %+v)", serviceURL, claims)
		}
		if channelID != "msteams" && channelID != "webchat" {
			t.Fatalf("accepted for channel %q", channelID)
		}
	})
}
