package diagnosis

import (
	"slices"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

func TestAliasRule(t *testing.T) {
	const (
		cTCP   = "MSSQLSvc/sqlhost01.corp.example:1433"
		cPipes = "MSSQLSvc/sqlhost01.corp.example"
		aTCP   = "MSSQLSvc/sales-db.corp.example:1433"
	)
	names := &triage.InstanceFacts{Names: &triage.NameFacts{Asked: "sales-db.corp.example", Chain: []string{"sqlhost01.corp.example"}}}
	obs := func(canonical, alias []triage.Account) triage.Observations {
		d := instDir(owned(cTCP, canonical...), owned(cPipes, instSvc))
		d.Probes = []triage.SPNProbe{{SPNOwners: owned(aTCP, alias...), Kind: triage.ProbeAlias, For: "sales-db.corp.example"}}
		return triage.Observations{Directory: d, Instances: names}
	}
	tests := []struct {
		name string
		obs  triage.Observations
		want []want
	}{
		{
			name: "the alias's form is missing, the canonical name's registered",
			obs:  obs([]triage.Account{instSvc}, nil),
			want: []want{{cause: triage.NameAlias, severity: triage.Warning,
				summary:  []string{"through the alias sales-db.corp.example", aTCP + ", which is registered on no account", "pages do not settle which name"},
				commands: []string{`setspn -S MSSQLSvc/sales-db.corp.example:1433 CORP\svc_sql01`}, evidence: 3}},
		},
		{
			name: "the alias's form is registered, the canonical name's missing: one finding, no spn.missing",
			obs:  obs(nil, []triage.Account{instSvc}),
			want: []want{{cause: triage.NameAlias, severity: triage.Critical,
				summary:  []string{cTCP + ", the canonical name's SPN, is registered on no account", "pages do not settle which name"},
				commands: []string{`setspn -S MSSQLSvc/sqlhost01.corp.example:1433 CORP\svc_sql01`}, evidence: 3}},
		},
		{name: "both registered: nothing", obs: obs([]triage.Account{instSvc}, []triage.Account{instSvc})},
	}
	tg := triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example", Instances: []triage.Instance{{Port: 1433}},
		ServiceAccount: `CORP\svc_sql01`, Aliases: []string{"sales-db.corp.example"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := applyRule(multiRule(Rules()), tg, tt.obs)
			checkFindings(t, got, tt.want)
			for _, f := range got {
				if !containsLink(f.Links, "troubleshoot-kerberos-failures-ie") || !containsLink(f.Links, "cannot-generate-sspi-context-error") ||
					!containsLink(f.Links, "register-a-service-principal-name") {
					t.Errorf("links %v do not cite the pages that differ", f.Links)
				}
			}
		})
	}
}

func containsLink(links []string, sub string) bool {
	return slices.ContainsFunc(links, func(l string) bool { return strings.Contains(l, sub) })
}
