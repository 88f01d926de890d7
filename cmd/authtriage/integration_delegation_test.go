package main

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/authtriage/authtriage/internal/tdsfake"
	"github.com/authtriage/authtriage/internal/testdomain"
	"github.com/authtriage/authtriage/triage"
)

// TestIntegrationDelegation runs `authtriage check BACKEND --config FILE` against the
// test domain's second hops (scripts/testdomain.sh): one delegation entry a scenario,
// the front end's keytab given, so that each path is read from the directory and
// proven with the KDC. Each scenario reports exactly its cause, and the working path
// none, with the KDC's ticket issued.
func TestIntegrationDelegation(t *testing.T) {
	d := loadDomain(t)
	alice, bob := d.NetBIOS+`\`+testdomain.UserAlice, d.NetBIOS+`\`+testdomain.UserBob
	carol := d.NetBIOS + `\` + testdomain.UserCarol
	tests := []struct {
		name     string
		front    string   // the front end's account (testdomain.FrontEnd*)
		backEnd  string   // the back end triaged (testdomain.BackEnd*)
		users    []string // the entry's users
		as       []string // check --as
		cause    triage.CauseID
		severity triage.Severity // the finding's, when above info
		detail   string          // in the delegation check's detail
		evidence string          // in the finding's evidence
		summary  string          // in the finding's summary
	}{
		{name: "constrained delegation works", front: testdomain.FrontEndWeb, backEnd: testdomain.BackEndSQL, users: []string{alice},
			detail: "2 of 2 tickets issued through the front end"},
		{name: "front end not trusted", front: testdomain.FrontEndNone, backEnd: testdomain.BackEndSQL, users: []string{alice},
			cause: triage.DelegationNotTrusted, detail: "0 of 2 tickets issued"},
		{name: "back end not in the allowed list", front: testdomain.FrontEndWeb, backEnd: testdomain.BackEndRBCD, users: []string{alice},
			cause: triage.DelegationSPNNotAllowed, detail: "0 of 2 tickets issued"},
		{name: "port form missing", front: testdomain.FrontEndNoPort, backEnd: testdomain.BackEndSQL, users: []string{alice},
			cause: triage.DelegationPortFormMissing, detail: "1 of 2 tickets issued", evidence: "MSSQLSvc/sqlbe." + d.DNSDomain + ":1433"},
		{name: "sensitive user", front: testdomain.FrontEndWeb, backEnd: testdomain.BackEndSQL, as: []string{bob},
			cause: triage.DelegationUserSensitive, detail: "0 of 2 tickets issued", evidence: testdomain.UserBob},
		{name: "protocol transition needed", front: testdomain.FrontEndNoPT, backEnd: testdomain.BackEndSQL, users: []string{alice},
			cause: triage.DelegationProtocolTransition, detail: "0 of 2 tickets issued"},
		// The domain is at functional level 2008 R2: the KDC delegates carol, a member of
		// Protected Users, which a Windows domain controller at 2012 R2 or later refuses
		// (testdomain's Proofs).
		{name: "Protected Users member delegated below 2012 R2", front: testdomain.FrontEndWeb, backEnd: testdomain.BackEndSQL, as: []string{carol},
			cause: triage.DelegationProtectionNotEnforced, severity: triage.Warning, detail: "2 of 2 tickets issued", evidence: testdomain.UserCarol,
			summary: carol + " is a member of Protected Users, yet the KDC issued its ticket to sqlbe through " + d.NetBIOS + `\` + testdomain.FrontEndWeb},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			startDelegationSQL(t, d, d.BackEnd(t, tt.backEnd).ServiceAccount, nil)
			cfg := delegationConfig(t, d, fmt.Sprintf("  - account: '%s\\%s'\n    back_ends: [%s]\n    users: [%s]\n    keytab: %s\n",
				d.NetBIOS, tt.front, tt.backEnd, quoteList(tt.users), d.FrontEnd(t, tt.front).Keytab))
			args := []string{"check", tt.backEnd, "--config", cfg}
			for _, u := range tt.as {
				args = append(args, "--as", u)
			}
			rep := runJSON(t, args...)
			c := checkNamed(t, rep, "delegation")
			if !strings.Contains(c.Detail, tt.detail) {
				t.Errorf("delegation check: %s %q; want %q", c.Status, c.Detail, tt.detail)
			}
			causes := problemCauses(rep, "delegation.")
			if tt.cause == "" {
				causes = problemCauses(rep, "")
				if len(causes) != 0 || c.Status != triage.CheckPass {
					t.Errorf("causes %v, delegation check %s; want none, and the check passed\n%+v", causes, c.Status, rep.Findings)
				}
				if rep.Delegation == nil || len(rep.Delegation.Proofs) != 2 ||
					slices.ContainsFunc(rep.Delegation.Proofs, func(p triage.DelegationProof) bool { return !p.ProxyIssued }) {
					t.Errorf("report's delegation %+v; want both tickets issued", rep.Delegation)
				}
				return
			}
			if !slices.Equal(causes, []string{string(tt.cause)}) {
				t.Fatalf("causes = %v; want exactly %s\n%+v", causes, tt.cause, rep.Findings)
			}
			f := findCause(rep, tt.cause)
			if !evidenceSays(*f, tt.front) || !evidenceSays(*f, tt.evidence) {
				t.Errorf("%s evidence %+v names neither %s nor %q", tt.cause, f.Evidence, tt.front, tt.evidence)
			}
			if (tt.severity > triage.Info && f.Severity != tt.severity) || !strings.Contains(f.Summary, tt.summary) {
				t.Errorf("%s: %s %q; want %s with %q", tt.cause, f.Severity, f.Summary, tt.severity, tt.summary)
			}
		})
	}
}

// TestIntegrationDelegationResourceBased: svc_webrbcd reaches sqlrbcd through the back
// end's resource-based delegation alone. The directory says the path is allowed; the
// test domain's KDC (Samba 4.17's Heimdal) does not implement resource-based
// delegation, and the check says its answer proves nothing rather than calling the
// path broken: delegation.resource_based, a warning that names the front end's SID in
// the back end's list and why the KDC cannot prove it, with the KDC's checks to make.
// (sqlrbcd holds the SPN with the port only: the KDC refuses the one without as
// unknown, which does prove something.)
func TestIntegrationDelegationResourceBased(t *testing.T) {
	d := loadDomain(t)
	startDelegationSQL(t, d, d.BackEnd(t, testdomain.BackEndRBCD).ServiceAccount, nil)
	cfg := delegationConfig(t, d, fmt.Sprintf("  - account: '%s\\%s'\n    back_ends: [%s]\n    users: ['%s\\%s']\n    keytab: %s\n",
		d.NetBIOS, testdomain.FrontEndRBCD, testdomain.BackEndRBCD, d.NetBIOS, testdomain.UserAlice, d.FrontEnd(t, testdomain.FrontEndRBCD).Keytab))
	rep := runJSON(t, "check", testdomain.BackEndRBCD, "--config", cfg)
	c := checkNamed(t, rep, "delegation")
	want := `CORP\svc_webrbcd -> sqlrbcd: 0 of 2 tickets issued through the front end (resource-based delegation); the KDC's answer cannot prove or disprove 1`
	if c.Status == triage.CheckError || c.Detail != want {
		t.Errorf("delegation check: %s %q; want %q", c.Status, c.Detail, want)
	}
	if causes := problemCauses(rep, "delegation."); !slices.Equal(causes, []string{string(triage.DelegationResourceBased)}) {
		t.Fatalf("causes %v; want exactly %s: the directory allows the path, and this KDC cannot prove it\n%+v", causes, triage.DelegationResourceBased, rep.Findings)
	}
	f := findCause(rep, triage.DelegationResourceBased)
	front := d.NetBIOS + `\` + testdomain.FrontEndRBCD
	sid := ""
	for _, a := range rep.Delegation.Accounts {
		if a.Role == "front end" && a.Account != nil {
			sid = a.Account.SID
		}
	}
	for _, want := range []string{
		front + " may delegate its users to sqlrbcd through resource-based constrained delegation",
		"msDS-AllowedToActOnBehalfOfOtherIdentity allows " + front + " by its SID (" + sid + ")",
		"the KDC's answer through the front end cannot prove it: the KDC refused resource-based delegation with KDC_ERR_BADOPTION and no NTSTATUS",
	} {
		if sid == "" || !strings.Contains(f.Summary, want) {
			t.Errorf("%s: summary %q lacks %q", f.Cause, f.Summary, want)
		}
	}
	if f.Severity != triage.Warning || !slices.ContainsFunc(f.Remediation, func(s triage.Step) bool {
		return s.Command == "nltest /dsgetdc:"+d.DNSDomain+" /force /kdc"
	}) {
		t.Errorf("%s: %s, steps %+v; want a warning with the KDC's checks", f.Cause, f.Severity, f.Remediation)
	}
	b := d.BackEnd(t, testdomain.BackEndRBCD)
	if rep.Delegation == nil || !slices.ContainsFunc(rep.Delegation.Proofs, func(p triage.DelegationProof) bool {
		return p.SPN == b.SPN() && !p.ProxyIssued && p.Unprovable != ""
	}) {
		t.Errorf("report's delegation %+v; want the proof to %s said unprovable", rep.Delegation, b.SPN())
	}
}

// TestIntegrationDelegationLinkedServer: a linked server on sqlok that forwards its
// callers' credentials to sqlbe is a second hop from sqlok, found through SQL Server;
// sqlok's service account may not delegate.
func TestIntegrationDelegationLinkedServer(t *testing.T) {
	d := loadDomain(t)
	ok := d.Hosts[testdomain.HostOK]
	sql := startDelegationSQL(t, d, ok.ServiceAccount, []tdsfake.LinkedServer{
		{Name: "SQLBE", Product: "SQL Server", SelfAll: true},
		{Name: "REPORTS", Provider: "MSOLEDBSQL", DataSource: "sqlbe." + d.DNSDomain + ",1433"},
	})
	cfg := delegationConfig(t, d, "")
	rep := runJSON(t, "check", testdomain.HostOK, "--config", cfg)
	c := checkNamed(t, rep, "delegation")
	if want := testdomain.HostOK + " (" + d.NetBIOS + `\` + ok.ServiceAccount + ") -> sqlbe"; !strings.Contains(c.Detail, want) {
		t.Errorf("delegation check: %s %q; want the linked server's path %q", c.Status, c.Detail, want)
	}
	if causes := problemCauses(rep, ""); !slices.Equal(causes, []string{string(triage.DelegationNotTrusted)}) {
		t.Errorf("causes = %v; want exactly %s\n%+v", causes, triage.DelegationNotTrusted, rep.Findings)
	}
	if !slices.ContainsFunc(sql.Queries(), func(q string) bool { return strings.Contains(q, "sys.linked_logins") }) {
		t.Errorf("the linked servers were not read: queries %v", sql.Queries())
	}
}

// TestIntegrationDelegationAsRefused: --as takes an account, nothing else.
func TestIntegrationDelegationAsRefused(t *testing.T) {
	e, _, stderr := testEnv(nil)
	if code := e.run(t.Context(), []string{"check", "sqlbe", "--fqdn", "sqlbe.corp.test", "--as", "CORP\\a*b"}); code != exitUnknown ||
		!strings.Contains(stderr.String(), "--as:") {
		t.Errorf("exit %d, stderr %q; want a usage error about --as", code, stderr)
	}
}

// delegationConfig writes a configuration of the test domain whose inventory holds the
// back ends and sqlok, with the delegation entries given (YAML list items).
func delegationConfig(t *testing.T, d testdomain.Domain, entries string) string {
	t.Helper()
	hosts := map[string]testdomain.Host{testdomain.HostOK: d.Hosts[testdomain.HostOK]}
	for _, name := range []string{testdomain.BackEndSQL, testdomain.BackEndRBCD} {
		b := d.BackEnd(t, name)
		hosts[name] = testdomain.Host{Name: name, FQDN: b.FQDN, ServiceAccount: b.ServiceAccount}
	}
	path := domainConfig(t, d, hosts, d.Krb5Conf)
	if entries == "" {
		return path
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("delegation:\n" + entries); err != nil {
		t.Fatal(err)
	}
	return path
}

// startDelegationSQL starts a fake SQL Server where clients look for the host whose
// service account is account (all on 127.0.0.1:1433 in the domain's namespace), which
// validates tickets with that account's keys, as startSQL does, and shows linked
// (sys.servers) to the linked-server query.
func startDelegationSQL(t *testing.T, d testdomain.Domain, account string, linked []tdsfake.LinkedServer) *tdsfake.Server {
	t.Helper()
	kt, err := keytab.Load(d.DomainKeytab)
	if err != nil {
		t.Fatal(err)
	}
	return tdsfake.Start(t, tdsfake.Config{Addr: "127.0.0.1:1433",
		Kerberos:      &tdsfake.Kerberos{Keytab: kt, Principal: account},
		LinkedServers: tdsfake.LinkedServers{Servers: linked},
		ServiceAccountFor: func(tdsfake.Login) string {
			return d.NetBIOS + `\` + account
		}})
}

// checkNamed returns the report's check of that name.
func checkNamed(t *testing.T, rep triage.Report, name string) triage.CheckResult {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no %s check in the report", name)
	return triage.CheckResult{}
}

// problemCauses returns the causes starting with prefix of the findings above info,
// sorted, each once.
func problemCauses(rep triage.Report, prefix string) []string {
	var causes []string
	for _, f := range rep.Findings {
		if f.Severity > triage.Info && strings.HasPrefix(string(f.Cause), prefix) {
			causes = append(causes, string(f.Cause))
		}
	}
	slices.Sort(causes)
	return slices.Compact(causes)
}

// evidenceSays reports whether some evidence of f holds s ("" always).
func evidenceSays(f triage.Finding, s string) bool {
	return s == "" || slices.ContainsFunc(f.Evidence, func(e triage.Evidence) bool { return strings.Contains(e.Text, s) })
}

// quoteList writes names as a YAML flow list's items, single-quoted.
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + strings.ReplaceAll(n, "'", "''") + "'"
	}
	return strings.Join(q, ", ")
}
