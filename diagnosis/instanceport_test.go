package diagnosis

import (
	"slices"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

// The instances' fixtures: a named instance SALES of sqlhost01 on port 50177, run by
// CORP\svc_sql01.
const (
	salesTCP   = "MSSQLSvc/sqlhost01.corp.example:50177"
	salesPipes = "MSSQLSvc/sqlhost01.corp.example:SALES"
)

var (
	instSvc = triage.Account{DN: "CN=svc_sql01,CN=Users,DC=corp,DC=example", SID: "S-1-5-21-1-2-3-1105", SAMAccountName: "svc_sql01",
		Domain: "corp.example", NetBIOSDomain: "CORP", Class: "user", UAC: triage.UACNormalAccount | triage.UACDontExpirePassword,
		EncTypes: triage.EtypeAESAll, KVNO: 5}
	instOld = triage.Account{DN: "CN=svc_old,CN=Users,DC=corp,DC=example", SID: "S-1-5-21-1-2-3-1190", SAMAccountName: "svc_old",
		Domain: "corp.example", NetBIOSDomain: "CORP", Class: "user", UAC: triage.UACNormalAccount, EncTypes: triage.EtypeAESAll}
	salesTarget = triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example",
		Instances: []triage.Instance{{Name: "SALES", Port: 50177}}, ServiceAccount: `CORP\svc_sql01`}
)

// owned returns spn with owners.
func owned(spn string, owners ...triage.Account) triage.SPNOwners {
	return triage.SPNOwners{SPN: spn, Owners: owners}
}

// instDir returns the directory's facts for the required SPNs spns, the service
// account read.
func instDir(spns ...triage.SPNOwners) *triage.DirectoryFacts {
	d := &triage.DirectoryFacts{ReadAt: t0, NetBIOS: "CORP", ServiceAccount: &instSvc, SPNs: spns}
	for _, so := range spns {
		d.RequiredSPNs = append(d.RequiredSPNs, so.SPN)
	}
	return d
}

// view returns the instance SALES with claims.
func view(claims ...triage.PortClaim) triage.InstanceView {
	return triage.InstanceView{Name: "SALES", Ports: claims}
}

func claim(src triage.PortSource, port int, dynamic bool) triage.PortClaim {
	return triage.PortClaim{Source: src, Port: port, Dynamic: dynamic}
}

// applyRule runs r alone, its findings by severity.
func applyRule(r triage.Rule, tg triage.Target, obs triage.Observations) []triage.Finding {
	got := r.Apply(tg, obs)
	slices.SortStableFunc(got, func(a, b triage.Finding) int { return int(b.Severity) - int(a.Severity) })
	return got
}

func TestDynamicPortRule(t *testing.T) {
	registered := logEv(triage.Msg26059, "", -1, 1)
	registered.SPN = salesTCP
	failed := logEv(triage.Msg26067, "0x2098", 15, 1)
	failed.SPN = salesTCP
	dyn := view(claim(triage.PortRegistry, 50177, true), claim(triage.PortListening, 50177, false))
	tests := []struct {
		name string
		obs  triage.Observations
		want []want
	}{
		{
			name: "dynamic, SQL Server could not register its SPN",
			obs: triage.Observations{Logs: []triage.LogEvent{failed}, Directory: instDir(owned(salesTCP, instSvc)),
				Instances: &triage.InstanceFacts{Instances: []triage.InstanceView{dyn}}},
			want: []want{{cause: triage.InstanceDynamicPort, severity: triage.Warning,
				summary:  []string{"SALES listens on a dynamic port (50177 now)", "could not register its own SPN", "26067"},
				commands: []string{`setspn -S MSSQLSvc/sqlhost01.corp.example:50177 CORP\svc_sql01`}, evidence: 3}},
		},
		{
			name: "dynamic, SQL Server registered the SPN itself: info",
			obs: triage.Observations{Logs: []triage.LogEvent{registered},
				Instances: &triage.InstanceFacts{Instances: []triage.InstanceView{dyn}}},
			want: []want{{cause: triage.InstanceDynamicPort, severity: triage.Info,
				summary: []string{"registered " + salesTCP + " itself at start-up (26059)"}, evidence: 3}},
		},
		{
			name: "dynamic, the log says neither",
			obs:  triage.Observations{Instances: &triage.InstanceFacts{Instances: []triage.InstanceView{dyn}}},
			want: []want{{cause: triage.InstanceDynamicPort, severity: triage.Warning,
				summary: []string{"neither that SQL Server registered its SPN (26059) nor that it could not (26037, 26067)"}, evidence: 2}},
		},
		{
			name: "static port: nothing",
			obs:  triage.Observations{Instances: &triage.InstanceFacts{Instances: []triage.InstanceView{view(claim(triage.PortRegistry, 1500, false), claim(triage.PortListening, 1500, false))}}},
		},
		{name: "no discovery: nothing", obs: triage.Observations{Logs: []triage.LogEvent{failed}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFindings(t, applyRule(dynamicPortRule{}, salesTarget, tt.obs), tt.want)
		})
	}
}

func TestPortMismatchRule(t *testing.T) {
	facts := func(claims ...triage.PortClaim) *triage.InstanceFacts {
		return &triage.InstanceFacts{Instances: []triage.InstanceView{view(claims...)}}
	}
	tests := []struct {
		name string
		obs  triage.Observations
		want []want
		// pending: the summary says a restart is pending (and a setspn -S step is
		// given for each pending port).
		pending bool
	}{
		{
			name: "the inventory says 1433, the Browser and the engine 50177",
			obs: triage.Observations{Directory: instDir(owned(salesTCP, instSvc), owned(salesPipes, instSvc)),
				Instances: facts(claim(triage.PortInventory, 1433, false), claim(triage.PortBrowser, 50177, false), claim(triage.PortListening, 50177, false))},
			want: []want{{cause: triage.InstancePortMismatch, severity: triage.Warning,
				summary: []string{"the inventory gives 1433, which is not among the ports the engine listens on (50177)",
					"Clients reach it on 50177 now", "authtriage checked the SPNs for that port (" + salesTCP + ")"},
				evidence: 3}},
		},
		{
			name: "the registry sets 1500, the engine still listens on 50177: restart pending",
			obs:  triage.Observations{Instances: facts(claim(triage.PortRegistry, 1500, false), claim(triage.PortBrowser, 1500, false), claim(triage.PortListening, 50177, false))},
			want: []want{{cause: triage.InstancePortMismatch, severity: triage.Warning,
				summary: []string{"names 1500, which the engine does not listen on", "the engine listens on 50177, which the registry",
					"SQL Server Browser reports 1500, which the engine does not listen on", "Clients reach it on 50177 now", "were not checked",
					"The configuration sets 1500, which the engine does not listen on: a restart is pending"},
				commands: []string{`setspn -S MSSQLSvc/sqlhost01.corp.example:1500 CORP\svc_sql01`}, evidence: 3}},
			pending: true,
		},
		{
			name: "TcpPort lists three ports, and the engine listens on all three: nothing",
			obs: triage.Observations{Instances: facts(claim(triage.PortRegistry, 1433, false), claim(triage.PortRegistry, 1500, false), claim(triage.PortRegistry, 1501, false),
				claim(triage.PortBrowser, 1433, false),
				claim(triage.PortListening, 1433, false), claim(triage.PortListening, 1500, false), claim(triage.PortListening, 1501, false),
				claim(triage.PortInventory, 1500, false))},
		},
		{
			name: "TcpPort and TcpDynamicPorts both set, the engine listens on both: nothing",
			obs: triage.Observations{Instances: facts(claim(triage.PortServerRegistry, 1433, false), claim(triage.PortServerRegistry, 50177, true),
				claim(triage.PortListening, 1433, false), claim(triage.PortListening, 50177, false), claim(triage.PortInventory, 50177, false))},
		},
		{
			name: "the engine listens on the configured port and on one no configuration names: no restart pending",
			obs:  triage.Observations{Instances: facts(claim(triage.PortRegistry, 1433, false), claim(triage.PortListening, 1433, false), claim(triage.PortListening, 50177, false))},
			want: []want{{cause: triage.InstancePortMismatch, severity: triage.Warning,
				summary: []string{"the engine listens on 50177, which the registry (SuperSocketNetLib\\Tcp\\IPAll) does not name"}, evidence: 3}},
		},
		{
			name: "a dynamic port not yet assigned (TcpDynamicPorts 0): listening ports need not be named",
			obs: triage.Observations{Instances: facts(claim(triage.PortRegistry, 1433, false), claim(triage.PortRegistry, 0, true),
				claim(triage.PortListening, 1433, false), claim(triage.PortListening, 50177, false))},
		},
		{
			name: "a dynamic port in the registry the engine does not listen on: a disagreement, not a restart pending",
			obs:  triage.Observations{Instances: facts(claim(triage.PortRegistry, 50100, true), claim(triage.PortListening, 50177, false))},
			want: []want{{cause: triage.InstancePortMismatch, severity: triage.Warning,
				summary: []string{"names 50100, which the engine does not listen on"}, evidence: 2}},
		},
		{
			name: "no listener states: the inventory against the Browser",
			obs:  triage.Observations{Instances: facts(claim(triage.PortInventory, 1433, false), claim(triage.PortBrowser, 50177, false))},
			want: []want{{cause: triage.InstancePortMismatch, severity: triage.Warning,
				summary: []string{"the inventory gives 1433, which is not among the port SQL Server Browser reports (50177)"}, evidence: 2}},
		},
		{
			name: "neither listener states nor Browser: the inventory against the configuration",
			obs:  triage.Observations{Instances: facts(claim(triage.PortInventory, 1433, false), claim(triage.PortMssqlConf, 1500, false))},
			want: []want{{cause: triage.InstancePortMismatch, severity: triage.Warning,
				summary: []string{"the inventory gives 1433, which is not among the configured ports (1500)"}, evidence: 2}},
		},
		{
			name: "all agree: nothing",
			obs:  triage.Observations{Instances: facts(claim(triage.PortInventory, 50177, false), claim(triage.PortListening, 50177, false))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := applyRule(portMismatchRule{}, salesTarget, tt.obs)
			checkFindings(t, got, tt.want)
			for _, f := range got {
				for _, e := range f.Evidence {
					if e.Check != instancesCheck {
						t.Errorf("evidence %q names check %q; want %q", e.Text, e.Check, instancesCheck)
					}
				}
				if said := strings.Contains(f.Summary, "restart is pending"); said != tt.pending {
					t.Errorf("summary %q: says a restart is pending %v; want %v", f.Summary, said, tt.pending)
				}
				// With nothing pending there is no SPN to register for a port to come.
				if cmd := slices.ContainsFunc(f.Remediation, func(s triage.Step) bool { return s.Command != "" }); cmd != tt.pending {
					t.Errorf("a command %v; want %v: %+v", cmd, tt.pending, f.Remediation)
				}
			}
		})
	}
}

// TestDynamicPortLeavesRegistration: when the SPN of the port a dynamic instance listens
// on now is missing, the finding that reports it missing registers it, and
// instance.dynamic_port points there instead of repeating the command.
func TestDynamicPortLeavesRegistration(t *testing.T) {
	const old = "MSSQLSvc/sqlhost01.corp.example:49833"
	dyn := &triage.InstanceFacts{Instances: []triage.InstanceView{view(claim(triage.PortRegistry, 50177, true), claim(triage.PortListening, 50177, false))}}
	stale := instDir(owned(salesTCP), owned(salesPipes, instSvc))
	stale.HostSPNs = []triage.SPNOwners{owned(old, instSvc)}
	tests := []struct {
		name string
		obs  triage.Observations
		by   triage.CauseID // the finding that registers salesTCP; "" when it is registered
	}{
		{name: "the SPN is missing, an old port's is registered: spn.stale_port registers it", obs: triage.Observations{Directory: stale, Instances: dyn}, by: triage.SPNStalePort},
		{name: "the SPN is missing: spn.missing registers it", obs: triage.Observations{Directory: instDir(owned(salesTCP), owned(salesPipes, instSvc)), Instances: dyn}, by: triage.SPNMissing},
		{name: "the SPN is registered: instance.dynamic_port keeps its step", obs: triage.Observations{Directory: instDir(owned(salesTCP, instSvc), owned(salesPipes, instSvc)), Instances: dyn}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			registers := map[triage.CauseID]int{}
			var dynamic *triage.Finding
			got := applyRule(multiRule(Rules()), salesTarget, tt.obs)
			for i, f := range got {
				for _, s := range f.Remediation {
					if strings.HasPrefix(s.Command, "setspn -S "+salesTCP+" ") {
						registers[f.Cause]++
					}
				}
				if f.Cause == triage.InstanceDynamicPort {
					dynamic = &got[i]
				}
			}
			if dynamic == nil {
				t.Fatalf("no instance.dynamic_port among %d findings", len(got))
			}
			if tt.by == "" {
				if registers[triage.InstanceDynamicPort] != 1 {
					t.Errorf("instance.dynamic_port registers %s %d times; want 1", salesTCP, registers[triage.InstanceDynamicPort])
				}
				return
			}
			if len(registers) != 1 || registers[tt.by] != 1 {
				t.Errorf("registered by %v; want by %s alone, once", registers, tt.by)
			}
			if !slices.ContainsFunc(dynamic.Remediation, func(s triage.Step) bool {
				return strings.Contains(s.Text, "the "+string(tt.by)+" finding registers it")
			}) {
				t.Errorf("instance.dynamic_port does not point to %s: %+v", tt.by, dynamic.Remediation)
			}
		})
	}
}

// TestInstanceNamesAreEvidenceOnly: a hostile instance name from the Browser is text in
// the evidence and the summary, never part of a command.
func TestInstanceNamesAreEvidenceOnly(t *testing.T) {
	for _, h := range hostile {
		v := triage.InstanceView{Name: h, Ports: []triage.PortClaim{claim(triage.PortBrowser, 50177, true), claim(triage.PortInventory, 1433, false)}}
		obs := triage.Observations{Instances: &triage.InstanceFacts{Instances: []triage.InstanceView{v}}}
		for _, r := range []triage.Rule{dynamicPortRule{}, portMismatchRule{}} {
			for _, f := range r.Apply(salesTarget, obs) {
				for _, s := range f.Remediation {
					if s.Command != "" && strings.Contains(s.Command, h) {
						t.Errorf("%s: command %q carries the instance name %q", f.Cause, s.Command, h)
					}
				}
			}
		}
	}
}
