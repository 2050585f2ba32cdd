package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/internal/testkit"
)

func waitFor(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s never answered", url)
}

func startCommand(t *testing.T, args []string, env map[string]string) (*testkit.SyncBuffer, func() error) {
	t.Helper()
	logs := &testkit.SyncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, func(k string) string { return env[k] }, io.Discard, logs) }()
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			select {
			case stopErr = <-done:
			case <-time.After(30 * time.Second):
				stopErr = fmt.Errorf("did not stop")
			}
		})
		return stopErr
	}
	t.Cleanup(func() { _ = stop() })
	return logs, stop
}

func TestServeWithEmbeddedSandbox(t *testing.T) {
	addr := testkit.FreeAddr(t)
	base := "http://" + addr
	logs, stop := startCommand(t, nil, map[string]string{"CRMBOT_ADDR": addr, "CRMBOT_PUBLIC_URL": base})
	waitFor(t, base+"/livez")

	for _, path := range []string{"/livez", "/readyz", "/healthz"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s = %d", path, resp.StatusCode)
		}
	}

	t.Run("Teams in local dev mode answers /api/messages from loopback", func(t *testing.T) {
		act := `{"type":"invoke","name":"unknown/invoke","id":"1","channelId":"msteams","serviceUrl":"http://127.0.0.1:1/",
			"from":{"id":"29:u"},"conversation":{"id":"a:1","conversationType":"personal","tenantId":"t"}}`
		resp, err := http.Post(base+"/api/messages", "application/json", strings.NewReader(act))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "{}" {
			t.Fatalf("unknown invoke = %d %s, want 200 {}", resp.StatusCode, body)
		}
		if !strings.Contains(logs.String(), "LOCAL DEV MODE") {
			t.Errorf("dev mode was not logged loudly:\n%s", logs.String())
		}
	})

	t.Run("the embedded sandbox speaks Dataverse under /sandbox", func(t *testing.T) {
		req, _ := http.NewRequest("GET", base+"/sandbox/api/data/v9.2/WhoAmI", nil)
		req.Header.Set("Authorization", "Bearer "+appToken(t, base+"/sandbox", base+"/sandbox"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), sandbox.AppUserID) {
			t.Fatalf("WhoAmI = %d %s", resp.StatusCode, body)
		}
	})

	t.Run("the sandbox's sign-in page works under /sandbox", func(t *testing.T) {
		// What a person does on "link" in the demo: the user picker (no
		// login_hint), then a click on a user, which must post back under
		// the /sandbox prefix and come back to our callback.
		q := url.Values{"client_id": {sandbox.DefaultClientID}, "response_type": {"code"}, "redirect_uri": {base + "/link/callback"},
			"scope": {"openid"}, "state": {"s"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},
			"code_challenge_method": {"S256"}}
		resp, err := http.Get(base + "/sandbox/" + sandbox.DefaultTenantID + "/oauth2/v2.0/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		action := regexp.MustCompile(`<form method="post" action="([^"]*)">`).FindSubmatch(page)
		button := regexp.MustCompile(`<button type="submit" class="user" name="([^"]*)" value="([^"]*)">`).FindSubmatch(page)
		if resp.StatusCode != 200 || action == nil || button == nil {
			t.Fatalf("picker: %d, form %q, user button %q", resp.StatusCode, action, button)
		}
		if !strings.HasPrefix(string(action[1]), "/sandbox/") {
			t.Fatalf("the picker posts to %q, outside /sandbox: a click gets a 404", action[1])
		}
		form := url.Values{string(button[1]): {html.UnescapeString(string(button[2]))}}
		for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`).FindAllSubmatch(page, -1) {
			form.Set(html.UnescapeString(string(m[1])), html.UnescapeString(string(m[2])))
		}
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err = noFollow.PostForm(base+html.UnescapeString(string(action[1])), form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, base+"/link/callback?") {
			t.Fatalf("the click answered %d to %q, want a redirect to our /link/callback", resp.StatusCode, loc)
		}
	})

	t.Run("the start-up check reaches Dynamics and finds change tracking on", func(t *testing.T) {
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(logs.String(), `"msg":"dataverse reachable"`) {
			if time.Now().After(deadline) {
				t.Fatalf("no start-up check result in the logs:\n%s", logs.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
		if !strings.Contains(logs.String(), `"change_tracking_missing":0`) {
			t.Errorf("change tracking reported missing:\n%s", logs.String())
		}
	})

	t.Run("the status page answers this machine and shows the sync", func(t *testing.T) {
		var rep struct {
			SyncOn bool `json:"sync_on"`
			Types  []struct {
				RecordType string `json:"record_type"`
				Phase      string `json:"phase"`
			} `json:"types"`
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, err := http.Get(base + "/status?format=json")
			if err != nil {
				t.Fatal(err)
			}
			err = json.NewDecoder(resp.Body).Decode(&rep)
			resp.Body.Close()
			if resp.StatusCode != 200 || err != nil {
				t.Fatalf("/status?format=json = %d, %v", resp.StatusCode, err)
			}
			delta := 0
			for _, ty := range rep.Types {
				if ty.Phase == "delta" {
					delta++
				}
			}
			if rep.SyncOn && len(rep.Types) == 8 && delta == 8 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the status page never showed the 8 record types in delta: %+v", rep)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// Through a proxy it is not "this machine": refused.
		req, _ := http.NewRequest("GET", base+"/status", nil)
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("/status through a proxy = %d, want 403", resp.StatusCode)
		}
		// The handler's own log line carries the request's id, as the
		// access log does: one id finds every line of a request.
		id := resp.Header.Get("X-Request-Id")
		var handlerLine, accessLine bool
		for _, line := range strings.Split(logs.String(), "\n") {
			if !strings.Contains(line, `"request_id":"`+id+`"`) || id == "" {
				continue
			}
			handlerLine = handlerLine || strings.Contains(line, "status: refused")
			accessLine = accessLine || strings.Contains(line, `"msg":"http"`)
		}
		if !handlerLine || !accessLine {
			t.Errorf("request %q: handler line with its id %v, access line with its id %v; logs:\n%s", id, handlerLine, accessLine, logs.String())
		}
	})

	t.Run("metrics", func(t *testing.T) {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, m := range []string{"crmbot_http_requests_total", `crmbot_dataverse_requests_total{op="WhoAmI",status="200"} 1`,
			`crmbot_outbox_depth{record_type="lead"} 0`, `crmbot_dead_letters{record_type="task"} 0`, "crmbot_outbox_stats_up 1",
			"crmbot_sync_cycles_total", "crmbot_dataverse_throttled_total"} {
			if !strings.Contains(string(body), m) {
				t.Errorf("metrics lack %s", m)
			}
		}
	})

	if err := stop(); err != nil {
		t.Fatalf("serve returned %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !strings.HasPrefix(line, "{") {
			t.Errorf("non-JSON log line: %s", line)
		}
		if strings.Contains(line, "eyJ") { // the start of any JWT
			t.Errorf("a token reached the log: %s", line)
		}
	}
}

// appToken gets a client-credentials token from the sandbox at authority for resource.
func appToken(t *testing.T, authority, resource string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {sandbox.DefaultClientID},
		"client_secret": {sandbox.DefaultClientSecret}, "scope": {resource + "/.default"}}
	resp, err := http.PostForm(authority+"/common/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

func TestServeReadinessFollowsRedis(t *testing.T) {
	// A Redis that never answers: the server starts (Redis may come later) but is not ready.
	addr := testkit.FreeAddr(t)
	base := "http://" + addr
	startCommand(t, nil, map[string]string{
		"CRMBOT_ADDR": addr, "CRMBOT_PUBLIC_URL": base, "REDIS_URL": "redis://127.0.0.1:1",
		"CRMBOT_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	})
	waitFor(t, base+"/livez")
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "store") {
		t.Fatalf("readyz = %d %s, want 503 naming the store", resp.StatusCode, body)
	}
}

func TestServeRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"REDIS_URL": "redis://127.0.0.1:6379"}, "CRMBOT_ENCRYPTION_KEY"},
		// The two mistakes the issue names: a REDIS_URL that is not one, and
		// a Slack bot token in HTTP mode with nothing to verify requests.
		{map[string]string{"REDIS_URL": "127.0.0.1:6379", "CRMBOT_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}, "REDIS_URL"},
		{map[string]string{"REDIS_URL": "redis://:pw@127.0.0.1:6379/x", "CRMBOT_ENCRYPTION_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}, "REDIS_URL"},
		{map[string]string{"SLACK_BOT_TOKEN": "xoxb-1-2-abc"}, "SLACK_SIGNING_SECRET"},

		// A Teams app id without its password and tenant: the bot could
		// neither authenticate its calls nor be trusted; it must not start.
		{map[string]string{"MICROSOFT_APP_ID": "6c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f"}, "MICROSOFT_APP_PASSWORD"},
		{map[string]string{"MICROSOFT_APP_ID": "6c1e2d3f-4a5b-4c6d-8e9f-0a1b2c3d4e5f", "MICROSOFT_APP_PASSWORD": "p"}, "MICROSOFT_APP_TENANT_ID"},
	} {
		err := run(context.Background(), []string{"serve"}, func(k string) string { return tc.env[k] }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want it to name %s", tc.env, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), ":pw@") {
			t.Errorf("the error echoes REDIS_URL's password: %v", err)
		}
	}
}

func TestServeRejectsABadEncryptionKey(t *testing.T) {
	err := run(context.Background(), []string{"serve"}, func(k string) string {
		return map[string]string{"CRMBOT_ENCRYPTION_KEY": "not-a-key", "CRMBOT_ADDR": "127.0.0.1:0"}[k]
	}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "CRMBOT_ENCRYPTION_KEY") {
		t.Fatalf("err = %v, want it to name CRMBOT_ENCRYPTION_KEY", err)
	}
}

func TestSandboxCommand(t *testing.T) {
	addr := testkit.FreeAddr(t)
	_, stop := startCommand(t, []string{"sandbox", "--addr", addr, "--records-per-type", "5"}, nil)
	base := "http://" + addr
	waitFor(t, base+"/api/data/v9.2/$metadata")
	req, _ := http.NewRequest("GET", base+"/api/data/v9.2/$metadata", nil)
	req.Header.Set("Authorization", "Bearer "+appToken(t, base, base))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `EntityType Name="opportunity"`) {
		t.Fatalf("$metadata lacks the opportunity entity type: %d %.200s", resp.StatusCode, body)
	}
	resp, err = http.Get(base + "/api/data/v9.2/accounts")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Fatalf("unauthenticated read = %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestVersionAndUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"version"}, func(string) string { return "" }, &out, io.Discard); err != nil || !strings.HasPrefix(out.String(), "crmbot ") {
		t.Fatalf("version: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"frobnicate"}, func(string) string { return "" }, io.Discard, io.Discard); err == nil {
		t.Fatal("unknown command accepted")
	}
}

func TestStatusPageNeedsATokenWithARealOrg(t *testing.T) {
	realOrg := map[string]string{"DATAVERSE_URL": "http://127.0.0.1:1", "DATAVERSE_TENANT_ID": "t",
		"DATAVERSE_CLIENT_ID": "c", "DATAVERSE_CLIENT_SECRET": "s", "DATAVERSE_AUTHORITY_URL": "http://127.0.0.1:1",
		"CRMBOT_DRAIN_DELAY": "0s"}
	get := func(t *testing.T, env map[string]string, header string) int {
		t.Helper()
		addr := testkit.FreeAddr(t)
		base := "http://" + addr
		env["CRMBOT_ADDR"], env["CRMBOT_PUBLIC_URL"] = addr, base
		startCommand(t, nil, env)
		waitFor(t, base+"/livez")
		req, _ := http.NewRequest("GET", base+"/status?format=json", nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Without a token, a loopback client is not proof of being the operator
	// (a same-host TLS terminator makes everyone loopback): no page.
	if code := get(t, maps.Clone(realOrg), ""); code != http.StatusNotFound {
		t.Errorf("real org, no token, from loopback: /status = %d, want 404", code)
	}
	withToken := maps.Clone(realOrg)
	withToken["CRMBOT_ADMIN_TOKEN"] = "0123456789abcdef-operator"
	if code := get(t, maps.Clone(withToken), ""); code == http.StatusOK {
		t.Errorf("real org, token set, no credentials: /status = 200")
	}
	if code := get(t, maps.Clone(withToken), "Bearer 0123456789abcdef-operator"); code != http.StatusOK {
		t.Errorf("real org, right bearer token: /status = %d, want 200", code)
	}
}
