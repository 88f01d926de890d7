package bot

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/authtriage/authtriage/internal/slackfake"
	slackrender "github.com/authtriage/authtriage/render/slack"
)

func TestSocketModeEnvelopesAreAckedAndHandled(t *testing.T) {
	h := newHarness(t)
	api := slack.New("xoxb-test", slack.OptionAPIURL(h.fake.APIURL()), slack.OptionAppLevelToken("xapp-test"))
	ctx, cancel := context.WithCancel(t.Context())
	var state SocketState
	done := make(chan error, 1)
	go func() {
		done <- h.bot.RunSocketMode(ctx, func() *socketmode.Client {
			return socketmode.New(api, socketmode.OptionPingInterval(time.Hour))
		}, &state)
	}()
	stopped := false
	// stop ends Socket Mode, which returns once every envelope it took is handled.
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunSocketMode = %v; want nil after cancel", err)
		}
	}
	defer stop()
	wctx, wcancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer wcancel()

	// A slash command: acknowledged with the ephemeral "Checking" as payload.
	slash := url.Values{"command": {"/authtriage"}, "text": {"check sqlhost01"}, "user_id": {dba},
		"channel_id": {incident}, "trigger_id": {"sock.1"}, "team_id": {"T0001"}}
	payload := map[string]string{}
	for k := range slash {
		payload[k] = slash.Get(k)
	}
	if err := h.fake.SendEnvelope(wctx, map[string]any{"type": "slash_commands", "envelope_id": "env-slash", "payload": payload, "accepts_response_payload": true}); err != nil {
		t.Fatal(err)
	}
	ack, err := h.fake.WaitAck(wctx, "env-slash")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ack), "Checking *sqlhost01*") {
		t.Errorf("slash ack payload = %s; want the ephemeral Checking", ack)
	}
	rep := h.tr.report
	rep.ID, rep.Host = reportID(1), "sqlhost01"
	h.threadOf(rep)
	if !state.Connected() {
		t.Errorf("state says not connected while envelopes flow")
	}

	// An app_mention: acknowledged without payload, then triaged once even when
	// Slack redelivers it.
	inner := map[string]any{"type": "app_mention", "user": dba, "text": "<@UBOT> check sqlhost02", "ts": "1764000001.000100", "channel": incident}
	for i, id := range []string{"env-ev", "env-ev-retry"} {
		env := map[string]any{"type": "events_api", "envelope_id": id, "retry_attempt": i, "payload": json.RawMessage(eventBody("EvS1", inner))}
		if err := h.fake.SendEnvelope(wctx, env); err != nil {
			t.Fatal(err)
		}
		if ack, err := h.fake.WaitAck(wctx, id); err != nil || len(ack) != 0 && string(ack) != "null" {
			t.Errorf("event ack = %s, %v; want an empty ack", ack, err)
		}
	}
	h.wait("chat.update", 2)

	// A lost connection is re-established and envelopes flow again.
	before := h.fake.Connections()
	h.fake.Disconnect()
	env := map[string]any{"type": "slash_commands", "envelope_id": "env-after", "payload": map[string]string{
		"command": "/authtriage", "text": "help", "user_id": dba, "channel_id": incident, "trigger_id": "sock.2"}}
	if err := h.fake.SendEnvelope(wctx, env); err != nil {
		t.Fatal(err)
	}
	if _, err := h.fake.WaitAck(wctx, "env-after"); err != nil {
		t.Fatal(err)
	}
	if h.fake.Connections() <= before {
		t.Errorf("connections = %d; want a reconnection after %d", h.fake.Connections(), before)
	}

	stop()
	h.stop() // Run returns when everything it took is done
	if got := h.tr.calls(); len(got) != 2 || got[1] != "sqlhost02" {
		t.Errorf("triages = %v; want sqlhost01 then sqlhost02 once", got)
	}
}

func TestButtons(t *testing.T) {
	h := newHarness(t)
	h.slash(dba, incident, "check sqlhost01")
	rep := h.tr.report
	rep.ID, rep.Host = reportID(1), "sqlhost01"
	parent, _ := h.threadOf(rep)
	posted := len(h.fake.Calls("chat.postMessage"))

	click := func(action, value, block, responseURL string) {
		t.Helper()
		cb, _ := json.Marshal(map[string]any{
			"type": "block_actions", "user": map[string]string{"id": dba}, "trigger_id": "click." + action + value,
			"channel":      map[string]string{"id": incident},
			"container":    map[string]string{"type": "message", "channel_id": incident, "message_ts": parent.Params.Get("ts")},
			"response_url": responseURL,
			"actions":      []map[string]any{{"action_id": action, "block_id": block, "value": value, "selected_conversation": map[string]string{"share_to": "C0DBA0001"}[action]}},
		})
		body := url.Values{"payload": {string(cb)}}.Encode()
		if code, _ := h.do(h.sign("/slack/interactivity", "application/x-www-form-urlencoded", body, secret, time.Now())); code != 200 {
			t.Fatalf("click %s = %d; want 200", action, code)
		}
	}
	wait := func(id string) string {
		t.Helper()
		return h.wait("response_url:"+id, 1)[0].JSON["text"].(string) + blocksText(h.fake.Calls("response_url:" + id)[0].JSON)
	}

	click(slackrender.ActionFixScript, reportID(1), "", h.fake.ResponseURL("fix"))
	if got := wait("fix"); !strings.Contains(got, "setspn") || !strings.Contains(got, "# spn.duplicate") {
		t.Errorf("fix script = %s; want the setspn commands under comments", got)
	}
	click(slackrender.ActionRawEvidence, reportID(1), "", h.fake.ResponseURL("raw"))
	if got := wait("raw"); !strings.Contains(got, "[errorlog]") || !strings.Contains(got, "== dc.unreachable") {
		t.Errorf("raw evidence = %s; want each finding's evidence", got)
	}
	click(slackrender.ActionShare, reportID(1), "", h.fake.ResponseURL("share"))
	if got := wait("share"); !strings.Contains(got, slackrender.ActionShareTo) {
		t.Errorf("share answer = %s; want a channel picker", got)
	}
	click(slackrender.ActionShareTo, "", slackrender.ShareBlockPrefix+reportID(1), h.fake.ResponseURL("shared"))
	h.wait("chat.getPermalink", 1)
	cards := h.wait("chat.postMessage", posted+1)
	card := cards[len(cards)-1]
	if card.Params.Get("channel") != "C0DBA0001" || !strings.Contains(card.Params.Get("blocks"), "open the diagnosis thread") || !strings.Contains(card.Params.Get("blocks"), reportID(1)) {
		t.Errorf("share card = %v; want a card in C0DBA0001 linking to the thread", card.Params)
	}
	click(slackrender.ActionExport, reportID(1), "", h.fake.ResponseURL("export"))
	if files := h.wait("files.completeUploadExternal", 1); files[0].Params.Get("thread_ts") != parent.Params.Get("ts") {
		t.Errorf("Markdown attached to %v; want the report's thread %s", files[0].Params, parent.Params.Get("ts"))
	}
	click(slackrender.ActionRerun, reportID(1), "", h.fake.ResponseURL("rerun"))
	h.wait("chat.update", 2)
	if got := h.tr.calls(); len(got) != 2 {
		t.Errorf("triages = %v; want the re-run's second one", got)
	}
	click(slackrender.ActionRawEvidence, "zzzzzzzz", "", h.fake.ResponseURL("missing"))
	if got := wait("missing"); !strings.Contains(got, "no report") {
		t.Errorf("unknown report = %s; want it said", got)
	}
}

func blocksText(m map[string]any) string {
	b, _ := json.Marshal(m["blocks"])
	return string(b)
}

func TestBusyAndShutdown(t *testing.T) {
	gate := make(chan struct{})
	h := newHarness(t, func(o *Options) { o.Workers, o.Queue, o.ShutdownGrace = 1, 1, 200*time.Millisecond })
	h.tr.gate = gate

	if _, body := h.slash(dba, incident, "check sqlhost01"); !strings.Contains(body, "Checking") {
		t.Fatalf("first ack = %s", body)
	}
	h.wait("chat.update", 1) // running: its progress is shown
	if _, body := h.slash(dba, incident, "check sqlhost02"); !strings.Contains(body, "Checking") {
		t.Fatalf("second ack = %s; want it queued", body)
	}
	if _, body := h.slash(dba, incident, "check sqlhost01"); !strings.Contains(body, "busy") {
		t.Errorf("third ack = %s; want busy (one running, one queued)", body)
	}
	// Help does not wait behind triages.
	if _, body := h.slash(dba, incident, "help"); !strings.Contains(body, "check HOST") {
		t.Errorf("help while busy = %s", body)
	}

	began := time.Now()
	h.stop() // the running triage is cancelled after the grace and posts what it has
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("shutdown took %s", took)
	}
	updates := h.fake.Calls("chat.update")
	final := updates[len(updates)-1].Params.Get("blocks")
	if !strings.Contains(final, "cancelled") {
		t.Errorf("final parent after shutdown = %s; want the partial report with the cancelled check", final)
	}
	audit, _ := h.db.AuditLog(t.Context(), 20)
	var results []string
	for _, a := range audit {
		results = append(results, a.Result+" "+a.Command)
	}
	joined := strings.Join(results, "; ")
	for _, want := range []string{"ok check sqlhost01", "error check sqlhost02", "busy check sqlhost01"} {
		if !strings.Contains(joined, want) {
			t.Errorf("audit = %s; want %q (the queued triage recorded as interrupted)", joined, want)
		}
	}
	told := h.wait("response_url:slash", 1)
	if last := told[len(told)-1].JSON["text"]; !strings.Contains(last.(string), "run the command again") {
		t.Errorf("the queued request's user was told %q; want to run it again", last)
	}
}

// TestSocketModeRefusedTokens: when Slack refuses the tokens, no reconnect can
// help: RunSocketMode returns an error saying so instead of retrying forever.
func TestSocketModeRefusedTokens(t *testing.T) {
	h := newHarness(t)
	h.fake.Respond("apps.connections.open", func(slackfake.Call) (int, http.Header, any) {
		return 200, nil, map[string]any{"ok": false, "error": "invalid_auth"}
	})
	api := slack.New("xoxb-test", slack.OptionAPIURL(h.fake.APIURL()), slack.OptionAppLevelToken("xapp-revoked"))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var state SocketState
	err := h.bot.RunSocketMode(ctx, func() *socketmode.Client {
		return socketmode.New(api, socketmode.OptionPingInterval(time.Hour))
	}, &state)
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") || ctx.Err() != nil {
		t.Errorf("RunSocketMode = %v (ctx %v); want an invalid_auth error at once", err, ctx.Err())
	}
	if state.Connected() {
		t.Error("state says connected")
	}
}
