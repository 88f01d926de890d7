package diagnosis

import (
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

func TestClusterRule(t *testing.T) {
	const (
		vTCP   = "MSSQLSvc/sqlfci01.corp.example:1433"
		vPipes = "MSSQLSvc/sqlfci01.corp.example"
		nTCP   = "MSSQLSvc/node1.corp.example:1433"
		n2TCP  = "MSSQLSvc/node2.corp.example:1433"
	)
	fci := triage.Target{Host: "sqlfci01", FQDN: "sqlfci01.corp.example", Instances: []triage.Instance{{Port: 1433}},
		ServiceAccount: `CORP\svc_sql01`, Nodes: []string{"node1.corp.example", "node2.corp.example"}}
	node1 := triage.Account{DN: "CN=NODE1,OU=Servers,DC=corp,DC=example", SID: "S-1-5-21-1-2-3-2001", SAMAccountName: "NODE1$",
		Domain: "corp.example", NetBIOSDomain: "CORP", Class: "computer", DNSHostName: "node1.corp.example", EncTypes: triage.EtypeAESAll}
	node2 := node1
	node2.DN, node2.SID, node2.SAMAccountName, node2.DNSHostName = "CN=NODE2,OU=Servers,DC=corp,DC=example", "S-1-5-21-1-2-3-2002", "NODE2$", "node2.corp.example"
	yes := true
	sqlView := &triage.InstanceFacts{Instances: []triage.InstanceView{{Name: "MSSQLSERVER", Clustered: &yes,
		MachineName: "SQLFCI01", PhysicalNode: "NODE1", ServerName: "SQLFCI01"}}}
	probe := func(owners ...triage.Account) triage.SPNProbe {
		return triage.SPNProbe{SPNOwners: owned(nTCP, owners...), Kind: triage.ProbeNode, For: "node1.corp.example"}
	}
	tests := []struct {
		name   string
		target triage.Target
		obs    triage.Observations
		want   []want
	}{
		{
			name:   "the SPN is built on the node's name: one finding, no spn.missing",
			target: fci,
			obs: triage.Observations{Instances: sqlView, Directory: func() *triage.DirectoryFacts {
				d := instDir(owned(vTCP), owned(vPipes, instSvc))
				d.Probes = []triage.SPNProbe{probe(instSvc)}
				return d
			}()},
			want: []want{{cause: triage.ClusterSPNOnNode, severity: triage.Critical,
				summary:  []string{vTCP + " is registered on no account", nTCP, "node1.corp.example", "virtual network name sqlfci01.corp.example", "does not describe SPNs on node names"},
				commands: []string{`setspn -D MSSQLSvc/node1.corp.example:1433 CORP\svc_sql01`, `setspn -S MSSQLSvc/sqlfci01.corp.example:1433 CORP\svc_sql01`},
				evidence: 3}},
		},
		{
			name:   "the virtual name's SPN is on a node's computer account: one finding, no spn.wrong_account",
			target: fci,
			obs:    triage.Observations{Directory: instDir(owned(vTCP, node1), owned(vPipes, instSvc))},
			want: []want{{cause: triage.ClusterSPNOnNode, severity: triage.Critical,
				summary: []string{vTCP + ", the SPN of the virtual network name sqlfci01.corp.example, is registered on CORP\\NODE1$",
					"fails on every node unless the instance runs as that node's computer account"},
				commands: []string{`setspn -D MSSQLSvc/sqlfci01.corp.example:1433 CORP\NODE1$`, `setspn -S MSSQLSvc/sqlfci01.corp.example:1433 CORP\svc_sql01`},
				evidence: 1}},
		},
		{
			name:   "clustered by SQL Server's word alone; the virtual SPN is right, a node's is superfluous",
			target: triage.Target{Host: "sqlfci01", FQDN: "sqlfci01.corp.example", Instances: []triage.Instance{{Port: 1433}}, ServiceAccount: `CORP\svc_sql01`},
			obs: triage.Observations{Instances: sqlView, Directory: func() *triage.DirectoryFacts {
				d := instDir(owned(vTCP, instSvc), owned(vPipes, instSvc))
				d.Probes = []triage.SPNProbe{probe(node1)}
				return d
			}()},
			want: []want{{cause: triage.ClusterSPNOnNode, severity: triage.Warning,
				summary:  []string{"The SPNs built on the nodes' names are registered: " + nTCP + " (on CORP\\NODE1$)", "not needed"},
				commands: []string{`setspn -D MSSQLSvc/node1.corp.example:1433 CORP\NODE1$`},
				evidence: 2}},
		},
		{
			name:   "both nodes' SPNs are registered, the virtual name's on none: one finding, every node SPN removed",
			target: fci,
			obs: triage.Observations{Instances: sqlView, Directory: func() *triage.DirectoryFacts {
				d := instDir(owned(vTCP), owned(vPipes, instSvc))
				d.Probes = []triage.SPNProbe{probe(instSvc),
					{SPNOwners: owned(n2TCP, node2), Kind: triage.ProbeNode, For: "node2.corp.example"}}
				return d
			}()},
			want: []want{{cause: triage.ClusterSPNOnNode, severity: triage.Critical,
				summary: []string{vTCP + " is registered on no account", nTCP + " (on CORP\\svc_sql01)", n2TCP + " (on CORP\\NODE2$)"},
				commands: []string{`setspn -D MSSQLSvc/node1.corp.example:1433 CORP\svc_sql01`, `setspn -D MSSQLSvc/node2.corp.example:1433 CORP\NODE2$`,
					`setspn -S MSSQLSvc/sqlfci01.corp.example:1433 CORP\svc_sql01`},
				evidence: 4}},
		},
		{
			name:   "the virtual name's SPN on a node's account and a node's SPN registered too: one finding",
			target: fci,
			obs: triage.Observations{Directory: func() *triage.DirectoryFacts {
				d := instDir(owned(vTCP, node1), owned(vPipes, instSvc))
				d.Probes = []triage.SPNProbe{{SPNOwners: owned(n2TCP, node2), Kind: triage.ProbeNode, For: "node2.corp.example"}}
				return d
			}()},
			want: []want{{cause: triage.ClusterSPNOnNode, severity: triage.Critical,
				summary: []string{"fails on every node unless", "registered too, and not needed: " + n2TCP},
				commands: []string{`setspn -D MSSQLSvc/sqlfci01.corp.example:1433 CORP\NODE1$`, `setspn -D MSSQLSvc/node2.corp.example:1433 CORP\NODE2$`,
					`setspn -S MSSQLSvc/sqlfci01.corp.example:1433 CORP\svc_sql01`},
				evidence: 2}},
		},
		{
			name:   "not clustered: nothing",
			target: triage.Target{Host: "sqlfci01", FQDN: "sqlfci01.corp.example", Instances: []triage.Instance{{Port: 1433}}, ServiceAccount: `CORP\svc_sql01`},
			obs: triage.Observations{Directory: func() *triage.DirectoryFacts {
				d := instDir(owned(vTCP, instSvc), owned(vPipes, instSvc))
				d.Probes = []triage.SPNProbe{probe(node1)}
				return d
			}()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := applyRule(multiRule(Rules()), tt.target, tt.obs)
			checkFindings(t, got, tt.want)
			for _, f := range got {
				if f.Cause == triage.ClusterSPNOnNode && strings.Contains(f.Summary, "<") {
					t.Errorf("summary with a placeholder: %q", f.Summary)
				}
			}
		})
	}
}

// TestClusterHostileNames: a node's SPN and its owner from the directory are checked
// and quoted, or the step says why it has no command.
func TestClusterHostileNames(t *testing.T) {
	fci := triage.Target{Host: "sqlfci01", FQDN: "sqlfci01.corp.example", Instances: []triage.Instance{{Port: 1433}},
		ServiceAccount: `CORP\svc_sql01`, Nodes: []string{"node1.corp.example"}}
	for _, h := range hostile {
		owner := instOld
		owner.SAMAccountName = h
		d := instDir(owned("MSSQLSvc/sqlfci01.corp.example:1433"), owned("MSSQLSvc/sqlfci01.corp.example", instSvc))
		d.Probes = []triage.SPNProbe{{SPNOwners: owned("MSSQLSvc/node1.corp.example:1433"+h, owner), Kind: triage.ProbeNode, For: "node1.corp.example"}}
		fs := clusterRule{}.Apply(fci, triage.Observations{Directory: d})
		if len(fs) != 1 {
			t.Fatalf("%q: %d findings", h, len(fs))
		}
		for _, s := range fs[0].Remediation {
			if s.Command == "" {
				if s.Omitted == "" {
					t.Errorf("%q: step without a command or a reason: %+v", h, s)
				}
				continue
			}
			if words := readBack(t, s); len(words) != 4 || words[0] != "setspn" {
				t.Errorf("%q: %q reads back as %q", h, s.Command, words)
			}
		}
	}
}
