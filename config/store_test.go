package config

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStoreSection(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		files map[string]string
		want  Store
	}{
		{name: "no section gives the defaults", src: "", want: Store{Driver: "sqlite", Path: "authtriage.db", Retention: 2160 * time.Hour, LeaseTTL: time.Minute}},
		{name: "a null section gives the defaults", src: "store:\n", want: defaultStore()},
		{name: "sqlite elsewhere, kept 30 days", src: "store: {path: /var/lib/authtriage/a.db, retention: 30d}\n",
			want: Store{Driver: StoreSQLite, Path: "/var/lib/authtriage/a.db", Retention: 30 * 24 * time.Hour, LeaseTTL: time.Minute}},
		{name: "postgres from the environment", src: "store:\n  driver: postgres\n  dsn: ${DSN}\n  retention: 1h\n",
			want: Store{Driver: StorePostgres, Path: DefaultStorePath, DSN: testDSN, Retention: time.Hour, LeaseTTL: time.Minute}},
		{name: "postgres from a file, key=value", src: "store:\n  driver: postgres\n  dsn_file: /run/secrets/dsn\n",
			files: map[string]string{"/run/secrets/dsn": "host=db.corp.example dbname=authtriage password=pgSECRET\n"},
			want:  Store{Driver: StorePostgres, Path: DefaultStorePath, DSN: "host=db.corp.example dbname=authtriage password=pgSECRET", Retention: DefaultStoreRetention, LeaseTTL: time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseOK(t, tt.src, secretEnv(), tt.files).Store
			if diff := cmp.Diff(tt.want, got, cmp.Transformer("reveal", Secret.Reveal), ignoreIndex); diff != "" {
				t.Errorf("Store mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStoreProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "a path the SQLite driver would read as options",
			src:  "store:\n  path: /var/lib/a.db?mode=ro\n",
			want: []string{`t.yaml:2: store.path: "/var/lib/a.db?mode=ro" contains '?', which the SQLite driver reads as options`},
		},
		{
			name: "a lease too short to renew",
			src:  "store:\n  lease_ttl: 1s\n",
			want: []string{`t.yaml:2: store.lease_ttl: must be between 5s and 1h`},
		},
		{
			name: "a misspelt driver",
			src:  "store:\n  driver: postgresql\n",
			want: []string{`t.yaml:2: store.driver: must be "sqlite" or "postgres", did you mean "postgres"?`},
		},
		{
			name: "another driver",
			src:  "store:\n  driver: mysql\n",
			want: []string{`t.yaml:2: store.driver: must be "sqlite" or "postgres"`},
		},
		{
			name: "postgres needs a DSN",
			src:  "store:\n  driver: postgres\n",
			want: []string{`t.yaml:1: store.dsn: is required for driver postgres: a connection string such as postgres://authtriage@db.corp.example/authtriage (or dsn_file)`},
		},
		{
			name: "a DSN that is none is not shown",
			src:  "store:\n  driver: postgres\n  dsn: pgSECRET\n",
			want: []string{`t.yaml:3: store.dsn: is not a PostgreSQL connection string: give a URL (postgres://user@host/db) or key=value pairs (host=... dbname=...)`},
		},
		{
			name: "sqlite takes no DSN, and needs a path",
			src:  "store:\n  path: ''\n  dsn: ${DSN}\n",
			want: []string{
				`t.yaml:2: store.path: is required: the SQLite database file, such as "authtriage.db"`,
				`t.yaml:3: store.dsn: is for driver postgres; sqlite keeps its data in path`,
			},
		},
		{
			name: "retention",
			src:  "store:\n  retention: 59m\n",
			want: []string{`t.yaml:2: store.retention: must be at least 1h`},
		},
		{
			name: "unknown key",
			src:  "store:\n  dns: ${DSN}\n",
			want: []string{`t.yaml:2: store.dns: unknown key, did you mean "dsn"?`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, problems(t, tt.src, secretEnv())); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}
