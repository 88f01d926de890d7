package slackrender

import (
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// The select a Share click offers: its action ID, and its block ID's prefix (the
// rest is the report ID). Like the buttons' action IDs, they are a contract with
// the bot's interaction handlers.
const (
	ActionShareTo    = "share_to"
	ShareBlockPrefix = "share:"
)

// Notice is a message of one section: text is its notification fallback and body
// the section's mrkdwn, both escaped by the caller.
func Notice(text, body string) Message {
	return Message{Text: text, Blocks: []slack.Block{section(body)}}
}

// Progress is the parent of a thread whose triage runs: done of total checks have
// finished (total 0: not known yet).
func Progress(id, host string, started time.Time, done, total int) Message {
	text := fmt.Sprintf(":hourglass_flowing_sand: Checking *%s*…", Escape(host))
	if total > 0 {
		text += fmt.Sprintf(" %d of %d checks finished.", done, total)
	}
	return Message{
		Text: "Checking " + Escape(host) + "…",
		Blocks: []slack.Block{
			section(text),
			slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType,
				fmt.Sprintf("report %s · started %s UTC", id, started.UTC().Format("15:04:05")), false, false)),
		},
	}
}

// ShareCard is the compact card a shared report gets: status, host, verdict, who
// shared it (a Slack user ID) and a link to the report's thread ("" for none).
func ShareCard(rep triage.Report, user, link string) Message {
	emoji, word := statusLook(rep.Status)
	verdict := "No authentication problem found."
	if f, ok := rep.Worst(); ok {
		verdict = summaryOf(f)
	}
	v, _ := clip(oneLine(verdict), summaryBudget)
	where := fmt.Sprintf("`show %s` posts the whole report", rep.ID)
	if link != "" && linkable(link) {
		where = "<" + link + "|open the diagnosis thread>"
	}
	return Message{
		Text: fallback(word+" "+oneLine(rep.Host)+": ", verdict),
		Blocks: []slack.Block{
			section(fmt.Sprintf("%s *%s* · *%s* · %s", emoji, word, Escape(oneLine(rep.Host)), Escape(v))),
			slack.NewContextBlock("", mrkdwn(fmt.Sprintf("shared by <@%s> · report %s · %s", user, rep.ID, where))),
		},
	}
}

// ShareChooser asks which channel to share report id to: a conversations select
// (ActionShareTo) in a block whose ID is ShareBlockPrefix and the report ID.
func ShareChooser(id string) Message {
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeConversations, plain("Pick a channel"), ActionShareTo)
	sel.Filter = &slack.SelectBlockElementFilter{Include: []string{"public", "private"}, ExcludeBotUsers: true}
	return Message{
		Text: "Share report " + id + " to which channel?",
		Blocks: []slack.Block{
			section(fmt.Sprintf("Share report `%s` to which channel? The channel gets a short card that links to this thread.", id)),
			slack.NewActionBlock(ShareBlockPrefix+id, sel),
		},
	}
}

// NoFleetView is the Home tab of a user who may not see the fleet.
func NoFleetView() slack.HomeTabViewRequest {
	return slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewHeaderBlock(plain("authtriage")),
		section("The fleet's status is shown to those who may run `history`. Ask authtriage's owners for access (`access:` in its configuration). `/authtriage help` lists what you may run."),
	}}}
}

// History lists a host's recent reports, newest first as entries are, and since
// when each cause of the newest has been seen (since, by cause; a cause without a
// time is left out), as of now.
func History(host string, entries []store.Entry, since map[triage.CauseID]time.Time, now time.Time) Message {
	if len(entries) == 0 {
		return Message{Text: fmt.Sprintf("I have no reports of *%s* yet. `check %s` makes one.", Escape(host), Escape(host))}
	}
	lines := []string{fmt.Sprintf("*History of %s*, newest first:", Escape(host))}
	for _, e := range entries {
		emoji, word := statusLook(e.Status)
		causes := "no problem"
		if len(e.Causes) > 0 {
			names := make([]string, len(e.Causes))
			for i, c := range e.Causes {
				names[i] = string(c)
			}
			causes = Escape(oneLine(strings.Join(names, ", ")))
		}
		lines = append(lines, fmt.Sprintf("%s %s · %s · %s · `%s`", emoji, e.StartedAt.UTC().Format("Jan 2 15:04 UTC"), word, causes, e.ReportID))
	}
	if causes := entries[0].Causes; len(causes) > 0 {
		lines = append(lines, "*Seen since:*")
		for _, c := range causes {
			t, ok := since[c]
			if !ok {
				continue
			}
			lines = append(lines, fmt.Sprintf("• %s since %s (%s)", Escape(string(c)), t.UTC().Format("Jan 2 15:04 UTC"), timeAgo(now.Sub(t))))
		}
	}
	lines = append(lines, "`show ID` posts a report again.")
	return Message{Text: "History of " + host, Blocks: chunkSections(lines, "")}
}

// RawEvidence lists every evidence item of report rep (whose ID is id) as
// recorded, each on one line with control, bidirectional and invisible characters
// escaped (oneLine).
func RawEvidence(rep triage.Report, id string) Message {
	var lines []string
	for _, f := range rep.Findings {
		lines = append(lines, fmt.Sprintf("== %s (%s)", oneLine(string(f.Cause)), f.Severity))
		for _, e := range f.Evidence {
			line := "[" + oneLine(string(e.Source)) + "]"
			if !e.Time.IsZero() {
				line += " " + e.Time.UTC().Format(time.RFC3339)
			}
			if e.Count > 0 {
				line += fmt.Sprintf(" x%d", e.Count)
			}
			lines = append(lines, line+" "+oneLine(e.Text))
		}
	}
	if len(lines) == 0 {
		lines = []string{"(no findings, so no evidence)"}
	}
	return Message{Text: "Raw evidence of report " + id, Blocks: chunkSections(lines, "```")}
}

// FixScript is the report's remediation commands as one PowerShell script, each
// under a comment saying which finding and step it belongs to; the commands of
// other shells (T-SQL, sh on Linux) follow in sections of their own, labelled with
// where to run them, so that pasting the script into PowerShell runs no line
// written for another interpreter (see fixScriptBlocks).
func FixScript(rep triage.Report, id string) Message {
	blocks, n := fixScriptBlocks(rep, id)
	if n == 0 {
		return Message{Text: fmt.Sprintf("Report `%s` has no commands to run.", id), Blocks: blocks}
	}
	return Message{Text: "Fix script of report " + id, Blocks: blocks}
}

// A fixShell is a shell a Fix script has a section for: the comment marker of its
// language and, but for the script's own PowerShell, where to run it.
type fixShell struct {
	shell   triage.Shell
	comment string
	label   string
}

// fixShells returns the sections of a Fix script, in order: the script itself
// (PowerShell), then the other shells.
func fixShells() []fixShell {
	return []fixShell{
		{triage.ShellPowerShell, "#", ""},
		{triage.ShellCmd, "REM", "*cmd.exe*: run these in a Command Prompt, not in PowerShell."},
		{triage.ShellTSQL, "--", "*T-SQL*: run these in SQL Server Management Studio or sqlcmd, connected to the instance, not in PowerShell."},
		{triage.ShellSh, "#", "*sh*: run these in a shell on the Linux host of SQL Server, not in PowerShell."},
	}
}

// fixScriptBlocks returns the blocks of a report's Fix script and how many commands
// they hold; with no command, the blocks say which steps have none and why, and are
// nil when no step has anything to say. Every comment is one line of display text
// (oneLine, backquotes made quotes, so no comment can end a line or a code block); a
// step whose command was left out says why in its comment; a command that is not one
// shell's (a report stored before commands were quoted for their shell), or that a
// Slack code block cannot hold whole, is named in a comment and not shown, never cut
// or guessed at.
func fixScriptBlocks(rep triage.Report, id string) ([]slack.Block, int) {
	const maxText = MaxSectionText - 100
	// comment writes a step's text, shortened, and then what the script says of its
	// command, which is never cut off.
	comment := func(marker string, f triage.Finding, text, note string) string {
		t, _ := clipPlain(oneLine(string(f.Cause)+": "+text), 400)
		return marker + " " + strings.ReplaceAll(t+oneLine(note), "`", "'")
	}
	lines := map[triage.Shell][]string{}
	n := 0
	for _, f := range rep.Findings {
		for _, s := range f.Remediation {
			switch {
			case s.Omitted != "":
				note := ". The command is left out: " + s.Omitted
				lines[triage.ShellPowerShell] = append(lines[triage.ShellPowerShell], "", comment("#", f, strings.TrimSuffix(s.Text, note), note))
			case s.Command == "":
			case !knownShell(s.Shell):
				lines[triage.ShellPowerShell] = append(lines[triage.ShellPowerShell], "", comment("#", f, s.Text,
					". Not shown: the report was stored without the shell of its command; check the host again to get it"))
			default:
				marker := fixComment(s.Shell)
				if _, cut := clip(EscapeCode(s.Command), budget{maxText, maxText * 6}); cut || !codeSafe(s.Command) {
					lines[s.Shell] = append(lines[s.Shell], "", comment(marker, f, s.Text,
						". Not shown: the command does not fit a Slack code block whole; export the report to get it"))
					continue
				}
				n++
				lines[s.Shell] = append(lines[s.Shell], "", comment(marker, f, s.Text, ""), s.Command)
			}
		}
	}
	if n == 0 && len(lines) == 0 {
		return nil, 0
	}
	head := fmt.Sprintf("# authtriage report %s for %s: the fix commands for PowerShell. Review each command before running it.",
		strings.ReplaceAll(oneLine(id), "`", "'"), strings.ReplaceAll(oneLine(rep.Host), "`", "'"))
	var blocks []slack.Block
	for _, sh := range fixShells() {
		l := lines[sh.shell]
		if sh.shell == triage.ShellPowerShell {
			l = append([]string{head}, l...)
		} else if len(l) == 0 {
			continue
		} else {
			blocks = append(blocks, section(sh.label))
			l = l[1:] // the blank line before the first step
		}
		blocks = append(blocks, chunkSections(l, "```")...)
	}
	if len(blocks) > MaxBlocks {
		blocks = append(blocks[:MaxBlocks-1], section("…and more; `show ID` attaches the full report as a file when it is long."))
	}
	return blocks, n
}

// knownShell reports whether a Fix script has a section for sh.
func knownShell(sh triage.Shell) bool { return fixComment(sh) != "" }

// fixComment returns the comment marker of sh's language, or "" for a shell the Fix
// script does not know.
func fixComment(sh triage.Shell) string {
	for _, f := range fixShells() {
		if f.shell == sh {
			return f.comment
		}
	}
	return ""
}

// chunkSections puts lines into section blocks within Slack's limits, each
// wrapped in fence ("```" for code, "" for mrkdwn), with what does not fit in
// an ephemeral message's 50 blocks replaced by a note. Lines inside a fence are
// escaped for code; others must be mrkdwn already.
func chunkSections(lines []string, fence string) []slack.Block {
	const maxText = MaxSectionText - 100
	const maxBlocks = MaxBlocks - 1
	var blocks []slack.Block
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			blocks = append(blocks, section(fence+cur.String()+fence))
			cur.Reset()
		}
	}
	for i, l := range lines {
		if fence != "" {
			l = EscapeCode(l)
		}
		if c, _ := clip(l, budget{maxText, maxText * 6}); c != l {
			l = c
		}
		if cur.Len()+len(l)+1 > maxText {
			flush()
		}
		if len(blocks) == maxBlocks {
			blocks = append(blocks, section(fmt.Sprintf("…and %d more lines; `show ID` attaches the full report as a file when it is long.", len(lines)-i)))
			return blocks
		}
		if cur.Len() > 0 {
			cur.WriteByte('\n')
		}
		cur.WriteString(l)
	}
	flush()
	return blocks
}
