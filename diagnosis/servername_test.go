package diagnosis

import (
	"slices"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

func TestServerNameRule(t *testing.T) {
	yes := true
	tests := []struct {
		name string
		v    triage.InstanceView
		want []want
	}{
		{
			name: "a named instance on a renamed host",
			v:    triage.InstanceView{Name: "SALES", ServerName: `OLDHOST\SALES`, MachineName: "SQLHOST01"},
			want: []want{{cause: triage.NameServerNameChanged, severity: triage.Warning,
				summary:  []string{`@@SERVERNAME of SALES is OLDHOST\SALES`, "runs on SQLHOST01"},
				commands: []string{`EXEC sp_dropserver N'OLDHOST\SALES';`, `EXEC sp_addserver N'SQLHOST01\SALES' , local;`}, evidence: 1}},
		},
		{
			name: "the default instance, case aside the same: nothing",
			v:    triage.InstanceView{Name: "MSSQLSERVER", ServerName: "sqlhost01", MachineName: "SQLHOST01"},
		},
		{
			name: "a failover-cluster instance: no stand-alone commands",
			v:    triage.InstanceView{Name: "MSSQLSERVER", ServerName: "OLDFCI", MachineName: "SQLFCI01", Clustered: &yes},
			want: []want{{cause: triage.NameServerNameChanged, severity: triage.Warning, summary: []string{"failover-cluster instance"}, evidence: 1}},
		},
		{name: "MachineName not read: nothing", v: triage.InstanceView{Name: "SALES", ServerName: `OLDHOST\SALES`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := triage.Observations{Instances: &triage.InstanceFacts{Instances: []triage.InstanceView{tt.v}}}
			got := applyRule(serverNameRule{}, target, obs)
			checkFindings(t, got, tt.want)
			if tt.v.Clustered != nil && len(got) == 1 && slices.ContainsFunc(got[0].Remediation, func(s triage.Step) bool { return s.Command != "" }) {
				t.Errorf("clustered instance given commands: %+v", got[0].Remediation)
			}
		})
	}
}

// TestServerNameHostile: names SQL Server reports are T-SQL string literals, each one
// token, or the step says why it has no command.
func TestServerNameHostile(t *testing.T) {
	for _, h := range append(hostile, "x'; DROP LOGIN sa; --", "N'x'", "]]") {
		v := triage.InstanceView{Name: "SALES", ServerName: h, MachineName: "SQLHOST01" + h}
		fs := serverNameRule{}.Apply(target, triage.Observations{Instances: &triage.InstanceFacts{Instances: []triage.InstanceView{v}}})
		if len(fs) != 1 {
			t.Fatalf("%q: %d findings", h, len(fs))
		}
		want := [][]string{
			{"w:EXEC", "w:sp_dropserver", "s:" + h, "p:;"},
			{"w:EXEC", "w:sp_addserver", "s:SQLHOST01" + h + `\SALES`, "p:,", "w:local", "p:;"},
		}
		for i, s := range fs[0].Remediation[1:3] { // sp_dropserver, sp_addserver
			if s.Command == "" {
				if s.Omitted == "" {
					t.Errorf("%q: T-SQL step without a command or a reason: %+v", h, s)
				}
				continue
			}
			if got := readBack(t, s); !slices.Equal(got, want[i]) {
				t.Errorf("%q: %q reads back as %q; want %q", h, s.Command, got, want[i])
			}
		}
	}
}
