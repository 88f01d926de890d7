package slackrender

import (
	"regexp"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/internal/shelltest/hostile"
	"github.com/authtriage/authtriage/triage"
)

// codeBlock matches a ``` code block in Slack mrkdwn.
var codeBlock = regexp.MustCompile("(?s)```(.*?)```")

// TestCommandsInMarkdown: in the Markdown report every fenced block of a Fix section
// is one line, one of the report's commands as it is, which reads back in its shell
// as exactly the program and arguments meant.
func TestCommandsInMarkdown(t *testing.T) {
	for _, r := range hostile.Reports() {
		md := Markdown(r.Report)
		shells := shellsOf(r)
		seen := map[string]bool{}
		lines := strings.Split(md, "\n")
		inFix := false
		for i := 0; i < len(lines); i++ {
			l := lines[i]
			switch {
			case strings.HasPrefix(l, "### Fix"):
				inFix = true
			case strings.HasPrefix(l, "#"):
				inFix = false
			case inFix && strings.HasPrefix(l, "   ```"):
				fence := strings.TrimPrefix(l, "   ")
				if i+2 >= len(lines) || lines[i+2] != l {
					t.Errorf("report %s: the code block at line %d is not one line between fences %s", r.ID, i, fence)
					continue
				}
				cmd := strings.TrimPrefix(lines[i+1], "   ")
				if err := r.Check(shells[cmd], cmd); err != nil {
					t.Errorf("report %s: Markdown: %v", r.ID, err)
				}
				seen[cmd] = true
				i += 2
			}
		}
		for cmd := range shells {
			if !seen[cmd] {
				t.Errorf("report %s: command %q not in the Markdown report", r.ID, cmd)
			}
		}
	}
}

// TestCommandsInThread: every code block of the Slack thread is one of the report's
// commands, whole and on one line, which reads back in its shell as exactly the
// program and arguments meant; a command left out of the thread is one Slack cannot
// show whole, and the thread says so.
func TestCommandsInThread(t *testing.T) {
	for _, r := range hostile.Reports() {
		msgs, err := Thread(r.Report, ThreadOptions{MaxMessages: 100})
		if err != nil {
			t.Fatal(err)
		}
		shells := shellsOf(r)
		seen := map[string]bool{}
		for _, m := range msgs {
			for _, text := range mrkdwnTexts(m) {
				for _, c := range codeBlock.FindAllStringSubmatch(text, -1) {
					cmd := Unescape(c[1])
					if err := r.Check(shells[cmd], cmd); err != nil {
						t.Errorf("report %s: Slack thread: %v", r.ID, err)
					}
					seen[cmd] = true
				}
			}
		}
		for cmd := range shells {
			if !seen[cmd] && !strings.Contains(allText(msgs), "Slack cannot show this command faithfully") {
				t.Errorf("report %s: command %q not in the thread, which does not say why", r.ID, cmd)
			}
		}
	}
}

// TestFixScript: the Fix script is a PowerShell script whose every line is blank, a
// one-line comment, or one of the report's PowerShell commands, which reads back as
// exactly the program and arguments meant; T-SQL and sh commands follow in sections
// of their own, labelled, read back in their language. A command that is not shown
// (too long for a Slack block) is named in a comment; a step left without a command
// says why in its comment.
func TestFixScript(t *testing.T) {
	for _, r := range hostile.Reports() {
		blocks, n := fixScriptBlocks(r.Report, r.ID)
		if len(blocks) > MaxBlocks {
			t.Fatalf("report %s: %d blocks", r.ID, len(blocks))
		}
		shells := shellsOf(r)
		seen := map[string]bool{}
		shell, comment := triage.ShellPowerShell, "# "
		notShown, omitted, shown := 0, 0, 0
		for _, b := range blocks {
			text := b.(*slack.SectionBlock).Text.Text
			if !strings.HasPrefix(text, "```") {
				switch {
				case strings.HasPrefix(text, "*T-SQL*"):
					shell, comment = triage.ShellTSQL, "-- "
				case strings.HasPrefix(text, "*sh*"):
					shell, comment = triage.ShellSh, "# "
				default:
					t.Fatalf("report %s: block %q is neither code nor a shell's label", r.ID, text)
				}
				continue
			}
			m := codeBlock.FindStringSubmatch(text)
			if m == nil || m[0] != text {
				t.Fatalf("report %s: block %q is not one code block", r.ID, text)
			}
			for _, l := range strings.Split(Unescape(m[1]), "\n") {
				switch {
				case l == "":
				case strings.HasPrefix(l, comment):
					if strings.Contains(l, "`") {
						t.Errorf("report %s: comment %q holds a backquote", r.ID, l)
					}
					if strings.Contains(l, "Not shown: the command does not fit") {
						notShown++
					}
					if strings.Contains(l, "The command is left out: ") {
						omitted++
					}
				default:
					if shells[l] != shell {
						t.Errorf("report %s: line %q in the %s section is no %s command of the report", r.ID, l, shell, shell)
						continue
					}
					if err := r.Check(shell, l); err != nil {
						t.Errorf("report %s: Fix script: %v", r.ID, err)
					}
					seen[l] = true
					shown++
				}
			}
		}
		if len(seen) != len(shells)-notShown || n != shown {
			t.Errorf("report %s: the script shows %d commands, %d different (says %d), %d not shown; the report has %d different", r.ID, shown, len(seen), n, notShown, len(shells))
		}
		wantOmitted := 0
		for _, f := range r.Findings {
			for _, s := range f.Remediation {
				if s.Omitted != "" {
					wantOmitted++
				}
			}
		}
		if omitted != wantOmitted {
			t.Errorf("report %s: %d comments say a command was left out; the report left out %d", r.ID, omitted, wantOmitted)
		}
	}
}

// TestFixScriptHidesUntypedCommands: a stored report from before commands had a
// shell shows none of them, and says why.
func TestFixScriptHidesUntypedCommands(t *testing.T) {
	rep := triage.Report{ID: "old", Host: "sqlhost01", Findings: []triage.Finding{{Cause: triage.SPNDuplicate,
		Remediation: []triage.Step{{Text: "Remove the SPN", Command: `setspn -D MSSQLSvc/h:1433 CORP\svc & shutdown /s /t 0`}}}}}
	blocks, n := fixScriptBlocks(rep, rep.ID)
	text := blocks[0].(*slack.SectionBlock).Text.Text
	if n != 0 || strings.Contains(text, "shutdown") || !strings.Contains(text, "stored without the shell of its command") {
		t.Errorf("Fix script of an old report: %d commands, %q", n, text)
	}
}

// shellsOf returns the report's commands and their shells.
func shellsOf(r hostile.Report) map[string]triage.Shell {
	out := map[string]triage.Shell{}
	for _, s := range r.Commands() {
		out[s.Command] = s.Shell
	}
	return out
}
