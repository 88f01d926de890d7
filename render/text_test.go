package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"authtriage/triage"
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
