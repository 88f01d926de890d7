package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Secrets of the tests below; each must never appear in a problem or in a
// printed Config.
const (
	testBotToken      = "xoxb-1111-2222-botSECRET"
	testAppToken      = "xapp-1-A111-3333-appSECRET"
	testSigningSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	testDSN           = "postgres://authtriage:pgSECRET@db.corp.example/authtriage"
)

func testSecrets() []string {
	return []string{testBotToken, testAppToken, testSigningSecret, testDSN, "SECRET"}
}

// secretEnv is the environment of the tests, holding the secrets above.
func secretEnv() map[string]string {
	return map[string]string{"BOT": testBotToken, "APP": testAppToken, "SIGN": testSigningSecret, "DSN": testDSN}
}

// problems parses src and returns its problems as strings, failing the test
// when there are none or when one shows a secret.
func problems(t *testing.T, src string, env map[string]string) []string {
	t.Helper()
	_, err := Parse([]byte(src), "t.yaml", mapEnv(env), nil)
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("Parse error = %v, want *config.Error", err)
	}
	var got []string
	for _, p := range cerr.Problems {
		got = append(got, p.String())
		for _, s := range testSecrets() {
			if strings.Contains(p.String(), s) {
				t.Errorf("problem %q shows a secret", p)
			}
		}
	}
	return got
}

func TestSlackSection(t *testing.T) {
	defaults := Slack{
		Mode: SlackSocket, BotToken: testBotToken, AppToken: testAppToken, Listen: ":3000",
		APIURL: "https://slack.com/api/", OpsListen: ":9090", Workers: 8, Queue: 64, MaxThreadMessages: 20, Line: 2,
	}
	tests := []struct {
		name string
		src  string
		want *Slack
	}{
		{name: "no section", src: "", want: nil},
		{name: "a null section is absent", src: "slack:\n", want: nil},
		{
			name: "socket mode with defaults",
			src:  "slack:\n  bot_token: ${BOT}\n  app_token: ${APP}\n",
			want: &defaults,
		},
		{
			name: "http mode needs no app token",
			src:  "slack:\n  mode: http\n  bot_token: ${BOT}\n  signing_secret: ${SIGN}\n  listen: 127.0.0.1:8080\n",
			want: &Slack{
				Mode: SlackHTTP, BotToken: testBotToken, SigningSecret: testSigningSecret, Listen: "127.0.0.1:8080",
				APIURL: "https://slack.com/api/", OpsListen: ":9090", Workers: 8, Queue: 64, MaxThreadMessages: 20, Line: 2,
			},
		},
		{
			name: "every field; api_url gets its slash",
			src: "slack:\n  mode: socket\n  bot_token: ${BOT}\n  app_token: ${APP}\n  api_url: http://127.0.0.1:9999/api\n" +
				"  ops_listen: \"off\"\n  workers: 1\n  queue: 0\n  max_thread_messages: 50\n",
			want: &Slack{
				Mode: SlackSocket, BotToken: testBotToken, AppToken: testAppToken, Listen: ":3000",
				APIURL: "http://127.0.0.1:9999/api/", OpsListen: OpsOff, Workers: 1, Queue: 0, MaxThreadMessages: 50, Line: 2,
			},
		},
		{
			name: "listen is not checked in socket mode",
			src:  "slack:\n  bot_token: ${BOT}\n  app_token: ${APP}\n  listen: nonsense\n",
			want: func() *Slack { s := defaults; s.Listen = "nonsense"; return &s }(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseOK(t, tt.src, secretEnv(), nil).Slack
			if diff := cmp.Diff(tt.want, got, ignoreIndex); diff != "" {
				t.Errorf("Slack mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSlackProblems(t *testing.T) {
	const tokens = "slack:\n  bot_token: ${BOT}\n  app_token: ${APP}\n"
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "an empty section still needs the bot token and, in socket mode, the app token",
			src:  "slack: {}\n",
			want: []string{
				`t.yaml:1: slack.bot_token: is required: the Bot User OAuth Token (OAuth & Permissions), starting with "xoxb-" (or bot_token_file)`,
				`t.yaml:1: slack.app_token: is required: an app-level token with connections:write (Basic Information, App-Level Tokens), starting with "xapp-" (or app_token_file)`,
			},
		},
		{
			name: "tokens swapped",
			src:  "slack:\n  bot_token: ${APP}\n  app_token: ${BOT}\n",
			want: []string{
				`t.yaml:2: slack.bot_token: holds an app-level token ("xapp-"); give the Bot User OAuth Token (OAuth & Permissions), starting with "xoxb-"`,
				`t.yaml:3: slack.app_token: holds a bot token ("xoxb-"); give an app-level token with connections:write (Basic Information, App-Level Tokens), starting with "xapp-"`,
			},
		},
		{
			name: "a user token, a token that is no token, a token with a newline",
			src:  "slack:\n  bot_token: xoxp-123-SECRET\n  app_token: SECRET\n  signing_secret: \"SECRET\\n\"\n",
			want: []string{
				`t.yaml:2: slack.bot_token: holds a user token ("xoxp-"); give the Bot User OAuth Token (OAuth & Permissions), starting with "xoxb-"`,
				`t.yaml:3: slack.app_token: does not start with "xapp-": give an app-level token with connections:write (Basic Information, App-Level Tokens)`,
				`t.yaml:4: slack.signing_secret: contains white space or a control character`,
			},
		},
		{
			name: "http mode needs the signing secret, and refuses a token in its place",
			src:  "slack:\n  mode: http\n  bot_token: ${BOT}\n  app_token: 'xapp-SECRET '\n---\n",
			want: []string{`t.yaml:5: a second YAML document starts here; the file must hold one`},
		},
		{
			name: "http mode needs the signing secret",
			src:  "slack:\n  mode: http\n  bot_token: ${BOT}\n  app_token: 'xapp-SECRET '\n",
			want: []string{
				`t.yaml:1: slack.signing_secret: is required in http mode: the Signing Secret from the app's Basic Information page (or signing_secret_file)`,
				`t.yaml:4: slack.app_token: contains white space or a control character`,
			},
		},
		{
			name: "a token as the signing secret",
			src:  "slack:\n  mode: http\n  bot_token: ${BOT}\n  signing_secret: ${BOT}\n",
			want: []string{`t.yaml:4: slack.signing_secret: holds a bot token ("xoxb-"), not the Signing Secret from the app's Basic Information page`},
		},
		{
			name: "a misspelt mode gets a suggestion and never its value",
			src:  tokens + "  mode: sokcet\n",
			want: []string{`t.yaml:4: slack.mode: must be "socket" or "http", did you mean "socket"?`},
		},
		{
			name: "a mode far from any",
			src:  tokens + "  mode: xoxb-SECRET\n",
			want: []string{`t.yaml:4: slack.mode: must be "socket" or "http"`},
		},
		{
			name: "addresses",
			src:  "slack:\n  mode: http\n  bot_token: ${BOT}\n  signing_secret: ${SIGN}\n  listen: '3000'\n  ops_listen: ''\n",
			want: []string{
				`t.yaml:5: slack.listen: "3000" is not host:port (":3000" listens on every address)`,
				`t.yaml:6: slack.ops_listen: is required: host:port such as ":9090", or "off" to serve no health and metrics endpoints`,
			},
		},
		{
			name: "ops_listen on listen's port",
			src:  "slack:\n  mode: http\n  bot_token: ${BOT}\n  signing_secret: ${SIGN}\n  listen: ':8080'\n  ops_listen: 127.0.0.1:8080\n",
			want: []string{`t.yaml:6: slack.ops_listen: "127.0.0.1:8080" is also listen's address; give each its own port`},
		},
		{
			name: "port 0 is any free port, for both",
			src:  "slack:\n  mode: http\n  bot_token: ${BOT}\n  signing_secret: ${SIGN}\n  listen: 127.0.0.1:0\n  ops_listen: 127.0.0.1:0\n  workers: 0\n",
			want: []string{`t.yaml:7: slack.workers: must be from 1 to 256`},
		},
		{
			name: "a bad ops_listen port",
			src:  tokens + "  ops_listen: ':99999'\n",
			want: []string{`t.yaml:4: slack.ops_listen: ":99999" is not host:port (":9090" listens on every address)`},
		},
		{
			name: "api_url over plain http to another machine would send the token in clear",
			src:  tokens + "  api_url: http://proxy.corp.example/api/\n",
			want: []string{`t.yaml:4: slack.api_url: must be https:// unless its host is this machine (localhost, 127.0.0.1, ::1): the bot token goes with every call`},
		},
		{
			name: "api_url with a password does not show it",
			src:  tokens + "  api_url: https://u:SECRET@slack.example/api/\n",
			want: []string{`t.yaml:4: slack.api_url: must be an http:// or https:// URL ending in "/", such as "https://slack.com/api/", without user, query or fragment`},
		},
		{
			name: "api_url not http",
			src:  tokens + "  api_url: ftp://slack.example/api/\n",
			want: []string{`t.yaml:4: slack.api_url: must be an http:// or https:// URL ending in "/", such as "https://slack.com/api/", without user, query or fragment`},
		},
		{
			name: "limits",
			src:  tokens + "  workers: 0\n  queue: 10001\n  max_thread_messages: 2\n",
			want: []string{
				`t.yaml:4: slack.workers: must be from 1 to 256`,
				`t.yaml:5: slack.queue: must be from 0 to 10000`,
				`t.yaml:6: slack.max_thread_messages: must be from 3 to 50`,
			},
		},
		{
			name: "more limits",
			src:  tokens + "  workers: 257\n  queue: -1\n  max_thread_messages: 51\n",
			want: []string{
				`t.yaml:4: slack.workers: must be from 1 to 256`,
				`t.yaml:5: slack.queue: must be from 0 to 10000`,
				`t.yaml:6: slack.max_thread_messages: must be from 3 to 50`,
			},
		},
		{
			name: "a token in a list is not shown",
			src:  "slack:\n  bot_token: [xoxb-SECRET]\n  app_token: ${APP}\n  bot_tokn: xoxb-SECRET\n",
			want: []string{
				`t.yaml:2: slack.bot_token: expected a string, got a list`,
				`t.yaml:4: slack.bot_tokn: unknown key, did you mean "bot_token"?`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(t, tt.src, secretEnv())
			if diff := cmp.Diff(tt.want, got, ignoreIndex); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSlackTokenFromFile(t *testing.T) {
	src := "slack:\n  bot_token_file: /run/secrets/bot\n  app_token: ${APP}\n"
	cfg := parseOK(t, src, secretEnv(), map[string]string{"/run/secrets/bot": testBotToken + "\n"})
	if got := cfg.Slack.BotToken.Reveal(); got != testBotToken {
		t.Errorf("BotToken = %q, want the file's content less its newline", got)
	}
}

// TestConfigNeverShowsSecrets formats Configs holding every kind of secret in
// every way a program might print or log them.
func TestConfigNeverShowsSecrets(t *testing.T) {
	const serve = `
slack:
  mode: http
  bot_token: ${BOT}
  app_token: ${APP}
  signing_secret: ${SIGN}
store:
  driver: postgres
  dsn: ${DSN}
`
	// *Directory and *Kerberos, held by pointer like *Slack, format the same way.
	const ad = `
directory:
  urls: [ldaps://dc1.corp.example:636]
  bind_dn: ro@corp.example
  bind_password: ldapSECRET
kerberos:
  realm: CORP.EXAMPLE
  principal: ro
  password: krbSECRET
`
	tests := []struct {
		name  string
		src   string
		verbs []string
	}{
		{"slack and store, every verb", serve, []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%t", "%10.3s"}},
		{"every section, every verb", serve + ad, []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%t", "%10.3s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := parseOK(t, tt.src, secretEnv(), nil)
			if cfg.Slack.BotToken.Reveal() != testBotToken || cfg.Store.DSN.Reveal() != testDSN {
				t.Fatalf("secrets not loaded: %+v", cfg)
			}
			var out []string
			for _, v := range []any{cfg, *cfg, cfg.Slack, *cfg.Slack, cfg.Store, &cfg.Store, []any{cfg}} {
				for _, verb := range tt.verbs {
					out = append(out, fmt.Sprintf(verb, v))
				}
				j, err := json.Marshal(v)
				if err != nil {
					t.Fatalf("json.Marshal(%T): %v", v, err)
				}
				out = append(out, string(j))
			}
			all := strings.Join(out, "\n")
			for _, s := range append(testSecrets(), "ldapSECRET", "krbSECRET", fmt.Sprintf("%x", testBotToken)) {
				if strings.Contains(all, s) {
					t.Errorf("a printed Config shows %q", s)
				}
			}
			if !strings.Contains(all, "BotToken:[redacted]") || !strings.Contains(all, `"DSN":"[redacted]"`) {
				t.Errorf("printed Config lacks the redaction marks:\n%s", all)
			}
		})
	}
}

func TestSlackFormat(t *testing.T) {
	s := &Slack{Mode: SlackSocket, BotToken: testBotToken, Workers: 8}
	var nilSlack *Slack
	tests := []struct {
		format string
		arg    any
		want   string
	}{
		{"%v", s, "&{socket [redacted]      8 0 0 0}"},
		{"%+v", s, "&{Mode:socket BotToken:[redacted] AppToken: SigningSecret: Listen: APIURL: OpsListen: Workers:8 Queue:0 MaxThreadMessages:0 Line:0}"},
		{"%#v", s, `&config.Slack{Mode:"socket", BotToken:"[redacted]", AppToken:"", SigningSecret:"", Listen:"", APIURL:"", OpsListen:"", Workers:8, Queue:0, MaxThreadMessages:0, Line:0}`},
		{"%v", struct{ S *Slack }{s}, "{&{socket [redacted]      8 0 0 0}}"},
		{"%s", struct{ S *Slack }{s}, "{&{socket [redacted]      %!s(int=8) %!s(int=0) %!s(int=0) %!s(int=0)}}"},
		{"%v", nilSlack, "<nil>"},
		{"%#v", nilSlack, "(*config.Slack)(nil)"},
	}
	for _, tt := range tests {
		if got := fmt.Sprintf(tt.format, tt.arg); got != tt.want {
			t.Errorf("Sprintf(%q, %T) = %s, want %s", tt.format, tt.arg, got, tt.want)
		}
	}
}
