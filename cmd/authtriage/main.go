// Command authtriage triages SQL Server Windows-authentication failures: it reads the
// evidence (ERRORLOG, Windows event logs, and later Active Directory, the KDC and SQL
// Server itself), names the cause, and prints the fix.
//
// main only wires; run holds the whole program so tests can call it.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	// Schedules name IANA time zones, and the container image has no zone database.
	_ "time/tzdata"
)

// Exit statuses follow the monitoring-plugin convention.
const (
	exitOK       = 0
	exitWarning  = 1
	exitCritical = 2
	exitUnknown  = 3 // also bad usage, bad configuration, bad input
)

func main() {
	if code, ok := runAsService(os.Args[1:]); ok {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what a command gets from its surroundings.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	// now and newID stamp reports; nil means the real clock and random IDs. Tests
	// fix them for golden files.
	now   func() time.Time
	newID func() string
}

// run runs the command in args and returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	return env{getenv: getenv, stdout: stdout, stderr: stderr}.run(ctx, args)
}

func (e env) run(ctx context.Context, args []string) int {
	stderr := e.stderr
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUnknown
	}
	switch args[0] {
	case "check":
		return runCheck(ctx, args[1:], e)
	case "demo":
		return runDemo(ctx, args[1:], e)
	case "scan":
		return runScan(ctx, args[1:], e)
	case "agent":
		return runAgent(ctx, args[1:], e)
	case "serve":
		return runServe(ctx, args[1:], e)
	case "config":
		return runConfig(ctx, args[1:], e)
	case "version", "--version", "-version":
		return runVersion(args[1:], e)
	case "help", "-h", "-help", "--help":
		return runHelp(args[1:], e)
	}
	fmt.Fprintf(stderr, "authtriage: unknown command %q\n\n%s", printable(args[0]), usage)
	return exitUnknown
}

const usage = `authtriage triages SQL Server Windows-authentication failures: it reads the
evidence, names the cause, and prints the fix with the real names filled in.

Usage:
  authtriage check HOST [flags]   triage one host from files or its configured sources
  authtriage check HOST... | --tag TAG  triage several hosts at once and show the incidents they share
  authtriage demo [SCENARIO]      triage built-in sample incidents (no network, no credentials)
  authtriage scan spn-duplicates  find SPNs registered on more than one account (setspn -X)
  authtriage serve --config FILE  run the Slack bot (Socket Mode or HTTP), schedules and history
  authtriage agent --config FILE  run the helper agent inside the Windows network (mutual TLS)
  authtriage agent certs ...      create a CA and certificates for the agent and its clients
  authtriage agent ping ...       ask the configured agents whether they answer this client
  authtriage agent install ...    install the agent as a Windows service (uninstall removes it)
  authtriage config check ...     check configuration files, certificates and file access before a deployment
  authtriage version              print the version
  authtriage help [COMMAND]       show help for a command

Exit status: 0 ok, 1 warning, 2 critical, 3 unknown (including bad usage or input).
`

func runHelp(args []string, e env) int {
	if len(args) == 0 {
		fmt.Fprint(e.stdout, usage)
		return exitOK
	}
	switch args[0] {
	case "check":
		newCheckFlags(&checkOptions{}, e.stdout).Usage()
	case "demo":
		newDemoFlags(&demoOptions{}, e.stdout).Usage()
	case "scan":
		newScanFlags(&scanOptions{}, e.stdout).Usage()
	case "serve":
		var path string
		var v bool
		newServeFlags(&path, &v, e.stdout).Usage()
	case "agent":
		var path string
		var v bool
		newAgentFlags(&path, &v, e.stdout).Usage()
	case "config":
		newConfigCheckFlags(&configCheckOptions{}, e.stdout).Usage()
	case "version":
		fmt.Fprintln(e.stdout, "Usage: authtriage version\n\nPrints the version, the source revision and the Go version.")
	default:
		fmt.Fprintf(e.stderr, "authtriage: unknown command %q\n", printable(args[0]))
		return exitUnknown
	}
	return exitOK
}

// printable quotes-safe and shortens user input for a message.
func printable(s string) string {
	const max = 64
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}
