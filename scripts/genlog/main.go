// Command genlog writes a synthetic SQL Server ERRORLOG for benchmarks: UTF-16LE with
// a byte-order mark and CRLF line ends, as SQL Server writes it on Windows. It starts
// with a start-up banner (with a "UTC adjustment" line and a failed SPN registration,
// 26076 and 26067), then mostly ordinary entries (backups, database and spid
// messages, the odd unrelated error) with a sprinkling of authentication failures:
// 17806 followed by 18452, and 18456 with several states. The output depends only on
// the flags, so benchmarks compare like with like.
//
// Usage:
//
//	go run ./scripts/genlog -size 1GiB -o ERRORLOG
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "genlog:", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("genlog", flag.ContinueOnError)
	fs.SetOutput(stderr)
	sizeFlag := fs.String("size", "1GiB", "approximate size of the log: bytes, or with a KiB, MiB or GiB suffix")
	out := fs.String("o", "ERRORLOG", "file to write")
	seed := fs.Uint64("seed", 1, "seed of the pseudo-random choices")
	start := fs.String("start", "2025-05-01T00:00:00", "local time of the start-up at the top of the log")
	if err := fs.Parse(args); err != nil {
		return err
	}
	size, err := parseSize(*sizeFlag)
	if err != nil {
		return err
	}
	t0, err := time.Parse("2006-01-02T15:04:05", *start)
	if err != nil {
		return fmt.Errorf("bad -start: %w", err)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	g := newGenerator(f, *seed, t0)
	if err := g.write(size); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", *out, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "genlog: wrote %s: %d bytes, %d entries, %d 17806 failures, %s to %s (local)\n",
		*out, g.written, g.entries, g.sspi, t0.Format(time.DateTime), g.now().Format(time.DateTime))
	return nil
}

// parseSize parses "1GiB", "64MiB", "512KiB" or a plain number of bytes.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q: want bytes, or a number with KiB, MiB or GiB", s)
	}
	return n * mult, nil
}

// A generator writes entries with timestamps that move forward by a random step.
type generator struct {
	w       *bufio.Writer
	rng     *rand.Rand
	day     time.Time // midnight of the current day
	cs      int64     // centiseconds since midnight
	line    []byte    // the line being built, ASCII
	wide    []byte    // the line encoded as UTF-16LE
	written int64
	entries int
	sspi    int
}

func newGenerator(w io.Writer, seed uint64, t0 time.Time) *generator {
	day := time.Date(t0.Year(), t0.Month(), t0.Day(), 0, 0, 0, 0, time.UTC)
	return &generator{
		w:   bufio.NewWriterSize(w, 1<<20),
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		day: day,
		cs:  int64(t0.Sub(day) / (10 * time.Millisecond)),
	}
}

func (g *generator) now() time.Time {
	return g.day.Add(time.Duration(g.cs) * 10 * time.Millisecond)
}

// step moves the clock on by up to 1.2 seconds: about 4 million entries, a month
// of a busy server, in 1 GiB.
func (g *generator) step() {
	g.cs += g.rng.Int64N(121)
	for g.cs >= 24*3600*100 {
		g.cs -= 24 * 3600 * 100
		g.day = g.day.AddDate(0, 0, 1)
	}
}

// entry writes one line: the timestamp, the process info padded to 12 columns, the
// text pieces.
func (g *generator) entry(proc string, text ...string) {
	b := g.day.AppendFormat(g.line[:0], "2006-01-02 ")
	h, m, s, c := g.cs/360000, g.cs/6000%60, g.cs/100%60, g.cs%100
	for _, v := range [...]int64{h, m, s} {
		b = append(b, byte('0'+v/10), byte('0'+v%10), ':')
	}
	b[len(b)-1] = '.'
	b = append(b, byte('0'+c/10), byte('0'+c%10), ' ')
	b = append(b, proc...)
	for i := len(proc); i < 12; i++ {
		b = append(b, ' ')
	}
	for _, t := range text {
		b = append(b, t...)
	}
	g.raw(append(b, '\r', '\n'))
	g.entries++
}

// raw writes ASCII text as UTF-16LE.
func (g *generator) raw(b []byte) {
	w := g.wide[:0]
	for _, c := range b {
		w = append(w, c, 0)
	}
	g.wide, g.line = w, b
	g.w.Write(w) // errors stick in the bufio.Writer and come back from Flush
	g.written += int64(len(w))
}

var (
	databases = []string{"SalesDB", "HR", "Inventory", "Finance", "Reporting", "Staging", "CRM", "Audit"}
	logins    = []string{`CORP\alice`, `CORP\bob`, `CORP\svc_etl`, `CORP\svc_report`, "app_user", "sa"}
	reasons   = map[int]string{
		8:  "Password did not match that for the login provided.",
		38: "Failed to open the explicitly specified database 'Reporting'.",
		11: "Login-based server access validation failed with an infrastructure error. Check for previous errors.",
	}
	states = []int{8, 38, 11}
	codes  = []string{"0x80090311", "0x80090311", "0x80090304"}
)

func (g *generator) client() string {
	return "10.20." + strconv.Itoa(30+g.rng.IntN(4)) + "." + strconv.Itoa(10+g.rng.IntN(40))
}

func (g *generator) spid() string {
	return "spid" + strconv.Itoa(51+g.rng.IntN(80))
}

func (g *generator) write(size int64) error {
	if _, err := g.w.Write([]byte{0xFF, 0xFE}); err != nil {
		return err
	}
	g.written += 2
	g.banner()
	for g.written < size {
		g.step()
		db := databases[g.rng.IntN(len(databases))]
		n := strconv.Itoa(g.rng.IntN(90000) + 100)
		switch k := g.rng.IntN(1000); {
		case k < 2:
			code := codes[g.rng.IntN(len(codes))]
			c := g.client()
			g.entry("Logon", "Error: 17806, Severity: 20, State: 14.")
			g.entry("Logon", "SSPI handshake failed with error code ", code, ", state 14 while establishing a connection with integrated security; the connection has been closed. Reason: AcceptSecurityContext failed. The Windows error code indicates the cause of failure. The logon attempt failed   [CLIENT: ", c, "]")
			g.entry("Logon", "Error: 18452, Severity: 14, State: 1.")
			g.entry("Logon", "Login failed. The login is from an untrusted domain and cannot be used with Windows authentication. [CLIENT: ", c, "]")
			g.sspi++
		case k < 3:
			st := states[g.rng.IntN(len(states))]
			g.entry("Logon", "Error: 18456, Severity: 14, State: ", strconv.Itoa(st), ".")
			g.entry("Logon", "Login failed for user '", logins[g.rng.IntN(len(logins))], "'. Reason: ", reasons[st], " [CLIENT: ", g.client(), "]")
		case k < 5:
			g.entry("Backup", "Error: 3041, Severity: 16, State: 1.")
			g.entry("Backup", "BACKUP failed to complete the command BACKUP LOG ", db, ". Check the backup application log for detailed messages.")
		case k < 400:
			g.entry("Backup", "Log was backed up. Database: ", db, ", creation date(time): 2024/03/11(09:14:22), first LSN: ", n, ":5678:1, last LSN: ", n, ":5690:1, number of dump devices: 1, device information: (FILE=1, TYPE=DISK: {'X:\\Backup\\", db, "_LOG.trn'}). This is an informational message only. No user action is required.")
		case k < 500:
			g.entry("Backup", "BACKUP DATABASE successfully processed ", n, " pages in 1.", n[:2], " seconds (35.", n[:3], " MB/sec).")
		case k < 650:
			g.entry(g.spid(), "Setting database option RECOVERY to FULL for database '", db, "'.")
		case k < 800:
			g.entry(g.spid()+"s", "CHECKDB for database '", db, "' finished without errors on 2025-04-27 22:00:01.230 (local time). This is an informational message only; no user action is required.")
		case k < 900:
			g.entry(g.spid(), "Using 'xpstar.dll' version '2022.160.1000' to execute extended stored procedure 'xp_instance_regread'. This is an informational message only; no user action is required.")
		case k < 950:
			g.entry(g.spid()+"s", "SQL Server has encountered 1 occurrence(s) of I/O requests taking longer than 15 seconds to complete on file [D:\\Data\\", db, ".mdf] in database id ", n[:1], ". The OS file handle is 0x0000000000000E1C.  The offset of the latest long I/O is: 0x0000", n, "0000")
		default:
			g.entry(g.spid()+"s", "Starting up database '", db, "'.")
		}
	}
	return g.w.Flush()
}

// banner writes the start-up SQL Server 2022 writes at the top of a new log.
func (g *generator) banner() {
	s := "Server"
	g.entry(s, "Microsoft SQL Server 2022 (RTM-CU12) (KB5033663) - 16.0.4115.5 (X64) ")
	for _, l := range []string{"\tMar  4 2024 08:56:10 ", "\tCopyright (C) 2022 Microsoft Corporation", "\tEnterprise Edition: Core-based Licensing (64-bit) on Windows Server 2022 Standard 10.0 <X64> (Build 20348: ) (Hypervisor)", ""} {
		g.raw(append([]byte(l), '\r', '\n'))
	}
	for _, t := range []string{
		"UTC adjustment: -5:00",
		"(c) Microsoft Corporation.",
		"All rights reserved.",
		"Server process ID is 4120.",
		"System Manufacturer: 'VMware, Inc.', System Model: 'VMware7,1'.",
		"Authentication mode is MIXED.",
		"Logging SQL Server messages in file 'E:\\MSSQL16.MSSQLSERVER\\MSSQL\\Log\\ERRORLOG'.",
		"The service account is 'CORP\\svc_sql'. This is an informational message; no user action is required.",
	} {
		g.entry(s, t)
	}
	g.entry(s, "Registry startup parameters: ")
	for _, l := range []string{"\t -d E:\\MSSQL16.MSSQLSERVER\\MSSQL\\DATA\\master.mdf", "\t -e E:\\MSSQL16.MSSQLSERVER\\MSSQL\\Log\\ERRORLOG", "\t -l E:\\MSSQL16.MSSQLSERVER\\MSSQL\\DATA\\mastlog.ldf"} {
		g.raw(append([]byte(l), '\r', '\n'))
	}
	g.entry(s, "Command Line Startup Parameters:")
	g.raw([]byte("\t -s \"MSSQLSERVER\"\r\n"))
	g.step()
	g.entry(s, "SQL Server is starting at normal priority base (=7). This is an informational message only. No user action is required.")
	g.entry(s, "Detected 65535 MB of RAM. This is an informational message; no user action is required.")
	for _, db := range append([]string{"master", "mssqlsystemresource", "model", "msdb", "tempdb"}, databases...) {
		g.step()
		g.entry("spid34s", "Starting up database '", db, "'.")
	}
	g.entry(s, "Server is listening on [ 'any' <ipv4> 1433].")
	g.entry(s, "SQL Server is attempting to register a Service Principal Name (SPN) for the SQL Server service. Kerberos authentication will not be possible until a SPN is registered for the SQL Server service. This is an informational message. No user action is required.")
	g.entry("spid43s", "SQL Server is now ready for client connections. This is an informational message; no user action is required.")
	g.entry(s, "The SQL Server Network Interface library could not register the Service Principal Name (SPN) [ MSSQLSvc/sqlbench01.corp.example:1433 ] for the SQL Server service. Windows return code: 0x2098, state: 15. Failure to register a SPN might cause integrated authentication to use NTLM instead of Kerberos. This is an informational message. Further action is only required if Kerberos authentication is required by authentication policies and if the SPN has not been manually registered.")
}
