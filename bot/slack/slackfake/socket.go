package slackfake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Envelope is a Socket Mode message the fake sends to the app.
type Envelope struct {
	// Type is "events_api", "slash_commands" or "interactive".
	Type string
	// EnvelopeID defaults to a fresh id.
	EnvelopeID string
	// Payload is marshalled to JSON (json.RawMessage is sent as is).
	Payload any
	// AcceptsResponsePayload tells the app it may answer in the ack
	// (slash commands, interactions).
	AcceptsResponsePayload bool
	RetryAttempt           int
	RetryReason            string
}

// Ack is an acknowledgement the app sent back over the socket.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage // nil when the ack carried no payload
	At         time.Time
}

type socketConn struct {
	ws   *websocket.Conn
	wmu  sync.Mutex
	done chan struct{}
}

func (c *socketConn) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(v)
}

type socketState struct {
	mu      sync.Mutex
	tickets map[string]bool
	conns   []*socketConn
	acks    map[string]Ack
	waiters map[string][]chan Ack
	changed chan struct{} // closed and replaced on connect
	seq     int
}

func newSocketState() *socketState {
	return &socketState{tickets: map[string]bool{}, acks: map[string]Ack{}, waiters: map[string][]chan Ack{}, changed: make(chan struct{})}
}

func (st *socketState) closeAll() {
	st.mu.Lock()
	conns := st.conns
	st.conns = nil
	st.mu.Unlock()
	for _, c := range conns {
		c.wmu.Lock()
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server closing"), time.Now().Add(time.Second))
		c.wmu.Unlock()
		_ = c.ws.Close()
	}
}

func (s *Server) appsConnectionsOpen(r *request) (map[string]any, *apiError) {
	s.mu.Lock()
	ok := s.appTokens[r.token]
	s.mu.Unlock()
	switch {
	case r.token == "":
		return nil, errf("not_authed")
	case !strings.HasPrefix(r.token, "xapp-"):
		return nil, errf("not_allowed_token_type")
	case !ok:
		return nil, errf("invalid_auth")
	}
	ticket := randHex(12)
	s.socket.mu.Lock()
	s.socket.tickets[ticket] = true
	s.socket.mu.Unlock()
	u := "ws" + strings.TrimPrefix(s.hs.URL, "http") + "/socket?ticket=" + ticket + "&app_id=" + s.opts.AppID
	return map[string]any{"url": u}, nil
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	st := s.socket
	ticket := r.URL.Query().Get("ticket")
	st.mu.Lock()
	valid := st.tickets[ticket]
	delete(st.tickets, ticket) // a ticket is good for one connection
	st.mu.Unlock()
	if !valid {
		http.Error(w, "invalid ticket", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &socketConn{ws: ws, done: make(chan struct{})}
	st.mu.Lock()
	st.conns = append(st.conns, c)
	n := len(st.conns)
	st.mu.Unlock()

	hello := map[string]any{
		"type":            "hello",
		"num_connections": n,
		"debug_info":      map[string]any{"host": "slackfake", "build_number": 1, "approximate_connection_time": 18060},
		"connection_info": map[string]any{"app_id": s.opts.AppID},
	}
	if err := c.write(hello); err != nil {
		s.dropConn(c)
		return
	}
	c.wmu.Lock()
	_ = ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second))
	c.wmu.Unlock()
	// Announce only after hello, so envelopes never precede it.
	st.mu.Lock()
	close(st.changed)
	st.changed = make(chan struct{})
	st.mu.Unlock()

	go func() {
		t := time.NewTicker(s.opts.SocketPingInterval)
		defer t.Stop()
		for {
			select {
			case <-c.done:
				return
			case <-t.C:
				c.wmu.Lock()
				err := ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(time.Second))
				c.wmu.Unlock()
				if err != nil {
					return
				}
			}
		}
	}()
	defer s.dropConn(c)
	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var a struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &a) != nil || a.EnvelopeID == "" {
			continue
		}
		if string(a.Payload) == "null" {
			a.Payload = nil
		}
		ack := Ack{EnvelopeID: a.EnvelopeID, Payload: a.Payload, At: s.now()}
		st.mu.Lock()
		st.acks[a.EnvelopeID] = ack
		ws := st.waiters[a.EnvelopeID]
		delete(st.waiters, a.EnvelopeID)
		st.mu.Unlock()
		for _, ch := range ws {
			ch <- ack
		}
	}
}

func (s *Server) dropConn(c *socketConn) {
	st := s.socket
	st.mu.Lock()
	for i, x := range st.conns {
		if x == c {
			st.conns = append(st.conns[:i], st.conns[i+1:]...)
			close(c.done)
			break
		}
	}
	st.mu.Unlock()
	_ = c.ws.Close()
}

// SocketConnections returns the number of open Socket Mode connections.
func (s *Server) SocketConnections() int {
	s.socket.mu.Lock()
	defer s.socket.mu.Unlock()
	return len(s.socket.conns)
}

// WaitSocket waits until at least one Socket Mode connection has received
// its hello.
func (s *Server) WaitSocket(ctx context.Context) error {
	for {
		s.socket.mu.Lock()
		n, ch := len(s.socket.conns), s.socket.changed
		s.socket.mu.Unlock()
		if n > 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// ErrNoSocket is returned when no Socket Mode client is connected.
var ErrNoSocket = errors.New("slackfake: no socket mode connection")

// SendEnvelope sends an envelope to the (most recent) Socket Mode
// connection and returns its envelope id.
func (s *Server) SendEnvelope(env Envelope) (string, error) {
	st := s.socket
	st.mu.Lock()
	if len(st.conns) == 0 {
		st.mu.Unlock()
		return "", ErrNoSocket
	}
	c := st.conns[len(st.conns)-1]
	if env.EnvelopeID == "" {
		st.seq++
		env.EnvelopeID = fmt.Sprintf("%08d-%s", st.seq, randHex(8))
	}
	st.mu.Unlock()
	payload, ok := env.Payload.(json.RawMessage)
	if !ok {
		b, err := json.Marshal(env.Payload)
		if err != nil {
			return "", err
		}
		payload = b
	}
	msg := map[string]any{
		"type":                     env.Type,
		"envelope_id":              env.EnvelopeID,
		"payload":                  payload,
		"accepts_response_payload": env.AcceptsResponsePayload,
	}
	if env.Type == "events_api" {
		msg["retry_attempt"] = env.RetryAttempt
		msg["retry_reason"] = env.RetryReason
	}
	return env.EnvelopeID, c.write(msg)
}

// WaitAck waits for the app's ack of an envelope.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	st := s.socket
	st.mu.Lock()
	if a, ok := st.acks[envelopeID]; ok {
		st.mu.Unlock()
		return a, nil
	}
	ch := make(chan Ack, 1)
	st.waiters[envelopeID] = append(st.waiters[envelopeID], ch)
	st.mu.Unlock()
	select {
	case a := <-ch:
		return a, nil
	case <-ctx.Done():
		return Ack{}, ctx.Err()
	}
}

// Acks returns every ack received so far, by envelope id.
func (s *Server) Acks() map[string]Ack {
	s.socket.mu.Lock()
	defer s.socket.mu.Unlock()
	out := make(map[string]Ack, len(s.socket.acks))
	for k, v := range s.socket.acks {
		out[k] = v
	}
	return out
}

// SocketRequest sends an envelope and waits for its ack.
func (s *Server) SocketRequest(ctx context.Context, env Envelope) (Ack, error) {
	id, err := s.SendEnvelope(env)
	if err != nil {
		return Ack{}, err
	}
	return s.WaitAck(ctx, id)
}

// Disconnect asks connected clients to reconnect, like Slack's
// {"type":"disconnect","reason":"refresh_requested"}.
func (s *Server) Disconnect(reason string) {
	s.socket.mu.Lock()
	conns := append([]*socketConn(nil), s.socket.conns...)
	s.socket.mu.Unlock()
	for _, c := range conns {
		_ = c.write(map[string]any{"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": "slackfake"}})
	}
}
