package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// A SocketMode connection state, for readiness: whether a Socket Mode
// connection is up now.
type SocketState struct {
	connected atomic.Bool
	connects  atomic.Int64 // connections made so far
}

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
// tracks whether a connection is up. It returns once the envelopes it took are
// handled.
func (b *Bot) RunSocketMode(ctx context.Context, newClient func() *socketmode.Client, state *SocketState) error {
	if state == nil {
		state = &SocketState{}
	}
	var handlers sync.WaitGroup // envelopes being handled
	defer handlers.Wait()
	backoff := time.Second
	for {
		c := newClient()
		connects := state.connects.Load()
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.RunContext(runCtx) }()
		fatal := b.socketEvents(runCtx, c, state, done, &handlers)
		cancel()
		state.connected.Store(false)
		if ctx.Err() != nil {
			return nil
		}
		if fatal != nil {
			return fatal
		}
		if state.connects.Load() > connects {
			backoff = time.Second // it worked for a while: start the backoff again
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

// socketEvents handles one client's events until its run loop ends (done), each
// envelope in a goroutine of handlers. It returns an error when the run ended for
// a reason no reconnect cures.
func (b *Bot) socketEvents(ctx context.Context, c *socketmode.Client, state *SocketState, done <-chan error, handlers *sync.WaitGroup) error {
	for {
		select {
		case err := <-done:
			if err == nil || ctx.Err() != nil {
				return nil
			}
			if fatalCode(err) != "" {
				return fmt.Errorf("socket mode: %w (check the app-level and bot tokens)", err)
			}
			b.log.Error("Socket Mode run ended", "err", err)
			return nil
		case evt, ok := <-c.Events:
			if !ok {
				return nil
			}
			if err := b.socketEvent(ctx, c, state, evt, handlers); err != nil {
				return err
			}
		}
	}
}

// socketEvent handles one Socket Mode event. It must be quick: slack-go's reader
// waits while Events is full, and a stalled reader misses Slack's pings.
func (b *Bot) socketEvent(ctx context.Context, c *socketmode.Client, state *SocketState, evt socketmode.Event, handlers *sync.WaitGroup) error {
	began := time.Now()
	switch evt.Type {
	case socketmode.EventTypeConnected:
		state.connected.Store(true)
		state.connects.Add(1)
		b.log.Info("Socket Mode connected")
	case socketmode.EventTypeConnecting:
		state.connected.Store(false)
		b.log.Info("Socket Mode connecting")
	case socketmode.EventTypeConnectionError:
		state.connected.Store(false)
		if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok && ce.ErrorObj != nil {
			if code := fatalCode(ce.ErrorObj); code != "" {
				return fmt.Errorf("socket mode: Slack refused to connect: %s (check the app-level and bot tokens and the app's scopes)", code)
			}
			b.log.Warn("Socket Mode connection failed; slack-go retries", "attempt", ce.Attempt, "backoff", ce.Backoff, "err", ce.ErrorObj)
			break
		}
		b.log.Warn("Socket Mode connection failed", "data", fmt.Sprint(evt.Data))
	case socketmode.EventTypeDisconnect:
		state.connected.Store(false)
		b.log.Warn("Socket Mode disconnected by Slack; reconnecting")
	case socketmode.EventTypeInvalidAuth:
		state.connected.Store(false)
		return errors.New("socket mode: Slack refused the tokens (invalid_auth)")
	case socketmode.EventTypeEventsAPI, socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive:
		if evt.Request == nil {
			break
		}
		// Handled off the loop: a slow store must not hold up the envelopes
		// behind this one. The loop waits only when handlers are at their bound,
		// and not past ctx: an envelope left unacknowledged is delivered again.
		select {
		case b.socketWork <- struct{}{}:
		case <-ctx.Done():
			b.log.Warn("envelope left unacknowledged while stopping, for Slack to deliver again", "envelope", evt.Request.EnvelopeID)
			return nil
		}
		handlers.Go(func() {
			defer func() { <-b.socketWork }()
			b.handleEnvelope(ctx, c, evt, began)
		})
	}
	return nil
}

// handleEnvelope acknowledges a request envelope and hands it to Accept: events
// and clicks are acknowledged first, slash commands with Accept's reply. While the
// bot is stopping, events and clicks are not acknowledged, so Slack delivers them
// again (to another replica, or to this one once it is back).
func (b *Bot) handleEnvelope(ctx context.Context, c *socketmode.Client, evt socketmode.Event, began time.Time) {
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("Socket Mode envelope handler panicked", "type", evt.Type, "panic", p)
		}
	}()
	if evt.Type != socketmode.EventTypeSlashCommand && !b.accepting.Load() {
		b.log.Warn("envelope left unacknowledged while stopping, for Slack to deliver again", "envelope", evt.Request.EnvelopeID)
		return
	}
	switch data := evt.Data.(type) {
	case slackevents.EventsAPIEvent:
		b.ack(ctx, c, evt, nil, began)
		b.Event(ctx, data)
	case slack.SlashCommand:
		reply := b.Accept(ctx, fromSlash(data, began))
		var payload any
		if !reply.empty() {
			payload = slashResponse(reply)
		}
		b.ack(ctx, c, evt, payload, began)
	case slack.InteractionCallback:
		b.ack(ctx, c, evt, nil, began)
		if req, ok := fromInteraction(data, began); ok {
			b.Accept(ctx, req)
		}
	default:
		b.ack(ctx, c, evt, nil, began)
	}
}

// ack acknowledges a Socket Mode envelope; a payload only for slash commands. It
// gives up after a few seconds (Slack waits 3): slack-go's send queue does not
// drain while the connection is down.
func (b *Bot) ack(ctx context.Context, c *socketmode.Client, evt socketmode.Event, payload any, began time.Time) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := c.AckCtx(ctx, evt.Request.EnvelopeID, payload)
	b.metrics.ObserveAck("socket", time.Since(began))
	if err != nil {
		b.log.Error("Socket Mode acknowledgement failed", "envelope", evt.Request.EnvelopeID, "err", err)
	}
}

// fatalCode returns the token error in err that no reconnect cures, or "".
func fatalCode(err error) string {
	for _, f := range fatalSocketErrors {
		if containsWord(err.Error(), f) {
			return f
		}
	}
	return ""
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
