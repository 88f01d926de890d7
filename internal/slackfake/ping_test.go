package slackfake

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// TestPings checks both directions: the fake answers a client's ping with a pong,
// and pings the client on its own, as Slack does.
func TestPings(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	s.mu.Lock()
	s.pingEvery = 20 * time.Millisecond
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(s.srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pinged, ponged := make(chan struct{}, 1), make(chan struct{}, 1)
	conn.SetPingHandler(func(string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return nil
	})
	conn.SetPongHandler(func(data string) error {
		if data == "are you there" {
			ponged <- struct{}{}
		}
		return nil
	})
	if err := conn.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	go func() { // control frames are handled while reading
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	for _, c := range []struct {
		name string
		ch   chan struct{}
	}{{"pong", ponged}, {"ping", pinged}} {
		select {
		case <-c.ch:
		case <-ctx.Done():
			t.Fatalf("no %s from the fake", c.name)
		}
	}
}

// TestNoPingTimeout checks the slacktest pitfall is gone: a Socket Mode client with
// a short ping timeout keeps its one connection, because the fake pings it.
func TestNoPingTimeout(t *testing.T) {
	s := New()
	t.Cleanup(s.Close)
	s.mu.Lock()
	s.pingEvery = 50 * time.Millisecond
	s.mu.Unlock()

	api := slack.New("xoxb-test", slack.OptionAppLevelToken("xapp-test"), slack.OptionAPIURL(s.APIURL()))
	sm := socketmode.New(api, socketmode.OptionPingInterval(500*time.Millisecond))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sm.RunContext(ctx)
	}()
	go func() {
		for {
			select {
			case <-sm.Events:
			case <-ctx.Done():
				return
			}
		}
	}()
	time.Sleep(1500 * time.Millisecond)
	cancel()
	<-done
	if n := s.Connections(); n != 1 {
		t.Errorf("Connections() = %d after 1.5s with a 500ms ping timeout; want 1", n)
	}
}
