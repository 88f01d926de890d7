// Package triage is the domain of authtriage: what is checked (Target), what was seen
// (Observations), what it means (Finding, Cause) and the verdict (Report).
//
// It imports nothing of the project's own: checks, rules and renderers depend on it,
// never the other way round.
package triage

import (
	"context"
	"errors"
	"fmt"
)

// A Check gathers observations about one aspect of a target, such as its error log or
// the service principal names registered for it.
//
// Run makes as much progress as it can and returns what it saw alongside any error:
// observations returned with an error are kept. A check that does not apply returns an
// error made by Skip. Run must honour ctx; the Runner abandons a check that does not.
type Check interface {
	Name() string // lower-case, e.g. "errorlog"; shown in reports
	Run(ctx context.Context, t Target) (Result, error)
}

// A Result is what a check returns: its observations and a one-line account of what it
// looked at ("3 files, 41,210 entries, 2025-06-01 09:00 to 2025-06-02 09:54").
type Result struct {
	Detail string
	Obs    Observations
}

// A Remote check runs somewhere else: Agent names the helper agent that runs it, and
// the Runner records it in the check's result.
type Remote interface {
	Agent() string
}

// A Rule turns observations into findings. Apply must not modify obs.
type Rule interface {
	Name() string
	Apply(t Target, obs Observations) []Finding
}

// SkipError reports that a check did not apply or lacked a prerequisite.
type SkipError struct {
	Reason string
	// Lacks is what the request lacked that the check needs, when that is why it
	// skipped; "" for a check that does not apply.
	Lacks Missing
}

func (e *SkipError) Error() string { return "skipped: " + e.Reason }

// Skip returns the error a check returns when it does not apply; the reason is shown to
// the user.
func Skip(format string, args ...any) error {
	return &SkipError{Reason: fmt.Sprintf(format, args...)}
}

// SkipLacking returns the error a check returns when the request gave it no source of
// its evidence or no name it needs. The reason says what is missing in words any front
// end can show; m says which, so that each front end can add how to give it in its own
// terms (a command-line flag, an inventory key).
func SkipLacking(m Missing, format string, args ...any) error {
	return &SkipError{Reason: fmt.Sprintf(format, args...), Lacks: m}
}

// IsSkip reports whether err says a check was skipped, and why.
func IsSkip(err error) (reason string, ok bool) {
	var s *SkipError
	if errors.As(err, &s) {
		return s.Reason, true
	}
	return "", false
}

// Lacking returns what a skipped check's error says the request lacked, or "".
func Lacking(err error) Missing {
	var s *SkipError
	if errors.As(err, &s) {
		return s.Lacks
	}
	return ""
}

// Missing names what a request lacked for a check to run.
type Missing string

// What a request can lack.
const (
	MissingErrorLog       Missing = "errorlog"        // the SQL Server ERRORLOG
	MissingEventLog       Missing = "eventlog"        // the host's Windows event logs
	MissingDirectory      Missing = "directory"       // a domain controller to ask (or, for reads, an LDIF export)
	MissingKerberos       Missing = "kerberos"        // the checker's own Kerberos identity (for the KDC and SQL Server logins)
	MissingFQDN           Missing = "fqdn"            // the host's fully qualified DNS name
	MissingServiceAccount Missing = "service_account" // the account SQL Server runs as
)

// InputError marks an error caused by input the user gave, such as a file named on the
// command line that is not an error log. A command-line front end reports it as a
// usage error instead of a report; elsewhere it is an ordinary check error.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }
