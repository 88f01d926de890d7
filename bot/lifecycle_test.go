package bot

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// heldClaims is a Store whose de-duplication claims wait for gate, whatever
// their context says, as a store stuck in a long write would; entered receives
// once per claim that waits.
type heldClaims struct {
	Store
	gate    chan struct{}
	entered chan struct{}
}

func (s heldClaims) Claim(context.Context, string, time.Duration) (bool, error) {
	s.entered <- struct{}{}
	<-s.gate
	return true, nil
}

// startSocketMode runs the harness's bot over Socket Mode until the returned
// stop is called; stop returns RunSocketMode's error.
func startSocketMode(h *harness) (stop func() error) {
	api := slack.New("xoxb-test", slack.OptionAPIURL(h.fake.APIURL()), slack.OptionAppLevelToken("xapp-test"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- h.bot.RunSocketMode(ctx, func() *socketmode.Client {
			return socketmode.New(api, socketmode.OptionPingInterval(time.Hour))
		}, nil)
	}()
	return func() error { cancel(); return <-done }
}

// acks returns how many Socket Mode acknowledgements reg's metrics counted.
func acks(t *testing.T, reg *prometheus.Registry) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "authtriage_ack_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "transport" && l.GetValue() == "socket" {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}

// TestSocketModeWaitsForEnvelopes: RunSocketMode returns only when the envelopes
// it took are handled, acknowledgement included, even when their handlers are
// slow to finish.
func TestSocketModeWaitsForEnvelopes(t *testing.T) {
	reg := prometheus.NewRegistry()
	held := heldClaims{gate: make(chan struct{}), entered: make(chan struct{})}
	h := newHarness(t, func(o *Options) {
		o.Metrics = NewMetrics(reg)
		held.Store = o.Store
		o.Store = held
	})
	stop := startSocketMode(h)
	wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer wcancel()
	const n = 3
	for i := range n {
		id := "env-held-" + string(rune('a'+i))
		payload := url.Values{"command": {"/authtriage"}, "text": {"help"}, "user_id": {dba},
			"channel_id": {incident}, "trigger_id": {"held." + id}}
		body := map[string]string{}
		for k := range payload {
			body[k] = payload.Get(k)
		}
		if err := h.fake.SendEnvelope(wctx, map[string]any{"type": "slash_commands", "envelope_id": id, "payload": body}); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		<-held.entered // each envelope's handler waits in the store
	}
	returned := make(chan error, 1)
	go func() { returned <- stop() }()
	close(held.gate)
	if err := <-returned; err != nil {
		t.Errorf("RunSocketMode = %v; want nil after cancel", err)
	}
	if got := acks(t, reg); got != n {
		t.Errorf("RunSocketMode returned after %d acknowledgements; want all %d envelopes handled first", got, n)
	}
}

// TestSocketModeStopsWhileHandlersAreFull: with every handler busy, Socket Mode
// still stops when asked; the envelope it could not take is left unacknowledged,
// for Slack to deliver again.
func TestSocketModeStopsWhileHandlersAreFull(t *testing.T) {
	h := newHarness(t)
	for range cap(h.bot.socketWork) {
		h.bot.socketWork <- struct{}{}
	}
	defer func() {
		for range cap(h.bot.socketWork) {
			<-h.bot.socketWork
		}
	}()
	stop := startSocketMode(h)
	wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer wcancel()
	env := map[string]any{"type": "slash_commands", "envelope_id": "env-full", "payload": map[string]string{
		"command": "/authtriage", "text": "help", "user_id": dba, "channel_id": incident, "trigger_id": "full.1"}}
	if err := h.fake.SendEnvelope(wctx, env); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Errorf("RunSocketMode = %v; want nil after cancel", err)
	}
	done, cancel := context.WithCancel(t.Context())
	cancel()
	if ack, err := h.fake.WaitAck(done, "env-full"); err == nil {
		t.Errorf("envelope acknowledged (%s) though no handler was free", ack)
	}
}
