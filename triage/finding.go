package triage

import (
	"fmt"
	"strings"
	"time"
)

// A Finding is one explained problem, as shown to the on-call engineer: which cause,
// how bad, the evidence for it, how to fix it and where to read more.
type Finding struct {
	Cause       CauseID    `json:"cause"`
	Severity    Severity   `json:"severity"`
	Title       string     `json:"title"`   // what the cause means, from the catalog
	Summary     string     `json:"summary"` // this occurrence, with real names and numbers
	Evidence    []Evidence `json:"evidence"`
	Remediation []Step     `json:"remediation"`
	Links       []string   `json:"links"`
	// Facts are the names the finding is about, as its rule filled them into the
	// catalog's placeholders (NewFinding): the placeholder without its angle brackets,
	// lower case ("account", "spn", "wrong", "dc") to the value. Correlation compares
	// them across hosts (the same account locked out, the same DC not answering). They
	// come from evidence and configuration and are as hostile as any evidence text;
	// never a secret (no placeholder is one).
	Facts map[string]string `json:"facts,omitempty"`
}

// Evidence is one fact a finding rests on. For a group of log entries Time is the last
// one, First the first, Count how many, and Clients the distinct client addresses.
type Evidence struct {
	Check   string    `json:"-"` // the check that produced it; decides that check's status
	Source  Source    `json:"source"`
	Text    string    `json:"text"`
	Time    time.Time `json:"time,omitzero"`
	First   time.Time `json:"first,omitzero"`
	Count   int       `json:"count,omitempty"`
	Clients []string  `json:"clients,omitempty"`
	// MoreClients counts distinct clients beyond those listed.
	MoreClients int `json:"more_clients,omitempty"`
}

// Evidence returns e as the evidence for a finding, described by text.
func (e LogEvent) Evidence(text string) Evidence {
	ev := Evidence{
		Check: e.Check, Source: e.Source, Text: text,
		Time: e.Last, Count: e.Count, Clients: e.Clients, MoreClients: e.MoreClients,
	}
	if e.Count > 1 {
		ev.First = e.First
	}
	return ev
}

// Where describes where the entries of e were written, for evidence text:
// "ERRORLOG", "System log (NETLOGON 5719)".
func (e LogEvent) Where() string {
	if e.Source == SourceEventlog {
		return fmt.Sprintf("%s log (%s %d)", e.Log, shortProvider(e.Provider), e.ID)
	}
	if e.Log != "" {
		return e.Log
	}
	return "ERRORLOG"
}

// shortProvider drops the "Microsoft-Windows-" prefix event viewers also hide.
func shortProvider(p string) string {
	return strings.TrimPrefix(p, "Microsoft-Windows-")
}
