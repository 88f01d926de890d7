package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/internal/display"
	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/plan"
	"github.com/authtriage/authtriage/triage"
)

type scanOptions struct {
	configPath string
	ldif       string
	prefix     string
	all        bool
	output     string
	verbose    bool
}

func newScanFlags(o *scanOptions, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("scan spn-duplicates", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&o.configPath, "config", "", "configuration `FILE` with a directory section")
	fs.StringVar(&o.ldif, "ldif", "", "scan this LDIF export `FILE` instead of the live directory")
	fs.StringVar(&o.prefix, "prefix", "MSSQLSvc/", "scan only SPNs starting with `PREFIX`")
	fs.BoolVar(&o.all, "all", false, "scan every SPN, not only those starting with --prefix")
	fs.StringVar(&o.output, "output", "text", "output `FORMAT`: text or json")
	fs.BoolVar(&o.verbose, "v", false, "log what happens to stderr")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage: authtriage scan spn-duplicates [flags]

Finds every SPN registered on more than one account in the forest, as setspn -X -F does,
through the global catalog with paged searches (memory grows with the number of SPNs,
never with the attributes of the objects). By default only MSSQLSvc SPNs are scanned.

Exit status: 0 no duplicate, 2 duplicates found, 3 the scan could not run.

Flags:
`)
		fs.PrintDefaults()
	}
	return fs
}

// duplicateScanner is what the scan needs from the live or offline directory.
type duplicateScanner interface {
	ScanDuplicateSPNs(ctx context.Context, prefix string, fn func(triage.SPNOwners) error) (int, error)
}

func runScan(ctx context.Context, args []string, e env) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help") {
		newScanFlags(&scanOptions{}, e.stdout).Usage()
		return exitOK
	}
	if len(args) == 0 || args[0] != "spn-duplicates" {
		return usageError(e, "scan needs a kind: authtriage scan spn-duplicates [flags] (see authtriage scan --help)")
	}
	var o scanOptions
	fs := newScanFlags(&o, e.stderr)
	if code, done := parseNoArgs(fs, args[1:], e); done {
		return code
	}
	if o.output != "text" && o.output != "json" {
		return usageError(e, "--output must be text or json, not %q", printable(o.output))
	}
	prefix := o.prefix
	if o.all {
		prefix = ""
	}
	scanner, closeDir, err := openScanner(ctx, o, e)
	if err != nil {
		return usageError(e, "%v", err)
	}
	defer closeDir()

	type owner struct {
		Name string `json:"name"`
		DN   string `json:"dn"`
		SID  string `json:"sid,omitempty"`
	}
	type duplicate struct {
		SPN    string  `json:"spn"`
		Owners []owner `json:"owners"`
	}
	result := struct {
		Prefix     string      `json:"prefix"`
		Scanned    int         `json:"scanned"`
		Duplicates []duplicate `json:"duplicates"`
	}{Prefix: prefix, Duplicates: []duplicate{}}
	result.Scanned, err = scanner.ScanDuplicateSPNs(ctx, prefix, func(so triage.SPNOwners) error {
		d := duplicate{SPN: so.SPN}
		for _, a := range so.Owners {
			d.Owners = append(d.Owners, owner{Name: a.Name(), DN: a.DN, SID: a.SID})
		}
		result.Duplicates = append(result.Duplicates, d)
		return nil
	})
	if err != nil {
		return usageError(e, "scan: %v", err)
	}

	var b bytes.Buffer
	if o.output == "json" {
		out, err := json.MarshalIndent(result, "", "  ")
		if err != nil {
			return usageError(e, "%v", err)
		}
		b.Write(append(out, '\n'))
	} else {
		what := "SPNs starting with " + prefix
		if prefix == "" {
			what = "all SPNs"
		}
		fmt.Fprintf(&b, "%s among %s scanned (%s)\n", human.Count(len(result.Duplicates), "duplicate SPN", "duplicate SPNs"),
			human.Count(result.Scanned, "object", "objects"), what)
		for _, d := range result.Duplicates {
			names := make([]string, len(d.Owners))
			for i, o := range d.Owners {
				names[i] = o.Name
			}
			fmt.Fprintf(&b, "\n%s is on %s\n", d.SPN, strings.Join(names, ", "))
			for _, o := range d.Owners {
				fmt.Fprintf(&b, "  %-28s %s\n", o.Name, o.DN)
			}
			step := triage.NewStep("  Keep it on the account the service runs as; on each other one",
				triage.NewCommand(triage.ShellPowerShell, "setspn", triage.Lit("-D"), triage.Slot(triage.PHSPN), triage.Lit(`DOMAIN\account`)),
				map[string]string{triage.PHSPN: d.SPN})
			if step.Command != "" {
				fmt.Fprintf(&b, "%s: %s\n", step.Text, step.Command)
			} else {
				fmt.Fprintf(&b, "%s\n", step.Text)
			}
		}
	}
	out := b.Bytes()
	if o.output != "json" { // names and DNs from the directory or an LDIF
		out = []byte(display.Text(b.String()))
	}
	if _, err := e.stdout.Write(out); err != nil {
		return exitUnknown
	}
	if len(result.Duplicates) > 0 {
		return exitCritical
	}
	return exitOK
}

// openScanner returns the LDIF export or the live directory of the configuration.
func openScanner(ctx context.Context, o scanOptions, e env) (duplicateScanner, func(), error) {
	if o.ldif != "" {
		l, err := plan.OpenLDIF(ctx, o.ldif)
		return l, func() {}, err
	}
	if o.configPath == "" {
		return nil, nil, errors.New("scan spn-duplicates needs --config FILE with a directory section, or --ldif FILE")
	}
	cfg, err := config.LoadAs(ctx, o.configPath, e.getenv, config.RoleCLI)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Directory == nil {
		return nil, nil, fmt.Errorf("%s has no directory section", o.configPath)
	}
	ad := plan.NewAdapters(cfg, newLogger(e.stderr, o.verbose))
	dir, err := ad.Directory(ctx)
	if err != nil {
		return nil, nil, err
	}
	return dir, func() { ad.Close() }, nil
}
