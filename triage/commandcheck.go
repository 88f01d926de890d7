package triage

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxValueBytes bounds any value a command is filled with; each kind has its own,
// smaller, limit as well.
const maxValueBytes = 1024

// checkValue returns why v cannot fill the slot of placeholder ph in a command, or ""
// when it can: characters no command line may hold, then what the value's kind
// allows (checkKind).
func checkValue(ph, v string) string {
	if reason := checkChars(v); reason != "" {
		return reason
	}
	if len(v) > maxValueBytes {
		return fmt.Sprintf("is longer than %d bytes", maxValueBytes)
	}
	return checkKind(ph, v)
}

// checkChars refuses what no pasted command may carry, whatever the shell: invalid
// UTF-8, control characters (NUL, ESC, CR, LF, ...), Unicode line and paragraph
// separators, format characters (the bidirectional overrides such as U+202E, zero-
// width characters, which make a command read differently from what it does), spaces
// other than U+0020 (PowerShell splits arguments on every Unicode space separator,
// CharTraits.cs IsWhitespace), and anything not printable (private use, unassigned,
// U+FFFD).
func checkChars(v string) string {
	for i, r := range v {
		switch {
		case r == utf8.RuneError:
			if _, n := utf8.DecodeRuneInString(v[i:]); n == 1 {
				return "is not valid UTF-8"
			}
			return "contains the replacement character U+FFFD, a sign of text decoded wrongly"
		case r == '\n' || r == '\r' || r == '\u0085' || r == '\u2028' || r == '\u2029':
			return "contains a line break (" + codePoint(r) + ")"
		case unicode.IsControl(r):
			return "contains a control character (" + codePoint(r) + ")"
		case unicode.Is(unicode.Bidi_Control, r):
			return "contains a bidirectional formatting character (" + codePoint(r) + ")"
		case unicode.In(r, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector):
			return "contains an invisible formatting character (" + codePoint(r) + ")"
		case r != ' ' && unicode.IsSpace(r):
			return "contains a space other than the plain space (" + codePoint(r) + ")"
		case r != ' ' && !unicode.IsPrint(r):
			return "contains a character that cannot be printed (" + codePoint(r) + ")"
		}
	}
	return ""
}

// ValidAccount returns nil when account, written DOMAIN\name, name@dns.domain or as
// a bare name, is a name Active Directory can hold, and otherwise an
// *UnsafeValueError saying why: the checks a command makes of an account it is
// filled with.
func ValidAccount(account string) error {
	if reason := checkValue(PHAccount, account); reason != "" {
		return &UnsafeValueError{Slot: PHAccount, Reason: reason}
	}
	return nil
}

// isAccountSlot reports whether ph holds an account as DOMAIN\name or name@domain.
func isAccountSlot(ph string) bool { return ph == PHAccount || ph == PHWrong }

// checkKind returns why v is not a value of the kind placeholder ph stands for.
func checkKind(ph, v string) string {
	switch ph {
	case PHSPN, PHSPNs, PHWrongSPN:
		return checkSPN(v)
	case PHAccount, PHWrong:
		return checkAccount(v)
	case PHSam, PHBackEndSam:
		return checkSAM(v)
	case PHPrincipals:
		if isSID(v) {
			return ""
		}
		return checkSAM(v)
	case PHDomain:
		if checkDNSName(v) == "" {
			return ""
		}
		return checkNetBIOSDomain(v)
	case PHFQDN, PHHost:
		return checkDNSName(v)
	case PHSetAD, PHBackEndSetAD:
		switch v {
		case "Set-ADUser", "Set-ADComputer", "Set-ADServiceAccount":
			return ""
		}
		return "is not Set-ADUser, Set-ADComputer or Set-ADServiceAccount"
	case PHLogin, PHServerName, PHNewServerName:
		// A login name is a sysname: at most 128 characters. "QUOTENAME
		// (Transact-SQL)", https://learn.microsoft.com/sql/t-sql/functions/quotename-transact-sql
		if utf8.RuneCountInString(v) > 128 {
			return "is longer than 128 characters, the most a SQL Server name (sysname) holds"
		}
	}
	return ""
}

// ValidSID reports whether v is a SID in its string form, as isSID checks it.
func ValidSID(v string) bool { return isSID(v) }

// isSID reports whether v is a SID in its string form, S-1-AUTHORITY-SUB...: a decimal
// authority and 1 to 15 subauthorities, decimal numbers of at most 10 digits without
// leading zeros ("[MS-DTYP] 2.4.2.1 SID String Format
// Syntax",
// https://learn.microsoft.com/openspecs/windows_protocols/ms-dtyp/c92a27b1-c772-4fa7-a432-15df5f1b66a1).
// The AD cmdlets take a principal by its SID (Get-ADPrincipalGroupMembership's
// Identity: "distinguished name, GUID, security identifier, or SAM account name").
func isSID(v string) bool {
	rest, ok := strings.CutPrefix(v, "S-1-")
	if !ok {
		return false
	}
	parts := strings.Split(rest, "-")
	if len(parts) < 2 || len(parts) > 16 {
		return false
	}
	for _, p := range parts {
		if p == "" || len(p) > 10 || strings.Trim(p, "0123456789") != "" || len(p) > 1 && p[0] == '0' {
			return false
		}
	}
	return true
}

// samForbidden are the characters a sAMAccountName cannot contain: "SAM-Account-Name
// attribute", https://learn.microsoft.com/windows/win32/adschema/a-samaccountname
// (" / \ [ ] : ; | = , + * ? < >; at most 256 characters, Range-Upper).
const samForbidden = `"/\[]:;|=,+*?<>`

// checkSAM returns why v cannot be a sAMAccountName. Besides the characters of
// samForbidden, an account name cannot end with a period ("USER_INFO_0 structure",
// https://learn.microsoft.com/windows/win32/api/lmaccess/ns-lmaccess-user_info_0).
func checkSAM(v string) string {
	switch {
	case v == "":
		return "has an empty account name"
	case utf8.RuneCountInString(v) > 256:
		return "is longer than 256 characters, the most Active Directory allows in an account name"
	case strings.HasSuffix(v, "."):
		return "ends with a period, which Windows does not allow in an account name"
	}
	if r, ok := firstOf(v, samForbidden); ok {
		return "contains " + describeRune(r) + ", which Active Directory does not allow in an account name"
	}
	return ""
}

// checkAccount returns why v is not an account as setspn and the inventory write it:
// DOMAIN\name (a NetBIOS or DNS domain, "." for the local computer, NT SERVICE or NT
// AUTHORITY), name@dns.domain, or a bare name. DOMAIN may be the <DOMAIN> placeholder
// when only the domain is unknown.
func checkAccount(v string) string {
	if domain, name, ok := strings.Cut(v, `\`); ok {
		if r := checkSAM(name); r != "" {
			return r
		}
		switch {
		case domain == PHDomain, domain == ".", strings.EqualFold(domain, "NT SERVICE"), strings.EqualFold(domain, "NT AUTHORITY"):
			return ""
		case domain == "":
			return `has no domain before '\'`
		case checkDNSName(domain) == "":
			return ""
		}
		if r := checkNetBIOSDomain(domain); r != "" {
			return "has a domain part that " + strings.TrimPrefix(r, "is ")
		}
		return ""
	}
	if i := strings.LastIndexByte(v, '@'); i >= 0 {
		if r := checkSAM(v[:i]); r != "" {
			return r
		}
		if r := checkDNSName(v[i+1:]); r != "" {
			return "has a domain after '@' that " + strings.TrimPrefix(r, "is ")
		}
		return ""
	}
	return checkSAM(v)
}

// netbiosDomainForbidden are the characters a NetBIOS domain name cannot contain:
// "Naming conventions in Active Directory for computers, domains, sites, and OUs",
// https://learn.microsoft.com/troubleshoot/windows-server/active-directory/naming-conventions-for-computer-domain-site-ou
// (comma, tilde, colon, !, @, #, $, %, ^, apostrophe, period, parentheses, braces,
// underscore, white space, backslash, slash; at most 15 characters), and the default
// invalid characters of [MS-SRVS] 2.2.2.8 Name Types, NAMETYPE_DOMAIN,
// https://learn.microsoft.com/openspecs/windows_protocols/ms-srvs/2e2d2fb6-3448-4213-94b3-89dcb772d3e6
// (" / \ [ ] : | < > + = ; , ? and *).
const netbiosDomainForbidden = `,~:!@#$%^'.(){}_ \/"[]|<>+=;?*`

func checkNetBIOSDomain(v string) string {
	if utf8.RuneCountInString(v) > 15 {
		return "is longer than 15 characters, the most a NetBIOS domain name holds"
	}
	if r, ok := firstOf(v, netbiosDomainForbidden); ok {
		return "contains " + describeRune(r) + ", which a NetBIOS domain name cannot hold"
	}
	return ""
}

// checkDNSName returns why v is not a DNS host or domain name: labels of letters,
// digits, '-' and '_' (Windows DNS takes Unicode letters, and newer DNS servers an
// underscore), each at most 63 bytes, at most 255 bytes in all, starting with a letter
// or digit and not ending with '-' ("Naming conventions in Active Directory for
// computers, domains, sites, and OUs", as for netbiosDomainForbidden; "Computer
// Names", https://learn.microsoft.com/windows/win32/sysinfo/computer-names).
func checkDNSName(v string) string {
	if len(v) > 255 {
		return "is longer than 255 bytes, the most a DNS name holds"
	}
	if r, _ := firstRune(v); !unicode.IsLetter(r) && !unicode.IsDigit(r) {
		return "does not start with a letter or digit, as a DNS name must"
	}
	if strings.HasSuffix(v, "-") {
		return "ends with '-', which a DNS name cannot"
	}
	for _, label := range strings.Split(v, ".") {
		switch {
		case label == "":
			return "has an empty label, which a DNS name cannot"
		case len(label) > 63:
			return "has a label longer than 63 bytes, the most a DNS name allows"
		}
		for _, r := range label {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '_' {
				return "contains " + describeRune(r) + ", which a DNS name cannot hold"
			}
		}
	}
	return ""
}

// checkSPN returns why v is not a service principal name of the form SQL Server
// registers, class/host, class/host:port or class/host:instance ("Register a Service
// Principal Name for Kerberos Connections",
// https://learn.microsoft.com/sql/database-engine/configure-windows/register-a-service-principal-name-for-kerberos-connections).
// The host is a DNS or NetBIOS host name, the port a number from 1 to 65535, and an
// instance name starts with a letter followed by letters, digits, '$' or '_', at most
// 16 characters ("Installation Wizard Help", Instance Configuration,
// https://learn.microsoft.com/sql/sql-server/install/instance-configuration).
func checkSPN(v string) string {
	const form = "is not a service principal name of the form class/host[:port or :instance]"
	class, rest, ok := strings.Cut(v, "/")
	if !ok || class == "" {
		return form
	}
	for i := 0; i < len(class); i++ {
		c := class[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return form
		}
	}
	host, port, hasPort := strings.Cut(rest, ":")
	if r := checkDNSName(host); r != "" {
		return "has a host part that " + strings.TrimPrefix(r, "is ")
	}
	if !hasPort {
		return ""
	}
	if r, _ := firstRune(port); '0' <= r && r <= '9' {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '0' {
			return "has a port that is not a number from 1 to 65535"
		}
		return ""
	}
	for i, r := range port {
		if !unicode.IsLetter(r) && (i == 0 || !unicode.IsDigit(r) && r != '$' && r != '_') {
			return "has an instance name with " + describeRune(r) + ", which SQL Server does not allow"
		}
	}
	if utf8.RuneCountInString(port) > 16 {
		return "has an instance name longer than 16 characters"
	}
	return ""
}

// describeRune writes r for an explanation: a printable ASCII character in quotes,
// anything else as its code point, so that an explanation never carries a
// character that could itself mislead a terminal or a shell.
func describeRune(r rune) string {
	switch {
	case r == '\'':
		return `"'"`
	case r == ' ':
		return "a space"
	case r > ' ' && r < 0x7f:
		return "'" + string(r) + "'"
	}
	return codePoint(r)
}

func codePoint(r rune) string { return fmt.Sprintf("U+%04X", r) }

func firstRune(s string) (rune, int) { return utf8.DecodeRuneInString(s) }
