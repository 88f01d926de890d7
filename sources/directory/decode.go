package directory

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/authtriage/authtriage/triage"
)

// attrs holds the attribute values of one directory object, keyed by the lower-case
// attribute name without options (";binary", ";range=..."). Binary values such as
// objectSid are held as raw bytes in a string.
type attrs map[string][]string

// first returns the first value of the attribute name (lower case), or "".
func (a attrs) first(name string) string {
	if v := a[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// attrBase returns the lower-case attribute type of an attribute description,
// without options: "servicePrincipalName;range=0-1499" -> "serviceprincipalname".
func attrBase(desc string) string {
	if i := strings.IndexByte(desc, ';'); i >= 0 {
		desc = desc[:i]
	}
	return strings.ToLower(desc)
}

// attrsOf converts a search result entry.
func attrsOf(e *ldap.Entry) attrs {
	a := make(attrs, len(e.Attributes))
	for _, at := range e.Attributes {
		k := attrBase(at.Name)
		a[k] = append(a[k], at.Values...)
	}
	return a
}

// The attributes an Account is decoded from. The constructed ones
// (msDS-User-Account-Control-Computed, msDS-UserPasswordExpiryTimeComputed,
// msDS-KeyVersionNumber) are returned only when asked for by name.
const (
	atObjectClass     = "objectclass"
	atObjectSid       = "objectsid"
	atSAMAccountName  = "samaccountname"
	atUPN             = "userprincipalname"
	atDNSHostName     = "dnshostname"
	atUAC             = "useraccountcontrol"
	atUACComputed     = "msds-user-account-control-computed"
	atLockoutTime     = "lockouttime"
	atAccountExpires  = "accountexpires"
	atPwdLastSet      = "pwdlastset"
	atPasswordExpiry  = "msds-userpasswordexpirytimecomputed"
	atEncTypes        = "msds-supportedencryptiontypes"
	atKVNO            = "msds-keyversionnumber"
	atSPN             = "serviceprincipalname"
	atMaxPwdAge       = "maxpwdage"
	atNetBIOSName     = "netbiosname"
	atNCName          = "ncname"
	atDefaultNC       = "defaultnamingcontext"
	atConfigNC        = "configurationnamingcontext"
	atCurrentTime     = "currenttime"
	atRootDNSHostName = "dnshostname"
)

// accountAttributes are requested from a domain controller for Account and
// ComputerByDNSName, spelled as AD spells them.
var accountAttributes = []string{
	"objectClass", "objectSid", "sAMAccountName", "userPrincipalName", "dNSHostName",
	"userAccountControl", "msDS-User-Account-Control-Computed", "lockoutTime",
	"accountExpires", "pwdLastSet", "msDS-UserPasswordExpiryTimeComputed",
	"msDS-SupportedEncryptionTypes", "msDS-KeyVersionNumber", "servicePrincipalName",
}

// gcAccountAttributes are the account attributes the global catalog holds; FindSPN
// asks for these.
var gcAccountAttributes = []string{
	"objectClass", "objectSid", "sAMAccountName", "userPrincipalName", "dNSHostName",
	"userAccountControl", "servicePrincipalName",
}

// decodeAccount decodes the account at dn from its attributes. Attributes that are
// absent leave their fields at the zero value (EncTypes at triage.EncTypesUnset); a
// value that is present but malformed is an error naming the attribute.
func decodeAccount(dn string, a attrs) (triage.Account, error) {
	acct := triage.Account{
		DN:             dn,
		SAMAccountName: a.first(atSAMAccountName),
		Class:          mostSpecificClass(a[atObjectClass]),
		UPN:            a.first(atUPN),
		DNSHostName:    a.first(atDNSHostName),
		EncTypes:       triage.EncTypesUnset,
		SPNs:           a[atSPN],
	}
	var err error
	fail := func(attr string, e error) (triage.Account, error) {
		return triage.Account{}, fmt.Errorf("decode %s of %q: %w", attr, dn, e)
	}
	if acct.Domain, err = domainOfDN(dn); err != nil {
		return fail("distinguishedName", err)
	}
	if v := a.first(atObjectSid); v != "" {
		if acct.SID, err = decodeSID(v); err != nil {
			return fail("objectSid", err)
		}
	}
	if v := a.first(atUAC); v != "" {
		if acct.UAC, err = decodeInt32(v); err != nil {
			return fail("userAccountControl", err)
		}
	}
	// AD never sets the lockout and password-expired bits in the stored
	// userAccountControl; it computes them into msDS-User-Account-Control-Computed.
	if v := a.first(atUACComputed); v != "" {
		computed, err := decodeInt32(v)
		if err != nil {
			return fail("msDS-User-Account-Control-Computed", err)
		}
		acct.UAC |= computed & (triage.UACLockout | triage.UACPasswordExpired)
	}
	if v := a.first(atLockoutTime); v != "" {
		if acct.LockoutTime, err = decodeFiletime(v); err != nil {
			return fail("lockoutTime", err)
		}
	}
	if v := a.first(atAccountExpires); v != "" {
		if acct.AccountExpires, err = decodeFiletime(v); err != nil {
			return fail("accountExpires", err)
		}
	}
	if v := a.first(atPwdLastSet); v != "" {
		if acct.PwdLastSet, err = decodeFiletime(v); err != nil {
			return fail("pwdLastSet", err)
		}
		acct.PwdMustChange = acct.PwdLastSet.IsZero()
	}
	if v := a.first(atPasswordExpiry); v != "" {
		if acct.PasswordExpiry, err = decodeFiletime(v); err != nil {
			return fail("msDS-UserPasswordExpiryTimeComputed", err)
		}
	}
	if v := a.first(atEncTypes); v != "" {
		if acct.EncTypes, err = decodeInt32(v); err != nil {
			return fail("msDS-SupportedEncryptionTypes", err)
		}
	}
	if v := a.first(atKVNO); v != "" {
		if acct.KVNO, err = decodeInt32(v); err != nil {
			return fail("msDS-KeyVersionNumber", err)
		}
	}
	return acct, nil
}

// classRank orders the object classes of security principals from most to least
// specific. AD lists objectClass values from "top" down, but LDIF from other tools
// need not, so the rank decides.
var classRank = []string{
	"msDS-DelegatedManagedServiceAccount",
	"msDS-GroupManagedServiceAccount",
	"msDS-ManagedServiceAccount",
	"computer",
	"inetOrgPerson",
	"user",
}

// mostSpecificClass returns the most specific of the objectClass values.
func mostSpecificClass(values []string) string {
	for _, c := range classRank {
		for _, v := range values {
			if strings.EqualFold(v, c) {
				return c
			}
		}
	}
	if len(values) == 0 {
		return ""
	}
	return values[len(values)-1]
}

// domainOfDN returns the DNS domain named by the DC= components of dn, in lower
// case: "CN=svc,OU=x,DC=corp,DC=example" -> "corp.example". It is "" when dn has
// no DC= component.
func domainOfDN(dn string) (string, error) {
	if dn == "" {
		return "", nil
	}
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return "", err
	}
	var labels []string
	for _, rdn := range parsed.RDNs {
		for _, at := range rdn.Attributes {
			if strings.EqualFold(at.Type, "DC") {
				labels = append(labels, strings.ToLower(at.Value))
			}
		}
	}
	return strings.Join(labels, "."), nil
}

// decodeSID renders a binary objectSid in its S-1-5-21-... form. A value already in
// that form (some exporters write it so) is returned as it is.
func decodeSID(v string) (string, error) {
	if strings.HasPrefix(v, "S-1-") {
		if !validSIDString(v) {
			return "", fmt.Errorf("malformed SID %q", v)
		}
		return v, nil
	}
	b := []byte(v)
	if len(b) < 8 {
		return "", fmt.Errorf("SID of %d bytes is shorter than 8", len(b))
	}
	if b[0] != 1 {
		return "", fmt.Errorf("SID revision %d, want 1", b[0])
	}
	n := int(b[1])
	if n > 15 || len(b) != 8+4*n {
		return "", fmt.Errorf("SID of %d bytes has %d sub-authorities", len(b), n)
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var sb strings.Builder
	sb.WriteString("S-1-")
	sb.WriteString(strconv.FormatUint(auth, 10))
	for i := range n {
		sb.WriteByte('-')
		sb.WriteString(strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10))
	}
	return sb.String(), nil
}

// validSIDString reports whether s is S-1-<authority>(-<subauthority>)*.
func validSIDString(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || len(parts) > 18 || parts[0] != "S" || parts[1] != "1" {
		return false
	}
	for _, p := range parts[2:] {
		if _, err := strconv.ParseUint(p, 10, 64); err != nil {
			return false
		}
	}
	return true
}

// decodeInt32 parses a directory Integer (32-bit) value. AD writes flag words with
// the high bit set as negative numbers; they are returned as their unsigned value.
func decodeInt32(v string) (int, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not an integer: %q", truncate(v, 32))
	}
	if n < math.MinInt32 || n > math.MaxUint32 {
		return 0, fmt.Errorf("%d is out of the 32-bit range", n)
	}
	return int(uint32(n)), nil
}

// The FILETIME epoch, 1601-01-01, in Unix seconds, and the "never" sentinel.
const (
	filetimeEpoch = -11644473600
	filetimeNever = math.MaxInt64
)

var errNegativeFiletime = errors.New("negative FILETIME")

// decodeFiletime converts an AD Large Integer time (100 ns ticks since 1601-01-01
// UTC). 0 and 0x7FFFFFFFFFFFFFFF, which AD writes for "not set" and "never", give the
// zero time.
func decodeFiletime(v string) (time.Time, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("not a FILETIME: %q", truncate(v, 32))
	}
	switch {
	case n == 0 || n == filetimeNever:
		return time.Time{}, nil
	case n < 0:
		return time.Time{}, errNegativeFiletime
	}
	return time.Unix(filetimeEpoch+n/1e7, (n%1e7)*100).UTC(), nil
}

// decodeInterval converts an AD interval such as maxPwdAge: a negative count of
// 100 ns ticks. 0 and the most negative value mean "never" and give 0.
func decodeInterval(v string) (time.Duration, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("not an interval: %q", truncate(v, 32))
	}
	if n == math.MinInt64 || n == 0 {
		return 0, nil
	}
	if n > 0 {
		// Some tools write the magnitude without the sign.
		n = -n
	}
	if -n > math.MaxInt64/100 {
		return 0, nil // longer than time.Duration holds: as good as never
	}
	return time.Duration(-n) * 100, nil
}

// decodeGeneralizedTime parses an LDAP GeneralizedTime such as rootDSE currentTime
// ("20250601093000.0Z").
func decodeGeneralizedTime(v string) (time.Time, error) {
	t, err := ber.ParseGeneralizedTime([]byte(v))
	if err != nil {
		return time.Time{}, fmt.Errorf("not a GeneralizedTime: %q", truncate(v, 32))
	}
	return t.UTC(), nil
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
