package slack_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	goslack "github.com/slack-go/slack"

	"github.com/crmbot/crmbot/bot"
	"github.com/crmbot/crmbot/bot/slack/slackfake"
	"github.com/crmbot/crmbot/cards"
	"github.com/crmbot/crmbot/store"
)

// Proactive posts through Send (bot.SendOptions): keyed posts carry their
// key as message metadata, a retry with Recover finds the earlier post in
// the conversation's history instead of posting again, and a notification
// channel the bot cannot write to falls back to the user's DM. All through
// real HTTP against the fake Slack, which never deduplicates.

// warnings records the Warn (and above) records the adapter logs.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, b.String())
	return nil
}
func (w *warnings) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnings) WithGroup(string) slog.Handler      { return w }

func (w *warnings) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.msgs...)
}

// sendRig is a rig with one Slack user (not linked: Send does not need a
// link) and the adapter's warnings recorded.
type sendRig struct {
	*rig
	u    *user
	to   store.ChatUser
	warn *warnings
}

func newSendRig(t *testing.T) *sendRig {
	r := newRig(t)
	w := &warnings{}
	r.ad.Logger = slog.New(w) // before any request: nothing reads it yet
	u := r.user(demoEmail(0), "en-US")
	return &sendRig{rig: r, u: u, to: store.ChatUser{Platform: store.PlatformSlack, Tenant: teamID, UserID: u.ref.UserID}, warn: w}
}

func note(s string) cards.View { return &cards.Message{Title: "Assigned to you", Text: []string{s}} }

func (s *sendRig) send(v cards.View, opts bot.SendOptions) bot.MessageRef {
	s.t.Helper()
	ref, err := s.ad.Send(ctxT(s.t), s.to, v, opts)
	if err != nil {
		s.t.Fatalf("Send(%+v): %v", opts, err)
	}
	if ref.Platform != store.PlatformSlack || ref.Conversation == "" || ref.ID == "" {
		s.t.Fatalf("Send(%+v) = %+v, an incomplete reference", opts, ref)
	}
	return ref
}

func (s *sendRig) posts() int { return len(s.fake.Calls("chat.postMessage")) }

// keyOf returns the notification key a message carries ("" without one).
func keyOf(m slackfake.Message) string {
	if m.Metadata == nil || m.Metadata.EventType != "crmbot_notification" {
		return ""
	}
	k, _ := m.Metadata.EventPayload["key"].(string)
	return k
}

func (s *sendRig) messageAt(ref bot.MessageRef) slackfake.Message {
	s.t.Helper()
	for _, m := range s.fake.Messages(ref.Conversation) {
		if m.TS == ref.ID {
			return m
		}
	}
	s.t.Fatalf("no message %s in %s", ref.ID, ref.Conversation)
	return slackfake.Message{}
}

// A keyed post carries {"event_type":"crmbot_notification",
// "event_payload":{"key":…}}; an unkeyed one carries no metadata.
func TestSendKeyedPostCarriesMetadata(t *testing.T) {
	s := newSendRig(t)
	ref := s.send(note("Call Ada back"), bot.SendOptions{Key: "assign/task/1/chloe"})
	m := s.messageAt(ref)
	if ref.Conversation != s.fake.DMChannel(s.u.ref.UserID) {
		t.Fatalf("posted to %s, want the DM %s", ref.Conversation, s.fake.DMChannel(s.u.ref.UserID))
	}
	if m.Metadata == nil || m.Metadata.EventType != "crmbot_notification" || keyOf(m) != "assign/task/1/chloe" || len(m.Metadata.EventPayload) != 1 {
		t.Fatalf("metadata = %+v, want crmbot_notification with the key", m.Metadata)
	}
	mustContain(t, "the post", text(m.Blocks), "Call Ada back")

	plain := s.messageAt(s.send(note("Hello"), bot.SendOptions{}))
	if plain.Metadata != nil {
		t.Fatalf("an unkeyed post carries metadata %+v", plain.Metadata)
	}
	if c := s.fake.Calls("conversations.history"); len(c) != 0 {
		t.Fatalf("a post without Recover read the history: %+v", c)
	}
}

// A retry with Recover finds the earlier post by its key (among other
// posts, some keyed) and posts nothing.
func TestSendRecoverFindsEarlierPost(t *testing.T) {
	s := newSendRig(t)
	first := s.send(note("Call Ada back"), bot.SendOptions{Key: "k-1"})
	s.send(note("Another"), bot.SendOptions{Key: "k-2"})
	s.send(note("Plain"), bot.SendOptions{})
	before, posts := len(s.u.dm()), s.posts()

	got := s.send(note("Call Ada back"), bot.SendOptions{Key: "k-1", Recover: true})
	if got != first {
		t.Fatalf("Recover returned %+v, want the earlier post %+v", got, first)
	}
	if n := len(s.u.dm()); n != before || s.posts() != posts {
		t.Fatalf("Recover posted again: %d messages (was %d), %d posts (was %d)", n, before, s.posts(), posts)
	}
	h := s.fake.Calls("conversations.history")
	if len(h) != 1 || h[0].Error != "" || h[0].Param("channel") != first.Conversation || h[0].Param("include_all_metadata") != "1" ||
		h[0].Param("limit") != "100" || h[0].Param("cursor") != "" {
		t.Fatalf("history calls = %+v, want one page of the DM with metadata", h)
	}
	if len(s.warn.all()) != 0 {
		t.Fatalf("warnings: %q", s.warn.all())
	}
}

// Recover with no earlier post (the first attempt died before Slack took
// it) posts exactly once, keyed.
func TestSendRecoverWithoutEarlierPostPostsOnce(t *testing.T) {
	s := newSendRig(t)
	s.send(note("Other"), bot.SendOptions{Key: "k-other"})
	before := len(s.u.dm())
	ref := s.send(note("Call Ada back"), bot.SendOptions{Key: "k-1", Recover: true})
	if n := len(s.u.dm()); n != before+1 {
		t.Fatalf("%d new messages, want 1", n-before)
	}
	if keyOf(s.messageAt(ref)) != "k-1" {
		t.Fatalf("the post carries %+v", s.messageAt(ref).Metadata)
	}
	if len(s.fake.Calls("conversations.history")) != 1 {
		t.Fatal("Recover did not read the history")
	}
	// A second retry now finds it.
	if again := s.send(note("Call Ada back"), bot.SendOptions{Key: "k-1", Recover: true}); again != ref || len(s.u.dm()) != before+1 {
		t.Fatalf("the next retry returned %+v and left %d new messages", again, len(s.u.dm())-before)
	}
}

// Only the bot's own post counts: the same metadata posted by another app
// into the conversation is not taken for the earlier attempt.
func TestSendRecoverIgnoresOtherAppsPosts(t *testing.T) {
	s := newSendRig(t)
	s.fake.AddTeam(slackfake.Team{ID: "T0OTHERAPP", Name: "Other app", BotToken: "xoxb-other-app", BotUserID: "UOTHER01", BotID: "BOTHER01"})
	other := goslack.New("xoxb-other-app", goslack.OptionAPIURL(s.fake.URL()))
	dm := s.fake.DMChannel(s.u.ref.UserID)
	if _, _, err := other.PostMessageContext(ctxT(t), dm, goslack.MsgOptionText("spoof", false),
		goslack.MsgOptionMetadata(goslack.SlackMetadata{EventType: "crmbot_notification", EventPayload: map[string]any{"key": "k-1"}})); err != nil {
		t.Fatal(err)
	}
	ref := s.send(note("Call Ada back"), bot.SendOptions{Key: "k-1", Recover: true})
	if m := s.messageAt(ref); m.BotID != "BBOT0001" || len(s.u.dm()) != 2 {
		t.Fatalf("Recover returned another app's post %+v (%d messages)", m, len(s.u.dm()))
	}
}

// When the history cannot be read (an install without im:history), Recover
// warns and posts once: a possible duplicate rather than a loss.
func TestSendRecoverHistoryRefusedPostsOnce(t *testing.T) {
	s := newSendRig(t)
	s.fake.SetScopes(teamID, []string{"chat:write", "commands", "users:read", "users:read.email", "im:write", "links:read", "links:write"})
	ref := s.send(note("Call Ada back"), bot.SendOptions{Key: "k-1", Recover: true})
	if n := len(s.u.dm()); n != 1 || keyOf(s.messageAt(ref)) != "k-1" {
		t.Fatalf("%d messages in the DM, want the one keyed post", n)
	}
	h := s.fake.Calls("conversations.history")
	if len(h) != 1 || h[0].Error != "missing_scope" {
		t.Fatalf("history calls = %+v, want one refused with missing_scope", h)
	}
	w := s.warn.all()
	if len(w) != 1 || !strings.Contains(w[0], "missing_scope") || !strings.Contains(w[0], "im:history") {
		t.Fatalf("warnings = %q, want one naming missing_scope and im:history", w)
	}
}

// A notification channel the bot is in gets the post (no DM opened);
// Recover there reads that channel's history and finds it.
func TestSendToChannel(t *testing.T) {
	s := newSendRig(t)
	s.fake.AddChannel(slackfake.Channel{ID: "C0SALES", TeamID: teamID, Name: "sales", Members: []string{s.u.ref.UserID, "UBOT0001"}})
	ref := s.send(note("Call Ada back"), bot.SendOptions{Channel: "C0SALES", Key: "k-1"})
	if ref.Conversation != "C0SALES" || len(s.fake.Messages("C0SALES")) != 1 || len(s.u.dm()) != 0 {
		t.Fatalf("ref %+v; %d in the channel, %d in the DM", ref, len(s.fake.Messages("C0SALES")), len(s.u.dm()))
	}
	if keyOf(s.messageAt(ref)) != "k-1" {
		t.Fatal("the channel post carries no key")
	}
	if c := s.fake.Calls("conversations.open"); len(c) != 0 {
		t.Fatalf("opened a DM for a channel post: %+v", c)
	}
	again := s.send(note("Call Ada back"), bot.SendOptions{Channel: "C0SALES", Key: "k-1", Recover: true})
	if again != ref || len(s.fake.Messages("C0SALES")) != 1 {
		t.Fatalf("Recover in the channel returned %+v, %d messages", again, len(s.fake.Messages("C0SALES")))
	}
	if h := s.fake.Calls("conversations.history"); len(h) != 1 || h[0].Param("channel") != "C0SALES" {
		t.Fatalf("history calls = %+v", h)
	}
	if len(s.warn.all()) != 0 {
		t.Fatalf("warnings: %q", s.warn.all())
	}
}

// A channel the bot cannot write to (not a member, private and not a
// member, archived, gone) sends the notification to the DM, with a warning
// naming the channel; Recover then finds the fallback post in the DM.
func TestSendChannelRefusedFallsBackToDM(t *testing.T) {
	for _, c := range []struct {
		name, code string
		ch         slackfake.Channel
	}{
		{"not a member", "not_in_channel", slackfake.Channel{ID: "C0GENERAL", TeamID: teamID, Members: []string{"UCHLOE"}}},
		{"private, not a member", "channel_not_found", slackfake.Channel{ID: "C0BOARD", TeamID: teamID, Private: true}},
		{"archived", "is_archived", slackfake.Channel{ID: "C0OLD", TeamID: teamID, Archived: true, Members: []string{"UBOT0001"}}},
		{"gone", "channel_not_found", slackfake.Channel{ID: "C0GONE"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSendRig(t)
			if c.ch.ID != "C0GONE" {
				s.fake.AddChannel(c.ch)
			}
			ref := s.send(note("Call Ada back"), bot.SendOptions{Channel: c.ch.ID, Key: "k-1"})
			dm := s.fake.DMChannel(s.u.ref.UserID)
			if ref.Conversation != dm || len(s.u.dm()) != 1 || keyOf(s.messageAt(ref)) != "k-1" || len(s.fake.Messages(c.ch.ID)) != 0 {
				t.Fatalf("ref %+v, %d in the DM, %d in %s", ref, len(s.u.dm()), len(s.fake.Messages(c.ch.ID)), c.ch.ID)
			}
			if p := s.fake.Calls("chat.postMessage"); len(p) != 2 || p[0].Error != c.code || p[1].Error != "" {
				t.Fatalf("posts = %+v, want %s then the DM", p, c.code)
			}
			w := s.warn.all()
			if len(w) != 1 || !strings.Contains(w[0], c.ch.ID) || !strings.Contains(w[0], c.code) {
				t.Fatalf("warnings = %q, want one naming %s and %s", w, c.ch.ID, c.code)
			}

			// The retry: the channel still refuses, the DM has the post.
			again := s.send(note("Call Ada back"), bot.SendOptions{Channel: c.ch.ID, Key: "k-1", Recover: true})
			if again != ref || len(s.u.dm()) != 1 {
				t.Fatalf("Recover after a fallback returned %+v, %d in the DM", again, len(s.u.dm()))
			}
			h := s.fake.Calls("conversations.history")
			if len(h) != 2 || h[0].Param("channel") != c.ch.ID || h[1].Param("channel") != dm || h[1].Error != "" {
				t.Fatalf("history calls = %+v, want the channel's then the DM's", h)
			}
		})
	}
}

// A channel where posting is restricted (restricted_action) sends to the
// DM too.
func TestSendChannelRestrictedFallsBackToDM(t *testing.T) {
	s := newSendRig(t)
	s.fake.AddChannel(slackfake.Channel{ID: "C0NEWS", TeamID: teamID, Members: []string{"UBOT0001"}})
	s.fake.Fail("chat.postMessage", 1, slackfake.Fault{Error: "restricted_action"})
	ref := s.send(note("Call Ada back"), bot.SendOptions{Channel: "C0NEWS", Key: "k-1"})
	if ref.Conversation != s.fake.DMChannel(s.u.ref.UserID) || len(s.u.dm()) != 1 || len(s.fake.Messages("C0NEWS")) != 0 {
		t.Fatalf("ref %+v, %d in the DM", ref, len(s.u.dm()))
	}
	if w := s.warn.all(); len(w) != 1 || !strings.Contains(w[0], "C0NEWS") {
		t.Fatalf("warnings = %q", w)
	}
}

// Other failures of a channel post are errors, not a silent move to the DM.
func TestSendChannelOtherErrorIsReturned(t *testing.T) {
	s := newSendRig(t)
	s.fake.AddChannel(slackfake.Channel{ID: "C0SALES", TeamID: teamID, Members: []string{"UBOT0001"}})
	s.fake.Fail("chat.postMessage", 1, slackfake.Fault{Error: "fatal_error"})
	if _, err := s.ad.Send(ctxT(t), s.to, note("x"), bot.SendOptions{Channel: "C0SALES", Key: "k"}); err == nil || !strings.Contains(err.Error(), "fatal_error") {
		t.Fatalf("Send = %v, want fatal_error", err)
	}
	if len(s.u.dm()) != 0 || len(s.fake.Calls("chat.postMessage")) != 1 {
		t.Fatal("a failure other than a refused channel went to the DM")
	}
}

// Update replaces a keyed post in place; its metadata stays, so a later
// retry still finds it.
func TestUpdateKeyedPost(t *testing.T) {
	s := newSendRig(t)
	ref := s.send(note("Call Ada back"), bot.SendOptions{Key: "k-1"})
	if err := s.ad.Update(ctxT(t), s.to, ref, note("Done: Call Ada back")); err != nil {
		t.Fatalf("Update: %v", err)
	}
	m := s.messageAt(ref)
	if m.Edits != 1 || !strings.Contains(text(m.Blocks), "Done: Call Ada back") || keyOf(m) != "k-1" {
		t.Fatalf("after Update: edits %d, key %q, blocks %s", m.Edits, keyOf(m), text(m.Blocks))
	}
	if c := s.fake.Calls("chat.update"); len(c) != 1 || c[0].Error != "" {
		t.Fatalf("chat.update calls = %+v", c)
	}
	if again := s.send(note("Call Ada back"), bot.SendOptions{Key: "k-1", Recover: true}); again != ref || len(s.u.dm()) != 1 {
		t.Fatalf("Recover after Update returned %+v, %d messages", again, len(s.u.dm()))
	}
}
