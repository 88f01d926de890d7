// Command spnscan runs authtriage's forest-wide duplicate-SPN scan against the test
// domain whose settings scripts/testdomain.sh exports, for scripts/bench-spnscan.sh.
// It prints each duplicated SPN with its holders, then one summary line:
//
//	objects=40010 duplicates=6 scan_ms=812 peak_rss_kib=23456
//
// peak_rss_kib is VmHWM from /proc/self/status: the process's peak resident memory.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/authtriage/authtriage/internal/testdomain"
	"github.com/authtriage/authtriage/sources/directory"
	"github.com/authtriage/authtriage/triage"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "spnscan:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("spnscan", flag.ContinueOnError)
	prefix := fs.String("prefix", "MSSQLSvc/", "scan the SPNs starting with this (\"\" for all)")
	quiet := fs.Bool("q", false, "print only the summary line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := testdomain.FromEnv(getenv)
	if err != nil {
		return fmt.Errorf("test domain: %w (run inside scripts/testdomain.sh exec)", err)
	}
	c, err := directory.New(ctx, directory.Config{
		URLs:     []string{d.LDAPURL},
		GCURLs:   []string{d.GCURL},
		CAFile:   d.CAFile,
		BindDN:   d.BindDN,
		Password: d.BindPassword,
		Timeout:  time.Minute,
	}, nil)
	if err != nil {
		return err
	}
	defer c.Close()

	out := bufio.NewWriter(stdout)
	defer out.Flush()
	start := time.Now()
	dups := 0
	n, err := c.ScanDuplicateSPNs(ctx, *prefix, func(o triage.SPNOwners) error {
		dups++
		if !*quiet {
			holders := make([]string, len(o.Owners))
			for i, a := range o.Owners {
				holders[i] = a.Name()
			}
			fmt.Fprintf(out, "%s\t%s\n", o.SPN, strings.Join(holders, ", "))
		}
		return nil
	})
	took := time.Since(start)
	if err != nil {
		return err
	}
	peak, err := peakRSS()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "objects=%d duplicates=%d scan_ms=%d peak_rss_kib=%d\n", n, dups, took.Milliseconds(), peak)
	return nil
}

// peakRSS returns VmHWM, the peak resident set size in KiB.
func peakRSS() (int, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}
