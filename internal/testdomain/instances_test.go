package testdomain

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

func withInstances(env map[string]string) map[string]string {
	env[EnvDNSServer] = "127.0.0.1:53"
	env[EnvInstanceScenarios] = strings.Join(InstanceNames(), ",")
	for i, h := range instanceHosts {
		env[EnvAddrStart+strings.ToUpper(h)] = fmt.Sprintf("127.0.1.%d", 10+i)
	}
	for _, a := range []string{"svc_sqldyn", "svc_sqlag1", "svc_sqlag2a", "svc_sqlag2b", "svc_sqlfci"} {
		env[EnvPasswordStart+strings.ToUpper(a)] = "pw-" + a
	}
	return env
}

func TestFromEnvWithoutInstances(t *testing.T) {
	env := sampleEnv()
	d, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Instances) != 0 || d.DNSServer != "" {
		t.Errorf("Instances %v, DNSServer %q; want none from an older domain", d.Instances, d.DNSServer)
	}
}

func TestFromEnvInstances(t *testing.T) {
	env := withInstances(sampleEnv())
	env[EnvDCAddr] = "127.0.0.1"
	d, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if d.DNSServer != "127.0.0.1:53" || len(d.Instances) != len(InstanceNames()) {
		t.Fatalf("DNSServer %q, %d scenarios", d.DNSServer, len(d.Instances))
	}
	addrs := map[string]string{}
	for _, name := range InstanceNames() {
		s := d.Instances[name]
		if s.Name != name || s.FQDN != name+".corp.test" || len(s.Causes) == 0 || s.Addr == "" || s.Port == 0 || s.Scenario == "" {
			t.Errorf("%s: %+v", name, s)
		}
		if !slices.IsSorted(s.Causes) {
			t.Errorf("%s: causes %v not sorted", name, s.Causes)
		}
		for spn, holders := range s.SPNs {
			if !strings.HasPrefix(spn, "MSSQLSvc/") || len(holders) == 0 || slices.Contains(s.Missing, spn) {
				t.Errorf("%s: SPN %s held by %v, missing %v", name, spn, holders, s.Missing)
			}
		}
		for _, m := range append(s.Hosts(), s.Nodes...) {
			if prev, ok := addrs[m.Addr]; ok && prev != m.Name {
				t.Errorf("%s and %s share %s: their fakes would collide", prev, m.Name, m.Addr)
			}
			addrs[m.Addr] = m.Name
		}
		for _, a := range accountsOf(s) {
			if d.Passwords[a] != "pw-"+a {
				t.Errorf("%s: password of %s = %q", name, a, d.Passwords[a])
			}
		}
	}
	dyn := d.Instances[InstanceDynamic]
	if !dyn.Dynamic || dyn.OldPort == dyn.Port || dyn.Instance != "SALES" {
		t.Errorf("sqldyn: %+v", dyn)
	}
	ag2 := d.Instances[ListenerAccountsDiffer]
	if len(ag2.Replicas) != 2 || ag2.Replicas[0].ServiceAccount == ag2.Replicas[1].ServiceAccount {
		t.Errorf("aglisten2's replicas %+v; want two accounts", ag2.Replicas)
	}
	if a := d.Instances[Alias]; a.Canonical != "sqlok.corp.test" || a.Hosts() != nil || a.Addr != "127.0.0.1" {
		t.Errorf("alias: %+v", a)
	}
	if got := d.Instances[ClusterInstance].Account("CORP"); got != `CORP\svc_sqlfci` {
		t.Errorf("Account = %q", got)
	}
}

func TestFromEnvInstancesReportsEveryProblem(t *testing.T) {
	env := withInstances(sampleEnv())
	delete(env, EnvDNSServer)
	env[EnvAddrStart+"SQLDYN"] = "10.0.0.1"
	env[EnvInstanceScenarios] = "sqldyn"
	delete(env, EnvPasswordStart+"SVC_SQLFCI")
	_, err := FromEnv(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{EnvDNSServer + " is empty", EnvAddrStart + `SQLDYN="10.0.0.1" is not a loopback address`,
		EnvInstanceScenarios + " lacks aglisten1", EnvPasswordStart + "SVC_SQLFCI is empty"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestLiveInstances checks what the instance scenarios' end-to-end test builds on: the
// DC's DNS server follows the alias's CNAME to sqlok, every scenario host resolves to
// its own address (hosts file and DNS alike), and a fake can listen there on TCP 1433
// and UDP 1434.
func TestLiveInstances(t *testing.T) {
	d := Load(t)
	if len(d.Instances) == 0 {
		t.Fatalf("%s is not set: the domain was seeded by an older scripts/testdomain.sh", EnvInstanceScenarios)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	dc := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, network, d.DNSServer)
	}}
	alias := d.Instance(t, Alias)
	cname, err := dc.LookupCNAME(ctx, alias.FQDN)
	if err != nil || strings.TrimSuffix(cname, ".") != alias.Canonical {
		t.Errorf("LookupCNAME(%s) through %s = %q, %v; want %s", alias.FQDN, d.DNSServer, cname, err, alias.Canonical)
	}
	if addrs, err := dc.LookupHost(ctx, alias.FQDN); err != nil || !slices.Equal(addrs, []string{alias.Addr}) {
		t.Errorf("LookupHost(%s) = %v, %v; want [%s]", alias.FQDN, addrs, err, alias.Addr)
	}
	for _, name := range InstanceNames() {
		s := d.Instances[name]
		for _, m := range append(s.Hosts(), s.Nodes...) {
			for _, r := range []*net.Resolver{net.DefaultResolver, dc} {
				if addrs, err := r.LookupHost(ctx, m.FQDN); err != nil || !slices.Equal(addrs, []string{m.Addr}) {
					t.Errorf("LookupHost(%s) = %v, %v; want [%s]", m.FQDN, addrs, err, m.Addr)
				}
			}
			ln, err := net.Listen("tcp", net.JoinHostPort(m.Addr, "1433"))
			if err != nil {
				t.Errorf("%s: %v", m.Name, err)
				continue
			}
			ln.Close()
			pc, err := net.ListenPacket("udp", net.JoinHostPort(m.Addr, "1434"))
			if err != nil {
				t.Errorf("%s: %v", m.Name, err)
				continue
			}
			pc.Close()
		}
	}
}
