package diagnosis

import (
	"strconv"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// returnCodes explain the Windows return codes of 26037/26067 (SPN registration).
// SQL Server's message ("Database engine events and errors (26000 to 27999)",
// https://learn.microsoft.com/sql/relational-databases/errors-events/database-engine-events-and-errors-26000-to-27999)
// gives the code but does not explain it. 0x2098 and 0x21c7 are system error codes:
// "System Error Codes (8200-8999)",
// https://learn.microsoft.com/windows/win32/debug/system-error-codes--8200-8999-
// (8344 ERROR_DS_INSUFF_ACCESS_RIGHTS "Insufficient access rights to perform the
// operation"; 8647 ERROR_DS_SPN_VALUE_NOT_UNIQUE_IN_FOREST "The operation failed because
// SPN value provided for addition/modification is not unique forest-wide"). Microsoft
// documents no meaning for 0xffffffff in these messages; the text says so.
var returnCodes = map[string]string{
	"0x2098":     "ERROR_DS_INSUFF_ACCESS_RIGHTS (insufficient access rights): the service account may not write servicePrincipalName",
	"0x21c7":     "ERROR_DS_SPN_VALUE_NOT_UNIQUE_IN_FOREST: another account in the forest already has this SPN",
	"0xffffffff": "not documented by Microsoft; in the field it goes with a host that could not reach a domain controller at start-up, or is not joined to a domain",
}

// loginState returns what an 18456 state means, as triage.LoginStateFor words it: a
// state Microsoft does not describe says so.
func loginState(state int) string { return triage.LoginStateFor(state).Meaning }

// describeSSPI returns "0x80090311 SEC_E_NO_AUTHENTICATING_AUTHORITY (no authority
// could be contacted ...)" from triage's table, or the code alone when it is not there.
func describeSSPI(hex string) string { return triage.DescribeSSPI(hex) }

// describeKerberos returns "0x7 KDC_ERR_S_PRINCIPAL_UNKNOWN: the KDC found no account
// with this service principal name" for a hex code ("0x7") from triage's table, or a
// text that says authtriage has no meaning for it; a string that is not a hex code is
// returned as it is.
func describeKerberos(hex string) string {
	if n := kerberosCode(hex); n >= 0 {
		return triage.DescribeKerberos(n)
	}
	return hex
}

// kerberosCode returns the numeric Kerberos error code of a hex string ("0x7"), or -1.
func kerberosCode(hex string) int {
	h, ok := strings.CutPrefix(strings.ToLower(hex), "0x")
	if !ok {
		return -1
	}
	n, err := strconv.ParseUint(h, 16, 31)
	if err != nil {
		return -1
	}
	return int(n)
}
