package directory_test

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/authtriage/authtriage/internal/testdomain"
	"github.com/authtriage/authtriage/sources/directory"
	"github.com/authtriage/authtriage/triage"
)

// TestIntegrationDelegation: what the Samba domain says of the second hop's accounts
// is what scripts/testdomain.sh seeded: the front ends' flags and allowed SPNs, the
// resource-based delegation of svc_sqlrbcd decoded from the security descriptor
// samba-tool wrote and its principal found by SID, bob NOT_DELEGATED and carol in
// Protected Users (through tokenGroups).
func TestIntegrationDelegation(t *testing.T) {
	d := testdomain.Load(t)
	if len(d.Delegation.FrontEnds) == 0 {
		t.Skip("the test domain was seeded without the second hop's accounts")
	}
	c := liveClient(t, d)
	// sid returns the SID of the account sam, looked up as Account does.
	sid := func(sam string) string {
		t.Helper()
		a, err := c.Account(t.Context(), sam)
		if err != nil {
			t.Fatalf("Account(%s): %v", sam, err)
		}
		return a.SID
	}
	check := func(t *testing.T, got triage.DelegationAccount, sam string) {
		t.Helper()
		if got.Err != "" {
			t.Errorf("Err = %q", got.Err)
		}
		if got.Account == nil {
			t.Fatalf("no account %s", sam)
		}
		if got.Account.SAMAccountName != sam || got.Account.SID != sid(sam) {
			t.Errorf("Account = %s %s; want %s", got.Account.SAMAccountName, got.Account.SID, sam)
		}
	}

	for _, name := range slices.Sorted(maps.Keys(d.Delegation.FrontEnds)) {
		f := d.Delegation.FrontEnds[name]
		t.Run("front end "+name, func(t *testing.T) {
			got := c.Delegation(t.Context(), d.NetBIOS+`\`+f.Account, "front end")
			check(t, got, f.Account)
			if got.Account == nil {
				return
			}
			uac := got.Account.UAC
			if pt := uac&triage.UACTrustedToAuthForDelegation != 0; pt != f.ProtocolTransition {
				t.Errorf("TRUSTED_TO_AUTH_FOR_DELEGATION = %v; want %v (UAC %#x)", pt, f.ProtocolTransition, uac)
			}
			if uac&triage.UACTrustedForDelegation != 0 {
				t.Errorf("TRUSTED_FOR_DELEGATION set (UAC %#x)", uac)
			}
			if !sameFold(got.AllowedToDelegateTo, f.AllowedToDelegateTo) {
				t.Errorf("AllowedToDelegateTo = %q; want %q", got.AllowedToDelegateTo, f.AllowedToDelegateTo)
			}
			if len(got.AllowedToActOnBehalf)+len(got.DeniedToActOnBehalf) != 0 || got.ProtectedUser {
				t.Errorf("Delegation = %+v; want no resource-based delegation and not protected", got)
			}
		})
	}
	if web := d.Delegation.FrontEnds[testdomain.FrontEndWeb]; !sameFold(web.AllowedToDelegateTo,
		[]string{"MSSQLSvc/sqlbe." + d.DNSDomain + ":1433", "MSSQLSvc/sqlbe." + d.DNSDomain}) {
		t.Errorf("svc_web is seeded with %q; this test expects both sqlbe SPN forms", web.AllowedToDelegateTo)
	}

	for _, name := range slices.Sorted(maps.Keys(d.Delegation.BackEnds)) {
		b := d.Delegation.BackEnds[name]
		t.Run("back end "+name, func(t *testing.T) {
			got := c.Delegation(t.Context(), b.ServiceAccount+"@"+d.DNSDomain, "back end")
			check(t, got, b.ServiceAccount)
			var want []triage.Principal
			for _, sam := range b.AllowedToActOnBehalf {
				want = append(want, triage.Principal{SID: sid(sam), Name: d.NetBIOS + `\` + sam})
			}
			if !slices.Equal(got.AllowedToActOnBehalf, want) || len(got.DeniedToActOnBehalf) != 0 {
				t.Errorf("AllowedToActOnBehalf, DeniedToActOnBehalf = %+v, %+v; want %+v, none",
					got.AllowedToActOnBehalf, got.DeniedToActOnBehalf, want)
			}
		})
	}
	if rbcd := d.Delegation.BackEnds[testdomain.BackEndRBCD]; !slices.Equal(rbcd.AllowedToActOnBehalf, []string{testdomain.FrontEndRBCD}) {
		t.Errorf("sqlrbcd is seeded allowing %q; this test expects %s", rbcd.AllowedToActOnBehalf, testdomain.FrontEndRBCD)
	}

	for _, name := range slices.Sorted(maps.Keys(d.Delegation.Users)) {
		u := d.Delegation.Users[name]
		t.Run("user "+name, func(t *testing.T) {
			got := c.Delegation(t.Context(), u.Name, "user")
			check(t, got, u.Name)
			if got.Account == nil {
				return
			}
			if nd := got.Account.UAC&triage.UACNotDelegated != 0; nd != u.NotDelegated {
				t.Errorf("NOT_DELEGATED = %v; want %v", nd, u.NotDelegated)
			}
			if got.ProtectedUser != u.ProtectedUser {
				t.Errorf("ProtectedUser = %v; want %v", got.ProtectedUser, u.ProtectedUser)
			}
		})
	}
	for sam, want := range map[string][2]bool{testdomain.UserBob: {true, false}, testdomain.UserCarol: {false, true}, testdomain.UserAlice: {false, false}} {
		if u := d.Delegation.Users[sam]; u.NotDelegated != want[0] || u.ProtectedUser != want[1] {
			t.Errorf("%s is seeded as %+v; this test expects NOT_DELEGATED %v, Protected Users %v", sam, u, want[0], want[1])
		}
	}

	// Names that are not accounts are answered without an account, filters never
	// widened.
	for _, name := range []string{"svc_web*", "nobody_here", "svc_web)(sAMAccountName=*"} {
		if got := c.Delegation(t.Context(), name, "front end"); got.Account != nil {
			t.Errorf("Delegation(%q) = %s; want no account", name, got.Account.DN)
		}
	}
}

// TestIntegrationDelegationLDIF: an ldapsearch export of the test domain says of the
// second hop's accounts what the live directory says, Protected Users membership
// read from memberOf instead of tokenGroups.
func TestIntegrationDelegationLDIF(t *testing.T) {
	d := testdomain.Load(t)
	if len(d.Delegation.FrontEnds) == 0 {
		t.Skip("the test domain was seeded without the second hop's accounts")
	}
	ldapsearch, err := exec.LookPath("ldapsearch")
	if err != nil {
		t.Skip("no ldapsearch (ldap-utils) to export the domain with")
	}
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(d.BindPassword), 0o600); err != nil {
		t.Fatal(err)
	}
	base := "DC=" + strings.ReplaceAll(d.DNSDomain, ".", ",DC=")
	cmd := exec.CommandContext(t.Context(), ldapsearch, "-LLL", "-H", d.LDAPURL, "-D", d.BindDN, "-y", pw,
		"-b", base, "(|(objectClass=user)(objectClass=group))", "*")
	cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+d.CAFile)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ldapsearch: %v: %s", err, stderr.String())
	}
	l, err := directory.LoadLDIF(bytes.NewReader(out), "export.ldif")
	if err != nil {
		t.Fatal(err)
	}
	c := liveClient(t, d)
	var names []string
	for _, f := range d.Delegation.FrontEnds {
		names = append(names, f.Account)
	}
	for _, b := range d.Delegation.BackEnds {
		names = append(names, b.ServiceAccount)
	}
	for _, u := range d.Delegation.Users {
		names = append(names, u.Name)
	}
	slices.Sort(names)
	for _, name := range names {
		live, offline := c.Delegation(t.Context(), name, "user"), l.Delegation(t.Context(), name, "user")
		if live.Account == nil || offline.Account == nil {
			t.Errorf("%s: no account: live %q, LDIF %q", name, live.Err, offline.Err)
			continue
		}
		if live.Account.SID != offline.Account.SID || live.Account.UAC != offline.Account.UAC {
			t.Errorf("%s: live %s UAC %#x, LDIF %s UAC %#x", name, live.Account.SID, live.Account.UAC, offline.Account.SID, offline.Account.UAC)
		}
		live.Account, offline.Account = nil, nil
		if diff := cmp.Diff(live, offline, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s: live and LDIF differ (-live +LDIF):\n%s", name, diff)
		}
	}
	if carol := l.Delegation(t.Context(), testdomain.UserCarol, "user"); !carol.ProtectedUser {
		t.Errorf("the export does not show carol in Protected Users: %+v", carol)
	}
}

// sameFold reports whether a and b hold the same strings, in any order and case.
func sameFold(a, b []string) bool {
	norm := func(l []string) []string {
		out := make([]string, len(l))
		for i, s := range l {
			out[i] = strings.ToLower(s)
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(norm(a), norm(b))
}
