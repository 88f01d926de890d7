package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"authtriage/checks"
	"authtriage/demo"
	"authtriage/diagnosis"
	"authtriage/triage"
)

type demoOptions struct{ output string }

func newDemoFlags(o *demoOptions, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.output, "output", "text", "output `FORMAT`: text or json")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: authtriage demo [flags]

Triages built-in sample evidence for host sqlhost01: an ERRORLOG with the SSPI failures
of the "local security subsystem errors" article (17806 0x80090311 and 0x80090304, then
18452) and a System log export from the same hours. It needs no network, credentials or
files, and exits 0 when it ran (the scenario is meant to show problems).

Flags:
`)
		fs.PrintDefaults()
	}
	return fs
}

func runDemo(ctx context.Context, args []string, e env) int {
	var o demoOptions
	fs := newDemoFlags(&o, e.stderr)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(e.stdout)
		fs.Usage()
		return exitOK
	}
	if err != nil {
		return exitUnknown
	}
	if fs.NArg() > 0 {
		return usageError(e, "demo takes no arguments, got %q", printable(fs.Arg(0)))
	}
	if err := validOutput(o.output); err != nil {
		return usageError(e, "%v", err)
	}
	runner := triage.Runner{
		Checks: []triage.Check{
			checks.ErrorLog{FS: demo.Files(), Files: []string{demo.ErrorLog}, Copied: true},
			checks.EventLog{FS: demo.Files(), Files: []string{demo.Events}, Copied: true},
		},
		Rules: diagnosis.Rules(),
		Log:   newLogger(e.stderr, false),
		Now:   e.now,
		NewID: e.newID,
	}
	rep := runner.Run(ctx, demo.Target())
	if code := report(rep, o.output, e); code == exitUnknown {
		return exitUnknown
	}
	return exitOK
}
