package diagnosis

import (
	"testing"
	"time"

	"github.com/authtriage/authtriage/triage"
)

func TestSQLAndAgentRules(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		obs  triage.Observations
		want []want
	}{
		{"kerberos login is fine", triage.Observations{SQL: []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", OK: true, AuthScheme: "KERBEROS", ServerTime: now, ReadAt: now}}}, nil},
		{"NTLM on a remote login", triage.Observations{SQL: []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", OK: true, AuthScheme: "NTLM"}}},
			[]want{{cause: triage.KerberosNTLMFallback, severity: triage.Warning, commands: []string{"klist get MSSQLSvc/sqlhost01.corp.example:1433"}, evidence: 1}}},
		{"NTLM explained by a missing SPN is left to the SPN finding", triage.Observations{
			SQL:       []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", OK: true, AuthScheme: "NTLM"}},
			Directory: &triage.DirectoryFacts{SPNs: []triage.SPNOwners{{SPN: "MSSQLSvc/sqlhost01.corp.example:1433"}}},
		}, []want{{cause: triage.SPNMissing, severity: triage.Critical, evidence: 1}}},
		{"18452 to the checker", triage.Observations{SQL: []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", Number: 18452, State: 1, Message: "Login failed. The login is from an untrusted domain"}}},
			[]want{{cause: triage.LoginUntrustedDomain, severity: triage.Warning, evidence: 1}}},
		{"18456 to the checker", triage.Observations{SQL: []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", Number: 18456, State: 1, Message: "Login failed for user 'CORP\\authtriage'."}}},
			[]want{{cause: triage.LoginFailed, severity: triage.Warning, summary: []string{"refused its login"}, evidence: 1}}},
		{"18452 to the checker, service account disabled: the account finding explains it", triage.Observations{
			SQL:       []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", Number: 18452, State: 1, Message: "Login failed. The login is from an untrusted domain"}},
			Directory: &triage.DirectoryFacts{ServiceAccount: &triage.Account{DN: "CN=svc_sql01,CN=Users,DC=corp,DC=example", SAMAccountName: "svc_sql01", NetBIOSDomain: "CORP", UAC: triage.UACAccountDisable | 0x200, EncTypes: 24}},
		}, []want{{cause: triage.AccountDisabled, severity: triage.Critical, evidence: 1}}},
		{"18456 to the checker as ANONYMOUS LOGON", triage.Observations{SQL: []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", Number: 18456, State: 1, Message: "Login failed for user 'NT AUTHORITY\\ANONYMOUS LOGON'."}}},
			[]want{{cause: triage.LoginAnonymous, severity: triage.Critical, evidence: 1}}},
		{"18456 to the checker as (null)", triage.Observations{SQL: []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", Number: 18456, State: 1, Message: "Login failed for user '(null)'."}}},
			[]want{{cause: triage.LoginNullUser, severity: triage.Critical, evidence: 1}}},
		{"SQL Server clock ahead of the checker's, no DC reading", triage.Observations{SQL: []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", OK: true, AuthScheme: "KERBEROS", ServerTime: now.Add(7 * time.Minute), ReadAt: now}}},
			[]want{{cause: triage.ClockSkew, severity: triage.Warning, summary: []string{"where authtriage runs"}, evidence: 1}}},
		{"SQL Server clock ahead of the DC's", triage.Observations{
			SQL:       []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", OK: true, AuthScheme: "KERBEROS", ServerTime: now.Add(7 * time.Minute), ReadAt: now}},
			Directory: &triage.DirectoryFacts{Clocks: []triage.ClockReading{{Source: "dc1 (rootDSE currentTime)", Skew: -time.Second}}},
		}, []want{{cause: triage.ClockSkew, severity: triage.Critical, summary: []string{"by 7m1s, more than the 5m Kerberos allows"}, evidence: 1}}},
		{"agent did not answer", triage.Observations{Agents: []triage.AgentFacts{{Agent: "east", URL: "https://agent-east:8443", Err: "connection refused", Missing: []string{"spn", "sql"}}}},
			[]want{{cause: triage.AgentUnreachable, severity: triage.Unknown, summary: []string{"connection refused", "spn, sql"}, evidence: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFindings(t, applyRules(target, tt.obs), tt.want)
		})
	}
}

func TestHostRules(t *testing.T) {
	svc := triage.Account{DN: "CN=svc,DC=corp,DC=example", SID: "S-1-5-21-1", SAMAccountName: "svc_sql01", NetBIOSDomain: "CORP",
		UAC: triage.UACDontExpirePassword, EncTypes: triage.EtypeAESAll, KVNO: 5}
	spn := "MSSQLSvc/sqlhost01.corp.example:1433"
	dir := &triage.DirectoryFacts{ServiceAccount: &svc, RequiredSPNs: []string{spn}}
	tests := []struct {
		name string
		obs  triage.Observations
		want []want
	}{
		{"LSA answers", triage.Observations{Host: &triage.HostFacts{LSA: &triage.LSAProbe{Latency: time.Millisecond}}}, nil},
		{"LSA does not answer", triage.Observations{Host: &triage.HostFacts{LSA: &triage.LSAProbe{Err: "no answer within 5s"}}},
			[]want{{cause: triage.LSAUnresponsive, severity: triage.Critical, summary: []string{"did not answer"}, evidence: 1}}},
		{"LSA slow", triage.Observations{Host: &triage.HostFacts{LSA: &triage.LSAProbe{Latency: 3 * time.Second}}},
			[]want{{cause: triage.LSAUnresponsive, severity: triage.Warning, summary: []string{"3s"}, evidence: 1}}},
		{"keytab current", triage.Observations{Directory: dir, Host: &triage.HostFacts{Keytab: &triage.KeytabFacts{Path: "/k",
			Entries: []triage.KeytabEntry{{Principal: spn + "@CORP.EXAMPLE", KVNO: 5}}}}}, nil},
		{"keytab behind the account", triage.Observations{Directory: dir, Host: &triage.HostFacts{Keytab: &triage.KeytabFacts{Path: "/k",
			Entries: []triage.KeytabEntry{{Principal: spn + "@CORP.EXAMPLE", KVNO: 4}}}}},
			[]want{{cause: triage.KeytabStale, severity: triage.Critical, commands: []string{`--use-next-kvno`}, evidence: 1}}},
		{"keytab without the SPN", triage.Observations{Directory: dir, Host: &triage.HostFacts{Keytab: &triage.KeytabFacts{Path: "/k"}}},
			[]want{{cause: triage.KeytabStale, severity: triage.Critical, evidence: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFindings(t, applyRules(target, tt.obs), tt.want)
		})
	}
}
