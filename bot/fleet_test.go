package bot

import (
	"net/http"
	"testing"
	"time"

	"github.com/authtriage/authtriage/internal/slackfake"
)

// PostSummary posts the parent only; PostDetails the replies, in its thread.
func TestPostSummaryThenDetails(t *testing.T) {
	h := newHarness(t)
	s := typicalSummary()
	msgs, err := SummaryThread(s, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	channel, ts, err := h.bot.PostSummary(t.Context(), s)
	if err != nil || channel != "C0FLEET" || ts == "" {
		t.Fatalf("PostSummary = %q, %q, %v; want the parent's place in C0FLEET", channel, ts, err)
	}
	if calls := h.fake.Calls("chat.postMessage"); len(calls) != 1 || calls[0].Params.Get("thread_ts") != "" {
		t.Fatalf("PostSummary made %d posts; want the parent alone", len(calls))
	}
	if err := h.bot.PostDetails(t.Context(), s, channel, ts); err != nil {
		t.Fatalf("PostDetails: %v", err)
	}
	calls := h.wait("chat.postMessage", len(msgs))
	for i, c := range calls[1:] {
		if c.Params.Get("channel") != channel || c.Params.Get("thread_ts") != ts {
			t.Errorf("reply %d posted to %s in thread %q; want %s, %s", i+1, c.Params.Get("channel"), c.Params.Get("thread_ts"), channel, ts)
		}
	}
}

// A parent Slack refuses is an error and no place.
func TestPostSummaryRefused(t *testing.T) {
	h := newHarness(t)
	h.fake.Respond("chat.postMessage", func(c slackfake.Call) (int, http.Header, any) {
		return http.StatusOK, nil, map[string]any{"ok": false, "error": "channel_not_found"}
	})
	channel, ts, err := h.bot.PostSummary(t.Context(), typicalSummary())
	if err == nil || channel != "" || ts != "" {
		t.Errorf("PostSummary = %q, %q, %v; want an error and no place", channel, ts, err)
	}
	if err := h.bot.PostDetails(t.Context(), typicalSummary(), "C0FLEET", "1700000000.000100"); err == nil {
		t.Errorf("PostDetails with every reply refused = nil; want an error")
	}
}
