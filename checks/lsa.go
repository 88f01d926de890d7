package checks

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// LSA times a call into the Local Security Authority on the SQL Server host (run by the
// agent there; Windows only).
type LSA struct {
	Probe    func(ctx context.Context) triage.LSAProbe // nil: skipped with NoSource
	NoSource string
}

// Name returns "lsa".
func (LSA) Name() string { return "lsa" }

// Run probes the LSA once.
func (c LSA) Run(ctx context.Context, _ triage.Target) (triage.Result, error) {
	if c.Probe == nil {
		return triage.Result{}, triage.Skip("%s", cmp.Or(c.NoSource, "the LSA is probed by the agent on a Windows SQL Server host"))
	}
	p := c.Probe(ctx)
	res := triage.Result{Obs: triage.Observations{Host: &triage.HostFacts{LSA: &p}}}
	res.Detail = fmt.Sprintf("answered in %s", p.Latency.Round(time.Microsecond))
	if p.Err != "" {
		res.Detail = "failed: " + p.Err
	}
	return res, nil
}
