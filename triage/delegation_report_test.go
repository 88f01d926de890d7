package triage_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

// TestRunReportsDelegation checks that the report carries the second hop's facts
// when the checks saw a path or a linked server, and leaves them out otherwise.
func TestRunReportsDelegation(t *testing.T) {
	path := triage.DelegationPath{FrontEnd: "web01", Account: `CORP\svc_web`, BackEnd: "sqlbe", Via: "inventory", SelfCredential: true}
	tests := []struct {
		name  string
		facts *triage.DelegationFacts
		want  int // paths in the report; -1 for no Delegation
	}{
		{"none ran", nil, -1},
		{"nothing seen", &triage.DelegationFacts{}, -1},
		{"a path", &triage.DelegationFacts{Paths: []triage.DelegationPath{path}}, 1},
		{"linked servers only", &triage.DelegationFacts{LinkedServers: []triage.LinkedServer{{Name: "SALES"}}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := fakeCheck{name: "delegation", run: func(context.Context) (triage.Result, error) {
				return triage.Result{Obs: triage.Observations{Delegation: tt.facts}}, nil
			}}
			rep := triage.Runner{Checks: []triage.Check{check}}.Run(context.Background(), triage.Target{Host: "web01"})
			b, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want < 0 {
				if rep.Delegation != nil || strings.Contains(string(b), `"delegation":`) {
					t.Errorf("report has delegation facts %+v; want none (JSON %s)", rep.Delegation, b)
				}
				return
			}
			if rep.Delegation == nil || len(rep.Delegation.Paths) != tt.want {
				t.Fatalf("report's delegation facts = %+v; want %d paths", rep.Delegation, tt.want)
			}
			var back triage.Report
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if back.Delegation == nil || len(back.Delegation.Paths) != tt.want {
				t.Errorf("read back from JSON: delegation facts = %+v; want %d paths", back.Delegation, tt.want)
			}
		})
	}
}
