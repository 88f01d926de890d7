// Package slackrender writes what authtriage shows in Slack: a report as a thread of
// Block Kit messages (Thread), fleet summaries (SummaryThread), the App Home tab
// (HomeView) and the bot's cards and answers, all within Slack's limits (Validate);
// the same thread as JSON (BlocksJSON) and plain text (ThreadText), and the whole
// report as Markdown for a file (Markdown). It renders only; package bot posts.
package slackrender

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/internal/display"
	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/render"
	"github.com/authtriage/authtriage/triage"
)

// A Message is one Slack message of a thread.
type Message struct {
	// Text is the notification fallback: what Slack shows in notifications and
	// where blocks cannot be shown. It is mrkdwn, escaped, and short. Post it
	// without parse=full or link_names, so that report text in it stays text, and
	// with link unfurling off (the Learn links would unfurl otherwise).
	Text   string
	Blocks []slack.Block
	// Truncated is set on the last message of a thread when some of the report did
	// not fit into the thread or was shortened in it; the message then says that
	// the full report is attached. The bot should upload Markdown(rep) into the
	// thread as a file named MarkdownFileName(rep.ID).
	Truncated bool
}

// ThreadOptions control Thread.
type ThreadOptions struct {
	// Buttons adds the buttons Re-run, Share, Raw evidence, Fix script and Markdown to the
	// parent message (action IDs ActionRerun and so on, value the report ID).
	// They are left out while Progress is set: the report is not final yet.
	Buttons bool
	// Progress renders the parent as "checking": the triage is still running, and
	// the report holds the findings and checks that are in so far. The replies are
	// rendered for those, so a bot may post them as they come or use only the
	// parent and update it when the report is final.
	Progress bool
	// MaxMessages bounds the number of messages of the thread, parent included;
	// 0 means DefaultMaxMessages, and values below 3 count as 3. Each message is a
	// chat.postMessage call, and Slack allows about one a second in a channel.
	MaxMessages int
	// FrontEnds are the front ends of the second hops whose back end the report's
	// host is, with their latest reports, as the bot found them in its store; the
	// second-hop reply names them (see FrontEnd).
	FrontEnds []FrontEnd
	// Incidents are the incidents the report's host is part of, found with the
	// other hosts' recent reports; the parent says so, one line each (at most
	// maxIncidentRefs): "also seen on 12 hosts since 09:14, same DC dc2".
	Incidents []IncidentRef
}

// An IncidentRef is an incident a report's host is part of, and where it is
// shown.
type IncidentRef struct {
	Incident triage.Incident
	// Link is the permalink of the thread that shows the incident; "" names the
	// incident by its ID instead.
	Link string
}

// maxIncidentRefs bounds the incidents a thread's parent names.
const maxIncidentRefs = 3

// DefaultMaxMessages is the number of messages a thread has at most by default.
const DefaultMaxMessages = 20

// Action IDs of the parent's buttons. They are a contract with the bot's interaction
// handlers; each button's value is the report ID.
const (
	ActionRerun       = "rerun"
	ActionShare       = "share"
	ActionRawEvidence = "raw_evidence"
	ActionFixScript   = "fix_script"
	ActionExport      = "export"
)

// maxFindingMessages bounds the messages of one finding; the rest of a finding with
// that much evidence is in the attached report.
const maxFindingMessages = 4

// Thread renders a report as a Slack thread: the parent message first, then one reply
// per finding, worst first, then, when the report has delegation paths or opt has
// FrontEnds, a reply on the second hop, then a reply with how each check went. Every
// message carries the report ID in a context block at its end.
//
// The parent shows the status, the host and the verdict (the worst finding's
// summary), and, with opt.Buttons, the report's buttons. A finding's reply has a
// header with the cause and severity, the summary, the evidence (counts, first and
// last time, clients), each fix step with its command in a code block, and the
// Learn links. A finding too big for one message continues in the next, under the
// same header marked "continued".
//
// Report text reaches Slack escaped twice: control, bidirectional and invisible
// characters as package display says (\x1b, \u202e), then Slack's markup (Escape).
//
// Every message passes Validate. What does not fit (a thread longer than
// opt.MaxMessages, a finding longer than 4 messages, an evidence text longer than
// about 1500 characters, a command Slack cannot show) is shortened or left out with
// a note saying so, and the last message has Truncated set.
//
// It returns an error when the report has no ID, or an ID too long for a button
// value with opt.Buttons.
func Thread(rep triage.Report, opt ThreadOptions) ([]Message, error) {
	if rep.ID == "" {
		return nil, errors.New("report has no ID")
	}
	if opt.Buttons && textLen(rep.ID) > MaxButtonValue {
		return nil, fmt.Errorf("report ID is %d characters, too long for a button value", textLen(rep.ID))
	}
	limit := opt.MaxMessages
	if limit == 0 {
		limit = DefaultMaxMessages
	}
	limit = max(limit, 3)

	r := newRenderer(rep, opt)
	msgs := []Message{r.parent()}

	// The findings get what is left after the parent, the second-hop reply and the
	// checks reply; when they need more, the last of their slots lists the ones left
	// out. A thread too short for a second-hop reply of its own has it in the checks
	// reply.
	hop, hopAlone := r.secondHop(), false
	slots := limit - 2
	if hop != nil && slots > 1 {
		hopAlone = true
		slots--
	}
	var groups [][]Message
	total := 0
	for i, f := range r.findings {
		g := r.finding(i, f)
		groups = append(groups, g)
		total += len(g)
	}
	used, shown := 0, len(groups)
	if total > slots {
		for i, g := range groups {
			if used+len(g) > slots-1 {
				shown = i
				break
			}
			used += len(g)
		}
	}
	for _, g := range groups[:shown] {
		msgs = append(msgs, g...)
	}
	if shown < len(groups) {
		msgs = append(msgs, r.overflow(shown))
	}
	if hopAlone {
		msgs = append(msgs, r.secondHopMessage(hop))
		hop = nil
	}
	msgs = append(msgs, r.checks(hop))

	last := &msgs[len(msgs)-1]
	if r.truncated {
		last.Truncated = true
		r.addNote(last, r.threadNote)
	}
	var errs []error
	for i, m := range msgs {
		if err := Validate(m); err != nil {
			errs = append(errs, fmt.Errorf("message %d: %w", i, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("render report %s: %w", printable(rep.ID), err)
	}
	return msgs, nil
}

// MarkdownFileName returns the name under which the bot uploads Markdown(rep) for
// the report with this ID: "authtriage-7kq2m9xd.md".
func MarkdownFileName(id string) string {
	var b strings.Builder
	for _, r := range id {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
		if b.Len() >= 64 {
			break
		}
	}
	return "authtriage-" + b.String() + ".md"
}

// renderer holds what every message of a thread needs.
type renderer struct {
	rep      triage.Report
	opt      ThreadOptions
	findings []triage.Finding // worst first
	host     string           // mrkdwn, escaped
	idRef    string           // mrkdwn: Report `7kq2m9xd`
	facts    factWriter
	// threadNote is the note the last message gets when truncated is set.
	threadNote string
	truncated  bool
}

func newRenderer(rep triage.Report, opt ThreadOptions) *renderer {
	fs := slices.Clone(rep.Findings)
	sortWorstFirst(fs)
	r := &renderer{rep: rep, opt: opt, findings: fs, facts: factWriter{zone: render.DisplayZone(rep)}}
	host, cut := clip(oneLine(rep.Host), budget{253, 600})
	if host == "" {
		host = "(no host)"
	}
	r.host = Escape(host)
	id, cut2 := clip(oneLine(rep.ID), budget{64, 200})
	r.idRef = "Report " + codeSpan(id)
	r.truncated = cut || cut2
	r.threadNote = fmt.Sprintf(":page_facing_up: Not all of this report fits in Slack: the full report is in the attached file %s.",
		Escape(MarkdownFileName(rep.ID)))
	return r
}

// Budgets for the pieces of a message, chosen so that the largest message (context,
// fallback text, a continuation header, one full section and the notes) stays far
// below MaxMessageBytes: see TestThreadWorstCase.
var (
	sectionBudget  = budget{MaxSectionText, 6 << 10}
	segmentBudget  = budget{MaxSectionText - 100, 6<<10 - 200} // a section less room for a group title
	fallbackBudget = budget{300, 1000}
	summaryBudget  = budget{2000, 4000}
	evidenceBudget = budget{1500, 3000}
	clientBudget   = budget{64, 160}
	stepBudget     = budget{1000, 2000}
	detailBudget   = budget{300, 600}
)

const (
	maxEvidence = 20 // evidence items shown per finding
	maxClients  = 10 // clients shown per evidence item
	maxSteps    = 20
	maxLinks    = 10
)

func (r *renderer) context(extra ...string) *slack.ContextBlock {
	els := []slack.MixedElement{mrkdwn(r.idRef)}
	for _, e := range extra {
		if e != "" {
			els = append(els, mrkdwn(e))
		}
	}
	return slack.NewContextBlock("", els...)
}

// mrkdwn returns a mrkdwn text object marked verbatim, so that Slack does not link
// channel names or parse mentions in report text ("@here" in a log line); our own
// <URL> links still work (https://docs.slack.dev/reference/block-kit/composition-objects/text-object).
func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, true)
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, true, false)
}

func section(s string) *slack.SectionBlock { return slack.NewSectionBlock(mrkdwn(s), nil, nil) }

func header(s string) *slack.HeaderBlock {
	s, _ = clipPlain(s, MaxHeaderText)
	return slack.NewHeaderBlock(plain(s))
}

// clipPlain shortens plain text to max UTF-16 units, ending in "…" when it does.
func clipPlain(s string, max int) (string, bool) {
	if textLen(s) <= max {
		return s, false
	}
	n := 0
	for i, r := range s {
		if n+len16(r) > max-1 {
			return s[:i] + ellipsis, true
		}
		n += len16(r)
	}
	return s, false
}

func len16(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// fallback returns a notification text: mrkdwn, escaped, short.
func fallback(prefix, rawText string) string {
	t, _ := clip(oneLine(rawText), fallbackBudget.minus(measure(prefix)))
	if t == "" {
		return strings.TrimSuffix(strings.TrimSpace(prefix), ":")
	}
	return prefix + Escape(t)
}

func (r *renderer) parent() Message {
	rep := r.rep
	var blocks []slack.Block
	var text string
	if r.opt.Progress {
		blocks = append(blocks, section(fmt.Sprintf(":hourglass_flowing_sand: Checking *%s*…", r.host)))
		if len(r.findings) > 0 || len(rep.Checks) > 0 {
			blocks = append(blocks, section(fmt.Sprintf("So far: %s; %s finished.",
				render.CountBySeverity(r.findings), human.Count(len(rep.Checks), "check", "checks"))))
		}
		text = fallback("Checking "+r.host+"…", "")
	} else {
		emoji, word := statusLook(rep.Status)
		blocks = append(blocks, section(fmt.Sprintf("%s *%s* · *%s* · %s", emoji, word, r.host, render.CountBySeverity(r.findings))))
		verdict := ""
		switch {
		case len(r.findings) > 0:
			verdict = summaryOf(r.findings[0])
		case rep.Status == triage.StatusOK:
			verdict = "No authentication problem found in the evidence read."
		default:
			verdict = "No finding, but some checks could not run, so the verdict is incomplete."
		}
		v, cut := clip(oneLine(verdict), summaryBudget)
		r.truncated = r.truncated || cut
		blocks = append(blocks, section(Escape(v)))
		if lines := r.incomplete(); lines != "" {
			blocks = append(blocks, section(lines))
		}
		if lines := r.sharedIncidents(); lines != "" {
			blocks = append(blocks, section(lines))
		}
		text = fallback(word+" "+r.host+": ", verdict)
		if r.opt.Buttons {
			blocks = append(blocks, r.buttons())
		}
	}
	blocks = append(blocks, r.context(r.started(), r.took()))
	return Message{Text: text, Blocks: blocks}
}

// sharedIncidents says which of the report's causes other hosts have too, one
// line per incident: "`dc.unreachable` also seen on *12 other hosts* since 09:14
// UTC (all within one minute), same DC `dc2` — incident `k3…`", linked to its
// thread when the option has the link, else saying which command shows it.
// Incident times are in UTC, whatever the report's zone: its hosts may log in
// different ones.
func (r *renderer) sharedIncidents() string {
	var lines []string
	for i, ref := range r.opt.Incidents {
		if i == maxIncidentRefs {
			lines = append(lines, fmt.Sprintf("…and %d more incidents.", len(r.opt.Incidents)-i))
			break
		}
		inc := ref.Incident
		others := 0
		for _, h := range inc.Hosts {
			if !strings.EqualFold(h.Host, r.rep.Host) {
				others++
			}
		}
		cause, _ := clip(oneLine(string(inc.Cause)), causeBudget)
		line := fmt.Sprintf(":link: %s also seen on *%s*", codeSpan(cause), human.Count(others, "other host", "other hosts"))
		if s := sinceWords(inc, r.rep.StartedAt, time.UTC); s != "" {
			line += " " + s
		}
		if s := sharedWords(sharedBeyondTime(inc), time.UTC); s != "" {
			line += ", " + s
		}
		id, _ := clip(oneLine(inc.ID), reportIDBudget)
		if ref.Link != "" && linkable(ref.Link) && codeSpan(id) == "`"+id+"`" {
			line += " — <" + ref.Link + "|incident " + id + ">"
		} else {
			line += " — incident " + codeSpan(id) + ": `/authtriage incident` shows it"
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// incomplete lists the checks that could not run, which make a verdict incomplete.
func (r *renderer) incomplete() string {
	var lines []string
	n := 0
	for _, c := range r.rep.Checks {
		if c.Status != triage.CheckError {
			continue
		}
		n++
		if len(lines) == 5 {
			continue
		}
		name, _ := clip(oneLine(c.Name), budget{64, 160})
		detail, cut := clip(oneLine(c.Detail), detailBudget)
		r.truncated = r.truncated || cut
		lines = append(lines, fmt.Sprintf(":exclamation: Incomplete: check %s could not run: %s", codeSpan(name), Escape(detail)))
	}
	if n > len(lines) {
		lines = append(lines, fmt.Sprintf("…and %d more checks that could not run.", n-len(lines)))
	}
	return strings.Join(lines, "\n")
}

func (r *renderer) buttons() *slack.ActionBlock {
	id := r.rep.ID
	btn := func(action, label string) slack.BlockElement {
		return slack.NewButtonBlockElement(action, id, plain(label))
	}
	return slack.NewActionBlock("",
		btn(ActionRerun, "Re-run"),
		btn(ActionShare, "Share…"),
		btn(ActionRawEvidence, "Raw evidence"),
		btn(ActionFixScript, "Fix script"),
		btn(ActionExport, "Markdown"),
	)
}

func (r *renderer) started() string {
	if r.rep.StartedAt.IsZero() {
		return ""
	}
	return "started " + r.rep.StartedAt.In(r.facts.zone).Format(timeLayout)
}

func (r *renderer) took() string {
	if r.opt.Progress || r.rep.Duration <= 0 {
		return ""
	}
	return "took " + human.Elapsed(r.rep.Duration)
}

// finding renders finding i as one or more messages.
func (r *renderer) finding(i int, f triage.Finding) []Message {
	emoji := severityEmoji(f.Severity)
	cause, cut := clipPlain(oneLine(string(f.Cause)), 80)
	r.truncated = r.truncated || cut
	sev := oneLine(f.Severity.String())
	title := fmt.Sprintf("%s %s · %s", emoji, cause, sev)

	var content []slack.Block
	s, cut := clip(summaryOf(f), summaryBudget)
	r.truncated = r.truncated || cut
	content = append(content, section(Escape(s)))
	content = append(content, r.evidence(f)...)
	content = append(content, r.fix(f)...)
	content = append(content, r.links(f)...)

	c, _ := clip(oneLine(string(f.Cause)), budget{80, 200})
	fb := fallback(fmt.Sprintf("%s (%s): ", Escape(c), Escape(sev)), f.Summary)
	pos := fmt.Sprintf("finding %d of %d", i+1, len(r.findings))
	return r.pack(fb, header(title), header(title+" (continued)"), content, []string{r.host, pos}, maxFindingMessages,
		":page_facing_up: The rest of this finding is in the attached report.")
}

// pack puts content blocks into messages of at most MaxBlocks blocks and
// MaxMessageBytes bytes: the first starting with head, the following ones with cont
// (either may be nil), each ending with a context block. Each message keeps room for
// a note: when the content takes more than limit messages, the last one ends with
// note instead of the rest, and r.truncated is set; and the thread's last message
// may get r.threadNote (see Thread).
func (r *renderer) pack(text string, head, cont slack.Block, content []slack.Block, ctx []string, limit int, note string) []Message {
	ctxCont := r.context(append(slices.Clone(ctx), "continued")...)
	fixed := messageOverhead(text, ctxCont) + blockSize(section(note)) + blockSize(section(r.threadNote)) + 64
	var pages [][]slack.Block
	var cur []slack.Block
	var curBytes int
	hasContent := false
	newPage := func(first slack.Block) {
		cur, curBytes, hasContent = nil, fixed, false
		if first != nil {
			cur = append(cur, first)
			curBytes += blockSize(first)
		}
	}
	newPage(head)
	for _, b := range content {
		size := blockSize(b)
		// 3: the context block, a note and the thread's note.
		if hasContent && (len(cur)+1+3 > MaxBlocks || curBytes+size > MaxMessageBytes) {
			pages = append(pages, cur)
			newPage(cont)
		}
		cur = append(cur, b)
		curBytes += size
		hasContent = true
	}
	pages = append(pages, cur)
	if len(pages) > limit {
		pages = pages[:limit]
		pages[limit-1] = append(pages[limit-1], section(note))
		r.truncated = true
	}
	msgs := make([]Message, len(pages))
	for i, p := range pages {
		c := ctx
		if i > 0 {
			c = append(slices.Clone(ctx), "continued")
		}
		msgs[i] = Message{Text: text, Blocks: append(p, r.context(c...))}
	}
	return msgs
}

func blockSize(b slack.Block) int {
	j, err := json.Marshal(b)
	if err != nil {
		return MaxMessageBytes // never fits; Validate reports it
	}
	return len(j) + 1 // and a comma
}

// messageOverhead is the size of a message's JSON without its content blocks.
func messageOverhead(text string, blocks ...slack.Block) int {
	n, _ := messageSize(Message{Text: text, Blocks: blocks})
	return n
}

// sections joins lines (mrkdwn, each within segmentBudget) into sections of at most
// sectionBudget, the first starting with title.
func sections(title string, lines []string) []slack.Block {
	var out []slack.Block
	var b strings.Builder
	b.WriteString(title)
	used := measure(title)
	empty := true
	for _, l := range lines {
		sep := "\n"
		if b.Len() == 0 {
			sep = ""
		}
		c := measure(sep + l)
		if !empty && !sectionBudget.minus(used).fits(c) {
			out = append(out, section(b.String()))
			b.Reset()
			used, sep = budget{}, ""
			c = measure(l)
		}
		b.WriteString(sep + l)
		used.units += c.units
		used.bytes += c.bytes
		empty = false
	}
	if !empty {
		out = append(out, section(b.String()))
	}
	return out
}

func (r *renderer) evidence(f triage.Finding) []slack.Block {
	if len(f.Evidence) == 0 {
		return nil
	}
	var lines []string
	for i, e := range f.Evidence {
		if i == maxEvidence {
			lines = append(lines, fmt.Sprintf("…and %d more evidence items, in the attached report.", len(f.Evidence)-i))
			r.truncated = true
			break
		}
		text, cut := evidenceText(e.Text)
		r.truncated = r.truncated || cut
		t, cut := clip(text, evidenceBudget)
		r.truncated = r.truncated || cut
		line := "• " + indentLines(Escape(t), "   ")
		facts, cut := r.facts.mrkdwn(e)
		r.truncated = r.truncated || cut
		if facts != "" {
			line += "\n     " + facts
		}
		lines = append(lines, line)
	}
	return sections("*Evidence*", lines)
}

// maxEvidenceLines bounds the lines of an evidence text shown.
const maxEvidenceLines = 20

// evidenceText returns an evidence text ready to clip: through display.Text,
// without blank lines or trailing white space, at most maxEvidenceLines lines, and
// whether it lost lines.
func evidenceText(s string) (string, bool) {
	var lines []string
	cut := false
	for _, l := range strings.Split(display.Text(s), "\n") {
		l = strings.TrimRight(l, " \t")
		if isBlank(l) {
			continue
		}
		if len(lines) == maxEvidenceLines {
			cut = true
			break
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return "(no text)", false
	}
	return strings.Join(lines, "\n"), cut
}

// summaryOf returns a finding's summary on one line; its title, its cause or
// "(no summary)" when it has none.
func summaryOf(f triage.Finding) string {
	for _, s := range []string{f.Summary, f.Title, string(f.Cause)} {
		if s = oneLine(s); s != "" {
			return s
		}
	}
	return "(no summary)"
}

// indentLines indents every line of s but the first.
func indentLines(s, indent string) string {
	return strings.ReplaceAll(s, "\n", "\n"+indent)
}

func (r *renderer) fix(f triage.Finding) []slack.Block {
	return r.steps("*Fix*", f.Remediation)
}

// incidentFix is an incident's fix: the steps that are the same for all its hosts, then
// the steps done on each host, named only: each host's report has them filled in
// with its own values.
func (r *renderer) incidentFix(inc triage.Incident) []slack.Block {
	const once = "*Fix, the same for all of them*"
	var out []slack.Block
	switch {
	case len(inc.Fixes) > 0:
		out = r.steps(once, inc.Fixes)
	case len(inc.PerHost) > 0:
		out = []slack.Block{section(once + ": nothing; every step is done on each host, below.")}
	default:
		out = []slack.Block{section(once + ": none is known; each host's report has what was found.")}
	}
	if len(inc.PerHost) == 0 {
		return out
	}
	var lines []string
	for i, st := range inc.PerHost {
		if i == maxSteps {
			lines = append(lines, fmt.Sprintf("…and %d more steps, in each host's report.", len(inc.PerHost)-i))
			r.truncated = true
			break
		}
		text := oneLine(st.Text)
		if text == "" {
			text = "Run the command its report has."
		}
		t, cut := clip(text, stepBudget)
		r.truncated = r.truncated || cut
		lines = append(lines, fmt.Sprintf("*%d.* %s", i+1, Escape(t)))
	}
	return append(out, sections("*On each affected host* (its report has the exact command):", lines)...)
}

// steps writes remediation steps under title, each with its command as a code
// block.
func (r *renderer) steps(title string, steps []triage.Step) []slack.Block {
	if len(steps) == 0 {
		return nil
	}
	var lines []string
	for i, st := range steps {
		if i == maxSteps {
			lines = append(lines, fmt.Sprintf("…and %d more steps, in the attached report.", len(steps)-i))
			r.truncated = true
			break
		}
		text := oneLine(st.Text)
		if text == "" && st.Command != "" {
			text = "Run:"
		}
		t, cut := clip(text, stepBudget)
		r.truncated = r.truncated || cut
		line := fmt.Sprintf("*%d.* %s", i+1, Escape(t))
		if st.Command == "" {
			lines = append(lines, line)
			continue
		}
		blocks, ok := r.codeBlocks(st.Command)
		switch {
		case !ok:
			lines = append(lines, line+"\n_Slack cannot show this command faithfully; copy it from the attached report._")
		case len(blocks) == 1 && segmentBudget.fits(measure(line+"\n"+blocks[0])):
			lines = append(lines, line+"\n"+blocks[0])
		default:
			lines = append(lines, line)
			lines = append(lines, blocks...)
		}
	}
	return sections(title, lines)
}

// codeBlocks returns a command as ``` code blocks, each within segmentBudget: one
// when it fits, else one per group of whole lines. It returns false, and marks the
// thread truncated, when it cannot: the command has backquotes Slack would misread,
// a single line too long for a block, or needs more than 3 blocks. A command is
// never cut inside a line: half a command is worse than none.
func (r *renderer) codeBlocks(cmd string) ([]string, bool) {
	cmd = strings.Trim(display.Text(cmd), "\n")
	const fences = "``````"
	room := segmentBudget.minus(measure(fences))
	if !codeSafe(cmd) || isBlank(cmd) {
		r.truncated = true
		return nil, false
	}
	if room.fits(measureRaw(cmd)) {
		return []string{"```" + EscapeCode(cmd) + "```"}, true
	}
	var blocks []string
	var cur []string
	used := budget{}
	for _, l := range strings.Split(cmd, "\n") {
		c := measureRaw(l + "\n")
		if !room.fits(c) {
			r.truncated = true
			return nil, false
		}
		if len(cur) > 0 && !room.minus(used).fits(c) {
			blocks = append(blocks, "```"+EscapeCode(strings.Join(cur, "\n"))+"```")
			cur, used = nil, budget{}
		}
		cur = append(cur, l)
		used.units += c.units
		used.bytes += c.bytes
	}
	blocks = append(blocks, "```"+EscapeCode(strings.Join(cur, "\n"))+"```")
	if len(blocks) > 3 {
		r.truncated = true
		return nil, false
	}
	return blocks, true
}

func (r *renderer) links(f triage.Finding) []slack.Block {
	var lines []string
	for i, l := range f.Links {
		if i == maxLinks {
			lines = append(lines, fmt.Sprintf("…and %d more links, in the attached report.", len(f.Links)-i))
			r.truncated = true
			break
		}
		if linkable(l) && segmentBudget.fits(measure("• <"+l+">")) {
			lines = append(lines, "• <"+l+">")
			continue
		}
		t, cut := clip(oneLine(l), stepBudget)
		r.truncated = r.truncated || cut
		if t != "" {
			lines = append(lines, "• "+Escape(t))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return sections("*Learn more*", lines)
}

// overflow lists the findings from index from on, which did not fit into the thread.
func (r *renderer) overflow(from int) Message {
	r.truncated = true
	rest := r.findings[from:]
	var lines []string
	for _, f := range rest {
		cause, _ := clip(oneLine(string(f.Cause)), budget{100, 300})
		s, _ := clip(oneLine(f.Summary), budget{200, 600})
		lines = append(lines, fmt.Sprintf("• %s %s · %s: %s", severityEmoji(f.Severity), codeSpan(cause), Escape(oneLine(f.Severity.String())), Escape(s)))
	}
	head := header(fmt.Sprintf("%d more %s", len(rest), human.Plural(len(rest), "finding", "findings")))
	text := fmt.Sprintf("%d more %s for %s", len(rest), human.Plural(len(rest), "finding", "findings"), r.host)
	pos := fmt.Sprintf("findings %d to %d of %d", from+1, len(r.findings), len(r.findings))
	msgs := r.pack(text, head, head, sections("These did not fit into this thread; the attached report has them in full:", lines),
		[]string{r.host, pos}, 1, fmt.Sprintf("…and more: %d findings in all, in the attached report.", len(rest)))
	return msgs[0]
}

// checks renders the last reply: first, when given, the second hop's content, then
// the report's trend, when it has one, then how each check went.
func (r *renderer) checks(hop []slack.Block) Message {
	var lines []string
	for _, c := range r.rep.Checks {
		name, cut := clip(oneLine(c.Name), budget{64, 160})
		r.truncated = r.truncated || cut
		if name == "" {
			name = "(unnamed)"
		}
		status, _ := clip(oneLine(string(c.Status)), budget{32, 100})
		line := fmt.Sprintf("%s %s %s", checkEmoji(c.Status), codeSpan(name), Escape(status))
		if c.Duration > 0 {
			line += " · " + human.Elapsed(c.Duration)
		}
		if via := c.Via(); via != "" {
			line += " · " + Escape(oneLine(via))
		}
		if d := oneLine(c.Detail); d != "" {
			d, cut := clip(d, detailBudget)
			r.truncated = r.truncated || cut
			line += " · " + Escape(d)
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		if r.opt.Progress {
			lines = append(lines, "No check has finished yet.")
		} else {
			lines = append(lines, "No checks ran.")
		}
	}
	text := fmt.Sprintf("Checks for %s", r.host)
	content := append(append(hop, r.trend()...), sections("*Checks*", lines)...)
	msgs := r.pack(text, nil, nil, content, []string{r.host, r.started(), r.took()}, 1,
		"…and more checks, in the attached report.")
	return msgs[0]
}

// trend renders the report's trend as a section, or nothing when it holds no
// failure: a title with the hours it covers, then one line per error in a code
// block, which keeps the sparklines' spaces and lines them up (render.TrendLines).
// It is a few hundred characters whatever the report holds.
func (r *renderer) trend() []slack.Block {
	span, lines := render.TrendLines(r.rep.Trend, r.facts.zone)
	if len(lines) == 0 {
		return nil
	}
	return []slack.Block{section(fmt.Sprintf("*Failures per hour* in ERRORLOG, %s:\n```%s```", Escape(span), EscapeCode(strings.Join(lines, "\n"))))}
}

// addNote adds a section before the context block at the end of m.
func (r *renderer) addNote(m *Message, note string) {
	n := len(m.Blocks)
	ctx := m.Blocks[n-1]
	m.Blocks = append(m.Blocks[:n-1:n-1], section(note), ctx)
}

// sortWorstFirst sorts findings by severity, worst first, keeping the order of equals
// (a triage.Report's findings are already in that order, with more evidence first).
func sortWorstFirst(fs []triage.Finding) {
	slices.SortStableFunc(fs, func(a, b triage.Finding) int { return cmp.Compare(b.Severity, a.Severity) })
}

// printable shortens a report ID for an error message.
func printable(s string) string {
	s, _ = clipPlain(oneLine(s), 64)
	return fmt.Sprintf("%q", s)
}
