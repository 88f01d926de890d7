// Package sqlserver logs in to SQL Server instances with Windows authentication, as a
// domain client does, and reads what the server says about itself: the authentication
// scheme of the connection, the engine's service account, its clock, and its error log
// through sp_readerrorlog for hosts whose ERRORLOG file the agent cannot read.
//
// # Authentication
//
// On Windows the login uses SSPI (go-mssqldb's integratedauth/winsspi) as the identity
// of the process. Elsewhere it uses Kerberos through integratedauth/krb5, with the
// krb5.conf, realm, principal and keytab or password of Config; with neither keytab
// nor password it uses the credential cache that KRB5CCNAME names. That client has no
// NTLM: a missing SPN is a KDC error before the server is contacted, reported in Err.
//
// The client asks for a ticket for MSSQLSvc/FQDN:PORT, or MSSQLSvc/FQDN:INSTANCE when
// it finds the port through SQL Browser; Config.ServerSPN overrides it.
//
// # NTLM on a remote connection
//
// Windows clients negotiate: SSPI asks the KDC for a ticket for the instance's SPN and,
// when it cannot get one, silently uses NTLM. So auth_scheme NTLM on a connection from
// another machine means Kerberos was not used, because the SPN is missing or held by
// two accounts (the KDC answers KDC_ERR_S_PRINCIPAL_UNKNOWN), the client named the
// server by an IP address or an alias that has no SPN, or the client could not reach
// a KDC or is not in a trusted domain. A ticket for an SPN held by the wrong account
// does not fall back: the server cannot decrypt it and the login fails (17806 in its
// log; the fake of internal/tdsfake answers 18452, as feasibility.md 1.3 did).
// NTLM logins keep working until NTLM is restricted, but delegation (the double hop to
// linked servers or file shares) fails. A connection from the server to itself
// normally uses NTLM, which means nothing.
//
// # Permissions
//
// The checker's login needs a Windows login on the instance (or one of its groups),
// else the login fails with 18456, and:
//
//   - VIEW SERVER STATE, to read sys.dm_exec_connections (auth_scheme) and
//     sys.dm_server_services (service_account). From SQL Server 2022 the views are
//     documented with the finer VIEW SERVER PERFORMANCE STATE and VIEW SERVER
//     SECURITY STATE, which VIEW SERVER STATE includes. Without it the query fails
//     with error 300; the login is still reported, without the field.
//   - For sp_readerrorlog, Microsoft's current page asks VIEW SERVER STATE up to SQL
//     Server 2019 and VIEW ANY ERROR LOG from 2022. Older versions of the page say
//     only sysadmin members may run it, and the procedure of those releases checks
//     membership of securityadmin itself (error 15003), whatever the grants; there the
//     login needs securityadmin, a powerful role, or the agent must read the file.
//
// SYSUTCDATETIME() needs no permission. LinkedServers reads sys.servers and
// sys.linked_logins, which show a login the linked servers that have a login mapping
// for it (all of them while the default mapping to public is in place); it sees them
// all only with ALTER ANY LINKED SERVER or ALTER ANY LOGIN, or as a member of
// setupadmin or sysadmin, and says when it may not.
//
// # Limits
//
// Only fixed statements run: the three queries of Logins, SELECT SYSUTCDATETIME(),
// DATEPART(TZOFFSET, SYSDATETIMEOFFSET()) and sp_readerrorlog called as a procedure
// with integer arguments, the SELECT of LinkedServers, and the SELECTs of Inspect
// (SERVERPROPERTY and the listener, registry, service, cluster, availability-group,
// connection and ring-buffer views; each names in its comment the permission it needs,
// and one the login may not read is a note). The login and each query
// are bounded by Config.Timeout and by the caller's context, down to the socket: a
// server that accepts the connection and never answers costs Timeout, not more.
package sqlserver
