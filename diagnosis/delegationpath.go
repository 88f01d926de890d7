package diagnosis

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// delegationPathRule judges, for each second hop, whether the front end's account may
// delegate its users to the back end's SPNs, as the KDC decides it (delegation.go):
// resource-based delegation on the back end's account allows it; else
// msDS-AllowedToDelegateTo must list each SPN the back end's clients ask for
// (delegation.port_form_missing when it lists another form of the back end's SPN,
// delegation.spn_not_allowed when it lists other services only,
// delegation.unconstrained_blocked when the account is trusted for unconstrained
// delegation alone, delegation.not_trusted when it has nothing); with constrained
// delegation allowed but no protocol transition, delegation.protocol_transition when
// the KDC refused a non-forwardable S4U2self ticket of a user who can be delegated, or
// when the back end shows the failures of a second hop.
//
// The KDC's answers decide over the directory: a ticket issued through the front end
// to an SPN clears every doubt about that SPN; a refusal the directory does not
// explain is reported with it; a path the KDC cannot prove, or was not asked about,
// says so in the evidence. Users who cannot be delegated are delegationUserRule's, and
// back-end SPNs the KDC does not know delegationBackendSPNRule's.
type delegationPathRule struct{}

func (delegationPathRule) Name() string { return "delegation-path" }

func (delegationPathRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	symptom := len(secondHopEvents(t, obs)) > 0
	// On a front end, the paths of the linked servers whose failures name no user show
	// the symptom too.
	failing := map[string]bool{}
	for _, l := range linkedFailures(obs) {
		for _, h := range linkedHops(t, obs, l.name) {
			failing[h.path.String()+"|"+h.path.Via] = true
		}
	}
	var out []triage.Finding
	for _, h := range hops(t, obs) {
		if h.front == nil || h.front.Account == nil {
			continue // nothing to judge: the check's error says why
		}
		shows := (symptom && isHost(t, h.path.BackEnd)) || failing[h.path.String()+"|"+h.path.Via]
		if f, ok := judgePath(h, obs, shows); ok {
			out = append(out, f)
		}
	}
	return out
}

// judgePath returns the finding for hop h, if any. symptom says the triaged host shows
// h's failures: as its back end (18456s naming no user) or as its front end (its
// linked server's failures naming no user).
func judgePath(h hop, obs triage.Observations, symptom bool) (triage.Finding, bool) {
	fa := *h.front.Account
	td := fa.UAC&triage.UACTrustedForDelegation != 0
	ta := fa.UAC&triage.UACTrustedToAuthForDelegation != 0
	rbcd, denied := resourceBased(h.back, fa)
	rbcd = rbcd && !denied

	issued := func(spn string) bool {
		for _, p := range h.proofs {
			if p.ProxyIssued && strings.EqualFold(p.SPN, spn) {
				return true
			}
		}
		return false
	}
	var missing []string
	tcpMissing, matched := false, 0
	for _, r := range h.required {
		switch {
		case allowedTo(h.front.AllowedToDelegateTo, r.SPN):
			matched++
		case !issued(r.SPN):
			missing = append(missing, r.SPN)
			tcpMissing = tcpMissing || r.Transport == triage.TransportTCP
		}
	}
	anyIssued := false
	for _, p := range h.proofs {
		anyIssued = anyIssued || p.ProxyIssued
	}

	var cause triage.CauseID
	var spns []string
	proven := false
	switch {
	case rbcd:
		// Resource-based delegation allows every SPN of the back end's account, with
		// protocol transition ("Kerberos Constrained Delegation Overview").
	case anyIssued && len(missing) == 0:
	case len(h.required) == 0:
		// The back end's SPNs are not known: only an account with no delegation at all
		// can be judged.
		if len(h.front.AllowedToDelegateTo) == 0 && !td && !anyIssued {
			cause = triage.DelegationNotTrusted
		}
	case len(missing) == 0:
		if !ta {
			cause, proven = transitionCause(h, obs, symptom)
		}
	case matched > 0 || anyIssued:
		cause, spns = triage.DelegationPortFormMissing, missing
	case len(h.front.AllowedToDelegateTo) > 0:
		cause, spns = triage.DelegationSPNNotAllowed, missing
	case td:
		cause, spns = triage.DelegationUnconstrainedBlocked, missing
	default:
		cause, spns = triage.DelegationNotTrusted, missing
	}
	if cause == "" {
		return disagreement(h, fa)
	}

	vars, note := delegationVars(h, spns)
	f := triage.NewFinding(cause, vars)
	f.Evidence = append(f.Evidence, frontEvidence(h))
	f.Evidence = append(f.Evidence, backEvidence(h)...)
	for _, p := range h.proofs {
		f.Evidence = append(f.Evidence, proofEvidence(p))
	}
	front, back := frontName(h.path), backName(h.path)
	switch cause {
	case triage.DelegationNotTrusted:
		f.Summary = fmt.Sprintf("%s is not allowed to delegate its users to %s: its account has no constrained delegation", front, back)
		if len(h.required) > 0 {
			f.Summary += " to " + strings.Join(missing, " or ")
		}
		switch {
		case denied:
			f.Summary += fmt.Sprintf(", and the back end's account denies it resource-based delegation by name, which the resource-based command here cannot undo: remove that entry from %s's msDS-AllowedToActOnBehalfOfOtherIdentity first", h.back.Account.Name())
		case h.back != nil && len(h.back.AllowedToActOnBehalf) > 0:
			f.Summary += ", and the back end's account allows resource-based delegation to other principals only (a group among them may hold the front end: authtriage does not expand groups)"
		default:
			f.Summary += ", and the back end's account allows it no resource-based delegation"
		}
		if len(h.required) == 0 {
			f.Summary += "; the back end's FQDN is not known, so the SPNs to allow are not either"
		}
		f.Summary += note
	case triage.DelegationSPNNotAllowed:
		f.Summary = fmt.Sprintf("%s may delegate only to other services (%s), not to %s: its msDS-AllowedToDelegateTo lacks %s", front,
			strings.Join(h.front.AllowedToDelegateTo, ", "), back, strings.Join(missing, " and "))
		if td {
			f.Summary += "; its account is also trusted for unconstrained delegation, which Credential Guard and Protected Users block"
		}
	case triage.DelegationPortFormMissing:
		f.Summary = fmt.Sprintf("%s may delegate to %s, but its msDS-AllowedToDelegateTo lacks %s, the form %s ask for; the KDC compares the whole name", front, back,
			strings.Join(missing, " and "), formAskers(tcpMissing))
		if !tcpMissing {
			// "Register a Service Principal Name for Kerberos Connections": only Named
			// Pipes and Shared Memory clients ask for the form without the port.
			f.Severity = triage.Warning
			f.Summary += "; TCP connections, which ask for the form with the port, are not affected"
		}
	case triage.DelegationUnconstrainedBlocked:
		f.Summary = fmt.Sprintf("%s relies on unconstrained delegation (TRUSTED_FOR_DELEGATION) to reach %s, with no constrained delegation to %s: Credential Guard (Windows 10, Windows Server 2016 and later) and Protected Users block it", front, back, strings.Join(missing, " or "))
		if symptom {
			f.Severity = triage.Critical
			f.Summary += fmt.Sprintf(", and SQL Server on %s refused logins with no user's identity", back)
		}
	case triage.DelegationProtocolTransition:
		f.Severity, f.Summary = transitionSummary(h, symptom, proven)
	}
	return f, true
}

// formAskers names the clients that ask for a missing form.
func formAskers(tcp bool) string {
	if tcp {
		return "TCP connections"
	}
	return "Named Pipes and Shared Memory connections"
}

// transitionCause returns delegation.protocol_transition for a hop whose front end
// may delegate to every SPN of the back end with Kerberos only, when the KDC refused a
// user who can be delegated a forwardable S4U2self ticket (the request of protocol
// transition: proven), or when the back end shows a second hop's failures; ""
// otherwise: Use Kerberos only is right for a front end whose users all reach it with
// Kerberos.
func transitionCause(h hop, obs triage.Observations, symptom bool) (triage.CauseID, bool) {
	for _, p := range h.proofs {
		if !refused(p) || !p.SelfIssued || p.SelfForwardable {
			continue
		}
		if u := userOf(obs.Delegation, p.User); u != nil {
			if sensitive, _ := userSensitive(*u); sensitive {
				continue // delegationUserRule's
			}
		}
		return triage.DelegationProtocolTransition, true
	}
	if symptom {
		return triage.DelegationProtocolTransition, false
	}
	return "", false
}

// transitionSummary words delegation.protocol_transition. It is critical when the KDC
// refused protocol transition and the back end shows a second hop's failures, and a
// warning when only one of them shows it: users who reach the front end with Kerberos
// are delegated all the same.
func transitionSummary(h hop, symptom, proven bool) (triage.Severity, string) {
	front, back := frontName(h.path), backName(h.path)
	s := fmt.Sprintf("%s may delegate to %s only users who reached it with Kerberos (Use Kerberos only): its account is not allowed protocol transition (TRUSTED_TO_AUTH_FOR_DELEGATION)", front, back)
	if proven {
		s += "; the KDC refused to make the ticket of a user who reached the front end otherwise forwardable (S4U2self)"
	}
	if symptom {
		s += fmt.Sprintf("; SQL Server on %s refused logins with no user's identity, which is how users who reach the front end with NTLM, forms or basic authentication fail", back)
	}
	if proven && symptom {
		return triage.Critical, s
	}
	return triage.Warning, s + ". Users who reach the front end with Kerberos are delegated all the same"
}

// disagreement returns a finding when the directory allows h but the KDC refused a
// forwardable ticket to the back end: across domains constrained delegation does not
// work ("Troubleshooting Kerberos constrained delegation issues": "the front-end and
// back-end services must belong to the same domain"), which is delegation.not_trusted;
// otherwise the refusal is reported as it is, the directory showing no reason. A refused
// S4U2self is reported on every path; the S4U2proxy refusals of a path the back end's
// resource-based delegation allows are delegationRBCDRule's.
func disagreement(h hop, fa triage.Account) (triage.Finding, bool) {
	var p *triage.DelegationProof
	for i := range h.proofs {
		if refused(h.proofs[i]) && !h.proofs[i].SelfIssued {
			return selfRefused(h, h.proofs[i]), true
		}
		if rbcdAllowed(h) {
			continue // delegationRBCDRule reports the KDC's answers for a path resource-based delegation allows
		}
		if refused(h.proofs[i]) && h.proofs[i].SelfForwardable && h.proofs[i].KDCError != kdcErrSPrincipalUnknown {
			p = &h.proofs[i]
			break
		}
	}
	if p == nil {
		return triage.Finding{}, false
	}
	vars, note := delegationVars(h, []string{p.SPN})
	front, back := frontName(h.path), backName(h.path)
	if h.back != nil && h.back.Account != nil && fa.Domain != "" && h.back.Account.Domain != "" && !strings.EqualFold(fa.Domain, h.back.Account.Domain) {
		f := triage.NewFinding(triage.DelegationNotTrusted, vars)
		f.Evidence = append(append([]triage.Evidence{frontEvidence(h)}, backEvidence(h)...), proofEvidence(*p))
		f.Summary = fmt.Sprintf("%s may not delegate to %s although its msDS-AllowedToDelegateTo lists %s: the front end's account is in %s and the back end's in %s, and constrained delegation works within one domain only; resource-based delegation on the back end's account works across domains",
			front, back, p.SPN, fa.Domain, h.back.Account.Domain) + note
		return f, true
	}
	f := triage.NewFinding(triage.KerberosTicketFailed, map[string]string{triage.PHSPN: p.SPN, triage.PHCode: proofCode(*p)})
	f.Evidence = append(append([]triage.Evidence{frontEvidence(h)}, backEvidence(h)...), proofEvidence(*p))
	f.Summary = fmt.Sprintf("The KDC refused %s's delegation of %s to %s of %s (%s), although the directory shows it allowed: what was read does not explain the refusal",
		front, p.User, p.SPN, back, proofCode(*p))
	return f, true
}

// selfRefused reports the KDC's refusal of the first request, the front end's ticket
// to itself for the user (S4U2self), as kerberos.ticket_failed. For
// KDC_ERR_C_PRINCIPAL_UNKNOWN, "KDC_ERR_C_PRINCIPAL_UNKNOWN in S4U2Self request"
// (https://learn.microsoft.com/troubleshoot/windows-server/windows-security/kdc-err-c-principal-unknown-s4u2self-request)
// says a Windows KDC answers so when the front end's account may not read the user's
// TokenGroupsGlobalAndUniversal, and that members of the Windows Authorization Access
// Group may by default.
func selfRefused(h hop, p triage.DelegationProof) triage.Finding {
	f := triage.NewFinding(triage.KerberosTicketFailed, map[string]string{triage.PHSPN: p.SPN, triage.PHCode: proofCode(p)})
	f.Evidence = append(append([]triage.Evidence{frontEvidence(h)}, backEvidence(h)...), proofEvidence(p))
	f.Summary = fmt.Sprintf("The KDC refused %s a ticket to itself for %s (S4U2self, %s), so it cannot delegate the user to %s",
		frontName(h.path), p.User, proofCode(p), backName(h.path))
	if p.KDCError == kdcErrCPrincipalUnknown {
		f.Summary += ": either the directory has no such user, or, on a Windows KDC, the front end's account may not read the user's TokenGroupsGlobalAndUniversal attribute, which Microsoft resolves by adding the account to the Windows Authorization Access Group"
	}
	return f
}

// kdcErrCPrincipalUnknown is KDC_ERR_C_PRINCIPAL_UNKNOWN (RFC 4120 section 7.5.9).
const kdcErrCPrincipalUnknown = 0x6

// proofCode names the KDC's refusal of a proof: its Kerberos error with its meaning,
// else the name the prover gave.
func proofCode(p triage.DelegationProof) string {
	if p.KDCError != 0 {
		return triage.DescribeKerberos(p.KDCError)
	}
	return cmp.Or(p.ErrorName, "no error code")
}
