package config

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Store says where reports, the audit log and schedule runs are kept.
type Store struct {
	Driver    string        // StoreSQLite (the default) or StorePostgres
	Path      string        // sqlite: the database file, relative to the working directory; default "authtriage.db"
	DSN       Secret        // postgres: the connection string (URL or key=value); may hold a password, so also dsn_file
	Retention time.Duration // how long reports, audit log entries and schedule runs are kept (a schedule's newest run stays); default 90 days, at least 1h
	// LeaseTTL is how long a replica's claim on a scheduled run lasts unless
	// renewed: how soon another replica takes over when the one running it dies.
	// Default 1m, 5s to 1h.
	LeaseTTL time.Duration
}

// The values of Store.Driver.
const (
	StoreSQLite   = "sqlite"   // one file, one process
	StorePostgres = "postgres" // one database shared by several replicas
)

// The values of Store when the file does not set them.
const (
	DefaultStorePath      = "authtriage.db"
	DefaultStoreRetention = 90 * 24 * time.Hour
	DefaultLeaseTTL       = time.Minute
)

// Format prints s as fmt prints a pointer to a struct at the top level, with any
// verb, wherever s is, so its DSN stays redacted; see Slack.Format.
func (s *Store) Format(f fmt.State, verb rune) { formatPointer(f, verb, s) }

func defaultStore() Store {
	return Store{Driver: StoreSQLite, Path: DefaultStorePath, Retention: DefaultStoreRetention, LeaseTTL: DefaultLeaseTTL}
}

func decodeStore(d *decoder, n *yaml.Node, path string) Store {
	s := defaultStore()
	d.mapping(n, path, fields{
		"driver":    d.str(&s.Driver),
		"path":      d.str(&s.Path),
		"dsn":       d.secret(&s.DSN),
		"retention": d.duration(&s.Retention),
		"lease_ttl": d.duration(&s.LeaseTTL),
	})
	return s
}

// validateStore checks the section. Its messages never show the DSN.
func validateStore(r *reporter, path string, s Store) {
	switch s.Driver {
	case StoreSQLite:
		if s.Path == "" {
			r.add(field(path, "path"), "is required: the SQLite database file, such as %q", DefaultStorePath)
		} else if hasControl(s.Path) {
			r.add(field(path, "path"), "%s contains a control character", quote(s.Path))
		} else if strings.Contains(s.Path, "?") {
			r.add(field(path, "path"), "%s contains '?', which the SQLite driver reads as options", quote(s.Path))
		}
		if s.DSN != "" {
			r.add(field(path, "dsn"), "is for driver postgres; sqlite keeps its data in path")
		}
	case StorePostgres:
		dsn := s.DSN.Reveal()
		switch {
		case dsn == "":
			r.add(field(path, "dsn"), "is required for driver postgres: a connection string such as postgres://authtriage@db.corp.example/authtriage (or dsn_file)")
		case !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") && !strings.Contains(dsn, "="):
			r.add(field(path, "dsn"), "is not a PostgreSQL connection string: give a URL (postgres://user@host/db) or key=value pairs (host=... dbname=...)")
		case hasControl(dsn):
			r.add(field(path, "dsn"), "contains a control character")
		}
	default:
		msg := `must be "sqlite" or "postgres"`
		if c := closest(s.Driver, []string{StoreSQLite, StorePostgres}); c != "" {
			msg += ", did you mean " + quote(c) + "?"
		} else if strings.HasPrefix(strings.ToLower(s.Driver), "postgres") {
			msg += `, did you mean "postgres"?`
		}
		r.add(field(path, "driver"), "%s", msg)
	}
	if s.Retention < time.Hour {
		r.add(field(path, "retention"), "must be at least 1h")
	}
	if s.LeaseTTL < 5*time.Second || s.LeaseTTL > time.Hour {
		r.add(field(path, "lease_ttl"), "must be between 5s and 1h")
	}
}
