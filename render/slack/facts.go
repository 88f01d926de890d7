package slackrender

import (
	"fmt"
	"strings"
	"time"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/render"
	"github.com/authtriage/authtriage/triage"
)

// The facts of evidence are written as the terminal renderer writes them (package
// render): "42 times from 2026-11-24 09:14:02 to 09:37:55 -05:00; clients 10.0.0.5,
// 10.0.0.6 and 3 more", with every time in the SQL Server host's zone.

const timeLayout = "2006-01-02 15:04:05 -07:00"

type factWriter struct{ zone *time.Location }

// when returns "42 times from ... to ...", "42 times, last at ...", "at ..." or "".
func (w factWriter) when(e triage.Evidence) string {
	last, first := e.Time.In(w.zone), e.First.In(w.zone)
	switch {
	case e.Count > 1 && !e.First.IsZero() && !e.Time.IsZero():
		return fmt.Sprintf("%d times from %s", e.Count, render.TimeRange(first, last))
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
		parts = append(parts, Escape(s))
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
			names[i] = Escape(c)
		}
		parts = append(parts, clientList(names, more))
	} else if e.MoreClients > 0 {
		parts = append(parts, human.Count(e.MoreClients, "client", "clients"))
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
		parts = append(parts, human.Count(e.MoreClients, "client", "clients"))
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
