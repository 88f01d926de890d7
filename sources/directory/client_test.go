package directory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/authtriage/authtriage/triage"
)

const secret = "Sup3r-S3cret!pw"

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string // in the error
	}{
		{"nothing", Config{}, []string{"neither URLs nor Domain", "bind DN and a password"}},
		{"no password", Config{URLs: []string{"ldaps://dc1:636"}, BindDN: "r@corp.example"}, []string{"password"}},
		{"bad scheme", Config{URLs: []string{"http://dc1"}, BindDN: "r", Password: secret}, []string{"scheme"}},
		{"path", Config{URLs: []string{"ldaps://dc1/DC=corp"}, BindDN: "r", Password: secret}, []string{"only scheme://host"}},
		{"credentials in the URL", Config{URLs: []string{"ldaps://r:" + secret + "@dc1"}, BindDN: "r", Password: secret}, []string{"only scheme://host"}},
		{"unparsable URL with credentials", Config{URLs: []string{"ldaps://r:" + secret + "@dc%zz"}, BindDN: "r", Password: secret}, []string{"not a URL"}},
		{"bad GC URL", Config{URLs: []string{"ldaps://dc1"}, GCURLs: []string{"ldaps://"}, BindDN: "r", Password: secret}, []string{"no host"}},
		{"bad domain", Config{Domain: "corp..example", BindDN: "r", Password: secret}, []string{"domain"}},
		{"bad base DN", Config{URLs: []string{"ldaps://dc1"}, BaseDN: "DC=corp,,", BindDN: "r", Password: secret}, []string{"base DN"}},
		{"bad NetBIOS", Config{URLs: []string{"ldaps://dc1"}, NetBIOS: "CORP.EXAMPLE", BindDN: "r", Password: secret}, []string{"NetBIOS"}},
		{"negative timeout", Config{URLs: []string{"ldaps://dc1"}, BindDN: "r", Password: secret, Timeout: -1}, []string{"negative"}},
		{"missing CA file", Config{URLs: []string{"ldaps://dc1"}, BindDN: "r", Password: secret, CAFile: "testdata/nonexistent.pem"}, []string{"CA file"}},
		{"CA file without certificates", Config{URLs: []string{"ldaps://dc1"}, BindDN: "r", Password: secret, CAFile: corpFixture}, []string{"no PEM certificate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(t.Context(), tt.cfg, nil)
			if err == nil {
				t.Fatalf("New(%s) = nil error", tt.name)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("New: %v\nwant it to mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("New: error holds the password: %v", err)
			}
		})
	}

	// New does not dial: a server that is not there is not its concern.
	if _, err := New(t.Context(), Config{URLs: []string{refusingURL(t)}, BindDN: "r", Password: secret}, nil); err != nil {
		t.Errorf("New with an unreachable server: %v", err)
	}
}

func TestConfigLogValueHidesPassword(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("config", "directory", Config{URLs: []string{"ldaps://dc1"}, BindDN: "r", Password: secret})
	if strings.Contains(buf.String(), secret) || !strings.Contains(buf.String(), "ldaps://dc1") {
		t.Errorf("logged config: %s", buf.String())
	}
}

// refusingURL returns an ldap:// URL on which nothing listens.
func refusingURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "ldap://" + addr
}

// hungURL returns a URL (ldap or ldaps) of a server that accepts connections and
// never answers.
func hungURL(t *testing.T, scheme string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never read
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return scheme + "://" + ln.Addr().String()
}

// TestUnresponsiveServers: a server that refuses and one that accepts but never
// answers (on ldaps, TLS never starts; on ldap, StartTLS or the bind never
// returns) each cost at most the Timeout, and the error names every server tried.
func TestUnresponsiveServers(t *testing.T) {
	const timeout = 300 * time.Millisecond
	tests := []struct {
		name  string
		urls  func(t *testing.T) []string
		noTLS bool
	}{
		{"refused", func(t *testing.T) []string { return []string{refusingURL(t)} }, false},
		{"hung ldaps", func(t *testing.T) []string { return []string{hungURL(t, "ldaps")} }, false},
		{"hung StartTLS", func(t *testing.T) []string { return []string{hungURL(t, "ldap")} }, false},
		{"hung bind", func(t *testing.T) []string { return []string{hungURL(t, "ldap")} }, true},
		{"refused then hung", func(t *testing.T) []string { return []string{refusingURL(t), hungURL(t, "ldaps")} }, false},
	}
	ops := map[string]func(ctx context.Context, c *Client) error{
		"FindSPN":     func(ctx context.Context, c *Client) error { _, err := c.FindSPN(ctx, "MSSQLSvc/x:1433"); return err },
		"Account":     func(ctx context.Context, c *Client) error { _, err := c.Account(ctx, "svc"); return err },
		"CurrentTime": func(ctx context.Context, c *Client) error { _, err := c.CurrentTime(ctx); return err },
		"Scan": func(ctx context.Context, c *Client) error {
			_, err := c.ScanDuplicateSPNs(ctx, "", func(triage.SPNOwners) error { return nil })
			return err
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			urls := tt.urls(t)
			c, err := New(t.Context(), Config{URLs: urls, GCURLs: urls, BindDN: "r", Password: secret, InsecureNoTLS: tt.noTLS, Timeout: timeout}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for name, op := range ops {
				start := time.Now()
				err := op(t.Context(), c)
				took := time.Since(start)
				if err == nil {
					t.Fatalf("%s: no error", name)
				}
				if max := time.Duration(len(urls))*timeout + time.Second; took > max {
					t.Errorf("%s took %v; want at most %v", name, took, max)
				}
				for _, u := range urls {
					if !strings.Contains(err.Error(), u) {
						t.Errorf("%s: %v\nwant it to name %s", name, err, u)
					}
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("%s: error holds the password: %v", name, err)
				}
			}
		})
	}
}

// TestContextEndsOperation: a server that stops answering after the bind holds a
// caller no longer than the caller's context, even with a long Timeout.
func TestContextEndsOperation(t *testing.T) {
	fake := newFakeServer(t, corpFixture)
	fake.stall = func(int) bool { return true }
	c := newTestClient(t, fake, func(cfg *Config) { cfg.Timeout = time.Minute })
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.FindSPN(ctx, "MSSQLSvc/sqlok.corp.example:1433")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("FindSPN on a stalled server = %v; want context.DeadlineExceeded", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("FindSPN took %v after the context ended", took)
	}

	// A request timeout (the server stalls, the context does not end) is an error
	// within the Timeout too, and the stalled connection is not reused.
	c2 := newTestClient(t, fake, func(cfg *Config) { cfg.Timeout = 300 * time.Millisecond })
	start = time.Now()
	if _, err := c2.Account(t.Context(), "svc_sqlok"); err == nil {
		t.Error("Account on a stalled server: no error")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Account on a stalled server took %v", took)
	}
	if len(c2.dc.idle) != 0 {
		t.Error("a connection whose request timed out was kept for reuse")
	}
}

func TestFailover(t *testing.T) {
	const timeout = 500 * time.Millisecond
	fake := newFakeServer(t, corpFixture)
	hung := hungURL(t, "ldap")
	c := newTestClient(t, fake, func(cfg *Config) {
		cfg.URLs = []string{hung, fake.url}
		cfg.Timeout = timeout
	})
	start := time.Now()
	if _, err := c.Account(t.Context(), "svc_sqlok"); err != nil {
		t.Fatalf("Account with the first DC hung: %v", err)
	}
	if took := time.Since(start); took < timeout {
		t.Errorf("Account took %v; the hung DC should have cost the timeout", took)
	}
	// The DC that answered is tried first from now on, even for a new connection.
	c.dc.drain()
	c.dc.closed = false
	start = time.Now()
	if _, err := c.MaxPwdAge(t.Context()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > timeout/2 {
		t.Errorf("MaxPwdAge took %v; want the DC that answered last tried first", took)
	}
}

// TestBadCredentials: a refused bind is not retried on the next DC (every DC would
// refuse it, and each try counts towards the account's lockout), and neither the
// error nor the log holds the password.
func TestBadCredentials(t *testing.T) {
	first, second := newFakeServer(t, corpFixture), newFakeServer(t, corpFixture)
	var logs bytes.Buffer
	c, err := New(t.Context(), Config{
		URLs: []string{first.url, second.url}, BindDN: first.bindDN, Password: secret,
		InsecureNoTLS: true, Timeout: time.Second,
	}, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Account(t.Context(), "svc_sqlok")
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Errorf("Account with a wrong password = %v; want LDAP result 49", err)
	}
	if _, binds, _ := second.stats(); binds != 0 {
		t.Errorf("the second DC got %d binds; a refused bind must not fail over", binds)
	}
	for what, text := range map[string]string{"error": errString(err), "log": logs.String()} {
		if strings.Contains(text, secret) {
			t.Errorf("the %s holds the password: %s", what, text)
		}
	}
	if !strings.Contains(logs.String(), "ldap.url="+first.url) {
		t.Errorf("log does not name the server with ldap.url: %s", logs.String())
	}
}

func TestTLS(t *testing.T) {
	cert, caFile := testCert(t)
	tests := []struct {
		name    string
		opts    []fakeOption
		edit    func(*Config)
		wantErr string
	}{
		{name: "ldaps", opts: []fakeOption{withTLS(cert, true)}, edit: func(c *Config) { c.CAFile = caFile }},
		{name: "StartTLS", opts: []fakeOption{withTLS(cert, false)}, edit: func(c *Config) { c.CAFile = caFile }},
		{name: "ldaps, unknown CA", opts: []fakeOption{withTLS(cert, true)}, wantErr: "certificate"},
		{name: "StartTLS, unknown CA", opts: []fakeOption{withTLS(cert, false)}, wantErr: "certificate"},
		{name: "no StartTLS on the server", wantErr: "StartTLS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeServer(t, corpFixture, tt.opts...)
			c := newTestClient(t, fake, func(c *Config) {
				c.InsecureNoTLS = false
				if tt.edit != nil {
					tt.edit(c)
				}
			})
			_, err := c.Account(t.Context(), "svc_sqlok")
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Account: %v", err)
			case tt.wantErr != "" && !strings.Contains(errString(err), tt.wantErr):
				t.Errorf("Account = %v; want an error about %s", err, tt.wantErr)
			}
		})
	}
}

// TestConnectionReuse: calls share one bound connection while it is idle; Close
// closes it, and later calls fail.
func TestConnectionReuse(t *testing.T) {
	fake := newFakeServer(t, corpFixture)
	c := newTestClient(t, fake)
	for range 3 {
		if _, err := c.FindSPN(t.Context(), "MSSQLSvc/sqlok.corp.example:1433"); err != nil {
			t.Fatal(err)
		}
	}
	if _, binds, _ := fake.stats(); binds != 1 {
		t.Errorf("3 lookups made %d binds; want 1", binds)
	}
	// A connection the server dropped is replaced without the caller noticing.
	c.gc.idle[0].raw.Close()
	if _, err := c.FindSPN(t.Context(), "MSSQLSvc/sqlok.corp.example:1433"); err != nil {
		t.Errorf("FindSPN after the idle connection died: %v", err)
	}
	c.Close()
	if _, err := c.FindSPN(t.Context(), "MSSQLSvc/sqlok.corp.example:1433"); !errors.Is(err, errClosed) {
		t.Errorf("FindSPN after Close = %v; want %v", err, errClosed)
	}
}

// bulkLDIF returns n accounts holding one MSSQLSvc SPN each, where account i and
// account n-1-i share an SPN when i%dupEvery == 0.
func bulkLDIF(n, dupEvery int) string {
	var b strings.Builder
	for i := range n {
		host := i
		if j := n - 1 - i; j < i && j%dupEvery == 0 {
			host = j
		}
		fmt.Fprintf(&b, "dn: CN=svc%05d,OU=Bulk,DC=corp,DC=example\nobjectClass: top\nobjectClass: user\n"+
			"sAMAccountName: svc%05d\nobjectSid: S-1-5-21-1-2-3-%d\nservicePrincipalName: MSSQLSvc/sql%05d.corp.example:1433\n"+
			"servicePrincipalName: HOST/svc%05d\n\n", i, i, 5000+i, host, i)
	}
	return b.String()
}

func TestScanPages(t *testing.T) {
	fake := newFakeServerLDIF(t, strings.NewReader(bulkLDIF(2500, 500)))
	c := newTestClient(t, fake)
	var dups []string
	scanned, err := c.ScanDuplicateSPNs(t.Context(), "MSSQLSvc/", func(o triage.SPNOwners) error {
		dups = append(dups, fmt.Sprintf("%s %d", o.SPN, len(o.Owners)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"MSSQLSvc/sql00000.corp.example:1433 2", "MSSQLSvc/sql00500.corp.example:1433 2", "MSSQLSvc/sql01000.corp.example:1433 2"}
	if scanned != 2500 || fmt.Sprint(dups) != fmt.Sprint(want) {
		t.Errorf("scan = %d, %q; want 2500, %q", scanned, dups, want)
	}
	if filters, _, _ := fake.stats(); len(filters) < 3 {
		t.Errorf("scan made %d searches; want 3 pages of 1000", len(filters))
	}
}

// TestScanHonoursContext: a scan stops when its context ends, also while the
// server is stuck mid-scan.
func TestScanHonoursContext(t *testing.T) {
	fake := newFakeServerLDIF(t, strings.NewReader(bulkLDIF(2500, 500)))
	pages := 0
	fake.stall = func(int) bool { pages++; return pages >= 3 } // pages 1 and 2, then silence
	c := newTestClient(t, fake, func(cfg *Config) { cfg.Timeout = time.Minute })
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.ScanDuplicateSPNs(ctx, "", func(triage.SPNOwners) error { return nil })
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("scan on a stuck server = %v after %v; want context.DeadlineExceeded soon after 300ms", err, time.Since(start))
	}

	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if _, err := c.ScanDuplicateSPNs(ctx, "", func(triage.SPNOwners) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("scan with a cancelled context = %v; want context.Canceled", err)
	}
}

// TestRangeRetrieval: values beyond AD's MaxValRange are fetched, for lookups and
// for the scan.
func TestRangeRetrieval(t *testing.T) {
	fake := newFakeServer(t, corpFixture)
	fake.maxValRange = 3
	c := newTestClient(t, fake)
	dc, err := c.Account(t.Context(), "DC1$")
	if err != nil || len(dc.SPNs) != 20 {
		t.Errorf("Account(DC1$) = %d SPNs, %v; want 20", len(dc.SPNs), err)
	}
	owners, err := c.FindSPN(t.Context(), "ldap/dc1.corp.example/corp.example") // DC1's last SPN
	if err != nil || len(owners.Owners) != 1 {
		t.Errorf("FindSPN of DC1's last SPN = %v, %v; want DC1$", ids(owners.Owners), err)
	}
	var dups []string
	if _, err := c.ScanDuplicateSPNs(t.Context(), "", func(o triage.SPNOwners) error {
		dups = append(dups, o.SPN)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// HOST/oldsql.corp.example is the last of OLDSQL$'s 8 SPNs.
	if want := "[HOST/oldsql.corp.example MSSQLSvc/sqldup.corp.example:1433]"; fmt.Sprint(dups) != want {
		t.Errorf("scan with ranged values found %v; want %v", dups, want)
	}
}

// TestFiltersNeverWiden sends hostile input that passes validation and checks the
// filters the server received: each is the expected shape, with the input as the
// literal value of equality assertions, never a wildcard or a new clause.
func TestFiltersNeverWiden(t *testing.T) {
	fake := newFakeServer(t, corpFixture)
	c := newTestClient(t, fake)
	spns := []string{
		"MSSQLSvc/x)(servicePrincipalName=MSSQLSvc/sqlok.corp.example:1433",
		"MSSQLSvc/x)(|(objectClass=user)",
		`MSSQLSvc/x\2a`,
		`MSSQLSvc/x\`,
		"MSSQLSvc/x)(&",
	}
	for _, spn := range spns {
		got, err := c.FindSPN(t.Context(), spn)
		if err != nil || len(got.Owners) != 0 {
			t.Errorf("FindSPN(%q) = %v, %v; want no owners", spn, ids(got.Owners), err)
		}
	}
	accounts := []string{`svc\00`, "svc(x)@corp.example", "a)(sAMAccountName=svc_sqlok", `svc_sqlok\29`}
	for _, name := range accounts {
		if a, err := c.Account(t.Context(), name); err == nil {
			t.Errorf("Account(%q) = %s; want no account", name, a.DN)
		}
	}
	filters, _, _ := fake.stats()
	for _, f := range filters {
		p, err := ldap.CompileFilter(f)
		if err != nil {
			t.Errorf("server got filter %q that does not compile: %v", f, err)
			continue
		}
		for _, node := range filterNodes(p) {
			if node.Tag == ldap.FilterSubstrings {
				t.Errorf("server got filter %q with a wildcard", f)
			}
			if node.Tag == ldap.FilterPresent && !strings.EqualFold(node.Data.String(), "objectClass") &&
				!strings.EqualFold(node.Data.String(), "nETBIOSName") {
				t.Errorf("server got filter %q with a presence test", f)
			}
		}
	}
	// The SPN lookups reached the server as single equality tests of the literal SPN.
	for _, spn := range spns {
		want := "(servicePrincipalName=" + ldap.EscapeFilter(spn) + ")"
		if !containsFold(filters, want) {
			t.Errorf("no filter %q among %q", want, filters)
		}
		p, _ := ldap.CompileFilter(want)
		if p.Tag != ldap.FilterEqualityMatch || p.Children[1].Data.String() != spn {
			t.Errorf("filter %q is not one equality test of %q", want, spn)
		}
	}
}

func filterNodes(p *ber.Packet) []*ber.Packet {
	out := []*ber.Packet{p}
	if p.Tag == ldap.FilterAnd || p.Tag == ldap.FilterOr || p.Tag == ldap.FilterNot {
		for _, c := range p.Children {
			out = append(out, filterNodes(c)...)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func TestCurrentTime(t *testing.T) {
	fake := newFakeServer(t, corpFixture)
	fake.rootDSE["currenttime"] = []string{time.Now().Add(time.Hour).UTC().Format("20060102150405.0Z")}
	c := newTestClient(t, fake)
	r, err := c.CurrentTime(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if d := r.Skew - time.Hour; d < -2*time.Second || d > 2*time.Second {
		t.Errorf("CurrentTime skew = %v; want about 1h", r.Skew)
	}
	if r.Source != "dc1.corp.example (rootDSE currentTime)" {
		t.Errorf("CurrentTime source = %q", r.Source)
	}
}

func TestProbeDCs(t *testing.T) {
	fake := newFakeServer(t, corpFixture)
	refused := refusingURL(t)
	c := newTestClient(t, fake, func(cfg *Config) {
		cfg.URLs = []string{fake.url, refused}
		cfg.Timeout = time.Second
	})
	probes := c.ProbeDCs(t.Context())
	if len(probes) != 2 {
		t.Fatalf("ProbeDCs = %+v; want 2 probes", probes)
	}
	ok, bad := probes[0], probes[1]
	if ok.Err != "" || ok.Latency <= 0 || ok.Address != strings.TrimPrefix(fake.url, "ldap://") || ok.Via != "config" {
		t.Errorf("probe of the working DC = %+v", ok)
	}
	if bad.Err == "" || bad.Latency != 0 {
		t.Errorf("probe of the refusing DC = %+v; want an error", bad)
	}
}

// TestConcurrentUse: a Client serves concurrent callers, each on a connection of
// its own or the idle one.
func TestConcurrentUse(t *testing.T) {
	fake := newFakeServer(t, corpFixture)
	c := newTestClient(t, fake)
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 20 {
		wg.Go(func() {
			if i%2 == 0 {
				got, err := c.FindSPN(t.Context(), "MSSQLSvc/sqldup.corp.example:1433")
				if err == nil && len(got.Owners) != 2 {
					err = fmt.Errorf("FindSPN found %v", ids(got.Owners))
				}
				errs <- err
				return
			}
			_, err := c.Account(t.Context(), `CORP\svc_sqlok`)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
