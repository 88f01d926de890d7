package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/authtriage/authtriage/checks"
	"github.com/authtriage/authtriage/diagnosis"
	"github.com/authtriage/authtriage/internal/demo"
	"github.com/authtriage/authtriage/sources/directory"
	"github.com/authtriage/authtriage/triage"
)

type demoOptions struct{ output string }

// demoNow is the moment the demo pretends to run, just after its incidents, so the
// accounts' dates are judged as they would have been then.
func demoNow() time.Time { return time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC) }

// demoOffline is why the demo contacts no KDC.
const demoOffline = "the demo is offline: not contacted"

func newDemoFlags(o *demoOptions, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.output, "output", "text", "output `FORMAT`: text, json, blocks (the Slack thread as Block Kit JSON, one message a line), slack (the thread as Slack shows it) or markdown (the whole report, for a ticket)")
	fs.Usage = func() {
		var list strings.Builder
		for _, sc := range demo.Scenarios() {
			fmt.Fprintf(&list, "  %-15s %s\n", sc.Name, wrap(sc.About, 62, strings.Repeat(" ", 18)))
		}
		fmt.Fprintf(fs.Output(), `Usage: authtriage demo [SCENARIO] [flags]

Triages sample evidence built into the binary (ERRORLOG files, a System log export,
Active Directory exports): it needs no network, credentials or files. Without a
SCENARIO it triages each in turn and prints their reports one after the other (json:
one document per report; blocks: the messages of one thread, then the next's).

Scenarios:
%s
It exits 0 when it ran (the scenarios are meant to show problems), and 3 for an
unknown scenario or a bad flag.

Flags:
`, list.String())
		fs.PrintDefaults()
	}
	return fs
}

// wrap breaks s into lines of at most width bytes at spaces, each after the first
// indented by indent.
func wrap(s string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for i, w := range strings.Fields(s) {
		switch {
		case i == 0:
		case n+1+len(w) > width:
			b.WriteString("\n" + indent)
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}

func runDemo(ctx context.Context, args []string, e env) int {
	var o demoOptions
	fs := newDemoFlags(&o, e.stderr)
	positional, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(e.stdout)
		fs.Usage()
		return exitOK
	}
	if err != nil {
		return exitUnknown // the flag package has said what is wrong, with the usage
	}
	if err := validOutput(o.output); err != nil {
		return usageError(e, "%v", err)
	}
	scenarios, err := demoScenarios(positional)
	if err != nil {
		return usageError(e, "%v", err)
	}
	for i, sc := range scenarios {
		rep, err := runScenario(ctx, sc, e)
		if err != nil {
			return usageError(e, "demo %s: %v", sc.Name, err)
		}
		if i > 0 {
			switch o.output {
			case "text", "slack", "markdown":
				fmt.Fprintln(e.stdout)
			}
		}
		if code := report(rep, o.output, e); code == exitUnknown {
			return exitUnknown
		}
	}
	return exitOK
}

// demoScenarios returns the scenarios the arguments name: all of them for none, or
// the one named.
func demoScenarios(args []string) ([]demo.Scenario, error) {
	all := demo.Scenarios()
	switch len(args) {
	case 0:
		return all, nil
	case 1:
		var names []string
		for _, sc := range all {
			if sc.Name == args[0] {
				return []demo.Scenario{sc}, nil
			}
			names = append(names, sc.Name)
		}
		return nil, fmt.Errorf("demo has no scenario %q: it has %s", printable(args[0]), strings.Join(names, " and "))
	}
	return nil, fmt.Errorf("demo takes at most one SCENARIO, got %d arguments (see authtriage help demo)", len(args))
}

// runScenario triages one scenario's evidence offline: its ERRORLOG and event log
// export as copied files, its directory export for the SPN, account and delegation
// checks, and no KDC.
func runScenario(ctx context.Context, sc demo.Scenario, e env) (triage.Report, error) {
	f, err := demo.Files().Open(sc.LDIF)
	if err != nil {
		return triage.Report{}, err
	}
	dir, err := directory.LoadLDIF(f, sc.LDIF)
	f.Close()
	if err != nil {
		return triage.Report{}, err
	}
	var cs []triage.Check
	if sc.ErrorLog != "" {
		cs = append(cs, checks.ErrorLog{FS: demo.Files(), Files: []string{sc.ErrorLog}, Copied: true})
	}
	if sc.Events != "" {
		cs = append(cs, checks.EventLog{FS: demo.Files(), Files: []string{sc.Events}, Copied: true})
	}
	cs = append(cs,
		checks.SPN{Dir: dir},
		checks.Account{Dir: dir, NotFound: directory.ErrNotFound, Now: demoNow},
	)
	if len(sc.Hops) > 0 {
		var routes []checks.DelegationRoute
		for _, h := range sc.Hops {
			routes = append(routes, checks.DelegationRoute{Path: h.Path, BackEnd: h.BackEnd})
		}
		cs = append(cs, checks.Delegation{Dir: dir, Routes: routes})
	}
	cs = append(cs, checks.Kerberos{NoSource: demoOffline})
	runner := triage.Runner{
		Checks: cs,
		Rules:  diagnosis.Rules(),
		Log:    newLogger(e.stderr, false),
		Now:    e.now,
		NewID:  e.newID,
	}
	return runner.Run(ctx, sc.Target), nil
}
