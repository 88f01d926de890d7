package tdsfake

import (
	"database/sql"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	_ "github.com/microsoft/go-mssqldb" // the "sqlserver" driver
)

// A linkedRow is one row of the linked-server query as go-mssqldb reads it.
type linkedRow struct {
	Name, Product, Provider, DataSource sql.NullString
	SelfAll, SelfSome, SeesAll          sql.NullInt64
}

// queryLinked runs the linked-server query on a fake of cfg and returns its column
// types and rows.
func queryLinked(t *testing.T, cfg Config) ([]*sql.ColumnType, []linkedRow) {
	t.Helper()
	s := Start(t, cfg)
	q := url.Values{"encrypt": {"disable"}, "database": {"master"}, "authenticator": {"ntlm"}}
	u := url.URL{Scheme: "sqlserver", User: url.UserPassword(`CORP\x`, "pw"), Host: s.Addr(), RawQuery: q.Encode()}
	db, err := sql.Open("sqlserver", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// The query as the client writes it, on several lines and in upper case.
	rows, err := db.QueryContext(t.Context(), "SELECT s.name, s.product, s.provider, s.data_source,\n"+
		"\tCASE WHEN EXISTS (SELECT 1 FROM sys.linked_logins AS l\n"+
		"\t\tWHERE l.server_id = s.server_id AND l.local_principal_id = 0 AND l.uses_self_credential = 1)\n"+
		"\t\tTHEN 1 ELSE 0 END AS self_all,\n"+
		"\tCASE WHEN EXISTS (SELECT 1 FROM sys.linked_logins AS l\n"+
		"\t\tWHERE l.server_id = s.server_id AND l.local_principal_id <> 0 AND l.uses_self_credential = 1)\n"+
		"\t\tTHEN 1 ELSE 0 END AS self_some,\n"+
		"\tv.sees_all\n"+
		"FROM (SELECT CASE WHEN HAS_PERMS_BY_NAME(NULL, NULL, 'ALTER ANY LINKED SERVER') = 1\n"+
		"\t\tOR HAS_PERMS_BY_NAME(NULL, NULL, 'ALTER ANY LOGIN') = 1\n"+
		"\t\tOR IS_SRVROLEMEMBER('setupadmin') = 1\n"+
		"\t\tOR IS_SRVROLEMEMBER('sysadmin') = 1\n"+
		"\t\tTHEN 1 ELSE 0 END AS sees_all) AS v\n"+
		"LEFT JOIN sys.servers AS s ON s.is_linked = 1\n"+
		"ORDER BY s.name")
	if err != nil {
		t.Fatalf("linked-server query: %v", err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		t.Fatal(err)
	}
	var got []linkedRow
	for rows.Next() {
		var r linkedRow
		if err := rows.Scan(&r.Name, &r.Product, &r.Provider, &r.DataSource, &r.SelfAll, &r.SelfSome, &r.SeesAll); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return types, got
}

func str(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
func num(n int64) sql.NullInt64   { return sql.NullInt64{Int64: n, Valid: true} }

func TestLinkedServersColumns(t *testing.T) {
	types, _ := queryLinked(t, Config{})
	type col struct {
		Name, Type string
		Length     int64
		Nullable   bool
	}
	var got []col
	for _, ct := range types {
		n, _ := ct.Length()
		null, _ := ct.Nullable()
		got = append(got, col{ct.Name(), ct.DatabaseTypeName(), n, null})
	}
	want := []col{
		{"name", "NVARCHAR", 128, true},
		{"product", "NVARCHAR", 128, true},
		{"provider", "NVARCHAR", 128, true},
		{"data_source", "NVARCHAR", 4000, true},
		{"self_all", "INT", 0, true},
		{"self_some", "INT", 0, true},
		{"sees_all", "INT", 0, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("columns (-want +got):\n%s", diff)
	}
}

func TestLinkedServersRows(t *testing.T) {
	servers := []LinkedServer{
		{Name: "SQLBE", Product: "SQL Server", Provider: "SQLNCLI", DataSource: "SQLBE", SelfAll: true},
		{Name: "ARCHIVE", Product: "", Provider: "MSOLEDBSQL", DataSource: `sqlarch\SALES,50123`, SelfSome: true},
		{Name: "odbc", Provider: "MSDASQL", Null: []string{"product", "data_source"}},
	}
	null := sql.NullString{}
	tests := []struct {
		name string
		cfg  LinkedServers
		want []linkedRow
	}{
		{
			name: "none, seen by a login that sees all",
			want: []linkedRow{{SelfAll: num(0), SelfSome: num(0), SeesAll: num(1)}},
		},
		{
			name: "none, seen by a login that may not see all",
			cfg:  LinkedServers{Partial: true},
			want: []linkedRow{{SelfAll: num(0), SelfSome: num(0), SeesAll: num(0)}},
		},
		{
			name: "three in name order, with NULLs",
			cfg:  LinkedServers{Servers: servers},
			want: []linkedRow{
				{str("ARCHIVE"), str(""), str("MSOLEDBSQL"), str(`sqlarch\SALES,50123`), num(0), num(1), num(1)},
				{str("odbc"), null, str("MSDASQL"), null, num(0), num(0), num(1)},
				{str("SQLBE"), str("SQL Server"), str("SQLNCLI"), str("SQLBE"), num(1), num(0), num(1)},
			},
		},
		{
			name: "one, seen by a login that may not see all",
			cfg:  LinkedServers{Servers: servers[:1], Partial: true},
			want: []linkedRow{{str("SQLBE"), str("SQL Server"), str("SQLNCLI"), str("SQLBE"), num(1), num(0), num(0)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, got := queryLinked(t, Config{LinkedServers: tt.cfg})
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rows (-want +got):\n%s", diff)
			}
		})
	}
}
