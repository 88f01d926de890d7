package main

import (
	"context"
	"log/slog"
	"testing"

	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/internal/testdomain"
	"github.com/authtriage/authtriage/plan"
	"github.com/authtriage/authtriage/sources/directory"
	"github.com/authtriage/authtriage/triage"
)

// BenchmarkServeTriage triages the test domain's healthy host (scripts/testdomain.sh)
// through serve's triager, one triage per op, as the bot and the scheduler do: every
// check but the logs runs against the domain (the global catalog, a domain controller,
// its probe, the KDC, DNS and a SQL Server login). make bench-serve runs it 100 times
// each way:
//
//   - rebuild-per-triage, the reference: adapters made for every triage and closed
//     after it, as serve did before the planner (a directory client that connects and
//     binds anew, the Kerberos client reading its files, a SQL Server checker);
//   - long-lived: one set of adapters for the whole run, as serve now has.
//
// binds/op counts the directory's binds for queries; probe-binds/op those of the dc
// check, which connects to every domain controller and binds by design, to time it.
func BenchmarkServeTriage(b *testing.B) {
	d := loadDomain(b)
	startSQL(b, d)
	cfg, err := config.LoadAs(b.Context(), integrationConfig(b, d), nil, config.RoleCLI)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	host := testdomain.HostOK

	b.Run("rebuild-per-triage", func(b *testing.B) {
		var total directory.Stats
		for range b.N {
			ad := plan.NewAdapters(cfg, log)
			tr := &triager{planner: plan.New(cfg, ad, plan.Options{Log: log}), log: log}
			benchTriage(b, tr, host)
			total = addStats(total, dirStats(b, ad))
			ad.Close()
		}
		reportStats(b, total)
	})

	b.Run("long-lived", func(b *testing.B) {
		ad := plan.NewAdapters(cfg, log)
		defer ad.Close()
		p := plan.New(cfg, ad, plan.Options{Log: log})
		if err := p.Open(b.Context()); err != nil {
			b.Fatal(err)
		}
		tr := &triager{planner: p, log: log}
		b.ResetTimer()
		for range b.N {
			benchTriage(b, tr, host)
		}
		b.StopTimer()
		reportStats(b, dirStats(b, ad))
	})
}

// benchTriage triages host and fails the benchmark if a check could not run.
func benchTriage(b *testing.B, tr *triager, host string) {
	b.Helper()
	rep, err := tr.run(b.Context(), host, triage.Instance{}, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range rep.Checks {
		if c.Status == triage.CheckError {
			b.Fatalf("check %s could not run: %s", c.Name, c.Detail)
		}
	}
	if rep.Status != triage.StatusOK {
		b.Fatalf("%s is %s; want ok", host, rep.Status)
	}
}

// dirStats returns what the adapters' directory client did.
func dirStats(b *testing.B, ad *plan.Adapters) directory.Stats {
	dir, err := ad.Directory(context.WithoutCancel(b.Context()))
	if err != nil || dir == nil {
		b.Fatalf("no directory client: %v", err)
	}
	return dir.Stats()
}

func addStats(a, s directory.Stats) directory.Stats {
	return directory.Stats{Dials: a.Dials + s.Dials, Binds: a.Binds + s.Binds, Probes: a.Probes + s.Probes, Lookups: a.Lookups + s.Lookups}
}

func reportStats(b *testing.B, s directory.Stats) {
	n := float64(b.N)
	b.ReportMetric(float64(s.Binds)/n, "binds/op")
	b.ReportMetric(float64(s.Probes)/n, "probe-binds/op")
}
