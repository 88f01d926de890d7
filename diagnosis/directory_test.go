package diagnosis

import (
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/triage"
)

func TestDirectoryRules(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	svc := triage.Account{DN: "CN=svc_sql01,CN=Users,DC=corp,DC=example", SID: "S-1-5-21-1-2-3-1105", SAMAccountName: "svc_sql01",
		Domain: "corp.example", NetBIOSDomain: "CORP", UAC: triage.UACNormalAccount | triage.UACDontExpirePassword, EncTypes: triage.EtypeAESAll}
	old := triage.Account{DN: "CN=svc_old,CN=Users,DC=corp,DC=example", SID: "S-1-5-21-1-2-3-1190", SAMAccountName: "svc_old",
		Domain: "corp.example", UAC: triage.UACNormalAccount}
	// Same name, other domain: must not count as the service account.
	twin := svc
	twin.DN, twin.SID, twin.Domain, twin.NetBIOSDomain = "CN=svc_sql01,CN=Users,DC=emea,DC=corp,DC=example", "S-1-5-21-9-9-9-1105", "emea.corp.example", ""
	spn := "MSSQLSvc/sqlhost01.corp.example:1433"
	spn2 := "MSSQLSvc/sqlhost01.corp.example"
	facts := func(f func(*triage.DirectoryFacts)) triage.Observations {
		s := svc
		d := &triage.DirectoryFacts{ReadAt: now, NetBIOS: "CORP", ServiceAccount: &s,
			SPNs: []triage.SPNOwners{{SPN: spn, Owners: []triage.Account{svc}}, {SPN: spn2, Owners: []triage.Account{svc}}}}
		f(d)
		return triage.Observations{Directory: d}
	}
	tests := []struct {
		name string
		obs  triage.Observations
		want []want
	}{
		{"healthy", facts(func(*triage.DirectoryFacts) {}), nil},
		{"missing SPN, with the KDC's refusal", facts(func(d *triage.DirectoryFacts) {
			d.SPNs[0].Owners = nil
			d.Tickets = []triage.TicketResult{{SPN: spn, Code: 7, CodeName: "KDC_ERR_S_PRINCIPAL_UNKNOWN"}}
		}), []want{{cause: triage.SPNMissing, severity: triage.Critical,
			commands: []string{`setspn -S MSSQLSvc/sqlhost01.corp.example:1433 CORP\svc_sql01`}, evidence: 2}}},
		{"duplicate SPN: remove it from the other account only", facts(func(d *triage.DirectoryFacts) {
			d.SPNs[0].Owners = []triage.Account{svc, old}
		}), []want{{cause: triage.SPNDuplicate, severity: triage.Critical, summary: []string{"2 accounts", `CORP\svc_old`},
			commands: []string{`setspn -D MSSQLSvc/sqlhost01.corp.example:1433 CORP\svc_old`}, evidence: 1}}},
		{"SPN on another account", facts(func(d *triage.DirectoryFacts) {
			d.SPNs[0].Owners = []triage.Account{old}
		}), []want{{cause: triage.SPNWrongAccount, severity: triage.Critical,
			commands: []string{`setspn -D MSSQLSvc/sqlhost01.corp.example:1433 CORP\svc_old`, `setspn -S MSSQLSvc/sqlhost01.corp.example:1433 CORP\svc_sql01`}, evidence: 1}}},
		{"same name in another domain is another account", facts(func(d *triage.DirectoryFacts) {
			d.SPNs[1].Owners = []triage.Account{twin}
		}), []want{{cause: triage.SPNWrongAccount, severity: triage.Critical, commands: []string{`setspn -D MSSQLSvc/sqlhost01.corp.example EMEA\svc_sql01`}, evidence: 1}}},
		{"service account not found", facts(func(d *triage.DirectoryFacts) {
			d.ServiceAccount, d.ServiceAccountMissing = nil, `CORP\svc_gone`
		}), []want{{cause: triage.AccountNotFound, severity: triage.Critical, summary: []string{`CORP\svc_gone`}, evidence: 1}}},
		{"disabled", facts(func(d *triage.DirectoryFacts) { d.ServiceAccount.UAC |= triage.UACAccountDisable }),
			[]want{{cause: triage.AccountDisabled, severity: triage.Critical, commands: []string{`Enable-ADAccount -Identity svc_sql01`}, evidence: 1}}},
		{"locked out", facts(func(d *triage.DirectoryFacts) {
			d.ServiceAccount.LockoutTime = now.Add(-time.Hour)
			d.ServiceAccount.UAC |= triage.UACLockout // msDS-User-Account-Control-Computed
		}), []want{{cause: triage.AccountLockedOut, severity: triage.Critical, commands: []string{"Unlock-ADAccount -Identity svc_sql01"}, evidence: 1}}},
		{"a lockout that has run out leaves lockoutTime set: not locked", facts(func(d *triage.DirectoryFacts) {
			d.ServiceAccount.LockoutTime = now.Add(-48 * time.Hour)
		}), nil},
		{"a KDC refusal is not explained by an expiry date still to come", facts(func(d *triage.DirectoryFacts) {
			d.ServiceAccount.AccountExpires = now.Add(365 * 24 * time.Hour)
			d.Tickets = []triage.TicketResult{{SPN: spn, Code: 0x12, CodeName: "KDC_ERR_CLIENT_REVOKED"}}
		}), []want{{cause: triage.KerberosTicketFailed, severity: triage.Critical, summary: []string{"KDC_ERR_CLIENT_REVOKED"}, evidence: 1}}},
		{"duplicate on two other accounts: remove both and register on the service account", facts(func(d *triage.DirectoryFacts) {
			other := old
			other.DN, other.SID, other.SAMAccountName = "CN=svc_x,DC=corp,DC=example", "S-1-5-21-1-2-3-1300", "svc_x"
			d.SPNs[0].Owners = []triage.Account{old, other}
		}), []want{{cause: triage.SPNDuplicate, severity: triage.Critical, commands: []string{
			`setspn -D MSSQLSvc/sqlhost01.corp.example:1433 CORP\svc_old`, `setspn -D MSSQLSvc/sqlhost01.corp.example:1433 CORP\svc_x`,
			`setspn -S MSSQLSvc/sqlhost01.corp.example:1433 CORP\svc_sql01`}, evidence: 1}}},
		{"RC4-only computer account (virtual service account) is changed with Set-ADComputer", facts(func(d *triage.DirectoryFacts) {
			d.ServiceAccount.Class, d.ServiceAccount.SAMAccountName = "computer", "SQLHOST01$"
			d.ServiceAccount.EncTypes = triage.EtypeRC4
			d.SPNs = nil
		}), []want{{cause: triage.KerberosEtypeMismatch, severity: triage.Warning, commands: []string{"Set-ADComputer -Identity SQLHOST01$ -KerberosEncryptionType AES128,AES256"}, evidence: 1}}},
		{"expired", facts(func(d *triage.DirectoryFacts) { d.ServiceAccount.AccountExpires = now.Add(-24 * time.Hour) }),
			[]want{{cause: triage.AccountExpired, severity: triage.Critical, evidence: 1}}},
		{"expires later is fine", facts(func(d *triage.DirectoryFacts) { d.ServiceAccount.AccountExpires = now.Add(24 * time.Hour) }), nil},
		{"password must change", facts(func(d *triage.DirectoryFacts) {
			d.ServiceAccount.PwdMustChange = true
		}), []want{{cause: triage.AccountPasswordExpired, severity: triage.Critical, summary: []string{"pwdLastSet is 0"}, evidence: 1}}},
		{"password older than maxPwdAge", facts(func(d *triage.DirectoryFacts) {
			d.ServiceAccount.UAC = triage.UACNormalAccount
			d.ServiceAccount.PwdLastSet = now.Add(-100 * 24 * time.Hour)
			d.MaxPwdAge = 42 * 24 * time.Hour
		}), []want{{cause: triage.AccountPasswordExpired, severity: triage.Critical, summary: []string{"maxPwdAge of 42d is past"}, evidence: 1}}},
		{"password never expires", facts(func(d *triage.DirectoryFacts) {
			d.ServiceAccount.PwdLastSet = now.Add(-1000 * 24 * time.Hour)
			d.MaxPwdAge = 42 * 24 * time.Hour
		}), nil},
		{"RC4-only, refused by the KDC", facts(func(d *triage.DirectoryFacts) {
			d.ServiceAccount.EncTypes = triage.EtypeRC4
			d.Tickets = []triage.TicketResult{{SPN: spn, Code: 14, CodeName: "KDC_ERR_ETYPE_NOSUPP"}}
		}), []want{{cause: triage.KerberosEtypeMismatch, severity: triage.Critical,
			commands: []string{`Set-ADUser -Identity svc_sql01 -KerberosEncryptionType AES128,AES256`}, evidence: 2}}},
		{"RC4-only, still issued, is a warning", facts(func(d *triage.DirectoryFacts) {
			d.ServiceAccount.EncTypes = triage.EtypeRC4
		}), []want{{cause: triage.KerberosEtypeMismatch, severity: triage.Warning, summary: []string{"RC4"}, evidence: 1}}},
		{"clock skew from rootDSE", facts(func(d *triage.DirectoryFacts) {
			d.Clocks = []triage.ClockReading{{Source: "dc1.corp.example (rootDSE currentTime)", Skew: 61 * time.Minute}}
		}), []want{{cause: triage.ClockSkew, severity: triage.Warning, summary: []string{"where authtriage runs", "the 5m Kerberos allows"}, evidence: 1}}},
		{"SQL Server's clock against the DC's is the host's own skew", facts(func(d *triage.DirectoryFacts) {
			d.Clocks = []triage.ClockReading{{Source: "dc1.corp.example (rootDSE currentTime)", Skew: time.Second}}
		}), nil},
		{"small skew is fine", facts(func(d *triage.DirectoryFacts) {
			d.Clocks = []triage.ClockReading{{Source: "dc1", Skew: -90 * time.Second}}
		}), nil},
		{"no DC answers", facts(func(d *triage.DirectoryFacts) {
			d.DCs = []triage.DCProbe{{Address: "dc1.corp.example:636", Via: "config", Err: "i/o timeout"}}
		}), []want{{cause: triage.DCUnreachable, severity: triage.Critical, evidence: 1}}},
		{"one of two DCs down is a warning", facts(func(d *triage.DirectoryFacts) {
			d.DCs = []triage.DCProbe{{Address: "dc1:636", Err: "connection refused"}, {Address: "dc2:636", Latency: 3 * time.Millisecond}}
		}), []want{{cause: triage.DCUnreachable, severity: triage.Warning, summary: []string{"1 of 2"}, evidence: 1}}},
		{"unexplained KDC refusal", facts(func(d *triage.DirectoryFacts) {
			d.Tickets = []triage.TicketResult{{SPN: spn, Code: 0xc, CodeName: "KDC_ERR_POLICY"}}
		}), []want{{cause: triage.KerberosTicketFailed, severity: triage.Critical, summary: []string{"KDC_ERR_POLICY"}, evidence: 1}}},
		{"reverse lookup names another host", facts(func(d *triage.DirectoryFacts) {
			d.DNS = &triage.DNSFacts{FQDN: "sqlhost01.corp.example", Addresses: []string{"192.0.2.10"},
				ReverseFor: map[string][]string{"192.0.2.10": {"oldsql.corp.example."}}}
		}), []want{{cause: triage.DNSMismatch, severity: triage.Warning, evidence: 1}}},
	}
	target := triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example", Instances: []triage.Instance{{Port: 1433}}, ServiceAccount: `CORP\svc_sql01`}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := applyRules(target, tt.obs)
			checkFindings(t, got, tt.want)
			for _, f := range got {
				for _, s := range f.Remediation {
					if strings.Contains(s.Command, "<") {
						t.Errorf("command %q has an unfilled placeholder", s.Command)
					}
				}
			}
		})
	}
}

func TestRegistrationFailureIsInfoWhenRegisteredByHand(t *testing.T) {
	svc := triage.Account{DN: "CN=svc,DC=corp,DC=example", SID: "S-1-5-21-1", SAMAccountName: "svc", Domain: "corp.example", EncTypes: triage.EncTypesUnset, UAC: triage.UACDontExpirePassword}
	e := logEv(26067, "0x2098", 15, 1)
	e.SPN = "MSSQLSvc/sqlhost01.corp.example:1433"
	obs := triage.Observations{Logs: []triage.LogEvent{e}, Directory: &triage.DirectoryFacts{ServiceAccount: &svc,
		SPNs: []triage.SPNOwners{{SPN: e.SPN, Owners: []triage.Account{svc}}}}}
	fs := spnRegistrationRule{}.Apply(target, obs)
	if len(fs) != 1 || fs[0].Severity != triage.Info {
		t.Fatalf("got %+v; want one info finding", fs)
	}
	obs.Directory.SPNs[0].Owners = nil
	if fs := (spnRegistrationRule{}).Apply(target, obs); fs[0].Severity != triage.Warning {
		t.Errorf("severity = %s with the SPN missing; want warning", fs[0].Severity)
	}
}

// TestDuplicateWithoutServiceAccount: when the service account is unknown, no setspn -D
// is offered, since it might remove the SPN from the right account.
func TestDuplicateWithoutServiceAccount(t *testing.T) {
	a := triage.Account{DN: "CN=a,DC=corp,DC=example", SID: "S-1-5-21-1", SAMAccountName: "a", NetBIOSDomain: "CORP"}
	b := triage.Account{DN: "CN=b,DC=corp,DC=example", SID: "S-1-5-21-2", SAMAccountName: "b", NetBIOSDomain: "CORP"}
	obs := triage.Observations{Directory: &triage.DirectoryFacts{SPNs: []triage.SPNOwners{{SPN: "MSSQLSvc/x.corp.example:1433", Owners: []triage.Account{a, b}}}}}
	fs := spnRule{}.Apply(triage.Target{Host: "x", FQDN: "x.corp.example"}, obs)
	if len(fs) != 1 || fs[0].Cause != triage.SPNDuplicate {
		t.Fatalf("findings %+v; want one spn.duplicate", fs)
	}
	for _, s := range fs[0].Remediation {
		if strings.HasPrefix(s.Command, "setspn -D") {
			t.Errorf("offered %q without knowing the service account", s.Command)
		}
	}
}
