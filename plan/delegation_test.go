package plan_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/checks"
	"github.com/authtriage/authtriage/plan"
	"github.com/authtriage/authtriage/triage"
)

const delegationConfig = `kerberos: {realm: CORP.EXAMPLE, principal: authtriage, password: x}
hosts:
  - {name: web01, fqdn: web01.corp.example, service_account: 'NT SERVICE\MSSQLSERVER'}
  - {name: sqlbe, fqdn: sqlbe.corp.example, instances: [':1433', 'SALES:50123'], service_account: 'CORP\svc_sqlbe'}
  - {name: sqlrpt, fqdn: sqlrpt.corp.example, service_account: 'CORP\svc_sqlrpt'}
delegation:
  - {front_end: web01.corp.example, back_ends: [sqlbe], users: ['CORP\alice'], password: pw}
  - {account: 'CORP\svc_ssrs', back_ends: ['sqlbe\sales', sqlrpt]}
`

// delegationCheck plans host and returns its delegation check.
func delegationCheck(t *testing.T, p *plan.Planner, host string, o plan.Overrides) checks.Delegation {
	t.Helper()
	pl, err := p.For(t.Context(), host, o)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.Index(names(pl.Checks), "delegation")
	if i < 0 {
		t.Fatalf("no delegation check in %v", names(pl.Checks))
	}
	c, ok := plan.Inner(pl.Checks[i]).(checks.Delegation)
	if !ok {
		t.Fatalf("delegation check is a %T", pl.Checks[i])
	}
	return c
}

func routeStrings(rs []checks.DelegationRoute) []string {
	var out []string
	for _, r := range rs {
		s := r.Path.String() + " " + r.Path.Instance.String() + " via " + r.Path.Via
		if r.Prover != nil {
			s += " proven"
		}
		out = append(out, s+" for "+strings.Join(r.Users, ",")+" spns "+strings.Join(r.BackEnd.RequiredSPNs(), ","))
	}
	return out
}

// TestDelegationRoutes: a host's check examines the inventory's paths it is the front
// end or the back end of, one per back-end instance, proven as the front ends whose
// credentials the inventory gives; the request's users join.
func TestDelegationRoutes(t *testing.T) {
	cfg := parse(t, delegationConfig)
	ad := plan.NewAdapters(cfg, nil)
	p := plan.New(cfg, ad, plan.Options{AnyHost: true})
	tests := []struct {
		host string
		want []string
	}{
		{"sqlbe", []string{
			`web01 (WEB01$) -> sqlbe MSSQLSERVER:1433 via inventory proven for CORP\alice spns MSSQLSvc/sqlbe.corp.example:1433,MSSQLSvc/sqlbe.corp.example`,
			`web01 (WEB01$) -> sqlbe\SALES SALES:50123 via inventory proven for CORP\alice spns MSSQLSvc/sqlbe.corp.example:50123,MSSQLSvc/sqlbe.corp.example:SALES`,
			`CORP\svc_ssrs -> sqlbe\SALES SALES:50123 via inventory for  spns MSSQLSvc/sqlbe.corp.example:50123,MSSQLSvc/sqlbe.corp.example:SALES`,
		}},
		{"WEB01", []string{
			`web01 (WEB01$) -> sqlbe MSSQLSERVER:1433 via inventory proven for CORP\alice spns MSSQLSvc/sqlbe.corp.example:1433,MSSQLSvc/sqlbe.corp.example`,
			`web01 (WEB01$) -> sqlbe\SALES SALES:50123 via inventory proven for CORP\alice spns MSSQLSvc/sqlbe.corp.example:50123,MSSQLSvc/sqlbe.corp.example:SALES`,
		}},
		{"sqlrpt", []string{
			`CORP\svc_ssrs -> sqlrpt MSSQLSERVER via inventory for  spns MSSQLSvc/sqlrpt.corp.example:1433,MSSQLSvc/sqlrpt.corp.example`,
		}},
		{"elsewhere.corp.example", nil},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			c := delegationCheck(t, p, tt.host, plan.Overrides{Users: []string{`CORP\bob`}})
			if got := routeStrings(c.Routes); !slices.Equal(got, tt.want) {
				t.Errorf("routes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if !slices.Equal(c.Users, []string{`CORP\bob`}) {
				t.Errorf("users %v; want the request's", c.Users)
			}
			if c.Dir != nil || c.NoSource == "" {
				t.Errorf("dir %v, no source %q; want none, and why", c.Dir, c.NoSource)
			}
			if c.Linked == nil || c.LinkedBackEnd == nil {
				t.Errorf("linked servers are not read, with the checker's SQL Server logins")
			}
		})
	}

	// The front end is one per entry for the process.
	first := delegationCheck(t, p, "sqlbe", plan.Overrides{}).Routes[0].Prover
	if again := delegationCheck(t, p, "web01", plan.Overrides{}).Routes[0].Prover; again != first || first != ad.FrontEnd(0) {
		t.Errorf("front end %p, then %p; want the adapters' one, %p", first, again, ad.FrontEnd(0))
	}
	if ad.FrontEnd(1) != nil || ad.FrontEnd(2) != nil {
		t.Errorf("a front end for an entry without credentials, or no entry")
	}

	// Offline, the directory is the export and the KDC is not asked.
	c := delegationCheck(t, p, "sqlbe", plan.Overrides{LDIF: demoLDIF})
	if c.Dir == nil || slices.ContainsFunc(c.Routes, func(r checks.DelegationRoute) bool { return r.Prover != nil }) {
		t.Errorf("offline: dir %v, routes %v; want the export and no proof", c.Dir, routeStrings(c.Routes))
	}

	// A user that is no account is the request's error.
	if _, err := p.For(t.Context(), "sqlbe", plan.Overrides{Users: []string{"CORP\\a*b"}}); !isInput(err) || !strings.Contains(err.Error(), `user "CORP\\a*b"`) {
		t.Errorf("bad user: %v; want an input error naming it", err)
	}
}

// TestDelegationWithAgent: the agent serving a host runs its delegation check, unless
// the request names users, which the agent is not told.
func TestDelegationWithAgent(t *testing.T) {
	cfg := withAgent(t, "")
	client := plan.New(cfg, nil, plan.Options{AnyHost: true})
	for _, tt := range []struct {
		users []string
		here  bool
	}{{nil, false}, {[]string{`CORP\alice`}, true}} {
		pl, err := client.For(t.Context(), "sqlhost01", plan.Overrides{Users: tt.users})
		if err != nil {
			t.Fatal(err)
		}
		c := pl.Checks[slices.Index(names(pl.Checks), "delegation")]
		if _, remote := c.(interface{ Agent() string }); remote == tt.here {
			t.Errorf("users %v: delegation runs here: %v; want %v", tt.users, !remote, tt.here)
		}
	}
}

// TestLinkedBackEnd: a linked server's data source gives the inventory's host,
// narrowed to its instance, or a target of its own; what is no second hop says why.
func TestLinkedBackEnd(t *testing.T) {
	c := delegationCheck(t, plan.New(parse(t, delegationConfig), nil, plan.Options{AnyHost: true}), "web01", plan.Overrides{})
	tests := []struct {
		ls   triage.LinkedServer
		want triage.Target
		why  string
	}{
		{triage.LinkedServer{Name: "SQLBE", Product: "SQL Server"}, triage.Target{Host: "sqlbe", FQDN: "sqlbe.corp.example",
			Instances: []triage.Instance{{Port: 1433}, {Name: "SALES", Port: 50123}}, ServiceAccount: `CORP\svc_sqlbe`}, ""},
		{triage.LinkedServer{Name: "BE", Provider: "MSOLEDBSQL", DataSource: "tcp:sqlbe.corp.example,50123"}, triage.Target{Host: "sqlbe",
			FQDN: "sqlbe.corp.example", Instances: []triage.Instance{{Name: "SALES", Port: 50123}}, ServiceAccount: `CORP\svc_sqlbe`}, ""},
		{triage.LinkedServer{Name: "OTHER", Provider: "SQLNCLI11", DataSource: `other.corp.example\HR`},
			triage.Target{Host: "other.corp.example", FQDN: "other.corp.example", Instances: []triage.Instance{{Name: "HR"}}}, ""},
		{triage.LinkedServer{Name: "BYIP", Provider: "SQLNCLI", DataSource: "192.0.2.7"}, triage.Target{Host: "192.0.2.7"}, ""},
		{triage.LinkedServer{Name: "ORA", Provider: "OraOLEDB.Oracle", DataSource: "ora"}, triage.Target{}, `not a SQL Server (provider "OraOLEDB.Oracle")`},
		{triage.LinkedServer{Name: "LOOP", Provider: "SQLNCLI", DataSource: "(local)"}, triage.Target{}, "it connects to the front end itself"},
	}
	for _, tt := range tests {
		got, why := c.LinkedBackEnd(tt.ls)
		if !equalTargets(got, tt.want) || why != tt.why {
			t.Errorf("%s: %+v, %q; want %+v, %q", tt.ls.Name, got, why, tt.want, tt.why)
		}
	}
}
