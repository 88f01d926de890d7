package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/internal/tdsfake"
	"github.com/authtriage/authtriage/internal/testdomain"
	"github.com/authtriage/authtriage/triage"

	"github.com/jcmturner/gokrb5/v8/keytab"
)

// TestIntegrationScenarios runs `authtriage check HOST --config FILE --output json`
// against the seeded Samba AD domain (scripts/testdomain.sh): every scenario host
// reports exactly its seeded cause, the healthy one is ok, and the fixes name the real
// SPNs and accounts.
func TestIntegrationScenarios(t *testing.T) {
	d := loadDomain(t)
	startSQL(t, d)
	cfg := integrationConfig(t, d)
	for _, name := range slices.Sorted(maps.Keys(d.Hosts)) {
		h := d.Hosts[name]
		t.Run(name, func(t *testing.T) {
			e, stdout, stderr := testEnv(nil)
			code := e.run(t.Context(), []string{"check", name, "--config", cfg, "--output", "json"})
			var rep triage.Report
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
				t.Fatalf("exit %d, no JSON report: %v\nstderr: %s", code, err, stderr)
			}
			var causes []string
			for _, f := range rep.Findings {
				if f.Severity > triage.Info {
					causes = append(causes, string(f.Cause))
				}
			}
			slices.Sort(causes)
			causes = slices.Compact(causes)
			for _, c := range rep.Checks {
				if c.Status == triage.CheckError {
					t.Errorf("check %s could not run: %s", c.Name, c.Detail)
				}
			}
			if h.Cause == "" {
				if rep.Status != triage.StatusOK || code != exitOK {
					t.Errorf("healthy host: status %s (exit %d), causes %v; want ok\n%s", rep.Status, code, causes, stdout)
				}
				return
			}
			if len(causes) != 1 || causes[0] != h.Cause {
				t.Fatalf("causes = %v; want exactly %s (%s)\n%s", causes, h.Cause, h.Scenario, stdout)
			}
			f := findCause(rep, triage.CauseID(h.Cause))
			account := `CORP\` + h.ServiceAccount
			switch triage.CauseID(h.Cause) {
			case triage.SPNMissing:
				wantCommand(t, *f, fmt.Sprintf("setspn -S MSSQLSvc/%s:1433 %s", h.FQDN, account))
			case triage.SPNDuplicate:
				wantCommand(t, *f, fmt.Sprintf(`setspn -D MSSQLSvc/%s:1433 CORP\svc_sqldup_old`, h.FQDN))
			case triage.SPNWrongAccount:
				wantCommand(t, *f, fmt.Sprintf(`setspn -D MSSQLSvc/%s:1433 CORP\svc_sqlwrong_other`, h.FQDN))
				wantCommand(t, *f, fmt.Sprintf("setspn -S MSSQLSvc/%s:1433 %s", h.FQDN, account))
			case triage.AccountDisabled:
				wantCommand(t, *f, "Enable-ADAccount -Identity "+h.ServiceAccount)
			case triage.KerberosEtypeMismatch:
				wantCommand(t, *f, "Set-ADUser -Identity "+h.ServiceAccount+" -KerberosEncryptionType AES128,AES256")
				if f.Severity != triage.Critical {
					t.Errorf("etype finding is %s; want critical, since the KDC refused the ticket", f.Severity)
				}
			}
		})
	}
}

// TestIntegrationScan: the forest-wide duplicate scan finds the seeded duplicate.
func TestIntegrationScan(t *testing.T) {
	d := loadDomain(t)
	cfg := integrationConfig(t, d)
	e, stdout, stderr := testEnv(nil)
	code := e.run(t.Context(), []string{"scan", "spn-duplicates", "--config", cfg, "--output", "json"})
	if code != exitCritical {
		t.Fatalf("exit = %d; want 2 (duplicates found); stderr: %s", code, stderr)
	}
	if !strings.Contains(stdout.String(), `"spn": "MSSQLSvc/sqldup.corp.test:1433"`) {
		t.Errorf("scan output lacks the seeded duplicate:\n%s", stdout)
	}
}

// TestIntegrationUnreachableDC: a DC that refuses connections gives dc.unreachable
// (or a check error) within the timeout, never a hang.
func TestIntegrationUnreachableDC(t *testing.T) {
	d := loadDomain(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "down.yaml")
	writeFile(t, cfg, fmt.Sprintf(`defaults:
  check_timeout: 5s
  deadline: 10s
directory:
  urls: [ldaps://127.0.0.1:1]
  bind_dn: %s
  bind_password: x
  timeout: 2s
hosts:
  - name: sqlok
    fqdn: sqlok.corp.test
    service_account: CORP\svc_sqlok
`, d.BindDN))
	e, stdout, stderr := testEnv(nil)
	e.run(t.Context(), []string{"check", "sqlok", "--config", cfg, "--output", "json"})
	var rep triage.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("no JSON report: %v\nstderr: %s", err, stderr)
	}
	if findCause(rep, triage.DCUnreachable) == nil {
		t.Errorf("no dc.unreachable in %s", stdout)
	}
	if rep.Status != triage.StatusCritical {
		t.Errorf("status = %s; want critical", rep.Status)
	}
}

// TestIntegrationClockSkew needs a domain whose KDC runs an hour ahead (scripts/test.sh
// starts one with AUTHTRIAGE_TEST_SKEW=1): the check reports clock.skew from the KDC's
// KRB_AP_ERR_SKEW to the checker's own logon. (Samba's rootDSE currentTime is not moved
// by faketime, so the clock check does not see this skew; its rule is unit-tested.)
func TestIntegrationClockSkew(t *testing.T) {
	d := testdomain.Load(t)
	if !d.Skewed {
		t.Skip("the test domain's clock is not skewed; scripts/test.sh runs this test in a second, skewed domain")
	}
	startSQL(t, d)
	cfg := integrationConfig(t, d)
	rep := runJSON(t, "check", testdomain.HostOK, "--config", cfg)
	f := findCause(rep, triage.ClockSkew)
	if f == nil || rep.Status != triage.StatusWarning {
		t.Fatalf("status %s, findings %v; want clock.skew, a warning (the KDC and the checker disagree)", rep.Status, findingKeys(rep))
	}
	wantCommand(t, *f, "w32tm /resync /rediscover")
	if !strings.Contains(f.Evidence[0].Text, "KRB_AP_ERR_SKEW") {
		t.Errorf("evidence %+v does not name KRB_AP_ERR_SKEW", f.Evidence)
	}
}

// startSQL starts a fake SQL Server where clients look for the scenario hosts (all on
// 127.0.0.1:1433 in the domain's namespace), so that every host's sql check reaches a
// server, as it would in a real domain. It validates Kerberos tickets as each host's
// SQL Server would, with the keys of the domain's accounts (testdomain.sh exports
// them): svc_sqlok's first, then those of the other scenario hosts' service accounts,
// and answers service_account with the account whose keys validated the ticket. A
// ticket encrypted for an account no SQL Server of the scenarios runs as (sqlwrong's
// SPN on svc_sqlwrong_other, the old duplicate on svc_sqldup_old) does not validate
// and is refused with 18452, as SQL Server refuses it. It stops when the test ends.
func startSQL(t testing.TB, d testdomain.Domain) *tdsfake.Server {
	t.Helper()
	kt, err := keytab.Load(cmp.Or(d.DomainKeytab, d.SQLOKKeytab))
	if err != nil {
		t.Fatal(err)
	}
	var others []string
	for _, name := range slices.Sorted(maps.Keys(d.Hosts)) {
		if sam := d.Hosts[name].ServiceAccount; sam != "svc_sqlok" && d.DomainKeytab != "" {
			others = append(others, sam)
		}
	}
	return tdsfake.Start(t, tdsfake.Config{Addr: "127.0.0.1:1433",
		Kerberos: &tdsfake.Kerberos{Keytab: kt, Principal: "svc_sqlok", Others: others},
		ServiceAccountFor: func(l tdsfake.Login) string {
			return d.NetBIOS + `\` + cmp.Or(l.KerberosService, "svc_sqlok")
		}})
}

// loadDomain returns the test domain for the tests that need its clock right.
func loadDomain(t testing.TB) testdomain.Domain {
	t.Helper()
	d := testdomain.Load(t)
	if d.Skewed {
		t.Skip("the test domain's clock is skewed; see TestIntegrationClockSkew")
	}
	return d
}

// integrationConfig writes a configuration for the test domain and its scenario hosts.
func integrationConfig(t testing.TB, d testdomain.Domain) string {
	t.Helper()
	return domainConfig(t, d, d.Hosts, d.Krb5Conf)
}

// domainConfig writes a configuration for the test domain and hosts, the checker's
// Kerberos client configured by krb5conf.
func domainConfig(t testing.TB, d testdomain.Domain, hosts map[string]testdomain.Host, krb5conf string) string {
	t.Helper()
	dir := t.TempDir()
	pw := filepath.Join(dir, "bind_password")
	writeFile(t, pw, d.BindPassword+"\n")
	var b strings.Builder
	fmt.Fprintf(&b, `directory:
  urls: [%s]
  gc_urls: [%s]
  bind_dn: %s
  bind_password_file: %s
  ca_path: %s
kerberos:
  realm: %s
  kdcs: [%s]
  krb5_conf: %s
  principal: %s
  keytab: %s
sql:
  encrypt: disable # the fake SQL Server speaks no TLS
hosts:
`, d.LDAPURL, d.GCURL, d.BindDN, pw, d.CAFile, d.Realm, d.KDC, krb5conf, d.Principal, d.Keytab)
	for _, name := range slices.Sorted(maps.Keys(hosts)) {
		h := hosts[name]
		fmt.Fprintf(&b, "  - name: %s\n    fqdn: %s\n    instances: [\":1433\"]\n    service_account: CORP\\%s\n", name, h.FQDN, h.ServiceAccount)
	}
	path := filepath.Join(dir, "authtriage.yaml")
	writeFile(t, path, b.String())
	return path
}

func wantCommand(t *testing.T, f triage.Finding, command string) {
	t.Helper()
	for _, s := range f.Remediation {
		if s.Command == command {
			return
		}
	}
	t.Errorf("%s remediation lacks %q: %+v", f.Cause, command, f.Remediation)
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
