package slackfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Paths of our server the Driver posts to (HTTP mode).
const (
	PathCommands      = "/slack/commands"
	PathInteractivity = "/slack/interactivity"
	PathOptions       = "/slack/options"
	PathEvents        = "/slack/events"
)

// responseDeadline is how long Slack waits for slash commands,
// interactions and options requests.
const responseDeadline = 3 * time.Second

// Signature returns the X-Slack-Signature of a request body:
// "v0=" + hex(HMAC-SHA256(secret, "v0:"+timestamp+":"+body)).
func Signature(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// UserRef identifies the user a Driver acts as.
type UserRef struct {
	TeamID       string
	UserID       string
	EnterpriseID string // for Enterprise Grid users
	UserName     string // defaults to the registered user's name, or the id
}

// Response is our server's answer to an inbound request: the HTTP status,
// headers and body, or in Socket Mode status 200 and the ack payload.
type Response struct {
	Status  int
	Header  http.Header
	Body    []byte
	Elapsed time.Duration
}

// EventOpts sets the retry headers and the event id of an Events API
// callback.
type EventOpts struct {
	RetryNum    int    // X-Slack-Retry-Num (0: not a retry)
	RetryReason string // X-Slack-Retry-Reason, e.g. "http_timeout"
	EventID     string // defaults to a fresh "Ev…" id (reuse it for retries)
}

// Driver plays the Slack side of inbound traffic: it builds the payloads
// Slack would send when a user acts, signs and posts them to our server
// (or sends them as Socket Mode envelopes), then applies Slack's side
// effects to the fake.
type Driver struct {
	Fake          *Server
	BaseURL       string // our server, e.g. http://127.0.0.1:port
	SigningSecret string
	HTTP          *http.Client     // defaults to http.DefaultClient
	Now           func() time.Time // signing timestamps; defaults to Fake's clock
	// Socket sends everything over the fake's Socket Mode connection
	// instead of HTTP; the ack payload stands for the HTTP answer.
	Socket bool
	// Command is the slash command name; defaults to "/crm".
	Command string
	// VerificationToken is the deprecated "token" field; defaults to
	// "fake-verification-token".
	VerificationToken string
}

func (d *Driver) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return d.Fake.now()
}

func (d *Driver) client() *http.Client {
	if d.HTTP != nil {
		return d.HTTP
	}
	return http.DefaultClient
}

func (d *Driver) token() string {
	if d.VerificationToken != "" {
		return d.VerificationToken
	}
	return "fake-verification-token"
}

type inbound struct {
	path       string
	body       []byte
	ctype      string
	header     http.Header
	socketType string
	payload    any
	accepts    bool
	retry      EventOpts
}

// send delivers an inbound request over HTTP or Socket Mode.
func (d *Driver) send(ctx context.Context, in inbound) (Response, error) {
	if d.Socket {
		start := time.Now()
		ack, err := d.Fake.SocketRequest(ctx, Envelope{
			Type: in.socketType, Payload: in.payload, AcceptsResponsePayload: in.accepts,
			RetryAttempt: in.retry.RetryNum, RetryReason: in.retry.RetryReason,
		})
		if err != nil {
			return Response{}, err
		}
		return Response{Status: http.StatusOK, Body: ack.Payload, Elapsed: time.Since(start)}, nil
	}
	return d.post(ctx, in.path, in.ctype, in.body, d.now(), true, in.header)
}

func (d *Driver) post(ctx context.Context, path, ctype string, body []byte, ts time.Time, sign bool, extra http.Header) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(d.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return Response{}, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	for k, v := range extra {
		req.Header[k] = v
	}
	if sign {
		t := strconv.FormatInt(ts.Unix(), 10)
		req.Header.Set("X-Slack-Request-Timestamp", t)
		req.Header.Set("X-Slack-Signature", Signature(d.SigningSecret, t, body))
	}
	start := time.Now()
	resp, err := d.client().Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b, Elapsed: time.Since(start)}, err
}

// Raw posts an arbitrary body to our server, signed with ts when sign is
// set, for tests of request verification.
func (d *Driver) Raw(ctx context.Context, path, contentType string, body []byte, ts time.Time, sign bool) (Response, error) {
	return d.post(ctx, path, contentType, body, ts, sign, nil)
}

// formPayload wraps an interaction payload as Slack does: form field
// payload=<json>.
func (d *Driver) interaction(path string, payload map[string]any, accepts bool) (inbound, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return inbound{}, err
	}
	form := url.Values{"payload": {string(b)}}
	return inbound{
		path: path, body: []byte(form.Encode()), ctype: "application/x-www-form-urlencoded",
		socketType: "interactive", payload: json.RawMessage(b), accepts: accepts,
	}, nil
}

// checkAnswer records violations for answers Slack would not accept on a
// 3-second path.
func (d *Driver) checkAnswer(kind, viewID string, r Response) bool {
	ok := true
	if r.Elapsed > responseDeadline {
		d.Fake.violate("late_response", viewID, "%s answered after %v (Slack gives up after 3s)", kind, r.Elapsed)
		ok = false
	}
	if r.Status != http.StatusOK {
		d.Fake.violate("http_status", viewID, "%s answered HTTP %d", kind, r.Status)
		ok = false
	}
	return ok
}

func (d *Driver) userName(u UserRef) string {
	if u.UserName != "" {
		return u.UserName
	}
	d.Fake.mu.Lock()
	defer d.Fake.mu.Unlock()
	if x, ok := d.Fake.users[u.UserID]; ok && x.Name != "" {
		return x.Name
	}
	return strings.ToLower(u.UserID)
}

func (d *Driver) teamDomain(teamID string) string {
	d.Fake.mu.Lock()
	defer d.Fake.mu.Unlock()
	if t := d.Fake.teamByID[teamID]; t != nil && t.Name != "" {
		return strings.ToLower(strings.ReplaceAll(t.Name, " ", ""))
	}
	return strings.ToLower(teamID)
}

// base returns the fields common to interaction payloads.
func (d *Driver) base(typ string, u UserRef) map[string]any {
	name := d.userName(u)
	team := map[string]any{"id": u.TeamID, "domain": d.teamDomain(u.TeamID)}
	var ent any
	if u.EnterpriseID != "" {
		team["enterprise_id"] = u.EnterpriseID
		ent = map[string]any{"id": u.EnterpriseID, "name": u.EnterpriseID}
	}
	d.Fake.mu.Lock()
	org := d.Fake.enterpriseInstallLocked(u.TeamID)
	d.Fake.mu.Unlock()
	return map[string]any{
		"type":                  typ,
		"user":                  map[string]any{"id": u.UserID, "username": name, "name": name, "team_id": u.TeamID},
		"api_app_id":            d.Fake.opts.AppID,
		"token":                 d.token(),
		"team":                  team,
		"enterprise":            ent,
		"is_enterprise_install": org,
	}
}

func actionTS(t time.Time) string {
	us := t.UnixMicro()
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

// Slash runs the slash command (Driver.Command) with text, with a fresh
// trigger_id, and posts any immediate message answer like Slack does.
func (d *Driver) Slash(ctx context.Context, u UserRef, text string) (Response, error) {
	cmd := d.Command
	if cmd == "" {
		cmd = "/crm"
	}
	s := d.Fake
	trig := s.NewTrigger(u.UserID, u.TeamID)
	s.mu.Lock()
	ch := s.dmLocked(u.UserID)
	respURL := s.newResponseURLForLocked(ch, u.UserID, u.TeamID, "")
	org := s.enterpriseInstallLocked(u.TeamID)
	s.mu.Unlock()
	fields := [][2]string{
		{"token", d.token()}, {"team_id", u.TeamID}, {"team_domain", d.teamDomain(u.TeamID)},
	}
	if u.EnterpriseID != "" {
		fields = append(fields, [2]string{"enterprise_id", u.EnterpriseID}, [2]string{"enterprise_name", u.EnterpriseID})
	}
	fields = append(fields,
		[2]string{"channel_id", ch}, [2]string{"channel_name", "directmessage"},
		[2]string{"user_id", u.UserID}, [2]string{"user_name", d.userName(u)},
		[2]string{"command", cmd}, [2]string{"text", text},
		[2]string{"api_app_id", s.opts.AppID}, [2]string{"is_enterprise_install", strconv.FormatBool(org)},
		[2]string{"response_url", respURL}, [2]string{"trigger_id", trig},
	)
	// Keep Slack's field order in the body (url.Values would sort it).
	var sb strings.Builder
	obj := map[string]any{}
	for i, f := range fields {
		if i > 0 {
			sb.WriteByte('&')
		}
		sb.WriteString(url.QueryEscape(f[0]) + "=" + url.QueryEscape(f[1]))
		if f[0] != "is_enterprise_install" {
			obj[f[0]] = f[1]
		}
	}
	r, err := d.send(ctx, inbound{
		path: PathCommands, body: []byte(sb.String()), ctype: "application/x-www-form-urlencoded",
		socketType: "slash_commands", payload: obj, accepts: true,
	})
	if err != nil {
		return r, err
	}
	if d.checkAnswer("slash command", "", r) {
		d.applyImmediateMessage(u, ch, r.Body)
	}
	return r, nil
}

// applyImmediateMessage shows a message answer to a slash command:
// ephemeral by default, in the channel with response_type in_channel.
func (d *Driver) applyImmediateMessage(u UserRef, ch string, body []byte) {
	if len(bytes.TrimSpace(body)) == 0 {
		return
	}
	var m struct {
		ResponseType string          `json:"response_type"`
		Text         string          `json:"text"`
		Blocks       json.RawMessage `json:"blocks"`
	}
	if json.Unmarshal(body, &m) != nil {
		// A plain-text answer is shown as an ephemeral message.
		m.Text = string(body)
	}
	s := d.Fake
	if m.Blocks != nil {
		if msgs := validateBlocks(m.Blocks, surfaceMessage, "/blocks"); len(msgs) > 0 {
			s.violate("invalid_blocks", "", "slash command answer: %s", strings.Join(msgs, "; "))
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := &Message{Channel: ch, TS: s.nextTSLocked(), Text: m.Text, Blocks: m.Blocks, TeamID: u.TeamID}
	if t := s.teamByID[u.TeamID]; t != nil {
		msg.UserID, msg.BotID = t.BotUserID, t.BotID
	}
	if m.ResponseType == "in_channel" {
		s.messages[ch] = append(s.messages[ch], msg)
		return
	}
	msg.Ephemeral, msg.ForUser = true, u.UserID
	s.ephemerals = append(s.ephemerals, msg)
}

// target is an interactive element found in blocks.
type target struct {
	blockID string
	el      map[string]any
	option  map[string]any
}

// findClickable finds a button (by action_id or label) or an option of an
// overflow / select / radio / checkbox element (by label or value) that is
// not inside an input block.
func findClickable(blocks []any, want string) (target, error) {
	var labels []string
	for _, b := range blocks {
		bm, _ := b.(map[string]any)
		if bm == nil || (str(bm, "type") == "input" && bm["dispatch_action"] != true) {
			continue
		}
		for _, el := range blockElements(bm) {
			switch str(el, "type") {
			case "button":
				labels = append(labels, textOf(el["text"]))
				if str(el, "action_id") == want || textOf(el["text"]) == want {
					return target{blockID: str(bm, "block_id"), el: el}, nil
				}
			case "overflow", "static_select", "radio_buttons", "checkboxes", "multi_static_select":
				if o, ok := findOption(el, want); ok {
					return target{blockID: str(bm, "block_id"), el: el, option: o}, nil
				}
				for _, o := range elementOptions(el) {
					labels = append(labels, textOf(o["text"]))
				}
			}
		}
	}
	return target{}, fmt.Errorf("slackfake: no button or option %q (have %q)", want, labels)
}

func (d *Driver) actionJSON(t target) map[string]any {
	a := map[string]any{
		"type":      str(t.el, "type"),
		"block_id":  t.blockID,
		"action_id": str(t.el, "action_id"),
		"action_ts": actionTS(d.now()),
	}
	switch str(t.el, "type") {
	case "button":
		a["text"] = t.el["text"]
		if v, ok := t.el["value"]; ok {
			a["value"] = v
		}
		if v, ok := t.el["style"]; ok {
			a["style"] = v
		}
	case "checkboxes", "multi_static_select":
		a["selected_options"] = []any{t.option}
	default:
		a["selected_option"] = t.option
	}
	return a
}

// openView returns an open view owned by the user.
func (s *Server) openViewLocked(u UserRef, viewID string) (*viewRec, error) {
	v, ok := s.views[viewID]
	if !ok {
		return nil, fmt.Errorf("slackfake: no view %s", viewID)
	}
	if !v.open {
		return nil, fmt.Errorf("slackfake: view %s is closed", viewID)
	}
	if v.user != u.UserID {
		return nil, fmt.Errorf("slackfake: view %s belongs to %s, not %s", viewID, v.user, u.UserID)
	}
	return v, nil
}

// ClickView clicks a button, or picks an overflow / select option, in a
// view (modal or Home tab), matched by action_id or visible label, and
// sends block_actions with a fresh trigger_id tied to the view.
func (d *Driver) ClickView(ctx context.Context, u UserRef, viewID, actionOrLabel string) (Response, error) {
	s := d.Fake
	s.mu.Lock()
	v, err := s.openViewLocked(u, viewID)
	if err != nil {
		s.mu.Unlock()
		return Response{}, err
	}
	blocks, _ := v.def["blocks"].([]any)
	t, err := findClickable(blocks, actionOrLabel)
	if err != nil {
		s.mu.Unlock()
		return Response{}, err
	}
	view := s.viewJSON(v, true)
	s.mu.Unlock()
	return d.blockActions(ctx, u, viewID, view, d.actionJSON(t))
}

func (d *Driver) blockActions(ctx context.Context, u UserRef, viewID string, view map[string]any, action map[string]any) (Response, error) {
	p := d.base("block_actions", u)
	p["container"] = map[string]any{"type": "view", "view_id": viewID}
	p["trigger_id"] = d.Fake.NewTriggerFromView(u.UserID, u.TeamID, viewID)
	p["view"] = view
	p["actions"] = []any{action}
	in, err := d.interaction(PathInteractivity, p, false)
	if err != nil {
		return Response{}, err
	}
	r, err := d.send(ctx, in)
	if err == nil {
		d.checkAnswer("block_actions", viewID, r)
	}
	return r, err
}

// ClickMessage clicks a button or picks an option in a message the bot
// posted (channel may be a user id for their DM).
func (d *Driver) ClickMessage(ctx context.Context, u UserRef, channel, ts, actionOrLabel string) (Response, error) {
	return d.messageAction(ctx, u, channel, ts, false, func(blocks []any) (map[string]any, map[string]any, error) {
		t, err := findClickable(blocks, actionOrLabel)
		if err != nil {
			return nil, nil, err
		}
		return d.actionJSON(t), map[string]any{}, nil
	})
}

// ClickEphemeral clicks a button or picks an option in an ephemeral
// message shown to u (see [Server.Ephemerals]): a response_url answer, a
// chat.postEphemeral. Slack's payload then has container.is_ephemeral
// true, no message, and a response_url that can replace or delete it.
func (d *Driver) ClickEphemeral(ctx context.Context, u UserRef, ts, actionOrLabel string) (Response, error) {
	return d.messageAction(ctx, u, "", ts, true, func(blocks []any) (map[string]any, map[string]any, error) {
		t, err := findClickable(blocks, actionOrLabel)
		if err != nil {
			return nil, nil, err
		}
		return d.actionJSON(t), map[string]any{}, nil
	})
}

// SearchMessage types text into a dispatching input block (block_id or
// its prefix) of a message the bot posted and sends the block_actions
// Slack sends on Enter: the input's action, and its value in state.
func (d *Driver) SearchMessage(ctx context.Context, u UserRef, channel, ts, blockID, text string) (Response, error) {
	return d.messageAction(ctx, u, channel, ts, false, d.typeInto(blockID, text))
}

// SearchEphemeral is SearchMessage in an ephemeral message shown to u.
func (d *Driver) SearchEphemeral(ctx context.Context, u UserRef, ts, blockID, text string) (Response, error) {
	return d.messageAction(ctx, u, "", ts, true, d.typeInto(blockID, text))
}

// typeInto picks the dispatching input block blockID (or the first whose
// id starts with it) of a message, for the text typed and Enter.
func (d *Driver) typeInto(blockID, text string) func(blocks []any) (map[string]any, map[string]any, error) {
	return func(blocks []any) (map[string]any, map[string]any, error) {
		var found map[string]any
		for _, exact := range []bool{true, false} {
			for _, b := range blocks {
				bm, _ := b.(map[string]any)
				if bm == nil || str(bm, "type") != "input" || found != nil {
					continue
				}
				id := str(bm, "block_id")
				if (exact && id == blockID) || (!exact && strings.HasPrefix(id, blockID)) {
					found = bm
				}
			}
		}
		if found == nil {
			return nil, nil, fmt.Errorf("slackfake: no input block %q in the message", blockID)
		}
		if found["dispatch_action"] != true {
			return nil, nil, fmt.Errorf("slackfake: input %s has no dispatch_action; Slack sends nothing", str(found, "block_id"))
		}
		el, _ := found["element"].(map[string]any)
		fields, err := encodeTyped(el, text)
		if err != nil {
			return nil, nil, err
		}
		bid, aid := str(found, "block_id"), str(el, "action_id")
		action := map[string]any{
			"type": str(el, "type"), "block_id": bid, "action_id": aid, "value": text, "action_ts": actionTS(d.now()),
		}
		return action, map[string]any{bid: map[string]any{aid: fields}}, nil
	}
}

// messageAction sends block_actions for an action in a message: pick
// chooses the action and the state values from the message's blocks.
func (d *Driver) messageAction(ctx context.Context, u UserRef, channel, ts string, ephemeral bool,
	pick func(blocks []any) (action, state map[string]any, err error)) (Response, error) {
	s := d.Fake
	s.mu.Lock()
	var m *Message
	if ephemeral {
		for _, e := range s.ephemerals {
			if e.TS == ts && e.ForUser == u.UserID {
				m = e
			}
		}
		if m == nil {
			s.mu.Unlock()
			return Response{}, fmt.Errorf("slackfake: no ephemeral message %s for %s", ts, u.UserID)
		}
		channel = m.Channel
	} else {
		if dm, ok := s.dms[channel]; ok {
			channel = dm
		}
		if m = s.findMessageLocked(channel, ts); m == nil {
			s.mu.Unlock()
			return Response{}, fmt.Errorf("slackfake: no message %s in %s", ts, channel)
		}
	}
	var blocks []any
	_ = json.Unmarshal(m.Blocks, &blocks)
	action, state, err := pick(blocks)
	if err != nil {
		s.mu.Unlock()
		return Response{}, err
	}
	var msg map[string]any
	if !ephemeral {
		msg = s.messageJSON(m, true)
	}
	respURL := s.newResponseURLForLocked(channel, u.UserID, u.TeamID, ts)
	s.mu.Unlock()
	p := d.base("block_actions", u)
	p["container"] = map[string]any{"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": ephemeral}
	p["trigger_id"] = s.NewTrigger(u.UserID, u.TeamID)
	p["channel"] = map[string]any{"id": channel, "name": "directmessage"}
	if msg != nil {
		p["message"] = msg
	}
	p["state"] = map[string]any{"values": state}
	p["response_url"] = respURL
	p["actions"] = []any{action}
	in, err := d.interaction(PathInteractivity, p, false)
	if err != nil {
		return Response{}, err
	}
	r, err := d.send(ctx, in)
	if err == nil {
		d.checkAnswer("block_actions", "", r)
	}
	return r, err
}

// findInput finds an input block by block_id, or else by block_id prefix.
func findInput(v *viewRec, blockID string) (map[string]any, map[string]any, error) {
	ins := inputBlocks(v.def)
	for _, exact := range []bool{true, false} {
		for _, b := range ins {
			id := str(b, "block_id")
			if (exact && id == blockID) || (!exact && strings.HasPrefix(id, blockID)) {
				el, _ := b["element"].(map[string]any)
				return b, el, nil
			}
		}
	}
	return nil, nil, fmt.Errorf("slackfake: no input block %q in view %s", blockID, v.id)
}

// Type records what the user typed or picked in an input block of a view:
// strings for text, email, url and number inputs; "2025-01-31" or a time.Time for
// datepickers; int64 unix seconds or time.Time for datetimepickers;
// "15:04" for timepickers; an option label or value (or [SelectOption]) for
// static selects and radio buttons; a [SelectOption] for external selects;
// []string or []SelectOption for checkboxes and multi selects; user /
// conversation / channel ids for those selects. nil clears the input.
func (d *Driver) Type(viewID, blockID string, value any) error {
	s := d.Fake
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[viewID]
	if !ok || !v.open {
		return fmt.Errorf("slackfake: no open view %s", viewID)
	}
	b, el, err := findInput(v, blockID)
	if err != nil {
		return err
	}
	fields, err := encodeTyped(el, value)
	if err != nil {
		return err
	}
	v.typed[str(b, "block_id")] = fields
	return nil
}

// Search types text into a dispatch_action input block (block_id or its
// prefix) and sends the block_actions Slack sends on Enter.
func (d *Driver) Search(ctx context.Context, u UserRef, viewID, blockID, text string) (Response, error) {
	s := d.Fake
	s.mu.Lock()
	v, err := s.openViewLocked(u, viewID)
	if err != nil {
		s.mu.Unlock()
		return Response{}, err
	}
	b, el, err := findInput(v, blockID)
	if err != nil {
		s.mu.Unlock()
		return Response{}, err
	}
	if b["dispatch_action"] != true {
		s.mu.Unlock()
		return Response{}, fmt.Errorf("slackfake: input %s has no dispatch_action; Slack sends nothing", str(b, "block_id"))
	}
	fields, err := encodeTyped(el, text)
	if err != nil {
		s.mu.Unlock()
		return Response{}, err
	}
	v.typed[str(b, "block_id")] = fields
	view := s.viewJSON(v, true)
	s.mu.Unlock()
	action := map[string]any{
		"type": str(el, "type"), "block_id": str(b, "block_id"), "action_id": str(el, "action_id"),
		"value": text, "action_ts": actionTS(d.now()),
	}
	return d.blockActions(ctx, u, viewID, view, action)
}

// MissingInputError is returned by [Driver.Submit] when required inputs
// are empty: Slack's client refuses to submit and sends nothing.
type MissingInputError struct{ BlockIDs []string }

func (e *MissingInputError) Error() string {
	return "slackfake: required inputs are empty: " + strings.Join(e.BlockIDs, ", ")
}

// Submit presses the submit button of the top view of the user's modal
// stack: it sends view_submission with view.state.values holding, for
// every input block, what was typed (see [Driver.Type]) or the element's
// initial value, then applies our answer like Slack: an empty body closes
// the view; response_action errors / update / push / clear are applied.
func (d *Driver) Submit(ctx context.Context, u UserRef, viewID string) (Response, error) {
	s := d.Fake
	s.mu.Lock()
	v, err := s.openViewLocked(u, viewID)
	if err != nil {
		s.mu.Unlock()
		return Response{}, err
	}
	if v.typ != "modal" {
		s.mu.Unlock()
		return Response{}, fmt.Errorf("slackfake: view %s is a %s, not a modal", viewID, v.typ)
	}
	if st := s.stacks[v.user]; len(st) == 0 || st[len(st)-1] != viewID {
		s.mu.Unlock()
		return Response{}, fmt.Errorf("slackfake: view %s is not the visible (top) view", viewID)
	}
	if v.def["submit"] == nil {
		s.mu.Unlock()
		return Response{}, fmt.Errorf("slackfake: view %s has no submit button", viewID)
	}
	state := s.stateLocked(v, true)
	var missing []string
	for _, b := range inputBlocks(v.def) {
		if b["optional"] == true {
			continue
		}
		bid := str(b, "block_id")
		for _, val := range state[bid] {
			if m, ok := val.(map[string]any); ok && isEmptyState(m) {
				missing = append(missing, bid)
			}
		}
	}
	if len(missing) > 0 {
		s.mu.Unlock()
		return Response{}, &MissingInputError{BlockIDs: missing}
	}
	view := s.viewJSON(v, true)
	s.mu.Unlock()

	p := d.base("view_submission", u)
	p["trigger_id"] = s.NewTriggerFromView(u.UserID, u.TeamID, viewID)
	p["view"] = view
	p["response_urls"] = []any{}
	in, err := d.interaction(PathInteractivity, p, true)
	if err != nil {
		return Response{}, err
	}
	r, err := d.send(ctx, in)
	if err != nil {
		return r, err
	}
	if d.checkAnswer("view_submission", viewID, r) {
		d.applySubmission(v, r.Body)
	}
	return r, nil
}

// applySubmission applies a view_submission answer to the fake.
func (d *Driver) applySubmission(v *viewRec, body []byte) {
	s := d.Fake
	if len(bytes.TrimSpace(body)) == 0 {
		s.mu.Lock()
		s.closeViewLocked(v)
		s.mu.Unlock()
		return
	}
	var ans struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
		View           map[string]any    `json:"view"`
	}
	if err := json.Unmarshal(body, &ans); err != nil {
		s.violate("invalid_response", v.id, "view_submission answer is not JSON: %v", err)
		return
	}
	switch ans.ResponseAction {
	case "":
		s.mu.Lock()
		s.closeViewLocked(v)
		s.mu.Unlock()
	case "errors":
		s.mu.Lock()
		inputs := map[string]bool{}
		for _, b := range inputBlocks(v.def) {
			inputs[str(b, "block_id")] = true
		}
		v.errors = ans.Errors
		s.mu.Unlock()
		if len(ans.Errors) == 0 {
			s.violate("errors_empty", v.id, "response_action errors without errors")
		}
		for k := range ans.Errors {
			if !inputs[k] {
				s.violate("errors_key_not_input", v.id, "errors key %q is not the block_id of an input block", k)
			}
		}
	case "update", "push":
		if msgs := validateView(ans.View, surfaceModal); len(msgs) > 0 {
			s.violate("invalid_view", v.id, "response_action %s: %s", ans.ResponseAction, strings.Join(msgs, "; "))
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if aerr := s.checkExternalLocked(ans.View, v.id); aerr != nil {
			s.violations = append(s.violations, Violation{Kind: aerr.code, ViewID: v.id})
			return
		}
		if ans.ResponseAction == "update" {
			s.replaceLocked(v, ans.View)
			return
		}
		if len(s.stacks[v.user]) >= maxStack {
			s.violations = append(s.violations, Violation{Kind: "push_limit_reached", ViewID: v.id, Detail: "response_action push onto a full stack"})
			return
		}
		s.pushLocked(v.team, v.user, ans.View)
	case "clear":
		s.mu.Lock()
		s.clearStackLocked(v.user)
		s.mu.Unlock()
	default:
		s.violate("invalid_response", v.id, "unknown response_action %q", ans.ResponseAction)
	}
}

// CloseView dismisses a modal view. Slack sends view_closed only when the
// view has notify_on_close; with clear_on_close the whole stack closes
// (is_cleared true), otherwise just this view. The returned Response is
// zero when nothing was sent.
func (d *Driver) CloseView(ctx context.Context, u UserRef, viewID string) (Response, error) {
	s := d.Fake
	s.mu.Lock()
	v, err := s.openViewLocked(u, viewID)
	if err != nil {
		s.mu.Unlock()
		return Response{}, err
	}
	notify := v.def["notify_on_close"] == true
	clear := v.def["clear_on_close"] == true
	view := s.viewJSON(v, true)
	if clear {
		s.clearStackLocked(v.user)
	} else {
		s.closeViewLocked(v)
	}
	s.mu.Unlock()
	if !notify {
		return Response{}, nil
	}
	p := d.base("view_closed", u)
	p["view"] = view
	p["is_cleared"] = clear
	in, err := d.interaction(PathInteractivity, p, false)
	if err != nil {
		return Response{}, err
	}
	r, err := d.send(ctx, in)
	if err == nil {
		d.checkAnswer("view_closed", viewID, r)
	}
	return r, err
}

// ErrQueryTooShort is returned by Suggest when Slack's client would not
// ask for options yet (query shorter than min_query_length, default 3).
var ErrQueryTooShort = errors.New("slackfake: query shorter than min_query_length; Slack sends nothing")

// Suggest types query into the external select of a block and sends the
// block_suggestion to the options URL; it returns the decoded options.
func (d *Driver) Suggest(ctx context.Context, u UserRef, viewID, blockID, query string) (slack.OptionsResponse, Response, error) {
	var opts slack.OptionsResponse
	s := d.Fake
	s.mu.Lock()
	v, err := s.openViewLocked(u, viewID)
	if err != nil {
		s.mu.Unlock()
		return opts, Response{}, err
	}
	var el map[string]any
	blocks, _ := v.def["blocks"].([]any)
	for _, b := range blocks {
		bm, _ := b.(map[string]any)
		if bm == nil || str(bm, "block_id") != blockID {
			continue
		}
		for _, e := range blockElements(bm) {
			if t := str(e, "type"); t == "external_select" || t == "multi_external_select" {
				el = e
			}
		}
	}
	if el == nil {
		s.mu.Unlock()
		return opts, Response{}, fmt.Errorf("slackfake: no external select in block %q of view %s", blockID, viewID)
	}
	minLen := 3
	if n, ok := el["min_query_length"].(float64); ok {
		minLen = int(n)
	}
	view := s.viewJSON(v, true)
	s.mu.Unlock()
	if runes(query) < minLen {
		return opts, Response{}, ErrQueryTooShort
	}
	p := d.base("block_suggestion", u)
	p["container"] = map[string]any{"type": "view", "view_id": viewID}
	p["view"] = view
	p["action_id"] = str(el, "action_id")
	p["block_id"] = blockID
	p["value"] = query
	in, err := d.interaction(PathOptions, p, true)
	if err != nil {
		return opts, Response{}, err
	}
	r, err := d.send(ctx, in)
	if err != nil {
		return opts, r, err
	}
	d.checkAnswer("block_suggestion", viewID, r)
	if len(bytes.TrimSpace(r.Body)) > 0 {
		err = json.Unmarshal(r.Body, &opts)
	}
	return opts, r, err
}

// Event sends an Events API event_callback for a team; event is the inner
// event (a map or a slackevents type). It returns the event_id.
func (d *Driver) Event(ctx context.Context, teamID string, event any, o ...EventOpts) (string, Response, error) {
	var opt EventOpts
	if len(o) > 0 {
		opt = o[0]
	}
	s := d.Fake
	s.mu.Lock()
	if opt.EventID == "" {
		s.seq++
		opt.EventID = fmt.Sprintf("Ev%08d%s", s.seq, strings.ToUpper(randHex(2)))
	}
	var ent any
	botUser := ""
	if t := s.teamByID[teamID]; t != nil {
		botUser = t.BotUserID
		if t.EnterpriseID != "" {
			ent = t.EnterpriseID
		}
	}
	org := s.enterpriseInstallLocked(teamID)
	var authTeam any = teamID
	if org {
		// The app is installed org-wide: the authorization is the org's.
		authTeam = nil
		if o := s.orgTeamLocked(ent.(string)); o != nil {
			botUser = o.BotUserID
		}
	}
	s.mu.Unlock()
	p := map[string]any{
		"token":      d.token(),
		"team_id":    teamID,
		"api_app_id": s.opts.AppID,
		"event":      event,
		"type":       "event_callback",
		"event_id":   opt.EventID,
		"event_time": d.now().Unix(),
		"authorizations": []any{map[string]any{
			"enterprise_id": ent, "team_id": authTeam, "user_id": botUser,
			"is_bot": true, "is_enterprise_install": org,
		}},
		"is_ext_shared_channel": false,
		"event_context":         "4-" + randHex(12),
	}
	if ent != nil {
		p["enterprise_id"] = ent
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", Response{}, err
	}
	h := http.Header{}
	if opt.RetryNum > 0 {
		h.Set("X-Slack-Retry-Num", strconv.Itoa(opt.RetryNum))
		h.Set("X-Slack-Retry-Reason", opt.RetryReason)
	}
	r, err := d.send(ctx, inbound{
		path: PathEvents, body: b, ctype: "application/json", header: h,
		socketType: "events_api", payload: json.RawMessage(b), retry: opt,
	})
	return opt.EventID, r, err
}

// enterpriseInstallLocked reports whether the app serves teamID through
// an org-wide install of its Enterprise Grid org: the team has no bot
// token of its own, and its org has one.
func (s *Server) enterpriseInstallLocked(teamID string) bool {
	t := s.teamByID[teamID]
	if t == nil || t.EnterpriseID == "" {
		return false
	}
	for _, own := range s.teams {
		if own.ID == teamID {
			return false
		}
	}
	return s.orgTeamLocked(t.EnterpriseID) != nil
}

// orgTeamLocked is the org-wide install of an enterprise (a token with no
// team), or nil.
func (s *Server) orgTeamLocked(enterpriseID string) *Team {
	for _, t := range s.teams {
		if t.ID == "" && t.EnterpriseID == enterpriseID {
			return t
		}
	}
	return nil
}

// URLVerification sends the url_verification challenge (HTTP only).
func (d *Driver) URLVerification(ctx context.Context, challenge string) (Response, error) {
	b, _ := json.Marshal(map[string]any{"token": d.token(), "challenge": challenge, "type": "url_verification"})
	return d.post(ctx, PathEvents, "application/json", b, d.now(), true, nil)
}

// ViewsOf returns the ids of a user's open modal stack, bottom first; a
// convenience for tests that want the id of the modal a flow opened.
func (s *Server) ViewsOf(userID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.stacks[userID])
}
