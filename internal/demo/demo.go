// Package demo holds the sample evidence that `authtriage demo` triages: host
// sqlhost01, whose ERRORLOG (UTF-16LE, as SQL Server writes it on Windows) shows the
// seed article's failures, 17806 with 0x80090311 and then 0x80090304 followed by
// 18452, whose System log export shows the domain controller going away, and whose
// directory export has the instance's SPN on two accounts and its port-less SPN on a
// web server's account.
//
// ERRORLOG is generated from ERRORLOG.txt by `go test ./internal/demo -update`; edit the
// text.
package demo

import (
	"embed"
	"io/fs"

	"github.com/authtriage/authtriage/triage"
)

//go:embed sqlhost01/ERRORLOG sqlhost01/System.xml sqlhost01/directory.ldf
var files embed.FS

// Paths of the sample evidence within Files.
const (
	ErrorLog = "sqlhost01/ERRORLOG"
	Events   = "sqlhost01/System.xml"
	LDIF     = "sqlhost01/directory.ldf" // an ldifde export with a duplicate and a misplaced SPN
)

// Files returns the sample evidence.
func Files() fs.FS { return files }

// Target returns the demo host as an inventory would describe it.
func Target() triage.Target {
	return triage.Target{
		Host:           "sqlhost01",
		FQDN:           "sqlhost01.corp.example",
		Instances:      []triage.Instance{{Name: "MSSQLSERVER", Port: 1433}},
		ServiceAccount: `CORP\svc_sql01`,
	}
}
