package diagnosis

import (
	"fmt"
	"strconv"
	"strings"
)

// A code is a Windows, SSPI or Kerberos error code with its symbol and meaning.
type code struct {
	symbol, meaning string
}

// sspiCodes are the SEC_E codes SQL Server writes in 17806 and Windows in Kerberos
// and LsaSrv events, keyed by lower-case hex. Meanings are the Windows message texts.
var sspiCodes = map[string]code{
	"0x80090302": {"SEC_E_UNSUPPORTED_FUNCTION", "The function requested is not supported"},
	"0x80090303": {"SEC_E_TARGET_UNKNOWN", "The specified target is unknown or unreachable"},
	"0x80090304": {"SEC_E_INTERNAL_ERROR", "The Local Security Authority cannot be contacted"},
	"0x80090308": {"SEC_E_INVALID_TOKEN", "The token supplied to the function is invalid"},
	"0x8009030b": {"SEC_E_NO_IMPERSONATION", "The security context does not allow impersonation of the client"},
	"0x8009030c": {"SEC_E_LOGON_DENIED", "The logon attempt failed"},
	"0x8009030d": {"SEC_E_UNKNOWN_CREDENTIALS", "The credentials supplied to the package were not recognized"},
	"0x8009030e": {"SEC_E_NO_CREDENTIALS", "No credentials are available in the security package"},
	"0x8009030f": {"SEC_E_MESSAGE_ALTERED", "The message or signature supplied for verification has been altered"},
	"0x80090311": {"SEC_E_NO_AUTHENTICATING_AUTHORITY", "No authority could be contacted for authentication"},
	"0x80090317": {"SEC_E_CONTEXT_EXPIRED", "The context has expired and can no longer be used"},
	"0x80090321": {"SEC_E_BUFFER_TOO_SMALL", "The buffers supplied to a function was too small"},
	"0x80090322": {"SEC_E_WRONG_PRINCIPAL", "The target principal name is incorrect"},
	"0x80090324": {"SEC_E_TIME_SKEW", "The clocks on the client and server machines are skewed"},
	"0x80090332": {"SEC_E_SECURITY_QOS_FAILED", "The security context could not be established due to a failure in the requested quality of service"},
	"0x80090342": {"SEC_E_KDC_UNKNOWN_ETYPE", "The encryption type requested is not supported by the KDC"},
	"0x80090345": {"SEC_E_DELEGATION_REQUIRED", "The requested operation cannot be completed. The computer must be trusted for delegation"},
	"0x80090346": {"SEC_E_BAD_BINDINGS", "Client's supplied SSPI channel bindings were incorrect"},
	"0x80090348": {"SEC_E_NO_KERB_KEY", "No Kerberos key was found"},
	"0x80090357": {"SEC_E_CROSSREALM_DELEGATION_FAILURE", "The server was unable to complete the constrained delegation request for a target outside the server's realm"},
	"0x8009035e": {"SEC_E_DELEGATION_POLICY", "The client policy does not allow credential delegation to the target server"},
}

// kerberosCodes are KRB-ERROR codes as the KDC and Kerberos events report them.
var kerberosCodes = map[int]code{
	0x6:  {"KDC_ERR_C_PRINCIPAL_UNKNOWN", "the client account was not found in the directory"},
	0x7:  {"KDC_ERR_S_PRINCIPAL_UNKNOWN", "no account has this service principal name"},
	0x8:  {"KDC_ERR_PRINCIPAL_NOT_UNIQUE", "more than one account has this service principal name"},
	0x9:  {"KDC_ERR_NULL_KEY", "the account has no key; reset its password"},
	0xb:  {"KDC_ERR_NEVER_VALID", "the ticket is not valid yet: the clocks differ"},
	0xc:  {"KDC_ERR_POLICY", "a logon restriction refused the request"},
	0xd:  {"KDC_ERR_BADOPTION", "the KDC cannot honour a requested option (for example, delegation to an SPN not allowed)"},
	0xe:  {"KDC_ERR_ETYPE_NOTSUPP", "the KDC and the account share no encryption type"},
	0x12: {"KDC_ERR_CLIENT_REVOKED", "the account is disabled, expired or locked out"},
	0x13: {"KDC_ERR_SERVICE_REVOKED", "the service's account is disabled, expired or locked out"},
	0x17: {"KDC_ERR_KEY_EXPIRED", "the password has expired"},
	0x18: {"KDC_ERR_PREAUTH_FAILED", "the password is wrong"},
	0x1f: {"KRB_AP_ERR_BAD_INTEGRITY", "the integrity check on a decrypted field failed"},
	0x20: {"KRB_AP_ERR_TKT_EXPIRED", "the ticket has expired"},
	0x21: {"KRB_AP_ERR_TKT_NYV", "the ticket is not yet valid: the clocks differ"},
	0x25: {"KRB_AP_ERR_SKEW", "the clocks differ by more than the allowed skew"},
	0x29: {"KRB_AP_ERR_MODIFIED", "the server could not decrypt the ticket: the SPN is on another account, or the service's password differs"},
	0x2c: {"KRB_AP_ERR_BADKEYVER", "the service lacks the key version the ticket was made with"},
	0x44: {"KDC_ERR_WRONG_REALM", "the request went to the wrong realm"},
}

// returnCodes explain the Windows return codes of 26037/26067 (SPN registration).
var returnCodes = map[string]string{
	"0x2098":     "ERROR_DS_INSUFF_ACCESS_RIGHTS: the service account may not write servicePrincipalName on its own object",
	"0x21c7":     "ERROR_DS_SPN_VALUE_NOT_UNIQUE_IN_FOREST: another account already has this SPN",
	"0xffffffff": "SQL Server could not reach the directory; usual when the computer is not joined to a domain or no domain controller answered at start-up",
}

// loginStates are the 18456 states documented by Microsoft (MSSQLSERVER_18456) and
// the few more that SQL Server support engineers meet daily. The client always sees
// state 1; only the server's log tells the real one.
var loginStates = map[int]string{
	1:   "error information is not available (the client always sees state 1; the server's log has the real state)",
	2:   "the login name does not exist",
	5:   "the login name does not exist",
	6:   "a Windows login name was used with SQL Server authentication",
	7:   "the login is disabled and the password is wrong",
	8:   "the password is wrong",
	9:   "the password is not valid",
	11:  "the login is valid but server access failed (for example, a local administrator connecting without elevation, or no login for the Windows user or its groups)",
	12:  "the login is valid but server access failed (for example, the login has no CONNECT SQL permission)",
	13:  "the SQL Server service is paused",
	18:  "the password must be changed",
	38:  "the database requested in the connection string could not be opened",
	40:  "the login's default database could not be opened",
	46:  "the login's default database could not be opened",
	58:  "SQL Server authentication was tried, but the server accepts Windows authentication only",
	126: "the database requested does not exist",
}

// loginState returns the meaning of an 18456 state.
func loginState(state int) string {
	if m, ok := loginStates[state]; ok {
		return m
	}
	switch {
	case state >= 102 && state <= 111, state == 132, state == 133:
		return "a Microsoft Entra (Azure AD) authentication failure"
	case state >= 122 && state <= 124:
		return "the user name or password was empty"
	case state < 0:
		return "the state was not logged"
	}
	return "an internal processing error (state not documented)"
}

// describeSSPI returns "0x80090311 SEC_E_NO_AUTHENTICATING_AUTHORITY (No authority
// could be contacted for authentication)", or just the code when it is not known.
func describeSSPI(hex string) string {
	if c, ok := sspiCodes[hex]; ok {
		return fmt.Sprintf("%s %s (%s)", hex, c.symbol, c.meaning)
	}
	return hex
}

// describeKerberos returns "0x7 KDC_ERR_S_PRINCIPAL_UNKNOWN: no account has this
// service principal name" for a hex code, or the code when it is not known.
func describeKerberos(hex string) string {
	n, err := strconv.ParseInt(strings.TrimPrefix(hex, "0x"), 16, 32)
	if err == nil {
		if c, ok := kerberosCodes[int(n)]; ok {
			return fmt.Sprintf("%s %s: %s", hex, c.symbol, c.meaning)
		}
	}
	return hex
}

// kerberosCode returns the numeric Kerberos error code of a hex string, or -1.
func kerberosCode(hex string) int {
	n, err := strconv.ParseInt(strings.TrimPrefix(hex, "0x"), 16, 32)
	if err != nil || !strings.HasPrefix(hex, "0x") {
		return -1
	}
	return int(n)
}
