package main

import (
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error {
	if s == "" {
		return fmt.Errorf("empty value")
	}
	*l = append(*l, s)
	return nil
}

// durationFlag is a time.Duration flag that also takes days ("7d"), as people say
// "since yesterday". Zero means unset.
type durationFlag struct{ d time.Duration }

func (f *durationFlag) String() string { return f.d.String() }
func (f *durationFlag) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	f.d = d
	return nil
}

// parseDuration parses a Go duration or a whole number of days ("2d"). It must be
// positive and at most 10 years.
func parseDuration(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration like 90m, 24h or 7d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration like 90m, 24h or 7d", s)
		}
	}
	if d <= 0 || d > 10*365*24*time.Hour {
		return 0, fmt.Errorf("%q must be more than 0 and at most 10 years", s)
	}
	return d, nil
}

// parseInterspersed parses flags that may come before or after the positional
// arguments ("check sqlhost01 --errorlog X"), as people type them, and returns the
// positional arguments. "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// parseNoArgs parses the flags of a command that takes no positional arguments. It
// returns done with the exit status when the command must stop: after --help (0, the
// usage on stdout) or a bad flag or argument (3, explained on stderr).
func parseNoArgs(fs *flag.FlagSet, args []string, e env) (code int, done bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(e.stdout)
		fs.Usage()
		return exitOK, true
	case err != nil:
		return exitUnknown, true // the flag package has said what is wrong
	case fs.NArg() > 0:
		return usageError(e, "%s takes no arguments, got %q", fs.Name(), printable(fs.Arg(0))), true
	}
	return 0, false
}
