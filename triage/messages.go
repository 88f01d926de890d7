package triage

import "strings"

// SQL Server message numbers that sources read and rules recognise, as ERRORLOG and
// the Application event log (event ID = message number) write them. The texts quoted
// are Microsoft's, from the page named beside each.
const (
	// The linked-server messages: a query on a front end through a linked server (or
	// OPENROWSET, whose linked server is written "(null)") failed, and the OLE DB
	// provider passed on what the back end said. The texts, and whether sys.messages
	// has the message written to the logs (is_event_logged, "Event Logged"), are from
	// "Database Engine events and errors (7000 to 7999)",
	// https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-7000-to-7999;
	// "Import data from Excel to SQL Server or Azure SQL Database",
	// https://learn.microsoft.com/sql/relational-databases/import-export/import-data-from-excel-to-sql,
	// shows 7399 and 7303 with their numbers ("Msg 7399, Level 16, State 1"). 7303 and
	// 7399 are not logged unless an administrator made them so ("sp_altermessage",
	// https://learn.microsoft.com/sql/relational-databases/system-stored-procedures/sp-altermessage-transact-sql:
	// a message written to the Windows application log "is also written to the Database
	// Engine error log file"); the page shows 7412 and 7413 as not logged by default
	// either.
	//
	// "Linked server account mapping error",
	// https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/linked-server-account-mapping-error,
	// shows the three together, the provider's message carrying the back end's "Login
	// failed for user 'CONTOSO\SQLPROD01$'" (the front end's computer account: a
	// login mapping's matter, not delegation's), and says that a linked server whose
	// security is "Be made without using a security context" fails with "Login Failed
	// for user NT AUTHORITY\ANONYMOUS LOGON". No Microsoft page ties 7303, 7399 or 7412
	// to ANONYMOUS LOGON by number: that link is the carried message's, which names the
	// login.

	// Msg7303: "Cannot initialize the data source object of OLE DB provider "%ls" for
	// linked server "%ls"." Not logged by default.
	Msg7303 = 7303
	// Msg7399: "The OLE DB provider "%ls" for linked server "%ls" reported an error.
	// %ls" (for example "Authentication failed."). Not logged by default.
	Msg7399 = 7399
	// Msg7412: "OLE DB provider "%ls" for linked server "%ls" returned message "%ls"."
	// Not logged by default ("Event Logged" No). The message is the back end's, such
	// as its 18456 text.
	Msg7412 = 7412
	// Msg7413: "Could not connect to linked server '%ls' (OLE DB Provider '%ls').
	// Enable delegation or use a remote SQL Server login for the current user." Not
	// logged by default ("Event Logged" No). SQL Server did not connect: the current
	// user's Windows login can reach the linked server only through delegation or a
	// remote login mapped to it (sp_addlinkedsrvlogin). Unlike the others it names the
	// linked server first and quotes both names in single quotes.
	Msg7413 = 7413
	// Msg17806: "SSPI handshake failed with error code 0x%x while establishing a
	// connection with integrated security; the connection has been closed."
	// "Database engine events and errors (16000 to 17999)",
	// https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-16000-to-17999
	Msg17806 = 17806
	// Msg17830: "Network error code 0x%x occurred while establishing a connection;
	// the connection has been closed. ... Time spent during login: total %d ms, ...
	// negotiating SSPI %d ms, ..."
	// "Database engine events and errors (16000 to 17999)",
	// https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-16000-to-17999
	Msg17830 = 17830
	// Msg18452: the login is from an untrusted domain and cannot be used with
	// Windows authentication.
	// "MSSQLSERVER_18452",
	// https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-18452-database-engine-error
	Msg18452 = 18452
	// Msg18456: "Login failed for user '%.*ls'.", with a state that says why.
	// "MSSQLSERVER_18456",
	// https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-18456-database-engine-error
	Msg18456 = 18456
	// Msg26037: "The SQL Server Network Interface library could not register the
	// Service Principal Name (SPN) for the SQL Server service. Windows return code:
	// %#x, state: %d." (it does not name the SPN)
	// "Database engine events and errors (26000 to 27999)",
	// https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-26000-to-27999
	Msg26037 = 26037
	// Msg26059: "The SQL Server Network Interface library successfully registered
	// the Service Principal Name (SPN) [ %ls ] for the SQL Server service."
	// "Database engine events and errors (26000 to 27999)",
	// https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-26000-to-27999
	Msg26059 = 26059
	// Msg26067: "The SQL Server Network Interface library could not register the
	// Service Principal Name (SPN) [ %ls ] for the SQL Server service. Windows return
	// code: %#x, state: %d."
	// "Database engine events and errors (26000 to 27999)",
	// https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-26000-to-27999
	Msg26067 = 26067
	// Msg26076: "SQL Server is attempting to register a Service Principal Name (SPN)
	// for the SQL Server service."
	// "Database engine events and errors (26000 to 27999)",
	// https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-26000-to-27999
	Msg26076 = 26076
)

// CarriedLogin returns the login that the message a linked-server error carried
// (LogEvent.Reason of Msg7399 and Msg7412) says failed: the back end's 18456, "Login
// failed for user '%.*ls'.", anywhere in it (providers put their own prefixes before
// it, such as "[Microsoft][SQL Server Native Client 11.0][SQL Server]"), a doubled
// quote read as one. ok is false when the message names no failed login.
func CarriedLogin(message string) (login string, ok bool) {
	const phrase = "Login failed for user '"
	i := strings.Index(message, phrase)
	if i < 0 {
		return "", false
	}
	rest := message[i+len(phrase):]
	var b strings.Builder
	for j := 0; j < len(rest); j++ {
		if rest[j] != '\'' {
			b.WriteByte(rest[j])
			continue
		}
		if j+1 < len(rest) && rest[j+1] == '\'' {
			b.WriteByte('\'')
			j++
			continue
		}
		return b.String(), true
	}
	return "", false // no closing quote: cut short
}
