package bot

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/authtriage/authtriage/internal/slackfake"
	slackrender "github.com/authtriage/authtriage/render/slack"
)

// slowClaims is a Store whose de-duplication claims hang, as a store busy with
// a long prune would.
type slowClaims struct{ Store }

func (slowClaims) Claim(ctx context.Context, _ string, _ time.Duration) (bool, error) {
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-time.After(time.Minute):
		return true, nil
	}
}

// TestSlowStoreDoesNotDelayTheAck: a hanging store delays the acknowledgement by
// at most claimTimeout, and the request is still handled.
func TestSlowStoreDoesNotDelayTheAck(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Store = slowClaims{o.Store} })
	began := time.Now()
	code, body := h.slash(dba, incident, "check sqlhost01")
	if took := time.Since(began); took > claimTimeout+time.Second || code != 200 || !strings.Contains(body, "Checking") {
		t.Errorf("ack = %d %s after %s; want it within %s", code, body, took, claimTimeout+time.Second)
	}
	h.wait("chat.update", 1)
}

// TestStoppingAnswersWhatItTook: requests queued when the bot stops are answered
// or recorded, and deliveries that arrive while it stops are refused so that
// Slack delivers them again.
func TestStoppingAnswersWhatItTook(t *testing.T) {
	gate := make(chan struct{})
	h := newHarness(t, func(o *Options) { o.Workers, o.ShutdownGrace = 1, 300*time.Millisecond })
	h.tr.gate = gate
	h.slash(dba, incident, "check sqlhost01")
	h.wait("chat.postMessage", 1) // running, holding the only worker

	stopped := make(chan struct{})
	go func() { h.stop(); close(stopped) }()
	<-h.bot.down
	mention := map[string]any{"type": "app_mention", "user": dba, "text": "<@UBOT> check sqlhost02", "ts": "1764000000.000300", "channel": incident}
	if code, _ := h.do(h.sign("/slack/events", "application/json", eventBody("EvLate", mention), secret, time.Now())); code != http.StatusServiceUnavailable {
		t.Errorf("event while stopping = %d; want 503 so Slack delivers it again", code)
	}
	if _, body := h.slash(dba, incident, "check sqlhost02"); !strings.Contains(body, "restarting") {
		t.Errorf("slash command while stopping = %s; want to be told to retry", body)
	}
	<-stopped
	if got := h.tr.calls(); len(got) != 1 {
		t.Errorf("triages = %v; want only the one that was running", got)
	}
}

// TestSocketModeButton: a click delivered over Socket Mode is acknowledged and
// handled like one over HTTP.
func TestSocketModeButton(t *testing.T) {
	h := newHarness(t)
	h.slash(dba, incident, "check sqlhost01")
	rep := h.tr.report
	rep.ID, rep.Host = reportID(1), "sqlhost01"
	h.threadOf(rep)

	api := slack.New("xoxb-test", slack.OptionAPIURL(h.fake.APIURL()), slack.OptionAppLevelToken("xapp-test"))
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		h.bot.RunSocketMode(ctx, func() *socketmode.Client { return socketmode.New(api, socketmode.OptionPingInterval(time.Hour)) }, nil)
	})
	defer func() { cancel(); wg.Wait() }()
	cb, _ := json.Marshal(map[string]any{
		"type": "block_actions", "user": map[string]string{"id": dba}, "trigger_id": "sock.click",
		"channel": map[string]string{"id": incident}, "response_url": h.fake.ResponseURL("sockfix"),
		"actions": []map[string]any{{"action_id": slackrender.ActionFixScript, "block_id": "verdict", "value": reportID(1)}},
	})
	wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer wcancel()
	if err := h.fake.SendEnvelope(wctx, map[string]any{"type": "interactive", "envelope_id": "env-click", "payload": json.RawMessage(cb)}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.WaitAck(wctx, "env-click"); err != nil {
		t.Fatal(err)
	}
	if got := h.wait("response_url:sockfix", 1)[0]; !strings.Contains(blocksText(got.JSON), "setspn") {
		t.Errorf("fix script over Socket Mode = %v", got.JSON)
	}
}

// TestRateLimitedUpdate: a verdict whose chat.update is rate-limited is shown
// after the wait, not dropped.
func TestRateLimitedUpdate(t *testing.T) {
	h := newHarness(t)
	var mu sync.Mutex
	n := 0
	h.fake.Respond("chat.update", func(slackfake.Call) (int, http.Header, any) {
		mu.Lock()
		defer mu.Unlock()
		if n++; n == 1 {
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}, map[string]any{"ok": false, "error": "ratelimited"}
		}
		return 0, nil, nil
	})
	h.slash(dba, incident, "check sqlhost01")
	// Progress updates may come before the verdict; wait for the update that carries
	// it (h.wait fails the test if it never comes), after the refused first one.
	for k := 2; ; k++ {
		updates := h.wait("chat.update", k)
		if strings.Contains(updates[len(updates)-1].Params.Get("blocks"), `"action_id":"rerun"`) {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if n < 2 {
		t.Errorf("chat.update was called %d times; want the rate-limited one and its retry", n)
	}
}
