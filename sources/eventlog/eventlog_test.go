package eventlog_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/authtriage/authtriage/internal/safefile"
	"github.com/authtriage/authtriage/internal/safefile/safefiletest"
	"github.com/authtriage/authtriage/sources/eventlog"
	"github.com/authtriage/authtriage/triage"
)

const spn = "MSSQLSvc/sqlhost01.corp.example:1433"

// logEvent returns an event-log LogEvent with State -1, changed by f.
func logEvent(f func(*triage.LogEvent)) triage.LogEvent {
	e := triage.LogEvent{Source: triage.SourceEventlog, State: -1}
	f(&e)
	return e
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// ignoreText leaves the long message texts to TestReadText.
var ignoreText = cmpopts.IgnoreFields(triage.LogEvent{}, "Text")

func TestReadFile(t *testing.T) {
	// The groups of testdata/system-rendered.xml in the default window: the last 24 hours
	// before its newest event (a Time-Service event at 10:30), which leaves out the
	// Kerberos event of the day before.
	kerberos := "Microsoft-Windows-Security-Kerberos"
	systemGroups := []triage.LogEvent{
		logEvent(func(e *triage.LogEvent) {
			e.Log, e.Provider, e.ID, e.Code, e.SPN = "System", kerberos, 3, "0x7", spn
			e.Count, e.First, e.Last = 3, at("2026-05-14T09:12:33.4567891Z"), at("2026-05-14T10:05:47.1Z")
		}),
		logEvent(func(e *triage.LogEvent) {
			e.Log, e.Provider, e.ID, e.Code = "System", "NETLOGON", 5719, "0xc000005e"
			e.Count, e.First, e.Last = 2, at("2026-05-14T09:14:03Z"), at("2026-05-14T10:06:01Z")
		}),
		logEvent(func(e *triage.LogEvent) {
			e.Log, e.Provider, e.ID, e.Code = "System", kerberos, 200, "0x80090311"
			e.Count, e.First, e.Last = 1, at("2026-05-14T09:14:05.1111111Z"), at("2026-05-14T09:14:05.1111111Z")
		}),
		logEvent(func(e *triage.LogEvent) {
			e.Log, e.Provider, e.ID, e.Code, e.SPN = "System", "LsaSrv", 40960, "0xc000005e", "cifs/dc01.corp.example"
			e.Count, e.First, e.Last = 1, at("2026-05-14T09:20:41.2222222Z"), at("2026-05-14T09:20:41.2222222Z")
		}),
		logEvent(func(e *triage.LogEvent) {
			e.Log, e.Provider, e.ID, e.Code, e.SPN = "System", kerberos, 3, "0x19", "krbtgt/CORP.EXAMPLE"
			e.Count, e.First, e.Last = 1, at("2026-05-14T09:41:00Z"), at("2026-05-14T09:41:00Z")
		}),
		logEvent(func(e *triage.LogEvent) {
			e.Log, e.Provider, e.ID, e.Code, e.SPN = "System", kerberos, 4, "0x29", spn
			e.Count, e.First, e.Last = 2, at("2026-05-14T09:52:18.3333333Z"), at("2026-05-14T10:11:30Z")
		}),
	}

	tests := []struct {
		name string
		path string
		opt  eventlog.Options
		want eventlog.Summary
	}{
		{
			name: "System log with message texts: Kerberos 3 and 4, 0x80090311, NETLOGON 5719, LsaSrv 40960",
			path: "testdata/system-rendered.xml",
			want: eventlog.Summary{
				Events: systemGroups,
				From:   at("2026-05-13T10:30:00Z"), To: at("2026-05-14T10:30:00Z"),
				Total: 13,
			},
		},
		{
			name: "domain controller's System log without message texts: KDC 11, named and positional data",
			path: "testdata/system-dc.xml",
			want: eventlog.Summary{
				Events: []triage.LogEvent{
					logEvent(func(e *triage.LogEvent) {
						e.Log, e.Provider, e.ID, e.SPN = "System", "Microsoft-Windows-Kerberos-Key-Distribution-Center", 11, spn
						e.Count, e.First, e.Last = 1, at("2026-05-14T11:00:00.5Z"), at("2026-05-14T11:00:00.5Z")
					}),
					logEvent(func(e *triage.LogEvent) {
						e.Log, e.Provider, e.ID, e.Code, e.SPN = "System", kerberos, 3, "0x7", spn
						e.Count, e.First, e.Last = 1, at("2026-05-14T11:01:10Z"), at("2026-05-14T11:01:10Z")
					}),
					logEvent(func(e *triage.LogEvent) {
						e.Log, e.Provider, e.ID, e.Code, e.SPN = "System", kerberos, 4, "0x29", spn
						e.Count, e.First, e.Last = 1, at("2026-05-14T11:02:20Z"), at("2026-05-14T11:02:20Z")
					}),
					logEvent(func(e *triage.LogEvent) {
						e.Log, e.Provider, e.ID, e.Code = "System", "NETLOGON", 5721, "0xc0000022"
						e.Count, e.First, e.Last = 1, at("2026-05-14T11:03:30Z"), at("2026-05-14T11:03:30Z")
					}),
					logEvent(func(e *triage.LogEvent) {
						e.Log, e.Provider, e.ID, e.Code, e.SPN = "Microsoft-Windows-Kerberos/Operational", kerberos, 101, "0x8", spn
						e.Count, e.First, e.Last = 1, at("2026-05-14T11:04:40Z"), at("2026-05-14T11:04:40Z")
					}),
					logEvent(func(e *triage.LogEvent) {
						e.Log, e.Provider, e.ID, e.Code = "System", kerberos, 9, "0x80090304"
						e.Count, e.First, e.Last = 1, at("2026-05-14T11:05:50Z"), at("2026-05-14T11:05:50Z")
					}),
				},
				From: at("2026-05-13T11:07:00Z"), To: at("2026-05-14T11:07:00Z"),
				Total: 8,
			},
		},
		{
			name: "Application log in UTF-16LE with BOM: SQL Server 17806, 18452, 18456, 26067, 17830",
			path: "testdata/application-rendered-utf16.xml",
			want: eventlog.Summary{
				Events: []triage.LogEvent{
					logEvent(func(e *triage.LogEvent) {
						e.Log, e.Provider, e.ID, e.Code, e.State = "Application", "MSSQLSERVER", 17806, "0x80090311", 14
						e.Reason = "AcceptSecurityContext failed. The Windows error code indicates the cause of failure. No authority could be contacted for authentication."
						e.Count, e.First, e.Last = 2, at("2026-05-14T09:12:34.1Z"), at("2026-05-14T09:15:00Z")
						e.Clients = []string{"10.20.30.41", "10.20.30.42"}
					}),
					logEvent(func(e *triage.LogEvent) {
						e.Log, e.Provider, e.ID = "Application", "MSSQLSERVER", 18452
						e.Count, e.First, e.Last = 2, at("2026-05-14T09:12:34.2Z"), at("2026-05-14T09:15:00.1Z")
						e.Clients = []string{"10.20.30.41", "10.20.30.42"}
					}),
					logEvent(func(e *triage.LogEvent) {
						e.Log, e.Provider, e.ID, e.Login = "Application", "MSSQLSERVER", 18456, `CORP\bob`
						e.Reason = "Could not find a login matching the name provided."
						e.Count, e.First, e.Last = 3, at("2026-05-14T09:30:00Z"), at("2026-05-14T10:02:00Z")
						e.Clients = []string{"10.20.30.50", "10.20.30.51"}
					}),
					logEvent(func(e *triage.LogEvent) {
						e.Log, e.Provider, e.ID, e.Code, e.State = "Application", "MSSQL$SQLEXPRESS", 26067, "0x2098", 15
						e.SPN = "MSSQLSvc/sqlhost01.corp.example:SQLEXPRESS"
						e.Count, e.First, e.Last = 1, at("2026-05-14T09:45:00Z"), at("2026-05-14T09:45:00Z")
					}),
					logEvent(func(e *triage.LogEvent) {
						e.Log, e.Provider, e.ID, e.Code, e.Millis = "Application", "MSSQLSERVER", 17830, "0x2746", 15000
						e.Count, e.First, e.Last = 1, at("2026-05-14T09:50:00Z"), at("2026-05-14T09:50:00Z")
						e.Clients = []string{"10.20.30.41"}
					}),
				},
				From: at("2026-05-13T10:02:00Z"), To: at("2026-05-14T10:02:00Z"),
				Total: 11,
			},
		},
		{
			name: "Application log in an <Events> root without message texts",
			path: "testdata/application-events-root.xml",
			want: eventlog.Summary{
				Events: []triage.LogEvent{
					logEvent(func(e *triage.LogEvent) {
						e.Log, e.Provider, e.ID, e.Login = "Application", "MSSQLSERVER", 18456, "sa"
						e.Reason = "Password did not match that for the login provided."
						e.Count, e.First, e.Last = 1, at("2026-05-14T12:00:00Z"), at("2026-05-14T12:00:00Z")
						e.Clients = []string{"10.0.2.17"}
					}),
					logEvent(func(e *triage.LogEvent) {
						e.Log, e.Provider, e.ID, e.Login = "Application", "MSSQLSERVER", 18456, `CORP\o'brien`
						e.Reason = "Token-based server access validation failed with an infrastructure error. Check for previous errors."
						e.Count, e.First, e.Last = 1, at("2026-05-14T12:00:05Z"), at("2026-05-14T12:00:05Z")
						e.Clients = []string{"<local machine>"}
					}),
					logEvent(func(e *triage.LogEvent) {
						e.Log, e.Provider, e.ID = "Application", "MSSQLSERVER", 18452
						e.Count, e.First, e.Last = 1, at("2026-05-14T12:01:00Z"), at("2026-05-14T12:01:00Z")
						e.Clients = []string{"10.20.30.41"}
					}),
					logEvent(func(e *triage.LogEvent) {
						e.Log, e.Provider, e.ID, e.Code, e.State = "Application", "MSSQLSERVER", 17806, "0x80090304", 14
						e.Reason = "AcceptSecurityContext failed. The Windows error code indicates the cause of failure. The Local Security Authority cannot be contacted"
						e.Count, e.First, e.Last = 1, at("2026-05-14T12:01:00.5Z"), at("2026-05-14T12:01:00.5Z")
						e.Clients = []string{"10.20.30.41"}
					}),
				},
				From: at("2026-05-13T12:02:00Z"), To: at("2026-05-14T12:02:00Z"),
				Total: 5,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eventlog.ReadFile(t.Context(), tt.path, tt.opt)
			if err != nil {
				t.Fatalf("ReadFile(%q) error: %v", tt.path, err)
			}
			if diff := cmp.Diff(tt.want, got, ignoreText); diff != "" {
				t.Errorf("ReadFile(%q) mismatch (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}

func TestReadText(t *testing.T) {
	tests := []struct {
		name string
		path string
		id   int
		want string
	}{
		{
			name: "rendered message, white space made single spaces",
			path: "testdata/system-rendered.xml",
			id:   5719,
			want: "This computer was not able to set up a secure session with a domain controller in domain CORP due to the following: " +
				"There are currently no logon servers available to service the logon request. This may lead to authentication problems. " +
				"Make sure that this computer is connected to the network. If the problem persists, please contact your domain administrator. " +
				"ADDITIONAL INFO If this computer is a domain controller for the specified domain, it sets up the secure session to the primary " +
				"domain controller emulator in the specified domain. Otherwise, this computer sets up the secure session to any domain controller " +
				"in the specified domain.",
		},
		{
			name: "no message: data values joined with semicolons",
			path: "testdata/system-dc.xml",
			id:   11,
			want: spn + "; %%1",
		},
		{
			name: "no message: SQL Server's 18456 rebuilt from its insertion strings",
			path: "testdata/application-events-root.xml",
			id:   18456,
			want: "Login failed for user 'sa'. Reason: Password did not match that for the login provided. [CLIENT: 10.0.2.17]",
		},
		{
			name: "no message: SQL Server's 18452 rebuilt",
			path: "testdata/application-events-root.xml",
			id:   18452,
			want: "Login failed. The login is from an untrusted domain and cannot be used with Windows authentication. [CLIENT: 10.20.30.41]",
		},
		{
			name: "rendered message of the first entry of a group, from UTF-16",
			path: "testdata/application-rendered-utf16.xml",
			id:   18452,
			want: "Login failed. The login is from an untrusted domain and cannot be used with Windows authentication. [CLIENT: 10.20.30.41]",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := eventlog.ReadFile(t.Context(), tt.path, eventlog.Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range s.Events {
				if e.ID == tt.id {
					if diff := cmp.Diff(tt.want, e.Text); diff != "" {
						t.Errorf("Text of %d mismatch (-want +got):\n%s", tt.id, diff)
					}
					return
				}
			}
			t.Errorf("no event %d in %s", tt.id, tt.path)
		})
	}
}

func TestReadTextIsCapped(t *testing.T) {
	long := strings.Repeat("é", 2000) // two bytes each: the cut must not split one
	in := kerberos3("2026-05-14T09:00:00Z", "0x7", spn, long)
	s, err := eventlog.Read(t.Context(), strings.NewReader(in), "long.xml", eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Events) != 1 {
		t.Fatalf("got %d events, want 1", len(s.Events))
	}
	text := s.Events[0].Text
	if len(text) > 1003 || !strings.HasSuffix(text, "...") || !strings.Contains(text, "é") || strings.ContainsRune(text, '\uFFFD') {
		t.Errorf("Text is %d bytes, want at most 1000 plus \"...\", cut on a character boundary: %q...", len(text), text[:40])
	}
}

func TestReadWindow(t *testing.T) {
	type group struct {
		ID          int
		Code        string
		Count       int
		First, Last time.Time
	}
	tests := []struct {
		name     string
		opt      eventlog.Options
		from, to time.Time
		want     []group
	}{
		{
			name: "default: 24 hours up to the newest event, of any provider",
			from: at("2026-05-13T10:30:00Z"), to: at("2026-05-14T10:30:00Z"),
			want: []group{
				{3, "0x7", 3, at("2026-05-14T09:12:33.4567891Z"), at("2026-05-14T10:05:47.1Z")},
				{5719, "0xc000005e", 2, at("2026-05-14T09:14:03Z"), at("2026-05-14T10:06:01Z")},
				{200, "0x80090311", 1, at("2026-05-14T09:14:05.1111111Z"), at("2026-05-14T09:14:05.1111111Z")},
				{40960, "0xc000005e", 1, at("2026-05-14T09:20:41.2222222Z"), at("2026-05-14T09:20:41.2222222Z")},
				{3, "0x19", 1, at("2026-05-14T09:41:00Z"), at("2026-05-14T09:41:00Z")},
				{4, "0x29", 2, at("2026-05-14T09:52:18.3333333Z"), at("2026-05-14T10:11:30Z")},
			},
		},
		{
			name: "48 hours reach the day before",
			opt:  eventlog.Options{Since: 48 * time.Hour},
			from: at("2026-05-12T10:30:00Z"), to: at("2026-05-14T10:30:00Z"),
			want: []group{
				{3, "0x7", 4, at("2026-05-13T07:55:02.1234567Z"), at("2026-05-14T10:05:47.1Z")},
				{5719, "0xc000005e", 2, at("2026-05-14T09:14:03Z"), at("2026-05-14T10:06:01Z")},
				{200, "0x80090311", 1, at("2026-05-14T09:14:05.1111111Z"), at("2026-05-14T09:14:05.1111111Z")},
				{40960, "0xc000005e", 1, at("2026-05-14T09:20:41.2222222Z"), at("2026-05-14T09:20:41.2222222Z")},
				{3, "0x19", 1, at("2026-05-14T09:41:00Z"), at("2026-05-14T09:41:00Z")},
				{4, "0x29", 2, at("2026-05-14T09:52:18.3333333Z"), at("2026-05-14T10:11:30Z")},
			},
		},
		{
			name: "one hour before a given end; both ends are included",
			opt:  eventlog.Options{Since: time.Hour, End: at("2026-05-14T10:14:03Z")},
			from: at("2026-05-14T09:14:03Z"), to: at("2026-05-14T10:14:03Z"),
			want: []group{
				{5719, "0xc000005e", 2, at("2026-05-14T09:14:03Z"), at("2026-05-14T10:06:01Z")},
				{200, "0x80090311", 1, at("2026-05-14T09:14:05.1111111Z"), at("2026-05-14T09:14:05.1111111Z")},
				{40960, "0xc000005e", 1, at("2026-05-14T09:20:41.2222222Z"), at("2026-05-14T09:20:41.2222222Z")},
				{3, "0x7", 2, at("2026-05-14T09:40:12.7654321Z"), at("2026-05-14T10:05:47.1Z")},
				{3, "0x19", 1, at("2026-05-14T09:41:00Z"), at("2026-05-14T09:41:00Z")},
				{4, "0x29", 2, at("2026-05-14T09:52:18.3333333Z"), at("2026-05-14T10:11:30Z")},
			},
		},
		{
			name: "an end given in another time zone",
			opt:  eventlog.Options{Since: 10 * time.Minute, End: at("2026-05-14T11:50:00+02:00")},
			from: at("2026-05-14T09:40:00Z"), to: at("2026-05-14T09:50:00Z"),
			want: []group{
				{3, "0x7", 1, at("2026-05-14T09:40:12.7654321Z"), at("2026-05-14T09:40:12.7654321Z")},
				{3, "0x19", 1, at("2026-05-14T09:41:00Z"), at("2026-05-14T09:41:00Z")},
			},
		},
		{
			name: "a window before the export holds nothing",
			opt:  eventlog.Options{End: at("2026-01-01T00:00:00Z")},
			from: at("2025-12-31T00:00:00Z"), to: at("2026-01-01T00:00:00Z"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := eventlog.ReadFile(t.Context(), "testdata/system-rendered.xml", tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			var got []group
			for _, e := range s.Events {
				got = append(got, group{e.ID, e.Code, e.Count, e.First, e.Last})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("groups mismatch (-want +got):\n%s", diff)
			}
			if !s.From.Equal(tt.from) || !s.To.Equal(tt.to) {
				t.Errorf("window = [%v, %v], want [%v, %v]", s.From, s.To, tt.from, tt.to)
			}
			if s.Total != 13 {
				t.Errorf("Total = %d, want 13: events outside the window are counted too", s.Total)
			}
		})
	}
}

// TestReadLongExport reads an export much longer than its window, in both the orders
// wevtutil writes: oldest first (the default), where entries held while the window's
// end is open are dropped as newer events push them out of it, and newest first
// (/rd:true).
func TestReadLongExport(t *testing.T) {
	start := at("2026-05-01T00:00:00Z")
	const n = 12000 // one event a minute for 8 days and more, alternating Kerberos 3 and NETLOGON 5719
	event := func(i int) string {
		ts := start.Add(time.Duration(i) * time.Minute).Format(time.RFC3339Nano)
		if i%2 == 0 {
			return kerberos3(ts, "0x7", spn, "")
		}
		return netlogon5719(ts)
	}
	var oldestFirst, newestFirst strings.Builder
	for i := range n {
		oldestFirst.WriteString(event(i) + "\r\n")
		newestFirst.WriteString(event(n-1-i) + "\r\n")
	}
	newest := start.Add((n - 1) * time.Minute) // a NETLOGON event
	kerberos := logEvent(func(e *triage.LogEvent) {
		e.Log, e.Provider, e.ID, e.Code, e.SPN = "System", "Microsoft-Windows-Security-Kerberos", 3, "0x7", spn
		e.Count, e.First, e.Last = 60, newest.Add(-119*time.Minute), newest.Add(-time.Minute)
	})
	netlogon := logEvent(func(e *triage.LogEvent) {
		e.Log, e.Provider, e.ID = "System", "NETLOGON", 5719
		e.Count, e.First, e.Last = 61, newest.Add(-120*time.Minute), newest
	})
	tests := []struct {
		name string
		in   string
		want []triage.LogEvent // in the order of their first entry in the input
	}{
		{"oldest first", oldestFirst.String(), []triage.LogEvent{netlogon, kerberos}},
		{"newest first", newestFirst.String(), []triage.LogEvent{netlogon, kerberos}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := eventlog.Read(t.Context(), strings.NewReader(tt.in), "system.xml", eventlog.Options{Since: 2 * time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, s.Events, ignoreText); diff != "" {
				t.Errorf("events mismatch (-want +got):\n%s", diff)
			}
			if s.Total != n {
				t.Errorf("Total = %d, want %d", s.Total, n)
			}
		})
	}
}

func TestReadEncodings(t *testing.T) {
	utf8Doc := `<?xml version="1.0" encoding="UTF-16"?>` + "\r\n<Events>" + kerberos3("2026-05-14T09:00:00Z", "0x7", spn, "Error Code: 0x7 KDC_ERR_S_PRINCIPAL_UNKNOWN") + "</Events>"
	want, err := eventlog.Read(t.Context(), strings.NewReader(utf8Doc), "system.xml", eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Events) != 1 {
		t.Fatalf("the UTF-8 document gives %d events, want 1", len(want.Events))
	}
	tests := []struct {
		name string
		in   []byte
	}{
		{"UTF-8 with BOM", append([]byte{0xEF, 0xBB, 0xBF}, utf8Doc...)},
		{"UTF-16LE with BOM", append([]byte{0xFF, 0xFE}, utf16Bytes(utf8Doc, false)...)},
		{"UTF-16LE without BOM", utf16Bytes(utf8Doc, false)},
		{"UTF-16BE with BOM", append([]byte{0xFE, 0xFF}, utf16Bytes(utf8Doc, true)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eventlog.Read(t.Context(), bytes.NewReader(tt.in), "system.xml", eventlog.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("mismatch with the UTF-8 read (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadOddCharacters reads characters XML does not allow and bytes that are not
// UTF-8 as U+FFFD instead of giving up on the export.
func TestReadOddCharacters(t *testing.T) {
	in := kerberos3("2026-05-14T09:00:00Z", "0x7", spn, "bad\x01control and \xff\xfe bytes")
	s, err := eventlog.Read(t.Context(), strings.NewReader(in), "system.xml", eventlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Events) != 1 || s.Events[0].Text != "bad\uFFFDcontrol and \uFFFD\uFFFD bytes" {
		t.Errorf("got %+v, want one event with U+FFFD for the odd characters", s.Events)
	}
}

func TestReadRefuses(t *testing.T) {
	evtx, err := os.ReadFile("testdata/system.evtx")
	if err != nil {
		t.Fatal(err)
	}
	hint := "wevtutil qe System /f:xml > system.xml"
	tests := []struct {
		name string
		in   []byte
		want []string // in the error, after the input's name
	}{
		{"binary .evtx", evtx, []string{"binary event log (.evtx)", hint, "/f:RenderedXml", "wevtutil qe input /lf:true"}},
		{"Event Viewer CSV", []byte("Level,Date and Time,Source,Event ID,Task Category\r\nError,5/14/2026 9:12:33 AM,Kerberos,3,None,x\r\n"), []string{"not a Windows event export", hint}},
		{"PowerShell Export-Clixml", []byte(`<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj RefId="0"/></Objs>`), []string{"not a Windows event export", "<Objs>", hint}},
		{"HTML", []byte("<!DOCTYPE html>\n<html><body>Event Viewer</body></html>"), []string{"not a Windows event export", "<html>", hint}},
		{"binary garbage", []byte{0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00, 0x08, 0x00, 0x00, 0x00, 0x21, 0x00}, []string{"not a Windows event export", hint}},
		{"XML that is not well-formed", []byte("<Event><System></Event>"), []string{"not well-formed XML"}},
		{"a megabyte of text", bytes.Repeat([]byte("event "), 200000), []string{"not a Windows event export", hint}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := eventlog.Read(t.Context(), bytes.NewReader(tt.in), "input", eventlog.Options{})
			if err == nil {
				t.Fatalf("Read returned no error and %+v", s)
			}
			if !strings.HasPrefix(err.Error(), "input: ") {
				t.Errorf("error %q does not start with the input's name", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if s.Total != 0 || len(s.Events) != 0 {
				t.Errorf("Summary = %+v, want none", s)
			}
		})
	}
}

func TestReadFileErrors(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "system.xml")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want string
		is   error
	}{
		{"evtx file: the hint names the file", "testdata/system.evtx", "testdata/system.evtx: this is a binary event log (.evtx), not an XML export; export the log as XML with: wevtutil qe System /f:xml > system.xml (or /f:RenderedXml to keep the message texts; use Application for SQL Server's events); or convert this file with: wevtutil qe system.evtx /lf:true /f:RenderedXml > system.xml", nil},
		{"CSV file", "testdata/system.csv", "testdata/system.csv: not a Windows event export (it starts with text, not <Event> or <Events>); export the log as XML with: wevtutil qe System /f:xml > system.xml (or /f:RenderedXml to keep the message texts; use Application for SQL Server's events)", nil},
		{"missing file", "testdata/no-such-file.xml", "read event export: open testdata/no-such-file.xml: no such file or directory", fs.ErrNotExist},
		{"directory", "testdata", "read event export: testdata is not a regular file (a directory)", safefile.ErrNotRegular},
		{"empty file", empty, empty + ": the export holds no events, so it shows nothing about any time; export the log as XML with: wevtutil qe System /f:xml > system.xml (or /f:RenderedXml to keep the message texts; use Application for SQL Server's events)", eventlog.ErrNoEvents},
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		tests = append(tests, struct {
			name string
			path string
			want string
			is   error
		}{"endless device", "/dev/zero", "read event export: /dev/zero is not a regular file (a device)", safefile.ErrNotRegular})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := eventlog.ReadFile(t.Context(), tt.path, eventlog.Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error mismatch (-want +got):\n%s", diff)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.is)
			}
		})
	}
}

// TestReadFileFIFO checks that a FIFO is refused at once, not read when a writer comes.
func TestReadFileFIFO(t *testing.T) {
	fifo := safefiletest.FIFO(t)
	_, err := eventlog.ReadFile(t.Context(), fifo, eventlog.Options{})
	if want := "read event export: " + fifo + " is not a regular file (a FIFO)"; err == nil || err.Error() != want {
		t.Fatalf("ReadFile(FIFO) error = %v; want %q", err, want)
	}
}

// TestReadKeepsEventsBeforeAProblem checks that a read that stops part way returns
// the events before the problem, with an error that says where it stopped.
func TestReadKeepsEventsBeforeAProblem(t *testing.T) {
	first := kerberos3("2026-05-14T09:00:00Z", "0x7", spn, "")
	huge := strings.Replace(netlogon5719("2026-05-14T09:05:00Z"), "<Data>CORP</Data>", "<Data>"+strings.Repeat("x", 2<<20)+"</Data>", 1)
	nearlyHuge := strings.Replace(netlogon5719("2026-05-14T09:05:00Z"), "<Data>CORP</Data>", "<Data>"+strings.Repeat("x", 1<<20-2000)+"</Data>", 1)
	truncatedFile, err := os.ReadFile("testdata/system-truncated.xml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		in       string
		wantErr  string // "" for none
		total    int
		wantIDs  []int
		wantLast time.Time
	}{
		{
			name:    "wevtutil export cut off in its fifth event",
			in:      string(truncatedFile),
			wantErr: "x.xml: the export is truncated in event 5 (line 38); events read before it: 4",
			total:   4, wantIDs: []int{3, 5719}, wantLast: at("2026-05-14T09:14:03Z"),
		},
		{
			name:    "<Events> root without its end",
			in:      "<Events>\r\n" + first + "\r\n",
			wantErr: "x.xml: the export is truncated after event 1 (no closing </Events>)",
			total:   1, wantIDs: []int{3}, wantLast: at("2026-05-14T09:00:00Z"),
		},
		{
			name:    "an event larger than 1 MiB",
			in:      first + "\r\n" + huge + "\r\n" + first,
			wantErr: "x.xml: event 2 (line 2) is larger than 1 MiB; events read before it: 1",
			total:   1, wantIDs: []int{3}, wantLast: at("2026-05-14T09:00:00Z"),
		},
		{
			name:  "an event of almost 1 MiB is read",
			in:    first + "\r\n" + nearlyHuge,
			total: 2, wantIDs: []int{3, 5719}, wantLast: at("2026-05-14T09:05:00Z"),
		},
		{
			name:    "text between events",
			in:      first + "\r\nThe command completed successfully.\r\n" + first,
			wantErr: "x.xml: unexpected text after event 1 (line 2)",
			total:   1, wantIDs: []int{3}, wantLast: at("2026-05-14T09:00:00Z"),
		},
		{
			name:    "an event that is not well-formed",
			in:      first + "\r\n" + strings.Replace(first, "</System>", "</Sistem>", 1),
			wantErr: "x.xml: event 2 (line 2) is not well-formed XML: element <System> closed by </Sistem> at line 2; events read before it: 1",
			total:   1, wantIDs: []int{3}, wantLast: at("2026-05-14T09:00:00Z"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := eventlog.Read(t.Context(), strings.NewReader(tt.in), "x.xml", eventlog.Options{})
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("error = %q, want %q", gotErr, tt.wantErr)
			}
			var ids []int
			for _, e := range s.Events {
				ids = append(ids, e.ID)
			}
			if diff := cmp.Diff(tt.wantIDs, ids); diff != "" {
				t.Errorf("event IDs mismatch (-want +got):\n%s", diff)
			}
			if s.Total != tt.total || !s.To.Equal(tt.wantLast) {
				t.Errorf("Total, To = %d, %v; want %d, %v", s.Total, s.To, tt.total, tt.wantLast)
			}
		})
	}
}

func TestReadEmpty(t *testing.T) {
	for _, in := range []string{"", "\r\n", "\xFF\xFE", `<?xml version="1.0" encoding="UTF-16"?><Events></Events>`, "<Events/>"} {
		s, err := eventlog.Read(t.Context(), strings.NewReader(in), "empty.xml", eventlog.Options{})
		if !errors.Is(err, eventlog.ErrNoEvents) || !strings.HasPrefix(err.Error(), "empty.xml: the export holds no events") {
			t.Errorf("Read(%q) error: %v; want ErrNoEvents", in, err)
		}
		if diff := cmp.Diff(eventlog.Summary{}, s, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("Read(%q) mismatch (-want +got):\n%s", in, diff)
		}
	}
}

func TestReadCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	f, err := os.Open("testdata/system-rendered.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, err = eventlog.Read(ctx, f, "testdata/system-rendered.xml", eventlog.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if !strings.HasPrefix(err.Error(), "testdata/system-rendered.xml: ") {
		t.Errorf("error %q does not start with the path", err)
	}
}

// kerberos3 returns a Kerberos event 3 as wevtutil /f:RenderedXml writes it; an empty
// message leaves out the rendering.
func kerberos3(ts, code, server, message string) string {
	var render string
	if message != "" {
		render = "<RenderingInfo Culture='en-US'><Message>" + xmlText(message) + "</Message><Level>Error</Level></RenderingInfo>"
	}
	return fmt.Sprintf("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"+
		"<Provider Name='Microsoft-Windows-Security-Kerberos' Guid='{98e6cfcb-ee0a-41e0-a57b-622d4e1b30b1}' EventSourceName='Kerberos'/>"+
		"<EventID Qualifiers='32768'>3</EventID><Level>2</Level><TimeCreated SystemTime='%s'/><Channel>System</Channel>"+
		"<Computer>sqlhost01.corp.example</Computer></System><EventData><Data Name='ErrorCode'>%s</Data>"+
		"<Data Name='ServerName'>%s</Data></EventData>%s</Event>", ts, code, server, render)
}

// netlogon5719 returns a NETLOGON event 5719 as wevtutil /f:xml writes it.
func netlogon5719(ts string) string {
	return "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='NETLOGON'/>" +
		"<EventID Qualifiers='49152'>5719</EventID><Level>2</Level><TimeCreated SystemTime='" + ts + "'/>" +
		"<Channel>System</Channel><Computer>sqlhost01.corp.example</Computer></System>" +
		"<EventData><Data>CORP</Data><Data>%%1311</Data></EventData></Event>"
}

func xmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func utf16Bytes(s string, bigEndian bool) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return b
}
