package testdomain

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// fakeTB records Skip and Fatal instead of stopping the goroutine.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Skip(args ...any)                  { f.skipped = fmt.Sprint(args...) }
func (f *fakeTB) Fatal(args ...any)                 { f.failed = fmt.Sprint(args...) }
func (f *fakeTB) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }

func TestLoadWithoutDomain(t *testing.T) {
	t.Setenv(EnvLDAPURL, "")
	t.Setenv(EnvRequire, "")
	tb := &fakeTB{TB: t}
	Load(tb)
	if tb.skipped != Advice || tb.failed != "" {
		t.Errorf("skipped %q, failed %q; want a skip with the advice", tb.skipped, tb.failed)
	}

	t.Setenv(EnvRequire, "1")
	tb = &fakeTB{TB: t}
	Load(tb)
	if tb.failed != Advice || tb.skipped != "" {
		t.Errorf("skipped %q, failed %q; want a failure with the advice", tb.skipped, tb.failed)
	}
}

func sampleEnv() map[string]string {
	env := map[string]string{
		EnvLDAPURL:      "ldaps://dc1.corp.test:636",
		EnvGCURL:        "ldaps://dc1.corp.test:3269",
		EnvCAFile:       "/td/private/tls/ca.pem",
		EnvBindDN:       "CN=authtriage_ro,CN=Users,DC=corp,DC=test",
		EnvBindPassword: "pw-ro",
		EnvBaseDN:       "DC=corp,DC=test",
		EnvRealm:        "CORP.TEST",
		EnvNetBIOS:      "CORP",
		EnvKDC:          "dc1.corp.test:88",
		EnvKrb5Conf:     "/td/krb5.conf",
		EnvKeytab:       "/td/authtriage_ro.keytab",
		EnvPrincipal:    "authtriage_ro",
		EnvHosts:        strings.Join(HostNames(), ","),
		EnvSkewed:       "1",
		EnvSkewSeconds:  "3600",
		EnvBulkUsers:    "20000",
	}
	for _, a := range []string{"svc_sqlok", "svc_sqlmissing", "svc_sqldup", "svc_sqldup_old", "svc_sqlwrong",
		"svc_sqlwrong_other", "svc_sqldisabled", "svc_sqlexpired", "svc_sqlpwdexpired", "svc_sqlrc4", "svc_sqllocked"} {
		env[EnvPasswordStart+strings.ToUpper(a)] = "pw-" + a
	}
	return env
}

func TestFromEnv(t *testing.T) {
	env := sampleEnv()
	d, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !d.Skewed || d.SkewSeconds != 3600 || d.BulkUsers != 20000 || d.DNSDomain != "corp.test" {
		t.Errorf("Skewed %v, SkewSeconds %d, BulkUsers %d, DNSDomain %q", d.Skewed, d.SkewSeconds, d.BulkUsers, d.DNSDomain)
	}
	if len(d.Hosts) != len(HostNames()) {
		t.Errorf("%d hosts, want %d", len(d.Hosts), len(HostNames()))
	}
	dup := d.Hosts[HostDuplicate]
	if got := dup.Holders["MSSQLSvc/sqldup.corp.test:1433"]; strings.Join(got, ",") != "svc_sqldup,svc_sqldup_old" {
		t.Errorf("sqldup :1433 holders %v", got)
	}
	if dup.Password != "pw-svc_sqldup" || dup.Account(d.NetBIOS) != `CORP\svc_sqldup` || dup.TGS != KDCErrSPrincipalUnknown {
		t.Errorf("sqldup: %+v", dup)
	}
	if miss := d.Hosts[HostMissing]; len(miss.Holders) != 0 || miss.SPN() != "MSSQLSvc/sqlmissing.corp.test:1433" {
		t.Errorf("sqlmissing: %+v", miss)
	}
	if ok := d.Hosts[HostOK]; ok.Cause != "" || ok.TGS != KDCOK || ok.AS != KDCOK {
		t.Errorf("sqlok: %+v", ok)
	}
	if d.Passwords["svc_sqlwrong_other"] != "pw-svc_sqlwrong_other" || d.Passwords["authtriage_ro"] != "pw-ro" {
		t.Errorf("passwords: %v", d.Passwords)
	}
}

func TestFromEnvReportsEveryProblem(t *testing.T) {
	env := sampleEnv()
	delete(env, EnvKeytab)
	delete(env, EnvPasswordStart+"SVC_SQLDUP_OLD")
	env[EnvBulkUsers] = "many"
	_, err := FromEnv(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{EnvKeytab, "SVC_SQLDUP_OLD", EnvBulkUsers} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

// TestLiveDomain checks the contract against the running domain with the standard library
// only: files, name resolution, the KDC port, LDAPS with the CA and host name verified by
// crypto/tls, and a simple bind with the bind DN and UPN.
func TestLiveDomain(t *testing.T) {
	d := Load(t)
	for _, f := range []string{d.CAFile, d.Krb5Conf, d.Krb5ConfRC4, d.Keytab, d.SQLOKKeytab} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("contract file: %v", err)
		}
	}
	names := []string{}
	for _, h := range d.Hosts {
		names = append(names, h.FQDN)
	}
	for _, f := range d.Delegation.FrontEnds {
		names = append(names, f.FQDN)
		if _, err := os.Stat(f.Keytab); err != nil {
			t.Errorf("%s's keytab: %v", f.Account, err)
		}
	}
	for _, b := range d.Delegation.BackEnds {
		names = append(names, b.FQDN)
	}
	for _, name := range names {
		addrs, err := net.LookupHost(name)
		if err != nil || len(addrs) == 0 || addrs[0] != d.DCAddr {
			t.Errorf("%s resolves to %v, %v; want %s", name, addrs, err, d.DCAddr)
		}
	}
	conn, err := net.DialTimeout("tcp", d.KDC, 5*time.Second)
	if err != nil {
		t.Fatalf("KDC: %v", err)
	}
	conn.Close()

	pem, err := os.ReadFile(d.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no certificate", d.CAFile)
	}
	for _, tc := range []struct {
		url, user, password string
		want                int
	}{
		{d.LDAPURL, d.BindDN, d.BindPassword, 0},
		{d.GCURL, d.BindDN, d.BindPassword, 0},
		{d.LDAPURL, d.BindUPN, d.BindPassword, 0},
		{d.LDAPURL, d.BindDN, d.BindPassword + "x", 49}, // invalidCredentials
	} {
		got, err := simpleBind(tc.url, roots, tc.user, tc.password)
		if err != nil {
			t.Errorf("bind %s at %s: %v", tc.user, tc.url, err)
		} else if got != tc.want {
			t.Errorf("bind %s at %s: resultCode %d, want %d", tc.user, tc.url, got, tc.want)
		}
	}
}

// simpleBind sends one LDAPv3 simple BindRequest over LDAPS and returns the resultCode.
func simpleBind(rawURL string, roots *x509.CertPool, dn, password string) (int, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "ldaps" {
		return 0, fmt.Errorf("want an ldaps:// URL, have %q", rawURL)
	}
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(dialer, "tcp", u.Host, &tls.Config{RootCAs: roots, ServerName: u.Hostname()})
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	bind := tlv(0x60, cat(tlv(0x02, []byte{3}), tlv(0x04, []byte(dn)), tlv(0x80, []byte(password))))
	if _, err := conn.Write(tlv(0x30, cat(tlv(0x02, []byte{1}), bind))); err != nil {
		return 0, err
	}
	tag, msg, err := readTLV(bufio.NewReader(conn))
	if err != nil || tag != 0x30 {
		return 0, fmt.Errorf("reading the BindResponse: tag %#x, %v", tag, err)
	}
	_, _, rest, ok := nextTLV(msg) // messageID
	if !ok {
		return 0, errors.New("LDAPMessage without a messageID")
	}
	tag, op, _, ok := nextTLV(rest)
	if !ok || tag != 0x61 {
		return 0, fmt.Errorf("not a BindResponse: tag %#x", tag)
	}
	tag, code, _, ok := nextTLV(op)
	if !ok || tag != 0x0a || len(code) != 1 {
		return 0, errors.New("BindResponse without a resultCode")
	}
	return int(code[0]), nil
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// tlv encodes one BER element with a definite length.
func tlv(tag byte, content []byte) []byte {
	n := len(content)
	switch {
	case n < 0x80:
		return cat([]byte{tag, byte(n)}, content)
	case n < 0x100:
		return cat([]byte{tag, 0x81, byte(n)}, content)
	default:
		return cat([]byte{tag, 0x82, byte(n >> 8), byte(n)}, content)
	}
}

func readTLV(r *bufio.Reader) (byte, []byte, error) {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(hdr[1])
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 3 {
			return 0, nil, fmt.Errorf("length of %d bytes", k)
		}
		lb := make([]byte, k)
		if _, err := io.ReadFull(r, lb); err != nil {
			return 0, nil, err
		}
		n = 0
		for _, b := range lb {
			n = n<<8 | int(b)
		}
	}
	content := make([]byte, n)
	_, err := io.ReadFull(r, content)
	return hdr[0], content, err
}

// nextTLV splits the first BER element off b.
func nextTLV(b []byte) (tag byte, content, rest []byte, ok bool) {
	if len(b) < 2 {
		return 0, nil, nil, false
	}
	tag, n, i := b[0], int(b[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 3 || len(b) < 2+k {
			return 0, nil, nil, false
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		i += k
	}
	if len(b) < i+n {
		return 0, nil, nil, false
	}
	return tag, b[i : i+n], b[i+n:], true
}
