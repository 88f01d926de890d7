package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"

	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/internal/display"
	"github.com/authtriage/authtriage/internal/human"
)

// configCheckOptions are the flags of `authtriage config check`.
type configCheckOptions struct {
	configs stringList
	as      string
	user    string
	groups  stringList
}

func newConfigCheckFlags(o *configCheckOptions, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Var(&o.configs, "config", "configuration `FILE` to check (repeatable: give the agent's and the bot's to check them against each other)")
	fs.StringVar(&o.as, "as", "auto", "check the files as the `ROLE` that runs them: bot (serve), agent, cli (check, scan), all; auto: the bot's if a file has a slack section, the agent's if it has an agent section")
	fs.StringVar(&o.user, "user", "", "check that the service's `USER` can read the files and write the store (Unix; run as root), from their owners, groups and modes")
	fs.Var(&o.groups, "group", "with --user: a `GROUP` the service manager adds (systemd SupplementaryGroups=; repeatable)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: authtriage config check --config FILE [--config FILE] [--as ROLE] [--user USER [--group GROUP]...]

Checks configuration files before a deployment and reports every problem at once, each
with its file and line: the YAML and its values; the files it names (certificates, keys,
CA bundles, keytab, secrets, evidence, the SQLite store's folder), present and readable
by the service's user; certificates and keys that parse, belong together, verify against
their CA and are valid (a warning within 30 days of the end); agents' names and URLs;
Slack tokens (only for the bot); schedules and time zones. Each role checks only the
sections it uses: the CLI never needs Slack tokens. Given an agent's file and the bot's
(or the CLI's), it also checks them against each other: the client's certificate name in
allowed_clients, both certificates against the other side's CA, the name dialled, the
port, and the hosts the agent is asked about.

serve and agent run the same checks when they start and refuse to start on a problem.

  authtriage config check --config /etc/authtriage/agent.yaml --user authtriage
  authtriage config check --config agent.yaml --config authtriage.yaml

Exit status: 0 no problem, 1 warnings only, 3 problems (or bad usage).

Flags:
`)
		fs.PrintDefaults()
	}
	return fs
}

const configUsage = "config needs a subcommand: authtriage config check --config FILE (see authtriage help config)"

func runConfig(ctx context.Context, args []string, e env) int {
	if len(args) == 0 {
		return usageError(e, "%s", configUsage)
	}
	switch args[0] {
	case "check":
		return runConfigCheck(ctx, args[1:], e)
	case "-h", "-help", "--help", "help":
		newConfigCheckFlags(&configCheckOptions{}, e.stdout).Usage()
		return exitOK
	}
	return usageError(e, "unknown config subcommand %q; %s", printable(args[0]), configUsage)
}

func runConfigCheck(ctx context.Context, args []string, e env) int {
	var o configCheckOptions
	fs := newConfigCheckFlags(&o, e.stderr)
	if code, done := parseNoArgs(fs, args, e); done {
		return code
	}
	if len(o.configs) == 0 {
		return usageError(e, "config check needs --config FILE")
	}
	role, err := config.ParseRole(o.as)
	if err != nil {
		return usageError(e, "--as: %v", err)
	}
	var opts config.CheckOptions
	if e.now != nil {
		opts.Now = e.now()
	}
	if o.user != "" {
		if opts.Account, err = config.LookupAccount(o.user, o.groups...); err != nil {
			return usageError(e, "--user: %v", err)
		}
	} else if len(o.groups) > 0 {
		return usageError(e, "--group goes with --user")
	}
	results := config.Check(ctx, o.configs, role, e.getenv, opts)
	var b strings.Builder
	errs, warns := 0, 0
	for _, r := range results {
		for _, p := range r.Problems {
			b.WriteString(p.String() + "\n")
		}
		n := r.Errors()
		errs, warns = errs+n, warns+len(r.Problems)-n
		fmt.Fprintf(&b, "%s: %s, checked as %s%s\n", r.File, countProblems(n, len(r.Problems)-n), r.Role.Describe(), readerNote(opts.Account))
	}
	io.WriteString(e.stdout, display.Text(b.String()))
	if opts.Account == nil && runtime.GOOS != "windows" && os.Geteuid() == 0 {
		fmt.Fprintln(e.stderr, "authtriage: note: run as root, which reads every file; add --user USER to check them for the service's user")
	}
	switch {
	case errs > 0:
		return exitUnknown
	case warns > 0:
		return exitWarning
	}
	return exitOK
}

// countProblems says "ok", "1 problem", "2 problems and 1 warning".
func countProblems(errs, warns int) string {
	var parts []string
	if errs > 0 {
		parts = append(parts, human.Count(errs, "problem", "problems"))
	}
	if warns > 0 {
		parts = append(parts, human.Count(warns, "warning", "warnings"))
	}
	if len(parts) == 0 {
		return "ok"
	}
	return strings.Join(parts, " and ")
}

// readerNote says whose access to the files was checked.
func readerNote(a *config.Account) string {
	if a == nil {
		return ""
	}
	return "; files checked for user " + a.Name
}
