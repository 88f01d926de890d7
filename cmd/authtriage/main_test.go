package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/internal/golden"
	"github.com/authtriage/authtriage/triage"
)

// testEnv returns an environment with a fixed clock and report ID, and its outputs.
func testEnv(vars map[string]string) (env, *bytes.Buffer, *bytes.Buffer) {
	var stdout, stderr bytes.Buffer
	fixed := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	return env{
		getenv: func(k string) string { return vars[k] },
		stdout: &stdout, stderr: &stderr,
		now:   func() time.Time { return fixed },
		newID: func() string { return "t3stid42" },
	}, &stdout, &stderr
}

func TestDemo(t *testing.T) {
	for _, format := range []string{"text", "json", "blocks", "slack"} {
		t.Run(format, func(t *testing.T) {
			e, stdout, stderr := testEnv(nil)
			code := e.run(t.Context(), []string{"demo", "local-security", "--output", format})
			if code != exitOK {
				t.Fatalf("demo exit = %d; want 0; stderr:\n%s", code, stderr)
			}
			if stderr.Len() > 0 {
				t.Errorf("demo wrote to stderr: %s", stderr)
			}
			golden.Check(t, filepath.Join("testdata", "demo."+format), stdout.Bytes())
		})
	}
}

// TestCheckSeedScenario: the seed article's failures, given as files, come out as
// dc.unreachable and lsa.unresponsive with the counts and times in the log.
func TestCheckSeedScenario(t *testing.T) {
	e, stdout, stderr := testEnv(nil)
	code := e.run(t.Context(), []string{"check", "sqlhost01", "--errorlog", "../../internal/demo/sqlhost01/ERRORLOG",
		"--events", "../../internal/demo/sqlhost01/System.xml", "--fqdn", "sqlhost01.corp.example", "--port", "1433",
		"--service-account", `CORP\svc_sql01`, "--output", "json"})
	if code != exitCritical {
		t.Fatalf("exit = %d; want %d; stderr:\n%s", code, exitCritical, stderr)
	}
	var rep triage.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("output is not a JSON report: %v\n%s", err, stdout)
	}
	text, err := os.ReadFile("../../internal/demo/sqlhost01/ERRORLOG.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(text), "\n")
	count := func(sub string) (n int, first, last string) {
		for _, l := range lines {
			if strings.Contains(l, sub) {
				n++
				if first == "" {
					first = l[:22]
				}
				last = l[:22]
			}
		}
		return n, first, last
	}
	tests := []struct {
		cause triage.CauseID
		code  string
	}{
		{triage.DCUnreachable, "0x80090311"},
		{triage.LSAUnresponsive, "0x80090304"},
	}
	for _, tt := range tests {
		f := findCause(rep, tt.cause)
		if f == nil {
			t.Errorf("no %s finding in %s", tt.cause, stdout)
			continue
		}
		n, first, last := count("error code " + tt.code)
		ev := f.Evidence[0]
		if ev.Source != triage.SourceErrorlog || ev.Count != n {
			t.Errorf("%s evidence = %s x%d; want errorlog x%d", tt.cause, ev.Source, ev.Count, n)
		}
		// The log's local times are UTC-5 ("UTC adjustment: -5:00").
		if got := ev.First.Format("2006-01-02 15:04:05.00"); got != first {
			t.Errorf("%s first seen %s; want %s", tt.cause, got, first)
		}
		if got := ev.Time.Format("2006-01-02 15:04:05.00"); got != last {
			t.Errorf("%s last seen %s; want %s", tt.cause, got, last)
		}
		if _, off := ev.Time.Zone(); off != -5*3600 {
			t.Errorf("%s time zone offset %d; want -5h", tt.cause, off)
		}
	}
	dc := findCause(rep, triage.DCUnreachable)
	if dc != nil && !hasEvidenceFrom(*dc, triage.SourceEventlog) {
		t.Errorf("dc.unreachable lacks the System log's NETLOGON/LsaSrv corroboration: %+v", dc.Evidence)
	}
	n18452, _, _ := count("untrusted domain")
	if got := countText(rep, "18452"); got != n18452 {
		t.Errorf("18452 evidence counts %d; want %d (as symptoms of the SSPI findings)", got, n18452)
	}
	if f := findCause(rep, triage.LoginUntrustedDomain); f != nil {
		t.Errorf("18452 reported as a separate mystery: %+v", f)
	}
}

// TestCheckRealLogs: the real SQL Server 2022 logs report the SPN registration failure
// with its SPN and return code, and nothing critical.
func TestCheckRealLogs(t *testing.T) {
	logs, _ := filepath.Glob("../../sources/errorlog/testdata/ERRORLOG-sql2022-*")
	if len(logs) != 3 {
		t.Fatalf("found %d real logs in errorlog/testdata; want 3", len(logs))
	}
	for _, path := range logs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			e, stdout, stderr := testEnv(nil)
			code := e.run(t.Context(), []string{"check", "desktop01", "--errorlog", path, "--output", "json"})
			if code != exitWarning {
				t.Fatalf("exit = %d; want %d (warning); stderr:\n%s\n%s", code, exitWarning, stderr, stdout)
			}
			var rep triage.Report
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			f := findCause(rep, triage.SPNRegistrationFailed)
			if f == nil {
				t.Fatalf("no spn.registration_failed in %s", stdout)
			}
			if !strings.Contains(f.Evidence[0].Text, "MSSQLSvc/") || !strings.Contains(f.Evidence[0].Text, "0xffffffff") {
				t.Errorf("evidence %q lacks the SPN or return code", f.Evidence[0].Text)
			}
			for _, f := range rep.Findings {
				if f.Severity == triage.Critical {
					t.Errorf("critical finding %s on a healthy log", f.Cause)
				}
			}
		})
	}
}

func TestCheckText(t *testing.T) {
	e, stdout, stderr := testEnv(nil)
	code := e.run(t.Context(), []string{"check", "desktop-8m1ja4s", "--errorlog", "../../sources/errorlog/testdata/ERRORLOG-sql2022-named-instance"})
	if code != exitWarning {
		t.Fatalf("exit = %d; want 1; stderr:\n%s", code, stderr)
	}
	golden.Check(t, filepath.Join("testdata", "check-named-instance.text"), stdout.Bytes())
}

// TestBadInput: every kind of bad input explains itself on stderr, prints no report
// and exits 3.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	notLog := write("notes.txt", []byte("these are not the logs you are looking for\n"))
	binary := write("blob.bin", []byte{0x00, 0x01, 0xff, 0xfe, 0x00, 0x00, 0x13, 0x37})
	evtx := write("System.evtx", append([]byte("ElfFile\x00"), make([]byte, 120)...))
	badConfig := write("bad.yaml", []byte("hots:\n  - name: sqlhost01\n"))
	goodConfig := write("good.yaml", []byte("hosts:\n  - name: sqlhost01\n    fqdn: sqlhost01.corp.example\n"))

	tests := []struct {
		name   string
		args   []string
		stderr string // substring
	}{
		{"no command", nil, "Usage:"},
		{"unknown command", []string{"chek"}, `unknown command "chek"`},
		{"no host", []string{"check"}, "check needs a HOST"},
		{"two hosts", []string{"check", "a", "b", "--errorlog", notLog}, "--errorlog describe one host"},
		{"injection in host", []string{"check", "sql01)(cn=*", "--errorlog", notLog}, "not allowed in a host name"},
		{"bad flag", []string{"check", "sqlhost01", "--erorlog", "x"}, "flag provided but not defined: -erorlog"},
		{"bad since", []string{"check", "sqlhost01", "--since", "yesterday"}, "not a duration"},
		{"negative since", []string{"check", "sqlhost01", "--since", "-1h"}, "must be more than 0"},
		{"bad output", []string{"check", "sqlhost01", "--output", "xml"}, "--output must be text, json, blocks, slack or markdown"},
		{"scan output", []string{"scan", "spn-duplicates", "--output", "blocks", "--ldif", notLog}, "--output must be text or json"},
		{"bad port", []string{"check", "sqlhost01", "--port", "70000", "--errorlog", notLog}, "--port"},
		{"bad instance", []string{"check", "sqlhost01", "--instance", "SALES:x", "--errorlog", notLog}, "--instance"},
		{"bad account", []string{"check", "sqlhost01", "--service-account", "svc*)(", "--errorlog", notLog}, "--service-account"},
		{"nothing to check", []string{"check", "sqlhost01"}, "nothing to check for sqlhost01"},
		{"missing file", []string{"check", "sqlhost01", "--errorlog", filepath.Join(dir, "nope")}, "no such file"},
		{"directory", []string{"check", "sqlhost01", "--errorlog", dir}, "is a directory"},
		{"not a log", []string{"check", "sqlhost01", "--errorlog", notLog}, "not a SQL Server error log"},
		{"binary", []string{"check", "sqlhost01", "--errorlog", binary}, "blob.bin"},
		{"evtx", []string{"check", "sqlhost01", "--events", evtx}, "wevtutil"},
		{"events not xml", []string{"check", "sqlhost01", "--events", notLog}, "notes.txt"},
		{"bad config", []string{"check", "sqlhost01", "--config", badConfig}, "hots"},
		{"missing config", []string{"check", "sqlhost01", "--config", filepath.Join(dir, "none.yaml")}, "none.yaml"},
		{"host not in inventory", []string{"check", "sqlhost1", "--config", goodConfig}, "did you mean sqlhost01"},
		{"demo with an unknown scenario", []string{"demo", "extra"}, `demo has no scenario "extra"`},
		{"demo with two scenarios", []string{"demo", "local-security", "second-hop"}, "at most one SCENARIO"},
		{"version with arguments", []string{"version", "x"}, "no arguments"},
		{"missing ldif", []string{"check", "sqlhost01", "--ldif", filepath.Join(dir, "none.ldf")}, "no such file"},
		{"ldif not ldif", []string{"check", "sqlhost01", "--ldif", binary}, "blob.bin"},
		{"scan without kind", []string{"scan"}, "spn-duplicates"},
		{"scan without source", []string{"scan", "spn-duplicates"}, "--config FILE"},
		{"scan config without directory", []string{"scan", "spn-duplicates", "--config", goodConfig}, "no directory section"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, stdout, stderr := testEnv(nil)
			code := e.run(t.Context(), tt.args)
			if code != exitUnknown {
				t.Errorf("exit = %d; want 3", code)
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr = %q; want it to contain %q", stderr, tt.stderr)
			}
			if stdout.Len() > 0 {
				t.Errorf("stdout = %q; want nothing (no half-printed report)", stdout)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"help", "check"}, {"check", "--help"}, {"demo", "-h"}, {"version"}, {"help", "scan"}, {"scan", "spn-duplicates", "-h"}} {
		e, stdout, stderr := testEnv(nil)
		if code := e.run(t.Context(), args); code != exitOK {
			t.Errorf("%v: exit = %d; want 0; stderr %s", args, code, stderr)
		}
		if stdout.Len() == 0 {
			t.Errorf("%v printed nothing on stdout", args)
		}
	}
}

func TestNoColorOffTerminal(t *testing.T) {
	e, stdout, _ := testEnv(nil)
	e.run(t.Context(), []string{"demo"})
	if bytes.Contains(stdout.Bytes(), []byte("\x1b[")) {
		t.Errorf("colour codes written to a non-terminal")
	}
}

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"host", "--output", "json"}, "host"},
		{[]string{"--output", "json", "host"}, "host"},
		{[]string{"--output", "json", "--", "-host"}, "-host"},
		{[]string{"a", "--output", "json", "b"}, "a,b"},
	}
	for _, tt := range tests {
		var o checkOptions
		fs := newCheckFlags(&o, &bytes.Buffer{})
		got, err := parseInterspersed(fs, tt.args)
		if err != nil || strings.Join(got, ",") != tt.want || o.output != "json" {
			t.Errorf("parseInterspersed(%q) = %q, %v, output %q; want %q, json", tt.args, got, err, o.output, tt.want)
		}
	}
}

func findCause(rep triage.Report, id triage.CauseID) *triage.Finding {
	for i := range rep.Findings {
		if rep.Findings[i].Cause == id {
			return &rep.Findings[i]
		}
	}
	return nil
}

func hasEvidenceFrom(f triage.Finding, src triage.Source) bool {
	for _, e := range f.Evidence {
		if e.Source == src {
			return true
		}
	}
	return false
}

func countText(rep triage.Report, sub string) int {
	n := 0
	for _, f := range rep.Findings {
		for _, e := range f.Evidence {
			if strings.HasPrefix(e.Text, sub) {
				n += e.Count
			}
		}
	}
	return n
}

// TestCheckOfflineDirectory: with the target flags and an LDIF export alone, check
// reports the duplicate and the misplaced SPN with paste-ready commands.
func TestCheckOfflineDirectory(t *testing.T) {
	e, stdout, stderr := testEnv(nil)
	code := e.run(t.Context(), []string{"check", "sqlhost01.corp.example", "--port", "1433",
		"--service-account", `CORP\svc_sql01`, "--ldif", "../../internal/demo/sqlhost01/directory.ldf", "--output", "json"})
	if code != exitCritical {
		t.Fatalf("exit = %d; want 2; stderr:\n%s", code, stderr)
	}
	var rep triage.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	dup, wrong := findCause(rep, triage.SPNDuplicate), findCause(rep, triage.SPNWrongAccount)
	if dup == nil || wrong == nil {
		t.Fatalf("findings %s; want spn.duplicate and spn.wrong_account", stdout)
	}
	if got := dup.Remediation[0].Command; got != `setspn -D MSSQLSvc/sqlhost01.corp.example:1433 CORP\svc_sql01_old` {
		t.Errorf("duplicate fix = %q", got)
	}
	if got := wrong.Remediation[1].Command; got != `setspn -S MSSQLSvc/sqlhost01.corp.example CORP\svc_sql01` {
		t.Errorf("wrong-account fix = %q", got)
	}
}

func TestScanOffline(t *testing.T) {
	e, stdout, stderr := testEnv(nil)
	code := e.run(t.Context(), []string{"scan", "spn-duplicates", "--ldif", "../../internal/demo/sqlhost01/directory.ldf", "--output", "json"})
	if code != exitCritical {
		t.Fatalf("exit = %d; want 2; stderr:\n%s", code, stderr)
	}
	var got struct {
		Duplicates []struct {
			SPN    string
			Owners []struct{ Name string }
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Duplicates) != 1 || got.Duplicates[0].SPN != "MSSQLSvc/sqlhost01.corp.example:1433" || len(got.Duplicates[0].Owners) != 2 {
		t.Errorf("duplicates = %+v", got.Duplicates)
	}
}

// TestSinceBeyondTheAgent: an agent reads at most 90 days; asking a host it serves for
// more is a usage error here, not a report of the agent refusing.
func TestSinceBeyondTheAgent(t *testing.T) {
	dir := t.TempDir()
	if err := agent.GenerateCerts(dir, []string{"127.0.0.1"}, []string{"bot"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "bot.yaml")
	content := fmt.Sprintf("agents:\n  - name: east\n    url: https://127.0.0.1:1\n    cert_path: %s\n    key_path: %s\n    ca_path: %s\nhosts:\n  - name: sqlhost01\n    agent: east\n",
		filepath.Join(dir, "bot.pem"), filepath.Join(dir, "bot-key.pem"), filepath.Join(dir, "ca.pem"))
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	e, stdout, stderr := testEnv(nil)
	if code := e.run(t.Context(), []string{"check", "sqlhost01", "--config", cfg, "--since", "180d"}); code != exitUnknown {
		t.Errorf("exit = %d; want 3", code)
	}
	if !strings.Contains(stderr.String(), "longer than") || stdout.Len() > 0 {
		t.Errorf("stderr %q, stdout %q; want the limit explained and no report", stderr, stdout)
	}
}
