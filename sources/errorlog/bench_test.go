package errorlog

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// synthLog returns a Windows error log of about size bytes: a start-up whose SPN
// messages come after more than 64 KiB of database start-ups, then an entry every
// few seconds, mostly ordinary, with a 17806 and 18452 pair now and then.
func synthLog(size int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	var b strings.Builder
	b.Grow(size / 2)
	t := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	entry := func(proc, text string) {
		fmt.Fprintf(&b, "%s.%02d %-12s%s\n", t.Format(time.DateTime), t.Nanosecond()/1e7, proc, text)
	}
	entry("Server", "Microsoft SQL Server 2022 (RTM-CU12) (KB5033663) - 16.0.4115.5 (X64) \n\tMar  4 2024 08:56:10 \n\tCopyright (C) 2022 Microsoft Corporation\n")
	entry("Server", "UTC adjustment: -5:00")
	entry("Server", "The service account is 'CORP\\svc_sql'. This is an informational message; no user action is required.")
	for i := range 600 {
		t = t.Add(10 * time.Millisecond)
		entry("spid34s", fmt.Sprintf("Starting up database 'tenant%04d'.", i))
	}
	entry("Server", "SQL Server is attempting to register a Service Principal Name (SPN) for the SQL Server service. Kerberos authentication will not be possible until a SPN is registered for the SQL Server service. This is an informational message. No user action is required.")
	entry("Server", "The SQL Server Network Interface library could not register the Service Principal Name (SPN) [ MSSQLSvc/sqlbench01.corp.example:1433 ] for the SQL Server service. Windows return code: 0x2098, state: 15. Failure to register a SPN might cause integrated authentication to use NTLM instead of Kerberos. This is an informational message. Further action is only required if Kerberos authentication is required by authentication policies and if the SPN has not been manually registered.")
	for b.Len()*2 < size {
		t = t.Add(time.Duration(rng.IntN(1000)) * 10 * time.Millisecond)
		spid := fmt.Sprintf("spid%d", 51+rng.IntN(80))
		switch k := rng.IntN(200); {
		case k == 0:
			client := fmt.Sprintf("10.20.30.%d", rng.IntN(60))
			entry("Logon", "Error: 17806, Severity: 20, State: 14.")
			entry("Logon", "SSPI handshake failed with error code 0x80090311, state 14 while establishing a connection with integrated security; the connection has been closed. Reason: AcceptSecurityContext failed. The Windows error code indicates the cause of failure. No authority could be contacted for authentication.  [CLIENT: "+client+"]")
			entry("Logon", "Error: 18452, Severity: 14, State: 1.")
			entry("Logon", "Login failed. The login is from an untrusted domain and cannot be used with Windows authentication. [CLIENT: "+client+"]")
		case k == 1:
			entry("Backup", "Error: 3041, Severity: 16, State: 1.")
			entry("Backup", "BACKUP failed to complete the command BACKUP LOG SalesDB. Check the backup application log for detailed messages.")
		case k < 100:
			entry("Backup", fmt.Sprintf("Log was backed up. Database: SalesDB, creation date(time): 2024/03/11(09:14:22), first LSN: %d:5678:1, last LSN: %d:5690:1, number of dump devices: 1, device information: (FILE=1, TYPE=DISK: {'X:\\Backup\\SalesDB_LOG.trn'}). This is an informational message only. No user action is required.", k, k))
		default:
			entry(spid, "Using 'xpstar.dll' version '2022.160.1000' to execute extended stored procedure 'xp_instance_regread'. This is an informational message only; no user action is required.")
		}
	}
	return windowsLog(b.String())
}

// BenchmarkRead measures a scan of the whole of a 64 MiB log, and a read of its last
// hour, reporting the bytes each reads. Compare the full scan's MB/s with ripgrep on
// the same kind of file (scripts/bench-errorlog.sh does, on 1 GiB).
func BenchmarkRead(b *testing.B) {
	data := synthLog(64<<20, 1)
	for _, bm := range []struct {
		name  string
		since time.Duration
		full  bool // the whole file is scanned, so MB/s is the scan's speed
	}{
		{"full", 1000000 * time.Hour, true},
		{"tail-1h", time.Hour, false},
	} {
		b.Run(bm.name, func(b *testing.B) {
			if bm.full {
				b.SetBytes(int64(len(data)))
			}
			var sum Summary
			for b.Loop() {
				var err error
				sum, err = Read(b.Context(), bytes.NewReader(data), int64(len(data)), "ERRORLOG", Options{Since: bm.since})
				if err != nil {
					b.Fatal(err)
				}
			}
			if len(sum.Events) == 0 {
				b.Fatal("no events")
			}
			b.ReportMetric(float64(sum.Bytes), "bytes-read/op")
		})
	}
}
