package teamsfake

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	adaptiveCardType  = "application/vnd.microsoft.card.adaptive"
	botFrameworkScope = "https://api.botframework.com/.default"
	// maxBody bounds what the fake reads of a request: enough to see that a
	// message is over MaxMessageBytes.
	maxBody = 4 << 20
)

// answer is what a handler decided to reply.
type answer struct {
	status int
	header map[string]string
	body   any
	code   string // error code, for Call.Code
	// conversationID / activityID refine the Call when the handler learns them.
	conversationID, activityID string
}

func errorAnswer(status int, code, message string) answer {
	return answer{status: status, code: code, body: map[string]any{"error": map[string]any{"code": code, "message": message}}}
}

// handle runs the steps every route shares: read, delay, fault, auth,
// process, record, notify, answer.
func (s *Server) handle(w http.ResponseWriter, r *http.Request, op, conversationID, activityID string, needsAuth bool, process func(body []byte) answer) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	call := Call{
		Op: op, Method: r.Method, Path: r.URL.EscapedPath(),
		ConversationID: conversationID, ActivityID: activityID,
		Authorization: r.Header.Get("Authorization"),
		Body:          body,
		Time:          s.opts.Now(),
	}
	if !s.wait(r) {
		// The client gave up or the server is closing: nothing reached
		// "Teams"; abort rather than let net/http send an empty 200.
		panic(http.ErrAbortHandler)
	}
	fault := s.takeFault(op)
	var ans answer
	switch {
	case fault != nil && !fault.Delivered:
		ans = faultAnswer(op, fault)
	case needsAuth && !s.authorized(call.Authorization):
		ans = answer{status: http.StatusUnauthorized, code: "Unauthorized",
			body: map[string]any{"message": "Authorization has been denied for this request."}}
		s.mu.Lock()
		s.violateLocked("unauthorized", conversationID, activityID, "missing, unknown or expired bearer token")
		s.mu.Unlock()
	default:
		ans = process(body)
		if fault != nil && ans.status < 300 {
			ans = faultAnswer(op, fault) // delivered, but the answer is lost
		}
	}
	if ans.conversationID != "" {
		call.ConversationID = ans.conversationID
	}
	if ans.activityID != "" {
		call.ActivityID = ans.activityID
	}
	call.Status, call.Code = ans.status, ans.code
	if fault != nil && fault.Drop {
		call.Status, call.Code = 0, "dropped"
	}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.changedLocked()
	s.mu.Unlock()
	if s.opts.OnCall != nil {
		c := call
		c.Body = append(json.RawMessage(nil), call.Body...)
		s.opts.OnCall(c)
	}
	if fault != nil && fault.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // closes the connection without an answer
	}
	for k, v := range ans.header {
		w.Header().Set(k, v)
	}
	if ans.body == nil {
		w.WriteHeader(ans.status)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(ans.status)
	_ = json.NewEncoder(w).Encode(ans.body)
}

// faultAnswer renders an injected fault as Teams (or Entra) would.
func faultAnswer(op string, f *Fault) answer {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	var ans answer
	if op == OpToken {
		code := f.Code
		if code == "" {
			code = "temporarily_unavailable"
		}
		ans = answer{status: status, code: code, body: map[string]any{"error": code, "error_description": "injected fault"}}
	} else {
		code := f.Code
		if code == "" {
			code = http.StatusText(status)
		}
		e := map[string]any{"code": code, "message": "injected fault"}
		if f.SubCode != "" {
			e["subCode"] = f.SubCode
		}
		ans = answer{status: status, code: code, body: map[string]any{"error": e}}
	}
	if f.RetryAfter != "" {
		ans.header = map[string]string{"Retry-After": f.RetryAfter}
	}
	return ans
}

// authorized checks a connector call's bearer token when RequireAuth.
func (s *Server) authorized(header string) bool {
	if !s.opts.RequireAuth {
		return true
	}
	tok, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || tok == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, known := s.tokens[tok]
	return known && s.opts.Now().Before(exp)
}

// serveToken is Entra's client-credentials token endpoint.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	tenant := r.PathValue("tenant")
	s.handle(w, r, OpToken, "", "", false, func(body []byte) answer {
		oauthErr := func(status int, code, desc string) answer {
			return answer{status: status, code: code, body: map[string]any{"error": code, "error_description": desc}}
		}
		form, err := parseForm(r, body)
		if err != nil {
			return oauthErr(http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must be application/x-www-form-urlencoded.")
		}
		id, secret := form.Get("client_id"), form.Get("client_secret")
		if u, p, ok := r.BasicAuth(); ok {
			id, secret = u, p
		}
		switch {
		case form.Get("grant_type") != "client_credentials":
			return oauthErr(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
		case tenant != s.opts.TenantID || id != s.opts.ClientID:
			return oauthErr(http.StatusBadRequest, "unauthorized_client", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory '%s'.", id, tenant))
		case secret != s.opts.ClientSecret:
			return oauthErr(http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
		case form.Get("scope") != botFrameworkScope:
			return oauthErr(http.StatusBadRequest, "invalid_scope", "AADSTS70011: The provided value for the input parameter 'scope' is not valid.")
		}
		tok := randomToken()
		secs := int(s.opts.TokenTTL / time.Second)
		s.mu.Lock()
		s.tokens[tok] = s.opts.Now().Add(s.opts.TokenTTL)
		s.mu.Unlock()
		return answer{status: http.StatusOK, body: map[string]any{
			"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok,
		}}
	})
}

// parseForm reads a form body; Entra refuses anything else.
func parseForm(r *http.Request, body []byte) (url.Values, error) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		return nil, fmt.Errorf("content type %q", ct)
	}
	return url.ParseQuery(string(body))
}

// serveCreateConversation creates (or finds) a user's 1:1 conversation.
func (s *Server) serveCreateConversation(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, OpCreateConversation, "", "", true, func(body []byte) answer {
		var p struct {
			Bot *struct {
				ID string `json:"id"`
			} `json:"bot"`
			Members []struct {
				ID string `json:"id"`
			} `json:"members"`
			IsGroup     bool   `json:"isGroup"`
			TenantID    string `json:"tenantId"`
			ChannelData *struct {
				Tenant *struct {
					ID string `json:"id"`
				} `json:"tenant"`
			} `json:"channelData"`
		}
		bad := func(detail string) answer {
			s.mu.Lock()
			s.violateLocked("bad_conversation", "", "", detail)
			s.mu.Unlock()
			return errorAnswer(http.StatusBadRequest, "BadArgument", detail)
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return bad("body is not a ConversationParameters object: " + err.Error())
		}
		tenant := p.TenantID
		if p.ChannelData != nil && p.ChannelData.Tenant != nil {
			if p.TenantID != "" && p.ChannelData.Tenant.ID != p.TenantID {
				return bad("tenantId and channelData.tenant.id differ")
			}
			tenant = p.ChannelData.Tenant.ID
		}
		switch {
		case p.Bot == nil || p.Bot.ID == "":
			return bad("bot.id is required")
		case len(p.Members) != 1 || p.Members[0].ID == "":
			return bad("a 1:1 conversation needs exactly one member with an id")
		case p.IsGroup:
			return bad("isGroup must be false for a 1:1 conversation")
		case tenant == "":
			return bad("tenantId (or channelData.tenant.id) is required")
		}
		user := p.Members[0].ID
		s.mu.Lock()
		id, ok := s.conversations[user]
		if !ok {
			id = conversationIDFor(user)
			s.conversations[user] = id
		}
		s.mu.Unlock()
		return answer{status: http.StatusCreated, body: map[string]any{"id": id}, conversationID: id}
	})
}

// conversationIDFor derives a Teams-looking personal conversation id from
// the user, so a user keeps it even across fake restarts.
func conversationIDFor(user string) string {
	sum := sha256.Sum256([]byte(user))
	return "a:1" + base64.RawURLEncoding.EncodeToString(sum[:18])
}

// wireActivity is the part of an activity the fake checks and records.
type wireActivity struct {
	Type        string `json:"type"`
	ReplyToID   string `json:"replyToId"`
	Text        string `json:"text"`
	Attachments []struct {
		ContentType string          `json:"contentType"`
		Content     json.RawMessage `json:"content"`
	} `json:"attachments"`
}

// serveSend posts an activity, or a reply when the path names replyToId.
func (s *Server) serveSend(w http.ResponseWriter, r *http.Request) {
	conv, replyTo := r.PathValue("conversation"), r.PathValue("activity")
	op := OpSend
	if replyTo != "" {
		op = OpReply
	}
	s.handle(w, r, op, conv, replyTo, true, func(body []byte) answer {
		a, rej := s.checkActivity(conv, "", body, false)
		if rej != nil {
			return *rej
		}
		if a.Type != "message" {
			// typing and friends: accepted, not kept.
			return answer{status: http.StatusCreated, body: map[string]any{"id": s.nextActivityID()}}
		}
		rec := &Activity{ConversationID: conv, ReplyToID: a.ReplyToID, Type: a.Type, Text: a.Text, Raw: body, Time: s.opts.Now()}
		if rec.ReplyToID == "" {
			rec.ReplyToID = replyTo
		}
		for _, at := range a.Attachments {
			rec.Attachments = append(rec.Attachments, Attachment{ContentType: at.ContentType, Content: at.Content})
		}
		rec.ID = s.nextActivityID()
		s.mu.Lock()
		s.activities = append(s.activities, rec)
		s.byID[conv+"\x00"+rec.ID] = rec
		s.changedLocked()
		s.mu.Unlock()
		return answer{status: http.StatusCreated, body: map[string]any{"id": rec.ID}, activityID: rec.ID}
	})
}

// serveUpdate replaces a posted activity.
func (s *Server) serveUpdate(w http.ResponseWriter, r *http.Request) {
	conv, id := r.PathValue("conversation"), r.PathValue("activity")
	s.handle(w, r, OpUpdate, conv, id, true, func(body []byte) answer {
		a, rej := s.checkActivity(conv, id, body, true)
		if rej != nil {
			return *rej
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		rec := s.byID[conv+"\x00"+id]
		if rec == nil {
			s.violateLocked("unknown_activity", conv, id, "update of an activity this conversation does not have")
			return errorAnswer(http.StatusNotFound, "ActivityNotFound", "The activity was not found.")
		}
		rec.Text, rec.Raw, rec.Attachments = a.Text, body, nil
		for _, at := range a.Attachments {
			rec.Attachments = append(rec.Attachments, Attachment{ContentType: at.ContentType, Content: at.Content})
		}
		rec.Updates++
		s.changedLocked()
		return answer{status: http.StatusOK, body: map[string]any{"id": id}}
	})
}

// serveDelete removes a posted activity (Bot Framework "Delete activity":
// 200 with no body). An activity the conversation does not have (never
// posted, or deleted already) is a 404 ActivityNotFound — not a violation:
// a delete retried after its answer was lost meets it.
func (s *Server) serveDelete(w http.ResponseWriter, r *http.Request) {
	conv, id := r.PathValue("conversation"), r.PathValue("activity")
	s.handle(w, r, OpDelete, conv, id, true, func([]byte) answer {
		s.mu.Lock()
		defer s.mu.Unlock()
		rec := s.byID[conv+"\x00"+id]
		if rec == nil {
			return errorAnswer(http.StatusNotFound, "ActivityNotFound", "The activity was not found.")
		}
		delete(s.byID, conv+"\x00"+id)
		s.activities = slices.DeleteFunc(s.activities, func(a *Activity) bool { return a == rec })
		s.changedLocked()
		return answer{status: http.StatusOK}
	})
}

// serveUnknown answers routes the fake does not model.
func (s *Server) serveUnknown(w http.ResponseWriter, r *http.Request) {
	s.handle(w, r, "", "", "", false, func([]byte) answer {
		s.mu.Lock()
		s.violateLocked("unknown_route", "", "", r.Method+" "+r.URL.EscapedPath())
		s.mu.Unlock()
		return errorAnswer(http.StatusNotFound, "NotFound", "No route for "+r.Method+" "+r.URL.EscapedPath())
	})
}

// nextActivityID returns a Teams-like id: epoch milliseconds, strictly
// increasing.
func (s *Server) nextActivityID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.opts.Now().UnixMilli()
	if id <= s.lastID {
		id = s.lastID + 1
	}
	s.lastID = id
	return strconv.FormatInt(id, 10)
}
