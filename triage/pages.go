package triage

import "slices"

// verifiedPages are the pages authtriage cites, each looked up in Microsoft's published
// sources (the Learn repositories MicrosoftDocs/sql-docs, SupportArticles-docs,
// windowsserverdocs, win32 and sdk-api) or the protocol's specification before it was
// added. A cause's link or a table's source must be one of them; the catalog tests
// enforce it, so a new link is looked up before it ships.
var verifiedPages = []string{
	linkLocalSecurity,
	linkRegisterSPN,
	linkSSPIContext,
	linkConsistent,
	linkRC4,
	linkKerberos,
	linkLinuxAD,
	linkLinuxKeytab,
	link18452,
	link18456,
	linkSecureChannel,
	linkBrokenTrust,
	linkLDAPSCert,
	linkLDAPSSAN,
	linkKB5073381,
	link4625,
	linkNetworkLogonRight,
	srcRFC4120.URL,
	srcEvent4768.URL,
	srcSSPIStatus.URL,
	srcAcceptSecurityContext.URL,
}

// VerifiedPage reports whether url is one of the pages authtriage has looked up.
func VerifiedPage(url string) bool { return slices.Contains(verifiedPages, url) }

// VerifiedPages returns the pages authtriage cites. The slice is new on every call.
func VerifiedPages() []string { return slices.Clone(verifiedPages) }

// Pages cited by the knowledge tables and causes beyond cause.go's links.
const (
	linkLinuxKeytab = "https://learn.microsoft.com/sql/linux/security/authentication/rotate-keytabs"
	// "4625(F) An account failed to log on.": the logon types (3 is Network) and the
	// Status / Sub Status codes (0xC000015B, 0xC000018C, 0xC000006D, ...).
	link4625 = "https://learn.microsoft.com/previous-versions/windows/it-pro/windows-10/security/threat-protection/auditing/event-4625"
	// "Access this computer from the network - security policy setting"
	// (SeNetworkLogonRight): who may connect to the computer from the network.
	linkNetworkLogonRight = "https://learn.microsoft.com/previous-versions/windows/it-pro/windows-10/security/threat-protection/security-policy-settings/access-this-computer-from-the-network"
)
