package diagnosis

import (
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// secondHopNTLMRule reports NTLM on the first hop of a second hop
// (delegation.ntlm_first_hop): the triaged host is the front end of paths that need
// delegation, and the checker's own Windows login to it used NTLM, not Kerberos (what
// kerberos.ntlm_fallback reads). An NTLM logon gives the front end no ticket of the
// user to forward ("Troubleshoot consistent authentication issues": "A double-hop
// process will fail if NTLM credentials are used. Kerberos credentials are
// required."); the KDC can still delegate such a user through protocol transition,
// which the front end's account has with TRUSTED_TO_AUTH_FOR_DELEGATION, and always
// with resource-based delegation ("Kerberos Constrained Delegation Overview"). The
// finding is critical for a front end that has neither for some path, informational
// otherwise. One finding for each account of the host's front ends.
type secondHopNTLMRule struct{}

func (secondHopNTLMRule) Name() string { return "second-hop-ntlm" }

func (secondHopNTLMRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	var ntlm []triage.Evidence
	for _, l := range obs.SQL {
		if l.OK && strings.EqualFold(l.AuthScheme, "NTLM") {
			ntlm = append(ntlm, triage.Evidence{Check: "sql", Source: triage.SourceSQL,
				Text: fmt.Sprintf("login to %s (%s) succeeded with auth_scheme NTLM: the first hop used no Kerberos ticket", l.Instance, l.Address)})
		}
	}
	if len(ntlm) == 0 {
		return nil
	}
	type front struct {
		account string
		hs      []hop
		cannot  []string // back ends it cannot reach for an NTLM caller
	}
	var order []*front
	byAccount := map[string]*front{}
	for _, h := range hops(t, obs) {
		if !isHost(t, h.path.FrontEnd) {
			continue
		}
		k := strings.ToLower(h.path.Account)
		fr := byAccount[k]
		if fr == nil {
			fr = &front{account: h.path.Account}
			byAccount[k] = fr
			order = append(order, fr)
		}
		fr.hs = append(fr.hs, h)
		if !transitions(h) {
			fr.cannot = append(fr.cannot, backName(h.path))
		}
	}
	n := namesFor(t, obs)
	var out []triage.Finding
	for _, fr := range order {
		var backs []string
		for _, h := range fr.hs {
			backs = append(backs, backName(h.path))
		}
		backs = distinct(backs)
		vars := n.with(triage.PHBackEnd, human.List(backs))
		delete(vars, triage.PHSam)
		delete(vars, triage.PHSetAD)
		if h := fr.hs[0]; h.front != nil && h.front.Account != nil && !broadSID(h.front.Account.SID) {
			vars[triage.PHSam] = h.front.Account.SAMAccountName
			vars[triage.PHSetAD] = setCmdlet(*h.front.Account)
		}
		f := triage.NewFinding(triage.DelegationNTLMFirstHop, vars)
		f.Evidence = append(f.Evidence, ntlm...)
		for _, h := range fr.hs {
			if h.front != nil && h.front.Account != nil {
				f.Evidence = append(f.Evidence, frontEvidence(h))
				break
			}
		}
		f.Summary = fmt.Sprintf("Windows logins to %s, the front end (%s) of %s, use NTLM: the first hop is not Kerberos, so the front end has no ticket of the user to forward",
			t.Host, fr.account, human.List(backs))
		if cannot := distinct(fr.cannot); len(cannot) > 0 {
			f.Summary += fmt.Sprintf(", and its account may not use protocol transition to reach %s, so users who reach it with NTLM are not delegated there", human.List(cannot))
		} else {
			f.Severity = triage.Info
			f.Summary += "; its account may use protocol transition for every path, so the KDC delegates them all the same"
			f.Remediation = f.Remediation[:1] // it has protocol transition already
		}
		out = append(out, f)
	}
	return out
}

// transitions reports whether the KDC lets h's front end delegate a user who reached
// it without Kerberos: its account has protocol transition and may delegate, or the
// back end's account allows it resource-based delegation. A front end whose account
// was not read is taken as one that cannot.
func transitions(h hop) bool {
	if h.front == nil || h.front.Account == nil {
		return false
	}
	fa := *h.front.Account
	if rbcd, denied := resourceBased(h.back, fa); rbcd && !denied {
		return true
	}
	return fa.UAC&triage.UACTrustedToAuthForDelegation != 0 && len(h.front.AllowedToDelegateTo) > 0
}
