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
// a short ping timeout keeps its one connection, because the fake pings it. It
// waits for the client to answer enough of the fake's pings to span more than
// twice its timeout, and then counts the connections.
func TestNoPingTimeout(t *testing.T) {
	const (
		pingEvery = 50 * time.Millisecond
		timeout   = 500 * time.Millisecond
		pongs     = int(2*timeout/pingEvery) + 2 // n pongs on one connection span n-1 intervals
	)
	s := New()
	t.Cleanup(s.Close)
	s.mu.Lock()
	s.pingEvery = pingEvery
	s.mu.Unlock()

	api := slack.New("xoxb-test", slack.OptionAppLevelToken("xapp-test"), slack.OptionAPIURL(s.APIURL()))
	sm := socketmode.New(api, socketmode.OptionPingInterval(timeout))
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
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	err := s.WaitPongs(wctx, pongs)
	cancel()
	<-done
	if err != nil {
		t.Fatalf("the client did not answer the fake's pings: %v", err)
	}
	if n := s.Connections(); n != 1 {
		t.Errorf("Connections() = %d after %d pings answered (%v apart) with a %v ping timeout; want 1", n, pongs, pingEvery, timeout)
	}
}
