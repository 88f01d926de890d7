package eventlog

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/triage"
)

// xmlEvent builds one <Event>: provider, ID, channel ("" for none), the inside of
// <EventData>, and the rendered message ("" for none).
func xmlEvent(provider, id, channel, data, message string) string {
	ch := ""
	if channel != "" {
		ch = "<Channel>" + channel + "</Channel>"
	}
	render := ""
	if message != "" {
		render = "<RenderingInfo Culture='en-US'><Message>" + message + "</Message></RenderingInfo>"
	}
	return fmt.Sprintf("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"+
		"<Provider Name='%s'/><EventID>%s</EventID><TimeCreated SystemTime='2026-05-14T09:00:00.0000000Z'/>%s"+
		"<Computer>sqlhost01.corp.example</Computer></System><EventData>%s</EventData>%s</Event>",
		provider, id, ch, data, render)
}

func TestClassify(t *testing.T) {
	const spn = "MSSQLSvc/sqlhost01.corp.example:1433"
	entry := func(f func(*triage.LogEntry)) triage.LogEntry {
		e := triage.LogEntry{}
		e.Source, e.State, e.Log = triage.SourceEventlog, -1, "System"
		f(&e)
		return e
	}
	tests := []struct {
		name   string
		export string // the export's name, for guessing the log
		xml    string
		want   triage.LogEntry
		ok     bool
	}{
		{
			name: "Kerberos 3 with a decimal ErrorCode and the realm on the target name",
			xml: xmlEvent("Microsoft-Windows-Security-Kerberos", "3", "System",
				"<Data Name='ErrorCode'>7</Data><Data Name='TargetName'>"+spn+"@CORP.EXAMPLE</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Provider, e.ID, e.Code, e.SPN = "Microsoft-Windows-Security-Kerberos", 3, "0x7", spn
				e.Text = "7; " + spn + "@CORP.EXAMPLE"
			}),
			ok: true,
		},
		{
			name: "Kerberos 3 read from its message alone",
			xml: xmlEvent("Kerberos", "3", "System", "",
				"A Kerberos error message was received:\n on logon session \n Error Code: 0x25 KRB_AP_ERR_SKEW\n Server Name: \n Target Name: "+spn+"@CORP.EXAMPLE\n"),
			want: entry(func(e *triage.LogEntry) {
				e.Provider, e.ID, e.Code, e.SPN = "Kerberos", 3, "0x25", spn
				e.Text = "A Kerberos error message was received: on logon session Error Code: 0x25 KRB_AP_ERR_SKEW Server Name: Target Name: " + spn + "@CORP.EXAMPLE"
			}),
			ok: true,
		},
		{
			name: "Kerberos 3 with unnamed data in template order (%4 code, %10 server)",
			xml: xmlEvent("Kerberos", "3", "System",
				"<Data>CORP\\svc</Data><Data></Data><Data>t</Data><Data>0x00000007</Data><Data>KDC_ERR_S_PRINCIPAL_UNKNOWN</Data>"+
					"<Data></Data><Data></Data><Data></Data><Data>CORP.EXAMPLE</Data><Data>"+spn+"</Data><Data>x</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Provider, e.ID, e.Code, e.SPN = "Kerberos", 3, "0x7", spn
				e.Text = "CORP\\svc; t; 0x00000007; KDC_ERR_S_PRINCIPAL_UNKNOWN; CORP.EXAMPLE; " + spn + "; x"
			}),
			ok: true,
		},
		{
			name: "Kerberos 3 with data names nobody documented: the error name and the MSSQLSvc SPN are found anyway",
			xml: xmlEvent("Microsoft-Windows-Security-Kerberos", "3", "System",
				"<Data Name='Status'>KDC_ERR_S_PRINCIPAL_UNKNOWN</Data><Data Name='Service'>"+spn+"</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Provider, e.ID, e.Code, e.SPN = "Microsoft-Windows-Security-Kerberos", 3, "0x7", spn
				e.Text = "KDC_ERR_S_PRINCIPAL_UNKNOWN; " + spn
			}),
			ok: true,
		},
		{
			name: "Kerberos 4: the target name from the message, not the server",
			xml: xmlEvent("Microsoft-Windows-Security-Kerberos", "4", "System", "",
				"The Kerberos client received a KRB_AP_ERR_MODIFIED error from the server sqlhost02$. The target name used was "+spn+". This indicates..."),
			want: entry(func(e *triage.LogEntry) {
				e.Provider, e.ID, e.Code, e.SPN = "Microsoft-Windows-Security-Kerberos", 4, "0x29", spn
				e.Text = "The Kerberos client received a KRB_AP_ERR_MODIFIED error from the server sqlhost02$. The target name used was " + spn + ". This indicates..."
			}),
			ok: true,
		},
		{
			name: "Kerberos 4 with unnamed data: %3 is the target name, and 4 always means KRB_AP_ERR_MODIFIED",
			xml:  xmlEvent("Kerberos", "4", "System", "<Data>sqlhost02$</Data><Data>CORP.EXAMPLE</Data><Data>"+spn+"</Data><Data>CORP.EXAMPLE</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Provider, e.ID, e.Code, e.SPN = "Kerberos", 4, "0x29", spn
				e.Text = "sqlhost02$; CORP.EXAMPLE; " + spn + "; CORP.EXAMPLE"
			}),
			ok: true,
		},
		{
			name: "Kerberos 5 is KRB_AP_ERR_TKT_NYV",
			xml:  xmlEvent("Security-Kerberos", "5", "System", "<Data>sqlhost01$</Data><Data>CORP.EXAMPLE</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Provider, e.ID, e.Code = "Security-Kerberos", 5, "0x21"
				e.Text = "sqlhost01$; CORP.EXAMPLE"
			}),
			ok: true,
		},
		{
			name: "Kerberos 100 in the Operational log: the manifest's SPN and ErrorCode fields",
			xml: xmlEvent("Microsoft-Windows-Security-Kerberos", "100", "Microsoft-Windows-Kerberos/Operational",
				"<Data Name='SPN'>"+spn+"</Data><Data Name='ErrorCode'>7</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Log, e.Provider, e.ID, e.Code, e.SPN = "Microsoft-Windows-Kerberos/Operational", "Microsoft-Windows-Security-Kerberos", 100, "0x7", spn
				e.Text = spn + "; 7"
			}),
			ok: true,
		},
		{
			name: "Kerberos 101 with unnamed data in the manifest's order (SPN, ErrorCode)",
			xml:  xmlEvent("Microsoft-Windows-Security-Kerberos", "101", "Microsoft-Windows-Kerberos/Operational", "<Data>"+spn+"</Data><Data>0x8</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Log, e.Provider, e.ID, e.Code, e.SPN = "Microsoft-Windows-Kerberos/Operational", "Microsoft-Windows-Security-Kerberos", 101, "0x8", spn
				e.Text = spn + "; 0x8"
			}),
			ok: true,
		},
		{
			name: "Kerberos 3 naming only Microsoft's spelling KDC_ERR_ETYPE_NOTSUPP",
			xml:  xmlEvent("Kerberos", "3", "System", "<Data Name='ErrorMessage'>KDC_ERR_ETYPE_NOTSUPP</Data><Data Name='ServerName'>"+spn+"</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Provider, e.ID, e.Code, e.SPN = "Kerberos", 3, "0xe", spn
				e.Text = "KDC_ERR_ETYPE_NOTSUPP; " + spn
			}),
			ok: true,
		},
		{
			name: "Kerberos 3 naming an error with the KERB_ prefix some texts use",
			xml:  xmlEvent("Kerberos", "3", "System", "", "A Kerberos error message was received: KERB_AP_ERR_MODIFIED Server Name: "+spn),
			want: entry(func(e *triage.LogEntry) {
				e.Provider, e.ID, e.Code, e.SPN = "Kerberos", 3, "0x29", spn
				e.Text = "A Kerberos error message was received: KERB_AP_ERR_MODIFIED Server Name: " + spn
			}),
			ok: true,
		},
		{
			name: "any Kerberos event naming -2146893039, code in hex",
			xml:  xmlEvent("Microsoft-Windows-Security-Kerberos", "14", "System", "<Data>Error -2146893039: no authority</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Provider, e.ID, e.Code = "Microsoft-Windows-Security-Kerberos", 14, "0x80090311"
				e.Text = "Error -2146893039: no authority"
			}),
			ok: true,
		},
		{
			name: "Kerberos 3 naming 0x80090304: the SSPI code wins",
			xml:  xmlEvent("Kerberos", "3", "System", "<Data Name='ErrorCode'>0x3c</Data><Data Name='ErrorText'>0x80090304</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Provider, e.ID, e.Code = "Kerberos", 3, "0x80090304"
				e.Text = "0x3c; 0x80090304"
			}),
			ok: true,
		},
		{
			name: "another Kerberos event is dropped",
			xml:  xmlEvent("Microsoft-Windows-Security-Kerberos", "6", "System", "<Data>48000</Data>", ""),
		},
		{
			name: "KDC 11: the duplicate name from the message",
			xml: xmlEvent("KDC", "11", "System", "",
				"The KDC encountered duplicate names while processing a Kerberos authentication request. The duplicate name is "+spn+" (of type DS_SERVICE_PRINCIPAL_NAME). This may result in authentication failures."),
			want: entry(func(e *triage.LogEntry) {
				e.Provider, e.ID, e.SPN = "KDC", 11, spn
				e.Text = "The KDC encountered duplicate names while processing a Kerberos authentication request. The duplicate name is " + spn + " (of type DS_SERVICE_PRINCIPAL_NAME). This may result in authentication failures."
			}),
			ok: true,
		},
		{
			name: "KDC 11 with unnamed data",
			xml:  xmlEvent("Microsoft-Windows-Kerberos-Key-Distribution-Center", "11", "System", "<Data>"+spn+"</Data><Data>%%1</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Provider, e.ID, e.SPN = "Microsoft-Windows-Kerberos-Key-Distribution-Center", 11, spn
				e.Text = spn + "; %%1"
			}),
			ok: true,
		},
		{
			name: "NETLOGON 5719: the NTSTATUS in its binary data",
			xml:  xmlEvent("NETLOGON", "5719", "System", "<Data>CORP</Data><Data>%%1311</Data><Binary>5E0000C0</Binary>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Provider, e.ID, e.Code = "NETLOGON", 5719, "0xc000005e"
				e.Text = "CORP; %%1311"
			}),
			ok: true,
		},
		{
			name: "NETLOGON 5783 is dropped",
			xml:  xmlEvent("NETLOGON", "5783", "System", "<Data>CORP</Data>", ""),
		},
		{
			name: "LsaSrv 40961 under its manifest name, NTSTATUS from the text in lower case, the server from the message",
			xml: xmlEvent("Microsoft-Windows-LsaSrv", "40961", "System", "",
				"The Security System could not establish a secured connection with the server ldap/dc01.corp.example. No authentication protocol was available. (0xC000005E)"),
			want: entry(func(e *triage.LogEntry) {
				e.Provider, e.ID, e.Code, e.SPN = "Microsoft-Windows-LsaSrv", 40961, "0xc000005e", "ldap/dc01.corp.example"
				e.Text = "The Security System could not establish a secured connection with the server ldap/dc01.corp.example. No authentication protocol was available. (0xC000005E)"
			}),
			ok: true,
		},
		{
			name: "LsaSrv 40960 without a code: the server is %1",
			xml:  xmlEvent("LsaSrv", "40960", "System", "<Data>cifs/dc01</Data><Data>Kerberos</Data><Data>The user name or password is incorrect.</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Provider, e.ID, e.SPN = "LsaSrv", 40960, "cifs/dc01"
				e.Text = "cifs/dc01; Kerberos; The user name or password is incorrect."
			}),
			ok: true,
		},
		{
			name:   "named instance 18456 without a message; the log is Application whatever the channel",
			export: "sys.xml",
			xml:    xmlEvent("MSSQL$SALES", "18456", "", "<Data>CORP\\alice</Data><Data> Reason: Failed to open the explicitly specified database 'sales'.</Data><Data> [CLIENT: 10.1.2.3]</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Log, e.Provider, e.ID, e.Login, e.Client = "Application", "MSSQL$SALES", 18456, "CORP\\alice", "10.1.2.3"
				e.Reason = "Failed to open the explicitly specified database 'sales'."
				e.Text = "Login failed for user 'CORP\\alice'. Reason: Failed to open the explicitly specified database 'sales'. [CLIENT: 10.1.2.3]"
			}),
			ok: true,
		},
		{
			name: "SQL Server 17806 whose text ParseMessage does not know keeps its ID",
			xml:  xmlEvent("MSSQLSERVER", "17806", "Application", "", "Une erreur SSPI s'est produite 0x8009030C. [CLIENT: 10.1.2.3]"),
			want: entry(func(e *triage.LogEntry) {
				e.Log, e.Provider, e.ID, e.Client = "Application", "MSSQLSERVER", 17806, "10.1.2.3"
				e.Text = "Une erreur SSPI s'est produite 0x8009030C. [CLIENT: 10.1.2.3]"
			}),
			ok: true,
		},
		{
			name: "SQL Server 26067 without a message: code and SPN from the strings",
			xml:  xmlEvent("MSSQLSERVER", "26067", "Application", "<Data>MSSQLSvc/sqlhost01.corp.example:1433</Data><Data>0x2098</Data><Data>15</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Log, e.Provider, e.ID, e.Code, e.SPN = "Application", "MSSQLSERVER", 26067, "0x2098", spn
				e.Text = spn + "; 0x2098; 15"
			}),
			ok: true,
		},
		{
			name: "SQL Server 7412 rendered: the linked server and the login the back end refused",
			xml: xmlEvent("MSSQLSERVER", "7412", "Application", "<Data>MSOLEDBSQL</Data><Data>SQLHOST02</Data><Data>Login failed for user 'NT AUTHORITY\\ANONYMOUS LOGON'.</Data>",
				"OLE DB provider &quot;MSOLEDBSQL&quot; for linked server &quot;SQLHOST02&quot; returned message &quot;Login failed for user 'NT AUTHORITY\\ANONYMOUS LOGON'.&quot;."),
			want: entry(func(e *triage.LogEntry) {
				e.Log, e.Provider, e.ID, e.Linked, e.Login = "Application", "MSSQLSERVER", 7412, "SQLHOST02", `NT AUTHORITY\ANONYMOUS LOGON`
				e.Reason = `Login failed for user 'NT AUTHORITY\ANONYMOUS LOGON'.`
				e.Text = `OLE DB provider "MSOLEDBSQL" for linked server "SQLHOST02" returned message "Login failed for user 'NT AUTHORITY\ANONYMOUS LOGON'.".`
			}),
			ok: true,
		},
		{
			name: "named instance 7412 without a message: rebuilt from its strings",
			xml:  xmlEvent("MSSQL$SALES", "7412", "Application", "<Data>MSOLEDBSQL</Data><Data>SQLHOST02</Data><Data>Login failed for user '(null)'.</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Log, e.Provider, e.ID, e.Linked, e.Login = "Application", "MSSQL$SALES", 7412, "SQLHOST02", "(null)"
				e.Reason = "Login failed for user '(null)'."
				e.Text = `OLE DB provider "MSOLEDBSQL" for linked server "SQLHOST02" returned message "Login failed for user '(null)'.".`
			}),
			ok: true,
		},
		{
			name: "SQL Server 7303 in another language: the linked server from its strings",
			xml: xmlEvent("MSSQLSERVER", "7303", "Application", "<Data>MSOLEDBSQL</Data><Data>SQLHOST02</Data>",
				"Impossible d'initialiser l'objet source de données du fournisseur OLE DB &quot;MSOLEDBSQL&quot; pour le serveur lié &quot;SQLHOST02&quot;."),
			want: entry(func(e *triage.LogEntry) {
				e.Log, e.Provider, e.ID, e.Linked = "Application", "MSSQLSERVER", 7303, "SQLHOST02"
				e.Text = `Cannot initialize the data source object of OLE DB provider "MSOLEDBSQL" for linked server "SQLHOST02".`
			}),
			ok: true,
		},
		{
			name: "SQL Server 7399 without a message, with the provider's text",
			xml:  xmlEvent("MSSQLSERVER", "7399", "Application", "<Data>MSOLEDBSQL</Data><Data>SQLHOST02</Data><Data>Authentication failed.</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Log, e.Provider, e.ID, e.Linked, e.Reason = "Application", "MSSQLSERVER", 7399, "SQLHOST02", "Authentication failed."
				e.Text = `The OLE DB provider "MSOLEDBSQL" for linked server "SQLHOST02" reported an error. Authentication failed.`
			}),
			ok: true,
		},
		{
			name: "SQL Server 7412 whose linked server's name holds a line end: kept, naming no linked server",
			xml:  xmlEvent("MSSQLSERVER", "7412", "Application", "<Data>MSOLEDBSQL</Data><Data>SQL&#xA;HOST02</Data><Data>Login failed for user 'x'.</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Log, e.Provider, e.ID = "Application", "MSSQLSERVER", 7412
				e.Text = `OLE DB provider "MSOLEDBSQL" for linked server "SQL HOST02" returned message "Login failed for user 'x'.".`
			}),
			ok: true,
		},
		{
			name: "SQL Server 7413 rendered: the linked server that wants delegation",
			xml: xmlEvent("MSSQLSERVER", "7413", "Application", "<Data>SQLBE\\SALES</Data><Data>MSOLEDBSQL</Data>",
				"Could not connect to linked server 'SQLBE\\SALES' (OLE DB Provider 'MSOLEDBSQL'). Enable delegation or use a remote SQL Server login for the current user."),
			want: entry(func(e *triage.LogEntry) {
				e.Log, e.Provider, e.ID, e.Linked = "Application", "MSSQLSERVER", 7413, `SQLBE\SALES`
				e.Text = `Could not connect to linked server 'SQLBE\SALES' (OLE DB Provider 'MSOLEDBSQL'). Enable delegation or use a remote SQL Server login for the current user.`
			}),
			ok: true,
		},
		{
			name: "named instance 7413 without a message: rebuilt from its strings, linked server first",
			xml:  xmlEvent("MSSQL$SALES", "7413", "Application", "<Data>SQLHOST02</Data><Data>MSOLEDBSQL</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Log, e.Provider, e.ID, e.Linked = "Application", "MSSQL$SALES", 7413, "SQLHOST02"
				e.Text = `Could not connect to linked server 'SQLHOST02' (OLE DB Provider 'MSOLEDBSQL'). Enable delegation or use a remote SQL Server login for the current user.`
			}),
			ok: true,
		},
		{
			name: "SQL Server 7413 in another language: the linked server from its strings",
			xml: xmlEvent("MSSQLSERVER", "7413", "Application", "<Data>SQLHOST02</Data><Data>MSOLEDBSQL</Data>",
				"Impossible de se connecter au serveur lié 'SQLHOST02' (fournisseur OLE DB 'MSOLEDBSQL')."),
			want: entry(func(e *triage.LogEntry) {
				e.Log, e.Provider, e.ID, e.Linked = "Application", "MSSQLSERVER", 7413, "SQLHOST02"
				e.Text = `Could not connect to linked server 'SQLHOST02' (OLE DB Provider 'MSOLEDBSQL'). Enable delegation or use a remote SQL Server login for the current user.`
			}),
			ok: true,
		},
		{
			name: "SQL Server 7413 whose linked server's name holds a bidi override: kept, naming no linked server",
			xml:  xmlEvent("MSSQLSERVER", "7413", "Application", "<Data>SQL\u202eHOST02</Data><Data>MSOLEDBSQL</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Log, e.Provider, e.ID = "Application", "MSSQLSERVER", 7413
				e.Text = "Could not connect to linked server 'SQL\u202eHOST02' (OLE DB Provider 'MSOLEDBSQL'). Enable delegation or use a remote SQL Server login for the current user."
			}),
			ok: true,
		},
		{
			name: "SQL Server 7413 whose provider holds a line end: kept, naming no linked server",
			xml:  xmlEvent("MSSQLSERVER", "7413", "Application", "<Data>SQLHOST02</Data><Data>MSOLE&#xA;DBSQL</Data>", ""),
			want: entry(func(e *triage.LogEntry) {
				e.Log, e.Provider, e.ID = "Application", "MSSQLSERVER", 7413
				e.Text = `Could not connect to linked server 'SQLHOST02' (OLE DB Provider 'MSOLE DBSQL'). Enable delegation or use a remote SQL Server login for the current user.`
			}),
			ok: true,
		},
		{
			name: "SQL Server's other events are dropped",
			xml:  xmlEvent("MSSQLSERVER", "17137", "Application", "<Data>sales</Data>", "Starting up database 'sales'."),
		},
		{
			name: "SQL Server Agent is not SQL Server",
			xml:  xmlEvent("SQLSERVERAGENT", "18456", "Application", "<Data>x</Data>", ""),
		},
		{
			name: "\"MSSQL$\" alone is no instance",
			xml:  xmlEvent("MSSQL$", "18456", "Application", "<Data>x</Data>", ""),
		},
		{
			name:   "no channel: the log is guessed from the export's name",
			export: `C:\cases\4711\Application-sqlhost01.xml`,
			xml:    xmlEvent("Kerberos", "4", "", "", "The Kerberos client received a KRB_AP_ERR_MODIFIED error from the server x. The target name used was HTTP/web."),
			want: entry(func(e *triage.LogEntry) {
				e.Log, e.Provider, e.ID, e.Code, e.SPN = "Application", "Kerberos", 4, "0x29", "HTTP/web"
				e.Text = "The Kerberos client received a KRB_AP_ERR_MODIFIED error from the server x. The target name used was HTTP/web."
			}),
			ok: true,
		},
		{
			name: "an ID with the qualifiers folded in",
			xml:  xmlEvent("NETLOGON", "3221231191", "System", "<Data>CORP</Data>", ""), // 0xC0001657
			want: entry(func(e *triage.LogEntry) {
				e.Provider, e.ID = "NETLOGON", 5719
				e.Text = "CORP"
			}),
			ok: true,
		},
		{
			name: "an ID that is not a number",
			xml:  xmlEvent("NETLOGON", "x5719", "System", "", ""),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev event
			if err := xml.Unmarshal([]byte(tt.xml), &ev); err != nil {
				t.Fatal(err)
			}
			got, ok := classify(&ev, tt.export)
			if ok != tt.ok {
				t.Fatalf("classify ok = %v, want %v (entry %+v)", ok, tt.ok, got)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("classify mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNormCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"0x7", "0x7"},
		{"7", "0x7"},
		{"0x00000007", "0x7"},
		{" 0X25 ", "0x25"},
		{"41", "0x29"},
		{"-2146893039", "0x80090311"},
		{"0xC000005E", "0xc000005e"},
		{"2147483648", "0x80000000"},
		{"0x1FFFFFFFF", ""},
		{"-2147483649", ""},
		{"seven", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := normCode(tt.in); got != tt.want {
			t.Errorf("normCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCleanSPN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"MSSQLSvc/h.corp.example:1433@CORP.EXAMPLE", "MSSQLSvc/h.corp.example:1433"},
		{"MSSQLSvc/h.corp.example:1433.", "MSSQLSvc/h.corp.example:1433"},
		{" krbtgt/CORP.EXAMPLE ", "krbtgt/CORP.EXAMPLE"},
		{"alice@CORP.EXAMPLE", "alice@CORP.EXAMPLE"}, // a user principal keeps its realm
		{"-", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := cleanSPN(tt.in); got != tt.want {
			t.Errorf("cleanSPN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestBinaryStatus(t *testing.T) {
	tests := []struct{ in, want string }{
		{"5E0000C0", "0xc000005e"},
		{"220000c0", "0xc0000022"},
		{"00000000", ""},   // success is no error
		{"5E0000C000", ""}, // not one code
		{"zz", ""},
	}
	for _, tt := range tests {
		if got := binaryStatus(tt.in); got != tt.want {
			t.Errorf("binaryStatus(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTidy(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"white space", " a\r\n\tb  c ", "a b c"},
		{"short", "abc", "abc"},
		{"exactly the limit", strings.Repeat("a", maxText), strings.Repeat("a", maxText)},
		{"cut", strings.Repeat("a", maxText+1), strings.Repeat("a", maxText) + "..."},
		{"cut before a character that would not fit", strings.Repeat("a", maxText-1) + "é", strings.Repeat("a", maxText-1) + "..."},
	}
	for _, tt := range tests {
		if got := tidy(tt.in); got != tt.want {
			t.Errorf("%s: tidy = %q, want %q", tt.name, got, tt.want)
		}
	}
}
