package demo

import (
	"bytes"
	"os"
	"testing"
	"unicode/utf16"

	"github.com/authtriage/authtriage/internal/golden"
)

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

// TestErrorlogMatchesItsText: sqlhost01/ERRORLOG is sqlhost01/ERRORLOG.txt encoded;
// -update regenerates it.
func TestErrorlogMatchesItsText(t *testing.T) {
	text, err := os.ReadFile("sqlhost01/ERRORLOG.txt")
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, ErrorLog, encodeErrorlog(text))
}
