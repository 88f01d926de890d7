package main

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/internal/testdomain"
	"github.com/authtriage/authtriage/triage"
)

// The KB5073381 scenarios: service accounts without msDS-SupportedEncryptionTypes
// (scripts/testdomain.sh sqlnoetype, with AES keys, and sqlrc4keys, with an RC4 key
// only). In the domain as Samba seeds it the KDC's default for them is RC4 with AES
// session keys, as Windows before KB5073381; scripts/test.sh also starts a domain with
// AUTHTRIAGE_TEST_AES_DEFAULT=1, the AES-only default of KB5073381, and runs these tests
// there (-run RC4).

// TestIntegrationRC4Default: `authtriage check` with the AES-only checker reports what
// the KDC's ticket for the SPN shows. An RC4 ticket is a warning that says the ticket
// cannot show whether the account has AES keys; an AES ticket (sqlnoetype in the AES
// default domain) clears the account. Samba issues sqlrc4keys an RC4 ticket even with
// the AES default (a Windows KDC refuses: that case is unit-tested).
func TestIntegrationRC4Default(t *testing.T) {
	d := loadDomain(t)
	hosts := rc4Hosts(t, d)
	cfg := rc4Config(t, d, d.Krb5Conf)
	for _, name := range slices.Sorted(maps.Keys(hosts)) {
		h := hosts[name]
		t.Run(name, func(t *testing.T) {
			rep := runJSON(t, "check", name, "--config", cfg)
			checksRan(t, rep, "kerberos", "account", "spn")
			causes := causesAbove(rep, triage.Info)
			if h.Cause == "" {
				if len(causes) != 0 || findCause(rep, triage.KerberosRC4Default) != nil {
					t.Fatalf("%s (%s): findings %v; want none: the AES ticket shows AES keys", name, h.Scenario, findingKeys(rep))
				}
				return
			}
			if !slices.Equal(causes, []string{h.Cause}) {
				t.Fatalf("%s (%s): causes %v (findings %v); want exactly %s", name, h.Scenario, causes, findingKeys(rep), h.Cause)
			}
			f := findCause(rep, triage.KerberosRC4Default)
			if f.Severity != triage.Warning {
				t.Errorf("severity %s; want warning: the KDC still issues tickets", f.Severity)
			}
			for _, s := range []string{"RC4 tickets (rc4-hmac) for " + h.SPN(), `CORP\` + h.ServiceAccount, "an RC4 ticket cannot show"} {
				if !strings.Contains(f.Summary, s) {
					t.Errorf("summary %q lacks %q", f.Summary, s)
				}
			}
			wantEvidence(t, *f,
				"msDS-SupportedEncryptionTypes is not set",
				"klist get "+h.SPN()+": ticket encrypted with rc4-hmac",
				"the request offered aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96")
			wantCommand(t, *f, "Set-ADUser -Identity "+h.ServiceAccount+" -KerberosEncryptionType AES128,AES256")
			wantCommand(t, *f, "klist get "+h.SPN())
			if findCause(rep, triage.KerberosEtypeMismatch) != nil {
				t.Errorf("an account without the attribute is reported as an etype mismatch: %v", findingKeys(rep))
			}
		})
	}
}

// TestIntegrationRC4DefaultRC4Client: the checker offers RC4 only. With Samba's default
// sqlnoetype gets an RC4 ticket (a warning, as with the AES-only checker); with the AES
// default the KDC refuses it KDC_ERR_ETYPE_NOSUPP (14): the change already bites, which
// is critical.
func TestIntegrationRC4DefaultRC4Client(t *testing.T) {
	d := loadDomain(t)
	h := rc4Hosts(t, d)[testdomain.HostNoEtype]
	if d.Krb5ConfRC4 == "" {
		t.Fatal("the test domain has no RC4-only krb5.conf")
	}
	rep := runJSON(t, "check", h.Name, "--config", rc4Config(t, d, d.Krb5ConfRC4))
	checksRan(t, rep, "kerberos", "account", "spn")
	f := findCause(rep, triage.KerberosRC4Default)
	if f == nil {
		t.Fatalf("no kerberos.rc4_default in %v", findingKeys(rep))
	}
	if !d.AESDefault {
		if f.Severity != triage.Warning {
			t.Errorf("severity %s; want warning (an RC4 ticket)", f.Severity)
		}
		wantEvidence(t, *f, "ticket encrypted with rc4-hmac", "the request offered rc4-hmac")
		return
	}
	if f.Severity != triage.Critical || !strings.Contains(f.Summary, "refused a ticket for "+h.SPN()) ||
		!strings.Contains(f.Summary, "no encryption type the KDC can use") {
		t.Errorf("finding %s: %q; want critical, the refusal of %s", f.Severity, f.Summary, h.SPN())
	}
	wantEvidence(t, *f, "klist get "+h.SPN()+": 0xE", "the request offered rc4-hmac")
	if g := findCause(rep, triage.KerberosEtypeMismatch); g != nil {
		t.Errorf("the refusal is also reported as an etype mismatch: %v", findingKeys(rep))
	}
}

// rc4Hosts returns the domain's hosts without msDS-SupportedEncryptionTypes, failing
// the test when the domain was seeded without them.
func rc4Hosts(t *testing.T, d testdomain.Domain) map[string]testdomain.Host {
	t.Helper()
	for _, name := range []string{testdomain.HostNoEtype, testdomain.HostRC4Keys} {
		if _, ok := d.RC4Hosts[name]; !ok {
			t.Fatalf("the test domain has no %s: it was seeded by an older scripts/testdomain.sh", name)
		}
	}
	return d.RC4Hosts
}

// rc4Config writes a configuration for the hosts without msDS-SupportedEncryptionTypes,
// the checker using krb5conf. There is no SQL Server to log in to: the sql check's result
// is not judged here.
func rc4Config(t *testing.T, d testdomain.Domain, krb5conf string) string {
	t.Helper()
	return domainConfig(t, d, d.RC4Hosts, krb5conf)
}

// checksRan fails the test when one of the named checks did not run to a result.
func checksRan(t *testing.T, rep triage.Report, names ...string) {
	t.Helper()
	for _, c := range rep.Checks {
		if slices.Contains(names, c.Name) && (c.Status == triage.CheckError || c.Status == triage.CheckSkipped) {
			t.Errorf("check %s: %s: %s", c.Name, c.Status, c.Detail)
		}
	}
}

// causesAbove returns the distinct causes of findings more severe than s, sorted.
func causesAbove(rep triage.Report, s triage.Severity) []string {
	var out []string
	for _, f := range rep.Findings {
		if f.Severity > s {
			out = append(out, string(f.Cause))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// wantEvidence fails the test for each text no evidence item of f contains.
func wantEvidence(t *testing.T, f triage.Finding, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !slices.ContainsFunc(f.Evidence, func(e triage.Evidence) bool { return strings.Contains(e.Text, s) }) {
			t.Errorf("%s evidence lacks %q: %+v", f.Cause, s, f.Evidence)
		}
	}
}
