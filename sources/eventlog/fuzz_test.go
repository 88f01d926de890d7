package eventlog_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/sources/eventlog"
)

// FuzzRead checks that Read never panics and that what it returns is consistent,
// whatever the input.
//
// It is seeded with the fixtures, the larger ones cut into their events: the fuzzer
// minimises every input that finds new code, by removing one byte at a time, and on a
// 20 KiB fixture that takes all of a one-minute run.
func FuzzRead(f *testing.F) {
	paths, err := filepath.Glob("testdata/*")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			continue // testdata/fuzz holds the fuzzer's own corpus
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, seed := range splitEvents(b) {
			f.Add(seed, int64(0))
		}
	}
	// Small seeds, one per kind of event, are cheap to mutate.
	const ts = "2026-05-14T09:00:00Z"
	f.Add([]byte("<Events>"+netlogon5719(ts)+"</Events>"), int64(time.Hour))
	f.Add([]byte(kerberos3(ts, "0x7", spn, "Error Code: 0x7 KDC_ERR_S_PRINCIPAL_UNKNOWN Server Name: "+spn)), int64(0))
	f.Add([]byte("<Event><System><Provider Name='MSSQL$SALES'/><EventID Qualifiers='49152'>18456</EventID><TimeCreated SystemTime='"+ts+
		"'/></System><EventData><Data>sa</Data><Data> Reason: x</Data><Data> [CLIENT: 10.0.0.1]</Data></EventData></Event>"), int64(0))
	f.Add([]byte("<Event><System><Provider Name='MSSQLSERVER'/><EventID Qualifiers='49152'>7412</EventID><TimeCreated SystemTime='"+ts+
		"'/></System><EventData><Data>MSOLEDBSQL</Data><Data>SQLHOST02</Data><Data>Login failed for user 'NT AUTHORITY\\ANONYMOUS LOGON'.</Data></EventData></Event>"), int64(0))
	f.Add([]byte("<Event><System><Provider Name='MSSQL$SALES'/><EventID Qualifiers='49152'>7413</EventID><TimeCreated SystemTime='"+ts+
		"'/></System><EventData><Data>SQLHOST02</Data><Data>MSOLEDBSQL</Data></EventData></Event>"), int64(0))
	f.Add([]byte("<Event><System><Provider Name='LsaSrv'/><EventID>40960</EventID><TimeCreated SystemTime='"+ts+
		"'/></System><RenderingInfo><Message>Error - 2146893052 (0xC000005E)</Message></RenderingInfo></Event>"), int64(0))
	f.Add([]byte("\xFF\xFE<\x00E\x00"), int64(-1))

	f.Fuzz(func(t *testing.T, in []byte, since int64) {
		opt := eventlog.Options{Since: time.Duration(since)}
		s, err := eventlog.Read(t.Context(), bytes.NewReader(in), "fuzz.xml", opt)
		if err != nil && !strings.HasPrefix(err.Error(), "fuzz.xml: ") {
			t.Errorf("error %q does not start with the input's name", err)
		}
		if s.From.After(s.To) {
			t.Errorf("window [%v, %v] ends before it starts", s.From, s.To)
		}
		n := 0
		for _, e := range s.Events {
			n += e.Count
			if e.Count < 1 || e.Last.Before(e.First) || e.First.Before(s.From) || e.Last.After(s.To) {
				t.Errorf("inconsistent group %+v in window [%v, %v]", e, s.From, s.To)
			}
			if len(e.Text) > 1003 {
				t.Errorf("Text of %d bytes", len(e.Text))
			}
		}
		if n > s.Total {
			t.Errorf("%d entries in groups, but only %d events read", n, s.Total)
		}
	})
}

// splitEvents returns an export of more than 4 KiB cut before each "<Event ", in UTF-8
// or UTF-16LE; a UTF-16 part starts with the export's byte-order mark. It returns
// smaller exports whole.
func splitEvents(b []byte) [][]byte {
	if len(b) <= 4<<10 {
		return [][]byte{b}
	}
	sep, bom := []byte("<Event "), []byte(nil)
	if bytes.HasPrefix(b, []byte{0xFF, 0xFE}) {
		sep, bom = []byte("<\x00E\x00v\x00e\x00n\x00t\x00 \x00"), b[:2]
	}
	var parts [][]byte
	for rest := b; len(rest) > 0; {
		next := bytes.Index(rest[1:], sep)
		if next < 0 {
			next = len(rest) - 1
		}
		part := rest[:next+1]
		if bom != nil && !bytes.HasPrefix(part, bom) {
			part = append(append([]byte(nil), bom...), part...)
		}
		parts = append(parts, part)
		rest = rest[next+1:]
	}
	return parts
}
