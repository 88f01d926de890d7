package checks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/authtriage/authtriage/internal/demo"
	"github.com/authtriage/authtriage/triage"
)

func TestSkipsWithoutSource(t *testing.T) {
	tests := []struct {
		name  string
		check triage.Check
		want  string
	}{
		{"errorlog default reason", ErrorLog{}, "no ERRORLOG source for h"},
		{"errorlog given reason", ErrorLog{NoSource: "the inventory names no errorlog"}, "the inventory names no errorlog"},
		{"eventlog default reason", EventLog{}, "no event-log source for h"},
	}
	for _, tt := range tests {
		_, err := tt.check.Run(t.Context(), triage.Target{Host: "h"})
		reason, ok := triage.IsSkip(err)
		if !ok || !strings.Contains(reason, tt.want) {
			t.Errorf("%s: Run error = %v; want a skip saying %q", tt.name, err, tt.want)
		}
	}
}

// TestLiveWindowEndsNow: files read as a live source are windowed back from now, so an
// old log has nothing in the window; copied files are windowed from their newest entry.
func TestLiveWindowEndsNow(t *testing.T) {
	now := func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }
	live := ErrorLog{FS: demo.Files(), Files: []string{demo.ErrorLog}, Now: now}
	res, err := live.Run(t.Context(), triage.Target{Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Obs.Logs {
		if e.ID == 17806 {
			t.Errorf("live read of a 2026 log in 2030 found 17806 in the window: %+v", e)
		}
	}
	copied := live
	copied.Copied = true
	res, err = copied.Run(t.Context(), triage.Target{Host: "h"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range res.Obs.Logs {
		if e.ID == 17806 {
			n += e.Count
		}
	}
	if n == 0 {
		t.Errorf("copied read found no 17806; want the incident in the window")
	}
	if res.Obs.Server == nil || res.Obs.Server.ServiceAccount != `CORP\svc_sql01` {
		t.Errorf("server info = %+v; want the service account from the start-up", res.Obs.Server)
	}
}

// TestUserFileErrorsAreInputErrors: a bad file the user named is their input error; the
// same file from a live source is an ordinary check error.
func TestUserFileErrorsAreInputErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(path, []byte("not a log\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var in *triage.InputError
	for _, copied := range []bool{true, false} {
		checks := []triage.Check{ErrorLog{Files: []string{path}, Copied: copied}, EventLog{Files: []string{path}, Copied: copied}}
		for _, c := range checks {
			_, err := c.Run(t.Context(), triage.Target{Host: "h"})
			if err == nil {
				t.Fatalf("%s read %s without error", c.Name(), path)
			}
			if got := errors.As(err, &in); got != copied {
				t.Errorf("%s copied=%v: InputError = %v; want %v (%v)", c.Name(), copied, got, copied, err)
			}
		}
	}
}

// TestErrorLogTrend: the check carries the reader's trend of 17806, 18452 and 18456
// per hour in its observations, merging those of files read one by one.
func TestErrorLogTrend(t *testing.T) {
	entry := func(at string, id int, text string) string {
		return fmt.Sprintf("%s Logon       Error: %d, Severity: 14, State: 8.\n%s Logon       %s\n", at, id, at, text)
	}
	const start = "2026-11-23 22:14:05.12 Server      Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64)\n"
	login := "Login failed for user 'sa'. Reason: Password did not match that for the login provided. [CLIENT: 10.0.0.1]"
	files := fstest.MapFS{
		"a/ERRORLOG": {Data: []byte(start + entry("2026-11-24 08:10:00.00", 18456, login) + entry("2026-11-24 09:40:00.00", 18456, login))},
		"b/ERRORLOG": {Data: []byte(start + entry("2026-11-24 10:05:00.00", 18456, login))},
		"quiet":      {Data: []byte(start)},
	}
	utc := func(h, m int) time.Time { return time.Date(2026, 11, 24, h, m, 0, 0, time.UTC) }
	// last returns 24 hourly counts, those given being the last ones.
	last := func(counts ...int) []int {
		out := make([]int, triage.TrendHours)
		copy(out[len(out)-len(counts):], counts)
		return out
	}
	tests := []struct {
		name    string
		check   ErrorLog
		end     time.Time     // the trend's End
		newest  time.Time     // the start of its newest hour
		perHour map[int][]int // error -> count per hour; nil for no trend
	}{
		{
			name:    "the demo: the incident's hours, in UTC",
			check:   ErrorLog{FS: demo.Files(), Files: []string{demo.ErrorLog}, Copied: true},
			end:     time.Date(2026, 11, 24, 14, 54, 3, 180e6, time.UTC),
			newest:  utc(14, 0),
			perHour: map[int][]int{17806: last(63), 18452: last(63), 18456: last(2, 1)},
		},
		{
			name:    "files read one by one: merged, ending with the newest",
			check:   ErrorLog{FS: files, Files: []string{"a/ERRORLOG", "b/ERRORLOG"}, Copied: true},
			end:     utc(10, 5),
			newest:  utc(10, 0),
			perHour: map[int][]int{17806: last(), 18452: last(), 18456: last(1, 1, 1)},
		},
		{
			name:  "no failures: no trend",
			check: ErrorLog{FS: files, Files: []string{"quiet"}, Copied: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.check.Run(t.Context(), triage.Target{Host: "h"})
			if err != nil {
				t.Fatal(err)
			}
			tr := res.Obs.Trend
			if tt.perHour == nil {
				if tr != nil {
					t.Errorf("Trend = %+v; want nil", tr)
				}
				return
			}
			if tr == nil {
				t.Fatal("Trend = nil")
			}
			if n := len(tr.Hours); !tr.End.Equal(tt.end) || n == 0 || !tr.Hours[n-1].Start.Equal(tt.newest) {
				t.Errorf("Trend ends %v with %d hours; want it to end %v with the hour of %v", tr.End, n, tt.end, tt.newest)
			}
			for id, want := range tt.perHour {
				if got := tr.Counts(id); !slices.Equal(got, want) {
					t.Errorf("%d per hour = %v; want %v", id, got, want)
				}
			}
		})
	}
}

// fakeSQLErrorLog answers ErrorLog with fixed results and records the window asked.
type fakeSQLErrorLog struct {
	events []triage.LogEvent
	trend  *triage.Trend
	err    error
	since  *time.Duration
}

func (f fakeSQLErrorLog) ErrorLog(_ context.Context, _ triage.Target, _ triage.Instance, since time.Duration) ([]triage.LogEvent, *triage.Trend, error) {
	*f.since = since
	return f.events, f.trend, f.err
}

// TestSQLErrorLogTrend: the sp_readerrorlog check carries the reader's trend in its
// observations as the errorlog check does, with what was read before an error.
func TestSQLErrorLogTrend(t *testing.T) {
	end := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	trend := triage.NewTrend(end.Add(-24*time.Hour), end)
	trend.Add(18456, end.Add(-time.Minute))
	events := []triage.LogEvent{{Source: triage.SourceErrorlog, Log: "sp_readerrorlog", ID: 18456, Count: 1}}
	tests := []struct {
		name    string
		fake    fakeSQLErrorLog
		since   time.Duration // SQLErrorLog.Since
		want    *triage.Trend
		wantWin time.Duration // the window asked of the reader
		wantErr bool
	}{
		{name: "failures: the trend", fake: fakeSQLErrorLog{events: events, trend: trend}, want: trend, wantWin: 24 * time.Hour},
		{name: "no failures: no trend", fake: fakeSQLErrorLog{}, since: time.Hour, wantWin: time.Hour},
		{
			name: "an error keeps what was read",
			fake: fakeSQLErrorLog{events: events, trend: trend, err: errors.New("sp_readerrorlog 1 on sql01:1433: timeout")},
			want: trend, wantWin: 24 * time.Hour, wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var since time.Duration
			tt.fake.since = &since
			res, err := SQLErrorLog{Server: tt.fake, Since: tt.since}.Run(t.Context(), triage.Target{Host: "sql01"})
			if (err != nil) != tt.wantErr {
				t.Fatalf("Run error = %v; want an error: %t", err, tt.wantErr)
			}
			if res.Obs.Trend != tt.want {
				t.Errorf("Trend = %+v; want %+v", res.Obs.Trend, tt.want)
			}
			if len(res.Obs.Logs) != len(tt.fake.events) {
				t.Errorf("Logs = %+v; want %+v", res.Obs.Logs, tt.fake.events)
			}
			if since != tt.wantWin {
				t.Errorf("window asked = %s; want %s", since, tt.wantWin)
			}
		})
	}
}

// TestSkipReasonsNameNoFlag: what a check says when it has no source, or lacks a fact
// about the target, is shared by every front end: it names no command-line flag and no
// configuration key (the front ends add how to give what is missing).
func TestSkipReasonsNameNoFlag(t *testing.T) {
	bare := triage.Target{Host: "sqlhost01"}
	known := triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example"}
	tests := []struct {
		check  triage.Check
		target triage.Target
	}{
		{ErrorLog{}, bare}, {EventLog{}, bare}, {SPN{}, bare}, {SPN{Dir: fakeDir{}}, bare},
		{Account{}, bare}, {Account{Dir: fakeDir{}}, bare}, {Kerberos{}, bare}, {Kerberos{KDC: fakeTicketer{}}, bare},
		{Clock{}, bare}, {DC{}, bare}, {DNS{}, bare}, {DNS{Resolver: fakeResolver{}}, bare},
		{SQL{}, bare}, {SQL{Server: fakeLogins{}}, bare}, {SQLErrorLog{}, known}, {LSA{}, bare}, {Keytab{}, bare},
	}
	for _, tt := range tests {
		_, err := tt.check.Run(t.Context(), tt.target)
		reason, ok := triage.IsSkip(err)
		if !ok {
			t.Errorf("%s: Run = %v; want a skip", tt.check.Name(), err)
			continue
		}
		for _, word := range []string{"--", "give", "section", "inventory", "configuration"} {
			if strings.Contains(reason, word) {
				t.Errorf("%s skip %q says %q", tt.check.Name(), reason, word)
			}
		}
	}
}
