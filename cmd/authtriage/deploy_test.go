package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/internal/slackfake"
)

// TestAgentCertsGroup: agent certs --group gives the keys to the group, mode 0640,
// keeps the CA's key private, and says so in its next steps.
func TestAgentCertsGroup(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("groups are Unix's")
	}
	g, err := user.LookupGroupId(strconv.Itoa(os.Getgid()))
	if err != nil {
		t.Skipf("this process's group has no name: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "etc", "authtriage")
	e, stdout, stderr := testEnv(nil)
	code := e.run(t.Context(), []string{"agent", "certs", "--dir", dir, "--group", g.Name, "--server", "agent-east.corp.example", "--client", "authtriage-bot"})
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for name, want := range map[string]os.FileMode{"server-key.pem": 0o640, "authtriage-bot-key.pem": 0o640, "ca-key.pem": 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v; want %v", name, fi.Mode().Perm(), want)
		}
	}
	for _, want := range []string{"belong to group " + g.Name + " (keys mode 0640)", "Move ca-key.pem away", "lists authtriage-bot in allowed_clients"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	e, _, stderr = testEnv(nil)
	if code := e.run(t.Context(), []string{"agent", "certs", "--dir", t.TempDir(), "--group", "no-such-group-here", "--server", "a.corp.example", "--client", "b"}); code != exitUnknown ||
		!strings.Contains(stderr.String(), `--group: no group "no-such-group-here"`) {
		t.Errorf("unknown group: exit %d, %s", code, stderr)
	}
}

// TestAgentPing: agent ping reaches a running agent over mutual TLS with the files
// agent certs wrote, as a client's configuration names them, and says when an
// agent does not answer.
func TestAgentPing(t *testing.T) {
	dir := t.TempDir()
	e, _, stderr := testEnv(nil)
	if code := e.run(t.Context(), []string{"agent", "certs", "--dir", dir, "--server", "localhost", "--server", "127.0.0.1", "--client", "authtriage-bot"}); code != exitOK {
		t.Fatalf("agent certs: %s", stderr)
	}
	addr := freeAddr(t)
	agentCfg := filepath.Join(dir, "agent.yaml")
	writeTestFile(t, agentCfg, []byte("agent:\n  listen: "+addr+"\n  cert_path: "+dir+"/server.pem\n  key_path: "+dir+"/server-key.pem\n  client_ca_path: "+dir+"/ca.pem\n  allowed_clients: [authtriage-bot]\nhosts:\n  - name: sqlhost01\n"), 0o600)
	cfg, err := config.LoadAs(t.Context(), agentCfg, nil, config.RoleAgent)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan error, 1)
	logs := &lockedBuffer{}
	go func() { served <- serveAgent(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil))) }()
	defer func() { stop(); <-served }()
	waitHealthy(t, logs, dir, addr)

	botCfg := filepath.Join(dir, "bot.yaml")
	writeTestFile(t, botCfg, []byte("slack:\n  bot_token: ${SLACK_BOT_TOKEN}\nagents:\n"+
		"  - {name: east, url: \"https://"+addr+"\", cert_path: "+dir+"/authtriage-bot.pem, key_path: "+dir+"/authtriage-bot-key.pem, ca_path: "+dir+"/ca.pem}\n"+
		"  - {name: west, url: \"https://127.0.0.1:1\", cert_path: "+dir+"/authtriage-bot.pem, key_path: "+dir+"/authtriage-bot-key.pem, ca_path: "+dir+"/ca.pem}\n"), 0o600)
	e, stdout, stderr := testEnv(nil)
	if code := e.run(t.Context(), []string{"agent", "ping", "--config", botCfg, "east"}); code != exitOK {
		t.Errorf("ping east: exit %d: %s%s", code, stdout, stderr)
	}
	if !strings.HasPrefix(stdout.String(), "east https://"+addr+": ok, authtriage") {
		t.Errorf("ping east printed %q", stdout)
	}
	e, stdout, _ = testEnv(nil)
	if code := e.run(t.Context(), []string{"agent", "ping", "--config", botCfg}); code != exitUnknown ||
		!strings.Contains(stdout.String(), "east https://"+addr+": ok") || !strings.Contains(stdout.String(), "west https://127.0.0.1:1: ") {
		t.Errorf("ping all: exit %d, output %q; want east ok, west not, exit 3", code, stdout)
	}
	e, _, stderr = testEnv(nil)
	if code := e.run(t.Context(), []string{"agent", "ping", "--config", botCfg, "north"}); code != exitUnknown || !strings.Contains(stderr.String(), "names no agent north") {
		t.Errorf("ping north: exit %d, %s", code, stderr)
	}
}

// TestConfigCheckUser: --user judges the files for the service's user; as root,
// with a user that exists, a key readable by root alone is a problem.
func TestConfigCheckUser(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() != 0 {
		t.Skip("needs root and a second user: run make test (as CI does)")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody: %v", err)
	}
	root := t.TempDir()
	if err := os.Chmod(filepath.Dir(root), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	e, _, stderr := testEnv(nil)
	e.now = nil
	if code := e.run(t.Context(), []string{"agent", "certs", "--dir", root + "/pki", "--server", "agent.corp.example", "--client", "authtriage-bot"}); code != exitOK {
		t.Fatalf("agent certs: %s", stderr)
	}
	if err := os.Chmod(root+"/pki", 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(root, "agent.yaml")
	writeTestFile(t, cfg, []byte("agent:\n  listen: 127.0.0.1:0\n  cert_path: "+root+"/pki/server.pem\n  key_path: "+root+"/pki/server-key.pem\n  client_ca_path: "+root+"/pki/ca.pem\n  allowed_clients: [authtriage-bot]\n"), 0o644)
	e, stdout, _ := testEnv(nil)
	e.now = nil
	if code := e.run(t.Context(), []string{"config", "check", "--config", cfg, "--user", u.Username}); code != exitUnknown {
		t.Errorf("exit %d; want 3:\n%s", code, stdout)
	}
	want := cfg + `:4: agent.key_path: user ` + u.Username + ` cannot read "` + root + `/pki/server-key.pem" (-rw------- root:`
	if !strings.Contains(stdout.String(), want) {
		t.Errorf("output lacks %q:\n%s", want, stdout)
	}
}

// TestSmallItems: scan --help is help, serve takes -v, and an
// error names its store once, with its path.
func TestSmallItems(t *testing.T) {
	e, stdout, stderr := testEnv(nil)
	if code := e.run(t.Context(), []string{"scan", "--help"}); code != exitOK || !strings.Contains(stdout.String(), "Usage: authtriage scan spn-duplicates") {
		t.Errorf("scan --help: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	e, stdout, _ = testEnv(nil)
	if code := e.run(t.Context(), []string{"help", "serve"}); code != exitOK || !strings.Contains(stdout.String(), "-v\tlog debug messages") && !strings.Contains(stdout.String(), "  -v\t") && !strings.Contains(stdout.String(), "  -v  ") {
		t.Errorf("serve's help does not list -v:\n%s", stdout)
	}

	// A store whose folder is missing passes the start-up check with a warning, and
	// then fails to open.
	dir := t.TempDir()
	db := filepath.Join(dir, "missing", "authtriage.db")
	cfg := filepath.Join(dir, "serve.yaml")
	writeTestFile(t, cfg, []byte("slack:\n  mode: http\n  bot_token: xoxb-test\n  signing_secret: 0123456789abcdef0123456789abcdef\n  listen: 127.0.0.1:0\n  ops_listen: \"off\"\nstore:\n  path: "+db+"\n"), 0o600)
	for _, flag := range []string{"-v", "-verbose"} {
		e, _, stderr = testEnv(nil)
		if code := e.run(t.Context(), []string{"serve", "--config", cfg, flag}); code != exitUnknown {
			t.Errorf("serve %s with an unusable store: exit %d; want 3", flag, code)
		}
		log := stderr.String()
		if strings.Contains(log, "flag provided but not defined") {
			t.Errorf("serve does not take %s:\n%s", flag, log)
		}
		if !strings.Contains(log, `"msg":"configuration warning"`) || !strings.Contains(log, `"err":"open sqlite store `+db+`: `) {
			t.Errorf("serve %s: the store's error does not name its path:\n%s", flag, log)
		}
		if strings.Contains(log, "store: open") {
			t.Errorf("serve %s repeats the store's prefix:\n%s", flag, log)
		}
	}
}

// TestSocketModeErrorSaysItOnce: a Socket Mode failure stops serve with an error
// that says "socket mode:" once.
func TestSocketModeErrorSaysItOnce(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	fake.Respond("apps.connections.open", func(slackfake.Call) (int, http.Header, any) {
		return 200, nil, map[string]any{"ok": false, "error": "invalid_auth"}
	})
	dir := t.TempDir()
	cfg := filepath.Join(dir, "serve.yaml")
	writeTestFile(t, cfg, []byte("slack:\n  bot_token: xoxb-test\n  app_token: xapp-test\n  ops_listen: \"off\"\n  api_url: "+fake.APIURL()+"\nstore:\n  path: "+dir+"/authtriage.db\n"), 0o600)
	e, _, stderr := testEnv(nil)
	if code := e.run(t.Context(), []string{"serve", "--config", cfg}); code != exitUnknown {
		t.Errorf("exit %d; want 3", code)
	}
	log := stderr.String()
	if !strings.Contains(log, "socket mode: ") || strings.Contains(log, "socket mode: socket mode") {
		t.Errorf("the log does not say socket mode once:\n%s", log)
	}
}
