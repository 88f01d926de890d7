package plan_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/checks"
	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/plan"
	"github.com/authtriage/authtriage/triage"
)

const demoErrorLog = "../internal/demo/sqlhost01/ERRORLOG"
const demoLDIF = "../internal/demo/sqlhost01/directory.ldf"

// parse returns the configuration yaml, which must be valid.
func parse(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.ParseAs([]byte(yaml), "authtriage.yaml", func(string) string { return "" }, nil, config.RoleCLI)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// withAgent returns a configuration whose host sqlhost01 an agent serves, and
// sqlhost02 is served by none.
func withAgent(t *testing.T, extra string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	if err := agent.GenerateCerts(dir, []string{"127.0.0.1"}, []string{"bot"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	return parse(t, "agents:\n  - name: east\n    url: https://127.0.0.1:1\n    cert_path: "+filepath.Join(dir, "bot.pem")+
		"\n    key_path: "+filepath.Join(dir, "bot-key.pem")+"\n    ca_path: "+filepath.Join(dir, "ca.pem")+"\n"+extra+
		"hosts:\n  - name: sqlhost01\n    fqdn: sqlhost01.corp.example\n    agent: east\n"+
		"  - name: sqlhost02\n    fqdn: sqlhost02.corp.example\n    errorlog: sql\n")
}

func names(cs []triage.Check) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name())
	}
	return out
}

// TestOneListOfChecks: every planner draws its checks from one list, in one order: a
// client without an agent leaves out those only an agent on the host runs; a client
// with one has the agent run them all but those the request's files replace; the
// agent runs them all itself.
func TestOneListOfChecks(t *testing.T) {
	all := []string{"errorlog", "eventlog", "instances", "spn", "account", "kerberos", "clock", "dc", "dns", "sql", "delegation", "lsa", "keytab"}
	// Without a live source (a directory, the KDC, an agent) nothing is discovered.
	offline := slices.DeleteFunc(slices.Clone(all[:11]), func(s string) bool { return s == "instances" })
	cfg := withAgent(t, "")
	client := plan.New(cfg, nil, plan.Options{AnyHost: true})
	agentSide := plan.New(cfg, nil, plan.Options{Agent: true})
	remote := func(c triage.Check) bool { _, ok := c.(interface{ Agent() string }); return ok }

	pl, err := client.For(t.Context(), "sqlhost01", plan.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(pl.Checks); !slices.Equal(got, all) {
		t.Errorf("client with an agent: %v; want %v", got, all)
	}
	for _, c := range pl.Checks {
		if !remote(c) {
			t.Errorf("client with an agent: %s runs here; want it run by the agent", c.Name())
		}
	}
	if pl.CheckTimeout != pl.Deadline {
		t.Errorf("check timeout %s, deadline %s: remote checks wait for the one stream, bounded by the deadline", pl.CheckTimeout, pl.Deadline)
	}

	pl, err = client.For(t.Context(), "sqlhost01", plan.Overrides{ErrorLogs: []string{demoErrorLog}, LDIF: demoLDIF})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range pl.Checks {
		if here := !remote(c); here != slices.Contains([]string{"errorlog", "spn", "account", "delegation"}, c.Name()) {
			t.Errorf("client with an agent and files: %s runs here: %v", c.Name(), here)
		}
	}

	pl, err = client.For(t.Context(), "sqlhost02", plan.Overrides{ErrorLogs: []string{demoErrorLog}})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(pl.Checks); !slices.Equal(got, offline) {
		t.Errorf("client without an agent or a directory: %v; want %v", got, offline)
	}

	pl, err = agentSide.For(t.Context(), "sqlhost02", plan.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(pl.Checks); !slices.Equal(got, all) {
		t.Errorf("agent: %v; want %v", got, all)
	}
	if _, ok := pl.Checks[0].(checks.SQLErrorLog); !ok {
		t.Errorf("agent, errorlog: sql: %T; want the sp_readerrorlog check", pl.Checks[0])
	}
}

// TestForErrors: what a request gets wrong is a *triage.InputError with a typed cause
// that says what is missing, in no front end's words; a host outside the inventory of
// an inventory-only planner is not found.
func TestForErrors(t *testing.T) {
	dir := t.TempDir()
	inventory := parse(t, "hosts:\n  - name: sqlhost01\n    fqdn: sqlhost01.corp.example\n")
	tests := []struct {
		name    string
		cfg     *config.Config
		opts    plan.Options
		host    string
		o       plan.Overrides
		check   func(error) bool
		message string
	}{
		{
			name: "unknown host, inventory only", cfg: inventory, host: "sqlhost1",
			check: func(err error) bool {
				var u *plan.UnknownHostError
				return errors.As(err, &u) && errors.Is(err, triage.ErrNotInInventory)
			},
			message: "sqlhost1 is not in the inventory (did you mean sqlhost01?)",
		},
		{
			name: "unknown host, agent", cfg: inventory, opts: plan.Options{Agent: true, AnyHost: true}, host: "other",
			check:   func(err error) bool { return errors.Is(err, triage.ErrNotInInventory) },
			message: "other is not in the inventory",
		},
		{
			name: "nothing to check, no configuration", opts: plan.Options{AnyHost: true}, host: "sqlhost01",
			check:   nothing(false, false, nil),
			message: "nothing to check for sqlhost01: no ERRORLOG, event-log or directory source",
		},
		{
			name: "nothing to check, not in the inventory", cfg: inventory, opts: plan.Options{AnyHost: true}, host: "sqlhost1",
			check:   nothing(true, false, []string{"sqlhost01"}),
			message: "nothing to check for sqlhost1: no ERRORLOG, event-log or directory source, and it is not in the inventory (did you mean sqlhost01?)",
		},
		{
			name: "nothing to check, in the inventory", cfg: inventory, opts: plan.Options{AnyHost: true}, host: "SQLHOST01",
			check:   nothing(true, true, nil),
			message: "nothing to check for SQLHOST01: no ERRORLOG, event-log or directory source in the inventory, and no agent serves it",
		},
		{
			name: "not a host name", opts: plan.Options{AnyHost: true}, host: "sql01)(cn=*", o: plan.Overrides{ErrorLogs: []string{demoErrorLog}},
			check: isInput, message: "not allowed in a host name",
		},
		{
			name: "missing file", opts: plan.Options{AnyHost: true}, host: "sqlhost01", o: plan.Overrides{Events: []string{filepath.Join(dir, "none.xml")}},
			check: isInput, message: "none.xml: no such file",
		},
		{
			name: "a directory for a file", opts: plan.Options{AnyHost: true}, host: "sqlhost01", o: plan.Overrides{ErrorLogs: []string{dir}},
			check: isInput, message: "is a directory; name the file",
		},
		{
			name: "missing LDIF", opts: plan.Options{AnyHost: true}, host: "sqlhost01", o: plan.Overrides{LDIF: filepath.Join(dir, "none.ldf")},
			check: isInput, message: "none.ldf: no such file",
		},
		{
			name: "window longer than an agent reads", cfg: withAgent(t, ""), opts: plan.Options{AnyHost: true}, host: "sqlhost01",
			o: plan.Overrides{Since: 180 * 24 * time.Hour},
			check: func(err error) bool {
				var long *plan.WindowTooLongError
				return isInput(err) && errors.As(err, &long) && long.Since == 180*24*time.Hour && long.Max == agent.MaxSince
			},
			message: "a window of 180d is longer than the 90d an agent reads",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := plan.New(tt.cfg, nil, tt.opts).For(t.Context(), tt.host, tt.o)
			if err == nil || !tt.check(err) || !strings.Contains(err.Error(), tt.message) {
				t.Fatalf("For = %v (%T); want %q", err, err, tt.message)
			}
			for _, word := range []string{"--", "give", "section"} {
				if strings.Contains(err.Error(), word) {
					t.Errorf("%q says %q: a front end's word", err, word)
				}
			}
		})
	}
}

func isInput(err error) bool { var in *triage.InputError; return errors.As(err, &in) }

func nothing(inventory, inInventory bool, suggestions []string) func(error) bool {
	return func(err error) bool {
		var n *plan.NothingToCheckError
		return isInput(err) && errors.As(err, &n) && n.Inventory == inventory && n.InInventory == inInventory && slices.Equal(n.Suggestions, suggestions)
	}
}

// TestSkipReasons: the checks a planner builds without a source say what is missing
// and why, naming the host, and no flag or configuration key.
func TestSkipReasons(t *testing.T) {
	cfg := parse(t, "hosts:\n  - name: sqlhost01\n    errorlog: sql\n  - name: sqlhost02\n    fqdn: sqlhost02.corp.example\n    events: ["+
		filepath.Join(t.TempDir(), "system.xml")+"]\n")
	tests := []struct {
		host  string
		opts  plan.Options
		o     plan.Overrides
		check string
		want  string
	}{
		{"sqlhost01", plan.Options{}, plan.Overrides{Events: []string{"../internal/demo/sqlhost01/System.xml"}}, "errorlog",
			"the ERRORLOG of sqlhost01 is read through sp_readerrorlog, which only an agent does, and no agent serves it"},
		{"sqlhost02", plan.Options{}, plan.Overrides{}, "errorlog", "no ERRORLOG source for sqlhost02: the inventory names none and no agent serves it"},
		{"sqlhost02", plan.Options{Agent: true}, plan.Overrides{}, "errorlog", "no ERRORLOG source for sqlhost02: the inventory names none and the agent does not run on it"},
		{"sqlhost01", plan.Options{}, plan.Overrides{Events: []string{"../internal/demo/sqlhost01/System.xml"}}, "spn", "no directory source: no domain controller or LDIF export"},
		{"sqlhost01", plan.Options{}, plan.Overrides{Events: []string{"../internal/demo/sqlhost01/System.xml"}}, "kerberos", "no Kerberos settings for the checker"},
		{"sqlhost01", plan.Options{}, plan.Overrides{Events: []string{"../internal/demo/sqlhost01/System.xml"}, LDIF: demoLDIF}, "dc", "offline triage from an LDIF export: not contacted"},
		{"sqlhost02", plan.Options{Agent: true}, plan.Overrides{}, "lsa", "the LSA is probed only by an agent running on the Windows SQL Server host"},
	}
	if runtime.GOOS != "windows" {
		tests = append(tests, struct {
			host  string
			opts  plan.Options
			o     plan.Overrides
			check string
			want  string
		}{"sqlhost01", plan.Options{}, plan.Overrides{Events: []string{"../internal/demo/sqlhost01/System.xml"}}, "sql", "no Kerberos settings for the checker's SQL Server logins"})
	}
	for _, tt := range tests {
		t.Run(tt.host+" "+tt.check, func(t *testing.T) {
			pl, err := plan.New(cfg, nil, tt.opts).For(t.Context(), tt.host, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.Index(names(pl.Checks), tt.check)
			if i < 0 {
				t.Fatalf("no %s check in %v", tt.check, names(pl.Checks))
			}
			_, err = pl.Checks[i].Run(t.Context(), pl.Target)
			reason, ok := triage.IsSkip(err)
			if !ok || reason != tt.want {
				t.Errorf("%s: %v; want skipped: %q", tt.check, err, tt.want)
			}
		})
	}
}

// TestTarget: the request's names override the inventory's; a dotted host name is its
// own FQDN.
func TestTarget(t *testing.T) {
	cfg := parse(t, "hosts:\n  - name: sqlhost01\n    fqdn: sqlhost01.corp.example\n    instances: [SALES]\n    service_account: CORP\\svc_sql01\n    events: [/var/log/x.xml]\n")
	p := plan.New(cfg, nil, plan.Options{AnyHost: true})
	pl, err := p.For(t.Context(), "SQLHOST01.corp.example", plan.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	want := triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example", Instances: []triage.Instance{{Name: "SALES"}}, ServiceAccount: `CORP\svc_sql01`}
	if !equalTargets(pl.Target, want) {
		t.Errorf("inventory target %+v; want %+v", pl.Target, want)
	}
	pl, err = p.For(t.Context(), "sqlhost01", plan.Overrides{FQDN: "sql01.corp.example", Instances: []triage.Instance{{Port: 1433}}, ServiceAccount: "svc@corp.example"})
	if err != nil {
		t.Fatal(err)
	}
	want = triage.Target{Host: "sqlhost01", FQDN: "sql01.corp.example", Instances: []triage.Instance{{Port: 1433}}, ServiceAccount: "svc@corp.example"}
	if !equalTargets(pl.Target, want) {
		t.Errorf("overridden target %+v; want %+v", pl.Target, want)
	}
	pl, err = p.For(t.Context(), "web01.corp.example", plan.Overrides{ErrorLogs: []string{demoErrorLog}})
	if err != nil {
		t.Fatal(err)
	}
	if pl.Target.FQDN != "web01.corp.example" {
		t.Errorf("host outside the inventory: FQDN %q; want its dotted name", pl.Target.FQDN)
	}
}

func equalTargets(a, b triage.Target) bool {
	return a.Host == b.Host && a.FQDN == b.FQDN && a.ServiceAccount == b.ServiceAccount && slices.Equal(a.Instances, b.Instances)
}

// TestAdaptersShared: every plan of a planner uses the same clients, made once; after
// Close, none is made again.
func TestAdaptersShared(t *testing.T) {
	cfg := withAgent(t, "directory:\n  urls: [ldaps://dc1.corp.example]\n  bind_dn: authtriage@corp.example\n  bind_password: x\n")
	ad := plan.NewAdapters(cfg, nil)
	p := plan.New(cfg, ad, plan.Options{AnyHost: true})
	if err := p.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	dir, err := ad.Directory(t.Context())
	if err != nil || dir == nil {
		t.Fatalf("Directory = %v, %v", dir, err)
	}
	first, err := ad.Agent(t.Context(), cfg.Agents[0])
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		pl, err := p.For(t.Context(), "sqlhost02", plan.Overrides{})
		if err != nil {
			t.Fatal(err)
		}
		if spn := plan.Inner(pl.Checks[3]).(checks.SPN); spn.Dir != dir {
			t.Errorf("spn check's directory %p; want the shared %p", spn.Dir, dir)
		}
		if c, _ := ad.Agent(t.Context(), config.Agent{Name: "EAST"}); c != first {
			t.Errorf("agent client %p; want the one made first, %p", c, first)
		}
	}
	if err := ad.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.For(t.Context(), "sqlhost02", plan.Overrides{}); err == nil {
		t.Error("For after Close: no error")
	}
}

// TestAgentOnItsHost: an agent running on the host reads what only the host has: here
// SQL Server on Linux's ERRORLOG location.
func TestAgentOnItsHost(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the ERRORLOG location read here is SQL Server on Linux's")
	}
	cfg := parse(t, "hosts:\n  - name: sqlhost01\n    fqdn: sqlhost01.corp.example\n")
	pl, err := plan.New(cfg, nil, plan.Options{Agent: true, LocalHost: "SQLHOST01.corp.example"}).For(t.Context(), "sqlhost01", plan.Overrides{})
	if err != nil {
		t.Fatal(err)
	}
	el := pl.Checks[0].(checks.ErrorLog)
	if len(el.Files) != 1 || !filepath.IsAbs(el.Files[0]) {
		t.Errorf("errorlog files %v; want the instance's ERRORLOG", el.Files)
	}
	kt := pl.Checks[12].(checks.Keytab)
	if _, err := os.Stat("/var/opt/mssql/secrets/mssql.keytab"); err != nil && kt.Path != "" {
		t.Errorf("keytab %q read where there is none", kt.Path)
	}
}

// TestInstancesWindow: the instances check keeps the ring-buffer groups of the
// triage's window, ending at the planner's clock, as the log checks do.
func TestInstancesWindow(t *testing.T) {
	cfg := parse(t, "hosts:\n  - name: sqlhost01\n    fqdn: sqlhost01.corp.example\n")
	now := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)
	pl, err := plan.New(cfg, nil, plan.Options{Agent: true, LocalHost: "SQLHOST01.corp.example", Now: func() time.Time { return now }}).
		For(t.Context(), "sqlhost01", plan.Overrides{Since: 6 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(pl.Checks, func(c triage.Check) bool { return c.Name() == "instances" })
	if i < 0 {
		t.Fatal("no instances check")
	}
	c, ok := plan.Inner(pl.Checks[i]).(checks.Instances)
	if !ok || c.Since != 6*time.Hour || c.Now == nil || !c.Now().Equal(now) {
		t.Errorf("instances check %+v; want the triage's window and clock", plan.Inner(pl.Checks[i]))
	}
}
