package slack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/store"
	goslack "github.com/slack-go/slack"
)

// The pacer spaces posts to one channel by its gap, lets other channels
// through, and holds a channel after a 429.
func TestPacerSpacesPostsPerChannel(t *testing.T) {
	p := newPacer(time.Now, 100*time.Millisecond)
	ctx := context.Background()
	start := time.Now()
	for range 3 {
		if err := p.wait(ctx, "D1"); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 200*time.Millisecond {
		t.Fatalf("3 posts to one channel in %s, want ≥ 200 ms (100 ms apart)", el)
	}
	other := time.Now()
	if err := p.wait(ctx, "D2"); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(other); el > 50*time.Millisecond {
		t.Fatalf("another channel waited %s", el)
	}
	p.hold("D2", 300*time.Millisecond)
	held := time.Now()
	if err := p.wait(ctx, "D2"); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(held); el < 250*time.Millisecond {
		t.Fatalf("a held channel posted after %s, want ≥ 300 ms", el)
	}
	cctx, cancel := context.WithCancel(ctx)
	p.hold("D3", time.Hour)
	cancel()
	if err := p.wait(cctx, "D3"); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled wait returned %v", err)
	}
}

func TestRetryDelay(t *testing.T) {
	for _, c := range []struct {
		err   error
		wait  time.Duration
		retry bool
	}{
		{&goslack.RateLimitedError{RetryAfter: 3 * time.Second}, 3 * time.Second, true},
		{&goslack.RateLimitedError{}, time.Second, true},
		{goslack.StatusCodeError{Code: http.StatusTooManyRequests}, 4 * time.Second, true}, // attempt 2: 1 s << 2
		{goslack.StatusCodeError{Code: http.StatusBadGateway}, 4 * time.Second, true},
		{goslack.StatusCodeError{Code: http.StatusForbidden}, 0, false},
		{errors.New("channel_not_found"), 0, false},
		{nil, 0, false},
	} {
		wait, retry := retryDelay(c.err, 2)
		if wait != c.wait || retry != c.retry {
			t.Errorf("retryDelay(%v) = %s, %v; want %s, %v", c.err, wait, retry, c.wait, c.retry)
		}
	}
}

type uninstalls struct {
	mu    sync.Mutex
	teams []string
}

func (u *uninstalls) Uninstalled(_ context.Context, team, enterprise string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.teams = append(u.teams, team+"/"+enterprise)
	return nil
}

// app_uninstalled and tokens_revoked (bot tokens) forget the workspace;
// a revocation of user tokens only does not.
func TestUninstallEvents(t *testing.T) {
	rec := &uninstalls{}
	a := &Adapter{Core: countingCore{}, Tokens: StaticToken("xoxb-1"), SigningSecret: "s", Uninstall: rec,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := a.Init(true); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, body := range []string{
		`{"type":"event_callback","team_id":"T1","enterprise_id":"E1","event_id":"Ev1","event":{"type":"app_uninstalled"}}`,
		`{"type":"event_callback","team_id":"T2","event_id":"Ev2","event":{"type":"tokens_revoked","tokens":{"oauth":["U1"]}}}`,
		`{"type":"event_callback","team_id":"T3","event_id":"Ev3","event":{"type":"tokens_revoked","tokens":{"bot":["UBOT"]}}}`,
		`{"type":"event_callback","team_id":"T4","enterprise_id":"E4","event_id":"Ev4","event":{"type":"app_uninstalled"},"authorizations":[{"enterprise_id":"E4","team_id":null,"is_enterprise_install":true}]}`,
	} {
		if _, err := a.event(ctx, []byte(body)); err != nil {
			t.Fatalf("%s: %v", body, err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := a.Wait(wctx); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	slices.Sort(rec.teams)
	if want := []string{"/E4", "T1/E1", "T3/"}; !slices.Equal(rec.teams, want) {
		t.Fatalf("uninstalled %v, want %v", rec.teams, want)
	}
}

func TestUnreachableErrors(t *testing.T) {
	for code, want := range map[string]bool{"account_inactive": true, "cannot_dm_bot": true, "invalid_auth": true,
		"ratelimited": false, "internal_error": false, "channel_not_found": false} {
		err := unreachable(goslack.SlackErrorResponse{Err: code})
		if got := errors.Is(err, bot.ErrUnreachable); got != want {
			t.Errorf("%s: unreachable = %v, want %v", code, got, want)
		}
	}
	if !errors.Is(unreachable(fmt.Errorf("slack bot token: %w", store.ErrNotFound)), bot.ErrUnreachable) {
		t.Error("a workspace with no installation is not unreachable")
	}
	if unreachable(nil) != nil {
		t.Error("nil became an error")
	}
}
