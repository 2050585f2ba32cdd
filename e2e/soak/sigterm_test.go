package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot/slack/slackfake"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/internal/testkit/botframework"
	"github.com/crmbot/crmbot/store"
)

// Expectations of TestSIGTERM about /readyz during the drain.
//
// expectReadyz503: the server keeps serving for CRMBOT_DRAIN_DELAY after
// SIGTERM with /readyz answering 503 (so a load balancer sees the replica
// leave before its listener closes); the test requires a probe to see it.
const expectReadyz503 = true

// drainDelay is the CRMBOT_DRAIN_DELAY the process runs with here.
const drainDelay = time.Second

// sigtermGraceBound is what the test allows between SIGTERM and exit: the
// server's HTTP grace (25 s) and the adapters' wait (20 s) are both far
// above what the in-flight work here needs.
const sigtermGraceBound = 45 * time.Second

// sigtermLatency is the sandbox's delay per Web API call while the slash
// command runs: long enough for the work to be in flight at SIGTERM.
const sigtermLatency = 1500 * time.Millisecond

// TestSIGTERM sends SIGTERM to a crmbot process right after Slack's ack of a
// `/crm leads` and Teams' of a "leads" message (Dynamics at 1.5 s per call,
// so the list is still being read): the list must still reach the user's
// modal (views.update) and their Teams chat, the process must exit 0 within
// its grace, /readyz must not say 200 once the drain began, and the sync
// leases (TTL 60 s here) must be released, so another holder takes them at
// once instead of after the TTL.
func TestSIGTERM(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	p := h.procs[0]
	// A long lease: one not released at exit would block the next holder
	// for a minute, not the harness's 3 s. Inbound Teams activities are
	// signed by an issuer of the test's.
	const leaseTTL = 60 * time.Second
	iss := newBotFrameworkIssuer(t, h.teams.ClientID())
	p.env = append(p.env, "CRMBOT_SYNC_LEASE="+leaseTTL.String(), "CRMBOT_DRAIN_DELAY="+drainDelay.String(), "BOTFRAMEWORK_OPENID_URL="+iss.OpenIDURL())

	// Chloé (the first demo user) is linked on both platforms.
	var slackUser, teamsUser *chatUser
	for _, c := range h.byDemo[sandbox.DemoUsers()[0].ID] {
		switch c.cu.Platform {
		case store.PlatformSlack:
			slackUser = c
		case store.PlatformTeams:
			teamsUser = c
		}
	}
	if slackUser == nil || teamsUser == nil {
		t.Fatal("the harness no longer links the first demo user on both platforms")
	}
	// A lead of the user's, made before the baseline (not announced), that
	// the list must show.
	lastname := "Sigterm " + randomHex(3)
	if _, err := h.sb.Create("leads", map[string]any{"firstname": "Drain", "lastname": lastname, "companyname": "Sigterm Ltd",
		"ownerid@odata.bind": "/systemusers(" + slackUser.demo.ID + ")"}, sandbox.Principal{UserID: sandbox.AppUserID, App: true}); err != nil {
		t.Fatal(err)
	}

	p.start()
	p.waitReady(30 * time.Second)
	h.waitBaseline(60 * time.Second)
	name := p.replicaName()
	if l := p.logLines("assignment notifications"); len(l) == 0 || l[len(l)-1]["lease"] != leaseTTL.String() {
		t.Fatalf("the process does not run with CRMBOT_SYNC_LEASE=%s: %v", leaseTTL, l)
	}
	for k, holder := range h.leaseHolders() {
		if holder != name {
			t.Fatalf("before SIGTERM the lease of %s is held by %q, not by the replica %q", k, holder, name)
		}
	}

	h.sb.SetFaults(sandbox.Faults{Latency: sigtermLatency})
	t.Cleanup(func() { h.sb.SetFaults(sandbox.Faults{}) })
	drv := &slackfake.Driver{Fake: h.slack, BaseURL: p.url(""), SigningSecret: slackSecret}
	ref := slackfake.UserRef{TeamID: slackTeam, UserID: slackUser.cu.UserID}
	updatesBefore := len(h.slack.Calls("views.update"))
	teamsBefore := len(h.teams.Activities(teamsUser.channel))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := drv.Slash(ctx, ref, "leads")
	if err != nil || resp.Status != http.StatusOK {
		t.Fatalf("/crm leads: status %d, error %v", resp.Status, err)
	}
	if status, body := iss.say(ctx, p.url("/api/messages"), h.teams, teamsUser, "leads"); status != http.StatusOK {
		t.Fatalf("Teams message \"leads\": status %d %s", status, body)
	}
	ackedAt := time.Now()

	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	p.signal(syscall.SIGTERM)
	termAt := time.Now()

	// /readyz from the moment of the signal until the process is gone, on a
	// new connection each time (a kept-alive one would hide the listener).
	type probeResult struct {
		at     time.Duration
		status int
		err    string
	}
	var (
		probesMu sync.Mutex
		probes   []probeResult
	)
	readyClient := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			r := probeResult{at: time.Since(termAt)}
			resp, err := readyClient.Get(p.url("/readyz"))
			if err != nil {
				r.err = err.Error()
			} else {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				r.status = resp.StatusCode
			}
			probesMu.Lock()
			probes = append(probes, r)
			probesMu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	})

	var exited time.Duration
	select {
	case <-done:
		exited = time.Since(termAt)
	case <-time.After(sigtermGraceBound + 15*time.Second):
		_ = cmd.Process.Kill()
		<-done
		wg.Wait()
		t.Fatalf("crmbot still running %s after SIGTERM", sigtermGraceBound+15*time.Second)
	}
	wg.Wait()
	code := cmd.ProcessState.ExitCode()
	t.Logf("SIGTERM %s after the ack; exit status %d after %s (bound %s)", termAt.Sub(ackedAt).Round(time.Microsecond),
		code, exited.Round(time.Millisecond), sigtermGraceBound)
	if code != 0 {
		t.Errorf("exit status %d after SIGTERM, want 0 (%s)", code, cmd.ProcessState)
	}
	if exited >= sigtermGraceBound {
		t.Errorf("exit took %s after SIGTERM, want < %s", exited, sigtermGraceBound)
	}

	// The in-flight work: the modal was updated with the list, after the
	// signal.
	var final *slackfake.Call
	updates := h.slack.Calls("views.update")
	for i := updatesBefore; i < len(updates); i++ {
		if u := updates[i]; u.Error == "" && u.UserID == slackUser.cu.UserID {
			final = &u
		}
	}
	if final == nil {
		t.Errorf("no views.update reached Slack for %s after SIGTERM: the in-flight command was dropped (calls: %d views.open, %d views.update)",
			slackUser, len(h.slack.Calls("views.open")), len(updates)-updatesBefore)
	} else {
		view, _ := json.Marshal(final.Params["view"])
		switch {
		case !strings.Contains(string(view), lastname):
			t.Errorf("the modal's last update does not list the lead %q: %.600s", lastname, view)
		case final.Time.Before(termAt):
			// With 1.5 s per Dataverse call, the list cannot be ready when
			// the signal follows the ack by microseconds: if it was, the
			// test proved nothing about shutdown.
			t.Errorf("the list reached Slack %s before SIGTERM: the work was not in flight, the test proves nothing", termAt.Sub(final.Time))
		default:
			t.Logf("the list reached Slack %s after SIGTERM (in flight at the signal), %s before the exit",
				final.Time.Sub(termAt).Round(time.Millisecond), (exited - final.Time.Sub(termAt)).Round(time.Millisecond))
		}
	}
	var replyAt time.Time
	for _, a := range h.teams.Activities(teamsUser.channel)[teamsBefore:] {
		if strings.Contains(string(a.Raw), lastname) {
			replyAt = a.Time
			break
		}
	}
	switch {
	case replyAt.IsZero():
		t.Errorf("no Teams message listing the lead %q reached %s after SIGTERM: the in-flight message was dropped (%d new activities)",
			lastname, teamsUser, len(h.teams.Activities(teamsUser.channel))-teamsBefore)
	case replyAt.Before(termAt):
		t.Errorf("the Teams list arrived %s before SIGTERM: the work was not in flight, the test proves nothing", termAt.Sub(replyAt))
	default:
		t.Logf("the Teams list arrived %s after SIGTERM (in flight at the signal)", replyAt.Sub(termAt).Round(time.Millisecond))
	}
	for _, what := range []string{"Slack work still running at shutdown", "Teams work still running at shutdown"} {
		if n := p.countLog(what); n > 0 {
			t.Errorf("crmbot logged %q", what)
		}
	}

	// /readyz during the drain.
	probesMu.Lock()
	seen := map[string]int{}
	var after []string // what followed the first answer other than 200
	firstNot200 := -1
	for i, r := range probes {
		what := fmt.Sprint(r.status)
		switch {
		case r.err == "":
		case strings.Contains(r.err, "connection refused"):
			what = "refused"
		case strings.Contains(r.err, "connection reset"):
			what = "reset" // accepted by the kernel, dropped when the listener closed
		default:
			what = "error"
			if seen[what] == 0 {
				t.Logf("/readyz probe %s after SIGTERM: %s", r.at.Round(time.Millisecond), r.err)
			}
		}
		seen[what]++
		if firstNot200 < 0 && what != "200" {
			firstNot200 = i
		}
		if firstNot200 >= 0 {
			after = append(after, what)
		}
	}
	t.Logf("/readyz after SIGTERM: %d probes until exit: %v", len(probes), seen)
	if firstNot200 >= 0 {
		r := probes[firstNot200]
		t.Logf("first probe not answering 200: %s after SIGTERM, %d %s", r.at.Round(time.Millisecond), r.status, r.err)
	}
	probesMu.Unlock()
	for _, what := range after {
		if what == "200" {
			t.Errorf("/readyz answered 200 again after it had stopped doing so during the drain: %v", after)
			break
		}
	}
	switch {
	case seen["503"] > 0:
		t.Logf("/readyz answered 503 during the drain (%d times)", seen["503"])
	case expectReadyz503:
		t.Errorf("/readyz never answered 503 during the drain: %v", seen)
	default:
		t.Logf("/readyz never answered 503 (expectReadyz503 = false): probes saw %v", seen)
	}

	// The leases: released, so another holder takes every one at once,
	// long before the 60 s TTL would have freed them.
	actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer acancel()
	for _, k := range kinds {
		key := store.SyncKey{Org: h.org, RecordType: k.name}
		_, ok, err := h.st.AcquireLease(actx, key, "sigterm-test", time.Minute)
		switch {
		case err != nil:
			t.Errorf("acquire the lease of %s: %v", k.name, err)
		case !ok:
			v, _ := h.db.Client.Get(actx, h.leaseKey(k.name)).Result()
			ttl, _ := h.db.Client.PTTL(actx, h.leaseKey(k.name)).Result()
			t.Errorf("the lease of %s was not released at exit: %q, %s to live", k.name, v, ttl)
		default:
			if err := h.st.ReleaseLease(actx, key, "sigterm-test"); err != nil && !errors.Is(err, store.ErrLeaseLost) {
				t.Errorf("release the test's lease of %s: %v", k.name, err)
			}
		}
	}
	if n := p.countLog("sync: could not release the lease"); n > 0 {
		t.Errorf("crmbot logged %d failures to release a lease", n)
	}
}

// botFrameworkIssuer signs inbound activities as the Bot Framework does
// (see botframework.Issuer) for the bot appID.
type botFrameworkIssuer struct {
	*botframework.Issuer
	appID string
	seq   int
}

func newBotFrameworkIssuer(t *testing.T, appID string) *botFrameworkIssuer {
	t.Helper()
	return &botFrameworkIssuer{Issuer: botframework.NewIssuer(t), appID: appID}
}

// say posts a signed message activity from c (a Teams user of the harness)
// to endpoint and returns the status and body of the answer.
func (is *botFrameworkIssuer) say(ctx context.Context, endpoint string, fake interface{ URL() string }, c *chatUser, text string) (int, []byte) {
	is.seq++
	now := time.Now()
	signed := is.Token(is.appID, fake.URL())
	act := map[string]any{
		"type": "message", "id": fmt.Sprintf("f:%d", is.seq), "timestamp": now.UTC().Format(time.RFC3339Nano),
		"channelId": "msteams", "serviceUrl": fake.URL(), "locale": "en-US", "text": text,
		"from":         map[string]any{"id": c.cu.UserID, "name": c.demo.FullName(), "aadObjectId": c.demo.ObjectID},
		"recipient":    map[string]any{"id": "28:" + is.appID, "name": "crmbot"},
		"conversation": map[string]any{"id": c.channel, "conversationType": "personal", "tenantId": c.cu.Tenant},
		"channelData":  map[string]any{"tenant": map[string]any{"id": c.cu.Tenant}},
	}
	body, _ := json.Marshal(act)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+signed)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
