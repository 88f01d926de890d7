package pgtest

import (
	"strings"
	"testing"
)

func TestWithSearchPath(t *testing.T) {
	for _, tc := range []struct{ dsn, want string }{
		{"postgres:///authtriage?host=/tmp/pg&user=postgres", "postgres:///authtriage?host=%2Ftmp%2Fpg&search_path=s1&user=postgres"},
		{"host=/tmp/pg dbname=authtriage", "host=/tmp/pg dbname=authtriage search_path=s1"},
	} {
		if got, err := WithSearchPath(tc.dsn, "s1"); err != nil || got != tc.want {
			t.Errorf("WithSearchPath(%q) = %q, %v; want %q", tc.dsn, got, err, tc.want)
		}
	}
	if _, err := WithSearchPath("postgres://u:secretpw@[::1", "s1"); err == nil || strings.Contains(err.Error(), "secretpw") {
		t.Errorf("a bad URL gives %v; want an error that does not quote it", err)
	}
}
