package slackrender

import (
	"cmp"
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

// An IncidentRun is what the incident command found in a set of hosts, as
// IncidentThread and IncidentMarkdown show it.
type IncidentRun struct {
	// Scope is what was asked, the command's names ("prod sqlhost07"); "" means
	// every host of the inventory.
	Scope             string
	Started, Finished time.Time
	// Hosts is every host of the set: its state when it was triaged, its Error
	// (words for people) when it was not, because it could not be or the run
	// stopped first (Stopped).
	Hosts []triage.HostState
	// Incidents are the causes several hosts share; IncidentThread shows them
	// worst first (severity, then hosts, then first seen).
	Incidents []triage.Incident
	// Unexplained are the hosts with causes no incident explains, by name.
	Unexplained []string
	// Links maps an incident's ID to the permalink of a thread that already
	// shows it (a fleet summary's), which its reply names.
	Links map[string]string
	// Stopped says the run was cut short (the bot stopped) before every host
	// was checked.
	Stopped bool
}

// Budgets of the incident thread.
var (
	incidentHostsBudget = budget{1200, 2400} // the hosts of an incident, in its reply
	factorBudget        = budget{120, 300}   // one shared factor's value
	scopeBudget         = budget{100, 300}   // the command's names, in titles
)

const (
	// maxIncidentReplies bounds the incidents that get a reply of their own; the
	// others are listed in one more reply and are in the attached file.
	maxIncidentReplies = 10
	maxTopIncidents    = 5 // incidents listed in the parent
	maxSharedShown     = 3 // shared factors in one line
	// maxListReplies bounds the replies of hosts nothing explains.
	maxListReplies = 2
)

// IncidentProgress is the parent of an incident run while it runs: done of
// total hosts have been checked.
func IncidentProgress(scope string, started time.Time, done, total int) Message {
	what := scopeWords(scope)
	text := fmt.Sprintf(":hourglass_flowing_sand: Looking for incidents in %s… %d of %s checked.", what, done, human.Count(total, "host", "hosts"))
	return Message{
		Text: fallback("Looking for incidents in ", oneLine(scopeText(scope))+"…"),
		Blocks: []slack.Block{
			section(text),
			slack.NewContextBlock("", mrkdwn(fmt.Sprintf("incident run · started %s UTC", started.UTC().Format("15:04:05")))),
		},
	}
}

// scopeText is a scope as plain text.
func scopeText(scope string) string {
	if scope == "" {
		return "every host"
	}
	return scope
}

// scopeWords is a scope as mrkdwn: *every host* or `prod` `sqlhost07`.
func scopeWords(scope string) string {
	if scope == "" {
		return "*every host*"
	}
	s, _ := clip(oneLine(scope), scopeBudget)
	var parts []string
	for _, n := range strings.Fields(s) {
		parts = append(parts, codeSpan(n))
	}
	return strings.Join(parts, " ")
}

// SortIncidents sorts incidents worst first: by severity, then by the number of
// hosts, then by when they were first seen, then by ID.
func SortIncidents(incs []triage.Incident) {
	slices.SortStableFunc(incs, func(a, b triage.Incident) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(len(b.Hosts), len(a.Hosts)),
			a.FirstSeen.First.Compare(b.FirstSeen.First), cmp.Compare(a.ID, b.ID))
	})
}

// factorLabel names what hosts share of a kind: "same DC".
func factorLabel(k triage.FactorKind) string {
	switch k {
	case triage.FactorDC:
		return "same DC"
	case triage.FactorDomain:
		return "same domain"
	case triage.FactorAccount:
		return "same service account"
	case triage.FactorOwner:
		return "same SPN owner"
	case triage.FactorClient:
		return "same client"
	case triage.FactorSubnet:
		return "same client subnet"
	case triage.FactorAgent:
		return "same agent"
	}
	k2, _ := clipPlain(oneLine(string(k)), 40)
	return "same " + k2
}

// An incident's hosts may log in different zones, so its times are written in
// one zone, the view's (the bot and the CLI pass UTC), and always labelled with it.

// zoneLabel names t's zone: "UTC" at offset zero, else the offset "-05:00".
func zoneLabel(t time.Time) string {
	if _, off := t.Zone(); off == 0 {
		return "UTC"
	}
	return t.Format("-07:00")
}

// stamp writes t to the second in zone, labelled: "2026-11-25 12:00:00 UTC".
func stamp(t time.Time, zone *time.Location) string {
	t = t.In(zone)
	return t.Format("2006-01-02 15:04:05") + " " + zoneLabel(t)
}

// minuteStamp writes t to the minute in zone with its date, labelled:
// "2026-11-25 09:14 UTC".
func minuteStamp(t time.Time, zone *time.Location) string {
	t = t.In(zone)
	return t.Format("2006-01-02 15:04") + " " + zoneLabel(t)
}

// clock writes t as "09:14 UTC" when it is within a day of ref, else with its
// date.
func clock(t, ref time.Time, zone *time.Location) string {
	d := ref.Sub(t)
	if ref.IsZero() || (d < 24*time.Hour && d > -24*time.Hour) {
		t = t.In(zone)
		return t.Format("15:04") + " " + zoneLabel(t)
	}
	return minuteStamp(t, zone)
}

// sinceWords says since when an incident's hosts fail, once: "since 09:14 UTC (all
// within one minute)"; "" when its first time is unknown.
func sinceWords(inc triage.Incident, ref time.Time, zone *time.Location) string {
	if inc.FirstSeen.First.IsZero() {
		return ""
	}
	s := "since " + clock(inc.FirstSeen.First, ref, zone)
	if slices.ContainsFunc(inc.Shared, startFactor) {
		s += " (all within one minute)"
	}
	return s
}

// startFactor reports whether f is the minute the failures began, as a time.
func startFactor(f triage.Factor) bool {
	if f.Kind != triage.FactorStart {
		return false
	}
	_, err := time.Parse(time.RFC3339, f.Value)
	return err == nil
}

// sharedBeyondTime returns what an incident's hosts share besides the minute they
// began, for a line that says that minute already (sinceWords).
func sharedBeyondTime(inc triage.Incident) []triage.Factor {
	if inc.FirstSeen.First.IsZero() {
		return inc.Shared
	}
	return slices.DeleteFunc(slices.Clone(inc.Shared), startFactor)
}

// startWords says when failures began together, or "" when f is no start.
func startWords(f triage.Factor, zone *time.Location) (string, bool) {
	if f.Kind != triage.FactorStart {
		return "", false
	}
	if t, err := time.Parse(time.RFC3339, f.Value); err == nil {
		return "began the same minute, " + minuteStamp(t, zone), true
	}
	return "began the same minute", true
}

// valueSpan writes a value from the evidence (an account, a subnet, a DC) as a
// code span, `CORP\svc_sql`, escaped as Slack wants inside one (&, <, >); a value
// with a backquote, which no code span can hold, is escaped and quoted instead.
func valueSpan(v string) string {
	switch {
	case v == "":
		return ""
	case strings.Contains(v, "`"):
		return "“" + Escape(v) + "”"
	}
	return "`" + EscapeCode(v) + "`"
}

// factorWords says what hosts share, as mrkdwn: "same DC `dc2.corp.example`".
func factorWords(f triage.Factor, zone *time.Location) string {
	if s, ok := startWords(f, zone); ok {
		return s
	}
	v, _ := clip(oneLine(f.Value), factorBudget)
	return Escape(factorLabel(f.Kind)) + " " + valueSpan(v)
}

// factorText is factorWords as plain text.
func factorText(f triage.Factor, zone *time.Location) string {
	if s, ok := startWords(f, zone); ok {
		return s
	}
	return factorLabel(f.Kind) + " " + oneLine(f.Value)
}

// sharedWords joins the first maxSharedShown shared factors.
func sharedWords(fs []triage.Factor, zone *time.Location) string {
	var parts []string
	for i, f := range fs {
		if i == maxSharedShown {
			parts = append(parts, fmt.Sprintf("+%d more", len(fs)-i))
			break
		}
		parts = append(parts, factorWords(f, zone))
	}
	return strings.Join(parts, ", ")
}

// incidentLine is one incident on one line: severity, cause, hosts, shared
// factors, since when.
func incidentLine(inc triage.Incident, ref time.Time, zone *time.Location) string {
	cause, _ := clip(oneLine(string(inc.Cause)), causeBudget)
	line := fmt.Sprintf("%s %s on *%s*", severityEmoji(inc.Severity), codeSpan(cause), human.Count(len(inc.Hosts), "host", "hosts"))
	if s := sharedWords(sharedBeyondTime(inc), zone); s != "" {
		line += " · " + s
	}
	if s := sinceWords(inc, ref, zone); s != "" {
		line += " · " + s
	}
	return line
}

// IncidentFileName is the name of the file IncidentMarkdown is uploaded as:
// "authtriage-incidents-20261125-0914.md".
func IncidentFileName(run IncidentRun) string {
	return "authtriage-incidents-" + run.Started.UTC().Format("20060102-1504") + ".md"
}

// IncidentThread renders an incident run as a Slack thread, times in zone (nil
// for UTC), each labelled with it.
//
// The parent has the header "Incidents: SCOPE"; the count of incidents, of the
// hosts they affect, of the hosts nothing explains, of healthy hosts and of
// those incomplete or not checked; the hosts by status; the top incidents, one
// line each; and a context line with the run's start and duration. Then one reply
// per incident, worst first (see SortIncidents), at most 10: its title, severity
// and ID in the header; its cause; its hosts (how many, since when, first seen
// where, then their names as many as fit), what they share besides the time, the
// hosts checked and not affected, the fix once for them all (or that there is
// none), the steps done on each host (named; each host's report has them filled
// in) and the Learn links, ending in the incident's ID. Incidents past the tenth
// are listed in one more reply. Then the hosts nothing explains, one line each
// with their causes (at most two messages), and last, when there are any, a reply
// naming the hosts not checked and those whose triage is incomplete.
//
// Whatever does not fit (more incidents, hosts, steps) is left out with a note,
// and the last message has Truncated set: the bot then attaches
// IncidentMarkdown(run) as IncidentFileName(run). Every message passes
// Validate, whatever the number of hosts (tested with 10,000).
func IncidentThread(run IncidentRun, zone *time.Location) ([]Message, error) {
	if zone == nil {
		zone = time.UTC
	}
	incs := slices.Clone(run.Incidents)
	SortIncidents(incs)
	ir := &incidentRenderer{run: run, incs: incs, zone: zone, ref: run.Started}
	ir.note = fmt.Sprintf(":page_facing_up: Not all of this fits in Slack: the whole run is in the attached file %s.", Escape(IncidentFileName(run)))

	msgs := []Message{ir.parent()}
	for i, inc := range incs {
		if i == maxIncidentReplies {
			msgs = append(msgs, ir.moreIncidents(i))
			break
		}
		msgs = append(msgs, ir.incident(i, inc)...)
	}
	msgs = append(msgs, ir.unexplained()...)
	msgs = append(msgs, ir.rest()...)
	if ir.truncated {
		last := &msgs[len(msgs)-1]
		last.Truncated = true
		n := len(last.Blocks)
		last.Blocks = append(last.Blocks[:n-1:n-1], section(ir.note), last.Blocks[n-1])
	}
	return validated(msgs, "the incident run")
}

// validated returns msgs when every one passes Validate.
func validated(msgs []Message, what string) ([]Message, error) {
	var errs []string
	for i, m := range msgs {
		if err := Validate(m); err != nil {
			errs = append(errs, fmt.Sprintf("message %d: %v", i, err))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("render %s: %s", what, strings.Join(errs, "; "))
	}
	return msgs, nil
}

type incidentRenderer struct {
	run       IncidentRun
	incs      []triage.Incident // worst first
	zone      *time.Location
	ref       time.Time
	note      string
	truncated bool
}

// runCounts are the run's hosts by status and by what the thread says of them.
type runCounts struct {
	byStatus   map[triage.Status]int // folded into the four statuses
	healthy    int                   // ok
	affected   int                   // in an incident
	notChecked []string              // not triaged (Error), by name
	// incomplete are the hosts triaged with status unknown (a check could not
	// run) that no incident names and nothing leaves unexplained, by name.
	incomplete []string
}

// counts returns the run's hosts by status and by what the thread says of them.
func (ir *incidentRenderer) counts() runCounts {
	c := runCounts{byStatus: map[triage.Status]int{}}
	seen := map[string]bool{}
	for _, inc := range ir.incs {
		for _, h := range inc.Hosts {
			if !seen[h.Host] {
				seen[h.Host] = true
				c.affected++
			}
		}
	}
	unexplained := map[string]bool{}
	for _, n := range ir.run.Unexplained {
		unexplained[n] = true
	}
	for _, h := range ir.run.Hosts {
		c.byStatus[h.Status]++
		switch {
		case h.Error != "":
			c.notChecked = append(c.notChecked, h.Host)
		case h.Status == triage.StatusOK:
			c.healthy++
		case schedule.Rank(h.Status) == schedule.Rank(triage.StatusUnknown) && !seen[h.Host] && !unexplained[h.Host]:
			c.incomplete = append(c.incomplete, h.Host)
		}
	}
	slices.Sort(c.notChecked)
	slices.Sort(c.incomplete)
	c.byStatus, _ = countByStatus(c.byStatus)
	return c
}

func (ir *incidentRenderer) parent() Message {
	run := ir.run
	c := ir.counts()
	title, _ := clipPlain(oneLine(scopeText(run.Scope)), 100)
	blocks := []slack.Block{header("Incidents: " + title)}

	parts := []string{fmt.Sprintf("*%s* on %s", human.Count(len(ir.incs), "incident", "incidents"), human.Count(c.affected, "host", "hosts"))}
	parts = append(parts, fmt.Sprintf("*%d* %s nothing explains", len(run.Unexplained), human.Plural(len(run.Unexplained), "host", "hosts")))
	parts = append(parts, fmt.Sprintf("*%d* healthy", c.healthy))
	if n := len(c.incomplete); n > 0 {
		parts = append(parts, fmt.Sprintf("*%d* incomplete", n))
	}
	if n := len(c.notChecked); n > 0 {
		parts = append(parts, fmt.Sprintf("*%d* not checked", n))
	}
	blocks = append(blocks, section(strings.Join(parts, " · ")+" · of "+human.Count(len(run.Hosts), "host", "hosts")+" in "+scopeWords(run.Scope)+"."))
	if len(run.Hosts) > 0 {
		blocks = append(blocks, section(countsMrkdwn(c.byStatus)))
	}
	if run.Stopped {
		blocks = append(blocks, section(":warning: The run was stopped before every host was checked: the hosts not checked are counted as such."))
	}
	if len(ir.incs) > 0 {
		var lines []string
		for i, inc := range ir.incs {
			if i == maxTopIncidents {
				lines = append(lines, fmt.Sprintf("…and %d more, in the thread.", len(ir.incs)-i))
				break
			}
			lines = append(lines, "• "+incidentLine(inc, ir.ref, ir.zone))
		}
		blocks = append(blocks, sections("*Worst first*", lines)...)
	} else {
		blocks = append(blocks, section("No incident: no cause is shared by several hosts at the same time."))
	}
	blocks = append(blocks, slack.NewContextBlock("", mrkdwn(ir.runContext())))

	text := fmt.Sprintf("Incidents in %s: %s on %s, %d unexplained, %d healthy", scopeText(run.Scope),
		human.Count(len(ir.incs), "incident", "incidents"), human.Count(c.affected, "host", "hosts"), len(run.Unexplained), c.healthy)
	t, _ := clip(oneLine(text), fallbackBudget)
	return Message{Text: Escape(t), Blocks: blocks}
}

func (ir *incidentRenderer) runContext() string {
	ctx := []string{"incident run"}
	if !ir.run.Started.IsZero() {
		ctx = append(ctx, "started "+Escape(stamp(ir.run.Started, ir.zone)))
	}
	if d := ir.run.Finished.Sub(ir.run.Started); !ir.run.Started.IsZero() && d > 0 {
		ctx = append(ctx, "took "+human.Elapsed(d))
	}
	return strings.Join(ctx, " · ")
}

// hostNames writes names as *a*, *b*, … within b, and how many were left out.
func hostNames(names []string, b budget) (string, int) {
	var shown []string
	used := budget{}
	for i, n := range names {
		h := listHost(n)
		c := measure(", " + h)
		more := measure(fmt.Sprintf(" …and %d more", len(names)-i))
		if !b.minus(used).minus(more).fits(c) {
			return strings.Join(shown, ", ") + fmt.Sprintf(" …and %d more", len(names)-i), len(names) - i
		}
		shown = append(shown, h)
		used.units += c.units
		used.bytes += c.bytes
	}
	return strings.Join(shown, ", "), 0
}

// incident renders incident i as one or two messages.
func (ir *incidentRenderer) incident(i int, inc triage.Incident) []Message {
	id, _ := clip(oneLine(inc.ID), reportIDBudget)
	r := newRenderer(triage.Report{ID: inc.ID, Host: inc.FirstSeen.Host}, ThreadOptions{})
	r.idRef = "Incident " + codeSpan(id)
	r.threadNote = ir.note

	cause, _ := clip(oneLine(string(inc.Cause)), causeBudget)
	sev := oneLine(inc.Severity.String())
	name := oneLine(inc.Title)
	if name == "" {
		name = oneLine(string(inc.Cause))
	}
	hid, _ := clipPlain(oneLine(inc.ID), 24)
	// heading is the reply's header: the title, clipped so that its severity, ID
	// and suffix fit.
	heading := func(suffix string) (string, bool) {
		tail := " · " + sev + " · " + hid + suffix
		n, cut := clipPlain(name, MaxHeaderText-textLen(severityEmoji(inc.Severity)+" "+tail))
		return severityEmoji(inc.Severity) + " " + n + tail, cut
	}
	title, cut := heading("")
	cont, _ := heading(" (continued)")

	var content []slack.Block
	about := "Cause " + codeSpan(cause)
	if t := oneLine(inc.Title); t != "" && cut {
		t, _ := clip(t, summaryBudget)
		about += ": " + Escape(t)
	}
	content = append(content, section(about))
	first, _ := clip(oneLine(inc.FirstSeen.Host), summaryHostBudget)
	seen := fmt.Sprintf("*%s* %s, first on *%s*", human.Count(len(inc.Hosts), "host", "hosts"),
		Escape(sinceWords(inc, ir.ref, ir.zone)), Escape(first))
	if rid, _ := clip(oneLine(inc.FirstSeen.ReportID), reportIDBudget); rid != "" {
		seen += " (report " + codeSpan(rid) + ")"
	}
	if !inc.Last.IsZero() {
		seen += ", last at " + Escape(clock(inc.Last, ir.ref, ir.zone))
	}
	content = append(content, section(seen+"."))
	names := make([]string, len(inc.Hosts))
	for j, h := range inc.Hosts {
		names[j] = h.Host
	}
	list, left := hostNames(names, incidentHostsBudget)
	if left > 0 {
		ir.truncated = true
	}
	content = append(content, section("*Hosts*: "+list))
	if s := sharedWords(sharedBeyondTime(inc), ir.zone); s != "" {
		content = append(content, section("*Shared*: "+s))
	} else {
		content = append(content, section("*Shared*: only the time; nothing else in the evidence is common to them."))
	}
	if n := len(inc.Unaffected); n > 0 {
		list, left := hostNames(inc.Unaffected, budget{600, 1200})
		if left > 0 {
			ir.truncated = true
		}
		content = append(content, section(fmt.Sprintf("*Not affected*, checked in the same window (%d): %s", n, list)))
	}
	content = append(content, r.incidentFix(inc)...)
	content = append(content, r.links(triage.Finding{Links: inc.Links})...)
	if link := ir.run.Links[inc.ID]; link != "" && linkable(link) {
		content = append(content, section("<"+link+"|Where it was posted before>"))
	}

	fb := fallback(fmt.Sprintf("Incident %s (%s): ", Escape(cause), Escape(sev)), fmt.Sprintf("%d hosts", len(inc.Hosts)))
	pos := fmt.Sprintf("incident %d of %d", i+1, len(ir.incs))
	msgs := r.pack(fb, header(title), header(cont), content, []string{pos}, 2,
		":page_facing_up: The rest of this incident is in the attached file.")
	ir.truncated = ir.truncated || r.truncated
	return msgs
}

// moreIncidents lists the incidents from index from on, which have no reply of
// their own.
func (ir *incidentRenderer) moreIncidents(from int) Message {
	ir.truncated = true
	rest := ir.incs[from:]
	var lines []string
	for _, inc := range rest {
		id, _ := clip(oneLine(inc.ID), reportIDBudget)
		lines = append(lines, "• "+incidentLine(inc, ir.ref, ir.zone)+" · "+codeSpan(id))
	}
	r := newRenderer(triage.Report{ID: "-"}, ThreadOptions{})
	r.idRef = "Incident run"
	r.threadNote = ir.note
	head := header(fmt.Sprintf("%d more %s", len(rest), human.Plural(len(rest), "incident", "incidents")))
	pos := fmt.Sprintf("incidents %d to %d of %d", from+1, len(ir.incs), len(ir.incs))
	msgs := r.pack(fmt.Sprintf("%d more incidents", len(rest)), head, head, sections("In the attached file in full:", lines),
		[]string{pos}, 1, fmt.Sprintf("…and more: %d incidents in all, in the attached file.", len(ir.incs)))
	return msgs[0]
}

// unexplained lists the hosts nothing explains, one line each.
func (ir *incidentRenderer) unexplained() []Message {
	if len(ir.run.Unexplained) == 0 {
		return nil
	}
	states := map[string]triage.HostState{}
	for _, h := range ir.run.Hosts {
		states[h.Host] = h
	}
	hosts := make([]triage.HostState, 0, len(ir.run.Unexplained))
	for _, n := range ir.run.Unexplained {
		h, ok := states[n]
		if !ok {
			h = triage.HostState{Host: n, Status: triage.StatusUnknown}
		}
		hosts = append(hosts, h)
	}
	hosts = hostsWorstFirst(hosts)
	lines := make([]string, len(hosts))
	for i, h := range hosts {
		lines[i] = hostLine(h)
	}
	r := newRenderer(triage.Report{ID: "-"}, ThreadOptions{})
	r.idRef = "Incident run"
	r.threadNote = ir.note
	head := header(fmt.Sprintf("%s nothing explains", human.Count(len(hosts), "host", "hosts")))
	msgs := r.pack("Hosts nothing explains", head, header("Hosts nothing explains (continued)"),
		sections("Their causes are on no other host at the same time:", lines), []string{"unexplained"}, maxListReplies,
		":page_facing_up: The other hosts are in the attached file.")
	ir.truncated = ir.truncated || r.truncated
	return msgs
}

// rest is the last reply: the hosts not checked and those whose triage is
// incomplete, which no other message names; nil when there are none (the parent
// has the counts).
func (ir *incidentRenderer) rest() []Message {
	c := ir.counts()
	var blocks []slack.Block
	for _, l := range []struct {
		title, why string
		hosts      []string
	}{
		{"*Not checked*", "", c.notChecked},
		{"*Incomplete*", "a check could not run; each host's report says which.", c.incomplete},
	} {
		if len(l.hosts) == 0 {
			continue
		}
		list, left := hostNames(l.hosts, budget{1500, 3000})
		if left > 0 {
			ir.truncated = true
		}
		line := fmt.Sprintf("%s (%d): %s", l.title, len(l.hosts), list)
		if l.why != "" {
			line += " — " + l.why
		}
		blocks = append(blocks, section(line))
	}
	if len(blocks) == 0 {
		return nil
	}
	blocks = append(blocks, slack.NewContextBlock("", mrkdwn(ir.runContext())))
	text := fmt.Sprintf("%d not checked, %d incomplete of %d hosts", len(c.notChecked), len(c.incomplete), len(ir.run.Hosts))
	return []Message{{Text: text, Blocks: blocks}}
}

// IncidentMarkdown returns the whole incident run as Markdown, nothing left out:
// every incident with all its hosts, those not affected, what they share and its
// fix; every host nothing explains; and every host of the run with its status,
// causes and report. It is the file the bot attaches when IncidentThread had to
// leave some out (see IncidentFileName). Text from the evidence is escaped as
// Markdown says (see Markdown).
func IncidentMarkdown(run IncidentRun, zone *time.Location) string {
	if zone == nil {
		zone = time.UTC
	}
	incs := slices.Clone(run.Incidents)
	SortIncidents(incs)
	var b strings.Builder
	fmt.Fprintf(&b, "# Incidents: %s\n\n", mdText(scopeText(run.Scope)))
	if !run.Started.IsZero() {
		fmt.Fprintf(&b, "Started %s", stamp(run.Started, zone))
		if d := run.Finished.Sub(run.Started); d > 0 {
			fmt.Fprintf(&b, ", took %s", human.Elapsed(d))
		}
		b.WriteString(". ")
	}
	ir := &incidentRenderer{run: run, incs: incs, zone: zone}
	c := ir.counts()
	fmt.Fprintf(&b, "%s on %s; %d nothing explains; %d healthy; %d incomplete; %d not checked; %s in all (%s).\n\n",
		human.Count(len(incs), "incident", "incidents"), human.Count(c.affected, "host", "hosts"),
		len(run.Unexplained), c.healthy, len(c.incomplete), len(c.notChecked), human.Count(len(run.Hosts), "host", "hosts"), countsPlain(c.byStatus))
	if run.Stopped {
		b.WriteString("The run was stopped before every host was checked.\n\n")
	}
	for i, inc := range incs {
		fmt.Fprintf(&b, "## %d. %s (%s) on %s\n\n", i+1, mdCode(oneLine(string(inc.Cause))), mdText(inc.Severity.String()),
			human.Count(len(inc.Hosts), "host", "hosts"))
		fmt.Fprintf(&b, "Incident %s", mdCode(oneLine(inc.ID)))
		if t := oneLine(inc.Title); t != "" {
			fmt.Fprintf(&b, ": %s", mdText(t))
		}
		b.WriteString("\n\n")
		fmt.Fprintf(&b, "First seen on %s at %s", mdText(inc.FirstSeen.Host), stamp(inc.FirstSeen.First, zone))
		if !inc.Last.IsZero() {
			fmt.Fprintf(&b, ", last at %s", stamp(inc.Last, zone))
		}
		b.WriteString(".\n\n")
		if len(inc.Shared) > 0 {
			b.WriteString("Shared:\n\n")
			for _, f := range inc.Shared {
				fmt.Fprintf(&b, "- %s\n", mdText(factorText(f, zone)))
			}
			b.WriteString("\n")
		}
		b.WriteString("### Hosts\n\n| Host | First seen | Report |\n|---|---|---|\n")
		for _, h := range inc.Hosts {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", mdCell(h.Host), stamp(h.First, zone), mdCell(h.ReportID))
		}
		b.WriteString("\n")
		if len(inc.Unaffected) > 0 {
			fmt.Fprintf(&b, "Not affected, checked in the same window (%d): ", len(inc.Unaffected))
			for j, h := range inc.Unaffected {
				if j > 0 {
					b.WriteString(", ")
				}
				b.WriteString(mdText(h))
			}
			b.WriteString("\n\n")
		}
		b.WriteString("### Fix, the same for all of them\n\n")
		switch {
		case len(inc.Fixes) > 0:
			mdSteps(&b, inc.Fixes)
		case len(inc.PerHost) > 0:
			b.WriteString("Nothing: every step is done on each host, below.\n\n")
		default:
			b.WriteString("None is known: each host's report has what was found.\n\n")
		}
		if len(inc.PerHost) > 0 {
			b.WriteString("### On each affected host (its report has the exact command)\n\n")
			for j, st := range inc.PerHost {
				fmt.Fprintf(&b, "%d. %s\n", j+1, mdText(st.Text))
			}
			b.WriteString("\n")
		}
		if len(inc.Links) > 0 {
			b.WriteString("### Learn more\n\n")
			for _, l := range inc.Links {
				if linkable(l) {
					fmt.Fprintf(&b, "- <%s>\n", l)
				} else {
					fmt.Fprintf(&b, "- %s\n", mdText(l))
				}
			}
			b.WriteString("\n")
		}
	}
	states := map[string]triage.HostState{}
	for _, h := range run.Hosts {
		states[h.Host] = h
	}
	if len(run.Unexplained) > 0 {
		b.WriteString("## Hosts nothing explains\n\n| Host | Status | Causes | Report |\n|---|---|---|---|\n")
		for _, n := range run.Unexplained {
			h := states[n]
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCell(n), mdCell(string(h.Status)), mdCell(joinCauses(h.Causes)), mdCell(h.ReportID))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Every host\n\n| Host | Status | Causes or why not checked | Report |\n|---|---|---|---|\n")
	for _, h := range hostsWorstFirst(run.Hosts) {
		what := joinCauses(h.Causes)
		switch {
		case what != "":
		case h.Error != "":
			what = h.Error
		case schedule.Rank(h.Status) == schedule.Rank(triage.StatusUnknown):
			what = "incomplete: a check could not run"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", mdCell(h.Host), mdCell(string(h.Status)), mdCell(what), mdCell(h.ReportID))
	}
	return b.String()
}

// mdSteps writes steps as a numbered list, each command in a fenced block.
func mdSteps(b *strings.Builder, steps []triage.Step) {
	for j, st := range steps {
		if j > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(b, "%d. %s\n", j+1, mdText(st.Text))
		if st.Command != "" {
			cmd := strings.Trim(display.Text(st.Command), "\n")
			fence := mdFence(cmd)
			fmt.Fprintf(b, "\n   %s\n   %s\n   %s\n", fence, indentLines(cmd, "   "), fence)
		}
	}
	b.WriteString("\n")
}

// joinCauses joins cause IDs with ", ".
func joinCauses(cs []triage.CauseID) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = string(c)
	}
	return strings.Join(parts, ", ")
}
