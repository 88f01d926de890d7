package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// TestTextNamesTheAgent: a check a helper agent ran says which agent ran it.
func TestTextNamesTheAgent(t *testing.T) {
	rep := triage.Report{ID: "a9ent001", Host: "sqlhost01", Status: triage.StatusOK, StartedAt: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC),
		Findings: []triage.Finding{},
		Checks: []triage.CheckResult{
			{Name: "errorlog", Status: triage.CheckPass, Detail: "ERRORLOG: 3 entries", Agent: "agent-east"},
			{Name: "lsa", Status: triage.CheckPass, Agent: "agent-east"},
			{Name: "spn", Status: triage.CheckPass, Detail: "2 SPNs"},
		}}
	var b bytes.Buffer
	if err := Text(&b, rep, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"via agent agent-east: ERRORLOG: 3 entries", "lsa", "via agent agent-east\n", "2 SPNs\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "via agent agent-east: 2 SPNs") {
		t.Errorf("a local check names an agent:\n%s", out)
	}
}
