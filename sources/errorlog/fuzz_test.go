package errorlog

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/authtriage/authtriage/triage"
)

// FuzzRead checks that no input makes Read panic or fail other than as "not a log" or
// "holds nothing",
// that what it returns is consistent, and that small chunks read the same as large.
func FuzzRead(f *testing.F) {
	// Excerpts of the real logs, byte for byte: their start-up banner and their SPN
	// lines. Small seeds keep the fuzzer fuzzing: it minimises every input that finds
	// new code, which for a whole 70 KiB log takes all of a short run.
	for _, name := range []string{"ERRORLOG-sql2022-named-instance", "ERRORLOG-sql2022-desktop"} {
		f.Add(realExcerpt(f, name), uint16(0))
	}
	f.Add(testdataFile(f, "linux.txt"), uint16(0))
	f.Add([]byte(scenario(f, "failures.txt")), uint16(60))
	for _, name := range []string{"rollover/ERRORLOG.txt", "cycled/ERRORLOG.txt"} {
		f.Add(windowsLog(scenario(f, name)), uint16(0))
	}
	f.Add([]byte(strings.ReplaceAll(scenario(f, "failures.txt"), "\n", "\r")), uint16(0))
	f.Add([]byte("2025-11-02 01:50:00.00 Logon       Error: 18456, Severity: 14, State: 8.\n"+
		"2025-11-02 01:50:00.00 Logon       Login failed for user 'sa'. [CLIENT: 10.0.0.1]\n"+
		"2025-11-02 01:10:00.00 Server      UTC adjustment: x\n"+
		"2099-11-02 01:10:00.00 Logon       Error: 18456, Severity: 14, State: 8.\n"+
		"2025-11-02 01:20:00.00 Logon       Login failed for user 'sa'. [CLIENT: 10.0.0.2]"), uint16(30))
	f.Add([]byte("2026-11-24 10:05:01.44 spid71      Error: 7412, Severity: 16, State: 1.\n"+
		"2026-11-24 10:05:01.44 spid71      OLE DB provider \"MSOLEDBSQL\" for linked server \"SQLHOST02\" returned message \"Login failed for user 'NT AUTHORITY\\ANONYMOUS LOGON'.\".\n"+
		"2026-11-24 10:05:01.44 spid71      Error: 7303, Severity: 16, State: 1.\n"+
		"2026-11-24 10:05:01.44 spid71      Cannot initialize the data source object of OLE DB provider \"MSOLEDBSQL\" for linked server \"SQLHOST02\".\n"), uint16(0))
	f.Add([]byte{}, uint16(0))
	f.Add([]byte{0xFF, 0xFE, '2', 0}, uint16(1))
	f.Add([]byte("2025-06-01 09:00:00.00 Logon Error: 18456, Severity: 14, State: 8.\n"), uint16(0))

	f.Fuzz(func(t *testing.T, data []byte, minutes uint16) {
		opt := Options{Since: time.Duration(minutes) * time.Minute}
		sum, err := Read(t.Context(), bytes.NewReader(data), int64(len(data)), "ERRORLOG", opt)
		if err != nil {
			if !errors.Is(err, ErrNotLog) && !errors.Is(err, ErrEmpty) {
				t.Fatalf("Read() error = %v; want nil, ErrNotLog or ErrEmpty", err)
			}
			return
		}
		for _, e := range sum.Events {
			if e.Count < 1 || e.First.After(e.Last) || len(e.Clients) > triage.MaxClients || e.MoreClients < 0 {
				t.Errorf("inconsistent event %+v", e)
			}
			if e.Source != triage.SourceErrorlog || e.Log != "ERRORLOG" {
				t.Errorf("event from %s/%s; want errorlog/ERRORLOG", e.Source, e.Log)
			}
			if !IsSPNMessage(e.ID) && (e.First.Before(sum.From) || e.Last.After(sum.To)) {
				t.Errorf("event %d from %v to %v outside the window %v to %v", e.ID, e.First, e.Last, sum.From, sum.To)
			}
		}
		// The trend counts some of the events' entries, within the last day of the window.
		if tr := sum.Trend; tr != nil {
			if len(tr.Hours) == 0 || len(tr.Hours) > triage.TrendHours || !tr.End.Equal(sum.To) {
				t.Errorf("trend of %d hours ending %v; want 1 to %d ending at %v", len(tr.Hours), tr.End, triage.TrendHours, sum.To)
			}
			counted := 0
			for _, id := range triage.TrendErrors() {
				inEvents, inTrend := 0, 0
				for _, e := range sum.Events {
					if e.ID == id {
						inEvents += e.Count
					}
				}
				for _, n := range tr.Counts(id) {
					inTrend += n
				}
				if inTrend > inEvents {
					t.Errorf("trend counts %d entries of %d; the events %d", inTrend, id, inEvents)
				}
				counted += inTrend
			}
			if counted == 0 {
				t.Error("a trend with nothing counted; want nil")
			}
		}
		if sum.Bytes > 4*int64(len(data)) {
			t.Errorf("read %d bytes of %d", sum.Bytes, len(data))
		}
		// About five chunks, so that their ends fall somewhere else in every input.
		small := tuning{chunk: max(2, len(data)/5&^1), back: 24 << 10, fwd: 24 << 10, workers: 3}
		got, err := readOne(t.Context(), bytes.NewReader(data), int64(len(data)), "ERRORLOG", opt, small)
		if err != nil {
			t.Fatalf("with small chunks: %v", err)
		}
		opts := []cmp.Option{cmpopts.IgnoreFields(Summary{}, "Bytes"), cmpopts.EquateEmpty()}
		if !cmp.Equal(sum, got, opts...) {
			t.Errorf("(-large chunks +small chunks):\n%s", cmp.Diff(sum, got, opts...))
		}
	})
}

// realExcerpt returns the first 20 lines of a real log in testdata and its lines about
// SPNs, as they are in the file.
func realExcerpt(tb testing.TB, name string) []byte {
	tb.Helper()
	data := testdataFile(tb, name)
	c := detect(data)
	spn := c.encode("(SPN)")
	var out []byte
	for p, n := 0, 0; p < len(data); n++ {
		end := c.lineEnd(data, p)
		if n < 20 || bytes.Contains(data[p:end], spn) {
			out = append(out, data[p:end]...)
		}
		p = end
	}
	return out
}
