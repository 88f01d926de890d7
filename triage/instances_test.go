package triage_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/triage"
)

func claims(cs ...triage.PortClaim) []triage.PortClaim { return cs }

func yes() *bool { b := true; return &b }

// TestDiscovered: the target the dependent checks and the rules judge is the one the
// request named, with what discovery found filled in by the documented precedence.
func TestDiscovered(t *testing.T) {
	base := triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example"}
	sales := triage.InstanceView{Name: "SALES", Ports: claims(
		triage.PortClaim{Source: triage.PortServerRegistry, Dynamic: true, Port: 50100},
		triage.PortClaim{Source: triage.PortBrowser, Port: 50177},
		triage.PortClaim{Source: triage.PortListening, Port: 50177},
	)}
	def := triage.InstanceView{Name: "MSSQLSERVER", Ports: claims(triage.PortClaim{Source: triage.PortBrowser, Port: 1433})}
	with := func(f func(*triage.Target)) triage.Target {
		t := base
		f(&t)
		return t
	}
	tests := []struct {
		name  string
		t     triage.Target
		facts *triage.InstanceFacts
		want  triage.Target
	}{
		{"no facts", base, nil, base},
		{
			"no instances named: every discovered one, on the port it listens on",
			base, &triage.InstanceFacts{Instances: []triage.InstanceView{def, sales}},
			with(func(t *triage.Target) {
				t.Instances = []triage.Instance{{Port: 1433}, {Name: "SALES", Port: 50177}}
			}),
		},
		{
			"the inventory's instances only; a discovered port replaces a configured one",
			with(func(t *triage.Target) { t.Instances = []triage.Instance{{Name: "sales", Port: 50100}} }),
			&triage.InstanceFacts{Instances: []triage.InstanceView{def, sales}},
			with(func(t *triage.Target) { t.Instances = []triage.Instance{{Name: "sales", Port: 50177}} }),
		},
		{
			"an instance discovery has no port for keeps the configured one",
			with(func(t *triage.Target) { t.Instances = []triage.Instance{{Name: "SALES", Port: 50100}} }),
			&triage.InstanceFacts{Instances: []triage.InstanceView{{Name: "SALES", Pipe: `\\SQLHOST01\pipe\MSSQL$SALES\sql\query`}}},
			with(func(t *triage.Target) { t.Instances = []triage.Instance{{Name: "SALES", Port: 50100}} }),
		},
		{
			"listeners: the inventory's filled in, discovered ones added, short names qualified",
			with(func(t *triage.Target) { t.Listeners = []triage.Listener{{Name: "aglisten", Source: "inventory"}} }),
			&triage.InstanceFacts{Listeners: []triage.Listener{
				{Name: "aglisten", Port: 1433, Group: "AG1", Source: "sql", Replicas: []triage.Replica{{Server: "SQLHOST01"}, {Server: "SQLHOST02"}}},
				{Name: "reports", Port: 1500, Source: "sql"},
			}},
			with(func(t *triage.Target) {
				t.Listeners = []triage.Listener{
					{Name: "aglisten", FQDN: "aglisten.corp.example", Port: 1433, Group: "AG1", Source: "inventory",
						Replicas: []triage.Replica{{Server: "SQLHOST01"}, {Server: "SQLHOST02"}}},
					{Name: "reports", FQDN: "reports.corp.example", Port: 1500, Source: "sql"},
				}
			}),
		},
		{
			"a clustered instance's nodes, qualified in the target's domain, once each",
			base, &triage.InstanceFacts{Instances: []triage.InstanceView{{Name: "MSSQLSERVER", Clustered: yes(),
				Nodes: []string{"NODE1", "NODE2"}, PhysicalNode: "NODE1", Ports: claims(triage.PortClaim{Source: triage.PortListening, Port: 1433})}}},
			with(func(t *triage.Target) {
				t.Instances = []triage.Instance{{Port: 1433}}
				t.Nodes = []string{"node1.corp.example", "node2.corp.example"}
			}),
		},
		{
			"asked for by an alias: the canonical name is the FQDN, the alias an alias",
			triage.Target{Host: "salesdb", FQDN: "salesdb.corp.example"},
			&triage.InstanceFacts{Names: &triage.NameFacts{Asked: "salesdb.corp.example", Chain: []string{"sqlhost01.corp.example"}}},
			triage.Target{Host: "salesdb", FQDN: "sqlhost01.corp.example", Aliases: []string{"salesdb.corp.example"}},
		},
		{
			"a listener name that is not a host name gets no FQDN, hence no SPN; one with no name is dropped",
			base, &triage.InstanceFacts{Listeners: []triage.Listener{
				{Name: "bad name;x", Port: 1433, Source: "sql"},
				{Port: 1434, Source: "sql"},
				{Name: "aglisten", FQDN: "aglisten.corp.example", Port: 1500, Source: "sql"},
			}},
			with(func(t *triage.Target) {
				t.Listeners = []triage.Listener{
					{Name: "bad name;x", Port: 1433, Source: "sql"},
					{Name: "aglisten", FQDN: "aglisten.corp.example", Port: 1500, Source: "sql"},
				}
			}),
		},
		{
			"nodes that are not host names are left out; a qualified one is kept as it is",
			base, &triage.InstanceFacts{Instances: []triage.InstanceView{{Name: "MSSQLSERVER", Clustered: yes(),
				Nodes: []string{"NODE1", "bad node;x", "node2.corp.example", "-x"}, PhysicalNode: `NODE\1`}}},
			with(func(t *triage.Target) {
				t.Instances = []triage.Instance{{}}
				t.Nodes = []string{"node1.corp.example", "node2.corp.example"}
			}),
		},
		{
			"a canonical name that is not a host name is not taken",
			triage.Target{Host: "salesdb", FQDN: "salesdb.corp.example"},
			&triage.InstanceFacts{Names: &triage.NameFacts{Asked: "salesdb.corp.example", Chain: []string{"bad name;rm"}}},
			triage.Target{Host: "salesdb", FQDN: "salesdb.corp.example", Aliases: []string{"salesdb.corp.example"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := cloneTarget(tc.t)
			got := tc.t.Discovered(tc.facts)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Discovered (-want +got):\n%s", d)
			}
			if d := cmp.Diff(before, tc.t); d != "" {
				t.Errorf("Discovered changed its receiver (-before +after):\n%s", d)
			}
		})
	}
}

func cloneTarget(t triage.Target) triage.Target {
	t.Instances = append([]triage.Instance(nil), t.Instances...)
	t.Listeners = append([]triage.Listener(nil), t.Listeners...)
	t.Nodes = append([]string(nil), t.Nodes...)
	t.Aliases = append([]string(nil), t.Aliases...)
	return t
}

// TestInstanceViewPort: what the engine listens on wins, then the Browser, then what
// is configured.
func TestInstanceViewPort(t *testing.T) {
	for _, tc := range []struct {
		ports []triage.PortClaim
		want  int
		src   triage.PortSource
	}{
		{nil, 0, ""},
		{claims(triage.PortClaim{Source: triage.PortInventory, Port: 1433}), 1433, triage.PortInventory},
		{claims(triage.PortClaim{Source: triage.PortInventory, Port: 1433}, triage.PortClaim{Source: triage.PortRegistry, Port: 1500}), 1500, triage.PortRegistry},
		{claims(triage.PortClaim{Source: triage.PortRegistry, Port: 1500}, triage.PortClaim{Source: triage.PortBrowser, Port: 50177}), 50177, triage.PortBrowser},
		{claims(triage.PortClaim{Source: triage.PortBrowser, Port: 50177}, triage.PortClaim{Source: triage.PortListening, Port: 50200}), 50200, triage.PortListening},
		{claims(triage.PortClaim{Source: triage.PortRegistry, Dynamic: true}), 0, ""},
	} {
		v := triage.InstanceView{Name: "SALES", Ports: tc.ports}
		if got, src := v.Port(); got != tc.want || src != tc.src {
			t.Errorf("Port() of %+v = %d, %q; want %d, %q", tc.ports, got, src, tc.want, tc.src)
		}
	}
}
