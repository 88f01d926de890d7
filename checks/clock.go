package checks

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// clockSource reads another machine's clock against ours.
type clockSource interface {
	CurrentTime(ctx context.Context) (triage.ClockReading, error)
}

// Clock compares the domain controller's clock (rootDSE currentTime) with the
// checker's.
type Clock struct {
	DC       clockSource // nil: skipped with NoSource
	NoSource string
}

// Name returns "clock".
func (Clock) Name() string { return "clock" }

// Run reads the clock.
func (c Clock) Run(ctx context.Context, _ triage.Target) (triage.Result, error) {
	if c.DC == nil {
		return triage.Result{}, triage.SkipLacking(triage.MissingDirectory, "%s", cmp.Or(c.NoSource, "no directory to read the time from"))
	}
	r, err := c.DC.CurrentTime(ctx)
	if err != nil {
		return triage.Result{}, fmt.Errorf("read the domain controller's time: %w", err)
	}
	return triage.Result{
		Detail: fmt.Sprintf("%s differs by %s", r.Source, r.Skew.Round(time.Millisecond)),
		Obs:    triage.Observations{Directory: &triage.DirectoryFacts{Clocks: []triage.ClockReading{r}}},
	}, nil
}
