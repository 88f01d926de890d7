package diagnosis

import (
	"slices"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

const agSPN = "MSSQLSvc/ag1.corp.example:1433"

// agAccount returns a directory account of the test domain.
func agAccount(sam, class string) triage.Account {
	return triage.Account{DN: "CN=" + sam + ",CN=Users,DC=corp,DC=example", SID: "S-1-5-21-1-2-3-" + sam, SAMAccountName: sam,
		Domain: "corp.example", NetBIOSDomain: "CORP", Class: class, UAC: triage.UACNormalAccount, EncTypes: triage.EncTypesUnset}
}

// agTarget is sqlhost01 with the listener ag1 of AG1, replicas SQLHOST01 and
// SQLHOST02\SALES running as svc_a and svc_b, as sys.dm_server_services writes them.
func agTarget(svcA, svcB string, edit func(*triage.Listener)) triage.Target {
	t := target
	l := triage.Listener{Name: "ag1", FQDN: "ag1.corp.example", Port: 1433, Group: "AG1", Source: "inventory, sql",
		IPs: []string{"10.0.1.50", "10.0.2.50"}, Addresses: []string{"10.0.1.50", "10.0.2.50"},
		Replicas: []triage.Replica{
			{Server: "SQLHOST01", FQDN: "sqlhost01.corp.example", ServiceAccount: svcA, Addresses: []string{"10.0.1.11"}},
			{Server: `SQLHOST02\SALES`, FQDN: "sqlhost02.corp.example", ServiceAccount: svcB, Addresses: []string{"10.0.2.12"}},
		}}
	if edit != nil {
		edit(&l)
	}
	t.Listeners = []triage.Listener{l}
	return t
}

// agProbe returns the spn check's lookup of the listener's SPN with owners.
func agProbe(owners ...triage.Account) triage.Observations {
	return triage.Observations{Directory: &triage.DirectoryFacts{NetBIOS: "CORP", Probes: []triage.SPNProbe{
		{SPNOwners: triage.SPNOwners{SPN: agSPN, Owners: owners}, Kind: triage.ProbeListener, For: "ag1.corp.example"}}}}
}

func TestListenerRules(t *testing.T) {
	svc := agAccount("svc_sql01", "user")
	tests := []struct {
		name   string
		target triage.Target
		obs    triage.Observations
		want   []want
	}{
		{
			name:   "SPN on the replicas' account: nothing to say",
			target: agTarget(`CORP\svc_sql01`, `CORP\svc_sql01`, nil),
			obs:    agProbe(svc),
		},
		{
			name:   "no probe of the listener's SPN: nothing to judge",
			target: agTarget(`CORP\svc_sql01`, `CORP\svc_sql01`, nil),
			obs:    triage.Observations{Directory: &triage.DirectoryFacts{}},
		},
		{
			name:   "SPN missing: register it on the account both replicas run as",
			target: agTarget(`CORP\svc_sql01`, `CORP\svc_sql01`, nil),
			obs:    agProbe(),
			want: []want{{cause: triage.ListenerSPNMissing, severity: triage.Critical,
				summary:  []string{agSPN + ", the SPN of the availability-group listener ag1.corp.example (availability group AG1)", `It belongs on CORP\svc_sql01`, "only this form, with the port"},
				commands: []string{`setspn -S ` + agSPN + ` CORP\svc_sql01`}, evidence: 3}},
		},
		{
			name: "SPN missing, replicas not asked: the host's account stands for them",
			target: agTarget("", "", func(l *triage.Listener) {
				l.Replicas[1].Err = "login failed"
			}),
			obs: agProbe(),
			want: []want{{cause: triage.ListenerSPNMissing, severity: triage.Critical,
				summary:  []string{`CORP\svc_sql01, which SQL Server on SQLHOST01 runs as (the other replicas' accounts were not read)`},
				commands: []string{`setspn -S ` + agSPN + ` CORP\svc_sql01`}, evidence: 2}},
		},
		{
			name:   "SPN missing, one replica not asked: the other's account, and the reader is told",
			target: agTarget(`CORP\svc_sql01`, "", func(l *triage.Listener) { l.Replicas[1].Err = "login failed" }),
			obs:    agProbe(),
			want: []want{{cause: triage.ListenerSPNMissing, severity: triage.Critical,
				summary:  []string{`It belongs on CORP\svc_sql01, the account every replica runs as (what SQLHOST02\SALES runs as was not read)`},
				commands: []string{`setspn -S ` + agSPN + ` CORP\svc_sql01`}, evidence: 3}},
		},
		{
			name: "a replica on a virtual account whose host is not known is not guessed at",
			target: agTarget(`CORP\svc_sql01`, `NT Service\MSSQLSERVER`, func(l *triage.Listener) {
				l.Replicas[1].Server, l.Replicas[1].FQDN = "", ""
			}),
			obs: agProbe(svc),
		},
		{
			name:   "SPN on a replica's computer account",
			target: agTarget(`CORP\svc_sql01`, `CORP\svc_sql01`, nil),
			obs:    agProbe(agAccount("SQLHOST02$", "computer")),
			want: []want{{cause: triage.ListenerSPNWrongAccount, severity: triage.Critical,
				summary:  []string{`registered on CORP\SQLHOST02$, the computer account of the replica SQLHOST02\SALES, not on CORP\svc_sql01`},
				commands: []string{`setspn -D ` + agSPN + ` CORP\SQLHOST02$`, `setspn -S ` + agSPN + ` CORP\svc_sql01`}, evidence: 3}},
		},
		{
			name:   "SPN on the listener's own computer object",
			target: agTarget(`CORP\svc_sql01`, `CORP\svc_sql01`, nil),
			obs:    agProbe(agAccount("AG1$", "computer")),
			want: []want{{cause: triage.ListenerSPNWrongAccount, severity: triage.Critical,
				summary: []string{`CORP\AG1$, the listener's own computer object`}, evidence: 3}},
		},
		{
			name:   "replicas not asked, SPN on another service account: this host may be the odd one out, nothing removed",
			target: agTarget("", "", func(l *triage.Listener) { l.Replicas[1].Err = "login failed" }),
			obs:    agProbe(agAccount("svc_sql02", "user")),
			want: []want{{cause: triage.ListenerSPNWrongAccount, severity: triage.Warning,
				summary: []string{`registered on CORP\svc_sql02, not on CORP\svc_sql01, the account SQL Server on SQLHOST01 runs as`,
					`what SQLHOST01 and SQLHOST02\SALES run as was not read`, "give the replicas' accounts before removing it"},
				commands: []string{"SELECT servicename, service_account FROM sys.dm_server_services;"}, evidence: 2}},
		},
		{
			name:   "one replica not read, SPN on the other's computer account: nothing removed, the unread replica named",
			target: agTarget(`CORP\svc_sql01`, "", func(l *triage.Listener) { l.Replicas[1].Err = "login failed" }),
			obs:    agProbe(agAccount("SQLHOST02$", "computer")),
			want: []want{{cause: triage.ListenerSPNWrongAccount, severity: triage.Warning,
				summary: []string{`CORP\SQLHOST02$, the computer account of the replica SQLHOST02\SALES`, `what SQLHOST02\SALES runs as was not read`}, evidence: 3}},
		},
		{
			name:   "replicas not asked, SPN on the host's account and an old one: nothing removed",
			target: agTarget("", "", nil),
			obs:    agProbe(svc, agAccount("svc_old", "user")),
			want: []want{{cause: triage.ListenerSPNWrongAccount, severity: triage.Warning,
				summary: []string{`registered on CORP\svc_old`, "was not read"}, evidence: 1}},
		},
		{
			name:   "SPN on the right account and an old one: only the old one is removed",
			target: agTarget(`CORP\svc_sql01`, `CORP\svc_sql01`, nil),
			obs:    agProbe(svc, agAccount("svc_old", "user")),
			want: []want{{cause: triage.ListenerSPNWrongAccount, severity: triage.Critical,
				summary:  []string{`registered on CORP\svc_old`, `CORP\svc_sql01 holds it too`},
				commands: []string{`setspn -D ` + agSPN + ` CORP\svc_old`}, evidence: 3}},
		},
		{
			name:   "replicas run as two accounts, SPN on one of them",
			target: agTarget(`CORP\svc_sql01`, `CORP\svc_sql02`, nil),
			obs:    agProbe(svc),
			want: []want{{cause: triage.ListenerAccountsDiffer, severity: triage.Critical,
				summary:  []string{"run as 2 different service accounts", `CORP\svc_sql01 on SQLHOST01`, `CORP\svc_sql02 on SQLHOST02\SALES`, agSPN + ` is registered on CORP\svc_sql01`},
				commands: []string{`setspn -S ` + agSPN + ` CORP\svc_sql01`}, evidence: 3}},
		},
		{
			name:   "replicas run as two accounts, SPN missing: both findings, no account chosen",
			target: agTarget(`CORP\svc_sql01`, `CORP\svc_sql02`, nil),
			obs:    agProbe(),
			want: []want{
				{cause: triage.ListenerAccountsDiffer, severity: triage.Critical, summary: []string{"is registered on no account"},
					commands: []string{`setspn -S ` + agSPN + ` <ACCOUNT>`}, evidence: 3},
				{cause: triage.ListenerSPNMissing, severity: triage.Critical, summary: []string{"The replicas run as different accounts"},
					commands: []string{`setspn -S ` + agSPN + ` <ACCOUNT>`}, evidence: 1},
			},
		},
		{
			name:   "replicas on virtual accounts act as two computer accounts",
			target: agTarget(`NT Service\MSSQLSERVER`, `NT Service\MSSQL$SALES`, nil),
			obs:    agProbe(agAccount("SQLHOST01$", "computer")),
			want: []want{{cause: triage.ListenerAccountsDiffer, severity: triage.Critical,
				summary: []string{`CORP\SQLHOST01$ on SQLHOST01`, `CORP\SQLHOST02$ on SQLHOST02\SALES`}, evidence: 3}},
		},
		{
			name:   "the same account written two ways is one account",
			target: agTarget(`CORP\svc_sql01`, `corp\SVC_SQL01`, nil),
			obs:    agProbe(svc),
		},
		{
			name:   "DNS gives a replica's address beside the listener's",
			target: agTarget(`CORP\svc_sql01`, `CORP\svc_sql01`, func(l *triage.Listener) { l.Addresses = []string{"10.0.1.50", "10.0.1.11"} }),
			obs:    agProbe(svc),
			want: []want{{cause: triage.ListenerDNSMismatch, severity: triage.Warning,
				summary:  []string{"resolves to 10.0.1.11, not among its own IP addresses (10.0.1.50, 10.0.2.50)"},
				commands: []string{"nslookup ag1.corp.example"}, evidence: 2}},
		},
		{
			name:   "DNS gives a stale address after a move",
			target: agTarget(`CORP\svc_sql01`, `CORP\svc_sql01`, func(l *triage.Listener) { l.Addresses = []string{"10.9.9.9"} }),
			obs:    agProbe(svc),
			want: []want{{cause: triage.ListenerDNSMismatch, severity: triage.Warning,
				summary: []string{"resolves to 10.9.9.9, not among its own"}, evidence: 2}},
		},
		{
			name:   "DNS gives exactly the listener's addresses",
			target: agTarget(`CORP\svc_sql01`, `CORP\svc_sql01`, func(l *triage.Listener) { l.Addresses = []string{"10.0.2.50"} }),
			obs:    agProbe(svc),
		},
		{
			name: "listener IPs unknown, the replicas' addresses: a DNN listener resolves to them, nothing told",
			target: agTarget(`CORP\svc_sql01`, `CORP\svc_sql01`, func(l *triage.Listener) {
				l.IPs, l.Addresses = nil, []string{"10.0.1.11", "10.0.2.12"}
			}),
			obs: agProbe(svc),
		},
		{
			name: "listener IPs unknown, another address: nothing can be told",
			target: agTarget(`CORP\svc_sql01`, `CORP\svc_sql01`, func(l *triage.Listener) {
				l.IPs, l.Addresses = nil, []string{"10.0.3.50"}
			}),
			obs: agProbe(svc),
		},
		{
			name: "IPv6 written two ways is one address",
			target: agTarget(`CORP\svc_sql01`, `CORP\svc_sql01`, func(l *triage.Listener) {
				l.IPs, l.Addresses = []string{"2001:db8::50"}, []string{"2001:DB8:0:0::50"}
			}),
			obs: agProbe(svc),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFindings(t, applyRules(tt.target, tt.obs), tt.want)
		})
	}
}

// TestListenerCommandsReadBack: a listener name, replica or owner account read from
// SQL Server or the directory with shell metacharacters in it never reaches a command
// unquoted: each command reads back as exactly the words meant, or is left out with
// the reason.
func TestListenerCommandsReadBack(t *testing.T) {
	written := 0
	for _, h := range append([]string{"ok"}, hostile...) {
		fqdn := "ag1" + h + ".corp.example"
		spn := "MSSQLSvc/" + fqdn + ":1433"
		tg := agTarget(`CORP\svc_`+h, `CORP\svc_`+h, func(l *triage.Listener) {
			l.FQDN, l.Name = fqdn, "ag1"+h
			l.Addresses = []string{"10.0.1.11"}
		})
		probe := func(owners ...triage.Account) triage.Observations {
			o := agProbe(owners...)
			o.Directory.Probes[0].SPN, o.Directory.Probes[0].For = spn, fqdn
			return o
		}
		for _, obs := range []triage.Observations{probe(), probe(agAccount(h, "user"))} {
			for _, f := range applyRules(tg, obs) {
				if !strings.HasPrefix(string(f.Cause), "listener.") {
					continue
				}
				for i, s := range f.Remediation {
					if s.Command == "" {
						if s.Omitted != "" && !strings.Contains(s.Text, "The command is left out: "+s.Omitted) {
							t.Errorf("%q %s step %d: no command and no reason: %+v", h, f.Cause, i, s)
						}
						continue
					}
					written++
					words := readBack(t, s)
					switch words[0] {
					case "setspn":
						want := [][]string{{"setspn", "-S", spn, `CORP\svc_` + h}, {"setspn", "-D", spn, `CORP\` + h}}
						if !slices.ContainsFunc(want, func(w []string) bool { return slices.Equal(w, words) }) {
							t.Errorf("%q %s step %d: %s reads back as %q", h, f.Cause, i, s.Command, words)
						}
					case "nslookup":
						if !slices.Equal(words, []string{"nslookup", fqdn}) {
							t.Errorf("%q %s step %d: %s reads back as %q", h, f.Cause, i, s.Command, words)
						}
					default:
						t.Errorf("%q %s step %d: unexpected command %s", h, f.Cause, i, s.Command)
					}
				}
			}
		}
	}
	if written < 10 {
		t.Errorf("only %d commands were written; names Active Directory allows must be", written)
	}
}

// listenerSafetyScenarios return evidence that makes the listener rules and SQL
// Server's own view of its logins fire, for the safety test.
func listenerSafetyScenarios() []safetyScenario {
	svc := agAccount("svc_sql01", "user")
	spn := triage.SPNOwners{SPN: "MSSQLSvc/sqlhost01.corp.example:1433", Owners: []triage.Account{svc}}
	view := &triage.InstanceFacts{
		Connections: []triage.ConnectionGroup{{Instance: "MSSQLSERVER:1433", AuthScheme: "NTLM", Transport: "TCP", Client: "10.0.0.7", Count: 3}},
		Failures: []triage.RingBufferEvent{
			{Instance: "MSSQLSERVER", Buffer: "RING_BUFFER_SECURITY_ERROR", API: "AcceptSecurityContext", Code: "0x80090311", Count: 2},
			{Instance: "MSSQLSERVER", Buffer: "RING_BUFFER_CONNECTIVITY", Number: 18456, State: 1, SSPIMillis: 4000, Count: 2}},
	}
	return []safetyScenario{
		{name: "listener SPN on a computer account, DNS stale", target: agTarget(`CORP\svc_sql01`, `CORP\svc_sql01`, func(l *triage.Listener) {
			l.Addresses = []string{"10.0.1.11"}
		}), obs: agProbe(agAccount("SQLHOST02$", "computer"))},
		{name: "listener replicas differ, SPN missing", target: agTarget(`CORP\svc_sql01`, `NT Service\MSSQLSERVER`, nil), obs: agProbe()},
		{name: "SQL Server's own view", obs: triage.Observations{Directory: &triage.DirectoryFacts{SPNs: []triage.SPNOwners{spn}}, Instances: view}},
	}
}
