package render_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/internal/shelltest/hostile"
	"github.com/authtriage/authtriage/render"
	"github.com/authtriage/authtriage/triage"
)

// stepLine matches a step of the text report's Fix section: "   2) Register ...".
var stepLine = regexp.MustCompile(`^   [0-9]+\) \S`)

// TestCommandsInText: in the text report, every line of a Fix section is a step or
// one of the report's commands, on a line of its own and as it is, which reads back in
// its shell as exactly the program and arguments meant; hostile names in evidence
// never make a command line.
func TestCommandsInText(t *testing.T) {
	for _, r := range hostile.Reports() {
		var buf bytes.Buffer
		if err := render.Text(&buf, r.Report, render.TextOptions{}); err != nil {
			t.Fatal(err)
		}
		shells := map[string]triage.Shell{}
		for _, s := range r.Commands() {
			shells[s.Command] = s.Shell
		}
		seen := map[string]bool{}
		inFix := false
		for _, l := range strings.Split(buf.String(), "\n") {
			switch {
			case l == "   Fix:":
				inFix = true
			case !strings.HasPrefix(l, "   ") || strings.HasPrefix(l, "   Read: "):
				inFix = false
			case inFix && strings.HasPrefix(l, "      "):
				cmd := strings.TrimPrefix(l, "      ")
				sh, ok := shells[cmd]
				if !ok {
					t.Errorf("report %s: Fix line %q is no command of the report", r.ID, l)
					continue
				}
				if err := r.Check(sh, cmd); err != nil {
					t.Errorf("report %s: %v", r.ID, err)
				}
				seen[cmd] = true
			case inFix && !stepLine.MatchString(l):
				t.Errorf("report %s: Fix line %q is neither a step nor a command", r.ID, l)
			}
		}
		for cmd := range shells {
			if !seen[cmd] {
				t.Errorf("report %s: command %q not in the text report", r.ID, cmd)
			}
		}
	}
}

// TestCommandsInJSON: the JSON report carries every step as it is: the command, its
// shell, or why it was left out.
func TestCommandsInJSON(t *testing.T) {
	for _, r := range hostile.Reports() {
		var buf bytes.Buffer
		if err := render.JSON(&buf, r.Report); err != nil {
			t.Fatal(err)
		}
		var back struct {
			Findings []struct {
				Remediation []map[string]string `json:"remediation"`
			} `json:"findings"`
		}
		if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
			t.Fatal(err)
		}
		for i, f := range r.Findings {
			for j, s := range f.Remediation {
				got := back.Findings[i].Remediation[j]
				if got["text"] != s.Text || got["command"] != s.Command || got["shell"] != string(s.Shell) || got["command_omitted"] != s.Omitted {
					t.Errorf("report %s finding %d step %d: JSON %q; want %+v", r.ID, i, j, got, s)
				}
				if s.Command != "" {
					if err := r.Check(s.Shell, got["command"]); err != nil {
						t.Errorf("report %s: %v", r.ID, err)
					}
				}
			}
		}
	}
}
