package schedule

import (
	"cmp"
	"slices"

	"github.com/authtriage/authtriage/triage"
)

// A Summary is what a fleet run found, compared with the schedule's previous run:
// the content of the message the Notifier posts.
type Summary struct {
	Schedule Schedule
	Run      triage.FleetRun
	// Previous is the schedule's last run before this one; nil on the first run
	// (or when it could not be read, and then Err says so).
	Previous *triage.FleetRun
	// Counts is the number of hosts of Run by status; statuses no host has are
	// absent.
	Counts map[triage.Status]int
	// Worse and Better are the hosts whose status ranks worse or better than in
	// Previous (see Rank), by host name. A host that was not in Previous (it joined
	// the schedule) is in Worse with From "" when its status is not ok. A host
	// that could not be triaged in Run (its Error is set) is in neither: see
	// NotChecked.
	Worse, Better []Change
	// NotChecked are the hosts that could not be triaged in Run (their Error is
	// set) but were triaged in Previous, or were not in it (From ""), and the
	// hosts whose report went from critical to unknown (some checks could not
	// run), by host name; To is unknown. Nobody looked at all of them, so they
	// are not better or worse and resolve no cause: what they had is carried to
	// the next run's comparison (see Baseline).
	NotChecked []Change
	// New are the causes a host has in Run and did not have in Previous; Resolved
	// the reverse. Both are ordered by host name, then cause. A host that joined
	// the schedule brings all its causes as New; a host that left it resolves
	// nothing (nobody looked), but makes the run Changed; so does a host that
	// could not be triaged in Run.
	New, Resolved []CauseChange
	// Changed is set when anything differs from Previous: a status, a cause, the
	// set of hosts, a host not checked that was; and always on the first run. A
	// new report ID or a different Error for a host not triaged is not a change:
	// an internal error's Error carries a reference of its own in every run (see
	// Notifier.Explain).
	Changed bool
	// Problems say what went wrong in the run itself: a host's triage
	// panicked, reports could not be saved, the previous run could not be
	// read. Each is the Scheduler's words and the Notifier's for the error
	// ("2 of 40 reports could not be saved: an internal error (reference
	// 3f9a1c in the bot's log)"), never an error's raw text; the log has the
	// errors in full. The summary is posted all the same, saying so; nil when
	// all went well.
	Problems []string
	// Incidents are the run's incidents (Options.Correlate), worst first:
	// by severity, then by the number of hosts affected, then by when they
	// were first seen. A host in an incident is listed once, under it, by the
	// Notifier. nil when the Scheduler correlates nothing.
	Incidents []triage.Incident
}

// A Change is one host's change of status. ReportID is the host's report in the
// current run ("" when it has none).
type Change struct {
	Host     string
	From, To triage.Status
	ReportID string
}

// A CauseChange is one cause that appeared at (New) or disappeared from
// (Resolved) a host. ReportID is the host's report in the current run.
type CauseChange struct {
	Host     string
	Cause    triage.CauseID
	ReportID string
}

// Rank orders statuses by urgency, as the project's precedence does (critical >
// unknown > warning > ok): ok 0, warning 1, unknown 2, critical 3. Unknown ranks
// above warning because "we could not look" must not read as "fine". Any other
// value ranks as unknown, as its exit code does.
func Rank(s triage.Status) int {
	switch s {
	case triage.StatusOK:
		return 0
	case triage.StatusWarning:
		return 1
	case triage.StatusCritical:
		return 3
	}
	return 2
}

// untriaged reports whether h is a host a run could not triage at all.
func untriaged(h triage.HostState) bool { return h.Error != "" }

// Diff compares a run with the previous one (nil when there is none). It is pure
// and its lists are in a deterministic order (by host, then cause). The Summary's
// Schedule, Problems and Incidents are left for the caller.
//
// A host that could not be triaged in cur goes to NotChecked (when it was
// triaged in prev, or was not in it) and nowhere else. A host that could not
// be triaged in prev is compared with what prev says of it: status unknown,
// and the causes Baseline carried over from the run before.
func Diff(prev *triage.FleetRun, cur triage.FleetRun) Summary {
	s := Summary{Run: cur, Previous: prev, Counts: map[triage.Status]int{}}
	for _, h := range cur.Hosts {
		s.Counts[h.Status]++
	}
	if prev == nil {
		s.Changed = true
		return s
	}
	before := make(map[string]triage.HostState, len(prev.Hosts))
	for _, h := range prev.Hosts {
		before[h.Host] = h
	}
	seen := make(map[string]bool, len(cur.Hosts))
	for _, h := range cur.Hosts {
		seen[h.Host] = true
		p, ok := before[h.Host]
		if untriaged(h) {
			if !ok || !untriaged(p) {
				s.Changed = true
				s.NotChecked = append(s.NotChecked, Change{Host: h.Host, From: p.Status, To: h.Status})
			}
			continue
		}
		if !ok {
			s.Changed = true
			if Rank(h.Status) > Rank(triage.StatusOK) {
				s.Worse = append(s.Worse, Change{Host: h.Host, To: h.Status, ReportID: h.ReportID})
			}
			for _, c := range h.Causes {
				s.New = append(s.New, CauseChange{Host: h.Host, Cause: c, ReportID: h.ReportID})
			}
			continue
		}
		// A report whose status is unknown is incomplete: some checks could not
		// run. It is never "better", and what it does not show is not resolved.
		incomplete := h.Status == triage.StatusUnknown
		if p.Status != h.Status {
			s.Changed = true
			c := Change{Host: h.Host, From: p.Status, To: h.Status, ReportID: h.ReportID}
			switch rf, rt := Rank(p.Status), Rank(h.Status); {
			case rt > rf:
				s.Worse = append(s.Worse, c)
			case rt < rf && !incomplete:
				s.Better = append(s.Better, c)
			case rt < rf:
				s.NotChecked = append(s.NotChecked, c)
			}
		}
		for _, c := range h.Causes {
			if !slices.Contains(p.Causes, c) {
				s.New = append(s.New, CauseChange{Host: h.Host, Cause: c, ReportID: h.ReportID})
			}
		}
		for _, c := range p.Causes {
			if !incomplete && !slices.Contains(h.Causes, c) {
				s.Resolved = append(s.Resolved, CauseChange{Host: h.Host, Cause: c, ReportID: h.ReportID})
			}
		}
	}
	for _, h := range prev.Hosts {
		if !seen[h.Host] {
			s.Changed = true
		}
	}
	s.Changed = s.Changed || len(s.New) > 0 || len(s.Resolved) > 0
	byHost := func(a, b Change) int { return cmp.Compare(a.Host, b.Host) }
	byCause := func(a, b CauseChange) int {
		return cmp.Or(cmp.Compare(a.Host, b.Host), cmp.Compare(a.Cause, b.Cause))
	}
	slices.SortStableFunc(s.Worse, byHost)
	slices.SortStableFunc(s.Better, byHost)
	slices.SortStableFunc(s.NotChecked, byHost)
	slices.SortStableFunc(s.New, byCause)
	slices.SortStableFunc(s.Resolved, byCause)
	return s
}

// Baseline returns cur as it is kept for the next run's Diff: a host that
// could not be triaged in cur (its Error is set, its Causes empty) gets the
// causes prev has for it, so that the next run compares with what was last
// known of the host rather than with "no causes", and a cause that was never
// seen to go is never reported resolved. Its Status stays unknown and its
// Error stays set. A host whose report is incomplete (status unknown) keeps
// prev's causes beside its own, for the same reason. prev may be nil; cur is
// not changed.
func Baseline(prev *triage.FleetRun, cur triage.FleetRun) triage.FleetRun {
	if prev == nil {
		return cur
	}
	known := make(map[string][]triage.CauseID, len(prev.Hosts))
	for _, h := range prev.Hosts {
		known[h.Host] = h.Causes
	}
	out := cur
	out.Hosts = slices.Clone(cur.Hosts)
	for i, h := range out.Hosts {
		switch {
		case untriaged(h) && len(h.Causes) == 0:
			out.Hosts[i].Causes = slices.Clone(known[h.Host])
		case h.Status == triage.StatusUnknown: // incomplete: keep what it could not see
			causes := slices.Clone(h.Causes)
			for _, c := range known[h.Host] {
				if !slices.Contains(causes, c) {
					causes = append(causes, c)
				}
			}
			out.Hosts[i].Causes = causes
		}
	}
	return out
}
