package triage

import "fmt"

// Severity ranks a finding. The order is the order of urgency: Critical findings are
// shown first, and Unknown ranks above Warning because an on-call engineer must not
// read "we could not look" as "all is well".
type Severity int

const (
	Info Severity = iota
	Warning
	Unknown
	Critical
)

var severityNames = [...]string{Info: "info", Warning: "warning", Unknown: "unknown", Critical: "critical"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(severityNames) {
		return fmt.Sprintf("Severity(%d)", int(s))
	}
	return severityNames[s]
}

// MarshalText encodes the severity as its name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText accepts the names MarshalText writes.
func (s *Severity) UnmarshalText(b []byte) error {
	for i, n := range severityNames {
		if n == string(b) {
			*s = Severity(i)
			return nil
		}
	}
	return fmt.Errorf("unknown severity %q", b)
}

// Status is the verdict of a whole report.
type Status string

const (
	StatusOK       Status = "ok"       // no finding of severity warning or worse
	StatusWarning  Status = "warning"  // the worst finding is a warning
	StatusCritical Status = "critical" // at least one critical finding
	StatusUnknown  Status = "unknown"  // a check could not run, so the verdict is incomplete
)

// ExitCode returns the monitoring-plugin exit status for the status: 0 ok, 1 warning,
// 2 critical, 3 unknown.
func (s Status) ExitCode() int {
	switch s {
	case StatusOK:
		return 0
	case StatusWarning:
		return 1
	case StatusCritical:
		return 2
	default:
		return 3
	}
}

// CheckStatus is the outcome of one check.
type CheckStatus string

const (
	CheckPass    CheckStatus = "pass"    // it ran and its evidence shows no problem
	CheckWarn    CheckStatus = "warn"    // it ran and its evidence supports a warning
	CheckFail    CheckStatus = "fail"    // it ran and its evidence supports a critical finding
	CheckError   CheckStatus = "error"   // it could not run: timeout, no access, unreadable input
	CheckSkipped CheckStatus = "skipped" // it does not apply or lacked a prerequisite
)
