package bot_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/crm"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/embedded"
	"github.com/crmbot/crmbot/store/redisstore"
	"github.com/crmbot/crmbot/store/redisstore/redistest"
)

// The per-user token source against the real sandbox over HTTP and both
// stores. Every scenario links a demo user through the sandbox's
// authorization-code + PKCE flow, so the refresh tokens are real ones.

var chloe = store.ChatUser{Platform: store.PlatformSlack, Tenant: "T0DEMO", UserID: "U0CHLOE"}

// authority is the sandbox behind a counter of token-endpoint calls.
type authority struct {
	sb     *sandbox.Sandbox
	srv    *httptest.Server
	tokens atomic.Int64
	codes  []string // authorization codes issued, for the canary check
}

func newAuthority(t *testing.T, logger *slog.Logger) *authority {
	t.Helper()
	a := &authority{}
	a.sb = sandbox.New(sandbox.Options{Logger: logger, RecordsPerType: -1})
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
			a.tokens.Add(1)
		}
		a.sb.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		a.srv.Close()
		a.sb.Close()
	})
	return a
}

func (a *authority) app() crm.AppCredentials {
	o := a.sb.Options()
	return crm.AppCredentials{AuthorityURL: a.srv.URL, TenantID: o.TenantID, ClientID: o.ClientID, ClientSecret: o.ClientSecret, OrgURL: a.srv.URL}
}

// signIn runs authorize (login_hint) → code → token exchange for a demo user.
func (a *authority) signIn(t *testing.T, email string) *oauth2.Token {
	t.Helper()
	app, o := a.app(), a.sb.Options()
	cfg := &oauth2.Config{
		ClientID: app.ClientID, ClientSecret: app.ClientSecret, RedirectURL: o.RedirectURIs[0],
		Scopes: crm.DelegatedScopes(app.OrgURL), Endpoint: crm.Endpoint(app.AuthorityURL, app.TenantID),
	}
	verifier := oauth2.GenerateVerifier()
	browser := *a.srv.Client()
	browser.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := browser.Get(cfg.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("login_hint", email)))
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	code := ""
	if err == nil {
		code = loc.Query().Get("code")
	}
	if code == "" {
		t.Fatalf("authorize %s: status %d, no code", email, resp.StatusCode)
	}
	a.codes = append(a.codes, code)
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, a.srv.Client())
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	return tok
}

func demoUser(t *testing.T, email string) sandbox.User {
	t.Helper()
	for _, u := range sandbox.DemoUsers() {
		if u.Email == email {
			return u
		}
	}
	t.Fatalf("no demo user %s", email)
	return sandbox.User{}
}

// link signs the user in and stores the link with its tokens.
func (a *authority) link(t *testing.T, s store.LinkStore, u store.ChatUser, email string) *oauth2.Token {
	t.Helper()
	tok := a.signIn(t, email)
	du := demoUser(t, email)
	_, err := s.PutLink(ctxT(t), store.Link{
		ChatUser: u, SystemUserID: du.ID, EntraTenantID: a.sb.Options().TenantID, EntraObjectID: du.ObjectID,
		UPN: du.Email, Email: du.Email, DisplayName: du.FullName(),
	}, store.Tokens{RefreshToken: tok.RefreshToken, AccessToken: tok.AccessToken, AccessExpiry: tok.Expiry})
	if err != nil {
		t.Fatalf("PutLink: %v", err)
	}
	return tok
}

// clock is the token sources' clock; tests move it past token expiry.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

// backend opens stores over one shared state: each call to replica is a new
// client (a new replica, or the same one after a restart), optionally with
// other keys.
type backend struct {
	name    string
	replica func(t *testing.T, keys *store.Keyring) bot.TokenStore
}

func backends(t *testing.T) []backend {
	t.Helper()
	return []backend{
		{name: "embedded", replica: func() func(*testing.T, *store.Keyring) bot.TokenStore {
			var shared *embedded.Store
			return func(t *testing.T, keys *store.Keyring) bot.TokenStore {
				if shared == nil {
					s, err := embedded.New(embedded.Options{Keys: keys})
					if err != nil {
						t.Fatal(err)
					}
					shared = s
				}
				return shared.WithKeyring(keys)
			}
		}()},
		{name: "redis", replica: func() func(*testing.T, *store.Keyring) bot.TokenStore {
			prefix := ""
			return func(t *testing.T, keys *store.Keyring) bot.TokenStore {
				rdb := redistest.Client(t) // a client per replica
				if prefix == "" {
					prefix = redistest.Prefix(t, rdb)
				}
				s, err := redisstore.New(rdb, redisstore.Options{Prefix: prefix, Keys: keys})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
		}()},
	}
}

// eachBackend runs f once per store, each run with fresh state.
func eachBackend(t *testing.T, f func(t *testing.T, replica func(*store.Keyring) bot.TokenStore)) {
	for _, name := range []string{"embedded", "redis"} {
		t.Run(name, func(t *testing.T) {
			for _, b := range backends(t) {
				if b.name == name {
					f(t, func(k *store.Keyring) bot.TokenStore { return b.replica(t, k) })
				}
			}
		})
	}
}

func keys(t *testing.T) *store.Keyring {
	t.Helper()
	k, err := store.RandomKeyring()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newTokens(a *authority, s bot.TokenStore, c *clock, logger *slog.Logger) *bot.UserTokens {
	return &bot.UserTokens{Store: s, App: a.app(), HTTPClient: a.srv.Client(), Now: c.Now, Logger: logger}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

const chloeEmail = "chloe.dubois@demo.crmbot.dev"

func TestUserTokens(t *testing.T) {
	t.Run("cached token served without calling the authority", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, replica func(*store.Keyring) bot.TokenStore) {
			a, k, c := newAuthority(t, quiet()), keys(t), &clock{}
			s := replica(k)
			linked := a.link(t, s, chloe, chloeEmail)
			before := a.tokens.Load()
			tok, err := newTokens(a, s, c, quiet()).Token(ctxT(t), chloe)
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != linked.AccessToken || a.tokens.Load() != before {
				t.Fatalf("cached token not served (token calls %d → %d)", before, a.tokens.Load())
			}
		})
	})

	t.Run("rotated refresh token persisted before Token returns", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, replica func(*store.Keyring) bot.TokenStore) {
			a, k, c := newAuthority(t, quiet()), keys(t), &clock{}
			s := replica(k)
			linked := a.link(t, s, chloe, chloeEmail)
			old, err := s.Tokens(ctxT(t), chloe)
			if err != nil {
				t.Fatal(err)
			}
			c.Advance(2 * time.Hour)
			tok, err := newTokens(a, s, c, quiet()).Token(ctxT(t), chloe)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Tokens(ctxT(t), chloe)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case got.RefreshToken == linked.RefreshToken:
				t.Fatal("the old refresh token is still the stored one")
			case got.AccessToken != tok.AccessToken || tok.AccessToken == linked.AccessToken:
				t.Fatal("the access token returned is not the new stored one")
			case got.Version <= old.Version:
				t.Fatalf("version %d → %d, want it to grow", old.Version, got.Version)
			case !got.AccessExpiry.After(c.Now().Add(50 * time.Minute)):
				t.Fatalf("access expiry %s not about an hour after the (fake) now", got.AccessExpiry)
			}
		})
	})

	t.Run("nothing returned when the new tokens cannot be stored", func(t *testing.T) {
		a, c := newAuthority(t, quiet()), &clock{}
		s, err := embedded.New(embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		a.link(t, s, chloe, chloeEmail)
		c.Advance(2 * time.Hour)
		failing := &swapFails{TokenStore: s}
		tok, err := newTokens(a, failing, c, quiet()).Token(ctxT(t), chloe)
		if err == nil || tok != nil || !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("Token = %v, %v; want no token and the store's error", tok, err)
		}
	})

	t.Run("concurrent refreshes on two replicas make one token call", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, replica func(*store.Keyring) bot.TokenStore) {
			a, k, c := newAuthority(t, quiet()), keys(t), &clock{}
			first := replica(k)
			a.link(t, first, chloe, chloeEmail)
			replicas := []*bot.UserTokens{newTokens(a, first, c, quiet()), newTokens(a, replica(k), c, quiet())}
			c.Advance(2 * time.Hour)
			before := a.tokens.Load()
			const perReplica = 8
			got := make(chan string, 2*perReplica)
			var wg sync.WaitGroup
			for _, ut := range replicas {
				for range perReplica {
					wg.Go(func() {
						tok, err := ut.Token(ctxT(t), chloe)
						if err != nil {
							t.Errorf("Token: %v", err)
							return
						}
						got <- tok.AccessToken
					})
				}
			}
			wg.Wait()
			close(got)
			if n := a.tokens.Load() - before; n != 1 {
				t.Fatalf("%d token endpoint calls, want 1", n)
			}
			seen := map[string]bool{}
			for at := range got {
				seen[at] = true
			}
			if len(seen) != 1 {
				t.Fatalf("callers got %d different access tokens, want 1", len(seen))
			}
		})
	})

	t.Run("a restart keeps working with the persisted tokens", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, replica func(*store.Keyring) bot.TokenStore) {
			a, k, c := newAuthority(t, quiet()), keys(t), &clock{}
			s := replica(k)
			a.link(t, s, chloe, chloeEmail)
			c.Advance(2 * time.Hour)
			before, err := newTokens(a, s, c, quiet()).Token(ctxT(t), chloe)
			if err != nil {
				t.Fatal(err)
			}
			restarted := newTokens(a, replica(k), c, quiet()) // new process: new client, new source
			calls := a.tokens.Load()
			tok, err := restarted.Token(ctxT(t), chloe)
			if err != nil || tok.AccessToken != before.AccessToken || a.tokens.Load() != calls {
				t.Fatalf("after restart: %v (token calls %d → %d); want the persisted token", err, calls, a.tokens.Load())
			}
			c.Advance(2 * time.Hour) // and its persisted refresh token still refreshes
			if _, err := restarted.Token(ctxT(t), chloe); err != nil {
				t.Fatalf("refresh after restart: %v", err)
			}
			whoAmI(t, a, restarted, chloe, chloeEmail)
		})
	})

	t.Run("invalid_grant breaks the link and says so once", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, replica func(*store.Keyring) bot.TokenStore) {
			a, k, c := newAuthority(t, quiet()), keys(t), &clock{}
			s := replica(k)
			a.link(t, s, chloe, chloeEmail)
			replicas := []*bot.UserTokens{newTokens(a, s, c, quiet()), newTokens(a, replica(k), c, quiet())}
			a.sb.RevokeRefreshTokens(chloeEmail)
			c.Advance(2 * time.Hour)
			before := a.tokens.Load()
			var firsts atomic.Int32
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					_, err := replicas[i%2].Token(ctxT(t), chloe)
					var lb *bot.LinkBrokenError
					if !errors.As(err, &lb) || !errors.Is(err, store.ErrBrokenLink) {
						t.Errorf("Token: %v, want a LinkBrokenError", err)
						return
					}
					if lb.First {
						firsts.Add(1)
					}
				})
			}
			wg.Wait()
			if n := firsts.Load(); n != 1 {
				t.Fatalf("%d callers told First, want exactly 1", n)
			}
			if n := a.tokens.Load() - before; n != 1 {
				t.Fatalf("%d token calls, want 1", n)
			}
			l, err := s.GetLink(ctxT(t), chloe)
			if err != nil || !l.Broken {
				t.Fatalf("link after invalid_grant: %+v, %v; want broken", l, err)
			}
			_, err = replicas[0].Token(ctxT(t), chloe)
			var lb *bot.LinkBrokenError
			if !errors.As(err, &lb) || lb.First {
				t.Fatalf("second Token: %v, want LinkBrokenError with First=false", err)
			}
			if n := a.tokens.Load() - before; n != 1 {
				t.Fatalf("the token endpoint was called again once broken (%d calls)", n)
			}
		})
	})

	t.Run("undecryptable tokens break the link once", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, replica func(*store.Keyring) bot.TokenStore) {
			a, c := newAuthority(t, quiet()), &clock{}
			a.link(t, replica(keys(t)), chloe, chloeEmail)
			ut := newTokens(a, replica(keys(t)), c, quiet()) // restarted with a key that lacks the old one
			before := a.tokens.Load()
			_, err := ut.Token(ctxT(t), chloe)
			var lb *bot.LinkBrokenError
			if !errors.As(err, &lb) || !lb.First || !errors.Is(err, store.ErrUnknownKeyID) {
				t.Fatalf("Token: %v; want LinkBrokenError, First, ErrUnknownKeyID", err)
			}
			_, err = ut.Token(ctxT(t), chloe)
			if !errors.As(err, &lb) || lb.First {
				t.Fatalf("second Token: %v, want LinkBrokenError with First=false", err)
			}
			if a.tokens.Load() != before {
				t.Fatal("the token endpoint was called for an undecryptable link")
			}
		})
	})

	t.Run("not linked", func(t *testing.T) {
		a := newAuthority(t, quiet())
		s, _ := embedded.New(embedded.Options{})
		_, err := newTokens(a, s, &clock{}, quiet()).Token(ctxT(t), chloe)
		if !errors.Is(err, bot.ErrNotLinked) {
			t.Fatalf("Token: %v, want ErrNotLinked", err)
		}
	})

	t.Run("the access token works for WhoAmI", func(t *testing.T) {
		eachBackend(t, func(t *testing.T, replica func(*store.Keyring) bot.TokenStore) {
			a, k, c := newAuthority(t, quiet()), keys(t), &clock{}
			s := replica(k)
			a.link(t, s, chloe, chloeEmail)
			ut := newTokens(a, s, c, quiet())
			whoAmI(t, a, ut, chloe, chloeEmail)
			c.Advance(2 * time.Hour) // and with a refreshed one
			whoAmI(t, a, ut, chloe, chloeEmail)
		})
	})
}

func whoAmI(t *testing.T, a *authority, ut *bot.UserTokens, u store.ChatUser, email string) {
	t.Helper()
	cl, err := crm.NewClient(a.srv.URL, ut.Client(u))
	if err != nil {
		t.Fatal(err)
	}
	me, err := cl.WhoAmI(ctxT(t))
	if err != nil {
		t.Fatalf("WhoAmI: %v", err)
	}
	if want := demoUser(t, email).ID; !strings.EqualFold(me.UserID, want) {
		t.Fatalf("WhoAmI UserId %s, want %s", me.UserID, want)
	}
}

// swapFails is a store whose token writes fail, as when Redis goes away
// between the refresh and the write.
type swapFails struct{ bot.TokenStore }

func (s *swapFails) SwapTokens(context.Context, store.ChatUser, store.Tokens) (int64, error) {
	return 0, store.ErrUnavailable
}

func TestUserTokensLogNoSecrets(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, c := newAuthority(t, logger), &clock{}
	s, err := embedded.New(embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	linked := a.link(t, s, chloe, chloeEmail)
	ut := newTokens(a, s, c, logger)
	c.Advance(2 * time.Hour)
	refreshed, err := ut.Token(ctxT(t), chloe)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.Tokens(ctxT(t), chloe)
	if err != nil {
		t.Fatal(err)
	}
	whoAmI(t, a, ut, chloe, chloeEmail)
	a.sb.RevokeRefreshTokens(chloeEmail)
	c.Advance(2 * time.Hour)
	_, brokenErr := ut.Token(ctxT(t), chloe)
	if brokenErr == nil {
		t.Fatal("revoked refresh token accepted")
	}
	mu.Lock()
	logs := buf.String()
	mu.Unlock()
	if !strings.Contains(logs, "dynamics token refreshed") || !strings.Contains(logs, "dynamics link broken") {
		t.Fatalf("expected the refresh and the break in the log, got:\n%s", logs)
	}
	canaries := map[string]string{
		"first access token": linked.AccessToken, "first refresh token": linked.RefreshToken,
		"new access token": refreshed.AccessToken, "new refresh token": stored.RefreshToken,
		"client secret": a.app().ClientSecret,
	}
	for i, code := range a.codes {
		canaries["authorization code "+string(rune('0'+i))] = code
	}
	for what, v := range canaries {
		if v == "" {
			t.Fatalf("canary %s is empty", what)
		}
		if strings.Contains(logs, v) {
			t.Errorf("the log holds the %s", what)
		}
		if strings.Contains(brokenErr.Error(), v) {
			t.Errorf("the error holds the %s", what)
		}
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
