package triage

// Placeholders of the instances' causes. PHWrongSPN, PHServerName and PHNewServerName
// fill command slots; PHPort is for text only.
const (
	// PHWrongSPN is an SPN that must not be registered where it is: an old port's
	// MSSQLSvc/FQDN:PORT, one built on a cluster node's name.
	PHWrongSPN = "<WRONG-SPN>"
	// PHServerName is @@SERVERNAME as the instance reports it: HOST or HOST\INSTANCE.
	PHServerName = "<SERVER-NAME>"
	// PHNewServerName is the name @@SERVERNAME must report: the computer's name now,
	// with the instance's name for a named instance.
	PHNewServerName = "<NEW-SERVER-NAME>"
	// PHPort is a TCP port, in text only.
	PHPort = "<PORT>"
)

// selfRegistrationRights is the step that lets SQL Server register its own SPNs: the
// rights "Cannot generate SSPI context" names, How to create SPNs for SQL Server?:
// SQL Server registers its SPN at start-up with DsWriteAccountSpn, and "This call
// succeeds if the SQL Server service account has Read servicePrincipalName and Write
// servicePrincipalName rights in Active Directory" (linkSSPIContext). Not "Validated
// write to service principal name": that is a "Validated write permission to enable
// setting of the SPN attribute which is compliant to the DNS host name of the
// computer", applied to computers and managed service accounts ("Validated-SPN
// validated writes", https://learn.microsoft.com/windows/win32/adschema/r-validated-spn),
// while a SQL Server SPN of a user service account names a host that is not its own.
const selfRegistrationRights = "Or let SQL Server register it at its next start: give the service account the Read servicePrincipalName and Write servicePrincipalName rights on its own AD object, then restart the instance"

// Pages the instances' causes cite.
const (
	// "Configure a Server to Listen on a Specific TCP Port": named instances are
	// configured for dynamic ports and "select an available port when the SQL Server
	// service is started"; the fix is to delete the 0 in TCP Dynamic Ports, type the
	// port in TCP Port (IPAll) and restart; and "The Database Engine begins listening
	// on a new port when restarted. However the SQL Server Browser service monitors
	// the registry and reports the new port number as soon as the configuration is
	// changed, even though the Database Engine might not be using it."
	linkStaticPort = "https://learn.microsoft.com/sql/database-engine/configure-windows/configure-a-server-to-listen-on-a-specific-tcp-port"
	// "How to check if SQL Server is listening on a dynamic port or static port":
	// TcpDynamicPorts and TcpPort of IPAll (or of each IPn when Listen All is No),
	// and which combination means a dynamic port.
	linkStaticOrDynamic = "https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/static-or-dynamic-port-config"
	// "Rename a computer that hosts a stand-alone instance of SQL Server":
	// EXEC sp_dropserver '<old_name>'; EXEC sp_addserver '<new_name>', local; for a
	// named instance '<old_name\instancename>' and '<new_name\instancename>'; then
	// restart the instance. It does not apply to a failover-cluster instance ("the
	// computer renaming process differs").
	linkRenameHost = "https://learn.microsoft.com/sql/database-engine/install-windows/rename-a-computer-that-hosts-a-stand-alone-instance-of-sql-server"
	// "SERVERPROPERTY (Transact-SQL)": MachineName is the "Windows computer name on
	// which the server instance is running. For a clustered instance ... it returns
	// the name of the virtual server."
	linkServerProperty = "https://learn.microsoft.com/sql/t-sql/functions/serverproperty-transact-sql"
	// "Troubleshoot Kerberos failures in Internet Explorer": "If a website is accessed
	// by using an alias name (CNAME), Internet Explorer first uses DNS resolution to
	// resolve the alias name to a computer name (ANAME). The computer name is then used
	// to build the SPN", unless FEATURE_USE_CNAME_FOR_SPN_KB911149 is set.
	linkIEKerberos = "https://learn.microsoft.com/troubleshoot/developer/webapps/iis/www-authentication-authorization/troubleshoot-kerberos-failures-ie"
)

// instanceCauses are the catalog entries of instances as their clients see them:
// ports (instance.dynamic_port, instance.port_mismatch, spn.stale_port), failover-cluster
// names (cluster.spn_on_node) and names and aliases (name.alias, name.server_name).
//
// The SPN forms are those of "Register a Service Principal Name for Kerberos
// Connections" (linkRegisterSPN): clients build MSSQLSvc/FQDN:PORT for TCP from the
// name they connect to, and SQL Server registers that SPN for the port it listens on
// each time it starts ("Automatic SPN Registration": "When an instance of the Database
// Engine starts, SQL Server tries to register the SPN ... When the instance is
// stopped, SQL Server tries to unregister the SPN"), when its account may.
func instanceCauses() []Cause {
	var (
		setspnS = ps("setspn", Lit("-S"), Slot(PHSPN), Slot(PHAccount))
		// setspnDWrong removes an SPN that is not the required one from the account
		// that holds it.
		setspnDWrong = ps("setspn", Lit("-D"), Slot(PHWrongSPN), Slot(PHWrong))
	)
	return []Cause{
		{
			ID: InstanceDynamicPort, Severity: Warning,
			Title:   "The instance listens on a dynamic TCP port: the MSSQLSvc/FQDN:PORT SPN clients ask for changes whenever the port does, unless SQL Server registers its own SPN at each start",
			Summary: "<INSTANCE> listens on a dynamic port (<PORT> now): its TCP SPN goes stale when the port changes at a restart, unless SQL Server registers its own SPN",
			Fix: []FixStep{
				{Text: "Give <INSTANCE> a static port: in SQL Server Configuration Manager, SQL Server Network Configuration, Protocols for the instance, TCP/IP, IP Addresses, IPAll: delete the value of TCP Dynamic Ports and type the port in TCP Port (the one it listens on now, <PORT>, keeps clients and SPNs as they are), then restart the instance"},
				run("Register the SPN of that port on the service account (-S checks for duplicates first)", setspnS),
			},
			Links: []string{linkStaticPort, linkSSPIContext, linkRegisterSPN, linkStaticOrDynamic},
		},
		{
			ID: InstancePortMismatch, Severity: Warning,
			Title:   "The sources disagree on the instance's TCP ports: a configured port the engine does not listen on, a port it listens on that no configuration names, or the inventory's port not among the ones it listens on",
			Summary: "The sources disagree on the TCP ports of <INSTANCE>: clients reach it on <PORT> now",
			Fix: []FixStep{
				{Text: "Where the instance listens where it should, correct the port where it is written wrongly: in the inventory, or in the --instance NAME:PORT flag, give <PORT>"},
				{Text: "Where the configured port is the one meant, restart the instance: the Database Engine begins listening on a new port only when restarted, while SQL Server Browser reports the new port as soon as the configuration changes"},
				run("Register the SPN of the port the instance listens on after that on the service account (-S checks for duplicates first)", setspnS),
			},
			Links: []string{linkStaticPort, linkStaticOrDynamic, linkRegisterSPN},
		},
		{
			ID: SPNStalePort, Severity: Critical,
			Title:   "The SPN of the port the instance listens on is registered on no account, but one for a port none of the host's instances listens on is: it was left from before the port changed",
			Summary: "<SPN> is registered on no account, but <WRONG-SPN>, for a port no instance of <HOST> listens on, is on <WRONG>",
			Fix: []FixStep{
				run("Remove the SPN of the old port from the account that holds it", setspnDWrong),
				run("Register the SPN of the port the instance listens on now on the service account (-S checks for duplicates first)", setspnS),
				{Text: "Give the instance a static port, or let SQL Server register its own SPN at each start (its service account needs the Read servicePrincipalName and Write servicePrincipalName rights on its own AD object), so that the SPN follows the port from now on"},
			},
			Links: []string{linkRegisterSPN, linkStaticPort, linkSSPIContext},
		},
		{
			ID: ClusterSPNOnNode, Severity: Critical,
			Title:   "A failover-cluster instance's SPN is built on a node's name, or held by a node's computer account: clients connect to the virtual network name, so the SPN must carry that name and belong to the instance's service account",
			Summary: "The SPN of the clustered instance <INSTANCE> is on a node: clients ask for <SPN>, built on the virtual network name <FQDN>",
			Fix: []FixStep{
				run("Remove the SPN from the node's account, or the SPN built on a node's name: clients never ask for it, and it fails once the instance moves to another node", setspnDWrong),
				run("Register the SPN of the virtual network name on the instance's service account (-S checks for duplicates first)", setspnS),
			},
			Links: []string{linkRegisterSPN, linkServerProperty, linkSSPIContext},
		},
		{
			ID: NameAlias, Severity: Warning,
			Title:   "Clients reach the host through a DNS alias (CNAME) and the alias's SPN form and the canonical name's are not registered alike: which one a client asks for depends on the client, and Microsoft's pages do not settle it",
			Summary: "Clients that connect to the alias <FQDN> may ask for <SPN>, which is registered on no account",
			Fix: []FixStep{
				run("Register the alias's form on the service account too, next to the canonical name's (-S checks for duplicates first): with both, Kerberos works whichever name a client builds its SPN from", setspnS),
			},
			Links: []string{linkRegisterSPN, linkSSPIContext, linkIEKerberos},
		},
		{
			ID: NameServerNameChanged, Severity: Warning,
			Title:   "@@SERVERNAME is not the computer's name: the host was renamed and SQL Server's own name (sys.servers) was not updated",
			Summary: "@@SERVERNAME of <INSTANCE> is <SERVER-NAME>, but the computer is <NEW-SERVER-NAME>: the host was renamed",
			Fix: []FixStep{
				{Text: "Before you rename: this is for a stand-alone instance, not a failover-cluster instance; remote logins, linked servers, replication and database mirroring that name the old name need their own steps (see the page linked)"},
				run("Connected to the instance, drop the old name", NewCommand(ShellTSQL, "EXEC sp_dropserver", Arg{Slot: PHServerName, SQLString: true, Suffix: ";"})),
				run("Add the new name as the local server", NewCommand(ShellTSQL, "EXEC sp_addserver", SQLString(PHNewServerName), Lit(", local;"))),
				{Text: "Restart the instance: @@SERVERNAME reports the new name after the restart"},
			},
			Links: []string{linkRenameHost, linkServerProperty},
		},
	}
}
