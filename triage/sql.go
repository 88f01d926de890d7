package triage

import "time"

// A SQLLogin is the outcome of an integrated-authentication login to one instance, made
// from where the checker runs, and what the server said about itself once connected.
type SQLLogin struct {
	Instance string // as Instance.String(): "MSSQLSERVER:1433", "SALES"
	Address  string // host:port dialled
	OK       bool
	// When the login failed: the server's error (Number 18456, 18452 ...), or Err alone
	// for a failure before the server answered (network, TLS, Kerberos on the client).
	Number  int
	State   int
	Message string
	Err     string
	// Connected is whether a TCP connection to the instance was made. A login that
	// failed without one (refused, unreachable, no answer, SQL Server Browser not
	// answering) says nothing about authentication; one that failed after it (the
	// client's Kerberos, TLS, the server's refusal) does.
	Connected bool
	// When it succeeded:
	AuthScheme     string    // auth_scheme of this connection: KERBEROS, NTLM or SQL
	ServiceAccount string    // service_account of the engine in sys.dm_server_services
	ServerTime     time.Time // SYSUTCDATETIME() on the server
	ReadAt         time.Time // the checker's clock when ServerTime was read
}

// AgentFacts say how the helper agent serving a host answered.
type AgentFacts struct {
	Agent string // the agent's name in the configuration
	URL   string
	// Err is why the agent could not be reached or stopped answering; "" when it
	// answered in full.
	Err string
	// Missing lists the checks whose results never arrived.
	Missing []string
}
