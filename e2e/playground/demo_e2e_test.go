//go:build e2e

package playground_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crmbot/crmbot/crm/sandbox"
	"github.com/crmbot/crmbot/e2e/playground"
	"github.com/crmbot/crmbot/internal/testkit"
)

// TestDemoOnABareMachine is the newcomer's first five minutes: the command
// make demo runs (go run ./cmd/crmbot --demo-activity, here built first so
// the test can signal the process itself) with nothing configured: no
// variables at all but PATH and HOME. It must print what runs and what to do
// next, answer /livez, and the Agents Playground, a Teams client no one here
// wrote, must get an answer to "help" from its Teams endpoint; once its user
// links, the demo activity generator's reassignments reach her as "assigned
// to you" cards.
func TestDemoOnABareMachine(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	bin := filepath.Join(t.TempDir(), "crmbot")
	build := exec.Command("go", "build", "-o", bin, "./cmd/crmbot")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/crmbot: %v\n%s", err, out)
	}

	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	base := "http://localhost:3978"
	if !portFree("127.0.0.1:3978") {
		// Only when something else holds the default port on this machine:
		// the same demo one port over.
		addr := testkit.FreeAddr(t)
		base = "http://" + addr
		env = append(env, "CRMBOT_ADDR="+addr, "CRMBOT_PUBLIC_URL="+base)
		t.Logf("port 3978 is taken here; the demo runs on %s", addr)
	}
	cmd := exec.Command(bin, "--demo-activity", "1s")
	cmd.Env = env
	cmd.Dir = t.TempDir()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	var logMu sync.Mutex
	cmd.Stderr = writerFunc(func(b []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return logs.Write(b) })
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	banner := make(chan string, 1)
	go func() {
		var sb strings.Builder
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			sb.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "Next:") {
				// The "Next" block follows; give it a moment to arrive.
				go func() { time.Sleep(200 * time.Millisecond); banner <- sb.String() }()
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("the demo did not exit cleanly on SIGTERM: %v", err)
			}
		case <-time.After(45 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("the demo did not exit within 45 s of SIGTERM")
		}
		if t.Failed() {
			logMu.Lock()
			t.Logf("crmbot logs:\n%s", logs.String())
			logMu.Unlock()
		}
	})

	var text string
	select {
	case text = <-banner:
	case err := <-exited:
		t.Fatalf("the demo exited at start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("no banner on stdout within 60 s")
	}
	t.Logf("the demo printed:\n%s", text)
	for _, want := range []string{"embedded sandbox", base + "/api/messages", "make demo", "SLACK_APP_TOKEN", base + "/status", "every 1s"} {
		if !strings.Contains(text, want) {
			t.Errorf("the banner does not say %q", want)
		}
	}

	resp, err := http.Get(base + "/livez")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/livez = %d %s", resp.StatusCode, body)
	}

	p := playground.Start(t, playground.Options{BotEndpoint: base + "/api/messages"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := p.Say(ctx, "help"); err != nil {
		t.Fatal(err)
	}
	m, err := p.WaitText(ctx, "Here is what you can ask")
	if err != nil {
		t.Fatalf("no answer to help: %v", err)
	}
	t.Logf("the playground got a message with %d attachment(s): %.200s", len(m.Message.Attachments), m.Message.Text)

	// Link as Chloé (the playground's user), then the generator's
	// reassignments arrive as cards, proactively.
	if _, err := p.Say(ctx, "link"); err != nil {
		t.Fatal(err)
	}
	prompt, err := p.WaitMessage(ctx, func(m playground.Message) bool { return linkURL(m, base) != "" })
	if err != nil {
		t.Fatalf("no sign-in card: %v", err)
	}
	signIn(t, linkURL(prompt, base), base+"/sandbox", sandbox.DemoUsers()[0].Email)
	if _, err := p.WaitText(ctx, "reassigned to you by"); err != nil {
		t.Fatalf("no \"assigned to you\" card from the demo activity: %v", err)
	}
}

func portFree(addr string) bool {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
