package diagnosis

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/internal/shelltest"
	"github.com/authtriage/authtriage/triage"
)

// delegationSafetyScenarios returns evidence that makes each rule of the second hop
// fire: the test domain's paths broken each way, on the back end with 18456 for every
// unsafe login and on the front end with NTLM, resource-based delegation that already
// allows principals standing for anyone, and a front end whose account is one.
func delegationSafetyScenarios() []safetyScenario {
	web, nopt, noport, none, unc := pathFrom("svc_web"), pathFrom("svc_webnopt"), pathFrom("svc_webnoport"), pathFrom("svc_webnone"), pathFrom("svc_webunc")
	other := pathFrom("svc_webother")
	fWeb := front("svc_web", 1101, triage.UACTrustedToAuthForDelegation, beTCP, bePipes)
	alice, bob, carol := user("alice", 1301, 0, false), user("bob", 1302, triage.UACNotDelegated, false), user("carol", 1303, 0, true)
	all := func() *triage.DelegationFacts {
		d := &triage.DelegationFacts{Paths: []triage.DelegationPath{web, nopt, noport, none, unc, other},
			Accounts: []triage.DelegationAccount{fWeb, front("svc_webnopt", 1102, 0, beTCP, bePipes),
				front("svc_webnoport", 1103, triage.UACTrustedToAuthForDelegation, bePipes), front("svc_webnone", 1104, 0),
				front("svc_webunc", 1106, triage.UACTrustedForDelegation), front("svc_webother", 1107, 0, "HTTP/other.corp.test"),
				backEnd(triage.Principal{SID: "S-1-5-21-1-2-3-513", Name: `CORP\Domain Users`}), alice, bob, carol},
			Proofs: []triage.DelegationProof{proof(nopt, "alice", beTCP, false, false, 13), proof(web, "dave", beTCP, false, false, 13),
				proof(web, "alice", bePipes, true, false, 7), {Path: none, User: "alice@CORP.TEST", SPN: beTCP, Step: "s4u2self", KDCError: 6}}}
		return d
	}
	var out []safetyScenario
	for _, login := range unsafeLogins {
		out = append(out, safetyScenario{name: fmt.Sprintf("second hop on the back end, 18456 for %q", login), target: sqlbe,
			obs: triage.Observations{Delegation: all(), Logs: []triage.LogEvent{loginEv(11, login, "10.0.0.21")}}, login: login})
	}
	frontAll := all()
	for i := range frontAll.Paths {
		frontAll.Paths[i].FrontEnd = "sqlfe"
	}
	out = append(out, safetyScenario{name: "NTLM on the first hop", target: sqlfe,
		obs: triage.Observations{Delegation: frontAll, SQL: []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", OK: true, AuthScheme: "NTLM"}}}})
	// Resource-based delegation the KDC refuses, on a front end whose account is also
	// sensitive and has constrained delegation to the back end, and carol (Protected
	// Users) delegated all the same.
	rbcd := pathFrom("svc_webrbcd")
	notFound := proof(rbcd, "alice", beTCP, false, false, 13)
	notFound.NTStatus = "STATUS_NOT_FOUND"
	rbcdFacts := func() *triage.DelegationFacts {
		return &triage.DelegationFacts{Paths: []triage.DelegationPath{rbcd, web},
			Accounts: []triage.DelegationAccount{front("svc_webrbcd", 1105, triage.UACNotDelegated, beTCP), fWeb,
				backEnd(triage.Principal{SID: domSID + "1105", Name: `CORP\svc_webrbcd`}), alice, carol},
			Proofs: []triage.DelegationProof{notFound, {Path: rbcd, User: "alice@CORP.TEST", SPN: bePipes, Unprovable: "the KDC does not implement it"},
				proof(web, "carol", beTCP, true, true, 0)}}
	}
	for _, login := range unsafeLogins {
		out = append(out, safetyScenario{name: fmt.Sprintf("resource-based delegation refused, 18456 for %q", login), target: sqlbe,
			obs: triage.Observations{Delegation: rbcdFacts(), Logs: []triage.LogEvent{loginEv(11, login, "10.0.0.21")}}, login: login})
	}
	out = append(out, safetyScenario{name: "resource-based delegation refused, on the front end", target: sqlfe, obs: triage.Observations{Delegation: rbcdFacts()}})
	for _, sid := range []string{"S-1-1-0", "S-1-5-7", "S-1-5-11", "S-1-5-32-545", "S-1-5-21-1-2-3-501", "S-1-5-21-1-2-3-515"} {
		d := &triage.DelegationFacts{Paths: []triage.DelegationPath{none},
			Accounts: []triage.DelegationAccount{front("svc_webnone", 1104, 0), backEnd(triage.Principal{SID: sid, Name: "well-known " + sid})}}
		out = append(out, safetyScenario{name: "resource-based delegation already allowing " + sid, target: sqlfe, obs: triage.Observations{Delegation: d}})
		everyone := front("Everyone", 1104, 0)
		everyone.Account.SID = sid
		d = &triage.DelegationFacts{Paths: []triage.DelegationPath{none}, Accounts: []triage.DelegationAccount{everyone, backEnd()}}
		d.Paths[0].Account = `CORP\Everyone`
		out = append(out, safetyScenario{name: "a front end whose account is " + sid, target: sqlfe, obs: triage.Observations{Delegation: d}})
	}
	return out
}

// placeholderRe matches a placeholder such as <SAM> left in a command, and unfilled
// is what the check reads in its place.
var placeholderRe = regexp.MustCompile(`<[A-Z-]+>`)

// prefixedPlaceholderRe matches a placeholder that ends a word after a colon.
var prefixedPlaceholderRe = regexp.MustCompile(`(:)<[A-Z-]+>`)

const unfilled = "PLACEHOLDER"

// widening matches commands that widen delegation or weaken an account's protection:
// unconstrained delegation turned on, "Account is sensitive and cannot be delegated"
// cleared, an account taken out of a group (Protected Users).
var widening = regexp.MustCompile(`(?i)-TrustedForDelegation\s+(\$true|1)\b|-AccountNotDelegated|Remove-AD(GroupMember|PrincipalGroupMembership)|Protected Users`)

// delegationUnsafe returns why a step of a second hop's finding would widen what it
// must not, or "": unconstrained delegation, a sensitive user's protection, or a
// principal standing for anyone written into msDS-AllowedToActOnBehalfOfOtherIdentity,
// or anything but MSSQLSvc SPNs into msDS-AllowedToDelegateTo.
func delegationUnsafe(cause triage.CauseID, s triage.Step) string {
	if s.Command == "" || s.Shell != triage.ShellPowerShell && s.Shell != "" {
		return ""
	}
	if cause == triage.DelegationUserSensitive || cause == triage.DelegationProtectionNotEnforced {
		return "a command for a user who cannot be delegated: " + s.Command
	}
	if widening.MatchString(s.Command) {
		return "command widens delegation: " + s.Command
	}
	// A placeholder left for the reader reads as a string that names nobody; one that
	// ends a word (/dsgetdc:<DOMAIN>) as a bare word.
	line := prefixedPlaceholderRe.ReplaceAllString(s.Command, "${1}"+unfilled)
	cmds, err := shelltest.PowerShell(placeholderRe.ReplaceAllString(line, "'"+unfilled+"'"))
	if err != nil {
		return fmt.Sprintf("command %q does not read back: %v", s.Command, err)
	}
	for _, words := range cmds {
		for i, w := range words {
			switch {
			case strings.EqualFold(w.Text, "-PrincipalsAllowedToDelegateToAccount") && i+1 < len(words):
				for _, p := range strings.Split(words[i+1].Text, "\n") {
					if _, bad := unsafePrincipal(p); bad || broadSID(p) {
						return fmt.Sprintf("command allows %q resource-based delegation: %s", p, s.Command)
					}
				}
			case strings.HasPrefix(w.Text, "@{'msDS-AllowedToDelegateTo'="):
				list := strings.TrimSuffix(strings.TrimPrefix(w.Text, "@{'msDS-AllowedToDelegateTo'="), "}")
				for _, spn := range strings.Split(list, "\n") {
					if _, ok := cutPrefixFold(spn, "MSSQLSvc/"); !ok && spn != unfilled {
						return fmt.Sprintf("command allows delegation to %q, no SQL Server SPN: %s", spn, s.Command)
					}
				}
			case strings.EqualFold(w.Text, "-Identity") && i+1 < len(words):
				if _, bad := unsafePrincipal(words[i+1].Text); bad && words[i+1].Text != "" {
					return fmt.Sprintf("command changes %q: %s", words[i+1].Text, s.Command)
				}
			}
		}
	}
	return ""
}

// TestDelegationFixesNeverWiden: no fix of the second hop, from the catalog or built
// by a rule, turns on unconstrained delegation, clears a user's protection, or allows
// delegation to or from a principal that stands for anyone; and the general safety
// check passes them too.
func TestDelegationFixesNeverWiden(t *testing.T) {
	delegation := func(id triage.CauseID) bool { return strings.HasPrefix(string(id), "delegation.") }
	for _, c := range triage.Causes() {
		if !delegation(c.ID) {
			continue
		}
		for i, fs := range c.Fix {
			if why := delegationUnsafe(c.ID, fs.Template()); why != "" {
				t.Errorf("cause %s, step %d (template): %s", c.ID, i+1, why)
			}
		}
	}
	fired := map[triage.CauseID]bool{}
	for _, sc := range delegationSafetyScenarios() {
		for _, f := range applyRules(sc.target, sc.obs) {
			fired[f.Cause] = true
			for i, s := range f.Remediation {
				if why := delegationUnsafe(f.Cause, s); why != "" {
					t.Errorf("scenario %s, finding %s, step %d: %s", sc.name, f.Cause, i+1, why)
				}
				if why := unsafeIn(s, sc.login, false); why != "" {
					t.Errorf("scenario %s, finding %s, step %d: %s", sc.name, f.Cause, i+1, why)
				}
			}
		}
	}
	for _, c := range triage.Causes() {
		if delegation(c.ID) && !fired[c.ID] {
			t.Errorf("cause %s fired in no scenario", c.ID)
		}
	}
}

// TestDelegationCheckCatchesWidening: the check refuses what it must.
func TestDelegationCheckCatchesWidening(t *testing.T) {
	for _, s := range []triage.Step{
		{Command: "Set-ADAccountControl -Identity svc_web -TrustedForDelegation $true"},
		{Command: "Set-ADUser -Identity bob -AccountNotDelegated $false"},
		{Command: "Remove-ADGroupMember -Identity 'Protected Users' -Members carol"},
		{Command: "Set-ADUser -Identity svc_sqlbe -PrincipalsAllowedToDelegateToAccount 'S-1-5-21-1-2-3-1105','S-1-1-0'"},
		{Command: "Set-ADUser -Identity svc_sqlbe -PrincipalsAllowedToDelegateToAccount 'ANONYMOUS LOGON'"},
		{Command: "Set-ADUser -Identity svc_web -Add @{'msDS-AllowedToDelegateTo'='MSSQLSvc/sqlbe.corp.test:1433','krbtgt/CORP.TEST'}"},
	} {
		if delegationUnsafe(triage.DelegationNotTrusted, s) == "" {
			t.Errorf("%q passes the check", s.Command)
		}
	}
	ok := triage.Step{Command: "Set-ADUser -Identity svc_sqlbe -PrincipalsAllowedToDelegateToAccount 'S-1-5-21-1-2-3-1199','S-1-5-21-1-2-3-1105'"}
	if why := delegationUnsafe(triage.DelegationNotTrusted, ok); why != "" {
		t.Errorf("%q refused: %s", ok.Command, why)
	}
}
