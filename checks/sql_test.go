package checks

import (
	"context"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

type fakeLogins []triage.SQLLogin

func (f fakeLogins) Logins(context.Context, triage.Target) []triage.SQLLogin { return f }

// TestSQLUnreachableIsAnError: a login that never reached SQL Server (connection
// refused, no answer) proves nothing about authentication, so the check is an error
// with the reason and the verdict is unknown when nothing else explains the incident;
// the logins that did answer are kept.
func TestSQLUnreachableIsAnError(t *testing.T) {
	refused := triage.SQLLogin{Instance: "MSSQLSERVER:1433", Address: "sqlhost01.corp.example:1433",
		Err: "unable to open tcp connection with host 'sqlhost01.corp.example:1433': dial tcp 10.0.0.5:1433: connect: connection refused"}
	kerberos := triage.SQLLogin{Instance: "MSSQLSERVER:1433", Address: "sqlhost01.corp.example:1433", Connected: true,
		Err: "kerberos: KRB Error: (7) KDC_ERR_S_PRINCIPAL_UNKNOWN Server not found in Kerberos database"}
	accepted := triage.SQLLogin{Instance: "SALES:50123", Address: "sqlhost01.corp.example:50123", OK: true, AuthScheme: "KERBEROS"}
	target := triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example"}

	tests := []struct {
		name      string
		logins    fakeLogins
		wantErr   string
		wantCheck triage.CheckStatus
		want      triage.Status
	}{
		{"refused", fakeLogins{refused}, "could not reach SQL Server: MSSQLSERVER:1433 (sqlhost01.corp.example:1433): unable to open tcp connection", triage.CheckError, triage.StatusUnknown},
		{"one of two refused", fakeLogins{accepted, refused}, "connection refused", triage.CheckError, triage.StatusUnknown},
		{"accepted", fakeLogins{accepted}, "", triage.CheckPass, triage.StatusOK},
		{"connected, then the client's Kerberos failed: evidence, not an error", fakeLogins{kerberos}, "", triage.CheckPass, triage.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := SQL{Server: tt.logins}
			res, err := c.Run(t.Context(), target)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Run error = %v; want one containing %q", err, tt.wantErr)
			}
			if len(res.Obs.SQL) != len(tt.logins) {
				t.Errorf("observations kept %d logins; want %d", len(res.Obs.SQL), len(tt.logins))
			}
			rep := triage.Runner{Checks: []triage.Check{c}}.Run(t.Context(), target)
			if rep.Status != tt.want || rep.Checks[0].Status != tt.wantCheck {
				t.Errorf("report %s, check %s (%s); want %s, %s", rep.Status, rep.Checks[0].Status, rep.Checks[0].Detail, tt.want, tt.wantCheck)
			}
		})
	}
}
