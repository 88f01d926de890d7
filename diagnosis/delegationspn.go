package diagnosis

import (
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// delegationBackendSPNRule reports a back-end SPN the KDC does not know
// (delegation.backend_spn_missing): asked through a front end for a user's ticket to
// it (S4U2proxy), the KDC answered KDC_ERR_S_PRINCIPAL_UNKNOWN, "the KDC found no
// account with this service principal name" (triage's table). When the triaged host is
// that back end and the directory shows the SPN on no account, spnRule reports it as
// spn.missing and this rule stays silent.
type delegationBackendSPNRule struct{}

func (delegationBackendSPNRule) Name() string { return "delegation-backend-spn" }

// kdcErrSPrincipalUnknown is KDC_ERR_S_PRINCIPAL_UNKNOWN (RFC 4120 section 7.5.9).
const kdcErrSPrincipalUnknown = 0x7

func (delegationBackendSPNRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	type missing struct {
		h      hop
		spn    string
		fronts []string
		proofs []triage.DelegationProof
	}
	var order []*missing
	bySPN := map[string]*missing{}
	for _, h := range hops(t, obs) {
		for _, p := range h.proofs {
			if !refused(p) || p.Step != "s4u2proxy" || p.KDCError != kdcErrSPrincipalUnknown || ownerless(t, obs, h, p.SPN) {
				continue
			}
			k := strings.ToLower(p.SPN)
			m := bySPN[k]
			if m == nil {
				m = &missing{h: h, spn: p.SPN}
				bySPN[k] = m
				order = append(order, m)
			}
			m.fronts = append(m.fronts, frontName(h.path))
			m.proofs = append(m.proofs, p)
		}
	}
	var out []triage.Finding
	for _, m := range order {
		vars, _ := delegationVars(m.h, nil)
		vars[triage.PHSPN] = m.spn
		vars[triage.PHFrontEnd] = human.List(distinct(m.fronts))
		if vars[triage.PHAccount] == "" && m.h.path.BackEndAccount != "" {
			vars[triage.PHAccount] = m.h.path.BackEndAccount
		}
		f := triage.NewFinding(triage.DelegationBackendSPNMissing, vars)
		for _, p := range m.proofs {
			f.Evidence = append(f.Evidence, proofEvidence(p))
		}
		f.Summary = fmt.Sprintf("%s of %s is registered on no account the KDC knows: asked for a user's ticket to it through %s, the KDC answered KDC_ERR_S_PRINCIPAL_UNKNOWN",
			m.spn, backName(m.h.path), vars[triage.PHFrontEnd])
		if vars[triage.PHAccount] == "" {
			f.Summary += "; the back end's service account is not known, so give it to have the exact command"
		}
		out = append(out, f)
	}
	return out
}

// ownerless reports whether the triaged host is h's back end and the directory shows
// spn on no account: spnRule's spn.missing.
func ownerless(t triage.Target, obs triage.Observations, h hop, spn string) bool {
	if !isHost(t, h.path.BackEnd) || obs.Directory == nil {
		return false
	}
	for _, so := range obs.Directory.SPNs {
		if strings.EqualFold(so.SPN, spn) {
			return len(so.Owners) == 0
		}
	}
	return false
}
