package triage

import (
	"crypto/rand"
	"encoding/json"
	"sort"
	"time"
)

// A Report is the result of one triage of one host. Its JSON form is a public contract.
type Report struct {
	ID        string        `json:"id"`
	Host      string        `json:"host"`
	Status    Status        `json:"status"`
	StartedAt time.Time     `json:"started_at"`
	Duration  time.Duration `json:"-"`
	Findings  []Finding     `json:"findings"`
	Checks    []CheckResult `json:"checks"`
	// Trend is when the authentication failures in ERRORLOG happened, per hour over
	// the last day (Observations.Trend); nil, and left out of the JSON, when the log
	// holds none or was not read.
	Trend *Trend `json:"trend,omitempty"`
	// Delegation is what the checks of the second hop saw (Observations.Delegation)
	// when they saw a path or a linked server; nil, and left out of the JSON, otherwise.
	Delegation *DelegationFacts `json:"delegation,omitempty"`
	// Instances is what discovery learnt of the host's instances, their ports (each
	// with its source), listeners and names (Observations.Instances); nil, and left out
	// of the JSON, when discovery did not run.
	Instances *InstanceFacts `json:"instances,omitempty"`
}

// A CheckResult is how one check went.
type CheckResult struct {
	Name     string        `json:"name"`
	Status   CheckStatus   `json:"status"`
	Duration time.Duration `json:"-"`
	Detail   string        `json:"detail,omitempty"`
	// Agent names the helper agent that ran the check, as the configuration names it;
	// "" when the check ran where authtriage runs.
	Agent string `json:"agent,omitempty"`
	// Err is the error of a check with status error, for callers that need its kind
	// (see InputError); Detail already says it in words.
	Err error `json:"-"`
	// Missing is what the request lacked, for a check skipped for that reason (see
	// SkipLacking), so that a front end can say how to give it; Detail already says
	// what is missing. A check an agent ran does not carry it.
	Missing Missing `json:"-"`
}

// Via returns "via agent NAME" for a check a helper agent ran, or "".
func (c CheckResult) Via() string {
	if c.Agent == "" {
		return ""
	}
	return "via agent " + c.Agent
}

// MarshalJSON writes the report with its duration in whole milliseconds.
func (r Report) MarshalJSON() ([]byte, error) {
	type plain Report
	return json.Marshal(struct {
		plain
		DurationMS int64 `json:"duration_ms"`
	}{plain(r), r.Duration.Milliseconds()})
}

// MarshalJSON writes the result with its duration in whole milliseconds.
func (c CheckResult) MarshalJSON() ([]byte, error) {
	type plain CheckResult
	return json.Marshal(struct {
		plain
		DurationMS int64 `json:"duration_ms"`
	}{plain(c), c.Duration.Milliseconds()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Report) UnmarshalJSON(b []byte) error {
	type plain Report
	var v struct {
		plain
		DurationMS int64 `json:"duration_ms"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Report(v.plain)
	r.Duration = time.Duration(v.DurationMS) * time.Millisecond
	return nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *CheckResult) UnmarshalJSON(b []byte) error {
	type plain CheckResult
	var v struct {
		plain
		DurationMS int64 `json:"duration_ms"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*c = CheckResult(v.plain)
	c.Duration = time.Duration(v.DurationMS) * time.Millisecond
	return nil
}

// Worst returns the most severe finding, or false when there is none.
func (r Report) Worst() (Finding, bool) {
	if len(r.Findings) == 0 {
		return Finding{}, false
	}
	return r.Findings[0], true // Findings are kept sorted worst first
}

// sortFindings orders findings worst first; among equals, the one with more evidence
// entries first, then by cause ID so the order is stable.
func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Severity != fs[j].Severity {
			return fs[i].Severity > fs[j].Severity
		}
		ci, cj := evidenceCount(fs[i]), evidenceCount(fs[j])
		if ci != cj {
			return ci > cj
		}
		return fs[i].Cause < fs[j].Cause
	})
}

func evidenceCount(f Finding) int {
	n := 0
	for _, e := range f.Evidence {
		n += max(e.Count, 1)
	}
	return n
}

// status derives the report's status from its findings and checks: critical when a
// finding is critical; otherwise unknown when a finding is of unknown severity or a
// check could not run; otherwise warning when a finding is a warning; otherwise ok.
func status(fs []Finding, cs []CheckResult) Status {
	worst := Info
	for _, f := range fs {
		worst = max(worst, f.Severity)
	}
	if worst == Critical {
		return StatusCritical
	}
	for _, c := range cs {
		if c.Status == CheckError {
			return StatusUnknown
		}
	}
	switch worst {
	case Unknown:
		return StatusUnknown
	case Warning:
		return StatusWarning
	}
	return StatusOK
}

// NewID returns a short random report ID: 8 lower-case letters and digits, easy to
// read aloud and to type ("share 7kq2m9xd #dba").
func NewID() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789" // no 0/o, 1/l/i
	b := make([]byte, 8)
	rand.Read(b) // never returns an error (crypto/rand, Go 1.24+)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}
