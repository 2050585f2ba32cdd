package slackfake

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

func TestSignatureVector(t *testing.T) {
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	got := Signature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", []byte(body))
	if want := "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"; got != want {
		t.Fatalf("got %s want %s", got, want)
	}
}

const secret = "test-signing-secret"

// bot is a minimal "our server": verifies signatures with slack-go and
// parses payloads with slack-go, answering with a scripted function.
type bot struct {
	mu       sync.Mutex
	slash    []slack.SlashCommand
	cbs      []slack.InteractionCallback
	events   []slackevents.EventsAPIEvent
	onSubmit func(slack.InteractionCallback) any
	onSlash  func(slack.SlashCommand)
}

func (b *bot) handler(t *testing.T) http.Handler {
	mux := http.NewServeMux()
	verify := func(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
		sv, err := slack.NewSecretsVerifier(r.Header, secret)
		if err != nil {
			http.Error(w, err.Error(), 401)
			return nil, false
		}
		body, _ := io.ReadAll(r.Body)
		_, _ = sv.Write(body)
		if err := sv.Ensure(); err != nil {
			http.Error(w, err.Error(), 401)
			return nil, false
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		return body, true
	}
	mux.HandleFunc("/slack/commands", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := verify(w, r); !ok {
			return
		}
		cmd, err := slack.SlashCommandParse(r)
		if err != nil {
			t.Error(err)
		}
		b.mu.Lock()
		b.slash = append(b.slash, cmd)
		b.mu.Unlock()
		if b.onSlash != nil {
			b.onSlash(cmd)
		}
	})
	mux.HandleFunc("/slack/interactivity", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := verify(w, r); !ok {
			return
		}
		cb, err := slack.InteractionCallbackParse(r)
		if err != nil {
			t.Error(err)
		}
		b.mu.Lock()
		b.cbs = append(b.cbs, cb)
		b.mu.Unlock()
		if cb.Type == slack.InteractionTypeViewSubmission && b.onSubmit != nil {
			if ans := b.onSubmit(cb); ans != nil {
				_ = json.NewEncoder(w).Encode(ans)
			}
		}
	})
	mux.HandleFunc("/slack/events", func(w http.ResponseWriter, r *http.Request) {
		body, ok := verify(w, r)
		if !ok {
			return
		}
		ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
		if err != nil {
			t.Error(err)
		}
		if ev.Type == slackevents.URLVerification {
			var c slackevents.ChallengeResponse
			_ = json.Unmarshal(body, &c)
			_, _ = w.Write([]byte(c.Challenge))
			return
		}
		b.mu.Lock()
		b.events = append(b.events, ev)
		b.mu.Unlock()
	})
	return mux
}

func newDriver(t *testing.T) (*Driver, *bot, *slack.Client) {
	s, _, api := newFake(t)
	b := &bot{}
	srv := httptest.NewServer(b.handler(t))
	t.Cleanup(srv.Close)
	return &Driver{Fake: s, BaseURL: srv.URL, SigningSecret: secret, Now: time.Now}, b, api
}

var ada = UserRef{TeamID: teamID, UserID: userID}

func txt(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func opt(v, label string) *slack.OptionBlockObject {
	return slack.NewOptionBlockObject(v, txt(label), nil)
}

func TestSlashOpenClickSubmit(t *testing.T) {
	d, b, api := newDriver(t)
	ctx := context.Background()
	b.onSlash = func(cmd slack.SlashCommand) {
		v := modal("Deal",
			slack.NewActionBlock("act", slack.NewButtonBlockElement("go", "1", txt("Go"))),
			slack.NewInputBlock("name", txt("Name"), nil, slack.NewPlainTextInputBlockElement(nil, "name_in")),
		)
		if _, err := api.OpenView(cmd.TriggerID, v); err != nil {
			t.Error(err)
		}
	}
	r, err := d.Slash(ctx, ada, "new deal")
	if err != nil || r.Status != 200 {
		t.Fatalf("slash: %+v %v", r, err)
	}
	if b.slash[0].Command != "/crm" || b.slash[0].Text != "new deal" || b.slash[0].UserID != userID {
		t.Fatalf("parsed = %+v", b.slash[0])
	}
	top, ok := d.Fake.TopView(userID)
	if !ok {
		t.Fatal("no modal opened")
	}
	if _, err := d.ClickView(ctx, ada, top.ID, "Go"); err != nil {
		t.Fatal(err)
	}
	cb := b.cbs[0]
	if cb.Type != slack.InteractionTypeBlockActions || cb.Container.ViewID != top.ID || cb.View.ID != top.ID ||
		len(cb.ActionCallback.BlockActions) != 1 || cb.ActionCallback.BlockActions[0].ActionID != "go" ||
		cb.ActionCallback.BlockActions[0].Value != "1" || cb.TriggerID == "" {
		t.Fatalf("block_actions = %+v", cb)
	}
	// The click's trigger can push onto this modal.
	if _, err := api.PushView(cb.TriggerID, modal("Next", section("n", "x"))); err != nil {
		t.Fatalf("push with click trigger: %v", err)
	}
	pushed, _ := d.Fake.TopView(userID)
	// Submitting the pushed view with an empty answer closes just it.
	if _, err := d.Submit(ctx, ada, pushed.ID); err != nil {
		t.Fatal(err)
	}
	if st := d.Fake.Stack(userID); len(st) != 1 || st[0].ID != top.ID {
		t.Fatalf("stack after submit = %+v", st)
	}
	// Required input empty → Slack does not submit.
	if _, err := d.Submit(ctx, ada, top.ID); err == nil {
		t.Fatal("submit with empty required input")
	}
	b.onSubmit = func(cb slack.InteractionCallback) any {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{"name": "taken", "act": "bad key"})
	}
	if err := d.Type(top.ID, "name", "Acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Submit(ctx, ada, top.ID); err != nil {
		t.Fatal(err)
	}
	v, _ := d.Fake.View(top.ID)
	if v.Errors["name"] != "taken" || !v.Open {
		t.Fatalf("view after errors = %+v", v)
	}
	if vs := d.Fake.Violations(); len(vs) != 1 || vs[0].Kind != "errors_key_not_input" {
		t.Fatalf("violations = %+v", vs)
	}
	b.onSubmit = func(cb slack.InteractionCallback) any { return slack.NewClearViewSubmissionResponse() }
	if _, err := d.Submit(ctx, ada, top.ID); err != nil {
		t.Fatal(err)
	}
	if len(d.Fake.Stack(userID)) != 0 {
		t.Fatal("clear did not close the stack")
	}
}

func TestSubmitEncodesEveryElement(t *testing.T) {
	d, b, api := newDriver(t)
	ctx := context.Background()
	in := func(id string, el slack.BlockElement) slack.Block {
		return slack.NewInputBlock(id, txt(id), nil, el)
	}
	initial := slack.NewPlainTextInputBlockElement(nil, "a")
	initial.InitialValue = "preset"
	ds := slack.NewDatePickerBlockElement("a")
	dts := slack.NewDateTimePickerBlockElement("a")
	ss := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, nil, "a", opt("v1", "One"), opt("v2", "Two"))
	ssInit := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, nil, "a", opt("v1", "One"), opt("v2", "Two"))
	ssInit.InitialOption = opt("v2", "Two")
	es := slack.NewOptionsSelectBlockElement(slack.OptTypeExternal, nil, "a")
	cb := slack.NewCheckboxGroupsBlockElement("a", opt("x", "X"), opt("y", "Y"))
	num := slack.NewNumberInputBlockElement(nil, "a", false)
	empty := in("empty", slack.NewPlainTextInputBlockElement(nil, "a"))
	empty.(*slack.InputBlock).Optional = true
	v := modal("All",
		in("text", slack.NewPlainTextInputBlockElement(nil, "a")),
		in("initial", initial),
		empty,
		in("num", num),
		in("date", ds),
		in("dt", dts),
		in("static", ss),
		in("static_init", ssInit),
		in("ext", es),
		in("checks", cb),
	)
	resp, err := api.OpenView(d.Fake.NewTrigger(userID, teamID), v)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.ID
	for blk, val := range map[string]any{
		"text": "hello", "num": "42", "date": "2025-01-31", "dt": int64(1738300000),
		"static": "One", "ext": SelectOption{Value: "acct_1", Label: "Acme"}, "checks": []string{"Y"},
	} {
		if err := d.Type(id, blk, val); err != nil {
			t.Fatalf("type %s: %v", blk, err)
		}
	}
	if _, err := d.Submit(ctx, ada, id); err != nil {
		t.Fatal(err)
	}
	got := b.cbs[len(b.cbs)-1]
	sv := got.View.State.Values
	checks := map[string]bool{
		"text":        sv["text"]["a"].Value == "hello" && sv["text"]["a"].Type == "plain_text_input",
		"initial":     sv["initial"]["a"].Value == "preset",
		"empty":       sv["empty"]["a"].Value == "",
		"num":         sv["num"]["a"].Value == "42" && sv["num"]["a"].Type == "number_input",
		"date":        sv["date"]["a"].SelectedDate == "2025-01-31",
		"dt":          sv["dt"]["a"].SelectedDateTime == 1738300000,
		"static":      sv["static"]["a"].SelectedOption.Value == "v1" && sv["static"]["a"].SelectedOption.Text.Text == "One",
		"static_init": sv["static_init"]["a"].SelectedOption.Value == "v2",
		"ext":         sv["ext"]["a"].SelectedOption.Value == "acct_1" && sv["ext"]["a"].SelectedOption.Text.Text == "Acme",
		"checks":      len(sv["checks"]["a"].SelectedOptions) == 1 && sv["checks"]["a"].SelectedOptions[0].Value == "y",
	}
	for k, ok := range checks {
		if !ok {
			t.Errorf("%s encoded wrong: %+v", k, sv[k])
		}
	}
	// Empty text input is sent as JSON null, as Slack does.
	d.Fake.mu.Lock()
	raw, _ := json.Marshal(d.Fake.stateLocked(d.Fake.views[id], true)["empty"])
	d.Fake.mu.Unlock()
	if string(raw) != `{"a":{"type":"plain_text_input","value":null}}` {
		t.Errorf("empty input = %s", raw)
	}
}

func TestEventsAndURLVerification(t *testing.T) {
	d, b, _ := newDriver(t)
	ctx := context.Background()
	r, err := d.URLVerification(ctx, "chal-123")
	if err != nil || string(r.Body) != "chal-123" {
		t.Fatalf("url_verification: %+v %v", r, err)
	}
	id, r, err := d.Event(ctx, teamID, map[string]any{"type": "app_home_opened", "user": userID, "channel": "D1", "tab": "home"}, EventOpts{RetryNum: 1, RetryReason: "http_timeout"})
	if err != nil || r.Status != 200 || id == "" {
		t.Fatalf("event: %+v %v", r, err)
	}
	ev := b.events[0]
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || cb.EventID != id || ev.TeamID != teamID {
		t.Fatalf("parsed = %+v", ev)
	}
	if _, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent); !ok {
		t.Fatalf("inner = %T", ev.InnerEvent.Data)
	}
	// Bad signature is refused by slack-go's verifier.
	d2 := *d
	d2.SigningSecret = "wrong"
	if r, _ := d2.Raw(ctx, PathEvents, "application/json", []byte(`{}`), time.Now(), true); r.Status != 401 {
		t.Fatalf("bad signature status %d", r.Status)
	}
}

func TestSocketModeClient(t *testing.T) {
	s, _, _ := newFake(t)
	api := slack.New(botTok, slack.OptionAPIURL(s.URL()), slack.OptionAppLevelToken(appTok))
	client := socketmode.New(api)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = client.RunContext(ctx) }()
	go func() {
		for evt := range client.Events {
			switch evt.Type {
			case socketmode.EventTypeEventsAPI, socketmode.EventTypeSlashCommand:
				_ = client.Ack(*evt.Request, map[string]any{"text": "got " + string(evt.Type)})
			case socketmode.EventTypeInteractive:
				_ = client.Ack(*evt.Request)
			}
		}
	}()
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if err := s.WaitSocket(wctx); err != nil {
		t.Fatal(err)
	}
	d := &Driver{Fake: s, Socket: true}
	id, r, err := d.Event(wctx, teamID, map[string]any{"type": "app_home_opened", "user": userID, "tab": "home"})
	if err != nil || id == "" {
		t.Fatal(err)
	}
	if string(r.Body) != `{"text":"got events_api"}` {
		t.Fatalf("ack = %s", r.Body)
	}
	r, err = d.Slash(wctx, ada, "hi")
	if err != nil || string(r.Body) != `{"text":"got slash_commands"}` {
		t.Fatalf("slash ack = %s %v", r.Body, err)
	}
	if e := s.Ephemerals(); len(e) != 1 || e[0].Text != "got slash_commands" {
		t.Fatalf("immediate answer = %+v", e)
	}
}
