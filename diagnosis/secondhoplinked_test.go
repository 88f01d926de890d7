package diagnosis

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

// linkedEv returns a group of linked-server messages on sqlfe's ERRORLOG, as the
// reader gives them: the linked server, the carried message and the login it names.
func linkedEv(id int, linked, carried string, count int) triage.LogEvent {
	e := logEv(id, "", 1, count)
	e.Linked, e.Reason = linked, carried
	e.Login, _ = triage.CarriedLogin(carried)
	return e
}

const anonCarried = `Login failed for user 'NT AUTHORITY\ANONYMOUS LOGON'.`

func TestLinkedSecondHop(t *testing.T) {
	noport := pathFrom("svc_webnoport")
	noport.FrontEnd = "sqlfe"
	viaLinked := noport
	viaLinked.Via = "linked server BE_ALIAS"
	fNoport := front("svc_webnoport", 1103, triage.UACTrustedToAuthForDelegation, bePipes)
	fWeb := front("svc_web", 1101, triage.UACTrustedToAuthForDelegation, beTCP, bePipes)
	web := pathFrom("svc_web")
	web.FrontEnd = "sqlfe"
	named := web
	named.BackEnd, named.BackEndFQDN, named.Instance = "sqlbe", "sqlbe.corp.test", triage.Instance{Name: "SALES"}
	logs := func(d *triage.DelegationFacts, evs ...triage.LogEvent) triage.Observations {
		return triage.Observations{Delegation: d, Logs: evs}
	}
	failure := []triage.LogEvent{
		linkedEv(triage.Msg7412, "SQLBE", anonCarried, 4),
		linkedEv(triage.Msg7399, "SQLBE", "Authentication failed.", 4),
		linkedEv(triage.Msg7303, "sqlbe", "", 4),
	}

	tests := []struct {
		name string
		obs  triage.Observations
		want []want
		// evidence holds substrings each of some evidence of the second hop's finding
		evidence []string
	}{
		{name: "7412 carrying ANONYMOUS LOGON through a linked server named as the back end: the second hop on the front end, and the path's own cause",
			obs: logs(facts(noport, fNoport), failure...),
			want: []want{
				{cause: triage.DelegationSecondHop, severity: triage.Critical,
					summary:  []string{"Queries on sqlfe through linked server \"SQLBE\" failed: the back end refused 4 logins that carried no user's identity (4 as NT AUTHORITY\\ANONYMOUS LOGON)", "sqlfe (CORP\\svc_webnoport) passed on no user's identity to sqlbe, so this is a second hop"},
					commands: []string{"setspn -Q " + beTCP}, evidence: 4},
				{cause: triage.DelegationPortFormMissing, severity: triage.Critical, summary: []string{"lacks " + beTCP}, evidence: 2},
			},
			evidence: []string{`7412 the OLE DB provider for linked server "SQLBE" returned the back end's message "Login failed for user 'NT AUTHORITY\ANONYMOUS LOGON'."`,
				`7399 the OLE DB provider for linked server "SQLBE" reported an error: Authentication failed.`,
				`7303 cannot initialize the data source object of the OLE DB provider for linked server "sqlbe"`,
				`sqlfe (CORP\svc_webnoport) -> sqlbe: the front end's account has constrained delegation to ` + bePipes},
		},
		{name: "a path the delegation check found through the linked server is the one named, whatever the linked server's name",
			obs: logs(facts(viaLinked, fNoport), linkedEv(triage.Msg7412, "BE_ALIAS", anonCarried, 1)),
			want: []want{
				{cause: triage.DelegationSecondHop, severity: triage.Critical, summary: []string{`through linked server "BE_ALIAS"`, "at 2026-11-24", "to sqlbe, so"}, evidence: 2},
				{cause: triage.DelegationPortFormMissing, severity: triage.Critical, evidence: 2},
			},
		},
		{name: "a path the directory allows: the finding says nothing read explains it",
			obs: logs(facts(web, fWeb), linkedEv(triage.Msg7412, "SQLBE", anonCarried, 1)),
			want: []want{{cause: triage.DelegationSecondHop, severity: triage.Critical,
				summary: []string{"to sqlbe, so this is a second hop whose delegation failed; what was read of the path does not explain it"}, evidence: 2}},
		},
		{name: "no path known: the linked server is named, and how to have the path checked",
			obs: logs(nil, linkedEv(triage.Msg7412, "SQLBE", anonCarried, 2)),
			want: []want{{cause: triage.DelegationSecondHop, severity: triage.Critical,
				summary:  []string{"to the linked server's back end", `authtriage knows no delegation path through "SQLBE": name its back end in the inventory's delegation section`},
				evidence: 1}},
		},
		{name: "a linked server with an instance matches only the path to that instance",
			obs: logs(&triage.DelegationFacts{Paths: []triage.DelegationPath{web, named}, Accounts: []triage.DelegationAccount{fWeb, backEnd()}},
				linkedEv(triage.Msg7412, `SQLBE\SALES`, anonCarried, 1)),
			want: []want{
				{cause: triage.DelegationSecondHop, severity: triage.Critical, summary: []string{`to sqlbe\SALES, so`}, evidence: 2},
				{cause: triage.DelegationSPNNotAllowed, severity: triage.Critical, summary: []string{"MSSQLSvc/sqlbe.corp.test:SALES"}, evidence: 2},
			},
		},
		{name: "'(null)' and an empty name carried count as no user; an ad hoc query names no back end",
			obs: logs(nil, linkedEv(triage.Msg7412, "(null)", "Login failed for user '(null)'.", 1), linkedEv(triage.Msg7412, "(null)", "Login failed for user ''.", 2)),
			want: []want{{cause: triage.DelegationSecondHop, severity: triage.Critical,
				summary: []string{"through an ad hoc query (OPENROWSET or OPENDATASOURCE", "3 logins", "1 as '(null)', 2 with an empty name", "the one its connection string names"}, evidence: 2}},
		},
		{name: "a Kerberos-only path whose linked server fails on the front end: the second hop, and protocol transition as the path's cause",
			obs: logs(facts(web, front("svc_web", 1101, 0, beTCP, bePipes)), linkedEv(triage.Msg7412, "SQLBE", anonCarried, 3)),
			want: []want{
				{cause: triage.DelegationSecondHop, severity: triage.Critical, evidence: 2},
				{cause: triage.DelegationProtocolTransition, severity: triage.Warning, evidence: 2},
			},
		},
		{name: "7399 carrying the login counts when no 7412 does",
			obs:  logs(nil, linkedEv(triage.Msg7399, "SQLBE", "[Microsoft][ODBC Driver 18 for SQL Server][SQL Server]"+anonCarried, 5)),
			want: []want{{cause: triage.DelegationSecondHop, severity: triage.Critical, summary: []string{"refused 5 logins"}, evidence: 1}},
		},
		{name: "7399 carrying it too is not counted twice",
			obs:  logs(nil, linkedEv(triage.Msg7412, "SQLBE", anonCarried, 5), linkedEv(triage.Msg7399, "SQLBE", anonCarried, 5)),
			want: []want{{cause: triage.DelegationSecondHop, severity: triage.Critical, summary: []string{"refused 5 logins"}, evidence: 2}},
		},
		{name: "the front end's computer account carried: a login mapping's matter, no second hop",
			obs: logs(facts(noport, fNoport), linkedEv(triage.Msg7412, "SQLBE", `[Microsoft][SQL Server Native Client 11.0][SQL Server]Login failed for user 'CORP\SQLFE$'.`, 3),
				linkedEv(triage.Msg7303, "SQLBE", "", 3)),
			want: []want{{cause: triage.DelegationPortFormMissing, severity: triage.Critical, evidence: 2}},
		},
		{name: "a message that names no login, or 7303 alone, is no evidence of a second hop",
			obs:  logs(nil, linkedEv(triage.Msg7412, "SQLBE", "Client unable to establish connection", 3), linkedEv(triage.Msg7303, "SQLBE", "", 3)),
			want: nil,
		},
		{name: "a linked server SQL Server showed not forwarding the caller's credentials: ANONYMOUS LOGON is its mapping's, no second hop",
			obs: logs(&triage.DelegationFacts{LinkedServers: []triage.LinkedServer{{Name: "SQLBE", Provider: "MSOLEDBSQL", DataSource: "sqlbe.corp.test", Complete: true}}},
				linkedEv(triage.Msg7412, "SQLBE", anonCarried, 3)),
			want: nil,
		},
		{name: "a linked server SQL Server showed forwarding them is a second hop",
			obs: logs(&triage.DelegationFacts{LinkedServers: []triage.LinkedServer{{Name: "sqlbe", SelfCredential: true, SelfCredentialAll: true, Complete: true}}},
				linkedEv(triage.Msg7412, "SQLBE", anonCarried, 3)),
			want: []want{{cause: triage.DelegationSecondHop, severity: triage.Critical, evidence: 1}},
		},
		{name: "7413 through a linked server named as the back end: the second hop on the front end, and the path's own cause",
			obs: logs(facts(noport, fNoport), linkedEv(triage.Msg7413, "SQLBE", "", 2), linkedEv(triage.Msg7303, "SQLBE", "", 1)),
			want: []want{
				{cause: triage.DelegationSecondHop, severity: triage.Critical,
					summary:  []string{`Queries on sqlfe through linked server "SQLBE" failed: SQL Server did not connect 2 times and asked to enable delegation or use a remote SQL Server login for the current user (7413)`, "sqlfe (CORP\\svc_webnoport) passed on no user's identity to sqlbe, so this is a second hop"},
					commands: []string{"setspn -Q " + beTCP}, evidence: 3},
				{cause: triage.DelegationPortFormMissing, severity: triage.Critical, evidence: 2},
			},
			evidence: []string{`7413 could not connect to linked server "SQLBE": enable delegation or use a remote SQL Server login for the current user`,
				`7303 cannot initialize the data source object of the OLE DB provider for linked server "SQLBE"`},
		},
		{name: "7413 and 7412 of the same linked server: one finding, each counted",
			obs: logs(nil, linkedEv(triage.Msg7412, "SQLBE", anonCarried, 3), linkedEv(triage.Msg7413, "sqlbe", "", 1)),
			want: []want{{cause: triage.DelegationSecondHop, severity: triage.Critical,
				summary: []string{"refused 3 logins that carried no user's identity (3 as NT AUTHORITY\\ANONYMOUS LOGON); SQL Server did not connect 1 time"}, evidence: 2}},
		},
		{name: "7413 of an ad hoc query names no back end",
			obs: logs(nil, linkedEv(triage.Msg7413, "(null)", "", 1)),
			want: []want{{cause: triage.DelegationSecondHop, severity: triage.Critical,
				summary: []string{"through an ad hoc query", "did not connect 1 time", "the one its connection string names"}, evidence: 1}},
		},
		{name: "7413 of a linked server SQL Server showed not forwarding the caller's credentials: no second hop",
			obs: logs(&triage.DelegationFacts{LinkedServers: []triage.LinkedServer{{Name: "SQLBE", Provider: "MSOLEDBSQL", DataSource: "sqlbe.corp.test", Complete: true}}},
				linkedEv(triage.Msg7413, "sqlbe", "", 3), linkedEv(triage.Msg7303, "SQLBE", "", 3)),
			want: nil,
		},
		{name: "7413 naming no linked server (the reader refused the name) is no evidence",
			obs:  logs(nil, linkedEv(triage.Msg7413, "", "", 3)),
			want: nil,
		},
		{name: "the Application log's 7413 is read when the ERRORLOG has none",
			obs: func() triage.Observations {
				e := linkedEv(triage.Msg7413, "SQLBE", "", 2)
				e.Source, e.Log, e.Provider, e.State = triage.SourceEventlog, "Application", "MSSQL$SALES", -1
				return logs(nil, e)
			}(),
			want:     []want{{cause: triage.DelegationSecondHop, severity: triage.Critical, evidence: 1}},
			evidence: []string{"(Application log (MSSQL$SALES 7413))"},
		},
		{name: "the Application log's copies are read when the ERRORLOG has none",
			obs: func() triage.Observations {
				e := linkedEv(triage.Msg7412, "SQLBE", anonCarried, 2)
				e.Source, e.Log, e.Provider, e.State = triage.SourceEventlog, "Application", "MSSQLSERVER", -1
				return logs(nil, e)
			}(),
			want:     []want{{cause: triage.DelegationSecondHop, severity: triage.Critical, evidence: 1}},
			evidence: []string{"(Application log (MSSQLSERVER 7412))"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := applyRules(sqlfe, tt.obs)
			slices.SortStableFunc(got, func(a, b triage.Finding) int { return int(b.Severity) - int(a.Severity) })
			checkFindings(t, got, tt.want)
			for _, f := range got {
				if f.Cause != triage.DelegationSecondHop {
					continue
				}
				for _, w := range tt.evidence {
					if !slices.ContainsFunc(f.Evidence, func(e triage.Evidence) bool { return strings.Contains(e.Text, w) }) {
						t.Errorf("no evidence holds %q: %+v", w, f.Evidence)
					}
				}
			}
		})
	}
}

// TestLinkedSecondHopHostileNames: names from the log reach the finding's text only
// quoted, and its commands only through their checked slots: a linked server named
// like a command, or a back-end SPN from the directory, never runs as one.
func TestLinkedSecondHopHostileNames(t *testing.T) {
	for _, c := range []struct {
		id      int
		name    string
		carried string
	}{
		{triage.Msg7412, `SQLBE"; Remove-ADUser x; "`, anonCarried},
		{triage.Msg7412, "$(calc)", anonCarried},
		{triage.Msg7412, "`whoami`", anonCarried},
		{triage.Msg7412, "SQL\u202eBE", anonCarried},
		{triage.Msg7413, `SQLBE'; Remove-ADUser x; '`, ""},
		{triage.Msg7413, "$(calc)", ""},
		{triage.Msg7413, "SQL\u202eBE", ""},
	} {
		name := c.name
		obs := triage.Observations{Logs: []triage.LogEvent{linkedEv(c.id, name, c.carried, 1)}}
		fs := linkedSecondHops(sqlfe, obs)
		if len(fs) != 1 {
			t.Fatalf("%q: findings %v", name, causes(fs))
		}
		f := fs[0]
		for _, s := range f.Remediation {
			if strings.Contains(s.Command, name) {
				t.Errorf("%q reached a command: %q", name, s.Command)
			}
		}
		want := `linked server "` + name + `"`
		if strings.ContainsAny(name, "\"\u202e") {
			want = "linked server " + strconv.Quote(name)
		}
		if !strings.Contains(f.Evidence[0].Text, want) || !strings.Contains(f.Summary, want) {
			t.Errorf("%q is not quoted as %s in the evidence and summary: %q, %q", name, want, f.Evidence[0].Text, f.Summary)
		}
	}
}
