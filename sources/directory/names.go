package directory

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"github.com/authtriage/authtriage/triage"
)

// Input limits. AD's own limits are lower for most of these (sAMAccountName 20
// characters for users, NetBIOS names 15); these only keep absurd input out.
const (
	maxSPNLen    = 1024
	maxNameLen   = 320
	maxDomainLen = 255
)

// invalidInput returns the error for input that fails validation. It is a
// *triage.InputError: the input was wrong, not the directory.
func invalidInput(what, value, format string, args ...any) error {
	return &triage.InputError{Err: fmt.Errorf("invalid %s %q: %s", what, truncate(value, 80), fmt.Sprintf(format, args...))}
}

// checkText applies the rules every value bound for a filter follows: valid UTF-8,
// no control characters (NUL included), no white space but inner plain spaces, no
// '*' (lookups are exact), at most max bytes.
func checkText(what, s string, max int) error {
	switch {
	case s == "":
		return invalidInput(what, s, "empty")
	case len(s) > max:
		return invalidInput(what, s, "longer than %d bytes", max)
	case !utf8.ValidString(s):
		return invalidInput(what, s, "not valid UTF-8")
	case strings.TrimSpace(s) != s:
		return invalidInput(what, s, "leading or trailing white space")
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			return invalidInput(what, s, "contains control character %U", r)
		case unicode.IsSpace(r) && r != ' ':
			return invalidInput(what, s, "contains white space other than a plain space")
		case r == '*':
			return invalidInput(what, s, "contains '*': lookups are exact, wildcards are not allowed")
		}
	}
	return nil
}

// validateSPN checks an SPN given for an exact lookup: service/host[:port][/name],
// without spaces.
func validateSPN(spn string) error {
	if err := checkText("SPN", spn, maxSPNLen); err != nil {
		return err
	}
	if strings.ContainsRune(spn, ' ') {
		return invalidInput("SPN", spn, "contains a space")
	}
	class, host, ok := strings.Cut(spn, "/")
	if !ok || class == "" || host == "" || strings.HasPrefix(host, "/") {
		return invalidInput("SPN", spn, "want service/host[:port], e.g. MSSQLSvc/sql01.corp.example:1433")
	}
	return nil
}

// validateSPNPrefix checks the prefix of a duplicate scan; "" means every SPN.
func validateSPNPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	return checkText("SPN prefix", prefix, maxSPNLen)
}

// samForbidden are the characters AD does not allow in a sAMAccountName.
const samForbidden = `"/\[]:;|=,+*?<>@`

// An accountName is a parsed account reference: DOMAIN\sam, sam@dns.domain or sam.
type accountName struct {
	sam    string // sAMAccountName as given; computers and gMSAs end in '$'
	domain string // the domain as given, "" when absent
	dns    bool   // domain is a DNS name (sam@dns.domain); else NetBIOS (DOMAIN\sam)
}

// upn returns the name in sam@dns.domain form, "" unless it was given so.
func (n accountName) upn() string {
	if !n.dns {
		return ""
	}
	return n.sam + "@" + n.domain
}

// parseAccountName parses and validates an account name as setspn and SQL Server
// configuration write it: DOMAIN\sam, sam@dns.domain (also matched as a UPN), sam,
// or a computer or managed service account "NAME$".
func parseAccountName(name string) (accountName, error) {
	if err := checkText("account name", name, maxNameLen); err != nil {
		return accountName{}, err
	}
	var n accountName
	if d, s, ok := strings.Cut(name, `\`); ok {
		n = accountName{sam: s, domain: d}
		if err := checkNetBIOS(d); err != nil {
			return accountName{}, invalidInput("account name", name, "%v", err)
		}
	} else if s, d, ok := strings.Cut(name, "@"); ok {
		n = accountName{sam: s, domain: strings.TrimSuffix(d, "."), dns: true}
		if err := checkDNSName(n.domain); err != nil {
			return accountName{}, invalidInput("account name", name, "domain: %v", err)
		}
	} else {
		n = accountName{sam: name}
	}
	if n.sam == "" {
		return accountName{}, invalidInput("account name", name, "no account before the domain")
	}
	if i := strings.IndexAny(n.sam, samForbidden); i >= 0 {
		return accountName{}, invalidInput("account name", name, "%q is not allowed in an account name", n.sam[i])
	}
	return n, nil
}

// checkNetBIOS checks a NetBIOS domain name.
func checkNetBIOS(d string) error {
	if d == "" {
		return fmt.Errorf("empty domain before '\\'")
	}
	if len(d) > 15 {
		return fmt.Errorf("NetBIOS domain %q is longer than 15 characters", d)
	}
	if i := strings.IndexAny(d, samForbidden+"."); i >= 0 {
		return fmt.Errorf("%q is not allowed in a NetBIOS domain name", d[i])
	}
	return nil
}

// checkDNSName checks a DNS name: letters, digits, '-' and '_' in dot-separated
// labels of at most 63 bytes.
func checkDNSName(name string) error {
	if name == "" {
		return fmt.Errorf("empty DNS name")
	}
	if len(name) > maxDomainLen {
		return fmt.Errorf("DNS name longer than %d bytes", maxDomainLen)
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("DNS name %q has an empty or over-long label", name)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("%q is not allowed in a DNS name", c)
			}
		}
	}
	return nil
}

// validateFQDN checks a host name given to ComputerByDNSName and returns it without
// a trailing dot.
func validateFQDN(fqdn string) (string, error) {
	if err := checkText("host name", fqdn, maxDomainLen+1); err != nil {
		return "", err
	}
	name := strings.TrimSuffix(fqdn, ".")
	if err := checkDNSName(name); err != nil {
		return "", invalidInput("host name", fqdn, "%v", err)
	}
	return name, nil
}

// Filters. Every value from outside passes through ldap.EscapeFilter, after
// validation; the validators already keep '*' and NUL out, escaping keeps the rest
// of the filter syntax ( '(', ')', '\' ) inert.

// spnFilter matches the objects holding spn exactly (case-insensitively, as AD
// compares SPNs).
func spnFilter(spn string) string {
	return "(servicePrincipalName=" + ldap.EscapeFilter(spn) + ")"
}

// spnPrefixFilter matches the objects holding an SPN that starts with prefix, or any
// SPN when prefix is "".
func spnPrefixFilter(prefix string) string {
	return "(servicePrincipalName=" + ldap.EscapeFilter(prefix) + "*)"
}

// accountFilter matches the security principals n can name. A sam@dns.domain name
// also matches the account with that userPrincipalName; the domain part is checked
// against each candidate's DN afterwards (matchesDomain).
func accountFilter(n accountName) string {
	sam := "(sAMAccountName=" + ldap.EscapeFilter(n.sam) + ")"
	if n.dns {
		sam = "(|" + sam + "(userPrincipalName=" + ldap.EscapeFilter(n.upn()) + "))"
	}
	return "(&(objectClass=user)" + sam + ")"
}

// computerFilter matches the computer accounts whose dNSHostName is fqdn.
func computerFilter(fqdn string) string {
	return "(&(objectClass=computer)(dNSHostName=" + ldap.EscapeFilter(fqdn) + "))"
}

// matchesName reports whether acct is an account n names. It is the check a filter
// cannot express: the domain part of the name against the domain of the account.
func matchesName(acct triage.Account, n accountName) bool {
	switch {
	case n.dns:
		if strings.EqualFold(acct.UPN, n.upn()) {
			return true
		}
		return strings.EqualFold(acct.SAMAccountName, n.sam) && strings.EqualFold(acct.Domain, n.domain)
	case !strings.EqualFold(acct.SAMAccountName, n.sam):
		return false
	case n.domain == "":
		return true
	default:
		return domainIsNetBIOS(acct.Domain, acct.NetBIOSDomain, n.domain)
	}
}

// domainIsNetBIOS reports whether the NetBIOS domain name given by a user names the
// DNS domain dns, whose NetBIOS name is netbios ("" when unknown, in which case the
// first DNS label stands in, as it does for most domains).
func domainIsNetBIOS(dns, netbios, given string) bool {
	if netbios != "" {
		return strings.EqualFold(netbios, given)
	}
	first, _, _ := strings.Cut(dns, ".")
	return first != "" && strings.EqualFold(first, given)
}
