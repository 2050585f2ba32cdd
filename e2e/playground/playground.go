// Package playground runs the Microsoft 365 Agents Playground (npm
// @microsoft/m365agentsplayground, pinned in package-lock.json) as a real
// Teams client against a bot endpoint, offline, for end-to-end tests.
//
// Start launches it with a mock tenant whose current user is whoever the
// test names (by default the sandbox's first demo user), waits until it
// answers, and subscribes to its conversation stream. A test then talks as
// that user (Say, SendActivity, Execute), reads what the bot sent (Messages,
// WaitMessage), or opens the playground's web UI in headless Chromium
// (Browser) to click cards as a person would.
//
// Node (>= 20) must be on PATH; the pinned package is installed with npm ci
// on first use (or by run.sh). The package is plain Go so `go vet ./...`
// checks it; its tests carry the e2e build tag.
package playground

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure Start.
type Options struct {
	// BotEndpoint is the bot's messaging endpoint, e.g.
	// http://127.0.0.1:3978/api/messages. Required. The playground waits (up
	// to 15 s) for it to answer any HTTP request (it sends HEAD) before its
	// config API answers.
	BotEndpoint string
	// Port to listen on; 0 picks a free one. The playground silently moves to
	// a random port when the one asked for is taken: ServiceURL tells.
	Port int
	// User is the Teams user at the keyboard; zero fields come from DemoUser.
	User User
	// Bot names the bot account; zero: DemoBot.
	Bot Bot
	// Dir holds package.json and node_modules; default: this package's directory.
	Dir string
	// StartTimeout bounds npm ci plus start-up; default 3 minutes (CI has 2 cores).
	StartTimeout time.Duration
}

// Playground is a running Agents Playground.
type Playground struct {
	// User is the current user, with defaults filled in.
	User User
	// Bot is the bot account the playground addresses.
	Bot Bot

	opts    Options
	url     string // http://localhost:PORT
	workDir string // its cwd: config file, log file
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process has exited
	out     *tail         // stdout + stderr
	config  Config
	http    *http.Client

	ws       *wsConn
	mu       sync.Mutex
	messages []Message
	changed  chan struct{} // closed and replaced on every new message
	wsErr    error
	wsDone   chan struct{}
}

// DefaultTimeout bounds each API call and wait that has no deadline of its own.
const DefaultTimeout = 60 * time.Second

// Start runs the playground for the rest of the test: it is stopped on
// cleanup, and if the test failed its log tail and the messages it streamed
// are logged. Start fails the test if the playground can't start.
func Start(t testing.TB, o Options) *Playground {
	t.Helper()
	p, err := start(t, o)
	if err != nil {
		t.Fatalf("agents playground: %v", err)
	}
	return p
}

func start(t testing.TB, o Options) (*Playground, error) {
	if o.BotEndpoint == "" {
		return nil, errors.New("Options.BotEndpoint is required")
	}
	if o.Dir == "" {
		_, file, _, _ := runtime.Caller(0)
		o.Dir = filepath.Dir(file)
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 3 * time.Minute
	}
	if o.Bot == (Bot{}) {
		o.Bot = DemoBot
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.StartTimeout)
	defer cancel()

	cli, err := ensureInstalled(ctx, o.Dir)
	if err != nil {
		return nil, err
	}
	p := &Playground{User: o.User.withDefaults(), Bot: o.Bot, opts: o, workDir: t.TempDir(), out: newTail(200),
		http: &http.Client{Timeout: DefaultTimeout}, changed: make(chan struct{}), wsDone: make(chan struct{})}
	cfg, err := configYAML(p.User, p.Bot)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(p.workDir, ConfigFileName), cfg, 0o644); err != nil {
		return nil, err
	}
	t.Cleanup(func() { p.stop(t) })
	if err := p.launch(ctx, cli); err != nil {
		return p, err
	}
	if err := p.connectStream(ctx); err != nil {
		return p, err
	}
	if err := p.getJSON(ctx, "/_internal/v1/config", &p.config); err != nil {
		return p, fmt.Errorf("read config: %w%s", err, p.logTail())
	}
	if got := p.config.Config.CurrentUser.AADObjectID; got != p.User.AADObjectID {
		return p, fmt.Errorf("the playground ignored %s: current user %q, want %q%s", ConfigFileName, got, p.User.AADObjectID, p.logTail())
	}
	return p, nil
}

var listeningRE = regexp.MustCompile(`Listening on (\d+)`)

// launch starts node and waits for "Listening on PORT" (it prints that line
// on stdout when stdout is not a terminal) and for /_debug/ping to answer.
func (p *Playground) launch(ctx context.Context, cli string) error {
	node, err := exec.LookPath("node")
	if err != nil {
		return errors.New("node is not on PATH (the playground needs Node >= 20)")
	}
	p.cmd = exec.Command(node, cli,
		"--app-endpoint", p.opts.BotEndpoint, "--channel-id", "msteams",
		"--port", fmt.Sprint(p.opts.Port), "--disable-telemetry")
	p.cmd.Dir = p.workDir
	p.cmd.Env = p.env()
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	p.cmd.Stderr = p.out
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", cli, err)
	}
	exited := make(chan error, 1)
	p.exited = make(chan struct{})
	port := make(chan string, 1)
	go func() { // owner: the process; ends when its stdout closes
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			p.out.Write([]byte(line + "\n"))
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case port <- m[1]:
				default:
				}
			}
		}
		exited <- p.cmd.Wait()
		close(p.exited)
	}()
	select {
	case pt := <-port:
		p.url = "http://localhost:" + pt
	case err := <-exited:
		return fmt.Errorf("the playground exited before listening (%v)%s", err, p.logTail())
	case <-ctx.Done():
		return fmt.Errorf("the playground did not listen within %s%s", p.opts.StartTimeout, p.logTail())
	}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/_debug/ping", nil)
		if resp, err := p.http.Do(req); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) == "pong" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the playground did not answer /_debug/ping within %s%s", p.opts.StartTimeout, p.logTail())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// env is the playground's environment: no browser, its log and config in its
// working directory, no proxy between it and the bot, the user's locale.
func (p *Playground) env() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(k) {
		case "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "LANG", "LC_ALL", "NODE_OPTIONS":
			continue
		}
		env = append(env, kv)
	}
	posix := strings.ReplaceAll(p.User.Locale, "-", "_") + ".UTF-8"
	return append(env,
		"TEAMSAPPTESTER_BROWSER=none",
		"M365_AGENTS_PLAYGROUND_CONFIG_PATH="+filepath.Join(p.workDir, ConfigFileName),
		"M365_AGENTS_PLAYGROUND_LOGFILE="+p.LogFile(),
		"NO_PROXY=localhost,127.0.0.1,::1", "no_proxy=localhost,127.0.0.1,::1",
		"LANG="+posix, "LC_ALL="+posix)
}

// stop ends the process and the stream; on failure it logs what happened.
func (p *Playground) stop(t testing.TB) {
	if p.ws != nil {
		_ = p.ws.Close()
		<-p.wsDone
	}
	if p.exited != nil {
		_ = p.cmd.Process.Kill()
		select { // its log file lives in a temp dir the test removes next
		case <-p.exited:
		case <-time.After(10 * time.Second):
		}
	}
	if t.Failed() {
		t.Logf("agents playground at %s, streamed messages:\n%s%s", p.url, p.transcript(), p.logTail())
	}
}

// URL is the playground's web UI and API root, http://localhost:PORT.
func (p *Playground) URL() string { return p.url }

// ServiceURL is the Bot Framework connector the playground mocks, as it puts
// it in every activity's serviceUrl: http://localhost:PORT/_connector.
func (p *Playground) ServiceURL() string { return p.url + "/_connector" }

// ConversationID is the personal (1:1) chat between the user and the bot.
func (p *Playground) ConversationID() string { return p.config.Config.PersonalChat.ID }

// Config is the mock tenant the playground loaded (GET /_internal/v1/config at start).
func (p *Playground) Config() Config { return p.config }

// LogFile is where the playground writes its console log.
func (p *Playground) LogFile() string { return filepath.Join(p.workDir, "playground.log") }

// Say sends text as the user in the personal chat, as the UI's compose box
// does (POST /_conversation/v1/conversations/{id}/messages); the playground
// then posts a message activity to the bot. It returns the message id.
func (p *Playground) Say(ctx context.Context, text string) (string, error) {
	body := map[string]any{"from": map[string]string{"id": p.User.ID}, "text": text, "textFormat": "plain"}
	var res struct {
		MessageID string `json:"messageId"`
	}
	if err := p.postJSON(ctx, "/_conversation/v1/conversations/"+url.PathEscape(p.ConversationID())+"/messages", body, &res); err != nil {
		return "", fmt.Errorf("say %q: %w", text, err)
	}
	return res.MessageID, nil
}

// InvokeResponse is what the playground returns for an adaptiveCard/action
// invoke: the bot's body without its statusCode.
type InvokeResponse struct {
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

// Card decodes Value when the bot answered with a card (Type is CardContentType).
func (r InvokeResponse) Card() *Card {
	if r.Type != CardContentType {
		return nil
	}
	return ParseCard(r.Value)
}

// Invoke sends an adaptiveCard/action invoke on the bot message replyToID
// (POST /_conversation/v1/invoke) and returns the bot's answer. The
// playground requires replyToID to be a message it holds; when that message
// has a single card, it stores the returned card in its place.
func (p *Playground) Invoke(ctx context.Context, replyToID string, value any) (InvokeResponse, error) {
	body := map[string]any{"name": "adaptiveCard/action", "value": value, "from": map[string]string{"id": p.User.ID},
		"conversation": map[string]string{"id": p.ConversationID()}, "replyToId": replyToID}
	var res InvokeResponse
	if err := p.postJSON(ctx, "/_conversation/v1/invoke", body, &res); err != nil {
		return res, fmt.Errorf("invoke adaptiveCard/action on %s: %w", replyToID, err)
	}
	return res, nil
}

// Execute presses the Action.Execute titled title on m's card, as the web
// UI does: value {"action":{"type","title","verb","data"}}, with inputs
// merged into data (what Adaptive Cards does with the card's input values).
func (p *Playground) Execute(ctx context.Context, m Message, title string, inputs map[string]any) (InvokeResponse, error) {
	c := m.Card()
	if c == nil {
		return InvokeResponse{}, fmt.Errorf("message %s has no Adaptive Card", m.ID())
	}
	a, ok := c.Action(title)
	if !ok || a.Type != "Action.Execute" {
		return InvokeResponse{}, fmt.Errorf("message %s has no Action.Execute titled %q", m.ID(), title)
	}
	data := map[string]any{}
	for k, v := range a.Data {
		data[k] = v
	}
	for k, v := range inputs {
		data[k] = v
	}
	return p.Invoke(ctx, m.ID(), map[string]any{"action": map[string]any{"type": a.Type, "title": a.Title, "verb": a.Verb, "data": data}})
}

// Activity is an activity of type typ from the user in the personal chat,
// shaped like the playground's own (serviceUrl, from, recipient,
// conversation, channelData.tenant, clientInfo) but with the user's locale.
// Add fields, then SendActivity.
func (p *Playground) Activity(typ string) map[string]any {
	now := time.Now()
	return map[string]any{
		"type": typ, "id": fmt.Sprintf("e2e-%d", now.UnixNano()), "channelId": "msteams",
		"timestamp": now.UTC().Format(time.RFC3339Nano), "serviceUrl": p.ServiceURL(),
		"from":         map[string]any{"id": p.User.ID, "name": p.User.Name, "aadObjectId": p.User.AADObjectID},
		"recipient":    map[string]any{"id": p.Bot.ID, "name": p.Bot.Name},
		"conversation": map[string]any{"id": p.ConversationID(), "conversationType": "personal", "tenantId": p.User.TenantID},
		"channelData":  map[string]any{"tenant": map[string]any{"id": p.User.TenantID}},
		"locale":       p.User.Locale,
		"entities":     []any{map[string]any{"type": "clientInfo", "locale": p.User.Locale, "platform": "Web"}},
	}
}

// SendActivity has the playground post activity to the bot as it is
// (POST /_internal/v1/customActivities). The playground answers before the
// bot does and keeps the bot's HTTP answer to itself: watch the stream.
func (p *Playground) SendActivity(ctx context.Context, activity map[string]any) error {
	if err := p.postJSON(ctx, "/_internal/v1/customActivities", activity, nil); err != nil {
		return fmt.Errorf("send %v activity: %w", activity["type"], err)
	}
	return nil
}

// Messages is every event the conversation stream has pushed so far.
func (p *Playground) Messages() []Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Message(nil), p.messages...)
}

// WaitMessage returns the first streamed event (since start) that match
// accepts, waiting for one until ctx ends (DefaultTimeout if ctx has no deadline).
func (p *Playground) WaitMessage(ctx context.Context, match func(Message) bool) (Message, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	seen := 0
	for {
		p.mu.Lock()
		msgs, changed, wsErr := p.messages[seen:], p.changed, p.wsErr
		seen = len(p.messages)
		p.mu.Unlock()
		for _, m := range msgs {
			if match(m) {
				return m, nil
			}
		}
		if wsErr != nil {
			return Message{}, fmt.Errorf("conversation stream ended: %w", wsErr)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("no matching message (%w); streamed so far:\n%s", ctx.Err(), p.transcript())
		}
	}
}

// WaitText waits for a bot message whose text or card contains s.
func (p *Playground) WaitText(ctx context.Context, s string) (Message, error) {
	return p.WaitMessage(ctx, func(m Message) bool { return m.Action != ActionTyping && m.Contains(s) })
}

// connectStream subscribes to the conversation stream before anything can be
// sent: the playground buffers events only while no client is connected,
// then hands them all to the first one (the web UI, say).
func (p *Playground) connectStream(ctx context.Context) error {
	ws, err := dialWebSocket(ctx, wsURL(p.url, "/_ws_conversation/v1/conversations/stream"))
	if err != nil {
		return fmt.Errorf("conversation stream: %w%s", err, p.logTail())
	}
	p.ws = ws
	go func() { // owner: p; stop closes ws, which ends this loop
		defer close(p.wsDone)
		for {
			data, err := ws.ReadMessage()
			var m Message
			if err == nil {
				if err = json.Unmarshal(data, &m); err != nil {
					err = fmt.Errorf("decode %s: %w", data, err)
				}
				m.Raw = data
			}
			p.mu.Lock()
			if err != nil {
				p.wsErr = err
			} else {
				p.messages = append(p.messages, m)
			}
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return nil
}

// transcript is the streamed events, one a line.
func (p *Playground) transcript() string {
	var b strings.Builder
	for _, m := range p.Messages() {
		fmt.Fprintf(&b, "  %s\n", m.Raw)
	}
	if b.Len() == 0 {
		return "  (none)\n"
	}
	return b.String()
}

// logTail is the end of the playground's output and log file, for errors.
func (p *Playground) logTail() string {
	var b strings.Builder
	b.WriteString("\n--- playground stdout/stderr (tail) ---\n")
	b.WriteString(p.out.String())
	if data, err := os.ReadFile(p.LogFile()); err == nil {
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 60 {
			lines = lines[len(lines)-60:]
		}
		fmt.Fprintf(&b, "--- %s (tail) ---\n%s\n", p.LogFile(), strings.Join(lines, "\n"))
	}
	return b.String()
}

// APIError is a non-2xx answer of the playground's API.
type APIError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, e.Body)
}

func (p *Playground) postJSON(ctx context.Context, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	return p.do(ctx, http.MethodPost, path, bytes.NewReader(body), out)
}

func (p *Playground) getJSON(ctx context.Context, path string, out any) error {
	return p.do(ctx, http.MethodGet, path, nil, out)
}

func (p *Playground) do(ctx context.Context, method, path string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, p.url+path, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return &APIError{Method: method, Path: path, Status: resp.StatusCode, Body: string(data)}
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode %s: %w", method, path, data, err)
	}
	return nil
}

// tail keeps the last lines written to it.
type tail struct {
	mu    sync.Mutex
	max   int
	lines []string
	part  string
}

func newTail(max int) *tail { return &tail{max: max} }

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.part + string(b)
	parts := strings.Split(s, "\n")
	t.part = parts[len(parts)-1]
	t.lines = append(t.lines, parts[:len(parts)-1]...)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(append(append([]string(nil), t.lines...), t.part), "\n") + "\n"
}
