package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/internal/golden"
)

// demoFormats are the output formats the demo's goldens are kept in.
var demoFormats = []string{"text", "json", "markdown", "blocks", "slack"}

// TestDemoSecondHop: the second-hop incident, in every format: sqlapp01's linked
// server failing with ANONYMOUS LOGON is delegation.second_hop naming sqlhost02, and
// its account's missing port form delegation.port_form_missing with its command.
func TestDemoSecondHop(t *testing.T) {
	for _, format := range demoFormats {
		t.Run(format, func(t *testing.T) {
			e, stdout, stderr := testEnv(nil)
			if code := e.run(t.Context(), []string{"demo", "second-hop", "--output", format}); code != exitOK {
				t.Fatalf("demo second-hop exit = %d; want 0; stderr:\n%s", code, stderr)
			}
			if stderr.Len() > 0 {
				t.Errorf("demo wrote to stderr: %s", stderr)
			}
			golden.Check(t, filepath.Join("testdata", "demo-second-hop."+format), stdout.Bytes())
		})
	}
	e, stdout, _ := testEnv(nil)
	e.run(t.Context(), []string{"demo", "second-hop"})
	for _, want := range []string{"delegation.second_hop", `linked server "SQLHOST02"`, "passed on no user's identity to sqlhost02",
		"delegation.port_form_missing", `Set-ADUser -Identity svc_sqlapp01 -Add @{'msDS-AllowedToDelegateTo'='MSSQLSvc/sqlhost02.corp.example:1433'}`} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
}

// TestDemoPrintsEachScenario: without a scenario, the demo prints each report in
// turn, as the scenario alone prints it; the text, slack and markdown reports are
// apart by a blank line.
func TestDemoPrintsEachScenario(t *testing.T) {
	for _, format := range demoFormats {
		t.Run(format, func(t *testing.T) {
			e, stdout, stderr := testEnv(nil)
			if code := e.run(t.Context(), []string{"demo", "--output", format}); code != exitOK {
				t.Fatalf("demo exit = %d; want 0; stderr:\n%s", code, stderr)
			}
			var want bytes.Buffer
			for i, sc := range []string{"local-security", "second-hop"} {
				e, one, _ := testEnv(nil)
				if code := e.run(t.Context(), []string{"demo", sc, "--output", format}); code != exitOK {
					t.Fatalf("demo %s exit = %d", sc, code)
				}
				if i > 0 && format != "json" && format != "blocks" {
					want.WriteString("\n")
				}
				want.Write(one.Bytes())
			}
			if !bytes.Equal(stdout.Bytes(), want.Bytes()) {
				t.Errorf("demo --output %s is not each scenario's report in turn", format)
			}
		})
	}
	// The first report is the one its golden holds.
	e, stdout, _ := testEnv(nil)
	e.run(t.Context(), []string{"demo"})
	first, err := os.ReadFile(filepath.Join("testdata", "demo.text"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(stdout.Bytes(), first) {
		t.Error("authtriage demo does not start with the local-security report of testdata/demo.text")
	}
}

func TestDemoHelpListsTheScenarios(t *testing.T) {
	e, stdout, _ := testEnv(nil)
	if code := e.run(t.Context(), []string{"help", "demo"}); code != exitOK {
		t.Fatalf("exit = %d", code)
	}
	for _, want := range []string{"authtriage demo [SCENARIO] [flags]", "local-security", "second-hop", "exits 0 when it ran"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, stdout)
		}
	}
}
