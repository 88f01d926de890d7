package errorlog

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/authtriage/authtriage/triage"
)

// windowsLog returns text, read as UTF-8 with LF line ends, as SQL Server on Windows
// writes it: UTF-16LE with a byte-order mark and CRLF line ends. It lets the
// scenarios in testdata stay readable text.
func windowsLog(text string) []byte {
	return encodeLog(text, encUTF16LE, true, true)
}

// encodeLog encodes text in enc, with a byte-order mark if bom, with CRLF line ends
// if crlf.
func encodeLog(text string, enc encoding, bom, crlf bool) []byte {
	if crlf {
		text = strings.ReplaceAll(text, "\n", "\r\n")
	}
	var b bytes.Buffer
	switch enc {
	case encUTF8:
		if bom {
			b.WriteString("\uFEFF")
		}
		b.WriteString(text)
		return b.Bytes()
	case encUTF16LE:
		if bom {
			b.Write([]byte{0xFF, 0xFE})
		}
	case encUTF16BE:
		if bom {
			b.Write([]byte{0xFE, 0xFF})
		}
	}
	for _, u := range utf16.Encode([]rune(text)) {
		if enc == encUTF16LE {
			b.Write([]byte{byte(u), byte(u >> 8)})
		} else {
			b.Write([]byte{byte(u >> 8), byte(u)})
		}
	}
	return b.Bytes()
}

// scenario returns testdata/name, a scenario written as UTF-8 text.
func scenario(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// testdataFile returns the bytes of testdata/name.
func testdataFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readBytes reads data as one error log file named name.
func readBytes(t testing.TB, data []byte, name string, opt Options) Summary {
	t.Helper()
	sum, err := Read(t.Context(), bytes.NewReader(data), int64(len(data)), name, opt)
	if err != nil {
		t.Fatalf("Read(%s): %v", name, err)
	}
	return sum
}

// writeLogs writes each scenario of files (file name: testdata scenario) into a new
// directory as a Windows log and returns the directory.
func writeLogs(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, sc := range files {
		if err := os.WriteFile(filepath.Join(dir, name), windowsLog(scenario(t, sc)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// event returns a LogEvent from ERRORLOG with the fields every test sets, and lets
// set change the others.
func event(log string, id, state, count int, first, last time.Time, set func(*triage.LogEvent)) triage.LogEvent {
	e := triage.LogEvent{Source: triage.SourceErrorlog, Log: log, ID: id, State: state, Count: count, First: first, Last: last}
	if set != nil {
		set(&e)
	}
	return e
}

// find returns the events with message number id.
func find(evs []triage.LogEvent, id int) []triage.LogEvent {
	var out []triage.LogEvent
	for _, e := range evs {
		if e.ID == id {
			out = append(out, e)
		}
	}
	return out
}
