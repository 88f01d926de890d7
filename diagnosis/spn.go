package diagnosis

import (
	"fmt"
	"strings"

	"authtriage/triage"
)

// spnRule compares the owners of each required MSSQLSvc SPN, as the global catalog
// answers setspn -Q across the forest, with the account SQL Server runs as: no owner is
// spn.missing, several are spn.duplicate, one other than the service account is
// spn.wrong_account. Accounts are compared by SID or DN, never by name. A ticket request
// that failed for the same SPN is attached as corroboration.
type spnRule struct{}

func (spnRule) Name() string { return "spn" }

func (spnRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	d := obs.Directory
	if d == nil || len(d.SPNs) == 0 {
		return nil
	}
	n := namesFor(t, obs)
	owner := d.ServiceAccount
	want := n.vars[triage.PHAccount]
	if owner != nil {
		want = owner.Name()
	}
	var out []triage.Finding
	for _, so := range d.SPNs {
		vars := n.with(triage.PHSPN, so.SPN, triage.PHAccount, want)
		switch {
		case len(so.Owners) == 0:
			f := triage.NewFinding(triage.SPNMissing, vars)
			f.Evidence = append(f.Evidence, triage.Evidence{Check: "spn", Source: triage.SourceDirectory,
				Text: fmt.Sprintf("setspn -Q %s: no account in the forest has this SPN", so.SPN)})
			f.Evidence = append(f.Evidence, ticketEvidence(d, so.SPN)...)
			if want == "" {
				f.Summary += "; the service account is not known, so give it to have the exact command"
			} else {
				f.Summary = fmt.Sprintf("%s is not registered on any account; clients fall back to NTLM or fail. It belongs on %s", so.SPN, want)
			}
			out = append(out, f)
		case len(so.Owners) > 1:
			f := triage.NewFinding(triage.SPNDuplicate, vars)
			f.Remediation = nil
			var names []string
			held := false
			for _, o := range so.Owners {
				names = append(names, o.Name())
				if owner != nil && o.SameAs(*owner) {
					held = true
				}
			}
			switch {
			case owner == nil:
				// Without the service account, no -D can be told safe.
				f.Remediation = []triage.Step{{Text: fmt.Sprintf("Find the account SQL Server runs as (SQL Server Configuration Manager, or sys.dm_server_services), keep the SPN on it and remove it from the others (setspn -D %s DOMAIN\\account): it is on %s", so.SPN, strings.Join(names, ", "))}}
			default:
				for _, o := range so.Owners {
					if !o.SameAs(*owner) {
						f.Remediation = append(f.Remediation, triage.Step{
							Text:    fmt.Sprintf("Remove the SPN from %s (%s)", o.Name(), o.DN),
							Command: fmt.Sprintf("setspn -D %s %s", so.SPN, o.Name())})
					}
				}
				if !held {
					f.Remediation = append(f.Remediation, triage.Step{
						Text:    "Register it on the service account, which holds none of the copies",
						Command: fmt.Sprintf("setspn -S %s %s", so.SPN, want)})
				}
			}
			f.Evidence = append(f.Evidence, triage.Evidence{Check: "spn", Source: triage.SourceDirectory,
				Text: fmt.Sprintf("setspn -Q %s: registered on %d accounts: %s", so.SPN, len(so.Owners), strings.Join(names, ", "))})
			f.Evidence = append(f.Evidence, ticketEvidence(d, so.SPN)...)
			f.Summary = fmt.Sprintf("%s is registered on %d accounts (%s): the KDC cannot tell which key to use", so.SPN, len(so.Owners), strings.Join(names, ", "))
			out = append(out, f)
		case owner != nil && !so.Owners[0].SameAs(*owner):
			wrong := so.Owners[0].Name()
			f := triage.NewFinding(triage.SPNWrongAccount, n.with(triage.PHSPN, so.SPN, triage.PHAccount, want, triage.PHWrong, wrong))
			f.Evidence = append(f.Evidence, triage.Evidence{Check: "spn", Source: triage.SourceDirectory,
				Text: fmt.Sprintf("setspn -Q %s: registered on %s (%s), but SQL Server runs as %s (%s)", so.SPN, wrong, so.Owners[0].DN, want, owner.DN)})
			out = append(out, f)
		}
	}
	return out
}

// ticketEvidence returns the failed ticket request for spn, if the KDC was asked.
func ticketEvidence(d *triage.DirectoryFacts, spn string) []triage.Evidence {
	for _, tr := range d.Tickets {
		if !tr.OK && strings.EqualFold(tr.SPN, spn) {
			return []triage.Evidence{{Check: "kerberos", Source: triage.SourceKerberos,
				Text: fmt.Sprintf("klist get %s: %s", spn, ticketError(tr))}}
		}
	}
	return nil
}

func ticketError(tr triage.TicketResult) string {
	if tr.Code != 0 {
		return describeKerberos(fmt.Sprintf("0x%x", tr.Code))
	}
	return tr.Err
}
