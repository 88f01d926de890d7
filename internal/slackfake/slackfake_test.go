package slackfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/authtriage/authtriage/internal/slackfake"
)

// start returns a fake and a slack-go client of it; the test's end closes the fake.
func start(t *testing.T, opts ...slack.Option) (*slackfake.Server, *slack.Client) {
	t.Helper()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	opts = append([]slack.Option{slack.OptionAPIURL(fake.APIURL())}, opts...)
	return fake, slack.New("xoxb-test", opts...)
}

// slackError returns the Slack error code of err, "" if it has none.
func slackError(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

func TestAuthTest(t *testing.T) {
	fake, api := start(t)
	got, err := api.AuthTestContext(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != slackfake.BotUserID || got.BotID != slackfake.BotID || got.TeamID != slackfake.TeamID {
		t.Errorf("AuthTest = %+v; want user %s, bot %s, team %s", got, slackfake.BotUserID, slackfake.BotID, slackfake.TeamID)
	}
	calls := fake.Calls("auth.test")
	if len(calls) != 1 || calls[0].Token != "xoxb-test" {
		t.Errorf("auth.test calls = %+v; want one with token xoxb-test", calls)
	}

	_, err = slack.New("", slack.OptionAPIURL(fake.APIURL())).AuthTestContext(t.Context())
	if slackError(err) != "not_authed" {
		t.Errorf("AuthTest without a token: err = %v; want not_authed", err)
	}
}

func TestMessages(t *testing.T) {
	fake, api := start(t)
	ctx := t.Context()
	blocks := slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*hi*", false, false), nil, nil))

	// Two posts in the same instant get different, increasing timestamps.
	ch, ts1, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("checking", false), blocks)
	if err != nil {
		t.Fatal(err)
	}
	_, ts2, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("reply", false), slack.MsgOptionTS(ts1))
	if err != nil {
		t.Fatal(err)
	}
	if ch != "C1" || ts1 != "1764000000.000100" || ts2 != "1764000000.000200" {
		t.Errorf("PostMessage = %s %s, then %s; want C1 1764000000.000100, then 1764000000.000200", ch, ts1, ts2)
	}
	posts := fake.Calls("chat.postMessage")
	if len(posts) != 2 || posts[0].Params.Get("text") != "checking" || posts[1].Params.Get("thread_ts") != ts1 {
		t.Errorf("chat.postMessage calls = %+v", posts)
	}
	var sent []map[string]any
	if err := json.Unmarshal([]byte(posts[0].Params.Get("blocks")), &sent); err != nil || len(sent) != 1 || sent[0]["type"] != "section" {
		t.Errorf("posted blocks = %s (%v); want one section", posts[0].Params.Get("blocks"), err)
	}

	_, _, msg, err := api.PostMessageWithResponseContext(ctx, "C1", slack.MsgOptionText("full", false), blocks)
	if err != nil {
		t.Fatal(err)
	}
	if msg.Text != "full" || len(msg.Blocks.BlockSet) != 1 || msg.BotID != slackfake.BotID {
		t.Errorf("PostMessageWithResponse = %+v; want text, one block, bot ID", msg.Msg)
	}

	_, _, text, err := api.UpdateMessageContext(ctx, "C1", ts1, slack.MsgOptionText("done", false))
	if err != nil || text != "done" {
		t.Errorf("UpdateMessage = %q, %v; want done", text, err)
	}
	_, _, _, err = api.UpdateMessageContext(ctx, "C2", ts1, slack.MsgOptionText("done", false))
	if slackError(err) != "message_not_found" {
		t.Errorf("UpdateMessage in another channel: err = %v; want message_not_found", err)
	}

	ets, err := api.PostEphemeralContext(ctx, "C1", "U1", slack.MsgOptionText("only you", false))
	if err != nil || ets <= ts2 {
		t.Errorf("PostEphemeral = %q, %v; want a ts after %s", ets, err, ts2)
	}

	link, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: "C1", Ts: ts1})
	if want := "https://example.slack.com/archives/C1/p1764000000000100"; err != nil || link != want {
		t.Errorf("GetPermalink = %q, %v; want %s", link, err, want)
	}

	if _, _, err := api.DeleteMessageContext(ctx, "C1", ts2); err != nil {
		t.Errorf("DeleteMessage: %v", err)
	}
}

func TestResponseURL(t *testing.T) {
	fake, api := start(t)
	ctx := t.Context()
	if err := slack.PostWebhookContext(ctx, fake.ResponseURL("r1"), &slack.WebhookMessage{Text: "hello"}); err != nil {
		t.Fatal(err)
	}
	_, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionResponseURL(fake.ResponseURL("r1"), slack.ResponseTypeEphemeral),
		slack.MsgOptionText("again", false))
	if err != nil {
		t.Fatal(err)
	}
	calls, err := fake.WaitCalls(ctx, "response_url:r1", 2)
	if err != nil {
		t.Fatal(err)
	}
	if calls[0].JSON["text"] != "hello" || calls[1].JSON["text"] != "again" || calls[1].JSON["response_type"] != "ephemeral" {
		t.Errorf("response_url calls = %+v", calls)
	}
}

func TestUploadFile(t *testing.T) {
	fake, api := start(t)
	content := "host,state\nsqlhost01,8\n"
	f, err := api.UploadFileContext(t.Context(), slack.UploadFileParameters{
		Channel: "C1", ThreadTimestamp: "1764000000.000100",
		Filename: "report.csv", Title: "Report", Content: content, FileSize: len(content),
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.ID == "" || f.Title != "Report" {
		t.Errorf("UploadFile = %+v; want an ID and title Report", f)
	}
	name, got, ok := fake.Upload(f.ID)
	if !ok || name != "report.csv" || string(got) != content {
		t.Errorf("Upload(%s) = %q, %q, %v; want report.csv, %q", f.ID, name, got, ok, content)
	}
	complete := fake.Calls("files.completeUploadExternal")
	if len(complete) != 1 || complete[0].Params.Get("channel_id") != "C1" || complete[0].Params.Get("thread_ts") != "1764000000.000100" {
		t.Errorf("files.completeUploadExternal calls = %+v", complete)
	}
	if up := fake.Calls("upload:" + f.ID); len(up) != 1 || up[0].Token != "xoxb-test" {
		t.Errorf("upload calls = %+v; want one with the bot token", up)
	}
}

func TestUserGroups(t *testing.T) {
	fake, api := start(t)
	fake.SetUserGroup("S1", "U1", "U2")
	fake.SetUserGroup("S2")
	tests := []struct {
		group   string
		want    []string
		wantErr string
	}{
		{"S1", []string{"U1", "U2"}, ""},
		{"S2", []string{}, ""},
		{"S3", []string{}, "no_such_subteam"}, // slack-go's empty result
	}
	for _, tt := range tests {
		got, err := api.GetUserGroupMembersContext(t.Context(), tt.group)
		if slackError(err) != tt.wantErr || (tt.wantErr == "" && err != nil) {
			t.Errorf("GetUserGroupMembers(%s): err = %v; want %q", tt.group, err, tt.wantErr)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("GetUserGroupMembers(%s) (-want +got):\n%s", tt.group, diff)
		}
	}
}

func TestPublishView(t *testing.T) {
	fake, api := start(t)
	view := slack.HomeTabViewRequest{Type: slack.VTHomeTab, CallbackID: "home",
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewDividerBlock()}}}
	resp, err := api.PublishViewContext(t.Context(), slack.PublishViewContextRequest{UserID: "U1", View: view})
	if err != nil {
		t.Fatal(err)
	}
	if resp.ID == "" || resp.Type != slack.VTHomeTab || resp.CallbackID != "home" || len(resp.Blocks.BlockSet) != 1 {
		t.Errorf("PublishView = %+v; want the view with an ID", resp.View)
	}
	if calls := fake.Calls("views.publish"); len(calls) != 1 || calls[0].JSON["user_id"] != "U1" || calls[0].Token != "xoxb-test" {
		t.Errorf("views.publish calls = %+v", calls)
	}
}

func TestUnknownMethod(t *testing.T) {
	fake, api := start(t)
	err := api.AddReactionContext(t.Context(), "eyes", slack.NewRefToMessage("C1", "1764000000.000100"))
	if slackError(err) != "unknown_method" {
		t.Errorf("AddReaction: err = %v; want unknown_method", err)
	}
	if calls := fake.Calls("reactions.add"); len(calls) != 1 || calls[0].Params.Get("name") != "eyes" {
		t.Errorf("reactions.add calls = %+v; want it recorded", calls)
	}
}

func TestRespondRateLimit(t *testing.T) {
	fake, api := start(t)
	var n atomic.Int32
	fake.Respond("chat.postMessage", func(slackfake.Call) (int, http.Header, any) {
		if n.Add(1) == 1 {
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}, map[string]any{"ok": false, "error": "ratelimited"}
		}
		return 0, nil, nil // the default answer
	})
	_, _, err := api.PostMessageContext(t.Context(), "C1", slack.MsgOptionText("one", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Fatalf("first PostMessage: err = %v; want a RateLimitedError with RetryAfter 1s", err)
	}
	if _, _, err := api.PostMessageContext(t.Context(), "C1", slack.MsgOptionText("two", false)); err != nil {
		t.Errorf("second PostMessage: %v", err)
	}
	fake.Respond("chat.postMessage", nil)
	if len(fake.Calls("chat.postMessage")) != 2 {
		t.Errorf("chat.postMessage calls = %d; want 2 (a refused call is recorded too)", len(fake.Calls("chat.postMessage")))
	}
}

func TestWaitCalls(t *testing.T) {
	fake, api := start(t)
	go api.PostMessage("C1", slack.MsgOptionText("later", false))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if calls, err := fake.WaitCalls(ctx, "chat.postMessage", 1); err != nil || len(calls) != 1 {
		t.Errorf("WaitCalls = %d calls, %v; want 1", len(calls), err)
	}

	short, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if calls, err := fake.WaitCalls(short, "chat.postMessage", 2); !errors.Is(err, context.DeadlineExceeded) || len(calls) != 1 {
		t.Errorf("WaitCalls for 2 = %d calls, %v; want 1 and a deadline error", len(calls), err)
	}
}

// runSocketMode runs a Socket Mode client of fake until the test ends. It acks a
// slash command with a reply and any other envelope without a payload.
func runSocketMode(t *testing.T, fake *slackfake.Server, opts ...socketmode.Option) {
	t.Helper()
	api := slack.New("xoxb-test", slack.OptionAppLevelToken("xapp-test"), slack.OptionAPIURL(fake.APIURL()))
	sm := socketmode.New(api, opts...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		sm.RunContext(ctx)
	}()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-sm.Events:
				switch {
				case evt.Type == socketmode.EventTypeSlashCommand:
					cmd := evt.Data.(slack.SlashCommand)
					sm.Ack(*evt.Request, map[string]any{"text": "you said " + cmd.Text})
				case evt.Request != nil && evt.Request.EnvelopeID != "":
					sm.Ack(*evt.Request)
				}
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func TestSocketMode(t *testing.T) {
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	runSocketMode(t, fake, socketmode.OptionPingInterval(time.Hour))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	err := fake.SendEnvelope(ctx, slackfake.Envelope{Type: "slash_commands", EnvelopeID: "e1", AcceptsResponsePayload: true,
		Payload: map[string]any{"command": "/authtriage", "text": "help", "user_id": "U1", "channel_id": "C1"}})
	if err != nil {
		t.Fatal(err)
	}
	payload, err := fake.WaitAck(ctx, "e1")
	if err != nil {
		t.Fatal(err)
	}
	if string(payload) != `{"text":"you said help"}` {
		t.Errorf("ack payload = %s; want the reply", payload)
	}
	if calls := fake.Calls("apps.connections.open"); len(calls) != 1 || calls[0].Token != "xapp-test" {
		t.Errorf("apps.connections.open calls = %+v; want one with the app token", calls)
	}

	// After a dropped connection, the client reconnects and the next envelope
	// reaches it.
	fake.Disconnect()
	mention := map[string]any{"type": "event_callback", "team_id": slackfake.TeamID, "event_id": "Ev1", "event_time": 1,
		"event": map[string]any{"type": "app_mention", "user": "U1", "channel": "C1", "text": "<@UBOT> help",
			"ts": "1764000000.000100", "event_ts": "1764000000.000100"}}
	if err := fake.SendEnvelope(ctx, slackfake.Envelope{Type: "events_api", EnvelopeID: "e2", Payload: mention}); err != nil {
		t.Fatal(err)
	}
	if payload, err := fake.WaitAck(ctx, "e2"); err != nil || payload != nil {
		t.Errorf("ack of e2 = %s, %v; want one without payload", payload, err)
	}
	if n := fake.Connections(); n != 2 {
		t.Errorf("Connections() = %d; want 2", n)
	}
}

func TestSendEnvelopeWithoutClient(t *testing.T) {
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := fake.SendEnvelope(ctx, slackfake.Envelope{Type: "events_api", EnvelopeID: "e1"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("SendEnvelope = %v; want a deadline error", err)
	}
	if _, err := fake.WaitAck(ctx, "e1"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitAck = %v; want a deadline error", err)
	}
}

// TestSignature checks the example of Slack's "Verifying requests from Slack" guide.
func TestSignature(t *testing.T) {
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V" +
		"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=" +
		"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN" +
		"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	got := slackfake.Signature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", []byte(body))
	if want := "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"; got != want {
		t.Errorf("Signature = %s; want %s", got, want)
	}
}
