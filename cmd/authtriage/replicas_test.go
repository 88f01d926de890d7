package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
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
	ops  string // its health and metrics endpoint
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
	r.ops = listenAddr(t, r.logs, "ops")
	return r
}

// deduplicated returns how many Slack deliveries r dropped as repeated, from
// its metrics.
func (r *replica) deduplicated(t *testing.T) int {
	t.Helper()
	resp, err := http.Get("http://" + r.ops + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	const name = "authtriage_deliveries_deduplicated_total "
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, name); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s%s: %v", name, v, err)
			}
			return int(n)
		}
	}
	t.Fatalf("replica %d has no metric %s", r.cmd.Process.Pid, name)
	return 0
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
// killed, the other takes the run over and posts it, once. It follows what the
// replicas do through their answers, metrics, Slack calls and the store's rows; a
// clock decides nothing but the minute the schedule fires.
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
  ops_listen: 127.0.0.1:0
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
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	// The same app_mention reaches both replicas (Socket Mode spreads deliveries
	// over connections; a retry may land on the other one). Each decides
	// before it acknowledges: one handles it, the other drops it.
	event, err := json.Marshal(map[string]any{
		"type": "event_callback", "team_id": "T0001", "event_id": "EvReplica", "event_time": time.Now().Unix(),
		"event": map[string]any{"type": "app_mention", "user": "U0DBA", "text": "<@UBOT> check sqlhost01",
			"ts": "1764000000.000900", "channel": "C0INCIDENT"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, r := range []*replica{a, b} {
		wg.Go(func() {
			if code := postSigned(t, r.addr, "/slack/events", string(event), secret); code != 200 {
				t.Errorf("event to replica = %d; want 200", code)
			}
		})
	}
	wg.Wait()
	if n := a.deduplicated(t) + b.deduplicated(t); n != 1 {
		t.Errorf("%d of the two deliveries dropped as repeated; want 1", n)
	}
	// The triage is done once its check is audited (after its report is saved).
	var audited int
	waitRow(ctx, t, "the check's audit entry", func() (bool, error) {
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM audit WHERE result = 'ok' AND command LIKE 'check %'`).Scan(&audited)
		return audited > 0, err
	})
	if err := waitParents(ctx, fake, "C0INCIDENT", 1); err != nil {
		t.Fatalf("no diagnosis thread: %v", err)
	}
	if n := parents(fake, "C0INCIDENT"); n != 1 || audited != 1 {
		t.Errorf("%d diagnosis threads and %d audited checks for one event delivered to two replicas; want 1 of each", n, audited)
	}

	// The schedule's run: the replica that holds its lease (sweeping 4 hosts at
	// 3 s each, one at a time) is killed.
	tickCtx, cancel := context.WithTimeout(t.Context(), 75*time.Second)
	defer cancel()
	var key, holder string
	waitRow(tickCtx, t, "a replica holding the scheduled run's lease", func() (bool, error) {
		err := db.QueryRowContext(tickCtx, `SELECT key, holder FROM leases WHERE key LIKE 'schedule/fleet/%' AND done_at IS NULL`).Scan(&key, &holder)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return err == nil, err
	})
	victim, survivor := a, b
	if !strings.Contains(holder, "/"+strconv.Itoa(a.cmd.Process.Pid)+"/") {
		victim, survivor = b, a
	}
	if err := victim.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-victim.done
	t.Logf("killed replica %d, holder %s of lease %s", victim.cmd.Process.Pid, holder, key)

	// The survivor takes the run over once the lease expires, posts its summary
	// and finishes the lease; after that, nobody posts that run.
	ctx, cancel = context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	if err := waitParents(ctx, fake, "C0FLEET", 1); err != nil {
		t.Fatalf("the surviving replica never posted the run's summary: %v; its logs:\n%s", err, survivor.logs.String())
	}
	var finisher string
	waitRow(ctx, t, "the run's lease finished", func() (bool, error) {
		var done bool
		err := db.QueryRowContext(ctx, `SELECT holder, done_at IS NOT NULL FROM leases WHERE key = $1`, key).Scan(&finisher, &done)
		return done, err
	})
	if finisher == holder {
		t.Errorf("lease %s finished by the killed replica %s; want the survivor", key, holder)
	}
	if n := parents(fake, "C0FLEET"); n != 1 {
		t.Errorf("%d summaries posted for one scheduled run; want 1", n)
	}

	// With one replica left, events are still handled, once.
	event2 := strings.ReplaceAll(strings.ReplaceAll(string(event), "EvReplica", "EvReplica2"), "000900", "000901")
	if code := postSigned(t, survivor.addr, "/slack/events", event2, secret); code != 200 {
		t.Errorf("event to the survivor = %d", code)
	}
	if err := waitParents(ctx, fake, "C0INCIDENT", 2); err != nil {
		t.Fatalf("no thread for the second event: %v", err)
	}
	if n := parents(fake, "C0INCIDENT"); n != 2 {
		t.Errorf("%d threads after a second event; want 2", n)
	}
}

// waitParents waits until at least n top-level messages are posted to channel.
func waitParents(ctx context.Context, fake *slackfake.Server, channel string, n int) error {
	for parents(fake, channel) < n {
		if _, err := fake.WaitCalls(ctx, "chat.postMessage", len(fake.Calls("chat.postMessage"))+1); err != nil {
			return err
		}
	}
	return nil
}

// waitRow asks the store, by query, until it says what the test waits for;
// query's error ends the test, and so does ctx's end, naming what was awaited.
func waitRow(ctx context.Context, t *testing.T, what string, query func() (bool, error)) {
	t.Helper()
	for {
		ok, err := query()
		switch {
		case ctx.Err() != nil:
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case err != nil:
			t.Fatalf("waiting for %s: %v", what, err)
		case ok:
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond): // the store tells nobody; ask again
		}
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
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return 0
	}
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
