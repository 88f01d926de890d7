package agent_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/triage"
)

// pki is a CA with its server and client certificates, made by GenerateCerts.
type pki struct{ dir string }

// newPKI makes a CA, a server certificate for 127.0.0.1 and localhost, and a client
// certificate per name.
func newPKI(t testing.TB, clients ...string) pki {
	t.Helper()
	dir := t.TempDir()
	if err := agent.GenerateCerts(dir, []string{"127.0.0.1", "localhost"}, clients, time.Hour); err != nil {
		t.Fatal(err)
	}
	return pki{dir}
}

func (p pki) path(name string) string { return filepath.Join(p.dir, name) }

func (p pki) serverTLS(t testing.TB) *tls.Config {
	t.Helper()
	cfg, err := agent.ServerTLS(t.Context(), p.path("server.pem"), p.path("server-key.pem"), p.path("ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// fakeCheck is a check whose behaviour the test chooses.
type fakeCheck struct {
	name string
	run  func(ctx context.Context) (triage.Result, error)
}

func (c fakeCheck) Name() string { return c.name }
func (c fakeCheck) Run(ctx context.Context, _ triage.Target) (triage.Result, error) {
	return c.run(ctx)
}

// returns makes a check that returns res and err at once.
func returns(name string, res triage.Result, err error) fakeCheck {
	return fakeCheck{name, func(context.Context) (triage.Result, error) { return res, err }}
}

// logResult is a result with one ERRORLOG event of message number id.
func logResult(detail string, id int) triage.Result {
	at := time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC)
	return triage.Result{Detail: detail, Obs: triage.Observations{Logs: []triage.LogEvent{{
		Source: triage.SourceErrorlog, Log: "ERRORLOG", ID: id, State: 14, Code: "0x80090311",
		Count: 3, First: at, Last: at.Add(time.Minute), Clients: []string{"10.0.0.7"},
	}}}}
}

// logBuffer collects slog output and tells of each write; safe for concurrent use.
type logBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{} // closed at the next write; nil when nobody waits
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wrote != nil {
		close(l.wrote)
		l.wrote = nil
	}
	return l.b.Write(p)
}

// next returns a channel closed at the next write.
func (l *logBuffer) next() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.wrote == nil {
		l.wrote = make(chan struct{})
	}
	return l.wrote
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// records returns the JSON log records whose message is msg.
func (l *logBuffer) records(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(l.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// waitLog waits until the log satisfies cond, looking again at each write: records are
// written after the response has gone. It fails the test when the log stays silent for
// 10 seconds, which only a broken agent does.
func waitLog(t *testing.T, log *logBuffer, what string, cond func(log string) bool) {
	t.Helper()
	for {
		wrote := log.next() // before looking, so that no write is missed
		if cond(log.String()) {
			return
		}
		select {
		case <-wrote:
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s in the log:\n%s", what, log)
		}
	}
}

// waitRequests waits until the audit log has n request records and returns them.
func waitRequests(t *testing.T, log *logBuffer, n int) []map[string]any {
	t.Helper()
	waitLog(t, log, "audit records", func(string) bool { return len(log.records("request")) >= n })
	return log.records("request")
}

func newLogger(w *logBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// trackingListener remembers its connections so a test can cut them, as a killed agent
// would, tells when it is closed, and counts the writes to its connections.
type trackingListener struct {
	net.Listener
	mu        sync.Mutex
	conns     []net.Conn
	closed    chan struct{}
	closeOnce sync.Once
	writes    int           // to every connection, under mu
	wrote     chan struct{} // closed at the next write; nil when nobody waits
}

// countingConn tells its listener of each write.
type countingConn struct {
	net.Conn
	l *trackingListener
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.l.mu.Lock()
	c.l.writes++
	if c.l.wrote != nil {
		close(c.l.wrote)
		c.l.wrote = nil
	}
	c.l.mu.Unlock()
	return n, err
}

// writeCount returns how many writes the listener's connections have had.
func (l *trackingListener) writeCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.writes
}

// awaitWrites waits until the listener's connections have had n writes, and reports
// whether they have: false when stop is closed first, or after 10 seconds without a
// write. It may be called from any goroutine.
func (l *trackingListener) awaitWrites(n int, stop <-chan struct{}) bool {
	for {
		l.mu.Lock()
		if l.writes >= n {
			l.mu.Unlock()
			return true
		}
		if l.wrote == nil {
			l.wrote = make(chan struct{})
		}
		wrote := l.wrote
		l.mu.Unlock()
		select {
		case <-wrote:
		case <-stop:
			return false
		case <-time.After(10 * time.Second):
			return false
		}
	}
}

func (l *trackingListener) Close() error {
	err := l.Listener.Close()
	l.closeOnce.Do(func() { close(l.closed) })
	return err
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	c = countingConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns = append(l.conns, c)
	l.mu.Unlock()
	return c, nil
}

// accepted returns how many connections the listener has accepted.
func (l *trackingListener) accepted() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// cutConns closes every connection accepted so far.
func (l *trackingListener) cutConns() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
}

// testAgent is a real agent serving TLS on loopback.
type testAgent struct {
	url   string
	pki   pki
	log   *logBuffer
	ln    *trackingListener
	calls atomic.Int32 // how many times the agent built a host's checks
	done  chan error   // Serve's result
	stop  context.CancelFunc
}

// kill closes the agent's listener and every connection, as if its process died.
func (a *testAgent) kill() {
	a.ln.Close()
	a.ln.cutConns()
}

// startAgent starts an agent for host sqlhost01 that allows clients "bot" and
// "bot2" and runs the given checks; edit may change its configuration.
func startAgent(t testing.TB, p pki, checks func() []triage.Check, edit func(*agent.ServerConfig)) *testAgent {
	t.Helper()
	a := &testAgent{pki: p, log: &logBuffer{}, done: make(chan error, 1)}
	cfg := agent.ServerConfig{
		Hosts: map[string]triage.Target{"sqlhost01": {Host: "sqlhost01", FQDN: "sqlhost01.corp.example"}},
		Checks: func(triage.Target, time.Duration) []triage.Check {
			a.calls.Add(1)
			return checks()
		},
		AllowedClients: []string{"bot", "bot2"},
		Version:        "test-1",
		Deadline:       10 * time.Second,
		CheckTimeout:   5 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	srv, err := agent.NewServer(cfg, newLogger(a.log))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.ln = &trackingListener{Listener: ln, closed: make(chan struct{})}
	a.url = "https://" + ln.Addr().String()
	ctx, stop := context.WithCancel(context.Background())
	a.stop = stop
	go func() { a.done <- srv.Serve(ctx, a.ln, p.serverTLS(t)) }()
	t.Cleanup(func() {
		stop()
		a.kill()
		select {
		case <-a.done:
		case <-time.After(15 * time.Second):
			t.Error("Serve did not return after its context ended")
		}
	})
	return a
}

// newClient returns a client of the agent at url with client certificate name.
func newClient(t testing.TB, p pki, url, name string, timeout time.Duration) *agent.Client {
	t.Helper()
	c, err := agent.NewClient(t.Context(), agent.ClientConfig{
		Name: "agent-test", URL: url,
		CertFile: p.path(name + ".pem"), KeyFile: p.path(name + "-key.pem"), CAFile: p.path("ca.pem"),
		Timeout: timeout,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// rawClient returns an HTTP client trusting p's CA and presenting the certificate of
// client name from certs (none when name is "").
func rawClient(t *testing.T, p pki, certs pki, name string) *http.Client {
	t.Helper()
	ca, err := os.ReadFile(p.path("ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if name != "" {
		cert, err := tls.LoadX509KeyPair(certs.path(name+".pem"), certs.path(name+"-key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 10 * time.Second}
}

// ruleFunc is a rule made of a function.
type ruleFunc func(triage.Observations) []triage.Finding

func (ruleFunc) Name() string { return "test" }
func (f ruleFunc) Apply(_ triage.Target, obs triage.Observations) []triage.Finding {
	return f(obs)
}

// capture returns a rule that keeps the observations the runner merged.
func capture(into *triage.Observations) triage.Rule {
	return ruleFunc(func(obs triage.Observations) []triage.Finding {
		*into = obs
		return nil
	})
}

// blocker is a check that waits until released or its context ends. It runs once.
type blocker struct {
	name     string
	started  chan struct{} // closed when it runs
	release  chan struct{} // closed by the test to let it return
	canceled chan struct{} // closed when it returns because its context ended
}

func newBlocker(name string) *blocker {
	return &blocker{name: name, started: make(chan struct{}), release: make(chan struct{}), canceled: make(chan struct{})}
}

func (b *blocker) Name() string { return b.name }
func (b *blocker) Run(ctx context.Context, _ triage.Target) (triage.Result, error) {
	close(b.started)
	select {
	case <-b.release:
		return triage.Result{Detail: "released"}, nil
	case <-ctx.Done():
		close(b.canceled)
		return triage.Result{}, ctx.Err()
	}
}

// await waits for ch to close; it fails the test after 10 seconds, which only a broken
// agent or client takes.
func await(t *testing.T, what string, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

var errBoom = errors.New("boom: access denied")
