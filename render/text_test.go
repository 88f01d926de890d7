package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/triage"
)

func TestEvidenceFacts(t *testing.T) {
	est := time.FixedZone("", -5*3600)
	t1 := time.Date(2026, 11, 24, 9, 14, 2, 0, est)
	tests := []struct {
		name string
		e    triage.Evidence
		want string
	}{
		{"single", triage.Evidence{Time: t1, Count: 1}, "at 2026-11-24 09:14:02 -05:00"},
		{"group on one day", triage.Evidence{First: t1, Time: t1.Add(time.Hour), Count: 3},
			"3 times from 2026-11-24 09:14:02 to 10:14:02 -05:00"},
		{"group over midnight", triage.Evidence{First: t1, Time: t1.Add(20 * time.Hour), Count: 3},
			"3 times from 2026-11-24 09:14:02 -05:00 to 2026-11-25 05:14:02 -05:00"},
		{"clients beyond five", triage.Evidence{Time: t1, Count: 1, Clients: []string{"a", "b", "c", "d", "e", "f"}, MoreClients: 4},
			"at 2026-11-24 09:14:02 -05:00; clients a, b, c, d, e and 5 more"},
		{"UTC event shown in the host's zone", triage.Evidence{Time: t1.UTC(), Count: 1}, "at 2026-11-24 09:14:02 -05:00"},
		{"no time", triage.Evidence{}, ""},
	}
	for _, tt := range tests {
		if got := evidenceFacts(tt.e, est); got != tt.want {
			t.Errorf("%s: evidenceFacts = %q; want %q", tt.name, got, tt.want)
		}
	}
}

func TestTextColour(t *testing.T) {
	rep := triage.Report{ID: "x", Host: "h", Status: triage.StatusCritical,
		Findings: []triage.Finding{triage.NewFinding(triage.SPNMissing, nil)}}
	var plain, colour bytes.Buffer
	if err := Text(&plain, rep, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Text(&colour, rep, TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "\x1b[") {
		t.Errorf("plain output has escape codes")
	}
	if !strings.Contains(colour.String(), "\x1b[1;31mCRITICAL\x1b[0m") {
		t.Errorf("colour output lacks a red CRITICAL:\n%q", colour.String())
	}
	if !strings.HasPrefix(plain.String(), "CRITICAL  h  1 critical") {
		t.Errorf("first line is not the verdict:\n%s", plain.String())
	}
}

func TestTextSaysWhatCouldNotRun(t *testing.T) {
	rep := triage.Report{ID: "x", Host: "h", Status: triage.StatusUnknown,
		Checks: []triage.CheckResult{{Name: "errorlog", Status: triage.CheckError, Detail: "read ERRORLOG.1: permission denied"}}}
	var b bytes.Buffer
	if err := Text(&b, rep, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Incomplete: check errorlog could not run: read ERRORLOG.1: permission denied") {
		t.Errorf("output does not say which check could not run:\n%s", b.String())
	}
}

func TestTextGroupsChecksThatFailedAlike(t *testing.T) {
	why := "agent east did not answer: connection refused"
	rep := triage.Report{ID: "x", Host: "h", Status: triage.StatusUnknown, Checks: []triage.CheckResult{
		{Name: "spn", Status: triage.CheckError, Detail: why},
		{Name: "dns", Status: triage.CheckError, Detail: why},
		{Name: "clock", Status: triage.CheckError, Detail: "timed out"},
	}}
	var b bytes.Buffer
	if err := Text(&b, rep, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "Incomplete: checks spn, dns could not run: "+why+"\n") ||
		!strings.Contains(out, "Incomplete: check clock could not run: timed out\n") {
		t.Errorf("output does not group the failures by reason:\n%s", out)
	}
}

// TestTextCheckWords: a check that found something wrong reads "problem" in the text
// report, so that nobody takes it for a check that could not run ("error"); the
// JSON report keeps the contract's "fail".
func TestTextCheckWords(t *testing.T) {
	rep := triage.Report{ID: "x", Host: "h", Status: triage.StatusCritical, Checks: []triage.CheckResult{
		{Name: "spn", Status: triage.CheckFail, Detail: "duplicate"},
		{Name: "dns", Status: triage.CheckError, Detail: "timed out"},
		{Name: "clock", Status: triage.CheckPass},
	}}
	var text, js bytes.Buffer
	if err := Text(&text, rep, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := JSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Checks (problem: it found something wrong; error: it could not run):\n",
		"  problem  spn ", "  error    dns ", "  pass     clock ",
	} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	if strings.Contains(text.String(), "fail") {
		t.Errorf("text says fail:\n%s", text.String())
	}
	if !strings.Contains(js.String(), `"status": "fail"`) {
		t.Errorf("JSON lost the contract's fail:\n%s", js.String())
	}
}

// TestTextTimesLabelled: the report's start is shown in the checker's zone (or the
// one asked for), labelled, and a line says whose clock the evidence's times are.
func TestTextTimesLabelled(t *testing.T) {
	est := time.FixedZone("", -5*3600)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no time zone database here: %v", err)
	}
	started := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)
	rep := triage.Report{ID: "x", Host: "sqlhost01", Status: triage.StatusCritical, StartedAt: started,
		Findings: []triage.Finding{{Cause: triage.SPNMissing, Severity: triage.Critical, Summary: "s",
			Evidence: []triage.Evidence{{Source: triage.SourceErrorlog, Text: "17806", Time: time.Date(2026, 11, 24, 9, 14, 2, 0, est), Count: 1}}}}}
	tests := []struct {
		name string
		zone *time.Location
		rep  triage.Report
		want []string
	}{
		{"UTC", nil, rep, []string{"started 2026-11-24 15:00:00 UTC, took 0s)", "Evidence times are sqlhost01's (UTC-05:00), as its ERRORLOG shows them.\n", "at 2026-11-24 09:14:02 -05:00"}},
		{"configured zone", berlin, rep, []string{"started 2026-11-24 16:00:00 +01:00 Europe/Berlin, took 0s)"}},
		{"local", time.Local, rep, []string{" local time, took 0s)"}},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := Text(&b, tt.rep, TextOptions{Zone: tt.zone}); err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s: output lacks %q:\n%s", tt.name, w, b.String())
			}
		}
	}
	eventOnly := rep
	eventOnly.Findings = []triage.Finding{{Cause: triage.SPNMissing, Severity: triage.Critical, Summary: "s",
		Evidence: []triage.Evidence{{Source: triage.SourceEventlog, Text: "5719", Time: started, Count: 1}}}}
	var b bytes.Buffer
	if err := Text(&b, eventOnly, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "Evidence times are UTC.\n") {
		t.Errorf("event-log evidence alone is not labelled UTC:\n%s", b.String())
	}
}

func TestCountBySeverityPlural(t *testing.T) {
	for _, tt := range []struct {
		fs   []triage.Finding
		want string
	}{
		{nil, "no findings"},
		{[]triage.Finding{{Severity: triage.Severity(99)}}, "1 finding"},
		{[]triage.Finding{{Severity: triage.Severity(99)}, {Severity: triage.Severity(99)}}, "2 findings"},
		{[]triage.Finding{{Severity: triage.Critical}}, "1 critical"},
	} {
		if got := CountBySeverity(tt.fs); got != tt.want {
			t.Errorf("CountBySeverity(%d findings) = %q; want %q", len(tt.fs), got, tt.want)
		}
	}
}
