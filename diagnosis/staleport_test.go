package diagnosis

import (
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

func TestStalePortRule(t *testing.T) {
	const old = "MSSQLSvc/sqlhost01.corp.example:49833"
	dir := func(f func(*triage.DirectoryFacts)) *triage.DirectoryFacts {
		d := instDir(owned(salesTCP), owned(salesPipes, instSvc))
		f(d)
		return d
	}
	oldOnSvc := dir(func(d *triage.DirectoryFacts) {
		d.HostSPNs = []triage.SPNOwners{owned(old, instSvc), owned(salesPipes, instSvc)}
	})
	facts := func(views ...triage.InstanceView) *triage.InstanceFacts {
		return &triage.InstanceFacts{Instances: views}
	}
	// The Browser answered: its answer lists every instance of the host.
	browsed := facts(view(claim(triage.PortBrowser, 50177, false)))
	const removeOld = `setspn -D MSSQLSvc/sqlhost01.corp.example:49833 CORP\svc_sql01`
	tests := []struct {
		name string
		obs  triage.Observations
		want []want
		// removal: the -D command is given (the host's instances are all known), else
		// a step to confirm first, with no command, and discovery's evidence hedged.
		removal bool
	}{
		{
			name: "the Browser answered: the old port's SPN is on the service account, the new one on none",
			obs:  triage.Observations{Directory: oldOnSvc, Instances: browsed},
			want: []want{{cause: triage.SPNStalePort, severity: triage.Critical,
				summary:  []string{salesTCP + " is registered on no account", old + " on " + `CORP\svc_sql01`, "no instance of sqlhost01 listens on"},
				commands: []string{removeOld, `setspn -S MSSQLSvc/sqlhost01.corp.example:50177 CORP\svc_sql01`},
				evidence: 2}},
			removal: true,
		},
		{
			name: "the old port's SPN is only in the service account's own SPNs, and on another account too",
			obs: triage.Observations{Directory: dir(func(d *triage.DirectoryFacts) {
				svc := instSvc
				svc.SPNs = []string{old, salesPipes}
				d.ServiceAccount = &svc
				d.HostSPNs = []triage.SPNOwners{owned(old, instOld)}
			}), Instances: browsed},
			want: []want{{cause: triage.SPNStalePort, severity: triage.Critical,
				commands: []string{`setspn -D MSSQLSvc/sqlhost01.corp.example:49833 CORP\svc_old`, removeOld},
				evidence: 2}},
			removal: true,
		},
		{
			name: "the agent read the host's registry: complete",
			obs: triage.Observations{Directory: oldOnSvc, Instances: facts(view(claim(triage.PortRegistry, 50177, false)),
				triage.InstanceView{Name: "MSSQLSERVER", Ports: []triage.PortClaim{claim(triage.PortRegistry, 1433, false)}})},
			want:    []want{{cause: triage.SPNStalePort, severity: triage.Critical, commands: []string{removeOld}, evidence: 2}},
			removal: true,
		},
		{
			name:    "the agent read mssql.conf: complete",
			obs:     triage.Observations{Directory: oldOnSvc, Instances: facts(view(claim(triage.PortMssqlConf, 50177, false)))},
			want:    []want{{cause: triage.SPNStalePort, severity: triage.Critical, commands: []string{removeOld}, evidence: 2}},
			removal: true,
		},
		{
			name: "the Browser answered with no TCP port, by its server name alone: complete",
			obs: triage.Observations{Directory: oldOnSvc, Instances: facts(view(claim(triage.PortListening, 50177, false)),
				triage.InstanceView{Name: "OTHER", BrowserServer: "SQLHOST01"})},
			want:    []want{{cause: triage.SPNStalePort, severity: triage.Critical, commands: []string{removeOld}, evidence: 2}},
			removal: true,
		},
		{
			name: "only a SQL login's view (Browser blocked, another instance not reached): the removal is to confirm",
			obs:  triage.Observations{Directory: oldOnSvc, Instances: facts(view(claim(triage.PortListening, 50177, false)))},
			want: []want{{cause: triage.SPNStalePort, severity: triage.Critical,
				summary:  []string{"no instance of sqlhost01 that discovery found listens on", "confirm the old port is unused"},
				commands: []string{`setspn -S MSSQLSvc/sqlhost01.corp.example:50177 CORP\svc_sql01`},
				evidence: 2}},
		},
		{
			name: "no discovery at all: the removal is to confirm",
			obs:  triage.Observations{Directory: oldOnSvc},
			want: []want{{cause: triage.SPNStalePort, severity: triage.Critical,
				summary: []string{"neither SQL Server Browser's answer"}, evidence: 2}},
		},
		{
			name: "an SPN for another instance's port is not stale: spn.missing",
			obs: triage.Observations{Directory: dir(func(d *triage.DirectoryFacts) {
				d.HostSPNs = []triage.SPNOwners{owned("MSSQLSvc/sqlhost01.corp.example:1433", instSvc)}
			}), Instances: facts(view(claim(triage.PortListening, 50177, false)),
				triage.InstanceView{Name: "MSSQLSERVER", Ports: []triage.PortClaim{claim(triage.PortListening, 1433, false)}})},
			want: []want{{cause: triage.SPNMissing, severity: triage.Critical, summary: []string{salesTCP}, evidence: 1}},
		},
		{
			name: "a port only configured (a restart pending) is not stale either",
			obs: triage.Observations{Directory: oldOnSvc, Instances: facts(view(claim(triage.PortListening, 50177, false)),
				triage.InstanceView{Name: "MSSQLSERVER", Ports: []triage.PortClaim{claim(triage.PortServerRegistry, 49833, false)}})},
			want: []want{{cause: triage.SPNMissing, severity: triage.Critical, summary: []string{salesTCP}, evidence: 1}},
		},
		{
			name: "nothing missing: nothing",
			obs:  triage.Observations{Directory: instDir(owned(salesTCP, instSvc), owned(salesPipes, instSvc))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Every rule: one fault gives one finding, spn.missing is not reported too.
			got := applyRule(multiRule(Rules()), salesTarget, tt.obs)
			checkFindings(t, got, tt.want)
			for _, f := range got {
				if f.Cause != triage.SPNStalePort {
					continue
				}
				removals := 0
				for _, s := range f.Remediation {
					if strings.Contains(s.Command, "setspn -D") {
						removals++
					}
					if !tt.removal && strings.Contains(s.Text, "Confirm that no instance of sqlhost01 uses port 49833") {
						removals--
					}
				}
				switch {
				case tt.removal && removals == 0:
					t.Errorf("no setspn -D, though the host's instances are all known: %+v", f.Remediation)
				case !tt.removal && removals != -1:
					t.Errorf("want one step to confirm and no setspn -D with partial discovery: %+v", f.Remediation)
				}
				hedged := strings.Contains(f.Evidence[0].Text, "no instance discovery found listens on port 49833")
				if hedged == tt.removal {
					t.Errorf("evidence %q: hedged %v; want %v", f.Evidence[0].Text, hedged, !tt.removal)
				}
			}
		})
	}
}

// multiRule applies rules as one, as the Runner does.
type multiRule []triage.Rule

func (multiRule) Name() string { return "all" }

func (m multiRule) Apply(tg triage.Target, obs triage.Observations) []triage.Finding {
	var out []triage.Finding
	for _, r := range m {
		out = append(out, r.Apply(tg, obs)...)
	}
	return out
}

// TestStalePortHostileNames: SPNs and owners from the directory are checked and quoted;
// an SPN no command can hold leaves its step without one, saying why.
func TestStalePortHostileNames(t *testing.T) {
	for _, h := range hostile {
		bad := instOld
		bad.SAMAccountName = h
		// The Browser answered, so the removal is a command.
		obs := triage.Observations{Directory: instDir(owned(salesTCP), owned(salesPipes, instSvc)),
			Instances: &triage.InstanceFacts{Instances: []triage.InstanceView{view(claim(triage.PortBrowser, 50177, false))}}}
		obs.Directory.HostSPNs = []triage.SPNOwners{owned("MSSQLSvc/sqlhost01.corp.example:49833", bad)}
		fs := stalePortRule{}.Apply(salesTarget, obs)
		if len(fs) != 1 {
			t.Fatalf("%q: %d findings", h, len(fs))
		}
		for _, s := range fs[0].Remediation {
			if s.Command == "" {
				continue
			}
			words := readBack(t, s)
			if len(words) != 4 || words[0] != "setspn" {
				t.Errorf("%q: %q reads back as %q", h, s.Command, words)
			}
		}
	}
}
