package triage

import "time"

// A HostState is one host's outcome in one report, as history, fleet summaries and
// the App Home show it: no evidence, only the verdict and its causes.
type HostState struct {
	Host      string    `json:"host"`
	ReportID  string    `json:"report_id,omitempty"` // "" when no report was made (Error says why)
	Status    Status    `json:"status"`
	Causes    []CauseID `json:"causes,omitempty"` // the findings' causes, worst first, each once
	StartedAt time.Time `json:"started_at"`
	// Error is why a fleet run has no report for the host (it could not be
	// triaged at all); Status is then unknown. It is words people read (the
	// fleet's notifier words the error, and the log has it in full), never an
	// error's raw text.
	Error string `json:"error,omitempty"`
}

// StateOf returns the state a report gives its host. Only findings of severity
// warning or worse count as causes: an info finding is not a problem to track.
func StateOf(rep Report) HostState {
	s := HostState{Host: rep.Host, ReportID: rep.ID, Status: rep.Status, StartedAt: rep.StartedAt}
	seen := map[CauseID]bool{}
	for _, f := range rep.Findings { // Findings are sorted worst first
		if f.Severity >= Warning && !seen[f.Cause] {
			seen[f.Cause] = true
			s.Causes = append(s.Causes, f.Cause)
		}
	}
	return s
}

// A FleetRun is one run of a schedule over its hosts: what each host's state was.
type FleetRun struct {
	Schedule string      `json:"schedule"`
	Tick     time.Time   `json:"tick"` // the scheduled time the run belongs to
	Started  time.Time   `json:"started"`
	Finished time.Time   `json:"finished"`
	Hosts    []HostState `json:"hosts"` // sorted by host name
	// Posted is where the run's summary was posted, as the notifier that
	// posted it wrote it down (opaque to all else); "" when nothing was posted
	// (quiet mode and no change).
	Posted string `json:"posted,omitempty"`
}
