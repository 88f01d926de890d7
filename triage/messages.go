package triage

// SQL Server message numbers that sources read and rules recognise, as ERRORLOG and
// the Application event log (event ID = message number) write them. The texts quoted
// are Microsoft's, from the page named beside each.
const (
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
