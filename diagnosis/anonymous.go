package diagnosis

import (
	"fmt"
	"net"
	"sort"
	"strings"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// anonymousRule reports the 18456 failures whose login is no user at all: Windows
// passed on NT AUTHORITY\ANONYMOUS LOGON, '(null)' or an empty name. Each is a cause
// of its own (login.anonymous, login.null_user, login.empty_user), never a login to
// create or grant: the failure is in authentication, before SQL Server's logins.
// loginFailedRule leaves these logins to it.
//
// What each means, from "MSSQLSERVER_18456", sections "Login failed for user NT
// AUTHORITY\ANONYMOUS LOGON", "Login failed for user (empty)" and "Login failed for
// user '(null)'",
// https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-18456-database-engine-error:
//   - ANONYMOUS LOGON: NTLM credentials passed on from one service to another (on the
//     same computer, or a double hop across computers, such as a linked server "made
//     using the login's current security context"), with loopback protection and
//     per-service SIDs named for the same computer, or Kerberos failing because of SPN
//     problems so that the client gets NTLM credentials instead. "Troubleshoot
//     consistent authentication issues",
//     https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/consistent-authentication-connectivity-issues,
//     adds: "This error might occur if the SPN is missing, SPN is duplicated, or the
//     SPN is on the wrong account", and "A double-hop process will fail if NTLM
//     credentials are used. Kerberos credentials are required."
//   - '(null)': "LSASS can't decrypt the security token by using the SQL Server
//     service account credentials. The main reason for this condition is that the SPN
//     is associated with the wrong account."
//   - an empty name: "SQL Server tried to hand off the credentials to the Local Security
//     Authority Subsystem Service (LSASS) but couldn't ... Either LSASS wasn't
//     available, or the domain controller couldn't be contacted", with NETLOGON 5719
//     and SSPI handshake failures 0x80090311 and 0x80090304 beside it.
//
// The evidence that corroborates each (SPN findings, NTLM logins, 17806 and 5719) is
// attached, and the summary says what it adds; the findings those facts make of their
// own are still reported by their rules.
type anonymousRule struct{}

func (anonymousRule) Name() string { return "anonymous-login" }

// anonymousCause returns the cause of an 18456 login that is no user: ANONYMOUS LOGON
// (as NT AUTHORITY\ANONYMOUS LOGON or any DOMAIN\ANONYMOUS LOGON), "(null)", or an
// empty name (spaces only count as empty; SQL Server writes none). A failure of state
// 122 to 124 with an empty name is not one of them: the state table explains it as
// "Failure due to empty user name or password", a client that sent no SQL Server
// login name, not a hand-off to LSASS that failed.
func anonymousCause(login string, state int) (triage.CauseID, bool) {
	l := strings.TrimSpace(login)
	switch {
	case l == "":
		if state >= 122 && state <= 124 {
			return "", false
		}
		return triage.LoginEmptyUser, true
	case strings.EqualFold(l, "(null)"):
		return triage.LoginNullUser, true
	case strings.EqualFold(principalName(l), "ANONYMOUS LOGON"):
		return triage.LoginAnonymous, true
	}
	return "", false
}

// principalName returns the name part of DOMAIN\name, or the login as it is.
func principalName(login string) string {
	if i := strings.LastIndexByte(login, '\\'); i >= 0 {
		return strings.TrimSpace(login[i+1:])
	}
	return strings.TrimSpace(login)
}

func (anonymousRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	byCause := map[triage.CauseID][]triage.LogEvent{}
	for _, e := range sqlEvents(obs, triage.Msg18456) {
		if c, ok := anonymousCause(e.Login, e.State); ok {
			byCause[c] = append(byCause[c], e)
		}
	}
	n := namesFor(t, obs)
	var out []triage.Finding
	for _, cause := range []triage.CauseID{triage.LoginAnonymous, triage.LoginNullUser, triage.LoginEmptyUser} {
		events := byCause[cause]
		if len(events) == 0 || cause == triage.LoginAnonymous && len(secondHopEvents(t, obs)) > 0 {
			continue // a second hop's: secondHopRule reports them
		}
		sort.SliceStable(events, func(i, j int) bool { return events[i].Count > events[j].Count })
		f := triage.NewFinding(cause, n.vars)
		total := 0
		for _, e := range events {
			total += e.Count
			f.Evidence = append(f.Evidence, e.Evidence(anonymousText(e)))
		}
		var also []string
		switch cause {
		case triage.LoginAnonymous:
			also = spnCorroboration(t, obs, &f)
			also = append(also, ntlmCorroboration(obs, &f)...)
		case triage.LoginNullUser:
			also = spnCorroboration(t, obs, &f)
		case triage.LoginEmptyUser:
			also = dcCorroboration(obs, &f)
		}
		f.Summary = anonymousSummary(cause, t, obs, events, total, also)
		out = append(out, f)
	}
	return out
}

// anonymousSummary says how many logins failed as whom, when and from where, what
// Microsoft says that means, and what else the evidence shows.
func anonymousSummary(cause triage.CauseID, t triage.Target, obs triage.Observations, events []triage.LogEvent, total int, also []string) string {
	clients, more := distinctClients(events)
	when := spanAll(events, total)
	from := ""
	if n := len(clients) + more; n > 0 {
		from = fmt.Sprintf(", from %s (%s)", human.Count(n, "client", "clients"), listClients(clients, more))
	}
	logins := human.Count(total, "Windows login", "Windows logins")
	var s string
	switch cause {
	case triage.LoginAnonymous:
		s = fmt.Sprintf("SQL Server on %s refused %s as NT AUTHORITY\\ANONYMOUS LOGON (18456, %s), %s%s: the client passed on no user's identity",
			t.Host, logins, statesOf(events), when, from)
		switch {
		case len(clients) > 0 && more == 0 && allLocal(clients, obs):
			s += ". The clients are on the SQL Server host itself: a service there (IIS, for example) passing its users' NTLM credentials on to SQL Server on the same computer fails this way, and Microsoft names loopback protection and per-service SIDs among the causes"
		case len(clients) > 0:
			s += fmt.Sprintf(". If %s is a linked server or a front end (a web, report or application server) connecting on its users' behalf, this is a second hop, which needs Kerberos with delegation: NTLM cannot make it",
				orList(clients, more))
		default:
			s += ". If a linked server or a front end connects on its users' behalf, this is a second hop, which needs Kerberos with delegation: NTLM cannot make it"
		}
	case triage.LoginNullUser:
		s = fmt.Sprintf("SQL Server on %s refused %s as '(null)' (18456, %s), %s%s: LSASS could not decrypt the clients' security token with the service account's credentials, which Microsoft attributes mainly to the SPN being on the wrong account",
			t.Host, logins, statesOf(events), when, from)
	case triage.LoginEmptyUser:
		s = fmt.Sprintf("SQL Server on %s refused %s with an empty user name (18456, %s), %s%s: SQL Server could not hand the credentials to LSASS, because LSASS was not available or no domain controller could be contacted",
			t.Host, logins, statesOf(events), when, from)
	}
	if len(also) > 0 {
		s += "; the evidence also shows " + strings.Join(also, ", and ")
	}
	return s
}

// loginFailedText describes one group of 18456 failures for evidence, with the state's
// meaning from Microsoft's table and SQL Server's own reason.
func loginFailedText(e triage.LogEvent) string {
	text := fmt.Sprintf("18456 Login failed for user '%s', state %d: %s", e.Login, e.State, loginState(e.State))
	if e.Reason != "" {
		text += ". SQL Server's reason: " + e.Reason
	}
	return text
}

// anonymousText describes one group of 18456 failures of a login that is no user. The
// state table's meaning is left out: it describes a login SQL Server looked up, and
// these failures happened before there was one.
func anonymousText(e triage.LogEvent) string {
	text := fmt.Sprintf("18456 Login failed for user '%s', state %d", e.Login, e.State)
	if e.State < 0 {
		text = fmt.Sprintf("18456 Login failed for user '%s'", e.Login)
	}
	if e.Reason != "" {
		text += ". SQL Server's reason: " + e.Reason
	}
	return text
}

// statesOf returns "state 11" or "states 11, 12".
func statesOf(events []triage.LogEvent) string {
	var states []int
	seen := map[int]bool{}
	for _, e := range events {
		if !seen[e.State] {
			seen[e.State] = true
			states = append(states, e.State)
		}
	}
	sort.Ints(states)
	parts := make([]string, len(states))
	for i, s := range states {
		parts[i] = fmt.Sprint(s)
		if s < 0 {
			parts[i] = "not logged"
		}
	}
	if len(parts) == 1 {
		return "state " + parts[0]
	}
	return "states " + strings.Join(parts, ", ")
}

// distinctClients returns the client addresses of events, sorted, and how many more
// the groups counted without listing them.
func distinctClients(events []triage.LogEvent) ([]string, int) {
	seen := map[string]bool{}
	var out []string
	more := 0
	for _, e := range events {
		for _, c := range e.Clients {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
		more += e.MoreClients
	}
	sort.Strings(out)
	return out, more
}

// listClients returns the first three clients and how many more there are.
func listClients(clients []string, more int) string {
	const shown = 3
	list := clients
	if len(list) > shown {
		more += len(list) - shown
		list = list[:shown]
	}
	s := strings.Join(list, ", ")
	if more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// orList returns "10.0.0.5", "10.0.0.5 or 10.0.0.6", or "10.0.0.5, 10.0.0.6 or one
// of 4 more".
func orList(clients []string, more int) string {
	const shown = 3
	list := clients
	if len(list) > shown {
		more += len(list) - shown
		list = list[:shown]
	}
	if more > 0 {
		return strings.Join(list, ", ") + fmt.Sprintf(" or one of %d more", more)
	}
	if len(list) == 1 {
		return list[0]
	}
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}

// allLocal reports whether every client is the SQL Server host itself: ERRORLOG's
// "<local machine>" (shared memory), a loopback address, or one of the host's own
// addresses in DNS.
func allLocal(clients []string, obs triage.Observations) bool {
	own := map[string]bool{}
	if d := obs.Directory; d != nil && d.DNS != nil {
		for _, a := range d.DNS.Addresses {
			own[a] = true
		}
	}
	for _, c := range clients {
		if strings.EqualFold(c, "<local machine>") || own[c] {
			continue
		}
		if ip := net.ParseIP(c); ip != nil && ip.IsLoopback() {
			continue
		}
		return false
	}
	return true
}

// spnCorroboration attaches to f what the directory and the Kerberos events say is
// wrong with the host's SPNs, and returns it in a few words for the summary. The SPN
// findings themselves carry the fixes.
func spnCorroboration(t triage.Target, obs triage.Observations, f *triage.Finding) []string {
	var also []string
	if d := obs.Directory; d != nil {
		for _, so := range d.SPNs {
			var names []string
			for _, o := range so.Owners {
				names = append(names, o.Name())
			}
			var text, short string
			switch {
			case len(so.Owners) == 0:
				text = fmt.Sprintf("setspn -Q %s: no account in the forest has this SPN", so.SPN)
				short = so.SPN + " registered on no account (spn.missing)"
			case len(so.Owners) > 1:
				text = fmt.Sprintf("setspn -Q %s: registered on %d accounts: %s", so.SPN, len(so.Owners), strings.Join(names, ", "))
				short = fmt.Sprintf("%s registered on %d accounts (spn.duplicate)", so.SPN, len(so.Owners))
			case d.ServiceAccount != nil && !so.Owners[0].SameAs(*d.ServiceAccount):
				text = fmt.Sprintf("setspn -Q %s: registered on %s, not on the service account %s", so.SPN, names[0], d.ServiceAccount.Name())
				short = fmt.Sprintf("%s registered on %s, not on the service account (spn.wrong_account)", so.SPN, names[0])
			default:
				continue
			}
			f.Evidence = append(f.Evidence, triage.Evidence{Check: "spn", Source: triage.SourceDirectory, Text: text})
			also = append(also, short)
		}
	}
	events := 0
	for _, e := range obs.Logs {
		if e.Source != triage.SourceEventlog {
			continue
		}
		cause, text, ok := kerberosEventCause(e, t)
		if !ok || (cause != triage.SPNMissing && cause != triage.SPNDuplicate && cause != triage.SPNWrongAccount) {
			continue
		}
		f.Evidence = append(f.Evidence, e.Evidence(text))
		events += e.Count
	}
	if events > 0 {
		also = append(also, human.Count(events, "Kerberos event", "Kerberos events")+" about the SPNs of "+t.Host)
	}
	return also
}

// ntlmCorroboration attaches the checker's own remote logins that used NTLM, not
// Kerberos (what kerberos.ntlm_fallback reports), and returns them in a few words.
func ntlmCorroboration(obs triage.Observations, f *triage.Finding) []string {
	var also []string
	for _, l := range obs.SQL {
		if !l.OK || !strings.EqualFold(l.AuthScheme, "NTLM") {
			continue
		}
		f.Evidence = append(f.Evidence, triage.Evidence{Check: "sql", Source: triage.SourceSQL,
			Text: fmt.Sprintf("login to %s (%s) succeeded with auth_scheme NTLM: no Kerberos ticket was used", l.Instance, l.Address)})
		also = append(also, fmt.Sprintf("the checker's own login to %s used NTLM, not Kerberos", l.Instance))
	}
	return also
}

// dcCorroboration attaches the failures the 18456 page pairs with an empty login:
// 17806 with 0x80090311 or 0x80090304 in ERRORLOG and NETLOGON 5719 in the System
// log, and returns them in a few words.
func dcCorroboration(obs triage.Observations, f *triage.Finding) []string {
	var also []string
	for _, e := range sqlEvents(obs, triage.Msg17806) {
		if e.Code != "0x80090311" && e.Code != "0x80090304" {
			continue
		}
		f.Evidence = append(f.Evidence, e.Evidence("17806 SSPI handshake failed with "+describeSSPI(e.Code)))
		what := "no domain controller could be contacted"
		if e.Code == "0x80090304" {
			what = "the Local Security Authority could not be contacted"
		}
		also = append(also, fmt.Sprintf("17806 %s %s (%s)", e.Code, timesWord(e.Count), what))
	}
	for _, e := range obs.Logs {
		p := strings.TrimPrefix(e.Provider, "Microsoft-Windows-")
		if e.Source != triage.SourceEventlog || !strings.EqualFold(p, "NETLOGON") || e.ID != 5719 {
			continue
		}
		f.Evidence = append(f.Evidence, e.Evidence(e.Where()+": the computer could not set up a secure session with a domain controller"))
		also = append(also, fmt.Sprintf("NETLOGON 5719 %s (no secure session with a domain controller)", timesWord(e.Count)))
	}
	return also
}
