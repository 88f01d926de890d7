package errorlog

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

	"github.com/authtriage/authtriage/internal/safefile"
	"github.com/authtriage/authtriage/internal/safefile/safefiletest"
	"github.com/authtriage/authtriage/triage"
)

// logText writes entries as SQL Server does: "2025-11-02 01:30:00.00 Logon       text".
type logText struct{ strings.Builder }

func (l *logText) entry(at time.Time, proc, text string) {
	fmt.Fprintf(l, "%s.%02d %-12s%s\n", at.Format(time.DateTime), at.Nanosecond()/1e7, proc, text)
}

// failure writes an 18456 for login, header and message.
func (l *logText) failure(at time.Time, login string) {
	l.entry(at, "Logon", "Error: 18456, Severity: 14, State: 8.")
	l.entry(at, "Logon", "Login failed for user '"+login+"'. Reason: Password did not match that for the login provided. [CLIENT: 10.0.0.1]")
}

const banner = "Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64)"

// countFailures returns the 18456 entries of sum per login.
func countFailures(sum Summary) map[string]int {
	n := map[string]int{}
	for _, e := range find(sum.Events, triage.Msg18456) {
		n[e.Login] += e.Count
	}
	return n
}

func hasNote(sum Summary, part string) bool {
	return slices.ContainsFunc(sum.Notes, func(n string) bool { return strings.Contains(n, part) })
}

// TestReadClockSetBack: when the clock goes back an hour part way (the end of
// daylight-saving time), entries written later carry earlier times. The window ends
// at the latest time written, not at the last entry's, so the failures written just
// before the change are counted.
func TestReadClockSetBack(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2025, 11, 2, h, m, 0, 0, time.UTC) }
	var l logText
	l.entry(at(0, 0), "Server", banner)
	l.entry(at(0, 0), "Server", "UTC adjustment: -4:00")
	for m := 0; m < 60; m += 10 {
		l.failure(at(1, m), "summer") // 01:00 to 01:50, summer time
	}
	l.entry(at(1, 59), "spid51", "Setting database option RECOVERY to FULL for database 'SalesDB'.")
	for m := 0; m <= 20; m += 10 {
		l.failure(at(1, m), "winter") // 01:00 to 01:20 again, an hour later, winter time
	}
	zone := time.FixedZone("UTC-04:00", -4*3600)
	newest := time.Date(2025, 11, 2, 1, 59, 0, 0, zone)
	tests := []struct {
		name  string
		opt   Options
		want  map[string]int
		to    time.Time
		notes []string
	}{
		{
			name: "a day: every failure",
			want: map[string]int{"summer": 6, "winter": 3}, to: newest,
		},
		{
			name: "an hour: those written at 00:59 to 01:59, before and after the change",
			opt:  Options{Since: time.Hour},
			want: map[string]int{"summer": 6, "winter": 3}, to: newest,
		},
		{
			name: "half an hour: those written at 01:29 to 01:59",
			opt:  Options{Since: 30 * time.Minute},
			want: map[string]int{"summer": 3}, to: newest,
		},
	}
	for _, enc := range []struct {
		name string
		data []byte
	}{{"UTF-16LE", windowsLog(l.String())}, {"UTF-8", []byte(l.String())}} {
		for _, tt := range tests {
			t.Run(enc.name+"/"+tt.name, func(t *testing.T) {
				sum := readBytes(t, enc.data, "ERRORLOG", tt.opt)
				if diff := cmp.Diff(tt.want, countFailures(sum)); diff != "" {
					t.Errorf("18456 per login (-want +got):\n%s", diff)
				}
				if !sum.To.Equal(tt.to) {
					t.Errorf("To = %v; want the latest time written, %v", sum.To, tt.to)
				}
				if !hasNote(sum, "ERRORLOG: the entry written at 2025-11-02 01:59:00 is followed by entries with earlier times, down to the last at 2025-11-02 01:20:00: the clock was set back") {
					t.Errorf("Notes = %q; want one saying the clock went back", sum.Notes)
				}
			})
		}
	}

	// Chunks and blocks small enough that the change falls between them read the same.
	data := windowsLog(l.String())
	for _, opt := range []Options{{}, {Since: time.Hour}, {Since: 30 * time.Minute}} {
		want := readBytes(t, data, "ERRORLOG", opt)
		got, err := readOne(t.Context(), strings.NewReader(string(data)), int64(len(data)), "ERRORLOG", opt, tuning{chunk: 100, back: 24 << 10, fwd: 24 << 10, workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Summary{}, "Bytes")); diff != "" {
			t.Errorf("since %v (-one chunk +small chunks):\n%s", opt.Since, diff)
		}
	}
}

// An entry far later than the rest, a corrupt line or one forged through a name a
// client chose, does not move the window away from the real entries.
func TestReadFutureEntryIgnoredForWindow(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2025, 6, 1, h, m, 0, 0, time.UTC) }
	var l logText
	l.entry(at(9, 0), "Server", banner)
	l.failure(at(9, 10), "before")
	l.entry(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), "Logon", "forged")
	l.failure(at(9, 20), "after")
	sum := readBytes(t, windowsLog(l.String()), "ERRORLOG", Options{Since: time.Hour})
	if want := at(9, 20); !sum.To.Equal(want) {
		t.Errorf("To = %v; want the last entry's time, %v", sum.To, want)
	}
	if diff := cmp.Diff(map[string]int{"before": 1, "after": 1}, countFailures(sum)); diff != "" {
		t.Errorf("18456 per login (-want +got):\n%s", diff)
	}
	if want := []string{"ERRORLOG: the entry written at 2099-01-01 00:00:00 is more than an hour later than the last, at 2025-06-01 09:20:00, and does not count for the window"}; !cmp.Equal(want, sum.Notes) {
		t.Errorf("Notes = %q; want one about the entry of 2099", sum.Notes)
	}
}

// A file whose lines end with CR alone reads as the same file with CR LF.
func TestReadCROnly(t *testing.T) {
	text := scenario(t, "failures.txt")
	want := readBytes(t, windowsLog(text), "ERRORLOG", Options{})
	cr := strings.ReplaceAll(text, "\n", "\r")
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"UTF-16LE with BOM", encodeLog(cr, encUTF16LE, true, false)},
		{"UTF-16BE without BOM", encodeLog(cr, encUTF16BE, false, false)},
		{"UTF-8", []byte(cr)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := readBytes(t, tt.data, "ERRORLOG", Options{})
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Summary{}, "Bytes")); diff != "" {
				t.Errorf("(-CR LF +CR):\n%s", diff)
			}
		})
	}
}

// TestReadCut: a file cut in the middle of an entry keeps its entries and says so; a
// whole one says nothing.
func TestReadCut(t *testing.T) {
	text := scenario(t, "failures.txt")
	whole := readBytes(t, windowsLog(text), "ERRORLOG", Options{})
	if len(whole.Notes) != 0 {
		t.Errorf("Notes of a whole file = %q; want none", whole.Notes)
	}
	cut := text[:strings.LastIndex(text, "Reason: Password did not")]
	for name, data := range map[string][]byte{
		"mid-line":           windowsLog(cut),
		"mid-character":      windowsLog(text)[:len(windowsLog(text))-1],
		"mid-line, CR alone": []byte(strings.ReplaceAll(cut, "\n", "\r")),
	} {
		t.Run(name, func(t *testing.T) {
			sum := readBytes(t, data, "ERRORLOG", Options{})
			if len(sum.Events) == 0 {
				t.Error("no events; want those of the file up to the cut")
			}
			want := []string{"ERRORLOG ends in the middle of a line (cut short, or still being written): its last entry may be incomplete"}
			if diff := cmp.Diff(want, sum.Notes); diff != "" {
				t.Errorf("Notes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadUTCAdjustmentUnreadable(t *testing.T) {
	log := func(adj string) []byte {
		var l logText
		l.entry(time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC), "Server", banner)
		l.entry(time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC), "Server", "UTC adjustment: "+adj)
		l.failure(time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC), "sa")
		return windowsLog(l.String())
	}
	tests := []struct {
		name, adj string
		loc       *time.Location
		note      string // "" for none
		utc       time.Time
	}{
		{name: "readable", adj: "-5:00", utc: time.Date(2025, 6, 1, 15, 0, 0, 0, time.UTC)},
		{
			name: "garbage, read as UTC", adj: "banana",
			note: `ERRORLOG: the line "UTC adjustment: banana" does not give the server's UTC offset; its times are read as UTC, which may not be the server's zone`,
			utc:  time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC),
		},
		{
			name: "out of range, read in the zone given", adj: "25:00", loc: plus4,
			note: `ERRORLOG: the line "UTC adjustment: 25:00" does not give the server's UTC offset; its times are read as UTC+04:00, which may not be the server's zone`,
			utc:  time.Date(2025, 6, 1, 6, 0, 0, 0, time.UTC),
		},
		{
			name: "control characters are quoted", adj: "\x1b[2J-5:00",
			note: `ERRORLOG: the line "UTC adjustment: \x1b[2J-5:00" does not give the server's UTC offset; its times are read as UTC, which may not be the server's zone`,
			utc:  time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := readBytes(t, log(tt.adj), "ERRORLOG", Options{Location: tt.loc})
			var want []string
			if tt.note != "" {
				want = []string{tt.note}
			}
			if diff := cmp.Diff(want, sum.Notes); diff != "" {
				t.Errorf("Notes (-want +got):\n%s", diff)
			}
			if f := find(sum.Events, triage.Msg18456); len(f) != 1 || !f[0].First.Equal(tt.utc) {
				t.Errorf("18456 = %+v; want one at %v", f, tt.utc)
			}
		})
	}
}

// TestReadFilesEmpty: files that hold no entry prove nothing: a read of nothing else
// fails with ErrEmpty, naming them; beside a file with entries they are noted.
func TestReadFilesEmpty(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	empty := write("empty", nil)
	blank := write("blank", []byte("  \r\n\r\n"))
	good := write("good", windowsLog(scenario(t, "failures.txt")))
	set := write("set/ERRORLOG", nil)
	write("set/ERRORLOG.1", windowsLog("\n\n"))
	write("set/ERRORLOG.2", []byte{0xFF, 0xFE})

	for _, tt := range []struct {
		name    string
		paths   []string
		wantErr string
	}{
		{"one empty file", []string{empty}, empty + " holds nothing: 0 bytes"},
		{"two", []string{empty, blank}, empty + " holds nothing: 0 bytes; so does " + blank},
		{"a rollover set", []string{set}, set + " holds nothing: 0 bytes; so do " + set + ".1, " + set + ".2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFiles(t.Context(), tt.paths, Options{})
			if !errors.Is(err, ErrEmpty) || err.Error() != tt.wantErr {
				t.Errorf("ReadFiles() error = %v; want %q, wrapping ErrEmpty", err, tt.wantErr)
			}
		})
	}

	t.Run("beside a file with entries", func(t *testing.T) {
		sum, err := ReadFiles(t.Context(), []string{good, empty, blank}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(sum.Events) == 0 {
			t.Error("no events; want those of the good file")
		}
		want := []string{empty + " holds nothing: 0 bytes", blank + " holds nothing: only blank lines"}
		if diff := cmp.Diff(want, sum.Notes); diff != "" {
			t.Errorf("Notes (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{good, empty, blank}, sum.Files); diff != "" {
			t.Errorf("Files (-want +got):\n%s", diff)
		}
	})
}

// A path that is not a regular file is refused at once, whatever path leads to it:
// a FIFO with no writer, on which an ordinary open would wait forever, a device that
// reads as endless zeros or as empty, a directory.
func TestReadFilesNotRegular(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "ERRORLOG")
	if err := os.Symlink(os.DevNull, link); err != nil {
		t.Skip(err)
	}
	fifo := safefiletest.FIFO(t)
	tests := []struct {
		name, path, want string
	}{
		{"a symbolic link to a device", link, link + " is not a regular file (a device)"},
		{"a FIFO", fifo, fifo + " is not a regular file (a FIFO)"},
		{"a directory", dir, dir + " is not a regular file (a directory)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadFiles(t.Context(), []string{tt.path}, Options{})
			if err == nil || err.Error() != tt.want || !errors.Is(err, safefile.ErrNotRegular) {
				t.Errorf("ReadFiles() error = %v; want %q, wrapping safefile.ErrNotRegular", err, tt.want)
			}
		})
	}
}

// TestReadFilesSameFile: a file reached through two paths is read once, through the
// first, and the other path is noted.
func TestReadFilesSameFile(t *testing.T) {
	dir := writeLogs(t, map[string]string{"ERRORLOG": "failures.txt"})
	path := func(name string) string { return filepath.Join(dir, name) }
	link := func(kind string, fn func(string, string) error, target, name string) {
		if err := fn(target, path(name)); err != nil {
			t.Skipf("%s: %v", kind, err)
		}
	}
	link("symbolic link", os.Symlink, "ERRORLOG", "ERRORLOG.1") // the rollover set holds the log twice
	link("hard link", os.Link, path("ERRORLOG"), "copy.log")
	link("symbolic link", os.Symlink, dir, "dir")

	opt := Options{Since: 1000000 * time.Hour} // every file of a set overlaps the window
	once, err := ReadFiles(t.Context(), []string{path("copy.log")}, opt)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		paths []string
		files []string
		notes []string
	}{
		{
			name: "ERRORLOG.1 a symbolic link to ERRORLOG", paths: []string{path("ERRORLOG")},
			files: []string{path("ERRORLOG")}, notes: []string{path("ERRORLOG.1") + " is the same file as " + path("ERRORLOG") + ", read once"},
		},
		{
			name: "a hard link given beside the file", paths: []string{path("copy.log"), path("ERRORLOG")},
			files: []string{path("copy.log")}, notes: []string{path("ERRORLOG") + " is the same file as " + path("copy.log") + ", read once", path("ERRORLOG.1") + " is the same file as " + path("copy.log") + ", read once"},
		},
		{
			name: "the same file through a linked directory", paths: []string{path("copy.log"), filepath.Join(dir, "dir", "copy.log")},
			files: []string{path("copy.log")}, notes: []string{filepath.Join(dir, "dir", "copy.log") + " is the same file as " + path("copy.log") + ", read once"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum, err := ReadFiles(t.Context(), tt.paths, opt)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(countFailures(once), countFailures(sum)); diff != "" {
				t.Errorf("18456 per login (-read once +read) :\n%s", diff)
			}
			if diff := cmp.Diff(once.Events, sum.Events, cmpopts.IgnoreFields(triage.LogEvent{}, "Log")); diff != "" {
				t.Errorf("Events (-read once +read):\n%s", diff)
			}
			if diff := cmp.Diff(tt.files, sum.Files); diff != "" {
				t.Errorf("Files (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.notes, sum.Notes, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
				t.Errorf("Notes (-want +got):\n%s", diff)
			}
		})
	}
}

// Reads of a FIFO, as an inventory path that blocks on open gives every triage, leave
// no thread behind.
func TestReadFilesFIFOThreads(t *testing.T) {
	fifo := safefiletest.FIFO(t)
	before := safefiletest.Threads(t)
	for range 50 {
		if _, err := ReadFiles(t.Context(), []string{fifo}, Options{}); !errors.Is(err, safefile.ErrNotRegular) {
			t.Fatalf("ReadFiles(FIFO) error = %v; want safefile.ErrNotRegular", err)
		}
	}
	if after := safefiletest.Threads(t); after > before+4 {
		t.Errorf("threads: %d before 50 reads of a FIFO, %d after", before, after)
	}
}

// The same in a log large enough that the change lies several blocks back from the end.
func TestReadClockSetBackLargeLog(t *testing.T) {
	at := func(h, m, s int) time.Time { return time.Date(2025, 11, 2, h, m, s, 0, time.UTC) }
	var l logText
	l.entry(at(0, 0, 0), "Server", banner)
	step := func(from, to time.Time, login string) {
		for t := from; t.Before(to); t = t.Add(time.Second) {
			if t.Second() == 0 && t.Minute()%5 == 0 {
				l.failure(t, login)
				continue
			}
			l.entry(t, "spid51", "Using 'xpstar.dll' version '2022.160.1000' to execute extended stored procedure 'xp_instance_regread'. This is an informational message only; no user action is required.")
		}
	}
	step(at(0, 0, 1), at(2, 0, 0), "summer")  // failures at 00:05 to 01:55
	step(at(1, 0, 0), at(1, 30, 0), "winter") // at 01:00 to 01:25
	data := windowsLog(l.String())
	if len(data) < 8*firstBlock {
		t.Fatalf("log of %d bytes; the test needs several blocks", len(data))
	}
	tests := []struct {
		since time.Duration
		end   time.Time
		want  map[string]int
	}{
		{24 * time.Hour, time.Time{}, map[string]int{"summer": 23, "winter": 6}},
		{time.Hour, time.Time{}, map[string]int{"summer": 12, "winter": 6}}, // 00:59:59 to 01:59:59
		{10 * time.Minute, time.Time{}, map[string]int{"summer": 2}},        // 01:49:59 to 01:59:59
		{10 * time.Minute, at(2, 0, 0), map[string]int{"summer": 2}},        // 01:50 to 02:00
	}
	for _, tt := range tests {
		sum := readBytes(t, data, "ERRORLOG", Options{Since: tt.since, End: tt.end})
		if diff := cmp.Diff(tt.want, countFailures(sum)); diff != "" {
			t.Errorf("since %v, end %v: 18456 per login (-want +got):\n%s", tt.since, tt.end, diff)
		}
		want := tt.end
		if want.IsZero() {
			want = at(1, 59, 59)
		}
		if !sum.To.Equal(want) {
			t.Errorf("since %v: To = %v; want %v", tt.since, sum.To, want)
		}
	}
}
