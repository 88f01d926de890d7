package sqlserver

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// maxConnectionGroups bounds the groups of connections read from one instance; the
// query asks for one more to know when it cut.
const maxConnectionGroups = 500

// qConnections counts the instance's connections by authentication scheme, transport
// and client address, the largest groups first.
//
// Source: "sys.dm_exec_connections (Transact-SQL)",
// https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/sys-dm-exec-connections-transact-sql:
// net_transport nvarchar(40) "Describes the physical transport protocol that is used
// by this connection" (Session for the further connections of MARS), auth_scheme
// nvarchar(40) "SQL Server/Windows Authentication scheme used with this connection",
// client_net_address varchar(48) "Host address of the client connecting to this
// server", nullable; permissions VIEW SERVER STATE, and from SQL Server 2022 VIEW
// SERVER PERFORMANCE STATE ("System dynamic management views",
// https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/system-dynamic-management-views:
// server-scoped views "require VIEW SERVER STATE permission on the server. For SQL
// Server 2022 and later, VIEW SERVER PERFORMANCE STATE").
const qConnections = `SELECT TOP (501) auth_scheme, net_transport, client_net_address, COUNT(*) AS connections
FROM sys.dm_exec_connections
GROUP BY auth_scheme, net_transport, client_net_address
ORDER BY COUNT(*) DESC, auth_scheme, net_transport, client_net_address`

// readConnections reads qConnections into r.Connections, each with Instance
// in.String(), and notes when there were more groups than it keeps.
func readConnections(ctx context.Context, s *session, in triage.Instance, r *triage.Inspection) error {
	var groups []triage.ConnectionGroup
	cut := false
	err := s.query(ctx, qConnections, func(rows *sql.Rows) error {
		var scheme, transport, client sql.NullString
		var count sql.NullInt64
		if err := rows.Scan(&scheme, &transport, &client, &count); err != nil {
			return err
		}
		if len(groups) == maxConnectionGroups {
			cut = true
			return nil
		}
		groups = append(groups, triage.ConnectionGroup{
			Instance:   in.String(),
			AuthScheme: strings.ToUpper(strings.TrimSpace(scheme.String)),
			Transport:  strings.TrimSpace(transport.String),
			Client:     strings.TrimSpace(client.String),
			Count:      int(count.Int64),
		})
		return nil
	})
	if err != nil {
		return err
	}
	r.Connections = groups
	if cut {
		r.Notes = append(r.Notes, fmt.Sprintf("%s has more than %d groups of connections by scheme, transport and client; the %d largest were read.",
			in.String(), maxConnectionGroups, maxConnectionGroups))
	}
	return nil
}
