package slackrender

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/internal/display"
	"github.com/authtriage/authtriage/triage"
)

// TestThreadProperties renders reports of every size, from none to 200 findings,
// evidence texts up to 20 KB, hundreds of clients, long and multi-line commands,
// and text full of markup, control characters and non-Latin scripts, and checks the
// properties every thread must have (see checkThread).
func TestThreadProperties(t *testing.T) {
	n := 150
	if testing.Short() || raceEnabled {
		n = 40
	}
	for seed := range uint64(n) {
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		rep := randomReport(r)
		opt := ThreadOptions{Buttons: r.IntN(2) == 0, Progress: r.IntN(5) == 0}
		if r.IntN(3) == 0 {
			opt.MaxMessages = r.IntN(30)
		}
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			msgs, err := Thread(rep, opt)
			if err != nil {
				t.Fatalf("Thread(%d findings, %+v): %v", len(rep.Findings), opt, err)
			}
			checkThread(t, rep, opt, msgs)
		})
	}
}

// checkThread checks what every thread must satisfy:
//   - at most opt.MaxMessages messages (at least 3), each passing Validate;
//   - every message ends with a context block that starts with the report ID;
//   - every mrkdwn text is escaped: no < or > but around our own links, no & but
//     in an escape, and code fences in pairs;
//   - Truncated is set on the last message only;
//   - every finding's cause is in the thread, or Truncated is set and Markdown has it;
//   - when not Truncated, every summary, evidence text and command line is in the thread;
//   - Markdown has every cause and every command, exactly.
func checkThread(t *testing.T, rep triage.Report, opt ThreadOptions, msgs []Message) {
	t.Helper()
	limit := opt.MaxMessages
	if limit == 0 {
		limit = DefaultMaxMessages
	}
	limit = max(limit, 3)
	if len(msgs) < 2 || len(msgs) > limit {
		t.Errorf("%d messages; want 2 to %d", len(msgs), limit)
	}
	id, _ := clip(oneLine(rep.ID), budget{64, 200})
	idRef := "Report " + codeSpan(id)
	for i, m := range msgs {
		if err := Validate(m); err != nil {
			t.Errorf("message %d: %v", i, err)
		}
		if len(m.Blocks) == 0 {
			t.Fatalf("message %d has no blocks", i)
		}
		ctx, ok := m.Blocks[len(m.Blocks)-1].(*slack.ContextBlock)
		if !ok || len(ctx.ContextElements.Elements) == 0 {
			t.Errorf("message %d does not end with a context block", i)
		} else if el, ok := ctx.ContextElements.Elements[0].(*slack.TextBlockObject); !ok || el.Text != idRef {
			t.Errorf("message %d: context starts with %+v; want %q", i, ctx.ContextElements.Elements[0], idRef)
		}
		for _, o := range mrkdwnObjects(m) {
			if !o.Verbatim {
				t.Errorf("message %d: mrkdwn text not verbatim, so Slack would parse mentions in it: %q", i, abbrev(o.Text))
			}
		}
		for _, s := range mrkdwnTexts(m) {
			if err := checkMrkdwn(s); err != nil {
				t.Errorf("message %d: %v in %q", i, err, abbrev(s))
			}
		}
		if m.Truncated && i != len(msgs)-1 {
			t.Errorf("message %d of %d is Truncated; only the last may be", i, len(msgs))
		}
		if err := checkMrkdwn(m.Text); err != nil {
			t.Errorf("message %d text: %v in %q", i, err, abbrev(m.Text))
		}
	}
	truncated := msgs[len(msgs)-1].Truncated
	all := allText(msgs)
	md := Markdown(rep)
	for i, f := range rep.Findings {
		cause := oneLine(string(f.Cause))
		if !strings.Contains(md, cause) {
			t.Errorf("finding %d: cause %q not in Markdown", i, abbrev(cause))
		}
		if !strings.Contains(all, cause) && !truncated {
			t.Errorf("finding %d: cause %q not in the thread, and the thread is not Truncated", i, abbrev(cause))
		}
		for j, st := range f.Remediation {
			if cmd := strings.Trim(display.Text(st.Command), "\n"); !strings.Contains(md, indentLines(cmd, "   ")) {
				t.Errorf("finding %d step %d: command %q not in Markdown", i, j, abbrev(cmd))
			}
		}
		if truncated {
			continue
		}
		if s := oneLine(f.Summary); !strings.Contains(all, s) {
			t.Errorf("finding %d: summary %q not in the thread, which is not Truncated", i, abbrev(s))
		}
		for j, e := range f.Evidence {
			text, _ := evidenceText(e.Text)
			for _, l := range strings.Split(text, "\n") {
				if !strings.Contains(all, l) {
					t.Errorf("finding %d evidence %d: %q not in the thread, which is not Truncated", i, j, abbrev(l))
				}
			}
		}
		for j, st := range f.Remediation {
			for _, l := range strings.Split(strings.Trim(display.Text(st.Command), "\n"), "\n") {
				if !strings.Contains(all, l) {
					t.Errorf("finding %d step %d: command line %q not in the thread, which is not Truncated", i, j, abbrev(l))
				}
			}
		}
	}
}

// mrkdwnTexts returns the mrkdwn texts of a message.
func mrkdwnTexts(m Message) []string {
	var out []string
	for _, o := range mrkdwnObjects(m) {
		out = append(out, o.Text)
	}
	return out
}

// mrkdwnObjects returns the mrkdwn text objects of a message.
func mrkdwnObjects(m Message) []*slack.TextBlockObject {
	var out []*slack.TextBlockObject
	add := func(t *slack.TextBlockObject) {
		if t != nil && t.Type == slack.MarkdownType {
			out = append(out, t)
		}
	}
	for _, b := range m.Blocks {
		switch b := b.(type) {
		case *slack.SectionBlock:
			add(b.Text)
			for _, f := range b.Fields {
				add(f)
			}
		case *slack.ContextBlock:
			for _, e := range b.ContextElements.Elements {
				if t, ok := e.(*slack.TextBlockObject); ok {
					add(t)
				}
			}
		}
	}
	return out
}

// allText returns every text of the thread as the reader sees its characters:
// plain text as is, mrkdwn with its escapes undone.
func allText(msgs []Message) string {
	var b strings.Builder
	for _, m := range msgs {
		for _, blk := range m.Blocks {
			if h, ok := blk.(*slack.HeaderBlock); ok {
				b.WriteString(h.Text.Text + "\n")
			}
		}
		for _, s := range mrkdwnTexts(m) {
			b.WriteString(strings.ReplaceAll(Unescape(s), "\u200b", "") + "\n")
		}
	}
	return b.String()
}

// checkMrkdwn reports text that Slack would read as markup we did not write.
func checkMrkdwn(s string) error {
	if n := strings.Count(s, "```"); n%2 != 0 {
		return fmt.Errorf("%d code fences (unbalanced)", n)
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '<':
			j := strings.IndexByte(s[i:], '>')
			if j < 0 {
				return fmt.Errorf("raw '<' at %d that is not one of our links", i)
			}
			// <URL> or <URL|label>, with a label that is escaped text.
			url, label, labeled := strings.Cut(s[i+1:i+j], "|")
			if !linkable(url) || labeled && (label == "" || checkMrkdwn(label) != nil) {
				return fmt.Errorf("raw '<' at %d that is not one of our links", i)
			}
			i += j
		case '>':
			return fmt.Errorf("raw '>' at %d", i)
		case '&':
			rest := s[i:]
			if !strings.HasPrefix(rest, "&amp;") && !strings.HasPrefix(rest, "&lt;") && !strings.HasPrefix(rest, "&gt;") {
				return fmt.Errorf("raw '&' at %d", i)
			}
		}
	}
	return nil
}

func abbrev(s string) string {
	if len(s) > 120 {
		return s[:120] + "..."
	}
	return s
}

// randomReport makes a report of a random size class: most are small, some have
// hundreds of findings, some have huge evidence and commands.
func randomReport(r *rand.Rand) triage.Report {
	class := r.IntN(10) // 0-5 small, 6-7 many findings, 8-9 huge texts
	rep := triage.Report{
		ID:        randomID(r),
		Host:      pick(r, []string{"sqlhost01", "sqlhost01.corp.example", randText(r, 300), ""}),
		Status:    pick(r, []triage.Status{triage.StatusOK, triage.StatusWarning, triage.StatusCritical, triage.StatusUnknown, "weird<&>"}),
		StartedAt: time.Date(2026, 11, 25, 7, 0, 0, 0, time.FixedZone("", 3600*(r.IntN(25)-12))),
		Duration:  time.Duration(r.IntN(100000)) * time.Millisecond,
	}
	nFindings := r.IntN(6)
	switch class {
	case 6, 7:
		nFindings = r.IntN(201)
	case 8, 9:
		nFindings = r.IntN(12)
	}
	causes := triage.Causes()
	for range nFindings {
		f := triage.Finding{Severity: triage.Severity(r.IntN(5) - (r.IntN(20) / 19))}
		if r.IntN(4) == 0 {
			f.Cause = triage.CauseID(randText(r, 200))
		} else {
			c := causes[r.IntN(len(causes))]
			f.Cause, f.Title, f.Links = c.ID, c.Title, c.Links
			f.Remediation = nil
			for _, s := range c.Fix {
				f.Remediation = append(f.Remediation, s.Template())
			}
		}
		f.Summary = randText(r, sizeFor(r, class, 400, 5000))
		for range r.IntN(4) + r.IntN(2)*r.IntN(30) {
			e := triage.Evidence{
				Source: triage.SourceErrorlog,
				Text:   randText(r, sizeFor(r, class, 300, 20000)),
				Count:  r.IntN(3) * r.IntN(1000),
			}
			if r.IntN(2) == 0 {
				e.Time = rep.StartedAt.Add(-time.Duration(r.IntN(100000)) * time.Second)
				e.First = e.Time.Add(-time.Duration(r.IntN(100000)) * time.Second)
			}
			for range r.IntN(3) * r.IntN(150) {
				e.Clients = append(e.Clients, pick(r, []string{"10.0.0.1", "fe80::1%eth0", randText(r, sizeFor(r, class, 20, 200))}))
			}
			e.MoreClients = r.IntN(3) * r.IntN(500)
			f.Evidence = append(f.Evidence, e)
		}
		for range r.IntN(3) * r.IntN(12) {
			f.Remediation = append(f.Remediation, triage.Step{Text: randText(r, sizeFor(r, class, 200, 3000)), Command: randCommand(r, class)})
		}
		for range r.IntN(3) * r.IntN(8) {
			f.Links = append(f.Links, pick(r, []string{"https://learn.microsoft.com/x", "https://example.com/a|b", randText(r, 100)}))
		}
		rep.Findings = append(rep.Findings, f)
	}
	for range r.IntN(3) * r.IntN(40) {
		rep.Checks = append(rep.Checks, triage.CheckResult{
			Name:     pick(r, []string{"errorlog", "spn", randText(r, 100)}),
			Status:   pick(r, []triage.CheckStatus{triage.CheckPass, triage.CheckWarn, triage.CheckFail, triage.CheckError, triage.CheckSkipped, "odd"}),
			Duration: time.Duration(r.IntN(10000)) * time.Millisecond,
			Detail:   randText(r, sizeFor(r, class, 200, 5000)),
		})
	}
	return rep
}

func randomID(r *rand.Rand) string {
	switch r.IntN(8) {
	case 0:
		return randText(r, 255)
	case 1:
		return "a<b>&c`d"
	}
	return triage.NewID()
}

func sizeFor(r *rand.Rand, class, small, huge int) int {
	if class >= 8 && r.IntN(3) == 0 {
		return huge
	}
	return small
}

// randCommand returns a command: short, long on one line, long on many lines, or
// with backquotes.
func randCommand(r *rand.Rand, class int) string {
	switch r.IntN(6) {
	case 0:
		return ""
	case 1:
		return "setspn -S MSSQLSvc/sqlhost01.corp.example:1433 CORP\\svc_sql && klist get <SPN>"
	case 2:
		return strings.Repeat("x", sizeFor(r, class, 100, 9000)) // one very long line
	case 3:
		var lines []string
		for range r.IntN(sizeFor(r, class, 10, 300)) {
			lines = append(lines, "Set-ADUser svc -Replace @{a='"+randText(r, 60)+"'} `")
		}
		return strings.Join(lines, "\n")
	case 4:
		return "Write-Host ```" + randText(r, 50)
	}
	return randText(r, 300)
}

// pieces of text chosen to stress escaping and measuring.
var textPieces = []string{
	"a", "SSPI", " ", " ", "\n", "\r\n", "\t", "<", ">", "&", "&amp;", "<!channel>", "<@U123>", "<http://x|y>",
	"*", "_", "~", "`", "```", "🔴", "漢字", "é", "\x00", "\x1b[31m", "\u202e", "\u2028", "\xff\xfe", `"`, `\`,
	"|", ":x:", "CORP\\svc_sql", "0x80090311",
}

// randText returns up to max bytes (roughly) of text made of textPieces.
func randText(r *rand.Rand, max int) string {
	n := r.IntN(max + 1)
	var b strings.Builder
	for b.Len() < n {
		if r.IntN(3) == 0 {
			b.WriteString(textPieces[r.IntN(len(textPieces))])
		} else {
			b.WriteString(strings.Repeat(string(rune('a'+r.IntN(26))), 1+r.IntN(8)))
		}
	}
	return b.String()
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }
