package render

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/triage"
)

// trendOf returns a trend ending at end whose hours start at first and hold counts,
// one [17806, 18452, 18456] per hour.
func trendOf(end, first time.Time, counts ...[3]int) *triage.Trend {
	t := &triage.Trend{End: end}
	for i, c := range counts {
		t.Hours = append(t.Hours, triage.HourCount{Start: first.Add(time.Duration(i) * time.Hour),
			SSPIHandshake: c[0], UntrustedDomain: c[1], LoginFailed: c[2]})
	}
	return t
}

func TestTrendLines(t *testing.T) {
	utc := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, time.UTC) }
	est := time.FixedZone("", -5*3600)
	india := time.FixedZone("", 5*3600+1800)
	day := func(last ...[3]int) [][3]int { return append(make([][3]int, triage.TrendHours-len(last)), last...) }
	tests := []struct {
		name      string
		tr        *triage.Trend
		zone      *time.Location
		wantSpan  string
		wantLines []string
	}{
		{name: "no trend", tr: nil, zone: est},
		{name: "no failures", tr: trendOf(utc(24, 14, 54), utc(23, 14, 0), day()...), zone: est},
		{
			name: "only errors with failures, in the host's zone", zone: est,
			tr:       trendOf(utc(24, 14, 54), utc(23, 14, 0), day([3]int{0, 0, 2}, [3]int{63, 63, 1})...),
			wantSpan: "2026-11-23 09:00 -05:00 to 2026-11-24 09:54 -05:00",
			wantLines: []string{
				"17806 SSPI handshake failed |                        █| total 63, peak 63 at 09:00",
				"18452 untrusted domain      |                        █| total 63, peak 63 at 09:00",
				"18456 login failed          |                       █▄| total 3, peak 2 at 08:00",
			},
		},
		{
			name: "one error; the first of equal peaks", zone: time.UTC,
			tr:        trendOf(utc(24, 9, 30), utc(24, 6, 0), [3]int{0, 0, 4}, [3]int{0, 0, 1}, [3]int{0, 0, 4}, [3]int{0, 0, 0}),
			wantSpan:  "2026-11-24 06:00 to 09:30 +00:00",
			wantLines: []string{"18456 login failed |█▂█ | total 9, peak 4 at 06:00"},
		},
		{
			name: "a zone half an hour off UTC", zone: india,
			tr:        trendOf(utc(24, 9, 30), utc(24, 9, 0), [3]int{5, 0, 0}),
			wantSpan:  "2026-11-24 14:30 to 15:00 +05:30",
			wantLines: []string{"17806 SSPI handshake failed |█| total 5, peak 5 at 14:30"},
		},
		{
			name: "only the last day of a longer trend", zone: time.UTC,
			tr:        trendOf(utc(25, 9, 30), utc(24, 7, 0), append([][3]int{{0, 9, 0}, {0, 9, 0}}, day([3]int{0, 1, 0})...)...),
			wantSpan:  "2026-11-24 09:00 +00:00 to 2026-11-25 09:30 +00:00",
			wantLines: []string{"18452 untrusted domain |" + strings.Repeat(" ", triage.TrendHours-1) + "█| total 1, peak 1 at 09:00"},
		},
		{
			name: "negative counts are none, totals do not overflow", zone: time.UTC,
			tr:        trendOf(utc(24, 9, 30), utc(24, 8, 0), [3]int{math.MaxInt, -3, 0}, [3]int{math.MaxInt, -1, 0}),
			wantSpan:  "2026-11-24 08:00 to 09:30 +00:00",
			wantLines: []string{"17806 SSPI handshake failed |██| total 9223372036854775807, peak 9223372036854775807 at 08:00"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			span, lines := TrendLines(tt.tr, tt.zone)
			if span != tt.wantSpan {
				t.Errorf("span = %q; want %q", span, tt.wantSpan)
			}
			if diff := cmp.Diff(tt.wantLines, lines); diff != "" {
				t.Errorf("lines (-want +got):\n%s", diff)
			}
		})
	}
}

// TestTextTrend: the text report shows the trend before the checks, and nothing when
// the report has none.
func TestTextTrend(t *testing.T) {
	end := time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
	rep := triage.Report{ID: "x", Host: "h", Status: triage.StatusCritical,
		Trend:  trendOf(end, end.Truncate(time.Hour), [3]int{47, 0, 0}),
		Checks: []triage.CheckResult{{Name: "errorlog", Status: triage.CheckFail}}}
	var b bytes.Buffer
	if err := Text(&b, rep, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "\nFailures per hour in ERRORLOG, 2026-11-24 09:00 to 09:30 +00:00:\n" +
		"  17806 SSPI handshake failed |█| total 47, peak 47 at 09:00\n\nChecks ("
	if !strings.Contains(b.String(), want) {
		t.Errorf("output lacks the trend before the checks:\n%s", b.String())
	}
	rep.Trend = nil
	b.Reset()
	if err := Text(&b, rep, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "Failures per hour") {
		t.Errorf("output of a report without a trend shows one:\n%s", b.String())
	}
}
