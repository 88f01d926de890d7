package config_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/authtriage/authtriage/config"
)

// The files of ../deploy are tested here so that they cannot rot.
const (
	serveExample  = "../deploy/authtriage.example.yaml"
	agentExample  = "../deploy/agent.example.yaml"
	slackManifest = "../deploy/slack-manifest.yaml"
)

func exampleEnv(name string) string {
	return map[string]string{
		"SLACK_BOT_TOKEN":      "xoxb-0000-example",
		"SLACK_APP_TOKEN":      "xapp-1-A0000-example",
		"SLACK_SIGNING_SECRET": "0123456789abcdef0123456789abcdef",
		"AUTHTRIAGE_DSN":       "postgres://authtriage@db.corp.example/authtriage?sslmode=verify-full",
	}[name]
}

func readDeploy(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// uncomment switches the example to its commented alternative for each key:
// it drops the lines that set key and removes the "# " before the commented
// lines that set it, keeping their indentation.
func uncomment(t *testing.T, src string, keys ...string) string {
	t.Helper()
	for _, key := range keys {
		active := regexp.MustCompile(`(?m)^ +` + regexp.QuoteMeta(key) + `:.*\n`)
		commented := regexp.MustCompile(`(?m)^( +)# (` + regexp.QuoteMeta(key) + `:.*)$`)
		if !commented.MatchString(src) {
			t.Fatalf("no commented-out %s to switch to", key)
		}
		src = commented.ReplaceAllString(active.ReplaceAllString(src, ""), "$1$2")
	}
	return src
}

func TestServeExample(t *testing.T) {
	cfg, err := config.Load(t.Context(), serveExample, exampleEnv)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if s := cfg.Slack; s == nil || s.Mode != config.SlackSocket || s.BotToken.Reveal() != "xoxb-0000-example" ||
		s.AppToken.Reveal() != "xapp-1-A0000-example" || s.OpsListen != ":9090" {
		t.Errorf("slack = %+v", cfg.Slack)
	}
	if len(cfg.Access) != 3 {
		t.Errorf("access has %d rules, want 3", len(cfg.Access))
	}
	var names []string
	for _, s := range cfg.Schedules {
		var hosts []string
		for _, h := range cfg.ScheduleHosts(s) {
			hosts = append(hosts, h.Name)
		}
		names = append(names, s.Name+" "+s.Location.String()+" "+strings.Join(hosts, ","))
	}
	want := []string{"fleet-morning Europe/Berlin sqlhost01,sqlhost02,sqltest01,sqlsales", "prod-hourly UTC sqlhost01,sqlhost02"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("schedules (-want +got):\n%s", diff)
	}
	if cfg.Store.Driver != config.StoreSQLite {
		t.Errorf("store = %+v", cfg.Store)
	}

	// The commented alternatives must work too.
	src := uncomment(t, readDeploy(t, serveExample), "mode", "signing_secret", "listen", "driver", "dsn")
	cfg, err = config.Parse([]byte(src), serveExample+" (alternatives)", exampleEnv, nil)
	if err != nil {
		t.Fatalf("Parse with the alternatives: %v", err)
	}
	if cfg.Slack.Mode != config.SlackHTTP || cfg.Slack.SigningSecret == "" || cfg.Store.Driver != config.StorePostgres || cfg.Store.DSN == "" {
		t.Errorf("alternatives not in effect: slack %+v, store %+v", cfg.Slack, cfg.Store)
	}
}

func TestAgentExample(t *testing.T) {
	readFile := func(name string) ([]byte, error) { return []byte("example-password\n"), nil }
	cfg, err := config.Parse([]byte(readDeploy(t, agentExample)), agentExample, exampleEnv, readFile)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if cfg.Agent == nil || cfg.Directory == nil || cfg.Kerberos == nil || len(cfg.Hosts) == 0 {
		t.Errorf("agent example lacks a section: %+v", cfg)
	}
}

// manifest is the part of a Slack app manifest the bot depends on.
type manifest struct {
	Features struct {
		AppHome struct {
			HomeTab         bool `yaml:"home_tab_enabled"`
			MessagesTab     bool `yaml:"messages_tab_enabled"`
			MessagesTabRead bool `yaml:"messages_tab_read_only_enabled"`
		} `yaml:"app_home"`
		BotUser struct {
			DisplayName  string `yaml:"display_name"`
			AlwaysOnline bool   `yaml:"always_online"`
		} `yaml:"bot_user"`
		SlashCommands []struct {
			Command      string `yaml:"command"`
			URL          string `yaml:"url"`
			UsageHint    string `yaml:"usage_hint"`
			ShouldEscape bool   `yaml:"should_escape"`
		} `yaml:"slash_commands"`
	} `yaml:"features"`
	OAuthConfig struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		EventSubscriptions struct {
			RequestURL string   `yaml:"request_url"`
			BotEvents  []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			IsEnabled  bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
		} `yaml:"interactivity"`
		OrgDeploy     bool `yaml:"org_deploy_enabled"`
		SocketMode    bool `yaml:"socket_mode_enabled"`
		TokenRotation bool `yaml:"token_rotation_enabled"`
	} `yaml:"settings"`
}

func parseManifest(t *testing.T, src string) manifest {
	t.Helper()
	var m manifest
	if err := yaml.Unmarshal([]byte(src), &m); err != nil {
		t.Fatalf("manifest: %v", err)
	}
	return m
}

func TestSlackManifest(t *testing.T) {
	src := readDeploy(t, slackManifest)
	m := parseManifest(t, src)
	s := m.Settings
	if !s.SocketMode || s.OrgDeploy || s.TokenRotation || !s.Interactivity.IsEnabled {
		t.Errorf("settings = %+v, want socket mode and interactivity on, org deploy and token rotation off", s)
	}
	if s.EventSubscriptions.RequestURL != "" || s.Interactivity.RequestURL != "" {
		t.Errorf("socket mode manifest has request URLs: %+v", s)
	}
	wantScopes := []string{"app_mentions:read", "chat:write", "chat:write.public", "commands", "files:write", "im:history", "usergroups:read"}
	if got := slices.Sorted(slices.Values(m.OAuthConfig.Scopes.Bot)); !slices.Equal(got, wantScopes) {
		t.Errorf("bot scopes = %q, want %q", got, wantScopes)
	}
	wantEvents := []string{"app_home_opened", "app_mention", "message.im"}
	if got := slices.Sorted(slices.Values(s.EventSubscriptions.BotEvents)); !slices.Equal(got, wantEvents) {
		t.Errorf("bot events = %q, want %q", got, wantEvents)
	}
	f := m.Features
	if !f.AppHome.HomeTab || !f.AppHome.MessagesTab || f.AppHome.MessagesTabRead || f.BotUser.DisplayName != "authtriage" || !f.BotUser.AlwaysOnline {
		t.Errorf("features = %+v", f)
	}
	if len(f.SlashCommands) != 1 || f.SlashCommands[0].Command != "/authtriage" || f.SlashCommands[0].URL != "" ||
		f.SlashCommands[0].UsageHint != "check HOST [INSTANCE] | history HOST | show ID | share ID #channel | help" {
		t.Errorf("slash commands = %+v", f.SlashCommands)
	}

	// The HTTP mode the comments describe.
	src = uncomment(t, src, "url", "request_url")
	src = strings.Replace(src, "socket_mode_enabled: true", "socket_mode_enabled: false", 1)
	h := parseManifest(t, src)
	got := []string{h.Features.SlashCommands[0].URL, h.Settings.EventSubscriptions.RequestURL, h.Settings.Interactivity.RequestURL}
	want := []string{
		"https://authtriage.example.com/slack/commands",
		"https://authtriage.example.com/slack/events",
		"https://authtriage.example.com/slack/interactivity",
	}
	if diff := cmp.Diff(want, got); diff != "" || h.Settings.SocketMode {
		t.Errorf("HTTP mode URLs (-want +got):\n%s", diff)
	}
}

// TestSystemdUnits: each unit's install notes create the user it runs as and give
// /etc/authtriage to its group, and SupplementaryGroups= stays commented: a unit
// naming a group the host lacks does not start.
func TestSystemdUnits(t *testing.T) {
	for _, unit := range []string{"../deploy/authtriage-agent.service", "../deploy/authtriage-bot.service"} {
		src := readDeploy(t, unit)
		for _, want := range []string{
			"#   useradd --system --user-group --no-create-home --shell /usr/sbin/nologin authtriage",
			"#   install -d -m 0750 -o root -g authtriage /etc/authtriage",
			"config check --config /etc/authtriage/",
			"\nUser=authtriage\n", "\nGroup=authtriage\n",
		} {
			if !strings.Contains(src, want) {
				t.Errorf("%s lacks %q", unit, want)
			}
		}
		if regexp.MustCompile(`(?m)^SupplementaryGroups=`).MatchString(src) {
			t.Errorf("%s sets SupplementaryGroups=, which fails on a host without the group", unit)
		}
	}
	if !strings.Contains(readDeploy(t, "../deploy/authtriage-agent.service"), "\n#SupplementaryGroups=mssql\n") {
		t.Error("the agent's unit does not offer SupplementaryGroups=mssql, commented")
	}
}
