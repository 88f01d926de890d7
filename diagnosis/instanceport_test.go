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
	tests := []struct {
		name string
		obs  triage.Observations
		want []want
	}{
		{
			name: "the inventory says 1433, the Browser and the engine 50177",
			obs: triage.Observations{Directory: instDir(owned(salesTCP, instSvc), owned(salesPipes, instSvc)),
				Instances: &triage.InstanceFacts{Instances: []triage.InstanceView{view(
					claim(triage.PortInventory, 1433, false), claim(triage.PortBrowser, 50177, false), claim(triage.PortListening, 50177, false))}}},
			want: []want{{cause: triage.InstancePortMismatch, severity: triage.Warning,
				summary: []string{"the inventory 1433", "SQL Server Browser 50177", "sys.dm_tcp_listener_states 50177",
					"clients reach it on 50177 now", "authtriage checked the SPNs for that port (" + salesTCP + ")"},
				evidence: 3}},
		},
		{
			name: "the registry sets 1500, the engine still listens on 50177: restart pending",
			obs: triage.Observations{Instances: &triage.InstanceFacts{Instances: []triage.InstanceView{view(
				claim(triage.PortRegistry, 1500, false), claim(triage.PortBrowser, 1500, false), claim(triage.PortListening, 50177, false))}}},
			want: []want{{cause: triage.InstancePortMismatch, severity: triage.Warning,
				summary:  []string{"clients reach it on 50177 now", "were not checked", "The configuration sets 1500: a restart is pending"},
				commands: []string{`setspn -S MSSQLSvc/sqlhost01.corp.example:1500 CORP\svc_sql01`}, evidence: 3}},
		},
		{
			name: "all agree: nothing",
			obs: triage.Observations{Instances: &triage.InstanceFacts{Instances: []triage.InstanceView{view(
				claim(triage.PortInventory, 50177, false), claim(triage.PortListening, 50177, false))}}},
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
			}
		})
	}
	// With nothing pending there is no SPN to register for a port to come.
	got := portMismatchRule{}.Apply(salesTarget, tests[0].obs)
	if len(got) != 1 || slices.ContainsFunc(got[0].Remediation, func(s triage.Step) bool { return s.Command != "" }) {
		t.Errorf("nothing pending, yet a command: %+v", got)
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
