package render

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/authtriage/authtriage/internal/display"
	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// TextOptions control terminal output.
type TextOptions struct {
	Color bool // ANSI colours; only for a terminal that wants them
	// Zone is the zone of the report's own times (when it started); nil means the
	// zone the report carries them in, the checker's. Evidence keeps the SQL Server
	// host's time (see DisplayZone).
	Zone *time.Location
}

// Text writes the report for an on-call engineer: the verdict on the first line, then
// the findings worst first, each with its evidence, the fix and where to read more,
// then the failures per hour when the report has a trend (TrendLines), and last how
// each check went. Every time shows its zone: the evidence's in the SQL Server host's
// time with its offset, the report's own labelled as the checker's (or opt.Zone's).
// A check that found something wrong reads "problem", never "fail", which people
// take for "could not run" (that is "error"); JSON keeps the contract's "fail".
//
// Every piece of report text goes through package display: one-line fields
// (host, summary, cause, clients, fix text, check details) with display.Line,
// evidence text and commands with display.Text, so that nothing read from evidence
// reaches the terminal as a control or bidirectional character.
func Text(w io.Writer, rep triage.Report, opt TextOptions) error {
	var b bytes.Buffer
	p := painter{on: opt.Color}
	zone := DisplayZone(rep)

	counts := CountBySeverity(rep.Findings)
	started := ""
	if !rep.StartedAt.IsZero() {
		started = "started " + ReportTime(rep.StartedAt, opt.Zone) + ", took "
	}
	fmt.Fprintf(&b, "%s  %s  %s  (report %s, %s%s)\n",
		p.status(rep.Status), p.bold(display.Line(rep.Host)), counts, display.Line(rep.ID), started, rep.Duration.Round(time.Millisecond))
	if f, ok := rep.Worst(); ok {
		fmt.Fprintf(&b, "%s\n", display.Line(f.Summary))
	} else if rep.Status == triage.StatusOK {
		fmt.Fprintf(&b, "No authentication problem found in the evidence read.\n")
	}
	if rep.Status == triage.StatusUnknown {
		// Checks that failed for the same reason (an agent that did not answer) share a line.
		var reasons []string
		names := map[string][]string{}
		for _, c := range rep.Checks {
			if c.Status == triage.CheckError {
				detail := display.Line(c.Detail)
				if _, seen := names[detail]; !seen {
					reasons = append(reasons, detail)
				}
				names[detail] = append(names[detail], display.Line(c.Name))
			}
		}
		for _, r := range reasons {
			what := "check " + names[r][0]
			if len(names[r]) > 1 {
				what = "checks " + strings.Join(names[r], ", ")
			}
			fmt.Fprintf(&b, "Incomplete: %s could not run: %s\n", what, r)
		}
	}

	if hasEvidenceTimes(rep) {
		if zone == time.UTC {
			fmt.Fprintf(&b, "Evidence times are UTC.\n")
		} else {
			fmt.Fprintf(&b, "Evidence times are %s's (%s), as its ERRORLOG shows them.\n",
				display.Line(rep.Host), time.Date(2000, 1, 1, 0, 0, 0, 0, zone).Format("UTC-07:00"))
		}
	}

	for i, f := range rep.Findings {
		fmt.Fprintf(&b, "\n%d. %s %s\n", i+1, p.severity(f.Severity), p.bold(display.Line(string(f.Cause))))
		fmt.Fprintf(&b, "   %s\n", display.Line(f.Summary))
		if len(f.Evidence) > 0 {
			fmt.Fprintf(&b, "   Evidence:\n")
			for _, e := range f.Evidence {
				text := strings.TrimRight(display.Text(e.Text), "\n")
				fmt.Fprintf(&b, "   - %s\n", strings.ReplaceAll(text, "\n", "\n     "))
				if s := evidenceFacts(e, zone); s != "" {
					fmt.Fprintf(&b, "     %s\n", s)
				}
			}
		}
		if len(f.Remediation) > 0 {
			fmt.Fprintf(&b, "   Fix:\n")
			for j, s := range f.Remediation {
				fmt.Fprintf(&b, "   %d) %s\n", j+1, display.Line(s.Text))
				if s.Command != "" {
					fmt.Fprintf(&b, "      %s\n", p.command(display.Text(s.Command)))
				}
			}
		}
		for _, l := range f.Links {
			fmt.Fprintf(&b, "   Read: %s\n", display.Line(l))
		}
	}

	if span, lines := TrendLines(rep.Trend, zone); len(lines) > 0 {
		fmt.Fprintf(&b, "\nFailures per hour in ERRORLOG, %s:\n", span)
		for _, l := range lines {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}

	fmt.Fprintf(&b, "\nChecks (problem: it found something wrong; error: it could not run):\n")
	for _, c := range rep.Checks {
		detail := display.Line(c.Detail)
		if via := c.Via(); via != "" {
			detail = strings.TrimSuffix(display.Line(via)+": "+detail, ": ")
		}
		fmt.Fprintf(&b, "  %-7s  %-10s %6s  %s\n", p.check(c.Status), display.Line(c.Name), c.Duration.Round(time.Millisecond), detail)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// CountBySeverity returns "2 critical, 1 warning", or "no findings" when there is none.
func CountBySeverity(fs []triage.Finding) string {
	n := map[triage.Severity]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	var parts []string
	for _, s := range []triage.Severity{triage.Critical, triage.Unknown, triage.Warning, triage.Info} {
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
		}
	}
	if len(parts) == 0 {
		if len(fs) == 0 {
			return "no findings"
		}
		return human.Count(len(fs), "finding", "findings") // severities outside the known ones
	}
	return strings.Join(parts, ", ")
}

// DisplayZone returns the zone to show every time in: the SQL Server host's, as its
// ERRORLOG evidence carries it, so event-log times (UTC) line up with the log's; UTC
// when there is no ERRORLOG evidence.
func DisplayZone(rep triage.Report) *time.Location {
	for _, f := range rep.Findings {
		for _, e := range f.Evidence {
			if e.Source == triage.SourceErrorlog && !e.Time.IsZero() {
				return e.Time.Location()
			}
		}
	}
	return time.UTC
}

// evidenceFacts returns "42 times from 2025-06-02 09:00:01 to 09:41:13 +04:00; clients
// 10.0.0.5, 10.0.0.6 and 3 more", with times in zone.
func evidenceFacts(e triage.Evidence, zone *time.Location) string {
	e.Time, e.First = e.Time.In(zone), e.First.In(zone)
	var parts []string
	switch {
	case e.Count > 1 && !e.First.IsZero():
		parts = append(parts, fmt.Sprintf("%d times from %s", e.Count, TimeRange(e.First, e.Time)))
	case e.Count > 1:
		parts = append(parts, fmt.Sprintf("%d times, last at %s", e.Count, e.Time.Format(timeLayout)))
	case !e.Time.IsZero():
		parts = append(parts, "at "+e.Time.Format(timeLayout))
	}
	if len(e.Clients) > 0 {
		const show = 5
		list := e.Clients
		more := e.MoreClients
		if len(list) > show {
			more += len(list) - show
			list = list[:show]
		}
		names := make([]string, len(list))
		for i, c := range list {
			names[i] = display.Line(c)
		}
		s := "clients " + strings.Join(names, ", ")
		if more > 0 {
			s += fmt.Sprintf(" and %d more", more)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

const timeLayout = "2006-01-02 15:04:05 -07:00"

// TimeRange writes a range with the date once when both ends are on the same day:
// "2025-06-02 09:00:01 to 09:41:13 +04:00".
func TimeRange(from, to time.Time) string {
	if from.Format("2006-01-02 -07:00") == to.Format("2006-01-02 -07:00") {
		return fmt.Sprintf("%s to %s", from.Format("2006-01-02 15:04:05"), to.Format("15:04:05 -07:00"))
	}
	return fmt.Sprintf("%s to %s", from.Format(timeLayout), to.Format(timeLayout))
}

// ReportTime shows one of the report's own times (not the evidence's) in zone, nil
// for t's own, labelled: "2026-11-24 15:00:00 UTC", "2026-11-24 16:00:00 +01:00
// local time", "2026-11-24 16:00:00 +01:00 Europe/Berlin".
func ReportTime(t time.Time, zone *time.Location) string {
	if zone != nil {
		t = t.In(zone)
	}
	switch loc := t.Location(); {
	case loc == time.UTC:
		return t.Format("2006-01-02 15:04:05") + " UTC"
	case loc == time.Local:
		return t.Format("2006-01-02 15:04:05 -07:00") + " local time"
	default:
		return t.Format("2006-01-02 15:04:05 -07:00") + " " + display.Line(loc.String())
	}
}

// hasEvidenceTimes reports whether any evidence of the report has a time.
func hasEvidenceTimes(rep triage.Report) bool {
	for _, f := range rep.Findings {
		for _, e := range f.Evidence {
			if !e.Time.IsZero() {
				return true
			}
		}
	}
	return false
}

// checkWord is the word the text report shows for a check's status.
func checkWord(s triage.CheckStatus) string {
	if s == triage.CheckFail {
		return "problem"
	}
	return string(s)
}

// painter adds ANSI colours when on.
type painter struct{ on bool }

func (p painter) wrap(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p painter) bold(s string) string    { return p.wrap("1", s) }
func (p painter) command(s string) string { return p.wrap("36", s) }

func (p painter) status(s triage.Status) string {
	word := display.Line(strings.ToUpper(string(s)))
	switch s {
	case triage.StatusCritical:
		return p.wrap("1;31", word)
	case triage.StatusWarning:
		return p.wrap("1;33", word)
	case triage.StatusOK:
		return p.wrap("1;32", word)
	}
	return p.wrap("1;35", word)
}

func (p painter) severity(s triage.Severity) string {
	word := strings.ToUpper(s.String())
	switch s {
	case triage.Critical:
		return p.wrap("1;31", word)
	case triage.Warning:
		return p.wrap("1;33", word)
	case triage.Unknown:
		return p.wrap("1;35", word)
	}
	return p.wrap("1;34", word)
}

func (p painter) check(s triage.CheckStatus) string {
	word := fmt.Sprintf("%-7s", display.Line(checkWord(s)))
	switch s {
	case triage.CheckFail:
		return p.wrap("31", word)
	case triage.CheckWarn:
		return p.wrap("33", word)
	case triage.CheckError:
		return p.wrap("35", word)
	case triage.CheckPass:
		return p.wrap("32", word)
	}
	return word
}
