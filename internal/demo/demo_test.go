package demo

import (
	"bytes"
	"flag"
	"os"
	"testing"
	"unicode/utf16"
)

var update = flag.Bool("update", false, "regenerate sqlhost01/ERRORLOG from sqlhost01/ERRORLOG.txt")

// encodeErrorlog writes text as SQL Server does on Windows: UTF-16LE with a byte-order
// mark and CRLF line ends.
func encodeErrorlog(text []byte) []byte {
	text = bytes.ReplaceAll(text, []byte("\r\n"), []byte("\n"))
	text = bytes.ReplaceAll(text, []byte("\n"), []byte("\r\n"))
	units := utf16.Encode([]rune(string(text)))
	out := []byte{0xFF, 0xFE}
	for _, u := range units {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

func TestErrorlogMatchesItsText(t *testing.T) {
	text, err := os.ReadFile("sqlhost01/ERRORLOG.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := encodeErrorlog(text)
	if *update {
		if err := os.WriteFile(ErrorLog, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Files().(interface{ ReadFile(string) ([]byte, error) }).ReadFile(ErrorLog)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not ERRORLOG.txt in UTF-16LE; run go test ./demo -update", ErrorLog)
	}
}
