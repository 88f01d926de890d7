package diagnosis

import (
	"strings"
	"testing"
	"time"

	"authtriage/triage"
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
		{"SQL Server clock ahead", triage.Observations{SQL: []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", OK: true, AuthScheme: "KERBEROS", ServerTime: now.Add(7 * time.Minute), ReadAt: now}}},
			[]want{{cause: triage.ClockSkew, severity: triage.Critical, summary: []string{"7m0s"}, evidence: 1}}},
		{"agent did not answer", triage.Observations{Agents: []triage.AgentFacts{{Agent: "east", URL: "https://agent-east:8443", Err: "connection refused", Missing: []string{"spn", "sql"}}}},
			[]want{{cause: triage.AgentUnreachable, severity: triage.Unknown, summary: []string{"connection refused", "spn, sql"}, evidence: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []triage.Finding
			for _, r := range Rules() {
				got = append(got, r.Apply(target, tt.obs)...)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v; want %d findings", causes(got), len(tt.want))
			}
			for i, w := range tt.want {
				f := got[i]
				if f.Cause != w.cause || f.Severity != w.severity {
					t.Errorf("finding %d = %s/%s; want %s/%s", i, f.Cause, f.Severity, w.cause, w.severity)
				}
				for _, s := range w.summary {
					if !strings.Contains(f.Summary, s) {
						t.Errorf("summary %q lacks %q", f.Summary, s)
					}
				}
				for _, c := range w.commands {
					if !hasCommand(f, c) {
						t.Errorf("remediation %+v lacks %q", f.Remediation, c)
					}
				}
				if len(f.Evidence) != w.evidence {
					t.Errorf("evidence %+v; want %d", f.Evidence, w.evidence)
				}
			}
		})
	}
}
