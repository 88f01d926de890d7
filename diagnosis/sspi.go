package diagnosis

import (
	"fmt"
	"strings"

	"authtriage/errorlog"
	"authtriage/triage"
)

// sspiRule explains 17806 "SSPI handshake failed" by its Windows error code, the
// seed article's case: 0x80090311 means no domain controller could be contacted
// (dc.unreachable), 0x80090304 that the Local Security Authority did not answer
// (lsa.unresponsive). Codes with a cause of their own map to it; the rest are
// sspi.handshake_failed with the code's meaning. Windows events that say the same
// (NETLOGON 5719, Kerberos 200, LsaSrv 40960, Kerberos errors with the same code,
// slow SSPI negotiation in 17830) are attached as corroboration, and the 18452
// "untrusted domain" failures clients were shown are attached to the main finding
// as its symptom rather than reported as a mystery of their own.
type sspiRule struct{}

func (sspiRule) Name() string { return "sspi" }

// sspiCause maps a 17806 error code to the cause it shows.
func sspiCause(code string) triage.CauseID {
	switch code {
	case "0x80090311":
		return triage.DCUnreachable
	case "0x80090304":
		return triage.LSAUnresponsive
	case "0x80090324":
		return triage.ClockSkew
	case "0x80090342":
		return triage.KerberosEtypeMismatch
	}
	return triage.SSPIHandshakeFailed
}

func (sspiRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	failures := sqlEvents(obs, errorlog.MsgSSPIHandshake)
	if len(failures) == 0 {
		return nil
	}
	n := namesFor(t, obs)
	order := []triage.CauseID{}
	byCause := map[triage.CauseID][]triage.LogEvent{}
	for _, e := range failures {
		c := sspiCause(e.Code)
		if _, seen := byCause[c]; !seen {
			order = append(order, c)
		}
		byCause[c] = append(byCause[c], e)
	}

	var out []triage.Finding
	for _, cause := range order {
		events := byCause[cause]
		codes := distinctCodes(events)
		f := triage.NewFinding(cause, n.with(triage.PHCode, describeSSPI(codes[0])))
		total, clients := 0, 0
		for _, e := range events {
			total += e.Count
			clients += clientCount(e)
			f.Evidence = append(f.Evidence, e.Evidence(sspiText(e)))
		}
		f.Summary = sspiSummary(cause, t, codes, total, clients, events)
		f.Evidence = append(f.Evidence, corroboration(cause, obs)...)
		out = append(out, f)
	}

	// Each 18452 goes with the finding of the 17806 it was written with; those the log
	// does not pair go with the finding resting on the most failures.
	symptoms := map[*triage.Finding]int{}
	for _, e := range sqlEvents(obs, errorlog.MsgUntrustedDomain) {
		f := mostEvidence(out)
		if e.Code != "" {
			for i := range out {
				if out[i].Cause == sspiCause(e.Code) {
					f = &out[i]
				}
			}
		}
		symptoms[f] += e.Count
		f.Evidence = append(f.Evidence, e.Evidence(
			"18452 Login failed: the login is from an untrusted domain (what clients were told when the SSPI handshake failed)"))
	}
	for i := range out {
		if n := symptoms[&out[i]]; n > 0 {
			out[i].Summary += fmt.Sprintf("; clients were told \"untrusted domain\" (18452) %s", timesWord(n))
		}
	}
	return out
}

// sqlEvents returns the groups of SQL Server message id. ERRORLOG entries are
// preferred; the Application event log repeats them, so its copies are used only when
// the ERRORLOG has none (for example, when only event exports were given).
func sqlEvents(obs triage.Observations, id int) []triage.LogEvent {
	var fromLog, fromEvents []triage.LogEvent
	for _, e := range obs.Logs {
		if e.ID != id {
			continue
		}
		switch {
		case e.Source == triage.SourceErrorlog:
			fromLog = append(fromLog, e)
		case e.Source == triage.SourceEventlog && isSQLProvider(e.Provider):
			fromEvents = append(fromEvents, e)
		}
	}
	if len(fromLog) > 0 {
		return fromLog
	}
	return fromEvents
}

// isSQLProvider reports whether an event provider is a SQL Server instance:
// MSSQLSERVER or MSSQL$NAME.
func isSQLProvider(p string) bool {
	return strings.EqualFold(p, "MSSQLSERVER") || (len(p) > 6 && strings.EqualFold(p[:6], "MSSQL$"))
}

func sspiText(e triage.LogEvent) string {
	s := "17806 SSPI handshake failed with " + describeSSPI(e.Code)
	if e.State >= 0 {
		s += fmt.Sprintf(", state %d", e.State)
	}
	if e.Source == triage.SourceEventlog {
		s += " (" + e.Where() + ")"
	}
	return s
}

func sspiSummary(cause triage.CauseID, t triage.Target, codes []string, total, clients int, events []triage.LogEvent) string {
	first, last := events[0].First, events[0].Last
	for _, e := range events[1:] {
		if e.First.Before(first) {
			first = e.First
		}
		if e.Last.After(last) {
			last = e.Last
		}
	}
	when := span(triage.LogEvent{Count: total, First: first, Last: last})
	who := ""
	if clients > 0 {
		who = " from " + plural(clients, "client")
	}
	logins := plural(total, "Windows login")
	host := t.Host
	switch cause {
	case triage.DCUnreachable:
		return fmt.Sprintf("%s to %s failed because SQL Server's host could not contact a domain controller (SSPI %s), %s%s",
			logins, host, strings.Join(codes, ", "), when, who)
	case triage.LSAUnresponsive:
		return fmt.Sprintf("%s to %s failed because the Local Security Authority on the host did not answer (SSPI %s), %s%s",
			logins, host, strings.Join(codes, ", "), when, who)
	case triage.ClockSkew:
		return fmt.Sprintf("%s to %s failed because client and server clocks differ too much (SSPI %s), %s%s",
			logins, host, strings.Join(codes, ", "), when, who)
	case triage.KerberosEtypeMismatch:
		return fmt.Sprintf("%s to %s failed because the KDC does not support the requested encryption type (SSPI %s), %s%s",
			logins, host, strings.Join(codes, ", "), when, who)
	}
	return fmt.Sprintf("%s to %s failed in the SSPI handshake with %s, %s%s",
		logins, host, describeCodes(codes), when, who)
}

func describeCodes(codes []string) string {
	out := make([]string, len(codes))
	for i, c := range codes {
		out[i] = describeSSPI(c)
	}
	return strings.Join(out, "; ")
}

// corroboration returns Windows event evidence that points at the same cause.
func corroboration(cause triage.CauseID, obs triage.Observations) []triage.Evidence {
	var out []triage.Evidence
	for _, e := range obs.Logs {
		if e.Source != triage.SourceEventlog || isSQLProvider(e.Provider) {
			continue
		}
		if text, c, ok := eventCause(e); ok && c == cause {
			out = append(out, e.Evidence(text))
		}
	}
	if cause == triage.LSAUnresponsive {
		for _, e := range sqlEvents(obs, errorlog.MsgLoginTimers) {
			if e.Millis >= slowSSPIMillis {
				out = append(out, e.Evidence(slowSSPIText(e)))
			}
		}
	}
	return out
}

// eventCause says which infrastructure cause a Windows event supports, for the events
// that speak of domain controller reachability or the LSA.
func eventCause(e triage.LogEvent) (text string, cause triage.CauseID, ok bool) {
	p := strings.ToLower(strings.TrimPrefix(e.Provider, "Microsoft-Windows-"))
	switch {
	case p == "netlogon" && (e.ID == 5719 || e.ID == 5721):
		return fmt.Sprintf("%s: the computer could not set up a secure session with a domain controller", e.Where()), triage.DCUnreachable, true
	case isKerberosProvider(p) && e.ID == 200:
		return fmt.Sprintf("%s: Kerberos could not locate a domain controller", e.Where()), triage.DCUnreachable, true
	case isKerberosProvider(p) && e.Code == "0x80090311":
		return fmt.Sprintf("%s: %s", e.Where(), describeSSPI(e.Code)), triage.DCUnreachable, true
	case isKerberosProvider(p) && e.Code == "0x80090304":
		return fmt.Sprintf("%s: %s", e.Where(), describeSSPI(e.Code)), triage.LSAUnresponsive, true
	case p == "lsasrv" && (e.ID == 40960 || e.ID == 40961):
		if e.Code == "0xc000005e" {
			return fmt.Sprintf("%s: authentication failed with STATUS_NO_LOGON_SERVERS (0xc000005e): no domain controller answered", e.Where()), triage.DCUnreachable, true
		}
		text := fmt.Sprintf("%s: the Security System detected an authentication error", e.Where())
		if e.Code != "" {
			text += " (" + e.Code + ")"
		}
		return text, triage.LSAUnresponsive, true
	}
	return "", "", false
}

func isKerberosProvider(p string) bool {
	return p == "security-kerberos" || p == "kerberos"
}

func distinctCodes(events []triage.LogEvent) []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range events {
		if !seen[e.Code] {
			seen[e.Code] = true
			out = append(out, e.Code)
		}
	}
	return out
}

// mostEvidence returns the finding resting on the most log entries.
func mostEvidence(fs []triage.Finding) *triage.Finding {
	best, bestN := &fs[0], -1
	for i := range fs {
		n := 0
		for _, e := range fs[i].Evidence {
			n += e.Count
		}
		if fs[i].Severity > best.Severity || (fs[i].Severity == best.Severity && n > bestN) {
			best, bestN = &fs[i], n
		}
	}
	return best
}

func timesWord(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}
