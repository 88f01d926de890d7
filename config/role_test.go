package config

import (
	"strings"
	"testing"
)

// botFile is a bot's configuration whose Slack tokens come from the environment
// and a file.
const botFile = `x-common: &common
  since: 24h
defaults: *common
slack:
  bot_token: ${SLACK_BOT_TOKEN}
  app_token_file: /run/secrets/absent
access:
  - commands: [check]
schedules:
  - {name: morning, cron: "0 8 * * *", channel: C0123DBA01}
store:
  path: /var/lib/authtriage/authtriage.db
agents:
  - {name: east, url: "https://east.corp.example:8443", cert_path: /c.pem, key_path: /k.pem, ca_path: /ca.pem}
agent:
  listen: ${AGENT_LISTEN}
hosts:
  - {name: sqlhost01, agent: east}
`

// TestParseAsRoles: each role expands, reads, decodes and validates only its
// sections, and requires its own.
func TestParseAsRoles(t *testing.T) {
	noFiles := func(string) ([]byte, error) { t.Error("a file was read"); return nil, nil }
	cfg, err := ParseAs([]byte(botFile), "bot.yaml", nil, noFiles, RoleCLI)
	if err != nil {
		t.Fatalf("ParseAs(cli) without Slack tokens: %v", err)
	}
	if cfg.Role != RoleCLI || cfg.Slack != nil || cfg.Agent != nil || len(cfg.Access) != 0 || len(cfg.Schedules) != 0 ||
		len(cfg.Agents) != 1 || len(cfg.Hosts) != 1 {
		t.Errorf("cli config = %+v", cfg)
	}
	_, err = ParseAs([]byte(botFile), "bot.yaml", nil, nil, RoleBot)
	for _, want := range []string{
		"bot.yaml:5: slack.bot_token: environment variable SLACK_BOT_TOKEN is not set or is empty",
		"bot.yaml:6: slack.app_token_file: cannot read",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseAs(bot) = %v; want %q", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "AGENT_LISTEN") {
		t.Errorf("the bot's check reports the agent section: %v", err)
	}
	_, err = ParseAs([]byte(botFile), "bot.yaml", nil, nil, RoleAgent)
	if err == nil || !strings.Contains(err.Error(), "AGENT_LISTEN") || strings.Contains(err.Error(), "SLACK") {
		t.Errorf("ParseAs(agent) = %v; want only the agent's variable", err)
	}
	for _, tt := range []struct {
		src  string
		role Role
		want string
	}{
		{"hosts: []", RoleBot, "bot.yaml: slack: is required"},
		{"hosts: []\nslack:\n", RoleBot, "bot.yaml:2: slack: is required"},
		{"hosts: []", RoleAgent, "bot.yaml: agent: is required"},
	} {
		if _, err := ParseAs([]byte(tt.src), "bot.yaml", nil, nil, tt.role); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseAs(%q, %v) = %v; want %q", tt.src, tt.role, err, tt.want)
		}
	}
}

// TestRoleAuto: a file is checked as the bot's when it has a slack section, the
// agent's when it has an agent section, and the CLI's otherwise.
func TestRoleAuto(t *testing.T) {
	env := mapEnv(map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "T": "xoxb-1"})
	for _, tt := range []struct {
		src  string
		want Role
	}{
		{"slack: {bot_token: xoxb-1, app_token: xapp-1}", RoleBot},
		{"agent: {listen: ':1', cert_path: /c, key_path: /k, client_ca_path: /ca, allowed_clients: [b]}", RoleAgent},
		{"hosts: [{name: h}]", RoleCLI},
		{"", RoleCLI},
	} {
		cfg, err := ParseAs([]byte(tt.src), "a.yaml", env, nil, RoleAuto)
		if err != nil {
			t.Errorf("%q: %v", tt.src, err)
			continue
		}
		if cfg.Role != tt.want {
			t.Errorf("%q: role %v; want %v", tt.src, cfg.Role, tt.want)
		}
	}
}

// TestUnusedSectionAliased: a value of a section the role does not use, aliased
// where the role looks, is expanded, and its problem is reported where it is used.
func TestUnusedSectionAliased(t *testing.T) {
	src := "slack:\n  bot_token: &tok ${NOT_SET}\nhosts:\n  - name: h\n    service_account: *tok\n"
	_, err := ParseAs([]byte(src), "a.yaml", nil, nil, RoleCLI)
	if err == nil || !strings.Contains(err.Error(), "a.yaml:2: hosts[0].service_account: environment variable NOT_SET is not set") {
		t.Errorf("ParseAs = %v; want the variable's problem at the alias's use", err)
	}
	cfg, err := ParseAs([]byte(strings.Replace(src, "${NOT_SET}", `CORP\svc_sql`, 1)), "a.yaml", nil, nil, RoleCLI)
	if err != nil || cfg.Hosts[0].ServiceAccount != `CORP\svc_sql` {
		t.Errorf("ParseAs = %+v, %v", cfg, err)
	}
}

func TestParseRole(t *testing.T) {
	for _, s := range []string{"bot", "agent", "cli", "all", "auto", "BOT"} {
		r, err := ParseRole(s)
		if err != nil || !strings.EqualFold(r.String(), s) {
			t.Errorf("ParseRole(%q) = %v, %v", s, r, err)
		}
	}
	if _, err := ParseRole("serve"); err == nil {
		t.Error("ParseRole(serve) succeeded")
	}
}
