// Package pgtest gives tests a fresh schema of the test PostgreSQL database, so
// that tests of several packages can share one throwaway cluster
// (scripts/postgres.sh) and run in parallel.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// The environment: EnvDSN names the test database (`dsn=$(scripts/postgres.sh up
// DIR)` prints one); with EnvRequire=1 a test that needs it fails instead of
// skipping when it is not set, as CI wants.
const (
	EnvDSN     = "AUTHTRIAGE_TEST_POSTGRES_DSN"
	EnvRequire = "AUTHTRIAGE_REQUIRE_POSTGRES"
)

// Schema creates a schema with a random name in the test database and returns a
// DSN whose connections use it; the schema is dropped when the test ends (after
// the cleanups registered later, such as closing the test's connections).
// Without EnvDSN the test is skipped, or fails when EnvRequire=1.
func Schema(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv(EnvRequire) == "1" {
			tb.Fatalf("%s=1 but %s is not set", EnvRequire, EnvDSN)
		}
		tb.Skipf("PostgreSQL tests skipped: set %s (dsn=$(scripts/postgres.sh up DIR) prints one)", EnvDSN)
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatalf("open test database: %v", err)
	}
	admin.SetMaxOpenConns(1)
	schema := "test_" + strings.ToLower(rand.Text())
	tb.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // the test's context is done by now
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA IF EXISTS `+schema+` CASCADE`); err != nil {
			tb.Errorf("drop test schema: %v", err)
		}
	})
	if _, err := admin.ExecContext(tb.Context(), `CREATE SCHEMA `+schema); err != nil {
		tb.Fatalf("create test schema: %v", err)
	}
	out, err := WithSearchPath(dsn, schema)
	if err != nil {
		tb.Fatalf("%s: %v", EnvDSN, err)
	}
	return out
}

// WithSearchPath returns dsn (a URL or key=value string) with its connections'
// search_path set to schema. Its error never quotes dsn, which may hold a
// password.
func WithSearchPath(dsn, schema string) (string, error) {
	if !strings.Contains(dsn, "://") {
		return dsn + " search_path=" + schema, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", errors.New("not a valid URL")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
