package store

import (
	"fmt"
	"testing"
	"time"

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
