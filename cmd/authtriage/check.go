package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/internal/display"
	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/plan"
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
	as             stringList
	tags           tagList
	concurrency    int
	verbose        bool
	hosts          []string // the HOST arguments
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
	fs.Var(&o.as, "as", "check the delegation of `USER` (CORP\\alice) on every second hop of the host, as the user's identity travels from a front end to a back end (repeatable)")
	fs.Var(&o.tags, "tag", "also check the inventory's hosts with `TAG` (repeatable, or a comma-separated list)")
	fs.IntVar(&o.concurrency, "concurrency", defaultConcurrency, fmt.Sprintf("triage at most `N` hosts at once when checking several (1 to %d)", maxConcurrency))
	fs.BoolVar(&o.verbose, "v", false, "log what happens to stderr")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: authtriage check HOST [flags]
       authtriage check HOST HOST... [flags]
       authtriage check --tag TAG [HOST...] [flags]

Triages Windows-authentication failures of SQL Server hosts. HOST is a name from the
configuration's inventory, or any host name when the evidence is given as files:

  authtriage check sqlhost01 --errorlog ERRORLOG --events system.xml
  authtriage check sql01.corp.example --port 1433 --service-account 'CORP\svc_sql' --ldif export.ldif
  authtriage check sqlhost01 --config authtriage.yaml --output json
  authtriage check --tag prod --config authtriage.yaml
  authtriage check sqlhost01 sqlhost02 sqlhost03 --config authtriage.yaml --output json

Several hosts, or a --tag, are triaged --concurrency at a time from the inventory's
sources and shown together: the incidents several hosts share (one cause at the same
time, with what they have in common), worst first, each with its fix once; then the
hosts nothing explains, with their worst finding; then how many hosts have each
status. The flags that describe one host (--errorlog, --events, --fqdn, --port,
--instance, --service-account) take one HOST and no --tag.

Exit status: 0 ok, 1 warning, 2 critical, 3 unknown (including bad usage or input);
for several hosts, the worst host's (critical, then unknown, then warning).

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
	o.hosts = positional
	if len(positional) == 0 && len(o.tags) == 0 {
		return usageError(e, "check needs a HOST, several, or --tag TAG (see authtriage help check)")
	}
	fleet := len(positional) > 1 || len(o.tags) > 0
	if err := validOutput(o.output); err != nil {
		return usageError(e, "%v", err)
	}
	if o.concurrency < 1 || o.concurrency > maxConcurrency {
		return usageError(e, "--concurrency must be 1 to %d, not %d", maxConcurrency, o.concurrency)
	}
	if one := o.oneHostFlags(); fleet && len(one) > 0 {
		return usageError(e, "%s describe one host: give them with one HOST and no --tag; several hosts take their sources from the inventory (--config)", strings.Join(one, ", "))
	}
	if len(o.tags) > 0 && o.configPath == "" {
		return usageError(e, "--tag needs --config FILE, whose inventory tags the hosts")
	}

	ov, err := o.overrides()
	if err != nil {
		return usageError(e, "%v", err)
	}
	var cfg *config.Config
	if o.configPath != "" {
		if cfg, err = config.LoadAs(ctx, o.configPath, e.getenv, config.RoleCLI); err != nil {
			return usageError(e, "%v", err)
		}
	}
	if fleet {
		hosts, err := fleetHosts(cfg, positional, o.tags)
		if err != nil {
			return usageError(e, "%v", err)
		}
		return runFleet(ctx, o, cfg, hosts, ov, e)
	}
	host := positional[0]
	log := newLogger(e.stderr, o.verbose)
	ad := plan.NewAdapters(cfg, log)
	defer ad.Close()
	prog := newProgress(e.stderr)
	defer prog.done()
	ov.Progress = prog.update
	pl, err := plan.New(cfg, ad, plan.Options{AnyHost: true, Now: e.now, Log: log}).For(ctx, host, ov)
	if err != nil {
		return usageError(e, "%s", planError(err, o.configPath, false))
	}
	runner := pl.Runner()
	runner.Log, runner.Now, runner.NewID = log, e.now, e.newID
	rep := runner.Run(ctx, pl.Target)
	prog.done()
	addFlagHints(&rep, o)
	return report(rep, o.output, e)
}

// addFlagHints adds to each check skipped for want of something the flags can give
// which flag gives it: the checks say what is missing, the command line how to give it.
func addFlagHints(rep *triage.Report, o checkOptions) {
	for i, c := range rep.Checks {
		if h := flagHint(c.Missing, o); h != "" {
			rep.Checks[i].Detail += "; " + h
		}
	}
}

// flagHint says which flag gives what a check missed, "" when no flag does. A check
// of several hosts takes each host's files and names from the inventory, so the hint
// names the inventory's key instead of a flag that describes one host.
func flagHint(m triage.Missing, o checkOptions) string {
	if len(o.hosts) > 1 || len(o.tags) > 0 {
		switch m {
		case triage.MissingErrorLog:
			return "give the host an errorlog in the inventory"
		case triage.MissingEventLog:
			return "give the host events in the inventory (exports made with wevtutil qe System /f:xml)"
		case triage.MissingFQDN:
			return "give the host an fqdn in the inventory"
		case triage.MissingServiceAccount:
			return "give the host a service_account in the inventory"
		}
	}
	switch m {
	case triage.MissingErrorLog:
		return "give --errorlog FILE (the ERRORLOG, copied off the host)"
	case triage.MissingEventLog:
		return "give --events FILE (made with wevtutil qe System /f:xml)"
	case triage.MissingDirectory:
		if o.ldif != "" {
			return "give --config with a directory section to ask a domain controller"
		}
		return "give --ldif FILE, or --config with a directory section"
	case triage.MissingKerberos:
		return "give --config with a kerberos section"
	case triage.MissingFQDN:
		return "give --fqdn NAME"
	case triage.MissingServiceAccount:
		return "give --service-account ACCOUNT"
	}
	return ""
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

// planError words an error of planning a check for the command line, saying which
// flags give what is missing.
func planError(err error, configPath string, fleet bool) string {
	var nothing *plan.NothingToCheckError
	var long *plan.WindowTooLongError
	switch {
	case errors.As(err, &nothing) && fleet:
		// A check of several hosts takes their sources from the inventory alone.
		switch {
		case !nothing.InInventory && len(nothing.Suggestions) > 0:
			return fmt.Sprintf("nothing to check for %s: it is not in the inventory (did you mean %s?)", nothing.Host, strings.Join(nothing.Suggestions, " or "))
		case !nothing.InInventory:
			return fmt.Sprintf("nothing to check for %s: it is not in the inventory", nothing.Host)
		}
		return fmt.Sprintf("nothing to check for %s: its inventory entry names no ERRORLOG file, event-log export or agent, and the configuration has no directory or kerberos section", nothing.Host)
	case errors.As(err, &nothing):
		msg := fmt.Sprintf("nothing to check for %s: give --errorlog FILE, --events FILE or --ldif FILE", nothing.Host)
		switch {
		case !nothing.Inventory:
			msg += ", or --config FILE with the host in its inventory"
		case !nothing.InInventory:
			msg += fmt.Sprintf(", or add it to the inventory of %s", configPath)
			if len(nothing.Suggestions) > 0 {
				msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(nothing.Suggestions, " or "))
			}
		}
		return msg
	case errors.As(err, &long):
		return fmt.Sprintf("--since %s is longer than the %s an agent reads", human.Span(long.Since), human.Span(long.Max))
	}
	return err.Error()
}

// overrides returns what the flags say about the host beyond the inventory: the files
// to read, and --fqdn, --port, --instance, --service-account and --as, checked.
func (o checkOptions) overrides() (plan.Overrides, error) {
	ov := plan.Overrides{Since: o.since.d, ErrorLogs: o.errorlogs, Events: o.events, LDIF: o.ldif}
	if o.fqdn != "" {
		if err := triage.ValidHostName(o.fqdn); err != nil {
			return ov, fmt.Errorf("--fqdn: %w", err)
		}
		ov.FQDN = o.fqdn
	}
	if o.port != 0 {
		p, err := triage.ParsePort(fmt.Sprint(o.port))
		if err != nil {
			return ov, fmt.Errorf("--port: %w", err)
		}
		ov.Instances = append(ov.Instances, triage.Instance{Port: p})
	}
	for _, s := range o.instances {
		in, err := triage.ParseInstance(s)
		if err != nil {
			return ov, fmt.Errorf("--instance: %w", err)
		}
		ov.Instances = append(ov.Instances, in)
	}
	if o.serviceAccount != "" {
		if err := validAccount(o.serviceAccount); err != nil {
			return ov, fmt.Errorf("--service-account: %w", err)
		}
		ov.ServiceAccount = o.serviceAccount
	}
	for _, u := range o.as {
		if err := validAccount(u); err != nil {
			return ov, fmt.Errorf("--as: %w", err)
		}
		ov.Users = append(ov.Users, u)
	}
	return ov, nil
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
