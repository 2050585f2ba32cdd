package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmbot/crmbot/store"
)

// RunConversations checks the Teams conversation references: round trip,
// merging (a channel activity keeps the known 1:1 conversation id, a new one
// replaces it, another bot's is dropped), the unreachable flag, validation,
// and that concurrent puts leave one whole write, never a mix.
func RunConversations(t *testing.T, newFixture NewFunc) {
	at := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	alice := store.ChatUser{Platform: store.PlatformTeams, Tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47", UserID: "29:1alice"}
	personal := func(u store.ChatUser) store.ConversationRef {
		return store.ConversationRef{
			ServiceURL: "https://smba.trafficmanager.net/emea/", ConversationID: "a:1personal-" + u.UserID,
			UserID: u.UserID, AADObjectID: "6f1c2a3b-0000-4000-8000-00000000a11c", TenantID: u.Tenant,
			BotID: "28:bot-app-id", ChannelID: "msteams", UpdatedAt: at,
		}
	}
	// fromChannel is an activity in a team channel: no personal conversation.
	fromChannel := func(u store.ChatUser, serviceURL string, when time.Time) store.ConversationRef {
		return store.ConversationRef{ServiceURL: serviceURL, UserID: u.UserID, TenantID: u.Tenant, BotID: "28:bot-app-id", UpdatedAt: when}
	}
	setup := func(t *testing.T) store.ConversationStore {
		f := newFixture(t, mustKeyring(t))
		cs, ok := f.Store.(store.ConversationStore)
		if !ok {
			t.Fatal("the store does not keep conversation references (store.ConversationStore)")
		}
		return cs
	}
	get := func(t *testing.T, cs store.ConversationStore, u store.ChatUser) store.ConversationRef {
		t.Helper()
		r, err := cs.Conversation(ctx(t), u)
		noErr(t, "read back", err)
		return r
	}
	same := func(t *testing.T, what string, got, want store.ConversationRef) {
		t.Helper()
		if !got.UpdatedAt.Equal(want.UpdatedAt) {
			t.Fatalf("%s: updated at %s, want %s", what, got.UpdatedAt, want.UpdatedAt)
		}
		got.UpdatedAt, want.UpdatedAt = time.Time{}, time.Time{}
		if got != want {
			t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
		}
	}

	t.Run("OK", func(t *testing.T) {
		cs := setup(t)
		noErr(t, "put", cs.PutConversation(ctx(t), alice, personal(alice)))
		same(t, "round trip", get(t, cs, alice), personal(alice))
		// Another user in the same tenant, and a Slack user with alice's ids, see nothing.
		for _, other := range []store.ChatUser{
			{Platform: store.PlatformTeams, Tenant: alice.Tenant, UserID: "29:1bob"},
			{Platform: store.PlatformSlack, Tenant: alice.Tenant, UserID: alice.UserID},
		} {
			_, err := cs.Conversation(ctx(t), other)
			wantErr(t, "reference of "+other.String(), err, store.ErrNotFound)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := setup(t).Conversation(ctx(t), alice)
		wantErr(t, "no reference", err, store.ErrNotFound)
	})

	t.Run("ZeroTimeIsTheStoresClock", func(t *testing.T) {
		cs := setup(t)
		r := personal(alice)
		r.UpdatedAt = time.Time{}
		noErr(t, "put", cs.PutConversation(ctx(t), alice, r))
		if got := get(t, cs, alice).UpdatedAt; got.IsZero() { // the store's clock may be a fake one
			t.Fatal("a reference put without a time has none")
		}
	})

	t.Run("ChannelActivityKeepsPersonalConversation", func(t *testing.T) {
		cs := setup(t)
		noErr(t, "put personal", cs.PutConversation(ctx(t), alice, personal(alice)))
		later := at.Add(time.Hour)
		noErr(t, "put channel", cs.PutConversation(ctx(t), alice, fromChannel(alice, "https://smba.trafficmanager.net/amer/", later)))
		want := personal(alice)
		want.ServiceURL, want.UpdatedAt = "https://smba.trafficmanager.net/amer/", later // the latest service URL wins
		same(t, "after a channel activity", get(t, cs, alice), want)
	})

	t.Run("NewConversationReplaces", func(t *testing.T) {
		cs := setup(t)
		noErr(t, "put", cs.PutConversation(ctx(t), alice, personal(alice)))
		r := personal(alice)
		r.ConversationID, r.AADObjectID, r.UpdatedAt = "a:1reinstalled", "", at.Add(time.Hour)
		noErr(t, "put new conversation", cs.PutConversation(ctx(t), alice, r))
		want := r
		want.AADObjectID = personal(alice).AADObjectID // left empty: kept
		same(t, "after a new conversation", get(t, cs, alice), want)
	})

	t.Run("AnotherBotDropsPersonalConversation", func(t *testing.T) {
		cs := setup(t)
		noErr(t, "put", cs.PutConversation(ctx(t), alice, personal(alice)))
		r := fromChannel(alice, "https://smba.trafficmanager.net/emea/", at.Add(time.Hour))
		r.BotID = "28:other-app-id"
		noErr(t, "put from another bot", cs.PutConversation(ctx(t), alice, r))
		if got := get(t, cs, alice); got.ConversationID != "" || got.BotID != r.BotID {
			t.Fatalf("the old bot's 1:1 conversation survived: %+v", got)
		}
	})

	t.Run("MarkUnreachableThenPutClears", func(t *testing.T) {
		cs := setup(t)
		noErr(t, "put", cs.PutConversation(ctx(t), alice, personal(alice)))
		noErr(t, "mark unreachable", cs.MarkUnreachable(ctx(t), alice))
		want := personal(alice)
		want.Unreachable = true
		same(t, "marked", get(t, cs, alice), want)
		noErr(t, "mark again", cs.MarkUnreachable(ctx(t), alice))
		noErr(t, "put after", cs.PutConversation(ctx(t), alice, fromChannel(alice, want.ServiceURL, at.Add(time.Hour))))
		got := get(t, cs, alice)
		if got.Unreachable || got.ConversationID != want.ConversationID {
			t.Fatalf("a new activity should clear unreachable and keep the 1:1 conversation: %+v", got)
		}
		// Unreachable in a Put is not stored: only MarkUnreachable sets it.
		r := personal(alice)
		r.Unreachable = true
		noErr(t, "put unreachable", cs.PutConversation(ctx(t), alice, r))
		if get(t, cs, alice).Unreachable {
			t.Fatal("PutConversation stored Unreachable")
		}
	})

	t.Run("MarkUnreachableWithoutReferenceIsNoOp", func(t *testing.T) {
		cs := setup(t)
		noErr(t, "mark unreachable", cs.MarkUnreachable(ctx(t), alice))
		_, err := cs.Conversation(ctx(t), alice)
		wantErr(t, "after marking a user with no reference", err, store.ErrNotFound)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		cs := setup(t)
		long := func(n int) string { return strings.Repeat("x", n) }
		for _, tc := range []struct {
			name string
			u    store.ChatUser
			edit func(*store.ConversationRef)
		}{
			{"NoUser", store.ChatUser{}, nil},
			{"SlackUser", store.ChatUser{Platform: store.PlatformSlack, Tenant: alice.Tenant, UserID: alice.UserID}, nil},
			{"NoServiceURL", alice, func(r *store.ConversationRef) { r.ServiceURL = "" }},
			{"NoUserID", alice, func(r *store.ConversationRef) { r.UserID = "" }},
			{"NoTenantID", alice, func(r *store.ConversationRef) { r.TenantID = "" }},
			{"OtherUser", alice, func(r *store.ConversationRef) { r.UserID = "29:1bob" }},
			{"OtherTenant", alice, func(r *store.ConversationRef) { r.TenantID = "another-tenant" }},
			{"RelativeServiceURL", alice, func(r *store.ConversationRef) { r.ServiceURL = "/emea/" }},
			{"NotHTTPServiceURL", alice, func(r *store.ConversationRef) { r.ServiceURL = "javascript://x/" }},
			{"LongServiceURL", alice, func(r *store.ConversationRef) { r.ServiceURL += long(store.MaxServiceURLLen) }},
			{"LongConversationID", alice, func(r *store.ConversationRef) { r.ConversationID = long(store.MaxConversationIDLen + 1) }},
			{"LongBotID", alice, func(r *store.ConversationRef) { r.BotID = long(store.MaxChatIDLen + 1) }},
			{"LongAADObjectID", alice, func(r *store.ConversationRef) { r.AADObjectID = long(store.MaxShortIDLen + 1) }},
			{"LongChannelID", alice, func(r *store.ConversationRef) { r.ChannelID = long(store.MaxShortIDLen + 1) }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := personal(alice)
				if tc.edit != nil {
					tc.edit(&r)
				}
				wantErr(t, "put", cs.PutConversation(ctx(t), tc.u, r), store.ErrInvalid)
				if tc.u == alice {
					_, err := cs.Conversation(ctx(t), alice)
					wantErr(t, "after a refused put", err, store.ErrNotFound)
				}
			})
		}
		_, err := cs.Conversation(ctx(t), store.ChatUser{})
		wantErr(t, "read of an invalid user", err, store.ErrInvalid)
		wantErr(t, "mark an invalid user", cs.MarkUnreachable(ctx(t), store.ChatUser{}), store.ErrInvalid)
		// At the caps exactly is fine.
		r := personal(alice)
		r.ConversationID, r.BotID = long(store.MaxConversationIDLen), long(store.MaxChatIDLen)
		noErr(t, "put at the caps", cs.PutConversation(ctx(t), alice, r))
	})

	// Racers put at once, even ones from the personal chat (their own
	// conversation id), odd ones from a channel (none), while others mark
	// the user unreachable: what is left is one racer's whole write over
	// an earlier one, never a mix of two.
	t.Run("ConcurrentPutsDoNotMix", func(t *testing.T) {
		cs := setup(t)
		noErr(t, "seed", cs.PutConversation(ctx(t), alice, personal(alice)))
		racer := func(i int) store.ConversationRef {
			r := fromChannel(alice, fmt.Sprintf("https://smba.trafficmanager.net/r%d/", i), at.Add(time.Duration(i+1)*time.Second))
			if i%2 == 0 {
				r.ConversationID = fmt.Sprintf("a:1racer-%d", i)
			}
			return r
		}
		var wg sync.WaitGroup
		for i := range Racers {
			wg.Go(func() {
				if err := cs.PutConversation(ctx(t), alice, racer(i)); err != nil {
					t.Error(err)
				}
				if i%4 == 1 {
					if err := cs.MarkUnreachable(ctx(t), alice); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		got := get(t, cs, alice)
		var i int
		if _, err := fmt.Sscanf(got.ServiceURL, "https://smba.trafficmanager.net/r%d/", &i); err != nil || i < 0 || i >= Racers {
			t.Fatalf("service URL %q is no racer's", got.ServiceURL)
		}
		if !got.UpdatedAt.Equal(racer(i).UpdatedAt) {
			t.Fatalf("service URL of racer %d, time of another: %+v", i, got)
		}
		switch c := got.ConversationID; {
		case i%2 == 0 && c != racer(i).ConversationID:
			t.Fatalf("racer %d wrote last with its conversation, left %q", i, c)
		case c == "" || !(c == personal(alice).ConversationID || strings.HasPrefix(c, "a:1racer-")):
			t.Fatalf("conversation id %q lost or corrupted", c)
		}
		if got.AADObjectID != personal(alice).AADObjectID || got.ChannelID != "msteams" || got.UserID != alice.UserID || got.TenantID != alice.Tenant {
			t.Fatalf("kept fields lost: %+v", got)
		}
	})
}
