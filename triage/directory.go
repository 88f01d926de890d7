package triage

import (
	"fmt"
	"strings"
	"time"
)

// userAccountControl flags authtriage reads.
const (
	UACAccountDisable       = 0x2
	UACLockout              = 0x10
	UACNormalAccount        = 0x200
	UACWorkstationTrust     = 0x1000
	UACServerTrust          = 0x2000
	UACDontExpirePassword   = 0x10000
	UACUseDESKeyOnly        = 0x200000
	UACPasswordExpired      = 0x800000
	UACTrustedForDelegation = 0x80000
)

// msDS-SupportedEncryptionTypes bits.
const (
	EtypeDESCRC   = 0x1
	EtypeDESMD5   = 0x2
	EtypeRC4      = 0x4
	EtypeAES128   = 0x8
	EtypeAES256   = 0x10
	EtypeAES256SK = 0x20
	EtypeAESAll   = EtypeAES128 | EtypeAES256
)

// EncTypesUnset is Account.EncTypes when msDS-SupportedEncryptionTypes is absent.
const EncTypesUnset = -1

// EncTypesDefault reports whether an account's msDS-SupportedEncryptionTypes leaves the
// choice to the domain controllers: absent, or 0, which "Detect and remediate RC4 usage
// in Kerberos" lists as "Not defined"
// (https://learn.microsoft.com/windows-server/security/kerberos/detect-remediate-rc4-kerberos).
// The KDC then applies DefaultDomainSupportedEncTypes, whose default KB5073381 changes
// to AES only.
func EncTypesDefault(v int) bool { return v == EncTypesUnset || v == 0 }

// An Account is an Active Directory security principal as authtriage reads it: a user,
// computer or managed service account. Times that the directory leaves unset are zero.
type Account struct {
	DN             string // distinguishedName
	SID            string // objectSid in S-1-5-21-... form; the identity accounts are compared by
	SAMAccountName string // "svc_sql", "SQL01$"
	Domain         string // DNS domain of the object, from its DN: "corp.example"
	NetBIOSDomain  string // NetBIOS name of that domain ("CORP") when known
	Class          string // most specific objectClass: "user", "computer", "msDS-GroupManagedServiceAccount"
	UPN            string // userPrincipalName
	DNSHostName    string // computers: dNSHostName
	UAC            int    // userAccountControl
	LockoutTime    time.Time
	AccountExpires time.Time // zero: never expires
	PwdLastSet     time.Time // zero with PwdMustChange: the password must be changed
	PwdMustChange  bool      // pwdLastSet is 0
	PasswordExpiry time.Time // msDS-UserPasswordExpiryTimeComputed; zero: never or unknown
	EncTypes       int       // msDS-SupportedEncryptionTypes; EncTypesUnset when absent
	KVNO           int       // msDS-KeyVersionNumber; 0 when not readable
	SPNs           []string  // servicePrincipalName
}

// Named reports whether name names a: DOMAIN\sam with a's NetBIOS domain (or, when
// that is not known, the first label of its DNS domain), sam@dns.domain with its DNS
// domain, its userPrincipalName, or its bare sAMAccountName; ignoring case.
func (a Account) Named(name string) bool {
	name = strings.TrimSpace(name)
	if d, n, ok := strings.Cut(name, `\`); ok {
		if !strings.EqualFold(n, a.SAMAccountName) {
			return false
		}
		if d == "." || d == "" {
			return true
		}
		if a.NetBIOSDomain != "" {
			return strings.EqualFold(d, a.NetBIOSDomain)
		}
		first, _, _ := strings.Cut(a.Domain, ".")
		return strings.EqualFold(d, first)
	}
	if n, d, ok := strings.Cut(name, "@"); ok {
		return (a.UPN != "" && strings.EqualFold(name, a.UPN)) ||
			(strings.EqualFold(n, a.SAMAccountName) && strings.EqualFold(strings.TrimSuffix(d, "."), a.Domain))
	}
	return strings.EqualFold(name, a.SAMAccountName)
}

// Name returns the account as setspn takes it: DOMAIN\sam, with the NetBIOS domain when
// known, else the first label of the DNS domain in upper case.
func (a Account) Name() string {
	d := a.NetBIOSDomain
	if d == "" {
		d = a.Domain
		d, _, _ = strings.Cut(d, ".")
		d = strings.ToUpper(d)
	}
	if d == "" {
		return a.SAMAccountName
	}
	return d + `\` + a.SAMAccountName
}

// SameAs reports whether a and b are the same directory object: by SID when both have
// one, else by DN (case-insensitively). Names are never compared: two domains can have
// an svc_sql each.
func (a Account) SameAs(b Account) bool {
	if a.SID != "" && b.SID != "" {
		return a.SID == b.SID
	}
	return a.DN != "" && strings.EqualFold(a.DN, b.DN)
}

// SPNOwners is the answer to "setspn -Q SPN" across the forest.
type SPNOwners struct {
	SPN    string
	Owners []Account
}

// ProbeKind says why the spn check looked up an SPN beyond the required ones.
type ProbeKind string

const (
	ProbeListener ProbeKind = "listener" // MSSQLSvc/LISTENER-FQDN:PORT, required on the replicas' account
	ProbeNode     ProbeKind = "node"     // a cluster node's name in place of the virtual name
	ProbeAlias    ProbeKind = "alias"    // a DNS alias (CNAME) of the host in place of its FQDN
)

// An SPNProbe is an SPN looked up beyond the required ones, with its owners.
type SPNProbe struct {
	SPNOwners
	Kind ProbeKind
	// For is the name the SPN was built from: the listener's FQDN, the node's FQDN, the
	// alias.
	For string
}

// A DCProbe is one domain controller as seen from the checker: how it was found and
// whether it answered on Kerberos and LDAP.
type DCProbe struct {
	Address  string        // host:port as discovered or configured
	Via      string        // "config", "SRV _ldap._tcp.dc._msdcs.corp.example"
	Latency  time.Duration // LDAP bind round trip when it answered
	Err      string        // why it did not answer; "" when it did
	KDCError string        // TCP 88 failure, "" when it accepted a connection
	// Cert says what is wrong with the LDAPS certificate when the DC answered but its
	// certificate failed verification ("signed by an authority the checker does not
	// trust (issuer CN=Corp CA; ...)"); Err then holds the whole error. "" otherwise.
	Cert string
}

// A ClockReading compares the checker's clock with another's.
type ClockReading struct {
	Source string        // "dc1.corp.example (rootDSE currentTime)", "SQL Server SYSUTCDATETIME()"
	Skew   time.Duration // other minus local; positive when the other is ahead
}

// A TicketResult is the outcome of requesting a service ticket for one SPN, as
// `klist get SPN` would.
type TicketResult struct {
	SPN      string
	OK       bool
	Etype    string // encryption type of the ticket when OK: "aes256-cts-hmac-sha1-96"
	KVNO     int    // key version of the ticket when OK
	Code     int    // KRB-ERROR code when the KDC refused; 0 otherwise
	CodeName string // "KDC_ERR_S_PRINCIPAL_UNKNOWN"
	Err      string // the error in words when not OK (KDC refusal or transport failure)
	// Offered are the encryption types the request offered the KDC (the checker's
	// default_tgs_enctypes), in its order of preference, named as Etype is; nil when
	// not known. They choose the ticket's session key, not the key the ticket is
	// encrypted in, which the KDC picks from the service account's keys: an AES-only
	// offer refused with KDC_ERR_ETYPE_NOSUPP means the KDC would not use AES for it.
	Offered []string
}

// EtypeName returns the MIT name of a Kerberos encryption type (the IANA "Kerberos
// Encryption Type Numbers", RFC 3961 section 8, RFC 3962, RFC 4757, RFC 8009), such as
// "aes256-cts-hmac-sha1-96" for 18 and "rc4-hmac" for 23, or "etype N" for one it does
// not know. MIT's klist writes 23 as "arcfour-hmac".
func EtypeName(etype int) string {
	switch etype {
	case 1:
		return "des-cbc-crc"
	case 3:
		return "des-cbc-md5"
	case 16:
		return "des3-cbc-sha1"
	case 17:
		return "aes128-cts-hmac-sha1-96"
	case 18:
		return "aes256-cts-hmac-sha1-96"
	case 19:
		return "aes128-cts-hmac-sha256-128"
	case 20:
		return "aes256-cts-hmac-sha384-192"
	case 23:
		return "rc4-hmac"
	case 24:
		return "rc4-hmac-exp"
	case 25:
		return "camellia128-cts-cmac"
	case 26:
		return "camellia256-cts-cmac"
	}
	return fmt.Sprintf("etype %d", etype)
}

// EtypeFamily says which family an encryption type named as EtypeName names it belongs
// to: "aes", "rc4" or "des" (single DES, not des3), "" for others. It also reads
// MIT's spellings ("arcfour-hmac", "arcfour-hmac-md5").
func EtypeFamily(name string) string {
	n := strings.ToLower(strings.TrimSpace(name))
	switch {
	case strings.HasPrefix(n, "aes"):
		return "aes"
	case strings.HasPrefix(n, "rc4"), strings.HasPrefix(n, "arcfour"):
		return "rc4"
	case strings.HasPrefix(n, "des-"):
		return "des"
	}
	return ""
}

// MsdsEtypes returns the names of the ticket encryption types an
// msDS-SupportedEncryptionTypes value allows, strongest first ([MS-KILE] 2.2.7
// "Supported Encryption Types Bit Flags",
// https://learn.microsoft.com/openspecs/windows_protocols/ms-kile/6cfc7b50-11ed-4b4d-846d-6f08f0812919).
// AES256-SK (0x20) is about session keys only, and is left out.
func MsdsEtypes(v int) []string {
	var out []string
	for _, b := range []struct {
		bit, etype int
	}{{EtypeAES256, 18}, {EtypeAES128, 17}, {EtypeRC4, 23}, {EtypeDESMD5, 3}, {EtypeDESCRC, 1}} {
		if v > 0 && v&b.bit != 0 {
			out = append(out, EtypeName(b.etype))
		}
	}
	return out
}

// DNSFacts are the name-resolution facts behind dns.mismatch.
type DNSFacts struct {
	FQDN       string   // the configured name
	Addresses  []string // its A/AAAA records
	ReverseFor map[string][]string
	// ComputerDNSHostName is dNSHostName of the host's computer account, "" if unknown.
	ComputerDNSHostName string
}

// DirectoryFacts is what the directory, KDC and DNS checks saw about one target.
type DirectoryFacts struct {
	ReadAt       time.Time   // when the account was read; expiry dates are judged against it
	NetBIOS      string      // NetBIOS domain name, when known
	RequiredSPNs []string    // the SPNs looked up, FQDN forms
	SPNs         []SPNOwners // owners of each required SPN, in RequiredSPNs order
	// Probes are the other SPNs the spn check looked up, each with why: the
	// availability-group listeners' (required too, but on the account the replicas
	// share), and the forms that must not be registered for the instance (a cluster
	// node's name) or whose need the sources disagree on (an alias).
	Probes []SPNProbe
	// HostSPNs are every MSSQLSvc SPN of the host's FQDN registered in the forest
	// (setspn -Q MSSQLSvc/FQDN*), with their owners: ports and instances the host no
	// longer serves show up here. nil when not looked up.
	HostSPNs       []SPNOwners
	ServiceAccount *Account // the account SQL Server runs as (or the computer account for virtual accounts); nil when not found
	// ServiceAccountMissing names the configured account when the directory has no such
	// account; "" otherwise.
	ServiceAccountMissing string
	MaxPwdAge             time.Duration // domain policy; 0 when passwords never expire or unknown
	DCs                   []DCProbe
	Clocks                []ClockReading
	Tickets               []TicketResult
	DNS                   *DNSFacts
}
