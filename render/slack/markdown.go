package slackrender

import (
	"fmt"
	"slices"
	"strings"

	"github.com/authtriage/authtriage/internal/display"
	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/render"
	"github.com/authtriage/authtriage/triage"
)

// Markdown returns the whole report as Markdown, nothing shortened or left out: every
// finding with all its evidence and clients, every fix step with its command exactly
// as given (in a fence longer than any run of backquotes in it), every link, the
// second hop's paths with what the directory and the KDC said of each when the
// report has them, the failures per hour when the report has a trend, and every
// check. It is the file the bot attaches to a thread Thread had to shorten (see
// Message.Truncated and MarkdownFileName).
//
// Report text is written as is, except that control, bidirectional and invisible
// characters are escaped as package display says (\x1b, \u202e), characters
// Markdown would read as markup (\ ` * < [ ]) are escaped with a backslash, and
// line breaks in one-line fields are folded.
func Markdown(rep triage.Report) string {
	var b strings.Builder
	fw := factWriter{zone: render.DisplayZone(rep)}
	fs := slices.Clone(rep.Findings)
	sortWorstFirst(fs)

	_, word := statusLook(rep.Status)
	fmt.Fprintf(&b, "# %s: %s\n\n", word, mdText(rep.Host))
	fmt.Fprintf(&b, "Report %s", mdCode(oneLine(rep.ID)))
	if !rep.StartedAt.IsZero() {
		fmt.Fprintf(&b, ", started %s", rep.StartedAt.In(fw.zone).Format(timeLayout))
	}
	if rep.Duration > 0 {
		fmt.Fprintf(&b, ", took %s", human.Elapsed(rep.Duration))
	}
	fmt.Fprintf(&b, ": %s.\n\n", render.CountBySeverity(fs))
	switch {
	case len(fs) > 0:
		fmt.Fprintf(&b, "%s\n\n", mdText(fs[0].Summary))
	case rep.Status == triage.StatusOK:
		b.WriteString("No authentication problem found in the evidence read.\n\n")
	}
	incomplete := false
	for _, c := range rep.Checks {
		if c.Status == triage.CheckError {
			fmt.Fprintf(&b, "- Incomplete: check %s could not run: %s\n", mdCode(oneLine(c.Name)), mdText(c.Detail))
			incomplete = true
		}
	}
	if incomplete {
		b.WriteString("\n")
	}

	for i, f := range fs {
		fmt.Fprintf(&b, "## %d. %s (%s)\n\n", i+1, mdCode(oneLine(string(f.Cause))), mdText(f.Severity.String()))
		if s := oneLine(f.Summary); s != "" {
			fmt.Fprintf(&b, "%s\n\n", mdText(s))
		}
		if s := oneLine(f.Title); s != "" {
			fmt.Fprintf(&b, "What it means: %s\n\n", mdText(s))
		}
		if len(f.Evidence) > 0 {
			b.WriteString("### Evidence\n\n")
			for _, e := range f.Evidence {
				text := strings.Trim(display.Text(e.Text), "\n")
				fmt.Fprintf(&b, "- %s\n", indentLines(mdBlock(text), "  "))
				if facts := fw.plain(e); facts != "" {
					fmt.Fprintf(&b, "  %s\n", mdText(facts))
				}
			}
			b.WriteString("\n")
		}
		if len(f.Remediation) > 0 {
			b.WriteString("### Fix\n\n")
			for j, st := range f.Remediation {
				if j > 0 {
					b.WriteString("\n")
				}
				fmt.Fprintf(&b, "%d. %s\n", j+1, mdText(st.Text))
				if st.Command != "" {
					cmd := strings.Trim(display.Text(st.Command), "\n")
					fence := mdFence(cmd)
					fmt.Fprintf(&b, "\n   %s\n   %s\n   %s\n", fence, indentLines(cmd, "   "), fence)
				}
			}
			b.WriteString("\n")
		}
		if len(f.Links) > 0 {
			b.WriteString("### Learn more\n\n")
			for _, l := range f.Links {
				if linkable(l) {
					fmt.Fprintf(&b, "- <%s>\n", l)
				} else {
					fmt.Fprintf(&b, "- %s\n", mdText(l))
				}
			}
			b.WriteString("\n")
		}
	}

	markdownSecondHop(&b, rep)
	if span, lines := render.TrendLines(rep.Trend, fw.zone); len(lines) > 0 {
		fmt.Fprintf(&b, "## Failures per hour\n\nIn ERRORLOG, %s, one character an hour:\n\n```\n%s\n```\n\n", mdText(span), strings.Join(lines, "\n"))
	}

	b.WriteString("## Checks\n\n")
	if len(rep.Checks) == 0 {
		b.WriteString("No checks ran.\n")
		return b.String()
	}
	b.WriteString("| Check | Status | Time | Detail |\n|---|---|---|---|\n")
	for _, c := range rep.Checks {
		took := "-"
		if c.Duration > 0 {
			took = human.Elapsed(c.Duration)
		}
		detail := c.Detail
		if via := c.Via(); via != "" {
			detail = strings.TrimSuffix(via+": "+detail, ": ")
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCell(c.Name), mdCell(string(c.Status)), took, mdCell(detail))
	}
	return b.String()
}

// mdEscape escapes the characters Markdown would read as markup: ` * < [ ], and a
// backslash before ASCII punctuation (elsewhere a backslash is itself, as in
// CORP\svc_sql).
func mdEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.IndexByte("`*<[]", c) >= 0:
			b.WriteByte('\\')
		case c == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]):
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}

// mdText writes one line of report text.
func mdText(s string) string { return mdEscape(oneLine(s)) }

// mdBlock writes report text that may span lines; a line that Markdown would read as
// a heading, quote, list item or rule is kept a plain line with a backslash.
func mdBlock(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = mdEscape(strings.TrimRight(l, " \t"))
		t := strings.TrimLeft(l, " \t")
		if t != "" && strings.ContainsRune("#>-+=_", rune(t[0])) {
			l = l[:len(l)-len(t)] + `\` + t
		}
		lines[i] = l
	}
	return strings.Join(lines, "\n")
}

// mdCell writes report text for a table cell.
func mdCell(s string) string {
	return strings.ReplaceAll(mdText(s), "|", `\|`)
}

// mdCode writes s as inline code, with as many backquotes around it as it needs.
func mdCode(s string) string {
	if s == "" {
		return "(none)"
	}
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	f := strings.Repeat("`", longestRun(s, '`')+1)
	return f + " " + s + " " + f
}

// mdFence returns a code fence longer than any run of backquotes in s.
func mdFence(s string) string {
	return strings.Repeat("`", max(3, longestRun(s, '`')+1))
}

func longestRun(s string, c byte) int {
	best, n := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			n++
			best = max(best, n)
		} else {
			n = 0
		}
	}
	return best
}
