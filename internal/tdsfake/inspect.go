package tdsfake

import (
	"cmp"
	"slices"
	"strings"
	"time"
)

// Inspect is what the fake answers to the queries of sqlserver.Checker.Inspect, with
// the column names and types the views document (see the queries' comments in
// sources/sqlserver). The zero value is a stand-alone default instance that lists no
// listener, registry value, cluster node, availability group, connection or
// ring-buffer record, and whose engine service runs as Config.ServiceAccount.
type Inspect struct {
	Properties ServerProperties
	// Listening are the rows of sys.dm_tcp_listener_states the query selects: the
	// Transact-SQL listeners that are online.
	Listening []ListenerState
	// Registry are rows of sys.dm_server_registry; the fake keeps those the query
	// selects (key ending in SuperSocketNetLib\Tcp\IPAll, value TcpPort or
	// TcpDynamicPorts).
	Registry []RegistryValue
	// Services are rows of sys.dm_server_services; the fake keeps those whose name is
	// like 'SQL Server (%'. Nil means the engine's and the Agent's of a default
	// instance, the engine's running as Config.ServiceAccount.
	Services     []Service
	ClusterNodes []string // NodeName of sys.dm_os_cluster_nodes
	AGListeners  []AGListener
	Connections  []ConnectionGroup
	RingBuffers  RingBuffers
}

// ServerProperties answer the SERVERPROPERTY query. Empty strings are sent as NULL, as
// SERVERPROPERTY('InstanceName') is for the default instance; ServerName "" sends
// Config.ServerName.
type ServerProperties struct {
	Clustered                                        bool
	MachineName, PhysicalNode, InstanceName, Version string
	ServerName                                       string
}

// A ListenerState is a row of sys.dm_tcp_listener_states.
type ListenerState struct {
	IP   string // "0.0.0.0", "::"
	Port int
	IPv4 bool
}

// A RegistryValue is a row of sys.dm_server_registry.
type RegistryValue struct {
	Key   string // registry_key: HKLM\Software\Microsoft\Microsoft SQL Server\MSSQL16.SALES\MSSQLServer\SuperSocketNetLib\Tcp\IPAll
	Name  string // value_name: TcpPort, TcpDynamicPorts
	Value string // value_data
}

// A Service is a row of sys.dm_server_services.
type Service struct {
	Name      string // servicename: "SQL Server (MSSQLSERVER)", "SQL Server Agent (MSSQLSERVER)"
	Account   string // service_account
	Clustered bool   // is_clustered, sent as Y or N
	Node      string // cluster_nodename; "" sends NULL
}

// An AGListener is an availability-group listener with its group's replicas.
type AGListener struct {
	Group    string   // sys.availability_groups.name
	DNSName  string   // dns_name
	Port     int      // 0 sends NULL: configured outside SQL Server
	IPs      []string // sys.availability_group_listener_ip_addresses.ip_address
	Replicas []string // sys.availability_replicas.replica_server_name
}

// A ConnectionGroup is a row of the grouped sys.dm_exec_connections query.
type ConnectionGroup struct {
	AuthScheme, Transport string
	Client                string // client_net_address; "" sends NULL
	Count                 int
}

// RingBuffers answer the ring-buffer query: sys.dm_os_ring_buffers joined to the
// ms_ticks of sys.dm_os_sys_info, with SYSUTCDATETIME().
type RingBuffers struct {
	MsTicks int64
	Now     time.Time // SYSUTCDATETIME(); zero means Config.Now, else time.Now
	Records []RingBufferRecord
}

// A RingBufferRecord is a row of sys.dm_os_ring_buffers.
type RingBufferRecord struct {
	Type      string // ring_buffer_type
	Timestamp int64  // timestamp, milliseconds since the computer started
	Record    string // record, XML
}

// The queries of sqlserver.Checker.Inspect, normalized as rows compares queries.
const (
	qServerProperties = "select cast(serverproperty('isclustered') as int) as is_clustered, " +
		"cast(serverproperty('machinename') as nvarchar(128)) as machine_name, " +
		"cast(serverproperty('computernamephysicalnetbios') as nvarchar(128)) as physical_node, " +
		"cast(serverproperty('instancename') as nvarchar(128)) as instance_name, " +
		"cast(serverproperty('productversion') as nvarchar(128)) as product_version, " +
		"@@servername as server_name"
	qListenerStates = "select ip_address, port, cast(is_ipv4 as int) as is_ipv4 from sys.dm_tcp_listener_states " +
		"where type_desc = n'tsql' and state_desc = n'online' order by port, ip_address"
	qServerRegistry = `select value_name, cast(value_data as nvarchar(256)) as value_data from sys.dm_server_registry ` +
		`where registry_key like n'%supersocketnetlib\tcp\ipall' and value_name in (n'tcpport', n'tcpdynamicports') ` +
		`order by value_name`
	qServices = "select servicename, service_account, is_clustered, cluster_nodename from sys.dm_server_services " +
		"where servicename like n'sql server (%'"
	qClusterNodes = "select nodename from sys.dm_os_cluster_nodes order by nodename"
	qAGListeners  = "select top (1000) g.name as group_name, l.dns_name, l.port, a.ip_address, r.replica_server_name " +
		"from sys.availability_group_listeners as l " +
		"join sys.availability_groups as g on g.group_id = l.group_id " +
		"left join sys.availability_group_listener_ip_addresses as a on a.listener_id = l.listener_id " +
		"left join sys.availability_replicas as r on r.group_id = l.group_id " +
		"order by g.name, l.dns_name, a.ip_address, r.replica_server_name"
	qConnections = "select top (501) auth_scheme, net_transport, client_net_address, count(*) as connections " +
		"from sys.dm_exec_connections group by auth_scheme, net_transport, client_net_address " +
		"order by count(*) desc, auth_scheme, net_transport, client_net_address"
	qRingBuffers = "select top (2000) r.ring_buffer_type, r.[timestamp], i.ms_ticks, sysutcdatetime() as now_utc, " +
		"case when len(r.record) <= 16000 then r.record end as record " +
		"from sys.dm_os_ring_buffers as r cross join sys.dm_os_sys_info as i " +
		"where r.ring_buffer_type in (n'ring_buffer_security_error', n'ring_buffer_connectivity') " +
		"order by r.[timestamp] desc"
)

// inspectAnswer writes the answer to q if it is one of the queries of Inspect; it
// reports false for any other query.
func (s *Server) inspectAnswer(t *tokens, q string) (bool, *Error) {
	var in Inspect
	if s.cfg.Inspect != nil {
		in = *s.cfg.Inspect
	}
	switch q {
	case qServerProperties:
		return true, s.serverProperties(t, in.Properties)
	case qListenerStates:
		return true, listenerStates(t, in.Listening)
	case qServerRegistry:
		return true, serverRegistry(t, in.Registry)
	case qServices:
		return true, s.services(t, in.Services)
	case qClusterNodes:
		cols := []column{{name: "NodeName", typ: nvarchar, size: 128}}
		return true, rowset(t, cols, len(in.ClusterNodes), func(i int) []any { return []any{in.ClusterNodes[i]} })
	case qAGListeners:
		return true, agListeners(t, in.AGListeners)
	case qConnections:
		return true, connections(t, in.Connections)
	case qRingBuffers:
		return true, s.ringBuffers(t, in.RingBuffers)
	}
	return false, nil
}

// rowset writes n rows of cols, row i's values from vals.
func rowset(t *tokens, cols []column, n int, vals func(int) []any) *Error {
	t.colMetadata(cols)
	for i := range n {
		if err := t.row(cols, vals(i)...); err != nil {
			return &Error{Number: 50000, State: 1, Class: 16, Message: "tdsfake: " + err.Error()}
		}
	}
	t.done(doneCount, cmdSelect, uint64(n))
	return nil
}

// orNull returns s, or nil (NULL) when it is empty.
func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *Server) serverProperties(t *tokens, p ServerProperties) *Error {
	cols := []column{
		{name: "is_clustered", typ: intN},
		{name: "machine_name", typ: nvarchar, size: 128},
		{name: "physical_node", typ: nvarchar, size: 128},
		{name: "instance_name", typ: nvarchar, size: 128},
		{name: "product_version", typ: nvarchar, size: 128},
		{name: "server_name", typ: nvarchar, size: 128},
	}
	clustered := 0
	if p.Clustered {
		clustered = 1
	}
	return rowset(t, cols, 1, func(int) []any {
		return []any{clustered, orNull(p.MachineName), orNull(p.PhysicalNode), orNull(p.InstanceName),
			orNull(p.Version), cmp.Or(p.ServerName, s.serverName())}
	})
}

func listenerStates(t *tokens, ls []ListenerState) *Error {
	cols := []column{
		{name: "ip_address", typ: nvarchar, size: 48},
		{name: "port", typ: intN},
		{name: "is_ipv4", typ: intN},
	}
	ls = slices.SortedStableFunc(slices.Values(ls), func(a, b ListenerState) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.IP, b.IP))
	})
	return rowset(t, cols, len(ls), func(i int) []any {
		v4 := 0
		if ls[i].IPv4 {
			v4 = 1
		}
		return []any{ls[i].IP, ls[i].Port, v4}
	})
}

func serverRegistry(t *tokens, rs []RegistryValue) *Error {
	cols := []column{
		{name: "value_name", typ: nvarchar, size: 256},
		{name: "value_data", typ: nvarchar, size: 256},
	}
	var sel []RegistryValue
	for _, r := range rs {
		if strings.HasSuffix(strings.ToLower(r.Key), `supersocketnetlib\tcp\ipall`) &&
			(strings.EqualFold(r.Name, "TcpPort") || strings.EqualFold(r.Name, "TcpDynamicPorts")) {
			sel = append(sel, r)
		}
	}
	slices.SortStableFunc(sel, func(a, b RegistryValue) int { return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) })
	return rowset(t, cols, len(sel), func(i int) []any { return []any{sel[i].Name, sel[i].Value} })
}

func (s *Server) services(t *tokens, svcs []Service) *Error {
	cols := []column{
		{name: "servicename", typ: nvarchar, size: 256},
		{name: "service_account", typ: nvarchar, size: 256},
		{name: "is_clustered", typ: nvarchar, size: 1},
		{name: "cluster_nodename", typ: nvarchar, size: 256},
	}
	if svcs == nil {
		account := cmp.Or(s.cfg.ServiceAccount, `NT Service\MSSQLSERVER`)
		svcs = []Service{
			{Name: "SQL Server (MSSQLSERVER)", Account: account},
			{Name: "SQL Server Agent (MSSQLSERVER)", Account: `NT Service\SQLSERVERAGENT`},
		}
	}
	var sel []Service
	for _, v := range svcs {
		if strings.HasPrefix(strings.ToLower(v.Name), "sql server (") {
			sel = append(sel, v)
		}
	}
	return rowset(t, cols, len(sel), func(i int) []any {
		yn := "N"
		if sel[i].Clustered {
			yn = "Y"
		}
		return []any{sel[i].Name, sel[i].Account, yn, orNull(sel[i].Node)}
	})
}

// agListeners writes one row per listener, address and replica, as the query's LEFT
// JOINs do, in its order, at most 1000.
func agListeners(t *tokens, ls []AGListener) *Error {
	cols := []column{
		{name: "group_name", typ: nvarchar, size: 128},
		{name: "dns_name", typ: nvarchar, size: 63},
		{name: "port", typ: intN},
		{name: "ip_address", typ: nvarchar, size: 48},
		{name: "replica_server_name", typ: nvarchar, size: 256},
	}
	var rows [][]any
	for _, l := range ls {
		var port any
		if l.Port != 0 {
			port = l.Port
		}
		ips := []any{nil}
		if len(l.IPs) > 0 {
			ips = nil
			for _, ip := range slices.Sorted(slices.Values(l.IPs)) {
				ips = append(ips, ip)
			}
		}
		replicas := []any{nil}
		if len(l.Replicas) > 0 {
			replicas = nil
			for _, r := range slices.SortedFunc(slices.Values(l.Replicas), func(a, b string) int {
				return cmp.Compare(strings.ToLower(a), strings.ToLower(b))
			}) {
				replicas = append(replicas, r)
			}
		}
		for _, ip := range ips {
			for _, r := range replicas {
				rows = append(rows, []any{l.Group, l.DNSName, port, ip, r})
			}
		}
	}
	slices.SortStableFunc(rows, func(a, b []any) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a[0].(string)), strings.ToLower(b[0].(string))),
			cmp.Compare(strings.ToLower(a[1].(string)), strings.ToLower(b[1].(string))))
	})
	rows = rows[:min(len(rows), 1000)]
	return rowset(t, cols, len(rows), func(i int) []any { return rows[i] })
}

// connections writes the groups, the largest first, at most 501.
func connections(t *tokens, gs []ConnectionGroup) *Error {
	cols := []column{
		{name: "auth_scheme", typ: nvarchar, size: 40},
		{name: "net_transport", typ: nvarchar, size: 40},
		{name: "client_net_address", typ: varchar, size: 48},
		{name: "connections", typ: intN},
	}
	gs = slices.SortedStableFunc(slices.Values(gs), func(a, b ConnectionGroup) int { return cmp.Compare(b.Count, a.Count) })
	gs = gs[:min(len(gs), 501)]
	return rowset(t, cols, len(gs), func(i int) []any {
		return []any{gs[i].AuthScheme, gs[i].Transport, orNull(gs[i].Client), gs[i].Count}
	})
}

// ringBuffers writes the security and connectivity records, the newest first, at most
// 2000, a record longer than 16000 characters as NULL.
func (s *Server) ringBuffers(t *tokens, rb RingBuffers) *Error {
	cols := []column{
		{name: "ring_buffer_type", typ: nvarchar, size: 60},
		{name: "timestamp", typ: bigint},
		{name: "ms_ticks", typ: bigint},
		{name: "now_utc", typ: datetime2},
		{name: "record", typ: nvarcharMax},
	}
	now := rb.Now
	if now.IsZero() {
		now = time.Now()
		if s.cfg.Now != nil {
			now = s.cfg.Now()
		}
	}
	var sel []RingBufferRecord
	for _, r := range rb.Records {
		if r.Type == "RING_BUFFER_SECURITY_ERROR" || r.Type == "RING_BUFFER_CONNECTIVITY" {
			sel = append(sel, r)
		}
	}
	slices.SortStableFunc(sel, func(a, b RingBufferRecord) int { return cmp.Compare(b.Timestamp, a.Timestamp) })
	sel = sel[:min(len(sel), 2000)]
	return rowset(t, cols, len(sel), func(i int) []any {
		var record any = sel[i].Record
		if len([]rune(sel[i].Record)) > 16000 {
			record = nil
		}
		return []any{sel[i].Type, sel[i].Timestamp, rb.MsTicks, now.UTC(), record}
	})
}
