package checks

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// spnFinder answers setspn -Q across the forest.
type spnFinder interface {
	FindSPN(ctx context.Context, spn string) (triage.SPNOwners, error)
}

// SPN looks up who owns each MSSQLSvc SPN the target's clients ask for, in the global
// catalog (or an LDIF export of the directory).
type SPN struct {
	Dir      spnFinder // nil: skipped with NoSource
	NoSource string
}

// Name returns "spn".
func (SPN) Name() string { return "spn" }

// Run looks up every required SPN; the owners found before an error are kept.
func (c SPN) Run(ctx context.Context, t triage.Target) (triage.Result, error) {
	if c.Dir == nil {
		return triage.Result{}, triage.SkipLacking(triage.MissingDirectory, "%s", cmp.Or(c.NoSource, "no directory source"))
	}
	spns := t.RequiredSPNs()
	if len(spns) == 0 {
		return triage.Result{}, triage.SkipLacking(triage.MissingFQDN, "the host's FQDN is not known")
	}
	facts := &triage.DirectoryFacts{RequiredSPNs: spns}
	res := triage.Result{Obs: triage.Observations{Directory: facts}}
	var parts []string
	for _, spn := range spns {
		so, err := c.Dir.FindSPN(ctx, spn)
		if err != nil {
			return res, fmt.Errorf("look up %s: %w", spn, err)
		}
		so.SPN = spn
		facts.SPNs = append(facts.SPNs, so)
		parts = append(parts, fmt.Sprintf("%s: %s", spn, owners(so)))
		res.Detail = strings.Join(parts, "; ")
	}
	res.Detail = withPortUnknown(res.Detail, t)
	return res, nil
}

// withPortUnknown appends to a check's detail that the TCP SPN of each named instance
// whose port is not known was not checked: TCP clients ask for MSSQLSvc/FQDN:PORT
// ("Register a Service Principal Name for Kerberos Connections", Client Connections,
// https://learn.microsoft.com/sql/database-engine/configure-windows/register-a-service-principal-name-for-kerberos-connections).
func withPortUnknown(detail string, t triage.Target) string {
	for _, in := range t.PortUnknown() {
		detail += fmt.Sprintf("; not checked: the TCP SPN of %s (MSSQLSvc/%s:PORT), whose port is not known", in.Name, t.FQDN)
	}
	return detail
}

func owners(so triage.SPNOwners) string {
	if len(so.Owners) == 0 {
		return "no owner"
	}
	names := make([]string, len(so.Owners))
	for i, o := range so.Owners {
		names[i] = o.Name()
	}
	return strings.Join(names, ", ")
}
