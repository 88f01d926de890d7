package errorlog

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/authtriage/authtriage/triage"
)

func TestParseMessage(t *testing.T) {
	entry := func(f func(*triage.LogEntry)) triage.LogEntry {
		e := triage.LogEntry{}
		e.State = -1
		f(&e)
		return e
	}
	tests := []struct {
		name string
		text string
		want triage.LogEntry
		ok   bool
	}{
		{
			name: "17806 dc unreachable, SQL Server 2016+ wording",
			text: "SSPI handshake failed with error code 0x80090311, state 14 while establishing a connection with integrated security; the connection has been closed. Reason: AcceptSecurityContext failed. The Windows error code indicates the cause of failure. No authority could be contacted for authentication.  [CLIENT: 10.20.30.41]",
			want: entry(func(e *triage.LogEntry) {
				e.ID, e.Code, e.State, e.Client = 17806, "0x80090311", 14, "10.20.30.41"
				e.Reason = "AcceptSecurityContext failed. The Windows error code indicates the cause of failure. No authority could be contacted for authentication."
			}),
			ok: true,
		},
		{
			name: "17806 old wording without state or reason, upper-case code",
			text: "SSPI handshake failed with error code 0x8009030C while establishing a connection with integrated security; the connection has been closed. [CLIENT: 10.0.0.5]",
			want: entry(func(e *triage.LogEntry) { e.ID, e.Code, e.Client = 17806, "0x8009030c", "10.0.0.5" }),
			ok:   true,
		},
		{
			name: "18452 Windows wording",
			text: "Login failed. The login is from an untrusted domain and cannot be used with Windows authentication. [CLIENT: 10.20.30.41]",
			want: entry(func(e *triage.LogEntry) { e.ID, e.Client = 18452, "10.20.30.41" }),
			ok:   true,
		},
		{
			name: "18452 Linux wording",
			text: "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication. [CLIENT: 10.1.1.9]",
			want: entry(func(e *triage.LogEntry) { e.ID, e.Client = 18452, "10.1.1.9" }),
			ok:   true,
		},
		{
			name: "18456 with reason and quoted quote in login",
			text: "Login failed for user 'CORP\\o''brien'. Reason: Token-based server access validation failed with an infrastructure error. Check for previous errors. [CLIENT: <local machine>]",
			want: entry(func(e *triage.LogEntry) {
				e.ID, e.Login, e.Client = 18456, "CORP\\o'brien", "<local machine>"
				e.Reason = "Token-based server access validation failed with an infrastructure error. Check for previous errors."
			}),
			ok: true,
		},
		{
			name: "17830 with negotiating SSPI time",
			text: "Network error code 0x2746 occurred while establishing a connection; the connection has been closed. This may have been caused by client or server login timeout expiration. Time spent during login: total 5016 ms, enqueued 1 ms, network writes 0 ms, network reads 3 ms, establishing SSL 0 ms, negotiating SSPI 5012 ms, validating login 0 ms, including user-defined login processing 0 ms. [CLIENT: 10.9.8.7]",
			want: entry(func(e *triage.LogEntry) { e.ID, e.Code, e.Millis, e.Client = 17830, "0x2746", 5012, "10.9.8.7" }),
			ok:   true,
		},
		{
			name: "26067 from the real logs",
			text: "The SQL Server Network Interface library could not register the Service Principal Name (SPN) [ MSSQLSvc/DESKTOP-8M1JA4S:MSSQLSERVER03 ] for the SQL Server service. Windows return code: 0xffffffff, state: 63. Failure to register a SPN might cause integrated authentication to use NTLM instead of Kerberos. This is an informational message. Further action is only required if Kerberos authentication is required by authentication policies and if the SPN has not been manually registered.",
			want: entry(func(e *triage.LogEntry) {
				e.ID, e.SPN, e.Code, e.State = 26067, "MSSQLSvc/DESKTOP-8M1JA4S:MSSQLSERVER03", "0xffffffff", 63
			}),
			ok: true,
		},
		{
			name: "26037 without SPN text",
			text: "The SQL Server Network Interface library could not register the Service Principal Name (SPN) for the SQL Server service. Windows return code: 0x2098, state: 15. Failure to register an SPN may cause integrated authentication to fall back to NTLM instead of Kerberos.",
			want: entry(func(e *triage.LogEntry) { e.ID, e.Code, e.State = 26037, "0x2098", 15 }),
			ok:   true,
		},
		{
			name: "26059 success",
			text: "The SQL Server Network Interface library successfully registered the Service Principal Name (SPN) [ MSSQLSvc/sqlhost01.corp.example:1433 ] for the SQL Server service.",
			want: entry(func(e *triage.LogEntry) { e.ID, e.SPN = 26059, "MSSQLSvc/sqlhost01.corp.example:1433" }),
			ok:   true,
		},
		{
			name: "26076 attempt",
			text: "SQL Server is attempting to register a Service Principal Name (SPN) for the SQL Server service. Kerberos authentication will not be possible until a SPN is registered for the SQL Server service. This is an informational message. No user action is required.",
			want: entry(func(e *triage.LogEntry) { e.ID = 26076 }),
			ok:   true,
		},
		{
			name: "7303 as the 7000 to 7999 page writes it",
			text: `Cannot initialize the data source object of OLE DB provider "MSOLEDBSQL" for linked server "SQLHOST02".`,
			want: entry(func(e *triage.LogEntry) { e.ID, e.Linked = 7303, "SQLHOST02" }),
			ok:   true,
		},
		{
			name: "7303 of an ad hoc query: the linked server is (null)",
			text: `Cannot initialize the data source object of OLE DB provider "Microsoft.ACE.OLEDB.12.0" for linked server "(null)".`,
			want: entry(func(e *triage.LogEntry) { e.ID, e.Linked = 7303, "(null)" }),
			ok:   true,
		},
		{
			name: "7399 with the provider's reason",
			text: `The OLE DB provider "MSDASQL" for linked server "SQLPROD02" reported an error. Authentication failed.`,
			want: entry(func(e *triage.LogEntry) { e.ID, e.Linked, e.Reason = 7399, "SQLPROD02", "Authentication failed." }),
			ok:   true,
		},
		{
			name: "7399 without a reason",
			text: `The OLE DB provider "MSOLEDBSQL" for linked server "SQLHOST02" reported an error.`,
			want: entry(func(e *triage.LogEntry) { e.ID, e.Linked = 7399, "SQLHOST02" }),
			ok:   true,
		},
		{
			name: "7412 carrying ANONYMOUS LOGON",
			text: `OLE DB provider "MSOLEDBSQL" for linked server "SQLHOST02" returned message "Login failed for user 'NT AUTHORITY\ANONYMOUS LOGON'.".`,
			want: entry(func(e *triage.LogEntry) {
				e.ID, e.Linked, e.Login = 7412, "SQLHOST02", `NT AUTHORITY\ANONYMOUS LOGON`
				e.Reason = `Login failed for user 'NT AUTHORITY\ANONYMOUS LOGON'.`
			}),
			ok: true,
		},
		{
			name: "7412 unquoted, with the driver's prefixes, as the account mapping article shows it",
			text: `OLE DB provider "MSDASQL" for linked server "SQLPROD02" returned message [Microsoft][SQL Server Native Client 11.0][SQL Server]Login failed for user 'CONTOSO\SQLPROD01$'.`,
			want: entry(func(e *triage.LogEntry) {
				e.ID, e.Linked, e.Login = 7412, "SQLPROD02", `CONTOSO\SQLPROD01$`
				e.Reason = `[Microsoft][SQL Server Native Client 11.0][SQL Server]Login failed for user 'CONTOSO\SQLPROD01$'.`
			}),
			ok: true,
		},
		{
			name: "7412 carrying an empty login",
			text: `OLE DB provider "MSOLEDBSQL" for linked server "SQLHOST02" returned message "Login failed for user ''.".`,
			want: entry(func(e *triage.LogEntry) { e.ID, e.Linked, e.Reason = 7412, "SQLHOST02", "Login failed for user ''." }),
			ok:   true,
		},
		{
			name: "7412 carrying something else: no login",
			text: `OLE DB provider "MSOLEDBSQL" for linked server "SQLHOST02" returned message "Client unable to establish connection".`,
			want: entry(func(e *triage.LogEntry) {
				e.ID, e.Linked, e.Reason = 7412, "SQLHOST02", "Client unable to establish connection"
			}),
			ok: true,
		},
		{
			name: "7412 whose message spans lines: one line, white space collapsed",
			text: "OLE DB provider \"MSOLAP\" for linked server \"(null)\" returned message \"The following system error occurred: \r\n\tAccess is denied.\".",
			want: entry(func(e *triage.LogEntry) {
				e.ID, e.Linked, e.Reason = 7412, "(null)", "The following system error occurred: Access is denied."
			}),
			ok: true,
		},
		{
			name: "7412 with a quoted quote in the login",
			text: `OLE DB provider "MSOLEDBSQL" for linked server "SQLHOST02" returned message "Login failed for user 'CORP\o''brien'.".`,
			want: entry(func(e *triage.LogEntry) {
				e.ID, e.Linked, e.Login, e.Reason = 7412, "SQLHOST02", `CORP\o'brien`, `Login failed for user 'CORP\o''brien'.`
			}),
			ok: true,
		},
		{name: "7412 with a newline in the linked server's name", text: "OLE DB provider \"MSOLEDBSQL\" for linked server \"SQL\nHOST02\" returned message \"x\".", ok: false},
		{name: "7412 with a bidi override in the linked server's name", text: "OLE DB provider \"MSOLEDBSQL\" for linked server \"SQL\u202eHOST\" returned message \"x\".", ok: false},
		{name: "7412 with an empty linked server", text: `OLE DB provider "MSOLEDBSQL" for linked server "" returned message "x".`, ok: false},
		{name: "7412 with a linked server name longer than sysname", text: `OLE DB provider "MSOLEDBSQL" for linked server "` + strings.Repeat("S", 129) + `" returned message "x".`, ok: false},
		{name: "7412 whose login is longer than sysname", text: `OLE DB provider "P" for linked server "S" returned message "Login failed for user '` + strings.Repeat("u", 129) + `'.".`, ok: false},
		{name: "7412 whose login holds a control character", text: "OLE DB provider \"P\" for linked server \"S\" returned message \"Login failed for user 'a\x1bb'.\".", ok: false},
		{
			name: "7413 as the 7000 to 7999 page writes it",
			text: `Could not connect to linked server 'SQLHOST02' (OLE DB Provider 'MSOLEDBSQL'). Enable delegation or use a remote SQL Server login for the current user.`,
			want: entry(func(e *triage.LogEntry) { e.ID, e.Linked = 7413, "SQLHOST02" }),
			ok:   true,
		},
		{
			name: "7413 naming an instance, with a double quote in the provider",
			text: `Could not connect to linked server 'SQLBE\SALES' (OLE DB Provider 'My"Provider'). Enable delegation or use a remote SQL Server login for the current user.`,
			want: entry(func(e *triage.LogEntry) { e.ID, e.Linked = 7413, `SQLBE\SALES` }),
			ok:   true,
		},
		{name: "7413 with a newline in the linked server's name", text: "Could not connect to linked server 'SQL\nHOST02' (OLE DB Provider 'MSOLEDBSQL'). Enable delegation or use a remote SQL Server login for the current user.", ok: false},
		{name: "7413 with a bidi override in the linked server's name", text: "Could not connect to linked server 'SQL\u202eHOST' (OLE DB Provider 'MSOLEDBSQL'). Enable delegation or use a remote SQL Server login for the current user.", ok: false},
		{name: "7413 with a format character in the provider", text: "Could not connect to linked server 'SQLHOST02' (OLE DB Provider 'MSOLE\u200bDBSQL'). Enable delegation or use a remote SQL Server login for the current user.", ok: false},
		{name: "7413 with an empty linked server", text: `Could not connect to linked server '' (OLE DB Provider 'MSOLEDBSQL'). Enable delegation or use a remote SQL Server login for the current user.`, ok: false},
		{name: "7413 with a linked server name longer than sysname", text: `Could not connect to linked server '` + strings.Repeat("S", 129) + `' (OLE DB Provider 'MSOLEDBSQL'). Enable delegation or use a remote SQL Server login for the current user.`, ok: false},
		{name: "7413 with invalid UTF-8 in the linked server's name", text: "Could not connect to linked server 'SQL\xffHOST' (OLE DB Provider 'MSOLEDBSQL'). Enable delegation or use a remote SQL Server login for the current user.", ok: false},
		{name: "7413 cut short", text: `Could not connect to linked server 'SQLHOST02' (OLE DB Provider 'MSOLEDBSQL').`, ok: false},
		{name: "7413 without its provider", text: `Could not connect to linked server 'SQLHOST02'. Enable delegation or use a remote SQL Server login for the current user.`, ok: false},
		{name: "7303 without the closing quote", text: `Cannot initialize the data source object of OLE DB provider "MSOLEDBSQL" for linked server "SQLHOST02`, ok: false},
		{name: "7399 without its linked server", text: `The OLE DB provider "MSOLEDBSQL" reported an error.`, ok: false},
		{name: "unrelated message", text: "SQL Server is now ready for client connections.", ok: false},
		{name: "SSPI text without a code", text: "SSPI handshake failed with error code", ok: false},
		{name: "login failed without quotes", text: "Login failed for user sa", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseMessage(tt.text)
			if ok != tt.ok {
				t.Fatalf("ParseMessage(%q) ok = %v; want %v", tt.text, ok, tt.ok)
			}
			if !ok {
				return
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.IgnoreFields(triage.LogEvent{}, "Text")); diff != "" {
				t.Errorf("ParseMessage(%q) (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		text            string
		num, sev, state int
		ok              bool
	}{
		{"Error: 17806, Severity: 20, State: 14.", 17806, 20, 14, true},
		{"Error: 18456, Severity: 14, State: 8.  ", 18456, 14, 8, true},
		{"Error: 18456, Severity: 14, State: 99999999999999999999.", 0, 0, 0, false},
		{"Error: x, Severity: 14, State: 8.", 0, 0, 0, false},
		{"Login failed for user 'sa'.", 0, 0, 0, false},
	}
	for _, tt := range tests {
		num, sev, state, ok := ParseHeader(tt.text)
		if num != tt.num || sev != tt.sev || state != tt.state || ok != tt.ok {
			t.Errorf("ParseHeader(%q) = %d, %d, %d, %v; want %d, %d, %d, %v", tt.text, num, sev, state, ok, tt.num, tt.sev, tt.state, tt.ok)
		}
	}
}
