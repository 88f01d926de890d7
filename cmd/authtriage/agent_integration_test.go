package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/internal/testdomain"
	"github.com/authtriage/authtriage/triage"
)

// TestIntegrationAgent starts a real agent on loopback (mutual TLS) against the Samba
// test domain, triages every scenario host through it from a configuration that holds
// no domain credentials, and gets the same findings as the in-process triage. With the
// agent stopped, the report says agent.unreachable and its status is unknown.
func TestIntegrationAgent(t *testing.T) {
	d := loadDomain(t)
	tds := startSQL(t, d)
	dir := t.TempDir()
	if err := agent.GenerateCerts(dir, []string{"127.0.0.1", "localhost"}, []string{"authtriage-bot"}, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)

	// The agent: the in-process configuration plus an agent section.
	inProcess := integrationConfig(t, d)
	base, err := os.ReadFile(inProcess)
	if err != nil {
		t.Fatal(err)
	}
	agentCfg := filepath.Join(dir, "agent.yaml")
	writeFile(t, agentCfg, string(base)+fmt.Sprintf(`agent:
  listen: %q
  cert_path: %s
  key_path: %s
  client_ca_path: %s
  allowed_clients: [authtriage-bot]
`, addr, filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"), filepath.Join(dir, "ca.pem")))
	cfg, err := config.Load(t.Context(), agentCfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	served := make(chan error, 1)
	logs := &lockedBuffer{}
	go func() { served <- serveAgent(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil))) }()
	waitHealthy(t, logs, dir, addr)

	// The client: hosts served by the agent, no directory or kerberos section.
	var b strings.Builder
	fmt.Fprintf(&b, "agents:\n  - name: east\n    url: https://%s\n    cert_path: %s\n    key_path: %s\n    ca_path: %s\nhosts:\n",
		addr, filepath.Join(dir, "authtriage-bot.pem"), filepath.Join(dir, "authtriage-bot-key.pem"), filepath.Join(dir, "ca.pem"))
	for _, name := range slices.Sorted(maps.Keys(d.Hosts)) {
		h := d.Hosts[name]
		fmt.Fprintf(&b, "  - name: %s\n    fqdn: %s\n    instances: [\":1433\"]\n    service_account: CORP\\%s\n    agent: east\n", name, h.FQDN, h.ServiceAccount)
	}
	botCfg := filepath.Join(dir, "bot.yaml")
	writeFile(t, botCfg, b.String())
	if strings.Contains(b.String(), d.BindPassword) {
		t.Fatal("the client's configuration holds a domain secret")
	}

	for _, name := range slices.Sorted(maps.Keys(d.Hosts)) {
		t.Run(name, func(t *testing.T) {
			local := runJSON(t, "check", name, "--config", inProcess)
			remote := runJSON(t, "check", name, "--config", botCfg)
			if got, want := findingKeys(remote), findingKeys(local); !slices.Equal(got, want) {
				t.Errorf("through the agent: %v; in process: %v", got, want)
			}
			if remote.Status != local.Status {
				t.Errorf("status through the agent %s; in process %s", remote.Status, local.Status)
			}
			for _, c := range remote.Checks {
				if c.Status == triage.CheckError {
					t.Errorf("remote check %s: %s", c.Name, c.Detail)
				}
			}
			if name == testdomain.HostOK && !strings.Contains(checkDetail(remote, "sql"), "KERBEROS") {
				t.Errorf("sql check on sqlok: %q; want a Kerberos login to the fake", checkDetail(remote, "sql"))
			}
		})
	}

	if len(tds.Logins()) == 0 {
		t.Errorf("the fake SQL Server saw no login")
	}
	stop()
	if err := <-served; err != nil {
		t.Errorf("agent stopped with %v", err)
	}
	down := runJSON(t, "check", "sqlok", "--config", botCfg)
	if down.Status != triage.StatusUnknown || findCause(down, triage.AgentUnreachable) == nil {
		t.Errorf("with the agent stopped: status %s, findings %v; want unknown with agent.unreachable", down.Status, findingKeys(down))
	}
}

func checkDetail(rep triage.Report, name string) string {
	for _, c := range rep.Checks {
		if c.Name == name {
			return c.Detail
		}
	}
	return ""
}

// findingKeys lists a report's findings as cause/severity, sorted.
func findingKeys(rep triage.Report) []string {
	var out []string
	for _, f := range rep.Findings {
		out = append(out, string(f.Cause)+"/"+f.Severity.String())
	}
	slices.Sort(out)
	return out
}

func runJSON(t *testing.T, args ...string) triage.Report {
	t.Helper()
	e, stdout, stderr := testEnv(nil)
	code := e.run(t.Context(), append(args, "--output", "json"))
	var rep triage.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("%v: exit %d, no JSON report: %v\nstderr: %s", args, code, err, stderr)
	}
	return rep
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitHealthy waits for the agent that logs to logs (as JSON) to say it
// listens on addr, and then checks that it answers a health check with the
// client certificate in dir.
func waitHealthy(t *testing.T, logs *lockedBuffer, dir, addr string) {
	t.Helper()
	c, err := agent.NewClient(t.Context(), agent.ClientConfig{URL: "https://" + addr, CertFile: filepath.Join(dir, "authtriage-bot.pem"),
		KeyFile: filepath.Join(dir, "authtriage-bot-key.pem"), CAFile: filepath.Join(dir, "ca.pem"), Timeout: 5 * time.Second}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, "saying that the agent listens on "+addr, func(l logLine) bool {
		return l.Msg == "agent listening" && l.Addr == addr
	})
	if err := c.Health(t.Context()); err != nil {
		t.Fatalf("agent listening on %s, but not healthy: %v", addr, err)
	}
}
