package checks

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

// fakeDelegationDir answers Delegation from a map by lower-case name; names it does
// not hold are not found, and those in broken fail.
type fakeDelegationDir struct {
	accounts map[string]triage.DelegationAccount
	broken   map[string]string

	mu    sync.Mutex
	reads []string // role|name, in order
}

func (d *fakeDelegationDir) Delegation(_ context.Context, name, role string) triage.DelegationAccount {
	d.mu.Lock()
	d.reads = append(d.reads, role+"|"+name)
	d.mu.Unlock()
	if msg, ok := d.broken[strings.ToLower(name)]; ok {
		return triage.DelegationAccount{Role: role, Name: name, Err: msg}
	}
	a, ok := d.accounts[strings.ToLower(name)]
	if !ok {
		return triage.DelegationAccount{Role: role, Name: name}
	}
	a.Role, a.Name = role, name
	return a
}

// fakeProver issues the tickets to the SPNs in allowed and records what it was asked.
type fakeProver struct {
	allowed map[string]bool
	err     string
	asked   []string // user|spn|rbcd
}

func (p *fakeProver) ProveDelegations(_ context.Context, path triage.DelegationPath, user string, spns []string, rbcd bool) []triage.DelegationProof {
	var out []triage.DelegationProof
	for _, spn := range spns {
		out = append(out, p.prove(path, user, spn, rbcd))
	}
	return out
}

func (p *fakeProver) prove(path triage.DelegationPath, user, spn string, rbcd bool) triage.DelegationProof {
	p.asked = append(p.asked, fmt.Sprintf("%s|%s|%v", user, spn, rbcd))
	proof := triage.DelegationProof{Path: path, User: user, SPN: spn, SelfIssued: true, SelfForwardable: true, ProxyIssued: p.allowed[spn], Err: p.err}
	if !proof.ProxyIssued {
		proof.Step, proof.KDCError, proof.ErrorName = "s4u2proxy", 13, "KDC_ERR_BADOPTION"
		if rbcd {
			proof.Unprovable = "the KDC gave no NTSTATUS"
		}
	}
	return proof
}

type fakeLinked struct {
	servers map[string][]triage.LinkedServer // by instance
	err     error
}

func (l fakeLinked) LinkedServers(_ context.Context, _ triage.Target, in triage.Instance) ([]triage.LinkedServer, error) {
	return l.servers[in.String()], l.err
}

func acct(sam, sid string, uac int) *triage.Account {
	return &triage.Account{DN: "CN=" + sam + ",CN=Users,DC=corp,DC=test", SID: sid, SAMAccountName: sam, NetBIOSDomain: "CORP", UAC: uac}
}

var (
	sqlbe = triage.Target{Host: "sqlbe", FQDN: "sqlbe.corp.test", Instances: []triage.Instance{{Port: 1433}}, ServiceAccount: `CORP\svc_sqlbe`}
	web   = triage.Target{Host: "web01", FQDN: "web01.corp.test", ServiceAccount: `CORP\svc_web`}
)

func delegationDir() *fakeDelegationDir {
	return &fakeDelegationDir{accounts: map[string]triage.DelegationAccount{
		`corp\svc_web`: {Account: acct("svc_web", "S-1-5-21-1-1101", triage.UACTrustedToAuthForDelegation),
			AllowedToDelegateTo: []string{"MSSQLSvc/sqlbe.corp.test:1433", "MSSQLSvc/sqlbe.corp.test"}},
		`corp\svc_sqlbe`: {Account: acct("svc_sqlbe", "S-1-5-21-1-1102", 0),
			AllowedToActOnBehalf: []triage.Principal{{SID: "S-1-5-21-1-1101", Name: `CORP\svc_web`}}},
		`corp\alice`: {Account: acct("alice", "S-1-5-21-1-1103", 0)},
		`corp\bob`:   {Account: acct("bob", "S-1-5-21-1-1104", triage.UACNotDelegated)},
	}}
}

func webRoute(p delegationProver, users ...string) DelegationRoute {
	return DelegationRoute{
		Path:    triage.DelegationPath{FrontEnd: "web01", Account: `CORP\svc_web`, BackEnd: "sqlbe", Via: "inventory", SelfCredential: true},
		BackEnd: sqlbe, Users: users, Prover: p,
	}
}

// TestDelegationCheck: every account a path depends on is read once, in its role;
// the KDC is asked for each user and each SPN form of the back end, resource-based
// when the back end's account names the front end; users of --as join each path's.
func TestDelegationCheck(t *testing.T) {
	dir := delegationDir()
	prover := &fakeProver{allowed: map[string]bool{"MSSQLSvc/sqlbe.corp.test:1433": true}}
	c := Delegation{Dir: dir, Routes: []DelegationRoute{webRoute(prover, `CORP\alice`)}, Users: []string{`corp\ALICE`, `CORP\bob`}}
	res, err := c.Run(t.Context(), sqlbe)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Obs.Delegation
	want := triage.DelegationPath{FrontEnd: "web01", Account: `CORP\svc_web`, BackEnd: "sqlbe", Via: "inventory", SelfCredential: true,
		BackEndFQDN: "sqlbe.corp.test", BackEndAccount: `CORP\svc_sqlbe`}
	if len(d.Paths) != 1 || d.Paths[0] != want {
		t.Errorf("paths = %+v; want %+v", d.Paths, want)
	}
	for _, p := range d.Proofs {
		if p.Path != want {
			t.Errorf("proof's path %+v; want the path's, %+v", p.Path, want)
		}
	}
	wantReads := []string{`front end|CORP\svc_web`, `back end|CORP\svc_sqlbe`, `user|CORP\alice`, `user|CORP\bob`}
	if strings.Join(dir.reads, ",") != strings.Join(wantReads, ",") {
		t.Errorf("reads = %v; want %v", dir.reads, wantReads)
	}
	if len(d.Accounts) != 4 || d.Accounts[3].Account == nil || d.Accounts[3].Account.UAC&triage.UACNotDelegated == 0 {
		t.Errorf("accounts = %+v", d.Accounts)
	}
	wantAsked := []string{
		`CORP\alice|MSSQLSvc/sqlbe.corp.test:1433|true`, `CORP\alice|MSSQLSvc/sqlbe.corp.test|true`,
		`CORP\bob|MSSQLSvc/sqlbe.corp.test:1433|true`, `CORP\bob|MSSQLSvc/sqlbe.corp.test|true`,
	}
	if strings.Join(prover.asked, ",") != strings.Join(wantAsked, ",") {
		t.Errorf("asked = %v; want %v", prover.asked, wantAsked)
	}
	if len(d.Proofs) != 4 || !d.Proofs[0].ProxyIssued || d.Proofs[1].ProxyIssued {
		t.Errorf("proofs = %+v", d.Proofs)
	}
	if want := `web01 (CORP\svc_web) -> sqlbe: 2 of 4 tickets issued through the front end (resource-based delegation); the KDC's answer cannot prove or disprove 2`; res.Detail != want {
		t.Errorf("detail = %q; want %q", res.Detail, want)
	}
}

// TestDelegationCheckDirectoryOnly: without the front end's credentials, or without a
// user, the path is read from the directory and the KDC is not asked.
func TestDelegationCheckDirectoryOnly(t *testing.T) {
	for _, tt := range []struct {
		name  string
		route DelegationRoute
		want  string
	}{
		{"no credentials", webRoute(nil, `CORP\alice`), "no credentials of the front end"},
		{"no user", webRoute(&fakeProver{}), "no user to ask the KDC for"},
		{"no FQDN", func() DelegationRoute {
			r := webRoute(&fakeProver{}, `CORP\alice`)
			r.BackEnd.FQDN = ""
			return r
		}(), "FQDN is not known"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Delegation{Dir: delegationDir(), Routes: []DelegationRoute{tt.route}}.Run(t.Context(), web)
			if err != nil || !strings.Contains(res.Detail, tt.want) || len(res.Obs.Delegation.Proofs) != 0 {
				t.Errorf("detail %q, proofs %v, err %v; want %q and no proof", res.Detail, res.Obs.Delegation.Proofs, err, tt.want)
			}
		})
	}
}

// TestDelegationCheckNotResourceBased: a back end that does not name the front end's
// SID is asked for as constrained delegation, even when a name matches.
func TestDelegationCheckNotResourceBased(t *testing.T) {
	dir := delegationDir()
	be := dir.accounts[`corp\svc_sqlbe`]
	be.AllowedToActOnBehalf = []triage.Principal{{SID: "S-1-5-21-9-1101", Name: `CORP\svc_web`}}
	dir.accounts[`corp\svc_sqlbe`] = be
	prover := &fakeProver{}
	if _, err := (Delegation{Dir: dir, Routes: []DelegationRoute{webRoute(prover, `CORP\alice`)}}).Run(t.Context(), sqlbe); err != nil {
		t.Fatal(err)
	}
	for _, a := range prover.asked {
		if strings.HasSuffix(a, "|true") {
			t.Errorf("asked %s as resource-based", a)
		}
	}
}

// TestDelegationCheckLinkedServers: linked servers that forward the caller's
// credentials to a SQL Server are paths from the host, proven with the credentials of
// an inventory route of the same account; others are listed, and why they are not
// examined is said.
func TestDelegationCheckLinkedServers(t *testing.T) {
	front := triage.Target{Host: "sqlfe", FQDN: "sqlfe.corp.test", ServiceAccount: `CORP\svc_web`}
	prover := &fakeProver{allowed: map[string]bool{"MSSQLSvc/sqlbe.corp.test:1433": true, "MSSQLSvc/sqlbe.corp.test": true}}
	linked := fakeLinked{servers: map[string][]triage.LinkedServer{"MSSQLSERVER:1433": {
		{Name: "SQLBE", Product: "SQL Server", SelfCredential: true, Complete: true},
		{Name: "FIXED", Product: "SQL Server", DataSource: "sqlbe", Complete: true},
		{Name: "ORA", Provider: "OraOLEDB.Oracle", DataSource: "ora", SelfCredential: true, Complete: true},
	}}}
	route := webRoute(prover)
	route.Path.FrontEnd = "other"
	route.BackEnd = triage.Target{Host: "sqlrpt", FQDN: "sqlrpt.corp.test", ServiceAccount: `CORP\svc_sqlrpt`}
	c := Delegation{Dir: delegationDir(), Routes: []DelegationRoute{route}, Users: []string{`CORP\alice`}, Linked: linked,
		LinkedBackEnd: func(ls triage.LinkedServer) (triage.Target, string) {
			if ls.Name == "ORA" {
				return triage.Target{}, "provider OraOLEDB.Oracle is not SQL Server's"
			}
			return sqlbe, ""
		}}
	res, err := c.Run(t.Context(), front)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Obs.Delegation
	if len(d.LinkedServers) != 3 || len(d.Paths) != 2 {
		t.Fatalf("linked servers %+v, paths %+v; want all 3 listed and one path from them", d.LinkedServers, d.Paths)
	}
	p := d.Paths[1]
	if p.FrontEnd != "sqlfe" || p.Account != `CORP\svc_web` || p.BackEnd != "sqlbe" || p.Via != "linked server SQLBE" || !p.SelfCredential {
		t.Errorf("linked path = %+v", p)
	}
	issued := 0
	for _, pr := range d.Proofs {
		if pr.Path.Via == "linked server SQLBE" && pr.ProxyIssued {
			issued++
		}
	}
	if issued != 2 {
		t.Errorf("proofs = %+v; want both SPNs of sqlbe proven for the linked server with the route's credentials", d.Proofs)
	}
	if !strings.Contains(res.Detail, "linked server ORA not examined: provider OraOLEDB.Oracle is not SQL Server's") {
		t.Errorf("detail = %q", res.Detail)
	}
}

// TestDelegationCheckSkips: no paths is a skip that says so; no directory is a skip
// for want of one; linked servers that forward nothing leave no path.
func TestDelegationCheckSkips(t *testing.T) {
	linkedNone := fakeLinked{servers: map[string][]triage.LinkedServer{"MSSQLSERVER:1433": {{Name: "FIXED", Product: "SQL Server"}}}}
	for _, tt := range []struct {
		name    string
		c       Delegation
		want    string
		lacking triage.Missing
	}{
		{"no paths", Delegation{Dir: delegationDir()}, "the inventory names none to or from sqlbe, and linked servers are not read", ""},
		{"no directory", Delegation{Routes: []DelegationRoute{webRoute(nil)}, NoSource: "no directory source: x"}, "no directory source: x", triage.MissingDirectory},
		{"no linked server", Delegation{Dir: delegationDir(), Linked: fakeLinked{}}, "it has no linked servers", ""},
		{"none forwards", Delegation{Dir: delegationDir(), Linked: linkedNone}, "its linked server does not forward", ""},
		{"linked servers unread", Delegation{Dir: delegationDir(), Linked: fakeLinked{err: errors.New("18452")}},
			"and the linked servers of MSSQLSERVER:1433 could not be read: 18452", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.c.Run(t.Context(), sqlbe)
			reason, ok := triage.IsSkip(err)
			if !ok || !strings.Contains(reason, tt.want) || triage.Lacking(err) != tt.lacking {
				t.Errorf("err = %v (lacking %q); want a skip saying %q, lacking %q", err, triage.Lacking(err), tt.want, tt.lacking)
			}
		})
	}
}

// TestDelegationCheckPartial: an account that cannot be read and a proof that could
// not be asked for make the check's error, and everything else is kept; linked servers
// that cannot be listed are said in the detail, for the sql check reports the login.
func TestDelegationCheckPartial(t *testing.T) {
	dir := delegationDir()
	dir.broken = map[string]string{`corp\svc_sqlbe`: "ldaps://dc1: connection reset"}
	prover := &fakeProver{err: "kerberos: KDC unreachable"}
	c := Delegation{Dir: dir, Routes: []DelegationRoute{webRoute(prover, `CORP\alice`)},
		Linked: fakeLinked{err: errors.New("log in to sqlbe: 18456")}}
	res, err := c.Run(t.Context(), sqlbe)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"connection reset", "KDC unreachable"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if want := "the linked servers of MSSQLSERVER:1433 could not be read: log in to sqlbe: 18456"; strings.Contains(err.Error(), "18456") || !strings.Contains(res.Detail, want) {
		t.Errorf("error %q, detail %q; want the detail to say %q", err, res.Detail, want)
	}
	d := res.Obs.Delegation
	if len(d.Accounts) != 3 || d.Accounts[1].Err == "" || len(d.Proofs) != 2 {
		t.Errorf("facts = %+v; want every account and proof kept", d)
	}
}

// TestDelegationCheckCanceled: a canceled triage stops asking and says so.
func TestDelegationCheckCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Delegation{Dir: delegationDir(), Routes: []DelegationRoute{webRoute(&fakeProver{}, `CORP\alice`)}}.Run(ctx, sqlbe)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v; want context.Canceled", err)
	}
}
