package checks

import (
	"cmp"
	"context"
	"fmt"

	"github.com/authtriage/authtriage/triage"
)

// dcProber finds the domain controllers and tries each.
type dcProber interface {
	ProbeDCs(ctx context.Context) []triage.DCProbe
}

// DC checks that the domain controllers answer on Kerberos and LDAP from where the
// checker runs, telling a DC whose LDAPS certificate fails verification (it answered)
// from one that does not answer.
type DC struct {
	Dir      dcProber // nil: skipped with NoSource
	NoSource string
}

// Name returns "dc".
func (DC) Name() string { return "dc" }

// Run probes every domain controller.
func (c DC) Run(ctx context.Context, _ triage.Target) (triage.Result, error) {
	if c.Dir == nil {
		return triage.Result{}, triage.SkipLacking(triage.MissingDirectory, "%s", cmp.Or(c.NoSource, "no directory source"))
	}
	probes := c.Dir.ProbeDCs(ctx)
	if len(probes) == 0 {
		return triage.Result{}, fmt.Errorf("no domain controller configured or discovered")
	}
	up, badCert := 0, 0
	for _, p := range probes {
		switch {
		case p.Cert != "":
			badCert++
		case p.Err == "" && p.KDCError == "":
			up++
		}
	}
	detail := fmt.Sprintf("%d of %d domain controllers answer", up, len(probes))
	if badCert > 0 {
		detail += fmt.Sprintf("; %d more answered, but with an LDAPS certificate that fails verification", badCert)
	}
	return triage.Result{
		Detail: detail,
		Obs:    triage.Observations{Directory: &triage.DirectoryFacts{DCs: probes}},
	}, nil
}
