package diagnosis

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

// The test domain of issue 12 (scripts/testdomain.sh): realm CORP.TEST; the back end
// sqlbe runs as svc_sqlbe, the RBCD back end sqlrbcd as svc_sqlrbcd; the front ends'
// accounts are svc_web (protocol transition, both SPN forms), svc_webnopt (both
// forms, no protocol transition), svc_webnoport (protocol transition, the form
// without the port), svc_webnone (nothing) and svc_webrbcd (named by svc_sqlrbcd's
// msDS-AllowedToActOnBehalfOfOtherIdentity); the users alice (ordinary), bob
// (NOT_DELEGATED) and carol (Protected Users).
const (
	beTCP   = "MSSQLSvc/sqlbe.corp.test:1433"
	bePipes = "MSSQLSvc/sqlbe.corp.test"
	domSID  = "S-1-5-21-1-2-3-"
)

var (
	sqlbe = triage.Target{Host: "sqlbe", FQDN: "sqlbe.corp.test", Instances: []triage.Instance{{Port: 1433}}, ServiceAccount: `CORP\svc_sqlbe`}
	sqlfe = triage.Target{Host: "sqlfe", FQDN: "sqlfe.corp.test", Instances: []triage.Instance{{Port: 1433}}, ServiceAccount: `CORP\svc_web`}
)

// acct returns an account of the test domain.
func acct(sam string, rid int, uac int, spns ...string) *triage.Account {
	return &triage.Account{DN: "CN=" + sam + ",CN=Users,DC=corp,DC=test", SID: domSID + strconv.Itoa(rid), SAMAccountName: sam,
		Domain: "corp.test", NetBIOSDomain: "CORP", Class: "user", UAC: triage.UACNormalAccount | uac, EncTypes: triage.EncTypesUnset, SPNs: spns}
}

// front returns the front end's account facts.
func front(sam string, rid, uac int, allowed ...string) triage.DelegationAccount {
	return triage.DelegationAccount{Role: triage.RoleFrontEnd, Name: `CORP\` + sam, Account: acct(sam, rid, uac, "HTTP/"+strings.TrimPrefix(sam, "svc_")+".corp.test"), AllowedToDelegateTo: allowed}
}

// backEnd returns svc_sqlbe's facts, allowing principals resource-based delegation.
func backEnd(allowed ...triage.Principal) triage.DelegationAccount {
	return triage.DelegationAccount{Role: triage.RoleBackEnd, Name: `CORP\svc_sqlbe`, Account: acct("svc_sqlbe", 1200, 0, beTCP, bePipes), AllowedToActOnBehalf: allowed}
}

func user(sam string, rid, uac int, protected bool) triage.DelegationAccount {
	return triage.DelegationAccount{Role: triage.RoleUser, Name: `CORP\` + sam, Account: acct(sam, rid, uac), ProtectedUser: protected}
}

// pathFrom returns the inventory path from a front end's account to sqlbe.
func pathFrom(sam string) triage.DelegationPath {
	return triage.DelegationPath{Account: `CORP\` + sam, BackEnd: "sqlbe", BackEndFQDN: "sqlbe.corp.test", BackEndAccount: `CORP\svc_sqlbe`,
		Via: "inventory", SelfCredential: true}
}

// facts returns the delegation facts of one path, sqlbe's account and the users.
func facts(p triage.DelegationPath, fe triage.DelegationAccount, more ...triage.DelegationAccount) *triage.DelegationFacts {
	return &triage.DelegationFacts{Paths: []triage.DelegationPath{p}, Accounts: append([]triage.DelegationAccount{fe, backEnd()}, more...)}
}

// proof returns the KDC's answer for user through p to spn.
func proof(p triage.DelegationPath, u, spn string, selfFwd, issued bool, code int) triage.DelegationProof {
	pr := triage.DelegationProof{Path: p, User: u + "@CORP.TEST", SPN: spn, SelfIssued: true, SelfForwardable: selfFwd, ProxyIssued: issued}
	if !issued {
		pr.Step, pr.KDCError, pr.ErrorName = "s4u2proxy", code, "KDC_ERR_BADOPTION"
	}
	return pr
}

// anonymousAt returns an 18456 ANONYMOUS LOGON group from a front end's address.
func anonymousAt(client string) triage.LogEvent {
	return loginEv(11, `NT AUTHORITY\ANONYMOUS LOGON`, client)
}

func TestDelegationRules(t *testing.T) {
	web, nopt, noport := pathFrom("svc_web"), pathFrom("svc_webnopt"), pathFrom("svc_webnoport")
	none, unc, other := pathFrom("svc_webnone"), pathFrom("svc_webunc"), pathFrom("svc_webother")
	fWeb := front("svc_web", 1101, triage.UACTrustedToAuthForDelegation, beTCP, bePipes)
	fNopt := front("svc_webnopt", 1102, 0, beTCP, bePipes)
	fNoport := front("svc_webnoport", 1103, triage.UACTrustedToAuthForDelegation, bePipes)
	fNone := front("svc_webnone", 1104, 0)
	fUnc := front("svc_webunc", 1106, triage.UACTrustedForDelegation)
	fOther := front("svc_webother", 1107, triage.UACTrustedToAuthForDelegation, "HTTP/other.corp.test")
	alice, bob, carol := user("alice", 1301, 0, false), user("bob", 1302, triage.UACNotDelegated, false), user("carol", 1303, 0, true)
	with := func(f *triage.DelegationFacts, proofs ...triage.DelegationProof) triage.Observations {
		f.Proofs = proofs
		return triage.Observations{Delegation: f}
	}
	rbcdPath := triage.DelegationPath{Account: `CORP\svc_webrbcd`, BackEnd: "sqlrbcd", BackEndFQDN: "sqlrbcd.corp.test", BackEndAccount: `CORP\svc_sqlrbcd`,
		Via: "inventory", SelfCredential: true}
	fRBCD := front("svc_webrbcd", 1105, 0)
	rbcdBack := func(allowed ...triage.Principal) triage.DelegationAccount {
		return triage.DelegationAccount{Role: triage.RoleBackEnd, Name: `CORP\svc_sqlrbcd`, Account: acct("svc_sqlrbcd", 1201, 0, "MSSQLSvc/sqlrbcd.corp.test:1433"),
			AllowedToActOnBehalf: allowed}
	}
	rbcdFacts := func(back triage.DelegationAccount, proofs ...triage.DelegationProof) triage.Observations {
		return triage.Observations{Delegation: &triage.DelegationFacts{Paths: []triage.DelegationPath{rbcdPath},
			Accounts: []triage.DelegationAccount{fRBCD, back, alice}, Proofs: proofs}}
	}
	anonymousOnBE := func(d *triage.DelegationFacts, proofs ...triage.DelegationProof) triage.Observations {
		o := with(d, proofs...)
		o.Logs = []triage.LogEvent{anonymousAt("10.0.0.21")}
		return o
	}
	ntlm := []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", Address: "sqlfe.corp.test:1433", OK: true, AuthScheme: "NTLM"}}
	frontPath := func(sam string) triage.DelegationPath {
		p := pathFrom(sam)
		p.FrontEnd = "sqlfe"
		return p
	}

	tests := []struct {
		name   string
		target triage.Target
		obs    triage.Observations
		want   []want
	}{
		{name: "the working path: constrained delegation to both forms with protocol transition: no finding",
			target: sqlbe, obs: with(facts(web, fWeb, alice))},
		{name: "the working path, proven by the KDC: no finding",
			target: sqlfe, obs: with(facts(web, fWeb, alice), proof(web, "alice", beTCP, true, true, 0), proof(web, "alice", bePipes, true, true, 0))},
		{name: "a path that needs no delegation (a linked server mapping a fixed login) is not judged",
			target: sqlfe, obs: func() triage.Observations {
				p := none
				p.SelfCredential = false
				return with(facts(p, fNone))
			}()},
		{name: "no delegation at all: delegation.not_trusted, with the constrained and the resource-based commands",
			target: sqlfe, obs: with(facts(none, fNone, alice)),
			want: []want{{cause: triage.DelegationNotTrusted, severity: triage.Critical,
				summary: []string{`CORP\svc_webnone is not allowed to delegate its users to sqlbe`, beTCP + " or " + bePipes, "allows it no resource-based delegation"},
				commands: []string{
					`Set-ADUser -Identity svc_webnone -Add @{'msDS-AllowedToDelegateTo'='MSSQLSvc/sqlbe.corp.test:1433','MSSQLSvc/sqlbe.corp.test'}`,
					"Set-ADAccountControl -Identity svc_webnone -TrustedToAuthForDelegation $true",
					`Set-ADUser -Identity svc_sqlbe -PrincipalsAllowedToDelegateToAccount 'S-1-5-21-1-2-3-1104'`,
				}, evidence: 2}}},
		{name: "the KDC proves it: the refusal is the evidence of delegation.not_trusted",
			target: sqlfe, obs: with(facts(none, fNone, alice), proof(none, "alice", beTCP, false, false, 13)),
			want: []want{{cause: triage.DelegationNotTrusted, severity: triage.Critical, evidence: 3}}},
		{name: "a Windows KDC's NTSTATUS says what it refused",
			target: sqlfe, obs: func() triage.Observations {
				pr := proof(none, "alice", beTCP, true, false, 13)
				pr.NTStatus = "STATUS_NOT_SUPPORTED"
				return with(facts(none, fNone, alice), pr)
			}(),
			want: []want{{cause: triage.DelegationNotTrusted, severity: triage.Critical, evidence: 3}}},
		{name: "other services only: delegation.spn_not_allowed",
			target: sqlfe, obs: with(facts(other, fOther, alice)),
			want: []want{{cause: triage.DelegationSPNNotAllowed, severity: triage.Critical,
				summary:  []string{"may delegate only to other services (HTTP/other.corp.test), not to sqlbe", beTCP + " and " + bePipes},
				commands: []string{`Set-ADUser -Identity svc_webother -Add @{'msDS-AllowedToDelegateTo'='MSSQLSvc/sqlbe.corp.test:1433','MSSQLSvc/sqlbe.corp.test'}`},
				evidence: 2}}},
		{name: "the form without the port only: delegation.port_form_missing for the TCP form",
			target: sqlbe, obs: with(facts(noport, fNoport, alice), proof(noport, "alice", beTCP, true, false, 13), proof(noport, "alice", bePipes, true, true, 0)),
			want: []want{{cause: triage.DelegationPortFormMissing, severity: triage.Critical,
				summary:  []string{"lacks " + beTCP + ", the form TCP connections ask for"},
				commands: []string{`Set-ADUser -Identity svc_webnoport -Add @{'msDS-AllowedToDelegateTo'='MSSQLSvc/sqlbe.corp.test:1433'}`},
				evidence: 4}}},
		{name: "the form with the port only: a warning, TCP connections are not affected",
			target: sqlbe, obs: with(facts(web, front("svc_web", 1101, triage.UACTrustedToAuthForDelegation, strings.ToUpper(beTCP)), alice)),
			want: []want{{cause: triage.DelegationPortFormMissing, severity: triage.Warning,
				summary:  []string{"lacks " + bePipes, "TCP connections, which ask for the form with the port, are not affected"},
				commands: []string{`'msDS-AllowedToDelegateTo'='MSSQLSvc/sqlbe.corp.test'}`}, evidence: 2}}},
		{name: "Kerberos only, nothing else seen: no finding",
			target: sqlfe, obs: with(facts(nopt, fNopt, alice))},
		{name: "Kerberos only, the KDC refuses protocol transition for alice: delegation.protocol_transition, a warning",
			target: sqlfe, obs: with(facts(nopt, fNopt, alice), proof(nopt, "alice", beTCP, false, false, 13)),
			want: []want{{cause: triage.DelegationProtocolTransition, severity: triage.Warning,
				summary:  []string{"only users who reached it with Kerberos", "Users who reach the front end with Kerberos are delegated all the same"},
				commands: []string{"Set-ADAccountControl -Identity svc_webnopt -TrustedToAuthForDelegation $true"}, evidence: 3}}},
		{name: "Kerberos only, refused by the KDC and anonymous logons on the back end: critical, and the symptom names the front end",
			target: sqlbe, obs: anonymousOnBE(facts(nopt, fNopt, alice), proof(nopt, "alice", beTCP, false, false, 13)),
			want: []want{
				{cause: triage.DelegationSecondHop, severity: triage.Critical,
					summary:  []string{`sqlbe is the back end of CORP\svc_webnopt, which connects to it on their users' behalf`, "3 as NT AUTHORITY\\ANONYMOUS LOGON"},
					commands: []string{"setspn -Q " + beTCP}, evidence: 2},
				{cause: triage.DelegationProtocolTransition, severity: triage.Critical, evidence: 3},
			}},
		{name: "resource-based delegation allows the front end, the KDC cannot prove it: delegation.resource_based, a warning saying why",
			target: sqlfe, obs: rbcdFacts(rbcdBack(triage.Principal{SID: domSID + "1105", Name: `CORP\svc_webrbcd`}),
				triage.DelegationProof{Path: rbcdPath, User: "alice@CORP.TEST", SPN: "MSSQLSvc/sqlrbcd.corp.test:1433",
					Unprovable: "the KDC does not implement resource-based constrained delegation"}),
			want: []want{{cause: triage.DelegationResourceBased, severity: triage.Warning,
				summary: []string{`CORP\svc_webrbcd may delegate its users to sqlrbcd through resource-based constrained delegation: CORP\svc_sqlrbcd's msDS-AllowedToActOnBehalfOfOtherIdentity allows CORP\svc_webrbcd by its SID (S-1-5-21-1-2-3-1105)`,
					"the KDC's answer through the front end cannot prove it: the KDC does not implement resource-based constrained delegation"},
				commands: []string{"nltest /dsgetdc:corp.test /force /kdc"}, evidence: 3}}},
		{name: "resource-based delegation to others only: delegation.not_trusted keeps them in the list",
			target: sqlfe, obs: rbcdFacts(rbcdBack(triage.Principal{SID: domSID + "1199", Name: `CORP\svc_app`}),
				triage.DelegationProof{Path: rbcdPath, User: "alice@CORP.TEST", SPN: "MSSQLSvc/sqlrbcd.corp.test:1433", Err: "no keytab for svc_webrbcd"}),
			want: []want{{cause: triage.DelegationNotTrusted, severity: triage.Critical,
				summary:  []string{"allows resource-based delegation to other principals only"},
				commands: []string{`Set-ADUser -Identity svc_sqlrbcd -PrincipalsAllowedToDelegateToAccount 'S-1-5-21-1-2-3-1199','S-1-5-21-1-2-3-1105'`},
				evidence: 3}}},
		{name: "resource-based delegation that allows Everyone: no command writes that list back",
			target: sqlfe, obs: rbcdFacts(rbcdBack(triage.Principal{SID: "S-1-1-0", Name: "Everyone"})),
			want: []want{{cause: triage.DelegationNotTrusted, severity: triage.Critical,
				summary: []string{"allows Everyone, which stands for any user or computer"}, evidence: 2}}},
		{name: "a principal whose SID is no SID: no command writes the list back",
			target: sqlfe, obs: rbcdFacts(rbcdBack(triage.Principal{SID: domSID + "1199'; calc", Name: `CORP\svc_app`})),
			want: []want{{cause: triage.DelegationNotTrusted, severity: triage.Critical,
				summary:  []string{"names a principal whose SID could not be read"},
				commands: []string{"Set-ADUser -Identity svc_sqlrbcd -PrincipalsAllowedToDelegateToAccount <PRINCIPALS>"}, evidence: 2}}},
		{name: "unconstrained delegation alone: delegation.unconstrained_blocked, a warning",
			target: sqlfe, obs: with(facts(unc, fUnc, alice)),
			want: []want{{cause: triage.DelegationUnconstrainedBlocked, severity: triage.Warning,
				commands: []string{
					`Set-ADUser -Identity svc_webunc -Add @{'msDS-AllowedToDelegateTo'='MSSQLSvc/sqlbe.corp.test:1433','MSSQLSvc/sqlbe.corp.test'}`,
					"Set-ADAccountControl -Identity svc_webunc -TrustedForDelegation $false",
				}, evidence: 2}}},
		{name: "unconstrained delegation alone and anonymous logons on the back end: critical",
			target: sqlbe, obs: anonymousOnBE(facts(unc, fUnc, alice)),
			want: []want{
				{cause: triage.DelegationSecondHop, severity: triage.Critical, evidence: 2},
				{cause: triage.DelegationUnconstrainedBlocked, severity: triage.Critical, summary: []string{"refused logins with no user's identity"}, evidence: 2},
			}},
		{name: "bob is sensitive and carol in Protected Users: delegation.user_sensitive for each, alice is fine",
			target: sqlfe, obs: with(facts(web, fWeb, alice, bob, carol), proof(web, "bob", beTCP, false, false, 13)),
			want: []want{
				{cause: triage.DelegationUserSensitive, severity: triage.Critical,
					summary: []string{`CORP\bob cannot be delegated: the account is marked "Account is sensitive and cannot be delegated", so no front end can act for it on sqlbe`}, evidence: 2},
				{cause: triage.DelegationUserSensitive, severity: triage.Critical, summary: []string{`CORP\carol`, "a member of Protected Users"}, evidence: 1},
			}},
		{name: "a ticket the KDC issued for bob, marked sensitive: delegation.protection_not_enforced, not user_sensitive",
			target: sqlfe, obs: with(facts(web, fWeb, bob), proof(web, "bob", beTCP, true, true, 0)),
			want: []want{{cause: triage.DelegationProtectionNotEnforced, severity: triage.Warning,
				summary:  []string{`CORP\bob is marked "Account is sensitive and cannot be delegated", yet the KDC issued its ticket to sqlbe through CORP\svc_web`, "at any functional level"},
				evidence: 2}}},
		{name: "a ticket the KDC issued for carol, in Protected Users: delegation.protection_not_enforced names the functional level",
			target: sqlfe, obs: with(facts(web, fWeb, alice, carol), proof(web, "alice", beTCP, true, true, 0), proof(web, "carol", beTCP, true, true, 0),
				proof(web, "carol", bePipes, true, true, 0)),
			want: []want{{cause: triage.DelegationProtectionNotEnforced, severity: triage.Warning,
				summary: []string{`CORP\carol is a member of Protected Users, yet the KDC issued its ticket to sqlbe through CORP\svc_web`,
					"Windows Server 2012 R2 functional level ([MS-KILE] 3.3.5.1)", "once the domain controllers run Windows Server 2012 R2 or later"},
				evidence: 3}}},
		{name: "the KDC makes dave's ticket not forwardable through a front end with protocol transition: delegation.user_sensitive from the KDC",
			target: sqlfe, obs: with(facts(web, fWeb), proof(web, "dave", beTCP, false, false, 13)),
			want: []want{{cause: triage.DelegationUserSensitive, severity: triage.Critical, summary: []string{"dave@CORP.TEST cannot be delegated to sqlbe: the KDC"}, evidence: 1}}},
		{name: "the KDC does not know the back end's SPN: delegation.backend_spn_missing",
			target: sqlfe, obs: with(facts(web, fWeb, alice), proof(web, "alice", beTCP, true, false, 7)),
			want: []want{{cause: triage.DelegationBackendSPNMissing, severity: triage.Critical,
				summary: []string{beTCP + " of sqlbe is registered on no account the KDC knows"}, commands: []string{`setspn -S ` + beTCP + ` CORP\svc_sqlbe`}, evidence: 1}}},
		{name: "on the back end itself, the directory's spn.missing reports the SPN instead",
			target: sqlbe, obs: func() triage.Observations {
				o := with(facts(web, fWeb, alice), proof(web, "alice", beTCP, true, false, 7))
				svc := backEnd().Account
				svc.EncTypes = triage.EtypeAESAll
				o.Directory = &triage.DirectoryFacts{ServiceAccount: svc, SPNs: []triage.SPNOwners{{SPN: beTCP}}}
				return o
			}(),
			want: []want{{cause: triage.SPNMissing, severity: triage.Critical, evidence: 1}}},
		{name: "the directory allows it, the KDC refuses across domains: delegation.not_trusted, resource-based delegation instead",
			target: sqlfe, obs: func() triage.Observations {
				d := facts(web, fWeb, alice)
				d.Accounts[1].Account.Domain = "other.test"
				d.Proofs = []triage.DelegationProof{proof(web, "alice", beTCP, true, false, 13)}
				return triage.Observations{Delegation: d}
			}(),
			want: []want{{cause: triage.DelegationNotTrusted, severity: triage.Critical, summary: []string{"constrained delegation works within one domain only"}, evidence: 3}}},
		{name: "the directory allows it, the KDC refuses in one domain: the refusal as it is",
			target: sqlfe, obs: with(facts(web, fWeb, alice), proof(web, "alice", beTCP, true, false, 13)),
			want: []want{{cause: triage.KerberosTicketFailed, severity: triage.Critical, summary: []string{"although the directory shows it allowed", "0xD KDC_ERR_BADOPTION"}, evidence: 3}}},
		{name: "the KDC refuses the front end's S4U2self: kerberos.ticket_failed, with Microsoft's reading of KDC_ERR_C_PRINCIPAL_UNKNOWN",
			target: sqlfe, obs: with(facts(web, fWeb, alice), triage.DelegationProof{Path: web, User: "alice@CORP.TEST", SPN: beTCP, Step: "s4u2self", KDCError: 6}),
			want: []want{{cause: triage.KerberosTicketFailed, severity: triage.Critical, summary: []string{"(S4U2self", "Windows Authorization Access Group"}, evidence: 3}}},
		{name: "the back end's FQDN is unknown: only a front end with no delegation is judged",
			target: sqlfe, obs: func() triage.Observations {
				p := none
				p.BackEndFQDN, p.BackEndAccount = "", ""
				return triage.Observations{Delegation: &triage.DelegationFacts{Paths: []triage.DelegationPath{p}, Accounts: []triage.DelegationAccount{fNone}}}
			}(),
			want: []want{{cause: triage.DelegationNotTrusted, severity: triage.Critical, summary: []string{"the back end's FQDN is not known"},
				commands: []string{`Set-ADUser -Identity svc_webnone -Add @{'msDS-AllowedToDelegateTo'=<SPNS>}`}, evidence: 1}}},
		{name: "the back end's FQDN from its account's SPNs when the path does not say it",
			target: sqlfe, obs: func() triage.Observations {
				p := noport
				p.BackEndFQDN, p.BackEndAccount = "", ""
				return with(facts(p, fNoport))
			}(),
			want: []want{{cause: triage.DelegationPortFormMissing, severity: triage.Critical, summary: []string{"lacks " + beTCP}, evidence: 2}}},
		{name: "NTLM on the first hop of a front end without protocol transition: delegation.ntlm_first_hop, critical",
			target: sqlfe, obs: triage.Observations{SQL: ntlm, Delegation: facts(frontPath("svc_webnopt"), fNopt)},
			want: []want{
				{cause: triage.DelegationNTLMFirstHop, severity: triage.Critical,
					summary:  []string{"Windows logins to sqlfe, the front end (CORP\\svc_webnopt) of sqlbe, use NTLM", "may not use protocol transition to reach sqlbe"},
					commands: []string{"setspn -Q MSSQLSvc/sqlfe.corp.test:1433", "Set-ADAccountControl -Identity svc_webnopt -TrustedToAuthForDelegation $true"}, evidence: 2},
				{cause: triage.KerberosNTLMFallback, severity: triage.Warning, evidence: 1},
			}},
		{name: "NTLM on the first hop of a front end with protocol transition: informational",
			target: sqlfe, obs: triage.Observations{SQL: ntlm, Delegation: facts(frontPath("svc_web"), fWeb)},
			want: []want{
				{cause: triage.KerberosNTLMFallback, severity: triage.Warning, evidence: 1},
				{cause: triage.DelegationNTLMFirstHop, severity: triage.Info, summary: []string{"the KDC delegates them all the same"}, evidence: 2},
			}},
		{name: "anonymous logons from the host itself are a loopback, not a second hop",
			target: sqlbe, obs: func() triage.Observations {
				o := with(facts(web, fWeb, alice))
				o.Logs = []triage.LogEvent{anonymousAt("<local machine>")}
				return o
			}(),
			want: []want{{cause: triage.LoginAnonymous, severity: triage.Critical, evidence: 1}}},
		{name: "anonymous logons on a host no path names as back end stay login.anonymous",
			target: target, obs: func() triage.Observations {
				o := with(facts(web, fWeb, alice))
				o.Logs = []triage.LogEvent{anonymousAt("10.0.0.21")}
				return o
			}(),
			want: []want{{cause: triage.LoginAnonymous, severity: triage.Critical, evidence: 1}}},
		{name: "'(null)' on a back end: the second hop, and login.null_user with its own fix",
			target: sqlbe, obs: func() triage.Observations {
				o := with(facts(web, fWeb, alice))
				o.Logs = []triage.LogEvent{loginEv(-1, "(null)", "10.0.0.21")}
				return o
			}(),
			want: []want{
				{cause: triage.LoginNullUser, severity: triage.Critical, evidence: 1},
				{cause: triage.DelegationSecondHop, severity: triage.Critical, summary: []string{"3 as '(null)'"}, evidence: 2},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := applyRules(tt.target, tt.obs)
			slices.SortStableFunc(got, func(a, b triage.Finding) int { return int(b.Severity) - int(a.Severity) })
			checkFindings(t, got, tt.want)
		})
	}
}

// TestDelegationEvidenceSaysWhatTheKDCCouldNot: a path the KDC cannot prove, or was
// not asked about, says so in its finding's evidence, and a Windows KDC's NTSTATUS is
// given with its meaning.
func TestDelegationEvidenceSaysWhatTheKDCCouldNot(t *testing.T) {
	p := pathFrom("svc_webnone")
	obs := triage.Observations{Delegation: facts(p, front("svc_webnone", 1104, 0))}
	obs.Delegation.Proofs = []triage.DelegationProof{
		{Path: p, User: "alice@CORP.TEST", SPN: beTCP, Unprovable: "the KDC does not implement resource-based constrained delegation"},
		{Path: p, User: "alice@CORP.TEST", SPN: bePipes, Err: "no credentials for CORP\\svc_webnone"},
	}
	obs.Delegation.Proofs = append(obs.Delegation.Proofs, triage.DelegationProof{Path: p, User: "bob@CORP.TEST", SPN: beTCP, SelfIssued: true,
		SelfForwardable: true, Step: "s4u2proxy", KDCError: 13, NTStatus: "STATUS_NOT_SUPPORTED"})
	fs := delegationPathRule{}.Apply(sqlbe, obs)
	if len(fs) != 1 {
		t.Fatalf("findings %v", causes(fs))
	}
	var texts []string
	for _, e := range fs[0].Evidence {
		texts = append(texts, e.Text)
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"Not proven: the KDC, asked as CORP\\svc_webnone for alice@CORP.TEST's ticket to " + beTCP + ", cannot prove this path: the KDC does not implement",
		"Not proven: the KDC was not asked as CORP\\svc_webnone for alice@CORP.TEST's ticket to " + bePipes + ": no credentials",
		"with STATUS_NOT_SUPPORTED (the front end's msDS-AllowedToDelegateTo is empty)"} {
		if !strings.Contains(all, want) {
			t.Errorf("evidence lacks %q:\n%s", want, all)
		}
	}
}

// TestSecondHopEvidenceDescribesEachPath: the symptom's finding says, for each path to
// the back end, how its front end may delegate and what the KDC answered.
func TestSecondHopEvidenceDescribesEachPath(t *testing.T) {
	web, rb := pathFrom("svc_web"), pathFrom("svc_webrbcd")
	rb.FrontEnd = "web02"
	d := &triage.DelegationFacts{Paths: []triage.DelegationPath{web, rb},
		Accounts: []triage.DelegationAccount{front("svc_web", 1101, triage.UACTrustedToAuthForDelegation, beTCP, bePipes), front("svc_webrbcd", 1105, 0),
			backEnd(triage.Principal{SID: domSID + "1105"})},
		Proofs: []triage.DelegationProof{proof(web, "alice", beTCP, true, true, 0)}}
	obs := triage.Observations{Delegation: d, Logs: []triage.LogEvent{anonymousAt("10.0.0.21")}}
	fs := secondHopRule{}.Apply(sqlbe, obs)
	if len(fs) != 1 {
		t.Fatalf("findings %v", causes(fs))
	}
	f := fs[0]
	for _, want := range []string{`CORP\svc_web -> sqlbe: the front end's account has constrained delegation to ` + beTCP + ", " + bePipes + " (any authentication protocol); the KDC, asked through the front end, issued 1, refused 0 and could not prove 0 of 1 ticket",
		`web02 (CORP\svc_webrbcd) -> sqlbe: the front end's account has resource-based delegation allowed by the back end's account`} {
		if !slices.ContainsFunc(f.Evidence, func(e triage.Evidence) bool { return e.Text == want }) {
			t.Errorf("evidence lacks %q: %+v", want, f.Evidence)
		}
	}
	if !strings.Contains(f.Summary, `CORP\svc_web and web02 (CORP\svc_webrbcd), which connect to it`) {
		t.Errorf("summary %q", f.Summary)
	}
}
