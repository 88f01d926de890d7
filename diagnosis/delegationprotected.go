package diagnosis

import (
	"fmt"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// delegationProtectedRule reports the users whom the directory protects from
// delegation (a member of Protected Users, or NOT_DELEGATED) and whose ticket to a back
// end the KDC nevertheless issued through a front end (delegation.protection_not_enforced):
// the path works, but only while the KDC does not apply the protection.
// delegationUserRule leaves these users alone, since the ticket was issued.
//
// For Protected Users that is the functional level: "[MS-KILE] 3.3.5.1 Request Flag
// Ticket-issuing Behavior",
// https://learn.microsoft.com/openspecs/windows_protocols/ms-kile/f5993d64-a280-4555-9fcc-922fb934fc27,
// has the KDC make no forwardable ticket for a member "if domainControllerFunctionality
// returns a value >= 6" (DS_BEHAVIOR_WIN2012R2); "Protected Users Security Group",
// https://learn.microsoft.com/windows-server/security/credentials-protection-and-management/protected-users-security-group,
// says "The domain functional level must be Windows Server 2012 R2 or later" and that
// "Domain controllers running earlier versions of Windows Server 2012 R2 don't support
// domain protections"; "Forest and Domain Functional Levels",
// https://learn.microsoft.com/windows-server/identity/ad-ds/active-directory-functional-levels,
// lists them under the Windows Server 2012 R2 domain functional level. The test
// domain's KDC (Samba 4.17, functional level 2008 R2) issues carol's ticket so
// (internal/testdomain, Proofs). For NOT_DELEGATED the same section applies at every
// level, so a ticket issued means the KDC did not apply what the directory read shows.
type delegationProtectedRule struct{}

func (delegationProtectedRule) Name() string { return "delegation-protected" }

func (delegationProtectedRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	hs := hops(t, obs)
	d := obs.Delegation
	if len(hs) == 0 || d == nil {
		return nil
	}
	var out []triage.Finding
	for i := range d.Accounts {
		u := &d.Accounts[i]
		if u.Role != triage.RoleUser {
			continue
		}
		sensitive, why := userSensitive(*u)
		if !sensitive {
			continue
		}
		var issued []triage.DelegationProof
		var fronts, backs []string
		for _, h := range hs {
			for _, p := range h.proofs {
				if p.ProxyIssued && userOf(d, p.User) == u {
					issued = append(issued, p)
					fronts = append(fronts, frontName(h.path))
					backs = append(backs, backName(h.path))
				}
			}
		}
		if len(issued) == 0 {
			continue
		}
		name := u.Account.Name()
		front, back := human.List(distinct(fronts)), human.List(distinct(backs))
		f := triage.NewFinding(triage.DelegationProtectionNotEnforced, map[string]string{
			triage.PHUser: name, triage.PHFrontEnd: front, triage.PHBackEnd: back})
		for _, w := range why {
			f.Evidence = append(f.Evidence, triage.Evidence{Check: checkDelegation, Source: triage.SourceDirectory, Text: w})
		}
		for _, p := range issued {
			f.Evidence = append(f.Evidence, proofEvidence(p))
		}
		if u.Account.UAC&triage.UACNotDelegated != 0 {
			f.Summary = fmt.Sprintf(`%s is marked "Account is sensitive and cannot be delegated", yet the KDC issued its ticket to %s through %s: a KDC makes no forwardable ticket for such an account at any functional level ([MS-KILE] 3.3.5.1), so the KDC that answered did not apply what the directory read shows; the path stops working for %s once it does`,
				name, back, front, name)
			if u.ProtectedUser {
				f.Summary += "; the account is a member of Protected Users as well"
			}
		} else {
			f.Summary = fmt.Sprintf("%s is a member of Protected Users, yet the KDC issued its ticket to %s through %s: the path works only because the KDC does not apply that group's protection against delegation, which domain controllers apply from the Windows Server 2012 R2 functional level ([MS-KILE] 3.3.5.1); it stops working for %s once the domain controllers run Windows Server 2012 R2 or later and the domain's functional level is raised to it",
				name, back, front, name)
		}
		out = append(out, f)
	}
	return out
}
