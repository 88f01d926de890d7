package kerberos_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/authtriage/authtriage/internal/testdomain"
	"github.com/authtriage/authtriage/sources/kerberos"
	"github.com/authtriage/authtriage/triage"
)

// The integration tests ask the Samba AD DC that scripts/testdomain.sh starts
// (testdomain.Load skips them when no domain is up, unless
// AUTHTRIAGE_REQUIRE_INTEGRATION=1):
//
//	AUTHTRIAGE_NETNS=td-krb scripts/testdomain.sh up DIR
//	scripts/testdomain.sh exec DIR -- go test -race ./sources/kerberos/
//	scripts/testdomain.sh down DIR
//
// TestIntegrationClockSkew needs a domain started with AUTHTRIAGE_TEST_SKEW=1, where all
// the others skip.

// TestIntegrationTickets requests a service ticket for each seeded scenario, as the
// checker with its keytab and the AES-only client configuration, and checks what the
// Samba 4.17 KDC answers.
func TestIntegrationTickets(t *testing.T) {
	d := testdomain.Load(t)
	skipIfSkewed(t, d)
	tester := integrationTester(t, kerberos.Config{
		Realm:     d.Realm,
		Krb5Conf:  d.Krb5Conf,
		Principal: d.Principal,
		Keytab:    d.Keytab,
	})
	okKVNO := serviceKVNO(t, d.SQLOKKeytab)
	const aes256 = "aes256-cts-hmac-sha1-96"
	tests := []struct {
		host string // the scenario host whose SPN this is; "" for an extra SPN
		spn  string
		want triage.TicketResult
	}{
		// A ticket, encrypted in the service account's current key.
		{testdomain.HostOK, "MSSQLSvc/sqlok.corp.test:1433", issued(aes256, okKVNO)},
		{"", "MSSQLSvc/sqlok.corp.test", issued(aes256, okKVNO)},
		// No account holds the SPN.
		{testdomain.HostMissing, "MSSQLSvc/sqlmissing.corp.test:1433", refused(7, "KDC_ERR_S_PRINCIPAL_UNKNOWN")},
		// Two accounts hold it: Samba answers as for a missing SPN, so only the directory
		// tells the two apart. The port-less SPN, held once, gets a ticket.
		{testdomain.HostDuplicate, "MSSQLSvc/sqldup.corp.test:1433", refused(7, "KDC_ERR_S_PRINCIPAL_UNKNOWN")},
		{"", "MSSQLSvc/sqldup.corp.test", issued(aes256, -1)},
		// The SPN is on another account than SQL Server's: the KDC cannot know, and
		// issues a ticket in that account's key.
		{testdomain.HostWrong, "MSSQLSvc/sqlwrong.corp.test:1433", issued(aes256, -1)},
		// Disabled, expired and password-expired service accounts still get tickets:
		// Samba checks none of these for a service, so the account check must.
		{testdomain.HostDisabled, "MSSQLSvc/sqldisabled.corp.test:1433", issued(aes256, -1)},
		{testdomain.HostExpired, "MSSQLSvc/sqlexpired.corp.test:1433", issued(aes256, -1)},
		{testdomain.HostPwdExpired, "MSSQLSvc/sqlpwdexpired.corp.test:1433", issued(aes256, -1)},
		// A locked-out service account is refused.
		{testdomain.HostLocked, "MSSQLSvc/sqllocked.corp.test:1433", refused(19, "KDC_ERR_SERVICE_REVOKED")},
		// The service account allows RC4 only; this client offers AES only.
		{testdomain.HostRC4, "MSSQLSvc/sqlrc4.corp.test:1433", refused(14, "KDC_ERR_ETYPE_NOSUPP")},
		// Only the FQDN form is registered.
		{"", "MSSQLSvc/sqlok:1433", refused(7, "KDC_ERR_S_PRINCIPAL_UNKNOWN")},
	}
	spns := make([]string, len(tests))
	covered := map[string]bool{}
	for i, tt := range tests {
		spns[i] = tt.spn
		if tt.host == "" {
			continue
		}
		covered[tt.host] = true
		// The table agrees with the one testdomain.sh verify checks with MIT's kvno.
		if h := d.Host(t, tt.host); h.SPN() != tt.spn || h.TGS != tt.want.Code {
			t.Errorf("%s: testdomain expects %d for %s; this test %d for %s", tt.host, h.TGS, h.SPN(), tt.want.Code, tt.spn)
		}
	}
	for _, name := range testdomain.HostNames() {
		if !covered[name] {
			t.Errorf("scenario host %s is not covered", name)
		}
	}

	got, err := tester.Tickets(t.Context(), spns)
	if err != nil {
		t.Fatalf("Tickets = %v", err)
	}
	if len(got) != len(tests) {
		t.Fatalf("Tickets returned %d results for %d SPNs: %+v", len(got), len(tests), got)
	}
	for i, tt := range tests {
		t.Logf("%s: %+v", tt.spn, got[i])
		assertTicket(t, got[i], tt.spn, tt.want)
	}

	// Calls may overlap: each has its own gokrb5 client.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			got, err := tester.Tickets(t.Context(), spns[:3])
			if err != nil || len(got) != 3 || !got[0].OK || got[2].Code != 7 {
				t.Errorf("concurrent Tickets = %+v, %v", got, err)
			}
		})
	}
	wg.Wait()
}

// TestIntegrationTicketsRC4 uses the RC4-only client configuration: now the RC4-only
// account gets a ticket and the AES-only one is refused.
func TestIntegrationTicketsRC4(t *testing.T) {
	d := testdomain.Load(t)
	skipIfSkewed(t, d)
	tester := integrationTester(t, kerberos.Config{
		Realm:     d.Realm,
		Krb5Conf:  d.Krb5ConfRC4,
		Principal: d.Principal,
		Keytab:    d.Keytab,
	})
	got, err := tester.Tickets(t.Context(), []string{"MSSQLSvc/sqlrc4.corp.test:1433", "MSSQLSvc/sqlok.corp.test:1433"})
	if err != nil {
		t.Fatalf("Tickets = %v", err)
	}
	t.Logf("%+v", got)
	assertTicket(t, got[0], "MSSQLSvc/sqlrc4.corp.test:1433", issued("rc4-hmac", -1))
	assertTicket(t, got[1], "MSSQLSvc/sqlok.corp.test:1433", refused(14, "KDC_ERR_ETYPE_NOSUPP"))
}

// TestIntegrationPasswordAndBuiltInConfig logs in with the password instead of the
// keytab and without a krb5.conf: the built-in settings (TCP, gokrb5's default
// encryption types) and the KDC named in the Config.
func TestIntegrationPasswordAndBuiltInConfig(t *testing.T) {
	d := testdomain.Load(t)
	skipIfSkewed(t, d)
	tester := integrationTester(t, kerberos.Config{
		Realm:     d.Realm,
		KDCs:      []string{d.KDC},
		Principal: d.Principal,
		Password:  d.BindPassword,
	})
	got, err := tester.Tickets(t.Context(), []string{"MSSQLSvc/sqlok.corp.test:1433", "MSSQLSvc/sqlrc4.corp.test:1433"})
	if err != nil {
		t.Fatalf("Tickets = %v", err)
	}
	t.Logf("%+v", got)
	assertTicket(t, got[0], "MSSQLSvc/sqlok.corp.test:1433", issued("aes256-cts-hmac-sha1-96", serviceKVNO(t, d.SQLOKKeytab)))
	// gokrb5's defaults offer RC4 too, as Windows clients commonly do.
	assertTicket(t, got[1], "MSSQLSvc/sqlrc4.corp.test:1433", issued("rc4-hmac", -1))

	if _, err := tester.Tickets(t.Context(), nil); err != nil {
		t.Errorf("Tickets with no SPNs (login only) = %v", err)
	}
}

// TestIntegrationSilentTGS puts a proxy before the KDC that passes the login on but
// never answers the request for one SPN: that SPN's result says so, the login is not
// blamed, and the next SPN gets its ticket.
func TestIntegrationSilentTGS(t *testing.T) {
	d := testdomain.Load(t)
	skipIfSkewed(t, d)
	proxy := newFakeKDC(t, func(ctx context.Context, conn net.Conn) {
		req, err := readKDCMessage(conn)
		if err != nil {
			return
		}
		if bytes.Contains(req, []byte("sqldisabled")) {
			hang(ctx, conn)
			return
		}
		kdc, err := net.DialTimeout("tcp", d.KDC, 5*time.Second)
		if err != nil {
			t.Errorf("proxy: %v", err)
			return
		}
		defer kdc.Close()
		if err := writeKDCMessage(kdc, req); err != nil {
			t.Errorf("proxy: %v", err)
			return
		}
		rep, err := readKDCMessage(kdc)
		if err != nil {
			t.Errorf("proxy: %v", err)
			return
		}
		writeKDCMessage(conn, rep)
	})
	tester := integrationTester(t, kerberos.Config{
		Realm:     d.Realm,
		KDCs:      []string{proxy.addr},
		Principal: d.Principal,
		Keytab:    d.Keytab,
	})

	begin := time.Now()
	got, err := tester.Tickets(t.Context(), []string{"MSSQLSvc/sqldisabled.corp.test:1433", "MSSQLSvc/sqlok.corp.test:1433"})
	t.Logf("took %v: %+v", time.Since(begin), got)
	if err != nil {
		t.Fatalf("Tickets = %v; want per-SPN results", err)
	}
	if g := got[0]; g.OK || g.Code != 0 || !strings.Contains(g.Err, "i/o timeout") {
		t.Errorf("result for the unanswered SPN = %+v; want a failure without a code, saying i/o timeout", g)
	}
	assertTicket(t, got[1], "MSSQLSvc/sqlok.corp.test:1433", issued("aes256-cts-hmac-sha1-96", serviceKVNO(t, d.SQLOKKeytab)))

	// When ctx ends while an SPN waits for its answer, Tickets returns the results so
	// far and the context's error, not a *LoginError.
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	got, err = tester.Tickets(ctx, []string{"MSSQLSvc/sqlok.corp.test:1433", "MSSQLSvc/sqldisabled.corp.test:1433", "MSSQLSvc/sqlmissing.corp.test:1433"})
	var le *kerberos.LoginError
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &le) {
		t.Errorf("Tickets with ctx ending = %v; want the context's error", err)
	}
	if len(got) != 1 || !got[0].OK {
		t.Errorf("Tickets with ctx ending returned %+v; want the one ticket issued before", got)
	}
}

// TestIntegrationLoginFailures checks that a failure to get the checker's own TGT is a
// *LoginError with the KDC's code, told apart from any per-SPN failure. The seeded
// service accounts stand in for a checker whose account is disabled, expired, locked out
// or must change its password.
func TestIntegrationLoginFailures(t *testing.T) {
	d := testdomain.Load(t)
	skipIfSkewed(t, d)
	type login struct {
		name      string
		realm     string
		principal string
		password  string
		wantCode  int // 0: the login succeeds
	}
	tests := []login{
		{"wrong password", d.Realm, d.Principal, "Wrong-Passw0rd", 24},
		{"unknown principal", d.Realm, "no_such_user", "Wrong-Passw0rd", 6},
		{"unknown realm", "OTHER.TEST", d.Principal, d.BindPassword, 6},
	}
	for _, name := range testdomain.HostNames() {
		h := d.Host(t, name)
		tests = append(tests, login{"as " + h.ServiceAccount, d.Realm, h.ServiceAccount, h.Password, h.AS})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tester := integrationTester(t, kerberos.Config{
				Realm:     tt.realm,
				KDCs:      []string{d.KDC},
				Principal: tt.principal,
				Password:  tt.password,
			})
			res, err := tester.Tickets(t.Context(), []string{"MSSQLSvc/sqlok.corp.test:1433"})
			if tt.wantCode == 0 {
				if err != nil || len(res) != 1 || !res[0].OK {
					t.Errorf("Tickets = %+v, %v; want a ticket", res, err)
				}
				return
			}
			var le *kerberos.LoginError
			if !errors.As(err, &le) {
				t.Fatalf("Tickets = %+v, %v; want a *LoginError", res, err)
			}
			t.Logf("error: %v\ngokrb5: %v", err, le.Err)
			if le.Code != tt.wantCode || le.CodeName != kerberos.CodeName(tt.wantCode) {
				t.Errorf("LoginError code = %d %s; want %d %s", le.Code, le.CodeName, tt.wantCode, kerberos.CodeName(tt.wantCode))
			}
			if le.Principal != tt.principal+"@"+tt.realm {
				t.Errorf("LoginError principal = %q; want %q", le.Principal, tt.principal+"@"+tt.realm)
			}
			if res != nil {
				t.Errorf("Tickets results = %+v; want none", res)
			}
		})
	}
}

// TestIntegrationClockSkew needs a domain started with AUTHTRIAGE_TEST_SKEW=1: the KDC's
// clock is an hour ahead, so the checker's login fails with KRB_AP_ERR_SKEW, with a
// keytab or a password. A wrong password is still reported as such.
func TestIntegrationClockSkew(t *testing.T) {
	d := testdomain.Load(t)
	if !d.Skewed {
		t.Skip("the test domain's KDC clock is not skewed; start one with AUTHTRIAGE_TEST_SKEW=1")
	}
	tests := []struct {
		name     string
		cfg      kerberos.Config
		wantCode int
	}{
		{"keytab", kerberos.Config{Realm: d.Realm, Krb5Conf: d.Krb5Conf, Principal: d.Principal, Keytab: d.Keytab}, 37},
		{"password", kerberos.Config{Realm: d.Realm, KDCs: []string{d.KDC}, Principal: d.Principal, Password: d.BindPassword}, 37},
		{"wrong password", kerberos.Config{Realm: d.Realm, KDCs: []string{d.KDC}, Principal: d.Principal, Password: "Wrong-Passw0rd"}, 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := integrationTester(t, tt.cfg).Tickets(t.Context(), []string{"MSSQLSvc/sqlok.corp.test:1433"})
			var le *kerberos.LoginError
			if !errors.As(err, &le) || le.Code != tt.wantCode || le.CodeName != kerberos.CodeName(tt.wantCode) {
				t.Fatalf("Tickets with the KDC an hour ahead = %v; want a *LoginError with %d %s", err, tt.wantCode, kerberos.CodeName(tt.wantCode))
			}
			t.Logf("error: %v\ngokrb5: %v", err, le.Err)
		})
	}
}

func integrationTester(t *testing.T, cfg kerberos.Config) *kerberos.Tester {
	t.Helper()
	cfg.Timeout = 10 * time.Second
	tester, err := kerberos.New(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return tester
}

func skipIfSkewed(t *testing.T, d testdomain.Domain) {
	t.Helper()
	if d.Skewed {
		t.Skip("the test domain's KDC clock is skewed: every login fails; see TestIntegrationClockSkew")
	}
}

// serviceKVNO returns the key version in a service account's keytab.
func serviceKVNO(t *testing.T, path string) int {
	t.Helper()
	kt, err := keytab.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(kt.Entries) == 0 {
		t.Fatalf("keytab %s is empty", path)
	}
	return int(kt.Entries[0].KVNO)
}

// issued is the expected result of a ticket request the KDC grants; kvno -1 accepts any
// key version above 0.
func issued(etype string, kvno int) triage.TicketResult {
	return triage.TicketResult{OK: true, Etype: etype, KVNO: kvno}
}

func refused(code int, name string) triage.TicketResult {
	return triage.TicketResult{Code: code, CodeName: name}
}

// assertTicket compares got with want, which leaves SPN and Err out: the SPN must be
// spn, and Err must be set exactly when the request failed and must give the code back.
func assertTicket(t *testing.T, got triage.TicketResult, spn string, want triage.TicketResult) {
	t.Helper()
	want.SPN = spn
	if want.Offered == nil { // TestIntegrationOffered checks it
		want.Offered = got.Offered
	}
	if want.KVNO == -1 && got.KVNO > 0 {
		want.KVNO = got.KVNO
	}
	if want.OK {
		want.Err = ""
	} else {
		want.Err = got.Err
		if code, _, ok := kerberos.ParseKDCError(errors.New(got.Err)); !ok || code != want.Code {
			t.Errorf("%s: Err %q does not give code %d back", spn, got.Err, want.Code)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: ticket result mismatch (-want +got):\n%s", spn, diff)
	}
}
