package agent_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/checks"
	"github.com/authtriage/authtriage/diagnosis"
	"github.com/authtriage/authtriage/internal/demo"
	"github.com/authtriage/authtriage/sources/directory"
	"github.com/authtriage/authtriage/triage"
)

// demoChecks are the real checks over the demo's sample evidence: an ERRORLOG, a
// System log export and a directory export, with the live-only checks skipped.
func demoChecks(t *testing.T) []triage.Check {
	t.Helper()
	f, err := demo.Files().Open(demo.LDIF)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir, err := directory.LoadLDIF(f, demo.LDIF)
	if err != nil {
		t.Fatal(err)
	}
	then := func() time.Time { return time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC) }
	return []triage.Check{
		checks.ErrorLog{FS: demo.Files(), Files: []string{demo.ErrorLog}, Copied: true},
		checks.EventLog{FS: demo.Files(), Files: []string{demo.Events}, Copied: true},
		checks.SPN{Dir: dir},
		checks.Account{Dir: dir, NotFound: directory.ErrNotFound, Now: then},
		checks.Kerberos{NoSource: "offline: not contacted"},
		checks.Clock{},
	}
}

// TestEndToEnd: the demo's triage run through a real agent over mutual TLS finds what
// the same triage finds in process.
func TestEndToEnd(t *testing.T) {
	p := newPKI(t, "bot")
	a := startAgent(t, p, func() []triage.Check { return demoChecks(t) }, func(c *agent.ServerConfig) {
		c.Hosts = map[string]triage.Target{"sqlhost01": demo.Target()}
	})
	c := newClient(t, p, a.url, "bot", 30*time.Second)

	var names []string
	for _, ch := range demoChecks(t) {
		names = append(names, ch.Name())
	}
	run := func(cs []triage.Check) triage.Report {
		r := triage.Runner{Checks: cs, Rules: diagnosis.Rules(), Deadline: 30 * time.Second,
			Now: func() time.Time { return time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC) }, NewID: func() string { return "e2e" }}
		return r.Run(t.Context(), demo.Target())
	}
	local := run(demoChecks(t))
	remote := run(c.Checks("sqlhost01", 24*time.Hour, names))

	if len(local.Findings) == 0 {
		t.Fatal("the demo finds nothing in process; the comparison would prove nothing")
	}
	if diff := cmp.Diff(local.Findings, remote.Findings, cmpopts.IgnoreUnexported(triage.Step{})); diff != "" {
		t.Errorf("findings through the agent differ from those in process (-local +remote):\n%s", diff)
	}
	if local.Trend == nil {
		t.Error("the demo has no trend in process; the comparison would prove nothing")
	}
	if diff := cmp.Diff(local.Trend, remote.Trend); diff != "" {
		t.Errorf("trend through the agent differs from that in process (-local +remote):\n%s", diff)
	}
	if local.Status != remote.Status {
		t.Errorf("status %s through the agent; %s in process", remote.Status, local.Status)
	}
	nameStatusDetail := cmp.Transformer("check", func(cr triage.CheckResult) [3]string {
		return [3]string{cr.Name, string(cr.Status), cr.Detail}
	})
	if diff := cmp.Diff(local.Checks, remote.Checks, nameStatusDetail); diff != "" {
		t.Errorf("checks through the agent differ (-local +remote):\n%s", diff)
	}
	rec := waitRequests(t, a.log, 1)[0]
	if rec["client"] != "bot" || rec["host"] != "sqlhost01" || rec["status"] != 200.0 || rec["reason"] != "complete" {
		t.Errorf("audit %v; want bot's complete triage of sqlhost01", rec)
	}
}
