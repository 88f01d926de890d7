package render

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"authtriage/triage"
)

// TextOptions control terminal output.
type TextOptions struct {
	Color bool // ANSI colours; only for a terminal that wants them
}

// Text writes the report for an on-call engineer: the verdict on the first line, then
// the findings worst first, each with its evidence, the fix and where to read more,
// then the failures per hour when the report has a trend (TrendLines), and last how
// each check went.
func Text(w io.Writer, rep triage.Report, opt TextOptions) error {
	var b bytes.Buffer
	p := painter{on: opt.Color}
	zone := DisplayZone(rep)

	counts := CountBySeverity(rep.Findings)
	fmt.Fprintf(&b, "%s  %s  %s  (report %s, %s)\n",
		p.status(rep.Status), p.bold(rep.Host), counts, rep.ID, rep.Duration.Round(time.Millisecond))
	if f, ok := rep.Worst(); ok {
		fmt.Fprintf(&b, "%s\n", f.Summary)
	} else if rep.Status == triage.StatusOK {
		fmt.Fprintf(&b, "No authentication problem found in the evidence read.\n")
	}
	if rep.Status == triage.StatusUnknown {
		// Checks that failed for the same reason (an agent that did not answer) share a line.
		var reasons []string
		names := map[string][]string{}
		for _, c := range rep.Checks {
			if c.Status == triage.CheckError {
				if _, seen := names[c.Detail]; !seen {
					reasons = append(reasons, c.Detail)
				}
				names[c.Detail] = append(names[c.Detail], c.Name)
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

	for i, f := range rep.Findings {
		fmt.Fprintf(&b, "\n%d. %s %s\n", i+1, p.severity(f.Severity), p.bold(string(f.Cause)))
		fmt.Fprintf(&b, "   %s\n", f.Summary)
		if len(f.Evidence) > 0 {
			fmt.Fprintf(&b, "   Evidence:\n")
			for _, e := range f.Evidence {
				fmt.Fprintf(&b, "   - %s\n", e.Text)
				if s := evidenceFacts(e, zone); s != "" {
					fmt.Fprintf(&b, "     %s\n", s)
				}
			}
		}
		if len(f.Remediation) > 0 {
			fmt.Fprintf(&b, "   Fix:\n")
			for j, s := range f.Remediation {
				fmt.Fprintf(&b, "   %d) %s\n", j+1, s.Text)
				if s.Command != "" {
					fmt.Fprintf(&b, "      %s\n", p.command(s.Command))
				}
			}
		}
		for _, l := range f.Links {
			fmt.Fprintf(&b, "   Read: %s\n", l)
		}
	}

	if span, lines := TrendLines(rep.Trend, zone); len(lines) > 0 {
		fmt.Fprintf(&b, "\nFailures per hour in ERRORLOG, %s:\n", span)
		for _, l := range lines {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}

	fmt.Fprintf(&b, "\nChecks:\n")
	for _, c := range rep.Checks {
		fmt.Fprintf(&b, "  %-7s  %-9s %6s  %s\n", p.check(c.Status), c.Name, c.Duration.Round(time.Millisecond), oneLine(c.Detail))
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
		if len(fs) > 0 { // severities outside the known ones
			return fmt.Sprintf("%d findings", len(fs))
		}
		return "no findings"
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
		s := "clients " + strings.Join(list, ", ")
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

// oneLine folds a detail onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
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
	word := strings.ToUpper(string(s))
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
	word := fmt.Sprintf("%-7s", s)
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
