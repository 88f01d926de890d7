package config

import (
	"strings"
	"testing"
)

func TestAgentSections(t *testing.T) {
	good := `
agent:
  listen: ":8443"
  cert_path: /etc/authtriage/agent.pem
  key_path: /etc/authtriage/agent-key.pem
  client_ca_path: /etc/authtriage/ca.pem
  allowed_clients: [authtriage-bot]
agents:
  - name: agent-east
    url: https://agent-east.corp.example:8443
    cert_path: /etc/authtriage/bot.pem
    key_path: /etc/authtriage/bot-key.pem
    ca_path: /etc/authtriage/ca.pem
sql:
  encrypt: strict
  timeout: 5s
hosts:
  - name: sqlhost01
    agent: Agent-East
`
	c, err := Parse([]byte(good), "t.yaml", nil, nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Agent == nil || c.Agent.MaxConcurrent != 4 || c.Agent.RatePerMinute != 30 ||
		c.Agent.SweepConcurrent != 16 || c.Agent.SweepRatePerMinute != 12 || c.Agent.AllowedClients[0] != "authtriage-bot" {
		t.Errorf("agent = %+v", c.Agent)
	}
	if a, ok := c.AgentFor(c.Hosts[0]); !ok || a.URL != "https://agent-east.corp.example:8443" {
		t.Errorf("AgentFor = %+v, %v", a, ok)
	}
	if c.SQL.Encrypt != "strict" {
		t.Errorf("sql = %+v", c.SQL)
	}

	bad := `
agent:
  listen: 8443
  cert_path: relative.pem
  max_concurrent: many
  sweep_concurrent: 0
  sweep_rate_per_minute: 601
agents:
  - name: east
    url: http://agent-east:8443
  - name: east
    url: https://x:1
    cert_path: /c
    key_path: /k
    ca_path: /ca
sql:
  encrypt: maybe
  trust_server_certificate: perhaps
hosts:
  - name: sqlhost01
    agent: west
`
	_, err = Parse([]byte(bad), "t.yaml", nil, nil)
	if err == nil {
		t.Fatal("Parse(bad) = nil error")
	}
	for _, want := range []string{
		"agent.listen", "agent.cert_path", "agent.key_path: is required", "agent.allowed_clients: is required",
		`agent.max_concurrent: "many" is not a whole number`,
		"agent.sweep_concurrent: must be from 1 to 256", "agent.sweep_rate_per_minute: must be from 1 to 600",
		`agents[0].url: "http://agent-east:8443" is not an https:// URL`, "agents[0].cert_path: is required",
		`agents[1].name: "east" is used twice`, "sql.encrypt", "sql.trust_server_certificate",
		`hosts[0].agent: "west" is not in the agents section`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
}
