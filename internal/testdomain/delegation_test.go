package testdomain

import (
	"slices"
	"strings"
	"testing"
)

// withDelegation adds the second hop's variables to env as scripts/testdomain.sh writes them.
func withDelegation(env map[string]string) map[string]string {
	env[EnvDelegationFrontEnds] = "svc_web,svc_webnopt,svc_webnoport,svc_webnone,svc_webrbcd"
	env[EnvDelegationBackEnds] = "sqlbe,sqlrbcd"
	env[EnvDelegationUsers] = "alice,bob,carol"
	for _, a := range strings.Split(env[EnvDelegationFrontEnds], ",") {
		env[EnvKeytabStart+strings.ToUpper(a)] = "/td/" + a + ".keytab"
		env[EnvPasswordStart+strings.ToUpper(a)] = "pw-" + a
	}
	for _, a := range []string{"svc_sqlbe", "svc_sqlrbcd", "alice", "bob", "carol"} {
		env[EnvPasswordStart+strings.ToUpper(a)] = "pw-" + a
	}
	return env
}

func TestFromEnvWithoutDelegation(t *testing.T) {
	env := sampleEnv()
	d, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Delegation.FrontEnds)+len(d.Delegation.BackEnds)+len(d.Delegation.Users)+len(d.Delegation.Proofs) != 0 {
		t.Errorf("Delegation = %+v for a domain seeded without it", d.Delegation)
	}
	tb := &fakeTB{TB: t}
	d.FrontEnd(tb, FrontEndWeb)
	if !strings.Contains(tb.failed, "older scripts/testdomain.sh") {
		t.Errorf("FrontEnd on a domain without delegation: failed %q", tb.failed)
	}
}

func TestFromEnvDelegation(t *testing.T) {
	env := withDelegation(sampleEnv())
	d, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	del := d.Delegation
	if len(del.FrontEnds) != 5 || len(del.BackEnds) != 2 || len(del.Users) != 3 {
		t.Fatalf("%d front ends, %d back ends, %d users", len(del.FrontEnds), len(del.BackEnds), len(del.Users))
	}
	both := []string{"MSSQLSvc/sqlbe.corp.test:1433", "MSSQLSvc/sqlbe.corp.test"}
	for _, tc := range []struct {
		account, spn string
		pt           bool
		allowed      []string
		rbcd         []string
	}{
		{FrontEndWeb, "HTTP/web.corp.test", true, both, nil},
		{FrontEndNoPT, "HTTP/webnopt.corp.test", false, both, nil},
		{FrontEndNoPort, "HTTP/webnoport.corp.test", true, both[1:], nil},
		{FrontEndNone, "HTTP/webnone.corp.test", false, nil, nil},
		{FrontEndRBCD, "HTTP/webrbcd.corp.test", false, nil, []string{BackEndRBCD}},
	} {
		f := d.FrontEnd(t, tc.account)
		if f.Account != tc.account || f.SPN != tc.spn || f.FQDN != strings.TrimPrefix(tc.spn, "HTTP/") ||
			f.Keytab != "/td/"+tc.account+".keytab" || f.Password != "pw-"+tc.account ||
			f.ProtocolTransition != tc.pt || !slices.Equal(f.AllowedToDelegateTo, tc.allowed) ||
			!slices.Equal(f.ResourceBased, tc.rbcd) || f.Scenario == "" {
			t.Errorf("%s: %+v", tc.account, f)
		}
		if got := f.Principal(d.Realm); got != tc.account+"@CORP.TEST" {
			t.Errorf("%s: Principal = %s", tc.account, got)
		}
		if d.Passwords[tc.account] != "pw-"+tc.account {
			t.Errorf("Passwords[%s] = %q", tc.account, d.Passwords[tc.account])
		}
	}
	be, rb := d.BackEnd(t, BackEndSQL), d.BackEnd(t, BackEndRBCD)
	if be.ServiceAccount != "svc_sqlbe" || be.FQDN != "sqlbe.corp.test" || !slices.Equal(be.SPNs, both) ||
		be.SPN() != both[0] || be.Password != "pw-svc_sqlbe" || len(be.AllowedToActOnBehalf) != 0 {
		t.Errorf("sqlbe: %+v", be)
	}
	if rb.ServiceAccount != "svc_sqlrbcd" || !slices.Equal(rb.SPNs, []string{"MSSQLSvc/sqlrbcd.corp.test:1433"}) ||
		!slices.Equal(rb.AllowedToActOnBehalf, []string{FrontEndRBCD}) {
		t.Errorf("sqlrbcd: %+v", rb)
	}
	alice, bob, carol := d.User(t, UserAlice), d.User(t, UserBob), d.User(t, UserCarol)
	if alice.NotDelegated || alice.ProtectedUser || !bob.NotDelegated || bob.ProtectedUser ||
		carol.NotDelegated || !carol.ProtectedUser || bob.Password != "pw-bob" {
		t.Errorf("users: %+v %+v %+v", alice, bob, carol)
	}

	// Every proof names seeded accounts and a back end's SPN, each front end has one,
	// and names are unique (they are subtest names).
	spns := map[string]bool{}
	for _, b := range del.BackEnds {
		for _, s := range b.SPNs {
			spns[s] = true
		}
	}
	fronts, names := map[string]bool{}, map[string]bool{}
	for _, p := range del.Proofs {
		_, okF := del.FrontEnds[p.FrontEnd]
		_, okU := del.Users[p.User]
		if !okF || !okU || !spns[p.SPN] || p.Why == "" || (p.Proxy != KDCOK && p.Proxy != KDCErrBadOption) {
			t.Errorf("proof %+v", p)
		}
		if p.Proxy == KDCOK && !p.SelfForwardable {
			t.Errorf("%s: a ticket from a S4U2self ticket that is not forwardable", p.Name())
		}
		if names[p.Name()] {
			t.Errorf("two proofs named %q", p.Name())
		}
		fronts[p.FrontEnd], names[p.Name()] = true, true
	}
	if len(fronts) != len(del.FrontEnds) {
		t.Errorf("proofs cover %d of %d front ends", len(fronts), len(del.FrontEnds))
	}
}

func TestFromEnvDelegationReportsEveryProblem(t *testing.T) {
	env := withDelegation(sampleEnv())
	env[EnvDelegationUsers] = "alice,bob"
	delete(env, EnvKeytabStart+"SVC_WEBNOPT")
	delete(env, EnvPasswordStart+"SVC_SQLRBCD")
	_, err := FromEnv(func(k string) string { return env[k] })
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{EnvDelegationUsers + " lacks carol", EnvKeytabStart + "SVC_WEBNOPT", "SVC_SQLRBCD"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}
