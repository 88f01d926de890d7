package sqlserver

import (
	"testing"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// FuzzLogReader checks that the reading of sp_readerrorlog rows never panics and never
// counts more entries than rows, nor more in its trend than in its events.
func FuzzLogReader(f *testing.F) {
	f.Add("Error: 18456, Severity: 14, State: 8.", "Login failed for user 'CORP\\x'. Reason: x [CLIENT: 10.0.0.1]", "Logon", uint8(0))
	f.Add("Error: 17806, Severity: 20, State: 14.", "SSPI handshake failed with error code 0x8009030c, state 14 [CLIENT: 10.0.0.7]", "Logon", uint8(1))
	f.Add("Error: 18452, Severity: 14, State: 1.", "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication.", "Logon", uint8(0))
	f.Add("Microsoft SQL Server 2022 (RTM)", "The SQL Server Network Interface library could not register the Service Principal Name (SPN) [ MSSQLSvc/x:1433 ] for the SQL Server service. Windows return code: 0x2098, state: 15.", "Server", uint8(3))
	f.Add("Error: 26067, Severity: 16, State: 1.", "", "", uint8(9))
	f.Fuzz(func(t *testing.T, a, b, proc string, gap uint8) {
		base := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
		later := base.Add(time.Duration(gap) * time.Second)
		rows := []logRow{
			{base, proc, a}, {base, proc, b}, {later, proc, a}, {base, "Logon", b},
			{later, "Logon", a}, {later, proc, b}, {base.Add(-2 * time.Hour), proc, a}, {base, proc, b},
		}
		r := newLogReader(base.Add(-time.Hour), base.Add(time.Hour))
		for range 2 { // two logs
			r.startLog()
			for _, row := range rows {
				r.add(row)
			}
			r.endLog()
		}
		total := 0
		for _, ev := range r.events() {
			total += ev.Count
			if ev.Count < 1 || ev.First.After(ev.Last) {
				t.Errorf("event %+v: bad count or times", ev)
			}
		}
		if total > 2*len(rows) {
			t.Errorf("%d entries counted from %d rows", total, 2*len(rows))
		}
		trended := 0
		if tr := r.counts(); tr != nil {
			if err := tr.Validate(); err != nil {
				t.Errorf("trend: %v", err)
			}
			for _, id := range triage.TrendErrors() {
				for _, n := range tr.Counts(id) {
					trended += n
				}
			}
		}
		if trended > total || (trended == 0) != (r.counts() == nil) {
			t.Errorf("trend counts %d entries (nil: %t); the events count %d", trended, r.counts() == nil, total)
		}
	})
}
