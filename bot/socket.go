package bot

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// A SocketMode connection state, for readiness: whether a Socket Mode
// connection is up now.
type SocketState struct{ connected atomic.Bool }

// Connected reports whether the connection is up.
func (s *SocketState) Connected() bool { return s.connected.Load() }

// fatalSocketErrors are the errors no reconnect can cure: the tokens are wrong.
var fatalSocketErrors = []string{"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "no_permission", "missing_scope", "not_allowed_token_type"}

// RunSocketMode receives Slack's deliveries over Socket Mode until ctx is done,
// acknowledging each as soon as Accept returns. newClient makes a connection's
// client (socketmode.New over a slack.Client with the app-level token). slack-go
// reconnects by itself; when its loop returns anyway, RunSocketMode makes a new
// client and connects again after a backoff (1 s doubling to 1 min), except for
// errors that mean the tokens are wrong, which it returns. state, when not nil,
// tracks whether a connection is up.
func (b *Bot) RunSocketMode(ctx context.Context, newClient func() *socketmode.Client, state *SocketState) error {
	if state == nil {
		state = &SocketState{}
	}
	backoff := time.Second
	for {
		c := newClient()
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.RunContext(runCtx) }()
		fatal := b.socketEvents(runCtx, c, state, done)
		cancel()
		state.connected.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		if fatal != nil {
			return fatal
		}
		b.log.Warn("Socket Mode connection ended; reconnecting", "backoff", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// socketEvents handles one client's events until its run loop ends (done). It
// returns an error when the run ended for a reason no reconnect cures.
func (b *Bot) socketEvents(ctx context.Context, c *socketmode.Client, state *SocketState, done <-chan error) error {
	for {
		select {
		case err := <-done:
			if err == nil || ctx.Err() != nil {
				return nil
			}
			for _, f := range fatalSocketErrors {
				if containsWord(err.Error(), f) {
					return fmt.Errorf("socket mode: %w (check the app-level and bot tokens)", err)
				}
			}
			b.log.Error("Socket Mode run ended", "err", err)
			return nil
		case evt, ok := <-c.Events:
			if !ok {
				return nil
			}
			if err := b.socketEvent(ctx, c, state, evt); err != nil {
				return err
			}
		}
	}
}

// socketEvent handles one Socket Mode event. It must be quick: slack-go's reader
// waits while Events is full, and a stalled reader misses Slack's pings.
func (b *Bot) socketEvent(ctx context.Context, c *socketmode.Client, state *SocketState, evt socketmode.Event) error {
	began := time.Now()
	switch evt.Type {
	case socketmode.EventTypeConnected:
		state.connected.Store(true)
		b.log.Info("Socket Mode connected")
	case socketmode.EventTypeConnecting:
		b.log.Info("Socket Mode connecting")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeDisconnect:
		state.connected.Store(false)
		b.log.Warn("Socket Mode connection lost", "type", evt.Type, "data", fmt.Sprint(evt.Data))
	case socketmode.EventTypeInvalidAuth:
		state.connected.Store(false)
		return errors.New("socket mode: Slack refused the tokens (invalid_auth)")
	case socketmode.EventTypeEventsAPI:
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		b.ack(c, evt, nil, began)
		if ok {
			b.Event(ctx, ev)
		}
	case socketmode.EventTypeSlashCommand:
		s, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			b.ack(c, evt, nil, began)
			break
		}
		reply := b.Accept(ctx, fromSlash(s, began))
		var payload any
		if !reply.empty() {
			payload = slashResponse(reply)
		}
		b.ack(c, evt, payload, began)
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slack.InteractionCallback)
		b.ack(c, evt, nil, began)
		if ok {
			if req, ok := fromInteraction(cb, began); ok {
				b.Accept(ctx, req)
			}
		}
	}
	return nil
}

// ack acknowledges a Socket Mode envelope; a payload only for slash commands.
func (b *Bot) ack(c *socketmode.Client, evt socketmode.Event, payload any, began time.Time) {
	if evt.Request == nil {
		return
	}
	var err error
	if payload != nil {
		err = c.Ack(*evt.Request, payload)
	} else {
		err = c.Ack(*evt.Request)
	}
	b.metrics.ObserveAck("socket", time.Since(began))
	if err != nil {
		b.log.Error("Socket Mode acknowledgement failed", "envelope", evt.Request.EnvelopeID, "err", err)
	}
}

// containsWord reports whether s contains w as a whole word of [a-z_].
func containsWord(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if s[i:i+len(w)] != w {
			continue
		}
		before := i == 0 || !wordByte(s[i-1])
		after := i+len(w) == len(s) || !wordByte(s[i+len(w)])
		if before && after {
			return true
		}
	}
	return false
}

func wordByte(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' }
