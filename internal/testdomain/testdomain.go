// Package testdomain describes the throwaway Samba AD DC that integration tests run against.
//
// scripts/testdomain.sh provisions it (realm CORP.TEST, NetBIOS domain CORP, DC dc1.corp.test),
// seeds one SQL Server host per scenario, and runs tests inside its network namespace with the
// domain's settings in the environment:
//
//	scripts/testdomain.sh up DIR
//	scripts/testdomain.sh exec DIR -- go test ./...
//	scripts/testdomain.sh down DIR
//
// A test calls Load, which skips the test when no domain is there (or fails it when
// AUTHTRIAGE_REQUIRE_INTEGRATION=1), and then finds the scenario it needs in Domain.Hosts,
// or the second hop's accounts in Domain.Delegation.
package testdomain

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// Advice is what Load says when no test domain is configured.
const Advice = "no test domain: run make test, or scripts/testdomain.sh up DIR and exec DIR -- go test ..."

// Environment variables written by scripts/testdomain.sh to DIR/env and exported by its exec.
const (
	EnvRequire       = "AUTHTRIAGE_REQUIRE_INTEGRATION"
	EnvDir           = "AUTHTRIAGE_TEST_DIR"
	EnvNetNS         = "AUTHTRIAGE_TEST_NETNS"
	EnvLDAPURL       = "AUTHTRIAGE_TEST_LDAP_URL"
	EnvGCURL         = "AUTHTRIAGE_TEST_GC_URL"
	EnvCAFile        = "AUTHTRIAGE_TEST_LDAP_CA"
	EnvBindDN        = "AUTHTRIAGE_TEST_BIND_DN"
	EnvBindUPN       = "AUTHTRIAGE_TEST_BIND_UPN"
	EnvBindPassword  = "AUTHTRIAGE_TEST_BIND_PASSWORD"
	EnvBaseDN        = "AUTHTRIAGE_TEST_BASE_DN"
	EnvRealm         = "AUTHTRIAGE_TEST_REALM"
	EnvNetBIOS       = "AUTHTRIAGE_TEST_DOMAIN"
	EnvDNSDomain     = "AUTHTRIAGE_TEST_DNS_DOMAIN"
	EnvDC            = "AUTHTRIAGE_TEST_DC"
	EnvDCAddr        = "AUTHTRIAGE_TEST_DC_ADDR"
	EnvKDC           = "AUTHTRIAGE_TEST_KDC"
	EnvKrb5Conf      = "AUTHTRIAGE_TEST_KRB5_CONF"
	EnvKrb5ConfRC4   = "AUTHTRIAGE_TEST_KRB5_CONF_RC4"
	EnvKeytab        = "AUTHTRIAGE_TEST_KEYTAB"
	EnvPrincipal     = "AUTHTRIAGE_TEST_PRINCIPAL"
	EnvSQLOKKeytab   = "AUTHTRIAGE_TEST_SQLOK_KEYTAB"
	EnvDomainKeytab  = "AUTHTRIAGE_TEST_DOMAIN_KEYTAB"
	EnvHosts         = "AUTHTRIAGE_TEST_HOSTS"
	EnvSkewed        = "AUTHTRIAGE_TEST_SKEWED"
	EnvSkewSeconds   = "AUTHTRIAGE_TEST_SKEW_SECONDS"
	EnvAESDefault    = "AUTHTRIAGE_TEST_AES_DEFAULT"
	EnvBulkUsers     = "AUTHTRIAGE_TEST_BULK_USERS"
	EnvBulkDupes     = "AUTHTRIAGE_TEST_BULK_DUPLICATES"
	EnvPasswordStart = "AUTHTRIAGE_TEST_PASSWORD_" // + upper-cased sAMAccountName
)

// Domain is one running test domain.
type Domain struct {
	Dir          string // the fixture directory (samba.log, krb5.conf, keytabs)
	NetNS        string // network namespace the tests run in; empty on the host's loopback
	LDAPURL      string // ldaps://dc1.corp.test:636
	GCURL        string // ldaps://dc1.corp.test:3269 (global catalog)
	CAFile       string // PEM CA that signed the DC's certificate (SAN dc1.corp.test)
	BindDN       string // CN=authtriage_ro,CN=Users,DC=corp,DC=test: an ordinary user
	BindUPN      string // authtriage_ro@corp.test: the same account, for a UPN simple bind
	BindPassword string
	BaseDN       string // DC=corp,DC=test as the server spells it; compare DNs case-insensitively
	Realm        string // CORP.TEST
	NetBIOS      string // CORP
	DNSDomain    string // corp.test
	DC           string // dc1.corp.test
	DCAddr       string // 127.0.0.1, or the fallback loopback address
	KDC          string // dc1.corp.test:88
	Krb5Conf     string // client krb5.conf allowing aes256 and aes128 only
	Krb5ConfRC4  string // client krb5.conf allowing rc4-hmac only
	Keytab       string // keytab of Principal (kvno 1: aes256, aes128, rc4)
	Principal    string // authtriage_ro (in Realm): the checker's Kerberos identity
	SQLOKKeytab  string // keytab of svc_sqlok, for a service-side (acceptor) test
	// DomainKeytab holds the keys of every account of the domain, for a fake SQL
	// Server that accepts tickets as each scenario's service account.
	DomainKeytab string
	Skewed       bool // the KDC runs SkewSeconds ahead (faketime): AS exchanges fail with 37
	SkewSeconds  int
	AESDefault   bool // the KDC's default for accounts without msDS-SupportedEncryptionTypes is AES only (KB5073381's), not RC4
	BulkUsers    int  // users bulk00001... added by seed-bulk, each with 2 MSSQLSvc SPNs
	BulkDupes    int  // duplicate SPNs written among the bulk users
	Hosts        map[string]Host
	// RC4Hosts are the hosts whose service accounts have no msDS-SupportedEncryptionTypes
	// (HostNoEtype, HostRC4Keys). They are not in Hosts: what they report depends on
	// AESDefault, and the scenario loops over Hosts expect one cause per host. Empty when
	// the domain was seeded without them.
	RC4Hosts map[string]Host
	// Passwords of every seeded account by sAMAccountName (authtriage_ro, svc_sqlok, ...).
	Passwords map[string]string
	// Delegation is the second hop: front ends, back ends and users (delegation.go).
	Delegation Delegation
	// Instances are the instance scenarios by name (instances.go): a named instance on a
	// dynamic port, listeners, a cluster instance, an alias. Empty when the domain was
	// seeded without them.
	Instances map[string]InstanceScenario
	// DNSServer is the DC's DNS server (host:port), which serves the scenario hosts' A
	// records and the Alias's CNAME; "" when the domain was seeded without it.
	DNSServer string
}

// Scenario hosts, the keys of Domain.Hosts.
const (
	HostOK         = "sqlok"
	HostMissing    = "sqlmissing"
	HostDuplicate  = "sqldup"
	HostWrong      = "sqlwrong"
	HostDisabled   = "sqldisabled"
	HostExpired    = "sqlexpired"
	HostPwdExpired = "sqlpwdexpired"
	HostRC4        = "sqlrc4"
	HostLocked     = "sqllocked"
)

// Hosts of RC4Hosts.
const (
	// HostNoEtype's svc_sqlnoetype has no msDS-SupportedEncryptionTypes and AES keys: the
	// KDC issues RC4 tickets for it, AES tickets when AESDefault.
	HostNoEtype = "sqlnoetype"
	// HostRC4Keys's svc_sqlrc4keys has no msDS-SupportedEncryptionTypes and only an RC4
	// key (its password's NT hash): RC4 tickets either way, as Samba 4.17 uses the only key
	// an account has, where a Windows KDC with the AES-only default refuses.
	HostRC4Keys = "sqlrc4keys"
)

// Kerberos error codes the scenarios produce (RFC 4120 section 7.5.9); 0 means a ticket.
const (
	KDCOK                   = 0
	KDCErrCPrincipalUnknown = 6  // KDC_ERR_C_PRINCIPAL_UNKNOWN: unknown client
	KDCErrSPrincipalUnknown = 7  // KDC_ERR_S_PRINCIPAL_UNKNOWN: SPN missing or duplicated
	KDCErrEtypeNoSupp       = 14 // KDC_ERR_ETYPE_NOSUPP
	KDCErrClientRevoked     = 18 // KDC_ERR_CLIENT_REVOKED: disabled, expired or locked client
	KDCErrServiceRevoked    = 19 // KDC_ERR_SERVICE_REVOKED: locked-out service account
	KDCErrKeyExpired        = 23 // KDC_ERR_KEY_EXPIRED: the client's password must change
	KDCErrPreauthFailed     = 24 // KDC_ERR_PREAUTH_FAILED: wrong password
	KDCErrPreauthRequired   = 25 // KDC_ERR_PREAUTH_REQUIRED: the first answer to every AS-REQ
	KRBAPErrSkew            = 37 // KRB_AP_ERR_SKEW: clock skew too great
)

// Host is one seeded SQL Server host and what the directory and the KDC say about it.
type Host struct {
	Name           string // sqlok
	FQDN           string // sqlok.corp.test (resolves to the DC's address inside the namespace)
	ServiceAccount string // sAMAccountName the SQL service runs as: svc_sqlok
	Password       string // its password
	// Cause is the triage cause ID the scenario should produce; empty for the healthy host.
	Cause    string
	Scenario string // one line for test names and messages
	// SPNs are the SPNs the SQL service needs: MSSQLSvc/FQDN:1433 and MSSQLSvc/FQDN.
	SPNs []string
	// Holders maps each of SPNs to the accounts that hold it in the directory, sorted.
	Holders map[string][]string
	// TGS is the KDC's answer (0 = ticket) to a TGS-REQ for SPNs[0] by Principal with the
	// AES-only Krb5Conf; AS its answer to an AS-REQ as ServiceAccount with Password.
	TGS, AS int
}

// Account is the service account name in NetBIOS form, CORP\svc_sqlok.
func (h Host) Account(netbios string) string { return netbios + `\` + h.ServiceAccount }

// SPN is the port form, MSSQLSvc/FQDN:1433.
func (h Host) SPN() string { return h.SPNs[0] }

type scenario struct {
	name, account, cause, text string
	holders                    [2][]string // holders of the :1433 SPN and of the port-less one
	tgs, as                    int
}

// Scenarios as scripts/testdomain.sh seeds them; `testdomain.sh verify DIR` checks TGS and AS
// against the running KDC (Samba 4.17, Heimdal).
var scenarios = []scenario{
	{HostOK, "svc_sqlok", "", "healthy: both SPNs on the service account, AES keys",
		[2][]string{{"svc_sqlok"}, {"svc_sqlok"}}, KDCOK, KDCOK},
	{HostMissing, "svc_sqlmissing", "spn.missing", "the service account holds no SPN",
		[2][]string{nil, nil}, KDCErrSPrincipalUnknown, KDCOK},
	{HostDuplicate, "svc_sqldup", "spn.duplicate", "MSSQLSvc/sqldup.corp.test:1433 also on svc_sqldup_old",
		[2][]string{{"svc_sqldup", "svc_sqldup_old"}, {"svc_sqldup"}}, KDCErrSPrincipalUnknown, KDCOK},
	{HostWrong, "svc_sqlwrong", "spn.wrong_account", "the SPNs are on svc_sqlwrong_other, not the service account",
		[2][]string{{"svc_sqlwrong_other"}, {"svc_sqlwrong_other"}}, KDCOK, KDCOK},
	{HostDisabled, "svc_sqldisabled", "account.disabled", "the service account is disabled",
		[2][]string{{"svc_sqldisabled"}, {"svc_sqldisabled"}}, KDCOK, KDCErrClientRevoked},
	{HostExpired, "svc_sqlexpired", "account.expired", "the service account expired yesterday (accountExpires)",
		[2][]string{{"svc_sqlexpired"}, {"svc_sqlexpired"}}, KDCOK, KDCErrClientRevoked},
	{HostPwdExpired, "svc_sqlpwdexpired", "account.password_expired", "the password must change (pwdLastSet=0)",
		[2][]string{{"svc_sqlpwdexpired"}, {"svc_sqlpwdexpired"}}, KDCOK, KDCErrKeyExpired},
	{HostRC4, "svc_sqlrc4", "kerberos.etype_mismatch", "msDS-SupportedEncryptionTypes=4 (RC4 only), clients AES only",
		[2][]string{{"svc_sqlrc4"}, {"svc_sqlrc4"}}, KDCErrEtypeNoSupp, KDCOK},
	{HostLocked, "svc_sqllocked", "account.locked_out", "the service account is locked out (lockoutTime)",
		[2][]string{{"svc_sqllocked"}, {"svc_sqllocked"}}, KDCErrServiceRevoked, KDCErrClientRevoked},
}

// rc4Scenarios are the hosts of RC4Hosts; tgs and cause hold the answers for the KDC's
// default as seeded, index 0 for Samba's, 1 for AESDefault.
var rc4Scenarios = []struct {
	name, account, text string
	cause               [2]string
	tgs                 [2]int
	as                  int // with the AES-only Krb5Conf: 14 without AES keys
}{
	{HostNoEtype, "svc_sqlnoetype", "no msDS-SupportedEncryptionTypes, AES keys",
		[2]string{"kerberos.rc4_default", ""}, [2]int{KDCOK, KDCOK}, KDCOK},
	{HostRC4Keys, "svc_sqlrc4keys", "no msDS-SupportedEncryptionTypes, an RC4 key only",
		[2]string{"kerberos.rc4_default", "kerberos.rc4_default"}, [2]int{KDCOK, KDCOK}, KDCErrEtypeNoSupp},
}

// HostNames lists the scenario hosts in seeding order.
func HostNames() []string {
	names := make([]string, len(scenarios))
	for i, s := range scenarios {
		names[i] = s.name
	}
	return names
}

// Load returns the test domain from the environment. Without one it skips the test, or fails
// it when AUTHTRIAGE_REQUIRE_INTEGRATION=1.
func Load(t testing.TB) Domain {
	t.Helper()
	d, err := FromEnv(os.Getenv)
	if errors.Is(err, errNoDomain) {
		if os.Getenv(EnvRequire) == "1" {
			t.Fatal(Advice)
		} else {
			t.Skip(Advice)
		}
		return Domain{}
	}
	if err != nil {
		t.Fatalf("test domain environment: %v", err)
	}
	return d
}

var errNoDomain = errors.New(EnvLDAPURL + " is not set")

// FromEnv reads a Domain through getenv (os.Getenv in tests). It reports every missing or
// malformed variable at once.
func FromEnv(getenv func(string) string) (Domain, error) {
	if getenv(EnvLDAPURL) == "" {
		return Domain{}, errNoDomain
	}
	var problems []string
	need := func(key string) string {
		v := getenv(key)
		if v == "" {
			problems = append(problems, key+" is empty")
		}
		return v
	}
	number := func(key string) int {
		v := getenv(key)
		if v == "" {
			return 0
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			problems = append(problems, fmt.Sprintf("%s=%q is not a count", key, v))
		}
		return n
	}
	d := Domain{
		Dir:          getenv(EnvDir),
		NetNS:        getenv(EnvNetNS),
		LDAPURL:      need(EnvLDAPURL),
		GCURL:        need(EnvGCURL),
		CAFile:       need(EnvCAFile),
		BindDN:       need(EnvBindDN),
		BindUPN:      getenv(EnvBindUPN),
		BindPassword: need(EnvBindPassword),
		BaseDN:       need(EnvBaseDN),
		Realm:        need(EnvRealm),
		NetBIOS:      need(EnvNetBIOS),
		DNSDomain:    getenv(EnvDNSDomain),
		DC:           getenv(EnvDC),
		DCAddr:       getenv(EnvDCAddr),
		KDC:          need(EnvKDC),
		Krb5Conf:     need(EnvKrb5Conf),
		Krb5ConfRC4:  getenv(EnvKrb5ConfRC4),
		Keytab:       need(EnvKeytab),
		Principal:    need(EnvPrincipal),
		SQLOKKeytab:  getenv(EnvSQLOKKeytab),
		DomainKeytab: os.Getenv(EnvDomainKeytab),
		Skewed:       getenv(EnvSkewed) == "1",
		SkewSeconds:  number(EnvSkewSeconds),
		AESDefault:   getenv(EnvAESDefault) == "1",
		BulkUsers:    number(EnvBulkUsers),
		BulkDupes:    number(EnvBulkDupes),
		Hosts:        make(map[string]Host, len(scenarios)),
		RC4Hosts:     make(map[string]Host, len(rc4Scenarios)),
		Passwords:    make(map[string]string),
	}
	if d.DNSDomain == "" {
		d.DNSDomain = strings.ToLower(d.Realm)
	}
	have := map[string]bool{}
	if listed := getenv(EnvHosts); listed != "" {
		for _, h := range strings.Split(listed, ",") {
			have[h] = true
		}
		for _, s := range scenarios {
			if !have[s.name] {
				problems = append(problems, fmt.Sprintf("%s lacks %s: the domain was seeded by another version of testdomain.sh", EnvHosts, s.name))
			}
		}
	}
	mode := 0
	if d.AESDefault {
		mode = 1
	}
	for _, s := range rc4Scenarios {
		if !have[s.name] {
			continue
		}
		pw := getenv(EnvPasswordStart + strings.ToUpper(s.account))
		if pw == "" {
			problems = append(problems, EnvPasswordStart+strings.ToUpper(s.account)+" is empty")
		}
		d.Passwords[s.account] = pw
		fqdn := s.name + "." + d.DNSDomain
		spns := []string{"MSSQLSvc/" + fqdn + ":1433", "MSSQLSvc/" + fqdn}
		d.RC4Hosts[s.name] = Host{
			Name: s.name, FQDN: fqdn, ServiceAccount: s.account, Password: pw,
			Cause: s.cause[mode], Scenario: s.text, SPNs: spns,
			Holders: map[string][]string{spns[0]: {s.account}, spns[1]: {s.account}},
			TGS:     s.tgs[mode], AS: s.as,
		}
	}
	for _, s := range scenarios {
		for _, acct := range append([]string{s.account}, s.holders[0]...) {
			if _, ok := d.Passwords[acct]; ok {
				continue
			}
			pw := getenv(EnvPasswordStart + strings.ToUpper(acct))
			if pw == "" {
				problems = append(problems, EnvPasswordStart+strings.ToUpper(acct)+" is empty")
			}
			d.Passwords[acct] = pw
		}
		fqdn := s.name + "." + d.DNSDomain
		spns := []string{"MSSQLSvc/" + fqdn + ":1433", "MSSQLSvc/" + fqdn}
		holders := map[string][]string{}
		for i, spn := range spns {
			if len(s.holders[i]) > 0 {
				holders[spn] = sorted(s.holders[i])
			}
		}
		d.Hosts[s.name] = Host{
			Name:           s.name,
			FQDN:           fqdn,
			ServiceAccount: s.account,
			Password:       d.Passwords[s.account],
			Cause:          s.cause,
			Scenario:       s.text,
			SPNs:           spns,
			Holders:        holders,
			TGS:            s.tgs,
			AS:             s.as,
		}
	}
	readDelegation(&d, getenv, &problems)
	readInstances(&d, getenv, &problems)
	d.Passwords[d.Principal] = d.BindPassword
	if len(problems) > 0 {
		return Domain{}, errors.New(strings.Join(problems, "; "))
	}
	return d, nil
}

func sorted(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

// Host returns the named scenario host, failing the test for an unknown name.
func (d Domain) Host(t testing.TB, name string) Host {
	t.Helper()
	h, ok := d.Hosts[name]
	if !ok {
		t.Fatalf("test domain has no host %q (have %v)", name, HostNames())
	}
	return h
}

// Instance returns the named instance scenario, failing the test when the domain has
// none of that name (an older scripts/testdomain.sh seeded it, or the name is wrong).
func (d Domain) Instance(t testing.TB, name string) InstanceScenario {
	t.Helper()
	s, ok := d.Instances[name]
	if !ok {
		t.Fatalf("test domain has no instance scenario %q: it was seeded by an older scripts/testdomain.sh, or the name is wrong (want one of %v)", name, InstanceNames())
	}
	return s
}

// PrincipalName is Principal@Realm.
func (d Domain) PrincipalName() string { return d.Principal + "@" + d.Realm }
