// Package hostile builds reports whose fix commands were filled with names an
// attacker chose, and reads commands back from any output, for the tests of every
// renderer: text, JSON, Markdown, Slack blocks and the Fix script.
//
// Only tests import this package.
package hostile

import (
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/internal/shelltest"
	"github.com/authtriage/authtriage/triage"
)

// Values are what an attacker puts into a name: shell and SQL metacharacters, line
// breaks, terminal and bidirectional controls, quotes PowerShell reads as quotes, and
// names Active Directory allows that still need quoting.
var Values = []string{
	"& shutdown /s /t 0", "; rm -rf /", "$(calc)", "`calc`", "'", `"`, "%PATH%", "!x!", "|", ">",
	"\r\nformat c: /q", "\x1b]0;pwned\x07\x1b[2J", "\u202e", "\u2019", "\x00", "-D",
	"svc&calc", "svc$sql&calc", "O'Brien", "x]; DROP LOGIN sa; --", "a b", strings.Repeat("a", 3000),
}

// benign holds a valid value for every placeholder.
var benign = map[string]string{
	triage.PHHost: "SQLHOST02", triage.PHFQDN: "sqlhost02.corp.example", triage.PHDomain: "corp.example",
	triage.PHSPN: "MSSQLSvc/sqlhost02.corp.example:1433", triage.PHAccount: `CORP\svc_sql02`, triage.PHWrong: `CORP\svc_old`,
	triage.PHCode: "0x7", triage.PHSam: "svc_sql02", triage.PHSetAD: "Set-ADUser", triage.PHLogin: `CORP\app`,
	triage.PHSPNs:       triage.ListValue("MSSQLSvc/sqlbe02.corp.example:1433", "MSSQLSvc/sqlbe02.corp.example"),
	triage.PHPrincipals: triage.ListValue("S-1-5-21-1-2-3-1105", "svc_web02"), triage.PHBackEndSam: "svc_sqlbe02",
	triage.PHBackEndSetAD: "Set-ADComputer",
	triage.PHWrongSPN:     "MSSQLSvc/sqlhost02.corp.example:50100", triage.PHServerName: "OLDHOST02", triage.PHNewServerName: "SQLHOST02",
}

var placeholders = []string{triage.PHSPN, triage.PHAccount, triage.PHWrong, triage.PHSam, triage.PHDomain, triage.PHFQDN, triage.PHSetAD, triage.PHHost,
	triage.PHSPNs, triage.PHPrincipals, triage.PHBackEndSam, triage.PHWrongSPN, triage.PHServerName, triage.PHNewServerName}

// A Report is a report and, for each command it holds, the words (for T-SQL the
// tokens, written kind:text) the command means.
type Report struct {
	triage.Report
	Want map[string][]string
}

// Reports returns one report for each of Values: a finding for every cause of the
// catalog, the value put into one placeholder after a valid name (a different
// placeholder for each cause), and a finding of T-SQL steps for a login of that
// name.
func Reports() []Report {
	var out []Report
	for k, h := range Values {
		r := Report{Report: triage.Report{ID: fmt.Sprintf("hostile%02d", k), Host: "sqlhost02", Status: triage.StatusCritical},
			Want: map[string][]string{}}
		for i, c := range triage.Causes() {
			vars := map[string]string{}
			for ph, v := range benign {
				vars[ph] = v
			}
			ph := placeholders[(i+k)%len(placeholders)]
			vars[ph] = benign[ph] + h
			f := triage.NewFinding(c.ID, vars)
			for j, s := range f.Remediation {
				if s.Command != "" {
					r.Want[s.Command] = want(c.Fix[j], vars, ph)
				}
			}
			r.Findings = append(r.Findings, f)
		}
		login := "CORP\\" + h
		f := triage.Finding{Cause: triage.LoginFailed, Severity: triage.Warning, Summary: "logins refused"}
		vars := map[string]string{triage.PHLogin: login}
		for _, st := range []struct {
			stmt string
			args []triage.Arg
			want []string
		}{
			{"CREATE LOGIN", []triage.Arg{triage.Slot(triage.PHLogin), triage.Lit("FROM WINDOWS;")}, []string{"w:CREATE", "w:LOGIN", "i:" + login, "w:FROM", "w:WINDOWS", "p:;"}},
			{"GRANT CONNECT SQL TO", []triage.Arg{triage.Suffixed(triage.PHLogin, ";")}, []string{"w:GRANT", "w:CONNECT", "w:SQL", "w:TO", "i:" + login, "p:;"}},
		} {
			s := triage.NewStep("Fix the login "+login, triage.NewCommand(triage.ShellTSQL, st.stmt, st.args...), vars)
			if s.Command != "" {
				r.Want[s.Command] = st.want
			}
			f.Remediation = append(f.Remediation, s)
		}
		r.Findings = append(r.Findings, f)
		out = append(out, r)
	}
	return out
}

// want returns what a catalog step's command means with vars, as ReadBack returns it:
// for a shell, its words (words); for T-SQL, its tokens, read back from the command
// rendered with a plain stand-in for the value of ph, whose string token then carries
// the value itself: a hostile value must stay one string literal.
func want(step triage.FixStep, vars map[string]string, ph string) []string {
	if step.Command.Shell != triage.ShellTSQL {
		return words(step.Template().Command, vars)
	}
	const standIn = "STANDIN0"
	plain := map[string]string{}
	for k, v := range vars {
		plain[k] = v
	}
	plain[ph] = standIn
	line, err := step.Command.Render(plain)
	if err != nil {
		return []string{"cannot render: " + err.Error()}
	}
	toks, err := ReadBack(triage.ShellTSQL, line)
	if err != nil {
		return []string{"cannot read back: " + err.Error()}
	}
	for i, t := range toks {
		if t == "s:"+standIn {
			toks[i] = "s:" + vars[ph]
		}
	}
	return toks
}

// words returns the words a catalog command template means with vars: the template
// split at its spaces, each placeholder replaced by its value.
func words(template string, vars map[string]string) []string {
	var out []string
	for _, w := range strings.Split(template, " ") {
		for ph, v := range vars {
			w = strings.ReplaceAll(w, ph, v)
		}
		out = append(out, w)
	}
	return out
}

// ReadBack returns a command as its shell reads it: words (a PowerShell pipeline's
// commands joined by a "|" word) or, for T-SQL, tokens written kind:text. A
// PowerShell command must also be inert in cmd.exe: no operator but its pipes,
// nothing cmd.exe expands.
func ReadBack(sh triage.Shell, line string) ([]string, error) {
	switch sh {
	case triage.ShellPowerShell:
		cmds, err := shelltest.PowerShell(line)
		if err != nil {
			return nil, err
		}
		var out []string
		for i, c := range cmds {
			if i > 0 {
				out = append(out, "|")
			}
			for _, w := range c {
				out = append(out, w.Text)
			}
		}
		ops, err := shelltest.CmdInert(line)
		if err != nil {
			return nil, fmt.Errorf("pasted into cmd.exe: %w", err)
		}
		if string(ops) != strings.Repeat("|", len(cmds)-1) {
			return nil, fmt.Errorf("pasted into cmd.exe, runs operators %q", ops)
		}
		return out, nil
	case triage.ShellSh:
		return shelltest.Sh(line)
	case triage.ShellCmd:
		return shelltest.Cmd(line)
	case triage.ShellTSQL:
		toks, err := shelltest.TSQL(line)
		var out []string
		for _, t := range toks {
			out = append(out, string(t.Kind)+":"+t.Text)
		}
		return out, err
	}
	return nil, fmt.Errorf("no reader for shell %q", sh)
}

// Check reads back cmd, found in an output, as shell sh and compares it with what
// the report means by it; it returns why not, or nil.
func (r Report) Check(sh triage.Shell, cmd string) error {
	want, ok := r.Want[cmd]
	if !ok {
		return fmt.Errorf("%q is no command of the report", cmd)
	}
	got, err := ReadBack(sh, cmd)
	if err != nil {
		return fmt.Errorf("%q: %w", cmd, err)
	}
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		return fmt.Errorf("%q reads back as %q; want %q", cmd, got, want)
	}
	return nil
}

// Commands returns the report's commands with their shells, in order.
func (r Report) Commands() []triage.Step {
	var out []triage.Step
	for _, f := range r.Findings {
		for _, s := range f.Remediation {
			if s.Command != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
