// Package demo holds the sample evidence that `authtriage demo` triages, two
// incidents:
//
//   - local-security: host sqlhost01, whose ERRORLOG (UTF-16LE, as SQL Server writes
//     it on Windows) shows the seed article's failures, 17806 with 0x80090311 and
//     then 0x80090304 followed by 18452, whose System log export shows the domain
//     controller going away, and whose directory export has the instance's SPN on two
//     accounts and its port-less SPN on a web server's account;
//   - second-hop: host sqlapp01, a front end whose linked server SQLHOST02 forwards
//     its callers' credentials to sqlhost02: its ERRORLOG shows 7412, the back end's
//     18456 for NT AUTHORITY\ANONYMOUS LOGON carried by the OLE DB provider (the one
//     of the linked-server messages SQL Server logs by default), and its directory
//     export shows its service account allowed constrained delegation to
//     MSSQLSvc/sqlhost02.corp.example only, without the port form TCP connections ask
//     for, and without protocol transition.
//
// Each ERRORLOG is generated from its ERRORLOG.txt by `go test ./internal/demo
// -update`; edit the text.
package demo

import (
	"embed"
	"io/fs"

	"github.com/authtriage/authtriage/triage"
)

//go:embed sqlhost01/ERRORLOG sqlhost01/System.xml sqlhost01/directory.ldf
//go:embed sqlapp01/ERRORLOG sqlapp01/directory.ldf
var files embed.FS

// Paths of the local-security incident's evidence within Files.
const (
	ErrorLog = "sqlhost01/ERRORLOG"
	Events   = "sqlhost01/System.xml"
	LDIF     = "sqlhost01/directory.ldf" // an ldifde export with a duplicate and a misplaced SPN
)

// Files returns the sample evidence.
func Files() fs.FS { return files }

// Target returns the local-security incident's host as an inventory would describe it.
func Target() triage.Target {
	return triage.Target{
		Host:           "sqlhost01",
		FQDN:           "sqlhost01.corp.example",
		Instances:      []triage.Instance{{Name: "MSSQLSERVER", Port: 1433}},
		ServiceAccount: `CORP\svc_sql01`,
	}
}

// A Scenario is one incident the demo triages: its host as an inventory would
// describe it, the evidence read offline (paths within Files, "" for none) and the
// second hops the inventory's delegation section names for the host.
type Scenario struct {
	Name     string // as `authtriage demo NAME` takes it
	About    string // what it shows, one sentence
	Target   triage.Target
	ErrorLog string
	Events   string
	LDIF     string
	Hops     []Hop
}

// A Hop is one second hop of a scenario: the path, and its back end as a target.
type Hop struct {
	Path    triage.DelegationPath
	BackEnd triage.Target
}

// Scenarios returns the demo's incidents, in the order `authtriage demo` prints them.
func Scenarios() []Scenario {
	sqlhost02 := triage.Target{
		Host:           "sqlhost02",
		FQDN:           "sqlhost02.corp.example",
		Instances:      []triage.Instance{{Name: "MSSQLSERVER", Port: 1433}},
		ServiceAccount: `CORP\svc_sql02`,
	}
	return []Scenario{
		{
			Name:   "local-security",
			About:  `sqlhost01: the SSPI failures of the "local security subsystem errors" article (17806 0x80090311, then 0x80090304, and 18452), the domain controller gone from its System log, and its SPN registered twice and on a web server's account`,
			Target: Target(), ErrorLog: ErrorLog, Events: Events, LDIF: LDIF,
		},
		{
			Name:  "second-hop",
			About: `sqlapp01, a front end: its linked server SQLHOST02 fails with the back end's "Login failed for user 'NT AUTHORITY\ANONYMOUS LOGON'" (7412), and its account may delegate only to MSSQLSvc/sqlhost02.corp.example, not to the form with the port, and without protocol transition`,
			Target: triage.Target{
				Host:           "sqlapp01",
				FQDN:           "sqlapp01.corp.example",
				Instances:      []triage.Instance{{Name: "MSSQLSERVER", Port: 1433}},
				ServiceAccount: `CORP\svc_sqlapp01`,
			},
			ErrorLog: "sqlapp01/ERRORLOG",
			LDIF:     "sqlapp01/directory.ldf",
			Hops: []Hop{{
				Path: triage.DelegationPath{FrontEnd: "sqlapp01", Account: `CORP\svc_sqlapp01`, BackEnd: "sqlhost02",
					Instance: sqlhost02.Instances[0], Via: "inventory", SelfCredential: true},
				BackEnd: sqlhost02,
			}},
		},
	}
}
