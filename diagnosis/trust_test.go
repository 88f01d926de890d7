package diagnosis

import (
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// TestSPNTransports: a missing SPN that TCP clients ask for (MSSQLSvc/FQDN:PORT) is
// critical; a missing Named Pipes and Shared Memory form alone is a warning that says
// only those clients are affected.
func TestSPNTransports(t *testing.T) {
	svc := triage.Account{DN: "CN=svc_sql01,CN=Users,DC=corp,DC=example", SID: "S-1-5-21-1-2-3-1105", SAMAccountName: "svc_sql01",
		Domain: "corp.example", NetBIOSDomain: "CORP", UAC: triage.UACNormalAccount | triage.UACDontExpirePassword, EncTypes: triage.EtypeAESAll}
	named := triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example", ServiceAccount: `CORP\svc_sql01`,
		Instances: []triage.Instance{{Name: "SALES", Port: 50123}}}
	def := named
	def.Instances = []triage.Instance{{Port: 1433}}
	tcp, pipes := "MSSQLSvc/sqlhost01.corp.example:50123", "MSSQLSvc/sqlhost01.corp.example:SALES"
	tests := []struct {
		name   string
		target triage.Target
		owners map[string][]triage.Account
		want   []want
	}{
		{"named instance: TCP form missing is critical", named, map[string][]triage.Account{tcp: nil, pipes: {svc}},
			[]want{{cause: triage.SPNMissing, severity: triage.Critical, summary: []string{tcp, "clients fall back to NTLM or fail"},
				commands: []string{`setspn -S MSSQLSvc/sqlhost01.corp.example:50123 CORP\svc_sql01`}, evidence: 1}}},
		{"named instance: the instance-name form alone is a warning", named, map[string][]triage.Account{tcp: {svc}, pipes: nil},
			[]want{{cause: triage.SPNMissing, severity: triage.Warning, summary: []string{pipes, "only Named Pipes and Shared Memory clients are affected"},
				commands: []string{`setspn -S MSSQLSvc/sqlhost01.corp.example:SALES CORP\svc_sql01`}, evidence: 1}}},
		{"default instance: MSSQLSvc/FQDN alone is a warning", def, map[string][]triage.Account{"MSSQLSvc/sqlhost01.corp.example:1433": {svc}, "MSSQLSvc/sqlhost01.corp.example": nil},
			[]want{{cause: triage.SPNMissing, severity: triage.Warning, summary: []string{"only Named Pipes and Shared Memory clients"}, evidence: 1}}},
		{"both missing: one of each", named, map[string][]triage.Account{tcp: nil, pipes: nil},
			[]want{{cause: triage.SPNMissing, severity: triage.Critical, evidence: 1}, {cause: triage.SPNMissing, severity: triage.Warning, evidence: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := svc
			d := &triage.DirectoryFacts{ReadAt: time.Now(), ServiceAccount: &s, RequiredSPNs: tt.target.RequiredSPNs()}
			for _, spn := range tt.target.RequiredSPNs() {
				d.SPNs = append(d.SPNs, triage.SPNOwners{SPN: spn, Owners: tt.owners[spn]})
			}
			checkFindings(t, applyRules(tt.target, triage.Observations{Directory: d}), tt.want)
		})
	}
}

// TestPortUnknown: a named instance whose port is not known is a finding of its own,
// naming the instance, when a check looked up the target's SPNs; the port SQL Browser
// or SQL Server's start-up gave is offered.
func TestPortUnknown(t *testing.T) {
	svc := triage.Account{DN: "CN=svc_sql01,CN=Users,DC=corp,DC=example", SID: "S-1-5-21-1-2-3-1105", SAMAccountName: "svc_sql01",
		Domain: "corp.example", NetBIOSDomain: "CORP", UAC: triage.UACNormalAccount | triage.UACDontExpirePassword, EncTypes: triage.EtypeAESAll}
	sales := triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example", ServiceAccount: `CORP\svc_sql01`,
		Instances: []triage.Instance{{Name: "SALES"}}}
	pipes := "MSSQLSvc/sqlhost01.corp.example:SALES"
	dir := func() *triage.DirectoryFacts {
		s := svc
		return &triage.DirectoryFacts{ServiceAccount: &s, RequiredSPNs: []string{pipes},
			SPNs: []triage.SPNOwners{{SPN: pipes, Owners: []triage.Account{svc}}}}
	}
	registered := logEv(26059, "", -1, 1)
	registered.SPN = "MSSQLSvc/sqlhost01.corp.example:50123"
	tests := []struct {
		name   string
		target triage.Target
		obs    triage.Observations
		want   []want
	}{
		{"SPN check ran", sales, triage.Observations{Directory: dir()},
			[]want{{cause: triage.InstancePortUnknown, severity: triage.Unknown, summary: []string{"SALES", "NAME:PORT"}, evidence: 1}}},
		{"SPN and Kerberos checks ran", sales, triage.Observations{Directory: func() *triage.DirectoryFacts {
			d := dir()
			d.Tickets = []triage.TicketResult{{SPN: pipes, OK: true}}
			return d
		}()}, []want{{cause: triage.InstancePortUnknown, severity: triage.Unknown, evidence: 2}}},
		{"SQL Browser gave the port", sales, triage.Observations{Directory: dir(),
			SQL: []triage.SQLLogin{{Instance: "SALES", Address: "sqlhost01.corp.example:50123", OK: true, AuthScheme: "KERBEROS"}}},
			[]want{{cause: triage.InstancePortUnknown, severity: triage.Unknown, summary: []string{"SQL Browser gives port 50123", "SALES:50123"}, evidence: 1}}},
		{"the ERRORLOG of that instance registered its TCP SPN", sales, triage.Observations{Directory: dir(),
			Logs: []triage.LogEvent{registered}, Server: &triage.ServerInfo{Check: "errorlog", Instance: "SALES"}},
			[]want{{cause: triage.InstancePortUnknown, severity: triage.Unknown, summary: []string{"26059", "SALES:50123"}, evidence: 1}}},
		{"the ERRORLOG of another instance says nothing about this one", sales, triage.Observations{Directory: dir(),
			Logs: []triage.LogEvent{registered}, Server: &triage.ServerInfo{Check: "errorlog", Instance: "HR"}},
			[]want{{cause: triage.InstancePortUnknown, severity: triage.Unknown, summary: []string{"NAME:PORT"}, evidence: 1}}},
		{"no directory check ran: nothing to say", sales, triage.Observations{}, nil},
		{"the port is known", triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example", ServiceAccount: `CORP\svc_sql01`,
			Instances: []triage.Instance{{Name: "SALES", Port: 50123}}}, triage.Observations{Directory: func() *triage.DirectoryFacts {
			d := dir()
			d.SPNs = append(d.SPNs, triage.SPNOwners{SPN: "MSSQLSvc/sqlhost01.corp.example:50123", Owners: []triage.Account{svc}})
			return d
		}()}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFindings(t, applyRules(tt.target, tt.obs), tt.want)
		})
	}
}

// TestDCCertificate: a DC that answered with a certificate that failed verification is
// dc.certificate, saying what is wrong, not dc.unreachable with firewall fixes.
func TestDCCertificate(t *testing.T) {
	cnOnly := "names dc1.corp.example only in its subject CN: Windows accepts that, but Go (since 1.15) needs the name as a DNS name in the Subject Alternative Name"
	unknown := "signed by an authority the checker does not trust (issuer CN=Corp Issuing CA; not in the system's trusted authorities)"
	tests := []struct {
		name string
		dcs  []triage.DCProbe
		want []want
	}{
		{"the only DC's certificate names it in the CN alone", []triage.DCProbe{{Address: "dc1.corp.example:636", Via: "config", Cert: cnOnly, Err: "ldaps://dc1.corp.example:636: its certificate failed verification: " + cnOnly}},
			[]want{{cause: triage.DCCertificate, severity: triage.Warning, summary: []string{"dc1.corp.example:636", "only in its subject CN", "could not be read through any domain controller"}, evidence: 1}}},
		{"one DC with an unknown issuer, one fine", []triage.DCProbe{
			{Address: "dc1:636", Cert: unknown, Err: "its certificate failed verification: " + unknown}, {Address: "dc2:636", Latency: 2 * time.Millisecond}},
			[]want{{cause: triage.DCCertificate, severity: triage.Warning, summary: []string{"dc1:636", "issuer CN=Corp Issuing CA"}, evidence: 1}}},
		{"a bad certificate and a DC down", []triage.DCProbe{
			{Address: "dc1:636", Cert: unknown, Err: "its certificate failed verification: " + unknown}, {Address: "dc2:636", Err: "connection refused"}},
			[]want{{cause: triage.DCUnreachable, severity: triage.Warning, summary: []string{"1 of 2", "dc2:636", "dc1:636 (certificate refused)"}, evidence: 1},
				{cause: triage.DCCertificate, severity: triage.Warning, summary: []string{"dc1:636"}, evidence: 1}}},
		{"a bad certificate and Kerberos closed on the same DC", []triage.DCProbe{
			{Address: "dc1:636", Cert: unknown, Err: "its certificate failed verification: " + unknown, KDCError: "connection refused"}},
			[]want{{cause: triage.DCUnreachable, severity: triage.Critical, summary: []string{"dc1:636"}, evidence: 1},
				{cause: triage.DCCertificate, severity: triage.Warning, evidence: 1}}},
		{"two DCs, the same problem, said once", []triage.DCProbe{
			{Address: "dc1:636", Cert: unknown}, {Address: "dc2:636", Cert: unknown}},
			[]want{{cause: triage.DCCertificate, severity: triage.Warning, summary: []string{"2 domain controllers", "dc1:636, dc2:636"}, evidence: 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dcReachRule{}.Apply(target, triage.Observations{Directory: &triage.DirectoryFacts{DCs: tt.dcs}})
			checkFindings(t, got, tt.want)
			for _, f := range got {
				if f.Cause != triage.DCCertificate {
					continue
				}
				if strings.Count(f.Summary, "issuer CN=Corp Issuing CA") > 1 {
					t.Errorf("summary %q repeats the problem", f.Summary)
				}
				for _, s := range f.Remediation {
					if strings.Contains(s.Text, "firewall") || strings.Contains(s.Text, "TCP/UDP 88") {
						t.Errorf("dc.certificate suggests the network: %q", s.Text)
					}
				}
			}
		})
	}
}

// TestAccountMismatch: the service account SQL Server reports (ERRORLOG, else
// sys.dm_server_services) against the configured one, names compared as Windows
// writes them.
func TestAccountMismatch(t *testing.T) {
	svc := triage.Account{DN: "CN=svc_sql01,CN=Users,DC=corp,DC=example", SID: "S-1-5-21-1-2-3-1105", SAMAccountName: "svc_sql01",
		Domain: "corp.example", NetBIOSDomain: "CORP", UPN: "sqlservice@corp.example",
		UAC: triage.UACNormalAccount | triage.UACDontExpirePassword, EncTypes: triage.EtypeAESAll}
	old := triage.Account{DN: "CN=svc_old,CN=Users,DC=corp,DC=example", SID: "S-1-5-21-1-2-3-1190", SAMAccountName: "svc_old",
		Domain: "corp.example", NetBIOSDomain: "CORP", UAC: triage.UACNormalAccount | triage.UACAccountDisable | triage.UACDontExpirePassword, EncTypes: triage.EtypeAESAll}
	host := triage.Account{DN: "CN=SQLHOST01,OU=Servers,DC=corp,DC=example", SID: "S-1-5-21-1-2-3-2001", SAMAccountName: "SQLHOST01$",
		Domain: "corp.example", NetBIOSDomain: "CORP", Class: "computer", UAC: triage.UACServerTrust, EncTypes: triage.EtypeAESAll}
	spn := "MSSQLSvc/sqlhost01.corp.example:1433"
	configured := func(account string) triage.Target {
		return triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example", Instances: []triage.Instance{{Port: 1433}}, ServiceAccount: account}
	}
	errorlog := func(account string) *triage.ServerInfo {
		return &triage.ServerInfo{Check: "errorlog", ServiceAccount: account, StartedAt: t0}
	}
	// dir is what the account and SPN checks read: read is the configured account as
	// found (nil: not found, named missing), owner holds the SPN.
	dir := func(read *triage.Account, missing string, owner triage.Account) *triage.DirectoryFacts {
		return &triage.DirectoryFacts{ReadAt: t0, NetBIOS: "CORP", ServiceAccount: read, ServiceAccountMissing: missing,
			RequiredSPNs: []string{spn, "MSSQLSvc/sqlhost01.corp.example"},
			SPNs:         []triage.SPNOwners{{SPN: spn, Owners: []triage.Account{owner}}, {SPN: "MSSQLSvc/sqlhost01.corp.example", Owners: []triage.Account{owner}}}}
	}
	ptr := func(a triage.Account) *triage.Account { return &a }
	tests := []struct {
		name   string
		target triage.Target
		obs    triage.Observations
		want   []want
	}{
		{"mistyped account: a mismatch, not account.not_found", configured(`CORP\svc_sq01`),
			triage.Observations{Server: errorlog(`CORP\svc_sql01`), Directory: dir(nil, `CORP\svc_sq01`, svc)},
			[]want{{cause: triage.AccountMismatch, severity: triage.Warning, summary: []string{`runs as CORP\svc_sql01, not as the configured CORP\svc_sq01`, "no account CORP\\svc_sq01", "typo"}, evidence: 2}}},
		{"the inventory names the old account: its state is not SQL Server's", configured(`CORP\svc_old`),
			triage.Observations{Server: errorlog(`CORP\svc_sql01`), Directory: dir(ptr(old), "", svc)},
			[]want{{cause: triage.AccountMismatch, severity: triage.Warning, summary: []string{`the account check read CORP\svc_old`}, evidence: 2}}},
		{"the SPN on the configured account while SQL Server runs as another is on the wrong account", configured(`CORP\svc_old`),
			triage.Observations{Server: errorlog(`CORP\svc_sql01`), Directory: dir(ptr(old), "", old)},
			[]want{
				{cause: triage.SPNWrongAccount, severity: triage.Critical, summary: []string{`CORP\svc_old`, `CORP\svc_sql01`},
					commands: []string{`setspn -D MSSQLSvc/sqlhost01.corp.example:1433 CORP\svc_old`, `setspn -S MSSQLSvc/sqlhost01.corp.example:1433 CORP\svc_sql01`}, evidence: 1},
				{cause: triage.SPNWrongAccount, severity: triage.Critical, evidence: 1},
				{cause: triage.AccountMismatch, severity: triage.Warning, evidence: 2}}},
		{"case differs: the same account", configured(`corp\SVC_SQL01`),
			triage.Observations{Server: errorlog(`CORP\svc_sql01`), Directory: dir(ptr(svc), "", svc)}, nil},
		{"the UPN of the same account", configured(`sqlservice@corp.example`),
			triage.Observations{Server: errorlog(`CORP\svc_sql01`), Directory: dir(ptr(svc), "", svc)}, nil},
		{"sam@dns.domain of the same account", configured(`svc_sql01@corp.example`),
			triage.Observations{Server: errorlog(`CORP\svc_sql01`), Directory: dir(ptr(svc), "", svc)}, nil},
		{"a virtual account and HOST$ are the same on the network", configured(`CORP\SQLHOST01$`),
			triage.Observations{Server: errorlog(`NT Service\MSSQLSERVER`), Directory: dir(ptr(host), "", host)}, nil},
		{"a domain account configured, a virtual account reported", configured(`CORP\svc_sql01`),
			triage.Observations{Server: errorlog(`NT Service\MSSQLSERVER`), Directory: dir(ptr(svc), "", svc)},
			[]want{
				{cause: triage.SPNWrongAccount, severity: triage.Critical, commands: []string{`setspn -S MSSQLSvc/sqlhost01.corp.example:1433 CORP\SQLHOST01$`}, evidence: 1},
				{cause: triage.SPNWrongAccount, severity: triage.Critical, evidence: 1},
				{cause: triage.AccountMismatch, severity: triage.Warning, summary: []string{`NT Service\MSSQLSERVER`}, evidence: 2}}},
		{"no directory: names alone, another domain", configured(`CORP\svc_sql01`),
			triage.Observations{Server: errorlog(`EMEA\svc_sql01`)},
			[]want{{cause: triage.AccountMismatch, severity: triage.Warning, evidence: 1}}},
		{"no directory: NetBIOS against DNS cannot be told apart", configured(`svc_sql01@corp.example`),
			triage.Observations{Server: errorlog(`CORP\svc_sql01`)}, nil},
		{"sys.dm_server_services when the ERRORLOG was not read", configured(`CORP\svc_sq01`),
			triage.Observations{SQL: []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", Address: "sqlhost01.corp.example:1433", OK: true, ServiceAccount: `CORP\svc_sql01`}},
				Directory: dir(nil, `CORP\svc_sq01`, svc)},
			[]want{{cause: triage.AccountMismatch, severity: triage.Warning, summary: []string{`CORP\svc_sql01`}, evidence: 2}}},
		{"nothing configured: the ERRORLOG's account finds the SPN on the wrong account", configured(""),
			triage.Observations{Server: errorlog(`CORP\svc_sql01`), Directory: func() *triage.DirectoryFacts {
				d := dir(nil, "", old)
				d.SPNs[1].Owners = []triage.Account{svc}
				return d
			}()},
			[]want{{cause: triage.SPNWrongAccount, severity: triage.Critical, commands: []string{`setspn -D MSSQLSvc/sqlhost01.corp.example:1433 CORP\svc_old`}, evidence: 1}}},
		{"nothing reported: the configured account not found is account.not_found", configured(`CORP\svc_sq01`),
			triage.Observations{Directory: dir(nil, `CORP\svc_sq01`, svc)},
			[]want{{cause: triage.AccountNotFound, severity: triage.Critical, evidence: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFindings(t, applyRules(tt.target, tt.obs), tt.want)
		})
	}
}
