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

// portMismatchRule reports each instance whose sources name different TCP ports: the
// inventory, SQL Server Browser, the registry or mssql.conf read on the host, SQL
// Server's view of its registry, and what the engine listens on. Every claim is
// evidence, with its source; the summary says the port clients reach now
// (InstanceView.Port), which is the one the SPN checks asked about. A configured port
// that differs from the one the engine listens on is a restart pending: "The Database
// Engine begins listening on a new port when restarted. However the SQL Server Browser
// service monitors the registry and reports the new port number as soon as the
// configuration is changed, even though the Database Engine might not be using it"
// ("Configure a Server to Listen on a Specific TCP Port",
// https://learn.microsoft.com/sql/database-engine/configure-windows/configure-a-server-to-listen-on-a-specific-tcp-port).
type portMismatchRule struct{}

func (portMismatchRule) Name() string { return "instance-port-mismatch" }

func (portMismatchRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	if obs.Instances == nil {
		return nil
	}
	n, want := spnNames(t, obs)
	var out []triage.Finding
	for _, v := range obs.Instances.Instances {
		var ports []int
		for _, c := range v.Ports {
			if c.Port != 0 && !slices.Contains(ports, c.Port) {
				ports = append(ports, c.Port)
			}
		}
		if len(ports) < 2 {
			continue
		}
		port, src := v.Port()
		vars := n.with(triage.PHInstance, viewName(v), triage.PHAccount, want, triage.PHPort, strconv.Itoa(port))
		pending := pendingPort(v, port)
		if pending != 0 && t.FQDN != "" {
			vars[triage.PHSPN] = tcpSPN(t.FQDN, pending)
		}
		f := triage.NewFinding(triage.InstancePortMismatch, vars)
		var claims []string
		for _, c := range v.Ports {
			if c.Port == 0 {
				continue
			}
			f.Evidence = append(f.Evidence, claimEvidence(v, c))
			claims = append(claims, fmt.Sprintf("%s %d", describePortSource(c.Source), c.Port))
		}
		f.Summary = fmt.Sprintf("The sources disagree on the TCP port of %s (%s): clients reach it on %d now (%s)",
			viewName(v), strings.Join(claims, "; "), port, describePortSource(src))
		if t.FQDN != "" {
			spn := tcpSPN(t.FQDN, port)
			if d := obs.Directory; d != nil && slices.ContainsFunc(d.RequiredSPNs, func(s string) bool { return strings.EqualFold(s, spn) }) {
				f.Summary += fmt.Sprintf(", and authtriage checked the SPNs for that port (%s)", spn)
			} else {
				f.Summary += fmt.Sprintf("; the SPNs for that port (%s) were not checked", spn)
			}
		}
		if pending != 0 {
			f.Summary += fmt.Sprintf(". The configuration sets %d: a restart is pending, after which clients reach it on %d", pending, pending)
		} else {
			// Nothing is pending: the step that registers the SPN of a port to come has
			// nothing to register.
			f.Remediation = slices.DeleteFunc(f.Remediation, func(s triage.Step) bool { return s.Command != "" || s.Omitted != "" })
		}
		out = append(out, f)
	}
	return out
}

// pendingPort returns the port the host's own configuration (the registry or
// mssql.conf, read on the host or through SQL Server) sets for v when it is not
// dynamic and differs from the port the engine listens on, listening; 0 otherwise.
func pendingPort(v triage.InstanceView, listening int) int {
	if !slices.ContainsFunc(v.Ports, func(c triage.PortClaim) bool { return c.Source == triage.PortListening && c.Port != 0 }) {
		return 0
	}
	for _, c := range v.Ports {
		switch c.Source {
		case triage.PortRegistry, triage.PortMssqlConf, triage.PortServerRegistry:
			if c.Port != 0 && !c.Dynamic && c.Port != listening {
				return c.Port
			}
		}
	}
	return 0
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
