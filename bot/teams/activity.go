package teams

import (
	"encoding/json"
	"strings"
)

// Bot Framework activity types and invoke names this adapter handles
// (reference/teams.md). Anything else is answered 200 and ignored.
const (
	TypeMessage            = "message"
	TypeInvoke             = "invoke"
	TypeConversationUpdate = "conversationUpdate"
	TypeInstallationUpdate = "installationUpdate"

	InvokeTaskFetch    = "task/fetch"
	InvokeTaskSubmit   = "task/submit"
	InvokeCardAction   = "adaptiveCard/action"
	InvokeSearch       = "application/search"
	ChannelMSTeams     = "msteams"
	AttachmentCardType = "application/vnd.microsoft.card.adaptive"
)

// Activity is the part of a Bot Framework activity crmbot reads and
// writes. It is ours, not msbotbuilder-go's schema.Activity: that one
// decodes Value as a map, which fails on the string values some invokes
// carry (reference/teams.md); here Value stays raw until an invoke handler
// knows its shape.
type Activity struct {
	Type         string               `json:"type"`
	ID           string               `json:"id,omitempty"`
	Timestamp    string               `json:"timestamp,omitempty"`
	ServiceURL   string               `json:"serviceUrl,omitempty"`
	ChannelID    string               `json:"channelId,omitempty"`
	From         *ChannelAccount      `json:"from,omitempty"`
	Conversation *ConversationAccount `json:"conversation,omitempty"`
	Recipient    *ChannelAccount      `json:"recipient,omitempty"`
	ReplyToID    string               `json:"replyToId,omitempty"`
	Locale       string               `json:"locale,omitempty"`
	Text         string               `json:"text,omitempty"`
	Summary      string               `json:"summary,omitempty"`
	TextFormat   string               `json:"textFormat,omitempty"`
	Name         string               `json:"name,omitempty"`
	Value        json.RawMessage      `json:"value,omitempty"`
	Attachments  []Attachment         `json:"attachments,omitempty"`
	Entities     []json.RawMessage    `json:"entities,omitempty"`
	ChannelData  json.RawMessage      `json:"channelData,omitempty"`
	MembersAdded []ChannelAccount     `json:"membersAdded,omitempty"`
	Action       string               `json:"action,omitempty"` // installationUpdate: "add" / "remove"
}

// ChannelAccount is a user or bot of a conversation.
type ChannelAccount struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	AADObjectID string `json:"aadObjectId,omitempty"`
	Role        string `json:"role,omitempty"`
}

// ConversationAccount is the conversation an activity belongs to.
type ConversationAccount struct {
	ID               string `json:"id"`
	ConversationType string `json:"conversationType,omitempty"` // personal, groupChat, channel
	TenantID         string `json:"tenantId,omitempty"`
	IsGroup          bool   `json:"isGroup,omitempty"`
	Name             string `json:"name,omitempty"`
}

// Attachment is a message attachment; crmbot sends Adaptive Cards only.
type Attachment struct {
	ContentType string `json:"contentType"`
	Content     any    `json:"content,omitempty"`
}

// TenantID is the activity's Entra tenant: channelData.tenant.id, else
// conversation.tenantId.
func (a *Activity) TenantID() string {
	if len(a.ChannelData) > 0 {
		var cd struct {
			Tenant struct {
				ID string `json:"id"`
			} `json:"tenant"`
		}
		if json.Unmarshal(a.ChannelData, &cd) == nil && cd.Tenant.ID != "" {
			return cd.Tenant.ID
		}
	}
	if a.Conversation != nil {
		return a.Conversation.TenantID
	}
	return ""
}

// NormalizeServiceURL compares service URLs as Bot Framework does:
// case-insensitively, without a trailing slash.
func NormalizeServiceURL(s string) string {
	return strings.ToLower(strings.TrimRight(s, "/"))
}
