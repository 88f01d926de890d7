package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/authtriage/authtriage/checks"
	"github.com/authtriage/authtriage/diagnosis"
	"github.com/authtriage/authtriage/internal/demo"
	"github.com/authtriage/authtriage/sources/directory"
	"github.com/authtriage/authtriage/triage"
)

type demoOptions struct{ output string }

// demoNow is the moment the demo pretends to run, just after its incident, so the
// account's dates are judged as they would have been then.
func demoNow() time.Time { return time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC) }

func newDemoFlags(o *demoOptions, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.output, "output", "text", "output `FORMAT`: text, json, blocks (the Slack thread as Block Kit JSON, one message a line), slack (the thread as Slack shows it) or markdown (the whole report, for a ticket)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: authtriage demo [flags]

Triages built-in sample evidence for host sqlhost01: an ERRORLOG with the SSPI failures
of the "local security subsystem errors" article (17806 0x80090311 and 0x80090304, then
18452), a System log export from the same hours, and an Active Directory export in which
the instance's SPN is registered twice and its port-less SPN sits on a web server's
account. It needs no network, credentials or files, and exits 0 when it ran (the
scenario is meant to show problems).

Flags:
`)
		fs.PrintDefaults()
	}
	return fs
}

func runDemo(ctx context.Context, args []string, e env) int {
	var o demoOptions
	fs := newDemoFlags(&o, e.stderr)
	if code, done := parseNoArgs(fs, args, e); done {
		return code
	}
	if err := validOutput(o.output); err != nil {
		return usageError(e, "%v", err)
	}
	f, err := demo.Files().Open(demo.LDIF)
	if err != nil {
		return usageError(e, "demo: %v", err)
	}
	dir, err := directory.LoadLDIF(f, demo.LDIF)
	f.Close()
	if err != nil {
		return usageError(e, "demo: %v", err)
	}
	offline := "the demo is offline: not contacted"
	runner := triage.Runner{
		Checks: []triage.Check{
			checks.ErrorLog{FS: demo.Files(), Files: []string{demo.ErrorLog}, Copied: true},
			checks.EventLog{FS: demo.Files(), Files: []string{demo.Events}, Copied: true},
			checks.SPN{Dir: dir},
			checks.Account{Dir: dir, NotFound: directory.ErrNotFound, Now: demoNow},
			checks.Kerberos{NoSource: offline},
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
