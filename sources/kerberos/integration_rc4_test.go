package kerberos_test

import (
	"slices"
	"testing"

	"github.com/authtriage/authtriage/internal/testdomain"
	"github.com/authtriage/authtriage/sources/kerberos"
	"github.com/authtriage/authtriage/triage"
)

// TestIntegrationOffered: every result names the encryption types the request offered,
// the krb5.conf's default_tgs_enctypes in its order, and a ticket names the type the
// KDC encrypted it with: the service account's, whatever the client offered. For the
// accounts without msDS-SupportedEncryptionTypes that is the KDC's default (RC4 in the
// domain as Samba seeds it, AES with AUTHTRIAGE_TEST_AES_DEFAULT=1), except that Samba
// 4.17 uses the only key an account with an RC4 key only has.
func TestIntegrationOffered(t *testing.T) {
	d := testdomain.Load(t)
	skipIfSkewed(t, d)
	for _, name := range []string{testdomain.HostNoEtype, testdomain.HostRC4Keys} {
		if _, ok := d.RC4Hosts[name]; !ok {
			t.Fatalf("the test domain has no %s: it was seeded by an older scripts/testdomain.sh", name)
		}
	}
	const aes256, aes128, rc4 = "aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96", "rc4-hmac"
	noEtype := rc4
	if d.AESDefault {
		noEtype = aes256
	}
	spns := []string{"MSSQLSvc/sqlok.corp.test:1433", d.RC4Hosts[testdomain.HostNoEtype].SPN(), d.RC4Hosts[testdomain.HostRC4Keys].SPN()}
	for _, tt := range []struct {
		conf    string
		offered []string
		want    []triage.TicketResult
	}{
		{d.Krb5Conf, []string{aes256, aes128}, []triage.TicketResult{issued(aes256, -1), issued(noEtype, -1), issued(rc4, -1)}},
		{d.Krb5ConfRC4, []string{rc4}, []triage.TicketResult{refused(14, "KDC_ERR_ETYPE_NOSUPP"),
			map[bool]triage.TicketResult{false: issued(rc4, -1), true: refused(14, "KDC_ERR_ETYPE_NOSUPP")}[d.AESDefault],
			issued(rc4, -1)}},
	} {
		tester := integrationTester(t, kerberos.Config{Realm: d.Realm, Krb5Conf: tt.conf, Principal: d.Principal, Keytab: d.Keytab})
		got, err := tester.Tickets(t.Context(), spns)
		if err != nil || len(got) != len(spns) {
			t.Fatalf("%s: Tickets = %+v, %v", tt.conf, got, err)
		}
		for i, spn := range spns {
			t.Logf("%s: %+v", spn, got[i])
			if !slices.Equal(got[i].Offered, tt.offered) {
				t.Errorf("%s with %s: Offered = %q; want %q", spn, tt.conf, got[i].Offered, tt.offered)
			}
			assertTicket(t, got[i], spn, tt.want[i])
		}
	}
}
