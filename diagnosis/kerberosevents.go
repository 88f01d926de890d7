package diagnosis

import (
	"fmt"
	"strings"

	"authtriage/triage"
)

// kerberosEventsRule reads client-side Kerberos events (System log of the SQL Server
// host or of a client that failed to connect) and the KDC's duplicate-name event about
// this host's MSSQLSvc SPNs: the SPN is not registered (3 with 0x7, 100), registered on
// several accounts (101, KDC 11), on the wrong account (4, KRB_AP_ERR_MODIFIED), the
// clocks differ (5, or 3 with 0x25), no common encryption type (3 with 0xe), or another
// KDC error. Events about other services' SPNs are ignored.
type kerberosEventsRule struct{}

func (kerberosEventsRule) Name() string { return "kerberos-events" }

func (kerberosEventsRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	n := namesFor(t, obs)
	byCause := map[triage.CauseID]*triage.Finding{}
	var order []triage.CauseID
	for _, e := range obs.Logs {
		if e.Source != triage.SourceEventlog {
			continue
		}
		cause, text, ok := kerberosEventCause(e, t)
		if !ok {
			continue
		}
		f := byCause[cause]
		if f == nil {
			nf := triage.NewFinding(cause, n.with(triage.PHSPN, e.SPN, triage.PHCode, describeKerberos(e.Code)))
			if cause == triage.SPNWrongAccount || cause == triage.SPNDuplicate {
				// The event does not name the account holding the SPN: find it first.
				find := triage.NewStep("Find the accounts that hold the SPN", setspn("-Q", triage.PHSPN), map[string]string{triage.PHSPN: e.SPN})
				nf.Remediation = append([]triage.Step{find}, nf.Remediation...)
			}
			f = &nf
			byCause[cause] = f
			order = append(order, cause)
		}
		f.Evidence = append(f.Evidence, e.Evidence(text))
	}
	var out []triage.Finding
	for _, c := range order {
		f := byCause[c]
		f.Summary = kerberosSummary(*f, t)
		out = append(out, *f)
	}
	return out
}

// kerberosEventCause maps one Kerberos or KDC event about the target's SPN to a cause.
func kerberosEventCause(e triage.LogEvent, t triage.Target) (triage.CauseID, string, bool) {
	p := strings.ToLower(strings.TrimPrefix(e.Provider, "Microsoft-Windows-"))
	kdc := p == "kerberos-key-distribution-center" || p == "kdc"
	if !isKerberosProvider(p) && !kdc {
		return "", "", false
	}
	if e.SPN == "" || !spnForHost(e.SPN, t) {
		return "", "", false
	}
	where := e.Where()
	switch {
	case kdc && e.ID == 11:
		return triage.SPNDuplicate, fmt.Sprintf("%s: the KDC found duplicate names for %s", where, e.SPN), true
	case e.ID == 101:
		return triage.SPNDuplicate, fmt.Sprintf("%s: %s is registered on more than one account", where, e.SPN), true
	case e.ID == 100:
		return triage.SPNMissing, fmt.Sprintf("%s: %s is not registered", where, e.SPN), true
	case e.ID == 4:
		return triage.SPNWrongAccount, fmt.Sprintf("%s: KRB_AP_ERR_MODIFIED for %s: the server could not decrypt the ticket (SPN on another account, or the service's password changed)", where, e.SPN), true
	case e.ID == 5:
		return triage.ClockSkew, fmt.Sprintf("%s: the ticket for %s was not yet valid (clock difference)", where, e.SPN), true
	case e.ID == 3:
		text := fmt.Sprintf("%s: the KDC answered %s for %s", where, describeKerberos(e.Code), e.SPN)
		switch kerberosCode(e.Code) {
		case 0x7:
			return triage.SPNMissing, text, true
		case 0x8:
			return triage.SPNDuplicate, text, true
		case 0x25, 0x21, 0xb:
			return triage.ClockSkew, text, true
		case 0xe:
			return triage.KerberosEtypeMismatch, text, true
		case 0x29:
			return triage.SPNWrongAccount, text, true
		case -1:
			return "", "", false
		}
		return triage.KerberosTicketFailed, text, true
	}
	return "", "", false
}

func kerberosSummary(f triage.Finding, t triage.Target) string {
	total := 0
	for _, e := range f.Evidence {
		total += e.Count
	}
	summary := f.Summary
	if f.Cause == triage.SPNWrongAccount {
		summary = "Clients got tickets the SQL Server service could not decrypt: its SPN is on another account, or the service account's password changed without a restart"
	}
	return fmt.Sprintf("%s (%s about %s's SPNs)", summary, plural(total, "Kerberos event"), t.Host)
}
