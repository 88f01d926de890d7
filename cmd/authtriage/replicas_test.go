package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/authtriage/authtriage/internal/pgtest"
	"github.com/authtriage/authtriage/internal/slackfake"
)

// TestMain lets TestTwoReplicas start this test binary as `authtriage serve`: a
// process it can kill without warning, as a crash or an OOM kill would.
func TestMain(m *testing.M) {
	if path := os.Getenv("AUTHTRIAGE_TEST_SERVE_CONFIG"); path != "" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, []string{"serve", "--config", path}, os.Getenv, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// replica is one `authtriage serve` process.
type replica struct {
	cmd  *exec.Cmd
	logs *lockedBuffer
	addr string // its Slack HTTP endpoint
	done chan struct{}
}

func startReplica(t *testing.T, config string) *replica {
	t.Helper()
	r := &replica{logs: &lockedBuffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(os.Args[0], "-test.run=^$")
	r.cmd.Env = append(os.Environ(), "AUTHTRIAGE_TEST_SERVE_CONFIG="+config)
	r.cmd.Stdout, r.cmd.Stderr = io.Discard, r.logs
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		r.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-r.done:
		case <-time.After(20 * time.Second):
			r.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("replica %d logs:\n%s", r.cmd.Process.Pid, r.logs.String())
		}
	})
	r.addr = listenAddr(t, r.logs, "slack")
	return r
}

// blackhole accepts connections and never answers, like a domain controller that
// hangs: every directory check waits for its timeout.
func blackhole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestTwoReplicas runs two `authtriage serve` processes on one PostgreSQL store,
// as two replicas of a deployment: the same Slack event delivered to both runs one
// triage; the schedule's run is posted once; and when the replica running it is
// killed mid-sweep, the other takes the run over and posts it, once.
func TestTwoReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a scheduled minute")
	}
	dsn := pgtest.Schema(t)
	fake := slackfake.New()
	defer fake.Close()
	const secret = "two-replicas-signing-secret-0123"
	dir := t.TempDir()
	cfg := `
defaults: {since: 1h, check_timeout: 2s, deadline: 3s}
slack:
  mode: http
  bot_token: xoxb-test
  signing_secret: ` + secret + `
  listen: 127.0.0.1:0
  ops_listen: "off"
  api_url: ` + fake.APIURL() + `
access:
  - commands: ["*"]
    channels: [C0INCIDENT]
store:
  driver: postgres
  dsn: "` + dsn + `"
  lease_ttl: 5s
directory:
  urls: [ldap://` + blackhole(t) + `]
  bind_dn: ro@corp.example
  bind_password: not-a-real-password
  timeout: 2s
schedules:
  - name: fleet
    cron: "@every 1m"
    channel: C0FLEET
    concurrency: 1
    deadline: 1m
hosts:
  - {name: sqlhost01, fqdn: sqlhost01.corp.example, service_account: CORP\svc_sql01}
  - {name: sqlhost02, fqdn: sqlhost02.corp.example, service_account: CORP\svc_sql02}
  - {name: sqlhost03, fqdn: sqlhost03.corp.example, service_account: CORP\svc_sql03}
  - {name: sqlhost04, fqdn: sqlhost04.corp.example, service_account: CORP\svc_sql04}
`
	path := filepath.Join(dir, "serve.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	a, b := startReplica(t, path), startReplica(t, path)

	// The same app_mention reaches both replicas (Socket Mode spreads deliveries
	// over connections; a retry may land on the other one).
	event, _ := json.Marshal(map[string]any{
		"type": "event_callback", "team_id": "T0001", "event_id": "EvReplica", "event_time": time.Now().Unix(),
		"event": map[string]any{"type": "app_mention", "user": "U0DBA", "text": "<@UBOT> check sqlhost01",
			"ts": "1764000000.000900", "channel": "C0INCIDENT"},
	})
	var wg sync.WaitGroup
	for _, r := range []*replica{a, b} {
		wg.Go(func() {
			if code := postSigned(t, r.addr, "/slack/events", string(event), secret); code != 200 {
				t.Errorf("event to replica = %d; want 200", code)
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := fake.WaitCalls(ctx, "chat.update", 1); err != nil {
		t.Fatalf("no triage finished: %v", err)
	}
	time.Sleep(time.Second)
	if n := parents(fake, "C0INCIDENT"); n != 1 {
		t.Errorf("%d diagnosis threads for one event delivered to two replicas; want 1", n)
	}

	// The schedule's run: the replica that holds its lease is killed mid-sweep
	// (4 hosts at 3 s each, one at a time).
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var holder string
	deadline := time.Now().Add(75 * time.Second)
	for holder == "" && time.Now().Before(deadline) {
		db.QueryRowContext(t.Context(), `SELECT holder FROM leases WHERE key LIKE 'schedule/fleet/%' AND done_at IS NULL`).Scan(&holder)
		time.Sleep(100 * time.Millisecond)
	}
	if holder == "" {
		t.Fatal("no replica took the scheduled run's lease within 75 s")
	}
	time.Sleep(4 * time.Second) // into the sweep
	victim, survivor := a, b
	if !strings.Contains(holder, "/"+strconv.Itoa(a.cmd.Process.Pid)+"/") {
		victim, survivor = b, a
	}
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	t.Logf("killed replica %d (lease holder %s) mid-sweep", victim.cmd.Process.Pid, holder)

	ctx, cancel = context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for parents(fake, "C0FLEET") == 0 {
		if ctx.Err() != nil {
			t.Fatalf("the surviving replica never posted the run's summary; its logs:\n%s", survivor.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // a second post would come now
	if n := parents(fake, "C0FLEET"); n != 1 {
		t.Errorf("%d summaries posted for one scheduled run; want 1", n)
	}
	var done int
	db.QueryRowContext(t.Context(), `SELECT count(*) FROM leases WHERE key LIKE 'schedule/fleet/%' AND done_at IS NOT NULL AND holder <> $1`, holder).Scan(&done)
	if done != 1 {
		t.Errorf("%d runs finished by another holder than the killed one; want 1", done)
	}

	// With one replica left, events are still handled, once.
	event2 := strings.ReplaceAll(strings.ReplaceAll(string(event), "EvReplica", "EvReplica2"), "000900", "000901")
	if code := postSigned(t, survivor.addr, "/slack/events", event2, secret); code != 200 {
		t.Errorf("event to the survivor = %d", code)
	}
	for ctx.Err() == nil && parents(fake, "C0INCIDENT") < 2 {
		time.Sleep(100 * time.Millisecond)
	}
	if n := parents(fake, "C0INCIDENT"); n != 2 {
		t.Errorf("%d threads after a second event; want 2", n)
	}
}

// parents counts the top-level messages posted to channel.
func parents(fake *slackfake.Server, channel string) int {
	n := 0
	for _, c := range fake.Calls("chat.postMessage") {
		if c.Params.Get("channel") == channel && c.Params.Get("thread_ts") == "" {
			n++
		}
	}
	return n
}

func postSigned(t *testing.T, addr, path, body, secret string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	slackfake.Sign(req, []byte(body), secret, time.Now())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
