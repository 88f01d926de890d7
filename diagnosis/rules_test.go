package diagnosis

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/triage"
)

var (
	zone = time.FixedZone("", 4*3600)
	t0   = time.Date(2026, 11, 24, 9, 0, 0, 0, zone)
)

// logEv builds a grouped ERRORLOG event.
func logEv(id int, code string, state, count int, clients ...string) triage.LogEvent {
	return triage.LogEvent{Check: "errorlog", Source: triage.SourceErrorlog, Log: "ERRORLOG", ID: id, Code: code, State: state,
		Count: count, First: t0, Last: t0.Add(41 * time.Minute), Clients: clients}
}

// winEv builds a grouped Windows event.
func winEv(log, provider string, id int, code, spn string) triage.LogEvent {
	return triage.LogEvent{Check: "eventlog", Source: triage.SourceEventlog, Log: log, Provider: provider, ID: id, Code: code, SPN: spn,
		State: -1, Count: 2, First: t0, Last: t0.Add(time.Minute)}
}

var target = triage.Target{
	Host: "sqlhost01", FQDN: "sqlhost01.corp.example",
	Instances:      []triage.Instance{{Port: 1433}},
	ServiceAccount: `CORP\svc_sql01`,
}

// want describes one expected finding.
type want struct {
	cause    triage.CauseID
	severity triage.Severity
	summary  []string // substrings of the summary
	commands []string // substrings of some remediation command
	evidence int      // number of evidence items
}

func TestRules(t *testing.T) {
	login := func(state int, user, reason string) triage.LogEvent {
		e := logEv(18456, "", state, 3, "10.0.0.7")
		e.Login, e.Reason = user, reason
		return e
	}
	spnFail := logEv(26067, "0xffffffff", 63, 1)
	spnFail.SPN = "MSSQLSvc/DESKTOP-8M1JA4S:MSSQLSERVER03"
	slow := logEv(17830, "0x2746", -1, 4, "10.0.0.9")
	slow.Millis = 5012
	fast := logEv(17830, "0x2746", -1, 4, "10.0.0.9")
	fast.Millis = 3

	tests := []struct {
		name   string
		target triage.Target
		obs    triage.Observations
		want   []want
	}{
		{
			name:   "seed: 17806 0x80090311 state 14 is dc.unreachable, 18452 is its symptom",
			target: target,
			obs: triage.Observations{Logs: []triage.LogEvent{
				logEv(17806, "0x80090311", 14, 42, "10.0.0.5", "10.0.0.6"),
				logEv(18452, "", 1, 42, "10.0.0.5", "10.0.0.6"),
				winEv("System", "NETLOGON", 5719, "", ""),
			}},
			want: []want{{
				cause: triage.DCUnreachable, severity: triage.Critical,
				summary:  []string{"42 Windows logins to sqlhost01", "0x80090311", "from 2 clients", "untrusted domain", "42 times"},
				commands: []string{"nltest /dsgetdc:corp.example /force /kdc", "nltest /sc_query:corp.example"},
				evidence: 3,
			}},
		},
		{
			name:   "seed: 17806 0x80090304 is lsa.unresponsive, slow SSPI corroborates",
			target: target,
			obs: triage.Observations{Logs: []triage.LogEvent{
				logEv(17806, "0x80090304", 14, 7, "10.0.0.5"),
				slow,
				winEv("System", "Microsoft-Windows-Security-Kerberos", 3, "0x80090304", ""),
			}},
			want: []want{{
				cause: triage.LSAUnresponsive, severity: triage.Critical,
				summary:  []string{"7 Windows logins", "Local Security Authority"},
				commands: []string{"setspn -Q MSSQLSvc/sqlhost01.corp.example:1433", `setspn -L CORP\svc_sql01`},
				evidence: 3,
			}},
		},
		{
			name:   "both seed codes give two findings; each 18452 goes with its 17806, unpaired ones with the larger",
			target: target,
			obs: triage.Observations{Logs: []triage.LogEvent{
				logEv(17806, "0x80090311", 14, 5),
				logEv(17806, "0x80090304", 14, 30),
				logEv(18452, "0x80090311", 1, 5),
				logEv(18452, "0x80090304", 1, 30),
				logEv(18452, "", 1, 2),
			}},
			want: []want{
				{cause: triage.DCUnreachable, severity: triage.Critical, summary: []string{"(18452) 5 times"}, evidence: 2},
				{cause: triage.LSAUnresponsive, severity: triage.Critical, summary: []string{"(18452) 32 times"}, evidence: 3},
			},
		},
		{
			name:   "17806 with an unexplained code is sspi.handshake_failed with its meaning",
			target: target,
			obs:    triage.Observations{Logs: []triage.LogEvent{logEv(17806, "0x80090308", 14, 3)}},
			want: []want{{cause: triage.SSPIHandshakeFailed, severity: triage.Warning,
				summary: []string{"SEC_E_INVALID_TOKEN", "the token passed to the function is not valid"}, evidence: 1}},
		},
		{
			name:   "17806 SEC_E_TIME_SKEW is clock.skew",
			target: target,
			obs:    triage.Observations{Logs: []triage.LogEvent{logEv(17806, "0x80090324", 14, 3)}},
			want:   []want{{cause: triage.ClockSkew, severity: triage.Critical, commands: []string{"w32tm /resync /rediscover"}, evidence: 1}},
		},
		{
			name:   "18452 alone is login.untrusted_domain",
			target: target,
			obs:    triage.Observations{Logs: []triage.LogEvent{logEv(18452, "", 1, 9, "10.1.1.1")}},
			want: []want{{cause: triage.LoginUntrustedDomain, severity: triage.Warning,
				summary: []string{"9 Windows logins", "1 client"}, evidence: 1}},
		},
		{
			name:   "18456 states are explained, with fixes per state",
			target: target,
			obs: triage.Observations{Logs: []triage.LogEvent{
				login(8, "app_user", "Password did not match that for the login provided."),
				login(38, `CORP\jdoe`, "Failed to open the database 'Sales' specified in the login properties."),
			}},
			want: []want{{cause: triage.LoginFailed, severity: triage.Warning,
				summary:  []string{"refused 6 logins", "state 8, the password is incorrect (3)", "state 38"},
				commands: []string{`ALTER LOGIN [CORP\jdoe] WITH DEFAULT_DATABASE = [master];`},
				evidence: 2}},
		},
		{
			name:   "26067 from the real logs is spn.registration_failed, with SPN and code",
			target: triage.Target{Host: "DESKTOP-8M1JA4S"},
			obs: triage.Observations{
				Logs:   []triage.LogEvent{spnFail},
				Server: &triage.ServerInfo{ServiceAccount: `NT Service\MSSQL$MSSQLSERVER03`},
			},
			want: []want{{cause: triage.SPNRegistrationFailed, severity: triage.Warning,
				summary:  []string{"MSSQLSvc/DESKTOP-8M1JA4S:MSSQLSERVER03", "0xffffffff"},
				commands: []string{`setspn -S MSSQLSvc/DESKTOP-8M1JA4S:MSSQLSERVER03 <DOMAIN>\DESKTOP-8M1JA4S$`},
				evidence: 1}},
		},
		{
			name:   "slow SSPI negotiation without 17806 is a lsa.unresponsive warning",
			target: target,
			obs:    triage.Observations{Logs: []triage.LogEvent{slow, fast}},
			want: []want{{cause: triage.LSAUnresponsive, severity: triage.Warning,
				summary: []string{"4 logins", "5012 ms"}, evidence: 1}},
		},
		{
			name:   "NETLOGON 5719 without SQL failures is a dc.unreachable warning",
			target: target,
			obs:    triage.Observations{Logs: []triage.LogEvent{winEv("System", "NETLOGON", 5719, "", "")}},
			want: []want{{cause: triage.DCUnreachable, severity: triage.Warning,
				summary: []string{"no SQL Server SSPI failure"}, evidence: 1}},
		},
		{
			name:   "LsaSrv 40960 with STATUS_NO_LOGON_SERVERS is dc evidence",
			target: target,
			obs:    triage.Observations{Logs: []triage.LogEvent{winEv("System", "LsaSrv", 40960, "0xc000005e", "")}},
			want:   []want{{cause: triage.DCUnreachable, severity: triage.Warning, evidence: 1}},
		},
		{
			name:   "Kerberos 3 KDC_ERR_S_PRINCIPAL_UNKNOWN for this host's SPN is spn.missing",
			target: target,
			obs: triage.Observations{Logs: []triage.LogEvent{
				winEv("System", "Microsoft-Windows-Security-Kerberos", 3, "0x7", "MSSQLSvc/sqlhost01.corp.example:1433"),
			}},
			want: []want{{cause: triage.SPNMissing, severity: triage.Critical,
				commands: []string{`setspn -S MSSQLSvc/sqlhost01.corp.example:1433 CORP\svc_sql01`}, evidence: 1}},
		},
		{
			name:   "Kerberos 4 KRB_AP_ERR_MODIFIED is spn.wrong_account, with a step to find the owner",
			target: target,
			obs: triage.Observations{Logs: []triage.LogEvent{
				winEv("System", "Microsoft-Windows-Security-Kerberos", 4, "", "MSSQLSvc/sqlhost01.corp.example:1433"),
			}},
			want: []want{{cause: triage.SPNWrongAccount, severity: triage.Critical,
				commands: []string{"setspn -Q MSSQLSvc/sqlhost01.corp.example:1433"}, evidence: 1}},
		},
		{
			name:   "KDC 11 duplicate is spn.duplicate",
			target: target,
			obs: triage.Observations{Logs: []triage.LogEvent{
				winEv("System", "Microsoft-Windows-Kerberos-Key-Distribution-Center", 11, "", "MSSQLSvc/SQLHOST01:1433"),
			}},
			want: []want{{cause: triage.SPNDuplicate, severity: triage.Critical, evidence: 1}},
		},
		{
			name:   "Kerberos events about other hosts' SPNs are ignored",
			target: target,
			obs: triage.Observations{Logs: []triage.LogEvent{
				winEv("System", "Microsoft-Windows-Security-Kerberos", 3, "0x7", "MSSQLSvc/otherhost.corp.example:1433"),
				winEv("System", "Microsoft-Windows-Security-Kerberos", 4, "", "HTTP/web01.corp.example"),
			}},
			want: nil,
		},
		{
			name:   "Application-log copies of ERRORLOG entries are not counted twice",
			target: target,
			obs: triage.Observations{Logs: []triage.LogEvent{
				logEv(17806, "0x80090311", 14, 10),
				{Source: triage.SourceEventlog, Log: "Application", Provider: "MSSQLSERVER", ID: 17806, Code: "0x80090311", State: 14, Count: 10, First: t0, Last: t0},
			}},
			want: []want{{cause: triage.DCUnreachable, severity: triage.Critical, summary: []string{"10 Windows logins"}, evidence: 1}},
		},
		{
			name:   "Application-log SQL events count when no ERRORLOG was read",
			target: target,
			obs: triage.Observations{Logs: []triage.LogEvent{
				{Check: "eventlog", Source: triage.SourceEventlog, Log: "Application", Provider: "MSSQL$SALES", ID: 17806, Code: "0x80090304", State: 14, Count: 3, First: t0, Last: t0},
			}},
			want: []want{{cause: triage.LSAUnresponsive, severity: triage.Critical, summary: []string{"3 Windows logins"}, evidence: 1}},
		},
		{
			name:   "nothing seen, nothing found",
			target: target,
			want:   nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := applyRules(tt.target, tt.obs)
			slices.SortStableFunc(got, func(a, b triage.Finding) int { return int(b.Severity) - int(a.Severity) })
			checkFindings(t, got, tt.want)
		})
	}
}

// applyRules runs every rule on obs, as the Runner does.
func applyRules(target triage.Target, obs triage.Observations) []triage.Finding {
	var got []triage.Finding
	for _, r := range Rules() {
		got = append(got, r.Apply(target, obs)...)
	}
	return got
}

// checkFindings compares findings with what a test case wants, in order.
func checkFindings(t *testing.T, got []triage.Finding, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("got %d findings %v; want %d", len(got), causes(got), len(wants))
	}
	for i, w := range wants {
		f := got[i]
		if f.Cause != w.cause || f.Severity != w.severity {
			t.Errorf("finding %d = %s/%s; want %s/%s", i, f.Cause, f.Severity, w.cause, w.severity)
		}
		for _, s := range w.summary {
			if !strings.Contains(f.Summary, s) {
				t.Errorf("finding %d summary %q lacks %q", i, f.Summary, s)
			}
		}
		for _, c := range w.commands {
			if !hasCommand(f, c) {
				t.Errorf("finding %d remediation %+v lacks a command containing %q", i, f.Remediation, c)
			}
		}
		if len(f.Evidence) != w.evidence {
			t.Errorf("finding %d has %d evidence items %+v; want %d", i, len(f.Evidence), f.Evidence, w.evidence)
		}
		if len(f.Links) == 0 && f.Cause != triage.AgentUnreachable {
			t.Errorf("finding %d has no links", i)
		}
		for _, e := range f.Evidence {
			if e.Check == "" {
				t.Errorf("finding %d evidence %q names no check", i, e.Text)
			}
		}
	}
}

func TestRemediationNamesAreFilled(t *testing.T) {
	obs := triage.Observations{Logs: []triage.LogEvent{logEv(17806, "0x80090304", 14, 1)}}
	for _, r := range Rules() {
		for _, f := range r.Apply(target, obs) {
			for _, s := range f.Remediation {
				for _, ph := range []string{triage.PHHost, triage.PHFQDN, triage.PHDomain, triage.PHSPN, triage.PHAccount} {
					if strings.Contains(s.Text+s.Command, ph) {
						t.Errorf("%s: step %+v still has %s although the target names it", f.Cause, s, ph)
					}
				}
			}
		}
	}
}

func TestSPNOwner(t *testing.T) {
	tests := []struct{ account, host, domain, want string }{
		{`CORP\svc_sql`, "SQL01", "corp.example", `CORP\svc_sql`},
		{"svc_sql@corp.example", "SQL01", "corp.example", "svc_sql@corp.example"},
		{`CORP\gmsa_sql$`, "SQL01", "corp.example", `CORP\gmsa_sql$`},
		{`NT Service\MSSQLSERVER`, "SQL01", "corp.example", `CORP\SQL01$`},
		{`NT AUTHORITY\NETWORK SERVICE`, "SQL01", "", `<DOMAIN>\SQL01$`},
		{"LocalSystem", "SQL01", "ad.corp.example", `AD\SQL01$`},
		{"", "SQL01", "corp.example", ""},
		{`NT SERVICE\MSSQLSERVER`, "sqlserver-prod-east01", "corp.example", `CORP\SQLSERVER-PROD-$`},
	}
	for _, tt := range tests {
		if got := spnOwner(tt.account, triage.Target{Host: tt.host}, tt.domain); got != tt.want {
			t.Errorf("spnOwner(%q, %q, %q) = %q; want %q", tt.account, tt.host, tt.domain, got, tt.want)
		}
	}
}

func causes(fs []triage.Finding) []triage.CauseID {
	var out []triage.CauseID
	for _, f := range fs {
		out = append(out, f.Cause)
	}
	return out
}

func hasCommand(f triage.Finding, sub string) bool {
	for _, s := range f.Remediation {
		if strings.Contains(s.Command, sub) {
			return true
		}
	}
	return false
}
