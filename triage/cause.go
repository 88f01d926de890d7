package triage

import (
	"slices"
	"strings"
)

// A CauseID names one cause of a Windows-authentication failure. The IDs are a public
// contract (JSON output, stored history, Slack metadata): add new ones freely, never
// rename or reuse one.
type CauseID string

const (
	DCUnreachable          CauseID = "dc.unreachable"
	LSAUnresponsive        CauseID = "lsa.unresponsive"
	SPNMissing             CauseID = "spn.missing"
	SPNDuplicate           CauseID = "spn.duplicate"
	SPNWrongAccount        CauseID = "spn.wrong_account"
	SPNRegistrationFailed  CauseID = "spn.registration_failed"
	AccountDisabled        CauseID = "account.disabled"
	AccountLockedOut       CauseID = "account.locked_out"
	AccountExpired         CauseID = "account.expired"
	AccountPasswordExpired CauseID = "account.password_expired"
	KerberosEtypeMismatch  CauseID = "kerberos.etype_mismatch"
	ClockSkew              CauseID = "clock.skew"
	KerberosTicketFailed   CauseID = "kerberos.ticket_failed"
	KeytabStale            CauseID = "keytab.stale"
	DNSMismatch            CauseID = "dns.mismatch"
	LoginUntrustedDomain   CauseID = "login.untrusted_domain"
	LoginFailed            CauseID = "login.failed"
	SSPIHandshakeFailed    CauseID = "sspi.handshake_failed"
	AgentUnreachable       CauseID = "agent.unreachable"
	AccountNotFound        CauseID = "account.not_found"
	KerberosNTLMFallback   CauseID = "kerberos.ntlm_fallback"
	LoginAnonymous         CauseID = "login.anonymous"
	LoginNullUser          CauseID = "login.null_user"
	LoginEmptyUser         CauseID = "login.empty_user"
	SecureChannelBroken    CauseID = "computer.secure_channel"
	SSPILogonDenied        CauseID = "sspi.logon_denied"
	KerberosRC4Default     CauseID = "kerberos.rc4_default"
	DCCertificate          CauseID = "dc.certificate"
	InstancePortUnknown    CauseID = "instance.port_unknown"
	AccountMismatch        CauseID = "account.mismatch"

	// Instances as their clients see them (cause_instances.go): ports, cluster names,
	// aliases.
	InstanceDynamicPort   CauseID = "instance.dynamic_port"
	InstancePortMismatch  CauseID = "instance.port_mismatch"
	SPNStalePort          CauseID = "spn.stale_port"
	ClusterSPNOnNode      CauseID = "cluster.spn_on_node"
	NameAlias             CauseID = "name.alias"
	NameServerNameChanged CauseID = "name.server_name"

	// Availability-group listeners (cause_listeners.go).
	ListenerSPNMissing      CauseID = "listener.spn_missing"
	ListenerSPNWrongAccount CauseID = "listener.spn_wrong_account"
	ListenerAccountsDiffer  CauseID = "listener.accounts_differ"
	ListenerDNSMismatch     CauseID = "listener.dns_mismatch"

	// The second hop (delegation.go): a front end that must forward its users'
	// identity to a back-end SQL Server.
	DelegationSecondHop             CauseID = "delegation.second_hop"
	DelegationNotTrusted            CauseID = "delegation.not_trusted"
	DelegationSPNNotAllowed         CauseID = "delegation.spn_not_allowed"
	DelegationPortFormMissing       CauseID = "delegation.port_form_missing"
	DelegationUserSensitive         CauseID = "delegation.user_sensitive"
	DelegationProtocolTransition    CauseID = "delegation.protocol_transition"
	DelegationUnconstrainedBlocked  CauseID = "delegation.unconstrained_blocked"
	DelegationNTLMFirstHop          CauseID = "delegation.ntlm_first_hop"
	DelegationBackendSPNMissing     CauseID = "delegation.backend_spn_missing"
	DelegationResourceBased         CauseID = "delegation.resource_based"
	DelegationProtectionNotEnforced CauseID = "delegation.protection_not_enforced"
)

// A Cause is the catalog entry behind a CauseID: its default severity, what it means,
// how to fix it and where to read more. Summary and the steps of Fix are templates
// whose <PLACEHOLDERS> a rule fills in with real names (see NewFinding): into text by
// replacement, into a step's command only through the slots of its Command, each
// value checked and quoted for the command's shell.
type Cause struct {
	ID       CauseID
	Severity Severity
	Title    string // what it means, as one line
	Summary  string // a finding's summary when the rule has nothing more specific
	Fix      []FixStep
	Links    []string
}

// A FixStep is a step of the catalog: what to do, and the command that does it with
// its slots still empty (nil for a step that is prose only). NewFinding fills both.
type FixStep struct {
	Text    string
	Command *Command
}

// Template returns the step as a finding would show it with no value known: every
// slot written as its placeholder.
func (s FixStep) Template() Step {
	if s.Command == nil {
		return Step{Text: s.Text}
	}
	return Step{Text: s.Text, Command: s.Command.Template(), Shell: s.Command.Shell}
}

// A Step is one remediation step: what to do, and the command that does it, if any.
// Command is written for Shell, every value from evidence in it checked and quoted
// (Command.Render); build steps with commands through NewStep or NewFinding, never
// by putting strings together.
type Step struct {
	Text    string `json:"text"`
	Command string `json:"command,omitempty"`
	// Shell is what Command is written for: powershell, cmd, tsql or sh.
	Shell Shell `json:"shell,omitempty"`
	// Omitted says why a step that has a command in the catalog has none here: a
	// value could not be written safely ("the SPN contains a line break (U+000A)").
	Omitted string `json:"command_omitted,omitempty"`
}

// Placeholders that rules fill in. Any left unfilled stay in the text as written, which
// reads as "put the real value here" to the person following the steps.
const (
	PHHost     = "<HOST>"     // the host's short name, upper case
	PHFQDN     = "<FQDN>"     // the host's fully qualified name
	PHDomain   = "<DOMAIN>"   // the NetBIOS or DNS name of the domain
	PHSPN      = "<SPN>"      // a service principal name
	PHAccount  = "<ACCOUNT>"  // the account that should own the SPN, DOMAIN\name
	PHWrong    = "<WRONG>"    // an account that should not own the SPN
	PHCode     = "<CODE>"     // an error code with its name
	PHSam      = "<SAM>"      // the account's sAMAccountName, as AD cmdlets' -Identity takes it
	PHSetAD    = "<SET-AD>"   // Set-ADUser, Set-ADComputer or Set-ADServiceAccount, by the account's class
	PHLogin    = "<LOGIN>"    // a SQL Server login name, as the ERRORLOG writes it
	PHInstance = "<INSTANCE>" // an instance as users write it: "SALES", "MSSQLSERVER:1433"
	PHDC       = "<DC>"       // a domain controller the evidence names: "dc2.corp.example"

	// The second hop's. PHSPNs and PHPrincipals are lists (ListValue, ListSlot); text
	// shows their values separated by commas.
	PHSPNs         = "<SPNS>"            // the back end's SPNs a front end must be allowed to delegate to
	PHPrincipals   = "<PRINCIPALS>"      // principals by SID or sAMAccountName
	PHBackEndSam   = "<BACK-END-SAM>"    // the back end's service account, as -Identity takes it
	PHBackEndSetAD = "<BACK-END-SET-AD>" // Set-ADUser, Set-ADComputer or Set-ADServiceAccount, for the back end's account
	PHFrontEnd     = "<FRONT-END>"       // text only: front ends, "sqlfe (CORP\svc_web)"
	PHBackEnd      = "<BACK-END>"        // text only: the back end, "sqlbe" or "sqlbe\SALES"
	PHUser         = "<USER>"            // text only: the user whose identity travels
)

const (
	linkLocalSecurity = "https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/local-security-subsystem-errors"
	linkRegisterSPN   = "https://learn.microsoft.com/sql/database-engine/configure-windows/register-a-service-principal-name-for-kerberos-connections"
	linkSSPIContext   = "https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/cannot-generate-sspi-context-error"
	linkConsistent    = "https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/consistent-authentication-connectivity-issues"
	linkRC4           = "https://learn.microsoft.com/windows-server/security/kerberos/detect-remediate-rc4-kerberos"
	linkKerberos      = "https://learn.microsoft.com/troubleshoot/windows-server/windows-security/kerberos-authentication-troubleshooting-guidance"
	linkLinuxAD       = "https://learn.microsoft.com/sql/linux/security/authentication/troubleshoot-active-directory"
	link18452         = "https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-18452-database-engine-error"
	link18456         = "https://learn.microsoft.com/sql/relational-databases/errors-events/mssqlserver-18456-database-engine-error"
	// "Active Directory has a newer password value than client device": the secure
	// channel repair (nltest /sc_reset, Test-ComputerSecureChannel -Repair, restart).
	linkSecureChannel = "https://learn.microsoft.com/troubleshoot/windows-server/windows-security/active-directory-has-newer-password-value-than-client-device"
	// "Broken trust relationship between domain-joined device and its domain".
	linkBrokenTrust = "https://learn.microsoft.com/troubleshoot/windows-server/windows-security/broken-trust-relationship-domain-joined-device-its-domain-secure-channel-issues"
	// "Enable LDAP over SSL with a third-party certification authority": the DC
	// certificate's requirements (FQDN in the subject or the subject alternative name,
	// Server Authentication).
	linkLDAPSCert = "https://learn.microsoft.com/troubleshoot/windows-server/active-directory/enable-ldap-over-ssl-3rd-certification-authority"
	// "Add SAN to secure LDAP certificate".
	linkLDAPSSAN = "https://learn.microsoft.com/troubleshoot/windows-server/windows-security/add-san-to-secure-ldap-certificate"
	// KB5073381, "How to manage Kerberos KDC usage of RC4 for service account ticket
	// issuance changes related to CVE-2026-20833" (support.microsoft.com, not Learn).
	linkKB5073381 = "https://support.microsoft.com/topic/1ebcda33-720a-4da8-93c1-b0496e1910dc"
)

// Causes returns the cause catalog in the order of the published table. The slice is
// new on every call.
func Causes() []Cause {
	var (
		setspnS  = ps("setspn", Lit("-S"), Slot(PHSPN), Slot(PHAccount))
		setspnD  = ps("setspn", Lit("-D"), Slot(PHSPN), Slot(PHWrong))
		klistGet = ps("klist", Lit("get"), Slot(PHSPN))
	)
	return slices.Concat([]Cause{
		{
			ID: DCUnreachable, Severity: Critical,
			Title:   "No domain controller or KDC could be contacted from the SQL Server host (SEC_E_NO_AUTHENTICATING_AUTHORITY)",
			Summary: "<HOST> could not contact a domain controller to authenticate Windows logins",
			Fix: []FixStep{
				run("From <HOST>, ask Windows to find a domain controller and KDC now, bypassing its cache", ps("nltest", Prefixed("/dsgetdc:", PHDomain), Lit("/force"), Lit("/kdc"))),
				run("Check the host's secure channel to the domain", ps("nltest", Prefixed("/sc_query:", PHDomain))),
				{Text: "Make sure <HOST> can reach the domain controllers on TCP/UDP 88 (Kerberos), 389 (LDAP), 464 (password change), 53 (DNS), 135 and 49152-65535 (RPC)"},
			},
			Links: []string{linkLocalSecurity},
		},
		{
			ID: LSAUnresponsive, Severity: Critical,
			Title:   "The Local Security Authority (LSASS) on the SQL Server host cannot be contacted or stopped responding (SEC_E_INTERNAL_ERROR)",
			Summary: "The Local Security Authority on <HOST> is not answering SQL Server's authentication requests",
			Fix: []FixStep{
				run("Check the health of lsass.exe on <HOST> (CPU, memory, handle count) and the System log for LsaSrv and Kerberos errors", pipe(ps("Get-Process", Lit("lsass")), ps("Format-List", Lit("CPU,WorkingSet64,HandleCount")))),
				run("Verify the instance's SPN is registered once, on the service account", ps("setspn", Lit("-Q"), Slot(PHSPN))),
				run("List the SPNs of the service account", ps("setspn", Lit("-L"), Slot(PHAccount))),
			},
			Links: []string{linkLocalSecurity},
		},
		{
			ID: SPNMissing, Severity: Critical,
			Title:   "A required MSSQLSvc SPN for the instance is registered on no account",
			Summary: "<SPN> is not registered on any account",
			Fix: []FixStep{
				run("Register the SPN on the service account (-S checks for duplicates first)", setspnS),
			},
			Links: []string{linkRegisterSPN},
		},
		{
			ID: SPNDuplicate, Severity: Critical,
			Title:   "The same SPN is registered on two or more accounts",
			Summary: "<SPN> is registered on more than one account",
			Fix: []FixStep{
				run("Remove the SPN from every account that is not the service account", setspnD),
			},
			Links: []string{linkSSPIContext},
		},
		{
			ID: SPNWrongAccount, Severity: Critical,
			Title:   "The SPN exists, but on an account other than the one SQL Server runs as",
			Summary: "<SPN> is registered on <WRONG>, not on the service account <ACCOUNT>",
			Fix: []FixStep{
				run("Remove the SPN from the wrong account", setspnD),
				run("Register it on the service account", setspnS),
			},
			Links: []string{linkSSPIContext},
		},
		{
			ID: SPNRegistrationFailed, Severity: Warning,
			Title:   "SQL Server could not register its own SPNs at start-up",
			Summary: "SQL Server on <HOST> could not register <SPN> at start-up",
			Fix: []FixStep{
				run("Register the SPN by hand (-S checks for duplicates first)", setspnS),
				{Text: selfRegistrationRights}, // the rights, and their source: cause_instances.go
			},
			Links: []string{linkRegisterSPN, linkSSPIContext},
		},
		{
			ID: AccountDisabled, Severity: Critical,
			Title:   "The SQL Server service account is disabled",
			Summary: "The service account <ACCOUNT> is disabled",
			Fix: []FixStep{
				run("Enable the account in Active Directory", ps("Enable-ADAccount", Lit("-Identity"), Slot(PHSam))),
			},
			Links: []string{linkConsistent},
		},
		{
			ID: AccountLockedOut, Severity: Critical,
			Title:   "The SQL Server service account is locked out",
			Summary: "The service account <ACCOUNT> is locked out",
			Fix: []FixStep{
				run("Unlock the account", ps("Unlock-ADAccount", Lit("-Identity"), Slot(PHSam))),
				{Text: "Find the source of the bad passwords (event 4740 on the PDC emulator) before it locks again"},
			},
			Links: []string{linkConsistent},
		},
		{
			ID: AccountExpired, Severity: Critical,
			Title:   "The SQL Server service account has expired",
			Summary: "The service account <ACCOUNT> expired",
			Fix: []FixStep{
				run("Extend or clear the account's expiry date", ps("Clear-ADAccountExpiration", Lit("-Identity"), Slot(PHSam))),
			},
			Links: []string{linkConsistent},
		},
		{
			ID: AccountPasswordExpired, Severity: Critical,
			Title:   "The service account's password has expired or must be changed",
			Summary: "The password of the service account <ACCOUNT> has expired",
			Fix: []FixStep{
				run("Reset the password in Active Directory", ps("Set-ADAccountPassword", Lit("-Identity"), Slot(PHSam), Lit("-Reset"))),
				{Text: "Enter the new password for the SQL Server service in SQL Server Configuration Manager, then restart the service"},
			},
			Links: []string{linkSSPIContext},
		},
		{
			ID: KerberosEtypeMismatch, Severity: Critical,
			Title:   "Client, KDC and service account share no usable Kerberos encryption type",
			Summary: "The service account <ACCOUNT> has no Kerberos encryption type the KDC and clients accept",
			Fix: []FixStep{
				run("Allow AES for the account, once it has AES keys (next step): an account allowed AES only but without AES keys gets no ticket", Command{Shell: ShellPowerShell, Program: Slot(PHSetAD), Args: []Arg{Lit("-Identity"), Slot(PHSam), Lit("-KerberosEncryptionType"), Lit("AES128,AES256")}}),
				{Text: "Make AES keys exist: reset a user account's password, then update the SQL Server service and restart it (a computer or managed service account gets them at its next automatic password change)"},
			},
			Links: []string{linkRC4},
		},
		{
			ID: ClockSkew, Severity: Critical,
			Title:   "Clocks of the SQL Server host and the domain controller differ by more than the Kerberos tolerance (5 minutes by default)",
			Summary: "The clock of <HOST> differs from the domain's by more than Kerberos allows",
			Fix: []FixStep{
				run("Resynchronise the host's clock with the domain hierarchy", ps("w32tm", Lit("/resync"), Lit("/rediscover"))),
				run("Make the domain hierarchy the host's time source", ps("w32tm", Lit("/config"), Lit("/syncfromflags:domhier"), Lit("/update"))),
			},
			Links: []string{linkKerberos},
		},
		{
			ID: KerberosTicketFailed, Severity: Critical,
			Title:   "A service ticket for the SPN could not be obtained",
			Summary: "The KDC refused a service ticket for <SPN>: <CODE>",
			Fix: []FixStep{
				run("Request the ticket by hand from a client to see the KDC's answer", klistGet),
			},
			Links: []string{linkKerberos},
		},
		{
			ID: KeytabStale, Severity: Critical,
			Title:   "SQL Server on Linux: the keytab lacks the SPN, holds an old key version, or holds no key of the encryption type the KDC uses for the account",
			Summary: "The keytab on <HOST> does not match the service account <ACCOUNT>",
			// "Rotate keytabs for SQL Server on Linux" (linkLinuxKeytab): mssql-conf
			// setup-ad-keytab KEYTAB ACCOUNT --use-next-kvno ("allocates the current kvno
			// + 1"; the account is network.privilegedadaccount, a user name without the
			// domain), or adutil keytab createauto / create with --kvno; then klist -kte,
			// then the same new password in Active Directory; a restart only when Active
			// Directory changed first. "Tutorial: Use adutil to configure Active Directory
			// authentication with SQL Server on Linux"
			// (https://learn.microsoft.com/sql/linux/security/authentication/adutil-tutorial):
			// /opt/mssql/bin/mssql-conf, -e/--enctype, and "you should avoid arcfour-hmac
			// in a production environment because it has weak encryption".
			Fix: []FixStep{
				run("As the mssql user, after kinit as an account allowed to manage <ACCOUNT>, write the keys of the next key version into the keytab; mssql-conf asks for the new password", NewCommand(ShellSh, "/opt/mssql/bin/mssql-conf", Lit("setup-ad-keytab"), Lit("/var/opt/mssql/secrets/mssql.keytab"), Slot(PHSam), Lit("--use-next-kvno"))),
				{Text: "Or with adutil: run adutil keytab createauto and adutil keytab create with --kvno set to the account's current key version plus one (kvno shows it), as \"Rotate keytabs for SQL Server on Linux\" shows, choosing the AES types aes256-cts-hmac-sha1-96 and aes128-cts-hmac-sha1-96 (-e): Microsoft's adutil tutorial says to avoid the weak RC4 type in production"},
				run("Check that the keytab holds the new key version for every SPN and for the account, with the encryption types the account allows", NewCommand(ShellSh, "klist", Lit("-kte"), Lit("/var/opt/mssql/secrets/mssql.keytab"))),
				{Text: "Change the password of <ACCOUNT> in Active Directory to the same new password. If Active Directory already had a newer password than the keytab (the key versions differed), restart SQL Server too"},
			},
			Links: []string{linkLinuxKeytab, linkLinuxAD},
		},
		{
			ID: DNSMismatch, Severity: Warning,
			Title:   "Name resolution gives clients a different SPN than the one registered",
			Summary: "DNS names for <HOST> disagree, so clients may ask for the wrong SPN",
			Fix: []FixStep{
				run("Make the A and PTR records of <FQDN> agree, or connect by the FQDN (or an explicit ServerSPN)", ps("nslookup", Slot(PHFQDN))),
			},
			Links: []string{linkSSPIContext},
		},
		{
			ID: LoginUntrustedDomain, Severity: Warning,
			Title:   "SQL Server rejected Windows logins as coming from an untrusted domain (18452)",
			Summary: "SQL Server on <HOST> rejected Windows logins as from an untrusted domain",
			Fix: []FixStep{
				{Text: "Check that the clients' domain and the server's domain trust each other, and that the clients log on to the domain (not a local account)"},
				run("Confirm the host still has a working secure channel", ps("nltest", Prefixed("/sc_query:", PHDomain))),
			},
			Links: []string{link18452},
		},
		{
			ID: LoginFailed, Severity: Warning,
			Title:   "Authentication reached SQL Server but the login was refused (18456): an authorization problem, not Kerberos",
			Summary: "SQL Server on <HOST> refused logins (18456)",
			Fix:     []FixStep{{Text: "Act on the state's meaning shown with the evidence"}},
			Links:   []string{link18456},
		},
		{
			ID: SSPIHandshakeFailed, Severity: Warning,
			Title:   "The SSPI handshake failed with a code no more specific cause explains (17806)",
			Summary: "SSPI handshakes on <HOST> failed with <CODE>",
			Fix:     []FixStep{{Text: "Act on the code's meaning shown with the evidence"}},
			Links:   []string{linkConsistent},
		},
		{
			ID: AccountNotFound, Severity: Critical,
			Title:   "The service account SQL Server is configured to run as does not exist in the directory",
			Summary: "The service account <ACCOUNT> was not found in the directory",
			Fix: []FixStep{
				{Text: "Check the account SQL Server runs as (SQL Server Configuration Manager, or sys.dm_server_services) and correct the inventory, or create the account"},
			},
			Links: []string{linkConsistent},
		},
		{
			ID: KerberosNTLMFallback, Severity: Warning,
			Title:   "Windows logins to the instance from another machine use NTLM, not Kerberos",
			Summary: "A remote Windows login to <HOST> used NTLM: clients could not get a Kerberos ticket for <SPN>",
			Fix: []FixStep{
				run("Check that the SPN exists once, on the service account", ps("setspn", Lit("-Q"), Slot(PHSPN))),
				run("From a client, ask for the ticket the driver would ask for", klistGet),
			},
			Links: []string{linkRegisterSPN},
		},
		{
			ID: LoginAnonymous, Severity: Critical,
			Title:   "Windows logins reached SQL Server as NT AUTHORITY\\ANONYMOUS LOGON: a second hop without Kerberos delegation, NTLM where Kerberos is needed, or a missing or misplaced SPN",
			Summary: "SQL Server on <HOST> refused logins as NT AUTHORITY\\ANONYMOUS LOGON",
			Fix: []FixStep{
				{Text: "Find the front end that connects on the users' behalf (a linked server, Reporting Services, an IIS or application pool): the user's identity is making a second hop, which needs Kerberos with delegation; NTLM cannot make it"},
				run("Check that the SPN clients ask for exists once, on the service account of <HOST>", ps("setspn", Lit("-Q"), Slot(PHSPN))),
				{Text: "Trust the front end's service account for constrained delegation to that SPN (Active Directory Users and Computers, Delegation tab: Trust this user for delegation to specified services only). Never grant the ANONYMOUS LOGON login access to SQL Server: that lets anyone in"},
				{Text: "Where delegation is set up already, check that the SPN of <HOST> is among the front end's services to delegate to, and that the users' accounts are not marked \"Account is sensitive and cannot be delegated\""},
			},
			Links: []string{link18456, linkConsistent},
		},
		{
			ID: LoginNullUser, Severity: Critical,
			Title:   "Windows logins failed for user '(null)': LSASS could not decrypt the client's security token with the service account's credentials, most often because the SPN is on the wrong account",
			Summary: "SQL Server on <HOST> refused Windows logins as '(null)'",
			Fix: []FixStep{
				run("Check which account holds the SPN clients ask for", ps("setspn", Lit("-Q"), Slot(PHSPN))),
				run("List the SPNs of the service account", ps("setspn", Lit("-L"), Slot(PHAccount))),
				run("Look for SPNs registered on more than one account", ps("setspn", Lit("-X"))),
			},
			Links: []string{link18456, linkSSPIContext},
		},
		{
			ID: LoginEmptyUser, Severity: Critical,
			Title:   "Windows logins failed for an empty user name: SQL Server could not hand the credentials to LSASS, or no domain controller could be contacted",
			Summary: "SQL Server on <HOST> refused Windows logins with an empty user name",
			Fix: []FixStep{
				run("Check the host's secure channel and which domain controller it uses", ps("nltest", Prefixed("/sc_query:", PHDomain))),
				run("If that domain controller is failing, reset the secure channel so Windows picks another", ps("nltest", Prefixed("/sc_reset:", PHDomain))),
			},
			Links: []string{link18456, linkLocalSecurity},
		},
		{
			ID: SecureChannelBroken, Severity: Critical,
			Title:   "The SQL Server host's secure channel to the domain is broken: a domain controller does not recognise its computer account password (NETLOGON 3210) or has no account for it (NETLOGON 5721)",
			Summary: "<HOST> could not set up its secure channel with a domain controller",
			// "Broken trust relationship between domain-joined device and its domain":
			// NETLOGON 3210, and nltest /sc_query answering ERROR_ACCESS_DENIED. "Active
			// Directory has a newer password value than client device": the repair
			// (nltest /sc_reset or Test-ComputerSecureChannel -Repair with domain admin
			// credentials), then a restart.
			Fix: []FixStep{
				run("On <HOST>, query the secure channel: a broken one answers ERROR_ACCESS_DENIED", ps("nltest", Prefixed("/sc_query:", PHDomain))),
				run("On <HOST>, as a domain administrator, repair the secure channel", ps("Test-ComputerSecureChannel", Lit("-Repair"))),
				run("Or reset it with nltest, as a domain administrator", ps("nltest", Prefixed("/sc_reset:", PHDomain))),
				{Text: "Restart <HOST> after the repair"},
			},
			Links: []string{linkSecureChannel, linkBrokenTrust},
		},
		{
			ID: SSPILogonDenied, Severity: Warning,
			Title:   "Windows refused the client's logon on the SQL Server host during the SSPI handshake (SEC_E_LOGON_DENIED, 0x8009030C)",
			Summary: "Windows on <HOST> refused the logon of clients during the SSPI handshake (0x8009030C)",
			// Microsoft does not say why AcceptSecurityContext returns SEC_E_LOGON_DENIED
			// ("The logon failed."), and no SQL Server article covers it; these steps read
			// Windows' own reason. "4625(F) An account failed to log on." documents the
			// Status codes and the logon types named here. "Access this computer from the
			// network" and "Deny access to this computer from the network" (which
			// supersedes it) are the user rights of a network logon.
			Fix: []FixStep{
				{Text: "On <HOST>, read the Security log's failed logons at the times of the failures (Event Viewer, Windows Logs, Security, Filter Current Log for event ID 4625; logon type 3 is a network logon): Failure Reason, Status and Sub Status say why Windows refused each one, for example 0xC000015B (the user has not been granted the requested logon type at this machine), 0xC000018C (the trust relationship between the domains failed), 0xC000006D (a bad user name or authentication information)"},
				{Text: "For 0xC000015B, check the user rights of <HOST> (Local Security Policy, User Rights Assignment): the clients' accounts or groups must hold Access this computer from the network, and must not be in Deny access to this computer from the network, which takes precedence"},
				{Text: "For 0xC000018C, or clients from another domain, check that the clients' domain and the server's domain trust each other, and that the clients log on with domain accounts"},
			},
			Links: []string{link4625, linkNetworkLogonRight, link18452, linkConsistent},
		},
		{
			ID: KerberosRC4Default, Severity: Warning,
			Title:   "The service account has no msDS-SupportedEncryptionTypes, so the domain controllers' default decides its Kerberos encryption: KB5073381 (CVE-2026-20833) makes that default AES only, and an account without AES keys then gets no ticket",
			Summary: "The service account <ACCOUNT> has no msDS-SupportedEncryptionTypes: its tickets depend on the domain controllers' default, which KB5073381 makes AES only",
			// "Detect and remediate RC4 usage in Kerberos" (linkRC4): Available Keys of
			// events 4768/4769 and List-AccountKeys.ps1; "Changing the account password
			// generates these keys"; "Define the specific msDS-SupportedEncryptionTypes
			// value". When accounts got AES keys, Microsoft's pages disagree: that page
			// says AES came with Windows Server 2003, "Protected Users Security Group"
			// (https://learn.microsoft.com/windows-server/security/credentials-protection-and-management/protected-users-security-group)
			// says users "need to change passwords after switching to domain functional
			// level of Windows Server 2008 or later" to have AES keys. The step says so.
			Fix: []FixStep{
				{Text: "Find out whether <ACCOUNT> has AES keys: on a domain controller, event 4769 for a ticket to <SPN> lists the account's Available Keys (Windows Server 2019 and later, or 2016 with its January 2025 update), and Microsoft's List-AccountKeys.ps1 (github.com/microsoft/Kerberos-Crypto) lists them from those events"},
				run("Or request a ticket and read its encryption type: an AES ticket proves AES keys; an RC4 one proves nothing while the domain controllers' default still allows RC4", klistGet),
				{Text: "If it has no AES keys, reset its password, which makes them (an account whose password was last set before the domain reached the Windows Server 2008 functional level has none, per \"Protected Users Security Group\"; \"Detect and remediate RC4 usage in Kerberos\" dates AES from Windows Server 2003 instead). Then enter the new password for the SQL Server service in SQL Server Configuration Manager and restart it; a computer or managed service account gets them at its next automatic password change"},
				run("Once it has AES keys, set its encryption types explicitly, so that it no longer depends on the domain controllers' default", Command{Shell: ShellPowerShell, Program: Slot(PHSetAD), Args: []Arg{Lit("-Identity"), Slot(PHSam), Lit("-KerberosEncryptionType"), Lit("AES128,AES256")}}),
			},
			Links: []string{linkRC4, linkKB5073381},
		},
		{
			ID: DCCertificate, Severity: Warning,
			Title:   "A domain controller answered, but its LDAPS certificate failed verification, so the directory could not be read",
			Summary: "The LDAPS certificate of a domain controller failed verification",
			// "Enable LDAP over SSL with a third-party certification authority" lists the
			// DC certificate's requirements: Server Authentication (1.3.6.1.5.5.7.3.1) in
			// the Enhanced Key Usage; the DC's FQDN in the subject CN or as a DNS name in
			// the Subject Alternative Name; issued by a CA the DC and the LDAPS clients
			// trust. "Add SAN to secure LDAP certificate" shows how to add the SAN. Go
			// (since 1.15) ignores the subject CN, so the checker needs the SAN.
			Fix: []FixStep{
				{Text: "Give the domain controller a certificate that is valid now, for Server Authentication (Enhanced Key Usage 1.3.6.1.5.5.7.3.1), with its FQDN as a DNS name in the Subject Alternative Name, issued by a CA the checker trusts: Windows also accepts the FQDN in the subject CN alone, the checker (Go) does not"},
				{Text: "Or, when the certificate is right and only its issuer is unknown to the checker, give the checker that CA's certificate (the directory section's CA file), as LDAPS clients must trust the root CA the issuing CA chains to"},
			},
			Links: []string{linkLDAPSCert, linkLDAPSSAN},
		},
		{
			ID: InstancePortUnknown, Severity: Unknown,
			Title:   "The TCP port of a named instance is not known, so the SPN its TCP clients ask for (MSSQLSvc/FQDN:PORT) could not be checked",
			Summary: "The TCP port of <INSTANCE> on <HOST> is not known: the SPN its TCP clients ask for could not be checked",
			Fix: []FixStep{
				{Text: "Give the instance's TCP port (NAME:PORT) so that authtriage can check MSSQLSvc/<FQDN>:PORT"},
				{Text: "A named instance that clients reach with Kerberos should listen on a static TCP port, so that its SPN does not go stale when the port changes"},
			},
			Links: []string{linkRegisterSPN, linkSSPIContext},
		},
		{
			ID: AccountMismatch, Severity: Warning,
			Title:   "The service account configured for the host is not the one SQL Server says it runs as",
			Summary: "SQL Server on <HOST> runs as <ACCOUNT>, not as the configured <WRONG>",
			Fix: []FixStep{
				{Text: "Correct the service account (service_account in the inventory, or --service-account) to the one SQL Server reports, and triage again: the account check reads the account named there, while the SPN findings already follow the one SQL Server reports"},
				{Text: "To see what the instance runs as now, read service_account in sys.dm_server_services, or the Log On account in SQL Server Configuration Manager"},
			},
			Links: []string{linkRegisterSPN},
		},
		{
			ID: AgentUnreachable, Severity: Unknown,
			Title:   "The helper agent that serves this host did not answer, so some checks could not run",
			Summary: "The agent for <HOST> did not answer",
			Fix: []FixStep{
				{Text: "Check that the agent service runs and that its port is reachable from the bot, with a valid certificate"},
			},
		},
		{
			ID: DelegationSecondHop, Severity: Critical,
			Title:   "Windows logins reached the back-end SQL Server with no user's identity (NT AUTHORITY\\ANONYMOUS LOGON, '(null)' or an empty name) while front ends are known to connect to it on their users' behalf: a second hop whose delegation failed",
			Summary: "SQL Server on <HOST> refused logins that carried no user's identity, and <FRONT-END> connect to it on their users' behalf: this is a second hop",
			// "MSSQLSERVER_18456" (link18456): ANONYMOUS LOGON in "double-hop
			// (constraint delegation) scenarios across multiple computers"; "Troubleshoot
			// consistent authentication issues" (linkConsistent): "A double-hop process
			// will fail if NTLM credentials are used. Kerberos credentials are required."
			Fix: []FixStep{
				{Text: "For each front end named (<FRONT-END>), read the finding about its path: it says whether the front end's account may delegate to the SPNs of <HOST>, whether the users can be delegated, and how to allow it"},
				run("Check that the SPN the front ends ask for exists once, on the service account of <HOST>", ps("setspn", Lit("-Q"), Slot(PHSPN))),
				{Text: "The fix is Kerberos constrained delegation from each front end's account to the SPNs of <HOST>. Never grant the ANONYMOUS LOGON login access to SQL Server: that lets anyone in"},
			},
			Links: []string{link18456, linkKCD, linkConsistent},
		},
		{
			ID: DelegationNotTrusted, Severity: Critical,
			Title:   "The front end's account may not delegate to the back end: it has no constrained delegation to the back end's SPNs, and the back end's account does not allow it resource-based constrained delegation",
			Summary: "<FRONT-END> is not allowed to delegate its users to <BACK-END>",
			// "Kerberos authentication troubleshooting guidance" (linkKerberos): "Don't
			// configure constrained delegation and RBCD on the same set of front-end and
			// back-end servers"; the KDC checks constrained delegation first.
			// "Troubleshooting Kerberos constrained delegation issues" (linkKCD): one
			// domain for constrained delegation, RBCD across domains.
			Fix: []FixStep{
				run("Allow the front end's account constrained delegation to the back end's SPNs (-Add keeps the services already in its msDS-AllowedToDelegateTo)", delegateToCommand()),
				{Text: "Or in Active Directory Users and Computers: the front end's account, Properties, Delegation: select Trust this user for delegation to specified services only, then Add the back end's services (<SPNS>). Choose Use Kerberos only when every user reaches the front end with Kerberos, Use any authentication protocol otherwise"},
				run("If users reach the front end with NTLM, forms or basic authentication, allow its account protocol transition too (Use any authentication protocol)", protocolTransitionCommand()),
				run("Or, when the front and back ends are in different domains (constrained delegation works within one domain only), allow the front end on the back end's account with resource-based constrained delegation instead, not both: -PrincipalsAllowedToDelegateToAccount replaces the whole list, so name every principal already allowed as well as the front end (<PRINCIPALS>)", resourceBasedCommand()),
			},
			Links: []string{linkKCD, linkRBCD, linkSetADUser, linkSetADComputer, linkSetADAccountControl, linkKerberos},
		},
		{
			ID: DelegationSPNNotAllowed, Severity: Critical,
			Title:   "The front end's account is trusted for constrained delegation, but not to the back end: its msDS-AllowedToDelegateTo does not list the back end's SPNs",
			Summary: "<FRONT-END> may delegate only to other services: its msDS-AllowedToDelegateTo lacks <SPNS> of <BACK-END>",
			Fix: []FixStep{
				run("Add the back end's SPNs to the front end's msDS-AllowedToDelegateTo (-Add keeps the services already there)", delegateToCommand()),
				{Text: "Or in Active Directory Users and Computers: the front end's account, Properties, Delegation: under Trust this user for delegation to specified services only, Add the back end's services (<SPNS>)"},
			},
			Links: []string{linkKCD, linkSetADUser},
		},
		{
			ID: DelegationPortFormMissing, Severity: Critical,
			Title:   "The front end may delegate to one form of the back end's SPN but not to the one its connections ask for: TCP asks for MSSQLSvc/FQDN:PORT, Named Pipes and Shared Memory for MSSQLSvc/FQDN (MSSQLSvc/FQDN:INSTANCE for a named instance), and the KDC compares the whole name",
			Summary: "<FRONT-END> may delegate to <BACK-END>, but its msDS-AllowedToDelegateTo lacks <SPNS>",
			// "Register a Service Principal Name for Kerberos Connections" (linkRegisterSPN):
			// the forms each transport asks for. [MS-SFU] 3.2.5.2.1: the SPN of Service 2
			// "is in the Service 1 account's ServicesAllowedToSendForwardedTicketsTo";
			// Samba's KDC compares whole names, ignoring case; Microsoft does not say how
			// Windows compares them.
			Fix: []FixStep{
				run("Add the missing forms to the front end's msDS-AllowedToDelegateTo (-Add keeps the forms already there)", delegateToCommand()),
				{Text: "Or in Active Directory Users and Computers: the front end's account, Properties, Delegation: under Trust this user for delegation to specified services only, Add the missing services (<SPNS>)"},
			},
			Links: []string{linkRegisterSPN, linkKCD, linkSetADUser},
		},
		{
			ID: DelegationUserSensitive, Severity: Critical,
			Title:   "The user's identity cannot be delegated: the account is marked \"Account is sensitive and cannot be delegated\" or is a member of Protected Users, and the KDC then lets no front end act for it",
			Summary: "<USER> cannot be delegated to <BACK-END>: the account is sensitive or in Protected Users",
			// [MS-ADTS] 2.2.16 (ND): such an account's tickets "are not marked as
			// forwardable or proxiable"; [MS-KILE] 3.3.5.1: nor those of Protected Users
			// members; "Protected Users Security Group": members cannot "Delegate with
			// unconstrained or constrained delegation".
			Fix: []FixStep{
				{Text: "This is by design: the KDC does not mark the tickets of such an account forwardable, so no setting of the front end helps. The mark protects privileged accounts: where it was set on purpose, keep it, and have <USER> reach <BACK-END> directly, or use an account without it for work through the front end"},
				{Text: "Where it was set by mistake, an administrator clears it in Active Directory Users and Computers (<USER>, Properties, Account, Account options: Account is sensitive and cannot be delegated), or takes the account out of Protected Users; Microsoft's page on that group says never to put service or computer accounts in it"},
			},
			Links: []string{linkProtectedUsers, linkKCD, link18456},
		},
		{
			ID: DelegationProtocolTransition, Severity: Critical,
			Title:   "The front end may delegate only users who reached it with Kerberos (Use Kerberos only): users who reach it with NTLM, forms or basic authentication need protocol transition (TRUSTED_TO_AUTH_FOR_DELEGATION, Use any authentication protocol), which its account does not have",
			Summary: "<FRONT-END> cannot delegate users who did not reach it with Kerberos to <BACK-END>: its account is not allowed protocol transition",
			// [MS-SFU] 3.2.5.1.2: without TrustedToAuthenticationForDelegation the KDC
			// "MUST NOT set the FORWARDABLE ticket flag" of the S4U2self ticket, and
			// 3.2.5.2.1: a ticket that is not forwardable is refused (KRB-ERR-BADOPTION).
			Fix: []FixStep{
				run("Allow the front end's account protocol transition", protocolTransitionCommand()),
				{Text: "Or in Active Directory Users and Computers: the front end's account, Properties, Delegation: keep Trust this user for delegation to specified services only and select Use any authentication protocol"},
				{Text: "Or make the first hop Kerberos: users who reach the front end with a Kerberos ticket are delegated without protocol transition; Windows logons to it with NTLM usually mean its SPN is missing or misplaced"},
			},
			Links: []string{linkKCD, linkSetADAccountControl},
		},
		{
			ID: DelegationUnconstrainedBlocked, Severity: Warning,
			Title:   "The front end relies on unconstrained delegation (TRUSTED_FOR_DELEGATION), which Credential Guard blocks on Windows 10, Windows Server 2016 and later and which members of Protected Users cannot use: constrained delegation to the back end's SPNs is the fix",
			Summary: "<FRONT-END> relies on unconstrained delegation to reach <BACK-END>, which Credential Guard and Protected Users block",
			Fix: []FixStep{
				run("Give the front end's account constrained delegation to the back end's SPNs, Microsoft's workaround", delegateToCommand()),
				run("If users reach the front end with NTLM, forms or basic authentication, allow its account protocol transition too", protocolTransitionCommand()),
				{Text: "Or in Active Directory Users and Computers: the front end's account, Properties, Delegation: select Trust this user for delegation to specified services only and Add the back end's services (<SPNS>)"},
				run("Once every service the front end delegates to is in its list, clear its TRUSTED_FOR_DELEGATION flag, which it then no longer needs", ps("Set-ADAccountControl", Lit("-Identity"), Slot(PHSam), Lit("-TrustedForDelegation"), Lit("$false"))),
				{Text: "Do not turn Credential Guard off to keep the old setting: that takes a protection away from every credential on the host"},
			},
			Links: []string{linkUnconstrained, linkKCD, linkSetADUser, linkSetADAccountControl},
		},
		{
			ID: DelegationNTLMFirstHop, Severity: Critical,
			Title:   "Users reach the front end with NTLM, not Kerberos: an NTLM logon gives the front end no ticket to forward, so it can delegate the user only through protocol transition",
			Summary: "Windows logins to <HOST>, a front end of <BACK-END>, use NTLM: the first hop is not Kerberos",
			Fix: []FixStep{
				run("Check that the SPN clients ask for when they connect to <HOST> exists once, on its service account, so that they get Kerberos tickets", ps("setspn", Lit("-Q"), Slot(PHSPN))),
				run("Where clients cannot use Kerberos, allow the front end's account protocol transition (Use any authentication protocol), so that the KDC delegates users who reach it with NTLM", protocolTransitionCommand()),
			},
			Links: []string{linkConsistent, linkRegisterSPN, linkKCD, linkSetADAccountControl},
		},
		{
			ID: DelegationBackendSPNMissing, Severity: Critical,
			Title:   "The back end's SPN that the front end delegates to is registered on no account, so the KDC cannot issue a ticket to it (KDC_ERR_S_PRINCIPAL_UNKNOWN)",
			Summary: "<SPN> of <BACK-END> is registered on no account: <FRONT-END> cannot get a ticket to it",
			Fix: []FixStep{
				run("Register the SPN on the back end's service account (-S checks for duplicates first)", setspnS),
			},
			Links: []string{linkRegisterSPN, linkKCD},
		},
		{
			ID: DelegationResourceBased, Severity: Info,
			Title:   "The back end's account allows the front end resource-based constrained delegation (its msDS-AllowedToActOnBehalfOfOtherIdentity names the front end's account): the path depends on that setting, which lives on the back end's account, and on a KDC that implements it",
			Summary: "<FRONT-END> may delegate its users to <BACK-END> through resource-based constrained delegation, which the back end's account allows",
			// The rule sets the severity of each path, for the on-call DBA:
			//   - info when the KDC issued the ticket through the front end, or was not
			//     asked (no credentials of the front end, no user): the directory allows
			//     the path and nothing contradicts it. It is said all the same, because
			//     the setting is on the back end's account, where whoever looks at the
			//     front end's Delegation tab does not see it ("Troubleshooting Kerberos
			//     RBCD issues" (linkRBCD): "You have to use Windows PowerShell to
			//     configure this setting").
			//   - warning when the KDC refused the ticket, or its answer cannot prove the
			//     path: the path may be broken, but one KDC's answer to authtriage does
			//     not show that the front end's own requests fail: a Windows front end
			//     refused by a domain controller earlier than Windows Server 2012 "SHOULD
			//     locate a DS_BEHAVIOR_WIN2012 DC ... and retry" ("[MS-SFU] 3.1.5.2.3
			//     Receives KRB-ERR-BADOPTION",
			//     https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/cbf102d8-0fb1-4737-811b-18f3121e7b46).
			//   - critical when the KDC refused it and the back end shows the failures
			//     of a second hop (logins with no user's identity): both say the path is
			//     broken.
			// The steps are for a refusal, but the first (what holds when the ticket was
			// issued) and the last (only when the front end also has constrained
			// delegation to the back end); the rule keeps those that apply. Sources:
			// "[MS-SFU] 6 Appendix A: Product Behavior",
			// https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/a47e0084-d6c3-40ba-8c3c-f1eeb3d85ecf
			// ("Resource-based constrained delegation is not supported in Windows 2000,
			// ... or Windows Server 2008 R2"); "Kerberos Constrained Delegation
			// Overview" (linkKerberosKCDOverview): "can only be configured on a domain
			// controller running Windows Server 2012 R2 and Windows Server 2012", the
			// hotfix for KDC_ERR_POLICY, and protocol transition "as though the bit were
			// set"; linkSFURBCD for the NTSTATUS; "[MS-SFU] 3.1.5.2.1 Sends S4U2proxy
			// KRB_TGS_REQ",
			// https://learn.microsoft.com/openspecs/windows_protocols/ms-sfu/ddb2cafd-1f01-4834-b52a-d4a5b34cd960
			// (PA-PAC-OPTIONS with the resource-based constrained delegation bit) and
			// "[MS-SFU] 3.2.5.2.1" (without it, msDS-AllowedToDelegateTo only);
			// linkRBCD: the front end's account must not be "sensitive and cannot be
			// delegated"; linkKerberos: "Don't configure constrained delegation and
			// RBCD on the same set of front-end and back-end servers", "the KDC first
			// checks the front-end service for constrained delegation". What Samba
			// 4.17's KDC answers is the test domain's (internal/testdomain, Proofs).
			Fix: []FixStep{
				{Text: "Where the KDC issued the ticket through the front end, nothing needs to change: resource-based delegation is set on the back end's account (<BACK-END-SAM>), with PowerShell only, and needs neither constrained delegation nor protocol transition on the front end's account (the KDC allows protocol transition for it as though the bit were set)"},
				run("Where the KDC refused it, or could not prove it, find the domain controllers that answer Kerberos in the domain of <FRONT-END>", ps("nltest", Prefixed("/dsgetdc:", PHDomain), Lit("/force"), Lit("/kdc"))),
				{Text: "Each of them must implement resource-based constrained delegation: [MS-SFU] says Windows Server 2008 R2 and earlier do not support it, and Microsoft's Kerberos Constrained Delegation Overview names a hotfix (KB 2665790) for its KDC_ERR_POLICY failures where Windows Server 2008 R2 domain controllers are on the referral path between the front end's and the back end's domains. A Samba domain controller's KDC must implement it too: Samba 4.17's (Heimdal) refuses it"},
				{Text: "Read the KDC's refusal in the evidence: with STATUS_NOT_FOUND the back end's msDS-AllowedToActOnBehalfOfOtherIdentity does not allow the account the front end's service actually runs as; with STATUS_ACCOUNT_RESTRICTION the user's ticket to the front end was not forwardable, as for a user marked sensitive or in Protected Users ([MS-SFU] 3.2.5.2.3)"},
				{Text: "In Active Directory Users and Computers, the front end's own account, Properties, Account: under Account options, Account is sensitive and cannot be delegated must not be selected"},
				{Text: "A front end that does not use Windows' Kerberos (a Java or MIT Kerberos application) must ask for resource-based delegation itself: [MS-SFU] 3.1.5.2.1 has its S4U2proxy request carry PA-PAC-OPTIONS with the resource-based constrained delegation bit, without which the KDC applies the front end's own msDS-AllowedToDelegateTo only"},
				{Text: "Keep one kind of delegation for <FRONT-END> and <BACK-END>: Microsoft says not to configure constrained delegation and RBCD on the same set of front-end and back-end servers, and the KDC checks the front end's constrained delegation first. Never turn on unconstrained delegation instead of either"},
			},
			Links: []string{linkRBCD, linkSFURBCD, linkKerberosKCDOverview, linkKerberos},
		},
		{
			ID: DelegationProtectionNotEnforced, Severity: Warning,
			Title:   "The KDC delegated a user whom the directory protects from delegation (a member of Protected Users, or marked \"Account is sensitive and cannot be delegated\"): the path works only while the KDC does not apply that protection",
			Summary: "The KDC issued <USER>'s ticket to <BACK-END> through <FRONT-END>, although the directory protects <USER> from delegation",
			// A warning: the path works tonight, so there is nothing for the on-call DBA
			// to repair, but it stops working when the KDC applies the protection, and a
			// protection someone chose for the account is not in force. For Protected
			// Users that is the domain's functional level: "[MS-KILE] 3.3.5.1" (linkKILEFlags)
			// makes tickets of members not forwardable when domainControllerFunctionality
			// is 6 (Windows Server 2012 R2) or more, and "Forest and Domain Functional
			// Levels" (linkFunctionalLevels) lists "DC-side protections for Protected
			// Users" ("Be delegated with unconstrained or constrained delegation") among
			// the features of the Windows Server 2012 R2 domain functional level. For
			// NOT_DELEGATED 3.3.5.1 applies at every level.
			Fix: []FixStep{
				{Text: "Decide with the owner of <USER>'s account before anyone relies on this path: the protection is there so that no service acts for the account, and a KDC that applies it refuses the path (for Protected Users, once the domain controllers run Windows Server 2012 R2 or later and the domain's functional level is raised to it)"},
				{Text: "The choice that keeps the protection: the service's users work through <FRONT-END> with another account, one without it, and <USER> reaches <BACK-END> directly, not through the front end"},
				{Text: "The other choice, only if your security policy allows <USER> to be delegated: an administrator takes the account out of Protected Users (which also drops that group's other protections) or clears Account is sensitive and cannot be delegated (Active Directory Users and Computers: Properties, Account, Account options), whichever the evidence names"},
			},
			Links: []string{linkProtectedUsers, linkFunctionalLevels, linkKILEFlags, linkKCD},
		},
	}, instanceCauses(), listenerCauses())
}

// delegateToCommand adds the back end's SPNs to the front end's
// msDS-AllowedToDelegateTo: Set-ADUser, Set-ADComputer or Set-ADServiceAccount -Add,
// whose form is "-Add @{Attribute1LDAPDisplayName=value1, value2, ...}" ("Set-ADUser",
// linkSetADUser; "Set-ADComputer", linkSetADComputer). No Microsoft page shows it with
// msDS-AllowedToDelegateTo itself; that attribute is "[MS-ADA2] 2.219 Attribute
// msDS-AllowedToDelegateTo", multi-valued.
func delegateToCommand() Command {
	return Command{Shell: ShellPowerShell, Program: Slot(PHSetAD), Args: []Arg{
		Lit("-Identity"), Slot(PHSam), Lit("-Add"), ListSlot("@{'msDS-AllowedToDelegateTo'=", PHSPNs, "}")}}
}

// protocolTransitionCommand sets TRUSTED_TO_AUTH_FOR_DELEGATION on the front end's
// account, with the one cmdlet that has the parameter ("Set-ADAccountControl",
// linkSetADAccountControl, Example 4).
func protocolTransitionCommand() Command {
	return ps("Set-ADAccountControl", Lit("-Identity"), Slot(PHSam), Lit("-TrustedToAuthForDelegation"), Lit("$true"))
}

// resourceBasedCommand allows principals on the back end's account
// (msDS-AllowedToActOnBehalfOfOtherIdentity), as "Troubleshooting Kerberos RBCD
// issues" (linkRBCD) does. The parameter replaces the list ("Running Set-ADComputer
// without specifying the first principal will cause it to get overridden",
// linkSetADComputer): PHPrincipals must hold the principals already allowed too.
func resourceBasedCommand() Command {
	return Command{Shell: ShellPowerShell, Program: Slot(PHBackEndSetAD), Args: []Arg{
		Lit("-Identity"), Slot(PHBackEndSam), Lit("-PrincipalsAllowedToDelegateToAccount"), ListSlot("", PHPrincipals, "")}}
}

// LookupCause returns the catalog entry for id.
func LookupCause(id CauseID) (Cause, bool) {
	for _, c := range Causes() {
		if c.ID == id {
			return c, true
		}
	}
	return Cause{}, false
}

// NewFinding returns a finding for cause id with its default severity, summary, fix and
// links, every placeholder replaced by vars (keys are placeholders such as PHSPN):
// in text as written, in commands checked and quoted for their shell (NewStep), a
// step whose value cannot be written safely saying so instead of carrying a command.
// Placeholders without a value stay as written. It panics if id is not in the
// catalog, which is a programming error caught by the rules' tests.
func NewFinding(id CauseID, vars map[string]string) Finding {
	c, ok := LookupCause(id)
	if !ok {
		panic("triage: unknown cause " + string(id))
	}
	fill := fillFunc(vars)
	f := Finding{Cause: id, Severity: c.Severity, Title: c.Title, Summary: fill(c.Summary), Links: c.Links, Facts: factsOf(vars)}
	for _, s := range c.Fix {
		if s.Command == nil {
			f.Remediation = append(f.Remediation, Step{Text: fill(s.Text)})
			continue
		}
		f.Remediation = append(f.Remediation, NewStep(fill(s.Text), *s.Command, vars))
	}
	return f
}

// factsOf returns the Facts of a finding filled with vars: the values of the
// placeholders that name what a finding is about, keyed by the placeholder's name in
// lower case without the angle brackets; nil for none. None of them holds a secret
// (vars never carry one): host, domain, SPN and account names, a login, an instance,
// an error code, a domain controller.
func factsOf(vars map[string]string) map[string]string {
	named := [...]string{PHHost, PHFQDN, PHDomain, PHSPN, PHAccount, PHWrong, PHSam, PHLogin, PHInstance, PHCode, PHDC}
	var out map[string]string
	for _, ph := range named {
		v := vars[ph]
		if v == "" {
			continue
		}
		if out == nil {
			out = make(map[string]string, len(named))
		}
		out[FactKey(ph)] = v
	}
	return out
}

// FactKey returns the key of a placeholder in Finding.Facts: "account" for PHAccount.
func FactKey(placeholder string) string {
	return strings.ToLower(strings.Trim(placeholder, "<>"))
}

// Fill replaces the placeholders in s with vars, as NewFinding does for text. It is
// for prose only: a command is built with Command and NewStep.
func Fill(s string, vars map[string]string) string { return fillFunc(vars)(s) }

// run returns a catalog step that does text with cmd.
func run(text string, cmd Command) FixStep { return FixStep{Text: text, Command: &cmd} }

// ps returns a PowerShell command.
func ps(program string, args ...Arg) Command { return NewCommand(ShellPowerShell, program, args...) }

// pipe returns a piped into b.
func pipe(a, b Command) Command {
	a.Pipe = &b
	return a
}

func fillFunc(vars map[string]string) func(string) string {
	pairs := make([]string, 0, 2*len(vars))
	for k, v := range vars {
		if k == PHSPNs || k == PHPrincipals {
			v = strings.Join(listValues(v), ", ")
		}
		if v != "" {
			pairs = append(pairs, k, v)
		}
	}
	r := strings.NewReplacer(pairs...)
	return r.Replace
}
