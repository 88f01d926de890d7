package diagnosis

import (
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// spnRule compares the owners of each required MSSQLSvc SPN, as the global catalog
// answers setspn -Q across the forest, with the account SQL Server runs as: no owner is
// spn.missing, several are spn.duplicate, one other than the service account is
// spn.wrong_account. The account SQL Server runs as is the one it reports when that is
// not the configured one (runAsOf). Accounts are compared by SID or DN; by name only
// when the account SQL Server reports was not read from the directory, and then only
// names that cannot be the same account count as another (ownerIs). A missing SPN that
// TCP clients ask for is critical; a missing Named Pipes and Shared Memory form alone
// is a warning. A ticket request that failed for the same SPN is attached as
// corroboration. An SPN whose fault another rule reports (reportedElsewhere: an old
// port's SPN, a cluster node's, an alias's) is left to that rule.
type spnRule struct{}

func (spnRule) Name() string { return "spn" }

func (spnRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	d := obs.Directory
	if d == nil || len(d.SPNs) == 0 {
		return nil
	}
	n := namesFor(t, obs)
	run := runAsOf(t, obs)
	owner := run.object
	want := n.vars[triage.PHAccount]
	if owner != nil {
		want = owner.Name()
	}
	var out []triage.Finding
	for _, so := range d.SPNs {
		if reportedElsewhere(t, obs, so) {
			continue
		}
		vars := n.with(triage.PHSPN, so.SPN, triage.PHAccount, want)
		switch {
		case len(so.Owners) == 0:
			f := triage.NewFinding(triage.SPNMissing, vars)
			f.Evidence = append(f.Evidence, triage.Evidence{Check: "spn", Source: triage.SourceDirectory,
				Text: fmt.Sprintf("setspn -Q %s: no account in the forest has this SPN", so.SPN)})
			f.Evidence = append(f.Evidence, ticketEvidence(d, so.SPN)...)
			f.Evidence = append(f.Evidence, missingSPNConnections(t, obs, so.SPN)...)
			switch {
			case t.TransportOf(so.SPN) == triage.TransportPipes:
				// "Register a Service Principal Name for Kerberos Connections", Client
				// Connections: TCP clients ask for MSSQLSvc/FQDN:PORT, named and default
				// instances alike; MSSQLSvc/FQDN:INSTANCE (named) and MSSQLSvc/FQDN
				// (default) serve Named Pipes and Shared Memory only. Its Authentication
				// Defaults: when "the SPN lookup fails", connections use NTLM.
				// https://learn.microsoft.com/sql/database-engine/configure-windows/register-a-service-principal-name-for-kerberos-connections
				f.Severity = triage.Warning
				f.Summary = fmt.Sprintf("%s is not registered on any account: only Named Pipes and Shared Memory clients are affected (they fall back to NTLM, or fail where NTLM is refused); TCP clients ask for MSSQLSvc/FQDN:PORT", so.SPN)
				if want == "" {
					f.Summary += "; the service account is not known, so give it to have the exact command"
				} else {
					f.Summary += fmt.Sprintf(". It belongs on %s", want)
				}
			case want == "":
				f.Summary += "; the service account is not known, so give it to have the exact command"
			default:
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
				// Without the service account, no -D can be told safe: the text shows
				// the command's form, with the SPN quoted as the command would have it.
				how := ""
				if example, err := setspn("-D", triage.PHSPN, triage.PHWrong).Render(map[string]string{triage.PHSPN: so.SPN, triage.PHWrong: `DOMAIN\account`}); err == nil {
					how = " (" + example + ")"
				}
				f.Remediation = []triage.Step{{Text: fmt.Sprintf("Find the account SQL Server runs as (SQL Server Configuration Manager, or sys.dm_server_services), keep the SPN on it and remove it from the others%s: it is on %s", how, strings.Join(names, ", "))}}
			default:
				for _, o := range so.Owners {
					if !o.SameAs(*owner) {
						f.Remediation = append(f.Remediation, triage.NewStep(
							fmt.Sprintf("Remove the SPN from %s (%s)", o.Name(), o.DN),
							setspn("-D", triage.PHSPN, triage.PHWrong), map[string]string{triage.PHSPN: so.SPN, triage.PHWrong: o.Name()}))
					}
				}
				if !held {
					f.Remediation = append(f.Remediation, triage.NewStep(
						"Register it on the service account, which holds none of the copies",
						setspn("-S", triage.PHSPN, triage.PHAccount), map[string]string{triage.PHSPN: so.SPN, triage.PHAccount: want}))
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
		case owner == nil && want != "" && ownerIs(so.Owners[0], run.reported, t) == differentAccounts:
			// The account SQL Server says it runs as was not read from the directory:
			// compared by name, and only when the names cannot be the same account. A
			// configured name alone is not enough: it may be the one that is wrong.
			wrong := so.Owners[0].Name()
			f := triage.NewFinding(triage.SPNWrongAccount, n.with(triage.PHSPN, so.SPN, triage.PHAccount, want, triage.PHWrong, wrong))
			f.Evidence = append(f.Evidence, triage.Evidence{Check: "spn", Source: triage.SourceDirectory,
				Text: fmt.Sprintf("setspn -Q %s: registered on %s (%s), but SQL Server runs as %s (by name: that account was not read from the directory)", so.SPN, wrong, so.Owners[0].DN, want)})
			out = append(out, f)
		}
	}
	return out
}

// reportedElsewhere reports whether another rule reports the fault of so, a required
// SPN, so that one fault gives one finding: the SPN of the current port missing while
// an old port's is registered (stalePortRule), a clustered instance's SPN on a node
// (clusterRule), the canonical name's SPN missing while an alias's is registered
// (aliasRule).
func reportedElsewhere(t triage.Target, obs triage.Observations, so triage.SPNOwners) bool {
	return (len(so.Owners) == 0 && staleReported(t, obs, so.SPN)) || clusterReported(t, obs, so) || aliasReported(t, obs, so)
}

// setspn returns the setspn command with switch flag (-S registers an SPN after
// checking for duplicates, -D deletes it, -Q finds its owners) and the slots that
// follow it ("setspn", https://learn.microsoft.com/windows-server/administration/windows-commands/setspn).
func setspn(flag string, slots ...string) triage.Command {
	args := []triage.Arg{triage.Lit(flag)}
	for _, ph := range slots {
		args = append(args, triage.Slot(ph))
	}
	return triage.NewCommand(triage.ShellPowerShell, "setspn", args...)
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

// ownerIs tells whether the directory object o is the account SQL Server runs as,
// named account: the computer account for a virtual account, LocalSystem or
// NetworkService, else by the names of o (accountNamed).
func ownerIs(o triage.Account, account string, t triage.Target) sameness {
	switch {
	case account == "":
		return cannotTell
	case isComputer(account, t):
		if strings.EqualFold(o.SAMAccountName, t.ComputerAccount()) {
			return sameAccount
		}
		return differentAccounts
	}
	return namedBy(o, account)
}
