package directory_test

import (
	"errors"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/authtriage/authtriage/internal/testdomain"
	"github.com/authtriage/authtriage/sources/directory"
	"github.com/authtriage/authtriage/triage"
)

// These tests run against the Samba AD DC of scripts/testdomain.sh and skip without
// one (see internal/testdomain):
//
//	scripts/testdomain.sh up DIR
//	scripts/testdomain.sh exec DIR -- go test ./sources/directory/
//	scripts/testdomain.sh down DIR

// liveClient returns a Client for the test domain over LDAPS, closed when the test
// ends.
func liveClient(t testing.TB, d testdomain.Domain, edit ...func(*directory.Config)) *directory.Client {
	t.Helper()
	cfg := directory.Config{
		URLs:     []string{d.LDAPURL},
		GCURLs:   []string{d.GCURL},
		CAFile:   d.CAFile,
		BindDN:   d.BindDN,
		Password: d.BindPassword,
		Timeout:  10 * time.Second,
	}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := directory.New(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func sams(accts []triage.Account) []string {
	out := []string{}
	for _, a := range accts {
		out = append(out, a.SAMAccountName)
	}
	slices.Sort(out)
	return out
}

// TestIntegrationSPNs: setspn -Q for every scenario's SPNs finds the seeded holders,
// and the owner is the service account by SID, not by name.
func TestIntegrationSPNs(t *testing.T) {
	d := testdomain.Load(t)
	c := liveClient(t, d)
	for _, name := range testdomain.HostNames() {
		h := d.Host(t, name)
		svc, err := c.Account(t.Context(), h.Account(d.NetBIOS))
		if err != nil {
			t.Fatalf("Account(%s): %v", h.Account(d.NetBIOS), err)
		}
		for _, spn := range h.SPNs {
			got, err := c.FindSPN(t.Context(), spn)
			if err != nil {
				t.Fatalf("%s: FindSPN(%s): %v", name, spn, err)
			}
			want := h.Holders[spn]
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(sams(got.Owners), want) {
				t.Errorf("%s: FindSPN(%s) owners = %v; want %v", name, spn, sams(got.Owners), want)
			}
			holdsIt := slices.ContainsFunc(got.Owners, svc.SameAs)
			if wantHolds := slices.Contains(want, h.ServiceAccount); holdsIt != wantHolds {
				t.Errorf("%s: the service account %s (SID %s) holds %s: %v; want %v", name, svc.Name(), svc.SID, spn, holdsIt, wantHolds)
			}
			for _, o := range got.Owners {
				if !strings.HasPrefix(o.SID, "S-1-5-21-") || o.Domain != d.DNSDomain || o.NetBIOSDomain != d.NetBIOS {
					t.Errorf("%s: owner %+v: want a domain SID, domain %s, NetBIOS %s", name, o, d.DNSDomain, d.NetBIOS)
				}
			}
		}
		// SPN matching is case-insensitive, as AD's is.
		upper := strings.ToUpper(h.SPN())
		got, err := c.FindSPN(t.Context(), upper)
		if err != nil || !slices.Equal(sams(got.Owners), append([]string{}, h.Holders[h.SPN()]...)) {
			t.Errorf("%s: FindSPN(%s) = %v, %v; want the holders of %s", name, upper, sams(got.Owners), err, h.SPN())
		}
	}

	// Filter syntax and wildcards never widen a lookup.
	ok := d.Host(t, testdomain.HostOK)
	for _, spn := range []string{ok.SPN() + ")(servicePrincipalName=*", "MSSQLSvc/*", "*"} {
		if got, err := c.FindSPN(t.Context(), spn); err == nil {
			t.Errorf("FindSPN(%q) = %v; want it refused", spn, sams(got.Owners))
		}
	}
	for _, spn := range []string{"MSSQLSvc/x)(servicePrincipalName=" + ok.SPN(), ok.SPN() + `\`, "MSSQLSvc/(|(objectClass=user))"} {
		got, err := c.FindSPN(t.Context(), spn)
		if err != nil || len(got.Owners) != 0 {
			t.Errorf("FindSPN(%q) = %v, %v; want no owner", spn, sams(got.Owners), err)
		}
	}
	for _, name := range []string{"svc*", "*", "svc_sqlok)(sAMAccountName=*", "svc_sqlok\x00"} {
		if a, err := c.Account(t.Context(), name); err == nil {
			t.Errorf("Account(%q) = %s; want it refused", name, a.DN)
		}
	}
}

// TestIntegrationAccounts: the account states the scenarios seed.
func TestIntegrationAccounts(t *testing.T) {
	d := testdomain.Load(t)
	c := liveClient(t, d)
	now := time.Now()
	checks := map[string]func(a triage.Account) string{
		testdomain.HostOK: func(a triage.Account) string {
			if a.UAC&triage.UACAccountDisable != 0 || a.EncTypes != triage.EtypeAESAll || !a.AccountExpires.IsZero() ||
				a.PwdMustChange || a.PwdLastSet.IsZero() || !a.LockoutTime.IsZero() || len(a.SPNs) != 2 || a.KVNO < 1 {
				return "want enabled, AES only, never expiring, password set, not locked, 2 SPNs, a key version"
			}
			return ""
		},
		testdomain.HostMissing: func(a triage.Account) string {
			if len(a.SPNs) != 0 {
				return "want no SPN"
			}
			return ""
		},
		testdomain.HostDisabled: func(a triage.Account) string {
			if a.UAC&triage.UACAccountDisable == 0 {
				return "want ACCOUNTDISABLE"
			}
			return ""
		},
		testdomain.HostExpired: func(a triage.Account) string {
			if a.AccountExpires.IsZero() || !a.AccountExpires.Before(now) {
				return "want accountExpires in the past"
			}
			return ""
		},
		testdomain.HostPwdExpired: func(a triage.Account) string {
			if !a.PwdMustChange || !a.PwdLastSet.IsZero() || a.UAC&triage.UACDontExpirePassword != 0 {
				return "want pwdLastSet=0 (must change) without DONT_EXPIRE_PASSWORD"
			}
			return ""
		},
		testdomain.HostRC4: func(a triage.Account) string {
			if a.EncTypes != triage.EtypeRC4 {
				return "want msDS-SupportedEncryptionTypes 4"
			}
			return ""
		},
		testdomain.HostLocked: func(a triage.Account) string {
			if a.LockoutTime.IsZero() || a.UAC&triage.UACLockout == 0 {
				return "want lockoutTime and the computed lockout bit"
			}
			return ""
		},
	}
	for _, name := range testdomain.HostNames() {
		h := d.Host(t, name)
		for _, form := range []string{h.Account(d.NetBIOS), h.ServiceAccount, h.ServiceAccount + "@" + d.DNSDomain} {
			a, err := c.Account(t.Context(), form)
			if err != nil {
				t.Errorf("Account(%s): %v", form, err)
				continue
			}
			if a.SAMAccountName != h.ServiceAccount || a.Class != "user" || a.NetBIOSDomain != d.NetBIOS ||
				!strings.EqualFold(a.DN, "CN="+h.ServiceAccount+",CN=Users,"+d.BaseDN) {
				t.Errorf("Account(%s) = %+v", form, a)
			}
			if check := checks[name]; check != nil {
				if msg := check(a); msg != "" {
					t.Errorf("%s: Account(%s) = %+v: %s", h.Scenario, form, a, msg)
				}
			}
		}
		comp, err := c.ComputerByDNSName(t.Context(), h.FQDN)
		if err != nil || comp.SAMAccountName != strings.ToUpper(name)+"$" || comp.Class != "computer" {
			t.Errorf("ComputerByDNSName(%s) = %s %s, %v; want %s$", h.FQDN, comp.SAMAccountName, comp.Class, err, strings.ToUpper(name))
		}
	}
	if _, err := c.Account(t.Context(), d.NetBIOS+`\svc_nobody`); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("Account(svc_nobody) = %v; want ErrNotFound", err)
	}
	if _, err := c.Account(t.Context(), `OTHER\svc_sqlok`); err == nil || errors.Is(err, directory.ErrNotFound) {
		t.Errorf("Account(OTHER\\svc_sqlok) = %v; want an error saying the domain is another", err)
	}
	if a, err := c.Account(t.Context(), d.BindUPN); err != nil || a.SAMAccountName != d.Principal {
		t.Errorf("Account(%s) = %s, %v; want %s", d.BindUPN, a.SAMAccountName, err, d.Principal)
	}
	age, err := c.MaxPwdAge(t.Context())
	if err != nil || age != 42*24*time.Hour {
		t.Errorf("MaxPwdAge = %v, %v; want Samba's default of 42 days", age, err)
	}
}

func TestIntegrationScanDuplicateSPNs(t *testing.T) {
	d := testdomain.Load(t)
	c := liveClient(t, d)
	dup := d.Host(t, testdomain.HostDuplicate)
	for _, prefix := range []string{"MSSQLSvc/", "", "mssqlsvc/SQLDUP"} {
		found := map[string][]string{}
		scanned, err := c.ScanDuplicateSPNs(t.Context(), prefix, func(o triage.SPNOwners) error {
			found[strings.ToLower(o.SPN)] = sams(o.Owners)
			return nil
		})
		if err != nil {
			t.Fatalf("ScanDuplicateSPNs(%q): %v", prefix, err)
		}
		if got, want := found[strings.ToLower(dup.SPN())], dup.Holders[dup.SPN()]; !slices.Equal(got, want) {
			t.Errorf("ScanDuplicateSPNs(%q) found %s held by %v; want %v (all: %v)", prefix, dup.SPN(), got, want, found)
		}
		if want := 1 + d.BulkDupes; prefix != "mssqlsvc/SQLDUP" && len(found) != want {
			t.Errorf("ScanDuplicateSPNs(%q) found %d duplicates; want %d: %v", prefix, len(found), want, found)
		}
		if scanned < 2 {
			t.Errorf("ScanDuplicateSPNs(%q) scanned %d objects", prefix, scanned)
		}
	}
}

func TestIntegrationClockAndDCs(t *testing.T) {
	d := testdomain.Load(t)
	c := liveClient(t, d)
	r, err := c.CurrentTime(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := time.Duration(d.SkewSeconds) * time.Second
	if diff := r.Skew - want; diff < -1500*time.Millisecond || diff > 1500*time.Millisecond {
		t.Errorf("CurrentTime skew = %v; want %v within 1.5s", r.Skew, want)
	}
	if !strings.HasPrefix(r.Source, d.DC) {
		t.Errorf("CurrentTime source = %q; want it to name %s", r.Source, d.DC)
	}

	probes := c.ProbeDCs(t.Context())
	u, _ := url.Parse(d.LDAPURL)
	if len(probes) != 1 || probes[0].Err != "" || probes[0].KDCError != "" || probes[0].Latency <= 0 ||
		probes[0].Address != u.Host || probes[0].Via != "config" {
		t.Errorf("ProbeDCs = %+v; want %s answering on LDAP and Kerberos", probes, u.Host)
	}

	// A DC that is gone is reported beside the one that answers, and does not slow
	// the answer past the timeout.
	c2 := liveClient(t, d, func(cfg *directory.Config) {
		cfg.URLs = []string{"ldaps://" + net.JoinHostPort(d.DC, "1"), d.LDAPURL}
		cfg.Timeout = 2 * time.Second
	})
	probes = c2.ProbeDCs(t.Context())
	if len(probes) != 2 || probes[0].Err == "" || probes[1].Err != "" {
		t.Errorf("ProbeDCs with a dead DC first = %+v", probes)
	}
	if _, err := c2.Account(t.Context(), "svc_sqlok"); err != nil {
		t.Errorf("Account with a dead DC first: %v", err)
	}
}

// TestIntegrationConnections: StartTLS with the default global catalog port, a UPN
// bind, and a wrong password that never shows in the error.
func TestIntegrationConnections(t *testing.T) {
	d := testdomain.Load(t)
	ok := d.Host(t, testdomain.HostOK)
	u, _ := url.Parse(d.LDAPURL)

	startTLS := liveClient(t, d, func(cfg *directory.Config) {
		cfg.URLs = []string{"ldap://" + net.JoinHostPort(u.Hostname(), "389")}
		cfg.GCURLs = nil // ldap://host:3268 with StartTLS
		cfg.BindDN = d.BindUPN
	})
	if got, err := startTLS.FindSPN(t.Context(), ok.SPN()); err != nil || len(got.Owners) != 1 {
		t.Errorf("FindSPN over StartTLS on the default GC port = %v, %v", sams(got.Owners), err)
	}
	if _, err := startTLS.Account(t.Context(), ok.ServiceAccount); err != nil {
		t.Errorf("Account over StartTLS with a UPN bind: %v", err)
	}

	const wrong = "Wr0ng-Passw0rd-for-test"
	bad := liveClient(t, d, func(cfg *directory.Config) { cfg.Password = wrong })
	_, err := bad.Account(t.Context(), ok.ServiceAccount)
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) || strings.Contains(err.Error(), wrong) {
		t.Errorf("Account with a wrong password = %v; want result 49 without the password", err)
	}

	// Samba refuses a simple bind without TLS; InsecureNoTLS exists only for
	// directories that allow it.
	plain := liveClient(t, d, func(cfg *directory.Config) {
		cfg.URLs = []string{"ldap://" + net.JoinHostPort(u.Hostname(), "389")}
		cfg.InsecureNoTLS = true
	})
	if _, err := plain.Account(t.Context(), ok.ServiceAccount); !ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired) {
		t.Errorf("Account without TLS = %v; want strong auth required", err)
	}
}

// BenchmarkScanDuplicateSPNs scans the test domain's global catalog for duplicate
// MSSQLSvc SPNs; run `scripts/testdomain.sh seed-bulk DIR 20000` first for a
// realistic size (scripts/bench-spnscan.sh does all of it).
func BenchmarkScanDuplicateSPNs(b *testing.B) {
	d := testdomain.Load(b)
	c := liveClient(b, d)
	var scanned, dups int
	for b.Loop() {
		dups = 0
		n, err := c.ScanDuplicateSPNs(b.Context(), "MSSQLSvc/", func(triage.SPNOwners) error { dups++; return nil })
		if err != nil {
			b.Fatal(err)
		}
		scanned = n
	}
	b.ReportMetric(float64(scanned), "objects/op")
	b.ReportMetric(float64(dups), "duplicates/op")
}
