package triage

import "testing"

func TestCarriedLogin(t *testing.T) {
	tests := []struct {
		message, login string
		ok             bool
	}{
		{"Login failed for user 'NT AUTHORITY\\ANONYMOUS LOGON'.", `NT AUTHORITY\ANONYMOUS LOGON`, true},
		{"[Microsoft][SQL Server Native Client 11.0][SQL Server]Login failed for user 'CONTOSO\\SQLPROD01$'.", `CONTOSO\SQLPROD01$`, true},
		{"Login failed for user '(null)'.", "(null)", true},
		{"Login failed for user ''.", "", true},
		{"Login failed for user 'CORP\\o''brien'.", `CORP\o'brien`, true},
		{"Login failed for user 'trailing quote'''", "trailing quote'", true},
		{"Login failed for user 'cut short", "", false},
		{"Login failed. The login is from an untrusted domain and cannot be used with Windows authentication.", "", false},
		{"Client unable to establish connection", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		login, ok := CarriedLogin(tt.message)
		if login != tt.login || ok != tt.ok {
			t.Errorf("CarriedLogin(%q) = %q, %v; want %q, %v", tt.message, login, ok, tt.login, tt.ok)
		}
	}
}
