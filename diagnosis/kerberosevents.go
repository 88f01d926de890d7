package diagnosis

import (
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// kerberosEventsRule reads client-side Kerberos events (System log of the SQL Server
// host or of a client that failed to connect, or their Kerberos Operational log), the
// KDC's duplicate-name event and LsaSrv's authentication errors about this host's
// MSSQLSvc SPNs, and classifies each by the Kerberos error code it carries (triage's
// table): not registered (0x7), registered on several accounts (0x8, KDC 11), on the
// wrong account (4, KRB_AP_ERR_MODIFIED), the clocks differ (5, 0x25), no common
// encryption type (0xe), or another refusal. LsaSrv 40960 counts only with the status
// the Kerberos troubleshooting guide shows for an SPN no account holds (0xc000018b);
// 40961 naming the SPN is attached as context. Events about other services' SPNs are
// ignored.
type kerberosEventsRule struct{}

func (kerberosEventsRule) Name() string { return "kerberos-events" }

func (kerberosEventsRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	n := namesFor(t, obs)
	byCause := map[triage.CauseID]*triage.Finding{}
	var order []triage.CauseID
	var context []triage.Evidence
	for _, e := range obs.Logs {
		if e.Source != triage.SourceEventlog {
			continue
		}
		if text, ok := lsaContext(e, t); ok {
			context = append(context, e.Evidence(text))
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
		f.Evidence = append(f.Evidence, context...)
		out = append(out, *f)
	}
	return out
}

// kerberosEventCause maps one Kerberos, KDC or LsaSrv event about the target's SPN to
// a cause.
//
// Microsoft documents no Kerberos event 100 or 101 (nothing found in its pages); they
// are classified by their Kerberos error code alone, and the evidence says so.
// 0xc000018b is what "klist get" reports when no account has the SPN ("Kerberos
// authentication troubleshooting guidance"); LsaSrv 40960 carrying it for this
// host's SPN is read the same way. Other statuses of 40960 have no published meaning
// and are left out (those of an unreachable domain controller are eventCause's).
func kerberosEventCause(e triage.LogEvent, t triage.Target) (triage.CauseID, string, bool) {
	p := strings.ToLower(strings.TrimPrefix(e.Provider, "Microsoft-Windows-"))
	kdc := p == "kerberos-key-distribution-center" || p == "kdc"
	lsa := p == "lsasrv"
	if !isKerberosProvider(p) && !kdc && !lsa {
		return "", "", false
	}
	if e.SPN == "" || !spnForHost(e.SPN, t) {
		return "", "", false
	}
	where := e.Where()
	switch {
	case kdc && e.ID == 11:
		return triage.SPNDuplicate, fmt.Sprintf("%s: the KDC found duplicate names for %s", where, e.SPN), true
	case lsa && e.ID == 40960 && e.Code == "0xc000018b":
		return triage.SPNMissing, fmt.Sprintf("%s: Kerberos authentication to %s failed with 0xc000018b, the status klist get reports when no account has the SPN (Kerberos authentication troubleshooting guidance; Microsoft publishes no page for LsaSrv 40960)", where, e.SPN), true
	case lsa || kdc:
		return "", "", false
	case e.ID == 100 || e.ID == 101:
		cause, ok := kerberosCodeCause(kerberosCode(e.Code))
		if !ok {
			return "", "", false
		}
		return cause, fmt.Sprintf("%s: Kerberos error %s for %s (event %d is not documented by Microsoft: only its error code is read)", where, describeKerberos(e.Code), e.SPN, e.ID), true
	case e.ID == 4:
		return triage.SPNWrongAccount, fmt.Sprintf("%s: %s, for %s", where, describeKerberos("0x29"), e.SPN), true
	case e.ID == 5:
		return triage.ClockSkew, fmt.Sprintf("%s: %s, for %s", where, describeKerberos("0x21"), e.SPN), true
	case e.ID == 3:
		cause, ok := kerberosCodeCause(kerberosCode(e.Code))
		if !ok {
			return "", "", false
		}
		return cause, fmt.Sprintf("%s: the KDC answered %s for %s", where, describeKerberos(e.Code), e.SPN), true
	}
	return "", "", false
}

// kerberosCodeCause maps a KRB-ERROR code (triage's table) to the cause it shows.
// 0x19 KDC_ERR_PREAUTH_REQUIRED is a normal first answer (event 4768's table: "the
// error can be ignored"), and -1 no Kerberos code at all: neither is a cause.
func kerberosCodeCause(code int) (triage.CauseID, bool) {
	switch code {
	case -1, 0x19:
		return "", false
	case 0x7:
		return triage.SPNMissing, true
	case 0x8:
		return triage.SPNDuplicate, true
	case 0x25, 0x21, 0xb:
		return triage.ClockSkew, true
	case 0xe:
		return triage.KerberosEtypeMismatch, true
	case 0x29:
		return triage.SPNWrongAccount, true
	}
	return triage.KerberosTicketFailed, true
}

// lsaContext returns the evidence text of an LsaSrv 40961 naming one of the target's
// MSSQLSvc SPNs, which supports a Kerberos finding about them but shows no cause.
func lsaContext(e triage.LogEvent, t triage.Target) (string, bool) {
	p := strings.ToLower(strings.TrimPrefix(e.Provider, "Microsoft-Windows-"))
	if p != "lsasrv" || e.ID != 40961 || e.SPN == "" || !spnForHost(e.SPN, t) {
		return "", false
	}
	return fmt.Sprintf("%s: no authentication protocol was available to reach %s (the event's own words; Microsoft publishes no page for LsaSrv 40961)", e.Where(), e.SPN), true
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
	return fmt.Sprintf("%s (%s about %s's SPNs)", summary, human.Count(total, "Kerberos event", "Kerberos events"), t.Host)
}
