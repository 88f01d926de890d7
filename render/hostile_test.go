package render

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/authtriage/authtriage/triage"
)

// payload is what a client can put in the login name SQL Server writes to its
// ERRORLOG: it sets a terminal's window title and clears the screen. With a
// right-to-left override, a CR that would overwrite the line, a NUL and an invisible
// tag character.
const payload = "svc\x1b]0;pwned\x07\x1b[2J\u202eexe.lmth\rCRITICAL\x00\U000e0041"

// hostileReport carries payload in every field that can come from evidence.
func hostileReport() triage.Report {
	at := time.Date(2026, 11, 24, 9, 14, 2, 0, time.UTC)
	return triage.Report{
		ID: "h7st1l3x", Host: "sqlhost01" + payload, Status: triage.Status("critical" + payload),
		StartedAt: at, Duration: time.Second,
		Findings: []triage.Finding{{
			Cause: triage.CauseID("login.failed" + payload), Severity: triage.Critical,
			Summary: "Login failed for user 'CORP\\" + payload + "'",
			Evidence: []triage.Evidence{{
				Source: triage.SourceErrorlog, Time: at, First: at.Add(-time.Hour), Count: 3,
				Text:    "18456 Login failed for user '" + payload + "'.\r\nReason: " + payload,
				Clients: []string{"10.0.0.5", payload},
			}},
			Remediation: []triage.Step{{Text: "Ask the owner of " + payload, Command: "klist purge " + payload}},
			Links:       []string{"https://learn.microsoft.com/" + payload},
		}},
		Checks: []triage.CheckResult{
			{Name: "errorlog" + payload, Status: triage.CheckFail, Detail: "read " + payload},
			{Name: "spn", Status: triage.CheckStatus("error" + payload), Detail: payload},
			{Name: "dns", Status: triage.CheckError, Detail: "lookup sqlhost01" + payload + ": timeout"},
		},
	}
}

// unsafeRune reports whether r must never reach a terminal raw: a control
// character other than LF and tab, a bidirectional control, or another format
// character.
func unsafeRune(r rune) bool {
	switch {
	case r == '\n', r == '\t':
		return false
	case unicode.IsControl(r), r == '\u2028', r == '\u2029':
		return true
	case r == '\u061c', r == '\u200e', r == '\u200f', r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// ourColours are the SGR sequences the painter writes.
var ourColours = regexp.MustCompile(`\x1b\[[0-9;]*m`)

func TestTextShowsHostileEvidenceEscaped(t *testing.T) {
	for _, colour := range []bool{false, true} {
		var b bytes.Buffer
		if err := Text(&b, hostileReport(), TextOptions{Color: colour}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if colour {
			out = ourColours.ReplaceAllString(out, "")
		}
		for i, r := range out {
			if unsafeRune(r) {
				t.Errorf("colour %v: %U reaches the terminal at byte %d:\n%s", colour, r, i, out)
				break
			}
		}
		for _, want := range []string{
			`sqlhost01svc\x1b]0;pwned\x07\x1b[2J\u202eexe.lmth\rCRITICAL\x00\U000e0041`, // the host
			`Reason: svc\x1b]0;pwned`,               // the second line of the evidence
			"\n     Reason: ",                       // indented under its item
			`clients 10.0.0.5, svc\x1b]0;pwned\x07`, // a client
			`klist purge svc\x1b]0;pwned`,           // a command
		} {
			if !strings.Contains(out, want) {
				t.Errorf("colour %v: the reader does not see %q:\n%s", colour, want, out)
			}
		}
	}
}
