package triage

import (
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
	ReadAt         time.Time   // when the account was read; expiry dates are judged against it
	NetBIOS        string      // NetBIOS domain name, when known
	RequiredSPNs   []string    // the SPNs looked up, FQDN forms
	SPNs           []SPNOwners // owners of each required SPN, in RequiredSPNs order
	ServiceAccount *Account    // the account SQL Server runs as (or the computer account for virtual accounts); nil when not found
	// ServiceAccountMissing names the configured account when the directory has no such
	// account; "" otherwise.
	ServiceAccountMissing string
	MaxPwdAge             time.Duration // domain policy; 0 when passwords never expire or unknown
	DCs                   []DCProbe
	Clocks                []ClockReading
	Tickets               []TicketResult
	DNS                   *DNSFacts
}
