package checks

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/triage"
)

// probeDir is a directory whose SPNs are keyed in lower case, as AD compares them. It
// fails the lookup of failSPN, records every SPN looked up, and does not answer
// FindHostSPNs: hostProbeDir adds that.
type probeDir struct {
	spns    map[string][]triage.Account
	failSPN string

	mu     sync.Mutex
	looked []string
}

func (d *probeDir) FindSPN(_ context.Context, spn string) (triage.SPNOwners, error) {
	d.mu.Lock()
	d.looked = append(d.looked, spn)
	d.mu.Unlock()
	if strings.EqualFold(spn, d.failSPN) {
		return triage.SPNOwners{}, errors.New("ldaps://gc1:3269: connection reset")
	}
	return triage.SPNOwners{SPN: spn, Owners: d.spns[strings.ToLower(spn)]}, nil
}

// hostProbeDir answers FindHostSPNs with host (nil: none), or fails it.
type hostProbeDir struct {
	*probeDir
	host    []triage.SPNOwners
	hostErr error
	asked   []string
}

func (d *hostProbeDir) FindHostSPNs(_ context.Context, fqdn string) ([]triage.SPNOwners, error) {
	d.asked = append(d.asked, fqdn)
	if d.hostErr != nil {
		return nil, d.hostErr
	}
	return d.host, nil
}

// probeLines renders probes for comparison: "kind for: SPN: owners".
func probeLines(ps []triage.SPNProbe) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%s %s: %s", p.Kind, p.For, p.SPN)+": "+owners(p.SPNOwners))
	}
	return out
}

func TestSPNProbes(t *testing.T) {
	svc := triage.Account{DN: "CN=svc_sql,DC=corp,DC=test", SID: "S-1-5-21-9-1", SAMAccountName: "svc_sql", NetBIOSDomain: "CORP"}
	old := triage.Account{DN: "CN=svc_old,DC=corp,DC=test", SID: "S-1-5-21-9-2", SAMAccountName: "svc_old", NetBIOSDomain: "CORP"}
	node1 := triage.Account{DN: "CN=SQLFCIN1,DC=corp,DC=test", SID: "S-1-5-21-9-3", SAMAccountName: "SQLFCIN1$", NetBIOSDomain: "CORP"}
	spns := map[string][]triage.Account{
		"mssqlsvc/sqlfci.corp.test:1433":   {svc},
		"mssqlsvc/sqlfci.corp.test":        {svc},
		"mssqlsvc/sqlfcin1.corp.test:1433": {node1},
		"mssqlsvc/sqlalias.corp.test:1433": {svc},
	}
	base := triage.Target{
		Host: "sqlfci", FQDN: "sqlfci.corp.test", Instances: []triage.Instance{{Port: 1433}},
		Listeners: []triage.Listener{{Name: "aglisten", FQDN: "aglisten.corp.test", Port: 1433}},
		Nodes:     []string{"sqlfcin1.corp.test", "sqlfcin2.corp.test"},
		Aliases:   []string{"sqlalias.corp.test"},
	}
	with := func(edit func(*triage.Target)) triage.Target {
		t := base
		edit(&t)
		return t
	}
	manyNodes := with(func(t *triage.Target) {
		t.Listeners, t.Aliases, t.Nodes = nil, nil, nil
		for i := range 40 {
			t.Nodes = append(t.Nodes, fmt.Sprintf("node%02d.corp.test", i))
		}
	})
	allProbes := []string{
		"listener aglisten.corp.test: MSSQLSvc/aglisten.corp.test:1433: no owner",
		`node sqlfcin1.corp.test: MSSQLSvc/sqlfcin1.corp.test:1433: CORP\SQLFCIN1$`,
		"node sqlfcin1.corp.test: MSSQLSvc/sqlfcin1.corp.test: no owner",
		"node sqlfcin2.corp.test: MSSQLSvc/sqlfcin2.corp.test:1433: no owner",
		"node sqlfcin2.corp.test: MSSQLSvc/sqlfcin2.corp.test: no owner",
		`alias sqlalias.corp.test: MSSQLSvc/sqlalias.corp.test:1433: CORP\svc_sql`,
		"alias sqlalias.corp.test: MSSQLSvc/sqlalias.corp.test: no owner",
	}
	hostSPNs := []triage.SPNOwners{
		{SPN: "MSSQLSvc/sqlfci.corp.test", Owners: []triage.Account{svc}},
		{SPN: "MSSQLSvc/SQLFCI.corp.test:1433", Owners: []triage.Account{svc}},
		{SPN: "MSSQLSvc/sqlfci.corp.test:50123", Owners: []triage.Account{old}},
	}

	tests := []struct {
		name       string
		target     triage.Target
		hostSPNs   []triage.SPNOwners // nil: the directory has no FindHostSPNs
		failSPN    string
		hostErr    error
		wantProbes []string
		wantHost   []string // nil: HostSPNs nil
		wantDetail []string // substrings
		wantErr    string   // "" : no error
	}{
		{
			name: "listener, nodes and alias", target: base, wantProbes: allProbes,
			wantDetail: []string{
				`MSSQLSvc/sqlfci.corp.test:1433: CORP\svc_sql; MSSQLSvc/sqlfci.corp.test: CORP\svc_sql; listener aglisten.corp.test: MSSQLSvc/aglisten.corp.test:1433: no owner; node sqlfcin1.corp.test: MSSQLSvc/sqlfcin1.corp.test:1433: CORP\SQLFCIN1$`,
			},
		},
		{
			name: "host SPNs looked up when the directory can", target: base, hostSPNs: hostSPNs, wantProbes: allProbes,
			wantHost: []string{
				`MSSQLSvc/sqlfci.corp.test: CORP\svc_sql`,
				`MSSQLSvc/SQLFCI.corp.test:1433: CORP\svc_sql`,
				`MSSQLSvc/sqlfci.corp.test:50123: CORP\svc_old`,
			},
			wantDetail: []string{`other MSSQLSvc SPNs of sqlfci.corp.test: MSSQLSvc/sqlfci.corp.test:50123 (CORP\svc_old)`},
		},
		{
			name:   "no host SPN is an empty list, not nil",
			target: with(func(t *triage.Target) { t.Listeners, t.Nodes, t.Aliases = nil, nil, nil }), hostSPNs: []triage.SPNOwners{},
			wantProbes: []string{}, wantHost: []string{},
			wantDetail: []string{"no other MSSQLSvc SPN of sqlfci.corp.test is registered"},
		},
		{
			name: "each SPN once, never a required one",
			target: with(func(t *triage.Target) {
				t.Listeners = append(t.Listeners, triage.Listener{Name: "AGLISTEN.corp.test", FQDN: "AGLISTEN.corp.test", Port: 1433})
				t.Nodes = []string{"sqlfcin1.corp.test", "SQLFCIN1.corp.test", "SQLFCI.corp.test"}
				t.Aliases = []string{"sqlfci.corp.test.", "sqlfcin1.corp.test", "sqlalias.corp.test."}
			}),
			wantProbes: []string{
				"listener aglisten.corp.test: MSSQLSvc/aglisten.corp.test:1433: no owner",
				`node sqlfcin1.corp.test: MSSQLSvc/sqlfcin1.corp.test:1433: CORP\SQLFCIN1$`,
				"node sqlfcin1.corp.test: MSSQLSvc/sqlfcin1.corp.test: no owner",
				// The SPN is built without the trailing dot; For is the alias as given.
				`alias sqlalias.corp.test.: MSSQLSvc/sqlalias.corp.test:1433: CORP\svc_sql`,
				"alias sqlalias.corp.test.: MSSQLSvc/sqlalias.corp.test: no owner",
			},
		},
		{
			name: "named instance forms, port unknown",
			target: with(func(t *triage.Target) {
				t.Instances = []triage.Instance{{Name: "SALES", Port: 50123}, {Name: "HR"}}
				t.Listeners, t.Aliases = nil, nil
				t.Nodes = []string{"sqlfcin1.corp.test"}
			}),
			wantProbes: []string{
				"node sqlfcin1.corp.test: MSSQLSvc/sqlfcin1.corp.test:50123: no owner",
				"node sqlfcin1.corp.test: MSSQLSvc/sqlfcin1.corp.test:SALES: no owner",
				"node sqlfcin1.corp.test: MSSQLSvc/sqlfcin1.corp.test:HR: no owner",
			},
			wantDetail: []string{"not checked: the TCP SPN of HR (MSSQLSvc/sqlfci.corp.test:PORT)"},
		},
		{
			name: "hostile names are not looked up",
			target: with(func(t *triage.Target) {
				t.Listeners = []triage.Listener{{Name: "ag", FQDN: "ag)(servicePrincipalName=*", Port: 1433}}
				t.Nodes = []string{"node1.corp.test\nMSSQLSvc/evil", "*"}
				t.Aliases = []string{"\u202esqlalias.corp.test", "sqlalias.corp.test"}
			}),
			wantProbes: []string{
				`alias sqlalias.corp.test: MSSQLSvc/sqlalias.corp.test:1433: CORP\svc_sql`,
				"alias sqlalias.corp.test: MSSQLSvc/sqlalias.corp.test: no owner",
			},
			wantDetail: []string{
				`not looked up: listener "ag)(servicePrincipalName=*" is not a DNS host name`,
				`not looked up: node "node1.corp.test\nMSSQLSvc/evil" is not a DNS host name`,
				`not looked up: node "*" is not a DNS host name`,
				`not looked up: alias "\u202esqlalias.corp.test" is not a DNS host name`,
			},
		},
		{
			name: "at most 64 probes", target: manyNodes,
			wantDetail: []string{"not looked up: 16 more SPNs of listeners, nodes and aliases (at most 64)"},
		},
		{
			name: "a failed probe keeps what was found before it", target: base, hostSPNs: hostSPNs,
			failSPN:    "MSSQLSvc/sqlfcin2.corp.test:1433",
			wantProbes: allProbes[:3],
			wantDetail: []string{`node sqlfcin1.corp.test: MSSQLSvc/sqlfcin1.corp.test: no owner`},
			wantErr:    "look up node sqlfcin2.corp.test's SPN MSSQLSvc/sqlfcin2.corp.test:1433: ldaps://gc1:3269: connection reset",
		},
		{
			name: "a failed host lookup keeps the probes", target: base, hostSPNs: hostSPNs,
			hostErr:    errors.New("size limit exceeded"),
			wantProbes: allProbes,
			wantErr:    "look up the MSSQLSvc SPNs of sqlfci.corp.test: size limit exceeded",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pd := &probeDir{spns: spns, failSPN: tt.failSPN}
			var dir spnFinder = pd
			var hd *hostProbeDir
			if tt.hostSPNs != nil {
				hd = &hostProbeDir{probeDir: pd, host: tt.hostSPNs, hostErr: tt.hostErr}
				dir = hd
			}
			res, err := SPN{Dir: dir}.Run(t.Context(), tt.target)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
				t.Fatalf("err = %v; want %q", err, tt.wantErr)
			}
			d := res.Obs.Directory
			if d == nil {
				t.Fatal("no directory facts")
			}
			if len(d.SPNs) != len(tt.target.RequiredSPNs()) {
				t.Errorf("SPNs = %+v; want every required SPN", d.SPNs)
			}
			if tt.wantProbes != nil {
				if diff := cmp.Diff(tt.wantProbes, probeLines(d.Probes)); diff != "" {
					t.Errorf("probes (-want +got):\n%s", diff)
				}
			}
			if len(d.Probes) > maxProbes {
				t.Errorf("%d probes; want at most %d", len(d.Probes), maxProbes)
			}
			if tt.wantHost == nil && tt.hostErr == nil && d.HostSPNs != nil || tt.hostErr != nil && d.HostSPNs != nil {
				t.Errorf("HostSPNs = %+v; want nil", d.HostSPNs)
			}
			if tt.wantHost != nil {
				if d.HostSPNs == nil {
					t.Errorf("HostSPNs = nil; want the lookup recorded")
				}
				got := []string{}
				for _, so := range d.HostSPNs {
					got = append(got, so.SPN+": "+owners(so))
				}
				if diff := cmp.Diff(tt.wantHost, got); diff != "" {
					t.Errorf("HostSPNs (-want +got):\n%s", diff)
				}
				if fmt.Sprint(hd.asked) != "[sqlfci.corp.test]" {
					t.Errorf("FindHostSPNs asked for %q; want the host's FQDN once", hd.asked)
				}
			}
			for _, w := range tt.wantDetail {
				if !strings.Contains(res.Detail, w) {
					t.Errorf("detail = %q\nwant it to contain %q", res.Detail, w)
				}
			}
			for _, spn := range pd.looked {
				if strings.ContainsAny(spn, "\n*()\u202e") {
					t.Errorf("looked up %q: a hostile name reached the directory", spn)
				}
			}
			if n := len(pd.looked); n > len(tt.target.RequiredSPNs())+maxProbes {
				t.Errorf("%d lookups; want at most the required SPNs and %d probes", n, maxProbes)
			}
		})
	}
}

// captureRule keeps the observations the Runner hands the rules.
type captureRule struct{ obs *triage.Observations }

func (captureRule) Name() string { return "capture" }
func (r captureRule) Apply(_ triage.Target, obs triage.Observations) []triage.Finding {
	*r.obs = obs
	return nil
}

// fixedDirCheck returns fixed directory facts.
type fixedDirCheck struct{ facts triage.DirectoryFacts }

func (fixedDirCheck) Name() string { return "fixed" }
func (c fixedDirCheck) Run(context.Context, triage.Target) (triage.Result, error) {
	f := c.facts
	return triage.Result{Obs: triage.Observations{Directory: &f}}, nil
}

// TestSPNProbesMerge: the probes and host SPNs of the spn check reach the rules
// through the Runner, merged with other checks' directory facts; a host lookup that
// found nothing stays recorded as looked up.
func TestSPNProbesMerge(t *testing.T) {
	target := triage.Target{
		Host: "sqlfci", FQDN: "sqlfci.corp.test",
		Listeners: []triage.Listener{{Name: "aglisten", FQDN: "aglisten.corp.test", Port: 1433}},
	}
	other := triage.SPNProbe{SPNOwners: triage.SPNOwners{SPN: "MSSQLSvc/x.corp.test:1433"}, Kind: triage.ProbeAlias, For: "x.corp.test"}
	for _, host := range [][]triage.SPNOwners{{}, {{SPN: "MSSQLSvc/sqlfci.corp.test:50123"}}} {
		var obs triage.Observations
		dir := &hostProbeDir{probeDir: &probeDir{}, host: host}
		rep := triage.Runner{
			Checks: []triage.Check{SPN{Dir: dir}, fixedDirCheck{triage.DirectoryFacts{Probes: []triage.SPNProbe{other}}}},
			Rules:  []triage.Rule{captureRule{&obs}},
		}.Run(t.Context(), target)
		if rep.Checks[0].Status != triage.CheckPass {
			t.Fatalf("spn check = %+v; want pass", rep.Checks[0])
		}
		d := obs.Directory
		if d == nil {
			t.Fatal("no directory facts reached the rules")
		}
		got := probeLines(d.Probes)
		slices.Sort(got) // the checks' order of merge is the Runner's
		want := []string{"alias x.corp.test: MSSQLSvc/x.corp.test:1433: no owner", "listener aglisten.corp.test: MSSQLSvc/aglisten.corp.test:1433: no owner"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("merged probes (-want +got):\n%s", diff)
		}
		if d.HostSPNs == nil || len(d.HostSPNs) != len(host) {
			t.Errorf("merged HostSPNs = %#v; want %d, looked up", d.HostSPNs, len(host))
		}
	}
}
