package testdomain

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Instances as their clients see them. scripts/testdomain.sh seeds a scenario per way a
// client's SPN differs from the instance's host name and port: a named instance on a
// dynamic port, two availability-group listeners, a failover-cluster instance and a DNS
// alias. Each of their hosts resolves to a loopback address of its own (127.0.1.x, in
// the namespace's hosts file and in the DC's DNS), so that a test can start a fake SQL
// Server Browser (UDP 1434) and a fake SQL Server on each. The alias is a CNAME in the
// DC's DNS only: a resolver that asks the DC (DNSServer) follows it; the hosts file does
// not know it. Sources:
//   - "Register a Service Principal Name for Kerberos Connections", SPN Formats (a named
//     instance's SPN is MSSQLSvc/FQDN:PORT for TCP, MSSQLSvc/FQDN:INSTANCENAME for
//     named pipes and shared memory),
//     https://learn.microsoft.com/sql/database-engine/configure-windows/register-a-service-principal-name-for-kerberos-connections
//   - "TCP/IP Properties (IP Addresses Tab)", Dynamic Ports (named instances listen on
//     dynamic ports by default; the port can change each time SQL Server starts),
//     https://learn.microsoft.com/sql/tools/configuration-manager/tcp-ip-properties-ip-addresses-tab
//   - "Configure a listener for an Always On availability group" (an SPN for each
//     listener, on the one account every replica runs as),
//     https://learn.microsoft.com/sql/database-engine/availability-groups/windows/create-or-configure-an-availability-group-listener-sql-server

// Instance scenarios, the keys of Domain.Instances: the names `authtriage check` is given.
const (
	// InstanceDynamic is sqldyn: named instance SALES on a dynamic port; its service
	// account holds MSSQLSvc/sqldyn.corp.test:50100 (the port before its last restart)
	// and MSSQLSvc/sqldyn.corp.test:SALES, not the port it listens on now.
	InstanceDynamic = "sqldyn"
	// ListenerNoSPN is aglisten1: the listener of replicas sqlag1a and sqlag1b, both
	// running as svc_sqlag1, which holds the replicas' SPNs and none of the listener's.
	ListenerNoSPN = "aglisten1"
	// ListenerAccountsDiffer is aglisten2: the listener of replicas sqlag2a (svc_sqlag2a,
	// which holds the listener's SPNs) and sqlag2b (svc_sqlag2b).
	ListenerAccountsDiffer = "aglisten2"
	// ClusterInstance is sqlfci: a failover-cluster instance (virtual network name) on
	// nodes sqlfcin1 and sqlfcin2; svc_sqlfci holds MSSQLSvc/sqlfcin1.corp.test:1433,
	// the node's name, and no SPN of the virtual name.
	ClusterInstance = "sqlfci"
	// Alias is salesdb: salesdb.corp.test is a CNAME of sqlok.corp.test in the DC's DNS.
	Alias = "salesdb"
)

// InstanceKind says what clients connect to in an instance scenario.
type InstanceKind string

const (
	KindNamedInstance InstanceKind = "named instance"
	KindListener      InstanceKind = "availability-group listener"
	KindCluster       InstanceKind = "failover-cluster instance"
	KindAlias         InstanceKind = "alias"
)

// Environment variables of the instance scenarios (see scripts/testdomain.sh).
const (
	EnvDNSServer         = "AUTHTRIAGE_TEST_DNS_SERVER"         // the DC's DNS server, host:port
	EnvInstanceScenarios = "AUTHTRIAGE_TEST_INSTANCE_SCENARIOS" // sqldyn,aglisten1,aglisten2,sqlfci,salesdb
	EnvAddrStart         = "AUTHTRIAGE_TEST_ADDR_"              // + upper-cased host: its loopback address
)

// InstanceScenario is one name clients connect to, what stands behind it and what the
// directory holds for it.
type InstanceScenario struct {
	Name     string // sqldyn, as given to `authtriage check`
	FQDN     string // sqldyn.corp.test
	Kind     InstanceKind
	Scenario string // one line for test names and messages
	// Causes are the cause IDs the scenario must produce, sorted.
	Causes []string
	// Addr is the address FQDN resolves to. For the Alias it is the canonical host's,
	// reached through the CNAME in the DC's DNS.
	Addr string
	// ServiceAccount is what the SQL Server engine behind the name runs as (sAMAccountName):
	// the instance's, the cluster instance's, the listener's primary replica's.
	ServiceAccount string
	// Instance is the instance name, "" for the default instance.
	Instance string
	// Port is the TCP port the instance listens on now: a fake SQL Server should
	// listen there and a fake Browser report it. For a listener, the listener's port.
	Port int
	// Dynamic says the port is assigned at start-up (TcpDynamicPorts); OldPort is the
	// port the instance had before its last restart, which its SPN still names.
	Dynamic bool
	OldPort int
	// Clustered is a failover-cluster instance; Nodes are its nodes.
	Clustered bool
	Nodes     []Member
	// Replicas are a listener's availability replicas, the primary first.
	Replicas []Member
	// Canonical is the alias's CNAME target, fully qualified.
	Canonical string
	// SPNs are the MSSQLSvc SPNs the directory holds for the scenario's names, each with
	// its holders (sorted); Missing the SPNs clients of Name ask for that no account holds.
	SPNs    map[string][]string
	Missing []string
}

// Member is a replica of a listener or a node of a cluster instance: a host with a
// computer account of its own.
type Member struct {
	Name string // sqlag1a
	FQDN string // sqlag1a.corp.test
	Addr string // its loopback address
	// ServiceAccount is what the replica's engine runs as; "" for a node (the cluster
	// instance's account is the scenario's).
	ServiceAccount string
}

// Account is the member's service account in NetBIOS form, CORP\svc_sqlag1.
func (m Member) Account(netbios string) string { return netbios + `\` + m.ServiceAccount }

// Account is the scenario's service account in NetBIOS form, CORP\svc_sqldyn.
func (s InstanceScenario) Account(netbios string) string { return netbios + `\` + s.ServiceAccount }

// Hosts are the scenario's hosts that need a fake SQL Server and Browser, the name's own
// first: the instance, the listener and its replicas, the cluster instance (its nodes
// host no instance of their own). The Alias has none: its canonical host is HostOK,
// which the triage of the alias checks (Canonical, with the alias in its inventory).
func (s InstanceScenario) Hosts() []Member {
	if s.Kind == KindAlias {
		return nil
	}
	out := []Member{{Name: s.Name, FQDN: s.FQDN, Addr: s.Addr, ServiceAccount: s.ServiceAccount}}
	return append(out, s.Replicas...)
}

// Instance scenario data, as scripts/testdomain.sh seeds it: keep the two in step.
const (
	dynInstance = "SALES"
	dynOldPort  = 50100
	dynPort     = 50211
)

// instanceHosts are the hosts with an address of their own, as the script's
// INSTANCE_HOSTS.
var instanceHosts = []string{"sqldyn", "aglisten1", "sqlag1a", "sqlag1b", "aglisten2", "sqlag2a", "sqlag2b", "sqlfci", "sqlfcin1", "sqlfcin2"}

// readInstances fills d.Instances and d.DNSServer from the environment; nothing when the
// domain was seeded without the instance scenarios.
func readInstances(d *Domain, getenv func(string) string, problems *[]string) {
	d.Instances = map[string]InstanceScenario{}
	listed := getenv(EnvInstanceScenarios)
	if listed == "" {
		return
	}
	d.DNSServer = getenv(EnvDNSServer)
	if d.DNSServer == "" {
		*problems = append(*problems, EnvDNSServer+" is empty")
	}
	addr := map[string]string{}
	for _, h := range instanceHosts {
		v := getenv(EnvAddrStart + strings.ToUpper(h))
		if a, err := netip.ParseAddr(v); err != nil || !a.Is4() || !a.IsLoopback() {
			*problems = append(*problems, fmt.Sprintf("%s%s=%q is not a loopback address", EnvAddrStart, strings.ToUpper(h), v))
		}
		addr[h] = v
	}
	for _, name := range []string{InstanceDynamic, ListenerNoSPN, ListenerAccountsDiffer, ClusterInstance, Alias} {
		if !slices.Contains(strings.Split(listed, ","), name) {
			*problems = append(*problems, fmt.Sprintf("%s lacks %s: the domain was seeded by another version of testdomain.sh", EnvInstanceScenarios, name))
		}
	}
	fq := func(h string) string { return h + "." + d.DNSDomain }
	spn := func(h, port string) string { return "MSSQLSvc/" + fq(h) + port }
	member := func(h, account string) Member {
		return Member{Name: h, FQDN: fq(h), Addr: addr[h], ServiceAccount: account}
	}
	scenarios := []InstanceScenario{
		{
			Name: InstanceDynamic, Kind: KindNamedInstance,
			Scenario: "named instance SALES on a dynamic port; its SPN names the port before the last restart",
			// instance.dynamic_port too where a source says the port is dynamic: the
			// host's registry (an agent) or sys.dm_server_registry through a Kerberos
			// login, which the missing SPN of the current port itself defeats.
			Causes: []string{"spn.stale_port"},
			Addr:   addr["sqldyn"], ServiceAccount: "svc_sqldyn", Instance: dynInstance,
			Port: dynPort, Dynamic: true, OldPort: dynOldPort,
			SPNs: map[string][]string{
				spn("sqldyn", fmt.Sprintf(":%d", dynOldPort)): {"svc_sqldyn"},
				spn("sqldyn", ":"+dynInstance):                {"svc_sqldyn"},
			},
			Missing: []string{spn("sqldyn", fmt.Sprintf(":%d", dynPort))},
		},
		{
			Name: ListenerNoSPN, Kind: KindListener,
			Scenario: "listener whose replicas share svc_sqlag1, which holds no listener SPN",
			Causes:   []string{"listener.spn_missing"},
			Addr:     addr["aglisten1"], ServiceAccount: "svc_sqlag1", Port: 1433,
			Replicas: []Member{member("sqlag1a", "svc_sqlag1"), member("sqlag1b", "svc_sqlag1")},
			SPNs: map[string][]string{
				spn("sqlag1a", ":1433"): {"svc_sqlag1"}, spn("sqlag1a", ""): {"svc_sqlag1"},
				spn("sqlag1b", ":1433"): {"svc_sqlag1"}, spn("sqlag1b", ""): {"svc_sqlag1"},
			},
			Missing: []string{spn("aglisten1", ":1433"), spn("aglisten1", "")},
		},
		{
			Name: ListenerAccountsDiffer, Kind: KindListener,
			Scenario: "listener whose replicas run as svc_sqlag2a (holding the listener SPNs) and svc_sqlag2b",
			Causes:   []string{"listener.accounts_differ"},
			Addr:     addr["aglisten2"], ServiceAccount: "svc_sqlag2a", Port: 1433,
			Replicas: []Member{member("sqlag2a", "svc_sqlag2a"), member("sqlag2b", "svc_sqlag2b")},
			SPNs: map[string][]string{
				spn("aglisten2", ":1433"): {"svc_sqlag2a"}, spn("aglisten2", ""): {"svc_sqlag2a"},
				spn("sqlag2a", ":1433"): {"svc_sqlag2a"}, spn("sqlag2a", ""): {"svc_sqlag2a"},
				spn("sqlag2b", ":1433"): {"svc_sqlag2b"}, spn("sqlag2b", ""): {"svc_sqlag2b"},
			},
		},
		{
			Name: ClusterInstance, Kind: KindCluster,
			Scenario: "failover-cluster instance whose SPN names node sqlfcin1, not the virtual name",
			// spn.missing (a warning) too: the port-less form of the virtual name,
			// which Named Pipes and Shared Memory clients ask for, is registered nowhere.
			Causes: []string{"cluster.spn_on_node", "spn.missing"},
			Addr:   addr["sqlfci"], ServiceAccount: "svc_sqlfci", Port: 1433, Clustered: true,
			Nodes:   []Member{member("sqlfcin1", ""), member("sqlfcin2", "")},
			SPNs:    map[string][]string{spn("sqlfcin1", ":1433"): {"svc_sqlfci"}},
			Missing: []string{spn("sqlfci", ":1433"), spn("sqlfci", "")},
		},
		{
			Name: Alias, Kind: KindAlias,
			Scenario: "salesdb.corp.test is a CNAME of sqlok.corp.test in the DC's DNS; no SPN names salesdb",
			Causes:   []string{"name.alias"},
			Addr:     d.DCAddr, ServiceAccount: "svc_sqlok", Port: 1433, Canonical: fq(HostOK),
			SPNs:    map[string][]string{spn(HostOK, ":1433"): {"svc_sqlok"}, spn(HostOK, ""): {"svc_sqlok"}},
			Missing: []string{spn(Alias, ":1433"), spn(Alias, "")},
		},
	}
	for _, s := range scenarios {
		s.FQDN = fq(s.Name)
		for _, acct := range accountsOf(s) {
			if _, ok := d.Passwords[acct]; ok {
				continue
			}
			pw := getenv(EnvPasswordStart + strings.ToUpper(acct))
			if pw == "" {
				*problems = append(*problems, EnvPasswordStart+strings.ToUpper(acct)+" is empty")
			}
			d.Passwords[acct] = pw
		}
		d.Instances[s.Name] = s
	}
}

// accountsOf returns the service accounts of s: its own and its replicas'.
func accountsOf(s InstanceScenario) []string {
	out := []string{s.ServiceAccount}
	for _, r := range s.Replicas {
		if !slices.Contains(out, r.ServiceAccount) {
			out = append(out, r.ServiceAccount)
		}
	}
	return out
}

// InstanceNames lists the instance scenarios in seeding order.
func InstanceNames() []string {
	return []string{InstanceDynamic, ListenerNoSPN, ListenerAccountsDiffer, ClusterInstance, Alias}
}
