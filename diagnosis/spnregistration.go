package diagnosis

import (
	"cmp"
	"fmt"

	"github.com/authtriage/authtriage/triage"
)

// spnRegistrationRule reports SQL Server's failure to register its own SPNs at
// start-up (26037, 26067), with the SPN and the Windows return code explained. It is a
// warning: clients fall back to NTLM, or Kerberos works if the SPNs were registered by
// hand, which the directory checks confirm.
type spnRegistrationRule struct{}

func (spnRegistrationRule) Name() string { return "spn-registration" }

func (spnRegistrationRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	var failed []triage.LogEvent
	failed = append(failed, sqlEvents(obs, triage.Msg26067)...)
	failed = append(failed, sqlEvents(obs, triage.Msg26037)...)
	if len(failed) == 0 {
		return nil
	}
	n := namesFor(t, obs)
	var out []triage.Finding
	for _, e := range failed {
		spn := e.SPN
		if spn == "" {
			spn = n.vars[triage.PHSPN] // 26037 does not say which SPN
		}
		f := triage.NewFinding(triage.SPNRegistrationFailed, n.with(triage.PHSPN, spn))
		text := fmt.Sprintf("%d SQL Server could not register the SPN", e.ID)
		if e.SPN != "" {
			text += " " + e.SPN
		}
		text += ": Windows return code " + e.Code
		if why, ok := returnCodes[e.Code]; ok {
			text += " (" + why + ")"
		}
		if e.State >= 0 {
			text += fmt.Sprintf(", state %d", e.State)
		}
		f.Evidence = append(f.Evidence, e.Evidence(text))
		f.Summary = fmt.Sprintf("SQL Server on %s could not register %s at start-up (return code %s): Kerberos logins need it registered by hand, or they fall back to NTLM",
			t.Host, cmp.Or(e.SPN, "its SPN"), e.Code)
		if registeredByHand(obs.Directory) {
			f.Severity = triage.Info
			f.Summary = fmt.Sprintf("SQL Server on %s could not register %s at start-up (return code %s), but the directory has every required SPN on the service account, registered by hand: nothing to do",
				t.Host, cmp.Or(e.SPN, "its SPN"), e.Code)
			f.Remediation = nil
		}
		out = append(out, f)
	}
	return out
}

// registeredByHand reports whether the directory shows every required SPN registered
// once, on the service account.
func registeredByHand(d *triage.DirectoryFacts) bool {
	if d == nil || d.ServiceAccount == nil || len(d.SPNs) == 0 {
		return false
	}
	for _, so := range d.SPNs {
		if len(so.Owners) != 1 || !so.Owners[0].SameAs(*d.ServiceAccount) {
			return false
		}
	}
	return true
}
