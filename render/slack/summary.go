package slackrender

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/authtriage/authtriage/internal/display"
	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/schedule"
	"github.com/authtriage/authtriage/triage"
)

// Budgets of a fleet summary's parent message, chosen so that it stays below
// MaxMessageBytes whatever the hosts are called: five lists of at most
// summaryListBudget, the error, and a few short blocks.
var (
	summaryListBudget  = budget{1200, 2200}
	summaryErrBudget   = budget{1200, 2400}
	summaryHostBudget  = budget{100, 300}       // a host name in the parent's lists
	hostLineHostBudget = budget{253, 600}       // a host name in a reply (a DNS name is at most 253)
	hostLineErrBudget  = detailBudget           // why a host could not be triaged
	causeBudget        = budget{80, 200}        // one cause ID
	reportIDBudget     = budget{64, 200}        // one report ID
	summaryMessageRoom = MaxMessageBytes - 1024 // a reply's sections, leaving room for its text and context
)

const (
	maxSummaryListed = 15 // hosts per list of the parent
	maxLineCauses    = 5  // causes per host line
)

// SummaryThread renders a fleet run's summary as a Slack thread, with times in zone
// (nil for UTC).
//
// The parent message has the header "Fleet health: NAME"; the hosts' count by
// status; the run's problems, when it had any (s.Problems); whether this is
// the first run, or nothing changed, or else the hosts that got worse and
// better (host, from → to), the hosts that could not be checked this time
// (host, from → not checked), and the causes that are new and resolved (host:
// cause), each list cut at 15 entries or about 1200 characters with "…and N
// more"; and a context line with the run's tick and how long it took.
//
// The replies have first the incidents, each with its hosts and the first step
// of its fix, then one line per host not all of whose causes an incident
// explains, worst first and then by name: the status emoji, the host, its causes
// (at most 5) or why it could not be triaged, and the report ID. They are cut into as many messages as they need, each ending in a
// context line saying which hosts it holds; there are none when the run has no
// hosts (as in the bare summary of a run whose full summary could not be posted).
//
// The run's problems and why a host could not be triaged (its Error) are shown
// as they are, escaped: the scheduler keeps them in words written for people
// (schedule.Notifier.Explain), never an error's raw text.
//
// Every message passes Validate, whatever the number of hosts and their names;
// the error is for a message that does not, which is a bug.
func SummaryThread(s schedule.Summary, zone *time.Location) ([]Message, error) {
	return summaryThread(s, s.Incidents, zone)
}

// SummaryFileName is the name the bot uploads SummaryMarkdown as:
// "authtriage-fleet-nightly-prod-20261125-0700.md".
func SummaryFileName(s schedule.Summary) string {
	name := strings.TrimSuffix(strings.TrimPrefix(MarkdownFileName(s.Schedule.Name), "authtriage-"), ".md")
	return "authtriage-fleet-" + name + "-" + s.Run.Tick.UTC().Format("20060102-1504") + ".md"
}

func summaryThread(s schedule.Summary, incidents []triage.Incident, zone *time.Location) ([]Message, error) {
	if zone == nil {
		zone = time.UTC
	}
	name := oneLine(s.Schedule.Name)
	if name == "" {
		name = "(unnamed schedule)"
	}
	incs := slices.Clone(incidents)
	SortIncidents(incs)
	msgs := []Message{summaryParent(s, name, incs, zone)}
	msgs = append(msgs, summaryReplies(s, name, incs, zone)...)
	var errs []error
	for i, m := range msgs {
		if err := Validate(m); err != nil {
			errs = append(errs, fmt.Errorf("message %d: %w", i, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("render the summary of %q: %w", printable(name), err)
	}
	return msgs, nil
}

// statusOrder lists the statuses worst first, as counts show them.
var statusOrder = [...]triage.Status{triage.StatusCritical, triage.StatusUnknown, triage.StatusWarning, triage.StatusOK}

// countByStatus returns counts folded into the four statuses (any other reads
// as unknown, as Rank says), and the total.
func countByStatus(counts map[triage.Status]int) (map[triage.Status]int, int) {
	folded := map[triage.Status]int{}
	total := 0
	for st, n := range counts {
		switch st {
		case triage.StatusCritical, triage.StatusUnknown, triage.StatusWarning, triage.StatusOK:
			folded[st] += n
		default:
			folded[triage.StatusUnknown] += n
		}
		total += n
	}
	return folded, total
}

// countsMrkdwn writes counts as ":red_circle: *2* critical · :large_green_circle:
// *40* ok", leaving out statuses no host has.
func countsMrkdwn(counts map[triage.Status]int) string {
	var parts []string
	for _, st := range statusOrder {
		if n := counts[st]; n > 0 {
			emoji, word := statusLook(st)
			parts = append(parts, fmt.Sprintf("%s *%d* %s", emoji, n, strings.ToLower(word)))
		}
	}
	return strings.Join(parts, " · ")
}

// countsPlain writes counts as "2 critical, 40 ok".
func countsPlain(counts map[triage.Status]int) string {
	var parts []string
	for _, st := range statusOrder {
		if n := counts[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, st))
		}
	}
	return strings.Join(parts, ", ")
}

func summaryParent(s schedule.Summary, name string, incs []triage.Incident, zone *time.Location) Message {
	counts := s.Counts
	if counts == nil {
		counts = map[triage.Status]int{}
		for _, h := range s.Run.Hosts {
			counts[h.Status]++
		}
	}
	folded, total := countByStatus(counts)

	blocks := []slack.Block{header("Fleet health: " + name)}
	if total == 0 {
		blocks = append(blocks, section("No hosts in this run."))
	} else {
		blocks = append(blocks, section(fmt.Sprintf("%s  ·  %s", countsMrkdwn(folded), human.Count(total, "host", "hosts"))))
	}
	if len(s.Problems) > 0 {
		var lines []string
		for _, p := range s.Problems {
			lines = append(lines, strings.FieldsFunc(display.Text(p), func(r rune) bool { return r == '\n' })...)
		}
		msg, _ := clip(oneLine(strings.Join(lines, "; ")), summaryErrBudget)
		blocks = append(blocks, section(":warning: *This run did not go as planned:* "+Escape(msg)))
	}
	if len(incs) > 0 {
		lines := make([]string, len(incs))
		for i, inc := range incs {
			id, _ := clip(oneLine(inc.ID), reportIDBudget)
			lines[i] = "• " + incidentLine(inc, s.Run.Tick, zone) + " · incident " + codeSpan(id)
		}
		blocks = append(blocks, boundedList("*Incidents*, one cause on several hosts, worst first:", lines)...)
	}
	switch {
	case s.Previous == nil:
		blocks = append(blocks, section("First run of this schedule: nothing to compare with yet."))
	case !s.Changed:
		blocks = append(blocks, section(fmt.Sprintf("No change since the run of %s.", Escape(formatTime(s.Previous.Tick, zone)))))
	default:
		blocks = append(blocks, section(fmt.Sprintf("Changes since the run of %s:", Escape(formatTime(s.Previous.Tick, zone)))))
		blocks = append(blocks, changeList("*Got worse*", s.Worse)...)
		blocks = append(blocks, changeList("*Got better*", s.Better)...)
		blocks = append(blocks, notCheckedList("*Not checked*", s.NotChecked)...)
		blocks = append(blocks, causeList("*New causes*", s.New)...)
		blocks = append(blocks, causeList("*Resolved*", s.Resolved)...)
	}
	var ctx []string
	if !s.Run.Tick.IsZero() {
		ctx = append(ctx, "run of "+Escape(formatTime(s.Run.Tick, zone)))
	}
	if d := s.Run.Finished.Sub(s.Run.Started); !s.Run.Started.IsZero() && d > 0 {
		ctx = append(ctx, "took "+human.Elapsed(d))
	}
	if len(s.Run.Hosts) > 0 {
		ctx = append(ctx, "each host in the thread")
	}
	if len(ctx) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(strings.Join(ctx, " · "))))
	}

	text := "Fleet health " + name + ": "
	if total == 0 {
		text += "no hosts"
	} else {
		text += countsPlain(folded)
	}
	if s.Previous != nil && s.Changed {
		text += fmt.Sprintf("; %d got worse, %d got better", len(s.Worse), len(s.Better))
		if n := len(s.NotChecked); n > 0 {
			text += fmt.Sprintf(", %d not checked", n)
		}
	}
	if len(s.Problems) > 0 {
		text += "; the run had errors"
	}
	t, _ := clip(text, fallbackBudget)
	return Message{Text: Escape(t), Blocks: blocks}
}

func formatTime(t time.Time, zone *time.Location) string { return t.In(zone).Format(timeLayout) }

// boundedList returns lines as a section under title, with as many lines as fit
// in summaryListBudget and maxSummaryListed, and a last line saying how many
// were left out. It returns nothing when there are no lines.
func boundedList(title string, lines []string) []slack.Block {
	if len(lines) == 0 {
		return nil
	}
	used := measure(title)
	var shown []string
	for i, l := range lines {
		c := measure("\n" + l)
		rest := len(lines) - i
		more := measure(fmt.Sprintf("\n…and %d more.", rest))
		if i == maxSummaryListed || !summaryListBudget.minus(used).minus(more).fits(c) {
			shown = append(shown, fmt.Sprintf("…and %d more.", rest))
			break
		}
		shown = append(shown, l)
		used.units += c.units
		used.bytes += c.bytes
	}
	return []slack.Block{section(title + "\n" + strings.Join(shown, "\n"))}
}

func listHost(host string) string {
	h, _ := clip(oneLine(host), summaryHostBudget)
	if h == "" {
		h = "(no host)"
	}
	return "*" + Escape(h) + "*"
}

func statusWord(s triage.Status) string {
	_, word := statusLook(s)
	return strings.ToLower(word)
}

func changeList(title string, cs []schedule.Change) []slack.Block {
	lines := make([]string, len(cs))
	for i, c := range cs {
		emoji, _ := statusLook(c.To)
		from := statusWord(c.From)
		if c.From == "" {
			from = "new host"
		}
		lines[i] = fmt.Sprintf("• %s %s %s → %s", emoji, listHost(c.Host), from, statusWord(c.To))
	}
	return boundedList(title, lines)
}

// notCheckedList lists hosts that could not be triaged as "host was → not
// checked", and hosts whose report is incomplete as "→ not fully checked":
// neither better nor worse, as nobody looked at all of it.
func notCheckedList(title string, cs []schedule.Change) []slack.Block {
	lines := make([]string, len(cs))
	for i, c := range cs {
		emoji, _ := statusLook(c.To)
		from := statusWord(c.From)
		if c.From == "" {
			from = "new host"
		}
		to := "not checked"
		if c.ReportID != "" { // triaged, but some checks could not run
			to = "not fully checked"
		}
		lines[i] = fmt.Sprintf("• %s %s %s → %s", emoji, listHost(c.Host), from, to)
	}
	return boundedList(title, lines)
}

func causeList(title string, cs []schedule.CauseChange) []slack.Block {
	lines := make([]string, len(cs))
	for i, c := range cs {
		cause, _ := clip(oneLine(string(c.Cause)), causeBudget)
		lines[i] = fmt.Sprintf("• %s: %s", listHost(c.Host), codeSpan(cause))
	}
	return boundedList(title, lines)
}

// hostsWorstFirst returns the hosts by status, worst first, then by name.
func hostsWorstFirst(hosts []triage.HostState) []triage.HostState {
	hs := slices.Clone(hosts)
	slices.SortStableFunc(hs, func(a, b triage.HostState) int {
		return cmp.Or(cmp.Compare(schedule.Rank(b.Status), schedule.Rank(a.Status)), cmp.Compare(a.Host, b.Host))
	})
	return hs
}

// causesMrkdwn writes at most maxLineCauses causes as code spans, "+N more" for
// the rest.
func causesMrkdwn(causes []triage.CauseID) string {
	var parts []string
	for i, c := range causes {
		if i == maxLineCauses {
			parts = append(parts, fmt.Sprintf("+%d more", len(causes)-i))
			break
		}
		c, _ := clip(oneLine(string(c)), causeBudget)
		parts = append(parts, codeSpan(c))
	}
	return strings.Join(parts, ", ")
}

// hostLine is one host of the summary's thread: status emoji, host, causes or
// why it could not be triaged, report ID.
func hostLine(h triage.HostState) string {
	emoji, _ := statusLook(h.Status)
	host, _ := clip(oneLine(h.Host), hostLineHostBudget)
	if host == "" {
		host = "(no host)"
	}
	line := emoji + " *" + Escape(host) + "*"
	switch {
	case len(h.Causes) > 0:
		line += " · " + causesMrkdwn(h.Causes)
	case h.Error != "":
		e, _ := clip(oneLine(h.Error), hostLineErrBudget)
		line += " · could not triage: " + Escape(e)
	}
	if id, _ := clip(oneLine(h.ReportID), reportIDBudget); id != "" {
		line += " · Report " + codeSpan(id)
	}
	return line
}

// maxSummaryReplies bounds the replies of a summary: the rest of the hosts are
// in the attached file (SummaryMarkdown).
const maxSummaryReplies = 10

// summaryNoteRoom is what a reply keeps free for the note that the rest is in
// the attached file (whose name is at most 110 bytes).
const summaryNoteRoom = 512

// summaryReplies renders the run's incidents, one line, their hosts and the
// first step of their fix each (incidentFirstFix), then the hosts, worst first, less the causes their incidents explain (a host
// all of whose causes an incident explains is not listed again): a message per
// group of lines that fits in summaryMessageRoom, at most maxSummaryReplies;
// the last one then says how many incidents and hosts are left out, and that
// they are in the attached file, and is Truncated. It is Truncated too when an
// incident's fix is not all shown, and says that fix is in the file.
func summaryReplies(s schedule.Summary, name string, incs []triage.Incident, zone *time.Location) []Message {
	hosts := hostsWorstFirst(s.Run.Hosts)
	if len(hosts) == 0 {
		return nil
	}
	explained := map[string]map[triage.CauseID]bool{} // host -> causes its incidents explain
	var lines []string
	inFile := false // a line sends people to the attached file
	for _, inc := range incs {
		names := make([]string, len(inc.Hosts))
		for i, h := range inc.Hosts {
			names[i] = h.Host
			if explained[h.Host] == nil {
				explained[h.Host] = map[triage.CauseID]bool{}
			}
			explained[h.Host][inc.Cause] = true
		}
		id, _ := clip(oneLine(inc.ID), reportIDBudget)
		list, _ := hostNames(names, incidentHostsBudget)
		fix, all := incidentFirstFix(inc)
		inFile = inFile || !all
		lines = append(lines, incidentLine(inc, s.Run.Tick, zone)+" · incident "+codeSpan(id)+"\n      "+list+"\n"+fix)
	}
	listed := 0
	for _, h := range hosts {
		if ex := explained[h.Host]; ex != nil && h.Error == "" {
			var rest []triage.CauseID
			for _, c := range h.Causes {
				if !ex[c] {
					rest = append(rest, c)
				}
			}
			if len(rest) == 0 && len(h.Causes) > 0 {
				continue // its incidents say it all
			}
			h.Causes = rest
		}
		lines = append(lines, hostLine(h))
		listed++
	}

	type group struct{ from, to int } // lines[from:to]
	var groups []group
	cur, used := group{}, 0
	for i, l := range lines {
		n := measure(l).bytes + 1
		if i > cur.from && used+n > summaryMessageRoom-summaryNoteRoom {
			groups = append(groups, cur)
			cur, used = group{from: i}, 0
		}
		cur.to = i + 1
		used += n
	}
	groups = append(groups, cur)
	cut := len(groups) > maxSummaryReplies
	if cut {
		groups = groups[:maxSummaryReplies]
	}
	truncated := cut || inFile

	short, _ := clip(name, budget{100, 300})
	where := fmt.Sprintf("%s, %s", human.Count(len(incs), "incident", "incidents"), human.Count(listed, "host", "hosts"))
	if len(incs) == 0 {
		where = human.Count(listed, "host", "hosts")
	}
	msgs := make([]Message, len(groups))
	for i, g := range groups {
		part := ""
		if len(groups) > 1 {
			part = fmt.Sprintf(", part %d of %d", i+1, len(groups))
		}
		blocks := sections("", lines[g.from:g.to])
		ctx := "Fleet health: " + Escape(short) + " · " + where + part
		if truncated && i == len(groups)-1 {
			file := Escape(SummaryFileName(s))
			note := ":page_facing_up: Every incident's fix in full is in the attached file " + file + "."
			if cut {
				// The first len(incs) lines are the incidents, the others hosts.
				moreIncs := max(0, len(incs)-g.to)
				moreHosts := len(lines) - max(g.to, len(incs))
				var more []string
				if moreIncs > 0 {
					more = append(more, human.Count(moreIncs, "more incident", "more incidents"))
				}
				if moreHosts > 0 {
					more = append(more, human.Count(moreHosts, "more host", "more hosts"))
				}
				note = fmt.Sprintf(":page_facing_up: %s did not fit in Slack: every incident and host is in the attached file %s.",
					strings.Join(more, " and "), file)
			}
			blocks = append(blocks, section(note))
		}
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(ctx)))
		msgs[i] = Message{Text: Escape("Fleet health " + short + ": " + where + part), Blocks: blocks,
			Truncated: truncated && i == len(groups)-1}
	}
	return msgs
}

// Bounds of the fix an incident's line of a summary shows.
var (
	summaryFixBudget = budget{300, 600} // its first step's words
	summaryCmdBudget = budget{300, 600} // its first step's command, on one line
)

// incidentFirstFix is the fix under an incident's line of a summary: its first
// step that is the same for all its hosts, with the step's command as a code block when
// it is one short line; and whether that is the whole fix (if not, the line says
// the rest is in the attached file, SummaryMarkdown).
func incidentFirstFix(inc triage.Incident) (string, bool) {
	const pad = "      "
	if len(inc.Fixes) == 0 {
		if len(inc.PerHost) > 0 {
			return pad + "Fix: on each host, as its report says.", true
		}
		return pad + "Fix: none is known; each host's report has what was found.", true
	}
	st := inc.Fixes[0]
	text, cut := clip(oneLine(st.Text), summaryFixBudget)
	if text == "" {
		text = "Run:"
	}
	line := pad + "Fix: " + Escape(text)
	all := !cut && len(inc.Fixes) == 1 && len(inc.PerHost) == 0
	if st.Command != "" {
		cmd := strings.Trim(display.Text(st.Command), "\n")
		if codeSafe(cmd) && !isBlank(cmd) && !strings.Contains(cmd, "\n") && summaryCmdBudget.fits(measureRaw(cmd)) {
			line += "\n```" + EscapeCode(cmd) + "```"
		} else {
			all = false
		}
	}
	if !all {
		if more := len(inc.Fixes) - 1 + len(inc.PerHost); more > 0 {
			line += fmt.Sprintf("\n%s…and %s: see the attached file.", pad, human.Count(more, "more step", "more steps"))
		} else {
			line += "\n" + pad + "In full: see the attached file."
		}
	}
	return line, all
}

// SummaryMarkdown returns a fleet run's summary as Markdown, nothing left out:
// the counts, every incident with its hosts, what they share and its fix once,
// and every host with its status, causes or why it was not checked, and
// report. The bot attaches it when the summary's last reply is Truncated.
func SummaryMarkdown(s schedule.Summary, zone *time.Location) string {
	return summaryMarkdown(s, s.Incidents, zone)
}

func summaryMarkdown(s schedule.Summary, incs []triage.Incident, zone *time.Location) string {
	if zone == nil {
		zone = time.UTC
	}
	counts := map[triage.Status]int{}
	for _, h := range s.Run.Hosts {
		counts[h.Status]++
	}
	folded, total := countByStatus(counts)
	var b strings.Builder
	fmt.Fprintf(&b, "# Fleet health: %s\n\n", mdText(s.Schedule.Name))
	fmt.Fprintf(&b, "Run of %s: %s (%s).\n\n", formatTime(s.Run.Tick, zone), human.Count(total, "host", "hosts"), countsPlain(folded))
	md := IncidentMarkdown(IncidentRun{Started: s.Run.Tick, Hosts: s.Run.Hosts, Incidents: incs}, zone)
	// The incidents and hosts, without the incident run's own title.
	if _, rest, ok := strings.Cut(md, "\n\n"); ok {
		if _, rest2, ok := strings.Cut(rest, "\n\n"); ok {
			rest = rest2
		}
		b.WriteString(rest)
	}
	return b.String()
}
