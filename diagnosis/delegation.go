package diagnosis

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// The second hop: what the rules of delegation*.go and secondhop*.go share. They read
// Observations.Delegation (the check "delegation": the paths of the triaged host as
// front end or back end, what the directory says of their accounts, the KDC's answers
// when asked through the front end) with the host's own evidence.
//
// Sources for what the KDC does, besides those of triage/delegation.go:
//   - "[MS-SFU] 3.2.5.2.1 Using ServicesAllowedToSendForwardedTicketsTo",
//     https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/6d76bf10-3c48-4e14-9992-df1bd456455e:
//     the KDC checks whether the SPN of Service 2 "is in the Service 1 account's
//     ServicesAllowedToSendForwardedTicketsTo" (msDS-AllowedToDelegateTo), else
//     returns KRB-ERR-BADOPTION; a ticket in additional-tickets that is not forwardable
//     is refused the same way, unless resource-based delegation applies.
//   - "[MS-SFU] 3.2.5.2.3 Using ServicesAllowedToReceiveForwardedTicketsFrom",
//     https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/dd1b47f9-580c-4c4e-8f34-4485b9728331:
//     resource-based delegation, the back end's msDS-AllowedToActOnBehalfOfOtherIdentity,
//     is checked when constrained delegation did not allow the request.
//   - "[MS-SFU] 3.2.5.1.2 KDC Replies with Service Ticket",
//     https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/ad98268b-f75b-42c3-b09b-959282770642:
//     the S4U2self ticket is forwardable only when the front end's account has
//     TrustedToAuthenticationForDelegation (TRUSTED_TO_AUTH_FOR_DELEGATION) and the
//     user is not DelegationNotAllowed (NOT_DELEGATED).
//   - "Kerberos authentication troubleshooting guidance",
//     https://learn.microsoft.com/troubleshoot/windows-server/windows-security/kerberos-authentication-troubleshooting-guidance:
//     "the KDC first checks the front-end service for constrained delegation. If
//     constrained delegation is not configured for the front-end service, the KDC
//     checks the back-end service for resource-based constrained delegation."
//   - "Kerberos Constrained Delegation Overview",
//     https://learn.microsoft.com/windows-server/security/kerberos/kerberos-constrained-delegation-overview:
//     "The KDC always allows protocol transition when performing resource-based
//     constrained delegation as though the bit were set."
//
// How the KDC compares a requested SPN with msDS-AllowedToDelegateTo, Microsoft does
// not say. Samba's KDC compares the whole name without the realm, ignoring case
// (samba_kdc_check_s4u2proxy); the rules compare so, which makes
// MSSQLSvc/host.corp.example and MSSQLSvc/host.corp.example:1433 different services.

// checkDelegation is the check whose facts the second hop's rules read.
const checkDelegation = "delegation"

// A hop is one delegation path as the rules see it: the path, what the directory says
// of its front end's and back end's accounts, the SPNs its back end's clients ask for
// and the KDC's answers for it.
type hop struct {
	path  triage.DelegationPath
	front *triage.DelegationAccount // nil when not read
	back  *triage.DelegationAccount // the back end's service account; nil when not read or not known
	// required are the SPNs the back end's clients ask for, TCP forms first; nil when
	// the back end's FQDN is not known.
	required []triage.SPNRequirement
	proofs   []triage.DelegationProof
}

// hops returns the paths of obs that need delegation (SelfCredential), each once.
func hops(t triage.Target, obs triage.Observations) []hop {
	d := obs.Delegation
	if d == nil {
		return nil
	}
	var out []hop
	for _, p := range d.Paths {
		if !p.SelfCredential || slices.ContainsFunc(out, func(h hop) bool { return h.path == p }) {
			continue
		}
		h := hop{path: p, front: d.Find(triage.RoleFrontEnd, p.Account)}
		h.back = backEndAccount(d, p)
		h.required = backEndTarget(t, p, h.back).SPNRequirements()
		for _, pr := range d.Proofs {
			if pr.Path == p {
				h.proofs = append(h.proofs, pr)
			}
		}
		out = append(out, h)
	}
	return out
}

// backEndAccount returns what the directory says of p's back end's service account:
// the one the path names, else the one back-end account that holds an MSSQLSvc SPN
// of p's back end.
func backEndAccount(d *triage.DelegationFacts, p triage.DelegationPath) *triage.DelegationAccount {
	if p.BackEndAccount != "" {
		return d.Find(triage.RoleBackEnd, p.BackEndAccount)
	}
	var found *triage.DelegationAccount
	for i, a := range d.Accounts {
		if a.Role != triage.RoleBackEnd || a.Account == nil || !slices.ContainsFunc(a.Account.SPNs, func(spn string) bool { return spnNamesHost(spn, p.BackEnd) }) {
			continue
		}
		if found != nil && !found.Account.SameAs(*a.Account) {
			return nil
		}
		found = &d.Accounts[i]
	}
	return found
}

// backEndTarget returns p's back end as a target, with its FQDN when known: the
// path's, the triaged host's when it is the back end, the back end's name when it has
// a dot, else the one host of the back-end account's MSSQLSvc SPNs that has the back
// end's name as its first label.
func backEndTarget(t triage.Target, p triage.DelegationPath, back *triage.DelegationAccount) triage.Target {
	bt := triage.Target{Host: p.BackEnd, FQDN: p.BackEndFQDN}
	if p.Instance != (triage.Instance{}) {
		bt.Instances = []triage.Instance{p.Instance}
	}
	switch {
	case bt.FQDN != "":
	case isHost(t, p.BackEnd) && t.FQDN != "":
		bt.FQDN = t.FQDN
	case strings.Contains(p.BackEnd, "."):
		if _, err := netip.ParseAddr(p.BackEnd); err != nil {
			bt.FQDN = p.BackEnd
		}
	case back != nil && back.Account != nil:
		for _, spn := range back.Account.SPNs {
			host := spnHost(spn)
			if short, _, ok := strings.Cut(host, "."); ok && strings.EqualFold(short, p.BackEnd) {
				if bt.FQDN != "" && !strings.EqualFold(bt.FQDN, host) {
					bt.FQDN = ""
					break
				}
				bt.FQDN = strings.ToLower(host)
			}
		}
	}
	return bt
}

// spnHost returns the host of an MSSQLSvc SPN, "" for another class.
func spnHost(spn string) string {
	rest, ok := cutPrefixFold(spn, "MSSQLSvc/")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, ":")
	return host
}

// spnNamesHost reports whether spn is an MSSQLSvc SPN of host, by its full name or,
// for a host named by one label, by its first label.
func spnNamesHost(spn, host string) bool {
	h := spnHost(spn)
	if h == "" || host == "" {
		return false
	}
	short, _, _ := strings.Cut(h, ".")
	return strings.EqualFold(h, host) || (!strings.Contains(host, ".") && strings.EqualFold(short, host))
}

// isHost reports whether name, as a path names a front or back end, is the triaged
// host: its inventory name or FQDN, or a single label that is its short name.
func isHost(t triage.Target, name string) bool {
	switch {
	case name == "":
		return false
	case strings.EqualFold(name, t.Host), t.FQDN != "" && strings.EqualFold(name, t.FQDN):
		return true
	case !strings.Contains(name, "."):
		return strings.EqualFold(name, t.ShortName())
	}
	return false
}

// allowedTo reports whether msDS-AllowedToDelegateTo lists spn, compared as Samba's
// KDC compares (see the package comment above): the whole name, ignoring case.
func allowedTo(list []string, spn string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), spn) })
}

// resourceBased says what the back end's msDS-AllowedToActOnBehalfOfOtherIdentity
// says of the front end's account, by SID: allowed by an access-allowed ACE, denied by
// an access-denied one. Unknown SIDs allow nothing.
func resourceBased(back *triage.DelegationAccount, front triage.Account) (allowed, denied bool) {
	if back == nil || front.SID == "" {
		return false, false
	}
	is := func(p triage.Principal) bool { return strings.EqualFold(p.SID, front.SID) }
	return slices.ContainsFunc(back.AllowedToActOnBehalf, is), slices.ContainsFunc(back.DeniedToActOnBehalf, is)
}

// frontName names a path's front end: "sqlfe (CORP\svc_web)", or its account alone.
func frontName(p triage.DelegationPath) string {
	if p.FrontEnd != "" {
		return p.FrontEnd + " (" + p.Account + ")"
	}
	return p.Account
}

// backName names a path's back end: "sqlbe", "sqlbe\SALES".
func backName(p triage.DelegationPath) string {
	if in := p.Instance; !in.IsDefault() {
		return p.BackEnd + `\` + in.Name
	}
	return p.BackEnd
}

// distinct returns names once each, ignoring case, in order.
func distinct(names []string) []string {
	var out []string
	for _, n := range names {
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, n) }) {
			out = append(out, n)
		}
	}
	return out
}

// delegationVars returns the names a finding about h is filled with: the front end's
// account for the commands that change it, the back end's SPNs spns, the back end's
// account and, when the directory read its msDS-AllowedToActOnBehalfOfOtherIdentity
// and that denies the front end nothing, the principals it allows followed by the front
// end: -PrincipalsAllowedToDelegateToAccount replaces the list, so the command must
// name them all, and is given no value when they are not known. Nor is it when the
// list holds a principal that stands for anyone (broadSID): a fix never writes one;
// note then says so, for the finding's summary. A front end whose account is such a
// principal gets no command at all.
func delegationVars(h hop, spns []string) (map[string]string, string) {
	v := map[string]string{
		triage.PHFrontEnd: frontName(h.path),
		triage.PHBackEnd:  backName(h.path),
		triage.PHSPNs:     triage.ListValue(spns...),
	}
	if len(spns) == 0 {
		delete(v, triage.PHSPNs)
	}
	var fa *triage.Account
	if h.front != nil && h.front.Account != nil && !broadSID(h.front.Account.SID) {
		fa = h.front.Account
		v[triage.PHSam] = fa.SAMAccountName
		v[triage.PHSetAD] = setCmdlet(*fa)
	}
	if h.back == nil || h.back.Account == nil {
		return v, ""
	}
	ba := h.back.Account
	v[triage.PHBackEndSam] = ba.SAMAccountName
	v[triage.PHBackEndSetAD] = setCmdlet(*ba)
	v[triage.PHAccount] = ba.Name()
	if fa == nil || h.back.Err != "" {
		return v, ""
	}
	if _, denied := resourceBased(h.back, *fa); denied {
		return v, ""
	}
	var principals []string
	for _, p := range h.back.AllowedToActOnBehalf {
		if !triage.ValidSID(p.SID) {
			return v, fmt.Sprintf("; %s's msDS-AllowedToActOnBehalfOfOtherIdentity names a principal whose SID could not be read, so no command here writes that list back", ba.Name())
		}
		if broadSID(p.SID) {
			return v, fmt.Sprintf("; %s's msDS-AllowedToActOnBehalfOfOtherIdentity allows %s, which stands for any user or computer: no command here writes that list back, have an administrator review it",
				ba.Name(), cmp.Or(p.Name, p.SID))
		}
		principals = append(principals, p.SID)
	}
	me := fa.SID
	if me == "" {
		me = fa.SAMAccountName
	}
	if !slices.ContainsFunc(principals, func(s string) bool { return strings.EqualFold(s, me) }) {
		principals = append(principals, me)
	}
	v[triage.PHPrincipals] = triage.ListValue(principals...)
	return v, ""
}

// broadSID reports whether sid stands for anyone, any user or any computer: Everyone
// (World), Anonymous Logon, Network, Interactive, Authenticated Users, the built-in
// Users and Guests, and a domain's Guest, Domain Users, Domain Guests and Domain
// Computers ("Understand security identifiers", Well-known SIDs,
// https://learn.microsoft.com/windows-server/identity/ad-ds/manage/understand-security-identifiers).
func broadSID(sid string) bool {
	switch sid {
	case "S-1-1-0", "S-1-5-7", "S-1-5-2", "S-1-5-4", "S-1-5-11", "S-1-5-32-545", "S-1-5-32-546":
		return true
	}
	if rest, ok := strings.CutPrefix(sid, "S-1-5-21-"); ok {
		i := strings.LastIndexByte(rest, '-')
		switch rest[i+1:] {
		case "501", "513", "514", "515":
			return true
		}
	}
	return false
}

// frontEvidence describes what the directory says of a front end's account.
func frontEvidence(h hop) triage.Evidence {
	ev := triage.Evidence{Check: checkDelegation, Source: triage.SourceDirectory}
	a := h.front.Account
	var flags []string
	if a.UAC&triage.UACTrustedForDelegation != 0 {
		flags = append(flags, "TRUSTED_FOR_DELEGATION (unconstrained delegation)")
	}
	if a.UAC&triage.UACTrustedToAuthForDelegation != 0 {
		flags = append(flags, "TRUSTED_TO_AUTH_FOR_DELEGATION (protocol transition, Use any authentication protocol)")
	}
	if a.UAC&triage.UACNotDelegated != 0 {
		flags = append(flags, "NOT_DELEGATED")
	}
	fl := "none of the delegation flags"
	if len(flags) > 0 {
		fl = strings.Join(flags, ", ")
	}
	list := "is empty"
	if len(h.front.AllowedToDelegateTo) > 0 {
		list = "lists " + strings.Join(h.front.AllowedToDelegateTo, ", ")
	}
	ev.Text = fmt.Sprintf("The front end's account %s (%s): userAccountControl 0x%X has %s; msDS-AllowedToDelegateTo %s", a.Name(), a.DN, a.UAC, fl, list)
	if h.front.Err != "" {
		ev.Text += "; not everything could be read: " + h.front.Err
	}
	return ev
}

// backEvidence describes what the directory says of the back end's account's
// resource-based delegation, or nothing when it was not read.
func backEvidence(h hop) []triage.Evidence {
	if h.back == nil || h.back.Account == nil {
		return nil
	}
	name := func(ps []triage.Principal) string {
		var out []string
		for _, p := range ps {
			if p.Name != "" {
				out = append(out, p.Name+" ("+p.SID+")")
			} else {
				out = append(out, p.SID)
			}
		}
		return strings.Join(out, ", ")
	}
	text := fmt.Sprintf("The back end's account %s: msDS-AllowedToActOnBehalfOfOtherIdentity allows no principal", h.back.Account.Name())
	if len(h.back.AllowedToActOnBehalf) > 0 {
		text = fmt.Sprintf("The back end's account %s: msDS-AllowedToActOnBehalfOfOtherIdentity allows %s", h.back.Account.Name(), name(h.back.AllowedToActOnBehalf))
	}
	if len(h.back.DeniedToActOnBehalf) > 0 {
		text += "; it denies " + name(h.back.DeniedToActOnBehalf)
	}
	if h.back.Err != "" {
		text += "; not everything could be read: " + h.back.Err
	}
	return []triage.Evidence{{Check: checkDelegation, Source: triage.SourceDirectory, Text: text}}
}

// proofEvidence describes the KDC's answer to one request through the front end.
func proofEvidence(p triage.DelegationProof) triage.Evidence {
	ev := triage.Evidence{Check: checkDelegation, Source: triage.SourceKerberos}
	as := fmt.Sprintf("the KDC, asked as %s for %s's ticket to %s", p.Path.Account, p.User, p.SPN)
	switch {
	case p.Err != "":
		ev.Text = fmt.Sprintf("Not proven: the KDC was not asked as %s for %s's ticket to %s: %s", p.Path.Account, p.User, p.SPN, p.Err)
	case p.Unprovable != "":
		ev.Text = fmt.Sprintf("Not proven: %s, cannot prove this path: %s", as, p.Unprovable)
	case p.ProxyIssued:
		ev.Text = fmt.Sprintf("Proven: %s, issued it (S4U2self, then S4U2proxy): the path works for %s", as, p.User)
	default:
		self := "issued a ticket to the front end for the user (S4U2self) that is not forwardable"
		if p.SelfForwardable {
			self = "issued a forwardable ticket to the front end for the user (S4U2self)"
		}
		if !p.SelfIssued {
			self = "refused the ticket to the front end for the user (S4U2self)"
		}
		ev.Text = fmt.Sprintf("Refused: %s, %s", as, self)
		if p.Step == "s4u2proxy" {
			ev.Text += ", then refused the ticket to the back end (S4U2proxy)"
		}
		ev.Text += ": " + proofCode(p)
		if p.NTStatus != "" {
			ev.Text += ", with " + p.NTStatus
			if why := ntStatusMeaning[p.NTStatus]; why != "" {
				ev.Text += " (" + why + ")"
			}
		}
	}
	return ev
}

// ntStatusMeaning says what a Windows KDC means by the NTSTATUS it gives with an
// S4U2proxy refusal: "[MS-SFU] 3.2.5.2.1 Using ServicesAllowedToSendForwardedTicketsTo"
// ("If Service 1's ServicesAllowedToSendForwardedTicketsTo parameter was empty, this is
// returned with STATUS_NOT_SUPPORTED, else STATUS_NO_MATCH"; a ticket that is not
// forwardable, STATUS_NO_MATCH) and "[MS-SFU] 3.2.5.2.3 Using
// ServicesAllowedToReceiveForwardedTicketsFrom" (a failed access check,
// STATUS_NOT_FOUND; a ticket that is not forwardable, STATUS_ACCOUNT_RESTRICTION).
var ntStatusMeaning = map[string]string{
	"STATUS_NOT_SUPPORTED":       "the front end's msDS-AllowedToDelegateTo is empty",
	"STATUS_NO_MATCH":            "the SPN is not in the front end's msDS-AllowedToDelegateTo, or the user's ticket to the front end is not forwardable",
	"STATUS_NOT_FOUND":           "the back end's msDS-AllowedToActOnBehalfOfOtherIdentity does not allow the front end",
	"STATUS_ACCOUNT_RESTRICTION": "resource-based delegation refused a user's ticket to the front end that is not forwardable",
}

// refused reports whether the KDC was asked and refused the request.
func refused(p triage.DelegationProof) bool {
	return p.Err == "" && p.Unprovable == "" && !p.ProxyIssued && p.Step != ""
}

// userSensitive reports whether the directory shows a user's account as one that
// cannot be delegated, and why, in words for evidence.
func userSensitive(u triage.DelegationAccount) (bool, []string) {
	if u.Account == nil {
		return false, nil
	}
	var why []string
	if u.Account.UAC&triage.UACNotDelegated != 0 {
		why = append(why, fmt.Sprintf("userAccountControl 0x%X of %s has NOT_DELEGATED (0x100000): \"Account is sensitive and cannot be delegated\"", u.Account.UAC, u.Account.Name()))
	}
	if u.ProtectedUser {
		why = append(why, fmt.Sprintf("%s is a member of Protected Users (RID %d), whose members cannot \"Delegate with unconstrained or constrained delegation\"", u.Account.Name(), triage.ProtectedUsersRID))
	}
	return len(why) > 0, why
}

// userOf returns what the directory says of the user a proof asked for (user@REALM),
// or nil.
func userOf(d *triage.DelegationFacts, user string) *triage.DelegationAccount {
	if d == nil {
		return nil
	}
	if a := d.Find(triage.RoleUser, user); a != nil {
		return a
	}
	name, realm, ok := strings.Cut(user, "@")
	for i, a := range d.Accounts {
		if a.Role != triage.RoleUser || a.Account == nil || !strings.EqualFold(a.Account.SAMAccountName, name) {
			continue
		}
		if !ok || strings.EqualFold(a.Account.Domain, realm) {
			return &d.Accounts[i]
		}
	}
	return nil
}
