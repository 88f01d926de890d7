package diagnosis

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// sspiRule explains 17806 "SSPI handshake failed" by its Windows error code, the
// seed article's case: 0x80090311 means no domain controller could be contacted
// (dc.unreachable), 0x80090304 that the Local Security Authority did not answer
// (lsa.unresponsive). Codes with a cause of their own map to it; the rest are
// sspi.handshake_failed with the code's meaning. Windows events that say the same
// (NETLOGON 5719, Kerberos 200, LsaSrv 40960 with STATUS_NO_LOGON_SERVERS, Kerberos
// errors with the same code, slow SSPI negotiation in 17830) are attached as
// corroboration, and the 18452 "untrusted domain" failures clients were shown are
// attached to the finding of the 17806 beside them as its symptom rather than
// reported as a mystery of their own. Where Microsoft's pages add a note to a code's
// meaning (triage.SSPIStatus.Note), the summary carries it.
type sspiRule struct{}

func (sspiRule) Name() string { return "sspi" }

// sspiCause maps a 17806 error code to the cause it shows by itself. The meanings
// are triage's SSPI table's; 0x8009030C SEC_E_LOGON_DENIED has a cause of its own
// (sspi.logon_denied), though Microsoft publishes no explanation of it beyond "The
// logon failed." (AcceptSecurityContext).
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
	case "0x8009030c":
		return triage.SSPILogonDenied
	}
	return triage.SSPIHandshakeFailed
}

// sspiCauseIn maps a 17806 error code to its cause given the rest of the evidence:
// 0x80090311 is a broken secure channel, not an unreachable domain controller, when
// the event logs show a domain controller refusing the host's secure channel
// (NETLOGON 5721 or 3210): "AcceptSecurityContext (CredSSP) function" lists "The
// trust relationship has failed" among the conditions of
// SEC_E_NO_AUTHENTICATING_AUTHORITY, and there a domain controller did answer.
func sspiCauseIn(code string, t triage.Target, obs triage.Observations) triage.CauseID {
	c := sspiCause(code)
	if c == triage.DCUnreachable {
		if _, shown := eventEvidence(triage.SecureChannelBroken, t, obs); shown {
			return triage.SecureChannelBroken
		}
	}
	return c
}

func (sspiRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	failures := sspiFailures(obs)
	if len(failures) == 0 {
		return nil
	}
	n := namesFor(t, obs)
	order := []triage.CauseID{}
	byCause := map[triage.CauseID][]triage.LogEvent{}
	for _, e := range failures {
		c := sspiCauseIn(e.Code, t, obs)
		if _, seen := byCause[c]; !seen {
			order = append(order, c)
		}
		byCause[c] = append(byCause[c], e)
	}

	var out []triage.Finding
	for _, cause := range order {
		events := byCause[cause]
		codes := distinctCodes(events)
		vars := n.with(triage.PHCode, describeSSPI(codes[0]))
		if cause == triage.SecureChannelBroken {
			// The NETLOGON events attached as corroboration name the DC that refused it.
			vars[triage.PHDC] = namedDC(cause, t, obs)
		}
		f := triage.NewFinding(cause, vars)
		total, clients := 0, 0
		for _, e := range events {
			total += e.Count
			clients += clientCount(e)
			f.Evidence = append(f.Evidence, e.Evidence(sspiText(e)))
		}
		f.Summary = sspiSummary(cause, t, codes, total, clients, events)
		f.Evidence = append(f.Evidence, corroboration(cause, t, obs)...)
		f.Summary += codeNotes(codes)
		if slices.Contains(codes, "0x80090350") {
			// SEC_E_DOWNGRADE_DETECTED: the localized SSPI Status Codes pages note
			// that no reachable domain controller can be all it means.
			dc := dcReachEvidence(t, obs)
			f.Evidence = append(f.Evidence, dc...)
			if len(dc) > 0 {
				f.Summary += fmt.Sprintf("; here the evidence does show domain controllers not reached (%s below)", human.Count(len(dc), "item", "items"))
			} else {
				f.Summary += "; nothing in the evidence shows a domain controller not reached"
			}
		}
		out = append(out, f)
	}

	// Each 18452 goes with the finding of the 17806 it was written with; those the log
	// does not pair go with the finding resting on the most failures.
	symptoms := map[*triage.Finding]int{}
	for _, e := range sqlEvents(obs, triage.Msg18452) {
		f := mostEvidence(out)
		if e.Code != "" {
			for i := range out {
				if out[i].Cause == sspiCauseIn(e.Code, t, obs) {
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
	if e.Log == ringSecurityError {
		return e.Text // a ring buffer's security error (ringSSPIEvents)
	}
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
	when := spanAll(events, total)
	who := ""
	if clients > 0 {
		who = " from " + human.Count(clients, "client", "clients")
	}
	logins := human.Count(total, "Windows login", "Windows logins")
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
	case triage.SSPILogonDenied:
		return fmt.Sprintf("%s to %s failed because Windows on the host refused the clients' logon during the SSPI handshake (%s), %s%s",
			logins, host, describeCodes(codes), when, who)
	case triage.SecureChannelBroken:
		return fmt.Sprintf("%s to %s failed because a domain controller refused the host's secure channel (SSPI %s, whose causes include a failed trust relationship; NETLOGON events below), %s%s",
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

// codeNotes returns "; about SEC_E_X: note" for each code whose meaning triage's
// table qualifies with a note (sources that disagree, or what the code often means in
// the field), or "".
func codeNotes(codes []string) string {
	var b strings.Builder
	for _, c := range codes {
		if s, ok := triage.SSPIStatusFor(c); ok && s.Note != "" {
			fmt.Fprintf(&b, "; about %s: %s", s.Symbol, s.Note)
		}
	}
	return b.String()
}

// dcReachEvidence returns what the evidence says of domain controllers not reached:
// the event-log entries that show it and the domain controllers the dc check could
// not reach.
func dcReachEvidence(t triage.Target, obs triage.Observations) []triage.Evidence {
	out, _ := eventEvidence(triage.DCUnreachable, t, obs)
	if d := obs.Directory; d != nil {
		for _, dc := range d.DCs {
			switch {
			case dc.Err != "":
				out = append(out, triage.Evidence{Check: "dc", Source: triage.SourceDirectory,
					Text: fmt.Sprintf("%s (%s): LDAP: %s", dc.Address, dc.Via, dc.Err)})
			case dc.KDCError != "":
				out = append(out, triage.Evidence{Check: "dc", Source: triage.SourceDirectory,
					Text: fmt.Sprintf("%s (%s): Kerberos port: %s", dc.Address, dc.Via, dc.KDCError)})
			}
		}
	}
	return out
}

// corroboration returns the Windows events that point at cause, the ring buffer's
// security errors of the same codes as the 17806, and for an LSA that does not answer
// the logins that waited long for SSPI (17830, and the connectivity ring buffer's).
func corroboration(cause triage.CauseID, t triage.Target, obs triage.Observations) []triage.Evidence {
	out, _ := eventEvidence(cause, t, obs)
	out = append(out, ringCorroboration(cause, t, obs)...)
	if cause == triage.LSAUnresponsive {
		for _, e := range sqlEvents(obs, triage.Msg17830) {
			if e.Millis >= slowSSPIMillis {
				out = append(out, e.Evidence(slowSSPIText(e)))
			}
		}
		slow, _, _ := slowRingLogins(obs)
		out = append(out, slow...)
	}
	return out
}

// eventEvidence returns the Windows event-log entries that support cause, and whether
// one of them shows it by itself (the others only support what another shows).
func eventEvidence(cause triage.CauseID, t triage.Target, obs triage.Observations) (ev []triage.Evidence, shown bool) {
	for _, e := range obs.Logs {
		if e.Source != triage.SourceEventlog || isSQLProvider(e.Provider) {
			continue
		}
		if m, ok := eventCause(e, t); ok && m.cause == cause {
			ev = append(ev, e.Evidence(m.text))
			shown = shown || !m.context
		}
	}
	return ev, shown
}

// An eventMeaning is what one Windows event says about the host's domain.
type eventMeaning struct {
	cause triage.CauseID
	text  string
	// context is true for an event that supports cause when other evidence shows it,
	// but does not show it by itself.
	context bool
}

// eventCause says which infrastructure cause a Windows event supports, for the events
// that speak of domain controller reachability, the secure channel or the LSA.
//
// Sources: NETLOGON 5719 "This computer was not able to set up a secure session with
// a domain controller" and, with 0xC00000E5 (STATUS_INTERNAL_ERROR) on a Windows
// Server 2025 member of a domain with older DCs, "expected and harmless" as long as
// the secure channel is established ("Event ID 5719 (STATUS_INTERNAL_ERROR) occurs
// when the NetLogon service restarts",
// https://learn.microsoft.com/troubleshoot/windows-server/windows-security/event-id-5719-when-netlogon-service-restarts).
// NETLOGON 3210 "This computer could not authenticate with \\DC ... the password for
// this computer account is not recognized" ("Broken trust relationship between
// domain-joined device and its domain"); 5721 "... the Domain Controller did not have
// an account ... needed to set up the session by this computer" (KB 2015518's sample;
// Microsoft's broken-trust guide keys on 3210). 0xc000005e is "There are currently no
// logon servers available to service the logon request." ("4625(F) An account failed
// to log on.", Table 12). LsaSrv 40960/40961 are described by no Microsoft page (see
// eventlog's lsaSrv); only the status they carry is read, and 40961 ("No
// authentication protocol was available") only supports what other evidence shows,
// here when it names no SQL Server SPN (kerberosEventsRule takes those of this host).
// KDC event 7 with a blank account name on Windows Server 2025 domain controllers,
// which Microsoft says can be ignored ("Event ID 7 is intermittently logged on a
// Windows Server 2025-based DC"), is not read at all.
func eventCause(e triage.LogEvent, t triage.Target) (eventMeaning, bool) {
	p := strings.ToLower(strings.TrimPrefix(e.Provider, "Microsoft-Windows-"))
	where := e.Where()
	switch {
	case p == "netlogon" && e.ID == 5719 && e.Code == "0xc00000e5":
		return eventMeaning{}, false // harmless at a NetLogon restart; see above
	case p == "netlogon" && e.ID == 5719:
		return eventMeaning{triage.DCUnreachable, fmt.Sprintf("%s: the computer could not set up a secure session with a domain controller%s", where, ntStatusText(e.Code)), false}, true
	case p == "netlogon" && e.ID == 5721:
		return eventMeaning{triage.SecureChannelBroken, fmt.Sprintf("%s: the session setup failed because the domain controller did not have the account this computer needs to set up its secure session%s", where, ntStatusText(e.Code)), false}, true
	case p == "netlogon" && e.ID == 3210:
		return eventMeaning{triage.SecureChannelBroken, fmt.Sprintf("%s: this computer could not authenticate with a domain controller (its computer account password was not recognised, or another computer uses its name)%s", where, ntStatusText(e.Code)), false}, true
	case isKerberosProvider(p) && e.ID == 200:
		return eventMeaning{triage.DCUnreachable, fmt.Sprintf("%s: Kerberos could not locate a domain controller", where), false}, true
	case isKerberosProvider(p) && e.Code == "0x80090311":
		return eventMeaning{triage.DCUnreachable, fmt.Sprintf("%s: %s", where, describeSSPI(e.Code)), false}, true
	case isKerberosProvider(p) && e.Code == "0x80090304":
		return eventMeaning{triage.LSAUnresponsive, fmt.Sprintf("%s: %s", where, describeSSPI(e.Code)), false}, true
	case p == "lsasrv" && (e.ID == 40960 || e.ID == 40961):
		server := cmp.Or(e.SPN, "a server")
		switch e.Code {
		case "0xc000005e":
			return eventMeaning{triage.DCUnreachable, fmt.Sprintf("%s: authentication to %s failed with 0xc000005e: there are currently no logon servers available to service the logon request", where, server), false}, true
		case "0x80090311":
			return eventMeaning{triage.DCUnreachable, fmt.Sprintf("%s: authentication to %s failed with %s", where, server, describeSSPI(e.Code)), false}, true
		case "0x80090304":
			return eventMeaning{triage.LSAUnresponsive, fmt.Sprintf("%s: authentication to %s failed with %s", where, server, describeSSPI(e.Code)), false}, true
		}
		if _, sql := cutPrefixFold(e.SPN, "MSSQLSvc/"); e.ID == 40961 && !sql {
			return eventMeaning{triage.DCUnreachable, fmt.Sprintf("%s: no authentication protocol was available to reach %s (the event's own words; Microsoft publishes no page for LsaSrv 40961)", where, server), true}, true
		}
	}
	return eventMeaning{}, false
}

// ntStatusText returns " (status 0x...)" for an event's NTSTATUS, with its meaning
// for 0xc000005e, or "".
func ntStatusText(code string) string {
	switch code {
	case "":
		return ""
	case "0xc000005e":
		return " (0xc000005e: there are currently no logon servers available to service the logon request)"
	}
	return " (status " + code + ")"
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
