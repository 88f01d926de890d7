package directory

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/triage"
)

// hostSPNsLDIF holds a host's MSSQLSvc SPNs spread over two accounts (one SPN on
// both, spelled differently), and SPNs of other hosts whose names start with the
// host's: a longer label (sqlhost010), a longer domain (corp.example.org,
// corp.examplex), and the host's NetBIOS form.
const hostSPNsLDIF = `dn: DC=corp,DC=example
objectClass: domainDNS

dn: CN=svc_sql,OU=Service Accounts,DC=corp,DC=example
objectClass: user
sAMAccountName: svc_sql
objectSid: S-1-5-21-1-2-3-1101
servicePrincipalName: MSSQLSvc/sqlhost01.corp.example:1433
servicePrincipalName: MSSQLSvc/sqlhost01.corp.example
servicePrincipalName: MSSQLSvc/SQLHOST01.corp.example:SALES
servicePrincipalName: MSSQLSvc/sqlhost01:1433
servicePrincipalName: HTTP/sqlhost01.corp.example

dn: CN=svc_old,OU=Service Accounts,DC=corp,DC=example
objectClass: user
sAMAccountName: svc_old
objectSid: S-1-5-21-1-2-3-1102
servicePrincipalName: mssqlsvc/SQLHOST01.CORP.EXAMPLE:1433
servicePrincipalName: MSSQLSvc/sqlhost01.corp.example:50123

dn: CN=SQLHOST010,OU=Servers,DC=corp,DC=example
objectClass: user
objectClass: computer
sAMAccountName: SQLHOST010$
objectSid: S-1-5-21-1-2-3-1103
dNSHostName: sqlhost010.corp.example
servicePrincipalName: MSSQLSvc/sqlhost010.corp.example:1433
servicePrincipalName: HOST/sqlhost010.corp.example

dn: CN=svc_other,OU=Service Accounts,DC=corp,DC=example
objectClass: user
sAMAccountName: svc_other
objectSid: S-1-5-21-1-2-3-1104
servicePrincipalName: MSSQLSvc/sqlhost01.corp.example.org:1433
servicePrincipalName: MSSQLSvc/sqlhost01.corp.examplex:1433
`

// hostSPNFinder is what Client and LDIF share for FindHostSPNs.
type hostSPNFinder interface {
	FindHostSPNs(ctx context.Context, fqdn string) ([]triage.SPNOwners, error)
}

var (
	_ hostSPNFinder = (*Client)(nil)
	_ hostSPNFinder = (*LDIF)(nil)
)

// hostSPNSources returns text as an LDIF and as a Client of a fake server serving it,
// with the fake for inspecting the searches made.
func hostSPNSources(t *testing.T, text string) (ldif *LDIF, client *Client, fake *fakeServer) {
	t.Helper()
	l, err := LoadLDIF(strings.NewReader(text), "hostspns.ldf")
	if err != nil {
		t.Fatal(err)
	}
	fake = newFakeServerLDIF(t, strings.NewReader(text))
	return l, newTestClient(t, fake), fake
}

// spnOwnerNames renders host SPNs for comparison: "SPN: sam, sam".
func spnOwnerNames(sos []triage.SPNOwners) []string {
	out := []string{}
	for _, so := range sos {
		var names []string
		for _, o := range so.Owners {
			names = append(names, o.SAMAccountName)
		}
		out = append(out, so.SPN+": "+strings.Join(names, ", "))
	}
	return out
}

func TestFindHostSPNs(t *testing.T) {
	sqlhost01 := []string{
		"MSSQLSvc/sqlhost01.corp.example: svc_sql",
		// On both accounts; spelled as the first owner in DN order (svc_old) spells it.
		"mssqlsvc/SQLHOST01.CORP.EXAMPLE:1433: svc_old, svc_sql",
		"MSSQLSvc/sqlhost01.corp.example:50123: svc_old",
		"MSSQLSvc/SQLHOST01.corp.example:SALES: svc_sql",
	}
	tests := []struct {
		fqdn string
		want []string
	}{
		// Not sqlhost010, not sqlhost01.corp.example.org or .examplex, not the
		// NetBIOS form, not HTTP/.
		{"sqlhost01.corp.example", sqlhost01},
		{"SQLHOST01.Corp.Example", sqlhost01},
		{"sqlhost010.corp.example", []string{"MSSQLSvc/sqlhost010.corp.example:1433: SQLHOST010$"}},
		{"sqlhost01.corp.example.org", []string{"MSSQLSvc/sqlhost01.corp.example.org:1433: svc_other"}},
		{"sqlhost01", []string{"MSSQLSvc/sqlhost01:1433: svc_sql"}},
		{"sqlhost02.corp.example", []string{}},
		{"sqlhost0.corp.example", []string{}}, // a prefix of sqlhost01 and sqlhost010
	}
	l, c, fake := hostSPNSources(t, hostSPNsLDIF)
	for name, src := range map[string]hostSPNFinder{"ldif": l, "ldap": c} {
		for _, tt := range tests {
			got, err := src.FindHostSPNs(t.Context(), tt.fqdn)
			if err != nil {
				t.Errorf("%s: FindHostSPNs(%q): %v", name, tt.fqdn, err)
				continue
			}
			if got == nil {
				t.Errorf("%s: FindHostSPNs(%q) = nil; want a non-nil slice after a lookup", name, tt.fqdn)
			}
			if diff := cmp.Diff(tt.want, spnOwnerNames(got)); diff != "" {
				t.Errorf("%s: FindHostSPNs(%q) (-want +got):\n%s", name, tt.fqdn, diff)
			}
		}
	}
	filters, _, _ := fake.stats()
	want := "(servicePrincipalName=MSSQLSvc/sqlhost01.corp.example*)"
	found := false
	for _, f := range filters {
		found = found || f == want
	}
	if !found {
		t.Errorf("searches %q; want one for %s", filters, want)
	}
}

// TestFindHostSPNsHostile: a host name that is not a DNS host name is an input
// error before anything is searched: wildcards, filter syntax, control and bidi
// characters, a trailing dot, an empty label, an over-long name.
func TestFindHostSPNsHostile(t *testing.T) {
	hostile := []string{
		"",
		"*",
		"sqlhost01.corp.example*",
		"sqlhost01*.corp.example",
		"x)(servicePrincipalName=*",
		"sqlhost01.corp.example)(objectClass=*",
		`sqlhost01\2a.corp.example`,
		"sqlhost01.corp.example\x00",
		"sqlhost01.corp.example\nMSSQLSvc/evil",
		"sqlhost01.corp.example:1433",
		"MSSQLSvc/sqlhost01.corp.example",
		"sqlhost01.corp.example.",
		"sqlhost01..corp.example",
		" sqlhost01.corp.example",
		"sql host01.corp.example",
		"sqlhost01.\u202ecorp.example",
		"-sqlhost01.corp.example",
		strings.Repeat("a.", 130) + "example",
		"\xff\xfe.corp.example",
	}
	l, c, fake := hostSPNSources(t, hostSPNsLDIF)
	_, _, before := fake.stats()
	for name, src := range map[string]hostSPNFinder{"ldif": l, "ldap": c} {
		for _, fqdn := range hostile {
			got, err := src.FindHostSPNs(t.Context(), fqdn)
			var in *triage.InputError
			if !errors.As(err, &in) || got != nil {
				t.Errorf("%s: FindHostSPNs(%q) = %v, %v; want nil and an input error", name, fqdn, got, err)
			}
		}
	}
	if _, _, after := fake.stats(); after != before {
		t.Errorf("hostile host names made %d searches; want none", after-before)
	}
}

// TestFindHostSPNsBounds: more than 100 objects holding an SPN of the host, or more
// than 100 distinct SPNs of it, is an error on both sources, not a silent cut.
func TestFindHostSPNsBounds(t *testing.T) {
	var many, wide strings.Builder
	many.WriteString("dn: DC=corp,DC=example\nobjectClass: domainDNS\n\n")
	for i := range maxMatches + 1 {
		fmt.Fprintf(&many, "dn: CN=svc%03d,DC=corp,DC=example\nobjectClass: user\nsAMAccountName: svc%03d\n"+
			"objectSid: S-1-5-21-1-2-3-%d\nservicePrincipalName: MSSQLSvc/big.corp.example:%d\n\n", i, i, 2000+i, 10000+i)
	}
	wide.WriteString("dn: DC=corp,DC=example\nobjectClass: domainDNS\n\n" +
		"dn: CN=svc,DC=corp,DC=example\nobjectClass: user\nsAMAccountName: svc\nobjectSid: S-1-5-21-1-2-3-2000\n")
	for i := range maxMatches + 1 {
		fmt.Fprintf(&wide, "servicePrincipalName: MSSQLSvc/big.corp.example:%d\n", 10000+i)
	}
	for fixture, text := range map[string]string{"many owners": many.String(), "many SPNs": wide.String()} {
		l, c, _ := hostSPNSources(t, text)
		for name, src := range map[string]hostSPNFinder{"ldif": l, "ldap": c} {
			got, err := src.FindHostSPNs(t.Context(), "big.corp.example")
			if err == nil || !strings.Contains(err.Error(), "more than 100") {
				t.Errorf("%s, %s: FindHostSPNs = %d SPNs, %v; want an error saying more than 100", fixture, name, len(got), err)
			}
		}
	}
}

// TestFindHostSPNsLDIFCannotTell: an export that holds nothing of the host's domain
// cannot show that the host has no SPN; a directory can.
func TestFindHostSPNsLDIFCannotTell(t *testing.T) {
	l, c, _ := hostSPNSources(t, hostSPNsLDIF)
	if got, err := l.FindHostSPNs(t.Context(), "sqlhost01.other.example"); err == nil || !strings.Contains(err.Error(), "holds nothing about the domain other.example") {
		t.Errorf("LDIF: FindHostSPNs of another domain = %v, %v; want an error saying the export cannot tell", got, err)
	}
	if got, err := c.FindHostSPNs(t.Context(), "sqlhost01.other.example"); err != nil || got == nil || len(got) != 0 {
		t.Errorf("directory: FindHostSPNs of another domain = %v, %v; want no SPN", got, err)
	}
}

func TestFindHostSPNsHonoursContext(t *testing.T) {
	l, c, _ := hostSPNSources(t, hostSPNsLDIF)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for name, src := range map[string]hostSPNFinder{"ldif": l, "ldap": c} {
		if _, err := src.FindHostSPNs(ctx, "sqlhost01.corp.example"); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: FindHostSPNs with a cancelled context = %v; want context.Canceled", name, err)
		}
	}
}

// FuzzFindHostSPNs: any host name is either refused as input or answered with SPNs of
// that very host only.
func FuzzFindHostSPNs(f *testing.F) {
	for _, s := range []string{"sqlhost01.corp.example", "SQLHOST01", "sqlhost0", "x)(y=*", "a..b", "sqlhost01.corp.example."} {
		f.Add(s)
	}
	l, err := LoadLDIF(strings.NewReader(hostSPNsLDIF), "hostspns.ldf")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, fqdn string) {
		got, err := l.FindHostSPNs(t.Context(), fqdn)
		if err != nil {
			return
		}
		for _, so := range got {
			if !strings.EqualFold(spnHost(so.SPN), fqdn) || len(so.Owners) == 0 {
				t.Errorf("FindHostSPNs(%q) returned %q with %d owners", fqdn, so.SPN, len(so.Owners))
			}
		}
	})
}
