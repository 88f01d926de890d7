package errorlog

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/authtriage/authtriage/triage"
)

var (
	plus4  = time.FixedZone("UTC+04:00", 4*3600)
	minus5 = time.FixedZone("UTC-05:00", -5*3600)
)

// ignoreText leaves the long message texts out of comparisons; TestReadText checks one.
var ignoreText = cmpopts.IgnoreFields(triage.LogEvent{}, "Text")

func TestReadRealLogs(t *testing.T) {
	tests := []struct {
		file     string
		spn      string
		account  string
		instance string
		auth     string
		started  time.Time
	}{
		{
			file: "ERRORLOG-sql2022-named-instance", spn: "MSSQLSvc/DESKTOP-8M1JA4S:MSSQLSERVER03",
			account: `NT Service\MSSQL$MSSQLSERVER03`, instance: "MSSQLSERVER03", auth: "WINDOWS-ONLY",
			started: time.Date(2025, 6, 1, 9, 27, 56, 850e6, plus4),
		},
		{
			file: "ERRORLOG-sql2022-default-instance", spn: "MSSQLSvc/Codeline2025",
			account: `NT Service\MSSQLSERVER`, instance: "MSSQLSERVER", auth: "MIXED",
			started: time.Date(2025, 6, 1, 9, 22, 44, 690e6, plus4),
		},
		{
			file: "ERRORLOG-sql2022-desktop", spn: "MSSQLSvc/DESKTOP-IENUKCJ",
			account: `NT Service\MSSQLSERVER`, instance: "MSSQLSERVER", auth: "WINDOWS-ONLY",
			started: time.Date(2025, 6, 2, 11, 58, 40, 810e6, plus4),
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			sum := readBytes(t, testdataFile(t, tt.file), "ERRORLOG", Options{})
			if got := len(find(sum.Events, triage.Msg26076)); got != 1 {
				t.Errorf("got %d groups of 26076; want 1", got)
			}
			failed := find(sum.Events, triage.Msg26067)
			if len(failed) != 1 {
				t.Fatalf("got %d groups of 26067; want 1: %+v", len(failed), sum.Events)
			}
			got := failed[0]
			want := event("ERRORLOG", triage.Msg26067, 63, 1, got.First, got.First, func(e *triage.LogEvent) {
				e.SPN, e.Code = tt.spn, "0xffffffff"
			})
			if diff := cmp.Diff(want, got, ignoreText); diff != "" {
				t.Errorf("26067 (-want +got):\n%s", diff)
			}
			if got.First.Sub(tt.started) > time.Minute || got.First.Before(tt.started) {
				t.Errorf("26067 written at %v; want within a minute of the start-up at %v", got.First, tt.started)
			}
			wantServer := &triage.ServerInfo{StartedAt: tt.started, ServiceAccount: tt.account, Instance: tt.instance, AuthMode: tt.auth}
			if diff := cmp.Diff(wantServer, sum.Server, cmpopts.IgnoreFields(triage.ServerInfo{}, "Version")); diff != "" {
				t.Errorf("Server (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(sum.Server.Version, "Microsoft SQL Server 2022 (RTM") {
				t.Errorf("Server.Version = %q; want the banner's first line", sum.Server.Version)
			}
			if got, want := sum.To.Sub(sum.From), 24*time.Hour; got != want {
				t.Errorf("window %v to %v is %v long; want %v", sum.From, sum.To, got, want)
			}
			if n := int64(len(testdataFile(t, tt.file))); sum.Bytes != n {
				t.Errorf("Bytes = %d; want the file's size %d, read once", sum.Bytes, n)
			}
		})
	}
}

// The named instance's start-up is a day and an hour before its last entry: its
// 26067 lies outside the default window but describes the running process.
func TestReadStartupOlderThanWindow(t *testing.T) {
	sum := readBytes(t, testdataFile(t, "ERRORLOG-sql2022-named-instance"), "ERRORLOG", Options{})
	failed := find(sum.Events, triage.Msg26067)
	if len(failed) != 1 {
		t.Fatalf("got %d groups of 26067; want 1", len(failed))
	}
	if !failed[0].First.Before(sum.From) {
		t.Fatalf("26067 at %v is inside the window from %v; the test needs it outside", failed[0].First, sum.From)
	}
	if want := time.Date(2025, 6, 2, 10, 28, 56, 170e6, plus4); !sum.To.Equal(want) {
		t.Errorf("To = %v; want the newest entry, %v", sum.To, want)
	}
}

func TestReadFailures(t *testing.T) {
	at := func(day, h, m, s, cs int) time.Time { return time.Date(2025, 6, day, h, m, s, cs*1e7, minus5) }
	spn := func(name string) triage.LogEvent {
		return event("ERRORLOG", triage.Msg26059, -1, 1, at(1, 9, 0, 1, 52), at(1, 9, 0, 1, 52), func(e *triage.LogEvent) { e.SPN = name })
	}
	noAuthority := "AcceptSecurityContext failed. The Windows error code indicates the cause of failure. No authority could be contacted for authentication."
	lsa := "AcceptSecurityContext failed. The Windows error code indicates the cause of failure. The Local Security Authority cannot be contacted"
	sspi11 := event("ERRORLOG", triage.Msg17806, 14, 3, at(2, 8, 15, 1, 11), at(2, 8, 20, 0, 50), func(e *triage.LogEvent) {
		e.Code, e.Reason, e.Clients = "0x80090311", noAuthority, []string{"10.20.30.41", "10.20.30.42", "10.20.30.43"}
	})
	// Each 18452 carries the code of the 17806 written with it.
	untrusted11 := event("ERRORLOG", triage.Msg18452, 1, 3, at(2, 8, 15, 1, 11), at(2, 8, 20, 0, 50), func(e *triage.LogEvent) {
		e.Code, e.Clients = "0x80090311", []string{"10.20.30.41", "10.20.30.42", "10.20.30.43"}
	})
	untrusted04 := event("ERRORLOG", triage.Msg18452, 1, 2, at(2, 8, 40, 10, 1), at(2, 8, 41, 15, 77), func(e *triage.LogEvent) {
		e.Code, e.Clients = "0x80090304", []string{"10.20.30.44"}
	})
	sspi04 := event("ERRORLOG", triage.Msg17806, 14, 2, at(2, 8, 40, 10, 1), at(2, 8, 41, 15, 77), func(e *triage.LogEvent) {
		e.Code, e.Reason, e.Clients = "0x80090304", lsa, []string{"10.20.30.44"}
	})
	timers := event("ERRORLOG", triage.Msg17830, 11, 2, at(2, 8, 41, 20, 0), at(2, 8, 42, 20, 0), func(e *triage.LogEvent) {
		e.Code, e.Millis, e.Clients = "0x2746", 5012, []string{"10.9.8.7"}
	})
	login := func(state, count int, first time.Time, user, reason string, clients ...string) triage.LogEvent {
		return event("ERRORLOG", triage.Msg18456, state, count, first, first, func(e *triage.LogEvent) {
			e.Login, e.Reason, e.Clients = user, reason, clients
		})
	}
	password := "Password did not match that for the login provided."
	pw := login(8, 3, at(1, 12, 0, 0, 0), "sa", password, "10.1.1.4", "10.1.1.5")
	pw.Last = at(2, 8, 55, 0, 0)
	pwLastHour := login(8, 2, at(2, 8, 50, 0, 10), "sa", password, "10.1.1.5")
	pwLastHour.Last = at(2, 8, 55, 0, 0)
	db := login(38, 1, at(2, 8, 50, 0, 10), `CORP\app`, "Failed to open the explicitly specified database 'Reporting'.", "10.1.1.6")
	infra := login(11, 1, at(2, 8, 51, 0, 20), `CORP\bob`, "Login-based server access validation failed with an infrastructure error. Check for previous errors.", "10.1.1.7")

	tests := []struct {
		name     string
		opt      Options
		want     []triage.LogEvent
		from, to time.Time
	}{
		{
			name: "default window of 24 hours to the newest entry",
			want: []triage.LogEvent{spn("MSSQLSvc/sqlhost01.corp.example:SALES"), spn("MSSQLSvc/sqlhost01.corp.example:50123"),
				pw, sspi11, untrusted11, sspi04, untrusted04, timers, db, infra},
			from: at(1, 9, 0, 0, 0), to: at(2, 9, 0, 0, 0),
		},
		{
			name: "the last hour leaves the older failures out, not the start-up's SPN messages",
			opt:  Options{Since: time.Hour},
			want: []triage.LogEvent{spn("MSSQLSvc/sqlhost01.corp.example:SALES"), spn("MSSQLSvc/sqlhost01.corp.example:50123"),
				sspi11, untrusted11, sspi04, untrusted04, timers, pwLastHour, db, infra},
			from: at(2, 8, 0, 0, 0), to: at(2, 9, 0, 0, 0),
		},
		{
			name: "an end before the last failures",
			opt:  Options{Since: 10 * time.Minute, End: at(2, 8, 25, 0, 0)},
			want: []triage.LogEvent{spn("MSSQLSvc/sqlhost01.corp.example:SALES"), spn("MSSQLSvc/sqlhost01.corp.example:50123"),
				sspi11, untrusted11},
			from: at(2, 8, 15, 0, 0), to: at(2, 8, 25, 0, 0),
		},
	}
	data := windowsLog(scenario(t, "failures.txt"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := readBytes(t, data, "ERRORLOG", tt.opt)
			if diff := cmp.Diff(tt.want, sum.Events, ignoreText); diff != "" {
				t.Errorf("Events (-want +got):\n%s", diff)
			}
			if !sum.From.Equal(tt.from) || !sum.To.Equal(tt.to) {
				t.Errorf("window = %v to %v; want %v to %v", sum.From, sum.To, tt.from, tt.to)
			}
			want := &triage.ServerInfo{
				StartedAt: at(1, 9, 0, 0, 10), Version: "Microsoft SQL Server 2019 (RTM-CU22) (KB5027702) - 15.0.4322.2 (X64)",
				ServiceAccount: `CORP\svc_sql`, AuthMode: "MIXED", Instance: "SALES",
			}
			if diff := cmp.Diff(want, sum.Server); diff != "" {
				t.Errorf("Server (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadText(t *testing.T) {
	sum := readBytes(t, windowsLog(scenario(t, "failures.txt")), "ERRORLOG", Options{Since: time.Hour})
	sspi := find(sum.Events, triage.Msg17806)
	want := "SSPI handshake failed with error code 0x80090311, state 14 while establishing a connection with integrated security; the connection has been closed. Reason: AcceptSecurityContext failed. The Windows error code indicates the cause of failure. No authority could be contacted for authentication.  [CLIENT: 10.20.30.41]"
	if len(sspi) == 0 || sspi[0].Text != want {
		t.Errorf("Text of the first 17806 = %q; want %q", sspi[0].Text, want)
	}
}

// The same log in every encoding SQL Server uses reads the same.
func TestReadEncodings(t *testing.T) {
	text := scenario(t, "failures.txt")
	want := readBytes(t, windowsLog(text), "ERRORLOG", Options{})
	tests := []struct {
		name      string
		enc       encoding
		bom, crlf bool
	}{
		{"UTF-16LE without BOM", encUTF16LE, false, true},
		{"UTF-16LE with LF", encUTF16LE, true, false},
		{"UTF-16BE with BOM", encUTF16BE, true, true},
		{"UTF-8 with BOM", encUTF8, true, true},
		{"UTF-8 LF", encUTF8, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := encodeLog(text, tt.enc, tt.bom, tt.crlf)
			got := readBytes(t, data, "ERRORLOG", Options{})
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Summary{}, "Bytes")); diff != "" {
				t.Errorf("(-UTF-16LE +%s):\n%s", tt.name, diff)
			}
		})
	}
}

func TestReadLinux(t *testing.T) {
	data := testdataFile(t, "linux.txt") // as SQL Server on Linux writes it: UTF-8, LF
	sum := readBytes(t, data, "errorlog", Options{})
	at := func(h, m, s, cs int) time.Time { return time.Date(2025, 6, 3, h, m, s, cs*1e7, time.UTC) }
	want := []triage.LogEvent{
		event("errorlog", triage.Msg26076, -1, 1, at(14, 2, 12, 60), at(14, 2, 12, 60), nil),
		event("errorlog", triage.Msg26067, 15, 1, at(14, 2, 12, 61), at(14, 2, 12, 61), func(e *triage.LogEvent) {
			e.SPN, e.Code = "MSSQLSvc/sqllinux01.corp.example:1433", "0x2098"
		}),
		event("errorlog", triage.Msg17806, 14, 1, at(14, 30, 0, 0), at(14, 30, 0, 0), func(e *triage.LogEvent) {
			e.Code, e.Clients = "0x80090302", []string{"10.1.1.9"}
			e.Reason = "AcceptSecurityContext failed. The operating system error code indicates the cause of failure. The function requested is not supported"
		}),
		event("errorlog", triage.Msg18452, 1, 1, at(14, 30, 0, 0), at(14, 30, 0, 0), func(e *triage.LogEvent) { e.Code, e.Clients = "0x80090302", []string{"10.1.1.9"} }),
	}
	if diff := cmp.Diff(want, sum.Events, ignoreText); diff != "" {
		t.Errorf("Events (-want +got):\n%s", diff)
	}
	wantServer := &triage.ServerInfo{StartedAt: at(14, 2, 11, 12), Version: "Microsoft SQL Server 2022 (RTM-CU14) (KB5038325) - 16.0.4135.4 (X64)"}
	if diff := cmp.Diff(wantServer, sum.Server); diff != "" {
		t.Errorf("Server (-want +got):\n%s", diff)
	}
}

func TestReadFilesRollover(t *testing.T) {
	dir := writeLogs(t, map[string]string{
		"ERRORLOG":   "rollover/ERRORLOG.txt",
		"ERRORLOG.1": "rollover/ERRORLOG.1.txt",
		"ERRORLOG.2": "rollover/ERRORLOG.2.txt",
	})
	path := func(name string) string { return filepath.Join(dir, name) }
	at := func(m time.Month, day, h int) time.Time { return time.Date(2025, m, day, h, 0, 0, 0, minus5) }
	sspi := func(log string, when time.Time, client string) triage.LogEvent {
		return event(log, triage.Msg17806, 14, 1, when, when, func(e *triage.LogEvent) {
			e.Code, e.Clients = "0x80090311", []string{client}
			e.Reason = "AcceptSecurityContext failed. The Windows error code indicates the cause of failure. No authority could be contacted for authentication."
		})
	}
	registered := event("ERRORLOG", triage.Msg26059, -1, 1, at(6, 2, 6).Add(time.Second), at(6, 2, 6).Add(time.Second), func(e *triage.LogEvent) {
		e.SPN = "MSSQLSvc/sqlhost02.corp.example:1433"
	})
	tests := []struct {
		name  string
		paths []string
		opt   Options
		want  []triage.LogEvent
		files []string
	}{
		{
			name:  "the window spans ERRORLOG and ERRORLOG.1; ERRORLOG.2 is older and not read",
			paths: []string{path("ERRORLOG")},
			want:  []triage.LogEvent{sspi("ERRORLOG.1", at(6, 1, 20), "10.0.0.1"), registered, sspi("ERRORLOG", at(6, 2, 8), "10.0.0.2")},
			files: []string{path("ERRORLOG"), path("ERRORLOG.1")},
		},
		{
			name:  "a short window needs only ERRORLOG",
			paths: []string{path("ERRORLOG")},
			opt:   Options{Since: 2 * time.Hour},
			want:  []triage.LogEvent{registered, sspi("ERRORLOG", at(6, 2, 8), "10.0.0.2")},
			files: []string{path("ERRORLOG")},
		},
		{
			name:  "paths given twice are read once",
			paths: []string{path("ERRORLOG"), path("ERRORLOG.1"), filepath.Join(dir, ".", "ERRORLOG")},
			want:  []triage.LogEvent{sspi("ERRORLOG.1", at(6, 1, 20), "10.0.0.1"), registered, sspi("ERRORLOG", at(6, 2, 8), "10.0.0.2")},
			files: []string{path("ERRORLOG"), path("ERRORLOG.1")},
		},
		{
			name:  "a numbered file given alone is read alone",
			paths: []string{path("ERRORLOG.2")},
			want:  []triage.LogEvent{sspi("ERRORLOG.2", at(5, 25, 11), "10.0.0.9")},
			files: []string{path("ERRORLOG.2")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, err := ReadFiles(t.Context(), tt.paths, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, sum.Events, ignoreText); diff != "" {
				t.Errorf("Events (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.files, sum.Files); diff != "" {
				t.Errorf("Files (-want +got):\n%s", diff)
			}
		})
	}
}

// A log cycled by sp_cycle_errorlog repeats the banner but is no start-up: the facts
// and SPN messages of the running process are in the file before it.
func TestReadFilesCycled(t *testing.T) {
	dir := writeLogs(t, map[string]string{"ERRORLOG": "cycled/ERRORLOG.txt", "ERRORLOG.1": "cycled/ERRORLOG.1.txt"})
	sum, err := ReadFiles(t.Context(), []string{filepath.Join(dir, "ERRORLOG")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	started := time.Date(2025, 5, 29, 9, 0, 0, 0, minus5)
	spnAt := started.Add(2 * time.Second)
	noon := time.Date(2025, 6, 1, 12, 0, 0, 0, minus5)
	want := []triage.LogEvent{
		event("ERRORLOG.1", triage.Msg26076, -1, 1, spnAt, spnAt, nil),
		event("ERRORLOG.1", triage.Msg26067, 63, 1, spnAt, spnAt, func(e *triage.LogEvent) {
			e.SPN, e.Code = "MSSQLSvc/sqlhost03.corp.example:1433", "0xffffffff"
		}),
		event("ERRORLOG", triage.Msg18456, 8, 1, noon, noon, func(e *triage.LogEvent) {
			e.Login, e.Reason, e.Clients = "sa", "Password did not match that for the login provided.", []string{"10.1.1.5"}
		}),
	}
	if diff := cmp.Diff(want, sum.Events, ignoreText); diff != "" {
		t.Errorf("Events (-want +got):\n%s", diff)
	}
	if sum.Server == nil || !sum.Server.StartedAt.Equal(started) || sum.Server.ServiceAccount != `CORP\svc_sql` {
		t.Errorf("Server = %+v; want the start-up of %v", sum.Server, started)
	}
}

func TestReadUTCAdjustment(t *testing.T) {
	const entry = "2025-06-01 10:00:00.00 Logon       Error: 18456, Severity: 14, State: 8.\n" +
		"2025-06-01 10:00:00.00 Logon       Login failed for user 'sa'. Reason: Password did not match that for the login provided. [CLIENT: 10.1.1.5]\n"
	withAdjust := func(adj string) string {
		return "2025-06-01 09:00:00.00 Server      Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64) \n" +
			"2025-06-01 09:00:00.00 Server      UTC adjustment: " + adj + "\n" + entry
	}
	tests := []struct {
		name string
		log  string
		loc  *time.Location
		utc  time.Time // the instant of the 18456
	}{
		{"ahead of UTC", withAdjust("4:00"), nil, time.Date(2025, 6, 1, 6, 0, 0, 0, time.UTC)},
		{"behind UTC", withAdjust("-5:00"), nil, time.Date(2025, 6, 1, 15, 0, 0, 0, time.UTC)},
		{"half hours", withAdjust("5:30"), nil, time.Date(2025, 6, 1, 4, 30, 0, 0, time.UTC)},
		{"the log's adjustment wins over Location", withAdjust("-5:00"), plus4, time.Date(2025, 6, 1, 15, 0, 0, 0, time.UTC)},
		{"no adjustment means UTC", entry, nil, time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)},
		{"no adjustment means Location", entry, plus4, time.Date(2025, 6, 1, 6, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := readBytes(t, windowsLog(tt.log), "ERRORLOG", Options{Location: tt.loc})
			failed := find(sum.Events, triage.Msg18456)
			if len(failed) != 1 {
				t.Fatalf("got %d groups of 18456; want 1", len(failed))
			}
			if got := failed[0].First; !got.Equal(tt.utc) || got.Format("15:04") != "10:00" {
				t.Errorf("18456 at %v; want %v, written as 10:00 local", got, tt.utc)
			}
		})
	}
}

func TestReadErrors(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		opt     Options
		wantErr string
		is      error
	}{
		{
			name: "text that is not a log", data: []byte("hello\nworld\n"),
			wantErr: "sqlhost.log: not a SQL Server error log: first line has no timestamp", is: ErrNotLog,
		},
		{
			name: "binary", data: []byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0x3e, 0},
			wantErr: "sqlhost.log: not a SQL Server error log: first line has no timestamp", is: ErrNotLog,
		},
		{
			name: "a timestamp not at the start", data: windowsLog("\n\n  2025-06-01 09:00:00.00 Server      x\n"),
			wantErr: "sqlhost.log: not a SQL Server error log: first line has no timestamp", is: ErrNotLog,
		},
		{name: "empty file", data: nil, wantErr: "sqlhost.log holds nothing: 0 bytes", is: ErrEmpty},
		{name: "only a byte-order mark", data: []byte{0xFF, 0xFE}, wantErr: "sqlhost.log holds nothing: only a byte-order mark", is: ErrEmpty},
		{name: "only blank lines", data: windowsLog("\n \n\t\n"), wantErr: "sqlhost.log holds nothing: only blank lines", is: ErrEmpty},
		{name: "blank lines with a live window", data: []byte("\n\n"), opt: Options{End: time.Now()}, wantErr: "sqlhost.log holds nothing: only blank lines", is: ErrEmpty},
		{
			name: "negative window", data: windowsLog(scenario(t, "linux.txt")), opt: Options{Since: -time.Hour},
			wantErr: "negative time window -1h0m0s",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(t.Context(), bytes.NewReader(tt.data), int64(len(tt.data)), "sqlhost.log", tt.opt)
			if err == nil || err.Error() != tt.wantErr {
				t.Fatalf("Read() error = %v; want %q", err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}

	t.Run("missing file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "ERRORLOG")
		_, err := ReadFiles(t.Context(), []string{path}, Options{})
		if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadFiles() error = %v; want one that names %s and wraps fs.ErrNotExist", err, path)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		data := testdataFile(t, "ERRORLOG-sql2022-desktop")
		_, err := Read(ctx, bytes.NewReader(data), int64(len(data)), "ERRORLOG", Options{})
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "ERRORLOG") {
			t.Errorf("Read() error = %v; want one that names the file and wraps context.Canceled", err)
		}
	})
}

func TestReadOddInputs(t *testing.T) {
	failures := windowsLog(scenario(t, "failures.txt"))
	lastHour := Options{Since: time.Hour}
	full := readBytes(t, failures, "ERRORLOG", lastHour)
	cut := func(s string) []byte { // failures.txt cut just after the last s
		text := scenario(t, "failures.txt")
		return windowsLog(text[:strings.LastIndex(text, s)+len(s)])
	}
	tests := []struct {
		name string
		data []byte
		opt  Options
		want func(*testing.T, Summary)
	}{
		{
			name: "odd byte count", data: append(bytes.Clone(failures), 'x'), opt: lastHour,
			want: func(t *testing.T, got Summary) {
				if diff := cmp.Diff(full.Events, got.Events); diff != "" {
					t.Errorf("(-without the odd byte +with):\n%s", diff)
				}
			},
		},
		{
			name: "truncated last line", data: cut("Login failed for user 'sa'. Reason: Password did not"), opt: lastHour,
			want: func(t *testing.T, got Summary) {
				n := 0
				for _, e := range find(got.Events, triage.Msg18456) {
					if e.Login == "sa" && e.State == 8 {
						n += e.Count
					}
				}
				if n != 2 {
					t.Errorf("%d failures of sa with state 8; want 2, the last one cut short", n)
				}
			},
		},
		{
			name: "header whose message was never written", data: cut("Error: 18456, Severity: 14, State: 11."), opt: lastHour,
			want: func(t *testing.T, got Summary) {
				var states []int
				for _, e := range find(got.Events, triage.Msg18456) {
					states = append(states, e.State)
				}
				if diff := cmp.Diff([]int{8, 38, 11}, states); diff != "" {
					t.Errorf("18456 states (-want +got):\n%s", diff)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.want(t, readBytes(t, tt.data, "ERRORLOG", tt.opt))
		})
	}
}

// Entries that cross chunk boundaries, headers in one chunk and messages in the next,
// and scans run by many workers read the same as one large chunk.
func TestReadChunkBoundaries(t *testing.T) {
	inputs := map[string][]byte{
		"failures":       windowsLog(scenario(t, "failures.txt")),
		"failures UTF-8": []byte(scenario(t, "failures.txt")),
		"linux":          testdataFile(t, "linux.txt"),
		"named":          testdataFile(t, "ERRORLOG-sql2022-named-instance"),
		"synthetic":      synthLog(2<<20, 1),
	}
	tiny := []tuning{
		{chunk: 2, back: 24 << 10, fwd: 24 << 10, workers: 3},
		{chunk: 100, back: 24 << 10, fwd: 24 << 10, workers: 1},
		{chunk: 4 << 10, back: 24 << 10, fwd: 24 << 10, workers: 2},
	}
	for name, data := range inputs {
		for _, opt := range []Options{{}, {Since: time.Hour}, {Since: 1000000 * time.Hour}} {
			want, err := readOne(t.Context(), bytes.NewReader(data), int64(len(data)), name, opt, defaultTuning())
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Events) == 0 {
				t.Fatalf("%s: no events; the test needs some", name)
			}
			for _, tu := range tiny {
				if tu.chunk < 1000 && len(data) > 100<<10 {
					continue // too slow
				}
				got, err := readOne(t.Context(), bytes.NewReader(data), int64(len(data)), name, opt, tu)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Summary{}, "Bytes")); diff != "" {
					t.Errorf("%s, since %v, chunks of %d (-one chunk +small chunks):\n%s", name, opt.Since, tu.chunk, diff)
				}
			}
		}
	}
}

// A read of the last hour of a large log reads its tail, and its head for the
// start-up, whose SPN messages lie beyond the first 64 KiB.
func TestReadTail(t *testing.T) {
	data := synthLog(16<<20, 1) // about three days
	var calls int
	var last int64
	opt := Options{Since: time.Hour, Progress: func(done, total int64) {
		calls++
		if done < last || done > total {
			t.Errorf("Progress(%d, %d) after %d", done, total, last)
		}
		last = done
	}}
	sum, err := readOne(t.Context(), bytes.NewReader(data), int64(len(data)), "ERRORLOG", opt, tuning{chunk: 64 << 10, back: 24 << 10, fwd: 24 << 10, workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Bytes > int64(len(data))/8 {
		t.Errorf("read %d bytes of %d for the last hour", sum.Bytes, len(data))
	}
	if calls == 0 {
		t.Error("Progress was never called")
	}
	if got := find(sum.Events, triage.Msg26067); len(got) != 1 || got[0].SPN != "MSSQLSvc/sqlbench01.corp.example:1433" {
		t.Errorf("26067 groups = %+v; want the start-up's", got)
	}
	fullSum := readBytes(t, data, "ERRORLOG", Options{Since: 1000000 * time.Hour})
	var tail, full int
	for _, e := range find(sum.Events, triage.Msg17806) {
		tail += e.Count
		if e.First.Before(sum.From) {
			t.Errorf("17806 at %v, before the window from %v", e.First, sum.From)
		}
	}
	for _, e := range find(fullSum.Events, triage.Msg17806) {
		full += e.Count
	}
	if tail == 0 || tail >= full {
		t.Errorf("%d 17806 in the last hour, %d in all; want some, and fewer", tail, full)
	}
}
