package bot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authtriage/authtriage/internal/slackfake"
	slackrender "github.com/authtriage/authtriage/render/slack"
	"github.com/authtriage/authtriage/schedule"
	"github.com/authtriage/authtriage/triage"
)

// typicalSummary is a run of three hosts, one of which got worse.
func typicalSummary() schedule.Summary {
	tick := time.Date(2026, 11, 25, 7, 0, 0, 0, time.UTC)
	state := func(host, id string, status triage.Status) triage.HostState {
		return triage.HostState{Host: host, ReportID: id, Status: status, StartedAt: tick}
	}
	prev := triage.FleetRun{Schedule: "nightly-prod", Tick: tick.Add(-24 * time.Hour), Hosts: []triage.HostState{
		state("sqlhost01", "a1b2c3d4", triage.StatusOK), state("sqlhost02", "e5f6g7h8", triage.StatusOK),
	}}
	cur := triage.FleetRun{Schedule: "nightly-prod", Tick: tick, Started: tick, Finished: tick.Add(time.Minute), Hosts: []triage.HostState{
		state("sqlhost01", "7kq2m9xd", triage.StatusCritical), state("sqlhost02", "x2y3z4a5", triage.StatusOK),
		state("sqlhost03", "f2g3h4j5", triage.StatusWarning),
	}}
	s := schedule.Diff(&prev, cur)
	s.Schedule = schedule.Schedule{Name: "nightly-prod", Spec: "0 7 * * *", Channel: "C0FLEET"}
	return s
}

// PostSummary posts the parent only; PostDetails the replies, in its thread.
func TestPostSummaryThenDetails(t *testing.T) {
	h := newHarness(t)
	s := typicalSummary()
	msgs, err := slackrender.SummaryThread(s, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	at, err := h.bot.PostSummary(t.Context(), s)
	channel, ts, perr := parsePosted(at)
	if err != nil || perr != nil || channel != "C0FLEET" || ts == "" {
		t.Fatalf("PostSummary = %q, %v (%v); want the parent's place in C0FLEET", at, err, perr)
	}
	if calls := h.fake.Calls("chat.postMessage"); len(calls) != 1 || calls[0].Params.Get("thread_ts") != "" {
		t.Fatalf("PostSummary made %d posts; want the parent alone", len(calls))
	}
	if err := h.bot.PostDetails(t.Context(), s, at); err != nil {
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
	at, err := h.bot.PostSummary(t.Context(), typicalSummary())
	if err == nil || at != "" {
		t.Errorf("PostSummary = %q, %v; want an error and no place", at, err)
	}
	if err := h.bot.PostDetails(t.Context(), typicalSummary(), "C0FLEET/1700000000.000100"); err == nil {
		t.Errorf("PostDetails with every reply refused = nil; want an error")
	}
}

// fleetTriager fails each host as errs says, and triages the others as ok.
type fleetTriager map[string]error

func (f fleetTriager) Triage(ctx context.Context, host string) (triage.Report, error) {
	if err := f[host]; err != nil {
		return triage.Report{}, err
	}
	return triage.Report{ID: triage.NewID(), Host: host, Status: triage.StatusOK, StartedAt: time.Now()}, nil
}

// A scheduled run whose hosts fail shows the bot's words for their errors in
// the summary's thread and keeps them in the run it saves; an internal error's
// text reaches neither, and the log has it in full with the reference Slack
// shows.
func TestFleetErrorsReachSlackMapped(t *testing.T) {
	var mu sync.Mutex
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logged}, nil))
	h := newHarness(t, func(o *Options) { o.Log = log })
	sc := schedule.Schedule{Name: "nightly-prod", Spec: "0 7 * * *", Channel: "C0FLEET",
		Hosts: []string{"sqlhost01", "sqlhost02", "sqlhost03"}}
	s, err := schedule.New(schedule.Options{
		Schedules: []schedule.Schedule{sc},
		Triager: fleetTriager{
			"sqlhost01": fmt.Errorf("triage sqlhost01: %w", errSecret),
			"sqlhost02": &triage.InputError{Err: errors.New("no ERRORLOG source for sqlhost02")},
		},
		Store: h.db, Notifier: h.bot, Holder: "replica-1", Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	tick := time.Now().UTC().Truncate(time.Minute)
	if err := s.RunTick(t.Context(), sc, tick); err != nil {
		t.Fatal(err)
	}
	var posted []string
	for _, c := range h.wait("chat.postMessage", 2) {
		posted = append(posted, c.Params.Get("blocks"), c.Params.Get("text"))
	}
	all := strings.Join(posted, "\n")
	ref := regexp.MustCompile(`sqlhost01\* · could not triage: an internal error \(reference ([0-9a-f]{6}) in the bot's log\)`).FindStringSubmatch(all)
	if ref == nil || strings.Contains(all, "permission denied") || strings.Contains(all, "/etc/") {
		t.Fatalf("the summary's thread:\n%s\nwant sqlhost01 with a reference and no error text", all)
	}
	if want := "sqlhost02* · could not triage: no ERRORLOG source for sqlhost02 (see its entry under hosts: in authtriage's configuration)"; !strings.Contains(all, want) {
		t.Errorf("the summary's thread:\n%s\nwant %q", all, want)
	}
	mu.Lock()
	if !regexp.MustCompile(`msg="host not triaged" .*host=sqlhost01 err=".*permission denied.*" ref=` + ref[1]).MatchString(logged.String()) {
		t.Errorf("the log lacks sqlhost01's error with ref=%s:\n%s", ref[1], logged.String())
	}
	mu.Unlock()
	run, err := h.db.Run(t.Context(), sc.Name, tick)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := run.Hosts[0].Error, "an internal error (reference "+ref[1]+" in the bot's log)"; got != want {
		t.Errorf("the saved run's sqlhost01 has Error %q; want %q", got, want)
	}
}
