package bot

import (
	"fmt"
	"strings"
	"time"

	"authtriage/triage"
)

// The facts of evidence are written as the terminal renderer writes them (package
// render): "42 times from 2026-11-24 09:14:02 to 09:37:55 -05:00; clients 10.0.0.5,
// 10.0.0.6 and 3 more", with every time in the SQL Server host's zone.

const timeLayout = "2006-01-02 15:04:05 -07:00"

// displayZone returns the zone to show times in: the SQL Server host's, as its
// ERRORLOG evidence carries it, so event-log times (UTC) line up with the log's; UTC
// when there is no ERRORLOG evidence.
func displayZone(rep triage.Report) *time.Location {
	for _, f := range rep.Findings {
		for _, e := range f.Evidence {
			if e.Source == triage.SourceErrorlog && !e.Time.IsZero() {
				return e.Time.Location()
			}
		}
	}
	return time.UTC
}

type factWriter struct{ zone *time.Location }

// when returns "42 times from ... to ...", "42 times, last at ...", "at ..." or "".
func (w factWriter) when(e triage.Evidence) string {
	last, first := e.Time.In(w.zone), e.First.In(w.zone)
	switch {
	case e.Count > 1 && !e.First.IsZero() && !e.Time.IsZero():
		return fmt.Sprintf("%d times from %s", e.Count, timeRange(first, last))
	case e.Count > 1 && !e.Time.IsZero():
		return fmt.Sprintf("%d times, last at %s", e.Count, last.Format(timeLayout))
	case e.Count > 1:
		return fmt.Sprintf("%d times", e.Count)
	case !e.Time.IsZero():
		return "at " + last.Format(timeLayout)
	}
	return ""
}

// mrkdwn returns the facts of e as escaped mrkdwn, with at most maxClients clients,
// each shortened to clientBudget, and whether any client was left out or shortened.
func (w factWriter) mrkdwn(e triage.Evidence) (string, bool) {
	var parts []string
	if s := w.when(e); s != "" {
		parts = append(parts, esc(s))
	}
	cut := false
	if len(e.Clients) > 0 {
		list := e.Clients
		more := max(e.MoreClients, 0)
		if len(list) > maxClients {
			more += len(list) - maxClients
			list = list[:maxClients]
			cut = true
		}
		names := make([]string, len(list))
		for i, c := range list {
			c, shortened := clip(oneLine(c), clientBudget)
			cut = cut || shortened
			names[i] = esc(c)
		}
		parts = append(parts, clientList(names, more))
	} else if e.MoreClients > 0 {
		parts = append(parts, fmt.Sprintf("%d clients", e.MoreClients))
	}
	return strings.Join(parts, "; "), cut
}

// plain returns the facts of e as plain text, with every client.
func (w factWriter) plain(e triage.Evidence) string {
	var parts []string
	if s := w.when(e); s != "" {
		parts = append(parts, s)
	}
	if len(e.Clients) > 0 {
		names := make([]string, len(e.Clients))
		for i, c := range e.Clients {
			names[i] = oneLine(c)
		}
		parts = append(parts, clientList(names, max(e.MoreClients, 0)))
	} else if e.MoreClients > 0 {
		parts = append(parts, fmt.Sprintf("%d clients", e.MoreClients))
	}
	return strings.Join(parts, "; ")
}

func clientList(names []string, more int) string {
	word := "clients "
	if len(names) == 1 && more == 0 {
		word = "client "
	}
	s := word + strings.Join(names, ", ")
	if more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// timeRange writes a range with the date once when both ends are on the same day.
func timeRange(from, to time.Time) string {
	if from.Format("2006-01-02 -07:00") == to.Format("2006-01-02 -07:00") {
		return fmt.Sprintf("%s to %s", from.Format("2006-01-02 15:04:05"), to.Format("15:04:05 -07:00"))
	}
	return fmt.Sprintf("%s to %s", from.Format(timeLayout), to.Format(timeLayout))
}

// formatDuration writes a check's or a report's duration: "<1ms", "120ms", "4.5s",
// "2m3s".
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// countBySeverity returns "2 critical, 1 warning" or "no findings".
func countBySeverity(fs []triage.Finding) string {
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
		if len(fs) > 0 {
			return fmt.Sprintf("%d %s", len(fs), plural(len(fs), "finding", "findings"))
		}
		return "no findings"
	}
	return strings.Join(parts, ", ")
}

// statusLook returns the emoji and word for a report's status; anything but the
// four statuses reads as unknown, as its exit code does.
func statusLook(s triage.Status) (emoji, word string) {
	switch s {
	case triage.StatusCritical:
		return ":red_circle:", "CRITICAL"
	case triage.StatusWarning:
		return ":large_orange_circle:", "WARNING"
	case triage.StatusOK:
		return ":large_green_circle:", "OK"
	}
	return ":large_purple_circle:", "UNKNOWN"
}

func severityEmoji(s triage.Severity) string {
	switch s {
	case triage.Critical:
		return ":red_circle:"
	case triage.Unknown:
		return ":large_purple_circle:"
	case triage.Warning:
		return ":large_orange_circle:"
	case triage.Info:
		return ":large_blue_circle:"
	}
	return ":white_circle:"
}

func checkEmoji(s triage.CheckStatus) string {
	switch s {
	case triage.CheckPass:
		return ":white_check_mark:"
	case triage.CheckWarn:
		return ":warning:"
	case triage.CheckFail:
		return ":x:"
	case triage.CheckError:
		return ":exclamation:"
	case triage.CheckSkipped:
		return ":heavy_minus_sign:"
	}
	return ":grey_question:"
}
