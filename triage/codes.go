package triage

import (
	"fmt"
	"strconv"
	"strings"
)

// A Citation is a published page a fact comes from: its title and address. Every entry
// of the code tables below names one; Pages lists the pages that were looked up.
type Citation struct {
	Title string
	URL   string
}

// Pages the code tables cite. Each was read from Microsoft's published sources (the
// Learn repositories) or the protocol's specification.
var (
	srcRFC4120 = Citation{"RFC 4120, The Kerberos Network Authentication Service (V5), 7.5.9 Error Codes",
		"https://www.rfc-editor.org/rfc/rfc4120#section-7.5.9"}
	srcEvent4768 = Citation{"4768(S, F) A Kerberos authentication ticket (TGT) was requested",
		"https://learn.microsoft.com/previous-versions/windows/it-pro/windows-10/security/threat-protection/auditing/event-4768"}
	srcKerberosGuide = Citation{"Kerberos authentication troubleshooting guidance",
		"https://learn.microsoft.com/troubleshoot/windows-server/windows-security/kerberos-authentication-troubleshooting-guidance"}
	srcSSPIStatus = Citation{"SSPI Status Codes",
		"https://learn.microsoft.com/windows/win32/secauthn/sspi-status-codes"}
	srcAcceptSecurityContext = Citation{"AcceptSecurityContext (CredSSP) function",
		"https://learn.microsoft.com/windows/win32/api/sspi/nf-sspi-acceptsecuritycontext"}
	srcLocalSecurity = Citation{"Troubleshooting local security subsystem errors in SQL Server", linkLocalSecurity}
	src18456         = Citation{"MSSQLSERVER_18456", link18456}
)

// A KerberosError is a KRB-ERROR code (RFC 4120 7.5.9) as the KDC, gokrb5 and the
// Windows Kerberos events report it.
type KerberosError struct {
	Code    int
	Name    string // the RFC 4120 name
	Meaning string // what it means for a SQL Server login, from Source
	Source  Citation
}

// kerberosErrors are the codes a ticket request, an AP exchange or a Kerberos event
// can carry. Name is always RFC 4120's; Meaning is Microsoft's description in the
// event 4768 table (Table 3) or its troubleshooting guide where one exists, else the
// RFC's text. Microsoft spells 14 KDC_ERR_ETYPE_NOTSUPP; KerberosErrorNamed takes
// both spellings.
var kerberosErrors = []KerberosError{
	{0x6, "KDC_ERR_C_PRINCIPAL_UNKNOWN", "the client account was not found in the directory (the user name does not exist)", srcEvent4768},
	{0x7, "KDC_ERR_S_PRINCIPAL_UNKNOWN", "the KDC found no account with this service principal name", srcEvent4768},
	{0x8, "KDC_ERR_PRINCIPAL_NOT_UNIQUE", "more than one account has this principal name (a duplicate SPN)", srcEvent4768},
	{0x9, "KDC_ERR_NULL_KEY", "the account has a null key; reset its password", srcEvent4768},
	{0xB, "KDC_ERR_NEVER_VALID", "the ticket is not yet valid: the clocks of the client and the KDC differ", srcEvent4768},
	{0xC, "KDC_ERR_POLICY", "a logon restriction refused the request (workstation, smart card or logon hours restriction)", srcEvent4768},
	{0xD, "KDC_ERR_BADOPTION", "the KDC cannot honour an option asked for; in delegation, the SPN is not in the account's allowed-to-delegate-to list", srcEvent4768},
	{0xE, "KDC_ERR_ETYPE_NOSUPP", "the KDC and the account share no encryption type the request allows", srcEvent4768},
	{0x12, "KDC_ERR_CLIENT_REVOKED", "the client's credentials have been revoked: account disabled, expired or locked out", srcEvent4768},
	{0x13, "KDC_ERR_SERVICE_REVOKED", "the service's credentials have been revoked: its account is disabled, expired or locked out", srcEvent4768},
	{0x17, "KDC_ERR_KEY_EXPIRED", "the password has expired; change it to reset", srcEvent4768},
	{0x18, "KDC_ERR_PREAUTH_FAILED", "pre-authentication failed: the password is wrong", srcEvent4768},
	{0x19, "KDC_ERR_PREAUTH_REQUIRED", "additional pre-authentication required: a normal first answer to a client that sent none, not a failure", srcEvent4768},
	{0x1B, "KDC_ERR_MUST_USE_USER2USER", "the server principal is valid for user-to-user authentication only", srcRFC4120},
	{0x1F, "KRB_AP_ERR_BAD_INTEGRITY", "the integrity check on a decrypted field failed", srcEvent4768},
	{0x20, "KRB_AP_ERR_TKT_EXPIRED", "the ticket has expired (tickets are renewed automatically)", srcEvent4768},
	{0x21, "KRB_AP_ERR_TKT_NYV", "the ticket is not yet valid: the clocks differ", srcRFC4120},
	{0x22, "KRB_AP_ERR_REPEAT", "the request is a replay: the same authenticator was seen twice", srcEvent4768},
	{0x24, "KRB_AP_ERR_BADMATCH", "the ticket and the authenticator do not match: the request went to the wrong KDC, or an account mismatch during protocol transition", srcEvent4768},
	{0x25, "KRB_AP_ERR_SKEW", "the clocks differ by more than the allowed skew (5 minutes by default)", srcKerberosGuide},
	{0x29, "KRB_AP_ERR_MODIFIED", "the server could not decrypt the ticket: the SPN is on another account than the one the service runs as, or stale DNS sent the client to another server", srcEvent4768},
	{0x2C, "KRB_AP_ERR_BADKEYVER", "the service lacks the key version the ticket was encrypted with", srcRFC4120},
	{0x2D, "KRB_AP_ERR_NOKEY", "the service does not have the key to decrypt the ticket", srcEvent4768},
	{0x2E, "KRB_AP_ERR_MUT_FAIL", "mutual authentication failed", srcRFC4120},
	{0x3C, "KRB_ERR_GENERIC", "generic error: a PAC overloaded by group memberships, password changes not yet replicated, or an SPN too long or with too many parts", srcEvent4768},
	{0x44, "KDC_ERR_WRONG_REALM", "a cross-realm ticket was presented to the wrong realm, usually from incorrect DNS (RFC 4120 lists 68 as reserved; this is Microsoft's meaning)", srcEvent4768},
}

// KerberosErrorFor returns the table entry of a KRB-ERROR code.
func KerberosErrorFor(code int) (KerberosError, bool) {
	for _, e := range kerberosErrors {
		if e.Code == code {
			return e, true
		}
	}
	return KerberosError{}, false
}

// KerberosErrorNamed returns the entry of a KRB-ERROR name as Windows events and
// network traces write it: RFC 4120's name, Microsoft's KDC_ERR_ETYPE_NOTSUPP, and the
// KERB_ prefix some event texts use for KRB_.
func KerberosErrorNamed(name string) (KerberosError, bool) {
	name = strings.ToUpper(name)
	if rest, ok := strings.CutPrefix(name, "KERB_"); ok {
		name = "KRB_" + rest
	}
	if name == "KDC_ERR_ETYPE_NOTSUPP" {
		name = "KDC_ERR_ETYPE_NOSUPP"
	}
	for _, e := range kerberosErrors {
		if e.Name == name {
			return e, true
		}
	}
	return KerberosError{}, false
}

// KerberosErrors returns the whole table, for tests and documentation. The slice is new
// on every call.
func KerberosErrors() []KerberosError { return append([]KerberosError(nil), kerberosErrors...) }

// DescribeKerberos returns "0x7 KDC_ERR_S_PRINCIPAL_UNKNOWN: the KDC found no account
// with this service principal name" for a code, or "0x63 (a Kerberos error code
// authtriage has no meaning for)".
func DescribeKerberos(code int) string {
	if e, ok := KerberosErrorFor(code); ok {
		return fmt.Sprintf("0x%X %s: %s", code, e.Name, e.Meaning)
	}
	return fmt.Sprintf("0x%X (a Kerberos error code authtriage has no meaning for)", code)
}

// An SSPIStatus is a SEC_E status code as SQL Server writes it in 17806 and Windows in
// its security events.
type SSPIStatus struct {
	Hex     string // lower case, "0x80090311"
	Symbol  string
	Meaning string
	// Note is what a DBA should know beyond the meaning: where the sources disagree,
	// or what the code usually means in the field.
	Note   string
	Source Citation
}

// sspiStatuses are keyed by lower-case hex. Meanings are from the SSPI Status Codes
// page unless Source says otherwise; where Microsoft's pages disagree, Note says so.
// The page gives the symbols, defined in Winerror.h; the hex values are Winerror.h's.
var sspiStatuses = []SSPIStatus{
	{Hex: "0x80090302", Symbol: "SEC_E_UNSUPPORTED_FUNCTION", Meaning: "the function requested is not supported", Source: srcSSPIStatus},
	{Hex: "0x80090303", Symbol: "SEC_E_TARGET_UNKNOWN", Meaning: "the target was not recognized", Source: srcSSPIStatus},
	{Hex: "0x80090304", Symbol: "SEC_E_INTERNAL_ERROR", Meaning: "the Local Security Authority cannot be contacted",
		Note:   "SQL Server's support articles tie it to LSASS not answering; the SSPI reference calls it an error that did not map to an SSPI code",
		Source: srcLocalSecurity},
	{Hex: "0x80090308", Symbol: "SEC_E_INVALID_TOKEN", Meaning: "the token passed to the function is not valid", Source: srcSSPIStatus},
	{Hex: "0x8009030b", Symbol: "SEC_E_NO_IMPERSONATION", Meaning: "the security context does not allow impersonation of the client", Source: srcSSPIStatus},
	{Hex: "0x8009030c", Symbol: "SEC_E_LOGON_DENIED", Meaning: "the logon failed",
		Note: "the SSPI Status Codes page calls the code obsolete, while the AcceptSecurityContext page still lists it with only \"The logon failed.\"; " +
			"no SQL Server article explains it, so Windows' own reason is in the host's Security log (event 4625)",
		Source: srcAcceptSecurityContext},
	{Hex: "0x8009030d", Symbol: "SEC_E_UNKNOWN_CREDENTIALS", Meaning: "the credentials provided were not recognized", Source: srcSSPIStatus},
	{Hex: "0x8009030e", Symbol: "SEC_E_NO_CREDENTIALS", Meaning: "no credentials are available", Source: srcSSPIStatus},
	{Hex: "0x8009030f", Symbol: "SEC_E_MESSAGE_ALTERED", Meaning: "the message or signature supplied for verification has been altered", Source: srcSSPIStatus},
	{Hex: "0x80090311", Symbol: "SEC_E_NO_AUTHENTICATING_AUTHORITY", Meaning: "no authority could be contacted for authentication: the domain name is wrong, the domain is unavailable, or the trust failed", Source: srcAcceptSecurityContext},
	{Hex: "0x80090321", Symbol: "SEC_E_BUFFER_TOO_SMALL", Meaning: "the buffers supplied to the function are not large enough to contain the information", Source: srcSSPIStatus},
	{Hex: "0x80090332", Symbol: "SEC_E_SECURITY_QOS_FAILED", Meaning: "the security context could not be established due to a failure in the requested quality of service (for example, mutual authentication or delegation)", Source: srcSSPIStatus},
	{Hex: "0x80090346", Symbol: "SEC_E_BAD_BINDINGS", Meaning: "the SSPI channel bindings supplied by the client are incorrect", Source: srcSSPIStatus},
	{Hex: "0x80090317", Symbol: "SEC_E_CONTEXT_EXPIRED", Meaning: "the context has expired and can no longer be used", Source: srcSSPIStatus},
	{Hex: "0x80090322", Symbol: "SEC_E_WRONG_PRINCIPAL", Meaning: "the target principal name is incorrect", Source: srcSSPIStatus},
	{Hex: "0x80090324", Symbol: "SEC_E_TIME_SKEW", Meaning: "the clocks on the client and server computers do not match", Source: srcSSPIStatus},
	{Hex: "0x80090342", Symbol: "SEC_E_KDC_UNKNOWN_ETYPE", Meaning: "the requested encryption type is not supported by the KDC", Source: srcSSPIStatus},
	{Hex: "0x80090345", Symbol: "SEC_E_DELEGATION_REQUIRED", Meaning: "the computer must be trusted for delegation, and the current user account must be configured to allow delegation", Source: srcSSPIStatus},
	{Hex: "0x80090348", Symbol: "SEC_E_NO_KERB_KEY", Meaning: "no Kerberos key was found", Source: srcSSPIStatus},
	{Hex: "0x80090350", Symbol: "SEC_E_DOWNGRADE_DETECTED", Meaning: "the system detected a possible attempt to compromise security; verify that the server that authenticated you can be contacted",
		Note:   "Microsoft's localized SSPI Status Codes pages add that it may simply mean no domain controller could be reached, not an attack; the English page does not say so",
		Source: srcSSPIStatus},
	{Hex: "0x80090357", Symbol: "SEC_E_CROSSREALM_DELEGATION_FAILURE", Meaning: "the server could not complete a constrained delegation request for a target outside its realm", Source: srcSSPIStatus},
}

// SSPIStatusFor returns the entry of a SEC_E code given as hex ("0x8009030C" or
// "0x8009030c").
func SSPIStatusFor(hex string) (SSPIStatus, bool) {
	hex = strings.ToLower(hex)
	for _, s := range sspiStatuses {
		if s.Hex == hex {
			return s, true
		}
	}
	return SSPIStatus{}, false
}

// SSPIStatuses returns the whole table. The slice is new on every call.
func SSPIStatuses() []SSPIStatus { return append([]SSPIStatus(nil), sspiStatuses...) }

// DescribeSSPI returns "0x80090311 SEC_E_NO_AUTHENTICATING_AUTHORITY (no authority
// could be contacted ...)", or the code alone when it is not in the table.
func DescribeSSPI(hex string) string {
	if s, ok := SSPIStatusFor(hex); ok {
		return fmt.Sprintf("%s %s (%s)", strings.ToLower(hex), s.Symbol, s.Meaning)
	}
	return hex
}

// A LoginState is an 18456 state as the MSSQLSERVER_18456 page documents it.
type LoginState struct {
	States  []int
	Meaning string
	// Documented is false for a state Microsoft does not describe; Meaning then says so.
	Documented bool
	Source     Citation
}

// loginStates are the states of the MSSQLSERVER_18456 table, worded as the page words
// them. States 2 and 5 are "user ID is not valid" for SQL Server and Windows logins
// alike. The page lists no other states; "Other error states exist and signify an
// unexpected internal processing error".
var loginStates = []LoginState{
	{[]int{1}, "error information is not available (the client always sees state 1; the server's log has the real state)", true, src18456},
	{[]int{2, 5}, "the user ID is not valid: no login by this name (SQL Server or Windows)", true, src18456},
	{[]int{6}, "a Windows login name was used with SQL Server authentication", true, src18456},
	{[]int{7}, "the login is disabled, and the password is incorrect", true, src18456},
	{[]int{8}, "the password is incorrect", true, src18456},
	{[]int{9}, "the password is not valid", true, src18456},
	{[]int{11}, "the login is valid, but server access failed (for example, a Windows user with access only through the local Administrators group, without an elevated program)", true, src18456},
	{[]int{12}, "the login is valid, but server access failed", true, src18456},
	{[]int{18}, "the password must be changed", true, src18456},
	{[]int{38, 46}, "the database requested by the user could not be found", true, src18456},
	{[]int{58}, "SQL Server authentication was tried while the server accepts Windows authentication only, or the login's SIDs do not match", true, src18456},
	{[]int{102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 132, 133}, "a Microsoft Entra (Azure AD) authentication failure", true, src18456},
	{[]int{122, 123, 124}, "the user name or the password was empty", true, src18456},
	{[]int{126}, "the database requested by the user does not exist", true, src18456},
}

// LoginStateFor returns what an 18456 state means. A state the page does not list is
// returned with Documented false and a Meaning that says Microsoft does not describe it.
func LoginStateFor(state int) LoginState {
	for _, s := range loginStates {
		for _, n := range s.States {
			if n == state {
				return s
			}
		}
	}
	if state < 0 {
		return LoginState{States: []int{state}, Meaning: "the state was not logged", Source: src18456}
	}
	return LoginState{States: []int{state}, Source: src18456,
		Meaning: "state " + strconv.Itoa(state) + " is not described by Microsoft (its 18456 page says other states signify an unexpected internal processing error)"}
}

// LoginStates returns the documented states. The slice is new on every call.
func LoginStates() []LoginState { return append([]LoginState(nil), loginStates...) }
