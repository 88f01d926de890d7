package triage_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/triage"
)

var minus5 = time.FixedZone("", -5*3600)

func utc(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, time.UTC) }

// hourly returns the trend ending at end whose hours start at first and hold counts,
// one [17806, 18452, 18456] per hour.
func hourly(end, first time.Time, counts ...[3]int) *triage.Trend {
	t := &triage.Trend{End: end}
	for i, c := range counts {
		t.Hours = append(t.Hours, triage.HourCount{Start: first.Add(time.Duration(i) * time.Hour),
			SSPIHandshake: c[0], UntrustedDomain: c[1], LoginFailed: c[2]})
	}
	return t
}

func TestNewTrend(t *testing.T) {
	tests := []struct {
		name        string
		from, end   time.Time
		first, last time.Time
	}{
		{"a day off the hour: from the hour holding its start to the one holding the end", utc(23, 9, 54), utc(24, 9, 54), utc(23, 9, 0), utc(24, 9, 0)},
		{"a day on the hour: the newest hour starts at the end", utc(23, 9, 0), utc(24, 9, 0), utc(23, 9, 0), utc(24, 9, 0)},
		{"a week: still a day", utc(17, 9, 54), utc(24, 9, 54), utc(23, 9, 0), utc(24, 9, 0)},
		{"no start: a day", time.Time{}, utc(24, 9, 54), utc(23, 9, 0), utc(24, 9, 0)},
		{"90 minutes: two hours", utc(24, 8, 24), utc(24, 9, 54), utc(24, 8, 0), utc(24, 9, 0)},
		{"within one hour: one", utc(24, 9, 10), utc(24, 9, 54), utc(24, 9, 0), utc(24, 9, 0)},
		{"a start after the end: one", utc(24, 11, 0), utc(24, 9, 54), utc(24, 9, 0), utc(24, 9, 0)},
		{"hours of UTC in another zone", utc(23, 14, 54).In(minus5), utc(24, 14, 54).In(minus5), utc(23, 14, 0), utc(24, 14, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := triage.NewTrend(tt.from, tt.end)
			if !tr.End.Equal(tt.end) || tr.End.Location() != time.UTC {
				t.Errorf("End = %v; want %v in UTC", tr.End, tt.end)
			}
			n := len(tr.Hours)
			if n == 0 {
				t.Fatal("no hours")
			}
			if first, last := tr.Hours[0].Start, tr.Hours[n-1].Start; !first.Equal(tt.first) || !last.Equal(tt.last) || first.Location() != time.UTC {
				t.Errorf("hours from %v to %v; want from %v to %v, in UTC", first, last, tt.first, tt.last)
			}
			if want := int(tt.last.Sub(tt.first)/time.Hour) + 1; n != want {
				t.Errorf("%d hours; want %d, one after the other", n, want)
			}
		})
	}
}

func TestTrendAdd(t *testing.T) {
	at := func(h, m, s int) time.Time { return time.Date(2026, 11, 24, h, m, s, 0, time.UTC) }
	tests := []struct {
		name string
		id   int
		at   time.Time
		want int // index of the hour counted; -1 for none
	}{
		{"on the hour: the hour it starts", 17806, at(8, 0, 0), 23},
		{"just before the hour: the hour before", 17806, at(7, 59, 59), 22},
		{"the oldest hour's start", 18452, at(9, 0, 0).Add(-24 * time.Hour), 0},
		{"before the oldest hour", 18452, at(8, 59, 59).Add(-24 * time.Hour), -1},
		{"at the end", 18456, at(9, 54, 0), 24},
		{"after the end", 18456, at(9, 54, 1), -1},
		{"in another zone", 18456, at(8, 30, 0).In(minus5), 23},
		{"an error a trend does not count", 17830, at(8, 0, 0), -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := triage.NewTrend(time.Time{}, at(9, 54, 0))
			counted := tr.Add(tt.id, tt.at)
			if counted != (tt.want >= 0) {
				t.Errorf("Add(%d, %v) = %v; want %v", tt.id, tt.at, counted, tt.want >= 0)
			}
			for i, h := range tr.Hours {
				want := 0
				if i == tt.want {
					want = 1
				}
				if got := h.Count(tt.id); got != want {
					t.Errorf("hour %d (%v) counts %d of %d; want %d", i, h.Start, got, tt.id, want)
				}
			}
		})
	}
}

func TestMergeTrends(t *testing.T) {
	a := hourly(utc(24, 9, 30), utc(24, 8, 0), [3]int{1, 2, 3}, [3]int{4, 5, 6})
	b := hourly(utc(24, 10, 15), utc(24, 9, 0), [3]int{10, 0, 0}, [3]int{0, 0, 1})
	tests := []struct {
		name string
		a, b *triage.Trend
		want *triage.Trend
	}{
		{"none", nil, nil, nil},
		{"one", a, nil, a},
		{"the other", nil, b, b},
		{"overlapping hours add up; the later end wins", a, b,
			hourly(utc(24, 10, 15), utc(24, 8, 0), [3]int{1, 2, 3}, [3]int{14, 5, 6}, [3]int{0, 0, 1})},
		{"hours older than a day before the newest are dropped",
			hourly(utc(22, 9, 30), utc(22, 9, 0), [3]int{7, 7, 7}), b,
			hourly(utc(24, 10, 15), utc(23, 10, 0), append(make([][3]int, 23), [3]int{10, 0, 0}, [3]int{0, 0, 1})...)},
		{"an hour not on the hour is dropped",
			&triage.Trend{End: utc(24, 9, 30), Hours: []triage.HourCount{{Start: utc(24, 9, 30), LoginFailed: 5}}}, nil,
			hourly(utc(24, 9, 30), utc(24, 9, 0), [3]int{})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := triage.MergeTrends(tt.a, tt.b)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("MergeTrends (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReportTrendJSON: the trend is written under "trend" and read back; a report
// without one has no "trend" key, so reports without failures read as before.
func TestReportTrendJSON(t *testing.T) {
	tr := hourly(utc(24, 14, 54), utc(24, 13, 0), [3]int{0, 0, 2}, [3]int{63, 63, 1})
	rep := triage.Report{ID: "abc", Host: "h", Status: triage.StatusCritical, Findings: []triage.Finding{}, Trend: tr}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`"trend":{"end":"2026-11-24T14:54:00Z","hours":[`,
		`{"start":"2026-11-24T14:00:00Z","sspi_handshake":63,"untrusted_domain":63,"login_failed":1}`,
	} {
		if !strings.Contains(string(b), s) {
			t.Errorf("JSON %s lacks %s", b, s)
		}
	}
	var back triage.Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rep, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}

	rep.Trend = nil
	if b, err = json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "trend") {
		t.Errorf("JSON of a report without a trend %s has one", b)
	}
}

// TestRunTrend: the Runner puts the checks' trends, merged, on the report.
func TestRunTrend(t *testing.T) {
	withTrend := func(tr *triage.Trend) fakeCheck {
		return fakeCheck{"errorlog", func(context.Context) (triage.Result, error) {
			return triage.Result{Obs: triage.Observations{Trend: tr}}, nil
		}}
	}
	a := hourly(utc(24, 9, 30), utc(24, 9, 0), [3]int{1, 0, 0})
	b := hourly(utc(24, 9, 40), utc(24, 9, 0), [3]int{0, 0, 2})
	tests := []struct {
		name   string
		checks []triage.Check
		want   *triage.Trend
	}{
		{"no trend", []triage.Check{fakeCheck{"a", func(context.Context) (triage.Result, error) { return logResult(1), nil }}}, nil},
		{"one", []triage.Check{withTrend(a)}, a},
		{"two merged", []triage.Check{withTrend(a), withTrend(b)}, hourly(utc(24, 9, 40), utc(24, 9, 0), [3]int{1, 0, 2})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := triage.Runner{Checks: tt.checks}.Run(t.Context(), triage.Target{Host: "h"})
			if diff := cmp.Diff(tt.want, rep.Trend); diff != "" {
				t.Errorf("Trend (-want +got):\n%s", diff)
			}
		})
	}
}
