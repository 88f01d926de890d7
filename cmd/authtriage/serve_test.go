package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authtriage/authtriage/internal/slackfake"
)

// lockedBuffer is an io.Writer that several goroutines may write and a test
// read, and that tells a waiter of each write (see waitLog).
type lockedBuffer struct {
	mu      sync.Mutex
	b       strings.Builder
	written chan struct{} // closed at the next write; nil until someone waits
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.written != nil {
		close(l.written)
		l.written = nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// next returns what was written so far and a channel closed at the next write.
func (l *lockedBuffer) next() (string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.written == nil {
		l.written = make(chan struct{})
	}
	return l.b.String(), l.written
}

// A logLine is what the tests read of a JSON log line.
type logLine struct{ Msg, Server, Addr string }

// waitLog waits, at most 10 s, for a JSON log line in logs that match accepts,
// and returns it. what says what it waits for, in the failure.
func waitLog(t *testing.T, logs *lockedBuffer, what string, match func(logLine) bool) logLine {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		text, written := logs.next()
		sc := bufio.NewScanner(strings.NewReader(text))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var line logLine
			if json.Unmarshal(sc.Bytes(), &line) == nil && match(line) {
				return line
			}
		}
		select {
		case <-written:
		case <-timeout.C:
			t.Fatalf("no log line %s within 10 s; logs:\n%s", what, text)
		}
	}
}

// waitMsg waits for a log line whose message is msg.
func waitMsg(t *testing.T, logs *lockedBuffer, msg string) {
	t.Helper()
	waitLog(t, logs, strconv.Quote(msg), func(l logLine) bool { return l.Msg == msg })
}

// listenAddr waits for serve's "listening" log line of server name and returns
// the address.
func listenAddr(t *testing.T, logs *lockedBuffer, name string) string {
	t.Helper()
	return waitLog(t, logs, "saying that "+name+" listens", func(l logLine) bool {
		return l.Msg == "listening" && l.Server == name
	}).Addr
}

// TestServeHTTPMode runs `authtriage serve` in HTTP mode against a fake Slack with
// the demo host's evidence in its inventory: a signed slash command is answered at
// once, and the diagnosis thread of the real triage follows, with its fixes and
// Learn links; /readyz and /metrics answer; SIGTERM-like cancellation stops it
// cleanly.
func TestServeHTTPMode(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	dir := t.TempDir()
	abs := func(p string) string {
		a, err := filepath.Abs(filepath.Join("..", "..", p))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	cfg := `
defaults: {since: 24h}
slack:
  mode: http
  bot_token: xoxb-test
  signing_secret: ${SIGNING_SECRET}
  listen: 127.0.0.1:0
  ops_listen: 127.0.0.1:0
  api_url: ` + fake.APIURL() + `
access:
  - commands: ["*"]
    channels: [C0INCIDENT]
store:
  driver: sqlite
  path: ` + filepath.Join(dir, "authtriage.db") + `
hosts:
  - name: sqlhost01
    fqdn: sqlhost01.corp.example
    service_account: CORP\svc_sql01
    errorlog: ` + abs("internal/demo/sqlhost01/ERRORLOG") + `
    events: [` + abs("internal/demo/sqlhost01/System.xml") + `]
`
	path := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	const secret = "0123456789abcdef0123456789abcdef"
	logs := &lockedBuffer{}
	e := env{
		getenv: func(k string) string { return map[string]string{"SIGNING_SECRET": secret}[k] },
		stdout: io.Discard, stderr: logs,
		now: demoNow, // the demo's incident is "now", so the 24 h window holds it
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- e.run(ctx, []string{"serve", "--config", path}) }()
	defer func() {
		cancel()
		select {
		case code := <-done:
			if code != exitOK {
				t.Errorf("serve exited %d; want 0 after cancellation. Logs:\n%s", code, logs.String())
			}
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop within 15 s of cancellation")
		}
		if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), "xoxb-test") {
			t.Error("a secret appears in serve's logs")
		}
	}()
	slackAddr, opsAddr := listenAddr(t, logs, "slack"), listenAddr(t, logs, "ops")
	waitMsg(t, logs, "bot accepting requests")

	resp, err := http.Get("http://" + opsAddr + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/readyz = %v, %v; want 200", resp, err)
	}
	resp.Body.Close()

	body := url.Values{"command": {"/authtriage"}, "text": {"check sqlhost01"}, "user_id": {"U0DBA"},
		"channel_id": {"C0INCIDENT"}, "trigger_id": {"t.1"}, "response_url": {fake.ResponseURL("r")}}.Encode()
	req, _ := http.NewRequest(http.MethodPost, "http://"+slackAddr+"/slack/commands", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	slackfake.Sign(req, []byte(body), secret, time.Now())
	began := time.Now()
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ack, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Logf("acknowledged in %s", time.Since(began))
	if resp.StatusCode != 200 || !strings.Contains(string(ack), "Checking *sqlhost01*") {
		t.Fatalf("ack = %d %s", resp.StatusCode, ack)
	}

	wctx, wcancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer wcancel()
	// The verdict on the parent, then the findings in its thread.
	updates, err := fake.WaitCalls(wctx, "chat.update", 1)
	for err == nil && !strings.Contains(updates[len(updates)-1].Params.Get("blocks"), "CRITICAL") &&
		!strings.Contains(updates[len(updates)-1].Params.Get("blocks"), "critical") {
		updates, err = fake.WaitCalls(wctx, "chat.update", len(updates)+1)
	}
	if err != nil {
		t.Fatalf("no verdict: %v; logs:\n%s", err, logs.String())
	}
	parentTS := updates[len(updates)-1].Params.Get("ts")
	thread := func(posts []slackfake.Call) string {
		var b strings.Builder
		for _, c := range posts {
			if c.Params.Get("thread_ts") == parentTS {
				b.WriteString(c.Params.Get("blocks"))
			}
		}
		return b.String()
	}
	// The thread's replies, up to the one with the checks.
	posts, err := fake.WaitCalls(wctx, "chat.postMessage", 1)
	for err == nil && !strings.Contains(thread(posts), "Checks") && !strings.Contains(thread(posts), "checks") {
		posts, err = fake.WaitCalls(wctx, "chat.postMessage", len(posts)+1)
	}
	if err != nil {
		t.Fatalf("no reply with the checks in the thread: %v; thread:\n%s", err, thread(posts))
	}
	for _, want := range []string{"dc.unreachable", "lsa.unresponsive", "0x80090311", "https://learn.microsoft.com/"} {
		if !strings.Contains(thread(posts), want) {
			t.Errorf("the thread lacks %q", want)
		}
	}

	resp, err = http.Get("http://" + opsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`authtriage_triages_total{status="critical"} 1`, `authtriage_findings_total{cause="dc.unreachable",severity="critical"} 1`, "authtriage_ack_seconds_bucket"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestServeSocketMode runs `authtriage serve` in Socket Mode (the default) against
// the fake Slack: /readyz says ready once the connection is up, and a slash
// command envelope is acknowledged with the ephemeral answer and triaged.
func TestServeSocketMode(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	dir := t.TempDir()
	errorlog, err := filepath.Abs(filepath.Join("..", "..", "internal", "demo", "sqlhost01", "ERRORLOG"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := `
slack:
  bot_token: xoxb-test
  app_token: xapp-test
  ops_listen: 127.0.0.1:0
  api_url: ` + fake.APIURL() + `
access:
  - commands: ["*"]
    channels: [C0INCIDENT]
store:
  path: ` + filepath.Join(dir, "authtriage.db") + `
hosts:
  - name: sqlhost01
    errorlog: ` + errorlog + `
`
	path := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	e := env{getenv: func(string) string { return "" }, stdout: io.Discard, stderr: logs, now: demoNow}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int, 1)
	go func() { done <- e.run(ctx, []string{"serve", "--config", path}) }()
	defer func() {
		cancel()
		if code := <-done; code != exitOK {
			t.Errorf("serve exited %d; logs:\n%s", code, logs.String())
		}
	}()
	// Ready once the bot accepts requests and Socket Mode is connected, each
	// of which serve logs once it is so.
	opsAddr := listenAddr(t, logs, "ops")
	waitMsg(t, logs, "bot accepting requests")
	waitMsg(t, logs, "Socket Mode connected")
	resp, err := http.Get("http://" + opsAddr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/readyz = %d once connected; want 200. Logs:\n%s", resp.StatusCode, logs.String())
	}

	wctx, wcancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer wcancel()
	env := map[string]any{"type": "slash_commands", "envelope_id": "env-1", "accepts_response_payload": true,
		"payload": map[string]string{"command": "/authtriage", "text": "check sqlhost01", "user_id": "U0DBA",
			"channel_id": "C0INCIDENT", "trigger_id": "sock.serve.1", "response_url": fake.ResponseURL("r")}}
	if err := fake.SendEnvelope(wctx, env); err != nil {
		t.Fatal(err)
	}
	ack, err := fake.WaitAck(wctx, "env-1")
	if err != nil || !strings.Contains(string(ack), "Checking *sqlhost01*") {
		t.Fatalf("ack = %s, %v; want the ephemeral Checking", ack, err)
	}
	updates, err := fake.WaitCalls(wctx, "chat.update", 1)
	for err == nil && !strings.Contains(updates[len(updates)-1].Params.Get("blocks"), "CRITICAL") {
		updates, err = fake.WaitCalls(wctx, "chat.update", len(updates)+1)
	}
	if err != nil {
		t.Fatalf("no verdict: %v; logs:\n%s", err, logs.String())
	}
}
