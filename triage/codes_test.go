package triage_test

import (
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

// TestCodeTablesCiteVerifiedPages: every Kerberos error, SSPI status and 18456 state
// names its source, and the source is a page authtriage looked up.
func TestCodeTablesCiteVerifiedPages(t *testing.T) {
	check := func(what string, s triage.Citation) {
		t.Helper()
		if s.Title == "" || s.URL == "" {
			t.Errorf("%s has no source", what)
		} else if !triage.VerifiedPage(s.URL) {
			t.Errorf("%s cites %s, which is not in the list of verified pages", what, s.URL)
		}
	}
	seen := map[int]bool{}
	for _, e := range triage.KerberosErrors() {
		check(e.Name, e.Source)
		if seen[e.Code] || e.Meaning == "" || e.Name == "" {
			t.Errorf("Kerberos error %#x: duplicate or without name or meaning", e.Code)
		}
		seen[e.Code] = true
	}
	for _, s := range triage.SSPIStatuses() {
		check(s.Symbol, s.Source)
		if s.Hex != strings.ToLower(s.Hex) || !strings.HasPrefix(s.Hex, "0x8009") || s.Meaning == "" {
			t.Errorf("SSPI status %q: want lower-case 0x8009.... hex and a meaning", s.Hex)
		}
	}
	states := map[int]bool{}
	for _, s := range triage.LoginStates() {
		for _, n := range s.States {
			check("18456 state", s.Source)
			if states[n] {
				t.Errorf("18456 state %d is listed twice", n)
			}
			states[n] = true
		}
	}
}

func TestCodeLookups(t *testing.T) {
	tests := []struct{ got, want string }{
		{triage.DescribeKerberos(0x19), "0x19 KDC_ERR_PREAUTH_REQUIRED: additional pre-authentication required"},
		{triage.DescribeKerberos(0x2D), "0x2D KRB_AP_ERR_NOKEY"},
		{triage.DescribeKerberos(0x3C), "0x3C KRB_ERR_GENERIC"},
		{triage.DescribeKerberos(0x63), "0x63 (a Kerberos error code authtriage has no meaning for)"},
		{triage.DescribeSSPI("0x8009030C"), "0x8009030c SEC_E_LOGON_DENIED (the logon failed)"},
		{triage.DescribeSSPI("0x80090350"), "0x80090350 SEC_E_DOWNGRADE_DETECTED"},
		{triage.DescribeSSPI("0x80091234"), "0x80091234"},
		{triage.LoginStateFor(5).Meaning, "the user ID is not valid"},
		{triage.LoginStateFor(46).Meaning, "the database requested by the user could not be found"},
		{triage.LoginStateFor(40).Meaning, "state 40 is not described by Microsoft"},
		{triage.LoginStateFor(58).Meaning, "or the login's SIDs do not match"},
		{triage.LoginStateFor(-1).Meaning, "the state was not logged"},
	}
	for _, tt := range tests {
		if !strings.Contains(tt.got, tt.want) {
			t.Errorf("got %q; want it to contain %q", tt.got, tt.want)
		}
	}
	for _, name := range []string{"KDC_ERR_ETYPE_NOTSUPP", "KDC_ERR_ETYPE_NOSUPP", "kdc_err_etype_nosupp"} {
		if e, ok := triage.KerberosErrorNamed(name); !ok || e.Code != 0xE {
			t.Errorf("KerberosErrorNamed(%q) = %v, %v; want code 14", name, e, ok)
		}
	}
	if e, ok := triage.KerberosErrorNamed("KERB_AP_ERR_MODIFIED"); !ok || e.Code != 0x29 {
		t.Errorf("KERB_AP_ERR_MODIFIED = %v, %v; want 0x29", e, ok)
	}
	if triage.LoginStateFor(40).Documented || !triage.LoginStateFor(2).Documented {
		t.Error("state 40 must be undocumented and state 2 documented")
	}
}
