package tdsfake

import (
	"database/sql"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// openFake starts a fake of cfg and returns a database/sql handle on it.
func openFake(t *testing.T, cfg Config) *sql.DB {
	t.Helper()
	s := Start(t, cfg)
	q := url.Values{"encrypt": {"disable"}, "database": {"master"}, "authenticator": {"ntlm"}}
	u := url.URL{Scheme: "sqlserver", User: url.UserPassword(`CORP\x`, "pw"), Host: s.Addr(), RawQuery: q.Encode()}
	db, err := sql.Open("sqlserver", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// A colInfo is a column as go-mssqldb describes it.
type colInfo struct {
	Name, Type string
	Length     int64
}

// queryAll runs q, written as a client writes it, and returns its columns and rows,
// each value as go-mssqldb scans it into any.
func queryAll(t *testing.T, db *sql.DB, q string) ([]colInfo, [][]any) {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), q)
	if err != nil {
		t.Fatalf("%.50s...: %v", q, err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		t.Fatal(err)
	}
	var cols []colInfo
	for _, ct := range types {
		n, _ := ct.Length()
		cols = append(cols, colInfo{ct.Name(), ct.DatabaseTypeName(), n})
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return cols, out
}

// The queries as sources/sqlserver writes them, on several lines and in upper case.
const (
	clientProperties = "SELECT CAST(SERVERPROPERTY('IsClustered') AS int) AS is_clustered,\n" +
		"\tCAST(SERVERPROPERTY('MachineName') AS nvarchar(128)) AS machine_name,\n" +
		"\tCAST(SERVERPROPERTY('ComputerNamePhysicalNetBIOS') AS nvarchar(128)) AS physical_node,\n" +
		"\tCAST(SERVERPROPERTY('InstanceName') AS nvarchar(128)) AS instance_name,\n" +
		"\tCAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS product_version,\n" +
		"\t@@SERVERNAME AS server_name"
	clientRegistry = "SELECT value_name, CAST(value_data AS nvarchar(256)) AS value_data\n" +
		"FROM sys.dm_server_registry\n" +
		`WHERE registry_key LIKE N'%SuperSocketNetLib\Tcp\IPAll' AND value_name IN (N'TcpPort', N'TcpDynamicPorts')` + "\n" +
		"ORDER BY value_name"
	clientConnections = "SELECT TOP (501) auth_scheme, net_transport, client_net_address, COUNT(*) AS connections\n" +
		"FROM sys.dm_exec_connections\n" +
		"GROUP BY auth_scheme, net_transport, client_net_address\n" +
		"ORDER BY COUNT(*) DESC, auth_scheme, net_transport, client_net_address"
	clientRingBuffers = "SELECT TOP (2000) r.ring_buffer_type, r.[timestamp], i.ms_ticks, SYSUTCDATETIME() AS now_utc,\n" +
		"\tCASE WHEN LEN(r.record) <= 16000 THEN r.record END AS record\n" +
		"FROM sys.dm_os_ring_buffers AS r\n" +
		"CROSS JOIN sys.dm_os_sys_info AS i\n" +
		"WHERE r.ring_buffer_type IN (N'RING_BUFFER_SECURITY_ERROR', N'RING_BUFFER_CONNECTIVITY')\n" +
		"ORDER BY r.[timestamp] DESC"
	clientAGListeners = "SELECT TOP (1000) g.name AS group_name, l.dns_name, l.port, a.ip_address, r.replica_server_name\n" +
		"FROM sys.availability_group_listeners AS l\n" +
		"JOIN sys.availability_groups AS g ON g.group_id = l.group_id\n" +
		"LEFT JOIN sys.availability_group_listener_ip_addresses AS a ON a.listener_id = l.listener_id\n" +
		"LEFT JOIN sys.availability_replicas AS r ON r.group_id = l.group_id\n" +
		"ORDER BY g.name, l.dns_name, a.ip_address, r.replica_server_name"
)

func TestInspectProperties(t *testing.T) {
	db := openFake(t, Config{ServerName: "SQL01", Inspect: &Inspect{Properties: ServerProperties{Clustered: true, MachineName: "SQLFCI", Version: "16.0.1000.6"}}})
	cols, rows := queryAll(t, db, clientProperties)
	wantCols := []colInfo{
		{"is_clustered", "INT", 0}, {"machine_name", "NVARCHAR", 128}, {"physical_node", "NVARCHAR", 128},
		{"instance_name", "NVARCHAR", 128}, {"product_version", "NVARCHAR", 128}, {"server_name", "NVARCHAR", 128},
	}
	if diff := cmp.Diff(wantCols, cols); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	// Empty properties are NULL: InstanceName is, for the default instance.
	want := [][]any{{int64(1), "SQLFCI", nil, nil, "16.0.1000.6", "SQL01"}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestInspectRegistrySelects(t *testing.T) {
	key := `HKLM\Software\Microsoft\Microsoft SQL Server\MSSQL16.SALES\MSSQLServer\SuperSocketNetLib\Tcp\`
	db := openFake(t, Config{Inspect: &Inspect{Registry: []RegistryValue{
		{Key: key + "IPAll", Name: "TcpPort", Value: "1433,1500"},
		{Key: key + "IP1", Name: "TcpPort", Value: "1444"},
		{Key: key + "IPAll", Name: "TcpDynamicPorts", Value: ""},
		{Key: key + "IPAll", Name: "Enabled", Value: "1"},
	}}})
	_, rows := queryAll(t, db, clientRegistry)
	want := [][]any{{"TcpDynamicPorts", ""}, {"TcpPort", "1433,1500"}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestInspectConnections(t *testing.T) {
	db := openFake(t, Config{Inspect: &Inspect{Connections: []ConnectionGroup{
		{AuthScheme: "NTLM", Transport: "TCP", Client: "10.0.0.9", Count: 3},
		{AuthScheme: "KERBEROS", Transport: "TCP", Client: "10.0.0.5", Count: 12},
		{AuthScheme: "SQL", Transport: "TCP", Count: 1},
	}}})
	cols, rows := queryAll(t, db, clientConnections)
	wantCols := []colInfo{{"auth_scheme", "NVARCHAR", 40}, {"net_transport", "NVARCHAR", 40}, {"client_net_address", "VARCHAR", 48}, {"connections", "INT", 0}}
	if diff := cmp.Diff(wantCols, cols); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	want := [][]any{
		{"KERBEROS", "TCP", "10.0.0.5", int64(12)},
		{"NTLM", "TCP", "10.0.0.9", int64(3)},
		{"SQL", "TCP", nil, int64(1)},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestInspectRingBuffers(t *testing.T) {
	now := time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)
	long := "<Record>" + strings.Repeat("é", 9000) + "</Record>" // 9000 characters past 4000 bytes: several PLP chunks
	db := openFake(t, Config{Inspect: &Inspect{RingBuffers: RingBuffers{MsTicks: 5000, Now: now, Records: []RingBufferRecord{
		{Type: "RING_BUFFER_CONNECTIVITY", Timestamp: 4000, Record: long},
		{Type: "RING_BUFFER_SECURITY_ERROR", Timestamp: 4500, Record: "<Record/>"},
		{Type: "RING_BUFFER_SECURITY_ERROR", Timestamp: 3000, Record: strings.Repeat("x", 16001)},
		{Type: "RING_BUFFER_SCHEDULER_MONITOR", Timestamp: 4900, Record: "<Record/>"},
	}}}})
	cols, rows := queryAll(t, db, clientRingBuffers)
	wantCols := []colInfo{
		{"ring_buffer_type", "NVARCHAR", 60}, {"timestamp", "BIGINT", 0}, {"ms_ticks", "BIGINT", 0},
		{"now_utc", "DATETIME2", 0}, {"record", "NVARCHAR", 1073741822},
	}
	if diff := cmp.Diff(wantCols, cols); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
	want := [][]any{
		{"RING_BUFFER_SECURITY_ERROR", int64(4500), int64(5000), now, "<Record/>"},
		{"RING_BUFFER_CONNECTIVITY", int64(4000), int64(5000), now, long},
		{"RING_BUFFER_SECURITY_ERROR", int64(3000), int64(5000), now, nil},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestInspectAGListeners(t *testing.T) {
	db := openFake(t, Config{Inspect: &Inspect{AGListeners: []AGListener{
		{Group: "AG2", DNSName: "agnoport"},
		{Group: "AG1", DNSName: "aglisten", Port: 14330, IPs: []string{"10.0.1.50", "10.0.0.50"}, Replicas: []string{"SQLB", "SQLA"}},
	}}})
	_, rows := queryAll(t, db, clientAGListeners)
	want := [][]any{
		{"AG1", "aglisten", int64(14330), "10.0.0.50", "SQLA"},
		{"AG1", "aglisten", int64(14330), "10.0.0.50", "SQLB"},
		{"AG1", "aglisten", int64(14330), "10.0.1.50", "SQLA"},
		{"AG1", "aglisten", int64(14330), "10.0.1.50", "SQLB"},
		{"AG2", "agnoport", nil, nil, nil},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestInspectDefaultServices(t *testing.T) {
	db := openFake(t, Config{ServiceAccount: `CORP\svc_sql`})
	_, rows := queryAll(t, db, "SELECT servicename, service_account, is_clustered, cluster_nodename\nFROM sys.dm_server_services\nWHERE servicename LIKE N'SQL Server (%'")
	want := [][]any{{"SQL Server (MSSQLSERVER)", `CORP\svc_sql`, "N", nil}}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}
