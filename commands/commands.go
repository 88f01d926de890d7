// Package commands is the command language people type to authtriage's bot
// ("check sqlhost01", "share 7kq2m9xd #dba"): Parse reads a command from plain
// text and Help explains them. It knows nothing of Slack: the bot decodes Slack's
// markup (mentions, links, escapes) before Parse reads the text.
package commands

import (
	"strconv"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// A Verb names a command.
type Verb string

// The commands, in the order Help lists them.
const (
	VerbCheck   Verb = "check"   // check HOST [INSTANCE]: triage a host now
	VerbHistory Verb = "history" // history HOST: the latest reports for a host
	VerbShow    Verb = "show"    // show ID: a stored report again
	VerbShare   Verb = "share"   // share ID #channel: post a stored report to a channel
	// incident [TAG|HOST...]: triage a set of hosts now and name what they share
	VerbIncident Verb = "incident"
	VerbHelp     Verb = "help" // help [COMMAND]: what the commands are
)

// Verbs returns every verb, in the order Help lists them.
func Verbs() []Verb {
	return []Verb{VerbCheck, VerbIncident, VerbHistory, VerbShow, VerbShare, VerbHelp}
}

func (v Verb) known() bool {
	switch v {
	case VerbCheck, VerbIncident, VerbHistory, VerbShow, VerbShare, VerbHelp:
		return true
	}
	return false
}

// A Command is one parsed request. It is a small sum type: Verb says which other
// fields are set, and the others are zero.
//
//	Verb     fields
//	check    Host, and Instance when one was given
//	incident Scope, or nothing for every host of the inventory
//	history  Host
//	show     ReportID
//	share    ReportID, Channel
//	help     Topic, or nothing for an overview
//
// Commands are comparable with ==. Parse(c.String()) returns c for every c that
// Parse returned.
type Command struct {
	Verb Verb
	// Host is a valid host name (triage.ValidHostName) in lower case.
	Host string
	// Instance is the instance to check; the zero Instance when none was given.
	// The default instance is {Name: "MSSQLSERVER"} when typed by name, or
	// {Port: 1433} when typed as ":1433".
	Instance triage.Instance
	// ReportID is 8 characters of the alphabet of triage.NewID.
	ReportID string
	Channel  Channel
	// Topic is the command Help should explain; "" for all of them.
	Topic Verb
	// Scope is what incident triages: host names and tags, in lower case, each
	// once, in the order typed, separated by single spaces (a string, so that
	// Commands stay comparable); "" for the whole inventory. Each name is a valid
	// host name or tag (ValidTag); which one it is, the inventory says. Names
	// returns them as a list.
	Scope string
}

// MaxScopeNames bounds the names an incident command takes: a set larger than
// that is a tag's business.
const MaxScopeNames = 50

// Names returns the host names and tags of an incident command's Scope; nil for
// the whole inventory.
func (c Command) Names() []string {
	if c.Scope == "" {
		return nil
	}
	return strings.Split(c.Scope, " ")
}

// A Channel is where to share a report.
type Channel struct {
	// ID is the channel's ID ("C0123ABCD") when the person picked the channel from
	// the chat's list, which the chat passes on as <#C0123ABCD|dba>; "" for a typed
	// #name.
	ID string
	// Name is the channel's name in lower case, without '#'. It may be "" when
	// the chat gave only the ID.
	Name string
}

// String returns the channel as Parse reads it: "<#C0123ABCD|dba>", "<#C0123ABCD>"
// or "#dba".
func (ch Channel) String() string {
	switch {
	case ch.ID != "" && ch.Name != "":
		return "<#" + ch.ID + "|" + ch.Name + ">"
	case ch.ID != "":
		return "<#" + ch.ID + ">"
	}
	return "#" + ch.Name
}

// String returns the command in the canonical form Parse reads, such as
// "check sqlhost01 SALES" or "share 7kq2m9xd #dba".
func (c Command) String() string {
	s := string(c.Verb)
	switch c.Verb {
	case VerbCheck:
		s += " " + c.Host
		if c.Instance != (triage.Instance{}) {
			s += " " + formatInstance(c.Instance)
		}
	case VerbHistory:
		s += " " + c.Host
	case VerbIncident:
		if c.Scope != "" {
			s += " " + c.Scope
		}
	case VerbShow:
		s += " " + c.ReportID
	case VerbShare:
		s += " " + c.ReportID + " " + c.Channel.String()
	case VerbHelp:
		if c.Topic != "" {
			s += " " + string(c.Topic)
		}
	}
	return s
}

// formatInstance writes an instance as typed: NAME, NAME:PORT or :PORT. Unlike
// triage.Instance.String it keeps an empty name empty, so that it round-trips.
func formatInstance(in triage.Instance) string {
	if in.Port == 0 {
		return in.Name
	}
	return in.Name + ":" + strconv.Itoa(in.Port)
}
