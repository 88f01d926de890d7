package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/internal/slackfake"
	slackrender "github.com/authtriage/authtriage/render/slack"
	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// The channels, users and group of the tests' workspace.
const (
	incident  = "C0INCIDENT" // where the access rule allows everything
	elsewhere = "C0RANDOM"   // where no rule allows anything
	dba       = "U0DBA"
	oncall    = "S0ONCALL" // a user group allowed to check in any channel
	secret    = "test-signing-secret"
)

// fakeTriager is a FAKE Triager: it returns a fixed report (the demo's) for any
// host, after blocking on gate when that is set, or err when that is set, and
// counts its calls.
type fakeTriager struct {
	report triage.Report
	gate   chan struct{} // when not nil, Triage waits for it or ctx
	err    error         // when not nil, what Triage returns
	mu     sync.Mutex
	hosts  []string
}

func (f *fakeTriager) Triage(ctx context.Context, r TriageRequest) (triage.Report, error) {
	f.mu.Lock()
	f.hosts = append(f.hosts, r.Host)
	f.mu.Unlock()
	if r.Progress != nil {
		r.Progress(1, 3)
	}
	if f.err != nil {
		return triage.Report{}, f.err
	}
	rep := f.report
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			rep.Status = triage.StatusUnknown
			rep.Checks = append(rep.Checks, triage.CheckResult{Name: "sql", Status: triage.CheckError, Detail: "cancelled: " + ctx.Err().Error()})
		}
	}
	rep.ID, rep.Host = r.ID, r.Host
	return rep, nil
}

func (f *fakeTriager) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.hosts...)
}

// demoReport is the report of the demo incident, as the Slack renderer's tests
// keep it.
func demoReport(t testing.TB) triage.Report {
	t.Helper()
	b, err := os.ReadFile("../render/slack/testdata/demo.json")
	if err != nil {
		t.Fatal(err)
	}
	var rep triage.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// reportID is the harness's n-th report ID: valid, like "rpaaaaab" for 1.
func reportID(n int) string {
	d := fmt.Sprintf("%05d", n)
	return "rp" + strings.Map(func(r rune) rune { return rune("abcdefghjk"[r-'0']) }, d) + "x"
}

// inventoryOf is an Inventory of the given names.
type inventoryOf []string

func (inv inventoryOf) Lookup(name string) (string, bool) {
	for _, h := range inv {
		if strings.EqualFold(h, name) {
			return h, true
		}
	}
	return "", false
}

func (inv inventoryOf) Suggest(name string) []string {
	for _, h := range inv {
		if strings.HasPrefix(h, name[:min(len(name), 6)]) {
			return []string{h}
		}
	}
	return nil
}

type harness struct {
	t     testing.TB
	fake  *slackfake.Server
	db    *store.DB
	tr    *fakeTriager
	bot   *Bot
	http  *httptest.Server
	stop  func() // stops the bot and waits for Run to return
	ids   int
	idsMu sync.Mutex
}

// newHarness starts a Bot against a fake Slack and a real SQLite store, with its
// HTTP handler served; change adjusts the options first.
func newHarness(t testing.TB, change ...func(*Options)) *harness {
	t.Helper()
	fake := slackfake.New()
	t.Cleanup(fake.Close)
	fake.SetUserGroup(oncall, "U0ONCALL")
	db, err := store.Open(t.Context(), store.Options{DSN: filepath.Join(t.TempDir(), "bot.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &harness{t: t, fake: fake, db: db, tr: &fakeTriager{report: demoReport(t)}}
	o := Options{
		API:       slack.New("xoxb-test", slack.OptionAPIURL(fake.APIURL())),
		Store:     db,
		Triager:   h.tr,
		Inventory: inventoryOf{"sqlhost01", "sqlhost02"},
		Access: []Rule{
			config.AccessRule{Commands: []string{"*"}, Channels: []string{incident, "dm"}},
			config.AccessRule{Commands: []string{"check"}, UserGroups: []string{oncall}},
			config.AccessRule{Commands: []string{"share"}, Channels: []string{"C0DBA0001"}}, // reports may be shared there
		},
		UserGroups:    []string{oncall},
		BotUserID:     "UBOT",
		ProgressEvery: time.Millisecond,
		ShutdownGrace: 5 * time.Second,
		NewID: func() string {
			h.idsMu.Lock()
			defer h.idsMu.Unlock()
			h.ids++
			return reportID(h.ids)
		},
	}
	for _, c := range change {
		c(&o)
	}
	b, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	h.bot = b
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Run(ctx)
	}()
	h.stop = sync.OnceFunc(func() { cancel(); <-done })
	t.Cleanup(h.stop)
	<-b.up
	h.http = httptest.NewServer(b.HTTPHandler(secret))
	t.Cleanup(h.http.Close)
	return h
}

// sign returns a request to path of the harness's HTTP handler, signed with key
// at time at; see signedRequest.
func (h *harness) sign(path, contentType, body, key string, at time.Time) *http.Request {
	h.t.Helper()
	return signedRequest(h.t, h.http.URL+path, contentType, body, key, at)
}

// signedRequest returns a POST of body to url signed as Slack signs, with key at
// time at (slackfake.Sign).
func signedRequest(tb testing.TB, url, contentType, body, key string, at time.Time) *http.Request {
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	slackfake.Sign(req, []byte(body), key, at)
	return req
}

func (h *harness) do(req *http.Request) (int, string) {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var triggers struct {
	sync.Mutex
	n int
}

// slashBody returns the form body of a slash command; its response URL is the
// fake's "slash".
func (h *harness) slashBody(user, channel, text string) string {
	triggers.Lock()
	triggers.n++
	n := triggers.n
	triggers.Unlock()
	return url.Values{
		"command": {"/authtriage"}, "text": {text}, "user_id": {user}, "channel_id": {channel},
		"team_id": {"T0001"}, "trigger_id": {fmt.Sprintf("trig.%d", n)},
		"response_url": {h.fake.ResponseURL("slash")},
	}.Encode()
}

func (h *harness) slash(user, channel, text string) (int, string) {
	h.t.Helper()
	return h.do(h.sign("/slack/commands", "application/x-www-form-urlencoded", h.slashBody(user, channel, text), secret, time.Now()))
}

func (h *harness) wait(method string, n int) []slackfake.Call {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	calls, err := h.fake.WaitCalls(ctx, method, n)
	if err != nil {
		h.t.Fatalf("waiting for %d %s calls: %v (saw %d)", n, method, err, len(h.fake.Calls(method)))
	}
	return calls
}

// threadOf waits for the thread of one finished triage and returns its parent's
// final blocks (from chat.update) and the replies posted under it.
func (h *harness) threadOf(rep triage.Report) (parent slackfake.Call, replies []slackfake.Call) {
	h.t.Helper()
	msgs, err := slackrender.Thread(rep, slackrender.ThreadOptions{Buttons: true})
	if err != nil {
		h.t.Fatal(err)
	}
	posts := h.wait("chat.postMessage", len(msgs)) // progress parent + replies
	updates := h.wait("chat.update", 1)
	final := updates[len(updates)-1]
	for _, p := range posts[1:] {
		if p.Params.Get("thread_ts") != final.Params.Get("ts") {
			h.t.Errorf("reply posted under thread_ts %q; want the parent's %q", p.Params.Get("thread_ts"), final.Params.Get("ts"))
		}
	}
	return final, posts[1:]
}

func TestSlashCommandPostsDiagnosisThread(t *testing.T) {
	h := newHarness(t)
	code, body := h.slash(dba, incident, "check sqlhost01")
	if code != http.StatusOK || !strings.Contains(body, "Checking *sqlhost01*") || !strings.Contains(body, `"response_type":"ephemeral"`) {
		t.Fatalf("ack = %d %s; want 200 with an ephemeral \"Checking\"", code, body)
	}

	rep := h.tr.report
	rep.ID, rep.Host = reportID(1), "sqlhost01"
	parent, replies := h.threadOf(rep)

	first := h.fake.Calls("chat.postMessage")[0]
	if first.Params.Get("channel") != incident || first.Params.Get("thread_ts") != "" {
		t.Errorf("parent posted to %q under %q; want a new message in %s", first.Params.Get("channel"), first.Params.Get("thread_ts"), incident)
	}
	if !strings.Contains(first.Params.Get("blocks"), "Checking") || !strings.Contains(first.Params.Get("blocks"), reportID(1)) {
		t.Errorf("first parent does not say it is checking, with the report ID: %s", first.Params.Get("blocks"))
	}
	final := parent.Params.Get("blocks")
	for _, want := range []string{"critical", "sqlhost01", `"action_id":"rerun"`, `"action_id":"fix_script"`} {
		if !strings.Contains(final, want) {
			t.Errorf("final parent lacks %s: %s", want, final)
		}
	}
	all := ""
	for _, r := range replies {
		all += r.Params.Get("blocks")
	}
	for _, want := range []string{"dc.unreachable", "lsa.unresponsive", "https://learn.microsoft.com/", "setspn", reportID(1)} {
		if !strings.Contains(all, want) {
			t.Errorf("thread replies lack %q", want)
		}
	}
	if got := h.tr.calls(); len(got) != 1 || got[0] != "sqlhost01" {
		t.Errorf("triages = %v; want one of sqlhost01", got)
	}
	rec, err := h.db.Report(t.Context(), reportID(1))
	if err != nil || rec.Channel != incident || rec.ThreadTS != parent.Params.Get("ts") || rec.RequestedBy != dba {
		t.Errorf("stored record = %+v, %v; want the thread's channel, ts and requester", rec, err)
	}
	h.stop()
	audit, _ := h.db.AuditLog(t.Context(), 10)
	if len(audit) != 1 || audit[0].Result != "ok" || audit[0].Command != "check sqlhost01" || audit[0].User != dba || audit[0].Detail != reportID(1) {
		t.Errorf("audit = %+v; want one ok check by %s", audit, dba)
	}
}

func TestRefusedRequestsRunNothing(t *testing.T) {
	h := newHarness(t)
	body := h.slashBody(dba, incident, "check sqlhost01")
	cases := []struct {
		name string
		req  *http.Request
		want int
	}{
		{"wrong secret", h.sign("/slack/commands", "application/x-www-form-urlencoded", body, "not-the-secret", time.Now()), 401},
		{"ten minutes old", h.sign("/slack/commands", "application/x-www-form-urlencoded", body, secret, time.Now().Add(-10*time.Minute)), 401},
		{"from the future", h.sign("/slack/commands", "application/x-www-form-urlencoded", body, secret, time.Now().Add(10*time.Minute)), 401},
		{"no signature", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, h.http.URL+"/slack/commands", strings.NewReader(body))
			return r
		}(), 401},
		{"body too large", h.sign("/slack/commands", "application/x-www-form-urlencoded", body+"&pad="+strings.Repeat("a", MaxRequestBody), secret, time.Now()), 413},
		{"unknown path", h.sign("/slack/other", "application/x-www-form-urlencoded", body, secret, time.Now()), 404},
		{"events: not JSON", h.sign("/slack/events", "application/json", "{", secret, time.Now()), 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if code, _ := h.do(c.req); code != c.want {
				t.Errorf("status = %d; want %d", code, c.want)
			}
		})
	}
	t.Run("replayed", func(t *testing.T) {
		body, at := h.slashBody(dba, incident, "help"), time.Now()
		if code, _ := h.do(h.sign("/slack/commands", "application/x-www-form-urlencoded", body, secret, at)); code != 200 {
			t.Fatalf("first delivery = %d; want 200", code)
		}
		if code, _ := h.do(h.sign("/slack/commands", "application/x-www-form-urlencoded", body, secret, at)); code != 401 {
			t.Errorf("replay = %d; want 401", code)
		}
	})
	h.stop() // Run returns when everything it took is done: anything wrongly queued has run
	if got := h.tr.calls(); len(got) != 0 {
		t.Errorf("triages = %v; want none", got)
	}
	if got := h.fake.Calls("chat.postMessage"); len(got) != 0 {
		t.Errorf("posted %d messages; want none", len(got))
	}
}

// eventBody is an Events API callback carrying inner.
func eventBody(eventID string, inner map[string]any) string {
	b, _ := json.Marshal(map[string]any{
		"type": "event_callback", "team_id": "T0001", "api_app_id": "A0001",
		"event_id": eventID, "event_time": time.Now().Unix(), "event": inner,
	})
	return string(b)
}

func TestSameEventTwiceRunsOneTriage(t *testing.T) {
	h := newHarness(t)
	mention := map[string]any{"type": "app_mention", "user": dba, "text": "<@UBOT> check sqlhost01",
		"ts": "1764000000.000100", "channel": incident, "event_ts": "1764000000.000100"}
	first := h.sign("/slack/events", "application/json", eventBody("Ev1", mention), secret, time.Now())
	retry := h.sign("/slack/events", "application/json", eventBody("Ev1", mention), secret, time.Now().Add(time.Second))
	retry.Header.Set("X-Slack-Retry-Num", "1")
	retry.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	// The same message again under another subscription's event ID.
	other := h.sign("/slack/events", "application/json", eventBody("Ev2", mention), secret, time.Now().Add(2*time.Second))
	for _, r := range []*http.Request{first, retry, other} {
		if code, _ := h.do(r); code != 200 {
			t.Fatalf("delivery = %d; want 200", code)
		}
	}
	rep := h.tr.report
	rep.ID, rep.Host = reportID(1), "sqlhost01"
	h.threadOf(rep)
	h.stop() // Run returns when everything it took is done
	if got := h.tr.calls(); len(got) != 1 {
		t.Errorf("triages = %v; want exactly one", got)
	}
}

func TestRateLimitedPostIsPostedAfterTheWait(t *testing.T) {
	h := newHarness(t)
	var mu sync.Mutex
	limited := 0
	h.fake.Respond("chat.postMessage", func(c slackfake.Call) (int, http.Header, any) {
		mu.Lock()
		defer mu.Unlock()
		if limited == 0 {
			limited++
			return http.StatusTooManyRequests, http.Header{"Retry-After": {"1"}}, map[string]any{"ok": false, "error": "ratelimited"}
		}
		return 0, nil, nil // the default answer
	})
	began := time.Now()
	if code, _ := h.slash(dba, incident, "check sqlhost01"); code != 200 {
		t.Fatalf("ack = %d", code)
	}
	calls := h.wait("chat.postMessage", 2) // the 429, then the parent again
	if waited := calls[1].At.Sub(calls[0].At); waited < time.Second {
		t.Errorf("retried after %s; want at least the 1 s Retry-After", waited)
	}
	if calls[0].Params.Get("blocks") != calls[1].Params.Get("blocks") {
		t.Errorf("retry posted something else than the rate-limited message")
	}
	rep := h.tr.report
	rep.ID, rep.Host = reportID(1), "sqlhost01"
	msgs, _ := slackrender.Thread(rep, slackrender.ThreadOptions{Buttons: true})
	h.wait("chat.postMessage", len(msgs)+1) // every message arrived, none dropped
	t.Logf("thread complete %s after the slash command", time.Since(began).Round(time.Millisecond))
}

func TestAccessRules(t *testing.T) {
	h := newHarness(t)
	<-h.bot.groups.loaded // the group's members are known
	cases := []struct {
		name, user, channel, text string
		want                      string // in the ack
	}{
		{"no rule for the channel", dba, elsewhere, "check sqlhost01", "You may not run `check` here"},
		{"group may check anywhere", "U0ONCALL", elsewhere, "check sqlhost01", "Checking *sqlhost01*"},
		{"group may not share", "U0ONCALL", elsewhere, "share abcdefgh <#C0OTHER|other>", "You may not run `share` here"},
		{"no sharing into a channel no rule allows it for", dba, incident, "share abcdefgh <#C0RANDOM|random>", `You may not share reports to \u003c#C0RANDOM`},
		{"help is always allowed, filtered", dba, elsewhere, "help", "not listed"},
		{"unknown host: did you mean", dba, incident, "check sqlhost0", "not in authtriage's inventory"},
		{"not a command", dba, incident, "chekc sqlhost01", `did you mean \"check\"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := h.slash(c.user, c.channel, c.text)
			if code != 200 || !strings.Contains(body, c.want) {
				t.Errorf("ack = %d %s; want it to contain %q", code, body, c.want)
			}
		})
	}
	h.wait("chat.update", 1) // the allowed check ran
	h.stop()
	audit, _ := h.db.AuditLog(t.Context(), 20)
	results := map[string]int{}
	for _, a := range audit {
		results[a.Result]++
	}
	if results["denied"] != 3 || results["rejected"] != 2 {
		t.Errorf("audit results = %v; want 3 denied and 2 rejected recorded", results)
	}

	// A mention cannot carry an answer in its acknowledgement: the denial is ephemeral.
	h2 := newHarness(t)
	mention := map[string]any{"type": "app_mention", "user": dba, "text": "<@UBOT> check sqlhost01",
		"ts": "1764000000.000200", "channel": elsewhere}
	h2.do(h2.sign("/slack/events", "application/json", eventBody("Ev9", mention), secret, time.Now()))
	eph := h2.wait("chat.postEphemeral", 1)
	if eph[0].Params.Get("user") != dba || eph[0].Params.Get("channel") != elsewhere || !strings.Contains(eph[0].Params.Get("text"), "may not run") {
		t.Errorf("ephemeral = %v; want the denial to %s in %s", eph[0].Params, dba, elsewhere)
	}
	if got := h2.tr.calls(); len(got) != 0 {
		t.Errorf("triages = %v; want none", got)
	}
}
