package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// load returns the stored report id, or tells the user it is not there.
func (b *Bot) load(ctx context.Context, req Request, id string) (store.Record, bool) {
	sctx, cancel := storeCtx(ctx)
	defer cancel()
	rec, err := b.o.Store.Report(sctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		b.audit(req, describe(req), "rejected", "no report "+id)
		b.tell(ctx, req, Reply{Text: fmt.Sprintf("There is no report `%s`. Reports are kept for a limited time; `history HOST` lists a host's recent ones.", id)})
		return rec, false
	case err != nil:
		b.audit(req, describe(req), "error", err.Error())
		b.log.Error("report not loaded", "report", id, "err", err)
		b.tell(ctx, req, Reply{Text: fmt.Sprintf(":x: I could not read report `%s` from my store. Try again shortly.", id)})
		return rec, false
	}
	return rec, true
}

// show posts a stored report again, as a new thread in the channel where it was
// asked for.
func (b *Bot) show(ctx context.Context, req Request, id string) {
	rec, ok := b.load(ctx, req, id)
	if !ok {
		return
	}
	if ts, err := b.postThread(ctx, rec.Report, req.Channel, "", req.ThreadTS, b.log.With("report", id)); ts == "" {
		b.audit(req, describe(req), "error", "could not post: "+errorText(err))
		b.tell(ctx, req, cannotPost(req.Channel, err))
		return
	} else if err != nil {
		b.tell(ctx, req, Reply{Text: fmt.Sprintf(":warning: Part of report `%s` could not be posted (%s).", id, esc(errorText(err)))})
	}
	b.audit(req, "show "+id, "ok", id)
}

// share posts a compact card of a stored report to channel, with a link to the
// report's thread.
func (b *Bot) share(ctx context.Context, req Request, id, channel string) {
	rec, ok := b.load(ctx, req, id)
	if !ok {
		return
	}
	link := ""
	if rec.Channel != "" && rec.ThreadTS != "" {
		pctx, cancel := b.postCtx(ctx)
		err := b.call(pctx, "chat.getPermalink", func(ctx context.Context) error {
			var err error
			link, err = b.o.API.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: rec.Channel, Ts: rec.ThreadTS})
			return err
		})
		cancel()
		if err != nil {
			b.log.Warn("permalink not found; sharing without it", "report", id, "err", err)
		}
	}
	if _, err := b.post(ctx, channel, "", shareCard(rec.Report, req.User, link)); err != nil {
		b.audit(req, "share "+id+" <#"+channel+">", "error", errorText(err))
		b.tell(ctx, req, cannotPost(channel, err))
		return
	}
	b.audit(req, "share "+id+" <#"+channel+">", "ok", id)
	b.tell(ctx, req, Reply{Text: fmt.Sprintf(":white_check_mark: Shared report `%s` to <#%s>.", id, channel)})
}

// shareCard is the compact card share posts: status, host, verdict, who shared it
// and the link to the thread.
func shareCard(rep triage.Report, user, link string) Message {
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
			section(fmt.Sprintf("%s *%s* · *%s* · %s", emoji, word, esc(oneLine(rep.Host)), esc(v))),
			slack.NewContextBlock("", mrkdwn(fmt.Sprintf("shared by <@%s> · report %s · %s", user, rep.ID, where))),
		},
	}
}

// history tells the user a host's recent reports and since when its current
// causes have been seen.
func (b *Bot) history(ctx context.Context, req Request, host string) {
	sctx, cancel := storeCtx(ctx)
	defer cancel()
	entries, err := b.o.Store.History(sctx, host, 10)
	if err != nil {
		b.audit(req, "history "+host, "error", err.Error())
		b.tell(ctx, req, Reply{Text: ":x: I could not read the history from my store. Try again shortly."})
		return
	}
	if len(entries) == 0 {
		b.audit(req, "history "+host, "ok", "")
		b.tell(ctx, req, Reply{Text: fmt.Sprintf("I have no reports of *%s* yet. `check %s` makes one.", esc(host), esc(host))})
		return
	}
	lines := []string{fmt.Sprintf("*History of %s*, newest first:", esc(host))}
	for _, e := range entries {
		emoji, word := statusLook(e.Status)
		causes := "no problem"
		if len(e.Causes) > 0 {
			names := make([]string, len(e.Causes))
			for i, c := range e.Causes {
				names[i] = string(c)
			}
			causes = esc(oneLine(strings.Join(names, ", ")))
		}
		lines = append(lines, fmt.Sprintf("%s %s · %s · %s · `%s`", emoji, e.StartedAt.UTC().Format("Jan 2 15:04 UTC"), word, causes, e.ReportID))
	}
	if causes := entries[0].Causes; len(causes) > 0 {
		lines = append(lines, "*Seen since:*")
		for _, c := range causes {
			since, ok, err := b.o.Store.Since(sctx, host, c)
			if err != nil || !ok {
				continue
			}
			lines = append(lines, fmt.Sprintf("• %s since %s (%s)", esc(string(c)), since.UTC().Format("Jan 2 15:04 UTC"), timeAgo(b.o.Now().Sub(since))))
		}
	}
	lines = append(lines, "`show ID` posts a report again.")
	b.audit(req, "history "+host, "ok", "")
	b.tell(ctx, req, Reply{Text: "History of " + host, Blocks: chunkSections(lines, "")})
}

// rawEvidence tells the user every evidence item of a stored report, as recorded,
// each on one line with control, bidirectional and invisible characters escaped
// (oneLine).
func (b *Bot) rawEvidence(ctx context.Context, req Request, id string) {
	rec, ok := b.load(ctx, req, id)
	if !ok {
		return
	}
	var lines []string
	for _, f := range rec.Report.Findings {
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
	b.audit(req, describe(req), "ok", id)
	b.tell(ctx, req, Reply{Text: "Raw evidence of report " + id, Blocks: chunkSections(lines, "```")})
}

// fixScript tells the user the report's remediation commands as one PowerShell
// script, each under a comment saying which finding and step it belongs to; the
// commands of other shells (T-SQL, sh on Linux) follow in sections of their own,
// labelled with where to run them, so that pasting the script into PowerShell runs
// no line written for another interpreter.
func (b *Bot) fixScript(ctx context.Context, req Request, id string) {
	rec, ok := b.load(ctx, req, id)
	if !ok {
		return
	}
	blocks, n := fixScriptBlocks(rec.Report, id)
	b.audit(req, describe(req), "ok", id)
	if n == 0 {
		b.tell(ctx, req, Reply{Text: fmt.Sprintf("Report `%s` has no commands to run.", id), Blocks: blocks})
		return
	}
	b.tell(ctx, req, Reply{Text: "Fix script of report " + id, Blocks: blocks})
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
				if _, cut := clip(escCode(s.Command), budget{maxText, maxText * 6}); cut || !codeSafe(s.Command) {
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

// export attaches the whole report as a Markdown file, for a ticket, to the
// report's thread (or, for a report that has none, where it was asked for).
func (b *Bot) export(ctx context.Context, req Request, id string) {
	rec, ok := b.load(ctx, req, id)
	if !ok {
		return
	}
	channel, thread := rec.Channel, rec.ThreadTS
	if channel == "" {
		channel, thread = req.Channel, req.ThreadTS
	}
	if err := b.upload(ctx, channel, thread, rec.Report); err != nil {
		b.audit(req, describe(req), "error", errorText(err))
		b.tell(ctx, req, cannotPost(channel, err))
		return
	}
	b.audit(req, describe(req), "ok", id)
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
			l = escCode(l)
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
