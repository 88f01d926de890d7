package store

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestAudit(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, o Options) {
		clk := newClock(t0)
		o.Now = clk.Now
		db := openTest(t, o)
		ctx := t.Context()

		es, err := db.AuditLog(ctx, 10)
		if err != nil {
			t.Fatalf("AuditLog of an empty store: %v", err)
		}
		if len(es) != 0 {
			t.Errorf("AuditLog of an empty store = %v; want none", es)
		}

		entries := []AuditEntry{
			{Time: t0.Add(-time.Hour), User: "U1", Channel: "C1", Origin: "slash", Command: "check sql01", Result: "ok", Detail: "7kq2m9xd"},
			{Time: t0.Add(-time.Minute), User: "U2", Channel: "D2", Origin: "dm", Command: "check sql02", Result: "denied", Detail: "not allowed"},
			{Time: t0.Add(-time.Minute), User: "U3", Channel: "C1", Origin: "mention", Command: "history sql01", Result: "ok"}, // same time, added later
			{User: "schedule:nightly", Origin: "schedule", Command: "check sql01 sql02", Result: "ok"},                         // stamped with the clock
		}
		for _, e := range entries {
			if err := db.Audit(ctx, e); err != nil {
				t.Fatalf("Audit: %v", err)
			}
		}
		for i := range entries {
			entries[i] = entries[i].Bounded() // nothing cut: the lengths are set
		}
		stamped := entries[3]
		stamped.Time = t0
		want := []AuditEntry{stamped, entries[2], entries[1], entries[0]}
		es, err = db.AuditLog(ctx, 0)
		if err != nil {
			t.Fatalf("AuditLog: %v", err)
		}
		if diff := cmp.Diff(want, es); diff != "" {
			t.Errorf("AuditLog (-want +got):\n%s", diff)
		}
		es, err = db.AuditLog(ctx, 2)
		if err != nil {
			t.Fatalf("AuditLog: %v", err)
		}
		if diff := cmp.Diff(want[:2], es); diff != "" {
			t.Errorf("AuditLog(2) (-want +got):\n%s", diff)
		}
	})
}

func TestAuditLogLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		for i := range 25 {
			if err := db.Audit(t.Context(), AuditEntry{Time: t0.Add(time.Duration(i) * time.Second), Command: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		es, err := db.AuditLog(t.Context(), -1)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 20 || es[0].Command != "24" {
			t.Errorf("AuditLog(-1) returned %d entries, the first %+v; want 20, the newest first", len(es), es[0])
		}
	})
}

func TestBounded(t *testing.T) {
	long := strings.Repeat("a", MaxAuditText-1) + "é" + "tail" // é straddles the limit
	tests := []struct {
		name      string
		in        string
		want      string
		wantBytes int
	}{
		{"short", "check sql01", "check sql01", 11},
		{"empty", "", "", 0},
		{"exactly the limit", strings.Repeat("b", MaxAuditText), strings.Repeat("b", MaxAuditText), MaxAuditText},
		{"a megabyte", strings.Repeat("c", 1<<20), strings.Repeat("c", MaxAuditText), 1 << 20},
		{"cut before a character that straddles the limit", long, strings.Repeat("a", MaxAuditText-1), len(long)},
		{"invalid UTF-8 and NUL replaced", "a\xff\x00b", "a\uFFFD\uFFFDb", 4},
		{"a run of invalid bytes is one replacement", strings.Repeat("\xff", MaxAuditText), "\uFFFD", MaxAuditText},
		{"replacements kept within the limit", strings.Repeat("\x00", MaxAuditText), strings.Repeat("\uFFFD", MaxAuditText/3), MaxAuditText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := AuditEntry{Command: tt.in, Detail: tt.in}.Bounded()
			if e.Command != tt.want || e.CommandBytes != tt.wantBytes {
				t.Errorf("Command %.40q… (%d bytes), CommandBytes %d; want %.40q… (%d bytes), %d",
					e.Command, len(e.Command), e.CommandBytes, tt.want, len(tt.want), tt.wantBytes)
			}
			if e.Detail != e.Command || e.DetailBytes != e.CommandBytes {
				t.Errorf("Detail bounded as %.40q, %d; want as Command", e.Detail, e.DetailBytes)
			}
			if len(e.Command) > MaxAuditText || !utf8.ValidString(e.Command) {
				t.Errorf("Command is %d bytes, valid UTF-8 %v; want at most %d, valid", len(e.Command), utf8.ValidString(e.Command), MaxAuditText)
			}
			if again := e.Bounded(); again != e {
				t.Errorf("Bounded twice = %+v; want the same as once", again)
			}
		})
	}
}

// TestAuditIsBounded: a megabyte of command and detail is stored as
// MaxAuditText bytes of each, with the lengths as given.
func TestAuditIsBounded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		big := strings.Repeat("x", 1<<20)
		if err := db.Audit(t.Context(), AuditEntry{Time: t0, User: "U1", Command: "check " + big, Result: "rejected", Detail: big}); err != nil {
			t.Fatal(err)
		}
		es, err := db.AuditLog(t.Context(), 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 1 {
			t.Fatalf("AuditLog = %d entries; want 1", len(es))
		}
		e := es[0]
		if len(e.Command) != MaxAuditText || !strings.HasPrefix(e.Command, "check xxx") || e.CommandBytes != 6+1<<20 {
			t.Errorf("Command %d bytes (%.20q…), CommandBytes %d; want %d bytes, %d", len(e.Command), e.Command, e.CommandBytes, MaxAuditText, 6+1<<20)
		}
		if len(e.Detail) != MaxAuditText || e.DetailBytes != 1<<20 {
			t.Errorf("Detail %d bytes, DetailBytes %d; want %d, %d", len(e.Detail), e.DetailBytes, MaxAuditText, 1<<20)
		}
		var stored int
		if err := db.sql.QueryRowContext(t.Context(), `SELECT sum(length(command) + length(detail)) FROM audit`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if stored != 2*MaxAuditText {
			t.Errorf("the audit table holds %d characters of text; want %d", stored, 2*MaxAuditText)
		}
	})
}

// TestAuditBytesMigration applies the migration that bounds the audit log to
// a database with entries written before it: their lengths are kept and
// their text is cut.
func TestAuditBytesMigration(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, o Options) {
		ctx := t.Context()
		db := openTest(t, o)
		// Back to the schema before the migration, with rows as it wrote them.
		for _, q := range []string{
			`ALTER TABLE audit DROP COLUMN command_bytes`,
			`ALTER TABLE audit DROP COLUMN detail_bytes`,
			`DELETE FROM schema_migrations WHERE name = 'audit_bytes'`,
		} {
			if _, err := db.sql.ExecContext(ctx, q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		big := strings.Repeat("é", 1000) // 2000 bytes
		for i, e := range []AuditEntry{
			{Command: "check sql01", Result: "ok", Detail: "7kq2m9xd"},
			{Command: big, Result: "rejected", Detail: "unknown command"},
		} {
			if _, err := db.sql.ExecContext(ctx, `INSERT INTO audit (at, user_id, channel, origin, command, result, detail)
				VALUES ($1, 'U1', 'C1', 'slash', $2, $3, $4)`, micros(t0)+int64(i), e.Command, e.Result, e.Detail); err != nil {
				t.Fatal(err)
			}
		}
		es, err := openTest(t, o).AuditLog(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := []AuditEntry{
			{Time: fromMicros(micros(t0) + 1), User: "U1", Channel: "C1", Origin: "slash", Command: strings.Repeat("é", 512), Result: "rejected", Detail: "unknown command", CommandBytes: 2000, DetailBytes: 15},
			{Time: t0, User: "U1", Channel: "C1", Origin: "slash", Command: "check sql01", Result: "ok", Detail: "7kq2m9xd", CommandBytes: 11, DetailBytes: 8},
		}
		if diff := cmp.Diff(want, es); diff != "" {
			t.Errorf("AuditLog after the migration (-want +got):\n%s", diff)
		}
	})
}
