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
)
