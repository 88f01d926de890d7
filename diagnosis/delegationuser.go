package diagnosis

import (
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// delegationUserRule reports the users whose identity no front end can delegate
// (delegation.user_sensitive): the directory shows the account marked "Account is
// sensitive and cannot be delegated" (NOT_DELEGATED) or a member of Protected Users,
// or the KDC, asked through a front end whose account has protocol transition, made
// the user's S4U2self ticket not forwardable, which [MS-SFU] 3.2.5.1.2 says it does
// for an account that cannot be delegated ("If the DelegationNotAllowed parameter on
// the principal is set, then the KDC SHOULD NOT set the FORWARDABLE ticket flag"; with
// TrustedToAuthenticationForDelegation it "MUST set" it otherwise). A ticket the KDC
// issued for the user through a front end clears the doubt: delegationProtectedRule
// reports such a user instead.
//
// Sources: "[MS-SFU] 3.2.5.1.2 KDC Replies with Service Ticket",
// https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/ad98268b-f75b-42c3-b09b-959282770642;
// "[MS-KILE] 3.3.5.1 Request Flag Ticket-issuing Behavior",
// https://learn.microsoft.com/openspecs/windows_protocols/ms-kile/f5993d64-a280-4555-9fcc-922fb934fc27
// (members of Protected Users get no forwardable tickets); "Protected Users Security
// Group",
// https://learn.microsoft.com/windows-server/security/credentials-protection-and-management/protected-users-security-group.
type delegationUserRule struct{}

func (delegationUserRule) Name() string { return "delegation-user" }

// A blockedUser is a user the rule reports, with why.
type blockedUser struct {
	name      string
	evidence  []triage.Evidence
	sensitive bool // the directory shows NOT_DELEGATED
	protected bool // the directory shows membership of Protected Users
	byKDC     bool // only the KDC's answer shows it
}

func (delegationUserRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	hs := hops(t, obs)
	d := obs.Delegation
	if len(hs) == 0 || d == nil {
		return nil
	}
	issuedFor := func(u *triage.DelegationAccount) bool {
		for _, h := range hs {
			for _, p := range h.proofs {
				if p.ProxyIssued && userOf(d, p.User) == u {
					return true
				}
			}
		}
		return false
	}
	var users []*blockedUser
	byAccount := map[*triage.DelegationAccount]*blockedUser{}
	for i := range d.Accounts {
		u := &d.Accounts[i]
		if u.Role != triage.RoleUser {
			continue
		}
		sensitive, why := userSensitive(*u)
		if !sensitive || issuedFor(u) {
			continue
		}
		b := &blockedUser{name: u.Account.Name(), sensitive: u.Account.UAC&triage.UACNotDelegated != 0, protected: u.ProtectedUser}
		for _, w := range why {
			b.evidence = append(b.evidence, triage.Evidence{Check: checkDelegation, Source: triage.SourceDirectory, Text: w})
		}
		users = append(users, b)
		byAccount[u] = b
	}
	byName := map[string]*blockedUser{}
	for _, h := range hs {
		ta := h.front != nil && h.front.Account != nil && h.front.Account.UAC&triage.UACTrustedToAuthForDelegation != 0
		for _, p := range h.proofs {
			if !refused(p) {
				continue
			}
			u := userOf(d, p.User)
			if b := byAccount[u]; b != nil && u != nil {
				b.evidence = append(b.evidence, proofEvidence(p))
				continue
			}
			if !ta || !p.SelfIssued || p.SelfForwardable || (u != nil && issuedFor(u)) {
				continue
			}
			key := strings.ToLower(p.User)
			b := byName[key]
			if b == nil {
				b = &blockedUser{name: p.User, byKDC: true}
				if u != nil && u.Account != nil {
					b.name = u.Account.Name()
					b.evidence = append(b.evidence, triage.Evidence{Check: checkDelegation, Source: triage.SourceDirectory,
						Text: fmt.Sprintf("The directory shows %s neither marked sensitive nor in Protected Users%s", u.Account.Name(), readProblem(u))})
				}
				byName[key] = b
				users = append(users, b)
			}
			b.evidence = append(b.evidence, proofEvidence(p))
		}
	}

	var backs []string
	for _, h := range hs {
		backs = append(backs, backName(h.path))
	}
	backs = distinct(backs)
	var out []triage.Finding
	for _, b := range users {
		f := triage.NewFinding(triage.DelegationUserSensitive, map[string]string{triage.PHUser: b.name, triage.PHBackEnd: human.List(backs)})
		f.Evidence = b.evidence
		if b.byKDC {
			f.Summary = fmt.Sprintf("%s cannot be delegated to %s: the KDC made its ticket to a front end with protocol transition not forwardable, which it does for an account that is sensitive or in Protected Users; the directory read does not show which",
				b.name, human.List(backs))
		} else {
			f.Summary = fmt.Sprintf("%s cannot be delegated: the account is %s, so no front end can act for it on %s", b.name, sensitiveWhy(b), human.List(backs))
		}
		out = append(out, f)
	}
	return out
}

// sensitiveWhy says in a few words why the directory shows a user as one that cannot
// be delegated.
func sensitiveWhy(b *blockedUser) string {
	var why []string
	if b.sensitive {
		why = append(why, `marked "Account is sensitive and cannot be delegated"`)
	}
	if b.protected {
		why = append(why, "a member of Protected Users")
	}
	return human.List(why)
}

// readProblem says what the directory check could not read of an account, as a
// clause, or "".
func readProblem(u *triage.DelegationAccount) string {
	if u.Err == "" {
		return ""
	}
	return " (not everything could be read: " + u.Err + ")"
}
