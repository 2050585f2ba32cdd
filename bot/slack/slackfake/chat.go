package slackfake

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// resolveChannelLocked maps what chat.postMessage accepts (a user id, a DM
// id or a channel id) to a conversation id.
func (s *Server) resolveChannelLocked(t *Team, ch string, allowUser bool) (string, *apiError) {
	switch {
	case ch == "":
		return "", errf("channel_not_found")
	case strings.HasPrefix(ch, "U") || strings.HasPrefix(ch, "W"):
		u, ok := s.users[ch]
		if !allowUser || !ok || !s.userVisibleLocked(t, u) {
			return "", errf("channel_not_found")
		}
		return s.dmLocked(ch), nil
	case strings.HasPrefix(ch, "D"):
		if _, ok := s.dmUser[ch]; !ok {
			return "", errf("channel_not_found")
		}
		return ch, nil
	case strings.HasPrefix(ch, "C") || strings.HasPrefix(ch, "G"):
		if c := s.channels[ch]; c == nil || !s.channelVisibleLocked(t, c) {
			return "", errf("channel_not_found")
		}
		return ch, nil
	}
	return "", errf("channel_not_found")
}

// channelVisibleLocked reports whether a team's bot can see a channel:
// the channel is the team's (or of no team in particular), or of another
// team of the same enterprise grid.
func (s *Server) channelVisibleLocked(t *Team, c *Channel) bool {
	if c.TeamID == "" || c.TeamID == t.ID {
		return true
	}
	ct := s.teamByID[c.TeamID]
	return ct != nil && t.EnterpriseID != "" && ct.EnterpriseID == t.EnterpriseID
}

// notMember is the answer to a bot that is not in channel c: a
// private channel it is not in does not exist for it (channel_not_found),
// a public one answers not_in_channel. nil when the bot is a member.
func notMember(t *Team, c *Channel) *apiError {
	switch {
	case slices.Contains(c.Members, t.BotUserID):
		return nil
	case c.Private || strings.HasPrefix(c.ID, "G"):
		return errf("channel_not_found")
	}
	return errf("not_in_channel")
}

// canPostLocked answers what chat.postMessage does for a conversation the
// bot cannot write to: channel_not_found or not_in_channel when the bot
// user is not a member (chat:write.public is not modelled), is_archived.
// DMs are always open to the bot.
func (s *Server) canPostLocked(t *Team, ch string) *apiError {
	c := s.channels[ch]
	if c == nil {
		return nil
	}
	if aerr := notMember(t, c); aerr != nil {
		return aerr
	}
	if c.Archived {
		return errf("is_archived")
	}
	return nil
}

// messageContent validates and extracts text, blocks and metadata.
func messageContent(r *request, requireContent bool) (text string, blocks json.RawMessage, md *Metadata, aerr *apiError) {
	text = r.str("text")
	if utf8.RuneCountInString(text) > 40000 {
		return "", nil, nil, errf("msg_too_long")
	}
	if raw := r.json("blocks"); raw != nil {
		if msgs := validateBlocks(raw, surfaceMessage, "/blocks"); len(msgs) > 0 {
			return "", nil, nil, errf("invalid_blocks", msgs...)
		}
		blocks = raw
		if string(raw) == "[]" {
			blocks = nil
		}
	}
	if raw := r.json("metadata"); raw != nil {
		md = &Metadata{}
		if err := json.Unmarshal(raw, md); err != nil || md.EventType == "" {
			return "", nil, nil, errf("invalid_metadata_format", "[ERROR] metadata must have event_type and event_payload")
		}
	}
	if requireContent && text == "" && blocks == nil && r.json("attachments") == nil {
		return "", nil, nil, errf("no_text")
	}
	return text, blocks, md, nil
}

func (s *Server) messageJSON(m *Message, withMetadata bool) map[string]any {
	out := map[string]any{
		"type":    "message",
		"text":    m.Text,
		"user":    m.UserID,
		"bot_id":  m.BotID,
		"app_id":  s.opts.AppID,
		"team":    m.TeamID,
		"ts":      m.TS,
		"subtype": nil,
	}
	delete(out, "subtype")
	if m.Blocks != nil {
		out["blocks"] = m.Blocks
	}
	if m.ThreadTS != "" {
		out["thread_ts"] = m.ThreadTS
	}
	if m.Edits > 0 {
		out["edited"] = map[string]any{"user": m.UserID, "ts": m.TS}
	}
	if withMetadata && m.Metadata != nil {
		out["metadata"] = m.Metadata
	}
	return out
}

func (s *Server) chatPostMessage(r *request) (map[string]any, *apiError) {
	text, blocks, md, aerr := messageContent(r, true)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, aerr := s.resolveChannelLocked(r.team, r.str("channel"), true)
	if aerr != nil {
		return nil, aerr
	}
	if aerr := s.canPostLocked(r.team, ch); aerr != nil {
		return nil, aerr
	}
	// Never deduplicated: the same text or metadata posted twice is two
	// messages, as in Slack.
	m := &Message{
		Channel: ch, TS: s.nextTSLocked(), ThreadTS: r.str("thread_ts"),
		Text: text, Blocks: blocks, Metadata: md,
		UserID: r.team.BotUserID, BotID: r.team.BotID, TeamID: r.team.ID,
	}
	s.messages[ch] = append(s.messages[ch], m)
	return map[string]any{"channel": ch, "ts": m.TS, "message": s.messageJSON(m, true)}, nil
}

func (s *Server) findMessageLocked(ch, ts string) *Message {
	for _, m := range s.messages[ch] {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

func (s *Server) chatUpdate(r *request) (map[string]any, *apiError) {
	text, blocks, md, aerr := messageContent(r, false)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := r.str("channel")
	if _, ok := s.dmUser[ch]; !ok {
		if _, ok := s.messages[ch]; !ok {
			return nil, errf("channel_not_found")
		}
	}
	m := s.findMessageLocked(ch, r.str("ts"))
	if m == nil {
		return nil, errf("message_not_found")
	}
	if m.BotID != r.team.BotID {
		return nil, errf("cant_update_message")
	}
	if _, ok := r.params["text"]; ok {
		m.Text = text
	}
	if _, ok := r.params["blocks"]; ok {
		m.Blocks = blocks
	}
	if md != nil {
		m.Metadata = md
	}
	m.Edits++
	return map[string]any{"channel": ch, "ts": m.TS, "text": m.Text, "message": s.messageJSON(m, true)}, nil
}

// chat.delete joins the method table here, next to its handler.
// chatDelete removes a message from its conversation, as Slack does with a
// bot token: only the bot's own messages (cant_delete_message otherwise),
// message_not_found for an unknown ts (or one deleted already),
// channel_not_found for a conversation the bot cannot see. The message
// leaves conversations.history and [Server.Messages]; the call stays in
// [Server.Calls]. Not modelled: the tombstone Slack leaves for a thread
// parent with replies, and the message_deleted event.
func (s *Server) chatDelete(r *request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ts := r.str("channel"), r.str("ts")
	_, isDM := s.dmUser[ch]
	c := s.channels[ch]
	if c != nil && !s.channelVisibleLocked(r.team, c) {
		return nil, errf("channel_not_found")
	}
	if _, has := s.messages[ch]; !isDM && c == nil && !has {
		return nil, errf("channel_not_found")
	}
	i := slices.IndexFunc(s.messages[ch], func(m *Message) bool { return m.TS == ts })
	if ts == "" || i < 0 {
		return nil, errf("message_not_found")
	}
	if s.messages[ch][i].BotID != r.team.BotID {
		return nil, errf("cant_delete_message")
	}
	s.messages[ch] = slices.Delete(s.messages[ch], i, i+1)
	return map[string]any{"channel": ch, "ts": ts}, nil
}

func (s *Server) chatPostEphemeral(r *request) (map[string]any, *apiError) {
	text, blocks, _, aerr := messageContent(r, true)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, aerr := s.resolveChannelLocked(r.team, r.str("channel"), false)
	if aerr != nil {
		return nil, aerr
	}
	user := r.str("user")
	if _, ok := s.users[user]; !ok {
		return nil, errf("user_not_in_channel")
	}
	if u, ok := s.dmUser[ch]; ok && u != user {
		return nil, errf("user_not_in_channel")
	}
	m := &Message{
		Channel: ch, TS: s.nextTSLocked(), Text: text, Blocks: blocks,
		UserID: r.team.BotUserID, BotID: r.team.BotID, TeamID: r.team.ID,
		Ephemeral: true, ForUser: user,
	}
	s.ephemerals = append(s.ephemerals, m)
	return map[string]any{"message_ts": m.TS}, nil
}

func (s *Server) chatUnfurl(r *request) (map[string]any, *apiError) {
	u := Unfurl{Channel: r.str("channel"), TS: r.str("ts"), UnfurlID: r.str("unfurl_id"), Source: r.str("source")}
	if (u.Channel == "" || u.TS == "") && (u.UnfurlID == "" || u.Source == "") {
		return nil, errf("invalid_arguments", "[ERROR] either channel and ts or unfurl_id and source are required")
	}
	raw := r.json("unfurls")
	if raw == nil && r.str("user_auth_required") == "" && r.str("user_auth_message") == "" && r.str("user_auth_url") == "" && r.json("metadata") == nil {
		return nil, errf("invalid_arguments", "[ERROR] missing required field: unfurls")
	}
	if raw != nil {
		if err := json.Unmarshal(raw, &u.Unfurls); err != nil {
			return nil, errf("invalid_unfurls_format")
		}
		for link, att := range u.Unfurls {
			var a struct {
				Blocks json.RawMessage `json:"blocks"`
			}
			if err := json.Unmarshal(att, &a); err != nil {
				return nil, errf("cannot_parse_attachment")
			}
			if a.Blocks != nil {
				if msgs := validateBlocks(a.Blocks, surfaceMessage, "/unfurls/"+link+"/blocks"); len(msgs) > 0 {
					return nil, errf("invalid_blocks", msgs...)
				}
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unfurls = append(s.unfurls, u)
	return map[string]any{}, nil
}

func (s *Server) conversationsHistory(r *request) (map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := r.str("channel")
	_, isDM := s.dmUser[ch]
	msgs, ok := s.messages[ch]
	c := s.channels[ch]
	if c != nil && !s.channelVisibleLocked(r.team, c) {
		c = nil
	}
	switch {
	case isDM:
		if aerr := r.team.requireScope("im:history"); aerr != nil {
			return nil, aerr
		}
	case c != nil:
		scope := "channels:history"
		if c.Private || strings.HasPrefix(ch, "G") {
			scope = "groups:history"
		}
		if aerr := r.team.requireScope(scope); aerr != nil {
			return nil, aerr
		}
		if aerr := notMember(r.team, c); aerr != nil {
			return nil, aerr
		}
	case !ok:
		return nil, errf("channel_not_found")
	}
	limit := 100
	if l, err := strconv.Atoi(r.str("limit")); err == nil && l > 0 {
		limit = min(l, 999)
	}
	withMD := r.boolean("include_all_metadata")
	latest, oldest := r.str("latest"), r.str("oldest")
	inclusive := r.boolean("inclusive")
	var sel []*Message
	for _, m := range slices.Backward(msgs) {
		if latest != "" && (tsLess(latest, m.TS) || (!inclusive && m.TS == latest)) {
			continue
		}
		if oldest != "" && (tsLess(m.TS, oldest) || (!inclusive && m.TS == oldest)) {
			continue
		}
		sel = append(sel, m)
	}
	start := 0
	if c := r.str("cursor"); c != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(c, "offset:"))
		if err != nil || n < 0 || n > len(sel) {
			return nil, errf("invalid_cursor")
		}
		start = n
	}
	end := min(start+limit, len(sel))
	out := []any{}
	for _, m := range sel[start:end] {
		out = append(out, s.messageJSON(m, withMD))
	}
	next := ""
	if end < len(sel) {
		next = "offset:" + strconv.Itoa(end)
	}
	return map[string]any{
		"messages":          out,
		"has_more":          next != "",
		"pin_count":         0,
		"response_metadata": map[string]any{"next_cursor": next},
	}, nil
}

// tsLess compares two Slack timestamps ("seconds.micros") numerically.
func tsLess(a, b string) bool { return tsMicros(a) < tsMicros(b) }

func tsMicros(ts string) int64 {
	sec, frac, _ := strings.Cut(ts, ".")
	n, _ := strconv.ParseInt(sec, 10, 64)
	frac = (frac + "000000")[:6]
	f, _ := strconv.ParseInt(frac, 10, 64)
	return n*1e6 + f
}
