// Package store is authtriage's memory: every triage report, the audit log of
// commands, the keys that de-duplicate Slack deliveries, the leases that make
// several replicas run each scheduled run once, and the schedules' runs.
//
// Two backends implement the same behaviour: SQLite (embedded, pure Go, the
// default) and PostgreSQL (for several replicas sharing one database). Every
// method takes a context and returns when it is done; none keeps the context.
// Times are kept in UTC to the microsecond (see DB).
package store

import (
	"errors"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// ErrNotFound is returned (wrapped) when a report or run asked for does not exist.
var ErrNotFound = errors.New("not found")

// ErrIDTaken is returned (wrapped) by SaveReport when the report's ID is
// another host's report's or reservation. An ID that ReserveReportID gave for
// the report's host never is.
var ErrIDTaken = errors.New("report ID is taken by another host's report")

// A Record is one stored triage: the full report and where it was posted.
type Record struct {
	Report triage.Report
	// Channel and ThreadTS locate the report's Slack thread (the parent message);
	// both "" when it was not posted (CLI, or not posted yet).
	Channel  string
	ThreadTS string
	// RequestedBy is who asked: a Slack user ID, or "schedule:NAME".
	RequestedBy string
	// Signatures are the report's findings as correlation compares them
	// (correlate.Signatures), kept beside the report for RecentSignatures:
	// SaveReport replaces the report's with these. The store names the report
	// in each (ReportID, the ID it saved the report under) and gives those
	// without a Host the report's; Report gives them back so, in their order.
	Signatures []triage.Signature
}

// An Entry is one line of a host's history: the state of one report and where
// its thread is.
type Entry struct {
	triage.HostState
	Channel  string
	ThreadTS string
}

// An AuditEntry records one command someone gave the bot, allowed or not.
type AuditEntry struct {
	Time    time.Time
	User    string // Slack user ID
	Channel string // Slack channel ID ("D..." for a direct message)
	Origin  string // slash, mention, dm, button, schedule
	Command string // the command as commands.Command.String() writes it, or the button's action
	Result  string // ok, denied, rejected (bad input), busy, error, limited (see the bot)
	Detail  string // why, for denied/rejected/error; the report ID for ok triages
	// CommandBytes and DetailBytes are the lengths in bytes of Command and
	// Detail as given, before the store cut them to MaxAuditText (Bounded):
	// larger than len(Command) or len(Detail) when they were cut. Zero when
	// given means not cut yet.
	CommandBytes, DetailBytes int
}

// LeaseState is what Lease found.
type LeaseState int

const (
	// Acquired: the caller holds the lease now (it was free, expired, or already
	// the caller's and is renewed until now+ttl).
	Acquired LeaseState = iota
	// Held: another holder's lease has not expired.
	Held
	// Done: the lease's work was finished (Finish) by whoever held it; nobody
	// may take it again.
	Done
)

func (s LeaseState) String() string {
	switch s {
	case Acquired:
		return "acquired"
	case Held:
		return "held"
	case Done:
		return "done"
	}
	return "LeaseState(?)"
}
