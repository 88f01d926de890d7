package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/correlate"
	"github.com/authtriage/authtriage/plan"
	"github.com/authtriage/authtriage/schedule"
	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// sweepNotifier keeps the summaries a scheduler posts and words errors with
// their text.
type sweepNotifier struct {
	mu        sync.Mutex
	summaries []schedule.Summary
}

func (n *sweepNotifier) PostSummary(_ context.Context, s schedule.Summary) (schedule.Posted, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.summaries = append(n.summaries, s)
	return schedule.Posted(fmt.Sprintf("C0FLEET/%d", len(n.summaries))), nil
}

func (n *sweepNotifier) PostDetails(context.Context, schedule.Summary, schedule.Posted) error {
	return nil
}

func (n *sweepNotifier) Explain(err error) (string, string) { return err.Error(), "" }

// agentCheck is a check the test agent runs: it counts its runs.
type agentCheck struct{ runs *countingHosts }

func (agentCheck) Name() string { return "errorlog" }
func (c agentCheck) Run(_ context.Context, t triage.Target) (triage.Result, error) {
	c.runs.add(t.Host)
	return triage.Result{Detail: "no authentication errors in the window"}, nil
}

type countingHosts struct {
	mu    sync.Mutex
	hosts []string
}

func (c *countingHosts) add(h string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hosts = append(c.hosts, h)
}

func (c *countingHosts) sorted() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(slices.Values(c.hosts))
}

// A scheduled sweep triages the hosts behind an agent through the agent's batch
// requests: a real agent on loopback (mutual TLS) whose interactive limits let
// one request a minute through triages all 30 of its hosts in one run, each
// once, and each host's report is saved and named in its state. A host with no
// agent is triaged one by one, as before: here it has nothing to check, which
// its state says.
func TestScheduledSweepThroughAgent(t *testing.T) {
	cfgPath, runs, behind := startSweepAgent(t)
	cfg, err := config.LoadAs(t.Context(), cfgPath, nil, config.RoleCLI)
	if err != nil {
		t.Fatal(err)
	}

	log := slog.New(slog.DiscardHandler)
	ad := plan.NewAdapters(cfg, log)
	defer ad.Close()
	tr := &triager{planner: plan.New(cfg, ad, plan.Options{Log: log}), cfg: cfg, ad: ad, log: log}
	hosts := append(slices.Clone(behind), "plain", "SQLHOST01")
	groups := fleetTriager{tr}.Batches(t.Context(), hosts)
	if diff := cmp.Diff(map[string][]string{"east": behind}, groups); diff != "" {
		t.Errorf("Batches (-want +got):\n%s", diff)
	}

	db, err := store.Open(t.Context(), store.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "store.db"), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := &sweepNotifier{}
	sc := schedule.Schedule{Name: "fleet", Spec: "@hourly", Channel: "C0FLEET", Hosts: slices.Concat(behind, []string{"plain"})}
	s, err := schedule.New(schedule.Options{
		Schedules: []schedule.Schedule{sc}, Triager: fleetTriager{tr}, Store: db, Notifier: n, Holder: "test",
		Signatures: correlate.Signatures, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	tick := time.Now().Truncate(time.Hour)
	if err := s.RunTick(t.Context(), sc, tick); err != nil {
		t.Fatal(err)
	}

	if diff := cmp.Diff(behind, runs.sorted()); diff != "" {
		t.Errorf("hosts the agent triaged (-want +got):\n%s", diff)
	}
	if len(n.summaries) != 1 {
		t.Fatalf("%d summaries; want 1", len(n.summaries))
	}
	run := n.summaries[0].Run
	if len(run.Hosts) != len(behind)+1 {
		t.Fatalf("run has %d hosts; want %d", len(run.Hosts), len(behind)+1)
	}
	for _, h := range run.Hosts {
		if h.Host == "plain" {
			if h.Status != triage.StatusUnknown || h.Error == "" {
				t.Errorf("plain = %+v; want unknown with why", h)
			}
			continue
		}
		if h.Status == triage.StatusUnknown || h.Error != "" || h.ReportID == "" {
			t.Errorf("%s = %+v; want triaged through the agent, with its report", h.Host, h)
			continue
		}
		rec, err := db.Report(t.Context(), h.ReportID)
		if err != nil {
			t.Errorf("%s: report %s: %v", h.Host, h.ReportID, err)
			continue
		}
		if c := rec.Report.Checks; len(c) != 1 || c[0].Name != "errorlog" || c[0].Agent != "east" || c[0].Status != triage.CheckPass {
			t.Errorf("%s: saved report's checks %+v; want the agent's errorlog check, passed", h.Host, c)
		}
	}
}

// startSweepAgent starts a real agent on loopback (mutual TLS) whose interactive
// limits let one request a minute through, serving 30 hosts tagged fleet, and writes
// a configuration that names it and them, and a host "plain" with no agent. runs
// counts the agent's triages by host.
func startSweepAgent(t *testing.T) (cfgPath string, runs *countingHosts, behind []string) {
	t.Helper()
	dir := t.TempDir()
	if err := agent.GenerateCerts(dir, []string{"127.0.0.1", "localhost"}, []string{"authtriage-bot"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	targets := map[string]triage.Target{}
	for i := range 30 {
		h := fmt.Sprintf("sqlhost%02d", i+1)
		behind = append(behind, h)
		targets[h] = triage.Target{Host: h, FQDN: h + ".corp.example"}
	}
	runs = &countingHosts{}
	srv, err := agent.NewServer(agent.ServerConfig{
		Hosts:          targets,
		Checks:         func(triage.Target, time.Duration) []triage.Check { return []triage.Check{agentCheck{runs}} },
		AllowedClients: []string{"authtriage-bot"},
		Deadline:       10 * time.Second, CheckTimeout: 5 * time.Second,
		// A request at a time, one a minute: a sweep through these would take half an hour.
		MaxConcurrent: 1, RatePerMinute: 1, Burst: 1,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := agent.ServerTLS(t.Context(), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"), filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln, tlsCfg) }()
	t.Cleanup(func() { stop(); <-served })

	var b strings.Builder
	fmt.Fprintf(&b, "agents:\n  - name: east\n    url: https://%s\n    cert_path: %s\n    key_path: %s\n    ca_path: %s\nhosts:\n",
		ln.Addr(), filepath.Join(dir, "authtriage-bot.pem"), filepath.Join(dir, "authtriage-bot-key.pem"), filepath.Join(dir, "ca.pem"))
	for _, h := range behind {
		fmt.Fprintf(&b, "  - name: %s\n    fqdn: %s.corp.example\n    agent: east\n    tags: [fleet]\n", h, h)
	}
	b.WriteString("  - name: plain\n")
	cfgPath = filepath.Join(dir, "bot.yaml")
	writeFile(t, cfgPath, b.String())
	return cfgPath, runs, behind
}

// A check of a tag triages the hosts behind an agent through its batch requests,
// as a scheduled sweep does: all 30 hosts in one command, each once, though the
// agent lets one interactive request a minute through.
func TestFleetCheckThroughAgent(t *testing.T) {
	cfgPath, runs, behind := startSweepAgent(t)
	e, stdout, stderr := testEnv(nil)
	code := e.run(t.Context(), []string{"check", "--tag", "fleet", "--config", cfgPath, "--output", "json"})
	var got struct {
		Reports []triage.Report `json:"reports"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("exit %d, no JSON: %v\nstderr: %s", code, err, stderr)
	}
	if len(got.Reports) != len(behind) {
		t.Fatalf("%d reports; want %d\nstderr: %s", len(got.Reports), len(behind), stderr)
	}
	for _, r := range got.Reports {
		if len(r.Checks) == 0 || r.Checks[0].Name != "errorlog" || r.Checks[0].Agent != "east" || r.Checks[0].Status != triage.CheckPass {
			t.Errorf("%s: checks %+v; want errorlog passed in agent east", r.Host, r.Checks)
		}
	}
	if diff := cmp.Diff(behind, runs.sorted()); diff != "" {
		t.Errorf("the agent's triages (-want +got):\n%s", diff)
	}
}
