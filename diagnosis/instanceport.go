package diagnosis

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// The instances check's name, which its evidence carries.
const instancesCheck = "instances"

// dynamicPortRule reports each instance whose TCP port a source says is assigned at
// start-up (InstanceView.Dynamic): the MSSQLSvc/FQDN:PORT SPN its TCP clients ask for
// then changes with the port, and holds only while SQL Server registers its own SPN at
// each start. The ERRORLOG tells whether it does: 26059 ("successfully registered the
// Service Principal Name (SPN) [ %ls ]") or 26037 and 26067 ("could not register"),
// "Database engine events and errors (26000 to 27999)",
// https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-26000-to-27999.
// It is a warning; info when SQL Server registered the SPN of the port it listens on
// now and logged no failure.
//
// Sources: "Register a Service Principal Name for Kerberos Connections", Automatic SPN
// Registration (SQL Server registers MSSQLSvc/FQDN:tcpport at each start and
// unregisters it at each stop, when its account may),
// https://learn.microsoft.com/sql/database-engine/configure-windows/register-a-service-principal-name-for-kerberos-connections;
// "Cannot generate SSPI context", Kerberos Configuration Manager's Dynamic Port status:
// "In environments where you need to use Kerberos to connect to SQL Server, you should
// set your named instance to a static port and use that port when registering SPN",
// https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/cannot-generate-sspi-context-error;
// "Configure a Server to Listen on a Specific TCP Port",
// https://learn.microsoft.com/sql/database-engine/configure-windows/configure-a-server-to-listen-on-a-specific-tcp-port.
type dynamicPortRule struct{}

func (dynamicPortRule) Name() string { return "instance-dynamic-port" }

func (dynamicPortRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	if obs.Instances == nil {
		return nil
	}
	n, want := spnNames(t, obs)
	var out []triage.Finding
	for _, v := range obs.Instances.Instances {
		if !v.Dynamic() {
			continue
		}
		port, src := v.Port()
		vars := n.with(triage.PHInstance, viewName(v), triage.PHAccount, want)
		spn := ""
		if port != 0 && t.FQDN != "" {
			spn = tcpSPN(t.FQDN, port)
			vars[triage.PHSPN] = spn
			vars[triage.PHPort] = strconv.Itoa(port)
		}
		f := triage.NewFinding(triage.InstanceDynamicPort, vars)
		if other := registeredBy(t, obs, spn); other != "" {
			// One fault, one set of commands: the finding that reports the SPN
			// missing registers it.
			f.Remediation = slices.DeleteFunc(f.Remediation, func(s triage.Step) bool { return s.Command != "" || s.Omitted != "" })
			f.Remediation = append(f.Remediation, triage.Step{Text: fmt.Sprintf("%s, the SPN of the port it listens on now, is registered on no account: the %s finding registers it", spn, other)})
		}
		for _, c := range v.Ports {
			if c.Dynamic {
				f.Evidence = append(f.Evidence, claimEvidence(v, c))
			}
		}
		if port != 0 {
			f.Evidence = append(f.Evidence, triage.Evidence{Check: instancesCheck, Source: portSource(src),
				Text: fmt.Sprintf("%s of %s: port %d, where clients reach it now", describePortSource(src), viewName(v), port)})
		} else {
			f.Summary = fmt.Sprintf("%s listens on a dynamic port, which no source named: its TCP SPN cannot be checked, and goes stale when the port changes at a restart, unless SQL Server registers its own SPN", viewName(v))
		}
		registered, failed := selfRegistration(t, obs, spn)
		for _, e := range registered {
			f.Evidence = append(f.Evidence, e.Evidence(fmt.Sprintf("%d SQL Server registered the SPN %s at start-up", e.ID, e.SPN)))
		}
		for _, e := range failed {
			text := fmt.Sprintf("%d SQL Server could not register", e.ID)
			if e.SPN != "" {
				text += " the SPN " + e.SPN
			} else {
				text += " its SPN"
			}
			f.Evidence = append(f.Evidence, e.Evidence(text+" at start-up: Windows return code "+e.Code))
		}
		switch {
		case len(failed) > 0:
			f.Summary += ". SQL Server could not register its own SPN at start-up (" + eventIDs(failed) + "): the SPN must be registered by hand for each new port"
		case len(registered) > 0 && spn != "":
			f.Severity = triage.Info
			f.Summary = fmt.Sprintf("%s listens on a dynamic port (%d now), and SQL Server registered %s itself at start-up (26059): the SPN follows the port while its account keeps that right; a static port makes it predictable", viewName(v), port, spn)
		default:
			f.Summary += ". The ERRORLOG read says neither that SQL Server registered its SPN (26059) nor that it could not (26037, 26067)"
		}
		out = append(out, f)
	}
	return out
}

// portMismatchRule reports each instance whose sources disagree on its TCP ports. An
// instance may listen on several ports at once (TcpPort lists them, "1433,1500,1501",
// and with both TcpPort and TcpDynamicPorts set it listens on both), so each source's
// ports are a set, compared as sets (portDisagreements): a configured port the engine
// does not listen on, a port it listens on that a configuration does not name, a port
// the Browser reports that it does not listen on, and the inventory's port not among
// the ones it listens on (or, without the listener states, the Browser's; without
// either, the configured ones). Every claim is evidence, with its source; the summary
// says each disagreement and the port clients reach now (InstanceView.Port), which is
// the one the SPN checks asked about.
//
// A set port (TcpPort, network.tcpport) the engine does not listen on is a restart
// pending: "The Database Engine begins listening on a new port when restarted. However
// the SQL Server Browser service monitors the registry and reports the new port number
// as soon as the configuration is changed, even though the Database Engine might not be
// using it" ("Configure a Server to Listen on a Specific TCP Port",
// https://learn.microsoft.com/sql/database-engine/configure-windows/configure-a-server-to-listen-on-a-specific-tcp-port).
// A port the engine listens on is never called pending.
//
// Sources for the sets: "TCP/IP Properties (IP Addresses Tab)": TCP Port takes one port
// or several "separated by commas, in the format 1433,1500,1501",
// https://learn.microsoft.com/sql/tools/configuration-manager/tcp-ip-properties-ip-addresses-tab;
// "How to check if SQL Server is listening on a dynamic port or static port": with
// both TcpDynamicPorts and TcpPort set, the instance listens on both,
// https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/static-or-dynamic-port-config.
type portMismatchRule struct{}

func (portMismatchRule) Name() string { return "instance-port-mismatch" }

func (portMismatchRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	if obs.Instances == nil {
		return nil
	}
	n, want := spnNames(t, obs)
	var out []triage.Finding
	for _, v := range obs.Instances.Instances {
		diffs, pending := portDisagreements(v)
		if len(diffs) == 0 {
			continue
		}
		port, src := v.Port()
		vars := n.with(triage.PHInstance, viewName(v), triage.PHAccount, want, triage.PHPort, strconv.Itoa(port))
		f := triage.NewFinding(triage.InstancePortMismatch, vars)
		for _, c := range v.Ports {
			if c.Port != 0 {
				f.Evidence = append(f.Evidence, claimEvidence(v, c))
			}
		}
		f.Summary = fmt.Sprintf("The sources disagree on the TCP ports of %s: %s", viewName(v), strings.Join(diffs, "; "))
		if port != 0 {
			f.Summary += fmt.Sprintf(". Clients reach it on %d now (%s)", port, describePortSource(src))
			if t.FQDN != "" {
				spn := tcpSPN(t.FQDN, port)
				if d := obs.Directory; d != nil && slices.ContainsFunc(d.RequiredSPNs, func(s string) bool { return strings.EqualFold(s, spn) }) {
					f.Summary += fmt.Sprintf(", and authtriage checked the SPNs for that port (%s)", spn)
				} else {
					f.Summary += fmt.Sprintf("; the SPNs for that port (%s) were not checked", spn)
				}
			}
		}
		// The catalog's prose stays; its command, the SPN of a port to come, is one
		// step per pending port, or none when nothing is pending.
		f.Remediation = slices.DeleteFunc(f.Remediation, func(s triage.Step) bool { return s.Command != "" || s.Omitted != "" })
		if len(pending) > 0 {
			f.Summary += fmt.Sprintf(". The configuration sets %s, which the engine does not listen on: a restart is pending, after which it listens there", joinPorts(pending))
			for _, p := range pending {
				if t.FQDN == "" {
					break
				}
				spn := tcpSPN(t.FQDN, p)
				text := fmt.Sprintf("After the restart, register %s, the SPN of port %d, on the service account (-S checks for duplicates first)", spn, p)
				if want == "" {
					text = fmt.Sprintf("After the restart, register %s, the SPN of port %d, on the account SQL Server runs as (-S checks for duplicates first): that account is not known, so give it to have the exact command", spn, p)
				}
				f.Remediation = append(f.Remediation, triage.NewStep(text, setspn("-S", triage.PHSPN, triage.PHAccount), map[string]string{triage.PHSPN: spn, triage.PHAccount: want}))
			}
		}
		out = append(out, f)
	}
	return out
}

// configuredSources are the sources that say what an instance is told to listen on,
// read on the host or through SQL Server (the inventory is compared on its own).
var configuredSources = []triage.PortSource{triage.PortRegistry, triage.PortMssqlConf, triage.PortServerRegistry}

// portDisagreements compares v's sources as sets of ports and says, one clause each,
// where they disagree; pending are the set (not dynamic) configured ports the engine
// does not listen on, each once. Nothing is said of a source that names no port, and a
// configuration with a dynamic port not yet assigned (TcpDynamicPorts 0) is not told
// to name the ports the engine listens on.
func portDisagreements(v triage.InstanceView) (diffs []string, pending []int) {
	listening := portsFrom(v, triage.PortListening)
	browser := portsFrom(v, triage.PortBrowser)
	for _, src := range configuredSources {
		conf := portsFrom(v, src)
		if len(conf) == 0 {
			continue
		}
		switch {
		case len(listening) > 0:
			for _, p := range conf {
				if !slices.Contains(listening, p) {
					diffs = append(diffs, fmt.Sprintf("%s names %d, which the engine does not listen on (%s)", describePortSource(src), p, describePortSource(triage.PortListening)))
					if !claimedDynamic(v, src, p) && !slices.Contains(pending, p) {
						pending = append(pending, p)
					}
				}
			}
			if unassignedDynamic(v, src) {
				break
			}
			for _, p := range listening {
				if !slices.Contains(conf, p) {
					diffs = append(diffs, fmt.Sprintf("the engine listens on %d, which %s does not name", p, describePortSource(src)))
				}
			}
		case len(browser) > 0:
			for _, p := range browser {
				if !slices.Contains(conf, p) {
					diffs = append(diffs, fmt.Sprintf("SQL Server Browser reports %d, which %s does not name", p, describePortSource(src)))
				}
			}
		}
	}
	if len(listening) > 0 {
		for _, p := range browser {
			if !slices.Contains(listening, p) {
				diffs = append(diffs, fmt.Sprintf("SQL Server Browser reports %d, which the engine does not listen on (%s)", p, describePortSource(triage.PortListening)))
			}
		}
	}
	inventory := portsFrom(v, triage.PortInventory)
	if len(inventory) > 0 {
		against, what := listening, "the ports the engine listens on"
		if len(against) == 0 {
			against, what = browser, "the port SQL Server Browser reports"
		}
		if len(against) == 0 {
			for _, src := range configuredSources {
				for _, p := range portsFrom(v, src) {
					if !slices.Contains(against, p) {
						against = append(against, p)
					}
				}
			}
			what = "the configured ports"
		}
		for _, p := range inventory {
			if len(against) > 0 && !slices.Contains(against, p) {
				diffs = append(diffs, fmt.Sprintf("the inventory gives %d, which is not among %s (%s)", p, what, joinInts(against)))
			}
		}
	}
	return diffs, pending
}

// portsFrom returns the ports src names for v, each once, in the order given.
func portsFrom(v triage.InstanceView, src triage.PortSource) []int {
	var out []int
	for _, c := range v.Ports {
		if c.Source == src && c.Port != 0 && !slices.Contains(out, c.Port) {
			out = append(out, c.Port)
		}
	}
	return out
}

// claimedDynamic reports whether src names port p for v only as a dynamic port.
func claimedDynamic(v triage.InstanceView, src triage.PortSource, p int) bool {
	return !slices.ContainsFunc(v.Ports, func(c triage.PortClaim) bool { return c.Source == src && c.Port == p && !c.Dynamic })
}

// unassignedDynamic reports whether src says v uses a dynamic port without naming it
// (TcpDynamicPorts 0).
func unassignedDynamic(v triage.InstanceView, src triage.PortSource) bool {
	return slices.ContainsFunc(v.Ports, func(c triage.PortClaim) bool { return c.Source == src && c.Dynamic && c.Port == 0 })
}

// joinInts writes ports as a list: "1433, 1500".
func joinInts(ports []int) string {
	var s []string
	for _, p := range ports {
		s = append(s, strconv.Itoa(p))
	}
	return strings.Join(s, ", ")
}

// joinPorts writes ports as a sentence does: "1500", "1500 and 1501".
func joinPorts(ports []int) string {
	if len(ports) <= 1 {
		return joinInts(ports)
	}
	return joinInts(ports[:len(ports)-1]) + " and " + strconv.Itoa(ports[len(ports)-1])
}

// registeredBy returns the cause of the finding that registers spn, a required SPN no
// account has, with setspn -S: spn.stale_port, cluster.spn_on_node or name.alias when
// they report it (reportedElsewhere), spn.missing otherwise; "" when spn is "", not
// required, or registered.
func registeredBy(t triage.Target, obs triage.Observations, spn string) triage.CauseID {
	d := obs.Directory
	if d == nil || spn == "" {
		return ""
	}
	for _, so := range d.SPNs {
		if !strings.EqualFold(so.SPN, spn) || len(so.Owners) != 0 {
			continue
		}
		switch {
		case staleReported(t, obs, so.SPN):
			return triage.SPNStalePort
		case clusterReported(t, obs, so):
			return triage.ClusterSPNOnNode
		case aliasReported(t, obs, so):
			return triage.NameAlias
		}
		return triage.SPNMissing
	}
	return ""
}

// selfRegistration returns the ERRORLOG's word on SQL Server registering its own
// SPNs: 26059 for spn (any MSSQLSvc SPN of the host when spn is ""), and the failures
// 26067 (for an SPN of the host) and 26037 (which names none).
func selfRegistration(t triage.Target, obs triage.Observations, spn string) (registered, failed []triage.LogEvent) {
	for _, e := range sqlEvents(obs, triage.Msg26059) {
		if (spn != "" && strings.EqualFold(e.SPN, spn)) || (spn == "" && spnForHost(e.SPN, t)) {
			registered = append(registered, e)
		}
	}
	for _, e := range sqlEvents(obs, triage.Msg26067) {
		if spnForHost(e.SPN, t) {
			failed = append(failed, e)
		}
	}
	failed = append(failed, sqlEvents(obs, triage.Msg26037)...)
	return registered, failed
}

// eventIDs lists the message numbers of events, each once: "26067, 26037".
func eventIDs(events []triage.LogEvent) string {
	var ids []string
	for _, e := range events {
		if id := strconv.Itoa(e.ID); !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	return strings.Join(ids, ", ")
}

// spnNames returns the names a finding about the target's SPNs is filled with, and the
// account that must own them: the account SQL Server runs as, as setspn takes it, ""
// when not known.
func spnNames(t triage.Target, obs triage.Observations) (names, string) {
	n := namesFor(t, obs)
	want := n.vars[triage.PHAccount]
	if o := runAsOf(t, obs).object; o != nil {
		want = o.Name()
	}
	return n, want
}

// viewName returns an instance as users write its name: "MSSQLSERVER" for the default
// instance.
func viewName(v triage.InstanceView) string {
	if v.IsDefault() {
		return "MSSQLSERVER"
	}
	return v.Name
}

// tcpSPN returns the SPN TCP clients ask for: MSSQLSvc/FQDN:PORT.
func tcpSPN(fqdn string, port int) string { return "MSSQLSvc/" + fqdn + ":" + strconv.Itoa(port) }

// claimEvidence returns one source's word on v's port as evidence of the instances
// check.
func claimEvidence(v triage.InstanceView, c triage.PortClaim) triage.Evidence {
	text := fmt.Sprintf("%s of %s: port %d", describePortSource(c.Source), viewName(v), c.Port)
	switch {
	case c.Port == 0:
		text = fmt.Sprintf("%s of %s: no TCP port", describePortSource(c.Source), viewName(v))
	case c.Dynamic:
		text += ", dynamic (assigned at start-up: TcpDynamicPorts)"
	}
	return triage.Evidence{Check: instancesCheck, Source: portSource(c.Source), Text: text}
}

// portSource returns the evidence source of a port claim: what the agent read on the
// host is the agent's; the Browser's answer, SQL Server's own views and the inventory
// the instances check compared them with are filed under sql.
func portSource(s triage.PortSource) triage.Source {
	switch s {
	case triage.PortRegistry, triage.PortMssqlConf:
		return triage.SourceAgent
	}
	return triage.SourceSQL
}

// describePortSource names a port's source for a sentence.
func describePortSource(s triage.PortSource) string {
	switch s {
	case triage.PortInventory:
		return "the inventory"
	case triage.PortBrowser:
		return "SQL Server Browser"
	case triage.PortRegistry:
		return `the registry (SuperSocketNetLib\Tcp\IPAll)`
	case triage.PortMssqlConf:
		return "mssql.conf (network.tcpport)"
	case triage.PortServerRegistry, triage.PortListening:
		return string(s)
	}
	return "an unnamed source"
}
