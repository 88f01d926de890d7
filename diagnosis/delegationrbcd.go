package diagnosis

import (
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// delegationRBCDRule reports each second hop that the back end's account allows by
// resource-based constrained delegation (delegation.resource_based): its
// msDS-AllowedToActOnBehalfOfOtherIdentity allows the front end's account by its SID
// and denies it nothing. The finding says what the directory shows, what the KDC
// answered through the front end (issued, refused with its code and NTSTATUS, cannot
// prove and why, or was not asked), and, when the front end's account also has
// constrained delegation to the back end, Microsoft's advice against configuring both.
// Its severity is the catalog's reasoning (triage/cause.go): info when the KDC issued
// the ticket or was not asked, warning when it refused or cannot prove the path,
// critical when it refused and the back end shows a second hop's failures. The KDC's
// answers for users the directory shows cannot be delegated are delegationUserRule's and
// delegationProtectedRule's, and an SPN the KDC does not know
// delegationBackendSPNRule's (or spnRule's): they do not count here.
//
// Sources: "[MS-SFU] 3.2.5.2.3 Using ServicesAllowedToReceiveForwardedTicketsFrom",
// https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/dd1b47f9-580c-4c4e-8f34-4485b9728331;
// "Kerberos authentication troubleshooting guidance",
// https://learn.microsoft.com/troubleshoot/windows-server/windows-security/kerberos-authentication-troubleshooting-guidance
// ("Don't configure constrained delegation and RBCD on the same set of front-end and
// back-end servers", "the KDC first checks the front-end service for constrained
// delegation"); "Troubleshooting Kerberos RBCD issues",
// https://learn.microsoft.com/troubleshoot/windows-server/windows-security/troubleshoot-kerberos-rbcd-issues
// (the front end's account must not be "sensitive and cannot be delegated").
type delegationRBCDRule struct{}

func (delegationRBCDRule) Name() string { return "delegation-rbcd" }

func (delegationRBCDRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	symptom := len(secondHopEvents(t, obs)) > 0
	var out []triage.Finding
	for _, h := range hops(t, obs) {
		if f, ok := judgeRBCD(h, obs, symptom && isHost(t, h.path.BackEnd)); ok {
			out = append(out, f)
		}
	}
	return out
}

// The catalog's steps of delegation.resource_based that the rule picks from.
const (
	rbcdStepNothing = 0 // nothing to change where the ticket was issued
	rbcdStepRefused = 1 // the first of the steps for a refusal
	rbcdStepFront   = 4 // the front end's account must not be sensitive
	rbcdStepBoth    = 6 // keep one kind of delegation
)

// rbcdAnswer sorts the KDC's answers for a path that resource-based delegation allows.
type rbcdAnswer struct {
	issued, refused, unprovable, unasked []triage.DelegationProof
	// others counts the answers left to other rules (users who cannot be
	// delegated, an SPN the KDC does not know).
	others int
}

// rbcdAllowed reports whether the back end's account of h allows its front end's
// account resource-based delegation and denies it nothing.
func rbcdAllowed(h hop) bool {
	if h.front == nil || h.front.Account == nil {
		return false
	}
	allowed, denied := resourceBased(h.back, *h.front.Account)
	return allowed && !denied
}

// rbcdAnswers sorts h's proofs.
func rbcdAnswers(h hop, d *triage.DelegationFacts) rbcdAnswer {
	var a rbcdAnswer
	for _, p := range h.proofs {
		if u := userOf(d, p.User); u != nil {
			if sensitive, _ := userSensitive(*u); sensitive {
				a.others++
				continue
			}
		}
		switch {
		case p.Err != "":
			a.unasked = append(a.unasked, p)
		case p.Unprovable != "":
			a.unprovable = append(a.unprovable, p)
		case p.ProxyIssued:
			a.issued = append(a.issued, p)
		case p.Step == "s4u2proxy" && p.KDCError == kdcErrSPrincipalUnknown:
			a.others++
		case refused(p):
			a.refused = append(a.refused, p)
		}
	}
	return a
}

// rbcdDoubted reports whether h is allowed by resource-based delegation and the KDC
// refused it or cannot prove it: delegation.resource_based is then a warning or worse,
// and explains a second hop's failures through it.
func rbcdDoubted(h hop, d *triage.DelegationFacts) bool {
	if !rbcdAllowed(h) {
		return false
	}
	a := rbcdAnswers(h, d)
	return len(a.refused)+len(a.unprovable) > 0
}

// judgeRBCD returns delegation.resource_based for h, when the back end's account
// allows its front end. symptom says the triaged host is h's back end and shows the
// failures of a second hop.
func judgeRBCD(h hop, obs triage.Observations, symptom bool) (triage.Finding, bool) {
	if !rbcdAllowed(h) {
		return triage.Finding{}, false
	}
	fa, ba := *h.front.Account, *h.back.Account
	a := rbcdAnswers(h, obs.Delegation)
	var both []string // the back end's SPNs the front end's constrained delegation lists
	for _, spn := range append(requiredSPNs(h), ba.SPNs...) {
		if allowedTo(h.front.AllowedToDelegateTo, spn) {
			both = append(both, spn)
		}
	}
	both = distinct(both)
	sensitiveFront := fa.UAC&triage.UACNotDelegated != 0

	vars, _ := delegationVars(h, nil)
	if fa.Domain != "" {
		vars[triage.PHDomain] = fa.Domain
	}
	f := triage.NewFinding(triage.DelegationResourceBased, vars)
	f.Evidence = append(f.Evidence, frontEvidence(h))
	f.Evidence = append(f.Evidence, backEvidence(h)...)
	for _, p := range h.proofs {
		f.Evidence = append(f.Evidence, proofEvidence(p))
	}

	s := fmt.Sprintf("%s may delegate its users to %s through resource-based constrained delegation: %s's msDS-AllowedToActOnBehalfOfOtherIdentity allows %s by its SID (%s)",
		frontName(h.path), backName(h.path), ba.Name(), fa.Name(), fa.SID)
	s += rbcdKDC(h, a)
	if len(both) > 0 {
		s += fmt.Sprintf("; its account also has constrained delegation to %s, which the KDC checks first: Microsoft says not to configure constrained delegation and RBCD on the same set of front-end and back-end servers",
			strings.Join(both, ", "))
	}
	if sensitiveFront {
		s += `; the front end's own account is marked "Account is sensitive and cannot be delegated", which must not be selected for resource-based delegation`
	}

	steps := []int{rbcdStepNothing}
	switch {
	case len(a.refused) > 0 && symptom:
		f.Severity = triage.Critical
		s += fmt.Sprintf("; SQL Server on %s refused logins with no user's identity, as a second hop whose delegation failed does", backName(h.path))
	case len(a.refused)+len(a.unprovable) > 0, sensitiveFront && len(a.issued) == 0:
		f.Severity = triage.Warning
	default:
		f.Severity = triage.Info
	}
	if f.Severity > triage.Info {
		steps = []int{rbcdStepRefused, rbcdStepRefused + 1, rbcdStepRefused + 2, rbcdStepFront, rbcdStepFront + 1}
	} else if sensitiveFront {
		steps = append(steps, rbcdStepFront)
	}
	if len(both) > 0 {
		steps = append(steps, rbcdStepBoth)
	}
	all := f.Remediation
	f.Remediation = nil
	for _, i := range steps {
		f.Remediation = append(f.Remediation, all[i])
	}
	f.Summary = s
	return f, true
}

// requiredSPNs returns the SPNs h's back end's clients ask for.
func requiredSPNs(h hop) []string {
	var out []string
	for _, r := range h.required {
		out = append(out, r.SPN)
	}
	return out
}

// rbcdKDC says, as a clause, what the KDC answered for a path that resource-based
// delegation allows.
func rbcdKDC(h hop, a rbcdAnswer) string {
	asked := len(a.issued) + len(a.refused) + len(a.unprovable)
	var s string
	switch {
	case len(a.refused) > 0:
		p := a.refused[0]
		s = fmt.Sprintf("; but the KDC, asked through the front end, refused %d of %s (for %s's ticket to %s: %s", len(a.refused),
			human.Count(asked, "ticket", "tickets"), p.User, p.SPN, refusalWords(p))
		if len(a.issued) > 0 {
			s += fmt.Sprintf(", while it issued %d", len(a.issued))
		}
		s += ")"
	case len(a.unprovable) > 0:
		s = "; the KDC's answer through the front end cannot prove it: " + a.unprovable[0].Unprovable
		if len(a.issued) > 0 {
			s += fmt.Sprintf(" (it issued %d of %s)", len(a.issued), human.Count(asked, "ticket", "tickets"))
		}
	case len(a.issued) > 0:
		s = fmt.Sprintf("; the KDC issued %s through the front end, so the path works", human.Count(len(a.issued), "ticket", "tickets"))
	case len(a.unasked) > 0:
		s = "; the KDC could not be asked, so only the directory says it: " + a.unasked[0].Err
	case a.others > 0:
		s = "; the KDC was asked only for users who cannot be delegated, or for an SPN it does not know, which other findings report"
	default:
		s = "; the KDC was not asked (the delegation check's detail says why), so only the directory says it"
	}
	return s
}

// refusalWords names the KDC's refusal: its Kerberos error, at which step, and its
// NTSTATUS with what it means.
func refusalWords(p triage.DelegationProof) string {
	s := proofCode(p)
	if p.Step == "s4u2self" {
		s = "at S4U2self, " + s
	}
	if p.NTStatus != "" {
		s += " with " + p.NTStatus
		if why := ntStatusMeaning[p.NTStatus]; why != "" {
			s += " (" + why + ")"
		}
	}
	return s
}
