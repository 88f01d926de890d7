package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/diagnosis"
	"github.com/authtriage/authtriage/internal/safefile/safefiletest"
	"github.com/authtriage/authtriage/plan"
	"github.com/authtriage/authtriage/triage"
)

// runBounded runs the command line and fails the test when it has not returned within
// a minute: a source that blocks must not hang a command.
func runBounded(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	e, out, errOut := testEnv(nil)
	done := make(chan int, 1)
	go func() { done <- e.run(t.Context(), args) }()
	select {
	case code = <-done:
	case <-time.After(time.Minute):
		t.Fatalf("authtriage %s did not return", strings.Join(args, " "))
	}
	return code, out.String(), errOut.String()
}

// TestCLIRefusesWhatBlocks names a FIFO (and a device) where a file is expected: each
// command answers at once that it is not a regular file, and leaves no thread behind.
func TestCLIRefusesWhatBlocks(t *testing.T) {
	fifo := safefiletest.FIFO(t)
	const notRegular = " is not a regular file (a FIFO)"
	tests := []struct {
		name string
		args []string
	}{
		{"events", []string{"check", "sqlhost01", "--events", fifo}},
		{"errorlog", []string{"check", "sqlhost01", "--errorlog", fifo}},
		{"config", []string{"check", "sqlhost01", "--config", fifo}},
		{"ldif", []string{"check", "sqlhost01.corp.example", "--ldif", fifo}},
		{"scan ldif", []string{"scan", "spn-duplicates", "--ldif", fifo}},
		{"scan config", []string{"scan", "spn-duplicates", "--config", fifo}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runBounded(t, tt.args...)
			if code != exitUnknown || !strings.Contains(stderr, fifo+notRegular) || stdout != "" {
				t.Errorf("exit %d, stderr %q, stdout %q; want 3 and %q", code, stderr, stdout, fifo+notRegular)
			}
		})
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		code, _, stderr := runBounded(t, "check", "sqlhost01", "--events", "/dev/zero")
		if want := "/dev/zero is not a regular file (a device)"; code != exitUnknown || !strings.Contains(stderr, want) {
			t.Errorf("--events /dev/zero: exit %d, stderr %q; want 3 and %q", code, stderr, want)
		}
	}

	before := safefiletest.Threads(t)
	for range 50 {
		for _, tt := range tests {
			if code, _, _ := runBounded(t, tt.args...); code != exitUnknown {
				t.Fatalf("%s: exit %d; want 3", tt.name, code)
			}
		}
	}
	if after := safefiletest.Threads(t); after > before+4 {
		t.Errorf("threads: %d after the first commands, %d after 300 more", before, after)
	}
}

// TestTriagesOfABlockingInventoryPath triages, as the bot and the agent do, a host
// whose inventory names a FIFO as its event export: every triage answers with the
// eventlog check in error and the reason, and the thread count stays put.
func TestTriagesOfABlockingInventoryPath(t *testing.T) {
	fifo := safefiletest.FIFO(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "authtriage.yaml")
	yaml := "hosts:\n  - name: sqlhost01\n    fqdn: sqlhost01.corp.example\n    service_account: CORP\\svc_sql01\n    events: [" + fifo + "]\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(t.Context(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	ad := plan.NewAdapters(cfg, log)
	t.Cleanup(func() { ad.Close() })
	bot := &triager{planner: plan.New(cfg, ad, plan.Options{Log: log}), log: log}
	agentPlanner := plan.New(cfg, ad, plan.Options{Agent: true, Log: log})
	agentTriage := func(ctx context.Context) triage.Report {
		pl, err := agentPlanner.For(ctx, "sqlhost01", plan.Overrides{Since: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		var cs []triage.Check
		for _, c := range pl.Checks {
			if c.Name() != "sql" { // no SQL Server here
				cs = append(cs, c)
			}
		}
		runner := triage.Runner{Checks: cs, Rules: diagnosis.Rules(), Log: log}
		return runner.Run(ctx, pl.Target)
	}
	want := "read event export: " + fifo + " is not a regular file (a FIFO)"
	triageOnce := func(t *testing.T) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		fromBot, err := bot.run(ctx, "sqlhost01", triage.Instance{}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for who, rep := range map[string]triage.Report{"bot": fromBot, "agent": agentTriage(ctx)} {
			c := checkResult(rep, "eventlog")
			if c.Status != triage.CheckError || c.Detail != want {
				t.Fatalf("%s: eventlog check %s %q; want error %q", who, c.Status, c.Detail, want)
			}
		}
	}
	triageOnce(t)
	before := safefiletest.Threads(t)
	for range 50 {
		triageOnce(t)
	}
	if after := safefiletest.Threads(t); after > before+4 {
		t.Errorf("threads: %d after the first triage, %d after 50 more", before, after)
	}
}

// checkResult returns the result of the check name in rep.
func checkResult(rep triage.Report, name string) triage.CheckResult {
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	return triage.CheckResult{Name: name, Status: "absent"}
}

// TestEvidenceThatProvesNothing gives empty and unrelated files: the checks that read
// them say they prove nothing, in error, never a finding or a pass.
func TestEvidenceThatProvesNothing(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	emptyLDIF := write("empty.ldf", "")
	emptyEvents := write("system.xml", "")
	noEvents := write("application.xml", `<?xml version="1.0" encoding="UTF-8"?><Events></Events>`)
	const demoLDIF = "../../internal/demo/sqlhost01/directory.ldf"
	target := []string{"--port", "1433", "--service-account", `CORP\svc_sql01`, "--output", "json"}

	tests := []struct {
		name   string
		args   []string
		checks map[string]string // check name -> text its error detail holds
	}{
		{"empty LDIF", append([]string{"check", "sqlhost01.corp.example", "--ldif", emptyLDIF}, target...), map[string]string{
			"spn":     "the LDIF " + emptyLDIF + " holds no entries",
			"account": "the LDIF " + emptyLDIF + " holds no entries",
		}},
		{"LDIF of another domain", []string{"check", "sqlhost01.other.example", "--ldif", demoLDIF, "--port", "1433",
			"--service-account", "svc_sql01@other.example", "--output", "json"}, map[string]string{
			"spn":     "holds nothing about the domain other.example",
			"account": "holds nothing about the domain other.example",
		}},
		{"empty event export", []string{"check", "sqlhost01", "--events", emptyEvents, "--output", "json"}, map[string]string{
			"eventlog": emptyEvents + ": the export holds no events",
		}},
		{"event export without events", []string{"check", "sqlhost01", "--events", noEvents, "--output", "json"}, map[string]string{
			"eventlog": noEvents + ": the export holds no events",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runBounded(t, tt.args...)
			if code != exitUnknown {
				t.Errorf("exit = %d; want 3 (unknown); stderr %s", code, stderr)
			}
			var rep triage.Report
			if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
				t.Fatalf("%v; stdout %q, stderr %q", err, stdout, stderr)
			}
			if len(rep.Findings) != 0 {
				t.Errorf("findings from evidence that proves nothing: %+v", rep.Findings)
			}
			for name, detail := range tt.checks {
				if c := checkResult(rep, name); c.Status != triage.CheckError || !strings.Contains(c.Detail, detail) {
					t.Errorf("%s check: %s %q; want error with %q", name, c.Status, c.Detail, detail)
				}
			}
		})
	}

	code, stdout, stderr := runBounded(t, "scan", "spn-duplicates", "--ldif", emptyLDIF)
	if want := "authtriage: scan: the LDIF " + emptyLDIF + " holds no entries"; code != exitUnknown || !strings.HasPrefix(stderr, want) || stdout != "" {
		t.Errorf("scan of an empty LDIF: exit %d, stderr %q, stdout %q; want 3 and %q", code, stderr, stdout, want)
	}
}

// TestEventExportReadOnce names the same export twice, and through a link: its events
// are counted once.
func TestEventExportReadOnce(t *testing.T) {
	events, err := filepath.Abs("../../internal/demo/sqlhost01/System.xml")
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "System-copy.xml")
	if err := os.Symlink(events, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	count := func(args ...string) (triage.Report, int) {
		t.Helper()
		_, stdout, stderr := runBounded(t, append([]string{"check", "sqlhost01.corp.example", "--port", "1433", "--output", "json"}, args...)...)
		var rep triage.Report
		if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
			t.Fatalf("%v; stderr %q", err, stderr)
		}
		n := 0
		for _, f := range rep.Findings {
			for _, e := range f.Evidence {
				if e.Source == triage.SourceEventlog {
					n += max(e.Count, 1)
				}
			}
		}
		return rep, n
	}
	_, once := count("--events", events)
	if once == 0 {
		t.Fatal("the demo export gives no event-log evidence")
	}
	for _, args := range [][]string{{"--events", events, "--events", events}, {"--events", events, "--events", link}} {
		rep, n := count(args...)
		if n != once {
			t.Errorf("%v: %d events in the evidence; want %d, as from one", args, n, once)
		}
		if c := checkResult(rep, "eventlog"); !strings.Contains(c.Detail, "the same file as System.xml, read once") {
			t.Errorf("%v: eventlog detail %q; want it to say the file was read once", args, c.Detail)
		}
	}
}
