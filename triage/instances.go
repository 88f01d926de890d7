package triage

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// InstanceFacts is what discovery learnt about the instances a host's clients reach:
// SQL Server Browser's answer, the configured ports read on the host, what each
// instance said about itself through a SQL login, the availability-group listeners
// and the names clients resolve. The instances check fills it; the Runner hands the
// target as discovery describes it (Target.Discovered) to the rules.
type InstanceFacts struct {
	Instances []InstanceView `json:"instances,omitempty"`
	Listeners []Listener     `json:"listeners,omitempty"`
	Names     *NameFacts     `json:"names,omitempty"`
	// Connections are the connections SQL Server had open when asked, grouped by
	// instance, authentication scheme and client address (sys.dm_exec_connections).
	Connections []ConnectionGroup `json:"connections,omitempty"`
	// Failures are the recent security and connectivity errors SQL Server keeps in its
	// ring buffers (sys.dm_os_ring_buffers), grouped as log events are.
	Failures []RingBufferEvent `json:"ring_buffer,omitempty"`
	// Notes say what discovery could not learn and why: "SQL Server Browser on
	// sqlhost01 did not answer within 2s (UDP 1434 is often blocked)", "VIEW SERVER
	// STATE permission was denied on SALES". Each is a sentence of its own.
	Notes []string `json:"notes,omitempty"`
}

// An Inspection is what one instance said about itself through one SQL login: its
// names, cluster, ports and service account (View), the availability-group listeners
// it is a replica of, the connections it had open grouped by authentication scheme,
// and the recent security and connectivity errors of its ring buffers. Notes say, one
// sentence each, what it did not tell and why.
type Inspection struct {
	View        InstanceView
	Listeners   []Listener
	Connections []ConnectionGroup
	Failures    []RingBufferEvent
	Notes       []string
}

// PortSource names where a port of an instance was learnt. The values are part of the
// JSON contract.
type PortSource string

const (
	PortInventory PortSource = "inventory" // the inventory or the request
	PortBrowser   PortSource = "browser"   // SQL Server Browser's answer (MC-SQLR, UDP 1434)
	// PortRegistry is SuperSocketNetLib\Tcp\IPAll (TcpPort, TcpDynamicPorts) read on the
	// Windows host by the agent.
	PortRegistry PortSource = "registry"
	// PortMssqlConf is network.tcpport of mssql.conf, read on the Linux host by the agent.
	PortMssqlConf PortSource = "mssql-conf"
	// PortServerRegistry is the same registry values read through a SQL login
	// (sys.dm_server_registry).
	PortServerRegistry PortSource = "sys.dm_server_registry"
	// PortListening is what the engine listens on now (sys.dm_tcp_listener_states).
	PortListening PortSource = "sys.dm_tcp_listener_states"
)

// Configured reports whether s is a setting (what the instance is told to use), as
// opposed to what it is seen to use now (the Browser's answer, its listener states).
func (s PortSource) Configured() bool {
	return s == PortInventory || s == PortRegistry || s == PortMssqlConf || s == PortServerRegistry
}

// A PortClaim is one source's word on an instance's TCP port.
type PortClaim struct {
	Source PortSource `json:"source"`
	Port   int        `json:"port,omitempty"` // 0: the source names no TCP port (TCP disabled, or not set)
	// Dynamic says the source holds the port as assigned at start-up (TcpDynamicPorts
	// in the registry), rather than set (TcpPort).
	Dynamic bool `json:"dynamic,omitempty"`
}

// An InstanceView is one instance as discovery saw it. Fields a source did not give
// are zero.
type InstanceView struct {
	Name  string      `json:"name"` // "MSSQLSERVER" for the default instance
	Ports []PortClaim `json:"ports,omitempty"`
	Pipe  string      `json:"pipe,omitempty"` // named pipe, from the Browser: \\HOST\pipe\sql\query
	// TCPEnabled is false when a source said TCP is off for the instance (the Browser
	// lists no tcp; TcpEnabled 0); nil when unknown.
	TCPEnabled *bool  `json:"tcp_enabled,omitempty"`
	Version    string `json:"version,omitempty"` // "16.0.1000.6"
	// BrowserServer is the ServerName of the Browser's answer: the NetBIOS name the
	// Browser reports, the virtual name for a failover-cluster instance.
	BrowserServer string `json:"browser_server,omitempty"`
	// Clustered is a failover-cluster instance: SERVERPROPERTY('IsClustered') or the
	// Browser's IsClustered; nil when neither said.
	Clustered *bool `json:"clustered,omitempty"`
	// ServerName is @@SERVERNAME; MachineName SERVERPROPERTY('MachineName') (the
	// virtual network name of a clustered instance); PhysicalNode
	// SERVERPROPERTY('ComputerNamePhysicalNetBIOS'), the node it runs on now.
	ServerName   string `json:"server_name,omitempty"`
	MachineName  string `json:"machine_name,omitempty"`
	PhysicalNode string `json:"physical_node,omitempty"`
	// Nodes are the NetBIOS names of a clustered instance's nodes
	// (sys.dm_os_cluster_nodes).
	Nodes []string `json:"nodes,omitempty"`
	// ServiceAccount is service_account of the engine in sys.dm_server_services.
	ServiceAccount string `json:"service_account,omitempty"`
}

// Port returns the TCP port clients reach the instance on and where it was learnt:
// what the engine listens on, else the Browser's answer, else a configured port (the
// host's registry or mssql.conf, then SQL Server's registry view, then the
// inventory). It returns 0 when no source names a port.
func (v InstanceView) Port() (int, PortSource) {
	for _, src := range []PortSource{PortListening, PortBrowser, PortRegistry, PortMssqlConf, PortServerRegistry, PortInventory} {
		for _, c := range v.Ports {
			if c.Source == src && c.Port != 0 {
				return c.Port, src
			}
		}
	}
	return 0, ""
}

// Dynamic reports whether a source said the instance's port is assigned at start-up.
func (v InstanceView) Dynamic() bool {
	return slices.ContainsFunc(v.Ports, func(c PortClaim) bool { return c.Dynamic })
}

// IsDefault reports whether v is the default instance.
func (v InstanceView) IsDefault() bool { return Instance{Name: v.Name}.IsDefault() }

// A Listener is an availability-group listener: the name clients connect to, which
// moves with the primary replica. Clients ask for MSSQLSvc/LISTENER-FQDN:PORT, and every
// replica must run as the account that owns it.
type Listener struct {
	Name string `json:"name"`           // as configured: the DNS name, short or fully qualified
	FQDN string `json:"fqdn,omitempty"` // fully qualified; "" when not known
	Port int    `json:"port,omitempty"` // 0 when not known
	// Group is the availability group, when SQL Server named it.
	Group string `json:"group,omitempty"`
	// Source is where the listener was learnt: "inventory", "sql"
	// (sys.availability_group_listeners), or "inventory, sql".
	Source string `json:"source,omitempty"`
	// IPs are the listener's configured addresses
	// (sys.availability_group_listener_ip_addresses); Addresses what its name resolves
	// to now.
	IPs       []string  `json:"ips,omitempty"`
	Addresses []string  `json:"addresses,omitempty"`
	Replicas  []Replica `json:"replicas,omitempty"`
}

// A Replica is one availability replica of a listener's group.
type Replica struct {
	Server string `json:"server"`         // replica_server_name: HOST or HOST\INSTANCE
	FQDN   string `json:"fqdn,omitempty"` // the replica's host, fully qualified, when known
	// ServiceAccount is what the replica's engine runs as (sys.dm_server_services on
	// that replica); "" when it could not be asked.
	ServiceAccount string   `json:"service_account,omitempty"`
	Addresses      []string `json:"addresses,omitempty"` // what the replica's host resolves to
	// Err says why the replica could not be asked; "" when it answered or was not asked.
	Err string `json:"error,omitempty"`
}

// NameFacts are the names clients may use for the host, and what DNS says of them.
type NameFacts struct {
	// Asked is the name the triage was asked about (the target's FQDN).
	Asked string `json:"asked"`
	// Chain is the CNAME chain from Asked: empty when Asked is itself canonical, else
	// each alias's target in turn, the last the canonical name.
	Chain []string `json:"chain,omitempty"`
	// Addresses are what the canonical name resolves to.
	Addresses []string `json:"addresses,omitempty"`
	// DNSHostName is the dNSHostName of the host's computer account, when read.
	DNSHostName string `json:"dns_host_name,omitempty"`
}

// Canonical returns the name DNS resolves Asked to through its CNAMEs: the last of
// Chain, or Asked when it has none.
func (n NameFacts) Canonical() string {
	if len(n.Chain) > 0 {
		return n.Chain[len(n.Chain)-1]
	}
	return n.Asked
}

// A ConnectionGroup counts the connections of one instance with one authentication
// scheme from one client address.
type ConnectionGroup struct {
	Instance   string `json:"instance"`    // as Instance.String()
	AuthScheme string `json:"auth_scheme"` // KERBEROS, NTLM, SQL
	Transport  string `json:"transport,omitempty"`
	Client     string `json:"client"` // client_net_address; "<local machine>" for Shared Memory
	Count      int    `json:"count"`
}

// A RingBufferEvent is a group of ring-buffer records that mean the same thing: same
// buffer, API and error code. Its shape follows LogEvent's so that rules count and
// date both alike.
type RingBufferEvent struct {
	Instance string `json:"instance"`
	// Buffer is RING_BUFFER_SECURITY_ERROR or RING_BUFFER_CONNECTIVITY.
	Buffer string `json:"buffer"`
	// API and CallingAPI are the SSPI or Windows function that failed and its caller
	// (security errors): "AcceptSecurityContext", "NLShimImpersonate".
	API        string `json:"api,omitempty"`
	CallingAPI string `json:"calling_api,omitempty"`
	// Code is the error code, lower-case hex ("0x8009030c"); Number a SQL Server error
	// number a connectivity record carries (18456, 17806); State its state.
	Code   string `json:"code,omitempty"`
	Number int    `json:"number,omitempty"`
	State  int    `json:"state,omitempty"`
	// SSPIMillis is the largest time a connectivity record spent in SSPI processing
	// (its login timers), in milliseconds.
	SSPIMillis int       `json:"sspi_ms,omitempty"`
	Count      int       `json:"count"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
	Clients    []string  `json:"clients,omitempty"` // distinct client addresses, sorted; at most MaxClients
}

// Discovered returns t as discovery describes it, for the checks that ask about its
// instances' SPNs and for the rules:
//   - The instances: the target's own (the inventory's or the request's) with the port
//     clients reach now (InstanceView.Port) where discovery knows it, replacing a
//     configured one that differs (that disagreement is a finding of its own); when
//     the target names no instance, every instance discovery found.
//   - The listeners: the target's, with discovered ones added and what an inventory
//     listener lacks (port, FQDN, group, addresses, replicas) filled in from discovery.
//     A listener without an FQDN gets its name, qualified in the target's DNS domain
//     when short, only when that is a host name (ValidHostName); one with neither a
//     name nor an FQDN is dropped.
//   - The nodes of clustered instances, fully qualified in the target's DNS domain,
//     those that are host names.
//   - The aliases: the names of the CNAME chain that led to the canonical name, which
//     becomes the FQDN when the target was asked for by an alias.
//
// f nil returns t unchanged. t's slices are not modified.
func (t Target) Discovered(f *InstanceFacts) Target {
	if f == nil {
		return t
	}
	domain := ""
	if _, d, ok := strings.Cut(t.FQDN, "."); ok {
		domain = d
	}
	out := t
	out.Instances = slices.Clone(t.Instances)
	if len(out.Instances) == 0 {
		for _, v := range f.Instances {
			in := Instance{Name: v.Name}
			if v.IsDefault() {
				in.Name = ""
			}
			in.Port, _ = v.Port()
			out.Instances = append(out.Instances, in)
		}
	} else {
		for i, in := range out.Instances {
			for _, v := range f.Instances {
				if in.IsDefault() != v.IsDefault() || (!in.IsDefault() && !strings.EqualFold(in.Name, v.Name)) {
					continue
				}
				if p, _ := v.Port(); p != 0 {
					out.Instances[i].Port = p
				}
			}
		}
	}

	out.Listeners = slices.Clone(t.Listeners)
	for _, l := range f.Listeners {
		j := slices.IndexFunc(out.Listeners, func(m Listener) bool { return sameListener(m, l) })
		if j < 0 {
			out.Listeners = append(out.Listeners, l)
			continue
		}
		out.Listeners[j].Fill(l)
	}
	out.Listeners = slices.DeleteFunc(out.Listeners, func(l Listener) bool { return l.Name == "" && l.FQDN == "" })
	for i, l := range out.Listeners {
		if l.FQDN != "" {
			continue
		}
		fqdn := l.Name
		if !strings.Contains(fqdn, ".") && domain != "" {
			fqdn += "." + domain
		}
		if strings.Contains(fqdn, ".") && ValidHostName(fqdn) == nil {
			out.Listeners[i].FQDN = fqdn
		}
	}

	out.Nodes = slices.Clone(t.Nodes)
	for _, v := range f.Instances {
		if v.Clustered == nil || !*v.Clustered {
			continue
		}
		for _, n := range append(slices.Clone(v.Nodes), v.PhysicalNode) {
			if n == "" || domain == "" {
				continue
			}
			fqdn := strings.ToLower(n)
			if !strings.Contains(fqdn, ".") {
				fqdn += "." + domain
			}
			if ValidHostName(fqdn) != nil {
				continue
			}
			if !slices.ContainsFunc(out.Nodes, func(s string) bool { return strings.EqualFold(s, fqdn) }) {
				out.Nodes = append(out.Nodes, fqdn)
			}
		}
	}

	out.Aliases = slices.Clone(t.Aliases)
	if f.Names != nil && len(f.Names.Chain) > 0 {
		// Asked for by an alias: SQL Server registers its SPNs for its computer's own
		// name, which is where the CNAMEs lead; the alias is a name its clients use.
		if c := strings.TrimSuffix(f.Names.Canonical(), "."); strings.EqualFold(f.Names.Asked, t.FQDN) && ValidHostName(c) == nil {
			out.FQDN = c
		}
		names := append([]string{f.Names.Asked}, f.Names.Chain[:len(f.Names.Chain)-1]...)
		for _, a := range names {
			if a != "" && !slices.ContainsFunc(out.Aliases, func(s string) bool { return strings.EqualFold(s, a) }) {
				out.Aliases = append(out.Aliases, a)
			}
		}
	}
	return out
}

// Fill gives l what o knows and l does not: its FQDN, port, group, IPs, addresses and
// replicas, each where l's is empty. Name and Source stay l's.
func (l *Listener) Fill(o Listener) {
	l.FQDN = cmp.Or(l.FQDN, o.FQDN)
	l.Port = cmp.Or(l.Port, o.Port)
	l.Group = cmp.Or(l.Group, o.Group)
	if len(l.IPs) == 0 {
		l.IPs = o.IPs
	}
	if len(l.Addresses) == 0 {
		l.Addresses = o.Addresses
	}
	if len(l.Replicas) == 0 {
		l.Replicas = o.Replicas
	}
}

// sameListener reports whether a and b name the same listener (SameHost of their FQDNs,
// or their names where the FQDN is not known).
func sameListener(a, b Listener) bool {
	return SameHost(cmp.Or(a.FQDN, a.Name), cmp.Or(b.FQDN, b.Name))
}

// SameHost reports whether two host names name the same host: equal ignoring case, or
// with the same first label when either is a short name.
func SameHost(a, b string) bool {
	if strings.EqualFold(a, b) {
		return true
	}
	if strings.Contains(a, ".") && strings.Contains(b, ".") {
		return false
	}
	as, _, _ := strings.Cut(a, ".")
	bs, _, _ := strings.Cut(b, ".")
	return strings.EqualFold(as, bs)
}

// ListenerSPNs returns the SPNs clients of the target's listeners ask for: for each
// listener with an FQDN, MSSQLSvc/LISTENER-FQDN:PORT when its port is known.
//
// Source: "Connect to an Always On availability group listener", Listeners and
// Kerberos (SPNs): "A domain administrator must configure a Service Principal Name
// (SPN) in Active Directory for each availability group listener", on "the service
// account of the server instance that hosts the availability replica"; "the same
// service account must be used for all instances in the WSFC cluster"; its example is
// "setspn -A MSSQLSvc/AG1listener.Adventure-Works.com:1433 corp\svclogin2". Microsoft
// documents no listener SPN without the port ("Configure a listener for an Always On
// availability group" has no SPN section), and a listener serves TCP only ("What is
// an availability group listener?").
// https://learn.microsoft.com/sql/database-engine/availability-groups/windows/listeners-client-connectivity-application-failover
func (t Target) ListenerSPNs() []SPNRequirement {
	var out []SPNRequirement
	for _, l := range t.Listeners {
		if l.FQDN == "" || l.Port == 0 {
			continue
		}
		out = append(out, SPNRequirement{SPN: "MSSQLSvc/" + l.FQDN + ":" + strconv.Itoa(l.Port), Transport: TransportTCP, Listener: l.FQDN})
	}
	return out
}
