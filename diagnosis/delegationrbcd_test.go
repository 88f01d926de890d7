package diagnosis

import (
	"slices"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

// TestDelegationResourceBased: a path the back end's resource-based delegation allows
// is said with the KDC's answer, its severity and the steps that apply: none to take
// when the ticket was issued, the KDC's and the front end's checks when it was refused
// or cannot be proven, and Microsoft's advice when constrained delegation is there too.
func TestDelegationResourceBased(t *testing.T) {
	rb := pathFrom("svc_webrbcd")
	allow := triage.Principal{SID: domSID + "1105", Name: `CORP\svc_webrbcd`}
	fRB := front("svc_webrbcd", 1105, 0)
	alice, bob := user("alice", 1301, 0, false), user("bob", 1302, triage.UACNotDelegated, false)
	obsOf := func(fe triage.DelegationAccount, back triage.DelegationAccount, proofs ...triage.DelegationProof) triage.Observations {
		return triage.Observations{Delegation: &triage.DelegationFacts{Paths: []triage.DelegationPath{rb},
			Accounts: []triage.DelegationAccount{fe, back, alice}, Proofs: proofs}}
	}
	withStatus := func(p triage.DelegationProof, status string) triage.DelegationProof {
		p.NTStatus = status
		return p
	}
	const (
		nothing = "Where the KDC issued the ticket through the front end, nothing needs to change"
		nltest  = "Where the KDC refused it, or could not prove it"
		support = "Each of them must implement resource-based constrained delegation"
		status  = "Read the KDC's refusal in the evidence"
		aduc    = "In Active Directory Users and Computers, the front end's own account"
		pacOpt  = "A front end that does not use Windows' Kerberos"
		one     = "Keep one kind of delegation for CORP\\svc_webrbcd and sqlbe"
	)
	refusal := []string{nltest, support, status, aduc, pacOpt}

	tests := []struct {
		name   string
		target triage.Target
		obs    triage.Observations
		want   []want
		steps  []string // the resource-based finding's steps, by their beginnings
	}{
		{name: "the KDC issued both tickets: info, nothing to change",
			target: sqlfe, obs: obsOf(fRB, backEnd(allow), proof(rb, "alice", beTCP, false, true, 0), proof(rb, "alice", bePipes, false, true, 0)),
			want: []want{{cause: triage.DelegationResourceBased, severity: triage.Info,
				summary: []string{"allows CORP\\svc_webrbcd by its SID (S-1-5-21-1-2-3-1105)", "the KDC issued 2 tickets through the front end, so the path works"}, evidence: 4}},
			steps: []string{nothing}},
		{name: "the KDC was not asked: info, the directory alone says it",
			target: sqlfe, obs: obsOf(fRB, backEnd(allow)),
			want: []want{{cause: triage.DelegationResourceBased, severity: triage.Info,
				summary: []string{"the KDC was not asked (the delegation check's detail says why), so only the directory says it"}, evidence: 2}},
			steps: []string{nothing}},
		{name: "the KDC could not be reached: info, with why",
			target: sqlfe, obs: obsOf(fRB, backEnd(allow), triage.DelegationProof{Path: rb, User: "alice@CORP.TEST", SPN: beTCP, Err: "no answer from the KDC within 5s"}),
			want: []want{{cause: triage.DelegationResourceBased, severity: triage.Info,
				summary: []string{"the KDC could not be asked, so only the directory says it: no answer from the KDC within 5s"}, evidence: 3}},
			steps: []string{nothing}},
		{name: "a Windows KDC refuses with STATUS_NOT_FOUND: a warning with the refusal's meaning, and no kerberos.ticket_failed beside it",
			target: sqlfe, obs: obsOf(fRB, backEnd(allow), withStatus(proof(rb, "alice", beTCP, true, false, 13), "STATUS_NOT_FOUND"), proof(rb, "alice", bePipes, true, true, 0)),
			want: []want{{cause: triage.DelegationResourceBased, severity: triage.Warning,
				summary: []string{"but the KDC, asked through the front end, refused 1 of 2 tickets (for alice@CORP.TEST's ticket to " + beTCP + ": 0xD KDC_ERR_BADOPTION",
					"with STATUS_NOT_FOUND (the back end's msDS-AllowedToActOnBehalfOfOtherIdentity does not allow the front end), while it issued 1)"},
				commands: []string{"nltest /dsgetdc:corp.test /force /kdc"}, evidence: 4}},
			steps: refusal},
		{name: "refused, and the back end refuses logins with no user's identity: critical",
			target: sqlbe, obs: func() triage.Observations {
				o := obsOf(fRB, backEnd(allow), proof(rb, "alice", beTCP, false, false, 13))
				o.Logs = []triage.LogEvent{anonymousAt("10.0.0.21")}
				return o
			}(),
			want: []want{
				{cause: triage.DelegationSecondHop, severity: triage.Critical, evidence: 2},
				{cause: triage.DelegationResourceBased, severity: triage.Critical, summary: []string{"SQL Server on sqlbe refused logins with no user's identity"}, evidence: 3},
			},
			steps: refusal},
		{name: "the KDC refuses the front end's S4U2self: kerberos.ticket_failed says so, and the path is doubted",
			target: sqlfe, obs: obsOf(fRB, backEnd(allow), triage.DelegationProof{Path: rb, User: "alice@CORP.TEST", SPN: beTCP, Step: "s4u2self", KDCError: 6}),
			want: []want{
				{cause: triage.KerberosTicketFailed, severity: triage.Critical, evidence: 3},
				{cause: triage.DelegationResourceBased, severity: triage.Warning, summary: []string{"(for alice@CORP.TEST's ticket to " + beTCP + ": at S4U2self, 0x6 KDC_ERR_C_PRINCIPAL_UNKNOWN"}, evidence: 3},
			},
			steps: refusal},
		{name: "constrained delegation to the back end as well: Microsoft's advice, and its step",
			target: sqlfe, obs: obsOf(front("svc_webrbcd", 1105, triage.UACTrustedToAuthForDelegation, beTCP), backEnd(allow), proof(rb, "alice", beTCP, true, true, 0)),
			want: []want{{cause: triage.DelegationResourceBased, severity: triage.Info,
				summary: []string{"its account also has constrained delegation to " + beTCP + ", which the KDC checks first: Microsoft says not to configure constrained delegation and RBCD on the same set"}, evidence: 3}},
			steps: []string{nothing, one}},
		{name: "the front end's own account is sensitive and the KDC was not asked: a warning",
			target: sqlfe, obs: obsOf(front("svc_webrbcd", 1105, triage.UACNotDelegated), backEnd(allow)),
			want: []want{{cause: triage.DelegationResourceBased, severity: triage.Warning,
				summary: []string{`the front end's own account is marked "Account is sensitive and cannot be delegated"`}, evidence: 2}},
			steps: refusal},
		{name: "the KDC asked only for bob, who cannot be delegated: his finding, and the path not judged by his refusal",
			target: sqlfe, obs: func() triage.Observations {
				o := obsOf(fRB, backEnd(allow), withStatus(proof(rb, "bob", beTCP, false, false, 13), "STATUS_ACCOUNT_RESTRICTION"))
				o.Delegation.Accounts = append(o.Delegation.Accounts, bob)
				return o
			}(),
			want: []want{
				{cause: triage.DelegationUserSensitive, severity: triage.Critical, evidence: 2},
				{cause: triage.DelegationResourceBased, severity: triage.Info, summary: []string{"the KDC was asked only for users who cannot be delegated"}, evidence: 3},
			},
			steps: []string{nothing}},
		{name: "an SPN the KDC does not know is delegation.backend_spn_missing's",
			target: sqlfe, obs: obsOf(fRB, backEnd(allow), proof(rb, "alice", beTCP, false, true, 0), proof(rb, "alice", bePipes, false, false, 7)),
			want: []want{
				{cause: triage.DelegationBackendSPNMissing, severity: triage.Critical, evidence: 1},
				{cause: triage.DelegationResourceBased, severity: triage.Info, summary: []string{"the KDC issued 1 ticket through the front end, so the path works"}, evidence: 4},
			},
			steps: []string{nothing}},
		{name: "an access-denied entry for the front end: no resource-based finding, delegation.not_trusted as before",
			target: sqlfe, obs: func() triage.Observations {
				back := backEnd(allow)
				back.DeniedToActOnBehalf = []triage.Principal{allow}
				return obsOf(fRB, back)
			}(),
			want: []want{{cause: triage.DelegationNotTrusted, severity: triage.Critical, summary: []string{"denies it resource-based delegation by name"}, evidence: 2}}},
		{name: "a principal the front end is not: no resource-based finding",
			target: sqlfe, obs: obsOf(fRB, backEnd(triage.Principal{SID: domSID + "1199"})),
			want: []want{{cause: triage.DelegationNotTrusted, severity: triage.Critical, evidence: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := applyRules(tt.target, tt.obs)
			slices.SortStableFunc(got, func(a, b triage.Finding) int { return int(b.Severity) - int(a.Severity) })
			checkFindings(t, got, tt.want)
			for _, f := range got {
				if f.Cause != triage.DelegationResourceBased {
					continue
				}
				var steps []string
				for _, s := range f.Remediation {
					steps = append(steps, s.Text)
				}
				if len(steps) != len(tt.steps) {
					t.Fatalf("steps %q; want %d beginning %q", steps, len(tt.steps), tt.steps)
				}
				for i, s := range steps {
					if !strings.HasPrefix(s, tt.steps[i]) {
						t.Errorf("step %d %q; want it to begin %q", i+1, s, tt.steps[i])
					}
				}
			}
		})
	}
}

// TestResourceBasedStepsAreTheCatalogs: the steps the rule picks by position are the
// catalog's that it means.
func TestResourceBasedStepsAreTheCatalogs(t *testing.T) {
	c, _ := triage.LookupCause(triage.DelegationResourceBased)
	for i, want := range map[int]string{
		rbcdStepNothing: "Where the KDC issued", rbcdStepRefused: "Where the KDC refused",
		rbcdStepFront: "In Active Directory Users and Computers, the front end's own account", rbcdStepBoth: "Keep one kind of delegation",
	} {
		if i >= len(c.Fix) || !strings.HasPrefix(c.Fix[i].Text, want) {
			t.Errorf("catalog step %d of %s does not begin %q", i, c.ID, want)
		}
	}
	if len(c.Fix) != rbcdStepBoth+1 {
		t.Errorf("%s has %d steps; the rule knows %d", c.ID, len(c.Fix), rbcdStepBoth+1)
	}
}

// TestLinkedSecondHopExplainedByResourceBased: a linked server's second hop through a
// path that resource-based delegation allows and the KDC cannot prove is explained by
// the path's finding.
func TestLinkedSecondHopExplainedByResourceBased(t *testing.T) {
	rb := pathFrom("svc_webrbcd")
	rb.FrontEnd = "sqlfe"
	d := &triage.DelegationFacts{Paths: []triage.DelegationPath{rb},
		Accounts: []triage.DelegationAccount{front("svc_webrbcd", 1105, 0), backEnd(triage.Principal{SID: domSID + "1105"})},
		Proofs:   []triage.DelegationProof{{Path: rb, User: "alice@CORP.TEST", SPN: beTCP, Unprovable: "the KDC does not implement it"}}}
	obs := triage.Observations{Delegation: d, Logs: []triage.LogEvent{linkedEv(triage.Msg7412, "SQLBE", anonCarried, 2)}}
	got := applyRules(sqlfe, obs)
	if !slices.Equal(causes(got), []triage.CauseID{triage.DelegationSecondHop, triage.DelegationResourceBased}) {
		t.Fatalf("findings %v", causes(got))
	}
	if s := got[0].Summary; !strings.Contains(s, "the findings about the path say why") {
		t.Errorf("summary %q", s)
	}
}

// TestProtectionNotEnforcedHostileNames: a user's name from the directory reaches the
// finding's text as it is and no command: the finding has none.
func TestProtectionNotEnforcedHostileNames(t *testing.T) {
	web := pathFrom("svc_web")
	for _, name := range []string{"carol'; Remove-ADGroupMember 'Protected Users' carol; '", "$(calc)", "car\u202eol"} {
		u := user("carol", 1303, 0, true)
		u.Account.SAMAccountName, u.Name = name, `CORP\`+name
		obs := triage.Observations{Delegation: facts(web, front("svc_web", 1101, triage.UACTrustedToAuthForDelegation, beTCP, bePipes), u)}
		obs.Delegation.Proofs = []triage.DelegationProof{proof(web, name, beTCP, true, true, 0)}
		fs := delegationProtectedRule{}.Apply(sqlfe, obs)
		if len(fs) != 1 {
			t.Fatalf("%q: findings %v", name, causes(fs))
		}
		for _, s := range fs[0].Remediation {
			if s.Command != "" {
				t.Errorf("%q: step with a command %q", name, s.Command)
			}
		}
		if !strings.Contains(fs[0].Summary, name) {
			t.Errorf("%q: summary %q", name, fs[0].Summary)
		}
	}
}
