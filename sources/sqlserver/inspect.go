package sqlserver

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authtriage/authtriage/internal/display"
	"github.com/authtriage/authtriage/triage"
)

// The queries Inspect runs, each a fixed SELECT that changes nothing. internal/tdsfake
// answers each; it mirrors their text, normalized. Every SERVERPROPERTY and sql_variant
// value is cast to the type the code reads, and bit columns to int.

// qServerProperties reads the instance's names, cluster flag and version.
//
// Source: "SERVERPROPERTY (Transact-SQL)",
// https://learn.microsoft.com/sql/t-sql/functions/serverproperty-transact-sql:
// IsClustered "1 = Clustered. 0 = Not Clustered. NULL = Input isn't valid"; MachineName
// "Windows computer name on which the server instance is running. For a clustered
// instance ... returns the name of the virtual server"; ComputerNamePhysicalNetBIOS
// "NetBIOS name of the local computer on which the instance of SQL Server is currently
// running. For a clustered instance ... this value changes as the instance ... fails
// over"; InstanceName "NULL = Instance name is the default instance"; ProductVersion
// "major.minor.build.revision". And "@@SERVERNAME (Transact-SQL)",
// https://learn.microsoft.com/sql/t-sql/functions/servername-transact-sql. Neither
// page names a permission.
const qServerProperties = `SELECT CAST(SERVERPROPERTY('IsClustered') AS int) AS is_clustered,
	CAST(SERVERPROPERTY('MachineName') AS nvarchar(128)) AS machine_name,
	CAST(SERVERPROPERTY('ComputerNamePhysicalNetBIOS') AS nvarchar(128)) AS physical_node,
	CAST(SERVERPROPERTY('InstanceName') AS nvarchar(128)) AS instance_name,
	CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version,
	@@SERVERNAME AS server_name`

// qListenerStates lists the Transact-SQL listeners that are online.
//
// Source: "sys.dm_tcp_listener_states (Transact-SQL)",
// https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/sys-dm-tcp-listener-states-transact-sql:
// ip_address nvarchar(48) ("An IPv4 wildcard is displayed as 0.0.0.0"), is_ipv4 bit,
// port int, type_desc "TSQL, SERVICE_BROKER, DATABASE_MIRRORING", state_desc "ONLINE,
// PENDING_RESTART" (the numeric state values differ between versions of the page, so
// the query compares the descriptions), and "The availability group listener could
// listen to the same port as the listener of the instance ... the listeners are
// listed separately". Permissions: VIEW SERVER STATE up to SQL Server 2019, VIEW
// SERVER SECURITY STATE from SQL Server 2022.
const qListenerStates = `SELECT ip_address, port, CAST(is_ipv4 AS int) AS is_ipv4
FROM sys.dm_tcp_listener_states
WHERE type_desc = N'TSQL' AND state_desc = N'ONLINE'
ORDER BY port, ip_address`

// qServerRegistry reads the ports configured for all addresses (IPAll).
//
// Sources: "sys.dm_server_registry (Transact-SQL)",
// https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/sys-dm-server-registry-transact-sql:
// registry_key nvarchar(256), value_name nvarchar(256), value_data sql_variant, its
// example E reads registry_key LIKE N'%SuperSocketNetLib%'; permissions VIEW SERVER
// STATE, VIEW SERVER PERFORMANCE STATE from SQL Server 2022. "TCP/IP Properties (IP
// Addresses Tab)",
// https://learn.microsoft.com/sql/tools/configuration-manager/tcp-ip-properties-ip-addresses-tab:
// TCP Port: the Database Engine "can listen on multiple ports on the same IP address,
// list the ports, separated by commas, in the format 1433,1500,1501"; TCP Dynamic
// Ports, for IPAll, "displays the port number of the dynamic port used". "Configure a
// Server to Listen on a Specific TCP Port",
// https://learn.microsoft.com/sql/database-engine/configure-windows/configure-a-server-to-listen-on-a-specific-tcp-port:
// "If the TCP Dynamic Ports dialog box contains 0, indicating the Database Engine is
// listening on dynamic ports".
const qServerRegistry = `SELECT value_name, CAST(value_data AS nvarchar(256)) AS value_data
FROM sys.dm_server_registry
WHERE registry_key LIKE N'%SuperSocketNetLib\Tcp\IPAll' AND value_name IN (N'TcpPort', N'TcpDynamicPorts')
ORDER BY value_name`

// qServices reads the database engine's service, chosen as qServiceAccount chooses it:
// the engine's service is "SQL Server (INSTANCE)", the Agent's "SQL Server Agent
// (INSTANCE)". Only columns every version has are read: the page notes startup_type_desc
// (startup_desc on older versions) among others that changed.
//
// Source: "sys.dm_server_services (Transact-SQL)",
// https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/sys-dm-server-services-transact-sql:
// servicename, service_account and cluster_nodename nvarchar(256), is_clustered
// nvarchar(1); permissions VIEW SERVER STATE.
const qServices = `SELECT servicename, service_account, is_clustered, cluster_nodename
FROM sys.dm_server_services
WHERE servicename LIKE N'SQL Server (%'`

// qClusterNodes lists the nodes of a failover-cluster instance; none otherwise.
//
// Source: "sys.dm_os_cluster_nodes (Transact-SQL)",
// https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/sys-dm-os-cluster-nodes-transact-sql:
// NodeName sysname; "If the current server instance is not a failover clustered
// instance, it returns an empty rowset"; permissions VIEW SERVER STATE, VIEW SERVER
// PERFORMANCE STATE from SQL Server 2022.
const qClusterNodes = `SELECT NodeName FROM sys.dm_os_cluster_nodes ORDER BY NodeName`

// qAGListeners lists each availability-group listener with its group, one row per
// address and replica of the group (a listener without either has NULL there).
//
// Sources, all catalog views whose Permissions say that metadata is visible only for
// securables the login owns or has some permission on, so a login without one sees
// no row; on an instance without Always On they are empty:
//   - "sys.availability_group_listeners (Transact-SQL)",
//     https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-availability-group-listeners-transact-sql:
//     group_id uniqueidentifier, listener_id nvarchar(36), dns_name nvarchar(63) "Configured
//     network name (hostname) of the availability group listener", port int "NULL =
//     Listener was configured outside SQL Server and its port number has not been added".
//   - "sys.availability_groups (Transact-SQL)",
//     https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-availability-groups-transact-sql:
//     group_id, name.
//   - "sys.availability_group_listener_ip_addresses (Transact-SQL)",
//     https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-availability-group-listener-ip-addresses-transact-sql:
//     listener_id, ip_address nvarchar(48) "Configured virtual IP address".
//   - "sys.availability_replicas (Transact-SQL)",
//     https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-availability-replicas-transact-sql:
//     group_id, replica_server_name nvarchar(256) "Server name of the instance of SQL
//     Server that is hosting this replica and, for a non-default instance, its instance
//     name".
const qAGListeners = `SELECT TOP (1000) g.name AS group_name, l.dns_name, l.port, a.ip_address, r.replica_server_name
FROM sys.availability_group_listeners AS l
JOIN sys.availability_groups AS g ON g.group_id = l.group_id
LEFT JOIN sys.availability_group_listener_ip_addresses AS a ON a.listener_id = l.listener_id
LEFT JOIN sys.availability_replicas AS r ON r.group_id = l.group_id
ORDER BY g.name, l.dns_name, a.ip_address, r.replica_server_name`

// Row bounds of the queries that may return many rows.
const (
	maxAGRows       = 1000 // TOP of qAGListeners
	maxClusterNodes = 64
	maxListenerRows = 256
)

// maxNoteText bounds the server's message quoted in a note.
const maxNoteText = 200

// An inspectStep is one query of Inspect.
type inspectStep struct {
	view string // what it reads, as a note names it
	// perm is the permission the view needs, for a note when it was refused; "" when
	// its page names none.
	perm string
	run  func(ctx context.Context, s *session, in triage.Instance, r *triage.Inspection) error
}

const (
	permState     = "VIEW SERVER STATE"
	permStateSec  = "VIEW SERVER STATE (VIEW SERVER SECURITY STATE from SQL Server 2022)"
	permStatePerf = "VIEW SERVER STATE (VIEW SERVER PERFORMANCE STATE from SQL Server 2022)"
)

// inspectSteps returns the queries of Inspect, in the order they run.
func inspectSteps() []inspectStep {
	return []inspectStep{
		{"SERVERPROPERTY and @@SERVERNAME", "", readServerProperties},
		{"sys.dm_tcp_listener_states", permStateSec, readListenerStates},
		{"sys.dm_server_registry", permStatePerf, readServerRegistry},
		{"sys.dm_server_services", permState, readServices},
		{"sys.dm_os_cluster_nodes", permStatePerf, readClusterNodes},
		{"sys.availability_group_listeners", "", readAGListeners},
		{"sys.dm_exec_connections", permStatePerf, readConnections},
		{"sys.dm_os_ring_buffers", permStatePerf, readRingBuffers},
	}
}

// Inspect logs in to instance in on host once, as Logins does, and asks the instance
// about itself: SERVERPROPERTY and @@SERVERNAME, the TCP listeners it runs, the ports
// its registry holds, its engine's service account, its cluster nodes, its
// availability-group listeners, the connections it has open and the security and
// connectivity errors of its ring buffers. Each is one fixed SELECT bounded by the
// checker's timeout and ctx. One that the server refuses (a missing permission) or
// that fails adds a note, and the others still run; after a failure that leaves the
// connection unusable (a timeout), the rest are noted as not asked.
//
// View.Name is the server's instance name, "MSSQLSERVER" for the default instance (in's
// when the server did not say). Its Ports hold the listening ports (PortListening) and
// those of the registry (PortServerRegistry). Listeners come with Source "sql".
//
// The error is non-nil only when the login failed: it names the address and wraps the
// driver's or the server's error, as LinkedServers does.
func (c *Checker) Inspect(ctx context.Context, host string, in triage.Instance) (res triage.Inspection, err error) {
	d := &dialer{}
	loggedIn := false
	step := ""
	defer func() {
		if r := recover(); r != nil {
			if !loggedIn {
				res, err = triage.Inspection{}, fmt.Errorf("log in to %s: the SQL Server driver failed: %v", address(host, in, d.dialled()), r)
				return
			}
			res.Notes = append(res.Notes, fmt.Sprintf("Reading %s on %s stopped: the SQL Server driver failed.", step, display.Line(address(host, in, d.dialled()))))
			c.log.ErrorContext(ctx, "sql inspection panicked", "step", step, "panic", r)
		}
	}()
	s, err := c.logIn(ctx, host, in, d)
	if err != nil {
		return triage.Inspection{}, err
	}
	loggedIn = true
	defer s.close()
	where := display.Line(address(host, in, d.dialled()))

	res.View.Name = cmp.Or(in.Name, "MSSQLSERVER")
	steps := inspectSteps()
	for i, st := range steps {
		step = st.view
		err := st.run(ctx, s, in, &res)
		if err == nil {
			continue
		}
		res.Notes = append(res.Notes, refusedNote(st, where, err, c.timeout))
		c.log.WarnContext(ctx, "sql inspection query failed", "host", host, "instance", in.String(), "view", st.view, "err", err)
		if !isServerError(err) {
			for _, rest := range steps[i+1:] {
				res.Notes = append(res.Notes, fmt.Sprintf("%s was not read on %s: the connection failed on %s.", rest.view, where, st.view))
			}
			break
		}
	}
	res.View.Ports = listeningPorts(res.View.Ports, res.Listeners)
	c.log.DebugContext(ctx, "sql inspection done", "host", host, "instance", in.String(),
		"listeners", len(res.Listeners), "connection_groups", len(res.Connections), "failures", len(res.Failures), "notes", len(res.Notes))
	return res, nil
}

// refusedNote says that st's view was not read on where, and why: the server's number
// and message (with the permission the view needs when the server refused one), or the
// failure, as one sentence.
func refusedNote(st inspectStep, where string, err error, timeout time.Duration) string {
	var se sqlError
	if errors.As(err, &se) {
		msg := clip(display.Line(se.SQLErrorMessage()), maxNoteText)
		note := fmt.Sprintf("%s was not read on %s: SQL Server answered error %d, \"%s\"", st.view, where, se.SQLErrorNumber(), msg)
		if st.perm != "" && isPermissionError(se.SQLErrorNumber()) {
			note += "; the login needs " + st.perm
		}
		return note + "."
	}
	return fmt.Sprintf("%s was not read on %s: %s.", st.view, where, strings.TrimSuffix(clip(display.Line(errText(err, timeout)), maxNoteText), "."))
}

// isPermissionError reports whether n is an error SQL Server returns for a missing
// permission: 297 "The user does not have permission to perform this action", 300
// "%ls permission was denied on object '%.*ls', database '%.*ls'", 229 "The %ls
// permission was denied on the object". Source: "Database engine events and errors
// (0 to 999)",
// https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-0-to-999.
func isPermissionError(n int32) bool { return n == 297 || n == 300 || n == 229 }

// clip cuts s to at most n bytes of valid UTF-8, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "..."
}

// query runs a fixed query bounded by ctx and the session's timeout, and calls each for
// every row. It says so in the error when the server did not answer in time.
func (s *session) query(ctx context.Context, q string, each func(*sql.Rows) error) error {
	qctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	s.d.bound(qctx)
	err := func() error {
		rows, err := s.conn.QueryContext(qctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := each(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}()
	if err != nil {
		return timedOut(qctx, err, s.timeout)
	}
	return nil
}

func readServerProperties(ctx context.Context, s *session, in triage.Instance, r *triage.Inspection) error {
	var clustered sql.NullInt64
	var machine, node, instance, version, server sql.NullString
	seen := false
	err := s.query(ctx, qServerProperties, func(rows *sql.Rows) error {
		seen = true
		return rows.Scan(&clustered, &machine, &node, &instance, &version, &server)
	})
	switch {
	case err != nil:
		return err
	case !seen:
		return errors.New("the query returned no row")
	}
	v := &r.View
	if clustered.Valid {
		b := clustered.Int64 == 1
		v.Clustered = &b
	}
	v.MachineName = strings.TrimSpace(machine.String)
	v.PhysicalNode = strings.TrimSpace(node.String)
	v.Version = strings.TrimSpace(version.String)
	v.ServerName = strings.TrimSpace(server.String)
	if name := strings.TrimSpace(instance.String); name != "" {
		v.Name = name
	} else {
		v.Name = "MSSQLSERVER"
	}
	return nil
}

func readListenerStates(ctx context.Context, s *session, in triage.Instance, r *triage.Inspection) error {
	var ports []int
	n := 0
	err := s.query(ctx, qListenerStates, func(rows *sql.Rows) error {
		var ip sql.NullString
		var port, ipv4 sql.NullInt64
		if err := rows.Scan(&ip, &port, &ipv4); err != nil {
			return err
		}
		if n++; n > maxListenerRows {
			return nil
		}
		if p := int(port.Int64); port.Valid && validPort(p) && !slices.Contains(ports, p) {
			ports = append(ports, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range ports {
		r.View.Ports = append(r.View.Ports, triage.PortClaim{Source: triage.PortListening, Port: p})
	}
	return nil
}

func readServerRegistry(ctx context.Context, s *session, in triage.Instance, r *triage.Inspection) error {
	var claims []triage.PortClaim
	err := s.query(ctx, qServerRegistry, func(rows *sql.Rows) error {
		var name, data sql.NullString
		if err := rows.Scan(&name, &data); err != nil {
			return err
		}
		dynamic := strings.EqualFold(name.String, "TcpDynamicPorts")
		claims = append(claims, registryPorts(data.String, dynamic)...)
		return nil
	})
	if err != nil {
		return err
	}
	r.View.Ports = append(r.View.Ports, claims...)
	return nil
}

// registryPorts reads a TcpPort or TcpDynamicPorts value: ports separated by commas;
// blank names none. A TcpDynamicPorts of 0 says the instance uses a dynamic port
// without naming it: a Dynamic claim of port 0. Numbers that are not ports are skipped.
func registryPorts(value string, dynamic bool) []triage.PortClaim {
	var out []triage.PortClaim
	for f := range strings.SplitSeq(value, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := strconv.Atoi(f)
		switch {
		case err != nil:
			continue
		case p == 0 && dynamic:
			out = append(out, triage.PortClaim{Source: triage.PortServerRegistry, Dynamic: true})
		case validPort(p):
			out = append(out, triage.PortClaim{Source: triage.PortServerRegistry, Port: p, Dynamic: dynamic})
		}
	}
	return out
}

func validPort(p int) bool { return p > 0 && p < 65536 }

// readServices reads the engine's service account, and, where SERVERPROPERTY did not
// say (its query failed), whether the engine is clustered (is_clustered: "Indicates
// whether the service is installed as a resource of a clustered server", read as Y or
// N, the values the page gives for its other nvarchar(1) flag,
// instant_file_initialization_enabled) and the node it is on (cluster_nodename: "The
// name of the cluster node on which the service is installed"), as "sys.dm_server_services
// (Transact-SQL)" describes them (the source of qServices).
func readServices(ctx context.Context, s *session, in triage.Instance, r *triage.Inspection) error {
	account := ""
	var clustered *bool
	var node string
	err := s.query(ctx, qServices, func(rows *sql.Rows) error {
		var name, acct, isClustered, nodeName sql.NullString
		if err := rows.Scan(&name, &acct, &isClustered, &nodeName); err != nil {
			return err
		}
		if account != "" {
			return nil
		}
		account, node = strings.TrimSpace(acct.String), strings.TrimSpace(nodeName.String)
		switch strings.ToUpper(strings.TrimSpace(isClustered.String)) {
		case "Y":
			clustered = new(true)
		case "N":
			clustered = new(false)
		}
		return nil
	})
	if err != nil {
		return err
	}
	v := &r.View
	v.ServiceAccount = account
	if v.Clustered == nil {
		v.Clustered = clustered
	}
	if v.PhysicalNode == "" && clustered != nil && *clustered {
		v.PhysicalNode = node
	}
	return nil
}

func readClusterNodes(ctx context.Context, s *session, in triage.Instance, r *triage.Inspection) error {
	var nodes []string
	err := s.query(ctx, qClusterNodes, func(rows *sql.Rows) error {
		var name sql.NullString
		if err := rows.Scan(&name); err != nil {
			return err
		}
		n := strings.TrimSpace(name.String)
		if n != "" && len(nodes) < maxClusterNodes && !slices.ContainsFunc(nodes, func(m string) bool { return strings.EqualFold(m, n) }) {
			nodes = append(nodes, n)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.View.Nodes = nodes
	return nil
}

func readAGListeners(ctx context.Context, s *session, in triage.Instance, r *triage.Inspection) error {
	var out []triage.Listener
	err := s.query(ctx, qAGListeners, func(rows *sql.Rows) error {
		var group, dns, ip, replica sql.NullString
		var port sql.NullInt64
		if err := rows.Scan(&group, &dns, &port, &ip, &replica); err != nil {
			return err
		}
		name := strings.TrimSpace(dns.String)
		if name == "" {
			return nil
		}
		g := strings.TrimSpace(group.String)
		i := slices.IndexFunc(out, func(l triage.Listener) bool { return l.Group == g && strings.EqualFold(l.Name, name) })
		if i < 0 {
			l := triage.Listener{Name: name, Group: g, Source: "sql"}
			if p := int(port.Int64); port.Valid && validPort(p) {
				l.Port = p
			}
			out = append(out, l)
			i = len(out) - 1
		}
		l := &out[i]
		if a := strings.TrimSpace(ip.String); a != "" && !slices.Contains(l.IPs, a) {
			l.IPs = append(l.IPs, a)
		}
		if rs := strings.TrimSpace(replica.String); rs != "" &&
			!slices.ContainsFunc(l.Replicas, func(x triage.Replica) bool { return strings.EqualFold(x.Server, rs) }) {
			l.Replicas = append(l.Replicas, triage.Replica{Server: rs})
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.Listeners = out
	return nil
}

// listeningPorts returns claims without the listening ports that are an
// availability-group listener's, when the instance listens on another port too:
// sys.dm_tcp_listener_states lists the listeners of the instance and of its groups
// alike.
func listeningPorts(claims []triage.PortClaim, listeners []triage.Listener) []triage.PortClaim {
	isAG := func(c triage.PortClaim) bool {
		return c.Source == triage.PortListening && slices.ContainsFunc(listeners, func(l triage.Listener) bool { return l.Port == c.Port })
	}
	own := slices.ContainsFunc(claims, func(c triage.PortClaim) bool { return c.Source == triage.PortListening && !isAG(c) })
	if !own {
		return claims
	}
	return slices.DeleteFunc(claims, isAG)
}
