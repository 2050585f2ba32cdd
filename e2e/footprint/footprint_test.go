package footprint

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/crmbot/crmbot/bot/slack/slackfake"
	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/internal/testkit/redisdb"
	"github.com/crmbot/crmbot/store"
	"github.com/crmbot/crmbot/store/redisstore"
)

var (
	flagLinks   = flag.Int("footprint.links", 100_000, "how many account links to write before the second measurement")
	flagSample  = flag.Duration("footprint.sample", 5*time.Second, "how long to sample VmRSS once idle")
	flagSettle  = flag.Duration("footprint.settle", 3*time.Second, "wait after the baseline sync before sampling")
	flagEnv     = flag.String("footprint.env", "", "extra environment of the crmbot processes, comma-separated K=V (e.g. GOGC=50,GOMEMLIMIT=40MiB)")
	flagLogs    = flag.String("footprint.logs", "", "keep the crmbot logs in this directory (default: a temporary one)")
	flagSummary = flag.String("footprint.summary", "", "also write the one-line summary to this file")
)

// The targets, reported next to the figures.
const (
	targetIdleMB  = 50
	targetDeltaMB = 10
)

// recordTypes are the record types whose first sync cycle (the baseline)
// must be done before the process counts as idle.
var recordTypes = []string{"lead", "task", "account", "contact", "opportunity", "phonecall", "appointment", "incident"}

const (
	slackTeam   = "T0FOOT"
	slackToken  = "xoxb-footprint"
	slackSecret = "footprint-signing-secret-0123456789"
)

// BenchmarkFootprint starts the crmbot binary four times and reads its
// resident memory from /proc once it is idle:
//
//  1. Redis (a database of its own, flushed) and a sandbox Dynamics over
//     HTTP, first start: the baseline sync reads every record type
//     (first_start_RSS_MB, informational);
//  2. the same again, restarted (cursors stored, delta reads):
//     idle_RSS_MB;
//  3. after 100,000 links were written to that Redis: rss_100k_links_MB,
//     and delta_MB = 3 − 2;
//  4. the embedded demo, nothing configured: demo_RSS_MB (informational).
//
// Each figure is the largest VmRSS of samples taken over -footprint.sample;
// VmHWM (the peak since start, the baseline sync included) is reported too.
func BenchmarkFootprint(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc/<pid>/status")
	}
	bin := buildCrmbot(b)
	db := redisdb.Acquire(b, redisdb.Options{Owner: "footprint-", FlushAtEnd: true}) // 100k links are not left behind
	keyBytes := make([]byte, 32)
	_, _ = rand.Read(keyBytes)
	encKey := base64.StdEncoding.EncodeToString(keyBytes)
	keys, err := store.ParseKeyring([]string{encKey})
	if err != nil {
		b.Fatal(err)
	}
	logDir := *flagLogs
	if logDir == "" {
		logDir = b.TempDir()
	} else if err := os.MkdirAll(logDir, 0o755); err != nil {
		b.Fatal(err)
	}

	addr := fmt.Sprintf("127.0.0.1:%d", freePort(b))
	public := "http://" + addr
	sb := sandbox.New(sandbox.Options{Logger: slog.New(slog.DiscardHandler), RedirectURIs: []string{public + "/link/callback"}})
	sbSrv := httptest.NewServer(sb)
	b.Cleanup(func() { sbSrv.Close(); _ = sb.Close() })
	slack := slackfake.New(slackfake.Options{})
	b.Cleanup(slack.Close)
	slack.AddTeam(slackfake.Team{ID: slackTeam, Name: "Footprint", BotToken: slackToken, BotUserID: "UBOTFOOT", BotID: "BBOTFOOT"})

	env := []string{
		"CRMBOT_ADDR=" + addr,
		"CRMBOT_PUBLIC_URL=" + public,
		"CRMBOT_LOG_LEVEL=info",
		"REDIS_URL=" + db.URL,
		"CRMBOT_ENCRYPTION_KEY=" + encKey,
		"DATAVERSE_URL=" + sbSrv.URL,
		"DATAVERSE_AUTHORITY_URL=" + sbSrv.URL,
		"DATAVERSE_TENANT_ID=" + sandbox.DefaultTenantID,
		"DATAVERSE_CLIENT_ID=" + sandbox.DefaultClientID,
		"DATAVERSE_CLIENT_SECRET=" + sandbox.DefaultClientSecret,
		"SLACK_BOT_TOKEN=" + slackToken,
		"SLACK_SIGNING_SECRET=" + slackSecret,
		"SLACK_API_URL=" + slack.URL(),
	}
	env = append(baseEnv(), env...)

	first := measure(b, bin, "redis-first", addr, env, logDir)
	idle := measure(b, bin, "redis-idle", addr, env, logDir)

	st, err := redisstore.Open(db.URL, redisstore.Options{Keys: keys})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	wrote, took := writeLinks(b, st, *flagLinks)
	used, _ := db.Client.Info(context.Background(), "memory").Result()
	b.Logf("wrote %d links in %s (%.0f/s); Redis %s", wrote, took.Round(time.Millisecond), float64(wrote)/took.Seconds(),
		infoField(used, "used_memory_human"))
	if took > time.Minute {
		b.Logf("note: writing the links took over a minute")
	}
	withLinks := measure(b, bin, "redis-100k-links", addr, env, logDir)

	demoAddr := fmt.Sprintf("127.0.0.1:%d", freePort(b))
	demo := measure(b, bin, "demo", demoAddr, append(baseEnv(), "CRMBOT_ADDR="+demoAddr, "CRMBOT_PUBLIC_URL=http://"+demoAddr,
		"CRMBOT_LOG_LEVEL=info"), logDir)

	delta := withLinks.rssMB - idle.rssMB
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(idle.rssMB, "idle_RSS_MB")
	b.ReportMetric(withLinks.rssMB, "rss_100k_links_MB")
	b.ReportMetric(delta, "delta_MB")
	b.ReportMetric(first.rssMB, "first_start_RSS_MB")
	b.ReportMetric(demo.rssMB, "demo_RSS_MB")
	b.ReportMetric(max(first.hwmMB, idle.hwmMB, withLinks.hwmMB), "peak_HWM_MB")

	verdict := func(ok bool) string {
		if ok {
			return "within target"
		}
		return "OVER target"
	}
	summary := fmt.Sprintf("footprint: idle RSS %.1f MB (target ≤ %d: %s), with %d links %.1f MB (delta %+.1f MB, target < %d: %s); "+
		"first start %.1f MB (HWM %.1f); demo %.1f MB (HWM %.1f); extra env %q",
		idle.rssMB, targetIdleMB, verdict(idle.rssMB <= targetIdleMB), wrote, withLinks.rssMB, delta, targetDeltaMB,
		verdict(delta < targetDeltaMB), first.rssMB, first.hwmMB, demo.rssMB, demo.hwmMB, *flagEnv)
	b.Log(summary)
	fmt.Println(summary)
	if *flagSummary != "" {
		if err := os.WriteFile(*flagSummary, []byte(summary+"\n"), 0o644); err != nil {
			b.Error(err)
		}
	}
}

// ---------------------------------------------------------------------------
// One measured run of the binary.

type footprint struct {
	rssMB, hwmMB float64
}

// measure starts the binary with env, waits until it is ready and its
// baseline sync is done, lets it settle, samples VmRSS, stops it with
// SIGTERM (it must exit 0) and returns the figures.
func measure(b *testing.B, bin, name, addr string, env []string, logDir string) footprint {
	b.Helper()
	logPath := filepath.Join(logDir, "crmbot-"+name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(bin, "serve")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatalf("%s: start crmbot: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stopped := false
	fail := func(format string, args ...any) {
		b.Helper()
		if !stopped {
			_ = cmd.Process.Kill()
			<-done
		}
		tail, _ := os.ReadFile(logPath)
		if len(tail) > 4000 {
			tail = tail[len(tail)-4000:]
		}
		b.Fatalf("%s: %s\nlog %s (tail):\n%s", name, fmt.Sprintf(format, args...), logPath, tail)
	}
	base := "http://" + addr
	start := time.Now()
	if err := waitFor(done, 60*time.Second, func() bool { return status(base+"/readyz") == http.StatusOK }); err != nil {
		fail("not ready: %v", err)
	}
	ready := time.Since(start)
	if err := waitFor(done, 120*time.Second, func() bool { return baselineDone(base + "/metrics") }); err != nil {
		fail("baseline sync not done: %v", err)
	}
	synced := time.Since(start)
	time.Sleep(*flagSettle)

	var fp footprint
	end := time.Now().Add(*flagSample)
	samples := 0
	for {
		rss, hwm, err := procMem(cmd.Process.Pid)
		if err != nil {
			fail("read /proc: %v", err)
		}
		fp.rssMB = max(fp.rssMB, rss)
		fp.hwmMB = max(fp.hwmMB, hwm)
		samples++
		if time.Now().After(end) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	// What the Go runtime says, for the figures' explanation (one scrape,
	// after the samples).
	gm := scrape(base+"/metrics", "go_memstats_heap_inuse_bytes", "go_memstats_heap_sys_bytes", "go_memstats_stack_inuse_bytes",
		"go_memstats_sys_bytes", "go_goroutines", "go_gc_gogc_percent", "go_gc_gomemlimit_bytes")
	b.Logf("%s: ready in %s, baseline synced in %s; VmRSS max %.1f MB over %d samples, VmHWM %.1f MB; "+
		"Go heap in use %.1f MB (heap sys %.1f MB, stacks %.1f MB, runtime sys %.1f MB), %0.f goroutines, GOGC %v, GOMEMLIMIT %s",
		name, ready.Round(time.Millisecond), synced.Round(time.Millisecond), fp.rssMB, samples, fp.hwmMB,
		gm["go_memstats_heap_inuse_bytes"]/1e6, gm["go_memstats_heap_sys_bytes"]/1e6, gm["go_memstats_stack_inuse_bytes"]/1e6,
		gm["go_memstats_sys_bytes"]/1e6, gm["go_goroutines"], gm["go_gc_gogc_percent"], memLimit(gm["go_gc_gomemlimit_bytes"]))

	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(45 * time.Second):
		fail("still running 45 s after SIGTERM")
	}
	stopped = true
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		fail("exit status %d after SIGTERM", code)
	}
	return fp
}

// memLimit shows GOMEMLIMIT as the runtime reports it (math.MaxInt64: off).
func memLimit(v float64) string {
	if v == 0 || v >= 1<<62 {
		return "off"
	}
	return fmt.Sprintf("%.0f MB", v/1e6)
}

// procMem reads VmRSS and VmHWM of pid, in MB (10^6 bytes).
func procMem(pid int) (rss, hwm float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %q: %v", k, v, err)
		}
		if k == "VmRSS" {
			rss = kb * 1024 / 1e6
		} else {
			hwm = kb * 1024 / 1e6
		}
	}
	if rss == 0 {
		return 0, 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return rss, hwm, nil
}

// waitFor polls cond until it is true, the process exits, or timeout.
func waitFor(exited <-chan struct{}, timeout time.Duration, cond func() bool) error {
	end := time.Now().Add(timeout)
	for !cond() {
		select {
		case <-exited:
			return fmt.Errorf("the process exited")
		default:
		}
		if time.Now().After(end) {
			return fmt.Errorf("timed out after %s", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

var probe = &http.Client{Timeout: 3 * time.Second}

func status(u string) int {
	resp, err := probe.Get(u)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// baselineDone says every record type finished a sync cycle
// (crmbot_sync_cycles_total{outcome="ok"}).
func baselineDone(metricsURL string) bool {
	done := map[string]bool{}
	eachSeries(metricsURL, func(name, labels string, v float64) {
		if name == "crmbot_sync_cycles_total" && strings.Contains(labels, `outcome="ok"`) && v >= 1 {
			if _, rest, ok := strings.Cut(labels, `record_type="`); ok {
				rt, _, _ := strings.Cut(rest, `"`)
				done[rt] = true
			}
		}
	})
	for _, rt := range recordTypes {
		if !done[rt] {
			return false
		}
	}
	return true
}

// scrape returns the values of unlabelled series by name.
func scrape(metricsURL string, names ...string) map[string]float64 {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	eachSeries(metricsURL, func(name, labels string, v float64) {
		if want[name] && labels == "" {
			out[name] = v
		}
	})
	return out
}

func eachSeries(metricsURL string, f func(name, labels string, v float64)) {
	resp, err := probe.Get(metricsURL)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		series, value, ok := strings.Cut(line, " ")
		if i := strings.LastIndexByte(line, '}'); i >= 0 {
			series, value, ok = line[:i+1], strings.TrimSpace(line[i+1:]), true
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			continue
		}
		name, labels := series, ""
		if i := strings.IndexByte(series, '{'); i >= 0 {
			name, labels = series[:i], strings.TrimSuffix(series[i+1:], "}")
		}
		f(name, labels, v)
	}
}

// ---------------------------------------------------------------------------
// 100,000 links.

// writeLinks writes n links through the store: distinct chat users, half on
// Slack (over 4 workspaces), half on Teams, spread over 300 Dynamics users,
// each with a refresh token of a realistic size.
func writeLinks(b *testing.B, st *redisstore.Store, n int) (int, time.Duration) {
	b.Helper()
	const (
		workers     = 64
		dynamicsN   = 300
		teamsTenant = "f00dcafe-0000-4000-8000-000000000001"
	)
	tokBytes := make([]byte, 1100) // Entra refresh tokens run to about 1.5 KB
	_, _ = rand.Read(tokBytes)
	refresh := "0.AXoA" + base64.RawURLEncoding.EncodeToString(tokBytes)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	var next, wrote atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				sys := fmt.Sprintf("00000000-0000-4000-9000-%012d", i%dynamicsN)
				var cu store.ChatUser
				if i%2 == 0 {
					cu = store.ChatUser{Platform: store.PlatformSlack, Tenant: fmt.Sprintf("T0FOOT%d", i%4), UserID: fmt.Sprintf("U%09d", i)}
				} else {
					cu = store.ChatUser{Platform: store.PlatformTeams, Tenant: teamsTenant, UserID: fmt.Sprintf("29:1footprint%09d", i)}
				}
				_, err := st.PutLink(ctx, store.Link{ChatUser: cu, SystemUserID: sys, EntraTenantID: teamsTenant,
					EntraObjectID: fmt.Sprintf("0b7ec7ed-0000-4000-8000-%012d", i%dynamicsN), UPN: fmt.Sprintf("user%d@footprint.example", i%dynamicsN),
					Email: fmt.Sprintf("user%d@footprint.example", i%dynamicsN), DisplayName: fmt.Sprintf("Footprint User %d", i%dynamicsN),
					Locale: "en-US"}, store.Tokens{RefreshToken: refresh})
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("link %d (%s): %w", i, cu, err); cancel() })
					return
				}
				wrote.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
	took := time.Since(start)
	// A spot check: the reverse index of one Dynamics user holds its share.
	users, err := st.LinkedUsers(context.Background(), "00000000-0000-4000-9000-000000000007")
	if err != nil || len(users) != (n+dynamicsN-1-7)/dynamicsN {
		b.Fatalf("LinkedUsers of Dynamics user 7: %d chat users, error %v; want %d", len(users), err, (n+dynamicsN-1-7)/dynamicsN)
	}
	return int(wrote.Load()), took
}

func infoField(info, field string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return field + " " + v
		}
	}
	return ""
}

// ---------------------------------------------------------------------------
// The binary, Redis, the environment.

func buildCrmbot(b *testing.B) string {
	b.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		b.Fatal(err)
	}
	bin := filepath.Join(b.TempDir(), "crmbot")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/crmbot")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("go build ./cmd/crmbot: %v\n%s", err, out)
	}
	return bin
}

// baseEnv is what the children inherit (PATH, HOME, TMPDIR) plus
// -footprint.env.
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	for kv := range strings.SplitSeq(*flagEnv, ",") {
		if kv = strings.TrimSpace(kv); kv != "" {
			env = append(env, kv)
		}
	}
	return env
}

func freePort(b *testing.B) int {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
