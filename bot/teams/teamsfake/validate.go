package teamsfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// maxCardMajor.maxCardMinor is the newest Adaptive Card schema Teams renders.
const maxCardMajor, maxCardMinor = 1, 5

// checkActivity decodes and checks a posted or updated activity as Teams
// would. It returns the decoded activity, or the rejection to answer (after
// recording a violation). Soft problems are recorded and let through.
func (s *Server) checkActivity(conv, activityID string, body []byte, update bool) (*wireActivity, *answer) {
	reject := func(status int, kind, code, detail string) (*wireActivity, *answer) {
		s.mu.Lock()
		s.violateLocked(kind, conv, activityID, detail)
		s.mu.Unlock()
		a := errorAnswer(status, code, detail)
		return nil, &a
	}
	if len(body) > MaxMessageBytes {
		return reject(http.StatusRequestEntityTooLarge, "message_too_big", "MessageSizeTooBig",
			fmt.Sprintf("message of %d bytes is over %d", len(body), MaxMessageBytes))
	}
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return reject(http.StatusBadRequest, "bad_activity", "BadArgument", "body is not a JSON object")
	}
	var a wireActivity
	if err := json.Unmarshal(body, &a); err != nil {
		return reject(http.StatusBadRequest, "bad_activity", "BadArgument", "body is not an Activity: "+err.Error())
	}
	switch {
	case a.Type == "":
		return reject(http.StatusBadRequest, "bad_activity", "BadArgument", "activity type is required")
	case a.Type == "typing" && !update:
		return &a, nil
	case a.Type != "message":
		return reject(http.StatusBadRequest, "bad_activity", "BadArgument", "unsupported activity type "+strconv.Quote(a.Type))
	case a.Text == "" && len(a.Attachments) == 0:
		return reject(http.StatusBadRequest, "bad_activity", "BadArgument", "a message needs text or attachments")
	}
	cards := 0
	for i, at := range a.Attachments {
		if at.ContentType == "" {
			return reject(http.StatusBadRequest, "bad_attachment", "BadArgument", fmt.Sprintf("attachments[%d]: contentType is required", i))
		}
		if at.ContentType != adaptiveCardType {
			continue
		}
		cards++
		var card map[string]any
		if err := json.Unmarshal(at.Content, &card); err != nil || card == nil {
			return reject(http.StatusBadRequest, "bad_attachment", "BadArgument", fmt.Sprintf("attachments[%d]: Adaptive Card content must be a JSON object", i))
		}
		if card["type"] != "AdaptiveCard" {
			return reject(http.StatusBadRequest, "bad_attachment", "BadArgument", fmt.Sprintf("attachments[%d]: content.type must be \"AdaptiveCard\"", i))
		}
		s.mu.Lock()
		if n := len(at.Content); n > MaxCardBytes {
			s.violateLocked("card_too_large", conv, activityID, fmt.Sprintf("attachments[%d]: card of %d bytes is over %d", i, n, MaxCardBytes))
		}
		if v, _ := card["version"].(string); v != "" {
			if !cardVersionOK(v) {
				s.violateLocked("card_version", conv, activityID, fmt.Sprintf("attachments[%d]: version %q; Teams renders up to 1.5", i, v))
			}
		}
		s.mu.Unlock()
	}
	if cards > 0 && a.Text != "" {
		s.mu.Lock()
		s.violateLocked("text_with_card", conv, activityID, "message has text and a card; send card-only activities")
		s.mu.Unlock()
	}
	return &a, nil
}

// cardVersionOK reports whether "major.minor" is at most 1.5 (compared as
// numbers: "1.10" is newer than "1.5").
func cardVersionOK(v string) bool {
	maj, minor, ok := strings.Cut(strings.TrimSpace(v), ".")
	if !ok {
		return false
	}
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil {
		return false
	}
	return a < maxCardMajor || a == maxCardMajor && b <= maxCardMinor
}
