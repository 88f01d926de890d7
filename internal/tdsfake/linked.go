package tdsfake

import (
	"cmp"
	"slices"
	"strings"
)

// A LinkedServer is a linked server the fake shows to the linked-server query of
// sources/sqlserver: a row of sys.servers with is_linked = 1, with what
// sys.linked_logins holds for it.
type LinkedServer struct {
	Name       string // sys.servers.name
	Product    string // sys.servers.product
	Provider   string // sys.servers.provider
	DataSource string // sys.servers.data_source
	// Null names the columns sent as NULL instead of their value: "product",
	// "provider", "data_source".
	Null []string
	// SelfAll is a mapping with uses_self_credential = 1 for every login
	// (local_principal_id 0); SelfSome one for some login.
	SelfAll, SelfSome bool
}

// LinkedServers is what the fake answers to the linked-server query. The zero value
// answers that there is none, to a login that may see them all.
type LinkedServers struct {
	Servers []LinkedServer
	// Partial makes the login one that may not see every linked server: it lacks
	// ALTER ANY LINKED SERVER and ALTER ANY LOGIN and is in neither setupadmin nor
	// sysadmin. Servers are then the ones it sees.
	Partial bool
}

// qLinkedServers is the query of sqlserver.Checker.LinkedServers, normalized as rows
// compares queries.
const qLinkedServers = "select s.name, s.product, s.provider, s.data_source, " +
	"case when exists (select 1 from sys.linked_logins as l " +
	"where l.server_id = s.server_id and l.local_principal_id = 0 and l.uses_self_credential = 1) " +
	"then 1 else 0 end as self_all, " +
	"case when exists (select 1 from sys.linked_logins as l " +
	"where l.server_id = s.server_id and l.local_principal_id <> 0 and l.uses_self_credential = 1) " +
	"then 1 else 0 end as self_some, " +
	"v.sees_all " +
	"from (select case when has_perms_by_name(null, null, 'alter any linked server') = 1 " +
	"or has_perms_by_name(null, null, 'alter any login') = 1 " +
	"or is_srvrolemember('setupadmin') = 1 " +
	"or is_srvrolemember('sysadmin') = 1 " +
	"then 1 else 0 end as sees_all) as v " +
	"left join sys.servers as s on s.is_linked = 1 " +
	"order by s.name"

// linkedServers writes the answer to qLinkedServers: the columns the catalog views
// document (name, product and provider sysname, data_source nvarchar(4000)) and the
// query's int flags; one row per server in name order (case-insensitive, as the
// default collation sorts), or one row of NULL server columns when there is none.
func (s *Server) linkedServers(t *tokens) *Error {
	cols := []column{
		{name: "name", typ: nvarchar, size: 128},
		{name: "product", typ: nvarchar, size: 128},
		{name: "provider", typ: nvarchar, size: 128},
		{name: "data_source", typ: nvarchar, size: 4000},
		{name: "self_all", typ: intN},
		{name: "self_some", typ: intN},
		{name: "sees_all", typ: intN},
	}
	flag := func(b bool) int {
		if b {
			return 1
		}
		return 0
	}
	ls := s.cfg.LinkedServers
	seesAll := flag(!ls.Partial)
	t.colMetadata(cols)
	servers := slices.SortedStableFunc(slices.Values(ls.Servers), func(a, b LinkedServer) int {
		return cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name))
	})
	if len(servers) == 0 {
		t.row(cols, nil, nil, nil, nil, 0, 0, seesAll)
		t.done(doneCount, cmdSelect, 1)
		return nil
	}
	for _, l := range servers {
		value := func(col, v string) any {
			if slices.Contains(l.Null, col) {
				return nil
			}
			return v
		}
		t.row(cols, l.Name, value("product", l.Product), value("provider", l.Provider), value("data_source", l.DataSource),
			flag(l.SelfAll), flag(l.SelfSome), seesAll)
	}
	t.done(doneCount, cmdSelect, uint64(len(servers)))
	return nil
}
