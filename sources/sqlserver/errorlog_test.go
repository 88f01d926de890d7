package sqlserver_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/authtriage/authtriage/internal/tdsfake"
	"github.com/authtriage/authtriage/sources/errorlog"
	"github.com/authtriage/authtriage/triage"
)

// The server of these tests runs at UTC-5; its clock reads 10:00 local on 25 November.
var (
	serverZone = time.FixedZone("", -5*3600)
	logNow     = time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
)

// rows builds log rows from lines "2026-11-24 20:00:00.00|Process|Text", in local time.
func rows(t *testing.T, lines ...string) []tdsfake.LogRow {
	t.Helper()
	var out []tdsfake.LogRow
	for _, l := range lines {
		f := strings.SplitN(l, "|", 3)
		if len(f) != 3 {
			t.Fatalf("bad row %q", l)
		}
		at, err := time.ParseInLocation("2006-01-02 15:04:05.00", f[0], serverZone)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tdsfake.LogRow{Date: at, Process: f[1], Text: f[2]})
	}
	return out
}

const (
	banner      = "Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64)"
	utcAdjust   = "UTC adjustment: -5:00"
	spnFailed   = "The SQL Server Network Interface library could not register the Service Principal Name (SPN) [ MSSQLSvc/sql01.corp.example:1433 ] for the SQL Server service. Windows return code: 0x2098, state: 15. Failure to register a SPN might cause integrated authentication to use NTLM instead of Kerberos. This is an informational message. Further action is only required if Kerberos authentication is required by authentication policies and if the SPN has not been manually registered."
	spnOK       = "The SQL Server Network Interface library successfully registered the Service Principal Name (SPN) [ MSSQLSvc/sql01.corp.example:1433 ] for the SQL Server service."
	header18456 = "Error: 18456, Severity: 14, State: 8."
	sspiFailed  = "SSPI handshake failed with error code 0x8009030c, state 14 while establishing a connection with integrated security; the connection has been closed. Reason: AcceptSecurityContext failed. The operating system error code indicates the cause of failure. The logon attempt failed   [CLIENT: %s]"
	untrusted   = "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication. [CLIENT: %s]"
	badPassword = "Login failed for user '%s'. Reason: Password did not match that for the login provided. [CLIENT: %s]"
)

// errorLogs returns the current log (started 24 Nov 20:00 local) and two archives.
func errorLogs(t *testing.T) [][]tdsfake.LogRow {
	current := rows(t,
		"2026-11-24 20:00:00.00|Server|"+banner,
		"2026-11-24 20:00:00.10|Server|"+utcAdjust,
		"2026-11-24 20:00:03.50|Server|"+spnFailed,
		"2026-11-24 21:00:00.00|Logon|"+header18456,
		"2026-11-24 21:00:00.00|Logon|"+fmt.Sprintf(badPassword, `CORP\early`, "10.0.0.4"),
		"2026-11-25 09:15:10.12|Logon|"+header18456,
		"2026-11-25 09:15:10.12|spid51|Another thread writes between a header and its message.",
		"2026-11-25 09:15:10.12|Logon|"+fmt.Sprintf(badPassword, `CORP\alice`, "10.0.0.5"),
		"2026-11-25 09:20:00.00|Logon|Error: 17806, Severity: 20, State: 14.",
		"2026-11-25 09:20:00.00|Logon|"+fmt.Sprintf(sspiFailed, "10.0.0.7"),
		"2026-11-25 09:20:00.00|Logon|Error: 18452, Severity: 14, State: 1.",
		"2026-11-25 09:20:00.00|Logon|"+fmt.Sprintf(untrusted, "10.0.0.7"),
		"2026-11-25 09:25:00.33|Logon|Error: 17806, Severity: 20, State: 14.",
		"2026-11-25 09:25:00.33|Logon|"+fmt.Sprintf(sspiFailed, "10.0.0.8"),
		"2026-11-25 09:25:00.33|Logon|Error: 18452, Severity: 14, State: 1.",
		"2026-11-25 09:25:00.33|Logon|"+fmt.Sprintf(untrusted, "10.0.0.8"),
		"2026-11-25 09:30:00.00|Logon|Error: 18456, Severity: 14, State: 5.",
		"2026-11-25 09:30:01.00|spid9s|One.",
		"2026-11-25 09:30:02.00|spid9s|Two.",
		"2026-11-25 09:30:03.00|spid9s|Three.",
		"2026-11-25 09:30:04.00|spid9s|Four.",
		"2026-11-25 09:30:05.00|spid9s|Five.",
		"2026-11-25 09:30:06.00|spid9s|Six.",
		"2026-11-25 09:30:07.00|spid9s|Seven.",
		"2026-11-25 09:30:08.00|spid9s|Eight.",
		"2026-11-25 09:30:09.00|spid9s|Nine.",
	)
	archive1 := rows(t,
		"2026-11-23 20:00:00.00|Server|"+banner,
		"2026-11-23 20:00:00.10|Server|"+utcAdjust,
		"2026-11-23 20:00:02.00|Server|"+spnOK,
		"2026-11-23 21:00:00.00|Logon|"+header18456,
		"2026-11-23 21:00:00.00|Logon|"+fmt.Sprintf(badPassword, `CORP\old`, "10.0.0.3"),
		"2026-11-24 11:00:00.00|Logon|"+header18456,
		"2026-11-24 11:00:00.00|Logon|"+fmt.Sprintf(badPassword, `CORP\alice`, "10.0.0.6"),
		"2026-11-24 19:59:00.00|Server|SQL Server is terminating in response to a 'stop' request from Service Control Manager.",
	)
	archive2 := rows(t,
		"2026-11-22 20:00:00.00|Server|"+banner,
		"2026-11-22 20:00:00.10|Server|"+utcAdjust,
		"2026-11-22 21:00:00.00|Logon|"+header18456,
		"2026-11-22 21:00:00.00|Logon|"+fmt.Sprintf(badPassword, `CORP\older`, "10.0.0.2"),
		"2026-11-23 19:59:00.00|Server|SQL Server is terminating in response to a 'stop' request from Service Control Manager.",
	)
	return [][]tdsfake.LogRow{current, archive1, archive2}
}

func errorLogFake(t *testing.T, logs [][]tdsfake.LogRow) *tdsfake.Server {
	return tdsfake.Start(t, tdsfake.Config{ErrorLogs: logs, UTCOffset: -300, Now: func() time.Time { return logNow }})
}

func local(s string) time.Time {
	at, err := time.ParseInLocation("2006-01-02 15:04:05.00", s, serverZone)
	if err != nil {
		panic(err)
	}
	return at
}

func TestErrorLog(t *testing.T) {
	alice := triage.LogEvent{
		Source: triage.SourceErrorlog, Log: "sp_readerrorlog", ID: 18456, State: 8, Login: `CORP\alice`,
		Reason: "Password did not match that for the login provided.",
		Text:   fmt.Sprintf(badPassword, `CORP\alice`, "10.0.0.6"),
		Count:  2, First: local("2026-11-24 11:00:00.00"), Last: local("2026-11-25 09:15:10.12"),
		Clients: []string{"10.0.0.5", "10.0.0.6"},
	}
	spn := triage.LogEvent{
		Source: triage.SourceErrorlog, Log: "sp_readerrorlog", ID: 26067, State: 15, Code: "0x2098",
		SPN: "MSSQLSvc/sql01.corp.example:1433", Text: spnFailed,
		Count: 1, First: local("2026-11-24 20:00:03.50"), Last: local("2026-11-24 20:00:03.50"),
	}
	sspi := triage.LogEvent{
		Source: triage.SourceErrorlog, Log: "sp_readerrorlog", ID: 17806, State: 14, Code: "0x8009030c",
		Reason: "AcceptSecurityContext failed. The operating system error code indicates the cause of failure. The logon attempt failed",
		Text:   fmt.Sprintf(sspiFailed, "10.0.0.7"),
		Count:  2, First: local("2026-11-25 09:20:00.00"), Last: local("2026-11-25 09:25:00.33"),
		Clients: []string{"10.0.0.7", "10.0.0.8"},
	}
	untrustedEv := triage.LogEvent{
		Source: triage.SourceErrorlog, Log: "sp_readerrorlog", ID: 18452, State: 1, Code: "0x8009030c",
		Text:  fmt.Sprintf(untrusted, "10.0.0.7"),
		Count: 2, First: local("2026-11-25 09:20:00.00"), Last: local("2026-11-25 09:25:00.33"),
		Clients: []string{"10.0.0.7", "10.0.0.8"},
	}
	headerAlone := triage.LogEvent{
		Source: triage.SourceErrorlog, Log: "sp_readerrorlog", ID: 18456, State: 5,
		Text:  "Error: 18456, Severity: 14, State: 5.",
		Count: 1, First: local("2026-11-25 09:30:00.00"), Last: local("2026-11-25 09:30:00.00"),
	}
	early := triage.LogEvent{
		Source: triage.SourceErrorlog, Log: "sp_readerrorlog", ID: 18456, State: 8, Login: `CORP\early`,
		Reason: "Password did not match that for the login provided.",
		Text:   fmt.Sprintf(badPassword, `CORP\early`, "10.0.0.4"),
		Count:  1, First: local("2026-11-24 21:00:00.00"), Last: local("2026-11-24 21:00:00.00"),
		Clients: []string{"10.0.0.4"},
	}
	aliceToday := alice
	aliceToday.Count, aliceToday.First, aliceToday.Clients = 1, alice.Last, []string{"10.0.0.5"}
	aliceToday.Text = fmt.Sprintf(badPassword, `CORP\alice`, "10.0.0.5")

	tests := []struct {
		name  string
		since time.Duration
		want  []triage.LogEvent
		logs  []string // sp_readerrorlog calls
	}{
		{
			// From 24 Nov 22:00 local: the current log started before, so it alone is
			// read; its start-up's SPN message counts though older than the window.
			name: "window within the current log", since: 12 * time.Hour,
			want: []triage.LogEvent{spn, aliceToday, sspi, untrustedEv, headerAlone},
			logs: []string{"sp_readerrorlog 0, 1"},
		},
		{
			// From 23 Nov 22:00 local: archive 1 is read too, not archive 2; archive 1's
			// start-up is not the newest, so its SPN message is out of the window.
			name: "window reaching into archive 1", since: 36 * time.Hour,
			want: []triage.LogEvent{alice, spn, early, sspi, untrustedEv, headerAlone},
			logs: []string{"sp_readerrorlog 0, 1", "sp_readerrorlog 1, 1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := errorLogFake(t, errorLogs(t))
			port := fake.Port()
			got, _, err := newChecker(t, 5*time.Second).ErrorLog(t.Context(), target(port), triage.Instance{Port: port}, tt.since)
			if err != nil {
				t.Fatalf("ErrorLog: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ErrorLog (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.logs, readErrorLogCalls(fake)); diff != "" {
				t.Errorf("logs read (-want +got):\n%s", diff)
			}
		})
	}
}

// readErrorLogCalls returns the sp_readerrorlog calls the fake answered.
func readErrorLogCalls(s *tdsfake.Server) []string {
	var calls []string
	for _, q := range s.Queries() {
		if strings.HasPrefix(q, "sp_readerrorlog") {
			calls = append(calls, q)
		}
	}
	return calls
}

// writeLogs writes logs, the current log first, as the ERRORLOG files of a new
// directory, and returns the path of ERRORLOG.
func writeLogs(t *testing.T, logs [][]tdsfake.LogRow) string {
	t.Helper()
	dir := t.TempDir()
	for i, log := range logs {
		name := "ERRORLOG"
		if i > 0 {
			name += fmt.Sprintf(".%d", i)
		}
		var b strings.Builder
		for _, r := range log {
			fmt.Fprintf(&b, "%s %-12s %s\r\n", r.Date.Format("2006-01-02 15:04:05.00"), r.Process, r.Text)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "ERRORLOG")
}

// readBoth reads logs for a window of since: from ERRORLOG files with
// errorlog.ReadFiles, the window ending at the fake server's clock, and from the fake
// server with ErrorLog.
func readBoth(t *testing.T, logs [][]tdsfake.LogRow, since time.Duration) (errorlog.Summary, []triage.LogEvent, *triage.Trend) {
	t.Helper()
	sum, err := errorlog.ReadFiles(t.Context(), []string{writeLogs(t, logs)},
		errorlog.Options{Since: since, End: logNow, Location: serverZone})
	if err != nil {
		t.Fatalf("ReadFiles: %v", err)
	}
	fake := errorLogFake(t, logs)
	events, trend, err := newChecker(t, 5*time.Second).ErrorLog(t.Context(), target(fake.Port()), triage.Instance{Port: fake.Port()}, since)
	if err != nil {
		t.Fatalf("ErrorLog: %v", err)
	}
	return sum, events, trend
}

// TestErrorLogAgreesWithFiles checks that ErrorLog reads the rows of sp_readerrorlog as
// errorlog.ReadFiles reads the same entries from ERRORLOG files: the same events and
// the same trend.
func TestErrorLogAgreesWithFiles(t *testing.T) {
	for _, since := range []time.Duration{time.Hour, 12 * time.Hour, 24 * time.Hour, 36 * time.Hour, 72 * time.Hour} {
		t.Run(since.String(), func(t *testing.T) {
			sum, got, trend := readBoth(t, errorLogs(t), since)
			ignoreLog := cmpopts.IgnoreFields(triage.LogEvent{}, "Log")
			if diff := cmp.Diff(acrossFiles(sum.Events), got, ignoreLog); diff != "" {
				t.Errorf("ErrorLog differs from ReadFiles (-files +sp_readerrorlog):\n%s", diff)
			}
			if trend == nil {
				t.Error("ErrorLog trend = nil; want the failures counted")
			}
			if diff := cmp.Diff(sum.Trend, trend); diff != "" {
				t.Errorf("ErrorLog trend differs from ReadFiles' (-files +sp_readerrorlog):\n%s", diff)
			}
		})
	}
}

// failure returns the rows of one entry of error id (17806, 18452 or 18456) written at
// local time at, "2026-11-25 09:00:00.00": its header, then its message.
func failure(id int, at string) []string {
	var state int
	var msg string
	switch id {
	case 17806:
		state, msg = 14, fmt.Sprintf(sspiFailed, "10.0.0.9")
	case 18452:
		state, msg = 1, fmt.Sprintf(untrusted, "10.0.0.9")
	case 18456:
		state, msg = 8, fmt.Sprintf(badPassword, `CORP\bob`, "10.0.0.9")
	default:
		panic(fmt.Sprintf("no message for error %d", id))
	}
	return []string{fmt.Sprintf("%s|Logon|Error: %d, Severity: 14, State: %d.", at, id, state), at + "|Logon|" + msg}
}

// logStart returns the first rows of a log started at local time at.
func logStart(at string) []string {
	return []string{at + "|Server|" + banner, at + "|Server|" + utcAdjust}
}

// trendOf returns a trend that ends at logNow with n hours from first, an hour of
// UTC: hour i holds counts[i], [17806, 18452, 18456], and the others none.
func trendOf(first time.Time, n int, counts map[int][3]int) *triage.Trend {
	tr := &triage.Trend{End: logNow}
	for i := range n {
		c := counts[i]
		tr.Hours = append(tr.Hours, triage.HourCount{Start: first.Add(time.Duration(i) * time.Hour),
			SSPIHandshake: c[0], UntrustedDomain: c[1], LoginFailed: c[2]})
	}
	return tr
}

// TestErrorLogTrend checks that ErrorLog counts the failures per hour as
// errorlog.ReadFiles counts them in the same entries written as files. The server
// runs at UTC-5 and its clock reads 25 Nov 10:00 local, 15:00 UTC; hours are UTC.
func TestErrorLogTrend(t *testing.T) {
	utc := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, time.UTC) }
	day := utc(24, 15, 0) // the oldest hour of a window of a day or more
	tests := []struct {
		name  string
		since time.Duration
		logs  [][]string // rows "local time|process|text" of the current log, then archives
		want  *triage.Trend
	}{
		{
			name:  "each error counts once, its header and message one entry",
			since: 24 * time.Hour,
			logs: [][]string{slices.Concat(
				logStart("2026-11-24 20:00:00.00"),
				failure(18456, "2026-11-25 08:59:59.99"),
				failure(17806, "2026-11-25 09:20:00.00"), failure(18452, "2026-11-25 09:20:00.00"),
				[]string{ // another thread writes between a header and its message
					"2026-11-25 09:45:00.00|Logon|" + header18456,
					"2026-11-25 09:45:00.00|spid51|Another thread.",
					"2026-11-25 09:45:00.00|Logon|" + fmt.Sprintf(badPassword, `CORP\carol`, "10.0.0.10"),
				},
				failure(18456, "2026-11-25 10:00:00.00"), // at the clock: the newest hour
			)},
			want: trendOf(day, 25, map[int][3]int{22: {0, 0, 1}, 23: {1, 1, 1}, 24: {0, 0, 1}}),
		},
		{
			// The header waits for its message through eight rows of other threads;
			// the message after them is not its header's, nor an entry of its own.
			name:  "a header whose message comes too late counts once, alone",
			since: 24 * time.Hour,
			logs: [][]string{slices.Concat(
				logStart("2026-11-24 20:00:00.00"),
				[]string{
					"2026-11-25 09:30:00.00|Logon|Error: 18456, Severity: 14, State: 5.",
					"2026-11-25 09:30:00.00|spid9s|One.", "2026-11-25 09:30:00.00|spid9s|Two.",
					"2026-11-25 09:30:00.00|spid9s|Three.", "2026-11-25 09:30:00.00|spid9s|Four.",
					"2026-11-25 09:30:00.00|spid9s|Five.", "2026-11-25 09:30:00.00|spid9s|Six.",
					"2026-11-25 09:30:00.00|spid9s|Seven.", "2026-11-25 09:30:00.00|spid9s|Eight.",
					"2026-11-25 09:30:00.00|spid9s|Nine.",
					"2026-11-25 09:30:00.00|Logon|" + fmt.Sprintf(badPassword, `CORP\dave`, "10.0.0.11"),
				},
			)},
			want: trendOf(day, 25, map[int][3]int{23: {0, 0, 1}}),
		},
		{
			name:  "a message without its header is not counted",
			since: 24 * time.Hour,
			logs: [][]string{slices.Concat(
				logStart("2026-11-24 20:00:00.00"),
				failure(17806, "2026-11-25 09:40:00.00"),
				[]string{"2026-11-25 09:40:00.00|Logon|" + fmt.Sprintf(untrusted, "10.0.0.9")},
			)},
			want: trendOf(day, 25, map[int][3]int{23: {1, 0, 0}}),
		},
		{
			// From 24 Nov 22:30 local, 03:30 UTC: the oldest hour, 03:00, counts from
			// 03:30; an archive that ends before the window is not counted, nor are
			// entries after the clock.
			name:  "entries outside the window are not counted",
			since: 11*time.Hour + 30*time.Minute,
			logs: [][]string{
				slices.Concat(
					logStart("2026-11-24 20:00:00.00"),
					failure(18456, "2026-11-24 22:15:00.00"),
					failure(18456, "2026-11-24 22:45:00.00"),
					failure(17806, "2026-11-25 10:05:00.00"),
				),
				slices.Concat(logStart("2026-11-23 20:00:00.00"), failure(18452, "2026-11-24 19:00:00.00")),
			},
			want: trendOf(utc(25, 3, 0), 13, map[int][3]int{0: {0, 0, 1}}),
		},
		{
			// From 23 Nov 22:00 local: archive 1 is read; its entry of 24 Nov 09:30 local,
			// 14:30 UTC, is in the window but older than the day of hours counted.
			name:  "a window longer than a day counts its last day, across logs",
			since: 36 * time.Hour,
			logs: [][]string{
				slices.Concat(logStart("2026-11-24 20:00:00.00"), failure(18456, "2026-11-25 09:20:00.00")),
				slices.Concat(logStart("2026-11-23 20:00:00.00"),
					failure(17806, "2026-11-24 09:30:00.00"), failure(17806, "2026-11-24 11:00:00.00")),
			},
			want: trendOf(day, 25, map[int][3]int{1: {1, 0, 0}, 23: {0, 0, 1}}),
		},
		{
			name:  "no failures, no trend",
			since: 24 * time.Hour,
			logs: [][]string{slices.Concat(
				logStart("2026-11-24 20:00:00.00"),
				[]string{
					"2026-11-24 20:00:03.50|Server|" + spnFailed,
					"2026-11-25 09:00:00.00|Backup|Error: 3041, Severity: 16, State: 1.",
					"2026-11-25 09:00:00.00|Backup|BACKUP failed to complete the command BACKUP DATABASE x.",
				},
			)},
		},
		{
			name:  "failures only before the window, no trend",
			since: time.Hour,
			logs:  [][]string{slices.Concat(logStart("2026-11-24 20:00:00.00"), failure(18456, "2026-11-25 08:59:59.00"))},
		},
		{
			name:  "failures only after the clock, no trend",
			since: time.Hour,
			logs:  [][]string{slices.Concat(logStart("2026-11-24 20:00:00.00"), failure(18456, "2026-11-25 10:00:01.00"))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs [][]tdsfake.LogRow
			for _, l := range tt.logs {
				logs = append(logs, rows(t, l...))
			}
			sum, events, got := readBoth(t, logs, tt.since)
			// ErrorLog keeps the entries written after it read the clock; the window of
			// ReadFiles ends at End.
			events = slices.DeleteFunc(events, func(ev triage.LogEvent) bool { return ev.First.After(logNow) })
			if diff := cmp.Diff(acrossFiles(sum.Events), events, cmpopts.IgnoreFields(triage.LogEvent{}, "Log"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ErrorLog events differ from ReadFiles' (-files +sp_readerrorlog):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, sum.Trend); diff != "" {
				t.Errorf("ReadFiles trend (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ErrorLog trend (-want +got):\n%s", diff)
			}
		})
	}
}

// acrossFiles merges the groups errorlog.ReadFiles makes per file into groups across
// files, as ErrorLog makes them: sp_readerrorlog names no file.
func acrossFiles(events []triage.LogEvent) []triage.LogEvent {
	type key struct {
		source                                     triage.Source
		provider, code, login, spn, reason, linked string
		id, state                                  int
	}
	var out []triage.LogEvent
	at := map[key]int{}
	for _, ev := range events {
		k := key{ev.Source, ev.Provider, ev.Code, ev.Login, ev.SPN, ev.Reason, ev.Linked, ev.ID, ev.State}
		i, seen := at[k]
		if !seen {
			at[k] = len(out)
			out = append(out, ev)
			continue
		}
		m := &out[i]
		if ev.First.Before(m.First) {
			m.First, m.Text = ev.First, ev.Text
		}
		if ev.Last.After(m.Last) {
			m.Last = ev.Last
		}
		m.Count += ev.Count
		m.Millis = max(m.Millis, ev.Millis)
		m.Clients = append(m.Clients, ev.Clients...)
		slices.Sort(m.Clients)
		m.Clients = slices.Compact(m.Clients)
	}
	return out
}

// TestErrorLogNoArchive checks that the end of the archives ends the read quietly.
func TestErrorLogNoArchive(t *testing.T) {
	logs := errorLogs(t)[:1]
	fake := errorLogFake(t, logs)
	got, _, err := newChecker(t, 5*time.Second).ErrorLog(t.Context(), target(fake.Port()), triage.Instance{Port: fake.Port()}, 72*time.Hour)
	if err != nil {
		t.Fatalf("ErrorLog: %v", err)
	}
	if len(got) == 0 {
		t.Errorf("ErrorLog returned no events; want those of the current log")
	}
	want := []string{"sp_readerrorlog 0, 1", "sp_readerrorlog 1, 1"}
	if diff := cmp.Diff(want, readErrorLogCalls(fake)); diff != "" {
		t.Errorf("logs read (-want +got):\n%s", diff)
	}
}

// sqlNumber is the accessor of go-mssqldb's Error.
type sqlNumber interface{ SQLErrorNumber() int32 }

func TestErrorLogErrors(t *testing.T) {
	tests := []struct {
		name       string
		cfg        tdsfake.Config
		wantNumber int32  // of the wrapped server error, 0 for none
		wantText   string // in the error
	}{
		{
			name: "procedure refused",
			cfg: tdsfake.Config{Deny: func(q string) *tdsfake.Error {
				if q == "sp_readerrorlog" {
					return &tdsfake.Error{Number: 15003, State: 1, Class: 16, Message: "Only members of the securityadmin role can execute this stored procedure."}
				}
				return nil
			}},
			wantNumber: 15003, wantText: "sp_readerrorlog 0 on 127.0.0.1:",
		},
		{
			name:       "login refused",
			cfg:        tdsfake.Config{Login: func(tdsfake.Login) *tdsfake.Error { return tdsfake.LoginFailed(`CORP\authtriage_ro`) }},
			wantNumber: 18456, wantText: "log in to 127.0.0.1:",
		},
		{
			name:     "server never answers",
			cfg:      tdsfake.Config{Fault: tdsfake.Silent},
			wantText: "timeout",
		},
		{
			name:     "malformed rows",
			cfg:      tdsfake.Config{Fault: tdsfake.GarbageQueryReply},
			wantText: "read the clock",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := tdsfake.Start(t, tt.cfg)
			_, _, err := newChecker(t, time.Second).ErrorLog(t.Context(), target(fake.Port()), triage.Instance{Port: fake.Port()}, time.Hour)
			if err == nil || !strings.Contains(err.Error(), tt.wantText) {
				t.Fatalf("ErrorLog error = %v; want one containing %q", err, tt.wantText)
			}
			var se sqlNumber
			if got := errors.As(err, &se); got != (tt.wantNumber != 0) || got && se.SQLErrorNumber() != tt.wantNumber {
				t.Errorf("ErrorLog error = %v; want server error %d wrapped", err, tt.wantNumber)
			}
		})
	}
}

func TestErrorLogNegativeWindow(t *testing.T) {
	_, _, err := newChecker(t, time.Second).ErrorLog(t.Context(), target(1), triage.Instance{Port: 1}, -time.Hour)
	if err == nil {
		t.Error("ErrorLog with a negative window succeeded")
	}
}

// TestErrorLogLinkedServer: a front end's linked-server failure (7412, carrying the back
// end's 18456 for ANONYMOUS LOGON) is read through sp_readerrorlog as it is from files,
// with the linked server and the login it names, each linked server its own group.
func TestErrorLogLinkedServer(t *testing.T) {
	carried := `OLE DB provider "MSOLEDBSQL" for linked server "%s" returned message "Login failed for user 'NT AUTHORITY\ANONYMOUS LOGON'.".`
	logs := [][]tdsfake.LogRow{rows(t,
		"2026-11-25 08:00:00.00|Server|"+banner,
		"2026-11-25 08:00:00.10|Server|"+utcAdjust,
		"2026-11-25 09:00:00.00|spid55|Error: 7412, Severity: 16, State: 1.",
		"2026-11-25 09:00:00.00|spid55|"+fmt.Sprintf(carried, "SQLHOST02"),
		"2026-11-25 09:05:00.00|spid56|Error: 7412, Severity: 16, State: 1.",
		"2026-11-25 09:05:00.00|spid56|"+fmt.Sprintf(carried, "SQLHOST02"),
		"2026-11-25 09:06:00.00|spid57|Error: 7412, Severity: 16, State: 1.",
		"2026-11-25 09:06:00.00|spid57|"+fmt.Sprintf(carried, "SQLHOST03"),
	)}
	sum, got, _ := readBoth(t, logs, 24*time.Hour)
	if diff := cmp.Diff(acrossFiles(sum.Events), got, cmpopts.IgnoreFields(triage.LogEvent{}, "Log")); diff != "" {
		t.Errorf("ErrorLog differs from ReadFiles (-files +sp_readerrorlog):\n%s", diff)
	}
	counts := map[string]int{}
	for _, e := range got {
		if e.ID != triage.Msg7412 || e.Login != `NT AUTHORITY\ANONYMOUS LOGON` {
			t.Errorf("event %d for %q (linked server %q); want 7412 for ANONYMOUS LOGON", e.ID, e.Login, e.Linked)
		}
		counts[e.Linked] += e.Count
	}
	if want := map[string]int{"SQLHOST02": 2, "SQLHOST03": 1}; !cmp.Equal(counts, want) {
		t.Errorf("7412s per linked server = %v, want %v", counts, want)
	}
}

// TestErrorLogLinkedServer7413: sp_readerrorlog's reader keeps a front end's 7413 as
// ERRORLOG's does, with the linked server it names, and keeps one whose name is no
// sysname by its header alone.
func TestErrorLogLinkedServer7413(t *testing.T) {
	const text = `Could not connect to linked server '%s' (OLE DB Provider 'MSOLEDBSQL'). Enable delegation or use a remote SQL Server login for the current user.`
	tests := []struct {
		name, linked string
		want         string // the linked server read; "" when the name is refused
	}{
		{"plain", "SQLHOST02", "SQLHOST02"},
		{"an instance", `SQLBE\SALES`, `SQLBE\SALES`},
		{"a bidi override", "SQL\u202eHOST", ""},
		{"a zero-width space", "SQL\u200bHOST", ""},
		{"longer than sysname", strings.Repeat("S", 129), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs := [][]tdsfake.LogRow{rows(t,
				"2026-11-25 08:00:00.00|Server|"+banner,
				"2026-11-25 08:00:00.10|Server|"+utcAdjust,
				"2026-11-25 09:00:00.00|spid55|Error: 7413, Severity: 16, State: 1.",
				"2026-11-25 09:00:00.00|spid55|"+fmt.Sprintf(text, tt.linked),
			)}
			sum, got, _ := readBoth(t, logs, 24*time.Hour)
			if diff := cmp.Diff(acrossFiles(sum.Events), got, cmpopts.IgnoreFields(triage.LogEvent{}, "Log")); diff != "" {
				t.Errorf("ErrorLog differs from ReadFiles (-files +sp_readerrorlog):\n%s", diff)
			}
			if len(got) != 1 || got[0].ID != triage.Msg7413 || got[0].Linked != tt.want || got[0].Count != 1 {
				t.Fatalf("events %+v; want one 7413 naming linked server %q", got, tt.want)
			}
		})
	}
}
