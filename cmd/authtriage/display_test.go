package main

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// termPayload sets a terminal's window title and clears its screen, then reverses
// the text after it.
const termPayload = "svc\x1b]0;pwned\x07\x1b[2J\u202eexe.lmth\r\x00"

// assertNoControls fails t when out holds a control character other than LF and
// tab, or a format character (bidirectional controls among them).
func assertNoControls(t *testing.T, what, out string) {
	t.Helper()
	for i, r := range out {
		if r != '\n' && r != '\t' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
			t.Errorf("%s: %U at byte %d reaches the terminal: %q", what, r, i, out)
			return
		}
	}
}

func TestUsageErrorsEscapeWhatTheyEcho(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "ERRORLOG"+termPayload)
	e, _, stderr := testEnv(nil)
	if code := e.run(t.Context(), []string{"check", "sqlhost01", "--errorlog", missing}); code != exitUnknown {
		t.Errorf("exit = %d; want 3", code)
	}
	assertNoControls(t, "stderr", stderr.String())
	if !strings.Contains(stderr.String(), `ERRORLOGsvc\x1b]0;pwned\x07\x1b[2J\u202eexe.lmth\r\x00`) {
		t.Errorf("stderr = %q; want the path with its controls escaped", stderr)
	}
}

func TestScanTextEscapesNamesFromTheLDIF(t *testing.T) {
	demo, err := os.ReadFile("../../internal/demo/sqlhost01/directory.ldf")
	if err != nil {
		t.Fatal(err)
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	evil := "\ndn:: " + b64("CN=evil\x1b[2J\u202e,OU=Service Accounts,DC=corp,DC=example") + "\n" +
		"changetype: add\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: user\n" +
		"cn:: " + b64("evil"+termPayload) + "\n" +
		"sAMAccountName:: " + b64(termPayload) + "\n" +
		"userAccountControl: 66048\n" +
		"servicePrincipalName: MSSQLSvc/sqlhost01.corp.example:1433\n"
	path := filepath.Join(t.TempDir(), "corp.ldf")
	if err := os.WriteFile(path, append(demo, evil...), 0o600); err != nil {
		t.Fatal(err)
	}
	e, stdout, stderr := testEnv(nil)
	if code := e.run(t.Context(), []string{"scan", "spn-duplicates", "--ldif", path}); code != exitCritical {
		t.Fatalf("exit = %d; want 2; stderr:\n%s", code, stderr)
	}
	assertNoControls(t, "stdout", stdout.String())
	if !strings.Contains(stdout.String(), `svc\x1b]0;pwned\x07`) {
		t.Errorf("stdout does not show the hostile name escaped:\n%s", stdout)
	}
}

// TestScanSetspnLineIsQuoted: the setspn line the scan prints for a duplicate SPN is
// rendered from typed arguments: an SPN from the LDIF that carries a command separator
// gets no command at all, and an ordinary one is written as one argument.
func TestScanSetspnLineIsQuoted(t *testing.T) {
	demo, err := os.ReadFile("../../internal/demo/sqlhost01/directory.ldf")
	if err != nil {
		t.Fatal(err)
	}
	evil := "MSSQLSvc/sqlhost09.corp.example:1433&calc"
	add := func(cn string) string {
		return "\ndn: CN=" + cn + ",OU=Service Accounts,DC=corp,DC=example\n" +
			"changetype: add\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: user\n" +
			"cn: " + cn + "\nsAMAccountName: " + cn + "\nuserAccountControl: 66048\n" +
			"servicePrincipalName: " + evil + "\n"
	}
	path := filepath.Join(t.TempDir(), "corp.ldf")
	if err := os.WriteFile(path, append(demo, add("svc_a")+add("svc_b")...), 0o600); err != nil {
		t.Fatal(err)
	}
	e, stdout, stderr := testEnv(nil)
	if code := e.run(t.Context(), []string{"scan", "spn-duplicates", "--ldif", path}); code != exitCritical {
		t.Fatalf("exit = %d; want 2; stderr:\n%s", code, stderr)
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if strings.Contains(line, "setspn") && strings.Contains(line, "&calc") {
			t.Errorf("a setspn line carries the hostile SPN: %q", line)
		}
	}
	if !strings.Contains(stdout.String(), "The command is left out") {
		t.Errorf("the scan does not say why the command is left out:\n%s", stdout)
	}
	if !strings.Contains(stdout.String(), `setspn -D MSSQLSvc/sqlhost01.corp.example:1433 DOMAIN\account`) {
		t.Errorf("the ordinary duplicate's command is missing:\n%s", stdout)
	}
}
