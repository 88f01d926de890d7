package diagnosis

import (
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
	tests := []struct {
		name string
		obs  triage.Observations
		want []want
	}{
		{
			name: "the old port's SPN is on the service account, the new one on none",
			obs: triage.Observations{Directory: dir(func(d *triage.DirectoryFacts) {
				d.HostSPNs = []triage.SPNOwners{owned(old, instSvc), owned(salesPipes, instSvc)}
			})},
			want: []want{{cause: triage.SPNStalePort, severity: triage.Critical,
				summary: []string{salesTCP + " is registered on no account", old + " on " + `CORP\svc_sql01`, "no instance of sqlhost01 listens on"},
				commands: []string{`setspn -D MSSQLSvc/sqlhost01.corp.example:49833 CORP\svc_sql01`,
					`setspn -S MSSQLSvc/sqlhost01.corp.example:50177 CORP\svc_sql01`},
				evidence: 2}},
		},
		{
			name: "the old port's SPN is only in the service account's own SPNs, and on another account too",
			obs: triage.Observations{Directory: dir(func(d *triage.DirectoryFacts) {
				svc := instSvc
				svc.SPNs = []string{old, salesPipes}
				d.ServiceAccount = &svc
				d.HostSPNs = []triage.SPNOwners{owned(old, instOld)}
			})},
			want: []want{{cause: triage.SPNStalePort, severity: triage.Critical,
				commands: []string{`setspn -D MSSQLSvc/sqlhost01.corp.example:49833 CORP\svc_old`,
					`setspn -D MSSQLSvc/sqlhost01.corp.example:49833 CORP\svc_sql01`},
				evidence: 2}},
		},
		{
			name: "an SPN for another instance's port is not stale: spn.missing",
			obs: triage.Observations{Directory: dir(func(d *triage.DirectoryFacts) {
				d.HostSPNs = []triage.SPNOwners{owned("MSSQLSvc/sqlhost01.corp.example:1433", instSvc)}
			}), Instances: &triage.InstanceFacts{Instances: []triage.InstanceView{view(claim(triage.PortListening, 50177, false)),
				{Name: "MSSQLSERVER", Ports: []triage.PortClaim{claim(triage.PortListening, 1433, false)}}}}},
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
			checkFindings(t, applyRule(multiRule(Rules()), salesTarget, tt.obs), tt.want)
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
		obs := triage.Observations{Directory: instDir(owned(salesTCP), owned(salesPipes, instSvc))}
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
