package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/authtriage/authtriage/triage"
)

// ldifPrincipals are the security principals of an export (its accounts and groups)
// by SID and DN, with what Delegation reads of them. Keys are SIDs in S-1-... form
// and DNs as normDN gives them.
type ldifPrincipals struct {
	list  []ldifPrincipal
	bySID map[string][]int
	byDN  map[string]int
	// groupsOf maps a principal's DN to the DNs of the groups it is a direct member
	// of, from its memberOf and from the groups' member values.
	groupsOf map[string][]string
	// membership is true when the export holds any memberOf or member value.
	membership bool
}

// An ldifPrincipal is an account or group of an export.
type ldifPrincipal struct {
	dn, sid, sam, domain string
	line                 int      // of its dn: in the export
	primaryGroupID       int      // 0 when absent
	allowedTo            []string // msDS-AllowedToDelegateTo
	actOnBehalf          []string // msDS-AllowedToActOnBehalfOfOtherIdentity
}

// add keeps the principal rec, an account or a group of the export lr reads.
func (p *ldifPrincipals) add(lr *ldifReader, rec *ldifRecord) error {
	if p.byDN == nil {
		p.bySID, p.byDN, p.groupsOf = map[string][]int{}, map[string]int{}, map[string][]string{}
	}
	dn := normDN(rec.dn)
	if i, dup := p.byDN[dn]; dup {
		return lr.errorf(rec.line, "dn %q repeats the entry of line %d", rec.dn, p.list[i].line)
	}
	if len(p.list) >= 2*maxLDIFEntries {
		return lr.errorf(rec.line, "more than %d accounts and groups", 2*maxLDIFEntries)
	}
	a := rec.attrs
	pr := ldifPrincipal{
		dn:          rec.dn,
		line:        rec.line,
		sam:         a.first(atSAMAccountName),
		allowedTo:   a[atAllowedToDelegateTo],
		actOnBehalf: a[atAllowedToActOnBehalf],
	}
	var err error
	if pr.domain, err = domainOfDN(rec.dn); err != nil {
		return lr.errorf(rec.line, "distinguishedName %q: %v", rec.dn, err)
	}
	if v := a.first(atObjectSid); v != "" {
		if pr.sid, err = decodeSID(v); err != nil {
			return lr.errorf(rec.line, "objectSid of %q: %v", rec.dn, err)
		}
	}
	if v := a.first(atPrimaryGroupID); v != "" {
		if pr.primaryGroupID, err = decodeInt32(v); err != nil {
			return lr.errorf(rec.line, "primaryGroupID of %q: %v", rec.dn, err)
		}
	}
	i := len(p.list)
	p.list = append(p.list, pr)
	p.byDN[dn] = i
	if pr.sid != "" {
		p.bySID[pr.sid] = append(p.bySID[pr.sid], i)
	}
	for _, g := range a[atMemberOf] {
		p.groupsOf[dn] = append(p.groupsOf[dn], normDN(g))
		p.membership = true
	}
	for _, m := range a[atMember] {
		m = normDN(m)
		p.groupsOf[m] = append(p.groupsOf[m], dn)
		p.membership = true
	}
	return nil
}

// normDN returns dn in the form DNs of an export are compared in: parsed and
// rendered again in lower case, so that spacing and case do not matter; dn in lower
// case when it does not parse.
func normDN(dn string) string {
	if parsed, err := ldap.ParseDN(dn); err == nil {
		return strings.ToLower(parsed.String())
	}
	return strings.ToLower(dn)
}

// Delegation returns what the export says of the account name names for a
// delegation path, in the role given, as Client.Delegation does, with these
// differences:
//   - The names of the principals a security descriptor names are those of the
//     export's accounts and groups with that objectSid.
//   - Membership of Protected Users is read from the export: the group is the one
//     whose objectSid is the account's domain SID followed by -525, and the account is
//     a member when a chain of memberOf values (or of the groups' member values, or
//     the account's primaryGroupID) leads from it to that group within the export.
//     Microsoft's text is silent on how to test membership; an export has no
//     tokenGroups (a domain controller computes it only for a base search), so the
//     links it holds are followed, compared by DN. An export without that group, or
//     without any memberOf or member value, cannot show that the account is not a
//     member: Err then says so.
func (l *LDIF) Delegation(ctx context.Context, name, role string) triage.DelegationAccount {
	d := triage.DelegationAccount{Role: role, Name: name}
	acct, err := l.Account(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return d
	}
	if err != nil {
		d.Err = err.Error()
		return d
	}
	d.Account = &acct
	i, ok := l.principals.byDN[normDN(acct.DN)]
	if !ok {
		d.Err = fmt.Sprintf("the LDIF %s holds no principal at %s", l.name, acct.DN)
		return d
	}
	p := l.principals.list[i]
	r := delegationRead{allowedTo: slices.Clone(p.allowedTo)}
	protected, err := l.protectedUser(p)
	if err != nil {
		r.problems = append(r.problems, err.Error())
	}
	r.protected = protected
	if len(p.actOnBehalf) > 0 {
		allowed, denied, err := decodeActOnBehalf(p.actOnBehalf[0])
		if err != nil {
			r.problems = append(r.problems, fmt.Sprintf("msDS-AllowedToActOnBehalfOfOtherIdentity of %s: %v", acct.DN, err))
		} else {
			names := l.principalNames(append(slices.Clone(allowed), denied...))
			r.allowed, r.denied = principals(allowed, names), principals(denied, names)
		}
	}
	r.fill(&d)
	return d
}

// principalNames returns the names of the export's principals whose objectSid is one
// of sids, keyed by SID.
func (l *LDIF) principalNames(sids []string) map[string]string {
	names := map[string]string{}
	for _, sid := range sids {
		for _, i := range l.principals.bySID[sid] {
			p := l.principals.list[i]
			a := triage.Account{SID: p.sid, SAMAccountName: p.sam, Domain: p.domain, NetBIOSDomain: l.netbios[p.domain]}
			if n := principalName(a); n != "" {
				names[sid] = n
				break
			}
		}
	}
	return names
}

// protectedUser reports whether the export shows p a member of its domain's Protected
// Users group; the error says why the export cannot tell.
func (l *LDIF) protectedUser(p ldifPrincipal) (bool, error) {
	pu, err := protectedUsersSID(p.sid)
	if err != nil {
		return false, err
	}
	domainSID := strings.TrimSuffix(pu, "-"+strconv.Itoa(triage.ProtectedUsersRID))
	var group string
	for _, i := range l.principals.bySID[pu] {
		group = normDN(l.principals.list[i].dn)
	}
	if group == "" {
		return false, fmt.Errorf("membership of Protected Users unknown: the LDIF %s holds no group with objectSid %s", l.name, pu)
	}
	start := normDN(p.dn)
	queue := []string{start}
	if p.primaryGroupID != 0 {
		for _, i := range l.principals.bySID[domainSID+"-"+strconv.Itoa(p.primaryGroupID)] {
			queue = append(queue, normDN(l.principals.list[i].dn))
		}
	}
	seen := map[string]bool{}
	for len(queue) > 0 {
		dn := queue[0]
		queue = queue[1:]
		if dn == group {
			return true, nil
		}
		if seen[dn] {
			continue
		}
		seen[dn] = true
		queue = append(queue, l.principals.groupsOf[dn]...)
	}
	if !l.principals.membership {
		return false, fmt.Errorf("membership of Protected Users unknown: the LDIF %s holds no memberOf or member values (was it exported without them?)", l.name)
	}
	return false, nil
}
