package triage

import "slices"

// verifiedPages are the pages authtriage cites, each looked up in Microsoft's published
// sources (the Learn repositories MicrosoftDocs/sql-docs, SupportArticles-docs,
// windowsserverdocs, win32 and sdk-api) or the protocol's specification before it was
// added. A cause's link or a table's source must be one of them; the catalog tests
// enforce it, so a new link is looked up before it ships.
var verifiedPages = []string{
	linkMirroringWindowsAuth,
	linkDNNListener,
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
	linkKCD,
	linkRBCD,
	linkKerberosKCDOverview,
	linkUnconstrained,
	linkProtectedUsers,
	linkSetADUser,
	linkSetADComputer,
	linkSetADAccountControl,
	linkSFURBCD,
	linkKILEFlags,
	linkFunctionalLevels,
	linkStaticPort, linkStaticOrDynamic, linkRenameHost, linkServerProperty, linkIEKerberos,
	linkListenerKerberos, linkListenerOverview, linkListenerConfigure, linkChangeServiceAccount,
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

	// The second hop's pages, looked up in MicrosoftDocs/SupportArticles-docs,
	// windowsserverdocs and windows-powershell-docs.
	//
	// "Troubleshooting Kerberos constrained delegation issues": the Delegation tab's
	// "Trust this user for delegation to specified services only" and its "Use any
	// authentication protocol", the back-end service in the service list, "Account is
	// sensitive and cannot be delegated" not selected; constrained delegation needs the
	// front and back ends in one domain, RBCD otherwise.
	linkKCD = "https://learn.microsoft.com/troubleshoot/windows-server/windows-security/troubleshoot-kerberos-constrained-delegation-issues"
	// "Troubleshooting Kerberos RBCD issues": Set-ADUser/Set-ADComputer -Identity
	// <BackEndSvcAcct> -PrincipalsAllowedToDelegateToAccount <FrontEndSvcAcct>.
	linkRBCD = "https://learn.microsoft.com/troubleshoot/windows-server/windows-security/troubleshoot-kerberos-rbcd-issues"
	// "Kerberos Constrained Delegation Overview": "The KDC always allows protocol
	// transition when performing resource-based constrained delegation as though the
	// bit were set."
	linkKerberosKCDOverview = "https://learn.microsoft.com/windows-server/security/kerberos/kerberos-constrained-delegation-overview"
	// "You can't use Kerberos unconstrained delegation in certain versions of
	// Windows": Credential Guard "prevents you from using credentials in full
	// delegation scenarios"; "To work around this issue, use constrained delegation
	// instead."
	linkUnconstrained = "https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/windows-prevents-unconstrained-delegation"
	// "Protected Users Security Group": members cannot "Delegate with unconstrained or
	// constrained delegation"; RID 525; "Never add accounts for services and computers
	// to the Protected Users group."
	linkProtectedUsers = "https://learn.microsoft.com/windows-server/security/credentials-protection-and-management/protected-users-security-group"
	// "Set-ADUser": -Add "Specifies values to add to an object property ... you must
	// use the LDAP display name", in the form -Add @{Attribute1LDAPDisplayName=value1,
	// value2, ...}; -PrincipalsAllowedToDelegateToAccount "sets the
	// msDS-AllowedToActOnBehalfOfOtherIdentity attribute".
	linkSetADUser = "https://learn.microsoft.com/powershell/module/activedirectory/set-aduser?view=windowsserver2025-ps"
	// "Set-ADComputer": -PrincipalsAllowedToDelegateToAccount, with "Running
	// Set-ADComputer without specifying the first principal will cause it to get
	// overridden": the parameter replaces the list.
	linkSetADComputer = "https://learn.microsoft.com/powershell/module/activedirectory/set-adcomputer?view=windowsserver2025-ps"
	// "Set-ADAccountControl": -TrustedToAuthForDelegation sets
	// ADS_UF_TRUSTED_TO_AUTHENTICATE_FOR_DELEGATION ("$False or 0, $True or 1"); only
	// this cmdlet has the parameter, not Set-ADUser, Set-ADComputer or
	// Set-ADServiceAccount.
	linkSetADAccountControl = "https://learn.microsoft.com/powershell/module/activedirectory/set-adaccountcontrol?view=windowsserver2025-ps"
	// "[MS-SFU] 3.2.5.2.3 Using ServicesAllowedToReceiveForwardedTicketsFrom":
	// resource-based delegation, checked when constrained delegation did not allow the
	// request; a failed access check is "KRB-ERR-BADOPTION with STATUS_NOT_FOUND", a
	// ticket that is not forwardable "KRB-ERR-BADOPTION with STATUS_ACCOUNT_RESTRICTION".
	linkSFURBCD = "https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/dd1b47f9-580c-4c4e-8f34-4485b9728331"
	// "[MS-KILE] 3.3.5.1 Request Flag Ticket-issuing Behavior": "If DelegationNotAllowed
	// is set to TRUE on the principal (or if domainControllerFunctionality returns a
	// value >= 6 ... and the principal is a member of PROTECTED_USERS ...), the KILE KDC
	// MUST NOT set the PROXIABLE or FORWARDABLE ticket flags".
	linkKILEFlags = "https://learn.microsoft.com/openspecs/windows_protocols/ms-kile/f5993d64-a280-4555-9fcc-922fb934fc27"
	// "Forest and Domain Functional Levels": the Windows Server 2012 R2 domain
	// functional level brings "DC-side protections for Protected Users", among them
	// that members can no longer "Be delegated with unconstrained or constrained
	// delegation".
	linkFunctionalLevels = "https://learn.microsoft.com/windows-server/identity/ad-ds/active-directory-functional-levels"
)
