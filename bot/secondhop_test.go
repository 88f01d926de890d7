package bot

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/internal/slackfake"
	slackrender "github.com/authtriage/authtriage/render/slack"
	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// backEndOf returns a report of back, the back end of a path from each front end.
func backEndOf(back string, fronts ...string) triage.Report {
	rep := triage.Report{Host: back, Status: triage.StatusCritical, Findings: []triage.Finding{}, Delegation: &triage.DelegationFacts{}}
	for _, f := range fronts {
		rep.Delegation.Paths = append(rep.Delegation.Paths, triage.DelegationPath{FrontEnd: f, Account: `CORP\svc_` + f, BackEnd: back,
			Instance: triage.Instance{Port: 1433}, Via: "inventory", SelfCredential: true})
	}
	return rep
}

func TestFrontEndHosts(t *testing.T) {
	inv := inventoryOf{"sqlbe", "web01", "app02", "sqlbe.corp.test"}
	rep := backEndOf("sqlbe", "web01", "WEB01", "app09", "sqlbe", "app02")
	rep.Delegation.Paths = append(rep.Delegation.Paths,
		triage.DelegationPath{Account: `CORP\svc_report`, BackEnd: "sqlbe", Via: "inventory"},         // an application's account
		triage.DelegationPath{FrontEnd: "app02", Account: `CORP\svc_app`, BackEnd: "sqlother"},        // another back end
		triage.DelegationPath{FrontEnd: "sqlbe", Account: `CORP\svc_sqlbe`, BackEnd: "web01"},         // the host as front end
		triage.DelegationPath{FrontEnd: "app02", Account: `CORP\svc_app`, BackEnd: "sqlbe.corp.test"}) // the host by another inventory name
	got := frontEndHosts(rep, inv)
	if want := []string{"web01", "app02"}; !cmp.Equal(got, want) {
		t.Errorf("frontEndHosts = %q; want %q", got, want)
	}
	if got := frontEndHosts(triage.Report{Host: "sqlbe"}, inv); got != nil {
		t.Errorf("frontEndHosts of a report without delegation facts = %q; want none", got)
	}
}

// historyOf is a store's History for the tests: entries or an error per host,
// counting the look-ups.
type historyOf struct {
	entries map[string][]store.Entry
	errs    map[string]error
	mu      sync.Mutex
	asked   []string
}

func (h *historyOf) History(ctx context.Context, host string, limit int) ([]store.Entry, error) {
	h.mu.Lock()
	h.asked = append(h.asked, host)
	h.mu.Unlock()
	if err := h.errs[host]; err != nil {
		return nil, err
	}
	return h.entries[host], nil
}

func TestLookUpFrontEnds(t *testing.T) {
	entry := func(id string, st triage.Status, channel, ts string) []store.Entry {
		return []store.Entry{{HostState: triage.HostState{ReportID: id, Status: st}, Channel: channel, ThreadTS: ts}}
	}
	st := &historyOf{
		entries: map[string][]store.Entry{
			"web01": entry("7kq2m9xd", triage.StatusWarning, "C0DBA", "1764072000.000100"),
			"app03": entry("p4w8zr2c", triage.StatusOK, "", ""),                // triaged from the CLI: no thread
			"app04": entry("h7st1l3x", triage.StatusCritical, "C0GONE", "1.2"), // its thread is gone
		},
		errs: map[string]error{"app05": errors.New("database is locked: SELECT id FROM reports WHERE secret")},
	}
	permalink := func(_ context.Context, channel, ts string) (string, error) {
		if channel == "C0GONE" {
			return "", errors.New("slack chat.getPermalink: message_not_found")
		}
		return "https://example.slack.com/archives/" + channel + "/p" + strings.ReplaceAll(ts, ".", ""), nil
	}
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, nil))
	hosts := []string{"web01", "app02", "app03", "app04", "app05"}
	for i := range 8 {
		hosts = append(hosts, "more"+string(rune('a'+i)))
	}
	got := lookUpFrontEnds(t.Context(), hosts, st, permalink, log)
	want := []slackrender.FrontEnd{
		{Host: "web01", ReportID: "7kq2m9xd", Status: triage.StatusWarning, Link: "https://example.slack.com/archives/C0DBA/p1764072000000100"},
		{Host: "app02"},
		{Host: "app03", ReportID: "p4w8zr2c", Status: triage.StatusOK},
		{Host: "app04", ReportID: "h7st1l3x", Status: triage.StatusCritical},
		{Host: "app05", Unread: true},
	}
	for _, h := range hosts[5:] {
		want = append(want, slackrender.FrontEnd{Host: h})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lookUpFrontEnds (-want +got):\n%s", diff)
	}
	if n := len(st.asked); n != slackrender.MaxFrontEnds {
		t.Errorf("%d look-ups in the store; want %d, the front ends the thread names", n, slackrender.MaxFrontEnds)
	}
	for _, want := range []string{"database is locked", "message_not_found"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logged.String())
		}
	}
}

// blockingStore is a Store whose History waits for the end of its context.
type blockingStore struct{ Store }

func (blockingStore) History(ctx context.Context, host string, limit int) ([]store.Entry, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestFrontEndsDeadline checks that a store that does not answer holds the thread
// for frontEndTimeout at most, and that the front ends are then said unread.
func TestFrontEndsDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b, err := New(Options{API: nopAPI{}, Store: blockingStore{}, Triager: &fakeTriager{}, Inventory: inventoryOf{"sqlbe", "web01", "app02"}})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		got := b.frontEnds(t.Context(), backEndOf("sqlbe", "web01", "app02"), b.log)
		if took := time.Since(start); took != frontEndTimeout {
			t.Errorf("took %v; want the deadline, %v", took, frontEndTimeout)
		}
		want := []slackrender.FrontEnd{{Host: "web01", Unread: true}, {Host: "app02", Unread: true}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("frontEnds (-want +got):\n%s", diff)
		}
	})
}

// failingHistory is the harness's store with History failing.
type failingHistory struct{ *store.DB }

func (failingHistory) History(ctx context.Context, host string, limit int) ([]store.Entry, error) {
	return nil, errors.New("sqlite: disk I/O error at /var/lib/authtriage/bot.db")
}

// TestBackEndThreadNamesFrontEnds checks that the thread of a back end's triage
// names its front ends from the inventory with their latest reports and a link to
// their threads, and says when the store could not be read, without its error.
func TestBackEndThreadNamesFrontEnds(t *testing.T) {
	t.Run("stored", func(t *testing.T) {
		h := newHarness(t)
		// sqlhost02's latest report, posted in #incident.
		api := slack.New("xoxb-test", slack.OptionAPIURL(h.fake.APIURL()))
		_, ts, err := api.PostMessageContext(t.Context(), incident, slack.MsgOptionText("sqlhost02's thread", false))
		if err != nil {
			t.Fatal(err)
		}
		front := triage.Report{ID: "fr0nt3nd", Host: "sqlhost02", Status: triage.StatusWarning, StartedAt: time.Now(), Findings: []triage.Finding{}}
		if err := h.db.SaveReport(t.Context(), store.Record{Report: front, Channel: incident, ThreadTS: ts}); err != nil {
			t.Fatal(err)
		}
		h.tr.report = backEndOf("sqlhost01", "sqlhost02", "app09")
		if code, body := h.slash(dba, incident, "check sqlhost01"); code != 200 {
			t.Fatalf("ack = %d %s", code, body)
		}
		rep := h.tr.report
		rep.ID = reportID(1)
		hop := replyWith(t, h.repliesOf(rep, 1), "Second hop")
		link := "https://example.slack.com/archives/" + incident + "/p" + strings.ReplaceAll(ts, ".", "")
		for _, want := range []string{"Front ends of this back end", "*sqlhost02* WARNING", "`fr0nt3nd`", "<" + link + "|its thread>"} {
			if !strings.Contains(hop, want) {
				t.Errorf("second-hop reply lacks %q: %s", want, hop)
			}
		}
		if strings.Contains(hop, "*app09*") {
			t.Errorf("second-hop reply names app09, which is not in the inventory, as a front end: %s", hop)
		}
	})
	t.Run("store error", func(t *testing.T) {
		h := newHarness(t, func(o *Options) { o.Store = failingHistory{o.Store.(*store.DB)} })
		h.tr.report = backEndOf("sqlhost01", "sqlhost02")
		if code, body := h.slash(dba, incident, "check sqlhost01"); code != 200 {
			t.Fatalf("ack = %d %s", code, body)
		}
		rep := h.tr.report
		rep.ID = reportID(1)
		hop := replyWith(t, h.repliesOf(rep, 0), "Second hop")
		if !strings.Contains(hop, "*sqlhost02*: its reports could not be read from the store") {
			t.Errorf("second-hop reply does not say sqlhost02's reports could not be read: %s", hop)
		}
		if strings.Contains(hop, "disk I/O") || strings.Contains(hop, "/var/lib") {
			t.Errorf("second-hop reply shows the store's error: %s", hop)
		}
	})
}

// repliesOf waits for the thread of rep, the only triage, posted after others
// messages, and returns its replies.
func (h *harness) repliesOf(rep triage.Report, others int) []slackfake.Call {
	h.t.Helper()
	msgs, err := slackrender.Thread(rep, slackrender.ThreadOptions{Buttons: true})
	if err != nil {
		h.t.Fatal(err)
	}
	posts := h.wait("chat.postMessage", others+len(msgs)) // progress parent + replies
	updates := h.wait("chat.update", 1)
	final := updates[len(updates)-1] // the verdict: replies are posted after it
	var replies []slackfake.Call
	for _, p := range posts {
		if p.Params.Get("thread_ts") == final.Params.Get("ts") {
			replies = append(replies, p)
		}
	}
	return replies
}

// replyWith returns the blocks of the reply that contains s, with the JSON
// escapes of <, > and & undone.
func replyWith(t *testing.T, replies []slackfake.Call, s string) string {
	t.Helper()
	unescape := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&")
	for _, r := range replies {
		if b := unescape.Replace(r.Params.Get("blocks")); strings.Contains(b, s) {
			return b
		}
	}
	t.Fatalf("no reply contains %q", s)
	return ""
}
