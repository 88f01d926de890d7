package demo

import (
	"bytes"
	"io/fs"
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

// TestErrorlogMatchesItsText: each scenario's ERRORLOG is its ERRORLOG.txt encoded;
// -update regenerates it.
func TestErrorlogMatchesItsText(t *testing.T) {
	for _, sc := range Scenarios() {
		t.Run(sc.Name, func(t *testing.T) {
			text, err := os.ReadFile(sc.ErrorLog + ".txt")
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, sc.ErrorLog, encodeErrorlog(text))
		})
	}
}

// TestScenariosEmbedTheirEvidence: every file a scenario names is embedded, names are
// unique, and every hop's path starts or ends at the scenario's host.
func TestScenariosEmbedTheirEvidence(t *testing.T) {
	seen := map[string]bool{}
	for _, sc := range Scenarios() {
		if sc.Name == "" || seen[sc.Name] || sc.About == "" || sc.Target.Host == "" {
			t.Errorf("scenario %q: a name used once, what it shows and a host are needed", sc.Name)
		}
		seen[sc.Name] = true
		for _, p := range []string{sc.ErrorLog, sc.Events, sc.LDIF} {
			if p == "" {
				continue
			}
			if _, err := fs.Stat(Files(), p); err != nil {
				t.Errorf("scenario %s: %v", sc.Name, err)
			}
		}
		for _, h := range sc.Hops {
			if h.Path.FrontEnd != sc.Target.Host && h.Path.BackEnd != sc.Target.Host || h.Path.BackEnd != h.BackEnd.Host {
				t.Errorf("scenario %s: hop %s is not the host's, or its back end is not %s", sc.Name, h.Path, h.BackEnd.Host)
			}
		}
	}
}
