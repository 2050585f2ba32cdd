package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	goslack "github.com/slack-go/slack"

	slackcards "github.com/crmbot/crmbot/cards/slack"
)

// Fuzz targets for every path that parses what Slack (or anyone who can
// reach the endpoints) sends. The seeds are real payload shapes from the
// Slack docs (docs.slack.dev reference/interaction-payloads, the events
// reference pages, the slash command guide), so `go test` runs them as
// regression tests; `go test -fuzz` explores around them.

// ---- seeds -----------------------------------------------------------------

// Slash command bodies: the official signing vector, the docs' example with
// an Enterprise Grid org, crmbot's own commands, and malformed forms.
var commandSeeds = []string{
	vectorBody,
	"token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001&team_domain=example&enterprise_id=E0001&enterprise_name=Globular%20Construct%20Inc&channel_id=C2147483705&channel_name=test&user_id=U2147483697&user_name=Steve&command=/weather&text=94070&response_url=https://hooks.slack.com/commands/1234/5678&trigger_id=13345224609.738474920.8088930838d88f008e0&api_app_id=A123456",
	"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T123ABC456&team_domain=contoso&channel_id=D123ABC456&channel_name=directmessage&user_id=U123ABC456&user_name=sean&command=%2Fcrm&text=new+lead&api_app_id=A123ABC456&is_enterprise_install=false&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT123ABC456%2F1234567890123%2FabcDEF&trigger_id=1234567890123.1234567890.0123456789abcdef0123456789abcdef",
	"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T123ABC456&enterprise_id=E123ABC456&enterprise_name=Contoso%20Org&is_enterprise_install=true&channel_id=C123ABC456&channel_name=sales&user_id=W123ABC456&user_name=zo%C3%AB&command=%2Fcrm&text=find+Se%C3%A1n+O%27Brien+%26+Co+%3Ctest%3E&api_app_id=A123ABC456&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT123ABC456%2F1%2Fx&trigger_id=1.2.3",
	"ssl_check=1&token=xyzz0WbapA4vBCDEFasx0q6G",
	"team_id=T1&user_id=U1",
	"team_id=&user_id=U1",
	"team_id=T1&user_id=",
	"team_id=T1&team_id=T2&user_id=U1&user_id=",
	"team_id=T1&user_id=U1&text=%zz",
	"team_id=T1;user_id=U1",
	"",
	"&&&=&=",
}

// payloadForm is an interactivity body: a form with the JSON in "payload".
func payloadForm(js string) string { return url.Values{"payload": {js}}.Encode() }

// A modal's private_metadata as the adapter writes it.
const seedMeta = `{"s":"form:lead:new","d":1,"c":"C123ABC456","t":"1712345678.000200","l":"en"}`

// viewState holds every input element type a form can submit, in Slack's
// state.values shape (including a deselected select, an untouched input
// and a search box, which Values leaves out).
const viewState = `{"values":{
 "fullname":{"fullname":{"type":"plain_text_input","value":"Seán O'Brien & Co <test>"}},
 "description":{"description":{"type":"plain_text_input","value":null}},
 "budgetamount":{"budgetamount":{"type":"number_input","value":"12500.5"}},
 "emailaddress1":{"emailaddress1":{"type":"email_text_input","value":"sean@contoso.ie"}},
 "websiteurl":{"websiteurl":{"type":"url_text_input","value":"https://contoso.ie"}},
 "estimatedclosedate":{"estimatedclosedate":{"type":"datepicker","selected_date":"2026-03-31"}},
 "calltime":{"calltime":{"type":"timepicker","selected_time":"14:30","timezone":"Europe/Dublin"}},
 "followup":{"followup":{"type":"datetimepicker","selected_date_time":1772443800}},
 "leadqualitycode":{"leadqualitycode":{"type":"static_select","selected_option":null}},
 "industrycode":{"industrycode":{"type":"static_select","selected_option":{"text":{"type":"plain_text","text":"Accounting","emoji":true},"value":"1"}}},
 "parentaccountid":{"account":{"type":"external_select","selected_option":{"text":{"type":"plain_text","text":"Contoso"},"value":"account:9"}}},
 "donotphone":{"donotphone":{"type":"checkboxes","selected_options":[{"text":{"type":"plain_text","text":"Do not call"},"value":"true"}]}},
 "donotemail":{"donotemail":{"type":"checkboxes","selected_options":[]}},
 "preferredcontactmethodcode":{"preferredcontactmethodcode":{"type":"radio_buttons","selected_option":{"text":{"type":"plain_text","text":"Email"},"value":"2"}}},
 "categories":{"categories":{"type":"multi_static_select","selected_options":[{"text":{"type":"plain_text","text":"A"},"value":"a"},{"text":{"type":"plain_text","text":"B"},"value":"b"}]}},
 "owner":{"owner":{"type":"users_select","selected_user":"U123ABC456"}},
 "watchers":{"watchers":{"type":"multi_users_select","selected_users":["U123ABC456","U222222222"]}},
 "channel":{"channel":{"type":"conversations_select","selected_conversation":"C123ABC456"}},
 "channels":{"channels":{"type":"multi_channels_select","selected_channels":["C123ABC456"]}},
 "notes":{"notes":{"type":"rich_text_input","rich_text_value":{"type":"rich_text","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"Call back "},{"type":"text","text":"Monday","style":{"bold":true}}]}]}}},
 "attachment":{"attachment":{"type":"file_input","files":[{"id":"F123ABC456","name":"quote.pdf"}]}},
 "search:lead":{"lead":{"type":"plain_text_input","value":"cont"}}
}}`

func modalView(state string) string {
	return `{"id":"V123ABC456","team_id":"T123ABC456","type":"modal","blocks":[{"type":"input","block_id":"fullname","label":{"type":"plain_text","text":"Name"},"optional":false,"dispatch_action":false,"element":{"type":"plain_text_input","action_id":"fullname","dispatch_action_config":{"trigger_actions_on":["on_enter_pressed"]}}},{"type":"actions","block_id":"nav","elements":[{"type":"button","action_id":"open","text":{"type":"plain_text","text":"Open"},"value":"lead:42"}]}],"private_metadata":` + strconv.Quote(seedMeta) + `,"callback_id":"form:lead","state":` + state + `,"hash":"156772938.1827394","title":{"type":"plain_text","text":"New lead","emoji":true},"clear_on_close":false,"notify_on_close":true,"close":{"type":"plain_text","text":"Cancel"},"submit":{"type":"plain_text","text":"Save"},"previous_view_id":null,"root_view_id":"V123ABC456","app_id":"A123ABC456","external_id":"","app_installed_team_id":"T123ABC456","bot_id":"B123ABC456"}`
}

var interactionSeeds = []string{
	// block_actions from a button in a modal (container type view).
	`{"type":"block_actions","user":{"id":"U123ABC456","username":"sean","name":"sean","team_id":"T123ABC456"},"api_app_id":"A123ABC456","token":"9s8d9as89d8as9d8as989","container":{"type":"view","view_id":"V123ABC456"},"trigger_id":"12466734323.1395872398.4f6d2f2d05c8d7bba2d3f9d13c0e8a62","team":{"id":"T123ABC456","domain":"contoso"},"enterprise":null,"is_enterprise_install":false,"view":` + modalView(`{"values":{"fullname":{"fullname":{"type":"plain_text_input","value":"Se\u00e1n"}}}}`) + `,"actions":[{"action_id":"open","block_id":"nav","text":{"type":"plain_text","text":"Open","emoji":true},"value":"lead:42","type":"button","action_ts":"1712345678.123456"}],"state":{"values":{}}}`,
	// block_actions from a message (a notification card's button).
	`{"type":"block_actions","user":{"id":"U123ABC456","username":"sean","name":"sean","team_id":"T123ABC456"},"api_app_id":"A123ABC456","token":"9s8d9as89d8as9d8as989","container":{"type":"message","message_ts":"1712345678.000200","channel_id":"C123ABC456","is_ephemeral":false},"trigger_id":"12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3","team":{"id":"T123ABC456","domain":"contoso"},"enterprise":null,"is_enterprise_install":false,"channel":{"id":"C123ABC456","name":"sales"},"message":{"type":"message","subtype":"bot_message","text":"New lead assigned","ts":"1712345678.000200","bot_id":"B123ABC456","blocks":[{"type":"section","block_id":"head","text":{"type":"mrkdwn","text":"*Contoso* assigned to you","verbatim":false}},{"type":"actions","block_id":"act","elements":[{"type":"button","action_id":"edit","text":{"type":"plain_text","text":"Edit"},"value":"lead:42"},{"type":"overflow","action_id":"more","options":[{"text":{"type":"plain_text","text":"Close"},"value":"close:lead:42"}]}]}]},"state":{"values":{}},"response_url":"https://hooks.slack.com/actions/T123ABC456/1234567890123/abcDEFghiJKL","actions":[{"action_id":"edit","block_id":"act","text":{"type":"plain_text","text":"Edit","emoji":true},"value":"lead:42","type":"button","action_ts":"1712345679.000100"}]}`,
	// block_actions from the overflow menu and from a select in the Home tab.
	`{"type":"block_actions","user":{"id":"U123ABC456","team_id":"T123ABC456"},"team":{"id":"T123ABC456","domain":"contoso"},"container":{"type":"message","message_ts":"1712345678.000200","channel_id":"C123ABC456","is_ephemeral":true},"actions":[{"type":"overflow","action_id":"more","block_id":"act","selected_option":{"text":{"type":"plain_text","text":"Close"},"value":"close:lead:42"},"action_ts":"1712345680.1"}],"response_url":"https://hooks.slack.com/actions/T1/2/3"}`,
	`{"type":"block_actions","user":{"id":"U123ABC456","team_id":"T123ABC456"},"team":{"id":"T123ABC456"},"container":{"type":"view","view_id":"VHOME123"},"view":{"id":"VHOME123","type":"home","blocks":[],"private_metadata":"","callback_id":"","state":{"values":{"settings":{"digest":{"type":"static_select","selected_option":{"text":{"type":"plain_text","text":"Daily"},"value":"daily"}}}}},"hash":"1.2"},"actions":[{"type":"static_select","action_id":"digest","block_id":"settings","selected_option":{"text":{"type":"plain_text","text":"Daily"},"value":"daily"},"action_ts":"1.2"}]}`,
	// view_submission with every element type's state.
	`{"type":"view_submission","team":{"id":"T123ABC456","domain":"contoso"},"user":{"id":"U123ABC456","username":"sean","name":"sean","team_id":"T123ABC456"},"api_app_id":"A123ABC456","token":"9s8d9as89d8as9d8as989","trigger_id":"12345.98765.abcd2358fdea","view":` + modalView(viewState) + `,"response_urls":[],"is_enterprise_install":false,"enterprise":null}`,
	// view_submission of a pushed view (depth 2) in an Enterprise Grid org.
	`{"type":"view_submission","team":{"id":"T123ABC456","domain":"contoso","enterprise_id":"E123ABC456","enterprise_name":"Contoso Org"},"user":{"id":"W123ABC456","team_id":"E123ABC456"},"enterprise":{"id":"E123ABC456","name":"Contoso Org"},"is_enterprise_install":true,"view":{"id":"V2","type":"modal","private_metadata":"{\"s\":\"x\",\"d\":2,\"p\":\"V123ABC456\",\"l\":\"fr\"}","callback_id":"form:contact","state":{"values":{}},"hash":"9.9","previous_view_id":"V123ABC456","root_view_id":"V123ABC456"},"response_urls":[]}`,
	// view_closed.
	`{"type":"view_closed","team":{"id":"T123ABC456","domain":"contoso"},"user":{"id":"U123ABC456","name":"sean"},"api_app_id":"A123ABC456","token":"9s8d9as89d8as9d8as989","view":` + modalView(`{"values":{}}`) + `,"is_cleared":false,"is_enterprise_install":false,"enterprise":null}`,
	`{"type":"view_closed","user":{"id":"U1"},"team":{"id":"T1"}}`,
	// block_suggestion from an external_select in a modal.
	`{"type":"block_suggestion","user":{"id":"U123ABC456","username":"sean","name":"sean","team_id":"T123ABC456"},"container":{"type":"view","view_id":"V123ABC456"},"api_app_id":"A123ABC456","token":"9s8d9as89d8as9d8as989","action_id":"account","block_id":"parentaccountid","value":"cont","team":{"id":"T123ABC456","domain":"contoso"},"enterprise":null,"is_enterprise_install":false,"view":` + modalView(`{"values":{}}`) + `}`,
	// Odd but well-formed JSON.
	`{"type":"block_actions","user":{"id":"U1"},"state":null,"actions":[{"type":"button"},{"name":"legacy","type":"button","value":"x"}]}`,
	`{"type":"dialog_submission","user":{"id":"U1"},"state":"opaque","submission":{"a":"b"}}`,
	`{"type":"view_submission","user":{"id":""},"view":{}}`,
	`{"type":"view_submission","user":{"id":"U1"},"view":{"state":{"values":{"b":{"a":{"type":"datetimepicker","selected_date_time":-9223372036854775808}}}}}}`,
	`null`, `[]`, `{}`, `"x"`,
}

var eventSeeds = []string{
	`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`,
	// app_home_opened, home tab.
	`{"token":"XXYYZZ","team_id":"T123ABC456","api_app_id":"A123ABC456","event":{"type":"app_home_opened","user":"U123ABC456","channel":"D123ABC456","event_ts":"1515449522000016","tab":"home","view":{"id":"V123ABC456","team_id":"T123ABC456","type":"home","blocks":[],"private_metadata":"","callback_id":"","state":{"values":{}},"hash":"1231232323.12321312","clear_on_close":false,"notify_on_close":false,"root_view_id":"V123ABC456","app_id":"A123ABC456","external_id":"","app_installed_team_id":"T123ABC456","bot_id":"B123ABC456"}},"type":"event_callback","event_id":"Ev123ABC456","event_time":1515449522000016,"authorizations":[{"enterprise_id":null,"team_id":"T123ABC456","user_id":"U123ABC456","is_bot":true,"is_enterprise_install":false}]}`,
	// app_home_opened, messages tab (ignored).
	`{"token":"XXYYZZ","team_id":"T123ABC456","api_app_id":"A123ABC456","event":{"type":"app_home_opened","user":"U123ABC456","channel":"D123ABC456","event_ts":"1515449522000016","tab":"messages"},"type":"event_callback","event_id":"Ev123ABC457","event_time":1515449522}`,
	// link_shared in a posted message, and in the composer (uuid message_ts).
	`{"token":"XXYYZZ","team_id":"T123ABC456","api_app_id":"A123ABC456","event":{"type":"link_shared","channel":"C123ABC456","is_bot_user_member":true,"user":"U123ABC456","message_ts":"123456789.9875","unfurl_id":"C123456.123456789.987501.1b90fa1278528ce6e2f6c5c2bfa1abc9a41d57d02b29d173f40399c9ffdecf4b","thread_ts":"123456621.1855","source":"conversations_history","links":[{"domain":"contoso.crm.dynamics.com","url":"https://contoso.crm.dynamics.com/main.aspx?etn=lead&id=7d1d0a5c-4b8e-ee11-8179-000d3a4b5c6d&pagetype=entityrecord"},{"domain":"example.com","url":"https://example.com/67890"}]},"type":"event_callback","authed_users":["U123ABC456","U222222222"],"event_id":"Ev123ABC458","event_time":123456789}`,
	`{"token":"XXYYZZ","team_id":"T123ABC456","api_app_id":"A123ABC456","event":{"type":"link_shared","channel":"COMPOSER","is_bot_user_member":false,"user":"U123ABC456","message_ts":"U123ABC456-909b5454-75f8-4ac4-b325-1b40e230bbd8-gryl3kb80b3wm49ihzoo35fyqoq08n2y","unfurl_id":"U123ABC456-909b5454-75f8-4ac4-b325-1b40e230bbd8-gryl3kb80b3wm49ihzoo35fyqoq08n2y","source":"composer","links":[{"domain":"contoso.crm.dynamics.com","url":"https://contoso.crm.dynamics.com/main.aspx?etn=account&id=1"}]},"type":"event_callback","event_id":"Ev123ABC459","event_time":123456789}`,
	// app_uninstalled and tokens_revoked (bot and user-only).
	`{"token":"XXYYZZ","team_id":"T123ABC456","api_app_id":"A123ABC456","event":{"type":"app_uninstalled"},"type":"event_callback","event_id":"Ev123ABC460","event_time":1234567890}`,
	`{"token":"XXYYZZ","team_id":"T123ABC456","enterprise_id":"E123ABC456","api_app_id":"A123ABC456","event":{"type":"tokens_revoked","tokens":{"oauth":["U123ABC456"],"bot":["B123ABC456"]}},"type":"event_callback","event_id":"Ev123ABC461","event_time":1234567890}`,
	`{"token":"XXYYZZ","team_id":"T123ABC456","api_app_id":"A123ABC456","event":{"type":"tokens_revoked","tokens":{"oauth":["U123ABC456"],"bot":[]}},"type":"event_callback","event_id":"Ev123ABC462","event_time":1234567890}`,
	// app_rate_limited, an unknown inner event, a missing or null event.
	`{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","type":"app_rate_limited","team_id":"T123456","minute_rate_limited":1518467820,"api_app_id":"A123456"}`,
	`{"token":"XXYYZZ","team_id":"T1","event":{"type":"no_such_event"},"type":"event_callback","event_id":"Ev1"}`,
	`{"token":"XXYYZZ","team_id":"T1","type":"event_callback","event_id":"Ev2"}`,
	`{"token":"XXYYZZ","team_id":"T1","event":null,"type":"event_callback","event_id":"Ev3"}`,
	`{"type":"url_verification"}`,
	`{"type":"url_verification","challenge":7}`,
	`{"type":"url_verification","challenge":"","challenge":"second"}`,
	`{"TYPE":"url_verification","Challenge":"case"}`,
	`{"type":"event_callback","event":{"type":"tokens_revoked","tokens":null}}`,
	`{"type":"event_callback","event":{"type":"link_shared","links":null,"message_ts":"1.2"}}`,
	``, `null`, `{`, `[]`,
}

// ---- helpers ----------------------------------------------------------------

// panicWatch is a discarding log handler that counts the adapter's
// "background work panicked" reports: background() recovers panics, so a
// panic in an event handler would otherwise go unnoticed.
type panicWatch struct{ n *atomic.Int32 }

func (h panicWatch) Enabled(context.Context, slog.Level) bool { return true }
func (h panicWatch) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panicked") {
		h.n.Add(1)
	}
	return nil
}
func (h panicWatch) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panicWatch) WithGroup(string) slog.Handler      { return h }

// refuseTransport fails every Web API call at once, so background work
// never waits on the network.
type refuseTransport struct{}

func (refuseTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("fuzz: no network")
}

// ---- targets ----------------------------------------------------------------

func FuzzVerify(f *testing.F) {
	f.Add(vectorSecret, strconv.Itoa(vectorTS), vectorSig, []byte(vectorBody), int64(10), uint(0), byte(1))
	for i, s := range commandSeeds {
		f.Add(vectorSecret, strconv.Itoa(vectorTS), Sign(vectorSecret, vectorTS, []byte(s)), []byte(s), int64(-299+i*50), uint(i*7), byte(0x20))
	}
	// Short bodies keep each run cheap, so the fuzzer's minimization of an
	// interesting input does not stall a short -fuzztime.
	view := []byte(payloadForm(`{"type":"view_closed","user":{"id":"U1"},"team":{"id":"T1"}}`))
	f.Add("s3cr3t", "1712345678", "v0=", view, int64(7), uint(len(view)-1), byte(0x80))
	f.Add(vectorSecret, "0", "", []byte(eventSeeds[0]), int64(300), uint(5), byte(0xff))
	f.Add(vectorSecret, "-1", "v0=00", []byte{}, int64(-300), uint(0), byte(0))
	f.Add(" ", "99999999999999999999", "v1="+vectorSig[3:], []byte("ssl_check=1"), int64(1<<62), uint(3), byte(9))
	f.Add(vectorSecret, "+1531420618", strings.ToUpper(vectorSig), bytes.Repeat([]byte("x"), 513), int64(0), uint(256), byte(1))

	const maxBody = 512
	base := time.Unix(vectorTS, 0)
	f.Fuzz(func(t *testing.T, secret, ts, sig string, body []byte, skew int64, pos uint, delta byte) {
		v, err := NewVerifier(secret, func() time.Time { return base }, maxBody)
		if err != nil {
			if strings.TrimSpace(secret) != "" {
				t.Fatalf("NewVerifier(%q): %v", secret, err)
			}
			secret = vectorSecret
			if v, err = NewVerifier(secret, func() time.Time { return base }, maxBody); err != nil {
				t.Fatal(err)
			}
		}

		// Arbitrary headers: never a panic, and an error is one of ours.
		if err := v.Check(ts, sig, body); err != nil && !errors.Is(err, ErrStale) && !errors.Is(err, ErrBadSignature) {
			t.Fatalf("Check: unexpected error %v", err)
		}
		for _, cl := range []int64{int64(len(body)), -1} {
			r, _ := http.NewRequest(http.MethodPost, "http://x/slack/events", bytes.NewReader(body))
			r.ContentLength = cl
			r.Header.Set("X-Slack-Request-Timestamp", ts)
			r.Header.Set("X-Slack-Signature", sig)
			got, err := v.Read(r)
			if len(body) > maxBody {
				if !errors.Is(err, ErrBodyTooLarge) {
					t.Fatalf("Read of %d bytes (limit %d, content-length %d): %v, want ErrBodyTooLarge", len(body), maxBody, cl, err)
				}
				continue
			}
			if err != nil && !errors.Is(err, ErrStale) && !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Read: unexpected error %v", err)
			}
			if !bytes.Equal(got, body) {
				t.Fatalf("Read returned %q, want the body %q", got, body)
			}
			_ = isSSLCheck(r, got)
		}

		// A genuine signature at a timestamp within the window verifies.
		sec := vectorTS + skew%300 // |skew%300| < 300 s: inside the 5-minute window
		tss := strconv.FormatInt(sec, 10)
		good := Sign(secret, sec, body)
		if err := v.Check(tss, good, body); err != nil {
			t.Fatalf("genuine signature at skew %d s refused: %v", sec-vectorTS, err)
		}
		if len(body) <= maxBody {
			r, _ := http.NewRequest(http.MethodPost, "http://x/slack/commands", bytes.NewReader(body))
			r.Header.Set("X-Slack-Request-Timestamp", tss)
			r.Header.Set("X-Slack-Signature", good)
			got, err := v.Read(r)
			if err != nil {
				t.Fatalf("Read of a genuine request: %v", err)
			}
			again, _ := io.ReadAll(r.Body)
			if !bytes.Equal(got, body) || !bytes.Equal(again, body) {
				t.Fatalf("Read: body %q, r.Body after %q, want %q", got, again, body)
			}
		}
		// The same signature at a timestamp outside the window does not.
		if err := v.Check(strconv.FormatInt(vectorTS+301+max(skew, 0)%1000, 10), Sign(secret, vectorTS+301+max(skew, 0)%1000, body), body); !errors.Is(err, ErrStale) {
			t.Fatalf("stale request: %v, want ErrStale", err)
		}

		// Any 1-byte change of the body fails: a byte replaced, removed or
		// added.
		if len(body) > 0 {
			i := int(pos % uint(len(body)))
			d := delta
			if d == 0 {
				d = 1
			}
			changed := bytes.Clone(body)
			changed[i] ^= d
			if err := v.Check(tss, good, changed); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("body with byte %d changed (%#x→%#x) verified: %v", i, body[i], changed[i], err)
			}
			removed := append(bytes.Clone(body[:i]), body[i+1:]...)
			if err := v.Check(tss, good, removed); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("body with byte %d removed verified: %v", i, err)
			}
		}
		added := append(bytes.Clone(body), delta)
		if err := v.Check(tss, good, added); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("body with a byte added verified: %v", err)
		}
		// And the genuine signature is bound to its timestamp.
		if err := v.Check(strconv.FormatInt(sec+1, 10), good, body); !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrStale) {
			t.Fatalf("signature replayed at another timestamp verified: %v", err)
		}
	})
}

func FuzzParseCommand(f *testing.F) {
	for _, s := range commandSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		cmd, err := parseCommand(body)
		if err != nil {
			return
		}
		if cmd.TeamID == "" || cmd.UserID == "" {
			t.Fatalf("parseCommand(%q) = team %q user %q, want both set", body, cmd.TeamID, cmd.UserID)
		}
		// The fields are the form's first values, decoded.
		v, err := url.ParseQuery(string(body))
		if err != nil {
			t.Fatalf("parseCommand accepted a body url.ParseQuery refuses: %v", err)
		}
		if cmd.TeamID != v.Get("team_id") || cmd.UserID != v.Get("user_id") || cmd.Text != v.Get("text") || cmd.Command != v.Get("command") {
			t.Fatalf("parseCommand(%q) = %+v, disagrees with the form", body, cmd)
		}
	})
}

func FuzzParseInteraction(f *testing.F) {
	for _, s := range interactionSeeds {
		f.Add([]byte(payloadForm(s)))
	}
	// Raw (not form-encoded) JSON, as a misconfigured proxy might send it.
	f.Add([]byte(interactionSeeds[0]))
	f.Add([]byte("payload="))
	f.Add([]byte("payload=%7B%7D&payload=x"))
	f.Add([]byte("payload=%zz"))
	f.Fuzz(func(t *testing.T, body []byte) {
		ic, err := parseInteraction(body)
		if err != nil {
			return
		}
		if ic.User.ID == "" {
			t.Fatalf("parseInteraction(%q) accepted a payload without a user", body)
		}
		// What the adapter reads next from a parsed payload.
		m := decodeMeta(ic.View.PrivateMetadata)
		if m.Depth < 1 {
			t.Fatalf("decodeMeta(%q).Depth = %d", ic.View.PrivateMetadata, m.Depth)
		}
		_ = slackcards.Values(ic.View.State)
		if ic.BlockActionState != nil {
			_ = slackcards.Values(&goslack.ViewState{Values: ic.BlockActionState.Values})
		}
		for _, a := range ic.ActionCallback.BlockActions {
			if a == nil {
				t.Fatalf("parseInteraction(%q): nil block action", body)
			}
		}
	})
}

func FuzzEvent(f *testing.F) {
	for _, s := range eventSeeds {
		f.Add([]byte(s))
	}
	panics := &atomic.Int32{}
	n := &atomic.Int32{}
	a := &Adapter{Core: countingCore{n}, Tokens: StaticToken("xoxb-fuzz"), SigningSecret: vectorSecret,
		APIURL: "http://127.0.0.1:1/api/", HTTPClient: &http.Client{Transport: refuseTransport{}, Timeout: time.Second},
		Logger: slog.New(panicWatch{panics})}
	if err := a.Init(true); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		before := panics.Load()
		ack, err := a.event(context.Background(), body)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if werr := a.Wait(ctx); werr != nil {
			t.Fatalf("background work for %q still running: %v", body, werr)
		}
		if p := panics.Load(); p != before {
			t.Fatalf("background work for %q panicked (recovered and logged)", body)
		}
		if err != nil {
			if ack != nil {
				t.Fatalf("event(%q) = %v with error %v", body, ack, err)
			}
			return
		}
		var outer struct {
			Type      string `json:"type"`
			Challenge string `json:"challenge"`
		}
		if json.Unmarshal(body, &outer) == nil && outer.Type == "url_verification" {
			if got, ok := ack.(urlVerification); !ok || got.Challenge != outer.Challenge {
				t.Fatalf("url_verification %q answered %#v, want the challenge %q", body, ack, outer.Challenge)
			}
		} else if ack != nil {
			t.Fatalf("event(%q) = %#v, want an empty ack", body, ack)
		}
	})
}

// TestFuzzSeeds checks that the realistic seeds are read as what they are,
// so the fuzz targets start from payloads that reach the interesting code.
func TestFuzzSeeds(t *testing.T) {
	for _, s := range commandSeeds[:4] {
		if _, err := parseCommand([]byte(s)); err != nil {
			t.Errorf("parseCommand(%q): %v", s, err)
		}
	}
	wantTypes := []goslack.InteractionType{goslack.InteractionTypeBlockActions, goslack.InteractionTypeBlockActions,
		goslack.InteractionTypeBlockActions, goslack.InteractionTypeBlockActions, goslack.InteractionTypeViewSubmission,
		goslack.InteractionTypeViewSubmission, goslack.InteractionTypeViewClosed, goslack.InteractionTypeViewClosed,
		goslack.InteractionTypeBlockSuggestion}
	for i, want := range wantTypes {
		ic, err := parseInteraction([]byte(payloadForm(interactionSeeds[i])))
		if err != nil || ic.Type != want {
			t.Errorf("interaction seed %d: type %q, error %v; want %q", i, ic.Type, err, want)
		}
	}
	ic, err := parseInteraction([]byte(payloadForm(interactionSeeds[4])))
	if err != nil {
		t.Fatal(err)
	}
	vals := slackcards.Values(ic.View.State)
	for k, want := range map[string]string{"fullname": "Seán O'Brien & Co <test>", "description": "", "budgetamount": "12500.5",
		"estimatedclosedate": "2026-03-31", "leadqualitycode": "", "industrycode": "1", "parentaccountid": "account:9",
		"donotphone": "true", "donotemail": "false", "emailaddress1": "sean@contoso.ie"} {
		if vals[k] != want {
			t.Errorf("Values[%q] = %q, want %q", k, vals[k], want)
		}
	}
	if _, ok := vals["search:lead"]; ok {
		t.Error("Values kept the search box")
	}
	if m := decodeMeta(ic.View.PrivateMetadata); m.State != "form:lead:new" || m.Depth != 1 || m.Channel != "C123ABC456" || m.TS != "1712345678.000200" || m.Lang != "en" {
		t.Errorf("decodeMeta(%q) = %+v", ic.View.PrivateMetadata, m)
	}
	if ic.View.State == nil || len(ic.View.State.Values) != 22 {
		t.Errorf("view_submission seed state has %d blocks, want 22", len(ic.View.State.Values))
	}

	a := &Adapter{Core: countingCore{}, Tokens: StaticToken("xoxb-fuzz"), SigningSecret: vectorSecret,
		HTTPClient: &http.Client{Transport: refuseTransport{}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := a.Init(true); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Wait(ctx)
	}()
	ack, err := a.event(context.Background(), []byte(eventSeeds[0]))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(ack)
	if string(b) != `{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}` {
		t.Errorf("url_verification ack = %s", b)
	}
	for i, s := range eventSeeds[1:9] {
		if ack, err := a.event(context.Background(), []byte(s)); err != nil || ack != nil {
			t.Errorf("event seed %d: ack %v, error %v; want an empty ack", i+1, ack, err)
		}
	}
}

func FuzzDecodeMeta(f *testing.F) {
	f.Add(seedMeta, "form:lead:new", "C123ABC456", "1712345678.000200", "", "en", 1)
	f.Add(`{"s":"x","d":2,"p":"V123ABC456","l":"fr"}`, `{"step":2,"id":"7d1d0a5c-4b8e-ee11-8179-000d3a4b5c6d"}`, "", "", "V123ABC456", "fr", 2)
	f.Add(`{"d":3,"c":"D1","t":"1.2","p":"V2"}`, "", "D1", "1.2", "V2", "", 3)
	f.Add("", "", "", "", "", "", 0)
	f.Add("not json", "Seán O'Brien & Co <test>", "C1", "1.1", "V1", "ga-IE", -1)
	f.Add(`{"d":-7}`, strings.Repeat("é", 1500), "C1", "1.1", "V1", "en", 9)
	f.Add(`{"d":9223372036854775807}`, strings.Repeat("\"", 1000), "", "", "", "", 1<<40)
	f.Add(`{"d":1e3}`, strings.Repeat("<", 500), "\x00", "\u2028", "\xff", "\U0001F600", 4)
	f.Add(`{"s":7}`, strings.Repeat("a", 2980), "", "", "", "", 1)
	f.Add(`null`, "", "", "", "", "", 1)
	f.Add(`[]`, "", "", "", "", "", 1)
	f.Fuzz(func(t *testing.T, s, state, channel, ts, parent, lang string, depth int) {
		d := decodeMeta(s)
		if d.Depth < 1 {
			t.Fatalf("decodeMeta(%q).Depth = %d, want >= 1", s, d.Depth)
		}
		// Re-encoding what was decoded reads back the same.
		if enc, err := d.encode(); err == nil {
			if again := decodeMeta(enc); again != d {
				t.Fatalf("decodeMeta(%q) = %+v, re-encoded %q reads %+v", s, d, enc, again)
			}
		}

		m := meta{State: state, Depth: depth, Channel: channel, TS: ts, Parent: parent, Lang: lang}
		raw, _ := json.Marshal(m)
		enc, err := m.encode()
		if err != nil {
			if len(raw) <= slackcards.MaxPrivateMetadata || !errors.Is(err, slackcards.ErrTooLarge) {
				t.Fatalf("encode of %d bytes: %v", len(raw), err)
			}
			return
		}
		if len(enc) > slackcards.MaxPrivateMetadata {
			t.Fatalf("encode returned %d characters, more than Slack's %d", len(enc), slackcards.MaxPrivateMetadata)
		}
		got := decodeMeta(enc)
		want := m
		want.Depth = max(depth, 1)
		for _, s := range []string{state, channel, ts, parent, lang} {
			if !utf8.ValidString(s) {
				// JSON carries only UTF-8: invalid bytes come back as U+FFFD.
				want = decodeMeta(string(raw))
				break
			}
		}
		if got != want {
			t.Fatalf("meta %+v encoded as %q decodes to %+v, want %+v", m, enc, got, want)
		}
		// A pushed view's meta round-trips too.
		if depth < 1<<30 {
			c := got.child("V" + got.Parent) // got holds only UTF-8, like a real view id
			if cenc, err := c.encode(); err == nil {
				if back := decodeMeta(cenc); back != c {
					t.Fatalf("child %+v encoded as %q decodes to %+v", c, cenc, back)
				}
			}
		}
	})
}

func FuzzValues(f *testing.F) {
	f.Add([]byte(viewState))
	f.Add([]byte(`{"values":{}}`))
	f.Add([]byte(`{"values":null}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"values":{"b":{}}}`))
	f.Add([]byte(`{"values":{"b":{"a":{}}}}`))
	f.Add([]byte(`{"values":{"b":{"a":{"type":"checkboxes","selected_options":null}}}}`))
	f.Add([]byte(`{"values":{"b":{"a":{"type":"checkboxes","selected_options":[{"value":"false"},{"value":"true"}]}}}}`))
	f.Add([]byte(`{"values":{"b":{"a":{"type":"datetimepicker","selected_date_time":-62135596801}}}}`))
	f.Add([]byte(`{"values":{"b":{"a":{"type":"datetimepicker","selected_date_time":9223372036854775807}}}}`))
	f.Add([]byte(`{"values":{"b":{"a":{"type":"external_select","selected_option":{"value":"account:9"}},"z":{"type":"plain_text_input","value":"second"}}}}`))
	f.Add([]byte(`{"values":{"search:x":{"x":{"type":"plain_text_input","value":"q"}},"":{"":{"type":"","value":""}}}}`))
	f.Add([]byte(`{"values":{"notes":{"notes":{"type":"rich_text_input","rich_text_value":{"type":"rich_text","elements":[{"type":"rich_text_list","style":"bullet","elements":[{"type":"rich_text_section","elements":[{"type":"link","url":"https://x"}]}]}]}}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = slackcards.Values(nil)
		var st goslack.ViewState
		if err := json.Unmarshal(data, &st); err != nil {
			return
		}
		got := slackcards.Values(&st)
		if got == nil {
			t.Fatal("Values returned nil")
		}
		for k, v := range got {
			if _, ok := st.Values[k]; !ok {
				t.Fatalf("Values invented block %q", k)
			}
			if strings.HasPrefix(k, slackcards.SearchBlockPrefix) {
				t.Fatalf("Values kept search box %q = %q", k, v)
			}
		}
		for k, actions := range st.Values {
			if len(actions) == 0 || strings.HasPrefix(k, slackcards.SearchBlockPrefix) {
				continue
			}
			if _, ok := got[k]; !ok {
				t.Fatalf("Values dropped input block %q", k)
			}
			for _, a := range actions {
				if len(actions) == 1 && a.Type == "checkboxes" && got[k] != "true" && got[k] != "false" {
					t.Fatalf("checkbox %q read as %q", k, got[k])
				}
			}
		}
	})
}
