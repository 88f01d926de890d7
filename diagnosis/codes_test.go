package diagnosis

import (
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

// TestTicketCodesHaveMeanings: every KRB-ERROR code a ticket request can come back
// with is shown with its name and meaning from triage's table, never as bare hex.
func TestTicketCodesHaveMeanings(t *testing.T) {
	const spn = "MSSQLSvc/sqlhost01.corp.example:1433"
	tests := []struct {
		code int
		want string
	}{
		{0x19, "0x19 KDC_ERR_PREAUTH_REQUIRED: additional pre-authentication required"},
		{0x1B, "0x1B KDC_ERR_MUST_USE_USER2USER: the server principal is valid for user-to-user authentication only"},
		{0x24, "0x24 KRB_AP_ERR_BADMATCH: the ticket and the authenticator do not match"},
		{0x2D, "0x2D KRB_AP_ERR_NOKEY: the service does not have the key to decrypt the ticket"},
		{0x2E, "0x2E KRB_AP_ERR_MUT_FAIL: mutual authentication failed"},
		{0x3C, "0x3C KRB_ERR_GENERIC: generic error"},
		{0x63, "0x63 (a Kerberos error code authtriage has no meaning for)"},
	}
	for _, tt := range tests {
		obs := triage.Observations{Directory: &triage.DirectoryFacts{Tickets: []triage.TicketResult{
			{SPN: spn, Code: tt.code},
		}}}
		var found bool
		for _, f := range (ticketRule{}).Apply(target, obs) {
			if f.Cause != triage.KerberosTicketFailed {
				continue
			}
			found = true
			if !strings.Contains(f.Summary, tt.want) {
				t.Errorf("code %#x: summary %q lacks %q", tt.code, f.Summary, tt.want)
			}
			if len(f.Evidence) != 1 || !strings.Contains(f.Evidence[0].Text, tt.want) {
				t.Errorf("code %#x: evidence %+v lacks %q", tt.code, f.Evidence, tt.want)
			}
		}
		if !found {
			t.Errorf("code %#x: no kerberos.ticket_failed finding", tt.code)
		}
	}
}

func TestCodeWrappers(t *testing.T) {
	tests := []struct{ got, want string }{
		{describeKerberos("0x7"), "0x7 KDC_ERR_S_PRINCIPAL_UNKNOWN: the KDC found no account with this service principal name"},
		{describeKerberos("0xE"), "0xE KDC_ERR_ETYPE_NOSUPP"},
		{describeKerberos("0xc000018b"), "0xc000018b"}, // an NTSTATUS is no Kerberos code
		{describeKerberos(""), ""},
		{describeSSPI("0x8009030c"), "0x8009030c SEC_E_LOGON_DENIED (the logon failed)"},
		{describeSSPI("0x80090350"), "0x80090350 SEC_E_DOWNGRADE_DETECTED (the system detected a possible attempt to compromise security"},
		{describeSSPI("0x80091234"), "0x80091234"},
		{loginState(5), "the user ID is not valid"},
		{loginState(40), "state 40 is not described by Microsoft"},
	}
	for _, tt := range tests {
		if !strings.HasPrefix(tt.got, tt.want) {
			t.Errorf("got %q; want it to start with %q", tt.got, tt.want)
		}
	}
	for _, s := range []int{1, 2, 5, 6, 7, 8, 9, 11, 12, 18, 38, 46, 58, 102, 111, 122, 124, 126, 132, 133} {
		if !triage.LoginStateFor(s).Documented || strings.Contains(loginState(s), "not described") {
			t.Errorf("state %d: %q; want Microsoft's meaning", s, loginState(s))
		}
	}
	if got := kerberosCode("0x80090311"); got != -1 {
		t.Errorf("kerberosCode(0x80090311) = %d; want -1", got)
	}
}
