package render

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/authtriage/authtriage/internal/display"
	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/schedule"
	"github.com/authtriage/authtriage/triage"
)

// A Fleet is the triage of several hosts at once and the incidents among them, as
// FleetText and FleetJSON show it. Its JSON is the public contract of a check of
// several hosts; fields are only ever added.
type Fleet struct {
	// CheckedAt is when the triage of the hosts began.
	CheckedAt time.Time `json:"checked_at"`
	// Duration is how long the triage of every host took.
	Duration time.Duration `json:"-"`
	// Hosts is every host asked for, in the order asked: its state from its report,
	// or, for a host that could not be triaged, status unknown and Error saying why.
	Hosts []triage.HostState `json:"hosts"`
	// Incidents are the causes several hosts share at overlapping times, worst first
	// (correlate.Correlate).
	Incidents []triage.Incident `json:"incidents"`
	// Unexplained are the hosts with a finding of warning or worse that no incident
	// explains, by name (correlate.Unexplained).
	Unexplained []string `json:"unexplained"`
	// Reports are the reports of the hosts that were triaged, in the order of Hosts,
	// each as the JSON of a check of one host writes it.
	Reports []triage.Report `json:"reports"`
}

// Status returns the worst status of the fleet's hosts, by the project's precedence
// (critical, unknown, warning, ok; schedule.Rank); a host that could not be triaged
// counts as unknown, and a fleet of no hosts is unknown.
func (f Fleet) Status() triage.Status {
	if len(f.Hosts) == 0 {
		return triage.StatusUnknown
	}
	worst := triage.StatusOK
	for _, h := range f.Hosts {
		st := h.Status
		if h.Error != "" {
			st = triage.StatusUnknown
		}
		if schedule.Rank(st) > schedule.Rank(worst) {
			worst = st
		}
	}
	return worst
}

// FleetJSON writes the fleet as one indented JSON object followed by a newline:
// checked_at, hosts, incidents, unexplained and reports. The lists, and an
// incident's shared, hosts and fixes, are empty ([]) and never null when there is
// nothing in them.
func FleetJSON(w io.Writer, f Fleet) error {
	f.Hosts = nonNil(f.Hosts)
	f.Incidents = nonNil(slices.Clone(f.Incidents))
	for i, inc := range f.Incidents {
		inc.Shared, inc.Hosts, inc.Fixes = nonNil(inc.Shared), nonNil(inc.Hosts), nonNil(inc.Fixes)
		f.Incidents[i] = inc
	}
	f.Unexplained = nonNil(f.Unexplained)
	f.Reports = nonNil(f.Reports)
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("encode the fleet's reports: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// nonNil returns s, or an empty slice for nil, which JSON writes as [] and not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// Limits of the text view: past them it says how many more there are, and the JSON
// has them all.
const (
	fleetHostsShown      = 20 // affected hosts of one incident
	fleetUnaffectedShown = 10 // hosts checked and not affected of one incident
)

// FleetText writes the correlated view of a fleet for an on-call engineer: the
// verdict and counts on the first line; then the incidents worst first, each with its
// cause, severity and title, what its hosts share, the hosts affected with when each
// was first seen (the first 20), how many hosts were checked and not affected, the
// fix the same for all of them with its commands (or that there is none) and the steps
// done on each affected host, named (each host's report has them filled in); then
// the hosts nothing explains, worst first, with their worst finding; the hosts
// whose triage is incomplete with the first check that could not run; the hosts
// that could not be triaged, with why; and last one line counting the hosts per
// status. The minute an incident's hosts began failing together is said once,
// with its first time.
//
// Times are shown in opt.Zone, UTC when it is nil: the hosts of a fleet may log in
// different zones. Every text from a report or an incident goes through package
// display, as in Text.
func FleetText(w io.Writer, f Fleet, opt TextOptions) error {
	var b bytes.Buffer
	p := painter{on: opt.Color}
	zone := cmp.Or(opt.Zone, time.UTC)
	reports := map[string]triage.Report{}
	for _, r := range f.Reports {
		reports[strings.ToLower(r.Host)] = r
	}

	affected := map[string]bool{}
	for _, inc := range f.Incidents {
		for _, h := range inc.Hosts {
			affected[strings.ToLower(h.Host)] = true
		}
	}
	healthy, failed := 0, 0
	for _, h := range f.Hosts {
		switch {
		case h.Error != "":
			failed++
		case h.Status == triage.StatusOK:
			healthy++
		}
	}
	parts := []string{
		fmt.Sprintf("%s on %s", human.Count(len(f.Incidents), "incident", "incidents"), human.Count(len(affected), "host", "hosts")),
		fmt.Sprintf("%s nothing explains", human.Count(len(f.Unexplained), "host", "hosts")),
		fmt.Sprintf("%d healthy", healthy),
	}
	if failed > 0 {
		parts = append(parts, fmt.Sprintf("%d not checked", failed))
	}
	when := ""
	if !f.CheckedAt.IsZero() {
		when = "checked " + fleetTime(f.CheckedAt, zone) + ", took "
	}
	fmt.Fprintf(&b, "%s  %s: %s  (%s%s)\n", p.status(f.Status()), p.bold(human.Count(len(f.Hosts), "host", "hosts")),
		strings.Join(parts, ", "), when, f.Duration.Round(time.Millisecond))
	if len(f.Incidents) == 0 && len(f.Hosts) > 1 {
		fmt.Fprintf(&b, "No incident: no cause is shared by several hosts at the same time.\n")
	}

	for i, inc := range f.Incidents {
		fleetIncident(&b, p, i, inc, zone)
	}

	if len(f.Unexplained) > 0 {
		fmt.Fprintf(&b, "\nHosts nothing explains, worst first, with their worst finding:\n")
		var rows []triage.Report
		for _, n := range f.Unexplained {
			if r, ok := reports[strings.ToLower(n)]; ok {
				rows = append(rows, r)
			}
		}
		slices.SortStableFunc(rows, func(a, b triage.Report) int {
			return cmp.Or(cmp.Compare(schedule.Rank(b.Status), schedule.Rank(a.Status)), cmp.Compare(a.Host, b.Host))
		})
		for _, r := range rows {
			worst, _ := r.Worst()
			fmt.Fprintf(&b, "  %s  %s  %s  (report %s)\n", p.status(r.Status), p.bold(display.Line(r.Host)),
				display.Line(string(worst.Cause)), display.Line(r.ID))
			fmt.Fprintf(&b, "    %s\n", display.Line(worst.Summary))
		}
	}

	var incomplete []triage.Report
	for _, r := range f.Reports {
		if r.Status == triage.StatusUnknown && !affected[strings.ToLower(r.Host)] && !slices.ContainsFunc(f.Unexplained, func(n string) bool {
			return strings.EqualFold(n, r.Host)
		}) {
			incomplete = append(incomplete, r)
		}
	}
	if len(incomplete) > 0 {
		fmt.Fprintf(&b, "\nIncomplete, a check could not run:\n")
		for _, r := range incomplete {
			detail := ""
			for _, c := range r.Checks {
				if c.Status == triage.CheckError {
					detail = display.Line(c.Name) + ": " + display.Line(c.Detail)
					break
				}
			}
			fmt.Fprintf(&b, "  %s  %s  %s  (report %s)\n", p.status(r.Status), p.bold(display.Line(r.Host)), detail, display.Line(r.ID))
		}
	}

	if failed > 0 {
		fmt.Fprintf(&b, "\nNot checked:\n")
		for _, h := range f.Hosts {
			if h.Error != "" {
				fmt.Fprintf(&b, "  %s  %s  %s\n", p.status(triage.StatusUnknown), p.bold(display.Line(h.Host)), display.Line(h.Error))
			}
		}
	}

	fmt.Fprintf(&b, "\nHosts: %s\n", statusCounts(f.Hosts))
	_, err := w.Write(b.Bytes())
	return err
}

// fleetIncident writes incident i of a fleet's text view.
func fleetIncident(b *bytes.Buffer, p painter, i int, inc triage.Incident, zone *time.Location) {
	fmt.Fprintf(b, "\n%d. %s %s on %s  (incident %s)\n", i+1, p.severity(inc.Severity), p.bold(display.Line(string(inc.Cause))),
		human.Count(len(inc.Hosts), "host", "hosts"), display.Line(inc.ID))
	if inc.Title != "" {
		fmt.Fprintf(b, "   %s\n", display.Line(inc.Title))
	}
	// The minute they began is said once, with the first time.
	var shared []string
	together := false
	for _, s := range inc.Shared {
		if _, err := time.Parse(time.RFC3339, s.Value); s.Kind == triage.FactorStart && err == nil && !inc.FirstSeen.First.IsZero() {
			together = true
			continue
		}
		shared = append(shared, FactorText(s, zone))
	}
	if len(shared) > 0 {
		fmt.Fprintf(b, "   Shared: %s\n", strings.Join(shared, "; "))
	} else {
		fmt.Fprintf(b, "   Shared: only the time; nothing else in the evidence is common to them\n")
	}
	last := ""
	if !inc.Last.IsZero() {
		last = ", last at " + fleetTime(inc.Last, zone)
	}
	first := fleetTime(inc.FirstSeen.First, zone)
	if together {
		first += " (all within one minute)"
	}
	fmt.Fprintf(b, "   Hosts, by when each was first seen (first %s%s):\n", first, last)
	for j, h := range inc.Hosts {
		if j == fleetHostsShown {
			fmt.Fprintf(b, "   - ...and %d more (--output json lists them all)\n", len(inc.Hosts)-j)
			break
		}
		report := ""
		if h.ReportID != "" {
			report = "  (report " + display.Line(h.ReportID) + ")"
		}
		fmt.Fprintf(b, "   - %-20s %s%s\n", display.Line(h.Host), fleetTime(h.First, zone), report)
	}
	if n := len(inc.Unaffected); n > 0 {
		names := make([]string, 0, min(n, fleetUnaffectedShown))
		for _, h := range inc.Unaffected[:min(n, fleetUnaffectedShown)] {
			names = append(names, display.Line(h))
		}
		list := strings.Join(names, ", ")
		if n > fleetUnaffectedShown {
			list += fmt.Sprintf(" and %d more", n-fleetUnaffectedShown)
		}
		fmt.Fprintf(b, "   Not affected, checked in the same window: %s: %s\n", human.Count(n, "host", "hosts"), list)
	}
	switch {
	case len(inc.Fixes) > 0:
		fmt.Fprintf(b, "   Fix, the same for all of them:\n")
		for j, s := range inc.Fixes {
			fmt.Fprintf(b, "   %d) %s\n", j+1, display.Line(s.Text))
			if s.Command != "" {
				fmt.Fprintf(b, "      %s\n", p.command(display.Text(s.Command)))
			}
		}
	case len(inc.PerHost) > 0:
		fmt.Fprintf(b, "   Fix, the same for all of them: nothing; every step is done on each host, below.\n")
	default:
		fmt.Fprintf(b, "   Fix, the same for all of them: none is known; each host's report has what was found.\n")
	}
	if len(inc.PerHost) > 0 {
		fmt.Fprintf(b, "   On each affected host (its report has the exact command):\n")
		for j, s := range inc.PerHost {
			fmt.Fprintf(b, "   %d) %s\n", j+1, display.Line(s.Text))
		}
	}
	for _, l := range inc.Links {
		fmt.Fprintf(b, "   Read: %s\n", display.Line(l))
	}
}

// FactorText says what the hosts of an incident share, for people: "same DC
// dc2.corp.example", "began the same minute, 2026-11-24 14:14 UTC". The value goes
// through display.Line.
func FactorText(f triage.Factor, zone *time.Location) string {
	v := display.Line(f.Value)
	switch f.Kind {
	case triage.FactorDC:
		return "same DC " + v
	case triage.FactorDomain:
		return "same domain " + v
	case triage.FactorAccount:
		return "same service account " + v
	case triage.FactorOwner:
		return "same SPN owner " + v
	case triage.FactorClient:
		return "same client " + v
	case triage.FactorSubnet:
		return "same client subnet " + v
	case triage.FactorAgent:
		return "same agent " + v
	case triage.FactorStart:
		if t, err := time.Parse(time.RFC3339, f.Value); err == nil {
			return "began the same minute, " + minuteTime(t, zone)
		}
		return "began the same minute, " + v
	}
	return "same " + display.Line(string(f.Kind)) + " " + v
}

// minuteTime writes t to the minute in zone: "2026-11-24 14:14 UTC", or with the
// offset in another zone.
func minuteTime(t time.Time, zone *time.Location) string {
	t = t.In(zone)
	if zone == time.UTC {
		return t.Format("2006-01-02 15:04") + " UTC"
	}
	return t.Format("2006-01-02 15:04 -07:00")
}

// fleetTime writes t in zone: "2026-11-24 14:14:02 UTC", or with the offset in
// another zone.
func fleetTime(t time.Time, zone *time.Location) string {
	t = t.In(zone)
	if zone == time.UTC {
		return t.Format("2006-01-02 15:04:05") + " UTC"
	}
	return t.Format(timeLayout)
}

// statusCounts writes "2 critical, 1 unknown, 1 warning, 3 ok", worst first, leaving
// out statuses no host has; a host that could not be triaged counts as unknown.
func statusCounts(hosts []triage.HostState) string {
	n := map[triage.Status]int{}
	for _, h := range hosts {
		st := h.Status
		if h.Error != "" || schedule.Rank(st) == schedule.Rank(triage.StatusUnknown) {
			st = triage.StatusUnknown
		}
		n[st]++
	}
	var parts []string
	for _, st := range []triage.Status{triage.StatusCritical, triage.StatusUnknown, triage.StatusWarning, triage.StatusOK} {
		if n[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[st], st))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
