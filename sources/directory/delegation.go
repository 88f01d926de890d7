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

// What the directory says of the accounts a delegation path (the second hop) depends
// on. Sources, besides those of triage/delegation.go and secdesc.go:
//   - "[MS-SFU] 3.2.1 Abstract Data Model" (in "3.2.5.1.2 KDC Replies with Service
//     Ticket", https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/ad98268b-f75b-42c3-b09b-959282770642):
//     the KDC reads ServicesAllowedToSendForwardedTicketsTo from msDS-AllowedToDelegateTo
//     and ServicesAllowedToReceiveForwardedTicketsFrom, a SECURITY_DESCRIPTOR, from
//     msDS-AllowedToActOnBehalfOfOtherIdentity.
//   - "Protected Users Security Group",
//     https://learn.microsoft.com/windows-server/security/credentials-protection-and-management/protected-users-security-group:
//     the group's SID is S-1-5-21-<domain>-525, and its members cannot "Delegate with
//     unconstrained or constrained delegation".

// Attributes read for Delegation (lower case, as attrs holds them).
const (
	atAllowedToDelegateTo  = "msds-allowedtodelegateto"
	atAllowedToActOnBehalf = "msds-allowedtoactonbehalfofotheridentity"
	atTokenGroups          = "tokengroups"
	atMemberOf             = "memberof"
	atMember               = "member"
	atPrimaryGroupID       = "primarygroupid"
)

// delegationAttributes are read from the account's own object by a base search:
// tokenGroups is a constructed attribute that a domain controller computes only in
// a base search.
var delegationAttributes = []string{
	"objectSid", "msDS-AllowedToDelegateTo", "msDS-AllowedToActOnBehalfOfOtherIdentity", "tokenGroups",
}

// principalAttributes are read of the principals a security descriptor names.
var principalAttributes = []string{"objectClass", "objectSid", "sAMAccountName"}

// maxSIDsPerSearch bounds the SIDs resolved by one search.
const maxSIDsPerSearch = 50

// Delegation returns what the directory says of the account name names (DOMAIN\sam,
// sam, sam@dns.domain or HOST$, as Account takes them) for a delegation path, in the
// role given ("front end", "back end", "user"), read from a domain controller:
//   - Account, as Account returns it (userAccountControl among the rest); nil when the
//     directory has no such account, with Err empty, or when the lookup failed, with
//     Err saying why;
//   - AllowedToDelegateTo, msDS-AllowedToDelegateTo as the directory holds it;
//   - AllowedToActOnBehalf and DeniedToActOnBehalf, from the DACL of the security
//     descriptor msDS-AllowedToActOnBehalfOfOtherIdentity holds (secdesc.go's
//     actOnBehalf says which ACEs count), each principal by SID, with its name
//     (DOMAIN\sam, or BUILTIN\name) when an object under the domain naming context
//     this Client reads has that objectSid; principals of other domains, found in no
//     such object, keep their SID alone;
//   - ProtectedUser, membership of the group whose SID is the account's domain SID
//     followed by -525 (Protected Users), directly or through nested groups.
//
// Err is empty when everything was read. Otherwise it says what could not be, and
// the fields that could be are filled: a malformed security descriptor leaves the
// ACE lists empty, and Err saying what is malformed; tokenGroups that the bind
// identity may not read leaves ProtectedUser false, and Err saying membership is
// unknown. An attribute the bind identity may not read is, to LDAP, an attribute the
// object does not have. Delegation never panics; it compares accounts by SID and DN
// only, and every value it puts in a filter is escaped.
func (c *Client) Delegation(ctx context.Context, name, role string) triage.DelegationAccount {
	d := triage.DelegationAccount{Role: role, Name: name}
	acct, err := c.Account(ctx, name)
	if errors.Is(err, ErrNotFound) {
		return d
	}
	if err != nil {
		d.Err = err.Error()
		return d
	}
	d.Account = &acct
	var r delegationRead
	err = c.do(ctx, c.dc, func(s *session) error {
		r = delegationRead{}
		return c.readDelegation(s, acct, &r)
	})
	if err != nil {
		d.Err = fmt.Sprintf("read the delegation settings of %s: %v", acct.DN, err)
		return d
	}
	r.fill(&d)
	return d
}

// delegationRead is what Delegation read of one account, and the problems it met.
type delegationRead struct {
	allowedTo       []string
	allowed, denied []triage.Principal
	protected       bool
	problems        []string
}

// fill copies r into d.
func (r *delegationRead) fill(d *triage.DelegationAccount) {
	d.AllowedToDelegateTo = r.allowedTo
	d.AllowedToActOnBehalf = r.allowed
	d.DeniedToActOnBehalf = r.denied
	d.ProtectedUser = r.protected
	d.Err = strings.Join(r.problems, "; ")
}

// readDelegation reads the delegation attributes of acct, its tokenGroups and the names
// of the principals its security descriptor names into r. Errors are those of LDAP;
// what the directory holds that cannot be decoded is a problem in r.
func (c *Client) readDelegation(s *session, acct triage.Account, r *delegationRead) error {
	entries, err := c.search(s, acct.DN, ldap.ScopeBaseObject, "(objectClass=*)", delegationAttributes, 1)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return fmt.Errorf("%s: %w", acct.DN, ErrNotFound)
	}
	e := entries[0]
	if err := c.completeRanges(s, e); err != nil {
		return err
	}
	a := attrsOf(e)
	if acct.SID != "" {
		if sid, err := decodeSID(a.first(atObjectSid)); err != nil || sid != acct.SID {
			return fmt.Errorf("the object at %s is no longer the account %s (objectSid %q)", acct.DN, acct.SID, sid)
		}
	}
	r.allowedTo = a[atAllowedToDelegateTo]

	if pu, err := protectedUsersSID(acct.SID); err != nil {
		r.problems = append(r.problems, err.Error())
	} else if groups := a[atTokenGroups]; len(groups) == 0 {
		// No value is read as no answer rather than as no group. [MS-ADTS]
		// 3.1.1.4.5.19 (below): "the tokenGroups
		// attribute is not present if no GC server is available to evaluate the
		// transitive reverse memberships".
		r.problems = append(r.problems, fmt.Sprintf("membership of Protected Users unknown: the domain controller returned no tokenGroups for %s (the bind identity may not read it, or no global catalog was there to compute it)", acct.DN))
	} else {
		// Microsoft's text is silent on how to test membership of Protected Users.
		// tokenGroups is "A computed attribute that contains the list of SIDs due to a
		// transitive group membership expansion operation on a given user or computer"
		// ("Token-Groups attribute",
		// https://learn.microsoft.com/windows/win32/adschema/a-tokengroups; "[MS-ADTS]
		// 3.1.1.4.5.19 tokenGroups, tokenGroupsNoGCAcceptable",
		// https://learn.microsoft.com/openspecs/windows_protocols/ms-adts/01002598-92db-4c59-822e-b22f53168c90):
		// the domain controller expands nested groups as it does for a logon token,
		// one base read answers, and the group is compared by SID, never by name.
		for _, v := range groups {
			sid, err := decodeSID(v)
			if err != nil {
				r.problems = append(r.problems, fmt.Sprintf("tokenGroups of %s: %v", acct.DN, err))
				break
			}
			if sid == pu {
				r.protected = true
			}
		}
	}

	raw, ok := a[atAllowedToActOnBehalf]
	if !ok || len(raw) == 0 {
		return nil
	}
	allowed, denied, err := decodeActOnBehalf(raw[0])
	if err != nil {
		r.problems = append(r.problems, fmt.Sprintf("msDS-AllowedToActOnBehalfOfOtherIdentity of %s: %v", acct.DN, err))
		return nil
	}
	names, err := c.principalNames(s, append(slices.Clone(allowed), denied...))
	if err != nil {
		return fmt.Errorf("resolve the principals of msDS-AllowedToActOnBehalfOfOtherIdentity: %w", err)
	}
	r.allowed, r.denied = principals(allowed, names), principals(denied, names)
	return nil
}

// principalNames returns the names of the objects of the domain whose objectSid is
// one of sids, keyed by SID. SIDs that name no object are left out.
func (c *Client) principalNames(s *session, sids []string) (map[string]string, error) {
	names := map[string]string{}
	if len(sids) == 0 {
		return names, nil
	}
	nc, err := c.namingContexts(s)
	if err != nil {
		return nil, err
	}
	netbios, err := c.netbiosNames(s)
	if err != nil {
		return nil, err
	}
	for chunk := range slices.Chunk(sids, maxSIDsPerSearch) {
		want := map[string]bool{}
		var filter strings.Builder
		filter.WriteString("(|")
		for _, sid := range chunk {
			b, err := encodeSID(sid)
			if err != nil {
				return nil, err
			}
			want[sid] = true
			filter.WriteString("(objectSid=" + escapeBytes(b) + ")")
		}
		filter.WriteString(")")
		found, err := c.accounts(s, nc.base, filter.String(), principalAttributes, netbios, 2*maxSIDsPerSearch,
			func(a triage.Account) bool { return want[a.SID] })
		if err != nil {
			return nil, err
		}
		for _, a := range found {
			if n := principalName(a); n != "" {
				names[a.SID] = n
			}
		}
	}
	return names, nil
}

// escapeBytes escapes every byte of a binary value for an LDAP filter, as RFC 4515
// allows any octet to be written: "\01\05\00...".
func escapeBytes(b []byte) string {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 3*len(b))
	for _, c := range b {
		out = append(out, '\\', hex[c>>4], hex[c&0xf])
	}
	return string(out)
}

// decodeActOnBehalf decodes a msDS-AllowedToActOnBehalfOfOtherIdentity value into
// the SIDs its DACL allows and denies.
func decodeActOnBehalf(v string) (allowed, denied []string, err error) {
	sd, err := parseSecurityDescriptor([]byte(v))
	if err != nil {
		return nil, nil, err
	}
	return sd.actOnBehalf()
}

// principals returns the principals of sids with their names.
func principals(sids []string, names map[string]string) []triage.Principal {
	var out []triage.Principal
	for _, sid := range sids {
		out = append(out, triage.Principal{SID: sid, Name: names[sid]})
	}
	return out
}

// principalName returns the name of a principal a descriptor names: DOMAIN\sam, or
// BUILTIN\sam for the built-in groups (SIDs S-1-5-32-...); "" for an object without
// sAMAccountName (a foreign security principal).
func principalName(a triage.Account) string {
	switch {
	case a.SAMAccountName == "":
		return ""
	case strings.HasPrefix(a.SID, "S-1-5-32-"):
		return `BUILTIN\` + a.SAMAccountName
	}
	return a.Name()
}

// protectedUsersSID returns the SID of the Protected Users group of the domain of the
// account whose SID is sid: the domain SID, S-1-5-21-x-y-z, followed by -525.
func protectedUsersSID(sid string) (string, error) {
	i := strings.LastIndexByte(sid, '-')
	if !strings.HasPrefix(sid, "S-1-5-21-") || i < len("S-1-5-21") || strings.Count(sid, "-") < 7 {
		return "", fmt.Errorf("membership of Protected Users unknown: %q is not the SID of a domain account", sid)
	}
	return sid[:i] + "-" + strconv.Itoa(triage.ProtectedUsersRID), nil
}
