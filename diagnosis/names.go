// Package diagnosis turns what the checks saw into findings: which cause, how bad, the
// evidence, and the fix with the real host, SPN and account names filled in. Each rule
// is in a file of its own; Rules lists them.
package diagnosis

import (
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// Rules returns every diagnosis rule, in the order they are applied.
func Rules() []triage.Rule {
	return []triage.Rule{
		sspiRule{},
		untrustedDomainRule{},
		loginFailedRule{},
		anonymousRule{},
		secondHopRule{},
		secondHopNTLMRule{},
		delegationPathRule{},
		delegationUserRule{},
		delegationBackendSPNRule{},
		delegationRBCDRule{},
		delegationProtectedRule{},
		spnRegistrationRule{},
		slowSSPIRule{},
		dcEventsRule{},
		kerberosEventsRule{},
		spnRule{},
		portUnknownRule{},
		stalePortRule{},
		dynamicPortRule{},
		portMismatchRule{},
		clusterRule{},
		aliasRule{},
		serverNameRule{},
		accountRule{},
		accountMismatchRule{},
		etypeRule{},
		rc4DefaultRule{},
		clockRule{},
		dcReachRule{},
		ticketRule{},
		dnsRule{},
		sqlLoginRule{},
		sqlViewRule{},
		listenerRule{},
		listenerDNSRule{},
		lsaRule{},
		keytabRule{},
		agentRule{},
	}
}

// names holds the real names a finding's text and commands are filled with.
type names struct {
	vars map[string]string
}

// namesFor collects the names known about t: host, FQDN, domain, the account that must
// own the instance's SPNs and the first required SPN. The account is the one SQL
// Server reports (ERRORLOG, sys.dm_server_services) when nothing is configured or the
// configured one is another account (runAsOf), and its directory object's names when a
// check read it.
func namesFor(t triage.Target, obs triage.Observations) names {
	v := map[string]string{
		triage.PHHost: t.ShortName(),
		triage.PHFQDN: t.FQDN,
	}
	r := runAsOf(t, obs)
	account := r.name()
	domain := dnsDomain(t.FQDN)
	if domain == "" {
		domain = accountDomain(account)
	}
	v[triage.PHDomain] = domain
	v[triage.PHAccount] = spnOwner(account, t, domain)
	if a := r.object; a != nil {
		v[triage.PHAccount] = a.Name()
		v[triage.PHSam] = a.SAMAccountName
		v[triage.PHSetAD] = setCmdlet(*a)
	}
	if spns := t.RequiredSPNs(); len(spns) > 0 {
		v[triage.PHSPN] = spns[0]
	}
	return names{vars: v}
}

// with returns a copy of the names with more placeholders set.
func (n names) with(kv ...string) map[string]string {
	out := make(map[string]string, len(n.vars)+len(kv)/2)
	for k, v := range n.vars {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// dnsDomain returns the domain part of an FQDN: "corp.example" for
// "sqlhost01.corp.example", "" for a single label.
func dnsDomain(fqdn string) string {
	_, domain, _ := strings.Cut(fqdn, ".")
	return domain
}

// accountDomain returns the domain of a DOMAIN\name or name@domain account, or "" for
// built-in accounts (NT SERVICE, NT AUTHORITY) and bare names.
func accountDomain(account string) string {
	if d, _, ok := strings.Cut(account, `\`); ok {
		if isBuiltinDomain(d) {
			return ""
		}
		return d
	}
	if _, d, ok := strings.Cut(account, "@"); ok {
		return d
	}
	return ""
}

func isBuiltinDomain(d string) bool {
	return strings.EqualFold(d, "NT SERVICE") || strings.EqualFold(d, "NT AUTHORITY") || d == "."
}

// setCmdlet returns the PowerShell cmdlet that changes an account of a's class.
func setCmdlet(a triage.Account) string {
	switch {
	case strings.EqualFold(a.Class, "computer"):
		return "Set-ADComputer"
	case strings.HasPrefix(strings.ToLower(a.Class), "msds-") && strings.Contains(strings.ToLower(a.Class), "serviceaccount"):
		return "Set-ADServiceAccount"
	}
	return "Set-ADUser"
}

// spnOwner returns the account that must own the SQL Server SPNs, as setspn takes it:
// the service account itself, or the computer account DOMAIN\HOST$ when SQL Server
// runs as a virtual account, LocalSystem or NetworkService. It returns "" when the
// service account is not known.
func spnOwner(account string, t triage.Target, domain string) string {
	if account == "" {
		return ""
	}
	if !triage.IsVirtualAccount(account) {
		return account
	}
	if t.ShortName() == "" {
		return ""
	}
	if domain == "" {
		domain = triage.PHDomain
	} else {
		// setspn wants the NetBIOS domain; its first DNS label is the usual one and
		// is what an admin would type.
		first, _, _ := strings.Cut(domain, ".")
		domain = strings.ToUpper(first)
	}
	return domain + `\` + t.ComputerAccount()
}

// spnForHost reports whether spn is an MSSQLSvc SPN naming the target's host, so
// client-side Kerberos events about other services are not mistaken for this one's.
// With no host name to compare, any MSSQLSvc SPN counts.
func spnForHost(spn string, t triage.Target) bool {
	rest, ok := cutPrefixFold(spn, "MSSQLSvc/")
	if !ok {
		return false
	}
	host, _, _ := strings.Cut(rest, ":")
	host, _, _ = strings.Cut(host, "@")
	if t.Host == "" && t.FQDN == "" {
		return true
	}
	short, _, _ := strings.Cut(host, ".")
	return strings.EqualFold(host, t.FQDN) || strings.EqualFold(host, t.Host) ||
		strings.EqualFold(short, t.ShortName())
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// clientCount returns the number of distinct clients of a group.
func clientCount(e triage.LogEvent) int { return len(e.Clients) + e.MoreClients }

// spanAll is span over several groups of entries, total entries in all, from the first
// entry of any of them to the last.
func spanAll(events []triage.LogEvent, total int) string {
	first, last := events[0].First, events[0].Last
	for _, e := range events[1:] {
		if e.First.Before(first) {
			first = e.First
		}
		if e.Last.After(last) {
			last = e.Last
		}
	}
	return span(triage.LogEvent{Count: total, First: first, Last: last})
}

// span describes when a group happened: "at 09:41:13" or "from 09:00:01 to 09:41:13",
// with the date and zone the first time, as the log wrote them.
func span(e triage.LogEvent) string {
	const full, clock = "2006-01-02 15:04:05 -07:00", "15:04:05"
	if e.Count <= 1 || e.First.Equal(e.Last) {
		return "at " + e.Last.Format(full)
	}
	last := clock
	if e.First.YearDay() != e.Last.YearDay() || e.First.Year() != e.Last.Year() {
		last = full
	}
	return fmt.Sprintf("from %s to %s", e.First.Format(full), e.Last.Format(last))
}
