package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/authtriage/authtriage/internal/golden"
)

// writeTestFile writes a file for a test, creating its folder.
func writeTestFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

// rehome copies a deploy/*.example.yaml to dir, its /etc/authtriage and
// /var/lib/authtriage moved under root: the file names stay the examples'.
func rehome(t *testing.T, example, root, dest string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", example))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(data), "/etc/authtriage/", filepath.Join(root, "etc", "authtriage")+"/")
	s = strings.ReplaceAll(s, "/var/lib/authtriage/", filepath.Join(root, "var", "lib", "authtriage")+"/")
	writeTestFile(t, dest, []byte(s), 0o640)
}

// TestConfigCheckDeployExamples: `config check` on deploy/*.example.yaml, with the
// files `agent certs` writes under the names the examples use (and the directory's
// CA, password and keytab the agent's example names besides), finds nothing wrong,
// each file alone and both checked against each other.
func TestConfigCheckDeployExamples(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the examples name Unix paths")
	}
	root := t.TempDir()
	etc := filepath.Join(root, "etc", "authtriage")
	e, stdout, stderr := testEnv(map[string]string{"SLACK_BOT_TOKEN": "xoxb-0000-example", "SLACK_APP_TOKEN": "xapp-1-A0000-example"})
	e.now = nil // the certificates are made now
	args := []string{"agent", "certs", "--dir", etc, "--server", "agent-east.corp.example", "--client", "authtriage-bot", "--client", "dba-laptop"}
	if code := e.run(t.Context(), args); code != exitOK {
		t.Fatalf("agent certs exit %d: %s", code, stderr)
	}
	for _, want := range []string{"authtriage-bot.pem, authtriage-bot-key.pem", "Next steps:", "authtriage agent ping --config"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("agent certs output lacks %q:\n%s", want, stdout)
		}
	}
	// What the agent's example names besides: the directory's CA, its password, the keytab.
	ca, err := os.ReadFile(filepath.Join(etc, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(etc, "corp-root-ca.pem"), ca, 0o644)
	writeTestFile(t, filepath.Join(etc, "ldap-password"), []byte("example-password\n"), 0o640)
	kt := keytab.New()
	if err := kt.AddEntry("svc_authtriage", "CORP.EXAMPLE", "example-password", time.Now(), 2, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	data, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(etc, "svc_authtriage.keytab"), data, 0o640)
	if err := os.MkdirAll(filepath.Join(root, "var", "lib", "authtriage"), 0o750); err != nil {
		t.Fatal(err)
	}
	agentYAML, botYAML := filepath.Join(etc, "agent.yaml"), filepath.Join(etc, "authtriage.yaml")
	rehome(t, "agent.example.yaml", root, agentYAML)
	rehome(t, "authtriage.example.yaml", root, botYAML)

	for _, files := range [][]string{{agentYAML}, {botYAML}, {agentYAML, botYAML}} {
		stdout.Reset()
		args := []string{"config", "check"}
		for _, f := range files {
			args = append(args, "--config", f)
		}
		if code := e.run(t.Context(), args); code != exitOK {
			t.Errorf("config check %v: exit %d; want 0:\n%s%s", files, code, stdout, stderr)
		}
		for _, f := range files {
			if !strings.Contains(stdout.String(), f+": ok, checked as ") {
				t.Errorf("config check %v does not say %s is ok:\n%s", files, f, stdout)
			}
		}
	}
}

// testPKI makes certificates for tests, valid around now.
type testPKI struct {
	t   *testing.T
	dir string
	now time.Time
}

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func (p testPKI) key() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		p.t.Fatal(err)
	}
	return k
}

// write writes DER certificate bytes as file.pem, and key, when not nil, as file-key.pem.
func (p testPKI) write(file string, der []byte, key *ecdsa.PrivateKey) {
	writeTestFile(p.t, filepath.Join(p.dir, file+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	if key != nil {
		k, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			p.t.Fatal(err)
		}
		writeTestFile(p.t, filepath.Join(p.dir, file+"-key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k}), 0o600)
	}
}

// ca makes a CA named name, valid a year, written as file.pem.
func (p testPKI) ca(file, name string) testCA {
	key := p.key()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.now.UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: p.now.Add(-time.Hour), NotAfter: p.now.Add(365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		p.t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	p.write(file, der, nil)
	return testCA{cert, key}
}

// leaf makes a certificate for cn (and DNS names), signed by ca, valid from
// notBefore to notAfter, written as file.pem and file-key.pem.
func (p testPKI) leaf(file, cn string, dns []string, usage x509.ExtKeyUsage, ca testCA, notBefore, notAfter time.Time) {
	key := p.key()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(p.now.UnixNano() + int64(len(file))), Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
		NotBefore: notBefore, NotAfter: notAfter, ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		p.t.Fatal(err)
	}
	p.write(file, der, key)
}

// TestConfigCheckEveryProblem: a bot's and an agent's configuration with one of each
// kind of problem: config check lists all of them at once, each with its file and
// line, and exits 3.
func TestConfigCheckEveryProblem(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the test writes Unix paths")
	}
	root := t.TempDir()
	e, stdout, stderr := testEnv(map[string]string{"SLACK_APP_TOKEN": "xoxb-pasted-into-the-wrong-place"})
	now := e.now()
	p := testPKI{t: t, dir: root, now: now}
	ca := p.ca("ca", "Test CA")
	twin := p.ca("twin-ca", "Test CA") // the same name, another key: another run of a CA tool
	p.leaf("bot", "authtriage-bot", nil, x509.ExtKeyUsageClientAuth, ca, now.Add(-time.Hour), now.Add(200*24*time.Hour))
	p.leaf("spare", "spare", nil, x509.ExtKeyUsageClientAuth, ca, now.Add(-time.Hour), now.Add(200*24*time.Hour))
	p.leaf("old", "old-bot", nil, x509.ExtKeyUsageClientAuth, ca, now.Add(-400*24*time.Hour), now.Add(-24*time.Hour))
	p.leaf("server", "agent-east.corp.example", []string{"agent-east.corp.example"}, x509.ExtKeyUsageServerAuth, twin,
		now.Add(-time.Hour), now.Add(10*24*time.Hour))

	bot := filepath.Join(root, "bot.yaml")
	writeTestFile(t, bot, []byte(`defaults:
  since: 1w
slack:
  bot_token_file: `+root+`/missing-token
  app_token: ${SLACK_APP_TOKEN}
access:
  - commands: [check]
schedules:
  - name: morning
    cron: "0 8 * * *"
    time_zone: Mars/Olympus
    channel: C0123DBA01
store:
  path: `+root+`/no-such-folder/authtriage.db
agents:
  - name: agent-east
    url: https://agent-east.corp.example:8443
    cert_path: `+root+`/bot.pem
    key_path: `+root+`/bot-key.pem
    ca_path: `+root+`/ca.pem
  - name: agent-spare
    url: https://agent-spare.corp.example:8443
    cert_path: `+root+`/spare.pem
    key_path: `+root+`/bot-key.pem
    ca_path: `+root+`/missing-ca.pem
  - name: agent-old
    url: https://agent-old.corp.example:8443
    cert_path: `+root+`/old.pem
    key_path: `+root+`/old-key.pem
    ca_path: `+root+`/old-key.pem
hosts:
  - name: sqlhost01
    agent: agent-east
  - name: sqlhost02
    agent: agent-west
  - name: sqlhost03
    errorlog: `+root+`/missing/ERRORLOG
`), 0o600)
	agentFile := filepath.Join(root, "agent.yaml")
	writeTestFile(t, agentFile, []byte(`agent:
  listen: 127.0.0.1:9443
  cert_path: `+root+`/server.pem
  key_path: `+root+`/server-key.pem
  client_ca_path: `+root+`/ca.pem
  allowed_clients: [dba-laptop]
hosts:
  - name: sqlhost02
`), 0o600)

	code := e.run(t.Context(), []string{"config", "check", "--config", bot, "--config", agentFile})
	if code != exitUnknown {
		t.Errorf("exit %d; want 3", code)
	}
	got := strings.ReplaceAll(stdout.String(), root, "ROOT")
	for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
		if !strings.HasPrefix(line, "ROOT/bot.yaml:") && !strings.HasPrefix(line, "ROOT/agent.yaml:") {
			t.Errorf("line without its file: %q", line)
		}
	}
	golden.Check(t, filepath.Join("testdata", "config-check-problems.text"), []byte(got))
	if strings.Contains(stdout.String()+stderr.String(), "xoxb-pasted") {
		t.Error("config check shows a token")
	}
}

// TestConfigCheckRoles: each role checks only the sections it uses: the bot's
// configuration, without its Slack tokens in the environment, is fine for the CLI
// and for `check`, and a problem for the bot.
func TestConfigCheckRoles(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bot.yaml")
	writeTestFile(t, cfg, []byte(`slack:
  bot_token: ${SLACK_BOT_TOKEN}
  app_token_file: /run/secrets/not-here
hosts:
  - name: sqlhost01
    errorlog: `+abs(t, "internal/demo/sqlhost01/ERRORLOG")+`
`), 0o600)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"config", "check", "--config", cfg, "--as", "cli"}, exitOK, "ok, checked as the CLI's configuration (check, scan)"},
		{[]string{"config", "check", "--config", cfg}, exitUnknown, "slack.bot_token: environment variable SLACK_BOT_TOKEN is not set"},
		{[]string{"config", "check", "--config", cfg, "--as", "agent"}, exitUnknown, "agent: is required"},
		{[]string{"config", "check", "--config", cfg, "--as", "robot"}, exitUnknown, `"robot" is not a role`},
	}
	for _, tt := range tests {
		e, stdout, stderr := testEnv(nil)
		if code := e.run(t.Context(), tt.args); code != tt.code || !strings.Contains(stdout.String()+stderr.String(), tt.want) {
			t.Errorf("%v: exit %d, output:\n%s%s\nwant exit %d and %q", tt.args, code, stdout, stderr, tt.code, tt.want)
		}
	}
	// check --config with the bot's file needs no Slack token.
	e, stdout, stderr := testEnv(nil)
	e.now = demoNow
	code := e.run(t.Context(), []string{"check", "sqlhost01", "--config", cfg, "--output", "json"})
	if code == exitUnknown || strings.Contains(stderr.String(), "SLACK") {
		t.Errorf("check with the bot's configuration: exit %d, stderr %s", code, stderr)
	}
	if !strings.Contains(stdout.String(), `"host": "sqlhost01"`) {
		t.Errorf("check printed no report:\n%s", stdout)
	}
}

// abs returns the absolute path of a file of the repository.
func abs(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDaemonsRefuseBadConfiguration: serve with an agent's client certificate that is
// not there, and the agent with its own missing, log the problem with its file and
// line and exit 3 without starting (no listener, no Slack connection, no "ready").
func TestDaemonsRefuseBadConfiguration(t *testing.T) {
	dir := t.TempDir()
	p := testPKI{t: t, dir: dir, now: time.Now()}
	ca := p.ca("ca", "Test CA")
	p.leaf("server", "127.0.0.1", []string{"localhost"}, x509.ExtKeyUsageServerAuth, ca, time.Now().Add(-time.Hour), time.Now().Add(time.Hour*24*365))
	serveCfg := filepath.Join(dir, "serve.yaml")
	writeTestFile(t, serveCfg, []byte(`slack:
  mode: http
  bot_token: xoxb-test
  signing_secret: 0123456789abcdef0123456789abcdef
  listen: 127.0.0.1:0
  ops_listen: 127.0.0.1:0
  api_url: http://127.0.0.1:1/api/
store:
  path: `+dir+`/authtriage.db
agents:
  - name: east
    url: https://127.0.0.1:1
    cert_path: `+dir+`/bot.pem
    key_path: `+dir+`/bot-key.pem
    ca_path: `+dir+`/ca.pem
hosts:
  - name: sqlhost01
    agent: east
`), 0o600)
	agentCfg := filepath.Join(dir, "agent.yaml")
	writeTestFile(t, agentCfg, []byte(`agent:
  listen: 127.0.0.1:0
  cert_path: `+dir+`/server.pem
  key_path: `+dir+`/missing-key.pem
  client_ca_path: `+dir+`/ca.pem
  allowed_clients: [authtriage-bot]
hosts:
  - name: sqlhost01
`), 0o600)
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"serve", "--config", serveCfg, "-v"}, []string{
			`"msg":"configuration problem","problem":"` + serveCfg + `:13: agents[0].cert_path: \"` + dir + `/bot.pem\": no such file"`,
			`"msg":"not starting: the configuration has 2 problems"`}},
		{[]string{"agent", "--config", agentCfg}, []string{
			`"msg":"configuration problem","problem":"` + agentCfg + `:4: agent.key_path: \"` + dir + `/missing-key.pem\": no such file"`,
			`"msg":"not starting: the configuration has 1 problem"`}},
	}
	for _, tt := range tests {
		e, stdout, stderr := testEnv(nil)
		if code := e.run(t.Context(), tt.args); code != exitUnknown {
			t.Errorf("%v: exit %d; want 3", tt.args, code)
		}
		for _, w := range tt.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%v: log lacks %s:\n%s", tt.args, w, stderr)
			}
		}
		for _, never := range []string{"listening", "connected", "ready"} {
			if strings.Contains(stderr.String(), never) {
				t.Errorf("%v: log says %q:\n%s", tt.args, never, stderr)
			}
		}
		if stdout.Len() > 0 {
			t.Errorf("%v: stdout %q", tt.args, stdout)
		}
	}
}
