package errorlog

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/triage"
)

// failureLog returns an error log, as UTF-8 text, that starts at 2025-06-01 00:00,
// then holds an entry for each of entries ("18456 @2025-06-02 08:00:00.00": the error
// and its time) and last an informational entry at time last.
func failureLog(last string, entries ...string) string {
	messages := map[string]string{
		"17806": "SSPI handshake failed with error code 0x80090311, state 14 while establishing a connection with integrated security; the connection has been closed. Reason: AcceptSecurityContext failed. The Windows error code indicates the cause of failure. No authority could be contacted for authentication.  [CLIENT: 10.0.0.1]",
		"18452": "Login failed. The login is from an untrusted domain and cannot be used with Windows authentication. [CLIENT: 10.0.0.1]",
		"18456": "Login failed for user 'sa'. Reason: Password did not match that for the login provided. [CLIENT: 10.0.0.1]",
	}
	var b strings.Builder
	b.WriteString("2025-06-01 00:00:00.00 Server      Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64)\n")
	for _, e := range entries {
		id, at, _ := strings.Cut(e, " @")
		fmt.Fprintf(&b, "%s Logon       Error: %s, Severity: 14, State: 8.\n", at, id)
		fmt.Fprintf(&b, "%s Logon       %s\n", at, messages[id])
	}
	fmt.Fprintf(&b, "%s spid52      Using 'xpstar.dll' version '2022.160.1000' to execute extended stored procedure 'xp_instance_regread'.\n", last)
	return b.String()
}

// trendOf returns the trend with end whose hours start at first and hold counts, one
// [17806, 18452, 18456] per hour.
func trendOf(end, first time.Time, counts ...[3]int) *triage.Trend {
	t := &triage.Trend{End: end.UTC()}
	for i, c := range counts {
		t.Hours = append(t.Hours, triage.HourCount{Start: first.UTC().Add(time.Duration(i) * time.Hour),
			SSPIHandshake: c[0], UntrustedDomain: c[1], LoginFailed: c[2]})
	}
	return t
}

// zeros returns n hours with nothing counted.
func zeros(n int) [][3]int { return make([][3]int, n) }

func TestReadTrend(t *testing.T) {
	utc := func(day, h, m int) time.Time { return time.Date(2025, 6, day, h, m, 0, 0, time.UTC) }
	tests := []struct {
		name string
		log  string
		opt  Options
		want *triage.Trend
	}{
		{
			name: "no failures, no trend",
			log:  failureLog("2025-06-02 09:30:00.00"),
		},
		{
			name: "failures only before the window, no trend",
			log:  failureLog("2025-06-03 09:30:00.00", "18456 @2025-06-02 08:00:00.00"),
		},
		{
			name: "failures only after the end given, no trend",
			log:  failureLog("2025-06-02 09:30:00.00", "18456 @2025-06-02 09:31:00.00"),
			opt:  Options{End: utc(2, 9, 30)},
		},
		{
			name: "an entry on the hour counts in the hour it starts; the window ends off the hour",
			log: failureLog("2025-06-02 09:30:00.00",
				"17806 @2025-06-02 07:59:59.99", "18452 @2025-06-02 07:59:59.99",
				"17806 @2025-06-02 08:00:00.00", "18452 @2025-06-02 08:00:00.00",
				"18456 @2025-06-02 09:29:59.00"),
			// 25 hours: 2025-06-01 09:00 (the window starts at 09:30) to 2025-06-02
			// 09:00; the last holds 09:00 to 09:30.
			want: trendOf(utc(2, 9, 30), utc(1, 9, 0), append(zeros(22), [3]int{1, 1, 0}, [3]int{1, 1, 0}, [3]int{0, 0, 1})...),
		},
		{
			name: "an entry at the end counts in the hour holding it, one after is not read",
			log:  failureLog("2025-06-02 09:00:00.00", "18456 @2025-06-02 09:00:00.00", "18456 @2025-06-02 09:00:00.01"),
			opt:  Options{End: utc(2, 9, 0)},
			want: trendOf(utc(2, 9, 0), utc(1, 9, 0), append(zeros(24), [3]int{0, 0, 1})...),
		},
		{
			name: "the hour the window starts in is counted from the window's start",
			log: failureLog("2025-06-02 09:30:00.00",
				"18456 @2025-06-01 09:15:00.00", // before the 24h window, which starts at 09:30
				"18456 @2025-06-01 09:45:00.00", // in it
				"18456 @2025-06-01 10:00:00.00"),
			want: trendOf(utc(2, 9, 30), utc(1, 9, 0), append([][3]int{{0, 0, 1}, {0, 0, 1}}, zeros(23)...)...),
		},
		{
			name: "a window shorter than a day has fewer hours",
			log:  failureLog("2025-06-02 09:30:00.00", "17806 @2025-06-02 07:59:00.00", "17806 @2025-06-02 08:15:00.00"),
			opt:  Options{Since: 90 * time.Minute},
			want: trendOf(utc(2, 9, 30), utc(2, 8, 0), [3]int{1, 0, 0}, [3]int{0, 0, 0}),
		},
		{
			name: "hours are UTC whatever the log's zone",
			log:  failureLog("2025-06-02 09:30:00.00", "18452 @2025-06-02 08:10:00.00"),
			opt:  Options{Location: minus5},
			// 09:30 -05:00 is 14:30 UTC; 08:10 -05:00 is 13:10 UTC.
			want: trendOf(utc(2, 14, 30), utc(1, 14, 0), append(zeros(23), [3]int{0, 1, 0}, [3]int{0, 0, 0})...),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := readBytes(t, encodeLog(tt.log, encUTF8, false, false), "ERRORLOG", tt.opt)
			if diff := cmp.Diff(tt.want, sum.Trend); diff != "" {
				t.Errorf("Trend (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadTrendCountsEveryEntry: the trend counts each 17806, 18452 and 18456 of the
// window that the events count, when all are within the last day.
func TestReadTrendCountsEveryEntry(t *testing.T) {
	sum := readBytes(t, windowsLog(scenario(t, "failures.txt")), "ERRORLOG", Options{})
	if sum.Trend == nil {
		t.Fatal("Trend = nil; want the failures counted")
	}
	if n := len(sum.Trend.Hours); n != triage.TrendHours {
		t.Errorf("got %d hours; want %d", n, triage.TrendHours)
	}
	for _, id := range triage.TrendErrors() {
		events := 0
		for _, e := range find(sum.Events, id) {
			events += e.Count
		}
		counted := 0
		for _, n := range sum.Trend.Counts(id) {
			counted += n
		}
		if events == 0 || counted != events {
			t.Errorf("error %d: trend counts %d; want the %d entries the events count", id, counted, events)
		}
	}
}
