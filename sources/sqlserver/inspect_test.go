package sqlserver_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/internal/tdsfake"
	"github.com/authtriage/authtriage/triage"
)

// Ring-buffer records as SQL Server writes them (the layout of the records the
// connectivity ring buffer's documentation shows; stack frames left out).
const (
	securityRecord = `<Record id="%d" type="RING_BUFFER_SECURITY_ERROR" time="%d"><Error>` +
		`<SPID>57</SPID><APIName>AcceptSecurityContext</APIName><CallingAPIName>NLShimImpersonate</CallingAPIName>` +
		`<ErrorCode>0x8009030C</ErrorCode></Error></Record>`
	loginTimersRecord = `<Record id="%d" type="RING_BUFFER_CONNECTIVITY" time="%d">
  <ConnectivityTraceRecord>
    <RecordType>LoginTimers</RecordType>
    <Spid>0</Spid>
    <SniConnectionId>%s</SniConnectionId>
    <SniConsumerError>17830</SniConsumerError>
    <SniProvider>7</SniProvider>
    <State>11</State>
    <RemoteHost>%s</RemoteHost>
    <RemotePort>60618</RemotePort>
    <LocalHost>10.0.0.20</LocalHost>
    <LocalPort>50123</LocalPort>
    <RecordTime>11/25/2026 14:59:0.000</RecordTime>
    <LoginTimers>
      <TotalLoginTimeInMilliseconds>%d</TotalLoginTimeInMilliseconds>
      <LoginTaskEnqueuedInMilliseconds>0</LoginTaskEnqueuedInMilliseconds>
      <SspiProcessingInMilliseconds>%d</SspiProcessingInMilliseconds>
    </LoginTimers>
  </ConnectivityTraceRecord>
  <Stack><frame id="0">0X0000000002315FEB</frame></Stack>
</Record>`
	connectionCloseRecord = `<Record id="2" type="RING_BUFFER_CONNECTIVITY" time="1"><ConnectivityTraceRecord>` +
		`<RecordType>ConnectionClose</RecordType><RecordSource>Tds</RecordSource><Spid>55</Spid>` +
		`<RemoteHost>&lt;local machine&gt;</RemoteHost></ConnectivityTraceRecord></Record>`
)

// msTicks is the fake's tick count when asked; a record stamped msTicks-n was added n
// milliseconds before serverNow.
const msTicks = 5_000_000

func ago(ms int64) time.Time { return serverNow.Add(-time.Duration(ms) * time.Millisecond) }

// standalone is a named instance on a dynamic port, with connections and failures.
func standalone() *tdsfake.Inspect {
	return &tdsfake.Inspect{
		Properties: tdsfake.ServerProperties{MachineName: "SQL01", PhysicalNode: "SQL01", InstanceName: "SALES",
			Version: "16.0.4135.4", ServerName: `SQL01\SALES`},
		Listening: []tdsfake.ListenerState{{IP: "::", Port: 50123}, {IP: "0.0.0.0", Port: 50123, IPv4: true}},
		Registry: []tdsfake.RegistryValue{
			{Key: `HKLM\Software\Microsoft\Microsoft SQL Server\MSSQL16.SALES\MSSQLServer\SuperSocketNetLib\Tcp\IPAll`, Name: "TcpPort", Value: ""},
			{Key: `HKLM\Software\Microsoft\Microsoft SQL Server\MSSQL16.SALES\MSSQLServer\SuperSocketNetLib\Tcp\IPAll`, Name: "TcpDynamicPorts", Value: "50123"},
			{Key: `HKLM\Software\Microsoft\Microsoft SQL Server\MSSQL16.SALES\MSSQLServer\SuperSocketNetLib\Tcp\IP1`, Name: "TcpPort", Value: "1444"},
		},
		Services: []tdsfake.Service{
			{Name: "SQL Server Agent (SALES)", Account: `CORP\svc_agent`},
			{Name: "SQL Server (SALES)", Account: `CORP\svc_sales`},
		},
		Connections: []tdsfake.ConnectionGroup{
			{AuthScheme: "NTLM", Transport: "TCP", Client: "10.0.0.9", Count: 3},
			{AuthScheme: "KERBEROS", Transport: "TCP", Client: "10.0.0.5", Count: 12},
			{AuthScheme: "SQL", Transport: "Shared memory", Client: "<local machine>", Count: 1},
		},
		RingBuffers: tdsfake.RingBuffers{MsTicks: msTicks, Now: serverNow, Records: []tdsfake.RingBufferRecord{
			{Type: "RING_BUFFER_SECURITY_ERROR", Timestamp: msTicks - 60_000, Record: fmt.Sprintf(securityRecord, 7, msTicks-60_000)},
			{Type: "RING_BUFFER_SECURITY_ERROR", Timestamp: msTicks - 3_600_000, Record: fmt.Sprintf(securityRecord, 3, msTicks-3_600_000)},
			{Type: "RING_BUFFER_CONNECTIVITY", Timestamp: msTicks - 120_000, Record: fmt.Sprintf(loginTimersRecord, 9, msTicks-120_000, "22BF6970-70C0-4D4D-B347-7FB6EDB9CB36", "10.0.0.9", 15002, 14998)},
			{Type: "RING_BUFFER_CONNECTIVITY", Timestamp: msTicks - 240_000, Record: fmt.Sprintf(loginTimersRecord, 8, msTicks-240_000, "4BBB38FE-B46A-4D6E-917F-5D473464448B", "10.0.0.7", 15001, 12000)},
			{Type: "RING_BUFFER_CONNECTIVITY", Timestamp: msTicks - 10, Record: connectionCloseRecord},
			{Type: "RING_BUFFER_SCHEDULER_MONITOR", Timestamp: msTicks - 10, Record: `<Record id="1"/>`},
		}},
	}
}

func TestInspect(t *testing.T) {
	f, tr := false, true
	const port = -1 // replaced by the fake's port
	tests := []struct {
		name    string
		inspect *tdsfake.Inspect
		want    triage.Inspection
	}{
		{
			name:    "named instance on a dynamic port",
			inspect: standalone(),
			want: triage.Inspection{
				View: triage.InstanceView{
					Name: "SALES", Version: "16.0.4135.4", Clustered: &f,
					ServerName: `SQL01\SALES`, MachineName: "SQL01", PhysicalNode: "SQL01",
					ServiceAccount: `CORP\svc_sales`,
					Ports: []triage.PortClaim{
						{Source: triage.PortListening, Port: 50123},
						{Source: triage.PortServerRegistry, Port: 50123, Dynamic: true},
					},
				},
				Connections: []triage.ConnectionGroup{
					{Instance: "MSSQLSERVER:" + fmt.Sprint(port), AuthScheme: "KERBEROS", Transport: "TCP", Client: "10.0.0.5", Count: 12},
					{Instance: "MSSQLSERVER:" + fmt.Sprint(port), AuthScheme: "NTLM", Transport: "TCP", Client: "10.0.0.9", Count: 3},
					{Instance: "MSSQLSERVER:" + fmt.Sprint(port), AuthScheme: "SQL", Transport: "Shared memory", Client: "<local machine>", Count: 1},
				},
				Failures: []triage.RingBufferEvent{
					{Instance: "MSSQLSERVER:" + fmt.Sprint(port), Buffer: "RING_BUFFER_SECURITY_ERROR", API: "AcceptSecurityContext",
						CallingAPI: "NLShimImpersonate", Code: "0x8009030c", Count: 2, First: ago(3_600_000), Last: ago(60_000)},
					{Instance: "MSSQLSERVER:" + fmt.Sprint(port), Buffer: "RING_BUFFER_CONNECTIVITY", Number: 17830, State: 11,
						SSPIMillis: 14998, Count: 2, First: ago(240_000), Last: ago(120_000), Clients: []string{"10.0.0.7", "10.0.0.9"}},
				},
			},
		},
		{
			name: "failover-cluster instance",
			inspect: &tdsfake.Inspect{
				Properties: tdsfake.ServerProperties{Clustered: true, MachineName: "SQLFCI", PhysicalNode: "NODE2",
					Version: "15.0.2000.5", ServerName: "SQLFCI"},
				Listening: []tdsfake.ListenerState{{IP: "10.0.0.30", Port: 1433, IPv4: true}},
				Registry: []tdsfake.RegistryValue{
					{Key: `HKLM\Software\Microsoft\Microsoft SQL Server\MSSQL15.MSSQLSERVER\MSSQLServer\SuperSocketNetLib\Tcp\IPAll`, Name: "TcpPort", Value: "1433, 1500"},
					{Key: `HKLM\Software\Microsoft\Microsoft SQL Server\MSSQL15.MSSQLSERVER\MSSQLServer\SuperSocketNetLib\Tcp\IPAll`, Name: "TcpDynamicPorts", Value: ""},
				},
				Services:     []tdsfake.Service{{Name: "SQL Server (MSSQLSERVER)", Account: `CORP\svc_fci`, Clustered: true, Node: "NODE2"}},
				ClusterNodes: []string{"NODE1", "NODE2"},
			},
			want: triage.Inspection{
				View: triage.InstanceView{
					Name: "MSSQLSERVER", Version: "15.0.2000.5", Clustered: &tr,
					ServerName: "SQLFCI", MachineName: "SQLFCI", PhysicalNode: "NODE2", Nodes: []string{"NODE1", "NODE2"},
					ServiceAccount: `CORP\svc_fci`,
					Ports: []triage.PortClaim{
						{Source: triage.PortListening, Port: 1433},
						{Source: triage.PortServerRegistry, Port: 1433},
						{Source: triage.PortServerRegistry, Port: 1500},
					},
				},
			},
		},
		{
			name: "availability group with two replicas",
			inspect: &tdsfake.Inspect{
				Properties: tdsfake.ServerProperties{MachineName: "SQLA", PhysicalNode: "SQLA", Version: "16.0.1000.6", ServerName: "SQLA"},
				// The listener listens apart from the instance, on its own port.
				Listening: []tdsfake.ListenerState{{IP: "0.0.0.0", Port: 1433, IPv4: true}, {IP: "10.0.0.50", Port: 14330, IPv4: true}},
				AGListeners: []tdsfake.AGListener{
					{Group: "AG1", DNSName: "aglisten", Port: 14330, IPs: []string{"10.0.0.50", "10.0.1.50"}, Replicas: []string{`SQLB\INST`, "SQLA"}},
					{Group: "AG2", DNSName: "agnoport"},
				},
			},
			want: triage.Inspection{
				View: triage.InstanceView{
					Name: "MSSQLSERVER", Version: "16.0.1000.6", Clustered: &f,
					ServerName: "SQLA", MachineName: "SQLA", PhysicalNode: "SQLA", ServiceAccount: `NT Service\MSSQLSERVER`,
					Ports: []triage.PortClaim{{Source: triage.PortListening, Port: 1433}},
				},
				Listeners: []triage.Listener{
					{Name: "aglisten", Port: 14330, Group: "AG1", Source: "sql", IPs: []string{"10.0.0.50", "10.0.1.50"},
						Replicas: []triage.Replica{{Server: "SQLA"}, {Server: `SQLB\INST`}}},
					{Name: "agnoport", Group: "AG2", Source: "sql"},
				},
			},
		},
		{
			name: "nothing configured",
			want: triage.Inspection{
				View: triage.InstanceView{Name: "MSSQLSERVER", Clustered: &f, ServerName: "SQL01", ServiceAccount: `NT Service\MSSQLSERVER`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := tdsfake.Start(t, tdsfake.Config{Inspect: tt.inspect, Now: func() time.Time { return serverNow }})
			in := triage.Instance{Port: fake.Port()}
			got, err := newChecker(t, time.Second).Inspect(t.Context(), "127.0.0.1", in)
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			for i := range tt.want.Connections {
				tt.want.Connections[i].Instance = in.String()
			}
			for i := range tt.want.Failures {
				tt.want.Failures[i].Instance = in.String()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Inspect (-want +got):\n%s", diff)
			}
			if len(fake.Logins()) != 1 {
				t.Errorf("the fake read %d logins; want 1", len(fake.Logins()))
			}
			for _, q := range fake.Queries() {
				if !strings.HasPrefix(q, "SELECT ") {
					t.Errorf("query %.60q is not a SELECT", q)
				}
			}
		})
	}
}

func TestInspectDenied(t *testing.T) {
	// Each query as the fake receives it, by a word only it holds.
	views := []struct {
		view, word string
		perm       string // in the note, "" for none
	}{
		{"SERVERPROPERTY and @@SERVERNAME", "SERVERPROPERTY", ""},
		{"sys.dm_tcp_listener_states", "sys.dm_tcp_listener_states", "VIEW SERVER SECURITY STATE"},
		{"sys.dm_server_registry", "sys.dm_server_registry", "VIEW SERVER PERFORMANCE STATE"},
		{"sys.dm_server_services", "sys.dm_server_services", "VIEW SERVER STATE"},
		{"sys.dm_os_cluster_nodes", "sys.dm_os_cluster_nodes", "VIEW SERVER PERFORMANCE STATE"},
		{"sys.availability_group_listeners", "sys.availability_group_listeners", ""},
		{"sys.dm_exec_connections", "sys.dm_exec_connections", "VIEW SERVER PERFORMANCE STATE"},
		{"sys.dm_os_ring_buffers", "sys.dm_os_ring_buffers", "VIEW SERVER PERFORMANCE STATE"},
	}
	for _, v := range views {
		t.Run(v.view, func(t *testing.T) {
			t.Parallel()
			deny := func(q string) *tdsfake.Error {
				if strings.Contains(q, v.word) {
					return &tdsfake.Error{Number: 300, State: 1, Class: 14,
						Message: "VIEW SERVER STATE permission was denied on object 'server', database 'master'.\x1b[2J"}
				}
				return nil
			}
			fake := tdsfake.Start(t, tdsfake.Config{Inspect: standalone(), Deny: deny, Now: func() time.Time { return serverNow }})
			in := triage.Instance{Port: fake.Port()}
			got, err := newChecker(t, time.Second).Inspect(t.Context(), "127.0.0.1", in)
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			if len(got.Notes) != 1 {
				t.Fatalf("notes = %q; want one", got.Notes)
			}
			note := got.Notes[0]
			t.Logf("note: %s", note)
			for _, want := range []string{v.view, "127.0.0.1:" + fmt.Sprint(fake.Port()), "error 300", `VIEW SERVER STATE permission was denied`, v.perm} {
				if !strings.Contains(note, want) {
					t.Errorf("note %q does not say %q", note, want)
				}
			}
			if strings.ContainsRune(note, '\x1b') || !strings.HasSuffix(note, ".") {
				t.Errorf("note %q: want one sentence without control characters", note)
			}
			if v.perm == "" && strings.Contains(note, "needs") {
				t.Errorf("note %q names a permission for a query whose page names none", note)
			}
			// The others were read: of five parts, the refused query empties one at most.
			kept := 0
			for _, part := range []bool{
				got.View.Version != "", len(got.View.Ports) > 0, got.View.ServiceAccount != "",
				len(got.Connections) > 0, len(got.Failures) > 0,
			} {
				if part {
					kept++
				}
			}
			if kept < 4 {
				t.Errorf("only %d of 5 parts were read around the refused query: %+v", kept, got)
			}
		})
	}
}

func TestInspectErrors(t *testing.T) {
	const timeout = time.Second
	t.Run("login refused", func(t *testing.T) {
		t.Parallel()
		fake := tdsfake.Start(t, tdsfake.Config{Login: func(tdsfake.Login) *tdsfake.Error { return tdsfake.LoginFailed(`CORP\authtriage_ro`) }})
		got, err := newChecker(t, timeout).Inspect(t.Context(), "127.0.0.1", triage.Instance{Port: fake.Port()})
		var se sqlNumber
		if !errors.As(err, &se) || se.SQLErrorNumber() != 18456 || !strings.Contains(err.Error(), "log in to 127.0.0.1:") {
			t.Fatalf("Inspect error = %v; want the 18456 of the login to 127.0.0.1:PORT", err)
		}
		if got.View.Name != "" || len(got.Notes) != 0 {
			t.Errorf("Inspect = %+v with its error; want nothing", got)
		}
	})
	t.Run("server never answers the login", func(t *testing.T) {
		t.Parallel()
		fake := tdsfake.Start(t, tdsfake.Config{Fault: tdsfake.Silent})
		start := time.Now()
		_, err := newChecker(t, timeout).Inspect(t.Context(), "127.0.0.1", triage.Instance{Port: fake.Port()})
		if took := time.Since(start); took > timeout+500*time.Millisecond {
			t.Errorf("Inspect took %v; want at most the timeout", took)
		}
		if err == nil || !strings.Contains(err.Error(), "no answer within 1s") {
			t.Errorf("Inspect error = %v; want no answer within 1s", err)
		}
	})
	t.Run("server never answers a query", func(t *testing.T) {
		t.Parallel()
		fake := tdsfake.Start(t, tdsfake.Config{Fault: tdsfake.SilentQueries})
		start := time.Now()
		got, err := newChecker(t, timeout).Inspect(t.Context(), "127.0.0.1", triage.Instance{Port: fake.Port()})
		// The login, then one query that costs the timeout; the others are not asked.
		if took, max := time.Since(start), 2*timeout+500*time.Millisecond; took > max {
			t.Errorf("Inspect took %v; want at most %v", took, max)
		}
		if err != nil {
			t.Fatalf("Inspect: %v", err)
		}
		if len(got.Notes) != 8 || !strings.Contains(got.Notes[0], "no answer within 1s") ||
			!strings.Contains(got.Notes[7], "sys.dm_os_ring_buffers was not read on 127.0.0.1:") {
			t.Errorf("notes = %q; want the first query's timeout and the others not read", got.Notes)
		}
	})
	t.Run("malformed rows", func(t *testing.T) {
		t.Parallel()
		fake := tdsfake.Start(t, tdsfake.Config{Fault: tdsfake.GarbageQueryReply})
		got, err := newChecker(t, timeout).Inspect(t.Context(), "127.0.0.1", triage.Instance{Port: fake.Port()})
		if err != nil {
			t.Fatalf("Inspect: %v", err)
		}
		if len(got.Notes) == 0 {
			t.Errorf("Inspect = %+v; want notes", got)
		}
	})
}

func TestInspectBounds(t *testing.T) {
	ins := standalone()
	ins.Connections = nil
	for i := range 600 {
		ins.Connections = append(ins.Connections, tdsfake.ConnectionGroup{AuthScheme: "NTLM", Transport: "TCP", Client: fmt.Sprintf("10.1.%d.%d", i/250, i%250), Count: 1000 - i})
	}
	ins.RingBuffers.Records = append(ins.RingBuffers.Records,
		tdsfake.RingBufferRecord{Type: "RING_BUFFER_CONNECTIVITY", Timestamp: msTicks - 5, Record: "<Record><unclosed>"},
		tdsfake.RingBufferRecord{Type: "RING_BUFFER_SECURITY_ERROR", Timestamp: msTicks - 6, Record: "<Record>" + strings.Repeat("x", 20000) + "</Record>"},
		tdsfake.RingBufferRecord{Type: "RING_BUFFER_SECURITY_ERROR", Timestamp: msTicks - 7,
			Record: `<!DOCTYPE r [<!ENTITY a "aaaa">]><Record><Error><APIName>&a;</APIName></Error></Record>`},
	)
	fake := tdsfake.Start(t, tdsfake.Config{Inspect: ins})
	in := triage.Instance{Port: fake.Port()}
	got, err := newChecker(t, time.Second).Inspect(t.Context(), "127.0.0.1", in)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Connections) != 500 || got.Connections[0].Count != 1000 || got.Connections[499].Count != 501 {
		t.Errorf("read %d connection groups; want the 500 largest", len(got.Connections))
	}
	want := []string{
		in.String() + " has more than 500 groups of connections by scheme, transport and client; the 500 largest were read.",
		"3 ring-buffer records on " + in.String() + " could not be read (not XML, too long, or without a time).",
	}
	if diff := cmp.Diff(want, got.Notes); diff != "" {
		t.Errorf("notes (-want +got):\n%s", diff)
	}
	if len(got.Failures) != 2 {
		t.Errorf("failures = %+v; want the two groups of the readable records", got.Failures)
	}
}

// TestInspectServicesCluster: where SERVERPROPERTY is refused, sys.dm_server_services
// says whether the engine is clustered and the node it is on.
func TestInspectServicesCluster(t *testing.T) {
	deny := func(q string) *tdsfake.Error {
		if strings.Contains(q, "SERVERPROPERTY") {
			return &tdsfake.Error{Number: 300, State: 1, Class: 14, Message: "denied"}
		}
		return nil
	}
	for _, tc := range []struct {
		name      string
		svc       tdsfake.Service
		clustered *bool
		node      string
	}{
		{"clustered", tdsfake.Service{Name: "SQL Server (MSSQLSERVER)", Account: `CORP\svc_fci`, Clustered: true, Node: "NODE2"}, new(true), "NODE2"},
		{"not clustered", tdsfake.Service{Name: "SQL Server (MSSQLSERVER)", Account: `CORP\svc_sql`, Node: "SQL01"}, new(false), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := tdsfake.Start(t, tdsfake.Config{Inspect: &tdsfake.Inspect{Services: []tdsfake.Service{tc.svc}}, Deny: deny})
			got, err := newChecker(t, time.Second).Inspect(t.Context(), "127.0.0.1", triage.Instance{Port: fake.Port()})
			if err != nil {
				t.Fatalf("Inspect: %v", err)
			}
			if diff := cmp.Diff(tc.clustered, got.View.Clustered); diff != "" || got.View.PhysicalNode != tc.node || got.View.ServiceAccount != tc.svc.Account {
				t.Errorf("view %+v; want clustered %v on %q, running as %s", got.View, *tc.clustered, tc.node, tc.svc.Account)
			}
		})
	}
}
