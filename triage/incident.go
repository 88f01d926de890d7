package triage

import "time"

// A FactorKind names something hosts with the same cause can have in common, which
// makes their findings one incident. The values are part of the JSON contract.
type FactorKind string

const (
	FactorDC      FactorKind = "dc"        // a domain controller the evidence names: dc2.corp.example
	FactorDomain  FactorKind = "domain"    // the domain the failures are about: corp.example
	FactorAccount FactorKind = "account"   // a service account the findings are about: CORP\svc_sql
	FactorOwner   FactorKind = "spn_owner" // the account an SPN is registered on
	FactorClient  FactorKind = "client"    // a client address the evidence names
	FactorSubnet  FactorKind = "subnet"    // the /24 (IPv4) or /64 (IPv6) of the clients
	FactorAgent   FactorKind = "agent"     // the helper agent that did not answer
	FactorStart   FactorKind = "start"     // the minute (UTC) the failures began, RFC 3339
)

// A Factor is one thing a finding is about, as correlation compares it across hosts.
type Factor struct {
	Kind  FactorKind `json:"kind"`
	Value string     `json:"value"`
}

// A Signature is one finding of one host's report reduced to what correlation needs:
// its cause and severity, when its evidence happened and what it is about. It is small
// and holds no evidence text, so that a sweep keeps one per finding for every host.
type Signature struct {
	Host     string
	ReportID string
	Cause    CauseID
	Severity Severity
	// First and Last bound the finding's evidence; both are the report's start when its
	// evidence carries no time (a directory fact, a ticket refused now).
	First, Last time.Time
	// Factors has a FactorStart only when the evidence has a time: it says that
	// First is the evidence's, not the report's start.
	Factors []Factor
}

// An Incident is one cause seen on several hosts at overlapping times with something
// in common: named once, with the hosts it affects, those checked and not affected,
// what they share and one set of fixes.
type Incident struct {
	// ID hashes the cause, the primary factor every affected host shares (the account
	// of account.*, the SPN owner of spn.*, the domain of dc.*, kerberos.* and
	// computer.secure_channel, the agent of agent.unreachable; for other causes, or
	// hosts that share none, every shared factor but the start) and the minute (UTC)
	// of the earliest evidence time of its findings, none when no finding's evidence
	// has a time (a directory fact: then every sweep that finds it gives the same ID).
	// The same incident found again (by the next sweep, by another replica) keeps its ID.
	ID       string   `json:"id"`
	Cause    CauseID  `json:"cause"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	// Shared is what every affected host's finding has in common (beyond the cause),
	// the most telling first; empty when they share only the time. Client and subnet
	// factors are left out for the causes grouped by domain (dc.*, kerberos.*,
	// computer.secure_channel), and a subnet that contains a shared client is dropped.
	// The start is in it only when every host has a finding with an evidence time,
	// all in the same minute.
	Shared    []Factor       `json:"shared"`
	FirstSeen IncidentHost   `json:"first_seen"`
	Hosts     []IncidentHost `json:"hosts"` // the affected hosts, by the time each was first seen
	// Unaffected are the hosts checked in the same window that do not have the cause,
	// by name: a healthy host on the same DC narrows the cause.
	Unaffected []string  `json:"unaffected,omitempty"`
	Last       time.Time `json:"last"`
	// Fixes is the cause's remediation once for the incident (unlock the account once,
	// not on every host): the steps every affected host shares, filled in, each once.
	Fixes []Step `json:"fixes"`
	// PerHost are the cause's steps that still name one host's own values (<HOST>,
	// <SPN>, <INSTANCE>...): they are done on each affected host, whose report has them
	// filled in; never under "once".
	PerHost []Step   `json:"per_host,omitempty"`
	Links   []string `json:"links,omitempty"`
}

// An IncidentHost is one affected host of an incident and its report.
type IncidentHost struct {
	Host     string    `json:"host"`
	ReportID string    `json:"report_id,omitempty"`
	First    time.Time `json:"first"`
}
