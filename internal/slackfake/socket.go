package slackfake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// An Envelope is a Socket Mode message as Slack sends it: Type "events_api",
// "slash_commands", "interactive" or "disconnect".
type Envelope struct {
	Type                   string `json:"type"`
	EnvelopeID             string `json:"envelope_id,omitempty"`
	Payload                any    `json:"payload,omitempty"`
	AcceptsResponsePayload bool   `json:"accepts_response_payload,omitempty"`
	RetryAttempt           int    `json:"retry_attempt,omitempty"`
	RetryReason            string `json:"retry_reason,omitempty"`
	Reason                 string `json:"reason,omitempty"` // of a disconnect
}

// hello is what Slack sends first on a new Socket Mode connection.
const hello = `{"type":"hello","num_connections":1,` +
	`"debug_info":{"host":"slackfake","build_number":1,"approximate_connection_time":18060},` +
	`"connection_info":{"app_id":"A0001"}}`

// defaultPingEvery is how often the fake pings its WebSocket clients. Slack pings
// too, and slack-go reconnects when pings stop for its OptionPingInterval.
const defaultPingEvery = 5 * time.Second

// A socket is one Socket Mode connection.
type socket struct {
	conn *websocket.Conn
	mu   sync.Mutex // serializes data writes; control writes need no lock
	done chan struct{}
	once sync.Once
}

func (k *socket) write(ctx context.Context, data []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(10 * time.Second)
	}
	k.conn.SetWriteDeadline(deadline)
	return k.conn.WriteMessage(websocket.TextMessage, data)
}

func (k *socket) close() {
	k.once.Do(func() {
		msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "slackfake disconnect")
		k.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(time.Second))
		k.conn.Close()
		close(k.done)
	})
}

// serveWebSocket runs one Socket Mode connection: hello, then acks until the
// connection closes, with pings every s.pingEvery.
func (s *Server) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }} // slack-go sends Slack's Origin
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has answered
	}
	k := &socket{conn: conn, done: make(chan struct{})}
	if k.write(context.Background(), []byte(hello)) != nil {
		k.close()
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		k.close()
		return
	}
	s.wg.Add(1)
	defer s.wg.Done()
	s.accepted++
	s.sockets = append(s.sockets, k)
	s.notifyLocked()
	every := s.pingEvery
	s.mu.Unlock()

	s.wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-k.done:
				return
			case <-t.C:
				if conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)) != nil {
					return
				}
			}
		}
	})

	// The default ping handler answers the client's pings while ReadMessage
	// runs, and the pong handler counts the client's answers to the fake's.
	conn.SetPongHandler(func(string) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.pongs++
		s.notifyLocked()
		return nil
	})
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			break
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		if string(ack.Payload) == "null" {
			ack.Payload = nil
		}
		s.mu.Lock()
		s.acks[ack.EnvelopeID] = ack.Payload
		s.notifyLocked()
		s.mu.Unlock()
	}
	k.close()
	s.mu.Lock()
	s.sockets = slices.DeleteFunc(s.sockets, func(x *socket) bool { return x == k })
	s.notifyLocked()
	s.mu.Unlock()
}

// SendEnvelope writes env to the newest Socket Mode connection, waiting for one
// until ctx is done. env is an Envelope or any value that marshals to one; a
// []byte, json.RawMessage or string is sent as it is.
func (s *Server) SendEnvelope(ctx context.Context, env any) error {
	var data []byte
	switch e := env.(type) {
	case []byte:
		data = e
	case json.RawMessage:
		data = e
	case string:
		data = []byte(e)
	default:
		var err error
		if data, err = json.Marshal(env); err != nil {
			return err
		}
	}
	var k *socket
	err := s.wait(ctx, func() bool {
		if n := len(s.sockets); n > 0 {
			k = s.sockets[n-1]
		}
		return k != nil
	})
	if err != nil {
		return fmt.Errorf("no Socket Mode connection: %w", err)
	}
	return k.write(ctx, data)
}

// WaitAck waits until the client acknowledges envelopeID and returns the ack's
// payload, nil if it had none.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (json.RawMessage, error) {
	var payload json.RawMessage
	err := s.wait(ctx, func() bool {
		p, ok := s.acks[envelopeID]
		payload = p
		return ok
	})
	if err != nil {
		return nil, fmt.Errorf("no ack of envelope %s: %w", envelopeID, err)
	}
	return payload, nil
}

// Disconnect closes every Socket Mode connection, as a network failure or a
// Slack restart would; slack-go then reconnects. For Slack's polite request to
// reconnect, send Envelope{Type: "disconnect", Reason: "refresh_requested"} instead.
func (s *Server) Disconnect() {
	s.mu.Lock()
	socks := s.sockets
	s.sockets = nil
	s.notifyLocked()
	s.mu.Unlock()
	for _, k := range socks {
		k.close()
	}
}

// WaitPongs waits until the Socket Mode clients have answered n of the fake's
// pings, over all their connections, or returns ctx's error. The fake pings
// each connection every few seconds (as Slack does), so n answers on one
// connection span at least n-1 of those intervals.
func (s *Server) WaitPongs(ctx context.Context, n int) error {
	var got int
	err := s.wait(ctx, func() bool {
		got = s.pongs
		return got >= n
	})
	if err != nil {
		return fmt.Errorf("%d of %d pongs: %w", got, n, err)
	}
	return nil
}

// Connections returns the number of Socket Mode connections accepted so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}
