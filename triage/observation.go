package triage

import (
	"sort"
	"time"
)

// Source names where evidence came from. The values are part of the JSON contract.
type Source string

const (
	SourceErrorlog  Source = "errorlog"  // SQL Server's ERRORLOG, read from a file or sp_readerrorlog
	SourceEventlog  Source = "eventlog"  // Windows event logs (System, Application)
	SourceDirectory Source = "directory" // Active Directory
	SourceKerberos  Source = "kerberos"  // a ticket request to the KDC
	SourceSQL       Source = "sql"       // a login to SQL Server
	SourceDNS       Source = "dns"
	SourceClock     Source = "clock"
	SourceAgent     Source = "agent"
)

// Observations is everything the checks of one run saw. Each check fills in its part;
// the Runner merges them and stamps each item with the check that produced it.
type Observations struct {
	Logs      []LogEvent      // grouped log entries from ERRORLOG and the Windows event logs
	Server    *ServerInfo     // what SQL Server said about itself at its last start-up
	Directory *DirectoryFacts // what Active Directory, the KDC and DNS said; nil when not checked
	SQL       []SQLLogin      // logins to the host's instances
	Host      *HostFacts      // what the agent saw on the SQL Server host; nil when not there
	Agents    []AgentFacts    // agents that could not run some checks
	// Delegation is what the checks of the second hop saw; nil when none ran.
	Delegation *DelegationFacts
	// Instances is what discovery learnt of the host's instances, listeners and
	// names; nil when it did not run.
	Instances *InstanceFacts
	// Trend counts the failures in ERRORLOG per hour over the last day of the window;
	// nil when the log holds none in the window, or was not read.
	Trend *Trend
}

// merge appends o's observations to obs, naming check as their origin.
func (obs *Observations) merge(o Observations, check string) {
	for _, e := range o.Logs {
		e.Check = check
		obs.Logs = append(obs.Logs, e)
	}
	if o.Server != nil && (obs.Server == nil || o.Server.StartedAt.After(obs.Server.StartedAt)) {
		s := *o.Server
		s.Check = check
		obs.Server = &s
	}
	if o.Directory != nil {
		obs.mergeDirectory(*o.Directory)
	}
	obs.SQL = append(obs.SQL, o.SQL...)
	if o.Host != nil {
		if obs.Host == nil {
			obs.Host = &HostFacts{}
		}
		if o.Host.LSA != nil {
			obs.Host.LSA = o.Host.LSA
		}
		if o.Host.Keytab != nil {
			obs.Host.Keytab = o.Host.Keytab
		}
	}
	obs.Agents = append(obs.Agents, o.Agents...)
	if o.Delegation != nil {
		if obs.Delegation == nil {
			obs.Delegation = &DelegationFacts{}
		}
		obs.Delegation.merge(*o.Delegation)
	}
	if o.Trend != nil {
		obs.Trend = MergeTrends(obs.Trend, o.Trend)
	}
	if o.Instances != nil && obs.Instances == nil { // one check discovers
		obs.Instances = o.Instances
	}
}

// mergeDirectory adds the directory facts one check saw to those of the others: each
// check fills its own fields, so lists are appended and single facts kept when first
// set. Rules know which check produces which fact, so no origin is recorded.
func (obs *Observations) mergeDirectory(d DirectoryFacts) {
	if obs.Directory == nil {
		obs.Directory = &DirectoryFacts{}
	}
	m := obs.Directory
	if m.ReadAt.IsZero() {
		m.ReadAt = d.ReadAt
	}
	if m.NetBIOS == "" {
		m.NetBIOS = d.NetBIOS
	}
	if len(m.RequiredSPNs) == 0 {
		m.RequiredSPNs = d.RequiredSPNs
	}
	m.SPNs = append(m.SPNs, d.SPNs...)
	if m.ServiceAccount == nil {
		m.ServiceAccount = d.ServiceAccount
	}
	if m.ServiceAccountMissing == "" {
		m.ServiceAccountMissing = d.ServiceAccountMissing
	}
	if m.MaxPwdAge == 0 {
		m.MaxPwdAge = d.MaxPwdAge
	}
	m.DCs = append(m.DCs, d.DCs...)
	m.Clocks = append(m.Clocks, d.Clocks...)
	m.Tickets = append(m.Tickets, d.Tickets...)
	if m.DNS == nil {
		m.DNS = d.DNS
	}
	m.Probes = append(m.Probes, d.Probes...)
	if m.HostSPNs == nil && d.HostSPNs != nil {
		m.HostSPNs = []SPNOwners{} // looked up, even if nothing was found
	}
	m.HostSPNs = append(m.HostSPNs, d.HostSPNs...)
}

// ServerInfo is what SQL Server wrote about itself when it last started.
type ServerInfo struct {
	Check          string    // the check that read it
	StartedAt      time.Time // time of the first entry of the start-up
	Version        string    // "Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64)"
	ServiceAccount string    // "NT Service\MSSQLSERVER", "CORP\svc_sql"
	AuthMode       string    // "MIXED" or "WINDOWS-ONLY"
	Instance       string    // from the -s start-up parameter, "MSSQLSERVER" for the default
}

// A LogEvent is a group of log entries that mean the same thing: same message number
// or event ID, same error code, state, login and SPN. Entries differing only in time or
// client are counted together.
type LogEvent struct {
	Check    string // the check that read it; set by the Runner
	Source   Source // SourceErrorlog or SourceEventlog
	Log      string // "ERRORLOG", "System", "Application"
	Provider string // event provider ("NETLOGON", "Microsoft-Windows-Security-Kerberos"); "" for ERRORLOG
	ID       int    // SQL Server message number or Windows event ID
	State    int    // SQL Server "State: N"; -1 when the log does not say
	// Code is the SSPI, Kerberos or Windows return code, lower-case hex: "0x80090311",
	// "0x7". For an 18452 in ERRORLOG it is the code of the 17806 written with it (same
	// time and client), so each "untrusted domain" counts with the failure behind it.
	Code   string
	Login  string // login name of 18456 / 18452; of 7399 / 7412, the one the carried message names
	SPN    string // service principal name, or Kerberos target name
	Reason string // the "Reason: ..." of 17806 / 18456; of 7399 / 7412, the message the OLE DB provider carried
	Linked string // the linked server 7303, 7399, 7412 and 7413 name, as written ("(null)": the query named none)
	Text   string // message text of the first entry in the group
	Millis int    // 17830: the largest "negotiating SSPI" time, in milliseconds

	Count   int
	First   time.Time
	Last    time.Time
	Clients []string // distinct client addresses, sorted; at most MaxClients
	// MoreClients counts distinct clients beyond those in Clients.
	MoreClients int
}

// MaxClients is the number of distinct client addresses a LogEvent lists.
const MaxClients = 50

// A LogEntry is one entry of a log, before grouping.
type LogEntry struct {
	LogEvent           // the identifying fields; Count, First, Last and Clients are ignored
	Time     time.Time // when it was written
	Client   string    // client address, "" if none
}

// LogGrouper groups log entries into LogEvents. The zero value is ready to use.
// Memory grows with the number of distinct groups and clients, not with entries.
type LogGrouper struct {
	groups map[groupKey]*group
	order  []groupKey
}

type groupKey struct {
	source                   Source
	log, provider            string
	id, state                int
	code, login, spn, reason string
	linked                   string
}

type group struct {
	ev      LogEvent
	clients map[string]struct{}
}

// maxTrackedClients bounds the memory used to count distinct clients of one group.
const maxTrackedClients = 10000

// Add counts one entry.
func (g *LogGrouper) Add(e LogEntry) {
	k := groupKey{e.Source, e.Log, e.Provider, e.ID, e.State, e.Code, e.Login, e.SPN, e.Reason, e.Linked}
	if g.groups == nil {
		g.groups = make(map[groupKey]*group)
	}
	gr := g.groups[k]
	if gr == nil {
		ev := e.LogEvent
		ev.Count, ev.Clients, ev.MoreClients = 0, nil, 0
		ev.First, ev.Last = e.Time, e.Time
		gr = &group{ev: ev}
		g.groups[k] = gr
		g.order = append(g.order, k)
	}
	gr.ev.Count++
	if e.Time.Before(gr.ev.First) {
		gr.ev.First = e.Time
	}
	if e.Time.After(gr.ev.Last) {
		gr.ev.Last = e.Time
	}
	if e.Millis > gr.ev.Millis {
		gr.ev.Millis = e.Millis
	}
	if e.Client != "" {
		if gr.clients == nil {
			gr.clients = make(map[string]struct{})
		}
		if len(gr.clients) < maxTrackedClients {
			gr.clients[e.Client] = struct{}{}
		}
	}
}

// Events returns the groups in the order their first entry was added.
func (g *LogGrouper) Events() []LogEvent {
	out := make([]LogEvent, 0, len(g.order))
	for _, k := range g.order {
		gr := g.groups[k]
		ev := gr.ev
		if len(gr.clients) > 0 {
			clients := make([]string, 0, len(gr.clients))
			for c := range gr.clients {
				clients = append(clients, c)
			}
			sort.Strings(clients)
			if len(clients) > MaxClients {
				ev.MoreClients = len(clients) - MaxClients
				clients = clients[:MaxClients]
			}
			ev.Clients = clients
		}
		out = append(out, ev)
	}
	return out
}
