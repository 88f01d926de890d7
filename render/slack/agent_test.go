package slackrender

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// TestThreadNamesTheAgent: the checks reply and the Markdown report say which helper
// agent ran a check.
func TestThreadNamesTheAgent(t *testing.T) {
	rep := triage.Report{ID: "a9ent001", Host: "sqlhost01", Status: triage.StatusOK, StartedAt: started, Duration: time.Second,
		Findings: []triage.Finding{},
		Checks: []triage.CheckResult{
			{Name: "errorlog", Status: triage.CheckPass, Detail: "ERRORLOG: 3 entries", Agent: "agent-east"},
			{Name: "spn", Status: triage.CheckPass, Detail: "2 SPNs"},
		}}
	msgs, err := Thread(rep, ThreadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(msgs)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "via agent agent-east") {
		t.Errorf("thread does not name the agent:\n%s", raw)
	}
	if md := Markdown(rep); !strings.Contains(md, "via agent agent-east: ERRORLOG: 3 entries") || strings.Contains(md, "via agent agent-east: 2 SPNs") {
		t.Errorf("Markdown names the agent wrongly:\n%s", md)
	}
}
