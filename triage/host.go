package triage

import "time"

// HostFacts are what the agent saw on the SQL Server host itself.
type HostFacts struct {
	// LSA is the result of asking the Local Security Authority something it answers
	// from memory (the name of a well-known SID); nil when not probed (not Windows).
	LSA *LSAProbe
	// Keytab is SQL Server on Linux's keytab; nil when not read.
	Keytab *KeytabFacts
}

// An LSAProbe is one timed call into the Local Security Authority.
type LSAProbe struct {
	Latency time.Duration
	Err     string // "" when it answered; the error or "no answer within 5s"
}

// KeytabFacts describe a keytab's entries for the SQL Server service.
type KeytabFacts struct {
	Path    string
	Entries []KeytabEntry
}

// A KeytabEntry is one key in a keytab.
type KeytabEntry struct {
	Principal string // MSSQLSvc/sql01.corp.example:1433@CORP.EXAMPLE
	KVNO      int
	Etype     string // aes256-cts-hmac-sha1-96
}
