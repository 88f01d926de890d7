package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/internal/golden"
	"github.com/authtriage/authtriage/triage"
)

// testEnv is the environment the testdata files are loaded with.
func testEnv(name string) string {
	return map[string]string{
		"AD_DOMAIN": "corp.example",
		"EMPTY":     "",
		"INJECT":    "x\nhosts: [{name: evil}]",
	}[name]
}

func TestLoadGood(t *testing.T) {
	got, err := Load(t.Context(), "testdata/good.yaml", testEnv)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := &Config{
		Defaults: Defaults{Since: 7 * 24 * time.Hour, CheckTimeout: 20 * time.Second, Deadline: 2 * time.Minute},
		Store:    defaultStore(),
		Hosts: []Host{
			{
				Name: "sqlhost01",
				FQDN: "sqlhost01.corp.example",
				Instances: []triage.Instance{
					{Port: 1433}, {Name: "SALES", Port: 50123}, {Name: "HR", Port: 50124}, {Port: 1434}, {Name: "REPORTING"},
				},
				ServiceAccount: `CORP\svc_sql`,
				ErrorLog:       "/var/opt/mssql/log/errorlog",
				Events:         []string{"/srv/evidence/system.xml", `C:\Evidence\application.xml`},
				Agent:          "agent-east",
				Tags:           []string{"prod", "finance"},
				Line:           12,
			},
			{
				Name: "sqlhost02.corp.example", FQDN: "sqlhost02.corp.example", ServiceAccount: "svc_sql@corp.example",
				ErrorLog: ErrorLogSQL, Agent: "agent-east", Tags: []string{"prod"}, Line: 27,
				Listeners: []Listener{{Name: "ag1-listener", Port: 1433}, {Name: "ag2-listener.corp.example", Port: 50000}, {Name: "AG3"}},
				Nodes:     []string{"sqlnode1", "sqlnode2.corp.example"}, Aliases: []string{"sales-db.corp.example"},
			},
			{
				Name: "sqlhost03", ServiceAccount: `CORP\gmsa_sql$`, Line: 38,
				ErrorLog: `C:\Program Files\Microsoft SQL Server\MSSQL16.MSSQLSERVER\MSSQL\Log\ERRORLOG`,
			},
			{Name: "sqlhost04", ServiceAccount: `NT SERVICE\MSSQL$SALES`, Instances: []triage.Instance{{Name: "SALES"}}, Line: 42},
			{Name: "sqlhost05", ServiceAccount: `NT AUTHORITY\NETWORK SERVICE`, Line: 46},
			{Name: "sqlhost06", ServiceAccount: "LocalSystem", Line: 49},
			{Name: "sqlhost07", ServiceAccount: `CORP\svc_from_file`, ErrorLog: ErrorLogSQL, Line: 52},
		},
		Agents: []Agent{{Name: "agent-east", URL: "https://agent-east.corp.example:8443", CertPath: "/etc/authtriage/bot.pem",
			KeyPath: "/etc/authtriage/bot-key.pem", CAPath: "/etc/authtriage/ca.pem", Line: 56}},
	}
	if diff := cmp.Diff(want, got, ignoreIndex); diff != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Errorf("Validate of a loaded Config: %v", err)
	}
}

// TestLoadBad loads one file per failure mode and compares the problems with
// testdata/NAME.golden. Run with -update to rewrite the goldens, then review
// the diff.
func TestLoadBad(t *testing.T) {
	tests := []struct {
		file string
		what string
	}{
		{"bad-syntax.yaml", "an unterminated quote is one syntax problem with its line"},
		{"bad-indent.yaml", "a parser error gets the 1-based line yaml counts from 0"},
		{"bad-two-documents.yaml", "a second document is refused"},
		{"bad-root.yaml", "the top level must be a mapping"},
		{"bad-unknown-key.yaml", "unknown keys, with did-you-mean when close"},
		{"bad-types.yaml", "wrong types and repeated keys"},
		{"bad-env.yaml", "unset, empty, malformed ${VAR}; a value never becomes YAML"},
		{"bad-secret-file.yaml", "X_file: missing, empty, not a name, X given too"},
		{"bad-duplicate-hosts.yaml", "names and FQDNs are unique ignoring case"},
		{"bad-host-names.yaml", "host names, LDAP-filter-looking ones included"},
		{"bad-service-account.yaml", "service accounts"},
		{"bad-instances.yaml", "instances and ports"},
		{"bad-listeners.yaml", "listeners, nodes and aliases: names, ports, repeats"},
		{"bad-paths-tags.yaml", "paths, tags and agent names"},
		{"bad-defaults.yaml", "durations too long, deadline below check_timeout"},
		{"bad-defaults-zero.yaml", "durations that are not positive"},
		{"bad-alias-bomb.yaml", "merge-key alias bombs stop within a budget"},
		{"bad-many.yaml", "many problems in one file, all reported, sorted by line"},
		{"bad-serve.yaml", "slack, access, schedules and store, no secret shown"},
	}
	files, err := filepath.Glob("testdata/bad-*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !slices.ContainsFunc(tests, func(tt struct{ file, what string }) bool { return tt.file == filepath.Base(f) }) {
			t.Errorf("%s has no test case", f)
		}
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".yaml"), func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			cfg, err := Load(t.Context(), path, testEnv)
			if cfg != nil {
				t.Errorf("Load returned a Config with error %v", err)
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Load error = %v (%T), want *config.Error", err, err)
			}
			for i, p := range cerr.Problems {
				if p.File != path || p.Line < 1 || p.Msg == "" {
					t.Errorf("problem %d = %+v: want File %q, a line and a message", i, p, path)
				}
				if i > 0 && p.Line < cerr.Problems[i-1].Line {
					t.Errorf("problem %d on line %d comes after line %d", i, p.Line, cerr.Problems[i-1].Line)
				}
			}
			golden.Check(t, strings.TrimSuffix(path, ".yaml")+".golden", []byte(err.Error()+"\n"))
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(t.Context(), filepath.Join(t.TempDir(), "absent.yaml"), testEnv)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing file = %v, want an error wrapping fs.ErrNotExist", err)
	}
	var cerr *Error
	if errors.As(err, &cerr) {
		t.Errorf("Load of a missing file gave problems %v, want an I/O error", err)
	}
}

func TestLoadReadsFilesRelativeToConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("account", "CORP\\svc_sql\r\n")
	write("absolute", "abs-agent\n\n")
	agents := "agents:\n  - name: abs-agent\n    url: https://agent.corp.example:8443\n    cert_path: /c.pem\n    key_path: /k.pem\n    ca_path: /ca.pem\n"
	write("c.yaml", agents+"hosts:\n  - name: h\n    service_account_file: account\n    agent_file: "+filepath.Join(dir, "absolute")+"\n")
	// Only one newline is trimmed: "abs-agent\n" is not an agent name.
	if _, err := Load(t.Context(), filepath.Join(dir, "c.yaml"), nil); err == nil || !strings.Contains(err.Error(), `"abs-agent\n" is not a valid agent name`) {
		t.Fatalf("Load = %v, want the agent name with a newline refused", err)
	}
	write("absolute", "abs-agent\n")
	cfg, err := Load(t.Context(), filepath.Join(dir, "c.yaml"), nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := cfg.Hosts[0]; got.ServiceAccount != `CORP\svc_sql` || got.Agent != "abs-agent" {
		t.Errorf("host = %+v, want the account without CRLF and the agent from the absolute path", got)
	}
}

// parseOK parses src with env and files, failing the test on problems.
func parseOK(t *testing.T, src string, env map[string]string, files map[string]string) *Config {
	t.Helper()
	cfg, err := Parse([]byte(src), "t.yaml", mapEnv(env), mapFiles(files))
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return cfg
}

func mapEnv(env map[string]string) func(string) string {
	return func(name string) string { return env[name] }
}

func mapFiles(files map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		if s, ok := files[name]; ok {
			return []byte(s), nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		env   map[string]string
		files map[string]string
		want  *Config
	}{
		{
			name: "empty file gives the defaults",
			src:  "",
			want: &Config{
				Defaults: Defaults{Since: 24 * time.Hour, CheckTimeout: 30 * time.Second, Deadline: time.Minute},
				Store:    Store{Driver: "sqlite", Path: "authtriage.db", Retention: 90 * 24 * time.Hour, LeaseTTL: time.Minute},
			},
		},
		{
			name: "comments only gives the defaults",
			src:  "# nothing yet\n",
			want: &Config{Defaults: Defaults{Since: DefaultSince, CheckTimeout: DefaultCheckTimeout, Deadline: DefaultDeadline}, Store: defaultStore()},
		},
		{
			name: "null sections and keys are absent",
			src:  "defaults:\nhosts:\n",
			want: &Config{Defaults: Defaults{Since: DefaultSince, CheckTimeout: DefaultCheckTimeout, Deadline: DefaultDeadline}, Store: defaultStore()},
		},
		{
			name: "defaults fill what is not given",
			src:  "defaults: {since: 1d}\n",
			want: &Config{Defaults: Defaults{Since: 24 * time.Hour, CheckTimeout: DefaultCheckTimeout, Deadline: DefaultDeadline}, Store: defaultStore()},
		},
		{
			name: "several variables in one value, $$ and a lone $",
			src:  "defaults: {since: '${N}${UNIT}'}\nhosts:\n  - name: ${HOST}\n    fqdn: ${HOST}.${DOMAIN}\n    service_account: '${DOMAIN_NB}\\gmsa$$'\n    errorlog: /logs/$weird/${HOST}\n",
			env:  map[string]string{"N": "36", "UNIT": "h", "HOST": "sql1", "DOMAIN": "corp.example", "DOMAIN_NB": "CORP"},
			want: &Config{
				Defaults: Defaults{Since: 36 * time.Hour, CheckTimeout: DefaultCheckTimeout, Deadline: DefaultDeadline},
				Store:    defaultStore(),
				Hosts: []Host{{
					Name: "sql1", FQDN: "sql1.corp.example", ServiceAccount: `CORP\gmsa$`,
					ErrorLog: "/logs/$weird/sql1", Line: 3,
				}},
			},
		},
		{
			name: "a variable's value is not expanded again",
			src:  "hosts:\n  - name: h\n    errorlog: ${P}\n",
			env:  map[string]string{"P": "/x/${HOME}/$$"},
			want: &Config{
				Defaults: Defaults{Since: DefaultSince, CheckTimeout: DefaultCheckTimeout, Deadline: DefaultDeadline},
				Store:    defaultStore(),
				Hosts:    []Host{{Name: "h", ErrorLog: "/x/${HOME}/$$", Line: 2}},
			},
		},
		{
			name:  "X_file gives X, one newline trimmed, content not expanded",
			src:   "hosts:\n  - name: h\n    service_account_file: /run/secrets/${WHO}\n",
			env:   map[string]string{"WHO": "sa"},
			files: map[string]string{"/run/secrets/sa": "CORP\\svc$${X}\n"},
			want: &Config{
				Defaults: Defaults{Since: DefaultSince, CheckTimeout: DefaultCheckTimeout, Deadline: DefaultDeadline},
				Store:    defaultStore(),
				Hosts:    []Host{{Name: "h", ServiceAccount: `CORP\svc$${X}`, Line: 2}},
			},
		},
		{
			name: "merge keys: own keys win, earlier merges win; aliased hosts",
			src: "x-a: &a {agent: a, tags: [a]}\nx-b: &b {agent: b, errorlog: sql, events: [/e]}\n" +
				"hosts:\n  - <<: [*a, *b]\n    name: h\n    tags: [own]\n  - &g {name: g}\n" +
				"agents:\n  - {name: a, url: 'https://a:8443', cert_path: /c, key_path: /k, ca_path: /ca}\n",
			want: &Config{
				Defaults: Defaults{Since: DefaultSince, CheckTimeout: DefaultCheckTimeout, Deadline: DefaultDeadline},
				Store:    defaultStore(),
				Hosts: []Host{
					{Name: "h", Agent: "a", ErrorLog: ErrorLogSQL, Events: []string{"/e"}, Tags: []string{"own"}, Line: 4},
					{Name: "g", Line: 7},
				},
				Agents: []Agent{{Name: "a", URL: "https://a:8443", CertPath: "/c", KeyPath: "/k", CAPath: "/ca", Line: 9}},
			},
		},
		{
			name: "instances in every form",
			src:  "hosts:\n  - name: h\n    instances: [SALES, 'HR:50124', ':1433', {name: FIN}, {port: 1500}, {name: ops, port: '1600'}]\n",
			want: &Config{
				Defaults: Defaults{Since: DefaultSince, CheckTimeout: DefaultCheckTimeout, Deadline: DefaultDeadline},
				Store:    defaultStore(),
				Hosts: []Host{{Name: "h", Line: 2, Instances: []triage.Instance{
					{Name: "SALES"}, {Name: "HR", Port: 50124}, {Port: 1433}, {Name: "FIN"}, {Port: 1500}, {Name: "ops", Port: 1600},
				}}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.src), "t.yaml", mapEnv(tt.env), mapFiles(tt.files))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreIndex); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		env      map[string]string
		readFile func(string) ([]byte, error)
		want     []string
	}{
		{
			name: "an unset variable is reported where it is used",
			src:  "hosts:\n  - name: h\n    agent: ${AGENT}\n",
			want: []string{"t.yaml:3: hosts[0].agent: environment variable AGENT is not set or is empty"},
		},
		{
			name: "variables in keys are not expanded",
			src:  "hosts:\n  - name: h\n    ${KEY}: x\n",
			env:  map[string]string{"KEY": "agent"},
			want: []string{`t.yaml:3: hosts[0]["${KEY}"]: unknown key; known keys: agent, aliases, errorlog, events, fqdn, instances, listeners, name, nodes, service_account, tags`},
		},
		{
			name: "an environment value cannot add structure",
			src:  "hosts:\n  - name: ${V}\n",
			env:  map[string]string{"V": "h\n  - name: evil"},
			want: []string{`t.yaml:2: hosts[0].name: "h\n  - name: evil" is not a valid host name: host name "h\n  - name: evil": '\n' is not allowed in a host name`},
		},
		{
			name:     "files cannot be read without readFile",
			src:      "hosts:\n  - name: h\n    agent_file: /a\n",
			readFile: nil,
			want:     []string{`t.yaml:3: hosts[0].agent_file: cannot read "/a": reading files is not enabled here`},
		},
		{
			name: "a key that cannot be a path is quoted",
			src:  "\"a\\nt.yaml:1: forged\": 1\n",
			want: []string{`t.yaml:1: ["a\nt.yaml:1: forged"]: unknown key; known keys: access, agent, agents, defaults, delegation, directory, hosts, kerberos, schedules, slack, sql, store`},
		},
		{
			name: "a mapping key is refused",
			src:  "? [a]\n: 1\n",
			want: []string{`t.yaml:1: a key must be a string, not a list`},
		},
		{
			name: "merge of a list of strings is refused",
			src:  "hosts:\n  - <<: [a]\n    name: h\n",
			want: []string{`t.yaml:2: hosts[0]: a merge (<<) needs a mapping or a list of mappings, not a string`},
		},
		{
			name: "a control character gets its line",
			src:  "hosts:\n  - name: h\x01\n",
			want: []string{"t.yaml:2: syntax error: control characters are not allowed"},
		},
		{
			name: "an unknown anchor gets its line",
			src:  "hosts:\n  - name: h\n    agent: *nope\n",
			want: []string{"t.yaml:3: syntax error: unknown anchor 'nope' referenced"},
		},
		{
			name: "a duplicate fqdn from a derived fqdn",
			src:  "hosts:\n  - name: a.corp\n  - name: b\n    fqdn: A.CORP\n",
			want: []string{`t.yaml:4: hosts[1].fqdn: "A.CORP" is already used by hosts[0] (line 2)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src), "t.yaml", mapEnv(tt.env), tt.readFile)
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Parse error = %v, want *config.Error", err)
			}
			var got []string
			for _, p := range cerr.Problems {
				got = append(got, p.String())
			}
			if diff := cmp.Diff(tt.want, got, ignoreIndex); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	env := mapEnv(map[string]string{"A": "1", "B_2": "two", "DOLLAR": "$"})
	tests := []struct {
		in, want, err string
	}{
		{in: "plain", want: "plain"},
		{in: "${A}", want: "1"},
		{in: "x${A}y${B_2}z", want: "x1ytwoz"},
		{in: "$${A}", want: "${A}"},
		{in: "$$$$", want: "$$"},
		{in: "gmsa$", want: "gmsa$"},
		{in: "$A $", want: "$A $"},
		{in: "${DOLLAR}{A}", want: "${A}"},
		{in: "${UNSET}", err: "environment variable UNSET is not set or is empty"},
		{in: "${A", err: `"${" has no closing "}"; write "$$" for a literal "$"`},
		{in: "${}", err: `"${...}" must hold a variable name (letters, digits and '_'); write "$$" for a literal "$"`},
		{in: "${A:-x}", err: `"${...}" must hold a variable name (letters, digits and '_'); write "$$" for a literal "$"`},
		{in: "${9A}", err: `"${...}" must hold a variable name (letters, digits and '_'); write "$$" for a literal "$"`},
	}
	for _, tt := range tests {
		got, err := expand(tt.in, env)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("expand(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("expand(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"24h", 24 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"1d", 24 * time.Hour, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"-2d", -48 * time.Hour, true},
		{"1.5d", 0, false},
		{"d", 0, false},
		{"1w", 0, false},
		{"30", 0, false},
		{"99999999999d", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseDuration(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestValidServiceAccount(t *testing.T) {
	good := []string{
		`CORP\svc_sql`, `corp.example\svc_sql`, `.\localsvc`, `svc_sql@corp.example`, `CORP\gmsa_sql$`,
		`NT SERVICE\MSSQLSERVER`, `NT SERVICE\MSSQL$SALES`, `NT AUTHORITY\NETWORK SERVICE`, `NT AUTHORITY\SYSTEM`,
		`LocalSystem`, `localsystem`, `NetworkService`, `CORP\SQL Service`,
	}
	for _, s := range good {
		if err := validServiceAccount(s); err != nil {
			t.Errorf("validServiceAccount(%q) = %v, want nil", s, err)
		}
	}
	bad := []string{
		"", "svc_sql", `CORP\svc(sql)`, `CORP\*`, `CORP\svc*`, "CORP\\svc\n", "CORP\\s\x00vc", `CORP\"svc"`, `CORP\'svc'`,
		`\svc`, `CORP\`, `CORP\a\b`, `svc@`, `@corp.example`, `svc@corp..example`, `CO RP\svc`, `CORP\ svc`,
		`CORP\svc;rm`, `CORP\svc|x`, `CORP\<svc>`, "CORP\\" + strings.Repeat("a", 252), "CORP\\svc\xff",
	}
	for _, s := range bad {
		if err := validServiceAccount(s); err == nil {
			t.Errorf("validServiceAccount(%q) = nil, want an error", s)
		}
	}
}

func TestHostAndTarget(t *testing.T) {
	cfg := parseOK(t, "hosts:\n  - name: SqlHost01\n    fqdn: sqlhost01.corp.example\n    instances: [':1433']\n    service_account: CORP\\svc\n    tags: [a]\n  - name: other\n", nil, nil)
	for _, name := range []string{"sqlhost01", "SQLHOST01", "SqlHost01.Corp.Example"} {
		h, ok := cfg.Host(name)
		if !ok || h.Name != "SqlHost01" {
			t.Errorf("Host(%q) = %q, %v; want SqlHost01", name, h.Name, ok)
		}
	}
	if h, ok := cfg.Host("sqlhost"); ok {
		t.Errorf("Host(sqlhost) = %q, want none", h.Name)
	}
	h, _ := cfg.Host("sqlhost01")
	h.Tags[0] = "changed"
	h.Instances[0].Port = 1
	if cfg.Hosts[0].Tags[0] != "a" || cfg.Hosts[0].Instances[0].Port != 1433 {
		t.Errorf("changing the Host from Host changed the Config")
	}
	got := cfg.Hosts[0].Target()
	want := triage.Target{Host: "SqlHost01", FQDN: "sqlhost01.corp.example", Instances: []triage.Instance{{Port: 1433}}, ServiceAccount: `CORP\svc`}
	if diff := cmp.Diff(want, got, ignoreIndex); diff != "" {
		t.Errorf("Target mismatch (-want +got):\n%s", diff)
	}
}

func TestSuggest(t *testing.T) {
	cfg := &Config{Hosts: []Host{
		{Name: "sqlhost01"}, {Name: "sqlhost02"}, {Name: "sqlhost03"}, {Name: "sqlhost10"}, {Name: "reports"}, {Name: "db1"},
	}}
	tests := []struct {
		name string
		want []string
	}{
		{"sqlhost1", []string{"sqlhost01", "sqlhost10", "sqlhost02"}},
		{"SQLHOTS01", []string{"sqlhost01", "sqlhost02", "sqlhost03"}},
		{"sqlhost01.corp.example", []string{"sqlhost01"}},
		{"report", []string{"reports"}},
		{"db2", []string{"db1"}},
		{"x", nil},
		{"somethingelse", nil},
	}
	for _, tt := range tests {
		if got := cfg.Suggest(tt.name); !slices.Equal(got, tt.want) {
			t.Errorf("Suggest(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"hosts", "hosts", 0},
		{"hots", "hosts", 1},
		{"hsots", "hosts", 1},
		{"fdqn", "fqdn", 1},
		{"defualts", "defaults", 1},
		{"agent", "tags", 3},
		{"a", "abcdef", 3},
		{"ünï", "uni", 2},
	}
	for _, tt := range tests {
		if got := distance(tt.a, tt.b, 2); got != tt.want {
			t.Errorf("distance(%q, %q, 2) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	cfg := &Config{
		Defaults: Defaults{Since: DefaultSince, CheckTimeout: time.Minute, Deadline: time.Second},
		Store:    defaultStore(),
		Hosts: []Host{
			{Name: "ok", Instances: []triage.Instance{{}, {Name: "BAD:1"}, {Port: 70000}}},
			{Name: "OK", Line: 9, ServiceAccount: "x(y)"},
		},
	}
	err := cfg.Validate()
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("Validate = %v, want *config.Error", err)
	}
	want := []string{
		`defaults.deadline: 1s is shorter than check_timeout 1m`,
		`hosts[0].instances[1]: "BAD:1" is not a valid instance name`,
		`hosts[0].instances[2]: port "70000" is not a number from 1 to 65535`,
		`line 9: hosts[1].service_account: "x(y)" is not a valid service account: '(' is not allowed`,
		`line 9: hosts[1].name: "OK" is already used by hosts[0]`,
	}
	var got []string
	for _, p := range cerr.Problems {
		got = append(got, p.String())
	}
	if diff := cmp.Diff(want, got, ignoreIndex); diff != "" {
		t.Errorf("Validate problems (-want +got):\n%s", diff)
	}
	if err := (&Config{Defaults: defaultDefaults(), Store: defaultStore()}).Validate(); err != nil {
		t.Errorf("Validate of the defaults = %v", err)
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "a.yaml", Line: 3, Path: "hosts[0].name", Msg: "is required"}, "a.yaml:3: hosts[0].name: is required"},
		{Problem{File: "a.yaml", Line: 1, Msg: "syntax error: x"}, "a.yaml:1: syntax error: x"},
		{Problem{File: "a.yaml", Path: "p", Msg: "m"}, "a.yaml: p: m"},
		{Problem{Line: 2, Path: "p", Msg: "m"}, "line 2: p: m"},
		{Problem{Path: "p", Msg: "m"}, "p: m"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
	e := &Error{Problems: []Problem{tests[0].p, tests[1].p}}
	if got, want := e.Error(), tests[0].want+"\n"+tests[1].want; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// TestTargetNames: the inventory's listeners travel with source "inventory", fully
// qualified in the host's domain when short; nodes and aliases are fully qualified the
// same way. A host without a domain leaves a short listener's FQDN unknown.
func TestTargetNames(t *testing.T) {
	cfg := parseOK(t, "hosts:\n  - name: sqlhost01\n    fqdn: sqlhost01.corp.example\n"+
		"    listeners: [ag1, 'ag2.other.example:50000', {name: ag3, port: 1433}]\n"+
		"    nodes: [sqlnode1, sqlnode2.corp.example]\n    aliases: [sales, sales-db.corp.example]\n"+
		"  - name: sqlhost02\n    listeners: [ag9]\n", nil, nil)
	got := cfg.Hosts[0].Target()
	want := triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example",
		Listeners: []triage.Listener{
			{Name: "ag1", FQDN: "ag1.corp.example", Source: "inventory"},
			{Name: "ag2.other.example", FQDN: "ag2.other.example", Port: 50000, Source: "inventory"},
			{Name: "ag3", FQDN: "ag3.corp.example", Port: 1433, Source: "inventory"},
		},
		Nodes:   []string{"sqlnode1.corp.example", "sqlnode2.corp.example"},
		Aliases: []string{"sales.corp.example", "sales-db.corp.example"},
	}
	if diff := cmp.Diff(want, got, ignoreIndex); diff != "" {
		t.Errorf("Target mismatch (-want +got):\n%s", diff)
	}
	if got := cfg.Hosts[1].Target().Listeners; len(got) != 1 || got[0].FQDN != "" || got[0].Name != "ag9" {
		t.Errorf("listener of a host without a domain: %+v; want ag9 with no FQDN", got)
	}
	h, _ := cfg.Host("sqlhost01")
	h.Listeners[0].Port = 1
	h.Nodes[0] = "x"
	if cfg.Hosts[0].Listeners[0].Port != 0 || cfg.Hosts[0].Nodes[0] != "sqlnode1" {
		t.Error("changing the Host from Host changed the Config")
	}
}

// TestHostIndexed: a parsed configuration looks hosts up through its index as a
// Config built in code does by scanning, name or FQDN in any case.
func TestHostIndexed(t *testing.T) {
	yaml := "hosts:\n  - name: sqlhost01\n    fqdn: sqlhost01.corp.example\n  - name: sqlhost02.corp.example\n"
	parsed, err := Parse([]byte(yaml), "test.yaml", func(string) string { return "" }, nil)
	if err != nil {
		t.Fatal(err)
	}
	built := &Config{Hosts: parsed.Hosts}
	for _, name := range []string{"sqlhost01", "SQLHOST01.corp.EXAMPLE", "sqlhost02.corp.example", "SqlHost02.Corp.Example", "sqlhost03", ""} {
		p, pok := parsed.Host(name)
		b, bok := built.Host(name)
		if pok != bok || p.Name != b.Name {
			t.Errorf("Host(%q): parsed %q, %v; built %q, %v", name, p.Name, pok, b.Name, bok)
		}
	}
	if h, ok := parsed.Host("sqlhost01.corp.example"); !ok || h.Name != "sqlhost01" {
		t.Errorf("Host by FQDN = %q, %v", h.Name, ok)
	}
}
