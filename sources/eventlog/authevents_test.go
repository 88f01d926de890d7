package eventlog_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/sources/eventlog"
	"github.com/authtriage/authtriage/triage"
)

// TestReadAuthEvents reads exports of the events that tell a broken secure channel, an
// unreachable domain controller and a failed Kerberos request apart: what each keeps
// (code, server or SPN, log) is what the diagnosis classifies them by.
func TestReadAuthEvents(t *testing.T) {
	kerberos := "Microsoft-Windows-Security-Kerberos"
	operational := "Microsoft-Windows-Kerberos/Operational"
	// group is one event's group.
	group := func(log, provider string, id int, code, spn, time string) triage.LogEvent {
		return logEvent(func(e *triage.LogEvent) {
			e.Log, e.Provider, e.ID, e.Code, e.SPN = log, provider, id, code, spn
			e.Count, e.First, e.Last = 1, at(time), at(time)
		})
	}
	tests := []struct {
		name string
		path string
		want []triage.LogEvent
	}{
		{
			name: "System log of a SQL Server host: NETLOGON 3210, 5721, 5719 with 0xC00000E5, LsaSrv 40960 and 40961 with their servers, Kerberos 4 and 3",
			path: "testdata/system-secure-channel.xml",
			want: []triage.LogEvent{
				group("System", "NETLOGON", 3210, "0xc0000022", "", "2026-05-20T08:00:05.1Z"),
				group("System", "NETLOGON", 5721, "0xc0000022", "", "2026-05-20T08:00:06.2Z"),
				group("System", "NETLOGON", 5719, "0xc00000e5", "", "2026-05-20T08:00:07.3Z"),
				group("System", "LsaSrv", 40960, "0xc000005e", "krbtgt/CORP.EXAMPLE", "2026-05-20T08:01:00Z"),
				group("System", "LsaSrv", 40960, "0xc000018b", spn, "2026-05-20T08:02:00Z"),
				group("System", "LsaSrv", 40960, "0xc000018b", "MSSQLSvc/sqlhost02.corp.example:1433", "2026-05-20T08:02:30Z"),
				group("System", "LsaSrv", 40961, "", spn, "2026-05-20T08:03:00Z"),
				group("System", kerberos, 4, "0x29", spn, "2026-05-20T08:04:00Z"),
				group("System", kerberos, 3, "0x24", spn, "2026-05-20T08:05:00Z"),
			},
		},
		{
			name: "an export of the Kerberos Operational log (no message texts) is read like System: 100 and 101 with their SPN and ErrorCode",
			path: "testdata/kerberos-operational.xml",
			want: []triage.LogEvent{
				group(operational, kerberos, 100, "0x7", spn, "2026-05-20T09:00:00Z"),
				group(operational, kerberos, 101, "0x80090302", spn, "2026-05-20T09:01:00Z"),
				group(operational, kerberos, 100, "0x7", "HTTP/web01.corp.example", "2026-05-20T09:02:00Z"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eventlog.ReadFile(t.Context(), tt.path, eventlog.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Events, ignoreText); diff != "" {
				t.Errorf("ReadFile(%q) mismatch (-want +got):\n%s", tt.path, diff)
			}
		})
	}
}
