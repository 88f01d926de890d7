package checks

import (
	"context"
	"fmt"

	"authtriage/triage"
)

// dcProber finds the domain controllers and tries each.
type dcProber interface {
	ProbeDCs(ctx context.Context) []triage.DCProbe
}

// DC checks that the domain controllers answer on Kerberos and LDAP from where the
// checker runs.
type DC struct {
	Dir      dcProber // nil: skipped with NoSource
	NoSource string
}

// Name returns "dc".
func (DC) Name() string { return "dc" }

// Run probes every domain controller.
func (c DC) Run(ctx context.Context, _ triage.Target) (triage.Result, error) {
	if c.Dir == nil {
		return triage.Result{}, triage.Skip("%s", orReason(c.NoSource, "no directory: add a directory section to the configuration"))
	}
	probes := c.Dir.ProbeDCs(ctx)
	if len(probes) == 0 {
		return triage.Result{}, fmt.Errorf("no domain controller configured or discovered")
	}
	up := 0
	for _, p := range probes {
		if p.Err == "" && p.KDCError == "" {
			up++
		}
	}
	return triage.Result{
		Detail: fmt.Sprintf("%d of %d domain controllers answer", up, len(probes)),
		Obs:    triage.Observations{Directory: &triage.DirectoryFacts{DCs: probes}},
	}, nil
}
