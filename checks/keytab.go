package checks

import (
	"cmp"
	"context"
	"fmt"

	"github.com/authtriage/authtriage/triage"
)

// Keytab reads SQL Server on Linux's keytab (run by the agent on the host), for the
// keytab rule to compare with the directory.
type Keytab struct {
	Path     string                                                             // "": skipped with NoSource
	Read     func(ctx context.Context, path string) (triage.KeytabFacts, error) // hostlocal.ReadKeytab
	NoSource string
}

// Name returns "keytab".
func (Keytab) Name() string { return "keytab" }

// Run lists the keytab's entries.
func (c Keytab) Run(ctx context.Context, _ triage.Target) (triage.Result, error) {
	if c.Path == "" || c.Read == nil {
		return triage.Result{}, triage.Skip("%s", cmp.Or(c.NoSource, "the keytab is read by the agent on a Linux SQL Server host"))
	}
	kt, err := c.Read(ctx, c.Path)
	if err != nil {
		return triage.Result{}, fmt.Errorf("read the keytab: %w", err)
	}
	return triage.Result{
		Detail: fmt.Sprintf("%s: %d keys", kt.Path, len(kt.Entries)),
		Obs:    triage.Observations{Host: &triage.HostFacts{Keytab: &kt}},
	}, nil
}
