package store

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// ConversationRef is how to reach a Teams chat user outside an interaction
// (a proactive notification): the Bot Framework conversation reference of
// the user's latest inbound activity. Not a secret: ids and a URL.
type ConversationRef struct {
	ServiceURL string // where the user's tenant is served (activity.serviceUrl); the latest wins
	// ConversationID is the user's 1:1 (personal) conversation with the bot;
	// "" until an activity from that chat (or a proactive create) told it.
	ConversationID string
	UserID         string // 29:…; must be the ChatUser's UserID
	AADObjectID    string // Entra object id of the user
	TenantID       string // must be the ChatUser's Tenant
	BotID          string // 28:<app id>; a 1:1 conversation belongs to one bot
	ChannelID      string // Bot Framework channel id ("msteams")
	// Unreachable: the user blocked the bot or removed the app (403
	// MessageWritesBlocked). Set by MarkUnreachable, cleared by the next Put.
	Unreachable bool
	UpdatedAt   time.Time // when the activity was seen (millisecond precision)
}

// Caps on a reference's fields, so junk from a request never bloats a key.
// Real values are far shorter (service URLs ~50 bytes, 1:1 conversation ids
// ~150, 29: user ids ~90, GUIDs 36).
const (
	MaxServiceURLLen     = 512
	MaxConversationIDLen = 512
	MaxChatIDLen         = 256 // UserID, BotID
	MaxShortIDLen        = 64  // TenantID, AADObjectID, ChannelID
)

// ConversationStore keeps each Teams chat user's conversation reference.
// Consumers: the Teams adapter (records one per inbound activity; marks
// unreachable on 403 MessageWritesBlocked) and the notification delivery.
type ConversationStore interface {
	// PutConversation records r as u's reference (see MergeConversation): a
	// field r leaves empty keeps the stored value, so a channel activity,
	// which carries no 1:1 conversation id, never loses a known one; any Put
	// clears Unreachable (the user just talked to the bot). ErrInvalid for
	// an invalid or non-Teams u, or an r that fails CheckConversation.
	PutConversation(ctx context.Context, u ChatUser, r ConversationRef) error
	// Conversation returns u's reference; ErrNotFound when none.
	Conversation(ctx context.Context, u ChatUser) (ConversationRef, error)
	// MarkUnreachable flags u's reference unreachable; a no-op when u has
	// none (it is never created by this).
	MarkUnreachable(ctx context.Context, u ChatUser) error
}

// CheckConversation validates r as a reference of u and returns it as
// stores keep it: UpdatedAt at millisecond precision (now when zero) and
// Unreachable false. ErrInvalid when u is not a valid Teams user, r lacks
// ServiceURL, UserID or TenantID, names another user or tenant than u, has
// a field over its cap, or a ServiceURL that is not an absolute http(s) URL.
func CheckConversation(u ChatUser, r ConversationRef, now time.Time) (ConversationRef, error) {
	if err := u.Validate(); err != nil {
		return r, fmt.Errorf("conversation reference: %w", err)
	}
	if u.Platform != PlatformTeams {
		return r, fmt.Errorf("conversation reference of %s: %w: only Teams users have one", u, ErrInvalid)
	}
	if r.ServiceURL == "" || r.UserID == "" || r.TenantID == "" {
		return r, fmt.Errorf("conversation reference of %s: %w: service URL, user id and tenant id are required", u, ErrInvalid)
	}
	if r.UserID != u.UserID || r.TenantID != u.Tenant {
		return r, fmt.Errorf("conversation reference of %s: %w: it names user %q in tenant %q", u, ErrInvalid, r.UserID, r.TenantID)
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"service URL", r.ServiceURL, MaxServiceURLLen},
		{"conversation id", r.ConversationID, MaxConversationIDLen},
		{"user id", r.UserID, MaxChatIDLen},
		{"bot id", r.BotID, MaxChatIDLen},
		{"tenant id", r.TenantID, MaxShortIDLen},
		{"AAD object id", r.AADObjectID, MaxShortIDLen},
		{"channel id", r.ChannelID, MaxShortIDLen},
	} {
		if len(f.v) > f.max {
			return r, fmt.Errorf("conversation reference of %s: %w: %s is %d bytes (max %d)", u, ErrInvalid, f.name, len(f.v), f.max)
		}
	}
	if su, err := url.Parse(r.ServiceURL); err != nil || (su.Scheme != "https" && su.Scheme != "http") || su.Host == "" {
		return r, fmt.Errorf("conversation reference of %s: %w: service URL is not an absolute http(s) URL", u, ErrInvalid)
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = now
	}
	r.UpdatedAt = time.UnixMilli(r.UpdatedAt.UnixMilli())
	r.Unreachable = false
	return r, nil
}

// MergeConversation is what a Put of r (checked) leaves over stored: r,
// except that each optional field r leaves empty keeps its stored value —
// but the stored 1:1 conversation id only while the bot is the same (a 1:1
// conversation is with one bot). Last write wins for the rest. Stores share
// it (the Redis one mirrors it in its script) so they agree.
func MergeConversation(stored, r ConversationRef) ConversationRef {
	keep := func(v *string, old string) {
		if *v == "" {
			*v = old
		}
	}
	if r.BotID == "" || stored.BotID == "" || r.BotID == stored.BotID {
		keep(&r.ConversationID, stored.ConversationID)
	}
	keep(&r.AADObjectID, stored.AADObjectID)
	keep(&r.BotID, stored.BotID)
	keep(&r.ChannelID, stored.ChannelID)
	r.Unreachable = false
	return r
}
