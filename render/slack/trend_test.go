package slackrender

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/render"
	"github.com/authtriage/authtriage/triage"
)

// TestThreadTrend: the checks reply, not the parent, shows the failures per hour of a
// report with a trend; a report without one shows none; and a trend of any size or
// count keeps the thread within Slack's limits.
func TestThreadTrend(t *testing.T) {
	end := time.Date(2026, 11, 24, 14, 54, 0, 0, time.UTC)
	withTrend := func(tr *triage.Trend) triage.Report {
		rep := okReport()
		rep.Trend = tr
		return rep
	}
	huge := &triage.Trend{End: end}
	for i := range 100000 {
		huge.Hours = append(huge.Hours, triage.HourCount{Start: end.Add(time.Duration(i-100000) * time.Hour),
			SSPIHandshake: math.MaxInt, UntrustedDomain: i % 7, LoginFailed: -i})
	}
	tests := []struct {
		name  string
		rep   func(t *testing.T) triage.Report
		lines []string // the trend's lines in the checks reply; none for no trend
	}{
		{"demo", func(t *testing.T) triage.Report { return loadReport(t, "testdata/demo.json") }, []string{
			"*Failures per hour* in ERRORLOG, 2026-11-23 09:00 -05:00 to 2026-11-24 09:54 -05:00:\n```17806 SSPI handshake failed |",
			"18456 login failed          |                       █▄| total 3, peak 2 at 08:00```",
		}},
		{"no trend", func(*testing.T) triage.Report { return okReport() }, nil},
		{"a trend without failures", func(*testing.T) triage.Report {
			return withTrend(&triage.Trend{End: end, Hours: []triage.HourCount{{Start: end.Truncate(time.Hour)}}})
		}, nil},
		{"a huge trend", func(*testing.T) triage.Report { return withTrend(huge) }, []string{
			"17806 SSPI handshake failed |" + strings.Repeat("█", triage.TrendHours) + "| total 9223372036854775807",
			"18452 untrusted domain      |",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := tt.rep(t)
			msgs, err := Thread(rep, ThreadOptions{Buttons: true})
			if err != nil {
				t.Fatalf("Thread: %v", err)
			}
			checkThread(t, rep, ThreadOptions{Buttons: true}, msgs)
			if strings.Contains(allText(msgs[:1]), "Failures per hour") {
				t.Error("the parent shows the trend; it belongs in the checks reply")
			}
			checks := allText(msgs[len(msgs)-1:])
			md := Markdown(rep)
			if tt.lines == nil {
				if strings.Contains(checks, "Failures per hour") || strings.Contains(md, "Failures per hour") {
					t.Errorf("a report without failures per hour shows them:\n%s", checks)
				}
				return
			}
			for _, l := range tt.lines {
				if !strings.Contains(checks, l) {
					t.Errorf("checks reply lacks %q:\n%s", l, checks)
				}
			}
			_, lines := render.TrendLines(rep.Trend, render.DisplayZone(rep))
			if !strings.Contains(md, "\n## Failures per hour\n") || !strings.Contains(md, "```\n"+strings.Join(lines, "\n")+"\n```") {
				t.Errorf("Markdown lacks the failures per hour:\n%s", md)
			}
		})
	}
}
