package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/triage"
)

// A source is what Client and LDIF have in common; the tests in this file run
// against both, over the same fixture, to hold them to the same semantics.
type source interface {
	FindSPN(ctx context.Context, spn string) (triage.SPNOwners, error)
	Account(ctx context.Context, name string) (triage.Account, error)
	ComputerByDNSName(ctx context.Context, fqdn string) (triage.Account, error)
	MaxPwdAge(ctx context.Context) (time.Duration, error)
	ScanDuplicateSPNs(ctx context.Context, prefix string, fn func(triage.SPNOwners) error) (int, error)
}

var (
	_ source = (*Client)(nil)
	_ source = (*LDIF)(nil)
)

// corpFixture is an ldifde export of a small domain, corp.example: the SQL Server
// scenarios (sqlok, sqldup, sqlwrong, ...), a gMSA, computers, a duplicate SPN,
// disabled, expired, locked and password-expired accounts.
const corpFixture = "testdata/corp.ldf"

// loadFixture loads an LDIF file from testdata.
func loadFixture(t testing.TB, path string) *LDIF {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l, err := LoadLDIF(f, path)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// newTestClient returns a Client for the fake server, closed when the test ends.
func newTestClient(t *testing.T, s *fakeServer, edit ...func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		URLs:          []string{s.url},
		GCURLs:        []string{s.url},
		BindDN:        s.bindDN,
		Password:      s.password,
		InsecureNoTLS: true,
		Timeout:       5 * time.Second,
	}
	for _, e := range edit {
		e(&cfg)
	}
	c, err := New(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// sources returns the fixture as an LDIF and as a Client of a fake server serving it.
func sources(t *testing.T) map[string]source {
	return map[string]source{
		"ldif": loadFixture(t, corpFixture),
		"ldap": newTestClient(t, newFakeServer(t, corpFixture)),
	}
}

const corpSID = "S-1-5-21-1004336348-1177238915-682003330-"

// ids names accounts for comparison: sAMAccountName and SID.
func ids(accts []triage.Account) []string {
	out := []string{}
	for _, a := range accts {
		out = append(out, a.SAMAccountName+" "+strings.TrimPrefix(a.SID, corpSID))
	}
	return out
}

func date(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, time.UTC)
}

func TestAccount(t *testing.T) {
	svcSQLOK := triage.Account{
		DN:             "CN=svc_sqlok,OU=Service Accounts,DC=corp,DC=example",
		SID:            corpSID + "1105",
		SAMAccountName: "svc_sqlok",
		Domain:         "corp.example",
		Class:          "user",
		UPN:            "svc_sqlok@corp.example",
		UAC:            triage.UACNormalAccount | triage.UACDontExpirePassword,
		PwdLastSet:     date(2026, 3, 2, 10, 15, 4),
		EncTypes:       triage.EtypeAESAll,
		KVNO:           3,
		SPNs:           []string{"MSSQLSvc/sqlok.corp.example:1433", "MSSQLSvc/sqlok.corp.example"},
	}
	gmsa := triage.Account{
		DN:             "CN=gmsa_sql,CN=Managed Service Accounts,DC=corp,DC=example",
		SID:            corpSID + "1300",
		SAMAccountName: "gmsa_sql$",
		Domain:         "corp.example",
		Class:          "msDS-GroupManagedServiceAccount",
		DNSHostName:    "gmsa_sql.corp.example",
		UAC:            triage.UACWorkstationTrust,
		PwdLastSet:     date(2026, 11, 1, 0, 5, 12),
		EncTypes:       triage.EtypeRC4 | triage.EtypeAESAll,
		KVNO:           4,
		SPNs:           []string{"MSSQLSvc/sqlgmsa.corp.example:1433", "MSSQLSvc/sqlgmsa.corp.example"},
	}
	tests := []struct {
		name    string
		account string
		want    *triage.Account             // the whole account, when given
		check   func(triage.Account) string // "" when fine
		wantErr error                       // errors.Is target; nil: no error
		anyErr  bool                        // an error that is neither ErrNotFound nor ErrAmbiguous
		ldifErr string                      // from the LDIF: an error with this text, not ErrNotFound
	}{
		{name: "bare sAMAccountName", account: "svc_sqlok", want: &svcSQLOK},
		{name: "NetBIOS form", account: `CORP\svc_sqlok`, want: &svcSQLOK},
		{name: "names are case-insensitive", account: `corp\SVC_SQLOK`, want: &svcSQLOK},
		{name: "sam@dns.domain form", account: "svc_sqlok@corp.example", want: &svcSQLOK},
		{name: "DNS domain case-insensitive", account: "svc_sqlok@CORP.EXAMPLE", want: &svcSQLOK},
		{name: "gMSA", account: "gmsa_sql$", want: &gmsa},
		{name: "gMSA with domain", account: `CORP\gmsa_sql$`, want: &gmsa},
		{name: "UPN with another suffix", account: "john.doe@example.com",
			check: func(a triage.Account) string { return want(a.SAMAccountName, "jdoe") }},
		{name: "computer account", account: "SQLOK$",
			check: func(a triage.Account) string {
				return want(a.Class, "computer") + want(a.DNSHostName, "sqlok.corp.example") + want(a.EncTypes, 28)
			}},
		{name: "computer needs its $", account: "SQLOK", wantErr: ErrNotFound},
		{name: "disabled", account: "svc_sqldisabled",
			check: func(a triage.Account) string { return want(a.UAC&triage.UACAccountDisable != 0, true) }},
		{name: "expired", account: "svc_sqlexpired",
			check: func(a triage.Account) string { return want(a.AccountExpires, date(2026, 1, 1, 0, 0, 0)) }},
		{name: "accountExpires never", account: "svc_sqlok",
			check: func(a triage.Account) string { return want(a.AccountExpires.IsZero(), true) }},
		{name: "locked out: lockoutTime and the computed lockout bit", account: "svc_sqllocked",
			check: func(a triage.Account) string {
				return want(a.LockoutTime, date(2026, 11, 25, 8, 3, 14)) + want(a.UAC&triage.UACLockout != 0, true)
			}},
		{name: "password expired", account: "svc_sqlpwdexpired",
			check: func(a triage.Account) string {
				return want(a.PasswordExpiry, date(2026, 7, 13, 9, 0, 0)) + want(a.UAC&triage.UACPasswordExpired != 0, true)
			}},
		{name: "password must change", account: "svc_sqlmustchange",
			check: func(a triage.Account) string {
				return want(a.PwdMustChange, true) + want(a.PwdLastSet.IsZero(), true) + want(a.PasswordExpiry.IsZero(), true)
			}},
		{name: "RC4 only", account: "svc_sqlrc4",
			check: func(a triage.Account) string { return want(a.EncTypes, triage.EtypeRC4) }},
		{name: "encryption types unset", account: "alice",
			check: func(a triage.Account) string { return want(a.EncTypes, triage.EncTypesUnset) }},
		{name: "sAMAccountName and another's UPN: ambiguous", account: "sqlsvc@corp.example", wantErr: ErrAmbiguous},
		{name: "the same name as sam only is not", account: "sqlsvc",
			check: func(a triage.Account) string { return want(a.SID, corpSID+"1117") }},
		{name: "absent", account: "svc_sqlmissing", wantErr: ErrNotFound},
		{name: "absent in the right domain", account: `CORP\svc_sqlmissing`, wantErr: ErrNotFound},
		{name: "group is not an account", account: "SQL Admins", wantErr: ErrNotFound},
		{name: "another domain", account: `OTHER\svc_sqlok`, anyErr: true},
		{name: "another DNS domain", account: "svc_sqlok@other.example", wantErr: ErrNotFound,
			ldifErr: "the LDIF testdata/corp.ldf holds nothing about the domain other.example (its accounts are of corp.example)"},
	}
	for srcName, src := range sources(t) {
		for _, tt := range tests {
			t.Run(srcName+"/"+tt.name, func(t *testing.T) {
				got, err := src.Account(t.Context(), tt.account)
				switch {
				case srcName == "ldif" && tt.ldifErr != "":
					if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tt.ldifErr) {
						t.Fatalf("Account(%q) = %v; want an error with %q", tt.account, err, tt.ldifErr)
					}
					return
				case tt.anyErr:
					if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrAmbiguous) {
						t.Fatalf("Account(%q) = %v; want an error of its own", tt.account, err)
					}
					return
				case tt.wantErr != nil:
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("Account(%q) = %+v, %v; want %v", tt.account, got, err, tt.wantErr)
					}
					return
				case err != nil:
					t.Fatalf("Account(%q): %v", tt.account, err)
				}
				if tt.want != nil {
					if diff := cmp.Diff(*tt.want, got); diff != "" {
						t.Errorf("Account(%q) (-want +got):\n%s", tt.account, diff)
					}
				}
				if tt.check != nil {
					if msg := tt.check(got); msg != "" {
						t.Errorf("Account(%q): %s", tt.account, msg)
					}
				}
			})
		}
	}
}

// want returns "" when got equals want, else a message saying so.
func want[T comparable](got, want T) string {
	if got == want {
		return ""
	}
	return fmt.Sprintf("got %v, want %v; ", got, want)
}

// TestAccountSameFromBothSources reads every account from both sources: a domain
// controller returns all the attributes an export holds, so they must agree.
func TestAccountSameFromBothSources(t *testing.T) {
	srcs := sources(t)
	l := srcs["ldif"].(*LDIF)
	for _, a := range l.accounts {
		if !a.user {
			continue
		}
		fromLDIF, err1 := srcs["ldif"].Account(t.Context(), a.SAMAccountName)
		fromLDAP, err2 := srcs["ldap"].Account(t.Context(), a.SAMAccountName)
		if err1 != nil || err2 != nil {
			t.Errorf("Account(%q): ldif %v, ldap %v", a.SAMAccountName, err1, err2)
			continue
		}
		if diff := cmp.Diff(fromLDIF, fromLDAP); diff != "" {
			t.Errorf("Account(%q) (-ldif +ldap):\n%s", a.SAMAccountName, diff)
		}
	}
}

func TestComputerByDNSName(t *testing.T) {
	tests := []struct {
		fqdn    string
		want    string // sAMAccountName
		wantErr error
	}{
		{fqdn: "sqlok.corp.example", want: "SQLOK$"},
		{fqdn: "SQLOK.Corp.Example.", want: "SQLOK$"},
		{fqdn: "dc1.corp.example", want: "DC1$"},
		{fqdn: "gmsa_sql.corp.example", want: "gmsa_sql$"}, // a gMSA is a computer too
		{fqdn: "oldsql.corp.example", wantErr: ErrAmbiguous},
		{fqdn: "nohost.corp.example", wantErr: ErrNotFound},
	}
	for srcName, src := range sources(t) {
		for _, tt := range tests {
			got, err := src.ComputerByDNSName(t.Context(), tt.fqdn)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("%s: ComputerByDNSName(%q) = %v, %v; want %v", srcName, tt.fqdn, got.DN, err, tt.wantErr)
				}
				continue
			}
			if err != nil || got.SAMAccountName != tt.want {
				t.Errorf("%s: ComputerByDNSName(%q) = %q, %v; want %q", srcName, tt.fqdn, got.SAMAccountName, err, tt.want)
			}
		}
	}
	// The ambiguity names both accounts, so the user can see which is stale.
	_, err := sources(t)["ldif"].ComputerByDNSName(t.Context(), "oldsql.corp.example")
	if msg := errString(err); !strings.Contains(msg, "CN=OLDSQL,") || !strings.Contains(msg, "CN=OLDSQL2,") {
		t.Errorf("ComputerByDNSName(oldsql) error %q does not name both accounts", msg)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestFindSPN(t *testing.T) {
	tests := []struct {
		spn  string
		want []string // ids of the owners
	}{
		{"MSSQLSvc/sqlok.corp.example:1433", []string{"svc_sqlok 1105"}},
		{"mssqlsvc/SQLOK.CORP.EXAMPLE:1433", []string{"svc_sqlok 1105"}},
		{"MSSQLSvc/sqlok.corp.example", []string{"svc_sqlok 1105"}},
		{"MSSQLSvc/sqldup.corp.example:1433", []string{"svc_sqldup 1106", "svc_sqldup_old 1107"}},
		{"MSSQLSvc/sqlwrong.corp.example:1433", []string{"svc_sqlwrong_other 1109"}},
		{"MSSQLSvc/sqlmissing.corp.example:1433", []string{}},
		{"MSSQLSvc/sqlvirt.corp.example:1433", []string{"SQLVIRT$ 1212"}},
		{"MSSQLSvc/sqlgmsa.corp.example:1433", []string{"gmsa_sql$ 1300"}},
		{"HOST/oldsql.corp.example", []string{"OLDSQL$ 1210", "OLDSQL2$ 1211"}},
		{"kadmin/changepw", []string{"krbtgt 502"}},
		// Filter syntax in an SPN is escaped: it is looked up as written, and
		// nobody holds it.
		{"MSSQLSvc/x)(servicePrincipalName=MSSQLSvc/sqlok.corp.example:1433", []string{}},
		{`MSSQLSvc/sqlok.corp.example:1433\`, []string{}},
		{"MSSQLSvc/(|(objectClass=user))", []string{}},
	}
	for srcName, src := range sources(t) {
		for _, tt := range tests {
			got, err := src.FindSPN(t.Context(), tt.spn)
			if err != nil {
				t.Errorf("%s: FindSPN(%q): %v", srcName, tt.spn, err)
				continue
			}
			if got.SPN != tt.spn {
				t.Errorf("%s: FindSPN(%q).SPN = %q; want the SPN asked for", srcName, tt.spn, got.SPN)
			}
			if diff := cmp.Diff(tt.want, ids(got.Owners)); diff != "" {
				t.Errorf("%s: FindSPN(%q) owners (-want +got):\n%s", srcName, tt.spn, diff)
			}
		}
	}
}

func TestScanDuplicateSPNs(t *testing.T) {
	sqldup := "MSSQLSvc/sqldup.corp.example:1433: svc_sqldup 1106, svc_sqldup_old 1107"
	oldsql := "HOST/oldsql.corp.example: OLDSQL$ 1210, OLDSQL2$ 1211"
	tests := []struct {
		prefix      string
		want        []string
		wantScanned int
	}{
		{"", []string{oldsql, sqldup}, 24},
		{"MSSQLSvc/", []string{sqldup}, 13},
		{"mssqlsvc/SQLDUP", []string{sqldup}, 2},
		{"HOST/", []string{oldsql}, 11},
		{"nothing/", nil, 0},
	}
	for srcName, src := range sources(t) {
		for _, tt := range tests {
			var got []string
			scanned, err := src.ScanDuplicateSPNs(t.Context(), tt.prefix, func(o triage.SPNOwners) error {
				got = append(got, o.SPN+": "+strings.Join(ids(o.Owners), ", "))
				return nil
			})
			if err != nil {
				t.Errorf("%s: ScanDuplicateSPNs(%q): %v", srcName, tt.prefix, err)
				continue
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s: ScanDuplicateSPNs(%q) (-want +got):\n%s", srcName, tt.prefix, diff)
			}
			if scanned != tt.wantScanned {
				t.Errorf("%s: ScanDuplicateSPNs(%q) scanned %d; want %d", srcName, tt.prefix, scanned, tt.wantScanned)
			}
		}

		stop := errors.New("stop")
		calls := 0
		_, err := src.ScanDuplicateSPNs(t.Context(), "", func(triage.SPNOwners) error { calls++; return stop })
		if err != stop || calls != 1 {
			t.Errorf("%s: ScanDuplicateSPNs with fn failing: %v after %d calls; want fn's error after 1", srcName, err, calls)
		}
	}
}

func TestMaxPwdAge(t *testing.T) {
	for srcName, src := range sources(t) {
		got, err := src.MaxPwdAge(t.Context())
		if err != nil || got != 42*24*time.Hour {
			t.Errorf("%s: MaxPwdAge = %v, %v; want 42 days", srcName, got, err)
		}
	}
}

// TestInvalidInput: names and SPNs that could widen a query (wildcards, filter
// syntax, NUL) or make no sense are refused before any query, as input errors.
func TestInvalidInput(t *testing.T) {
	type call struct {
		name string
		do   func(ctx context.Context, src source) error
	}
	account := func(s string) call {
		return call{"Account(" + fmt.Sprintf("%q", s) + ")", func(ctx context.Context, src source) error { _, err := src.Account(ctx, s); return err }}
	}
	findSPN := func(s string) call {
		return call{"FindSPN(" + fmt.Sprintf("%q", s) + ")", func(ctx context.Context, src source) error { _, err := src.FindSPN(ctx, s); return err }}
	}
	computer := func(s string) call {
		return call{"ComputerByDNSName(" + fmt.Sprintf("%q", s) + ")", func(ctx context.Context, src source) error { _, err := src.ComputerByDNSName(ctx, s); return err }}
	}
	scan := func(s string) call {
		return call{"ScanDuplicateSPNs(" + fmt.Sprintf("%q", s) + ")", func(ctx context.Context, src source) error {
			_, err := src.ScanDuplicateSPNs(ctx, s, func(triage.SPNOwners) error { return nil })
			return err
		}}
	}
	calls := []call{
		account("*"), account("svc*"), account("svc*)(objectClass=*"), account("svc_sqlok\x00"),
		account(`CORP\svc\x`), account(""), account("@corp.example"), account(`\svc`),
		account("svc@"), account("svc@corp..example"), account("svc\n"),
		account(" svc_sqlok"), account(strings.Repeat("a", 400)), account("svc\tsql"), account("a,b"),
		account("svc\xff"), account(`TOOLONGNETBIOSNAME\svc`),
		findSPN("*"), findSPN("MSSQLSvc/*"), findSPN("MSSQLSvc/sqlok.corp.example:1433)(servicePrincipalName=*"),
		findSPN("MSSQLSvc/sqlok\x00"), findSPN(""), findSPN("sqlok.corp.example"), findSPN("/sqlok"),
		findSPN("MSSQLSvc/"), findSPN("MSSQLSvc/a b"), findSPN("MSSQLSvc/" + strings.Repeat("a", 2000)),
		computer("*.corp.example"), computer("sqlok)(dNSHostName=*"), computer("sql ok.corp.example"),
		computer("a..b"), computer(""), computer("sqlok\x00.corp.example"),
		scan("*"), scan("MSSQLSvc/*"), scan("MSSQLSvc\x00"), scan("MSSQLSvc/\n"),
	}
	fake := newFakeServer(t, corpFixture)
	srcs := map[string]source{"ldif": loadFixture(t, corpFixture), "ldap": newTestClient(t, fake)}
	for srcName, src := range srcs {
		for _, c := range calls {
			err := c.do(t.Context(), src)
			var ie *triage.InputError
			if !errors.As(err, &ie) {
				t.Errorf("%s: %s = %v; want a *triage.InputError", srcName, c.name, err)
			}
		}
	}
	if filters, binds, _ := fake.stats(); binds != 0 || len(filters) != 0 {
		t.Errorf("invalid input reached the server: %d binds, searches %q", binds, filters)
	}
}
