package bot

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authtriage/authtriage/config"
	slackrender "github.com/authtriage/authtriage/render/slack"
)

// TestStoredReportCommands: history, show and share work on what check stored.
func TestStoredReportCommands(t *testing.T) {
	h := newHarness(t)
	h.slash(dba, incident, "check sqlhost01")
	rep := h.tr.report
	rep.ID, rep.Host = reportID(1), "sqlhost01"
	parent, _ := h.threadOf(rep)
	posted := len(h.fake.Calls("chat.postMessage"))

	h.slash(dba, incident, "history sqlhost01")
	told := h.wait("response_url:slash", 1)
	hist := told[len(told)-1].JSON["text"].(string) + blocksText(told[len(told)-1].JSON)
	for _, want := range []string{"History of sqlhost01", reportID(1), "dc.unreachable", "since"} {
		if !strings.Contains(hist, want) {
			t.Errorf("history lacks %q: %s", want, hist)
		}
	}

	h.slash(dba, incident, "show "+reportID(1))
	msgs, _ := slackrender.Thread(rep, slackrender.ThreadOptions{Buttons: true})
	posts := h.wait("chat.postMessage", posted+len(msgs))
	reposted := posts[posted]
	if reposted.Params.Get("thread_ts") != "" || !strings.Contains(reposted.Params.Get("blocks"), reportID(1)) {
		t.Errorf("show posted %v; want the report's parent again as a new message", reposted.Params)
	}

	h.slash(dba, incident, "share "+reportID(1)+" <#C0DBA0001|dba>")
	posts = h.wait("chat.postMessage", posted+len(msgs)+1)
	card := posts[len(posts)-1]
	if card.Params.Get("channel") != "C0DBA0001" || !strings.Contains(card.Params.Get("blocks"), "shared by \\u003c@"+dba) {
		t.Errorf("share posted %v; want a card in C0DBA0001 saying who shared it", card.Params)
	}
	links := h.fake.Calls("chat.getPermalink")
	if len(links) != 1 || links[0].Params.Get("message_ts") != parent.Params.Get("ts") {
		t.Errorf("permalink asked for %v; want the original thread's parent %s", links, parent.Params.Get("ts"))
	}

	if _, body := h.slash(dba, incident, "share "+reportID(1)+" #dba"); !strings.Contains(body, "picked from Slack's list") {
		t.Errorf("share to a typed #name = %s; want to be asked to pick the channel", body)
	}
	h.slash(dba, incident, "show zzzzzzzz")
	told = h.wait("response_url:slash", 3) // history, share's confirmation, this
	var texts []string
	for _, c := range told {
		texts = append(texts, c.JSON["text"].(string))
	}
	if all := strings.Join(texts, "\n"); !strings.Contains(all, "There is no report `zzzzzzzz`") || !strings.Contains(all, "Shared report") {
		t.Errorf("the user was told:\n%s\nwant the share confirmed and the unknown ID explained", all)
	}
}

// TestLongReportIsAttached: a report too big for the thread is attached as Markdown.
func TestLongReportIsAttached(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.MaxThreadMessages = 3 })
	big := h.tr.report
	for i := range 30 {
		f := big.Findings[0]
		f.Summary = strings.Repeat("evidence ", 50) + string(rune('a'+i%26))
		big.Findings = append(big.Findings, f)
	}
	h.tr.report = big
	h.slash(dba, incident, "check sqlhost01")
	files := h.wait("files.completeUploadExternal", 1)
	if got := files[0].Params.Get("thread_ts"); got == "" {
		t.Errorf("file uploaded outside the thread: %v", files[0].Params)
	}
	var found bool
	for _, c := range h.fake.Calls() {
		if strings.HasPrefix(c.Method, "upload:") {
			name, content, ok := h.fake.Upload(strings.TrimPrefix(c.Method, "upload:"))
			found = ok && name == slackrender.MarkdownFileName(reportID(1)) && strings.Contains(string(content), "dc.unreachable")
		}
	}
	if !found {
		t.Errorf("no Markdown report named %s with the findings was uploaded", slackrender.MarkdownFileName(reportID(1)))
	}
}

// TestAppHome: opening the Home tab publishes the fleet view; a triage refreshes it.
func TestAppHome(t *testing.T) {
	h := newHarness(t, func(o *Options) {
		o.Access = []Rule{config.AccessRule{Commands: []string{"*"}, Channels: []string{incident}, Users: []string{dba}}}
	})
	open := map[string]any{"type": "app_home_opened", "user": dba, "channel": "D0HOME", "tab": "home"}
	h.do(h.sign("/slack/events", "application/json", eventBody("EvHome", open), secret, time.Now()))
	views := h.wait("views.publish", 1)
	if views[0].JSON["user_id"] != dba {
		t.Errorf("Home published for %v; want %s", views[0].JSON["user_id"], dba)
	}
	h.slash(dba, incident, "check sqlhost01")
	views = h.wait("views.publish", 2)
	if v, _ := json.Marshal(views[1].JSON["view"]); !strings.Contains(string(v), "sqlhost01") || !strings.Contains(string(v), reportID(1)) {
		t.Errorf("Home after a triage = %s; want sqlhost01 and its report", v)
	}
	// Someone no rule lets run history sees no host.
	open["user"] = "U0NOBODY1"
	h.do(h.sign("/slack/events", "application/json", eventBody("EvHome2", open), secret, time.Now()))
	views = h.wait("views.publish", 3)
	last := views[len(views)-1]
	if v, _ := json.Marshal(last.JSON["view"]); last.JSON["user_id"] != "U0NOBODY1" || strings.Contains(string(v), "sqlhost01") || !strings.Contains(string(v), "Ask") {
		t.Errorf("Home of a user without access = %s; want no host and how to get access", v)
	}
}

// TestIgnoredEvents: the bot's own messages, edits and channel chatter start nothing.
func TestIgnoredEvents(t *testing.T) {
	h := newHarness(t)
	for i, inner := range []map[string]any{
		{"type": "app_mention", "user": "UBOT", "text": "<@UBOT> check sqlhost01", "ts": "1.1", "channel": incident},
		{"type": "app_mention", "bot_id": "B0OTHER", "user": "U0X", "text": "<@UBOT> check sqlhost01", "ts": "1.2", "channel": incident},
		{"type": "message", "channel_type": "im", "subtype": "message_changed", "user": dba, "text": "check sqlhost01", "ts": "1.3", "channel": "D0DM"},
		{"type": "message", "channel_type": "channel", "user": dba, "text": "check sqlhost01", "ts": "1.4", "channel": incident},
	} {
		h.do(h.sign("/slack/events", "application/json", eventBody("EvIgnored"+string(rune('a'+i)), inner), secret, time.Now()))
	}
	// A direct message is a request.
	dm := map[string]any{"type": "message", "channel_type": "im", "user": dba, "text": "check sqlhost01", "ts": "1.5", "channel": "D0DM"}
	h.do(h.sign("/slack/events", "application/json", eventBody("EvDM", dm), secret, time.Now()))
	h.wait("chat.update", 1)
	h.stop() // Run returns when everything it took is done
	if got := h.tr.calls(); len(got) != 1 {
		t.Errorf("triages = %v; want only the direct message's", got)
	}
	if c := h.fake.Calls("chat.postMessage")[0]; c.Params.Get("channel") != "D0DM" {
		t.Errorf("the DM's thread went to %s", c.Params.Get("channel"))
	}
}

// FuzzHTTP: whatever a correctly signed body holds, the handler answers with a
// defined status and never panics.
func FuzzHTTP(f *testing.F) {
	for _, s := range []string{
		"command=%2Fauthtriage&text=check+sqlhost01&user_id=U0DBA&channel_id=C0INCIDENT&trigger_id=t1",
		"text=" + url.QueryEscape("check <http://x|y> \u200b `sqlhost01`") + "&user_id=U1&channel_id=C1",
		eventBody("Ev1", map[string]any{"type": "app_mention", "user": "U0DBA", "text": "<@UBOT> share abcdefgh <#C1|x>", "ts": "1.1", "channel": "C0INCIDENT"}),
		`{"type":"url_verification","challenge":"abc"}`,
		"payload=" + url.QueryEscape(`{"type":"block_actions","user":{"id":"U1"},"actions":[{"action_id":"rerun","value":"abcdefgh"}]}`),
		"payload=%7B",
		"",
	} {
		for _, p := range []string{"/slack/commands", "/slack/events", "/slack/interactivity"} {
			f.Add(p, s)
		}
	}
	h := newHarness(f)
	var mu sync.Mutex
	sent := map[string]bool{} // bodies signed in this second: a repeat is a replay (401)
	f.Fuzz(func(t *testing.T, path, body string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "#?%") || strings.ContainsFunc(path, func(r rune) bool { return r <= ' ' || r > '~' }) {
			return // not a path a client sends
		}
		ct := "application/x-www-form-urlencoded"
		if json.Valid([]byte(body)) {
			ct = "application/json"
		}
		now := time.Now()
		key := now.Format(time.RFC3339) + body
		mu.Lock()
		defer mu.Unlock()
		replay := sent[key]
		resp, err := http.DefaultClient.Do(signedRequest(t, h.http.URL+path, ct, body, secret, now))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			sent[key] = true // the handler saw its signature
		}
		switch code := resp.StatusCode; {
		case code == http.StatusNotFound: // no such endpoint: nothing was read
		case replay && code == http.StatusUnauthorized:
		case replay:
			t.Errorf("replayed POST %s = %d; want 401", path, code)
		case code == http.StatusOK, code == http.StatusBadRequest, code == http.StatusRequestEntityTooLarge:
		default:
			t.Errorf("POST %s = %d", path, code)
		}
	})
}
