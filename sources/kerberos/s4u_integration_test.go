package kerberos_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/internal/testdomain"
	"github.com/authtriage/authtriage/sources/kerberos"
	"github.com/authtriage/authtriage/triage"
)

// TestIntegrationProveDelegation proves each of the test domain's delegation paths
// (testdomain's Delegation.Proofs, whose answers its TestKDCDelegation checks with MIT's
// kvno) as the front end with its keytab, and checks what the Samba 4.17 KDC answered:
//   - svc_web as alice to either sqlbe SPN: both tickets, the S4U2self one forwardable;
//   - svc_webnoport to the port form: KDC_ERR_BADOPTION at S4U2proxy;
//   - svc_web as bob (NOT_DELEGATED): a S4U2self ticket that is not forwardable, then
//     KDC_ERR_BADOPTION;
//   - svc_webnone and svc_webnopt: not forwardable, then KDC_ERR_BADOPTION;
//   - svc_webrbcd to sqlrbcd, resource-based: KDC_ERR_BADOPTION without an NTSTATUS,
//     reported as Unprovable, since the directory allows it (sqlrbcd's
//     msDS-AllowedToActOnBehalfOfOtherIdentity names svc_webrbcd).
//
// Each answer is then asked again of MIT's kinit and kvno -U USER -P SPN, when they are
// installed, which must agree: the S4U2self ticket's forwardable flag and whether
// S4U2proxy gave a ticket.
func TestIntegrationProveDelegation(t *testing.T) {
	d := testdomain.Load(t)
	skipIfSkewed(t, d)
	if len(d.Delegation.Proofs) == 0 {
		t.Fatal("the test domain has no delegation accounts: it was seeded by an older scripts/testdomain.sh")
	}
	mit := haveMIT()
	for _, p := range d.Delegation.Proofs {
		if p.PlainTGT {
			continue // ProveDelegation always asks for a forwardable TGT
		}
		t.Run(p.Name(), func(t *testing.T) {
			t.Parallel()
			f := d.FrontEnd(t, p.FrontEnd)
			rbcd := slices.ContainsFunc(f.ResourceBased, func(b string) bool { return d.BackEnd(t, b).SPN() == p.SPN })
			path := triage.DelegationPath{Account: f.Account, BackEnd: strings.TrimPrefix(strings.Split(p.SPN, ":")[0], "MSSQLSvc/"), Via: "inventory"}
			got := kerberos.ProveDelegation(t.Context(), kerberos.DelegationConfig{
				Krb5Conf: d.Krb5Conf, Principal: f.Principal(d.Realm), Keytab: f.Keytab,
			}, path, p.User, p.SPN, rbcd)
			t.Logf("%s (%s): %+v", p.Name(), p.Why, got)

			want := triage.DelegationProof{
				Path: path, User: p.User + "@" + d.Realm, SPN: p.SPN,
				SelfIssued: true, SelfForwardable: p.SelfForwardable, ProxyIssued: p.Proxy == testdomain.KDCOK,
			}
			if p.Proxy != testdomain.KDCOK {
				want.Step, want.KDCError, want.ErrorName = kerberos.StepS4U2Proxy, p.Proxy, kerberos.CodeName(p.Proxy)
			}
			if rbcd && p.Proxy == testdomain.KDCErrBadOption {
				if !strings.Contains(got.Unprovable, "KDC_ERR_BADOPTION and no NTSTATUS") {
					t.Errorf("Unprovable = %q; want the resource-based refusal without NTSTATUS reported as unprovable", got.Unprovable)
				}
				want.Unprovable = got.Unprovable
			}
			if got != want {
				t.Errorf("ProveDelegation =\n%+v\nwant\n%+v", got, want)
			}

			if mit {
				fwd, issued := kvnoS4U(t, d, f, p.User, p.SPN)
				if fwd != got.SelfForwardable || issued != got.ProxyIssued {
					t.Errorf("MIT kvno -U %s -P %s disagrees: S4U2self forwardable %v, S4U2proxy ticket %v",
						p.User, p.SPN, fwd, issued)
				}
			}
		})
	}
}

// TestIntegrationProveDelegationRefusals: a user the directory does not have is refused
// at S4U2self, a back-end SPN nobody holds at S4U2proxy, and a wrong password stops the
// proof at the front end's login, as Err. The front end logs in with its password here.
func TestIntegrationProveDelegationRefusals(t *testing.T) {
	d := testdomain.Load(t)
	skipIfSkewed(t, d)
	web := d.FrontEnd(t, testdomain.FrontEndWeb)
	be := d.BackEnd(t, testdomain.BackEndSQL)
	cfg := kerberos.DelegationConfig{
		Realm: d.Realm, KDCs: []string{d.KDC}, Principal: web.Account, Password: web.Password,
		Timeout: 20 * time.Second,
	}
	wrong := cfg
	wrong.Password = "not-" + web.Password
	for _, tt := range []struct {
		name      string
		cfg       kerberos.DelegationConfig
		user, spn string
		step      string
		code      int
		err       string
	}{
		{"works with the password", cfg, `CORP\alice`, be.SPN(), "", 0, ""},
		{"unknown user", cfg, "nosuchuser", be.SPN(), kerberos.StepS4U2Self, 6, ""},
		{"unknown SPN", cfg, "alice", "MSSQLSvc/nosuch.corp.test:1433", kerberos.StepS4U2Proxy, 7, ""},
		{"wrong password", wrong, "alice", be.SPN(), "", 0, "get TGT for svc_web@CORP.TEST: KRB Error: (24) KDC_ERR_PREAUTH_FAILED"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := kerberos.ProveDelegation(t.Context(), tt.cfg, triage.DelegationPath{Account: web.Account}, tt.user, tt.spn, false)
			t.Logf("%+v", got)
			if got.Step != tt.step || got.KDCError != tt.code || !strings.HasPrefix(got.Err, tt.err) || (tt.err == "") != (got.Err == "") {
				t.Errorf("proof = %+v; want step %q code %d err %q", got, tt.step, tt.code, tt.err)
			}
			if tt.step == "" && tt.err == "" && !got.ProxyIssued {
				t.Errorf("no S4U2proxy ticket: %+v", got)
			}
			if strings.Contains(got.Err, web.Password) {
				t.Errorf("Err holds the password: %q", got.Err)
			}
		})
	}
}

func haveMIT() bool {
	for _, tool := range []string{"kinit", "kvno", "klist"} {
		if _, err := exec.LookPath(tool); err != nil {
			return false
		}
	}
	return true
}

// kvnoS4U asks the KDC the same with MIT's tools and a private credential cache: kinit
// -f -k -t KEYTAB FRONT@REALM, kvno -U USER -P SPN, klist -f. It returns whether the
// S4U2self ticket (the front end's, for USER) is forwardable and whether kvno got the
// ticket to SPN.
func kvnoS4U(t *testing.T, d testdomain.Domain, f testdomain.FrontEnd, user, spn string) (selfForwardable, proxyIssued bool) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	env := []string{"KRB5_CONFIG=" + d.Krb5Conf, "KRB5CCNAME=FILE:" + filepath.Join(dir, "cc")}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KRB5") {
			env = append(env, kv)
		}
	}
	run := func(name string, args ...string) (string, int) {
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, &out, &out
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out.String(), ee.ExitCode()
		} else if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return out.String(), 0
	}
	if out, code := run("kinit", "-f", "-k", "-t", f.Keytab, f.Principal(d.Realm)); code != 0 {
		t.Fatalf("kinit: %s", out)
	}
	kvno, code := run("kvno", "-U", user, "-P", spn)
	klist, _ := run("klist", "-f")
	t.Logf("kvno -U %s -P %s: exit %d: %s", user, spn, code, strings.TrimSpace(kvno))
	// klist -f: "... svc_web@CORP.TEST\n\tfor client alice@CORP.TEST, ..., Flags: FRAT"
	lines := strings.Split(klist, "\n")
	for i, l := range lines {
		if strings.HasSuffix(strings.TrimSpace(l), " "+f.Principal(d.Realm)) && i+1 < len(lines) &&
			strings.Contains(lines[i+1], "for client "+user+"@"+d.Realm) {
			_, flags, _ := strings.Cut(lines[i+1], "Flags: ")
			selfForwardable = strings.Contains(flags, "F")
		}
	}
	return selfForwardable, code == 0
}
