package main

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/authtriage/authtriage/internal/browserfake"
	"github.com/authtriage/authtriage/internal/tdsfake"
	"github.com/authtriage/authtriage/internal/testdomain"
	"github.com/authtriage/authtriage/triage"
)

// instancesDeadline is the triage deadline of the instance scenarios' configuration:
// every check, discovery with a silent SQL Server Browser included, ends before it.
const instancesDeadline = 20 * time.Second

// TestIntegrationInstances runs `authtriage check HOST --config FILE --output json`
// against the test domain's instance scenarios (scripts/testdomain.sh), each host with
// a fake SQL Server Browser (UDP 1434) and fake SQL Servers on its own loopback
// address: a named instance on a dynamic port whose SPN names the old port, a
// listener without its SPN, a listener whose replicas run as two accounts, a cluster
// instance whose SPN is on a node, and a DNS alias resolved through the DC's DNS
// server. Each reports exactly its causes, each fix once, and no check runs past the
// deadline, the one whose Browser never answers included.
func TestIntegrationInstances(t *testing.T) {
	d := loadDomain(t)
	kt, err := keytab.Load(d.DomainKeytab)
	if err != nil {
		t.Fatal(err)
	}
	dyn := d.Instance(t, testdomain.InstanceDynamic)
	ag1 := d.Instance(t, testdomain.ListenerNoSPN)
	ag2 := d.Instance(t, testdomain.ListenerAccountsDiffer)
	fci := d.Instance(t, testdomain.ClusterInstance)
	alias := d.Instance(t, testdomain.Alias)
	account := func(sam string) string { return d.NetBIOS + `\` + sam }
	canonical, _, _ := strings.Cut(alias.Canonical, ".")

	tests := []struct {
		// scenario is the instance scenario; host the inventory host checked, whose
		// entry is entry (YAML under "- name: HOST").
		scenario testdomain.InstanceScenario
		host     string
		entry    string
		start    func(t *testing.T)
		// note is in the instances check's detail ("" for none).
		note string
	}{
		{
			// Only fqdn and the account: SQL Server Browser names the instance and
			// its port; the Kerberos login fails for the very SPN that is missing.
			scenario: dyn, host: dyn.Name,
			entry: fmt.Sprintf("    fqdn: %s\n    service_account: '%s'\n", dyn.FQDN, dyn.Account(d.NetBIOS)),
			start: func(t *testing.T) {
				startBrowser(t, dyn.Addr, browserfake.Instance{Server: strings.ToUpper(dyn.Name), Name: dyn.Instance, TCPPort: dyn.Port,
					Pipe: `\\` + strings.ToUpper(dyn.Name) + `\pipe\MSSQL$` + dyn.Instance + `\sql\query`})
				startInstanceSQL(t, d, kt, hostPort(dyn.Addr, dyn.Port), dyn.ServiceAccount, &tdsfake.Inspect{
					Properties: tdsfake.ServerProperties{MachineName: strings.ToUpper(dyn.Name), PhysicalNode: strings.ToUpper(dyn.Name),
						InstanceName: dyn.Instance, ServerName: strings.ToUpper(dyn.Name) + `\` + dyn.Instance},
					Listening: []tdsfake.ListenerState{{IP: "0.0.0.0", Port: dyn.Port, IPv4: true}},
					Registry: []tdsfake.RegistryValue{
						{Key: ipAll(dyn.Instance), Name: "TcpDynamicPorts", Value: strconv.Itoa(dyn.Port)},
						{Key: ipAll(dyn.Instance), Name: "TcpPort", Value: ""},
					},
					Services: []tdsfake.Service{{Name: "SQL Server (" + dyn.Instance + ")", Account: account(dyn.ServiceAccount)}},
				})
			},
		},
		{
			// Only fqdn: the replica's SQL Server names its listener and the
			// other replica, which is asked the account it runs as.
			scenario: ag1, host: ag1.Replicas[0].Name,
			entry: fmt.Sprintf("    fqdn: %s\n", ag1.Replicas[0].FQDN),
			start: func(t *testing.T) { startListener(t, d, kt, ag1, "AG1") },
		},
		{
			// The listener from the inventory; the replica's Browser never answers.
			scenario: ag2, host: ag2.Replicas[0].Name,
			entry: fmt.Sprintf("    fqdn: %s\n    service_account: '%s'\n    listeners: ['%s:%d']\n",
				ag2.Replicas[0].FQDN, ag2.Replicas[0].Account(d.NetBIOS), ag2.Name, ag2.Port),
			start: func(t *testing.T) { startListener(t, d, kt, ag2, "AG2") },
			note:  "SQL Server Browser on " + ag2.Replicas[0].FQDN + " (" + hostPort(ag2.Replicas[0].Addr, 1434) + ") did not answer",
		},
		{
			// The nodes from the inventory; the Browser says the instance is
			// clustered; the login fails (no SPN of the virtual name).
			scenario: fci, host: fci.Name,
			entry: fmt.Sprintf("    fqdn: %s\n    service_account: '%s'\n    nodes: [%s, %s]\n",
				fci.FQDN, fci.Account(d.NetBIOS), fci.Nodes[0].Name, fci.Nodes[1].Name),
			start: func(t *testing.T) {
				virtual := strings.ToUpper(fci.Name)
				startBrowser(t, fci.Addr, browserfake.Instance{Server: virtual, Name: "MSSQLSERVER", Clustered: true, TCPPort: fci.Port,
					Pipe: `\\` + virtual + `\pipe\sql\query`})
				startInstanceSQL(t, d, kt, hostPort(fci.Addr, fci.Port), fci.ServiceAccount, &tdsfake.Inspect{
					Properties: tdsfake.ServerProperties{Clustered: true, MachineName: virtual,
						PhysicalNode: strings.ToUpper(fci.Nodes[0].Name), ServerName: virtual},
					ClusterNodes: []string{strings.ToUpper(fci.Nodes[0].Name), strings.ToUpper(fci.Nodes[1].Name)},
					Services: []tdsfake.Service{{Name: "SQL Server (MSSQLSERVER)", Account: account(fci.ServiceAccount), Clustered: true,
						Node: strings.ToUpper(fci.Nodes[0].Name)}},
				})
			},
		},
		{
			// The canonical host, with the alias in its inventory.
			scenario: alias, host: canonical,
			entry: fmt.Sprintf("    fqdn: %s\n    service_account: '%s'\n    aliases: [%s]\n", alias.Canonical, alias.Account(d.NetBIOS), alias.FQDN),
			start: func(t *testing.T) { startAliasSQL(t, d, kt, alias) },
		},
	}
	for _, tt := range tests {
		s := tt.scenario
		t.Run(s.Name, func(t *testing.T) {
			tt.start(t)
			cfg := instancesConfig(t, d, tt.host, tt.entry)
			began := time.Now()
			rep := runJSON(t, "check", tt.host, "--config", cfg)
			if took := time.Since(began); took > instancesDeadline+5*time.Second {
				t.Errorf("the triage took %s; the deadline is %s", took, instancesDeadline)
			}
			for _, c := range rep.Checks {
				if c.Status == triage.CheckError {
					t.Errorf("check %s could not run: %s", c.Name, c.Detail)
				}
				if c.Duration > instancesDeadline {
					t.Errorf("check %s took %s, past the deadline %s", c.Name, c.Duration, instancesDeadline)
				}
			}
			c := checkNamed(t, rep, "instances")
			if tt.note != "" && !strings.Contains(c.Detail, tt.note) {
				t.Errorf("instances check: %s %q; want the note %q", c.Status, c.Detail, tt.note)
			}

			want := slices.Clone(s.Causes)
			if s.Kind == testdomain.KindNamedInstance && dynamicSeen(rep) {
				want = append(want, string(triage.InstanceDynamicPort)) // SQL Server said so after all
			}
			slices.Sort(want)
			if causes := problemCauses(rep, ""); !slices.Equal(causes, want) {
				t.Fatalf("%s (%s): causes = %v; want exactly %v\nfindings:\n%s\ninstances check: %s",
					s.Name, s.Scenario, causes, want, summaries(rep), c.Detail)
			}
			seen := map[string]triage.CauseID{}
			for _, f := range rep.Findings {
				for _, st := range f.Remediation {
					if st.Command == "" {
						continue
					}
					if other, ok := seen[st.Command]; ok {
						t.Errorf("%q is a fix of %s and of %s: each fix once", st.Command, other, f.Cause)
					}
					seen[st.Command] = f.Cause
				}
			}
			assertScenario(t, d, s, rep)
		})
	}
}

// assertScenario checks what the scenario's finding must name: the SPN to register
// or the account, and what discovery saw.
func assertScenario(t *testing.T, d testdomain.Domain, s testdomain.InstanceScenario, rep triage.Report) {
	t.Helper()
	fix := func(id triage.CauseID, command string) {
		t.Helper()
		if f := findCause(rep, id); f != nil {
			wantCommand(t, *f, command)
		}
	}
	switch s.Kind {
	case testdomain.KindNamedInstance:
		stale := fmt.Sprintf("MSSQLSvc/%s:%d", s.FQDN, s.OldPort)
		fix(triage.SPNStalePort, fmt.Sprintf("setspn -D %s %s", stale, s.Account(d.NetBIOS)))
		fix(triage.SPNStalePort, fmt.Sprintf("setspn -S MSSQLSvc/%s:%d %s", s.FQDN, s.Port, s.Account(d.NetBIOS)))
		if rep.Instances == nil || !slices.ContainsFunc(rep.Instances.Instances, func(v triage.InstanceView) bool {
			p, _ := v.Port()
			return strings.EqualFold(v.Name, s.Instance) && p == s.Port
		}) {
			t.Errorf("discovery did not find %s on port %d: %+v", s.Instance, s.Port, rep.Instances)
		}
	case testdomain.KindListener:
		var l *triage.Listener
		if rep.Instances != nil {
			for i := range rep.Instances.Listeners {
				if strings.EqualFold(rep.Instances.Listeners[i].FQDN, s.FQDN) {
					l = &rep.Instances.Listeners[i]
				}
			}
		}
		if l == nil || l.Port != s.Port {
			t.Fatalf("discovery did not find listener %s:%d: %+v", s.FQDN, s.Port, rep.Instances)
		}
		if !slices.Equal(l.Addresses, []string{s.Addr}) {
			t.Errorf("listener %s resolves to %v; want [%s]", s.FQDN, l.Addresses, s.Addr)
		}
		for _, m := range s.Replicas {
			i := slices.IndexFunc(l.Replicas, func(r triage.Replica) bool { return strings.EqualFold(r.Server, m.Name) })
			if i < 0 || !strings.EqualFold(l.Replicas[i].ServiceAccount, m.Account(d.NetBIOS)) {
				t.Errorf("replica %s of %s: %+v; want it running as %s", m.Name, s.Name, l.Replicas, m.Account(d.NetBIOS))
			}
		}
		fix(triage.ListenerSPNMissing, fmt.Sprintf("setspn -S MSSQLSvc/%s:%d %s", s.FQDN, s.Port, s.Account(d.NetBIOS)))
	case testdomain.KindCluster:
		f := findCause(rep, triage.ClusterSPNOnNode)
		node := fmt.Sprintf("MSSQLSvc/%s:%d", s.Nodes[0].FQDN, s.Port)
		if f == nil || !evidenceSays(*f, node) {
			t.Errorf("%s does not name %s: %+v", triage.ClusterSPNOnNode, node, f)
		}
	case testdomain.KindAlias:
		f := findCause(rep, triage.NameAlias)
		if spn := fmt.Sprintf("MSSQLSvc/%s:%d", s.FQDN, s.Port); f == nil || !evidenceSays(*f, spn) {
			t.Errorf("%s does not name %s: %+v", triage.NameAlias, spn, f)
		}
	}
}

// TestIntegrationInstancesAliasDNS: asked about the alias itself, discovery follows
// its CNAME through the DC's DNS server (dns_server), which alone knows it, to the
// canonical name and its address.
func TestIntegrationInstancesAliasDNS(t *testing.T) {
	d := loadDomain(t)
	kt, err := keytab.Load(d.DomainKeytab)
	if err != nil {
		t.Fatal(err)
	}
	s := d.Instance(t, testdomain.Alias)
	startAliasSQL(t, d, kt, s)
	cfg := instancesConfig(t, d, s.Name, fmt.Sprintf("    fqdn: %s\n    service_account: '%s'\n", s.FQDN, s.Account(d.NetBIOS)))
	rep := runJSON(t, "check", s.Name, "--config", cfg)
	n := rep.Instances
	if n == nil || n.Names == nil || !slices.Equal(n.Names.Chain, []string{s.Canonical}) || !slices.Equal(n.Names.Addresses, []string{s.Addr}) {
		t.Fatalf("names: %+v; want %s -> CNAME %s (%s), through the DC's DNS server", n, s.FQDN, s.Canonical, s.Addr)
	}
	if c := checkNamed(t, rep, "instances"); c.Status == triage.CheckError || !strings.Contains(c.Detail, s.FQDN+" -> CNAME "+s.Canonical) {
		t.Errorf("instances check: %s %q; want the CNAME chain", c.Status, c.Detail)
	}
	// The host is judged by its canonical name, as SQL Server registers its SPNs for
	// it: the alias's missing form is name.alias, not spn.missing, and the alias's
	// reverse lookup is no DNS fault.
	var causes []triage.CauseID
	for _, f := range rep.Findings {
		causes = append(causes, f.Cause)
	}
	if len(causes) == 0 || slices.ContainsFunc(causes, func(c triage.CauseID) bool { return c != triage.NameAlias }) {
		t.Errorf("asked by the alias, causes %v; want %s alone (one per SPN form):\n%s", causes, triage.NameAlias, summaries(rep))
	}
}

// startAliasSQL starts the fakes of the alias's canonical host: a Browser and a SQL
// Server on its address.
func startAliasSQL(t *testing.T, d testdomain.Domain, kt *keytab.Keytab, s testdomain.InstanceScenario) {
	t.Helper()
	short, _, _ := strings.Cut(s.Canonical, ".")
	upper := strings.ToUpper(short)
	startBrowser(t, s.Addr, browserfake.Instance{Server: upper, Name: "MSSQLSERVER", TCPPort: s.Port, Pipe: `\\` + upper + `\pipe\sql\query`})
	startInstanceSQL(t, d, kt, hostPort(s.Addr, s.Port), s.ServiceAccount, &tdsfake.Inspect{
		Properties: tdsfake.ServerProperties{MachineName: upper, PhysicalNode: upper, ServerName: upper},
	})
}

// summaries lists the report's findings, one line each: cause, severity, summary.
func summaries(rep triage.Report) string {
	var b strings.Builder
	for _, f := range rep.Findings {
		fmt.Fprintf(&b, "  %s/%s: %s\n", f.Cause, f.Severity, f.Summary)
	}
	return b.String()
}

// dynamicSeen reports whether some source told discovery an instance's port is
// dynamic.
func dynamicSeen(rep triage.Report) bool {
	return rep.Instances != nil && slices.ContainsFunc(rep.Instances.Instances, triage.InstanceView.Dynamic)
}

// startListener starts the fakes of a listener scenario: a fake SQL Server on each
// replica (each accepting tickets with its own account's keys, the first naming the
// availability group and its listener) and on the listener's address (the primary's),
// and a Browser on each replica; the first replica's Browser, in the accounts scenario,
// never answers (UDP 1434 blocked).
func startListener(t *testing.T, d testdomain.Domain, kt *keytab.Keytab, s testdomain.InstanceScenario, group string) {
	t.Helper()
	var names []string
	for _, r := range s.Replicas {
		names = append(names, strings.ToUpper(r.Name))
	}
	ag := []tdsfake.AGListener{{Group: group, DNSName: s.Name, Port: s.Port, IPs: []string{s.Addr}, Replicas: names}}
	for i, r := range s.Replicas {
		upper := strings.ToUpper(r.Name)
		if i == 0 && s.Name == testdomain.ListenerAccountsDiffer {
			browserfake.Start(t, browserfake.Config{Addr: hostPort(r.Addr, 1434), Silent: true})
		} else {
			startBrowser(t, r.Addr, browserfake.Instance{Server: upper, Name: "MSSQLSERVER", TCPPort: s.Port, Pipe: `\\` + upper + `\pipe\sql\query`})
		}
		startInstanceSQL(t, d, kt, hostPort(r.Addr, s.Port), r.ServiceAccount, &tdsfake.Inspect{
			Properties:  tdsfake.ServerProperties{MachineName: upper, PhysicalNode: upper, ServerName: upper},
			Listening:   []tdsfake.ListenerState{{IP: "0.0.0.0", Port: s.Port, IPv4: true}},
			Registry:    []tdsfake.RegistryValue{{Key: ipAll("MSSQLSERVER"), Name: "TcpPort", Value: strconv.Itoa(s.Port)}},
			Services:    []tdsfake.Service{{Name: "SQL Server (MSSQLSERVER)", Account: r.Account(d.NetBIOS)}},
			AGListeners: ag,
		})
	}
	primary := s.Replicas[0]
	startInstanceSQL(t, d, kt, hostPort(s.Addr, s.Port), primary.ServiceAccount, &tdsfake.Inspect{
		Properties:  tdsfake.ServerProperties{MachineName: strings.ToUpper(primary.Name), PhysicalNode: strings.ToUpper(primary.Name), ServerName: strings.ToUpper(primary.Name)},
		Services:    []tdsfake.Service{{Name: "SQL Server (MSSQLSERVER)", Account: primary.Account(d.NetBIOS)}},
		AGListeners: ag,
	})
}

// startBrowser starts a fake SQL Server Browser on addr's UDP port 1434.
func startBrowser(t *testing.T, addr string, instances ...browserfake.Instance) {
	t.Helper()
	browserfake.Start(t, browserfake.Config{Addr: hostPort(addr, 1434), Instances: instances})
}

// startInstanceSQL starts a fake SQL Server on addr that accepts tickets with the keys
// of account (the service account the instance runs as), answers service_account with
// it and the discovery queries with in.
func startInstanceSQL(t *testing.T, d testdomain.Domain, kt *keytab.Keytab, addr, account string, in *tdsfake.Inspect) *tdsfake.Server {
	t.Helper()
	return tdsfake.Start(t, tdsfake.Config{Addr: addr,
		Kerberos:       &tdsfake.Kerberos{Keytab: kt, Principal: account},
		ServiceAccount: d.NetBIOS + `\` + account,
		ServerName:     in.Properties.ServerName,
		Inspect:        in,
	})
}

// ipAll is the registry key of an instance's IPAll settings as sys.dm_server_registry
// shows it.
func ipAll(instance string) string {
	return `HKLM\Software\Microsoft\Microsoft SQL Server\MSSQL16.` + instance + `\MSSQLServer\SuperSocketNetLib\Tcp\IPAll`
}

func hostPort(addr string, port int) string { return net.JoinHostPort(addr, strconv.Itoa(port)) }

// instancesConfig writes a configuration of the test domain whose directory resolves
// names through the DC's DNS server, with one host, name, and its entry's other lines.
func instancesConfig(t *testing.T, d testdomain.Domain, name, entry string) string {
	t.Helper()
	dir := t.TempDir()
	pw := filepath.Join(dir, "bind_password")
	writeFile(t, pw, d.BindPassword+"\n")
	path := filepath.Join(dir, "authtriage.yaml")
	writeFile(t, path, fmt.Sprintf(`defaults:
  check_timeout: 10s
  deadline: %s
directory:
  urls: [%s]
  gc_urls: [%s]
  bind_dn: %s
  bind_password_file: %s
  ca_path: %s
  dns_server: %s
kerberos:
  realm: %s
  kdcs: [%s]
  krb5_conf: %s
  principal: %s
  keytab: %s
sql:
  encrypt: disable # the fake SQL Server speaks no TLS
  timeout: 5s
hosts:
  - name: %s
%s`, instancesDeadline, d.LDAPURL, d.GCURL, d.BindDN, pw, d.CAFile, d.DNSServer,
		d.Realm, d.KDC, d.Krb5Conf, d.Principal, d.Keytab, name, entry))
	return path
}
