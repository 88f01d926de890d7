package triage

// Pages of availability-group listeners, looked up in MicrosoftDocs/sql-docs.
const (
	// "Connect to an Always On availability group listener", Listeners and Kerberos
	// (SPNs): "A domain administrator must configure a Service Principal Name (SPN) in
	// Active Directory for each availability group listener to enable Kerberos for
	// client connections to the listener. When registering the SPN, you must use the
	// service account of the server instance that hosts the availability replica. For
	// the SPN to work across all replicas, the same service account must be used for
	// all instances in the WSFC cluster that hosts the availability group." Its one
	// example is the port form: "setspn -A MSSQLSvc/AG1listener.Adventure-Works.com:1433
	// corp\svclogin2". No Microsoft page names a listener SPN without the port.
	linkListenerKerberos = "https://learn.microsoft.com/sql/database-engine/availability-groups/windows/listeners-client-connectivity-application-failover"
	// "What is an availability group listener?": a listener "consists of a Domain Name
	// System (DNS) listener name, listener port designation, and one or more IP
	// addresses. Only the TCP protocol is supported by availability group listener";
	// it is a cluster resource "with an associated virtual network name (VNN), virtual
	// IP (VIP)"; "A client uses DNS to resolve the VNN into multiple IP addresses and
	// then tries to connect to each address". Its example configures the listener IP
	// 192.168.20.15 beside the 192.168.20.2 SQL Server listens on: the listener's
	// addresses are its own, not a replica host's.
	linkListenerOverview = "https://learn.microsoft.com/sql/database-engine/availability-groups/windows/availability-group-listener-overview"
	// "Configure a listener for an Always On availability group": RegisterAllProvidersIP
	// (set to 1 when SQL Server creates the listener: every IP address of the network
	// name is registered in DNS; 0: only the online one), HostRecordTTL ("By default,
	// clients cache cluster DNS records for 20 minutes"), and the virtual computer
	// objects (VCOs) the cluster creates for listener names.
	linkListenerConfigure = "https://learn.microsoft.com/sql/database-engine/availability-groups/windows/create-or-configure-an-availability-group-listener-sql-server"
	// "SCM Services - Change the Service Startup Account": SQL Server Configuration
	// Manager, SQL Server Services, the instance's Properties, Log On tab; the service
	// must be restarted for the change to take effect.
	linkChangeServiceAccount = "https://learn.microsoft.com/sql/database-engine/configure-windows/scm-services-change-the-service-startup-account"
	// "Database Mirroring - Allow Network Access - Windows Authentication": "If the
	// instances of SQL Server run as services under different domain accounts (in the
	// same or trusted domains), the login of each account must be created in master on
	// each of the remote server instances and that login must be granted CONNECT
	// permissions on the endpoint." Availability replicas connect through the same
	// database mirroring endpoints, so a replica switched to an account the others
	// have no such login for stops moving data.
	linkMirroringWindowsAuth = "https://learn.microsoft.com/sql/database-engine/database-mirroring/database-mirroring-allow-network-access-windows-authentication"
	// "Configure a DNN listener for an availability group", Port considerations: "DNN
	// listeners are designed to listen on all IP addresses, but on a specific, unique
	// port. The DNS entry for the listener name should resolve to the addresses of all
	// replicas in the availability group."
	linkDNNListener = "https://learn.microsoft.com/azure/azure-sql/virtual-machines/windows/availability-group-distributed-network-name-dnn-listener-configure"
)

// listenerCauses are the catalog entries of availability-group listeners. For them the
// rules fill <FQDN> with the listener's fully qualified name, not the host's, and
// <ACCOUNT> with the account every replica runs as (left as written when the replicas
// do not share one, or it is not known).
func listenerCauses() []Cause {
	var (
		setspnS = ps("setspn", Lit("-S"), Slot(PHSPN), Slot(PHAccount))
		setspnD = ps("setspn", Lit("-D"), Slot(PHSPN), Slot(PHWrong))
	)
	return []Cause{
		{
			ID: ListenerSPNMissing, Severity: Critical,
			Title:   "The SPN of an availability-group listener (MSSQLSvc/LISTENER-FQDN:PORT) is registered on no account, so clients that connect through the listener get no Kerberos ticket: they fall back to NTLM, or fail where NTLM is refused",
			Summary: "<SPN>, the SPN of the availability-group listener <FQDN>, is not registered on any account",
			Fix: []FixStep{
				run("Register the listener's SPN on the domain account every replica runs as (-S checks for duplicates first)", setspnS),
				{Text: "Microsoft documents the listener's SPN with its port only (MSSQLSvc/<FQDN>:PORT), on the service account of the replicas; a listener serves TCP only, and no Microsoft page names a listener SPN without the port"},
			},
			Links: []string{linkListenerKerberos, linkListenerOverview, linkRegisterSPN},
		},
		{
			ID: ListenerSPNWrongAccount, Severity: Critical,
			Title:   "The SPN of an availability-group listener is registered on an account other than the one the replicas run as (a replica's computer account, the listener's own computer object, an old service account), so the replicas cannot decrypt the tickets clients get for it",
			Summary: "<SPN>, the SPN of the availability-group listener <FQDN>, is registered on <WRONG>, not on <ACCOUNT>, the account the replicas run as",
			Fix: []FixStep{
				run("Remove the SPN from the account that holds it", setspnD),
				run("Register it on the account every replica runs as", setspnS),
			},
			Links: []string{linkListenerKerberos, linkSSPIContext},
		},
		{
			ID: ListenerAccountsDiffer, Severity: Critical,
			Title:   "The replicas of an availability group run as different service accounts: the listener's SPN can be on one account only, so Kerberos through the listener fails on every replica that does not run as that account",
			Summary: "The replicas behind the availability-group listener <FQDN> run as different service accounts",
			Fix: []FixStep{
				// Discovery reads no sys.database_mirroring_endpoints, so the endpoint's
				// name is not known and the GRANT is prose.
				run("Choose one domain account (a domain user or a managed service account) for every replica. Before any replica is switched to it, connected to each replica's instance, create a login in master for that account (skip a replica where it already has one): replicas that run as different accounts connect to each other's database mirroring endpoint only with a login of the other's account that holds CONNECT on the endpoint, and without it the availability group stops moving data", NewCommand(ShellTSQL, "CREATE LOGIN", Slot(PHAccount), Lit("FROM WINDOWS;"))),
				{Text: "On each replica, grant that login CONNECT on the availability group's database mirroring endpoint: GRANT CONNECT ON ENDPOINT::, naming the endpoint as sys.database_mirroring_endpoints on that replica names it, TO the login created above. authtriage does not read that view, so it cannot write the command with the endpoint's name"},
				{Text: "Then make that account the service account of the SQL Server instance of every replica, as Microsoft requires for the listener's SPN to work across all replicas: SQL Server Configuration Manager, SQL Server Services, the instance's Properties, Log On tab. The change restarts the service, so make it in a maintenance window. A virtual account (NT Service\\...), Network Service or Local System acts on the network as each replica's own computer account, which no two replicas share"},
				run("Last, register the listener's SPN on that account (-S checks for duplicates first), and remove it from any other account that holds it", setspnS),
			},
			Links: []string{linkListenerKerberos, linkMirroringWindowsAuth, linkChangeServiceAccount, linkRegisterSPN},
		},
		{
			ID: ListenerDNSMismatch, Severity: Warning,
			Title:   "The DNS name of an availability-group listener resolves to addresses that are not the listener's own IP addresses (a stale record after a failover or a move, or a name used before by a host), so clients may not reach the primary replica through it",
			Summary: "The availability-group listener <FQDN> resolves to addresses that are not its own",
			Fix: []FixStep{
				run("From a client, see what the listener's name resolves to", ps("nslookup", Slot(PHFQDN))),
				{Text: "Compare the answer with the listener's IP addresses (sys.availability_group_listener_ip_addresses on the primary replica, or the IP address resources of the listener's network name in Failover Cluster Manager): every address DNS gives for <FQDN> must be one of them. Delete any other A record of the name from the DNS zone"},
				{Text: "A distributed network name (DNN) listener has no IP address of its own: its name resolves to the addresses of all the replicas, which is no fault. So only a listener whose IP addresses SQL Server lists is judged"},
				{Text: "Clients may keep an old address for as long as they cache the record: 20 minutes by default (the HostRecordTTL of the listener's network name). With RegisterAllProvidersIP set to 1, which SQL Server sets when it creates the listener, DNS holds every IP address of the listener, one per subnet, and clients without MultiSubnetFailover=True try them one after another"},
			},
			Links: []string{linkListenerOverview, linkListenerConfigure, linkDNNListener},
		},
	}
}
