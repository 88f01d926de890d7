package diagnosis

import (
	"fmt"
	"slices"
	"strings"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// rc4DefaultRule reports the service account whose Kerberos encryption types the domain
// controllers' default decides (msDS-SupportedEncryptionTypes absent or 0), and the
// KDCSVC audit events of KB5073381 a domain controller's System log holds.
//
// What Microsoft says, and what this rule takes from it:
//   - KB5073381, "How to manage Kerberos KDC usage of RC4 for service account ticket
//     issuance changes related to CVE-2026-20833"
//     (https://support.microsoft.com/topic/1ebcda33-720a-4da8-93c1-b0496e1910dc): "the
//     default value of DefaultDomainSupportedEncTypes (DDSET) is being changed so that
//     all domain controllers only support Advanced Encryption Standard
//     (AES-SHA1)-encrypted tickets for accounts without an explicit Kerberos encryption
//     type configuration", and "Enforcement mode will be automatically enabled by
//     installing Windows Updates released on or after April 2026 on all Windows domain
//     controllers". The rule quotes no other date.
//   - "Detect and remediate RC4 usage in Kerberos"
//     (https://learn.microsoft.com/windows-server/security/kerberos/detect-remediate-rc4-kerberos):
//     without an msDS-SupportedEncryptionTypes "the KDC applies the value from
//     DefaultSupportedEncryptionTypes", whose default before KB5073381 is "DES, RC4, and
//     AES session keys"; an account created before AES support whose password was never
//     reset "would be missing AES-SHA1 keys … Changing the account password generates
//     these keys"; the remedy is to "Define the specific msDS-SupportedEncryptionTypes
//     value in the account properties"; the account's keys are the "Available Keys" of
//     events 4768 and 4769.
//
// An account gets an AES ticket only if it has AES keys, so an AES ticket for one of
// its SPNs clears it. Before enforcement the default gives RC4 tickets whatever keys the
// account has (the ticket's key is chosen from the account's types, not the client's
// offer; Samba 4.17's KDC does the same, see scripts/testdomain.sh), so an RC4 ticket
// says the account still depends on RC4 and nothing about its keys: a warning. A
// refusal with KDC_ERR_ETYPE_NOTSUPP (0xe) means the change already bites: critical.
// Without a ticket the finding is information only, saying what could not be told.
//
// KDCSVC events 201-209: only 205 has a meaning in the part of KB5073381 that could be
// checked ("may be logged in the System event log if the existing
// DefaultDomainSupportedEncTypes configuration is insecure"); for the others the rule
// shows the event's own message and claims no meaning. Events that name the instance's
// SPN or service account make the finding a warning at least; others are information.
type rc4DefaultRule struct{}

func (rc4DefaultRule) Name() string { return "rc4-default" }

func (rc4DefaultRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	n := namesFor(t, obs)
	var a *triage.Account
	if obs.Directory != nil && obs.Directory.ServiceAccount != nil && triage.EncTypesDefault(obs.Directory.ServiceAccount.EncTypes) {
		a = obs.Directory.ServiceAccount
	}
	var f *triage.Finding
	if a != nil {
		f = accountFinding(*a, obs.Directory.Tickets, n)
	}
	related, other := kdcsvcEvidence(obs.Logs, t, obs)
	if len(related)+len(other) == 0 {
		if f == nil {
			return nil
		}
		return []triage.Finding{*f}
	}
	if f == nil {
		g := triage.NewFinding(triage.KerberosRC4Default, n.vars)
		g.Severity = triage.Info
		g.Summary = fmt.Sprintf("Domain controllers logged %s of KB5073381's KDCSVC audit events; read their messages, as none of them names %s's SPNs or service account",
			human.Count(countOf(other), "event", "events"), t.Host)
		if len(related) > 0 {
			g.Severity = triage.Warning
			g.Summary = fmt.Sprintf("Domain controllers logged KB5073381's KDCSVC audit events that name %s's SPNs or service account (%s)",
				t.Host, human.Count(countOf(related), "event", "events"))
		}
		f = &g
	} else if len(related) > 0 && f.Severity < triage.Warning {
		f.Severity = triage.Warning
		f.Summary += fmt.Sprintf(". Domain controllers logged KB5073381's KDCSVC audit events that name it (%s)", human.Count(countOf(related), "event", "events"))
	}
	f.Evidence = append(f.Evidence, related...)
	f.Evidence = append(f.Evidence, other...)
	return []triage.Finding{*f}
}

// accountFinding judges an account that has no msDS-SupportedEncryptionTypes by the
// tickets requested for its SPNs; it returns nil when an AES ticket shows AES keys.
func accountFinding(a triage.Account, tickets []triage.TicketResult, n names) *triage.Finding {
	attr := "is not set"
	if a.EncTypes == 0 {
		attr = "is 0 (not defined)"
	}
	ev := []triage.Evidence{{Check: "account", Source: triage.SourceDirectory,
		Text: fmt.Sprintf("%s msDS-SupportedEncryptionTypes %s: the KDC applies the domain controllers' default (DefaultDomainSupportedEncTypes) to it", a.DN, attr)}}
	if !a.PwdLastSet.IsZero() {
		ev = append(ev, triage.Evidence{Check: "account", Source: triage.SourceDirectory,
			Text: fmt.Sprintf("%s password last set %s (AES keys exist only if it was set after the domain could make them)", a.DN, a.PwdLastSet.UTC().Format("2006-01-02"))})
	}
	var aes, rc4, refused []triage.TicketResult
	for _, tr := range tickets {
		if !holdsSPN(a, tr.SPN) {
			continue
		}
		switch {
		case tr.OK && triage.EtypeFamily(tr.Etype) == "aes":
			aes = append(aes, tr)
		case tr.OK && triage.EtypeFamily(tr.Etype) == "rc4":
			rc4 = append(rc4, tr)
		case !tr.OK && tr.Code == 0xe:
			refused = append(refused, tr)
		}
	}
	account := a.Name()
	f := triage.NewFinding(triage.KerberosRC4Default, n.with(triage.PHAccount, account))
	switch {
	case len(refused) > 0:
		tr := refused[0]
		f.Severity = triage.Critical
		for _, r := range refused {
			ev = append(ev, kdcEvidence(fmt.Sprintf("klist get %s: %s%s", r.SPN, ticketError(r), offeredText(r))))
		}
		if aesOnly(tr.Offered) {
			f.Summary = fmt.Sprintf("The KDC refused a ticket for %s (KDC_ERR_ETYPE_NOTSUPP) to a client that offered AES only: the service account %s has no msDS-SupportedEncryptionTypes and the KDC would not encrypt its tickets with AES, as when domain controllers apply KB5073381's AES-only default to an account without AES keys",
				tr.SPN, account)
		} else {
			f.Summary = fmt.Sprintf("The KDC refused a ticket for %s (KDC_ERR_ETYPE_NOTSUPP): the service account %s has no msDS-SupportedEncryptionTypes and the domain controllers' default leaves no encryption type the KDC can use for it",
				tr.SPN, account)
		}
	case len(aes) > 0:
		return nil // AES keys, and a default that allows AES
	case len(rc4) > 0:
		tr := rc4[0]
		f.Severity = triage.Warning
		for _, r := range rc4 {
			ev = append(ev, kdcEvidence(fmt.Sprintf("klist get %s: ticket encrypted with %s (key version %d)%s", r.SPN, r.Etype, r.KVNO, offeredText(r))))
		}
		f.Summary = fmt.Sprintf("The KDC issues RC4 tickets (%s) for %s: the service account %s has no msDS-SupportedEncryptionTypes, so it depends on the domain controllers' default, which KB5073381 makes AES only; whether the account has the AES keys it will then need, an RC4 ticket cannot show",
			tr.Etype, tr.SPN, account)
	default:
		f.Severity = triage.Info
		f.Summary = fmt.Sprintf("The service account %s has no msDS-SupportedEncryptionTypes, so domain controllers that apply KB5073381's AES-only default issue only AES tickets for it; authtriage could not tell whether it has AES keys (no ticket for its SPNs was obtained): request one (klist get %s) or read Available Keys in event 4769",
			account, accountSPN(a, n))
	}
	f.Evidence = ev
	return &f
}

// holdsSPN reports whether a has spn among its servicePrincipalName values, so that a
// ticket for it was encrypted in a's keys.
func holdsSPN(a triage.Account, spn string) bool {
	return slices.ContainsFunc(a.SPNs, func(s string) bool { return strings.EqualFold(s, spn) })
}

// accountSPN is the SPN the finding's text names: the target's first required one, else
// the account's first.
func accountSPN(a triage.Account, n names) string {
	if s := n.vars[triage.PHSPN]; s != "" {
		return s
	}
	if len(a.SPNs) > 0 {
		return a.SPNs[0]
	}
	return triage.PHSPN
}

func kdcEvidence(text string) triage.Evidence {
	return triage.Evidence{Check: "kerberos", Source: triage.SourceKerberos, Text: text}
}

// offeredText describes what the request offered, for evidence: "; the request offered
// aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96".
func offeredText(tr triage.TicketResult) string {
	if len(tr.Offered) == 0 {
		return ""
	}
	return "; the request offered " + strings.Join(tr.Offered, ", ")
}

// aesOnly reports whether a request offered AES and nothing else.
func aesOnly(offered []string) bool {
	if len(offered) == 0 {
		return false
	}
	for _, e := range offered {
		if triage.EtypeFamily(e) != "aes" {
			return false
		}
	}
	return true
}

// kdcsvcEvidence turns the KDCSVC audit events 201-209 among logs into evidence: those
// naming one of the target's SPNs or its service account, and the others.
func kdcsvcEvidence(logs []triage.LogEvent, t triage.Target, obs triage.Observations) (related, other []triage.Evidence) {
	sam := ""
	if obs.Directory != nil && obs.Directory.ServiceAccount != nil {
		sam = obs.Directory.ServiceAccount.SAMAccountName
	}
	for _, e := range logs {
		if !isKDCSVCAudit(e) {
			continue
		}
		ev := e.Evidence(kdcsvcText(e))
		if e.SPN != "" && spnForHost(e.SPN, t) || namesWord(e.Text, sam) {
			related = append(related, ev)
		} else {
			other = append(other, ev)
		}
	}
	return related, other
}

// isKDCSVCAudit reports whether e is one of the KDCSVC audit events KB5073381 added
// (201-209 in the System log, from the Kerberos Key Distribution Center).
func isKDCSVCAudit(e triage.LogEvent) bool {
	p := strings.ToLower(strings.TrimPrefix(e.Provider, "Microsoft-Windows-"))
	kdc := p == "kerberos-key-distribution-center" || p == "kdc" || p == "kdcsvc"
	return e.Source == triage.SourceEventlog && kdc && e.ID >= 201 && e.ID <= 209
}

// kdcsvcText describes one KDCSVC audit event: Microsoft's meaning for 205, the
// event's own message for every ID.
func kdcsvcText(e triage.LogEvent) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, a KB5073381 audit event", e.Where())
	if e.ID == 205 {
		b.WriteString(" logged, per KB5073381, when the domain controller's DefaultDomainSupportedEncTypes configuration is insecure")
	} else {
		b.WriteString(" (KB5073381's text on this ID could not be checked: its message says what it reports)")
	}
	if msg := strings.TrimSpace(e.Text); msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	} else {
		b.WriteString(": the export holds no message text")
	}
	return b.String()
}

// namesWord reports whether text contains word (case-insensitively) not as part of a
// longer name: "svc_sql" is not in "svc_sql01".
func namesWord(text, word string) bool {
	if word == "" {
		return false
	}
	lt, lw := strings.ToLower(text), strings.ToLower(word)
	for i := 0; ; {
		j := strings.Index(lt[i:], lw)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(lw)
		if (start == 0 || !nameByte(lt[start-1])) && (end == len(lt) || !nameByte(lt[end])) {
			return true
		}
		i = start + 1
	}
}

func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '$' || c >= 0x80
}

// countOf sums the counts of evidence from grouped events.
func countOf(ev []triage.Evidence) int {
	n := 0
	for _, e := range ev {
		n += max(e.Count, 1)
	}
	return n
}
