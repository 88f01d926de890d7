package kerberos_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/authtriage/authtriage/sources/kerberos"
)

const testPassword = "S3cret!do-not-print"

func TestNewRejects(t *testing.T) {
	dir := t.TempDir()
	otherKeytab := writeKeytab(t, dir, "someone_else", "CORP.TEST")
	noKDCConf := writeFile(t, dir, "nokdc.conf", "[libdefaults]\n default_realm = CORP.TEST\n")
	badConf := writeFile(t, dir, "bad.conf", "[libdefaults]\n dns_lookup_kdc = maybe\n")

	ok := kerberos.Config{Realm: "CORP.TEST", KDCs: []string{"127.0.0.1:88"}, Principal: "authtriage_ro", Password: testPassword}
	tests := []struct {
		name    string
		change  func(*kerberos.Config)
		wantErr string
	}{
		{"no realm", func(c *kerberos.Config) { c.Realm = "" }, "no realm"},
		{"realm with newline", func(c *kerberos.Config) { c.Realm = "CORP.TEST\n[libdefaults]" }, "realm"},
		{"no principal", func(c *kerberos.Config) { c.Principal = "" }, "no principal"},
		{"principal with realm", func(c *kerberos.Config) { c.Principal = "authtriage_ro@CORP.TEST" }, "without @realm"},
		{"principal with control character", func(c *kerberos.Config) { c.Principal = "a\x00b" }, "control character"},
		{"no credentials", func(c *kerberos.Config) { c.Password = "" }, "no credentials"},
		{"two credentials", func(c *kerberos.Config) { c.Keytab = otherKeytab }, "both a keytab and a password"},
		{"negative timeout", func(c *kerberos.Config) { c.Timeout = -time.Second }, "negative timeout"},
		{"bad KDC port", func(c *kerberos.Config) { c.KDCs = []string{"dc1:0"} }, "port not in 1-65535"},
		{"KDC with space", func(c *kerberos.Config) { c.KDCs = []string{"dc1 dc2"} }, "space"},
		{"KDC without host", func(c *kerberos.Config) { c.KDCs = []string{":88"} }, "no host"},
		{"missing keytab", func(c *kerberos.Config) { c.Password, c.Keytab = "", filepath.Join(dir, "none.keytab") }, "read keytab"},
		{"keytab for someone else", func(c *kerberos.Config) { c.Password, c.Keytab = "", otherKeytab }, "only for someone_else@CORP.TEST"},
		{"missing krb5.conf", func(c *kerberos.Config) { c.Krb5Conf = filepath.Join(dir, "none.conf") }, "read krb5.conf"},
		{"bad krb5.conf", func(c *kerberos.Config) { c.Krb5Conf = badConf }, "invalid boolean value"},
		{"krb5.conf without KDC", func(c *kerberos.Config) { c.KDCs, c.Krb5Conf = nil, noKDCConf }, "no KDC for realm CORP.TEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.change(&cfg)
			_, err := kerberos.New(t.Context(), cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New(%v) = %v; want error containing %q", cfg, err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Errorf("New error %q holds the password", err)
			}
		})
	}
}

func TestNewAccepts(t *testing.T) {
	dir := t.TempDir()
	kt := writeKeytab(t, dir, "authtriage_ro", "CORP.TEST")
	conf := writeFile(t, dir, "krb5.conf", `[libdefaults]
	default_realm = CORP.TEST
	dns_lookup_kdc = false
	udp_preference_limit = 1
	default_tgs_enctypes = aes256-cts-hmac-sha1-96
	some_mit_only_setting = true
[realms]
	CORP.TEST = {
		kdc = 127.0.0.1:88
	}
`)
	tests := []struct {
		name string
		cfg  kerberos.Config
	}{
		{"password and KDC", kerberos.Config{Realm: "CORP.TEST", KDCs: []string{"dc1.corp.test"}, Principal: "authtriage_ro", Password: testPassword}},
		{"IPv6 KDC", kerberos.Config{Realm: "CORP.TEST", KDCs: []string{"[::1]:88", "::1"}, Principal: "authtriage_ro", Password: testPassword}},
		{"keytab", kerberos.Config{Realm: "CORP.TEST", KDCs: []string{"127.0.0.1"}, Principal: "authtriage_ro", Keytab: kt}},
		{"realm from krb5.conf", kerberos.Config{Krb5Conf: conf, Principal: "authtriage_ro", Keytab: kt}},
		{"KDC from DNS", kerberos.Config{Realm: "CORP.TEST", Principal: "authtriage_ro", Password: testPassword}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := kerberos.New(t.Context(), tt.cfg, nil); err != nil {
				t.Errorf("New(%v) = %v; want nil", tt.cfg, err)
			}
		})
	}
}

func TestConfigHidesPassword(t *testing.T) {
	cfg := kerberos.Config{Realm: "CORP.TEST", KDCs: []string{"127.0.0.1:88"}, Principal: "authtriage_ro", Password: testPassword}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", cfg)
	tester, err := kerberos.New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%v", &cfg), logged.String(),
		fmt.Sprint(tester), fmt.Sprintf("%+v", tester),
	} {
		if strings.Contains(s, testPassword) {
			t.Errorf("password printed: %s", s)
		}
	}
	if !strings.Contains(logged.String(), `"principal":"authtriage_ro"`) {
		t.Errorf("logged config %s lacks the principal", logged.String())
	}
}

func TestTicketsRejectsBadSPNsBeforeAnyExchange(t *testing.T) {
	kdc := newFakeKDC(t, answerKRBError(7, ""))
	tester, _ := newTester(t, kdc.addr, time.Second)

	res, err := tester.Tickets(t.Context(), []string{"MSSQLSvc/sql01.corp.test:1433", "MSSQLSvc/bad\x00host", "nohost"})
	if err == nil || res != nil {
		t.Fatalf("Tickets with bad SPNs = %v, %v; want nil results and an error", res, err)
	}
	for _, want := range []string{`"MSSQLSvc/bad\x00host"`, `"nohost"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Tickets error %q does not name %s", err, want)
		}
	}
	var le *kerberos.LoginError
	if errors.As(err, &le) {
		t.Errorf("Tickets error for bad SPNs is a *LoginError: %v", err)
	}
	if n := kdc.requests(); n != 0 {
		t.Errorf("KDC got %d requests; want none", n)
	}
}

func TestTicketsLoginRefused(t *testing.T) {
	tests := []struct {
		name     string
		code     int32
		etext    string
		wantName string
	}{
		{"unknown principal", 6, "", "KDC_ERR_C_PRINCIPAL_UNKNOWN"},
		{"revoked", 18, "", "KDC_ERR_CLIENT_REVOKED"},
		{"password expired", 23, "", "KDC_ERR_KEY_EXPIRED"},
		{"skew", 37, "", "KRB_AP_ERR_SKEW"},
		{"hostile e-text", 12, "\x1b[2J\nlogon\u009bhours\r", "KDC_ERR_POLICY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kdc := newFakeKDC(t, answerKRBError(tt.code, tt.etext))
			tester, logs := newTester(t, kdc.addr, 5*time.Second)

			res, err := tester.Tickets(t.Context(), []string{"MSSQLSvc/sqlok.corp.test:1433"})
			var le *kerberos.LoginError
			if !errors.As(err, &le) {
				t.Fatalf("Tickets = %v, %v; want a *LoginError", res, err)
			}
			if res != nil {
				t.Errorf("Tickets results = %v; want none after a failed login", res)
			}
			if le.Code != int(tt.code) || le.CodeName != tt.wantName || le.Principal != "authtriage_ro@CORP.TEST" {
				t.Errorf("LoginError = {%q %d %q}; want {authtriage_ro@CORP.TEST %d %q}", le.Principal, le.Code, le.CodeName, tt.code, tt.wantName)
			}
			if code, name, ok := kerberos.ParseKDCError(errors.New(err.Error())); !ok || code != int(tt.code) || name != tt.wantName {
				t.Errorf("ParseKDCError(text of %v) = %d, %q, %v; want %d, %q, true", err, code, name, ok, tt.code, tt.wantName)
			}
			msg := err.Error()
			if strings.ContainsFunc(msg, unicode.IsControl) {
				t.Errorf("LoginError text %q holds a control character", msg)
			}
			if !strings.HasPrefix(msg, "get TGT for authtriage_ro@CORP.TEST: KRB Error: ") {
				t.Errorf("LoginError text = %q; want it to start with the TGT and the KRB error", msg)
			}
			if strings.Contains(msg, testPassword) {
				t.Errorf("LoginError text %q holds the password", msg)
			}
			if l := logs.String(); !strings.Contains(l, "kerberos login failed") || strings.Contains(l, testPassword) {
				t.Errorf("log = %q; want the failed login, without the password", l)
			}
		})
	}
}

func TestTicketsKDCRefusesConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	tester, _ := newTester(t, addr, 5*time.Second)

	begin := time.Now()
	_, err = tester.Tickets(t.Context(), []string{"MSSQLSvc/sqlok.corp.test:1433"})
	var le *kerberos.LoginError
	if !errors.As(err, &le) || le.Code != 0 {
		t.Fatalf("Tickets against a closed port = %v; want a *LoginError without a code", err)
	}
	if !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Tickets error %q does not say the connection was refused", err)
	}
	if took := time.Since(begin); took > 3*time.Second {
		t.Errorf("Tickets took %v against a closed port", took)
	}
}

func TestTicketsKDCNeverAnswers(t *testing.T) {
	kdc := newFakeKDC(t, hang)
	const timeout = 300 * time.Millisecond
	tester, logs := newTester(t, kdc.addr, timeout)

	begin := time.Now()
	_, err := tester.Tickets(t.Context(), []string{"MSSQLSvc/sqlok.corp.test:1433"})
	took := time.Since(begin)
	if !runnerRunning() {
		t.Fatal("no runner goroutine left behind by the abandoned call; is runnerFrame still the runner's function?")
	}
	var le *kerberos.LoginError
	if !errors.As(err, &le) || le.Code != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Tickets against a silent KDC = %v; want a *LoginError wrapping context.DeadlineExceeded", err)
	}
	if took < timeout || took > timeout+2*time.Second {
		t.Errorf("Tickets returned after %v; want about %v", took, timeout)
	}
	want := "get TGT for authtriage_ro@CORP.TEST: no answer from the KDC within 300ms"
	if err.Error() != want {
		t.Errorf("Tickets error = %q; want %q", err, want)
	}
	// The abandoned gokrb5 call ends by its own 5 s read deadline; the runner
	// then destroys the client, which gokrb5 logs, and exits.
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	if err := logs.waitFor(ctx, "client destroyed"); err != nil {
		t.Fatalf("the abandoned call's client was never destroyed: %v; log:\n%s", err, logs)
	}
	waitNoRunner(t, 5*time.Second)
}

func TestTicketsContextDoneDuringLogin(t *testing.T) {
	kdc := newFakeKDC(t, hang)
	tester, _ := newTester(t, kdc.addr, time.Hour)

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	_, err := tester.Tickets(ctx, []string{"MSSQLSvc/sqlok.corp.test:1433"})
	var le *kerberos.LoginError
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &le) {
		t.Errorf("Tickets with an expiring context = %v; want the context's error, not a *LoginError", err)
	}
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if _, err := tester.Tickets(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Tickets with a cancelled context = %v; want context.Canceled", err)
	}
}

func TestTicketsConcurrentCalls(t *testing.T) {
	kdc := newFakeKDC(t, answerKRBError(6, ""))
	tester, _ := newTester(t, kdc.addr, 5*time.Second)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, err := tester.Tickets(t.Context(), []string{"MSSQLSvc/sqlok.corp.test:1433"})
			var le *kerberos.LoginError
			if !errors.As(err, &le) || le.Code != 6 {
				t.Errorf("Tickets = %v; want a *LoginError with code 6", err)
			}
		})
	}
	wg.Wait()
}

// newTester returns a Tester for authtriage_ro@CORP.TEST with a password, asking kdc.
// Its log goes to a buffer: an abandoned gokrb5 call may log after the test has ended.
func newTester(t *testing.T, kdc string, timeout time.Duration) (*kerberos.Tester, *syncBuffer) {
	t.Helper()
	logs := new(syncBuffer)
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tester, err := kerberos.New(t.Context(), kerberos.Config{
		Realm:     "CORP.TEST",
		KDCs:      []string{kdc},
		Principal: "authtriage_ro",
		Password:  testPassword,
		Timeout:   timeout,
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	return tester, logs
}

// A fakeKDC is a TCP listener on 127.0.0.1 that handles each connection with a
// function: it answers with a KRB-ERROR or never answers.
type fakeKDC struct {
	addr string
	mu   sync.Mutex
	n    int
}

func (k *fakeKDC) requests() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.n
}

// newFakeKDC starts a fake KDC that serves every connection with serve until the test
// ends; the test waits for its goroutines.
func newFakeKDC(t *testing.T, serve func(ctx context.Context, conn net.Conn)) *fakeKDC {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k := &fakeKDC{addr: ln.Addr().String()}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			k.mu.Lock()
			k.n++
			k.mu.Unlock()
			wg.Go(func() {
				defer conn.Close()
				stop := context.AfterFunc(ctx, func() { conn.Close() })
				defer stop()
				serve(ctx, conn)
			})
		}
	})
	return k
}

// answerKRBError returns a handler that reads one request and answers it with a
// KRB-ERROR of code with e-text etext.
func answerKRBError(code int32, etext string) func(context.Context, net.Conn) {
	return func(_ context.Context, conn net.Conn) {
		if _, err := readKDCMessage(conn); err != nil {
			return
		}
		sname := types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", "CORP.TEST"}}
		krbErr := messages.NewKRBError(sname, "CORP.TEST", code, etext)
		b, err := krbErr.Marshal()
		if err != nil {
			panic(err)
		}
		writeKDCMessage(conn, b)
	}
}

// readKDCMessage reads one Kerberos message as sent over TCP: a 4-byte big-endian length
// and the message (RFC 4120 7.2.2).
func readKDCMessage(r io.Reader) ([]byte, error) {
	var size uint32
	if err := binary.Read(r, binary.BigEndian, &size); err != nil {
		return nil, err
	}
	if size > 1<<20 {
		return nil, fmt.Errorf("message of %d bytes", size)
	}
	b := make([]byte, size)
	_, err := io.ReadFull(r, b)
	return b, err
}

func writeKDCMessage(w io.Writer, b []byte) error {
	return binary.Write(w, binary.BigEndian, append(binary.BigEndian.AppendUint32(nil, uint32(len(b))), b...))
}

// hang accepts a request and never answers it.
func hang(ctx context.Context, conn net.Conn) {
	io.Copy(io.Discard, conn) // returns when the client gives up or the test ends
}

// runnerFrame is in the stack of a runner's goroutine (startRunner's closure).
const runnerFrame = "github.com/authtriage/authtriage/sources/kerberos.startRunner"

// stacks returns every goroutine's stack.
func stacks() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}

// runnerRunning reports whether a goroutine of this package's runner is there.
func runnerRunning() bool { return strings.Contains(stacks(), runnerFrame) }

// waitNoRunner waits, at most limit, until no goroutine of this package's
// runner is left. The runner tells no one when its goroutine is gone, so this
// is a bounded poll of the goroutines' stacks: call it once the runner has
// done its last work (its cleanup ran), when only its return is left.
func waitNoRunner(t *testing.T, limit time.Duration) {
	t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for runnerRunning() {
		select {
		case <-deadline.C:
			t.Fatalf("a runner goroutine is still there after %v:\n%s", limit, stacks())
		case <-time.After(time.Millisecond):
		}
	}
}

func writeKeytab(t *testing.T, dir, principal, realm string) string {
	t.Helper()
	kt := keytab.New()
	if err := kt.AddEntry(principal, realm, testPassword, time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	b, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, principal+".keytab", string(b))
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A syncBuffer is a bytes.Buffer safe for concurrent use, which tells a
// waiter of each write (waitFor).
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // closed and replaced at each write; nil until waited on
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.written != nil {
		close(b.written)
		b.written = nil
	}
	return b.buf.Write(p)
}

// waitFor waits until what is written holds s, or returns ctx's error.
func (b *syncBuffer) waitFor(ctx context.Context, s string) error {
	for {
		b.mu.Lock()
		found := strings.Contains(b.buf.String(), s)
		if b.written == nil {
			b.written = make(chan struct{})
		}
		written := b.written
		b.mu.Unlock()
		if found {
			return nil
		}
		select {
		case <-written:
		case <-ctx.Done():
			return fmt.Errorf("no %q in the log: %w", s, ctx.Err())
		}
	}
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
