package diagnosis

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// SQL Server's own view of its logins (triage.InstanceFacts.Connections and Failures)
// is evidence for the causes the other rules already know, counted like the ERRORLOG's:
//
//   - The connections it has open (sys.dm_exec_connections, grouped by auth_scheme and
//     client_net_address): remote clients on NTLM where an SPN of the instance is
//     registered are kerberos.ntlm_fallback (sqlViewRule, or sqlLoginRule's finding
//     when the checker's own login used NTLM too). "sys.dm_exec_connections" says of
//     auth_scheme only "Specifies SQL Server/Windows Authentication scheme used with
//     this connection" and lists no values
//     (https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/sys-dm-exec-connections-transact-sql);
//     "Register a Service Principal Name for Kerberos Connections" names KERBEROS
//     ("check the value of the auth_scheme column, which will be KERBEROS if Kerberos
//     is enabled") and, under Authentication Defaults, says that with the SPN on the
//     right account "Local connections use NTLM, remote connections use Kerberos", and
//     that when "The SPN lookup fails ... Local and remote connections use NTLM"
//     (linkRegisterSPN). "How to determine if the authentication type is Kerberos"
//     says a connection made on the server itself is always NTLM, "because of a
//     per-service SID security hardening feature"
//     (https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/determine-the-authentication-type).
//     So Shared Memory ("<local machine>", the value SQL Server writes for it; no
//     Microsoft page documents it), loopback addresses and the host's own addresses
//     are never counted.
//   - RING_BUFFER_SECURITY_ERROR records with an SSPI status code are counted as the
//     17806 failures of the same code are (sspiFailures): the same causes through
//     sspiCauseIn, as the failures when the ERRORLOG has none of that code (it may
//     have cycled), as corroboration when it has. Microsoft documents the buffer's
//     content only in passing: "The ring buffer contains the name of the failed API
//     and the Windows error code returned by the API" ("MSSQLSERVER_33081",
//     https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-33081-database-engine-error),
//     and "sys.dm_os_ring_buffers" says its records are "Not supported unless
//     described in the official Microsoft product documentation, or used as directed
//     by Microsoft for diagnostic and troubleshooting purposes"
//     (https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/sys-dm-os-ring-buffers-transact-sql).
//   - RING_BUFFER_CONNECTIVITY records whose login timers spent long in SSPI are
//     counted as the slow 17830 are, for lsa.unresponsive, at the same threshold
//     (slowSSPIMillis). No Microsoft documentation page describes the login timers
//     (SspiProcessingInMilliseconds); Microsoft's CSS networking tools wiki ("Collect
//     the Connectivity Ring Buffer", github.com/microsoft/CSS_SQL_Networking_Tools)
//     calls the buffer "a history of login events".

// The ring buffers SQL Server keeps its login failures in.
const (
	ringSecurityError = "RING_BUFFER_SECURITY_ERROR"
	ringConnectivity  = "RING_BUFFER_CONNECTIVITY"
)

// localMachine is the client_net_address of a Shared Memory connection.
const localMachine = "<local machine>"

// sqlViewRule reports remote Windows connections authenticated with NTLM although an
// SPN of their instance is registered (kerberos.ntlm_fallback), when neither the SPN
// findings (the SPN is missing, duplicated or on another account, which says why) nor
// the checker's own NTLM login (sqlLoginRule, which carries these connections as
// evidence) already report it. Nor when the spn check found the SPN of a listener or
// an alias of the host on no account (listener.spn_missing, name.alias): clients that
// connect by that name ask for that SPN and fall back to NTLM, so those connections
// are that fault's, and a finding here would point at the host's own SPN, which is
// registered and not why they use NTLM.
type sqlViewRule struct{}

func (sqlViewRule) Name() string { return "sql-view" }

func (sqlViewRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	if spnProblem(obs) || checkerUsedNTLM(obs) || unownedNameProbe(obs) {
		return nil
	}
	ntlm := remoteNTLM(t, obs)
	if len(ntlm.evidence) == 0 {
		return nil
	}
	n := namesFor(t, obs)
	f := triage.NewFinding(triage.KerberosNTLMFallback, n.with(triage.PHSPN, ntlm.spn))
	f.Evidence = ntlm.evidence
	f.Summary = fmt.Sprintf("%s to %s from %s were authenticated with NTLM, not Kerberos, although %s is registered: those clients could not get or use a Kerberos ticket for it",
		human.Count(ntlm.connections, "Windows connection", "Windows connections"), t.Host,
		human.Count(ntlm.clients, "remote client", "remote clients"), ntlm.spn)
	if ntlm.kerberos > 0 {
		f.Summary += fmt.Sprintf(" (%s used Kerberos)", human.Count(ntlm.kerberos, "other connection", "other connections"))
	}
	return []triage.Finding{f}
}

// unownedNameProbe reports whether the spn check found the SPN of a listener or of an
// alias of the host registered on no account.
func unownedNameProbe(obs triage.Observations) bool {
	d := obs.Directory
	if d == nil {
		return false
	}
	return slices.ContainsFunc(d.Probes, func(p triage.SPNProbe) bool {
		return (p.Kind == triage.ProbeListener || p.Kind == triage.ProbeAlias) && len(p.Owners) == 0
	})
}

// checkerUsedNTLM reports whether the checker's own Windows login used NTLM, which
// sqlLoginRule reports.
func checkerUsedNTLM(obs triage.Observations) bool {
	return slices.ContainsFunc(obs.SQL, func(l triage.SQLLogin) bool { return l.OK && strings.EqualFold(l.AuthScheme, "NTLM") })
}

// ntlmView is what sys.dm_exec_connections says of NTLM from remote clients.
type ntlmView struct {
	evidence    []triage.Evidence // one item per instance
	spn         string            // a registered SPN of the first such instance
	connections int               // remote NTLM connections in all
	clients     int               // distinct remote clients on NTLM
	kerberos    int               // connections on Kerberos to the same instances
}

// remoteNTLM reads the connection groups of the instances that have a registered SPN,
// and returns those of remote clients authenticated with NTLM as evidence.
func remoteNTLM(t triage.Target, obs triage.Observations) ntlmView {
	var v ntlmView
	f := obs.Instances
	if f == nil || len(f.Connections) == 0 {
		return v
	}
	own := hostAddresses(t, obs)
	type acc struct {
		count, kerberos int
		clients         []string
	}
	byInstance := map[string]*acc{}
	var order []string
	allClients := map[string]bool{}
	for _, g := range f.Connections {
		if g.Count <= 0 || !remoteClient(g.Client, own) {
			continue
		}
		if _, ok := registeredSPN(t, obs, g.Instance); !ok {
			continue
		}
		a := byInstance[g.Instance]
		if a == nil {
			a = &acc{}
			byInstance[g.Instance] = a
			order = append(order, g.Instance)
		}
		switch {
		case strings.EqualFold(g.AuthScheme, "NTLM"):
			a.count += g.Count
			if !slices.Contains(a.clients, g.Client) {
				a.clients = append(a.clients, g.Client)
			}
			allClients[g.Client] = true
		case strings.EqualFold(g.AuthScheme, "KERBEROS"):
			a.kerberos += g.Count
		}
	}
	for _, in := range order {
		a := byInstance[in]
		if a.count == 0 {
			continue
		}
		spn, _ := registeredSPN(t, obs, in)
		if v.spn == "" {
			v.spn = spn
		}
		slices.Sort(a.clients)
		ev := triage.Evidence{Check: checkInstances, Source: triage.SourceSQL, Count: a.count,
			Text: fmt.Sprintf("sys.dm_exec_connections on %s: %s from %s authenticated with auth_scheme NTLM, although %s is registered",
				in, human.Count(a.count, "connection", "connections"), human.Count(len(a.clients), "remote client", "remote clients"), spn)}
		if a.kerberos > 0 {
			ev.Text += fmt.Sprintf("; %s from other machines used KERBEROS", human.Count(a.kerberos, "connection", "connections"))
		}
		ev.Clients = a.clients
		if len(ev.Clients) > triage.MaxClients {
			ev.Clients, ev.MoreClients = ev.Clients[:triage.MaxClients], len(ev.Clients)-triage.MaxClients
		}
		v.evidence = append(v.evidence, ev)
		v.connections += a.count
		v.kerberos += a.kerberos
	}
	v.clients = len(allClients)
	return v
}

// remoteClient reports whether client_net_address names another machine: not Shared
// Memory, not a loopback address, not an address of the host itself.
func remoteClient(client string, own []netip.Addr) bool {
	c := strings.TrimSpace(client)
	if c == "" || strings.EqualFold(c, localMachine) {
		return false
	}
	ip, ok := parseIP(c)
	if !ok {
		return true
	}
	return !ip.IsLoopback() && !slices.Contains(own, ip)
}

// hostAddresses returns the addresses of the host itself: what its own name resolves
// to, as discovery and the DNS check saw them, and the IP addresses of its
// availability-group listeners (the target's and discovery's), which the primary
// replica's host holds: a client on the host that connects through a listener comes
// from the listener's address ("What is an availability group listener?": a listener
// is "a Domain Name System (DNS) listener name, listener port designation, and one or
// more IP addresses",
// https://learn.microsoft.com/sql/database-engine/availability-groups/windows/availability-group-listener-overview).
func hostAddresses(t triage.Target, obs triage.Observations) []netip.Addr {
	var out []netip.Addr
	add := func(ss []string) {
		for _, s := range ss {
			if ip, ok := parseIP(s); ok {
				out = append(out, ip)
			}
		}
	}
	if f := obs.Instances; f != nil && f.Names != nil {
		add(f.Names.Addresses)
	}
	if d := obs.Directory; d != nil && d.DNS != nil {
		add(d.DNS.Addresses)
	}
	for _, l := range t.Listeners {
		add(l.IPs)
	}
	if f := obs.Instances; f != nil {
		for _, l := range f.Listeners {
			add(l.IPs)
		}
	}
	return out
}

// registeredSPN returns the SPN TCP clients of instance (as Instance.String() writes
// it) ask for, when the spn check found it registered on an account: the one of that
// instance, or, when the instance is not among the target's, the first registered TCP
// SPN of the host. Kerberos is expected only then.
func registeredSPN(t triage.Target, obs triage.Observations, instance string) (string, bool) {
	d := obs.Directory
	if d == nil {
		return "", false
	}
	registered := func(spn string) bool {
		return slices.ContainsFunc(d.SPNs, func(so triage.SPNOwners) bool { return strings.EqualFold(so.SPN, spn) && len(so.Owners) > 0 })
	}
	name, _, _ := strings.Cut(instance, ":")
	for _, r := range t.SPNRequirements() {
		if r.Transport != triage.TransportTCP {
			continue
		}
		in := r.Instance
		if (in.String() == instance || (strings.EqualFold(cmp.Or(in.Name, "MSSQLSERVER"), name))) && registered(r.SPN) {
			return r.SPN, true
		}
	}
	return "", false
}

// ntlmConnectionEvidence returns the remote NTLM connections to the host's instances
// (sys.dm_exec_connections) as evidence for another finding of the same cause.
func ntlmConnectionEvidence(t triage.Target, obs triage.Observations) []triage.Evidence {
	return remoteNTLM(t, obs).evidence
}

// ringSSPIEvents returns the RING_BUFFER_SECURITY_ERROR groups whose code is an SSPI
// status code authtriage knows, as log events that read like the 17806 failures of
// the same code: Source SQL, Log the buffer's name, State -1 (the buffer has none),
// First and Last the group's, so that a finding resting on them says when they
// happened as it does for the ERRORLOG's (spanAll). A group without a time is left
// out: the buffer keeps records for days, and one that cannot be placed in the
// triage window is not a current failure (the instances check drops the groups
// whose Last is before the window).
func ringSSPIEvents(obs triage.Observations) []triage.LogEvent {
	f := obs.Instances
	if f == nil {
		return nil
	}
	var out []triage.LogEvent
	for _, r := range f.Failures {
		if !strings.EqualFold(r.Buffer, ringSecurityError) || r.Count <= 0 || r.Last.IsZero() {
			continue
		}
		code := strings.ToLower(strings.TrimSpace(r.Code))
		if _, ok := triage.SSPIStatusFor(code); !ok {
			continue
		}
		e := triage.LogEvent{Check: checkInstances, Source: triage.SourceSQL, Log: ringSecurityError, ID: triage.Msg17806,
			Code: code, State: -1, Count: r.Count, First: r.First, Last: r.Last, Text: ringText(r)}
		e.Clients, e.MoreClients = capClients(r.Clients)
		out = append(out, e)
	}
	return out
}

// sspiFailures returns the SSPI handshake failures the rules of 17806 judge: the
// ERRORLOG's (or the Application log's) 17806, and the ring buffer's security errors
// of the codes none of those has, which are still there after the ERRORLOG cycled.
func sspiFailures(obs triage.Observations) []triage.LogEvent {
	logged := sqlEvents(obs, triage.Msg17806)
	out := slices.Clone(logged)
	for _, r := range ringSSPIEvents(obs) {
		if !slices.ContainsFunc(logged, func(e triage.LogEvent) bool { return e.Code == r.Code }) {
			out = append(out, r)
		}
	}
	return out
}

// ringCorroboration returns the ring buffer's security errors that sspiCauseIn maps to
// cause and whose code the ERRORLOG's 17806 also have, as evidence for the finding of
// those 17806 (the others are failures of their own, see sspiFailures).
func ringCorroboration(cause triage.CauseID, t triage.Target, obs triage.Observations) []triage.Evidence {
	logged := sqlEvents(obs, triage.Msg17806)
	var out []triage.Evidence
	for _, r := range ringSSPIEvents(obs) {
		if sspiCauseIn(r.Code, t, obs) != cause || !slices.ContainsFunc(logged, func(e triage.LogEvent) bool { return e.Code == r.Code }) {
			continue
		}
		out = append(out, r.Evidence(r.Text))
	}
	return out
}

// ringText describes a security-error group: "RING_BUFFER_SECURITY_ERROR on
// MSSQLSERVER: AcceptSecurityContext (called by ...) failed with 0x8009030c
// SEC_E_LOGON_DENIED (The logon failed.)".
func ringText(r triage.RingBufferEvent) string {
	api := cmp.Or(r.API, "an SSPI function")
	if r.CallingAPI != "" {
		api += " (called by " + r.CallingAPI + ")"
	}
	where := r.Buffer
	if r.Instance != "" {
		where += " on " + r.Instance
	}
	return fmt.Sprintf("%s: %s failed with %s", where, api, describeSSPI(strings.ToLower(r.Code)))
}

// slowRingLogins returns the RING_BUFFER_CONNECTIVITY groups whose logins spent at
// least slowSSPIMillis in SSPI processing, as evidence, with their total and the
// longest time.
func slowRingLogins(obs triage.Observations) (ev []triage.Evidence, total, worst int) {
	f := obs.Instances
	if f == nil {
		return nil, 0, 0
	}
	for _, r := range f.Failures {
		if !strings.EqualFold(r.Buffer, ringConnectivity) || r.SSPIMillis < slowSSPIMillis || r.Count <= 0 || r.Last.IsZero() {
			continue
		}
		where := r.Buffer
		if r.Instance != "" {
			where += " on " + r.Instance
		}
		text := fmt.Sprintf("%s: %s spent up to %d ms in SSPI processing (login timers)", where, human.Count(r.Count, "login", "logins"), r.SSPIMillis)
		if r.Number != 0 {
			text += fmt.Sprintf(", error %d state %d", r.Number, r.State)
		}
		e := triage.LogEvent{Check: checkInstances, Source: triage.SourceSQL, Count: r.Count, First: r.First, Last: r.Last}
		e.Clients, e.MoreClients = capClients(r.Clients)
		ev = append(ev, e.Evidence(text))
		total += r.Count
		worst = max(worst, r.SSPIMillis)
	}
	return ev, total, worst
}

// capClients returns at most MaxClients of clients, and how many more there are.
func capClients(clients []string) ([]string, int) {
	if len(clients) > triage.MaxClients {
		return clients[:triage.MaxClients], len(clients) - triage.MaxClients
	}
	return clients, 0
}

// missingSPNConnections returns, as evidence for spn.missing, the remote connections
// to the instance whose TCP SPN is spn that SQL Server saw authenticated with NTLM:
// what clients do when the KDC knows no such SPN ("Register a Service Principal Name
// for Kerberos Connections", Authentication Defaults: when "the SPN lookup fails",
// connections use NTLM,
// https://learn.microsoft.com/sql/database-engine/configure-windows/register-a-service-principal-name-for-kerberos-connections).
// nil when the SPN is not a TCP SPN of the target's, or no such connection was seen.
func missingSPNConnections(t triage.Target, obs triage.Observations, spn string) []triage.Evidence {
	f := obs.Instances
	if f == nil || len(f.Connections) == 0 {
		return nil
	}
	i := slices.IndexFunc(t.SPNRequirements(), func(r triage.SPNRequirement) bool {
		return r.Transport == triage.TransportTCP && strings.EqualFold(r.SPN, spn)
	})
	if i < 0 {
		return nil
	}
	in := t.SPNRequirements()[i].Instance
	own := hostAddresses(t, obs)
	count := 0
	var clients []string
	for _, g := range f.Connections {
		name, _, _ := strings.Cut(g.Instance, ":")
		if g.Count <= 0 || !strings.EqualFold(g.AuthScheme, "NTLM") || !remoteClient(g.Client, own) ||
			!strings.EqualFold(name, cmp.Or(in.Name, "MSSQLSERVER")) {
			continue
		}
		count += g.Count
		if !slices.Contains(clients, g.Client) {
			clients = append(clients, g.Client)
		}
	}
	if count == 0 {
		return nil
	}
	slices.Sort(clients)
	ev := triage.Evidence{Check: checkInstances, Source: triage.SourceSQL, Count: count,
		Text: fmt.Sprintf("sys.dm_exec_connections on %s: %s from %s authenticated with auth_scheme NTLM, as clients do when the SPN they ask for is not registered",
			in, human.Count(count, "connection", "connections"), human.Count(len(clients), "remote client", "remote clients"))}
	ev.Clients, ev.MoreClients = capClients(clients)
	return []triage.Evidence{ev}
}
