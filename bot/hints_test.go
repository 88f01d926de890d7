package bot

import (
	"testing"

	"github.com/authtriage/authtriage/triage"
)

// TestInventoryHints: a check skipped for want of a source says what to add to the
// configuration; other checks are left as they are.
func TestInventoryHints(t *testing.T) {
	rep := triage.Report{Checks: []triage.CheckResult{
		{Name: "errorlog", Status: triage.CheckSkipped, Detail: "no ERRORLOG source for h", Missing: triage.MissingErrorLog},
		{Name: "spn", Status: triage.CheckSkipped, Detail: "no directory source", Missing: triage.MissingDirectory},
		{Name: "lsa", Status: triage.CheckSkipped, Detail: "the LSA is probed by an agent on the host"},
		{Name: "dc", Status: triage.CheckPass, Detail: "dc1 answered"},
	}}
	addInventoryHints(&rep)
	want := []string{
		"no ERRORLOG source for h; add errorlog: PATH (or agent: NAME) to the host's inventory entry",
		"no directory source; add a directory section to the bot's configuration",
		"the LSA is probed by an agent on the host",
		"dc1 answered",
	}
	for i, w := range want {
		if got := rep.Checks[i].Detail; got != w {
			t.Errorf("%s: %q, want %q", rep.Checks[i].Name, got, w)
		}
	}
	for _, m := range []triage.Missing{triage.MissingErrorLog, triage.MissingEventLog, triage.MissingDirectory,
		triage.MissingKerberos, triage.MissingFQDN, triage.MissingServiceAccount} {
		if inventoryHint(m) == "" {
			t.Errorf("no hint for %s", m)
		}
	}
}
