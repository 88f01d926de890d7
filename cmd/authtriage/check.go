package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"runtime"
	"strings"
	"time"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/checks"
	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/diagnosis"
	"github.com/authtriage/authtriage/internal/display"
	"github.com/authtriage/authtriage/internal/safefile"
	"github.com/authtriage/authtriage/triage"
)

// checkOptions are the flags of `authtriage check`.
type checkOptions struct {
	configPath     string
	output         string
	since          durationFlag
	errorlogs      stringList
	events         stringList
	ldif           string
	fqdn           string
	port           int
	instances      stringList
	serviceAccount string
	verbose        bool
}

func newCheckFlags(o *checkOptions, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.configPath, "config", "", "configuration `FILE` with the host inventory")
	fs.StringVar(&o.output, "output", "text", "output `FORMAT`: text, json, blocks (the Slack thread as Block Kit JSON, one message a line), slack (the thread as Slack shows it) or markdown (the whole report, for a ticket)")
	fs.Var(&o.since, "since", "how far back to look, e.g. 1h, 24h, 7d (`DURATION`; default 24h, counted back from now for live sources and from the newest entry for files given here)")
	fs.Var(&o.errorlogs, "errorlog", "read this ERRORLOG `FILE` instead of the live source (repeatable; a file named ERRORLOG brings its rollover set ERRORLOG.1, .2 ...)")
	fs.Var(&o.events, "events", "read this event-log export `FILE` (wevtutil qe System /f:xml; repeatable)")
	fs.StringVar(&o.ldif, "ldif", "", "answer directory queries from this LDIF export `FILE` (ldifde -f, or ldapsearch -LLL) instead of the live directory")
	fs.StringVar(&o.fqdn, "fqdn", "", "fully qualified DNS `NAME` of the host, e.g. sqlhost01.corp.example")
	fs.IntVar(&o.port, "port", 0, "TCP `PORT` of the default instance")
	fs.Var(&o.instances, "instance", "instance as `NAME[:PORT]` (repeatable)")
	fs.StringVar(&o.serviceAccount, "service-account", "", "`ACCOUNT` SQL Server runs as: CORP\\svc_sql, svc_sql@corp.example, NT SERVICE\\MSSQLSERVER")
	fs.BoolVar(&o.verbose, "v", false, "log what happens to stderr")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: authtriage check HOST [flags]

Triages Windows-authentication failures of one SQL Server host. HOST is a name from the
configuration's inventory, or any host name when the evidence is given as files:

  authtriage check sqlhost01 --errorlog ERRORLOG --events system.xml
  authtriage check sql01.corp.example --port 1433 --service-account 'CORP\svc_sql' --ldif export.ldif
  authtriage check sqlhost01 --config authtriage.yaml --output json

Exit status: 0 ok, 1 warning, 2 critical, 3 unknown (including bad usage or input).

Flags:
`)
		fs.PrintDefaults()
	}
	return fs
}

func runCheck(ctx context.Context, args []string, e env) int {
	var o checkOptions
	fs := newCheckFlags(&o, e.stderr)
	positional, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(e.stdout)
		fs.Usage()
		return exitOK
	}
	if err != nil {
		return exitUnknown // the flag package has said what is wrong, with the usage
	}
	if len(positional) != 1 {
		return usageError(e, "check needs exactly one HOST, got %d arguments (see authtriage help check)", len(positional))
	}
	host := positional[0]
	if err := validOutput(o.output); err != nil {
		return usageError(e, "%v", err)
	}

	log := newLogger(e.stderr, o.verbose)
	plan, err := planCheck(ctx, host, o, e.getenv, log)
	if err != nil {
		return usageError(e, "%v", err)
	}
	defer plan.dir.close()
	prog := newProgress(e.stderr)
	defer prog.done()
	plan.errorlog.Progress = prog.update

	runner := triage.Runner{
		Checks:       plan.checks(o),
		Rules:        diagnosis.Rules(),
		CheckTimeout: plan.checkTimeout,
		Deadline:     plan.deadline,
		Log:          log,
		Now:          e.now,
		NewID:        e.newID,
	}
	rep := runner.Run(ctx, plan.target)
	prog.done()
	return report(rep, o.output, e)
}

// report prints the report, or the user's input error that spoiled it, and returns the
// exit status.
func report(rep triage.Report, output string, e env) int {
	for _, c := range rep.Checks {
		var in *triage.InputError
		if errors.As(c.Err, &in) {
			return usageError(e, "%v", in)
		}
	}
	if err := write(e.stdout, rep, output, e); err != nil {
		fmt.Fprintf(e.stderr, "authtriage: %s\n", display.Text(err.Error()))
		return exitUnknown
	}
	return rep.Status.ExitCode()
}

// checkPlan is what a check command will run.
type checkPlan struct {
	target                 triage.Target
	errorlog               checks.ErrorLog
	eventlog               checks.EventLog
	dir                    directorySources
	sql                    checks.SQL
	remote                 *agent.Client // the agent serving the host, if any
	since                  time.Duration
	checkTimeout, deadline time.Duration
}

// planCheck turns the host and flags into a target and its checks: the inventory's
// entry when the configuration lists the host, with the flags' files and names taking
// precedence; flags and files alone otherwise.
func planCheck(ctx context.Context, host string, o checkOptions, getenv func(string) string, log *slog.Logger) (checkPlan, error) {
	var cfg *config.Config
	if o.configPath != "" {
		var err error
		if cfg, err = config.LoadAs(ctx, o.configPath, getenv, config.RoleCLI); err != nil {
			return checkPlan{}, err
		}
	}
	return planFor(ctx, cfg, host, o, log)
}

// planFor is planCheck with the configuration loaded already (nil for none); the
// files it reads (--ldif, certificates, CA files, keytab) are read under ctx. The
// caller closes the plan's directory sources (p.dir.close) when the plan is done.
func planFor(ctx context.Context, cfg *config.Config, host string, o checkOptions, log *slog.Logger) (checkPlan, error) {
	var p checkPlan
	if cfg != nil {
		p.checkTimeout, p.deadline = cfg.Defaults.CheckTimeout, cfg.Defaults.Deadline
	}
	since := o.since.d
	if since == 0 && cfg != nil {
		since = cfg.Defaults.Since
	}

	p.target = triage.Target{Host: host}
	p.errorlog = checks.ErrorLog{Since: since}
	p.eventlog = checks.EventLog{Since: since}
	inInventory := false
	if cfg != nil {
		if h, ok := cfg.Host(host); ok {
			inInventory = true
			p.target = h.Target()
			remote, err := agentClient(ctx, cfg, h, log)
			if err != nil {
				return p, err
			}
			p.remote = remote
			if remote != nil {
				// The agent bounds each check itself; here every remote check waits
				// for the one stream, which the deadline bounds.
				p.checkTimeout = p.deadline
			}
			switch h.ErrorLog {
			case "":
				p.errorlog.NoSource = "the inventory names no errorlog for " + h.Name
			case "sql":
				p.errorlog.NoSource = "the inventory reads this host's error log through sp_readerrorlog, which runs in an agent: give the host agent: NAME in the inventory (or, from the command line, --errorlog FILE)"
			default:
				p.errorlog.Files = []string{h.ErrorLog}
			}
			p.eventlog.Files = h.Events
			if len(h.Events) == 0 {
				p.eventlog.NoSource = "the inventory names no event-log exports for " + h.Name + "; live event logs are read by an agent on the host (give the host agent: NAME)"
			}
		}
	}
	if !inInventory {
		if err := triage.ValidHostName(host); err != nil {
			return p, err
		}
	}
	if err := applyTargetFlags(&p.target, o); err != nil {
		return p, err
	}
	if len(o.errorlogs) > 0 {
		p.errorlog.Files, p.errorlog.Copied = o.errorlogs, true
	}
	if len(o.events) > 0 {
		p.eventlog.Files, p.eventlog.Copied = o.events, true
	}
	for _, f := range append(append([]string{}, o.errorlogs...), o.events...) {
		if err := regularFile(ctx, f); err != nil {
			return p, err
		}
	}
	dir, err := newDirectorySources(ctx, o.ldif, cfg, log)
	if err != nil {
		return p, err
	}
	p.dir = dir
	p.since = since
	if p.remote != nil && since > agent.MaxSince {
		p.dir.close()
		return p, fmt.Errorf("--since %s is longer than the %s an agent reads", formatSince(since), formatSince(agent.MaxSince))
	}
	p.sql.NoSource = "no Kerberos settings for SQL Server logins: add a kerberos section to the configuration (or run on Windows)"
	if cfg != nil && (cfg.Kerberos != nil || runtime.GOOS == "windows") {
		sql, err := newSQLChecker(cfg, log)
		if err != nil {
			p.dir.close()
			return p, err
		}
		p.sql.Server = sql
	}
	hasDirectory := o.ldif != "" || dir.live || (cfg != nil && cfg.Kerberos != nil)
	if len(p.errorlog.Files) == 0 && len(p.eventlog.Files) == 0 && !hasDirectory && p.remote == nil {
		msg := fmt.Sprintf("nothing to check for %s: give --errorlog FILE, --events FILE or --ldif FILE", host)
		switch {
		case cfg == nil:
			msg += ", or --config FILE with the host in its inventory"
		case !inInventory:
			msg += fmt.Sprintf(", or add it to the inventory of %s", o.configPath)
			if s := cfg.Suggest(host); len(s) > 0 {
				msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
			}
		}
		return p, errors.New(msg)
	}
	return p, nil
}

// checks returns the checks to run: the local ones, or, for a host an agent serves, the
// agent's, except those the flags replace with files (--errorlog, --events, --ldif).
func (p checkPlan) checks(o checkOptions) []triage.Check {
	d := p.dir
	local := map[string]triage.Check{"errorlog": p.errorlog, "eventlog": p.eventlog, "spn": d.spn, "account": d.account,
		"kerberos": d.krb, "clock": d.clock, "dc": d.dc, "dns": d.dns, "sql": p.sql}
	if p.remote == nil {
		return []triage.Check{p.errorlog, p.eventlog, d.spn, d.account, d.krb, d.clock, d.dc, d.dns, p.sql}
	}
	override := map[string]bool{"errorlog": len(o.errorlogs) > 0, "eventlog": len(o.events) > 0, "spn": o.ldif != "", "account": o.ldif != ""}
	var names []string
	for _, n := range remoteCheckNames() {
		if !override[n] {
			names = append(names, n)
		}
	}
	proxies := map[string]triage.Check{}
	for _, c := range p.remote.Checks(p.target.Host, p.since, names) {
		proxies[c.Name()] = c
	}
	var out []triage.Check
	for _, n := range remoteCheckNames() {
		if override[n] {
			out = append(out, local[n])
		} else {
			out = append(out, proxies[n])
		}
	}
	return out
}

// applyTargetFlags lets --fqdn, --port, --instance and --service-account describe or
// override the target.
func applyTargetFlags(t *triage.Target, o checkOptions) error {
	if o.fqdn != "" {
		if err := triage.ValidHostName(o.fqdn); err != nil {
			return fmt.Errorf("--fqdn: %w", err)
		}
		t.FQDN = o.fqdn
	} else if t.FQDN == "" && strings.Contains(t.Host, ".") {
		t.FQDN = t.Host
	}
	var instances []triage.Instance
	if o.port != 0 {
		p, err := triage.ParsePort(fmt.Sprint(o.port))
		if err != nil {
			return fmt.Errorf("--port: %w", err)
		}
		instances = append(instances, triage.Instance{Port: p})
	}
	for _, s := range o.instances {
		in, err := triage.ParseInstance(s)
		if err != nil {
			return fmt.Errorf("--instance: %w", err)
		}
		instances = append(instances, in)
	}
	if len(instances) > 0 {
		t.Instances = instances
	}
	if o.serviceAccount != "" {
		if err := validAccount(o.serviceAccount); err != nil {
			return fmt.Errorf("--service-account: %w", err)
		}
		t.ServiceAccount = o.serviceAccount
	}
	return nil
}

// validAccount accepts the forms of a Windows account name and refuses characters that
// have no place in one (and would in an LDAP filter or a shell).
func validAccount(s string) error {
	if len(s) > 256 {
		return fmt.Errorf("account name is longer than 256 characters")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`"'()*;|<>`+"`", r) {
			return fmt.Errorf("%q is not allowed in an account name", r)
		}
	}
	return triage.ValidAccount(s) // what Active Directory cannot hold in an account name
}

// regularFile checks that a file named by the user exists and is a regular file (not
// a FIFO or a device, which would block or never end), opening it under ctx.
func regularFile(ctx context.Context, path string) error {
	f, err := safefile.Open(ctx, path)
	var nr *safefile.NotRegularError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: no such file", path)
	case errors.As(err, &nr) && nr.Mode.IsDir():
		return fmt.Errorf("%s is a directory; name the file (for ERRORLOG, the current one: its rollover files are read with it)", path)
	case err != nil:
		return err
	}
	return f.Close()
}

// usageError tells the user what is wrong, on stderr, and returns exitUnknown. The
// message may name a host, a path or a value read from a file: it is shown through
// display.Text.
func usageError(e env, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "authtriage: %s\n", display.Text(fmt.Sprintf(format, args...)))
	return exitUnknown
}

func newLogger(w io.Writer, verbose bool) *slog.Logger {
	level := slog.LevelError
	if verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// formatSince writes a window as people give it: 180d, 36h, 90m.
func formatSince(d time.Duration) string {
	switch {
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}
