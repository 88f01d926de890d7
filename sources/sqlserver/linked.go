package sqlserver

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// qLinkedServers lists the linked servers the login may see, one row each, with
// whether a login mapping forwards the caller's own credentials, for every login or
// for some, and whether the login may see every linked server. It always returns a
// row: with no linked server visible, one whose server columns are NULL, so that
// sees_all is read all the same. Its columns: name, product and provider (sysname),
// data_source (nvarchar(4000)), self_all, self_some and sees_all (int, 0 or 1).
//
// Sources:
//   - "sys.servers (Transact-SQL)",
//     https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-servers-transact-sql:
//     "is_linked ... 1 = Standard linked server"; "data_source nvarchar(4000) OLE DB
//     data source connection property"; and under Permissions: "If the default login
//     mapping is deleted, only users that have been explicitly added as a linked login
//     or remote login can view the linked or remote servers for which they have a
//     login. The following permissions are required to view all linked and remote
//     servers after the default login mapping: ALTER ANY LINKED SERVER or ALTER ANY
//     LOGIN ON SERVER; Membership in the setupadmin or sysadmin fixed server roles".
//   - "sys.linked_logins (Transact-SQL)",
//     https://learn.microsoft.com/sql/relational-databases/system-catalog-views/sys-linked-logins-transact-sql:
//     "local_principal_id int Server-principal to whom mapping applies. 0 = wildcard
//     or public."; "uses_self_credential bit If 1, mapping indicates session should
//     use its own credentials"; and under Permissions: "The visibility of the
//     metadata in catalog views is limited to securables that a user either owns or
//     on which the user has been granted some permission."
//   - "HAS_PERMS_BY_NAME (Transact-SQL)",
//     https://learn.microsoft.com/sql/t-sql/functions/has-perms-by-name-transact-sql:
//     "If the securable is the server itself, this value should be set to NULL";
//     it returns 1 for an effective permission, "A permission implied by a
//     higher-level permission" included. The server permissions are named ALTER ANY
//     LINKED SERVER and ALTER ANY LOGIN in "GRANT Server Permissions (Transact-SQL)",
//     https://learn.microsoft.com/sql/t-sql/statements/grant-server-permissions-transact-sql.
//   - "IS_SRVROLEMEMBER (Transact-SQL)",
//     https://learn.microsoft.com/sql/t-sql/functions/is-srvrolemember-transact-sql:
//     1 for a member, 0 for not, NULL when "you do not have permission to view the
//     role membership" (counted as not).
const qLinkedServers = `SELECT s.name, s.product, s.provider, s.data_source,
	CASE WHEN EXISTS (SELECT 1 FROM sys.linked_logins AS l
		WHERE l.server_id = s.server_id AND l.local_principal_id = 0 AND l.uses_self_credential = 1)
		THEN 1 ELSE 0 END AS self_all,
	CASE WHEN EXISTS (SELECT 1 FROM sys.linked_logins AS l
		WHERE l.server_id = s.server_id AND l.local_principal_id <> 0 AND l.uses_self_credential = 1)
		THEN 1 ELSE 0 END AS self_some,
	v.sees_all
FROM (SELECT CASE WHEN HAS_PERMS_BY_NAME(NULL, NULL, 'ALTER ANY LINKED SERVER') = 1
		OR HAS_PERMS_BY_NAME(NULL, NULL, 'ALTER ANY LOGIN') = 1
		OR IS_SRVROLEMEMBER('setupadmin') = 1
		OR IS_SRVROLEMEMBER('sysadmin') = 1
		THEN 1 ELSE 0 END AS sees_all) AS v
LEFT JOIN sys.servers AS s ON s.is_linked = 1
ORDER BY s.name`

// maxLinkedServers bounds the linked servers read from one instance.
const maxLinkedServers = 1000

// ErrLinkedServersHidden is wrapped by the error of LinkedServers when the login sees
// no linked server but may not see them all: "none" would be a guess.
var ErrLinkedServersHidden = errors.New("the login sees no linked server, and without ALTER ANY LINKED SERVER or ALTER ANY LOGIN (or membership of setupadmin or sysadmin) it sees only those with a login mapping for it")

// LinkedServers logs in to instance in on t as Logins does and lists the linked
// servers defined there (sys.servers with is_linked = 1), in name order, each with
// Instance in, as it is defined on the server: Name, Product, Provider and DataSource
// are the server's text, unchecked (LinkedBackEnd reads DataSource). SelfCredential
// says whether a login mapping forwards the caller's own credentials
// (sys.linked_logins.uses_self_credential = 1), SelfCredentialAll whether that is the
// mapping for every login. Complete is false when the login may not see every linked
// server; then SelfCredential may also miss mappings of other logins, since catalog
// views show a login only the metadata it has some permission on.
//
// It runs one fixed SELECT and changes nothing. The login and the query are bounded
// by the checker's timeout and by ctx. An error names the step and the instance; a
// refusal by the server wraps its error. When the login sees no linked server and may
// not see all, it returns an error that wraps ErrLinkedServersHidden. More than 1000
// servers is an error that comes with the first 1000.
func (c *Checker) LinkedServers(ctx context.Context, t triage.Target, in triage.Instance) (servers []triage.LinkedServer, err error) {
	host := cmp.Or(t.FQDN, t.Host)
	d := &dialer{}
	defer func() {
		if r := recover(); r != nil {
			servers, err = nil, fmt.Errorf("read the linked servers of %s: the SQL Server driver failed: %v", address(host, in, d.dialled()), r)
		}
	}()
	s, err := c.logIn(ctx, host, in, d)
	if err != nil {
		return nil, err
	}
	defer s.close()
	where := address(host, in, d.dialled())

	servers, all, err := s.linkedServers(ctx, in)
	switch {
	case err != nil:
		return servers, fmt.Errorf("read the linked servers of %s: %w", where, err)
	case len(servers) == 0 && !all:
		return nil, fmt.Errorf("linked servers of %s: %w", where, ErrLinkedServersHidden)
	}
	c.log.DebugContext(ctx, "linked servers read", "host", host, "instance", in.String(), "count", len(servers), "complete", all)
	return servers, nil
}

// linkedServers runs qLinkedServers and returns the servers it lists and whether the
// login may see them all.
func (s *session) linkedServers(ctx context.Context, in triage.Instance) ([]triage.LinkedServer, bool, error) {
	qctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	s.d.bound(qctx)
	servers, all, err := s.readLinkedServers(qctx, in)
	if err != nil {
		err = timedOut(qctx, err, s.timeout)
	}
	return servers, all, err
}

// readLinkedServers runs qLinkedServers bounded by ctx alone.
func (s *session) readLinkedServers(ctx context.Context, in triage.Instance) ([]triage.LinkedServer, bool, error) {
	rows, err := s.conn.QueryContext(ctx, qLinkedServers)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []triage.LinkedServer
	seen, all := false, false
	for rows.Next() {
		var name, product, provider, source sql.NullString
		var selfAll, selfSome, seesAll sql.NullInt64
		if err := rows.Scan(&name, &product, &provider, &source, &selfAll, &selfSome, &seesAll); err != nil {
			return out, all, err
		}
		if !seesAll.Valid {
			return out, all, errors.New("sees_all is NULL")
		}
		seen, all = true, seesAll.Int64 == 1
		if !name.Valid {
			continue // the row of a login that sees no linked server
		}
		if len(out) == maxLinkedServers {
			return out, all, fmt.Errorf("more than %d linked servers: the first %d read", maxLinkedServers, maxLinkedServers)
		}
		out = append(out, triage.LinkedServer{
			Instance:          in,
			Name:              name.String,
			Product:           product.String,
			Provider:          provider.String,
			DataSource:        source.String,
			SelfCredential:    selfAll.Int64 == 1 || selfSome.Int64 == 1,
			SelfCredentialAll: selfAll.Int64 == 1,
			Complete:          all,
		})
	}
	if err := rows.Err(); err != nil {
		return out, all, err
	}
	if !seen {
		return nil, false, errors.New("the query returned no row")
	}
	return out, all, nil
}

// timedOut says in err that the server did not answer within timeout when that is
// why it failed: err is a timeout, or ctx, which bounded the step, has passed its
// deadline (go-mssqldb words some timeouts without wrapping the network's error).
func timedOut(ctx context.Context, err error, timeout time.Duration) error {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() ||
		errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("no answer within %v: %w", timeout, err)
	}
	return err
}
